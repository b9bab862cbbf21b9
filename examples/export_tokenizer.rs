//! Writes the tokenizer trtbench builds from a GGUF's vocabulary as a Hugging Face
//! `tokenizer.json` (plus a `tokenizer_config.json`), so a peer benchmark client can load
//! the same tokenizer offline (`scripts/bench-load-client.sh`).
//!
//! usage: export_tokenizer MODEL.gguf OUT_DIR

use std::path::PathBuf;

use trtbench::client::tokenizer::from_gguf_metadata;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out] = args.as_slice() else {
        eprintln!("usage: export_tokenizer MODEL.gguf OUT_DIR");
        std::process::exit(2)
    };
    let model = PathBuf::from(model);
    let tok = trtbench::gguf::read_metadata(&model)
        .map_err(|e| e.to_string())
        .and_then(|meta| from_gguf_metadata(&meta))
        .unwrap_or_else(|e| {
            eprintln!("export_tokenizer: {e}");
            std::process::exit(1)
        });
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out).expect("creating the output directory");
    tok.save(out.join("tokenizer.json"), false)
        .unwrap_or_else(|e| {
            eprintln!("export_tokenizer: writing tokenizer.json: {e}");
            std::process::exit(1)
        });
    std::fs::write(
        out.join("tokenizer_config.json"),
        r#"{"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 8192}"#,
    )
    .expect("writing tokenizer_config.json");
    eprintln!("wrote {}", out.join("tokenizer.json").display());
}
