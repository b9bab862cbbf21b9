#!/usr/bin/env bash
# The framework lab: the default model (SmolLM2-135M-Instruct) served four ways on one
# grid, concurrency 1, 4, 16 x input length 64 and 256, output 32 tokens:
#   trtbench engine  the in-process llama.cpp engine (`trtbench sweep`, batch = concurrency)
#   llama.cpp        llama.cpp's own server (scripts/peer-server.sh llama)
#   vllm             vLLM 0.32 on CPU (scripts/peer-server.sh vllm)
#   pytorch          transformers serve (scripts/peer-server.sh pytorch): it refuses
#                    ignore_eos, so its output lengths are the model's own (shown)
# then `trtbench report` on all of them: the "Frameworks" table and chart, with each
# figure's speedup over the PyTorch server.
#
# usage: scripts/framework-lab.sh [--out DIR] [--frameworks LIST] [--num-prompts N]
#   LIST: comma-separated of engine,llama,vllm,pytorch (default all)
#   N: requests per level (default: 4 per concurrency, at least 16)
# env: TRTBENCH (default target/release/trtbench), THREADS (default nproc),
#      CONC (default "1 4 16"), ISLS (default "64 256"): a smaller grid
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
out="results/framework-lab"
frameworks="engine,llama,vllm,pytorch"
num_prompts=""
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --frameworks) frameworks="$2"; shift 2 ;;
    --num-prompts) num_prompts="$2"; shift 2 ;;
    *) echo "framework-lab.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
trtbench="${TRTBENCH:-$repo/target/release/trtbench}"
[[ -x "$trtbench" ]] || cargo build --release >&2
threads="${THREADS:-$(nproc)}"
read -r -a conc <<<"${CONC:-1 4 16}"
read -r -a isls <<<"${ISLS:-64 256}"
mkdir -p "$out"
started=()
trap 'for s in "${started[@]}"; do "$here/peer-server.sh" stop $s >/dev/null 2>&1 || true; done' EXIT
t0=$SECONDS

engine_dir="engines/smollm2-135m-q4_1"
[[ -d "$engine_dir" ]] || "$trtbench" fetch >&2

served() {
  local kind="$1" name="$2" port="$3" url pid c isl n
  read -r url pid < <("$here/peer-server.sh" "$kind" --port "$port" --threads "$threads")
  started+=("$kind --port $port")
  for isl in "${isls[@]}"; do
    for c in "${conc[@]}"; do
      n="${num_prompts:-$((c * 4 > 16 ? c * 4 : 16))}"
      echo "== $name: isl $isl, concurrency $c, $n requests ($((SECONDS - t0)) s)" >&2
      "$trtbench" load --url "$url" --framework "$name" --concurrency "$c" --isl "$isl" \
        --osl 32 --num-prompts "$n" --warmup 1 --tokenizer "$engine_dir" \
        -o "$out/$name.json" --resume >"$out/$name-isl$isl-c$c.log" 2>&1 ||
        { tail -20 "$out/$name-isl$isl-c$c.log" >&2; exit 1; }
    done
  done
  "$here/peer-server.sh" stop "$kind" --port "$port"
}

files=()
for f in ${frameworks//,/ }; do
  case "$f" in
    engine)
      echo "== trtbench engine: sweep ($((SECONDS - t0)) s)" >&2
      resume=()
      [[ -f "$out/engine.json" ]] && resume=(--resume)
      "$trtbench" sweep --engines "$engine_dir" --batch "$(IFS=,; echo "${conc[*]}")" \
        --isl "$(IFS=,; echo "${isls[*]}")" --osl 32 \
        --threads "$threads" -o "$out/engine.json" "${resume[@]}" >"$out/engine.log" 2>&1 ||
        { tail -20 "$out/engine.log" >&2; exit 1; }
      files+=("$out/engine.json")
      ;;
    llama) served llama llama.cpp 8089; files+=("$out/llama.cpp.json") ;;
    vllm) served vllm vllm 8000; files+=("$out/vllm.json") ;;
    pytorch) served pytorch pytorch 8001; files+=("$out/pytorch.json") ;;
    *) echo "framework-lab.sh: unknown framework '$f' (engine, llama, vllm, pytorch)" >&2; exit 2 ;;
  esac
done
"$trtbench" report "${files[@]}" --md --html --out "$out/lab"
echo "framework lab: $out/lab.md, $out/lab.html ($((SECONDS - t0)) s)" >&2
sed -n '/^## Frameworks/,/^## /p' "$out/lab.md"
