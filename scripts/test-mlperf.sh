#!/usr/bin/env bash
# The MLPerf LoadGen path (feature `mlperf`, docs/mlperf.md), run by .ci/run after
# scripts/test.sh (whose builds, model and test binary it reuses):
#   1. LoadGen's C++ sources: PyPI's mlcommons-loadgen sdist, pinned and checksummed
#      (scripts/loadgen-src.sh);
#   2. `cargo build --release --features mlperf` of the binary (linted like test.sh's:
#      clippy-driver as the compiler, -D warnings), into the same target/ci with the same
#      flags, so only our crate and LoadGen compile (LoadGen's C++ at the profile's -O1);
#   3. tests/mlperf.rs against that binary, on short settings: SingleStream, Offline and
#      Server runs of the real engine, sample libraries from a pre-tokenized JSONL and a
#      prompt file, Ctrl-C (once, and twice), and a Server run of llama.cpp's server (started here,
#      scripts/llama-server.sh) through the load client, with TRTBENCH_REQUIRE_MLPERF=1 and
#      TRTBENCH_REQUIRE_SERVER=1 so none can pass by skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - t0))" >&2; }
# The same build settings as scripts/test.sh (any difference would rebuild llama.cpp).
source scripts/ci-build-env.sh

step "LoadGen sources"
TRTBENCH_LOADGEN_SRC="$(scripts/loadgen-src.sh)"
export TRTBENCH_LOADGEN_SRC

step "release build with the mlperf feature (linted)"
cargo build --release --features mlperf --bin trtbench
cp target/ci/release/trtbench target/ci/trtbench-mlperf

step "mlperf tests against it (and a llama.cpp server as the system under test)"
trap 'scripts/llama-server.sh stop' EXIT
TRTBENCH_SERVER_URL="$(scripts/llama-server.sh start)"
export TRTBENCH_SERVER_URL TRTBENCH_REQUIRE_SERVER=1
TRTBENCH_MLPERF_BIN="$PWD/target/ci/trtbench-mlperf" TRTBENCH_REQUIRE_MLPERF=1 \
  cargo test --release --test main mlperf -- --nocapture
step "done"
