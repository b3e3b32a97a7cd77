# rw-integration: exclusive
# (run alone: its counters part binds the v1 perf_event controller for a few seconds, and while that lasts
# cgroup-mode perf events on the cgroup2 tree fail for every process on the machine; the binding is host-wide, not
# per mount namespace. tests/run-integration.sh runs scripts marked so after the others, one at a time.)
#
# This machine as a cgroup v1-only host (RHEL/CentOS 7-8, Slurm cgroup/v1): the agent runs in a private mount
# namespace with the cgroup2 mount hidden, on the real v1 freezer, cpu, cpuacct, memory and pids hierarchies.
# A Slurm-shaped tree /slurm/uid_0/job_<n>/step_<s> holds the real RandomX workload (renamed "nginx"), a busy benign
# program and an idle one. Asserted: the layout found (v1, walking the freezer), Slurm identities, the miner scored
# `mining` and the others not, freeze through freezer.state, kill (SIGKILL sweep until empty, then THAWED), and
# with the perf_event controller mounted in the namespace, software counters (task-clock) per v1 target.
# RW_V1_FP=bpf|ptrace picks the FP path (default: auto, eBPF where it loads); RW_V1_PERF=0 leaves the perf_event
# part out (while developing: each run of it binds the controller host-wide for a few seconds).
. tests/integration/lib.sh

RX=$RW_BUILD/rxload
[ -x "$RW" ] || skip "no $RW"
[ -x "$RX" ] || skip "no $RX"
command -v unshare >/dev/null || skip "needs unshare (util-linux)"
command -v python3 >/dev/null || skip "needs python3"
command -v curl >/dev/null || skip "needs curl"
command -v stress-ng >/dev/null || skip "needs stress-ng (the busy benign program)"

v1mnt() { awk -v c="$1" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo; }
FRZ=$(v1mnt freezer); ACCT=$(v1mnt cpuacct); CPU=$(v1mnt cpu); MEM=$(v1mnt memory); PIDS=$(v1mnt pids)
[ -n "$FRZ" ] && [ -n "$ACCT" ] && [ -n "$MEM" ] || skip "needs the v1 freezer, cpuacct and memory hierarchies mounted"
HIERS=""
for h in "$FRZ" "$ACCT" "$CPU" "$MEM" "$PIDS"; do
	[ -n "$h" ] && case " $HIERS " in *" $h "*) ;; *) HIERS="$HIERS $h" ;; esac
done

LIMIT=${LIMIT:-120}                 # a bound for each wait, not a target
RXN="nice -n -10 $RX"               # see response.sh: a crowded host starves a nice-0 miner
JOB=$$
JOBREL=/slurm/uid_0/job_$JOB
tmp=$(mktemp -d)
port=$(rw_free_port)
url="http://127.0.0.1:$port"
apid=""
made_slurm=""                       # hierarchies where this run created /slurm (or /slurm/uid_0)
v1pids=""

stop_agent() {
	[ -n "$apid" ] && kill "$apid" 2>/dev/null && wait "$apid" 2>/dev/null
	apid=""
}
v1_cleanup() {
	stop_agent
	for p in $v1pids; do kill -9 "$p" 2>/dev/null; done
	[ -d "$FRZ$JOBREL" ] && find "$FRZ$JOBREL" -name freezer.state | while read -r f; do echo THAWED > "$f"; done 2>/dev/null
	sleep 0.3
	for h in $HIERS; do
		[ -d "$h$JOBREL" ] && find "$h$JOBREL" -depth -type d -exec rmdir {} \; 2>/dev/null
		rmdir "$h/slurm/uid_0" "$h/slurm" 2>/dev/null # only if empty: another job may be there
	done
	rw_cleanup
	[ -n "${RW_KEEP:-}" ] || rm -rf "$tmp"
}
trap v1_cleanup EXIT INT TERM

