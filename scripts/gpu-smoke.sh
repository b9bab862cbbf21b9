#!/usr/bin/env bash
# First run of the TensorRT / Edge-LLM path on a Jetson (Orin, Thor) or a CUDA box with
# TensorRT and a built Edge-LLM (docs/gpu.md, sections 1-2). One command:
#   1. builds trtbench with the `tensorrt` feature and runs `trtbench doctor`;
#   2. builds an int4_awq and an fp16 engine of Qwen3-0.6B (`trtbench build --backend tensorrt`);
#   3. checks each engine against the machine (`trtbench doctor --engine`);
#   4. sweeps batch 1,2,4 x CUDA graphs on,off (isl 366, osl 128: the prompt length of
#      Edge-LLM's published Qwen3-0.6B figures);
#   5. writes the HTML report and prints our batch-1 figures beside Edge-LLM's published ones
#      for this device (the table in docs/gpu.md, "Published figures"), when there are any.
#
# usage: scripts/gpu-smoke.sh [--dry-run] [--out DIR] [--root DIR]
#   --dry-run   print the plan (every command, in order) and exit; needs no GPU
#   --out DIR   where engines, results and the report go (default: gpu-smoke/)
#   --root DIR  read procfs/sysfs under DIR for the device checks (testing on a fake tree)
# Environment: TRTBENCH_EDGE_LLM_ROOT, TENSORRT_ROOT, CUDA_HOME as docs/gpu.md describes;
# MODEL (default Qwen/Qwen3-0.6B).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dry=0
out="gpu-smoke"
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run|--plan) dry=1 ;;
    --out) out="$2"; shift ;;
    --root) root="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "gpu-smoke: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
model="${MODEL:-Qwen/Qwen3-0.6B}"
bin="$repo/target/release/trtbench"
quants=(int4_awq fp16)
engines=()
for q in "${quants[@]}"; do engines+=("$out/engines/qwen3-0.6b-$q"); done
results="$out/results.json"
root_args=()
[ -n "$root" ] && root_args=(--root "$root")

# The plan: one command per line, run in order (or printed with --dry-run).
plan=()
plan+=("cargo build --release --features tensorrt --manifest-path $repo/Cargo.toml")
plan+=("$bin doctor ${root_args[*]}")
for i in "${!quants[@]}"; do
  plan+=("$bin build --backend tensorrt --from $model --quant ${quants[$i]} --max-batch 4 --max-input-len 1024 --max-seq-len 1536 --out ${engines[$i]}")
  plan+=("$bin doctor --engine ${engines[$i]} ${root_args[*]}")
done
plan+=("$bin sweep --engines $(IFS=,; echo "${engines[*]}") --batch 1,2,4 --isl 366 --osl 128 --cuda-graphs on,off --out $results")
plan+=("$bin report $results --html --out $out/report")

if [ "$dry" = 1 ]; then
  echo "gpu-smoke plan (model $model, output in $out/):"
  for i in "${!plan[@]}"; do printf '%2d. %s\n' "$((i + 1))" "${plan[$i]}"; done
  echo "then: our batch-1 figures beside Edge-LLM's published ones (docs/gpu.md)"
  exit 0
fi

mkdir -p "$out/engines"
start=$(date +%s)
for cmd in "${plan[@]}"; do
  printf '\n== %s (%ss)\n' "$cmd" "$(( $(date +%s) - start ))"
  # shellcheck disable=SC2086 # each plan line is a command with its arguments
  $cmd
done

# Our figures beside the published ones. The published table (docs/gpu.md) is Edge-LLM
# 0.4.0 on Jetson AGX Thor; on any other device there is nothing to compare with. The
# published columns are Edge-LLM's formulas over its stage timers, so they are compared with
# our edgellm_* figures (the same formulas over the same stages), and our host wall-clock
# figures are printed beside them for reference.
model_name="$(tr -d '\0' < "${root:-}/proc/device-tree/model" 2>/dev/null || true)"
python3 - "$results" "$model_name" <<'PY'
import json, sys
results, device = sys.argv[1], sys.argv[2]
# Edge-LLM 0.4.0, Jetson AGX Thor, Qwen3-0.6B, batch 1 (docs/gpu.md "Published figures").
published = {"int4_awq": {"prefill_ms": 21.0, "prefill_tok_per_s": 17429, "decode_tok_per_s": 270.2}}
pts = json.load(open(results))["points"]
print("\nEdge-LLM formula (stage timers)            | host wall clock")
print("engine                 graphs  batch  prefill_ms  prefill_tok/s  gen_tok/s | prefill_ms  decode_tok/s   (published, Thor)")
for p in pts:
    if p.get("status") != "ok":
        print(f"{p['parameters'].get('engine')}: {p.get('status')}: {p.get('error')}")
        continue
    par, s = p["parameters"], p["summary"]
    mean = lambda k: s[k]["mean"] if k in s else float("nan")
    quant = "int4_awq" if "int4_awq" in str(par.get("engine")) else "fp16"
    ref = published.get(quant) if "Thor" in device and par.get("batch") == 1 else None
    ref_s = (f"{ref['prefill_ms']} ms, {ref['prefill_tok_per_s']} tok/s, {ref['decode_tok_per_s']} tok/s"
             if ref else "none published for this device/engine")
    print(f"{str(par.get('engine')):22} {str(par.get('cuda_graphs')):7} {par.get('batch'):5} "
          f"{mean('edgellm_prefill_ms'):11.1f} {mean('edgellm_prefill_tok_per_s'):14.0f} "
          f"{mean('edgellm_generation_tok_per_s'):10.1f} | "
          f"{mean('prefill_ms'):10.1f} {mean('decode_tok_per_s'):13.1f}   {ref_s}")
PY
echo "report: $out/report.html"
