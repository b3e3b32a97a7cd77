#!/usr/bin/env python3
"""Run every PromQL expression of a Grafana dashboard against a real Prometheus with promtool.

Usage: dashboard_queries.py DASHBOARD.json PROMETHEUS_URL [START]
Every panel target (rows and nested panels included) is run with `promtool query instant` and `promtool query
range` (from START, a Unix time, default 3 minutes ago, to now, 5 s step), and every annotation query with `promtool
query range` only (Grafana runs annotations over the dashboard's time range), after Grafana's variables are
replaced the way Grafana would for "All" ($instance -> .*, $__range -> the range, $__rate_interval -> 1m).
Fails (exit 1) on a query error or an empty result: the caller runs it where every panel has data. Prints one line
per expression."""
import json
import subprocess
import sys
import time

dash = json.load(open(sys.argv[1]))
server = sys.argv[2]
start = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time()) - 180
subst = {"$__rate_interval": "1m", "$__interval": "5s", "$__range": "10m", "${instance}": ".*", "$instance": ".*"}


def exprs():
    def walk(panels):
        for p in panels:
            yield from walk(p.get("panels", []))
            for t in p.get("targets", []):
                if t.get("expr"):
                    yield p.get("title", "?"), t["refId"], t["expr"], ("instant", "range")
    yield from walk(dash.get("panels", []))
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            yield "annotation " + a.get("name", "?"), "-", a["expr"], ("range",)


def run(args, q):
    p = subprocess.run(["promtool", "query"] + args + ["-o", "json", server, q], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


bad = 0
n = 0
for title, ref, expr, kinds in exprs():
    q = expr
    for k in sorted(subst, key=len, reverse=True):
        q = q.replace(k, subst[k])
    if "$" in q:
        print(f"FAIL {title} [{ref}]: unreplaced variable in {q}")
        bad += 1
        continue
    n += 1
    end = int(time.time())
    for kind, args in (("instant", ["instant"]), ("range", ["range", f"--start={start}", f"--end={end}", "--step=5s"])):
        if kind not in kinds:
            continue
        rc, out, err = run(args, q)
        if rc != 0:
            print(f"FAIL {title} [{ref}] {kind}: promtool exit {rc}: {err.strip()[:300]}\n     {q}")
            bad += 1
            continue
        try:
            res = json.loads(out)
        except ValueError:
            print(f"FAIL {title} [{ref}] {kind}: not JSON: {out[:200]}")
            bad += 1
            continue
        if isinstance(res, dict):  # a scalar or string result
            res = [res]
        if not res:
            print(f"FAIL {title} [{ref}] {kind}: empty result\n     {q}")
            bad += 1
            continue
        print(f"ok   {title} [{ref}] {kind}: {len(res)} series")
print(f"{n} expressions, {bad} failures")
sys.exit(1 if bad or not n else 0)
