#!/bin/sh
# Record one workload into a trace: tools/train/record.sh OUT.trace LABEL SECONDS command args...
# Starts the command in a private cgroup (cgroup2), records only that cgroup at the default 1 s interval, then
# kills it. RECORDER (default: "$RW_BUILD/rigwatch record") must accept --output --cgroup --duration --label.
# RECORD_FLAGS (optional): more flags for the recorder, e.g. --config.file=tools/train/lowcpu.conf.
# CPU_MAX="QUOTA PERIOD" (optional): a CFS quota on the cgroup, in microseconds (cpu.max, or the v1 cpu twin).
# READY=REGEX (optional): record only once the command has printed a line matching REGEX (at most READY_TIMEOUT
# seconds, default 300), e.g. READY='^rxload: ready' to record fast mode's hashing, not its dataset build.
set -u
out=$1 label=$2 secs=$3; shift 3
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$cg2" ] || { echo "record.sh: no cgroup2 mount" >&2; exit 77; }
name=$(basename "$out" .trace)
cg="$cg2/rwrec/$name"
mkdir -p "$cg" || exit 1
# On hybrid hosts also join the v1 memory/cpu/pids twins at the same path, so memory and throttling are seen.
twins=""
for c in memory cpu cpuacct pids; do
	d=$(awk -v c="$c" '$9 == "cgroup" && $NF ~ ("(^|,)" c "(,|$)") { print $5; exit }' /proc/self/mountinfo)
	case " $twins " in *" $d/rwrec/$name "*) continue ;; esac   # co-mounted controllers share a directory
	[ -n "$d" ] && [ "$d" != "$cg2" ] && mkdir -p "$d/rwrec/$name" 2>/dev/null && twins="$twins $d/rwrec/$name"
done
if [ -n "${CPU_MAX:-}" ]; then
	if [ -e "$cg/cpu.max" ]; then
		echo "$CPU_MAX" > "$cg/cpu.max"
	else
		for d in $twins; do
			[ -e "$d/cpu.cfs_quota_us" ] || continue
			echo "${CPU_MAX#* }" > "$d/cpu.cfs_period_us" && echo "${CPU_MAX% *}" > "$d/cpu.cfs_quota_us"
		done
	fi
fi
log=/dev/null
[ -n "${READY:-}" ] && log=$(mktemp)
sh -c 'for d in "$0" $1; do echo $$ > "$d/cgroup.procs"; done; shift; exec "$@"' "$cg" "$twins" "$@" >"$log" 2>&1 &
pid=$!
if [ -n "${READY:-}" ]; then
	i=0
	until grep -q -- "$READY" "$log"; do
		[ $i -ge $(( ${READY_TIMEOUT:-300} * 10 )) ] && { echo "record.sh: no '$READY' from $1" >&2; break; }
		kill -0 $pid 2>/dev/null || { echo "record.sh: $1 exited before '$READY'" >&2; break; }
		sleep 0.1; i=$((i + 1))
	done
	grep -- "$READY" "$log" >&2
	rm -f "$log"
fi
sleep 0.3
${RECORDER:-${RW_BUILD:-build}/rigwatch record} ${RECORD_FLAGS:-} --output "$out" --cgroup "/rwrec/$name" --duration "$secs" \
	--label "$label"
rc=$?
echo 1 > "$cg/cgroup.kill" 2>/dev/null || kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
sleep 0.2
rmdir "$cg" $twins 2>/dev/null
for d in "$cg" $twins; do rmdir "${d%/*}" 2>/dev/null; done   # the rwrec parents, once empty
exit $rc
