#!/usr/bin/env bash
# Measures the load generator's own ceiling: a stub OpenAI-compatible server
# (examples/sse_stub.rs, a test double that streams fixed words as fast as it can) on
# 127.0.0.1, driven by `trtbench load` at concurrency 256, then by a Python peer client
# (NVIDIA AIPerf, from PyPI) with the same workload against the same stub, in the same run.
# Both clients take output counts from the server's usage (--use-server-token-count, the
# same flag in both) rather than re-tokenizing every response. Reports each client's sustained output tokens/s and CPU time, and the ratio. Then checks
# trtbench's timestamps: a second stub streams one token every ITL_MS ms, each carrying
# the stub's CLOCK_MONOTONIC send time, and examples/itl_error.rs drives it through
# trtbench's load path at the same concurrency and compares every receive time with its
# send time (the ITL error: client gap minus stub gap, per token), once with the kernel's
# receive timestamps (what `load` uses on plain http) and once timed when each read returns
# (what it falls back to on https), to show what the kernel stamps buy.
#
# usage: scripts/bench-load-client.sh            (writes $OUT, prints a Markdown table)
# env:   CONCURRENCY (256)  REQUESTS (2048)  WARMUP (256)  ISL (32)  OSL (256)
#        PORT (18090)  STUB_THREADS (1: the stub gets one core, the client the rest)
#        PEER (aiperf | none)  OUT (bench-load-client.json)  TRTBENCH_CACHE (<repo>/.cache)
#        ITL_MS (15; 0 skips the ITL check)  ITL_REQUESTS (512)  ITL_OSL (64)
#        BIN_DIR (prebuilt trtbench, sse_stub, export_tokenizer, itl_error: no build; to
#                 measure an older build beside a newer one)
#        CARGO_ARGS (extra cargo build flags, e.g.
#                    --config profile.release.package.trtbench.opt-level=1)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${TRTBENCH_CACHE:-$repo/.cache}"
conc="${CONCURRENCY:-256}"
requests="${REQUESTS:-2048}"
warmup="${WARMUP:-256}"
isl="${ISL:-32}"
osl="${OSL:-256}"
port="${PORT:-18090}"
stub_threads="${STUB_THREADS:-1}"
peer="${PEER:-aiperf}"
out="${OUT:-$repo/bench-load-client.json}"
AIPERF_VERSION="${AIPERF_VERSION:-0.13.0}"
work="$(mktemp -d)"

log() { echo "bench-load-client: $*" >&2; }

cd "$repo"
if [[ -n "${BIN_DIR:-}" ]]; then
    bin="$BIN_DIR"
    mkdir -p "$work/examples"
    for e in sse_stub export_tokenizer itl_error; do
        [[ -x "$bin/$e" ]] && ln -s "$bin/$e" "$work/examples/$e"
    done
    ln -s "$bin/trtbench" "$work/trtbench"
    bin="$work"
else
    # shellcheck disable=SC2086 # CARGO_ARGS is a list of flags
    cargo build --release ${CARGO_ARGS:-} --bin trtbench --example sse_stub \
        --example export_tokenizer --example itl_error >&2
    bin="$repo/target/release"
fi
model="$("$here/llama-server.sh" model)"

"$bin/examples/sse_stub" --port "$port" --threads "$stub_threads" --default-tokens "$osl" \
    2>"$work/stub.log" &
stub_pid=$!
itl_pid=
cleanup() {
    for p in $stub_pid $itl_pid; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do
    grep -q listening "$work/stub.log" 2>/dev/null && break
    sleep 0.1
done
grep -q listening "$work/stub.log" || { cat "$work/stub.log" >&2; exit 1; }
url="http://127.0.0.1:$port"

# Runs a command and prints its wall time and the CPU time of it and all its (reaped)
# descendants, as JSON, to the file named by $1.
cpu_run() {
    local dest="$1"
    shift
    python3 - "$dest" "$@" <<'PY'
import json, resource, subprocess, sys, time
dest, cmd = sys.argv[1], sys.argv[2:]
t = time.monotonic()
rc = subprocess.call(cmd, stdout=subprocess.DEVNULL)
wall = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"rc": rc, "wall_s": wall, "cpu_s": r.ru_utime + r.ru_stime}, open(dest, "w"))
sys.exit(rc)
PY
}

