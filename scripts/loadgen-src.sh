#!/usr/bin/env bash
# MLPerf LoadGen's C++ sources for the `mlperf` feature: downloads the source distribution of
# PyPI's mlcommons-loadgen (pinned version, recorded sha256), checks it, unpacks it under
# DIR (default target/loadgen) and prints the directory that holds loadgen.cc. build.rs
# compiles that directory when TRTBENCH_LOADGEN_SRC names it (or it is the default below).
# Nothing of LoadGen is kept in our tree. Idempotent: a checked, unpacked copy is reused.
#
#   export TRTBENCH_LOADGEN_SRC="$(scripts/loadgen-src.sh)"
#   cargo build --release --features mlperf
#
# Usage: scripts/loadgen-src.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="6.0.17"
SHA256="a2e85d09e3cc0c606f89bfe1fbf97537c8b5b238ae0afbd923ad9c710fcf2ca8"
dir="${1:-target/loadgen}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
sdist="$dir/mlcommons_loadgen-$VERSION.tar.gz"
src="$dir/mlcommons_loadgen-$VERSION"
if [ -f "$src/.trtbench-checked" ] && [ -f "$src/loadgen.cc" ]; then
  echo "$src"
  exit 0
fi
if ! { [ -f "$sdist" ] && echo "$SHA256  $sdist" | sha256sum --check --status; }; then
  rm -f "$sdist"
  # --no-binary: the source distribution (the wheels carry only the compiled module).
  python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    --no-binary :all: -d "$dir" "mlcommons-loadgen==$VERSION" >&2
fi
if ! echo "$SHA256  $sdist" | sha256sum --check --status; then
  echo "loadgen-src.sh: $sdist does not have the recorded sha256 $SHA256" \
    "(got $(sha256sum "$sdist" | cut -d' ' -f1)); not using it" >&2
  exit 1
fi
rm -rf "$src"
tar -xzf "$sdist" -C "$dir"
for f in loadgen.cc logging.cc results.cc early_stopping.cc test_settings.h mlperf.conf; do
  [ -f "$src/$f" ] || { echo "loadgen-src.sh: $src/$f missing from the sdist" >&2; exit 1; }
done
touch "$src/.trtbench-checked"
echo "$src"
