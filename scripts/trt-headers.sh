#!/usr/bin/env bash
# Prints the directory of the TensorRT headers (Apache-2.0) that the crates.io crate trtx-sys
# ships, fetched through a throwaway Cargo project under WORK_DIR (`cargo fetch`; nothing is
# built). Shared by scripts/compile-check-trt.sh and scripts/test-trt-double.sh.
#   MAJOR 11 (default): TensorRT 11.4, from trtx-sys 0.9.1;
#   MAJOR 10:           TensorRT 10.16 (JetPack's and Edge-LLM's x86 docs' major), from
#                       trtx-sys 0.5.0, the last release that ships TRT-Enterprise-10.x.
#
# Usage: scripts/trt-headers.sh WORK_DIR [MAJOR]
set -euo pipefail
major="${2:-11}"
case "$major" in
  11) TRTX_VERSION="0.9.1" TRT_DIR="TRT-Enterprise-11.4" ;;
  10) TRTX_VERSION="0.5.0" TRT_DIR="TRT-Enterprise-10.16" ;;
  *) echo "trt-headers.sh: MAJOR must be 10 or 11, got $major" >&2; exit 2 ;;
esac
probe="$1/trtx-probe-$major"
mkdir -p "$probe/src"
cat > "$probe/Cargo.toml" <<TOML
[package]
name = "trtx-header-probe"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
trtx-sys = { version = "=$TRTX_VERSION", default-features = false }
[workspace]
TOML
echo 'fn main() {}' > "$probe/src/main.rs"
(cd "$probe" && cargo fetch --quiet)
manifest="$(cd "$probe" && cargo metadata --format-version 1 --quiet \
  | python3 -c 'import json,sys; m=json.load(sys.stdin); print([p["manifest_path"] for p in m["packages"] if p["name"]=="trtx-sys"][0])')"
trt_inc="$(dirname "$manifest")/TensorRT-Headers/$TRT_DIR"
test -f "$trt_inc/NvInfer.h" || { echo "NvInfer.h not found under $trt_inc" >&2; exit 1; }
echo "$trt_inc"
