#!/bin/sh
# Cost of the FP evidence paths side by side: eBPF (fpprobe.path = bpf), ptrace (fpprobe.path = ptrace) and the
# FP source off (fpprobe.enabled = false), in alternating runs, medians printed.
#   1. agent CPU at 500 cgroups with B busy un-niced targets (B = 10 and 50; the rest sleep), and the eBPF
#      program's own run time over the same window (kernel.bpf_stats_enabled: run_time_ns / run_cnt), which the
#      kernel spends in the context switches of every task and charges to none of them;
#   2. context-switch throughput of `stress-ng --switch 1` in a watched cgroup, ratio to no agent at all, and on the
#      eBPF path ratio to the same workload in a cgroup the agent does not watch (row unw: the eBPF agent runs, the
#      workload sits outside its include glob, so the program leaves after its first map lookup);
#   3. stalls of a spinning thread in a watched cgroup (build/bench/stallgap: gaps over 50 us in its own progress).
# The load average is printed with each part: the machine may be shared.
# Usage: tools/bench/fpcost.sh [BUILD_DIR] [ROUNDS] [SECONDS]    (root; cgroup2; x86_64 with BTF for the eBPF path)
# FPCOST_PARTS=cpu,watched (default both) picks the parts; FPCOST_BUSY="10 50" the busy counts of part 1.
# FPCOST_BASE=DIR adds to part 1 a row "base": the eBPF path of DIR/rigwatch (another build, say the last release),
# in the same alternating rounds, and the ratio of this build's eBPF row to it.
set -u
parts=",${FPCOST_PARTS:-cpu,watched},"
build=${1:-build}
rounds=${2:-3}
secs=${3:-20}
rw=$build/rigwatch
base=${FPCOST_BASE:-}
gap=$build/bench/stallgap
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -x "$rw" ] && [ -x "$gap" ] || { echo "build $rw and $gap first (make all)" >&2; exit 1; }
[ -n "$cg2" ] || { echo "no cgroup2 mount" >&2; exit 1; }
[ -z "$base" ] || [ -x "$base/rigwatch" ] || { echo "FPCOST_BASE: $base/rigwatch is not an executable" >&2; exit 2; }
command -v stress-ng > /dev/null || { echo "stress-ng missing (scripts/install-deps.sh)" >&2; exit 77; }
"$rw" events --fp.path=bpf 2>/dev/null | grep -q '^FP path: bpf' || { echo "eBPF FP path not loadable here" >&2; exit 77; }
hz=$(getconf CLK_TCK)
parent=$cg2/rwfpcost.$$
unwatched=$cg2/rwfpcost-unw.$$
tmp=$(mktemp -d)
pids=""; agent=""
stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled)

cleanup() {
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	[ -n "$agent" ] && kill "$agent" 2>/dev/null
	echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled
	sleep 0.3
	[ -d "$parent" ] && find "$parent" -depth -type d -exec rmdir {} \; 2>/dev/null
	[ -d "$unwatched" ] && rmdir "$unwatched" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
	else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
conf() { # mode -> config file
	case $1 in
	bpf|unw|base) fp='path = bpf' ;;
	ptrace) fp='path = ptrace' ;;
	off) fp='enabled = false' ;;
	esac
	printf '[agent]\ninclude = /rwfpcost.%s/*\n[fpprobe]\n%s\n[alerts]\noutput = ""\n' $$ "$fp" > "$tmp/$1.conf"
	echo "$tmp/$1.conf"
}
start_agent() { # mode
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	bin=$rw
	[ "$1" = base ] && bin=$base/rigwatch
	"$bin" run --config.file="$(conf "$1")" --web.listen-address=127.0.0.1:"$port" > "$tmp/agent.log" 2>&1 &
	agent=$!
	i=0
	until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 300 ] || { cat "$tmp/agent.log"; echo "agent did not start" >&2; exit 1; }
		sleep 0.1
	done
}
stop_agent() { kill "$agent"; wait "$agent" 2>/dev/null; agent=""; }
prog_stats() { # prog id -> "run_time_ns run_cnt"
	bpftool prog show id "$1" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t = $(i + 1);
		if ($i == "run_cnt") c = $(i + 1) } } END { print t + 0, c + 0 }'
}

