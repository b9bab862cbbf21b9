#!/usr/bin/env bash
# trtbench on aarch64 (Jetson's CPUs), checked from an x86-64 Debian machine under user-mode
# emulation. Correctness only: qemu's timings say nothing about a Jetson.
#   1. tools: Debian's cross toolchain (g++-aarch64-linux-gnu), qemu-user and the rustup
#      target, installed when missing (TRTBENCH_NO_INSTALL=1: only checked, and a missing
#      one fails naming its package);
#   2. cross-builds trtbench (default features) for aarch64-unknown-linux-gnu with llama.cpp's
#      CPU kernels at the Jetson Orin class, GGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16
#      (scripts/ggml-arm-arch.cmake; docs/jetson.md says why), our crate linted by clippy
#      for aarch64 as it compiles (-D warnings), so the aarch64-only code is linted too;
#   3. the library's unit tests under `qemu-aarch64 -cpu neoverse-n1` (Armv8.2-A with dotprod
#      and fp16, Orin's ISA level; two skipped, see QEMU_SKIPS), the dotprod roofline probe
#      required to run, and the roofline tests under `-cpu max` with the i8mm probe required;
#   4. x86-64 reference: greedy decoding of a fixed prompt (examples/greedy prints each
#      step's two best logits) by the x86-64 build;
#   5. `-cpu neoverse-n1`, Orin-class build: a real `trtbench run` on the default model
#      (isl 16, osl 4) that must end ok with llama.cpp's system info showing DOTPROD and
#      FP16_VA, and the greedy decoding, compared with x86-64's (below);
#   6. `-cpu max` (Armv9 with SVE2, i8mm), Orin-class build: `trtbench doctor` must say the
#      build lacks this CPU's SVE and MATMUL_INT8 kernels ("figures understate");
#   7. the `tensorrt` feature for aarch64 (issue 21, item 4; Orin-class ggml, as -cpu
#      neoverse-n1 has no SVE), from PyPI's x86-64 nvcc with
#      Debian's aarch64 g++ as its host compiler (-ccbin) and PyPI's aarch64 CUDA runtime:
#      scripts/compile-check-cuda.sh --aarch64 (our CUDA code for sm_87 and sm_110,
#      device-linked, SASS checked, the host program failing cleanly under qemu for want of a
#      driver) beside scripts/test-trt-double.sh --aarch64 (the CPU double of Edge-LLM /
#      TensorRT / CUDA cross-built for sm_87 and sm_110, its selftest, then the shim, bridge
#      and crate cross-built with the feature and `cargo test --features tensorrt` of the
#      trt and cuda tests under `qemu-aarch64 -cpu neoverse-n1`);
#   8. Thor class (GGML_CPU_ARM_ARCH=armv8.6-a+dotprod+fp16+sve+i8mm+sve2, ggml's armv8.6_2;
#      only ggml-cpu recompiles) under `-cpu max,sve-default-vector-length=16` (128-bit SVE,
#      as Neoverse-V3AE): the run and the greedy decoding again, the system info showing SVE
#      and MATMUL_INT8 too;
#   then prints how long each step took.
# Greedy comparison: the tokens must be the x86-64 build's, step by step, with the best
# logit within LOGIT_TOL = 1.0 (the logits are 14-38 here, and the builds differ by up to
# 0.8: f16 arithmetic on Arm where x86 uses f32, other summation orders). At the first step
# where the chosen tokens differ, both builds must have the same two best tokens within
# TIE_TOL = 0.25 of each other (a near-tie that rounding decides); later steps, which
# continue different text, are not compared.
# Build settings (opt-level 1 Rust, -O1 C++ while ggml's C kernels keep -O3) are
# scripts/test.sh's, in their own target dir, target/aarch64. The x86-64 reference reuses
# scripts/test.sh's target/ci (already built when .ci/run runs this after it).
# env: TRTBENCH_NO_INSTALL=1    do not install apt packages or the rustup target
#      TRTBENCH_X86_TARGET_DIR  the x86-64 build to compare with (default target/ci)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TRIPLE=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu
MODEL=engines/smollm2-135m-q4_1
PROMPT="The capital of France is"
NTOK=16
ORIN_ARCH=armv8.2-a+dotprod+fp16
THOR_ARCH=armv8.6-a+dotprod+fp16+sve+i8mm+sve2
X86_TARGET_DIR="${TRTBENCH_X86_TARGET_DIR:-$ROOT/target/ci}"
OUT=target/aarch64-check
t0=$(date +%s)
tstep=$t0
timings=()
step() {
  local now
  now=$(date +%s)
  [ -n "${cur:-}" ] && timings+=("$(printf '%5ss  %s' $((now - tstep)) "$cur")")
  tstep=$now
  cur="$*"
  [ -n "$cur" ] && printf '\n== %s (%ss)\n' "$cur" "$((now - t0))" >&2
  return 0
}
die() {
  echo "check-aarch64: $*" >&2
  exit 1
}

