"""Converts a llama.cpp GGUF file into a Hugging Face model directory (bf16 safetensors,
config, tokenizer and chat template) that vLLM and `transformers serve` can load.

Neither server reads GGUF directly here: vLLM tries to parse the file as a JSON config, and
transformers keeps GGUF weights packed ("not serializable") unless they are dequantized
into a fresh model first. So: load dequantized, drop the quantization config, rebuild the
model from its plain config, load the weights into it, save.

usage: python gguf-to-hf.py MODEL.gguf OUT_DIR
Run in the venv scripts/peer-server.sh makes for the PyTorch server (transformers, gguf).
"""

import os
import sys
import tempfile


def convert(gguf_path: str, out_dir: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = os.path.split(os.path.abspath(gguf_path))
    packed = AutoModelForCausalLM.from_pretrained(
        folder,
        gguf_file=name,
        dtype=torch.bfloat16,
        quantization_config=GgufConfig(gguf_file=name, dequantize=True),
    )
    config = packed.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    missing, unexpected = plain.load_state_dict(packed.state_dict(), strict=False)
    # Tied output embeddings are absent from the state dict by design; anything else
    # missing would mean a half-converted model.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise SystemExit(
            f"gguf-to-hf: {gguf_path}: weights did not map: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    # Written beside the destination, then renamed: a failed conversion leaves no
    # half-written directory that a later start would take for a model.
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".gguf-to-hf-", dir=parent)
    plain.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    os.rename(tmp, out_dir)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: gguf-to-hf.py MODEL.gguf OUT_DIR")
    gguf_path, out_dir = sys.argv[1], sys.argv[2]
    if not os.path.isfile(gguf_path):
        raise SystemExit(f"gguf-to-hf: {gguf_path}: no such file")
    if os.path.exists(out_dir):
        raise SystemExit(f"gguf-to-hf: {out_dir}: already exists")
    convert(gguf_path, out_dir)
    print(out_dir)


if __name__ == "__main__":
    main()