# --- 1. agent CPU at 500 cgroups ---------------------------------------------------------------------------------
mkdir -p "$parent"
case $parts in *,cpu,*) ;; *) false ;; esac && {
i=0
while [ $i -lt 500 ]; do
	d=$parent/c$i; mkdir -p "$d"
	sh -c 'echo $$ > "$0/cgroup.procs"; exec sleep 100000' "$d" & pids="$pids $!"
	i=$((i + 1))
done
echo "agent CPU, 500 cgroups, $rounds alternating rounds of $secs s (medians; % of one core); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-7s %10s %12s %12s %14s\n' busy path "agent_%" "bpf_prog_%" "ns/run" "runs/s"
echo 1 > /proc/sys/kernel/bpf_stats_enabled
for busy in ${FPCOST_BUSY:-10 50}; do
	busy_pids=""
	i=0
	while [ $i -lt "$busy" ]; do
		sh -c 'echo $$ > "$0/cgroup.procs"; exec sh -c "while :; do :; done"' "$parent/c$i" & busy_pids="$busy_pids $!"
		i=$((i + 1))
	done
	pids="$pids $busy_pids"
	sleep 1
	cpu_modes="bpf ptrace off${base:+ base}"
	for m in $cpu_modes; do : > "$tmp/a.$m"; : > "$tmp/p.$m"; : > "$tmp/ns.$m"; : > "$tmp/r.$m"; done
	r=0
	while [ $r -lt "$rounds" ]; do
		for m in $cpu_modes; do
			start_agent $m
			sleep 3 # start-up and the first intervals
			id=$(sed -n 's/.*FP path: eBPF.*program id \([0-9]*\).*/\1/p' "$tmp/agent.log")
			[ -n "$id" ] && set -- $(prog_stats "$id") || set -- 0 0
			rt0=$1; rc0=$2
			t0=$(cpu_ticks "$agent")
			sleep "$secs"
			t1=$(cpu_ticks "$agent")
			[ -n "$id" ] && set -- $(prog_stats "$id") || set -- 0 0
			rt1=$1; rc1=$2
			stop_agent
			awk -v t="$((t1 - t0))" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.3f\n", t * 100 / hz / s }' >> "$tmp/a.$m"
			if [ -n "$id" ]; then
				awk -v ns="$((rt1 - rt0))" -v s="$secs" 'BEGIN { printf "%.3f\n", ns / 1e9 / s * 100 }' >> "$tmp/p.$m"
				awk -v ns="$((rt1 - rt0))" -v c="$((rc1 - rc0))" 'BEGIN { printf "%.0f\n", c ? ns / c : 0 }' >> "$tmp/ns.$m"
				awk -v c="$((rc1 - rc0))" -v s="$secs" 'BEGIN { printf "%.0f\n", c / s }' >> "$tmp/r.$m"
			fi
		done
		r=$((r + 1))
	done
	for m in $cpu_modes; do
		printf '%-6s %-7s %10s %12s %12s %14s\n' "$busy" "$m" "$(median < "$tmp/a.$m")" "$(median < "$tmp/p.$m")" \
			"$(median < "$tmp/ns.$m")" "$(median < "$tmp/r.$m")"
	done
	[ -z "$base" ] || awk -v a="$(median < "$tmp/a.bpf")" -v b="$(median < "$tmp/a.base")" -v n="$busy" \
		'BEGIN { printf "  agent CPU, eBPF path, this build / base at %s busy: %s\n", n, b > 0 ? sprintf("%.2f", a / b) : "-" }'
	kill -9 $busy_pids 2>/dev/null
	echo "  (load average after $busy busy: $(cut -d' ' -f1-3 /proc/loadavg))"
	sleep 0.5
done
echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled
kill -9 $pids 2>/dev/null; pids=""
sleep 0.5
find "$parent" -depth -mindepth 1 -type d -exec rmdir {} \; 2>/dev/null
}
case $parts in *,watched,*) ;; *) exit 0 ;; esac

# --- 2, 3. a watched workload: context switches and stalls ---------------------------------------------------------
w=$parent/work; mkdir -p "$w" "$unwatched"
short=$((secs / 4 > 5 ? secs / 4 : 5))
echo
echo "watched workload, $rounds alternating rounds of $short s (medians; none = no agent running; unw = eBPF agent,"
echo " workload in a cgroup it does not watch); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %14s %8s %12s %10s %10s\n' path "switch_ops/s" ratio "gaps>50us" "max_us" "gap_ms"
modes="none unw bpf ptrace off"
for m in $modes; do : > "$tmp/sw.$m"; : > "$tmp/g.$m"; : > "$tmp/gm.$m"; : > "$tmp/gt.$m"; done
r=0
while [ $r -lt "$rounds" ]; do
	for m in $modes; do
		[ $m = none ] || start_agent $m
		sleep 2
		wd=$w
		[ $m = unw ] && wd=$unwatched
		sh -c 'echo $$ > "$0/cgroup.procs"; exec stress-ng --switch 1 --timeout "$1" --metrics-brief' "$wd" "$short" \
			> "$tmp/sw.out" 2>&1
		awk '/switch/ && $0 ~ /[0-9]/ { for (i = NF; i > 0; i--) if ($i ~ /^[0-9.]+$/) { v = $i; n++; if (n == 2) { print v; exit } } }' \
			"$tmp/sw.out" >> "$tmp/sw.$m"
		sh -c 'echo $$ > "$0/cgroup.procs"; exec "$1" "$2"' "$wd" "$gap" "$short" > "$tmp/g.out"
		sed -n 's/gaps=\([0-9]*\) max_us=\([0-9]*\) gap_ms=\([0-9]*\)/\1 \2 \3/p' "$tmp/g.out" > "$tmp/g.vals"
		awk '{ print $1 }' "$tmp/g.vals" >> "$tmp/g.$m"
		awk '{ print $2 }' "$tmp/g.vals" >> "$tmp/gm.$m"
		awk '{ print $3 }' "$tmp/g.vals" >> "$tmp/gt.$m"
		[ $m = none ] || stop_agent
	done
	r=$((r + 1))
done
base=$(median < "$tmp/sw.none")
for m in $modes; do
	sw=$(median < "$tmp/sw.$m")
	printf '%-7s %14s %8s %12s %10s %10s\n' "$m" "$sw" "$(awk -v a="$sw" -v b="$base" 'BEGIN { printf "%.3f", b ? a / b : 0 }')" \
		"$(median < "$tmp/g.$m")" "$(median < "$tmp/gm.$m")" "$(median < "$tmp/gt.$m")"
done
unw=$(median < "$tmp/sw.unw")
awk -v a="$(median < "$tmp/sw.bpf")" -v b="$unw" 'BEGIN { printf "eBPF path, watched / unwatched switch_ops/s: %.3f\n", b ? a / b : 0 }'
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "(agent CPU from /proc/<agent>/stat utime+stime at $hz ticks/s; bpf_prog_% = the eBPF program's run time in all"
echo " context switches of the host over the window, from bpftool prog show with kernel.bpf_stats_enabled=1;"
echo " switch_ops/s = stress-ng --switch bogo ops/s (real time); gaps from $gap)"