step "tools: cross toolchain, qemu-user, rustup target"
if [ "${TRTBENCH_NO_INSTALL:-}" != 1 ]; then
  TRTBENCH_EXTRA_PKGS="g++-aarch64-linux-gnu qemu-user" scripts/setup.sh packages
  rustup target add "$TRIPLE" >/dev/null 2>&1 || true
fi
command -v aarch64-linux-gnu-g++ >/dev/null \
  || die "aarch64-linux-gnu-g++ not found: install the package g++-aarch64-linux-gnu (apt-get install g++-aarch64-linux-gnu)"
[ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] \
  || die "no aarch64 C library in $SYSROOT: install the package libc6-dev-arm64-cross (g++-aarch64-linux-gnu brings it)"
command -v qemu-aarch64 >/dev/null \
  || die "qemu-aarch64 not found: install the package qemu-user (apt-get install qemu-user)"
command -v cmake >/dev/null || die "cmake not found: install the package cmake"
rustup target list --installed 2>/dev/null | grep -qx "$TRIPLE" \
  || die "Rust's $TRIPLE standard library is missing: rustup target add $TRIPLE"
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)" \
  || die "clippy-driver not found: rustup component add clippy"

# The x86-64 settings are scripts/test.sh's, so its target/ci is reused as it is.
x86_env() {
  env -u GGML_CPU_ARM_ARCH -u CMAKE_PROJECT_ggml_INCLUDE CARGO_TARGET_DIR="$X86_TARGET_DIR" \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=4 CMAKE_CXX_FLAGS_RELEASE='-O1 -DNDEBUG' \
    CMAKE_PROJECT_INCLUDE="$ROOT/scripts/llama-ci.cmake" \
    RUSTC_WORKSPACE_WRAPPER="$RUSTC_WORKSPACE_WRAPPER" \
    CLIPPY_ARGS='-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__' "$@"
}
# The same for aarch64, in its own target dir, plus the cross toolchain and the kernels' ISA.
export CARGO_TARGET_DIR="$ROOT/target/aarch64"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=4 CMAKE_CXX_FLAGS_RELEASE='-O1 -DNDEBUG'
export CMAKE_PROJECT_INCLUDE="$ROOT/scripts/llama-ci.cmake"
export CMAKE_PROJECT_ggml_INCLUDE="$ROOT/scripts/ggml-arm-arch.cmake"
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS='-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__'
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=$SYSROOT -I$SYSROOT/include"
export QEMU_LD_PREFIX="$SYSROOT"
mkdir -p "$OUT"
BIN="$CARGO_TARGET_DIR/$TRIPLE/release"

# Builds trtbench, examples/greedy and (with "tests") the unit tests for aarch64 with ggml's
# kernels at -march=$1. llama-cpp-sys-2 configures CMake only once per target dir
# (always_configure(false)), so a cache holding another ISA is removed first: CMake then
# configures again and only ggml-cpu recompiles. The configured ISA is checked after.
cross_build() {
  local arch="$1" cache
  export GGML_CPU_ARM_ARCH="$arch"
  for cache in "$BIN"/build/llama-cpp-sys-2-*/out/build/CMakeCache.txt; do
    if [ -f "$cache" ] && ! grep -qx "GGML_CPU_ARM_ARCH:STRING=$arch" "$cache"; then
      rm -f "$cache"
    fi
  done
  cargo build --release --locked --target "$TRIPLE" --bin trtbench --example greedy
  if [ "${2:-}" = tests ]; then
    cargo test --release --locked --target "$TRIPLE" -p trtbench --lib --no-run 2>"$OUT/test-build.log" \
      || { cat "$OUT/test-build.log" >&2; die "the unit tests did not build for $TRIPLE"; }
  fi
  grep -qx "GGML_CPU_ARM_ARCH:STRING=$arch" "$BIN"/build/llama-cpp-sys-2-*/out/build/CMakeCache.txt \
    || die "llama.cpp was not configured with GGML_CPU_ARM_ARCH=$arch"
}

