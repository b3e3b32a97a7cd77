#!/bin/sh
# Agent overhead: N cgroups (default 50, 200, 500), half of them with a busy process, the agent at its 1 s
# interval for 30 s. Prints the agent's CPU time per interval and per target, peak RSS and open fds.
# Usage: tools/bench/overhead.sh [BUILD_DIR] [SECONDS] [N...]   (root; uses the cgroup2 mount)
set -u
build=${1:-build}; shift 2>/dev/null || true
secs=${1:-30}; shift 2>/dev/null || true
sizes=${*:-50 200 500}
rw=$build/rigwatch
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -x "$rw" ] || { echo "build $rw first" >&2; exit 1; }
[ -n "$cg2" ] || { echo "no cgroup2 mount" >&2; exit 1; }
hz=$(getconf CLK_TCK)
parent=$cg2/rwbench.$$
conf=$(mktemp)
pids=""

cleanup() {
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	[ -n "${agent:-}" ] && kill "$agent" 2>/dev/null
	sleep 0.3
	[ -d "$parent" ] && find "$parent" -depth -type d -exec rmdir {} \; 2>/dev/null
	rm -f "$conf"
}
trap cleanup EXIT INT TERM

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Intervals the agent completed (on a loaded host it may fall behind its 1 s schedule).
intervals() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^rigwatch_intervals_total/ { print $2 }'; }

# Busy processes get a small share each on a small machine; a low attention threshold makes sure every busy
# one still gets counters, so the fd cost of counting is in the figures.
printf '[agent]\nattention_cpu = %s\ninclude = /rwbench.%s/*\n[alerts]\noutput = ""\n' "${ATTENTION:-0.002}" $$ > "$conf"
printf '%-6s %-10s %14s %14s %12s %10s %6s\n' cgroups intervals "cpu_ms/interval" "cpu_us/target" "%_of_core" "rss_peak_kb" fds
for n in $sizes; do
	mkdir -p "$parent"
	i=0
	while [ $i -lt "$n" ]; do
		d=$parent/c$i; mkdir -p "$d"
		if [ $((i % 2)) -eq 0 ]; then
			# niced: 250 spinning loops at the agent's priority on 2 cores would starve it, not measure it
			sh -c 'echo $$ > "$0/cgroup.procs"; exec nice -n 19 sh -c "while :; do :; done"' "$d" & pids="$pids $!"
		else
			sh -c 'echo $$ > "$0/cgroup.procs"; exec sleep 100000' "$d" & pids="$pids $!"
		fi
		i=$((i + 1))
	done
	sleep 1
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$rw" run --config.file="$conf" --web.listen-address=127.0.0.1:"$port" --log.level=warn 2>/dev/null &
	agent=$!
	sleep 3 # start-up and the first intervals (counters open on the second look)
	t0=$(cpu_ticks $agent); i0=$(intervals "$port")
	sleep "$secs"
	t1=$(cpu_ticks $agent); i1=$(intervals "$port")
	rss=$(awk '/VmHWM/ { print $2 }' /proc/$agent/status)
	fds=$(ls /proc/$agent/fd | wc -l)
	kill $agent; wait $agent 2>/dev/null; agent=""
	awk -v t="$((t1 - t0))" -v hz="$hz" -v s="$secs" -v iv="$((i1 - i0))" -v n="$n" -v rss="$rss" -v fds="$fds" 'BEGIN {
		ms = t * 1000 / hz / (iv > 0 ? iv : 1)
		printf "%-6d %-10d %14.2f %14.1f %12.3f %10d %6d\n", n, iv, ms, ms * 1000 / n, t * 100 / hz / s, rss, fds }'
	kill -9 $pids 2>/dev/null; pids=""
	sleep 0.5
	find "$parent" -depth -type d -exec rmdir {} \; 2>/dev/null
done
echo "(cpu from /proc/<agent>/stat utime+stime at ${hz} ticks/s; rss_peak = VmHWM; fds at the end)"