# The same cgroup in every v1 hierarchy, as Slurm's task/cgroup + proctrack/cgroup + jobacct_gather/cgroup make it;
# step_1 without cpu and cpuacct twins, as with jobacct_gather/linux (its CPU then comes from /proc).
hiers_for() {
	if [ "$1" = step_1 ]; then
		for h in $HIERS; do [ "$h" = "$ACCT" ] || [ "$h" = "$CPU" ] || printf '%s ' "$h"; done
	else
		echo $HIERS
	fi
}
mk_step() {
	for h in $(hiers_for "$1"); do mkdir -p "$h$JOBREL/$1" || fail "mkdir $h$JOBREL/$1"; done
}
# Start a command in step $1 of every hierarchy; prints its pid.
run_step() {
	_s=$1; _log=$2; shift 2
	_dirs=""
	for h in $(hiers_for "$_s"); do _dirs="$_dirs $h$JOBREL/$_s"; done
	sh -c 'for d in $0; do echo $$ > "$d/cgroup.procs" || exit 1; done; exec "$@"' "$_dirs" "$@" > "$_log" 2>&1 &
	echo $!
}
procs() { cat "$FRZ$JOBREL/$1/cgroup.procs" 2>/dev/null | tr '\n' ' '; }
state() { cat "$FRZ$JOBREL/$1/freezer.state" 2>/dev/null; }
wait_for() { # seconds command...: poll every 0.2 s
	_lim=$1; shift; _i=0
	while [ $_i -lt $((_lim * 5)) ]; do
		"$@" && return 0
		sleep 0.2; _i=$((_i + 1))
	done
	return 1
}
# "<verdict> <action> <identity>" of a target in /verdicts
vq() {
	curl -sf "$url/verdicts" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for t in d.get("targets", []):
    if t.get("cgroup") == sys.argv[1]:
        i = t.get("identity", {})
        print(t.get("verdict", "?"), t.get("action", "none"), i.get("runtime", "?") + ":" + i.get("name", "?"))
        break
else:
    print("absent absent absent")' "$1"
}

