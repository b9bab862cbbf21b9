#!/usr/bin/env bash
# Compile-checks the `tensorrt` feature on a machine without a GPU or the TensorRT SDK:
#   1. fetches TensorRT 11.4 headers (Apache-2.0) from the crates.io crate trtx-sys through a
#      throwaway Cargo project (`cargo fetch`), and CUDA 13.5 headers from the PyPI wheels
#      nvidia-cuda-runtime + nvidia-cuda-crt (`pip download`, unzipped);
#   2. checks build.rs fails loudly, listing the paths it tried, when the SDKs are missing
#      (with `cargo build --release`, whose dependencies the release build already compiled;
#      `cargo check` would type-check ~200 of them again first);
#   3. runs `cargo check --features tensorrt` with TRTBENCH_TRT_COMPILE_ONLY=1 (skipped with
#      TRTBENCH_SKIP_FEATURE_CHECK=1, as scripts/test.sh does before running the same code
#      against the CPU double in scripts/test-trt-double.sh), which compiles
#      cpp/trt_inspect.cpp (raw TensorRT) against those headers, generates and compiles the
#      cxx bridge and cpp/bridge.cc, and type-checks the Rust side. Nothing is linked;
#   4. compiles cpp/trt_inspect.cpp (the raw TensorRT part) with g++ -Wall -Wextra -Werror
#      against the TensorRT 11.4 headers and, from trtx-sys 0.5.0, the TensorRT 10.16 ones
#      (JetPack 6/7 and Edge-LLM's x86 instructions use TensorRT 10).
# Optional: TRTBENCH_CLIPPY=1 also runs clippy -D warnings with the feature on.
# Optional: TRTBENCH_EDGE_LLM_SRC=<TensorRT-Edge-LLM source tree> also syntax-checks
# cpp/edgellm_runner.cpp against it (Edge-LLM headers are in no registry, so CI cannot).
#
# Usage: scripts/compile-check-trt.sh [work dir, default target/compile-check-trt]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$repo/target/compile-check-trt}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

CUDA_WHEEL_VERSION="13.5.37"
CCCL_WHEEL_VERSION="13.3.5.0.6"

step() { printf '\n== %s\n' "$*"; }

step "TensorRT headers from crates.io (trtx-sys, scripts/trt-headers.sh)"
trt_inc="$("$repo/scripts/trt-headers.sh" "$work")"
test -f "$trt_inc/NvInfer.h" || { echo "NvInfer.h not found under $trt_inc" >&2; exit 1; }
grep -E '^#define TRT_(MAJOR|MINOR|PATCH|BUILD)_ENTERPRISE' "$trt_inc/NvInferVersion.h"

step "CUDA headers from PyPI (nvidia-cuda-runtime, nvidia-cuda-crt $CUDA_WHEEL_VERSION)"
wheels="$work/wheels"
mkdir -p "$wheels"
pkgs=("nvidia-cuda-runtime==$CUDA_WHEEL_VERSION" "nvidia-cuda-crt==$CUDA_WHEEL_VERSION")
if [ -n "${TRTBENCH_EDGE_LLM_SRC:-}" ]; then
  pkgs+=("nvidia-cuda-cccl==$CCCL_WHEEL_VERSION") # <nv/target> for cuda_fp16.h
fi
python3 -m pip download --quiet --no-deps --dest "$wheels" "${pkgs[@]}"
cuda_root="$work/cuda"
for w in "$wheels"/*.whl; do python3 -m zipfile -e "$w" "$work/unzipped" >/dev/null; done
rm -rf "$cuda_root" && mkdir -p "$cuda_root"
ln -s "$work/unzipped/nvidia/cu13/include" "$cuda_root/include"
test -f "$cuda_root/include/cuda_runtime_api.h"
test -f "$cuda_root/include/crt/host_defines.h"

cd "$repo"

step "build.rs without the SDKs must fail and list the paths it tried"
set +e
out="$(env -u TENSORRT_ROOT -u CUDA_HOME -u CUDA_PATH -u TRTBENCH_EDGE_LLM_ROOT \
  -u TRTBENCH_EDGE_LLM_BUILD -u TRTBENCH_TRT_COMPILE_ONLY \
  cargo build --release --features tensorrt --lib 2>&1)"
rc=$?
set -e
if [ $rc -eq 0 ]; then echo "expected a failure, cargo build succeeded" >&2; exit 1; fi
for needle in "TensorRT headers (NvInfer.h)" "TENSORRT_ROOT" "/usr/local/tensorrt/include/NvInfer.h" \
              "CUDA_HOME or CUDA_PATH" "/usr/local/cuda/include/cuda_runtime_api.h" "TRTBENCH_EDGE_LLM_ROOT"; do
  if ! grep -qF "$needle" <<<"$out"; then
    echo "build.rs failure message lacks: $needle" >&2
    echo "$out" | tail -40 >&2
    exit 1
  fi
done
echo "ok: failed as expected and named every missing component with the paths tried"

if [ "${TRTBENCH_SKIP_FEATURE_CHECK:-0}" = 1 ]; then
  # scripts/test-trt-double.sh compiles, links and runs the same code: no need to type-check it twice.
  echo "skipping cargo check --features tensorrt (TRTBENCH_SKIP_FEATURE_CHECK=1)"
else
  step "cargo check --features tensorrt (compile only: raw TensorRT part + cxx bridge + Rust)"
  TRTBENCH_TRT_COMPILE_ONLY=1 TENSORRT_ROOT="$trt_inc" CUDA_HOME="$cuda_root" \
    cargo check --release --features tensorrt
fi
if [ "${TRTBENCH_CLIPPY:-0}" = 1 ]; then
  TRTBENCH_TRT_COMPILE_ONLY=1 TENSORRT_ROOT="$trt_inc" CUDA_HOME="$cuda_root" \
    cargo clippy --release --features tensorrt --all-targets -- -D warnings
fi

trt10_inc="$("$repo/scripts/trt-headers.sh" "$work" 10)"
for inc in "$trt_inc" "$trt10_inc"; do
  v="$(sed -n 's/^#define TRT_\(MAJOR\|MINOR\)_ENTERPRISE //p' "$inc/NvInferVersion.h" | paste -sd.)"
  step "g++ -Wall -Wextra -Werror on cpp/trt_inspect.cpp against TensorRT $v"
  g++ -std=c++17 -fsyntax-only -Wall -Wextra -Werror -Icpp -isystem "$inc" -isystem "$cuda_root/include" \
    cpp/trt_inspect.cpp
  echo "ok"
done

if [ -n "${TRTBENCH_EDGE_LLM_SRC:-}" ]; then
  step "g++ -fsyntax-only cpp/edgellm_runner.cpp against $TRTBENCH_EDGE_LLM_SRC"
  g++ -std=c++17 -fsyntax-only -Wall -Wextra -Wno-deprecated-declarations -Wno-unused-parameter -Icpp \
    -I"$TRTBENCH_EDGE_LLM_SRC/cpp" -I"$TRTBENCH_EDGE_LLM_SRC/examples/multimodal" \
    -I"$TRTBENCH_EDGE_LLM_SRC/3rdParty/nlohmannJson/include" \
    -isystem "$trt_inc" -isystem "$cuda_root/include" cpp/edgellm_runner.cpp
  echo "ok"
fi

step "compile check passed"
