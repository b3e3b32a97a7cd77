#!/bin/sh
# churn: cgroup churn soak for the agent. Runs `rigwatch run` at a 0.2 s interval while N cgroups (default 2000)
# are created, given a process (every 25th a busy one, so it gets counters and FP probes), and removed, with a
# window of W to W + W/2 live at a time. Prints the agent's open fds and RSS at start and end, and checks:
#   - the agent is alive and /healthz answers 200 at the end;
#   - fds grew by at most FD_BOUND (8) and RSS by at most RSS_BOUND_KB (8192);
#   - no agent fd points into the churn parent at the end (cgroup directories it forgot to close);
#   - no removed cgroup is left dying because of the agent: the parent's nr_dying_descendants while the agent
#     runs, compared with the same count once it has exited (what the agent pinned is released by its exit).
# Every wait is bounded (a process that outlives its cgroup.kill, a cgroup that cannot be removed, an agent that
# does not answer): the run then fails with a message naming what did not happen, and kills what it started by pid.
# Usage (root, from the repository root): tools/bench/churn.sh [BUILD_DIR] [N] [W]
set -u
build=${1:-build}
n=${2:-2000}
win=${3:-50}
FD_BOUND=${FD_BOUND:-8}
RSS_BOUND_KB=${RSS_BOUND_KB:-8192}
rw=$build/rigwatch

[ "$(id -u)" = 0 ] || { echo "churn: needs root (cgroups)" >&2; exit 77; }
[ -x "$rw" ] || { echo "churn: no $rw (make BUILD=$build)" >&2; exit 2; }
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$cg2" ] || { echo "churn: no cgroup2 mount" >&2; exit 77; }
parent=$cg2/rwchurn.$$
mkdir "$parent" || exit 1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp /tmp/rwchurn.XXXXXX)
agent=""

cleanup() {
	for d in "$parent"/c*; do
		[ -d "$d" ] || continue
		echo 1 > "$d/cgroup.kill" 2>/dev/null
	done
	# by pid too: a child that never got into its cgroup is not reached by cgroup.kill
	for e in $live; do kill -9 "${e#*:}" 2>/dev/null; done
	[ -n "$agent" ] && kill -9 "$agent" 2>/dev/null
	wait 2>/dev/null
	for d in "$parent"/c*; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	rmdir "$parent" 2>/dev/null
	rm -f "$log"
}
trap cleanup EXIT INT TERM

