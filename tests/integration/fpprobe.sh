# FP control-register probe on real processes in real cgroups: a RandomX miner (rxload, light mode, renamed to
# "nginx"), alone and sharing its cgroup with a busy neighbour, shows several rounding modes within a second; openssl,
# xz, python3, a -ffast-math program (FTZ/DAZ, round-to-nearest) and an interval-arithmetic program (round-upward
# only) do not. Also: the probe's stop time (bench), and that no probed thread is left stopped.
. tests/integration/lib.sh

RX=$RW_BUILD/rxload
FPB=$RW_BUILD/bench/fpprobe
PROGS=$RW_BUILD/progs
for b in "$RX" "$FPB" "$PROGS/fp_fastmath" "$PROGS/fp_roundup"; do
	[ -x "$b" ] || fail "missing $b (make tools bench)"
done
case $(uname -m) in x86_64|aarch64) ;; *) skip "no FP control-register probe on $(uname -m)" ;; esac
tmp=$(mktemp -d)

# Start a command in a cgroup with its output kept; prints the pid.
run_logged() { # cgroup logfile command...
	cg=$1; log=$2; shift 2
	rw_run_log "$cg" "$log" "$@"
}
wait_ready() { # logfile
	i=0
	while ! grep -q '^rxload: ready' "$1"; do
		i=$((i + 1)); [ $i -lt 1200 ] || { cat "$1"; fail "rxload not ready within 120 s"; }
		sleep 0.1
	done
}
# Sum of key over the evidence lines of one cgroup.
evsum() { # file cgroup key
	awk -v cg="cgroup=$2" -v k="$3" '
		$2 == cg { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) t += kv[2] } }
		END { print t + 0 }' "$1"
}
# Largest value of key over the evidence lines of one cgroup.
ev() { # file cgroup key
	awk -v cg="cgroup=$2" -v k="$3" '
		$2 == cg { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) {
			v = kv[2] + 0; if (v > m) m = v } } }
		END { print m + 0 }' "$1"
}
seen_mode() { # file cgroup mode -> 1 if rounding mode (0..3) was seen in any line
	awk -v cg="cgroup=$2" -v b="$3" '$2 == cg { for (i = 3; i <= NF; i++) if ($i ~ /^modes=/) {
			sub(/^modes=/, "", $i); if (int($i / 2 ^ b) % 2) s = 1 } }
		END { print s + 0 }' "$1"
}

# --- Phase 1: miners -----------------------------------------------------------------------------------------
miner=$(rw_mkcg miner)
shared=$(rw_mkcg shared)
m1=$(run_logged "$miner" "$tmp/m1.out" "$RX" --mode light --threads 1 --name nginx)
m2=$(run_logged "$shared" "$tmp/m2.out" "$RX" --mode light --threads 1)
b1=$(rw_run_in "$shared" sh -c 'while :; do :; done')
rw_pids="$rw_pids $m1 $m2 $b1"
wait_ready "$tmp/m1.out"
wait_ready "$tmp/m2.out"
[ "$(cat /proc/$m1/comm)" = nginx ] || fail "rxload --name: comm is $(cat /proc/$m1/comm)"
[ "$(tr '\0' ' ' < /proc/$m1/cmdline)" = "nginx " ] || fail "rxload --name: cmdline is $(tr '\0' ' ' < /proc/$m1/cmdline)"
note "rxload renamed: comm=nginx cmdline=nginx; $(head -1 "$tmp/m1.out")"
sleep 0.5

# Evidence is collected in rounds of 2 intervals until what the test looks for has been seen, at most 30 rounds: on
# a loaded machine the threads get a CPU, and so reads, rarely (and each gets a small share of one: the share
# gate is set low). Sums and maxima are over every round so far.
evidence_until() { # outfile predicate args...   (the evidence args come from $EVARGS)
	out=$1; shift
	: > "$out"
	r=0
	while [ $r -lt 30 ]; do
		"$FPB" evidence $EVARGS --interval-ms 1000 --intervals 2 >> "$out" 2>&1 ||
			{ cat "$out"; fail "fpprobe evidence exited $?"; }
		"$@" && return 0
		r=$((r + 1))
	done
	return 1
}
miner_seen() {
	[ "$(evsum "$tmp/ev1" "$miner" probes)" -ge 5 ] && [ "$(ev "$tmp/ev1" "$miner" max_thread_modes)" -ge 2 ] &&
	[ "$(ev "$tmp/ev1" "$miner" max_thread_nondefault)" -ge 2 ] && [ "$(ev "$tmp/ev1" "$shared" threads)" -ge 2 ] &&
	[ "$(ev "$tmp/ev1" "$shared" max_thread_nondefault)" -ge 2 ]
}
EVARGS="--cgroup $miner --cgroup $shared --reads-per-thread 10 --min-share 0.01"
evidence_until "$tmp/ev1" miner_seen || true
cat "$tmp/ev1"
[ "$(evsum "$tmp/ev1" "$miner" probes)" -ge 5 ] || fail "miner: too few probes in 60 s"
[ "$(ev "$tmp/ev1" "$miner" max_thread_modes)" -ge 2 ] || fail "miner: never 2 rounding modes within one interval"
[ "$(ev "$tmp/ev1" "$miner" max_thread_nondefault)" -ge 2 ] || fail "miner: never 2 non-default modes within one interval"
# In a cgroup shared with a busy loop the miner's thread is probed too, not only the busiest one.
[ "$(ev "$tmp/ev1" "$shared" threads)" -ge 2 ] || fail "shared cgroup: not every busy thread probed"
[ "$(ev "$tmp/ev1" "$shared" max_thread_nondefault)" -ge 2 ] || fail "shared cgroup: miner not found"
rw_not_trace_stopped "$m1"; rw_not_trace_stopped "$m2"; rw_not_trace_stopped "$b1"

