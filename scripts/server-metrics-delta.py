#!/usr/bin/env python3
"""What a server itself measured while one client ran (scripts/peer-check.sh): two scrapes
of its Prometheus /metrics, before and after, and for each histogram the count and mean of
the new observations, for each counter its increase. Two clients' figures can then be set
beside the server's own view of their requests (prompt tokens it saw, prefix-cache hits,
its queue, prefill and first-token times).

usage: server-metrics-delta.py snapshot METRICS_URL FILE      (empty FILE: no /metrics)
       server-metrics-delta.py delta BEFORE AFTER OUT.json     (no OUT without both)
"""
import json
import os
import re
import sys
import urllib.request

LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([^\s]+)")


def scrape(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m or line.startswith("#"):
            continue
        name, labels, v = m.groups()
        if name.endswith("_bucket") or (labels and "le=" in labels):
            continue
        try:
            values[name] = values.get(name, 0.0) + float(v)  # summed over label sets
        except ValueError:
            pass
    return values


def main():
    if sys.argv[1] == "snapshot":
        with open(sys.argv[3], "w") as f:
            json.dump(scrape(sys.argv[2]), f)
        return 0
    before, after = (json.load(open(p)) for p in sys.argv[2:4])
    out = sys.argv[4]
    if before is None or after is None:
        return 0
    delta = {k: after[k] - before.get(k, 0.0) for k in after}
    doc = {"counters": {}, "histograms": {}}
    for k, v in delta.items():
        if k.endswith("_count") and k[:-6] + "_sum" in delta:
            base = k[:-6]
            n = v
            doc["histograms"][base] = {
                "count": n, "mean": delta[base + "_sum"] / n if n else None}
        elif k.endswith("_total"):
            doc["counters"][k] = v
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
    os.replace(out + ".tmp", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
