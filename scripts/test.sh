#!/usr/bin/env bash
# The test suite, from a fresh Debian machine: installs what it needs, then
#   1. format and lints;
#   2. the TensorRT / Edge-LLM shim compile check against TensorRT 11.4 and CUDA headers
#      from the package registries (no GPU, no SDK);
#   3. unit and integration tests on the real model and the real llama.cpp engine, the
#      HTML report in headless Chromium, and `trtbench load` against a real llama.cpp
#      server started here on 127.0.0.1.
# Everything builds in the release profile so llama.cpp compiles once.
set -euo pipefail
cd "$(dirname "$0")/.."
TRTBENCH_EXTRA_PKGS="chromium fonts-dejavu-core" scripts/setup.sh

cargo fmt --check
cargo clippy --release --all-targets --quiet -- -D warnings
scripts/compile-check-trt.sh

# llama.cpp's server for the end-to-end load test: compiled against the libraries cargo
# just built (scripts/llama-tools.sh; a few minutes the first time, cached in target/).
scripts/llama-server.sh build >/dev/null
trap 'scripts/llama-server.sh stop' EXIT
TRTBENCH_SERVER_URL="$(scripts/llama-server.sh start)"
TRTBENCH_MODEL="$(scripts/llama-server.sh model)"
export TRTBENCH_SERVER_URL TRTBENCH_MODEL
export TRTBENCH_REQUIRE_SERVER=1 TRTBENCH_REQUIRE_CHROMIUM=1

cargo test --release
