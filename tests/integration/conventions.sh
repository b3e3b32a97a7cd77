# Operating conventions of a real agent: logfmt (default) and JSON log lines, the journald priority prefix with
# `journalctl -p err` filtering on a real systemd-journald (private mount namespace), the process_* and
# rigwatch_build_info series, counters that only go up, and --version.
. tests/integration/lib.sh

tmp=$(mktemp -d)
trap 'rw_cleanup; rm -rf "$tmp"' EXIT INT TERM

busy=$(rw_mkcg busy)
rw_pids="$rw_pids $(rw_run_in "$busy" sh -c 'while :; do :; done')"
printf '[agent]\ninclude = /rwtest.%s/*\n' "$$" > "$tmp/agent.conf"

start_agent() { # name extra-flags... : an agent with stderr in $tmp/name.err; sets url, agent_pid
	name=$1; shift
	port=$(rw_free_port)
	url="http://127.0.0.1:$port"
	"$RW" run --config.file="$tmp/agent.conf" --web.listen-address="127.0.0.1:$port" "$@" \
		> "$tmp/$name.out" 2> "$tmp/$name.err" &
	agent_pid=$!
	rw_pids="$rw_pids $agent_pid"
	rw_wait_http "$url/healthz" 60 || { cat "$tmp/$name.err"; fail "$name: no /healthz within 60 s"; }
}
stop_agent() {
	kill "$agent_pid"
	i=0; while kill -0 "$agent_pid" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 300 ] || { kill -9 "$agent_pid"; fail "agent did not stop on SIGTERM within 60 s"; }
		sleep 0.2
	done
}
metric() { # file name -> value of the first unlabelled sample
	awk -v n="$1" '$1 == n { print $2; exit }' "$2"
}

# --version and version
"$RW" --version > "$tmp/version" || fail "rigwatch --version: exit $?"
head -1 "$tmp/version" | grep -q "^rigwatch, version [0-9][^ ]* (revision: " || fail "--version: $(head -1 "$tmp/version")"
# the revision the binary was built from: a commit of this checkout (the build may predate later commits), or
# "unknown" outside git
rev=$(head -1 "$tmp/version" | sed -n 's/.*(revision: \([^)]*\))$/\1/p')
if [ "$(git -C "$RW_TOP" rev-parse --show-toplevel 2>/dev/null)" = "$RW_TOP" ]; then
	echo "$rev" | grep -Eq '^[0-9a-f]{40}$' && git -C "$RW_TOP" cat-file -e "$rev^{commit}" 2>/dev/null ||
		fail "revision $rev is not a commit of $RW_TOP"
else
	[ "$rev" = unknown ] || fail "revision $rev outside a git checkout"
fi
"$RW" version | cmp -s - "$tmp/version" || fail "rigwatch version and --version differ"
note "$(head -1 "$tmp/version")"

# 1. logfmt by default
start_agent logfmt
i=0
until curl -sf "$url/metrics" > "$tmp/m1.prom" && grep -q "cgroup=\"/rwtest.$$/busy\"" "$tmp/m1.prom"; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "no series for the busy cgroup within 60 s"; sleep 0.2
done
grep -q 'level=info module=agent msg="rigwatch running" version=' "$tmp/logfmt.err" ||
	{ cat "$tmp/logfmt.err"; fail "no logfmt start line"; }
bad=$(grep -Evc '^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z level=(error|warn|info|debug) module=[a-z0-9_]+ msg=' "$tmp/logfmt.err")
[ "$bad" = 0 ] || { cat "$tmp/logfmt.err"; fail "$bad stderr lines are not logfmt"; }
note "logfmt: $(wc -l < "$tmp/logfmt.err") lines, e.g. $(head -1 "$tmp/logfmt.err" | cut -c1-110)"

# process_* and build_info, as the client libraries name them
for m in process_cpu_seconds_total process_resident_memory_bytes process_virtual_memory_bytes process_open_fds \
	process_max_fds process_start_time_seconds; do
	v=$(metric $m "$tmp/m1.prom")
	[ -n "$v" ] || fail "no $m"
	python3 -c "import sys; sys.exit(not float('$v') > 0)" || fail "$m = $v"
done
now=$(date +%s)
python3 -c "import sys; s=float('$(metric process_start_time_seconds "$tmp/m1.prom")'); sys.exit(not $now - 600 < s <= $now + 1)" ||
	fail "process_start_time_seconds $(metric process_start_time_seconds "$tmp/m1.prom") is not the last 10 min (now $now)"
[ "$(metric process_max_fds "$tmp/m1.prom")" = "$(awk '/^Max open files/ { print $4 }' /proc/$agent_pid/limits)" ] ||
	fail "process_max_fds differs from /proc/$agent_pid/limits"
grep -q "^rigwatch_build_info{version=\"[^\"]*\",revision=\"$rev\",compiler=\"[^\"]*\",arch=\"[^\"]*\",libpfm=" "$tmp/m1.prom" ||
	fail "rigwatch_build_info: $(grep '^rigwatch_build_info' "$tmp/m1.prom"), want revision $rev"
grep -q '_per_second' "$tmp/m1.prom" && fail "a per-second gauge is still exported: $(grep -m1 _per_second "$tmp/m1.prom")"
command -v promtool >/dev/null && { promtool check metrics < "$tmp/m1.prom" > "$tmp/lint" 2>&1 || { cat "$tmp/lint"; fail "promtool check metrics"; }; }

