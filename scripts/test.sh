#!/usr/bin/env bash
# The test suite, from a fresh Debian machine: installs what it needs, then
#   1. format and lints;
#   2. the TensorRT / Edge-LLM path: a compile check against the real TensorRT 11.4 and
#      CUDA 13.5 headers, the CUDA sources built and linked with the real nvcc (PyPI wheels),
#      and `cargo test --features tensorrt` run end to end against the CPU test double of
#      Edge-LLM / TensorRT / CUDA under tests/trt_double (no GPU, no SDK);
#   3. unit and integration tests on the real model and the real llama.cpp engine, the
#      HTML report in headless Chromium, and `trtbench load` against a real llama.cpp
#      server started here on 127.0.0.1.
# Everything builds in the release profile so llama.cpp compiles once. llama.cpp's own
# server and perplexity tool are compiled against the libraries that build produced
# (scripts/llama-tools.sh), in the background while the Rust steps run.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - t0))" >&2; }

step "setup: apt packages, release build, default model"
TRTBENCH_EXTRA_PKGS="chromium fonts-dejavu-core" scripts/setup.sh

step "llama.cpp tools (server, perplexity) in the background"
tools_log="target/llama-tools.log"
{ scripts/llama-tools.sh build server && scripts/llama-tools.sh build perplexity; } >"$tools_log" 2>&1 &
tools_pid=$!
trap 'kill "$tools_pid" 2>/dev/null || true; scripts/llama-server.sh stop' EXIT

step "format and lints"
cargo fmt --check
cargo clippy --release --all-targets --quiet -- -D warnings

step "TensorRT / Edge-LLM path"
TRTBENCH_SKIP_FEATURE_CHECK=1 scripts/compile-check-trt.sh
scripts/compile-check-cuda.sh
scripts/test-trt-double.sh

step "tests on the real model and server"
cargo test --release --no-run --quiet
if ! wait "$tools_pid"; then
  cat "$tools_log" >&2
  echo "building llama.cpp's tools failed (log above)" >&2
  exit 1
fi
TRTBENCH_SERVER_URL="$(scripts/llama-server.sh start)"
TRTBENCH_MODEL="$(scripts/llama-server.sh model)"
export TRTBENCH_SERVER_URL TRTBENCH_MODEL
export TRTBENCH_REQUIRE_SERVER=1 TRTBENCH_REQUIRE_CHROMIUM=1 TRTBENCH_REQUIRE_TOOLS=1

cargo test --release
step "done"
