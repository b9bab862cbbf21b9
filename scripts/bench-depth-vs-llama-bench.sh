#!/usr/bin/env bash
# Decode at context depth, trtbench vs llama.cpp's llama-bench `-d`, same model, same
# llama.cpp build, same threads, in one run: llama-bench `-p 0 -n N -d D` (N decode steps
# after D tokens prefilled, untimed) against `trtbench run --isl 1 --osl N+1 --depth D`
# (D tokens filled untimed, the BOS token prefilled, then N decode steps on top), and their
# ratio. tok/s are means of REPS repetitions per tool (llama-bench's `avg_ts`).
#
# llama-bench is compiled against the crate's own llama.cpp libraries by
# scripts/llama-tools.sh (see scripts/bench-vs-llama-bench.sh).
#
# Usage: scripts/bench-depth-vs-llama-bench.sh [depth] [n] [threads] [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
DEPTH=${1:-512}
N=${2:-32}
THREADS=${3:-$(nproc)}
REPS=${4:-3}

cargo build --release --quiet
./target/release/trtbench fetch >/dev/null
MODEL=$(ls engines/smollm2-135m-q4_1/*.gguf)
LLAMA_BENCH=$(scripts/llama-tools.sh build bench)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "llama-bench -p 0 -n $N -d $DEPTH -t $THREADS -r $REPS" >&2
"$LLAMA_BENCH" -m "$MODEL" -p 0 -n "$N" -d "$DEPTH" -t "$THREADS" -r "$REPS" -o json > "$tmp/lb.json"
echo "trtbench run --isl 1 --osl $((N + 1)) --depth $DEPTH -t $THREADS --runs $REPS" >&2
./target/release/trtbench run --engine engines/smollm2-135m-q4_1 --batch 1 --isl 1 \
  --osl $((N + 1)) --depth "$DEPTH" --warmup 1 --runs "$REPS" -t "$THREADS" \
  --out "$tmp/tb.json" >/dev/null

python3 - "$tmp" "$DEPTH" "$N" "$THREADS" "$REPS" <<'PY'
import json, sys
tmp, depth, n, threads, reps = sys.argv[1:]
lb = next(t for t in json.load(open(f"{tmp}/lb.json")) if t["n_gen"] == int(n))
p = json.load(open(f"{tmp}/tb.json"))["points"][0]
tb = p["summary"]["decode_tok_per_s"]["mean"]
print(f"depth {depth}, {n} decode steps, threads {threads}, {reps} repetitions each")
print(f"llama-bench tg{n} @ d{depth}: {lb['avg_ts']:.2f} tok/s")
print(f"trtbench decode  @ depth {depth}: {tb:.2f} tok/s (decode_sol_pct {p['scalars'].get('decode_sol_pct', float('nan')):.2f})")
print(f"ratio trtbench/llama-bench: {tb / lb['avg_ts']:.3f}")
PY