# From inside another PID namespace the miner's threads cannot be named (cgroup.threads lists 0): counted as
# failed probes, no error exit.
if unshare --pid --fork --mount-proc true 2>/dev/null; then
	unshare --pid --fork --mount-proc "$FPB" evidence --cgroup "$miner" --interval-ms 300 > "$tmp/ev_ns" 2>&1 ||
		{ cat "$tmp/ev_ns"; fail "fpprobe in another PID namespace exited $?"; }
	cat "$tmp/ev_ns"
	[ "$(ev "$tmp/ev_ns" "$miner" probes)" -eq 0 ] || fail "pid namespace: probes made"
	[ "$(ev "$tmp/ev_ns" "$miner" failed)" -ge 1 ] || fail "pid namespace: not counted as failed"
fi

# Stop time per probe, on the miner's hashing thread.
tid=$(ls /proc/$m1/task | sort -n | tail -1)
# Each read waits 30 ms at most for the thread to stop; beside the heavier scripts (fpbpf.sh's 14 busy processes on
# 2 cores) a runnable thread can wait longer than that for a CPU on every one of 400 reads: a few runs, bounded.
for _try in 1 2 3 4 5; do
	"$FPB" bench --pid "$m1" --tid "$tid" --reads 400 --gap-us 2000 > "$tmp/bench" 2>&1 && break
	[ $_try -lt 5 ] || { cat "$tmp/bench"; fail "bench: no read of the hashing thread in 5 runs"; }
	sleep 2
done
cat "$tmp/bench"
# How long a stop takes is the bench's figure, printed above; what the test asserts is that reads happened.
med=$(sed -n 's/.*stop_us median=\([0-9.]*\).*/\1/p' "$tmp/bench")
awk -v m="$med" 'BEGIN { exit !(m > 0) }' || fail "probe bench: no stop measured (median '$med')"
rw_not_trace_stopped "$m1"
# The miner kept hashing through all of it.
tail -1 "$tmp/m1.out" | grep -q 'H/s' || fail "rxload stopped reporting"
note "miner ok; last rate: $(tail -1 "$tmp/m1.out"); hashing thread $tid"
kill "$m1" "$m2" "$b1" 2>/dev/null
i=0; while kill -0 "$m1" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
grep -q '^rxload: final' "$tmp/m1.out" || fail "rxload printed no final line on SIGTERM"

# --- Phase 2: benign FP users --------------------------------------------------------------------------------
c_ossl=$(rw_mkcg openssl); c_xz=$(rw_mkcg xz); c_py=$(rw_mkcg python3)
c_fm=$(rw_mkcg fastmath); c_up=$(rw_mkcg roundup)
p1=$(rw_run_in "$c_ossl" openssl speed -seconds 30 -evp aes-128-gcm)
p2=$(rw_run_in "$c_xz" sh -c 'exec xz -9 -T1 -c < /dev/urandom > /dev/null')
p3=$(rw_run_in "$c_py" python3 -c 'x = 0.5
while True:
    x = (x * 1.0000001 + 0.1) % 1000.0')
p4=$(rw_run_in "$c_fm" "$PROGS/fp_fastmath")
p5=$(rw_run_in "$c_up" "$PROGS/fp_roundup")
rw_pids="$rw_pids $p1 $p2 $p3 $p4 $p5"
benign_seen() {
	for cg in "$c_ossl" "$c_xz" "$c_py" "$c_fm" "$c_up"; do
		[ "$(evsum "$tmp/ev2" "$cg" probes)" -ge 4 ] || return 1
	done
	[ "$(seen_mode "$tmp/ev2" "$c_up" 2)" -eq 1 ] && [ "$(ev "$tmp/ev2" "$c_fm" ftz_daz)" -eq 1 ]
}
EVARGS="--cgroup $c_ossl --cgroup $c_xz --cgroup $c_py --cgroup $c_fm --cgroup $c_up --reads-per-thread 8 --min-share 0.01"
evidence_until "$tmp/ev2" benign_seen || true
cat "$tmp/ev2"
for cg in "$c_ossl" "$c_xz" "$c_py" "$c_fm" "$c_up"; do
	n=$(basename "$cg")
	[ "$(evsum "$tmp/ev2" "$cg" probes)" -ge 4 ] || fail "$n: too few probes in 60 s"
done
for cg in "$c_ossl" "$c_xz" "$c_py" "$c_fm"; do
	n=$(basename "$cg")
	[ "$(ev "$tmp/ev2" "$cg" max_thread_nondefault)" -eq 0 ] || fail "$n: a non-default rounding mode"
done
[ "$(ev "$tmp/ev2" "$c_fm" ftz_daz)" -eq 1 ] || fail "fastmath: FTZ/DAZ not seen"
[ "$(ev "$tmp/ev2" "$c_ossl" ftz_daz)" -eq 0 ] || fail "openssl: FTZ/DAZ seen"
[ "$(ev "$tmp/ev2" "$c_up" max_thread_nondefault)" -le 1 ] || fail "roundup: more than one non-default mode"
# the probe does see the round-upward mode (so the test above can fail)
[ "$(seen_mode "$tmp/ev2" "$c_up" 2)" -eq 1 ] || fail "roundup: round-upward never seen"
for p in $p1 $p2 $p3 $p4 $p5; do rw_not_trace_stopped "$p"; done
note "benign ok: openssl, xz, python3, -ffast-math: round-to-nearest only; roundup: one non-default mode (up)"
rm -rf "$tmp"
exit 0
