#!/usr/bin/env python3
"""Process CPU per streamed token of load clients, phase by phase (scripts/bench-client-cpu.sh).

Each client command runs against the same stub server (examples/sse_stub.rs) while this
script polls /proc: the client's CPU (its own and its descendants', reaped ones included)
and the stub's. The stub burns CPU only while it streams, so its CPU curve marks the
streaming phase for every client alike, with no help from the client: the phase runs from
the moment the stub has done 1% of its run's work to the moment it has done 99%. Client
CPU inside that window, divided by 98% of the tokens the stub streamed, is the client's
CPU per token; what it spent before the window (start-up: tokenizer, prompts, handshake)
and after it (statistics, writing) is reported apart. Rounds run the clients interleaved
(A B A B ...), and the summary gives each figure's median and range over rounds.

usage: client-cpu.py --stub-pid PID --tokens N --rounds R --out FILE \
           --client NAME -- CMD... [--client NAME -- CMD...]
(each client's command ends at the next `--client` or the end; `{round}` in a command is
replaced by the round number.)
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def parse(argv):
    opts, clients, i = {}, [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--client":
            name, cmd = argv[i + 1], []
            assert argv[i + 2] == "--", "--client NAME must be followed by -- CMD"
            i += 3
            while i < len(argv) and argv[i] != "--client":
                cmd.append(argv[i])
                i += 1
            clients.append((name, cmd))
            continue
        opts[a.lstrip("-").replace("-", "_")] = argv[i + 1]
        i += 2
    return opts, clients


def stat_cpu(pid, children=True):
    """utime+stime (+ reaped children's) of pid in seconds, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
    t = int(fields[11]) + int(fields[12])
    if children:
        t += int(fields[13]) + int(fields[14])
    return t / TICK


def descendants(root):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


def run_one(cmd, stub_pid, log):
    """Runs cmd, polling every 2 ms; returns [(t, client_cpu, stub_cpu)], the client's
    total CPU (getrusage of the reaped tree), its exit code and its wall time."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=log, stderr=log)
    samples, live, last_scan = [], {}, 0.0
    while True:
        now = time.monotonic()
        if now - last_scan > 0.05:
            for d in descendants(p.pid):
                live.setdefault(d, 0.0)
            last_scan = now
        own = stat_cpu(p.pid)
        for d in list(live):
            c = stat_cpu(d, children=False)
            if c is None:
                del live[d]  # reaped: its CPU is in the parent's cutime/cstime now
            else:
                live[d] = c
        stub = stat_cpu(stub_pid, children=False)
        if own is not None:
            samples.append((now - t0, own + sum(live.values()), stub))
        if p.poll() is not None:
            break
        time.sleep(0.002)
    # The final figure: everything the client and its descendants used, all reaped now.
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    final = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    samples.append((time.monotonic() - t0, None, stat_cpu(stub_pid, children=False)))
    return samples, final, p.returncode, time.monotonic() - t0


def phases(samples, final_cpu, tokens):
    stub0, stub1 = samples[0][2], samples[-1][2]
    work = stub1 - stub0
    if work <= 0:
        raise SystemExit("client-cpu: the stub did no work during the run (did the client reach it?)")
    lo, hi = stub0 + 0.01 * work, stub0 + 0.99 * work
    start = next(s for s in samples if s[2] >= lo)
    end = next(s for s in samples if s[2] >= hi and s[1] is not None)
    startup, streaming = start[1], end[1] - start[1]
    return {
        "startup_cpu_s": startup,
        "streaming_cpu_s": streaming,
        "after_cpu_s": final_cpu - end[1],
        "total_cpu_s": final_cpu,
        "streaming_wall_s": end[0] - start[0],
        "stub_cpu_s": work,
        "tokens_in_window": 0.98 * tokens,
        "cpu_us_per_token": streaming / (0.98 * tokens) * 1e6,
    }


def main():
    opts, clients = parse(sys.argv[1:])
    stub_pid, tokens, rounds = int(opts["stub_pid"]), int(opts["tokens"]), int(opts["rounds"])
    runs = {name: [] for name, _ in clients}
    logdir = opts.get("logs", "/tmp")
    for r in range(1, rounds + 1):
        for name, cmd in clients:
            cmd = [c.replace("{round}", str(r)) for c in cmd]
            print(f"client-cpu: round {r}/{rounds}: {name}", file=sys.stderr, flush=True)
            with open(os.path.join(logdir, f"{name}-{r}.log"), "w") as log:
                samples, final, rc, wall = run_one(cmd, stub_pid, log)
            if rc != 0:
                raise SystemExit(f"client-cpu: {name} exited with {rc} (log: {logdir}/{name}-{r}.log)")
            ph = phases(samples, final, tokens)
            ph["wall_s"] = wall
            runs[name].append(ph)
            print(f"client-cpu:   {ph['cpu_us_per_token']:.2f} CPU-us per token streaming, "
                  f"start-up {ph['startup_cpu_s']:.2f} s, after {ph['after_cpu_s']:.2f} s",
                  file=sys.stderr, flush=True)
    summary = {}
    for name, rs in runs.items():
        summary[name] = {
            k: {"median": statistics.median(x[k] for x in rs),
                "min": min(x[k] for x in rs), "max": max(x[k] for x in rs)}
            for k in rs[0]
        }
    base = clients[0][0]
    ratios = {}
    for name, _ in clients[1:]:
        per_round = [a["cpu_us_per_token"] / b["cpu_us_per_token"]
                     for a, b in zip(runs[base], runs[name])]
        ratios[f"{base}/{name}"] = {"median": statistics.median(per_round),
                                    "min": min(per_round), "max": max(per_round),
                                    "per_round": per_round}
    doc = {"tokens_per_run": tokens, "rounds": rounds, "cores": os.cpu_count(),
           "clk_tck": TICK, "runs": runs, "summary": summary,
           "ratio_cpu_per_token": ratios}
    with open(opts["out"] + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
    os.replace(opts["out"] + ".tmp", opts["out"])
    print("| client | CPU-us per token, streaming | start-up CPU-s | after-run CPU-s | streaming wall s |")
    print("|---|---|---|---|---|")
    fmt = lambda s, k, p: f"{s[k]['median']:.{p}f} [{s[k]['min']:.{p}f}, {s[k]['max']:.{p}f}]"
    for name, s in summary.items():
        print(f"| {name} | {fmt(s, 'cpu_us_per_token', 2)} | {fmt(s, 'startup_cpu_s', 2)} | "
              f"{fmt(s, 'after_cpu_s', 2)} | {fmt(s, 'streaming_wall_s', 2)} |")
    for k, v in ratios.items():
        print(f"\nCPU per token, {k}: median {v['median']:.3f} over {rounds} rounds "
              f"[{v['min']:.3f}, {v['max']:.3f}] (below 1: {base} spends less)")
    print(f"written: {opts['out']}")


if __name__ == "__main__":
    main()
