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
#        scripts/compile-check-cuda.sh --aarch64  the same check for Jetson (issue 21, item 4):
#            sm_87 (Orin) and sm_110 (Thor), host code by Debian's aarch64 g++ through nvcc's
#            -ccbin, linked against PyPI's aarch64 CUDA runtime (assemble_aarch64 below); the
#            host program runs under qemu-aarch64 and must fail cleanly the same way
#        scripts/compile-check-cuda.sh --toolkit-aarch64  only assemble that toolkit; print it
#        scripts/compile-check-cuda.sh --llama-cpp [ARCH]   (ARCH default 87, Jetson Orin)
#            builds trtbench with `--features cuda` (llama.cpp's ggml-cuda: every kernel and
#            template instance of its default set, for sm_ARCH only) with CMake and the real
#            nvcc in target/cuda-llama, links it (see llama_cpp below for the two things PyPI
#            lacks: static cuBLAS and a driver stub), and checks with cuobjdump that
#            libggml-cuda.so carries sm_ARCH SASS with the matmul and flash-attention kernels.
#            Not run by CI: run it before each release. Not yet completed once: the first
#            run (niced, shared 2-core machine, 1-min load 4-12) was stopped after 84 min wall,
#            40 CPU-min (user+sys, Rust crates 9.2 of them), at 76 of the 144 CUDA sources (all
#            69 plain ones + 7 fattn-tile instances; the mma/mmq/mmf/vec instances were left);
#            a second run in the same dir reached 116 (80 CPU-min in all, ~60 CPU-s per
#            template instance: about 110 CPU-min for the whole build, by extrapolation).
# TRTBENCH_CUDA_CHECK_ARCHS overrides the architecture list (of the default check).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${TRTBENCH_CUDA_WORK:-$repo/target/cuda-wheels}"
CUDA_WHEEL_VERSION="13.5.37"
CCCL_WHEEL_VERSION="13.3.5.0.6"
# NVTX3 (header-only; the shim marks warmup, runs, prefill and decode with it): PyPI's
# nvidia-nvtx puts include/nvtx3/ into the same nvidia/cu13 tree, where a CUDA toolkit keeps
# it. The wheel is per platform; both are checked against these SHA-256 sums.
NVTX_WHEEL_VERSION="13.5.25"
NVTX_SHA256_x86_64="f72f21bd338c531afb3f802d03c569e9f7c324739ac332c672a431734d0b5c41"
NVTX_SHA256_aarch64="181c68c7e5308aa633015f96462b7064c07a6f3d36bb680a1ddb1b250ae84e8e"
# The cuBLAS PyPI's cuda-toolkit==13.5.0 meta-package pins (its `cublas` extra).
CUBLAS_WHEEL_VERSION="13.10.0.20"
# nvidia-cuda-runtime 13.5.37, py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64 wheel.
CUDART_AARCH64_SHA256="de2dc5a7367974228b0a69588a9acc9340d3768bef1bf38bf0801eb08497cd2d"
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
  if [ ! -f "$root/include/nvtx3/nvToolsExt.h" ]; then
    python3 -m pip download --quiet --no-deps --dest "$work/wheels" \
      "nvidia-nvtx==$NVTX_WHEEL_VERSION" >&2
    local whl sum want
    whl="$(ls "$work/wheels/nvidia_nvtx-$NVTX_WHEEL_VERSION"-*"$(uname -m)".whl)"
    sum="$(sha256sum "$whl" | cut -d' ' -f1)"
    want="NVTX_SHA256_$(uname -m)"
    if [ "$sum" != "${!want:-}" ]; then
      echo "$whl: SHA-256 $sum, expected ${!want:-<none recorded for $(uname -m)>}" >&2
      exit 1
    fi
    python3 -m zipfile -e "$whl" "$work/unzipped" >/dev/null
  fi
  echo "$root"
}