# counters only go up between two scrapes: the agent's CPU and the busy target's task clock
tc="rigwatch_target_perf_task_clock_seconds_total{cgroup=\"/rwtest.$$/busy\"}"
i=0
until curl -sf "$url/metrics" > "$tmp/m2.prom" && grep -qF "$tc" "$tmp/m1.prom" && grep -qF "$tc" "$tmp/m2.prom" &&
	[ "$(grep -F "$tc" "$tmp/m2.prom")" != "$(grep -F "$tc" "$tmp/m1.prom")" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "$tc did not move within 60 s"
	sleep 0.2
	grep -qF "$tc" "$tmp/m1.prom" || curl -sf "$url/metrics" > "$tmp/m1.prom"
done
a=$(grep -F "$tc" "$tmp/m1.prom" | awk '{ print $2 }'); b=$(grep -F "$tc" "$tmp/m2.prom" | awk '{ print $2 }')
python3 -c "import sys; sys.exit(not float('$b') > float('$a'))" || fail "task clock went from $a to $b"
ca=$(metric process_cpu_seconds_total "$tmp/m1.prom"); cb=$(metric process_cpu_seconds_total "$tmp/m2.prom")
python3 -c "import sys; sys.exit(not float('$cb') >= float('$ca'))" || fail "process_cpu_seconds_total went from $ca to $cb"
note "busy target task clock $a s -> $b s; agent CPU $ca s -> $cb s"
stop_agent

# 2. JSON lines
start_agent json --log.format=json
stop_agent
python3 - "$tmp/json.err" <<'EOP' || { cat "$tmp/json.err"; fail "--log.format=json: not JSON lines"; }
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
for l in lines:
    d = json.loads(l)
    assert list(d)[:4] == ["ts", "level", "module", "msg"], d
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["ts"]), d
    assert d["level"] in ("error", "warn", "info", "debug"), d
assert json.loads(lines[-1])["msg"] == "stopped", lines[-1]
EOP
note "json: $(wc -l < "$tmp/json.err") lines"

# 3. a real journald in a private mount namespace: the agent's stderr is a journal stream, JOURNAL_STREAM names it
# (as systemd sets it for a service), and `journalctl -p err` shows the error and nothing below it.
JD=/lib/systemd/systemd-journald
if [ -x "$JD" ] && command -v journalctl >/dev/null && command -v systemd-cat >/dev/null && command -v unshare >/dev/null; then
	busyport=$(rw_free_port)
	cat > "$tmp/journal.sh" <<EOS
mount -t tmpfs tmpfs /run || exit 3
mkdir -p /run/systemd/journal /run/log/journal
$JD > "$tmp/journald.log" 2>&1 &
jd=\$!
i=0; while [ ! -S /run/systemd/journal/stdout ]; do i=\$((i + 1)); [ \$i -lt 300 ] || exit 4; sleep 0.1; done
# one agent that starts and stops (info lines), one that cannot listen (an error line)
python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", $busyport)); s.listen(); time.sleep(60)' &
holder=\$!
sleep 0.5
for flags in "--web.listen-address=127.0.0.1:$(rw_free_port)" "--web.listen-address=127.0.0.1:$busyport"; do
	systemd-cat -t rigwatch-test sh -c 'JOURNAL_STREAM=\$(stat -L -c %d:%i /proc/self/fd/2) exec timeout -s TERM 8 "\$0" run --config.file="\$1" "\$2"' "$RW" "$tmp/agent.conf" "\$flags"
done
kill \$holder
sleep 1
journalctl -D /run/log/journal --no-pager -t rigwatch-test -p err -o cat > "$tmp/j.err"
journalctl -D /run/log/journal --no-pager -t rigwatch-test -o export | grep -aE '^(PRIORITY|MESSAGE)=' > "$tmp/j.all"
kill \$jd
EOS
	timeout -k 5 120 unshare -m --propagation private sh "$tmp/journal.sh"; rc=$?
	if [ $rc = 3 ] || [ $rc = 4 ]; then
		note "journald: cannot run one in a private namespace here (step $rc): not tested"
	else
		[ $rc = 0 ] || fail "journald run: exit $rc"
		grep -q '^ts=.* level=error module=agent msg=".*Address already in use' "$tmp/j.err" ||
			{ cat "$tmp/j.err"; head -20 "$tmp/j.all"; fail "journalctl -p err does not show the agent's error"; }
		grep -qv 'level=error' "$tmp/j.err" && { cat "$tmp/j.err"; fail "journalctl -p err shows lines below err"; }
		grep -q '^MESSAGE=ts=.*level=info module=agent msg="rigwatch running"' "$tmp/j.all" ||
			{ head -20 "$tmp/j.all"; fail "the journal does not hold the info lines"; }
		grep -q '^MESSAGE=<' "$tmp/j.all" && fail "a priority prefix reached the journal's message"
		note "journald: journalctl -p err shows $(wc -l < "$tmp/j.err") line(s) of $(grep -c '^MESSAGE=' "$tmp/j.all"): $(cut -c1-100 "$tmp/j.err" | head -1)"
	fi
else
	note "journald: systemd-journald, journalctl, systemd-cat or unshare missing: not tested"
fi
exit 0
