# Agent core on the real cgroup2 mount: attribution of CPU (cpu.stat and task-clock) to the right cgroup,
# identity in `rigwatch list --local` (scored here, as JSON), and the failure modes (no cgroup mount: exit 2; no
# perf permission: degrade).
. tests/integration/lib.sh

busy=$(rw_mkcg busy)
sleeper=$(rw_mkcg sleeper)
p1=$(rw_run_in "$busy" sh -c 'while :; do :; done')
p2=$(rw_run_in "$sleeper" sleep 60)
rw_pids="$rw_pids $p1 $p2"
sleep 1

conf=$(mktemp); out=$(mktemp); chmod 644 "$conf"
printf '[agent]\nattention_cpu = 0\ninclude = /rwtest.%s/*\n' $$ > "$conf"
# list --local: this process samples and scores (an agent on the default address is not asked); --log.level=info
# keeps the start-up lines the failure modes below look for.
LIST="list --local --output json --log.level=info"
"$RW" $LIST --config.file="$conf" > "$out" 2>"$out.err" || { cat "$out.err"; fail "rigwatch list exited $?"; }
# row NAME: "label cpu_cores task_clock_cores" of our cgroup NAME ("-" for a value not given); col NAME N: field N
row() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["source"] == "local", d["source"]
for t in d["verdicts"]["targets"]:
    if t["cgroup"] == sys.argv[2]:
        print(t["identity"].get("label", "-"), t.get("cpu_cores", "-"), t.get("task_clock_cores", "-"))' "$out" "/rwtest.$$/$1"
}
col() { row "$1" | awk -v c="$(($2 - 1))" '{ print $c }'; }
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["describe"]); [print(" ", t["cgroup"], t.get("cpu_cores"), t.get("task_clock_cores"), t["verdict"]) for t in d["verdicts"]["targets"]]' "$out"
[ -n "$(row busy)" ] || fail "busy cgroup not listed"
[ -n "$(row sleeper)" ] || fail "sleeper cgroup not listed"
# The busy loop's CPU goes to its own cgroup, by cpu.stat (CORES) and by the task-clock event (TASKCLK), and the two
# agree; the sleeper gets none. How much of a core the loop gets depends on what else runs on the machine (on a
# busy 2-core CI host it can be a fraction), so the test asserts attribution, not a share: the loop is seen
# using CPU, no more than one core, and the two sources agree within a tenth of a core or 25 %.
for c in 3 4; do
	v=$(col busy $c)
	awk -v v="$v" 'BEGIN { exit !(v >= 0.02 && v <= 1.3) }' || fail "busy column $c = $v, want between 0.02 and 1 core"
	v=$(col sleeper $c)
	awk -v v="$v" 'BEGIN { exit !(v <= 0.05) }' || fail "sleeper column $c = $v, want ~0"
done
awk -v a="$(col busy 3)" -v b="$(col busy 4)" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1 || d <= 0.25 * a) }' ||
	fail "busy: cpu.stat says $(col busy 3) cores, task-clock $(col busy 4): they disagree"
[ "$(col busy 2)" = "cgroup:busy" ] || fail "identity of busy: $(col busy 2)"
note "attribution ok: busy $(col busy 3) cores (cpu.stat), $(col busy 4) (task-clock); sleeper $(col sleeper 3)"

# No cgroup mount at all (neither cgroup2 nor v1; a v1-only host is tests/integration/v1host.sh): a clear message
# and exit 2, in a private mount namespace without them.
if command -v unshare >/dev/null; then
	msg=$(unshare -m sh -c "for m in \$(awk '\$9 == \"cgroup\" || \$9 == \"cgroup2\" { print \$5 }' /proc/self/mountinfo); do
		umount -l \"\$m\" || exit 9; done; '$RW' list --local" 2>&1); rc=$?
	[ $rc -eq 2 ] || fail "without cgroup mounts: exit $rc, want 2 ($msg)"
	echo "$msg" | grep -q "no cgroup mount found" || fail "without cgroup mounts: message was: $msg"
	note "no cgroup mount: exit 2, \"$(echo "$msg" | tail -1)\""
fi

# No permission for perf_event_open: the agent degrades to the other sources.
if command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 1 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$RW" $LIST --config.file="$conf" > "$out" 2>"$out.err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$out.err"; fail "unprivileged list exited $rc"; }
	grep -q "not permitted" "$out.err" || fail "no message about perf permission: $(cat "$out.err")"
	[ -n "$(row busy)" ] || fail "unprivileged: busy cgroup not listed"
	v=$(col busy 3)
	awk -v v="$v" 'BEGIN { exit !(v >= 0.02) }' || fail "unprivileged: busy cores = $v"
	note "unprivileged: counters off, cgroup source still sees $(col busy 3) cores"
fi

# Without libpfm4 (the library masked in a private mount namespace): software events and the cgroup source, and a
# message that says why.
lib=$(ldconfig -p 2>/dev/null | awk '/libpfm\.so\.4 / { print $NF; exit }')
if command -v unshare >/dev/null && [ -n "$lib" ]; then
	unshare -m sh -c "mount --bind /dev/null '$(readlink -f "$lib")' && exec '$RW' $LIST --config.file='$conf'" \
		> "$out" 2>"$out.err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$out.err"; fail "list without libpfm4 exited $rc"; }
	grep -q "libpfm4 not loaded" "$out.err" || fail "no message about libpfm4: $(cat "$out.err")"
	v=$(col busy 3)
	awk -v v="$v" 'BEGIN { exit !(v >= 0.02) }' || fail "without libpfm4: busy cores = $v"
	awk -v v="$(col busy 4)" 'BEGIN { exit !(v >= 0.02) }' || fail "without libpfm4: busy task-clock = $(col busy 4)"
	note "without libpfm4: $(col busy 3) cores, task-clock $(col busy 4); \"$(grep -o 'libpfm4 not loaded[^)]*)' "$out.err" | head -1)\""
fi

# Bad flags and config: exit 2 with the file and line named.
printf '[agent]\ninterval_ms = abc\n' > "$conf"
msg=$("$RW" list --config.file="$conf" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "bad config: exit $rc"
echo "$msg" | grep -q "$conf:2:" || fail "bad config message: $msg"
"$RW" list --interval=-1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --interval not exit 2"
"$RW" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command not exit 2"
rm -f "$conf" "$out" "$out.err"
exit 0