# --llama-cpp: the extra pieces ggml-cuda needs. cuBLAS (PyPI nvidia-cublas, the version the
# cuda-toolkit 13.5.0 meta-package pins; shared libraries only) and a link stub of the driver
# library: no PyPI wheel ships lib/stubs/libcuda.so (cuda-toolkit 13.5.0 pins none, and
# nvidia-cuda-runtime, -nvcc and nvidia-cublas carry none), so the stub is made here from the
# wheel's own cuda.h, as NVIDIA's is: every driver entry point the header declares (after its
# _v2/_v3 renames), each returning CUDA_ERROR_STUB_LIBRARY (34). It is only linked against;
# loading it in place of a driver is never done.
assemble_llama() {
  local root="$1"
  if [ ! -f "$root/lib/libcublasLt.so.13" ]; then
    python3 -m pip download --quiet --no-deps --dest "$work/wheels" \
      "nvidia-cublas==$CUBLAS_WHEEL_VERSION" >&2
    python3 -m zipfile -e "$work/wheels/nvidia_cublas-$CUBLAS_WHEEL_VERSION"-*.whl "$work/unzipped" >/dev/null
  fi
  ln -sf libcublas.so.13 "$root/lib/libcublas.so"
  ln -sf libcublasLt.so.13 "$root/lib/libcublasLt.so"
  if [ ! -f "$root/lib/stubs/libcuda.so" ]; then
    mkdir -p "$root/lib/stubs"
    echo '#include <cuda.h>' | gcc -E -P -I"$root/include" -x c - |
      grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' | sed -E 's/[[:space:]]*\($//' | sort -u |
      awk '{ printf "int %s(void) { return 34; }\n", $1 }' >"$root/lib/stubs/libcuda_stub.c"
    gcc -shared -fPIC -o "$root/lib/stubs/libcuda.so" -Wl,-soname,libcuda.so.1 \
      "$root/lib/stubs/libcuda_stub.c"
  fi
  # The name libggml-cuda.so records (its DT_NEEDED), for the linker to find.
  ln -sf libcuda.so "$root/lib/stubs/libcuda.so.1"
}

# --llama-cpp [ARCH]: trtbench with `--features cuda` (llama.cpp's ggml-cuda), CMake and the
# real nvcc, every kernel and template instance of the default set for sm_ARCH.
llama_cpp() {
  local arch="$1" root="$2"
  if ! [[ "$arch" =~ ^[0-9]{2,3}[af]?$ ]]; then
    echo "--llama-cpp: ARCH must be a CUDA architecture number such as 87 (got '$arch')" >&2
    exit 2
  fi
  assemble_llama "$root"
  local target="$repo/target/cuda-llama"
  mkdir -p "$target"
  echo "building trtbench --features cuda for sm_$arch in $target (see $target/build-$arch.log)"
  # The static link llama-cpp-sys-2 does by default wants libcublas_static.a,
  # libcublasLt_static.a and libculibos.a; PyPI's cuBLAS is shared only, so llama.cpp is built
  # as shared libraries (its LLAMA_BUILD_SHARED_LIBS, the `dynamic-link` feature's switch):
  # CMake links libggml-cuda.so against libcudart.so.13, libcublas.so.13, libcublasLt.so.13 and
  # the driver stub, and the final link of trtbench resolves every symbol of those libraries.
  # The kernels compile the same either way. LD_LIBRARY_PATH is there for the linker alone: it
  # finds libggml-cuda.so's own dependencies there and checks every symbol they must supply.
  local t0
  t0=$(date +%s%N)
  if ! (cd "$repo" && CUDA_PATH="$root" CUDAToolkit_ROOT="$root" \
    CMAKE_CUDA_COMPILER="$root/bin/nvcc" CMAKE_CUDA_ARCHITECTURES="$arch" \
    LLAMA_BUILD_SHARED_LIBS=1 LD_LIBRARY_PATH="$root/lib:$root/lib/stubs" /usr/bin/time -v -o "$target/time-$arch.txt" \
    nice -n 19 cargo build --release --features cuda --target-dir "$target" \
      --config 'profile.release.package.trtbench.opt-level=1' >"$target/build-$arch.log" 2>&1); then
    tail -40 "$target/build-$arch.log" >&2
    echo "cargo build --features cuda failed; full log: $target/build-$arch.log" >&2
    exit 1
  fi
  local lib
  lib="$(ls -t "$target"/release/build/llama-cpp-sys-2-*/out/lib*/libggml-cuda.so | head -1)"
  # The library holds SASS for sm_ARCH (and nothing but that architecture), in every kernel
  # source of the default set: one ELF per object file that has device code.
  local elfs sass others
  elfs="$("$root/bin/cuobjdump" -lelf "$lib")"
  sass=$(grep -c "sm_$arch" <<<"$elfs" || true)
  others=$(grep -v "sm_$arch" <<<"$elfs" | grep -c . || true)
  if [ "$sass" -eq 0 ] || [ "$others" -ne 0 ]; then
    echo "$lib: expected only sm_$arch cubins, cuobjdump -lelf listed:" >&2
    echo "$elfs" | head -20 >&2
    exit 1
  fi
  # Kernels are entries of those cubins; the quantized matmul (mmq template instances) and
  # flash attention (fattn) are the core of llama.cpp's CUDA path and must be there.
  local syms entries
  syms="$("$root/bin/cuobjdump" -symbols -arch "sm_$arch" "$lib")"
  entries=$(grep -c ' ENTRY ' <<<"$syms" || true)
  for k in mul_mat_q flash_attn_ext; do
    if ! grep -qE " ENTRY .*$k" <<<"$syms"; then
      echo "$lib: no $k kernel in its sm_$arch SASS" >&2
      exit 1
    fi
  done
  local needed
  needed="$(readelf -d "$lib" | grep NEEDED)"
  for so in libcudart.so.13 libcublas.so.13 libcuda.so.1; do
    grep -q "\[$so\]" <<<"$needed" || { echo "$lib does not link $so" >&2; exit 1; }
  done
  echo "libggml-cuda.so: $sass sm_$arch cubins, $entries kernels, links libcudart.so.13, libcublas.so.13, libcuda.so.1"
  echo "trtbench linked: $target/release/trtbench"
  awk -F': ' '/User time|System time|Elapsed|Maximum resident/ { print "  " $1 ": " $2 }' \
    "$target/time-$arch.txt"
  echo "compile-check-cuda --llama-cpp $arch: done in $(( ($(date +%s%N) - t0) / 1000000000 )) s"
}

# The toolkit for aarch64 targets (Jetson), as NVIDIA's cross packages make one: the x86-64
# compiler (nvcc, ptxas, cicc, nvlink: they run here) with the aarch64 CUDA runtime (PyPI's
# manylinux2014_aarch64 nvidia-cuda-runtime, pinned by sha256) in its lib/. Host code is then
# compiled by the aarch64 g++ through -ccbin (CMake: CMAKE_CUDA_HOST_COMPILER). nvcc finds
# include/, lib/ and nvvm/ from where its executable is ($(TOP) in bin/nvcc.profile), so bin/
# and nvvm/ are hard links to the x86-64 tree's files (a symlinked bin/ would resolve to the
# x86-64 tree and its x86-64 lib/); include/ is the x86-64 tree's, whose runtime headers are
# checked to be the aarch64 wheel's, byte for byte.
assemble_aarch64() {
  local root="$1" xroot="$work/aarch64/cu13"
  local stamp="$work/aarch64/.complete-$CUDA_WHEEL_VERSION"
  if [ ! -f "$stamp" ]; then
    local wheels="$work/wheels-aarch64" unz="$work/aarch64/unzipped"
    mkdir -p "$wheels"
    echo "nvidia-cuda-runtime==$CUDA_WHEEL_VERSION --hash=sha256:$CUDART_AARCH64_SHA256" >"$wheels/requirements.txt"
    python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
      --platform manylinux2014_aarch64 --disable-pip-version-check --dest "$wheels" \
      -r "$wheels/requirements.txt" >&2
    rm -rf "$work/aarch64"
    mkdir -p "$xroot/lib"
    python3 -m zipfile -e "$wheels/nvidia_cuda_runtime-$CUDA_WHEEL_VERSION"-*aarch64*.whl "$unz" >/dev/null
    if diff -rq "$unz/nvidia/cu13/include" "$root/include" | grep -v "^Only in $root/include"; then
      echo "the aarch64 runtime wheel's headers differ from the x86-64 toolkit's (above)" >&2
      exit 1
    fi
    for d in bin nvvm; do cp -al "$root/$d" "$xroot/$d" 2>/dev/null || cp -a "$root/$d" "$xroot/$d"; done
    ln -sfn "$root/include" "$xroot/include"
    cp "$unz"/nvidia/cu13/lib/* "$xroot/lib/"
    ln -sf libcudart.so.13 "$xroot/lib/libcudart.so"
    touch "$stamp"
  fi
  echo "$xroot"
}

# Cross tools for --aarch64 and --toolkit-aarch64, named by the Debian package to install.
need_aarch64_tools() {
  command -v aarch64-linux-gnu-g++ >/dev/null \
    || { echo "aarch64-linux-gnu-g++ not found: install the package g++-aarch64-linux-gnu (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
  if [ "${1:-}" = run ]; then
    command -v qemu-aarch64 >/dev/null \
      || { echo "qemu-aarch64 not found: install the package qemu-user (apt-get install qemu-user)" >&2; exit 1; }
  fi
}

cuda="$(assemble)"
case "${1:-}" in
  --toolkit)
    echo "$cuda"
    exit 0
    ;;
  --toolkit-aarch64)
    need_aarch64_tools
    assemble_aarch64 "$cuda"
    exit 0
    ;;
  --llama-cpp)
    llama_cpp "${2:-87}" "$cuda"
    exit 0
    ;;
  --aarch64)
    need_aarch64_tools run
    tk="$(assemble_aarch64 "$cuda")"
    archs="${TRTBENCH_CUDA_CHECK_ARCHS:-87 110}"
    cxx=aarch64-linux-gnu-g++
    hostcc=(-ccbin "$cxx")
    nm=aarch64-linux-gnu-nm
    ar=aarch64-linux-gnu-ar
    run=(env QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64 -cpu neoverse-n1)
    out="$work/check-aarch64"
    ;;
  "")
    tk="$cuda" cxx=g++ hostcc=() nm=nm ar=ar run=(env) out="$work/check"
    ;;
  *)
    echo "compile-check-cuda.sh: unknown option $1 (--toolkit, --toolkit-aarch64, --aarch64, --llama-cpp [ARCH])" >&2
    exit 2
    ;;
esac

nvcc="$tk/bin/nvcc"
"$nvcc" --version | tail -2
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
  "$nvcc" "${hostcc[@]}" "${gencode[@]}" -rdc=true -Xcompiler -fPIC -c "$repo/tests/trt_double/src/$f.cu" -o "$d/$f.o"
done
"$ar" rcs "$d/libcore.a" "$d/device_a.o" "$d/device_b.o"
"$nvcc" "${hostcc[@]}" "${gencode[@]}" -Xcompiler -fPIC -c "$repo/cpp/device_link_stub.cu" -o "$d/stub.o"
"$nvcc" "${hostcc[@]}" "${gencode[@]}" -Xcompiler -fPIC -dlink "$d/stub.o" "$d/libcore.a" -o "$d/dlink.o"
"$cxx" -shared -o "$d/libshim.so" "$d/stub.o" "$d/dlink.o" -Wl,--whole-archive "$d/libcore.a" \
  -Wl,--no-whole-archive -L"$tk/lib" -lcudart -Wl,--no-undefined
if "$nm" -D --undefined-only "$d/libshim.so" | grep -q __cudaRegisterLinkedBinary; then
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
machine="$(readelf -h "$d/libshim.so" | sed -n 's/^ *Machine: *//p')"
echo "sm_${archs// /,sm_}: compiled (-rdc), device-linked, linked ($machine host code), SASS checked per arch in $(secs "$t0") s"

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
"$cxx" -o "$out/main" "$out/main.cpp" -I"$tk/include" -L"$d" -lshim -L"$tk/lib" -lcudart \
  -Wl,-rpath,"$d" -Wl,-rpath,"$tk/lib"
set +e
msg="$(env -u LD_LIBRARY_PATH "${run[@]}" "$out/main" 2>&1)"
rc=$?
set -e
echo "$msg"
if [ $rc -ne 3 ] || ! grep -qiE "driver version is insufficient|no CUDA-capable device" <<<"$msg"; then
  echo "expected a clean CUDA driver error (exit 3), got exit $rc" >&2
  exit 1
fi
echo "compile-check-cuda: $(wc -w <<<"$archs") architectures ($machine) in $(secs "$t0") s"
