#!/usr/bin/env bash
# What the per-token callback costs through each embedding path, on this machine: the same
# greedy generation (batch 1, a 7-token prompt, 16 tokens, 2 threads) run in interleaved
# pairs within one process, once without a callback (the library's own generate loop: the
# in-process Rust call) and once with a callback that records each token:
#   - C ABI: examples/cpp/overhead.cpp against libtrtbench.so (a C function pointer);
#   - Python: the trtbench module (a Python callable, through PyO3).
# Reports per-token decode time (TPOT = (E2E - TTFT) / 15) for both, the mean per-pair
# difference with a 95% interval, and the ratio; then the callback invocation alone, timed
# over 10^6 calls (the decode-time difference cannot resolve nanoseconds on a busy machine). Needs scripts/test-capi.sh and
# scripts/test-python.sh to have run (the programs and the module they build).
# usage: scripts/bench-embed-overhead.sh [RUNS]     (default 20 pairs per path)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
target="${CARGO_TARGET_DIR:-$PWD/target/ci}"
model="$(realpath "$(scripts/llama-server.sh model)")"
cmake --build "$target/capi/planner" -j 2 >/dev/null
"$target/capi/planner/overhead" "$model" --runs "$runs" --tokens 16
"$target/python-venv/bin/python" - "$model" "$runs" <<'PY'
import math, statistics, sys
import trtbench

model, runs, tokens = sys.argv[1], int(sys.argv[2]), 16
engine = trtbench.Engine.open(model, threads=2)
prompt = "The robot should move to the"
seen = []

def tpot(callback):
    seen.clear()
    g = engine.generate(prompt, tokens, on_token=(lambda t, at: seen.append((t, at))) if callback else None)
    return (g["e2e_ms"] - g["ttft_ms"]) / (tokens - 1)

tpot(True)  # warmup (and the session)
plain, with_cb = [], []
for r in range(runs):
    order = (True, False) if r % 2 else (False, True)
    for cb in order:
        (with_cb if cb else plain).append(tpot(cb))
diff = [a - b for a, b in zip(with_cb, plain)]
m, half = statistics.mean(diff), 1.96 * statistics.stdev(diff) / math.sqrt(len(diff))
print(f"Python, {runs} interleaved pairs, {tokens} tokens: per-token decode time without callback "
      f"{statistics.mean(plain):.3f} ms, with a Python callback {statistics.mean(with_cb):.3f} ms, "
      f"difference {m:+.3f} ms (95% CI {m - half:+.3f} .. {m + half:+.3f}), "
      f"ratio {statistics.mean(with_cb) / statistics.mean(plain):.4f}")
# The callback alone, called as PyO3 calls it (a tuple of an int and a float), 10^6 times.
import timeit
cb = lambda t, at: seen.append((t, at))
seen.clear()
n = 1_000_000
per = timeit.timeit(lambda: cb(7, 1.0), number=n) / n * 1e9
print(f"Python callback invocation alone: {per:.0f} ns per token (10^6 calls, from Python)")
PY
