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
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$repo/target/trt-double"
sdk="$work/sdk"
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "CUDA toolkit from PyPI wheels"
cuda_wheels="$(scripts/compile-check-cuda.sh --toolkit)"

step "TensorRT headers from crates.io (trtx-sys, scripts/trt-headers.sh)"
trt_inc="$("$repo/scripts/trt-headers.sh" "$work")"
test -f "$trt_inc/NvInfer.h"

step "CPU double (CMake, real nvcc for sm_87)"
# TensorRT root: the real headers beside the double's libnvinfer.
mkdir -p "$sdk/tensorrt"
ln -sfn "$trt_inc" "$sdk/tensorrt/include"
# Its build directory plays Edge-LLM's: build.rs reads TensorRT from its cache and the archs
# from its compile flags (no -DCMAKE_CUDA_ARCHITECTURES: the cache holds nvcc's default, which
# the double's CMakeLists overrides with 87 as Edge-LLM overrides it with its own list).
cmake -S tests/trt_double -B "$sdk/edgellm-build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_COMPILER="$cuda_wheels/bin/nvcc" \
  -DTRT_PACKAGE_DIR="$sdk/tensorrt" -DDRIVER_DIR="$sdk/driver" >/dev/null
cmake --build "$sdk/edgellm-build" -j"$(nproc)" >/dev/null

step "the double's own fidelity checks (tests/trt_double/FIDELITY.md)"
LD_LIBRARY_PATH="$sdk/driver" "$sdk/edgellm-build/double_selftest" tests/fixtures/edgellm-double \
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
unset CUDA_PATH TRTBENCH_CUDA_ARCHS TRTBENCH_CUDA_ARCHITECTURES TRTBENCH_TRT_COMPILE_ONLY TRTBENCH_EDGE_LLM_PLUGIN EDGELLM_PLUGIN_PATH TRTBENCH_DOUBLE_FAIL TRTBENCH_EDGE_LLM_VERBOSE

step "cargo test --features tensorrt (lib: trt, cuda; integration: trt)"
# One cargo run builds both test binaries (and the binary the CLI tests spawn) in parallel.
cargo_config=()
if [ -n "${TRTBENCH_CARGO_CONFIG:-}" ]; then cargo_config=(--config "$TRTBENCH_CARGO_CONFIG"); fi
cargo test --release "${cargo_config[@]}" -p trtbench --features tensorrt --lib --test main -- trt cuda

step "installed shim's run-time path"
shim="$(ls -t "${CARGO_TARGET_DIR:-target}"/release/build/trtbench-*/out/lib/libtrtbench_shim.so | head -1)"
runpath="$(readelf -d "$shim" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
echo "$shim: RUNPATH $runpath"
for dir in "$sdk/tensorrt/lib" "$sdk/cuda/lib" "$sdk/edgellm-build"; do
  case ":$runpath:" in *":$dir:"*) ;; *) echo "RUNPATH lacks $dir" >&2; exit 1 ;; esac
done
step "test-trt-double passed"
