#!/usr/bin/env bash
# The load client's own CPU per streamed token beside vLLM's Rust client (`vllm-rs bench
# serve`, vllm-bench from vLLM's project, shipped in the vllm wheel; AIPerf is in
# scripts/bench-load-client.sh): the same workload against the same stub server (examples/sse_stub.rs, a test
# double that streams fixed words as fast as it can), rounds interleaved, each client with
# its default flags beyond the workload's. scripts/client-cpu.py polls /proc and splits
# each client's CPU into start-up, streaming and after-run by the stub's own CPU curve
# (see its top), so no client's self-report is trusted.
#
# usage: scripts/bench-client-cpu.sh
# env:   ROUNDS (3)  CONCURRENCY (256)  REQUESTS (2048)  WARMUP (256)  ISL (32)  OSL (256)
#        PORT (18094)  STUB_THREADS (1)  PEERS ("vllm-rs")
#        OUT (results/client-cpu.json)  BIN_DIR (a cargo profile dir with trtbench
#        and examples/{sse_stub,export_tokenizer} already built, e.g. target/ci/release: no build)  TRTBENCH_CACHE (<repo>/.cache)
# Not in CI: a figure needs a quiet machine; one taken on a busy one says so.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${TRTBENCH_CACHE:-$repo/.cache}"
rounds="${ROUNDS:-3}" conc="${CONCURRENCY:-256}" requests="${REQUESTS:-2048}"
warmup="${WARMUP:-256}" isl="${ISL:-32}" osl="${OSL:-256}" port="${PORT:-18094}"
peers="${PEERS:-vllm-rs}"
out="${OUT:-$repo/results/client-cpu.json}"
VLLM_VERSION=0.32.0
# sha256 of vllm-0.32.0-cp38-abi3-manylinux_2_28_x86_64.whl as PyPI serves it.
VLLM_WHEEL_SHA256=5e2ecdc5b0baf72921c288486417ca82778456a448e4fe60b62ee43c0dfc8611
log() { echo "bench-client-cpu: $*" >&2; }
for v in "$rounds" "$conc" "$requests" "$isl" "$osl"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || { log "ROUNDS, CONCURRENCY, REQUESTS, ISL and OSL must be positive integers (got '$v')"; exit 2; }
done
[[ "$warmup" =~ ^[0-9]+$ ]] || { log "WARMUP must be a whole number (got '$warmup')"; exit 2; }

cd "$repo"
work="$(mktemp -d)"
stub_pid=
cleanup() {
    [[ -n "$stub_pid" ]] && { kill "$stub_pid" 2>/dev/null || true; wait "$stub_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
if [[ -n "${BIN_DIR:-}" ]]; then
    bin="$BIN_DIR" ex="$BIN_DIR"
    [[ -d "$BIN_DIR/examples" ]] && ex="$BIN_DIR/examples"
    [[ -x "$bin/trtbench" && -x "$ex/sse_stub" ]] || { log "BIN_DIR=$BIN_DIR lacks trtbench or sse_stub"; exit 2; }
else
    cargo build --release -p trtbench --bin trtbench --example sse_stub --example export_tokenizer >&2
    bin="$repo/target/release" ex="$repo/target/release/examples"
fi
model="$("$here/llama-server.sh" model)"
# vLLM's clients need a Hugging Face tokenizer; the hub is out of reach, so they get the one
# trtbench builds from the same GGUF.
"$ex/export_tokenizer" "$model" "$work/tok" 2>/dev/null

vllm_rs() {
    local dir="$cache/peers/vllm-rs-$VLLM_VERSION" whl
    if [[ ! -x "$dir/vllm-rs" ]]; then
        [[ "$(uname -m)" == x86_64 ]] || { log "vllm-rs: only the x86_64 wheel's checksum is recorded"; exit 1; }
        mkdir -p "$cache/peers/wheels" "$dir"
        whl="$cache/peers/wheels/vllm-$VLLM_VERSION-cp38-abi3-manylinux_2_28_x86_64.whl"
        if [[ ! -f "$whl" ]]; then
            log "downloading the vllm $VLLM_VERSION wheel (326 MB) for its vllm-rs binary"
            echo "vllm==$VLLM_VERSION --hash=sha256:$VLLM_WHEEL_SHA256" >"$work/req.txt"
            python3 -m pip download --quiet --no-deps --only-binary :all: --require-hashes \
                -r "$work/req.txt" -d "$cache/peers/wheels" >&2
        fi
        echo "$VLLM_WHEEL_SHA256  $whl" | sha256sum --check --quiet \
            || { log "$whl: sha256 is not the recorded $VLLM_WHEEL_SHA256"; exit 1; }
        python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("vllm/vllm-rs", sys.argv[2])' "$whl" "$work/x"
        install -m 755 "$work/x/vllm/vllm-rs" "$dir/vllm-rs"
    fi
    echo "$dir/vllm-rs"
}

"$ex/sse_stub" --port "$port" --threads "${STUB_THREADS:-1}" --default-tokens "$osl" 2>"$work/stub.log" &
stub_pid=$!
for _ in $(seq 50); do
    grep -q listening "$work/stub.log" 2>/dev/null && break
    sleep 0.1
done
grep -q listening "$work/stub.log" || { cat "$work/stub.log" >&2; exit 1; }
url="http://127.0.0.1:$port"

clients=(--client trtbench -- "$bin/trtbench" load --url "$url/v1" --concurrency "$conc"
    --num-prompts "$requests" --warmup "$warmup" --isl "$isl" --osl "$osl" --tokenizer "$model"
    --force -o "$work/trtbench-{round}.json")
for p in $peers; do
    case "$p" in
        vllm-rs)
            clients+=(--client vllm-rs -- "$(vllm_rs)" bench serve --backend openai --base-url "$url"
                --model stub-model --tokenizer "$work/tok" --dataset-name random
                --random-input-len "$isl" --random-output-len "$osl" --num-prompts "$requests"
                --max-concurrency "$conc" --num-warmups "$warmup" --ignore-eos --seed 0
                --disable-tqdm --save-result --result-dir "$work/vllm-rs-{round}") ;;
        *) log "PEERS: unknown client '$p' (vllm-rs; AIPerf: scripts/bench-load-client.sh)"; exit 2 ;;
    esac
done
logs="$(dirname "$out")/client-cpu-logs"
mkdir -p "$logs"
log "workload: concurrency $conc, $requests requests + $warmup warmup, isl $isl, osl $osl, $rounds rounds"
python3 "$here/client-cpu.py" --stub-pid "$stub_pid" --tokens "$(((requests + warmup) * osl))" \
    --rounds "$rounds" --out "$out" --logs "$logs" "${clients[@]}"