log "trtbench load: concurrency $conc, $requests requests, isl $isl, osl $osl"
cpu_run "$work/trt-cpu.json" "$bin/trtbench" load --url "$url/v1" --concurrency "$conc" \
    --num-prompts "$requests" --warmup "$warmup" --isl "$isl" --osl "$osl" \
    --tokenizer "$model" --use-server-token-count -o "$work/trt.json"

itl_ms="${ITL_MS:-15}"
if [[ "$itl_ms" != 0 ]]; then
    log "ITL check: a stub sending a stamped token every $itl_ms ms, concurrency $conc"
    "$bin/examples/sse_stub" --port "$((port + 1))" --threads "$stub_threads" --stamp 1 \
        --itl-ms "$itl_ms" --ttft-ms "$itl_ms" 2>"$work/itl-stub.log" &
    itl_pid=$!
    for _ in $(seq 50); do
        grep -q listening "$work/itl-stub.log" 2>/dev/null && break
        sleep 0.1
    done
    for ts in kernel read; do
        "$bin/examples/itl_error" --url "http://127.0.0.1:$((port + 1))/v1" --concurrency "$conc" \
            --requests "${ITL_REQUESTS:-512}" --warmup "$conc" --osl "${ITL_OSL:-64}" \
            --timestamps "$ts" >"$work/itl-$ts.json"
    done
    kill "$itl_pid" 2>/dev/null || true
fi

peer_ok=0
if [[ "$peer" == aiperf ]]; then
    venv="$cache/venv-peer"
    if [[ ! -x "$venv/bin/aiperf" ]]; then
        log "installing aiperf $AIPERF_VERSION into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "aiperf==$AIPERF_VERSION" >&2
    fi
    # AIPerf needs a Hugging Face tokenizer; the hub is out of reach, so give it the one
    # trtbench builds from the same GGUF.
    "$bin/examples/export_tokenizer" "$model" "$work/tok" 2>/dev/null
    log "aiperf profile: the same workload against the same stub"
    if cpu_run "$work/peer-cpu.json" "$venv/bin/aiperf" profile --model stub-model --url "$url" \
        --endpoint-type completions --streaming --tokenizer "$work/tok" \
        --concurrency "$conc" --request-count "$requests" --warmup-request-count "$warmup" \
        --isl "$isl" --osl "$osl" --extra-inputs ignore_eos:true --use-server-token-count \
        --ui-type none --no-server-metrics --random-seed 0 --artifact-dir "$work/aiperf"; then
        peer_ok=1
    else
        log "aiperf failed; see $work/aiperf/logs (kept: none, the work dir is removed)"
    fi
fi

python3 - "$work" "$peer_ok" "$out" "$conc" "$requests" "$isl" "$osl" "$stub_threads" "$itl_ms" <<'PY'
import json, os, sys
work, peer_ok, out = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
conc, requests, isl, osl, stub_threads = map(int, sys.argv[4:9])
itl_ms = float(sys.argv[9])
t = json.load(open(os.path.join(work, "trt.json")))["points"][0]
tc = json.load(open(os.path.join(work, "trt-cpu.json")))
sc = t["scalars"]
rows = {
    "trtbench": {
        "output_tok_per_s": sc["output_tok_per_s"],
        "requests_per_s": sc["requests_per_s"],
        "completed": sc["completed"],
        "ttft_p50_ms": t["summary"]["ttft_ms"]["p50"],
        "measured_phase_cpu_s": sc.get("client_cpu_s"),
        "measured_phase_s": sc["duration_s"],
        "process_cpu_s": tc["cpu_s"],
        "process_wall_s": tc["wall_s"],
        "event_loop_lag_p99_ms": sc.get("event_loop_lag_p99_ms"),
        "client_valid": sc.get("client_valid"),
    }
}
if peer_ok:
    a = json.load(open(os.path.join(work, "aiperf", "profile_export_aiperf.json")))
    pc = json.load(open(os.path.join(work, "peer-cpu.json")))
    rows["aiperf"] = {
        "output_tok_per_s": a["output_token_throughput"]["avg"],
        "requests_per_s": a["request_throughput"]["avg"],
        "completed": a["request_count"]["avg"],
        "ttft_p50_ms": a["time_to_first_token"]["p50"],
        "measured_phase_s": a["benchmark_duration"]["avg"],
        "process_cpu_s": pc["cpu_s"],
        "process_wall_s": pc["wall_s"],
        "version": a.get("aiperf_version"),
    }
