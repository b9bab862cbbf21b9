"""Summarises scripts/peer-check.sh's runs: per concurrency, the median over rounds of
each tool's TTFT p50, TPOT p50 and output tok/s, and trtbench / vLLM client.

usage: peer-check-summary.py DIR TITLE   (DIR holds vllm-cC-rR.json, trtbench-cC-rR.json)
"""

import glob
import json
import os
import re
import statistics
import sys


def vllm_figures(path):
    r = json.load(open(path))
    return {
        "ttft": r["median_ttft_ms"],
        "tpot": r["median_tpot_ms"],
        "tok_s": r["output_throughput"],
        "out_len": r["total_output_tokens"] / max(r["completed"], 1),
        "n": r["completed"],
    }


def trtbench_figures(path):
    p = json.load(open(path))["points"][0]
    s = p["summary"]
    return {
        "ttft": s["ttft_ms"]["p50"],
        "tpot": s["tpot_ms"]["p50"],
        "tok_s": s["output_tok_per_s"]["p50"],
        "out_len": s["output_tokens"]["mean"],
        "n": len([q for q in p["requests"] if not q.get("error")]),
    }


def main():
    d, title = sys.argv[1], sys.argv[2]
    runs = {}
    for path in glob.glob(os.path.join(d, "*-c*-r*.json")):
        m = re.match(r"(vllm|trtbench)-c(\d+)-r(\d+)\.json", os.path.basename(path))
        if not m:
            continue
        tool, c = m.group(1), int(m.group(2))
        f = vllm_figures(path) if tool == "vllm" else trtbench_figures(path)
        runs.setdefault((c, tool), []).append(f)
    print(f"# trtbench load vs vllm bench serve: {title}\n")
    print("Median over rounds (each round runs both tools, interleaved); in brackets the")
    print("smallest and largest round. Ratio: trtbench / vLLM's client.\n")
    print("| concurrency | figure | vllm bench serve | trtbench load | ratio |")
    print("|---|---|---|---|---|")
    names = {"ttft": "TTFT p50 ms", "tpot": "TPOT p50 ms", "tok_s": "output tok/s", "out_len": "output tokens / request"}
    for c in sorted({c for c, _ in runs}):
        v, t = runs.get((c, "vllm"), []), runs.get((c, "trtbench"), [])
        if not v or not t:
            continue
        for k, name in names.items():
            vs, ts = [x[k] for x in v], [x[k] for x in t]
            mv, mt = statistics.median(vs), statistics.median(ts)
            cell = lambda m, xs: f"{m:.1f} [{min(xs):.1f}, {max(xs):.1f}]"
            print(f"| {c} | {name} | {cell(mv, vs)} | {cell(mt, ts)} | {mt / mv:.3f} |")
        print(f"| {c} | rounds, requests each | {len(v)}, {v[0]['n']} | {len(t)}, {t[0]['n']} | |")


if __name__ == "__main__":
    main()
