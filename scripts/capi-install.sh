#!/usr/bin/env bash
# Installs trtbench's C ABI into PREFIX so `find_package(trtbench)` finds it:
#   PREFIX/lib/libtrtbench.so, PREFIX/include/trtbench.h,
#   PREFIX/lib/cmake/trtbench/trtbenchConfig.cmake (+ ConfigVersion).
# The library must be built first (`cargo build --release`, which builds crates/trtbench-c);
# it is taken from $CARGO_TARGET_DIR/release (default target/release).
# usage: scripts/capi-install.sh PREFIX
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:?usage: scripts/capi-install.sh PREFIX}"
lib="${CARGO_TARGET_DIR:-$PWD/target}/release/libtrtbench.so"
[ -f "$lib" ] || { echo "$lib: not built (cargo build --release)" >&2; exit 1; }
version="$(sed -n 's/^version = "\(.*\)"/\1/p' crates/trtbench-c/Cargo.toml | head -1)"
mkdir -p "$prefix/lib/cmake/trtbench" "$prefix/include"
install -m 0755 "$lib" "$prefix/lib/libtrtbench.so"
install -m 0644 include/trtbench.h "$prefix/include/trtbench.h"
install -m 0644 cmake/trtbenchConfig.cmake "$prefix/lib/cmake/trtbench/"
sed "s/@VERSION@/$version/" cmake/trtbenchConfigVersion.cmake.in \
  >"$prefix/lib/cmake/trtbench/trtbenchConfigVersion.cmake"
echo "$prefix"
