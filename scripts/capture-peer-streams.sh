#!/usr/bin/env bash
# Records what a live OpenAI-compatible server answers to the requests trtbench sends, for
# the protocol tests (tests/peers.rs) that replay them on every CI run. Each answer is
# kept as the server sent it: its status line and headers (NAME.head) and its body
# (NAME.body, an event stream or JSON), beside the request body that asked (NAME.req.json).
#
# usage: scripts/capture-peer-streams.sh URL OUT_DIR
#   URL      the server's OpenAI base, e.g. http://127.0.0.1:8000/v1 (scripts/peer-server.sh)
#   OUT_DIR  e.g. tests/fixtures/peers/recorded/vllm
# env: MODEL  the `model` to send (default: what /models lists first; none if it lists none)
set -euo pipefail

url="${1:?usage: capture-peer-streams.sh URL OUT_DIR}"
out="${2:?usage: capture-peer-streams.sh URL OUT_DIR}"
root="${url%/v1}"
mkdir -p "$out"

curl -sf --max-time 10 -o /dev/null "$url/models" -w '' || {
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/models" || true)"
  [[ "$code" != 000 ]] || {
    echo "capture-peer-streams.sh: nothing answers at $url (start it: scripts/peer-server.sh)" >&2
    exit 1
  }
}

# One request: NAME METHOD PATH [BODY]
record() {
  local name="$1" method="$2" path="$3" body="${4:-}"
  local args=(-s -N --max-time 300 -D "$out/$name.head" -o "$out/$name.body" -X "$method")
  if [[ -n "$body" ]]; then
    printf '%s\n' "$body" >"$out/$name.req.json"
    args+=(-H 'Content-Type: application/json' --data-binary "@$out/$name.req.json")
  fi
  curl "${args[@]}" "$path"
  # Dates and request ids change with every answer and mean nothing to a client.
  sed -i -E '/^(date|x-request-id):/Id' "$out/$name.head"
  echo "$name: $(head -1 "$out/$name.head" | tr -d '\r')" >&2
}

record models GET "$url/models"
model="${MODEL-$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])).get("data") or [{}]
print(d[0].get("id",""))' "$out/models.body" 2>/dev/null || true)}"
with_model() {
  if [[ -n "$model" ]]; then
    python3 -c 'import json,sys; b=json.loads(sys.argv[1]); b["model"]=sys.argv[2]; print(json.dumps(b))' "$1" "$model"
  else
    echo "$1"
  fi
}

record tokenize POST "$root/tokenize" "$(with_model '{"prompt": "The capital of France is", "add_special_tokens": false}')"
common='"max_tokens": 8, "stream": true, "stream_options": {"include_usage": true}, "temperature": 0'
forced='"ignore_eos": true, "min_tokens": 8'
completion='"prompt": "The capital of France is"'
chat='"messages": [{"role": "user", "content": "What is the capital of France?"}]'
record completions-forced POST "$url/completions" "$(with_model "{$completion, $common, $forced}")"
record completions POST "$url/completions" "$(with_model "{$completion, $common}")"
record chat-forced POST "$url/chat/completions" "$(with_model "{$chat, $common, $forced}")"
record chat POST "$url/chat/completions" "$(with_model "{$chat, $common}")"
record chat-other-model POST "$url/chat/completions" "{$chat, $common, \"model\": \"not-the-served-model\"}"
