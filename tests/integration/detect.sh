#!/bin/sh
# Live detection end to end: `rigwatch run` (default 1 s interval, the shipped model) watches two child cgroups:
# a RandomX miner (rxload, light mode, 1 thread) renamed "nginx", and stress-ng --matrix 1 beside it. The miner
# must reach `mining` in /verdicts (waited for at most DEADLINE seconds, default 120: a bound for a loaded CI host,
# not a target; the time it took is printed, and the detection-time targets are held on recordings by make eval)
# and the matrix job must stay `clean` all along.
# `rigwatch list` on the agent's address must show what the agent decided: the miner `mining`.
. tests/integration/lib.sh

RX=$RW_BUILD/rxload
DEADLINE=${DEADLINE:-120}
[ -x "$RX" ] || fail "missing $RX (make tools)"
command -v stress-ng >/dev/null || skip "stress-ng not installed"
command -v curl >/dev/null || skip "curl not installed"
case $(uname -m) in x86_64|aarch64) ;; *) skip "no FP control-register probe on $(uname -m)" ;; esac
tmp=$(mktemp -d)
rel="/rwtest.$$"

# Verdict and score of every target under our parent, one "cgroup verdict score" line each.
verdicts() {
	curl -sf "http://127.0.0.1:$port/verdicts" > "$tmp/v.json" || return 1
	python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["targets"]:
    if t["cgroup"].startswith(sys.argv[2] + "/"):
        print(t["cgroup"][len(sys.argv[2]) + 1:], t["verdict"], t["score"])' "$tmp/v.json" "$rel"
}

miner=$(rw_mkcg miner)
matrix=$(rw_mkcg matrix)
port=$(rw_free_port)
printf '[agent]\ninclude = %s/*\n' "$rel" > "$tmp/agent.conf"
"$RW" run --config.file="$tmp/agent.conf" --web.listen-address="127.0.0.1:$port" > "$tmp/agent.log" 2>&1 &
apid=$!
rw_pids=$apid
rw_wait_http "http://127.0.0.1:$port/healthz" 60 || { cat "$tmp/agent.log"; fail "no /healthz on $port"; }

b=$(rw_run_in "$matrix" stress-ng --matrix 1 -t $((DEADLINE + 60)))
m=$(rw_run_in "$miner" "$RX" --mode light --threads 1 --name nginx --seconds $((DEADLINE + 60)))
rw_pids="$rw_pids $b $m"
t0=$(date +%s%N)
found=""
worst=clean
while :; do
	el=$(( ($(date +%s%N) - t0) / 1000000 ))
	verdicts > "$tmp/now" || true
	mv=$(awk '$1 == "miner" { print $2 }' "$tmp/now")
	bv=$(awk '$1 == "matrix" { print $2 }' "$tmp/now")
	[ -n "$bv" ] && [ "$bv" != clean ] && { cat "$tmp/now"; fail "stress-ng --matrix 1 went $bv after ${el} ms"; }
	if [ "$mv" = mining ]; then
		found=$el
		break
	fi
	[ "$el" -gt $((DEADLINE * 1000)) ] && { cat "$tmp/now" "$tmp/agent.log"; fail "miner not mining after $DEADLINE s (is $mv)"; }
	sleep 0.25
done
note "renamed light-mode miner: mining $(awk -v t="$found" 'BEGIN { printf "%.1f", t / 1000 }') s after start"
note "$(grep '^miner ' "$tmp/now")"

# The matrix job keeps running next to the convicted miner: still clean a few intervals on.
sleep 4
verdicts > "$tmp/now" || fail "/verdicts"
cat "$tmp/now" | sed 's/^/  /'
[ "$(awk '$1 == "matrix" { print $2 }' "$tmp/now")" = clean ] || fail "stress-ng --matrix 1 not clean"
[ "$(awk '$1 == "miner" { print $2 }' "$tmp/now")" = mining ] || fail "miner left mining"

# rigwatch list tells the daemon's truth: asked on the agent's address it shows the agent's verdicts (the miner
# `mining`, as /verdicts has it), and says so in its first line; identity first, then verdict and score.
COLUMNS=200 "$RW" list --config.file="$tmp/agent.conf" --web.listen-address="127.0.0.1:$port" > "$tmp/list" 2> "$tmp/list.err" ||
	{ cat "$tmp/list.err"; fail "rigwatch list exited $?"; }
sed 's/^/  /' "$tmp/list"
head -1 "$tmp/list" | grep -q "^# agent at 127.0.0.1:$port" || fail "rigwatch list: first line does not name the agent"
grep -q '^IDENTITY  *VERDICT  *SCORE' "$tmp/list" || fail "rigwatch list: no IDENTITY VERDICT SCORE header"
grep -q "^cgroup:matrix  *clean .*$rel/matrix\$" "$tmp/list" || fail "rigwatch list: matrix row not clean"
grep -q "^cgroup:miner  *mining .*$rel/miner\$" "$tmp/list" || fail "rigwatch list: the miner is not mining as the agent has it"
exit 0