# `trtbench run` under `qemu-aarch64 -cpu $1` into $OUT/run-$2.json: it must end ok, and
# llama.cpp's system info and the CPU must both show the kernel features named after $2.
run_check() {
  local cpu="$1" name="$2"
  shift 2
  local res="$OUT/run-$name.json"
  qemu-aarch64 -cpu "$cpu" "$BIN/trtbench" run -e "$MODEL" --isl 16 --osl 4 --warmup 0 \
    --runs 1 -t 2 -o "$res" --force >"$OUT/run-$name.log" 2>&1 \
    || { cat "$OUT/run-$name.log" >&2; die "trtbench run failed under -cpu $cpu"; }
  python3 - "$res" "$@" <<'PY' || die "the run under -cpu $cpu does not show the kernels (above)"
import json, sys
r = json.load(open(sys.argv[1]))
env, p = r["environment"], r["points"][0]
info = env["llama_cpp_system_info"]
print(f"  run: {p['status']}; system info: {info.strip()}")
print(f"  build features {env.get('llama_cpp_build_features')}, CPU {env.get('cpu_ggml_features')}")
print(f"  compute peak: {env.get('roofline', {}).get('compute_method')}")
ok = p["status"] == "ok"
for f in sys.argv[2:]:
    if f"{f} = 1" not in info or f not in env.get("cpu_ggml_features", []):
        print(f"  {f}: not in the build's system info, or not reported by the CPU")
        ok = False
sys.exit(0 if ok else 1)
PY
}

# Greedy decoding under `qemu-aarch64 -cpu $1`, compared with the x86-64 build's (see top).
greedy_check() {
  local cpu="$1" name="$2"
  qemu-aarch64 -cpu "$cpu" "$BIN/examples/greedy" "$GGUF" "$PROMPT" "$NTOK" \
    >"$OUT/greedy-$name.txt" 2>"$OUT/greedy-$name.log" \
    || { tail -n 20 "$OUT/greedy-$name.log" >&2; die "greedy decoding failed under -cpu $cpu"; }
  python3 - "$OUT/greedy-x86_64.txt" "$OUT/greedy-$name.txt" <<'PY' \
    || die "greedy decoding under -cpu $cpu differs from x86-64's (above)"
import sys
LOGIT_TOL, TIE_TOL = 1.0, 0.25
def steps(path):
    return [l.split()[2:] for l in open(path) if l.startswith("step ")]
x86, arm = steps(sys.argv[1]), steps(sys.argv[2])
if not (len(x86) == len(arm) > 0):
    sys.exit(f"  step counts differ: {len(x86)} and {len(arm)}")
worst, same = 0.0, 0
for i, (a, b) in enumerate(zip(x86, arm)):
    (a1, la1, a2, la2), (b1, lb1, b2, lb2) = a, b
    la1, la2, lb1, lb2 = map(float, (la1, la2, lb1, lb2))
    if a1 == b1:
        worst = max(worst, abs(la1 - lb1))
        same += 1
        continue
    tie = {a1, a2} == {b1, b2} and la1 - la2 <= TIE_TOL and lb1 - lb2 <= TIE_TOL
    verdict = "a near-tie, accepted; later steps not compared" if tie else "NOT a near-tie"
    print(f"  step {i}: x86-64 chose {a1} ({la1} vs {a2} {la2}), aarch64 {b1} ({lb1} vs {b2} {lb2}): {verdict}")
    if not tie:
        sys.exit(1)
    break
print(f"  greedy: {same} of {len(x86)} tokens equal to x86-64's before any near-tie; "
      f"best logits within {worst:.3f} of x86-64's (tolerance {LOGIT_TOL})")
sys.exit(0 if worst <= LOGIT_TOL else 1)
PY
}

step "cross build, Orin class (GGML_CPU_ARM_ARCH=$ORIN_ARCH): trtbench, examples/greedy, unit tests"
cross_build "$ORIN_ARCH" tests

# Two tests need what qemu-user (7.2) does not emulate, and are skipped here only:
# SO_TIMESTAMPNS (setsockopt fails: no kernel receive timestamps under qemu-user), and a
# spawn of a missing program failing in the parent (under qemu-user the child exits 127).
QEMU_SKIPS=(--skip client::http::stamped::kernel_tests::a_piece_is_timed_when_it_reached_the_machine
  --skip build::steps::tests::missing_program_is_named)
