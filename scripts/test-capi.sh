#!/usr/bin/env bash
# The C ABI end to end: include/trtbench.h matches the sources (cbindgen), the library
# installs as a CMake package, examples/cpp builds against it with find_package(trtbench)
# and runs on a real engine with --check (answers, timings, callback, errors, a sweep);
# then examples/cpp/load_check.c runs trtbench_load against a real llama.cpp server
# (TRTBENCH_SERVER_URL, as scripts/test.sh exports it; unset: one is started here) and
# its JSON summary is checked (two levels, the requests asked for, positive figures).
# Needs `cargo build --release` first (it builds libtrtbench.so).
# usage: scripts/test-capi.sh MODEL_OR_ENGINE_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:?usage: scripts/test-capi.sh MODEL_OR_ENGINE_DIR}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
scripts/capi-header.sh --check
prefix="$(scripts/capi-install.sh "$target/capi/prefix")"
cmake -S examples/cpp -B "$target/capi/planner" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$target/capi/cmake.log" || { cat "$target/capi/cmake.log" >&2; exit 1; }
cmake --build "$target/capi/planner" -j 2 >>"$target/capi/cmake.log" || { cat "$target/capi/cmake.log" >&2; exit 1; }
# Runs from a temp dir: the sweep's engine path is absolute, nothing lands in the repo.
model="$(realpath "$model")"
(cd "$(mktemp -d)" && "$target/capi/planner/planner" "$model" --tokens 12 --check)

# trtbench_load against a live server; the GGUF is the local tokenizer.
if [ -z "${TRTBENCH_SERVER_URL:-}" ]; then
  trap 'scripts/llama-server.sh stop' EXIT
  TRTBENCH_SERVER_URL="$(scripts/llama-server.sh start)"
fi
gguf="$model"
[ -d "$gguf" ] && gguf="$(find "$gguf" -maxdepth 1 -name '*.gguf' | sort | head -1)"
(cd "$(mktemp -d)" && "$target/capi/planner/load_check" "$TRTBENCH_SERVER_URL" "$gguf") \
  >"$target/capi/load.json"
python3 - "$target/capi/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
points = r["results"]["points"]
assert [p["parameters"]["concurrency"] for p in points] == [1, 2], points
for p in points:
    assert p["status"] == "ok" and len(p["requests"]) == 4 and p["scalars"]["completed"] == 4
    assert all(q["output_tokens"] == 8 for q in p["requests"])
    for m in ("ttft_ms", "tpot_ms", "e2e_ms"):
        assert p["summary"][m]["n"] == 4 and p["summary"][m]["min"] > 0, (m, p["summary"][m])
    assert p["scalars"]["output_tok_per_s"] > 0 and p["scalars"]["requests_per_s"] > 0
print(f"load_check: {len(points)} levels ok, TTFT p50 "
      + ", ".join(f'{p["summary"]["ttft_ms"]["p50"]:.1f}' for p in points) + " ms")
PY
