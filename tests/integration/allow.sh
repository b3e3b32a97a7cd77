# Exemptions end to end: the real agent in kill mode, two real RandomX workloads (tools/rxload) in real cgroups, one
# of them matched by an [allow] rule. The allowed one is scored `mining` and shown in /verdicts with the reason,
# and is never acted upon (alive, not frozen; the decision audited and counted with result "allowed") and never
# alerted on (no alert line names it); the other one, the control, is killed and alerted on as usual.
. tests/integration/lib.sh

RX=$RW_BUILD/rxload
[ -x "$RX" ] || skip "no $RX"
command -v python3 >/dev/null || skip "needs python3"

LIMIT=${LIMIT:-120}   # a bound for each wait on a loaded 2-core host, not a target
RXN="nice -n -10 $RX"
tmp=$(mktemp -d)
base=/rwtest.$$
lab=$(rw_mkcg lab)
miner=$(rw_mkcg miner)
pl=$(rw_run_in "$lab" $RXN --mode light --threads 1 --name hasher)
pm=$(rw_run_in "$miner" $RXN --mode light --threads 1 --name nginx)
rw_pids="$rw_pids $pl $pm"
port=$(rw_free_port)
url="http://127.0.0.1:$port"
cat > "$tmp/agent.conf" <<EOF
[agent]
include = $base/*
[response]
mode = kill
min_intervals = 2
min_score = 0.5
max_actions_per_min = 10
audit_log = $tmp/audit.jsonl
[alerts]
output = $tmp/alerts.jsonl
[allow]
cgroup = $base/lab
reason = "RandomX benchmark of the lab (SEC-77)"
EOF
"$RW" run --config.file="$tmp/agent.conf" --web.listen-address="127.0.0.1:$port" > "$tmp/agent.log" 2>&1 &
apid=$!
rw_pids="$rw_pids $apid"
rw_wait_http "$url/healthz" 60 || { cat "$tmp/agent.log"; fail "rigwatch run: no /healthz on $port"; }

target() { # cgroup -> "verdict allowed action"
	curl -sf "$url/verdicts" | python3 -c '
import json, sys
for t in json.load(sys.stdin)["targets"]:
    if t["cgroup"] == sys.argv[1]:
        print(t["verdict"], t["allowed"], t.get("action", "none")); break
else:
    print("absent")' "$1"
}
wait_for() { # seconds command...
	lim=$1; shift; i=0
	while [ $i -lt $((lim * 5)) ]; do
		"$@" && return 0
		sleep 0.2; i=$((i + 1))
	done
	return 1
}
lab_mining() { target "$base/lab" | grep -q '^mining True'; }
lab_audited() { grep "\"cgroup\":\"$base/lab\"" "$tmp/audit.jsonl" 2>/dev/null | grep -q '"result":"allowed"'; }

wait_for $LIMIT rw_gone "$pm" || { tail -20 "$tmp/agent.log"; fail "the control miner was not killed within $LIMIT s"; }
grep -q "\"rigwatch.cgroup\":\"$base/miner\"" "$tmp/alerts.jsonl" || fail "no alert line for the control miner"
note "control: killed and alerted on"
wait_for $LIMIT lab_mining || { target "$base/lab"; tail -20 "$tmp/agent.log"; fail "the allowed miner never showed mining with allowed true"; }
wait_for $LIMIT lab_audited || { tail -20 "$tmp/agent.log"; fail "no audit line with result allowed for the lab"; }
sleep 3
rw_alive "$pl" || fail "the allowed miner was killed"
grep -q '^frozen 1' "$lab/cgroup.events" && fail "the allowed miner's cgroup is frozen"
grep -q "\"rigwatch.cgroup\":\"$base/lab\"" "$tmp/alerts.jsonl" && fail "an alert line names the allowed miner: $(grep "$base/lab" "$tmp/alerts.jsonl")"
grep "\"cgroup\":\"$base/lab\"" "$tmp/audit.jsonl" | grep -q '"result":"\(ok\|pending\|vanished\|frozen_not_killed\|failed\)"' &&
	fail "the audit log shows an action on the allowed miner"
grep "\"cgroup\":\"$base/lab\"" "$tmp/audit.jsonl" | grep -q 'RandomX benchmark of the lab (SEC-77)' || fail "the audit line lacks the reason"
n=$(curl -sf "$url/metrics" | awk '$1 == "rigwatch_response_actions_total{action=\"kill\",result=\"allowed\"}" { print $2 }')
[ "${n:-0}" -ge 1 ] 2>/dev/null || fail "rigwatch_response_actions_total{action=\"kill\",result=\"allowed\"} = $n"
curl -sf "$url/verdicts" | python3 -c '
import json, sys
t = [t for t in json.load(sys.stdin)["targets"] if t["cgroup"] == sys.argv[1]][0]
assert t["allow_reason"] == "RandomX benchmark of the lab (SEC-77)", t' "$base/lab" || fail "/verdicts allow_reason"
note "allowed: mining, alive, unfrozen, no alert line, audited and counted as allowed ($n)"

kill "$apid"; wait "$apid" 2>/dev/null
rm -rf "$tmp"
echo "PASS allow"
