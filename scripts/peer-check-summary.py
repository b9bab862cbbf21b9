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


def server_figures(path):
    """The server's own view of one client run (server-metrics-delta.py), per request."""
    side = path[: -len(".json")] + ".server.json"
    if not os.path.exists(side):
        return {}
    d = json.load(open(side))
    h, c = d["histograms"], d["counters"]
    n = (h.get("vllm:e2e_request_latency_seconds") or {}).get("count")
    if not n:
        return {}
    ms = lambda k: (h.get(k) or {}).get("mean") and h[k]["mean"] * 1e3
    return {
        "s_requests": n,
        "s_prompt": c.get("vllm:prompt_tokens_total", 0.0) / n,
        "s_cached": c.get("vllm:prompt_tokens_cached_total", 0.0) / n,
        "s_queue": ms("vllm:request_queue_time_seconds"),
        "s_prefill": ms("vllm:request_prefill_time_seconds"),
        "s_ttft": ms("vllm:time_to_first_token_seconds"),
        "s_itl": ms("vllm:inter_token_latency_seconds"),
    }


def vllm_figures(path):
    r = json.load(open(path))
    return {
        "ttft_mean": r["mean_ttft_ms"],
        "ttft": r["median_ttft_ms"],
        "e2e": r["median_e2el_ms"],
        # vLLM's client stamps TTFT at the first chunk it reads, a role-only one included.
        "first_chunk": r["median_ttft_ms"],
        "tpot": r["median_tpot_ms"],
        "tok_s": r["output_throughput"],
        "out_len": r["total_output_tokens"] / max(r["completed"], 1),
        "n": r["completed"],
    }


def trtbench_figures(path):
    p = json.load(open(path))["points"][0]
    s = p["summary"]
    return {
        "ttft_mean": s["ttft_ms"]["mean"],
        "ttft": s["ttft_ms"]["p50"],
        "e2e": s["e2e_ms"]["p50"],
        # When the first chunk of any kind arrived (a role-only chunk counts): what
        # vLLM's client calls TTFT on a chat stream.
        "first_chunk": statistics.median(
            q["extra"]["first_byte_ms"] for q in p["requests"]
            if not q.get("error") and "first_byte_ms" in q.get("extra", {})),
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
        f.update(server_figures(path))
        if f.get("s_ttft") is not None:
            f["client_over_server_ttft"] = f["ttft_mean"] - f["s_ttft"]
        runs.setdefault((c, tool), []).append(f)
    print(f"# trtbench load vs vllm bench serve: {title}\n")
    print("Median over rounds (each round runs both tools, interleaved); in brackets the")
    print("smallest and largest round. Ratio: trtbench / vLLM's client. Rows marked server:")
    print("are the server's own /metrics for each client's requests (means), where it has them:")
    print("they count every request a client sent, its warmup and (trtbench) its one handshake")
    print("probe, a one-token prompt that pulls trtbench's per-request server means down (by")
    print("about a request's TTFT over the requests seen, ~3 ms at concurrency 1 here), which")
    print("overstates trtbench's 'client TTFT mean - server TTFT mean' by as much.\n")
    print("| concurrency | figure | vllm bench serve | trtbench load | ratio |")
    print("|---|---|---|---|---|")
    names = {"ttft": "TTFT p50 ms", "ttft_mean": "TTFT mean ms",
             "first_chunk": "first chunk p50 ms (role-only chunks count)", "e2e": "E2E p50 ms", "tpot": "TPOT p50 ms", "tok_s": "output tok/s",
             "out_len": "output tokens / request",
             # The server's own figures for each client's requests (its /metrics, means).
             "s_requests": "server: requests seen (warmup, probes included)",
             "s_prompt": "server: prompt tokens / request", "s_cached": "server: prefix-cached tokens / request",
             "s_queue": "server: queue ms", "s_prefill": "server: prefill ms", "s_ttft": "server: TTFT ms",
             "s_itl": "server: ITL ms",
             "client_over_server_ttft": "client TTFT mean - server TTFT mean, ms"}
    for c in sorted({c for c, _ in runs}):
        v, t = runs.get((c, "vllm"), []), runs.get((c, "trtbench"), [])
        if not v or not t:
            continue
        for k, name in names.items():
            vs, ts = [x.get(k) for x in v], [x.get(k) for x in t]
            if None in vs or None in ts:
                continue
            mv, mt = statistics.median(vs), statistics.median(ts)
            d = 2 if abs(mv) < 1 else 1
            cell = lambda m, xs: f"{m:.{d}f} [{min(xs):.{d}f}, {max(xs):.{d}f}]"
            ratio = f"{mt / mv:.3f}" if abs(mv) >= 0.1 else ""
            print(f"| {c} | {name} | {cell(mv, vs)} | {cell(mt, ts)} | {ratio} |")
        print(f"| {c} | rounds, requests each | {len(v)}, {v[0]['n']} | {len(t)}, {t[0]['n']} | |")


if __name__ == "__main__":
    main()
