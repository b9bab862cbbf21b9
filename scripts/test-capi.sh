#!/usr/bin/env bash
# The C ABI end to end: include/trtbench.h matches the sources (cbindgen), the library
# installs as a CMake package, examples/cpp builds against it with find_package(trtbench)
# and runs on a real engine with --check (answers, timings, callback, errors, a sweep).
# Needs `cargo build --release` first (it builds libtrtbench.so).
# usage: scripts/test-capi.sh MODEL_OR_ENGINE_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:?usage: scripts/test-capi.sh MODEL_OR_ENGINE_DIR}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
scripts/capi-header.sh --check
prefix="$(scripts/capi-install.sh "$target/capi/prefix")"
cmake -S examples/cpp -B "$target/capi/planner" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$target/capi/cmake.log" || { cat "$target/capi/cmake.log" >&2; exit 1; }
cmake --build "$target/capi/planner" -j 2 >>"$target/capi/cmake.log" || { cat "$target/capi/cmake.log" >&2; exit 1; }
# Runs from a temp dir: the sweep's engine path is absolute, nothing lands in the repo.
model="$(realpath "$model")"
(cd "$(mktemp -d)" && "$target/capi/planner/planner" "$model" --tokens 12 --check)
