#!/usr/bin/env bash
# CUDA compiled and linked for real, without a GPU (issue 11, item 9). The CUDA 13.5 compiler,
# runtime and headers come from PyPI wheels (nvidia-cuda-nvcc, -runtime, -crt, -cccl,
# nvidia-nvvm; unzipped into one tree). Then, for every architecture trtbench claims:
#   - the double's separably compiled device code (tests/trt_double/src/device_{a,b}.cu, a
#     __device__ call across translation units, as in Edge-LLM's kernels) is built with
#     -rdc=true into a static archive;
#   - cpp/device_link_stub.cu is compiled and the archive is device-linked (nvcc -dlink), the
#     step CMake's CUDA_RESOLVE_DEVICE_SYMBOLS runs for the shim, then linked into a shared
#     library against libcudart.so.13 with no undefined __cudaRegisterLinkedBinary_* left;
#   - cuobjdump (PyPI: nvidia-cuda-cuobjdump) checks the linked library carries, for every
#     architecture, a SASS cubin in which the kernel is an entry and the cross-TU callee is
#     defined: SASS for each claimed GPU, and the device link kept it;
# and one host program linked against that library runs and must fail cleanly with
# "CUDA driver version is insufficient" (there is no driver here).
#
# Usage: scripts/compile-check-cuda.sh            the check
#        scripts/compile-check-cuda.sh --toolkit  only assemble the toolkit; print its root
# TRTBENCH_CUDA_CHECK_ARCHS overrides the architecture list.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${TRTBENCH_CUDA_WORK:-$repo/target/cuda-wheels}"
CUDA_WHEEL_VERSION="13.5.37"
CCCL_WHEEL_VERSION="13.3.5.0.6"
# Jetson Orin 87, Jetson Thor 110 (CUDA 13 renamed Thor's sm_101 to sm_110), DGX Spark 121;
# data center / desktop 80 (A100), 86 (RTX 30), 89 (L4, RTX 40), 90 (H100), 100 (B200),
# 120 (RTX 50). Edge-LLM itself builds 80;86;89;100a;120 on x86 and 87 / 110a / 121a on Jetson
# Orin / Thor / Spark.
archs="${TRTBENCH_CUDA_CHECK_ARCHS:-87 110 121 80 86 89 90 100 120}"

