# Sourced (from the repository root) by scripts/test.sh and the CI steps after it
# (test-python.sh, test-mlperf.sh): the one set of build settings they share, so every
# step reuses test.sh's target dir and nothing is compiled twice. Any difference in these
# values rebuilds llama.cpp (8 minutes on 2 cores).
#   - everything builds into its own target dir, target/ci, at optimisation levels chosen
#     for checking behaviour, not for figures (figures come from target/release);
#   - lints cost no second compile: clippy-driver is the compiler of our own crates
#     (RUSTC_WORKSPACE_WRAPPER, what `cargo clippy` itself sets), with -D warnings.
export CARGO_TARGET_DIR="$PWD/target/ci"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
# No cross-unit LTO and 4 codegen units: a third less CPU for the same crates (measured on
# tokenizers, reqwest, clap_builder, toml_edit, image and their dependencies: 355 CPU-s
# with the release defaults, 243 with these).
export CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=4
# llama-cpp-sys-2's build.rs hands CMAKE_* variables to CMake; C keeps -O3.
export CMAKE_CXX_FLAGS_RELEASE='-O1 -DNDEBUG'
# llama-common's many small chat-template files as three unity files (scripts/llama-ci.cmake).
export CMAKE_PROJECT_INCLUDE="$PWD/scripts/llama-ci.cmake"
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)" || {
  echo "clippy-driver not found: rustup component add clippy" >&2
  exit 1
}
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS='-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__'
