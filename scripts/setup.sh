#!/usr/bin/env bash
# Installs what trtbench needs on a fresh Debian/Ubuntu machine (idempotent):
# cmake + libclang (llama.cpp's build and bindgen), and the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="cmake libclang-dev clang libssl-dev pkg-config python3-pip ${TRTBENCH_EXTRA_PKGS:-}"
missing=()
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup)" >&2; exit 1; }
cargo build --release --quiet
./target/release/trtbench fetch
