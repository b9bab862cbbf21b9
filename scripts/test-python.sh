#!/usr/bin/env bash
# The Python module end to end: `pip install ./crates/trtbench-py` (maturin, PyO3 abi3)
# into a fresh virtual environment, then its pytest suite on the real default model.
# It builds into scripts/test.sh's target dir with the same profile settings, so the
# library and llama.cpp are reused, not rebuilt (only PyO3 and the module compile).
# maturin and pytest are pinned; pip installs them into the venv. `trtbench.load` is tested
# against a real llama.cpp server: TRTBENCH_SERVER_URL when set, else one started here
# (scripts/llama-server.sh, PORT or its default) and stopped at the end.
# usage: scripts/test-python.sh [MODEL_OR_ENGINE_DIR]   (default: the model setup.sh fetched)
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
source scripts/ci-build-env.sh
model="$(realpath "${1:-$(scripts/llama-server.sh model)}")"
venv="$CARGO_TARGET_DIR/python-venv"
python3 -m venv --clear "$venv" 2>/dev/null || {
  TRTBENCH_EXTRA_PKGS=python3-venv scripts/setup.sh packages
  python3 -m venv --clear "$venv"
}
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install "maturin==1.16.0" "pytest==8.3.5"
# In place (no build isolation): the crate is a workspace member and needs the workspace.
PATH="$venv/bin:$PATH" "${pip[@]}" install --no-build-isolation ./crates/trtbench-py
echo "built and installed the wheel ($(($(date +%s) - t0))s)"
if [ -z "${TRTBENCH_SERVER_URL:-}" ]; then
  trap 'scripts/llama-server.sh stop' EXIT
  TRTBENCH_SERVER_URL="$(scripts/llama-server.sh start)"
fi
export TRTBENCH_SERVER_URL
# From a temp dir, so `import trtbench` is the installed module. Any exit status but 0
# fails, 5 (no tests collected) included.
(cd "$(mktemp -d)" && TRTBENCH_MODEL="$model" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$OLDPWD/crates/trtbench-py/tests")
echo "python: done ($(($(date +%s) - t0))s)"