for s in step_0 step_1 step_batch; do mk_step $s; done
pm=$(run_step step_0 "$tmp/miner.log" $RXN --mode light --threads 1 --name nginx)
pb=$(run_step step_1 /dev/null stress-ng --cpu 1 --cpu-load 60 --cpu-method matrixprod --quiet)
pi=$(run_step step_batch /dev/null sleep 600)
v1pids="$pm $pb $pi"
i=0
until [ "$(cat /proc/$pm/comm 2>/dev/null)" = nginx ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "rxload does not run as nginx within 60 s: $(cat /proc/$pm/comm 2>/dev/null)"
	sleep 0.2
done
for p in $pm $pb $pi; do
	grep -q "freezer:$JOBREL/" "/proc/$p/cgroup" || fail "pid $p not in the v1 freezer step: $(cat /proc/$p/cgroup)"
done

conf="$tmp/rigwatch.conf"
cat > "$conf" <<EOF
[agent]
include = $JOBREL/*
[fpprobe]
path = ${RW_V1_FP:-auto}
[response]
min_intervals = 2
min_score = 0.5
max_actions_per_min = 10
audit_log = $tmp/audit.jsonl
EOF
CG2=$(rw_cg2_root)
# The agent in a private mount namespace without the cgroup2 mount: a v1-only host as far as it can tell.
start_agent() { # mode
	mode=$1
	unshare -m sh -c 'umount -l "$0" || exit 9; exec "$@"' "$CG2" \
		"$RW" run --config.file="$conf" --web.listen-address="127.0.0.1:$port" --interval 1 --response "$mode" \
		> "$tmp/agent.$mode.log" 2>&1 &
	apid=$!
	t_start=$(date +%s)
	rw_wait_http "$url/healthz" 60 || { cat "$tmp/agent.$mode.log"; fail "agent ($mode) not up"; }
}
verdict_is() { vq "$JOBREL/$1" | grep -q "^$2 "; }

# ---- observe (response off): layout, identity, verdicts
start_agent off
grep -q "cgroup layout v1: walking the freezer hierarchy at $FRZ" "$tmp/agent.off.log" ||
	fail "start-up log does not name the v1 layout: $(grep 'cgroup layout' "$tmp/agent.off.log")"
n=$(grep -c "perf_event controller mounted\|perf_event not mounted" "$tmp/agent.off.log")
[ "$n" -ge 1 ] || fail "no word that counters are off without the v1 perf_event controller"
wait_for $LIMIT verdict_is step_0 mining || { tail -20 "$tmp/agent.off.log"; vq "$JOBREL/step_0";
	fail "the RandomX miner in $JOBREL/step_0 never reached mining"; }
note "v1: miner mining after $(( $(date +%s) - t_start )) s; identity $(vq "$JOBREL/step_0" | cut -d' ' -f3)"
[ "$(vq "$JOBREL/step_0" | cut -d' ' -f3)" = "slurm:$JOB/step_0" ] || fail "identity: $(vq "$JOBREL/step_0")"
[ "$(vq "$JOBREL/step_1" | cut -d' ' -f3)" = "slurm:$JOB/step_1" ] || fail "identity: $(vq "$JOBREL/step_1")"
sleep 5
for s in step_1 step_batch; do
	v=$(vq "$JOBREL/$s" | cut -d' ' -f1)
	case $v in mining|suspect) fail "benign $s scored $v" ;; absent) [ $s = step_batch ] || fail "$s absent" ;; esac
done
[ "$(state step_0)" = THAWED ] || fail "off: the miner's freezer.state is $(state step_0)"
stop_agent
grep -q "cgroup layout v1" "$tmp/agent.off.log" || fail "no layout line"
unshare -m sh -c 'umount -l "$0" || exit 9; exec "$@"' "$CG2" "$RW" list --local --output json --config.file="$conf" \
	--interval 1 > "$tmp/list.json" 2>/dev/null || fail "rigwatch list --local exited $?"
# "describe" (the list's first line), then "label cpu_cores" of the target whose cgroup ends in $1
lj() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
if sys.argv[2] == "describe":
    print(d["describe"])
else:
    for t in d["verdicts"]["targets"]:
        if t["cgroup"].endswith(sys.argv[2]):
            print(t["identity"]["label"], t.get(sys.argv[3] if len(sys.argv) > 3 else "cpu_cores", "-"))' "$@"
}
lj "$tmp/list.json" describe | grep -q "cgroup layout v1: walking the freezer hierarchy" ||
	fail "rigwatch list: no layout line: $(lj "$tmp/list.json" describe)"
lj "$tmp/list.json" "$JOBREL/step_0" | grep -q "^slurm:$JOB/step_0 " || fail "rigwatch list: no slurm row: $(cat "$tmp/list.json")"
[ -d "$ACCT$JOBREL/step_1" ] && fail "step_1 has a cpuacct twin"
c1=$(lj "$tmp/list.json" "$JOBREL/step_1" | awk '{ print $2 }')
awk -v c="$c1" 'BEGIN { exit !(c > 0) }' || fail "step_1 (no cpuacct twin): CPU from /proc missing, cores '$c1': $(cat "$tmp/list.json")"
note "step_1 without cpuacct: $c1 cores from /proc"
note "rigwatch list: $(lj "$tmp/list.json" describe)"

# ---- counters: the v1 perf_event controller mounted in the namespace for a few seconds (host-wide while it lasts:
# see the top). Everything happens in one namespace shell whose EXIT trap moves the processes back to the
# hierarchy's root, removes its cgroups and unmounts; the binding ends with its last cgroup.
perf_bound() { awk '$1 == "perf_event" && $2 != 0 { f = 1 } END { exit !f }' /proc/cgroups; }
perf_unbound() { ! perf_bound; }
perf_root_only() { awk '$1 == "perf_event" && $3 <= 1 { f = 1 } END { exit !f }' /proc/cgroups; }
perf_unbind() { # a second try after a failed cleanup: mount the hierarchy again, remove what is left, unmount
	unshare -m sh -c 'd=$(mktemp -d) && mount -t cgroup -o perf_event rwperf "$d" || exit 1
		[ -d "$d$0" ] && find "$d$0" -depth -type d | while read -r c; do
			for p in $(cat "$c/cgroup.procs"); do echo "$p" > "$d/cgroup.procs"; done; rmdir "$c"; done
		rmdir "$d/slurm/uid_0" "$d/slurm" 2>/dev/null; umount "$d"; rmdir "$d"' "$JOBREL"
	wait_for 30 perf_root_only || return 0
	unshare -m sh -c 'd=$(mktemp -d) && mount -t cgroup -o perf_event rwperf "$d" && umount "$d"; rmdir "$d"'
}
if [ "${RW_V1_PERF:-1}" = 0 ]; then
	note "RW_V1_PERF=0: counters part (v1 perf_event) left out"
elif perf_bound; then
	note "perf_event is bound to a v1 hierarchy by someone else: counters part skipped"
else
	mkdir -p "$tmp/perf"; t0=$(date +%s)
	unshare -m sh -c '
		CG2=$1 P=$2 JOBREL=$3 FRZ=$4 RW=$5 conf=$6 out=$7
		cleanup() {
			if [ -d "$P$JOBREL" ]; then
				find "$P$JOBREL" -depth -type d | while read -r c; do
					for p in $(cat "$c/cgroup.procs"); do echo "$p" > "$P/cgroup.procs"; done
					rmdir "$c"
				done
			fi
			rmdir "$P/slurm/uid_0" "$P/slurm" 2>/dev/null
			# A removed cgroup lingers until its last reference drops; unmounted while one does, the
			# hierarchy stays bound (the kernel only kills an empty root at umount). Wait until only the
			# root is counted.
			i=0
			while [ $i -lt 150 ] && ! awk '\''$1 == "perf_event" && $3 <= 1 { f = 1 } END { exit !f }'\'' /proc/cgroups; do
				sleep 0.2; i=$((i + 1))
			done
			umount "$P" 2>/dev/null
		}
		trap cleanup EXIT INT TERM
		umount -l "$CG2" || exit 9
		mount -t cgroup -o perf_event rwperf "$P" || exit 8
		for s in step_0 step_1; do
			mkdir -p "$P$JOBREL/$s" || exit 7
			for p in $(cat "$FRZ$JOBREL/$s/cgroup.procs"); do echo "$p" > "$P$JOBREL/$s/cgroup.procs"; done
		done
		"$RW" list --local --output json --config.file="$conf" --interval 1 > "$out" 2>"$out.err"
	' sh "$CG2" "$tmp/perf" "$JOBREL" "$FRZ" "$RW" "$conf" "$tmp/list.perf" &
	wait $!; rc=$?
	t1=$(date +%s)
	# The kernel frees an unmounted, empty hierarchy after an RCU grace period and a workqueue pass: on a busy
	# machine /proc/cgroups can show it bound for a while after the umount. Wait for that before a second try.
	if ! wait_for 30 perf_unbound; then
		perf_unbind
		wait_for 60 perf_unbound ||
			fail "perf_event still bound to a v1 hierarchy 90 s after the cleanup: /proc/cgroups: $(grep perf_event /proc/cgroups)"
	fi
	note "perf_event v1 bound for about $((t1 - t0)) s, released $(( $(date +%s) - t1 )) s after the namespace exited; /proc/cgroups: $(grep perf_event /proc/cgroups)"
	[ $rc -eq 0 ] || fail "the perf_event namespace run exited $rc: $(cat "$tmp/list.perf.err" 2>/dev/null | tail -5)"
	lj "$tmp/list.perf" describe | grep -q "cgroup layout v1: .*counters through perf_event at $tmp/perf" ||
		fail "rigwatch list with perf_event: layout line: $(lj "$tmp/list.perf" describe)"
	tclk=$(lj "$tmp/list.perf" "$JOBREL/step_0" task_clock_cores | awk '{ print $2 }')
	echo "$tclk" | grep -Eq '^[0-9]+(\.[0-9]+)?$' ||
		fail "no task-clock counter for the miner on v1 perf_event (task_clock_cores '$tclk'): $(cat "$tmp/list.perf")"
	note "counters on v1 perf_event: miner task-clock $tclk cores"
fi

# ---- freeze through the v1 freezer
start_agent freeze
wait_for $LIMIT sh -c "[ \"\$(cat '$FRZ$JOBREL/step_0/freezer.state')\" = FROZEN ]" ||
	{ tail -20 "$tmp/agent.freeze.log"; fail "freeze: step_0 never FROZEN"; }
note "freeze: FROZEN after $(( $(date +%s) - t_start )) s"
wait_for 30 grep -q '"action":"freeze".*"result":"ok"' "$tmp/audit.jsonl" || fail "freeze: no ok line in the audit log"
rw_alive "$pm" || fail "freeze: the miner died"
[ "$(state step_1)" = THAWED ] && [ "$(state step_batch)" = THAWED ] || fail "freeze: a bystander is frozen"
stop_agent
[ "$(state step_0)" = FROZEN ] || fail "freeze: thawed when the agent exited"
echo THAWED > "$FRZ$JOBREL/step_0/freezer.state"

# ---- kill: SIGKILL sweep until empty, then THAWED
start_agent kill
wait_for $LIMIT sh -c "[ -z \"\$(cat '$FRZ$JOBREL/step_0/cgroup.procs')\" ]" ||
	{ tail -20 "$tmp/agent.kill.log"; fail "kill: step_0 still has processes: $(procs step_0)"; }
note "kill: empty after $(( $(date +%s) - t_start )) s"
wait_for 10 rw_gone "$pm" || fail "kill: pid $pm alive"
wait_for 30 grep -q '"action":"kill".*"result":"ok"' "$tmp/audit.jsonl" || fail "kill: no ok line in the audit log"
grep '"action":"kill".*"result":"ok"' "$tmp/audit.jsonl" | grep -q 'freezer.state=FROZEN' ||
	fail "kill: the audit detail does not show the v1 freeze: $(grep '"action":"kill"' "$tmp/audit.jsonl" | tail -1)"
wait_for 10 sh -c "[ \"\$(cat '$FRZ$JOBREL/step_0/freezer.state')\" = THAWED ]" || fail "kill: step_0 left $(state step_0)"
# the FP evidence came from the path the agent said it uses: eBPF summed per process on v1, or ptrace
fp=ptrace; grep -q "FP path: eBPF" "$tmp/agent.kill.log" && fp=eBPF
grep '"action":"kill".*"result":"ok"' "$tmp/audit.jsonl" | grep -q "non-default rounding modes.*$fp path" ||
	fail "kill: the re-check does not show $fp FP evidence: $(grep '"action":"kill"' "$tmp/audit.jsonl" | tail -1)"
rw_alive "$pb" && rw_alive "$pi" || fail "kill: a bystander died"
stop_agent
note "audit: $(grep -c . "$tmp/audit.jsonl") lines; FP path $fp; kill detail: $(grep '"action":"kill".*"result":"ok"' "$tmp/audit.jsonl" | sed 's/.*"detail":"\([^"]*\)".*/\1/' | head -1)"
exit 0
