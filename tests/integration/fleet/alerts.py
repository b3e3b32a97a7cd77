#!/usr/bin/env python3
"""Questions about the notifications the fleet test's receiver recorded (receiver.py's JSON lines).

  alerts.py first FILE STATUS MATCH...   receive time and path of the first notification carrying an alert in
                                         STATUS (firing, resolved) whose labels satisfy every MATCH; nothing if none
  alerts.py labels FILE STATUS MATCH...  that alert's labels as JSON
  alerts.py list FILE                    one line per alert notified: time, path, status, alertname, host, cgroup

MATCH is label=value (equal) or label~regex (full match); host!=a|b excludes those values."""
import json
import re
import sys


def alerts(path):
    try:
        f = open(path)
    except FileNotFoundError:
        return
    with f:
        for line in f:
            rec = json.loads(line)
            for a in rec["body"].get("alerts", []):
                yield rec["received"], rec["path"], a


def matcher(args):
    tests = []
    for m in args:
        if "!=" in m:
            k, v = m.split("!=", 1)
            tests.append(lambda L, k=k, v=set(v.split("|")): L.get(k, "") not in v)
        elif "~" in m:
            k, v = m.split("~", 1)
            tests.append(lambda L, k=k, r=re.compile(v): r.fullmatch(L.get(k, "")) is not None)
        else:
            k, v = m.split("=", 1)
            tests.append(lambda L, k=k, v=v: L.get(k, "") == v)
    return lambda L: all(t(L) for t in tests)


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "list":
        for t, p, a in alerts(path):
            L = a["labels"]
            print("%.3f %-15s %-8s %-30s %-9s %s" % (t, p, a["status"], L.get("alertname"), L.get("host", "-"),
                                                       L.get("cgroup", "-")))
        return
    status, ok = sys.argv[3], matcher(sys.argv[4:])
    for t, p, a in alerts(path):
        if a["status"] == status and ok(a["labels"]):
            print(json.dumps(a["labels"], sort_keys=True) if cmd == "labels" else "%.3f %s" % (t, p))
            return


if __name__ == "__main__":
    main()
