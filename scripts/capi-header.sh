#!/usr/bin/env bash
# include/trtbench.h from crates/trtbench-c/src with cbindgen (Debian's package, installed
# here when missing). With --check, fails when the checked-in header differs from what the
# sources generate (the C ABI changed without the header), showing the diff.
# usage: scripts/capi-header.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cbindgen >/dev/null || TRTBENCH_EXTRA_PKGS=cbindgen scripts/setup.sh packages
gen=(cbindgen --quiet --config crates/trtbench-c/cbindgen.toml --crate trtbench-c)
if [ "${1:-}" = --check ]; then
  tmp="$(mktemp)"
  trap 'rm -f "$tmp"' EXIT
  "${gen[@]}" --output "$tmp" crates/trtbench-c
  if ! diff -u include/trtbench.h "$tmp"; then
    echo "include/trtbench.h is out of date with crates/trtbench-c/src: run scripts/capi-header.sh" >&2
    exit 1
  fi
  echo "include/trtbench.h matches crates/trtbench-c/src ($(cbindgen --version))"
else
  "${gen[@]}" --output include/trtbench.h crates/trtbench-c
fi