unit_tests() {
  local cpu="$1" log="$OUT/unit-tests-$1.log"
  shift
  if ! CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu" \
    cargo test --release --locked --target "$TRIPLE" -p trtbench --lib -- "$@" >"$log" 2>&1; then
    grep -E "^(test .* FAILED|failures:|---- |thread .* panicked)" -A3 "$log" >&2 || tail -n 40 "$log" >&2
    die "unit tests failed under qemu-aarch64 -cpu $cpu (log: $log)"
  fi
  echo "  -cpu $cpu: $(grep "^test result:" "$log")"
}
step "unit tests under qemu-aarch64 -cpu neoverse-n1; the int8 roofline probes under -cpu max"
TRTBENCH_EXPECT_DOTPROD=1 unit_tests neoverse-n1 "${QEMU_SKIPS[@]}"
TRTBENCH_EXPECT_DOTPROD=1 TRTBENCH_EXPECT_I8MM=1 unit_tests max roofline::

step "x86-64 reference: greedy decoding (and the model, when missing)"
x86_env cargo build --release --locked --bin trtbench --example greedy
[ -f "$MODEL/trtbench.json" ] || "$X86_TARGET_DIR/release/trtbench" fetch
GGUF=$(ls "$MODEL"/*.gguf)
"$X86_TARGET_DIR/release/examples/greedy" "$GGUF" "$PROMPT" "$NTOK" >"$OUT/greedy-x86_64.txt" 2>/dev/null \
  || die "greedy decoding failed on x86-64"
tail -n 1 "$OUT/greedy-x86_64.txt"

step "qemu-aarch64 -cpu neoverse-n1, Orin class: trtbench run, greedy decoding"
run_check neoverse-n1 neoverse-n1 DOTPROD FP16_VA
greedy_check neoverse-n1 neoverse-n1

step "qemu-aarch64 -cpu max, Orin class: trtbench doctor names the kernels the build lacks"
qemu-aarch64 -cpu max "$BIN/trtbench" doctor >"$OUT/doctor-max.txt" 2>&1 || true
line=$(grep "llama.cpp CPU kernels" "$OUT/doctor-max.txt") || die "doctor printed no kernels line"
echo "  $line"
case "$line" in
  warn*"figures understate"*MATMUL_INT8*SVE*) ;;
  *) die "doctor under -cpu max should warn that the Orin-class build lacks MATMUL_INT8 and SVE" ;;
esac

step "tensorrt feature for aarch64: CUDA code for sm_87, sm_110; the Edge-LLM double's tests under qemu"
# Before the Thor-class switch: the tests run under -cpu neoverse-n1, which has no SVE for a
# Thor-class ggml. nvcc's check fills the core cargo's single-threaded stretches leave idle.
# The aarch64 toolkit is assembled first, once: both steps below use it, and assembling it
# from both at once raced (one removed and relinked files the other was making).
scripts/compile-check-cuda.sh --toolkit-aarch64 >"$OUT/cuda-toolkit.log" 2>&1 \
  || { cat "$OUT/cuda-toolkit.log" >&2; die "scripts/compile-check-cuda.sh --toolkit-aarch64 failed"; }
scripts/compile-check-cuda.sh --aarch64 >"$OUT/cuda-check.log" 2>&1 &
cuda_pid=$!
TRTBENCH_CARGO_CONFIG='profile.release.package.trtbench.opt-level=0' \
  scripts/test-trt-double.sh --aarch64 >"$OUT/trt-double.log" 2>&1 \
  || { tail -n 60 "$OUT/trt-double.log" >&2; die "scripts/test-trt-double.sh --aarch64 failed (log: $OUT/trt-double.log)"; }
wait "$cuda_pid" || { cat "$OUT/cuda-check.log" >&2; die "scripts/compile-check-cuda.sh --aarch64 failed"; }
sed -n 's/^/  /; /compile-check-cuda:\|cudaGetDeviceCount/p' "$OUT/cuda-check.log"
grep -E "^test result:" "$OUT/trt-double.log" | sed 's/^/  /'
grep -E "RUNPATH" "$OUT/trt-double.log" | sed 's/^/  /'

step "cross build, Thor class (GGML_CPU_ARM_ARCH=$THOR_ARCH): ggml-cpu only"
cross_build "$THOR_ARCH"

step "qemu-aarch64 -cpu max (128-bit SVE), Thor class: trtbench run, greedy decoding"
run_check max,sve-default-vector-length=16 max DOTPROD FP16_VA SVE MATMUL_INT8
greedy_check max,sve-default-vector-length=16 max

step ""
echo
echo "check-aarch64: ok ($((tstep - t0)) s); steps:"
printf '%s\n' "${timings[@]}"