assemble() {
  mkdir -p "$work/wheels"
  local stamp="$work/unzipped/.complete-$CUDA_WHEEL_VERSION"
  if [ ! -f "$stamp" ]; then
    python3 -m pip download --quiet --no-deps --dest "$work/wheels" \
      "nvidia-cuda-nvcc==$CUDA_WHEEL_VERSION" "nvidia-cuda-runtime==$CUDA_WHEEL_VERSION" \
      "nvidia-cuda-crt==$CUDA_WHEEL_VERSION" "nvidia-nvvm==$CUDA_WHEEL_VERSION" \
      "nvidia-cuda-cccl==$CCCL_WHEEL_VERSION" >&2
    rm -rf "$work/unzipped"
    for w in "$work"/wheels/nvidia_*.whl; do python3 -m zipfile -e "$w" "$work/unzipped" >/dev/null; done
    local root="$work/unzipped/nvidia/cu13"
    # zipfile drops the executable bits.
    chmod +x "$root"/bin/* "$root"/bin/crt/* "$root"/nvvm/bin/* 2>/dev/null || true
    # The wheels ship only the versioned runtime; linkers and CMake look for libcudart.so.
    ln -sf libcudart.so.13 "$root/lib/libcudart.so"
    touch "$stamp"
  fi
  local root="$work/unzipped/nvidia/cu13"
  if [ ! -x "$root/bin/cuobjdump" ]; then
    python3 -m pip download --quiet --no-deps --dest "$work/wheels" \
      "nvidia-cuda-cuobjdump==$CUDA_WHEEL_VERSION" >&2
    python3 -m zipfile -e "$work/wheels/nvidia_cuda_cuobjdump-$CUDA_WHEEL_VERSION"-*.whl "$work/unzipped" >/dev/null
    chmod +x "$root/bin/cuobjdump"
  fi
  echo "$root"
}

cuda="$(assemble)"
if [ "${1:-}" = "--toolkit" ]; then
  echo "$cuda"
  exit 0
fi

nvcc="$cuda/bin/nvcc"
"$nvcc" --version | tail -2
out="$work/check"
rm -rf "$out" && mkdir -p "$out"
t0=$(date +%s%N)
secs() { local d=$(( ($(date +%s%N) - $1) / 100000000 )); echo "$((d / 10)).$((d % 10))"; }
# One fat binary with a cubin per architecture: the host side compiles once, like Edge-LLM's
# own multi-architecture builds (CMAKE_CUDA_ARCHITECTURES with several entries).
gencode=()
for a in $archs; do gencode+=(-gencode "arch=compute_$a,code=sm_$a"); done
d="$out/fat"
mkdir -p "$d"
for f in device_a device_b; do
  "$nvcc" "${gencode[@]}" -rdc=true -Xcompiler -fPIC -c "$repo/tests/trt_double/src/$f.cu" -o "$d/$f.o"
done
ar rcs "$d/libcore.a" "$d/device_a.o" "$d/device_b.o"
"$nvcc" "${gencode[@]}" -Xcompiler -fPIC -c "$repo/cpp/device_link_stub.cu" -o "$d/stub.o"
"$nvcc" "${gencode[@]}" -Xcompiler -fPIC -dlink "$d/stub.o" "$d/libcore.a" -o "$d/dlink.o"
g++ -shared -o "$d/libshim.so" "$d/stub.o" "$d/dlink.o" -Wl,--whole-archive "$d/libcore.a" \
  -Wl,--no-whole-archive -L"$cuda/lib" -lcudart -Wl,--no-undefined
if nm -D --undefined-only "$d/libshim.so" | grep -q __cudaRegisterLinkedBinary; then
  echo "device link left __cudaRegisterLinkedBinary_* unresolved" >&2
  exit 1
fi
# Every claimed architecture has SASS in the linked library, and its device link kept it:
# a cubin for sm_X whose symbols hold the kernel as an entry and the callee from the other
# translation unit as a defined function (an unlinked relocatable cubin would lack one).
for a in $archs; do
  syms="$("$cuda/bin/cuobjdump" -symbols -arch "sm_$a" "$d/libshim.so" 2>&1 || true)"
  if ! awk '/^Fatbin elf code/ { if (k && c) ok = 1; k = c = 0 }
            / ENTRY .*_Z20trtbenchDoubleKernelPi$/ { k = 1 }
            /^FUNC .* GLOBAL .*_Z19trtbenchDoubleScalei$/ && !/ U +_Z19/ { c = 1 }
            END { if (k && c) ok = 1; exit !ok }' <<<"$syms"; then
    echo "libshim.so has no device-linked sm_$a SASS (kernel + callee); cuobjdump -symbols said:" >&2
    echo "$syms" | head -20 >&2
    exit 1
  fi
done
echo "sm_${archs// /,sm_}: compiled (-rdc), device-linked, linked, SASS checked per arch in $(secs "$t0") s"

# A host program over that library: loads libcudart.so.13 and fails cleanly at run time.
cat > "$out/main.cpp" <<'CPP'
#include <cuda_runtime_api.h>
#include <cstdio>
void trtbenchDoubleLaunch(int* out);
int main()
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    std::printf("cudaGetDeviceCount: %s\n", cudaGetErrorString(e));
    if (e == cudaSuccess)
    {
        trtbenchDoubleLaunch(nullptr); // never reached without a GPU
    }
    return e == cudaSuccess ? 0 : 3;
}
CPP
g++ -o "$out/main" "$out/main.cpp" -I"$cuda/include" -L"$d" -lshim -L"$cuda/lib" -lcudart \
  -Wl,-rpath,"$d" -Wl,-rpath,"$cuda/lib"
set +e
msg="$(env -u LD_LIBRARY_PATH "$out/main" 2>&1)"
rc=$?
set -e
echo "$msg"
if [ $rc -ne 3 ] || ! grep -qiE "driver version is insufficient|no CUDA-capable device" <<<"$msg"; then
  echo "expected a clean CUDA driver error (exit 3), got exit $rc" >&2
  exit 1
fi
echo "compile-check-cuda: $(wc -w <<<"$archs") architectures in $(secs "$t0") s"
