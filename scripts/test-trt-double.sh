#!/usr/bin/env bash
# Runs the whole `tensorrt` path (issue 11, item 1) without a GPU or the SDKs:
#   1. the CUDA 13.5 toolkit from PyPI wheels (scripts/compile-check-cuda.sh --toolkit) and
#      the TensorRT 11.4 headers from the crates.io crate trtx-sys;
#   2. the CPU test double of Edge-LLM, libnvinfer and libcuda (tests/trt_double/), built with
#      CMake and the real nvcc (its core archive carries -rdc device code);
#   3. `cargo test --features tensorrt` with TENSORRT_ROOT / CUDA_HOME / TRTBENCH_EDGE_LLM_ROOT
#      pointing at the double: build.rs builds cpp/ with CMake (device link included), links
#      it through cxx and gives it its run-time path; the lib's trt/cuda tests and the
#      integration tests (tests/trt.rs) then run the Edge-LLM backend end to end;
#   4. checks the built shim's RUNPATH names the TensorRT, CUDA and Edge-LLM library dirs.
# The double's libcuda.so.1 is found only through the LD_LIBRARY_PATH set here (cudarc dlopens
# the driver); the product never links the double. Same target dir and release profile as
# scripts/test.sh, so llama.cpp is not rebuilt. TRTBENCH_CARGO_CONFIG, when set, is passed to
# cargo as `--config` (a developer's profile override, e.g. to match their other builds).
#
# --aarch64 (issue 21, item 4; scripts/check-aarch64.sh runs it, with its cross environment
# and target dir, target/aarch64): the same for aarch64-unknown-linux-gnu (Jetson), from here:
#   - the toolkit is scripts/compile-check-cuda.sh --toolkit-aarch64's: the x86-64 nvcc with
#     PyPI's aarch64 CUDA runtime; nvcc compiles host code with Debian's aarch64-linux-gnu-g++
#     (CMAKE_CUDA_HOST_COMPILER; for the shim, build.rs passes the target's C++ compiler);
#   - the double is cross-built with CMake for sm_87 and sm_110 (Orin, Thor), so the shim's
#     device link, which takes Edge-LLM's architectures, covers both too;
#   - the double's selftest and the tests run under `qemu-aarch64 -cpu neoverse-n1` (cargo's
#     runner; assert_cmd runs the CLI through the same runner), the double's libraries given
#     to the emulated program only (qemu's -E LD_LIBRARY_PATH=...).
# Under qemu this checks that the aarch64 build is right, never how fast anything is.
#
# Usage: scripts/test-trt-double.sh [--aarch64]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
TRIPLE=""
case "${1:-}" in
  "") ;;
  --aarch64) TRIPLE=aarch64-unknown-linux-gnu ;;
  *) echo "test-trt-double.sh: unknown option $1 (only --aarch64)" >&2; exit 2 ;;
esac
work="$repo/target/trt-double${TRIPLE:+-aarch64}"
sdk="$work/sdk"
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

cmake_cross=() run=() target=() archs=87
if [ -n "$TRIPLE" ]; then
  command -v qemu-aarch64 >/dev/null \
    || { echo "qemu-aarch64 not found: install the package qemu-user (apt-get install qemu-user)" >&2; exit 1; }
  command -v aarch64-linux-gnu-g++ >/dev/null \
    || { echo "aarch64-linux-gnu-g++ not found: install the package g++-aarch64-linux-gnu (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
  : "${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:=aarch64-linux-gnu-gcc}"
  : "${CC_aarch64_unknown_linux_gnu:=aarch64-linux-gnu-gcc}" "${CXX_aarch64_unknown_linux_gnu:=aarch64-linux-gnu-g++}"
  : "${AR_aarch64_unknown_linux_gnu:=aarch64-linux-gnu-ar}" "${QEMU_LD_PREFIX:=/usr/aarch64-linux-gnu}"
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER CC_aarch64_unknown_linux_gnu \
    CXX_aarch64_unknown_linux_gnu AR_aarch64_unknown_linux_gnu QEMU_LD_PREFIX
  cmake_cross=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64
    -DCMAKE_CXX_COMPILER="$CXX_aarch64_unknown_linux_gnu"
    -DCMAKE_CUDA_HOST_COMPILER="$CXX_aarch64_unknown_linux_gnu" "-DTRTBENCH_DOUBLE_CUDA_ARCHS=87;110")
  run=(qemu-aarch64 -cpu neoverse-n1 -E "LD_LIBRARY_PATH=$sdk/driver")
  target=(--target "$TRIPLE")
  archs="87;110"
fi

step "CUDA toolkit from PyPI wheels${TRIPLE:+ (x86-64 nvcc, aarch64 runtime)}"
if [ -n "$TRIPLE" ]; then
  cuda_wheels="$(scripts/compile-check-cuda.sh --toolkit-aarch64)"