for r in rows.values():
    r["tokens_per_process_cpu_s"] = requests * osl / r["process_cpu_s"] if r["process_cpu_s"] else None
doc = {
    "workload": {"concurrency": conc, "requests": requests, "isl": isl, "osl": osl,
                 "stub_threads": stub_threads, "cores": os.cpu_count()},
    "clients": rows,
}
if itl_ms > 0:
    doc["itl_check"] = dict(json.load(open(os.path.join(work, "itl-kernel.json"))), stub_itl_ms=itl_ms)
    doc["itl_check_read_timestamps"] = dict(
        json.load(open(os.path.join(work, "itl-read.json"))), stub_itl_ms=itl_ms)
if "aiperf" in rows:
    doc["ratio_output_tok_per_s_trtbench_over_aiperf"] = (
        rows["trtbench"]["output_tok_per_s"] / rows["aiperf"]["output_tok_per_s"])
    doc["ratio_tokens_per_cpu_s_trtbench_over_aiperf"] = (
        rows["trtbench"]["tokens_per_process_cpu_s"] / rows["aiperf"]["tokens_per_process_cpu_s"])
json.dump(doc, open(out, "w"), indent=2)
print(f"| client | output tok/s | req/s | TTFT p50 ms | process CPU s | wall s | tokens per CPU-s |")
print(f"|---|---|---|---|---|---|---|")
for name, r in rows.items():
    print(f"| {name} | {r['output_tok_per_s']:.0f} | {r['requests_per_s']:.1f} | "
          f"{r['ttft_p50_ms']:.1f} | {r['process_cpu_s']:.2f} | {r['process_wall_s']:.1f} | "
          f"{r['tokens_per_process_cpu_s']:.0f} |")
if "aiperf" in rows:
    print(f"\ntrtbench / aiperf: {doc['ratio_output_tok_per_s_trtbench_over_aiperf']:.2f}x output tok/s, "
          f"{doc['ratio_tokens_per_cpu_s_trtbench_over_aiperf']:.2f}x tokens per CPU-second")
m = rows["trtbench"]
print(f"trtbench measured phase: {m['measured_phase_cpu_s']:.2f} CPU-s over {m['measured_phase_s']:.2f} s, "
      f"event-loop lag p99 {m['event_loop_lag_p99_ms']:.2f} ms, valid={bool(m['client_valid'])}")
for key, how in (("itl_check", "kernel receive timestamps"),
                 ("itl_check_read_timestamps", "timed when each read returns")):
    ic = doc.get(key)
    if ic:
        print(f"ITL error, {how} (client gap - stub send gap, {ic['gaps']} gaps, stub ITL "
              f"{itl_ms:g} ms, concurrency {ic['concurrency']}): "
              f"p50 {ic['itl_abs_error_ms']['p50']:.3f} ms, "
              f"p99 {ic['itl_abs_error_ms']['p99']:.3f} ms; send->receive p99 "
              f"{ic['send_to_receive_ms']['p99']:.3f} ms")
print(f"written: {out}")
PY
