#!/usr/bin/env bash
# Installs what trtbench needs on a fresh Debian/Ubuntu machine (idempotent):
# cmake + libclang (llama.cpp's build and bindgen), the release build, and the default model.
#
# usage: scripts/setup.sh            everything
#        scripts/setup.sh packages   only the apt packages (scripts/test.sh overlaps the rest)
# env:   TRTBENCH_EXTRA_PKGS     more apt packages to install
#        TRTBENCH_CARGO_CONFIG   a `--config` value for the build
#        CARGO_TARGET_DIR        cargo's target dir (scripts/test.sh builds into target/ci)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
case "$what" in all | packages) ;; *) echo "usage: scripts/setup.sh [all|packages]" >&2; exit 2 ;; esac
PKGS="cmake libclang-dev clang libssl-dev pkg-config python3-pip cbindgen ${TRTBENCH_EXTRA_PKGS:-}"
missing=()
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}" >&2
  # One package-list refresh per machine: later calls (a second package set) reuse it.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -120 2>/dev/null | head -1)" ]; then
    $SUDO apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ "$what" = packages ] && exit 0
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup)" >&2; exit 1; }
cargo build --release --quiet ${TRTBENCH_CARGO_CONFIG:+--config "$TRTBENCH_CARGO_CONFIG"}
"${CARGO_TARGET_DIR:-target}/release/trtbench" fetch