else
  cuda_wheels="$(scripts/compile-check-cuda.sh --toolkit)"
fi

step "TensorRT headers from crates.io (trtx-sys, scripts/trt-headers.sh)"
trt_inc="$("$repo/scripts/trt-headers.sh" "$work")"
test -f "$trt_inc/NvInfer.h"

step "CPU double (CMake, real nvcc for sm_${archs//;/ and sm_}${TRIPLE:+, $TRIPLE})"
# TensorRT root: the real headers beside the double's libnvinfer.
mkdir -p "$sdk/tensorrt"
ln -sfn "$trt_inc" "$sdk/tensorrt/include"
# Its build directory plays Edge-LLM's: build.rs reads TensorRT from its cache and the archs
# from its compile flags (no -DCMAKE_CUDA_ARCHITECTURES: the cache holds nvcc's default, which
# the double's CMakeLists overrides with 87 as Edge-LLM overrides it with its own list).
cmake -S tests/trt_double -B "$sdk/edgellm-build" -DCMAKE_BUILD_TYPE=Release "${cmake_cross[@]}" \
  -DCMAKE_CUDA_COMPILER="$cuda_wheels/bin/nvcc" \
  -DTRT_PACKAGE_DIR="$sdk/tensorrt" -DDRIVER_DIR="$sdk/driver" >/dev/null
cmake --build "$sdk/edgellm-build" -j"$(nproc)" >/dev/null

step "the double's own fidelity checks (tests/trt_double/FIDELITY.md)"
LD_LIBRARY_PATH="$sdk/driver" "${run[@]}" "$sdk/edgellm-build/double_selftest" tests/fixtures/edgellm-double \
  "$sdk/edgellm-build/libNvInfer_edgellm_plugin.so" >"$work/selftest.log" 2>&1 || {
  cat "$work/selftest.log" >&2; echo "the double's selftest failed" >&2; exit 1; }
# CUDA root: the wheel toolkit, with the double driver as its link stub (lib/stubs/libcuda.so,
# where a real toolkit keeps its own stub).
mkdir -p "$sdk/cuda/lib/stubs"
for d in bin include nvvm; do ln -sfn "$cuda_wheels/$d" "$sdk/cuda/$d"; done
for f in "$cuda_wheels"/lib/*; do ln -sfn "$f" "$sdk/cuda/lib/$(basename "$f")"; done
ln -sfn "$sdk/driver/libcuda.so" "$sdk/cuda/lib/stubs/libcuda.so"

export TENSORRT_ROOT="$sdk/tensorrt" CUDA_HOME="$sdk/cuda"
export TRTBENCH_EDGE_LLM_ROOT="$repo/tests/trt_double/edgellm" TRTBENCH_EDGE_LLM_BUILD="$sdk/edgellm-build"
export LD_LIBRARY_PATH="$sdk/driver${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -n "$TRIPLE" ]; then
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="${run[*]}"
  # The cross linker does not read LD_LIBRARY_PATH: build.rs passes this as -rpath-link.
  export TRTBENCH_RPATH_LINK="$sdk/driver"
else
  unset TRTBENCH_RPATH_LINK
fi
unset CUDA_PATH TRTBENCH_CUDA_ARCHS TRTBENCH_CUDA_ARCHITECTURES TRTBENCH_TRT_COMPILE_ONLY TRTBENCH_EDGE_LLM_PLUGIN EDGELLM_PLUGIN_PATH TRTBENCH_DOUBLE_FAIL TRTBENCH_EDGE_LLM_VERBOSE

step "cargo test --features tensorrt${TRIPLE:+ --target $TRIPLE} (lib: trt, cuda; integration: trt)"
# One cargo run builds both test binaries (and the binary the CLI tests spawn) in parallel.
cargo_config=()
if [ -n "${TRTBENCH_CARGO_CONFIG:-}" ]; then cargo_config=(--config "$TRTBENCH_CARGO_CONFIG"); fi
cargo test --release "${cargo_config[@]}" -p trtbench "${target[@]}" --features tensorrt --lib --test main -- trt cuda

step "installed shim's run-time path"
shim="$(ls -t "${CARGO_TARGET_DIR:-target}"/${TRIPLE:+$TRIPLE/}release/build/trtbench-*/out/lib/libtrtbench_shim.so | head -1)"
runpath="$(readelf -d "$shim" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
echo "$shim: RUNPATH $runpath"
for dir in "$sdk/tensorrt/lib" "$sdk/cuda/lib" "$sdk/edgellm-build"; do
  case ":$runpath:" in *":$dir:"*) ;; *) echo "RUNPATH lacks $dir" >&2; exit 1 ;; esac
done
step "test-trt-double passed"