# gone PID WHAT: wait (at most 30 s) for a child to end after its cgroup was killed; kill it by pid if it did not.
# Polled every 10 ms with the shell's own read: a killed child is usually gone within a millisecond or two, and a
# fork or a 100 ms sleep per cgroup was most of the soak's time.
gone() {
	k=0
	while [ "$k" -lt 3000 ]; do
		st=""
		{ read -r _ _ st _ < "/proc/$1/stat"; } 2>/dev/null
		if [ -z "$st" ] || [ "$st" = Z ]; then wait "$1" 2>/dev/null; return 0; fi
		sleep 0.01; k=$((k + 1))
	done
	echo "churn: FAIL $2: pid $1 still alive after 30 s (for a churn child: not in its cgroup?); killed by pid"
	kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null
	return 1
}
# rmcg DIR: remove an emptied cgroup, retrying for at most 30 s.
rmcg() {
	k=0
	until rmdir "$1" 2>/dev/null; do
		k=$((k + 1))
		[ "$k" -gt 3000 ] && { echo "churn: FAIL cannot remove $1 within 30 s"; return 1; }
		sleep 0.01
	done
}
fds() { ls "/proc/$agent/fd" 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$agent/status" 2>/dev/null; }
dying() { awk '/^nr_dying_descendants/ { print $2 }' "$parent/cgroup.stat"; }
healthz() { python3 - "$port" <<'PY'
import sys, urllib.request
try:
    print(urllib.request.urlopen("http://127.0.0.1:%s/healthz" % sys.argv[1], timeout=5).status)
except Exception as e:
    print(getattr(e, "code", 0))
PY
}

"$rw" run --interval=0.2 --web.listen-address=127.0.0.1:"$port" --log.level=warn >"$log" 2>&1 &
agent=$!
k=0
until [ "$(healthz)" = 200 ]; do
	k=$((k + 1))
	kill -0 "$agent" 2>/dev/null || { echo "churn: agent did not start:"; cat "$log"; exit 1; }
	[ "$k" -gt 120 ] && { echo "churn: FAIL no /healthz 200 within 60 s of start"; cat "$log"; exit 1; }
	sleep 0.5
done
fd0=$(fds); rss0=$(rss); dying0=$(dying)
echo "churn: agent pid $agent, interval 0.2 s, $n cgroups, $win to $((win + win / 2)) live at a time, under $parent"
echo "churn: start: fds $fd0, rss ${rss0} kB"

# retire K: kill the K oldest live cgroups at once, then wait for each child and remove each cgroup (one wait for
# the batch, not one per cgroup).
retire() {
	_k=$1
	set -- $live
	_old=""
	while [ "$_k" -gt 0 ] && [ "$#" -gt 0 ]; do
		_old="$_old $1"; shift; _k=$((_k - 1))
	done
	live="$*"
	for e in $_old; do echo 1 > "$parent/c${e%%:*}/cgroup.kill"; done
	for e in $_old; do
		gone "${e#*:}" "c${e%%:*}" || exit 1
		rmcg "$parent/c${e%%:*}" || exit 1
	done
}

t0=$(date +%s)
i=0
nlive=0
live=""
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	d=$parent/c$i
	mkdir "$d" || { echo "churn: mkdir $d failed"; exit 1; }
	# started here and moved in by pid (one fork and exec each; the few milliseconds it spends in this script's
	# cgroup do not matter to the soak)
	if [ $((i % 25)) = 0 ]; then
		sh -c 'while :; do :; done' &
	else
		sleep 600 &
	fi
	live="$live $i:$!"
	echo "$!" > "$d/cgroup.procs" || { echo "churn: FAIL cannot move pid $! into $d"; exit 1; }
	nlive=$((nlive + 1))
	# the window swings between W and W + W/2 live cgroups: the oldest W/2 go together
	if [ "$nlive" -ge $((win + win / 2)) ]; then
		retire $((win / 2))
		nlive=$((nlive - win / 2))
	fi
	if [ $((i % 500)) = 0 ]; then
		echo "churn: $i cgroups, $(( $(date +%s) - t0 )) s, agent fds $(fds) rss $(rss) kB"
		kill -0 "$agent" 2>/dev/null || { echo "churn: agent died:"; tail -20 "$log"; exit 1; }
	fi
done
retire "$nlive"
live=""
t1=$(date +%s)
# The agent notices the last removals at its next walks and drops their state: wait for that (at most 60 s).
k=0
while :; do
	stale=$(ls -l "/proc/$agent/fd" 2>/dev/null | grep -c "$parent")
	[ "$stale" = 0 ] || [ "$k" -ge 120 ] && break
	sleep 0.5; k=$((k + 1))
done
sleep 1   # a few intervals more, so fds and RSS are read in the steady state
fd1=$(fds); rss1=$(rss); dying1=$(dying); hz=$(healthz)
alive=yes; kill -0 "$agent" 2>/dev/null || alive=no
kill "$agent"
gone "$agent" "the agent after SIGTERM" || rc_agent=1
agent=""
sleep 1
dying2=$(dying)
echo "churn: $n cgroups created and removed in $((t1 - t0)) s"
echo "churn: end:   fds $fd1, rss ${rss1} kB (growth: fds $((fd1 - fd0)), rss $((rss1 - rss0)) kB)"
echo "churn: agent alive $alive, /healthz $hz, agent fds into $parent: $stale"
echo "churn: dying cgroups under the parent: $dying0 at start, $dying1 at end with the agent, $dying2 after it exited"
rc=${rc_agent:-0}
[ "$alive" = yes ] || { echo "churn: FAIL agent died"; tail -20 "$log"; rc=1; }
[ "$hz" = 200 ] || { echo "churn: FAIL /healthz $hz"; rc=1; }
[ $((fd1 - fd0)) -le "$FD_BOUND" ] || { echo "churn: FAIL fd growth > $FD_BOUND"; rc=1; }
[ $((rss1 - rss0)) -le "$RSS_BOUND_KB" ] || { echo "churn: FAIL rss growth > $RSS_BOUND_KB kB"; rc=1; }
[ "$stale" = 0 ] || { echo "churn: FAIL agent holds fds of removed cgroups"; rc=1; }
[ "$dying1" -le "$dying2" ] || { echo "churn: FAIL $((dying1 - dying2)) cgroups kept dying by the agent"; rc=1; }
grep -E "level=error|^(error|fatal)|AddressSanitizer|runtime error" "$log" | head -5
[ "$rc" = 0 ] && echo "churn: ok"
exit "$rc"
