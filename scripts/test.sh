#!/usr/bin/env bash
# The test suite: format, lints, unit and integration tests (on the real model and
# the real llama.cpp engine), in the release profile so llama.cpp is built once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --check
cargo clippy --release --all-targets --quiet -- -D warnings
cargo test --release
