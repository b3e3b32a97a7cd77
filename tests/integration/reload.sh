# Reload: a running agent, its configuration edited and SIGHUP sent. A good file takes effect (a new exclude and
# an [allow] rule) without a restart; a bad configuration or a bad model keeps the old ones running, the agent
# still serving, the log naming file:line and the reload metric saying it failed. `rigwatch check-config` judges
# the same files the same way.
. tests/integration/lib.sh

tmp=$(mktemp -d); chmod 755 "$tmp"
a=$(rw_mkcg a)
b=$(rw_mkcg b)
rw_pids="$rw_pids $(rw_run_in "$a" sleep 600) $(rw_run_in "$b" sleep 600)"
ra=/rwtest.$$/a
rb=/rwtest.$$/b
cp models/rigwatch.model "$tmp/good.model"
# a model broken at line 5
{ head -4 models/rigwatch.model; echo "weight nonsense"; tail -n +5 models/rigwatch.model; } > "$tmp/bad.model"

port=$(rw_free_port)
url="http://127.0.0.1:$port"
conf=$tmp/agent.conf
write_conf() { # extra [agent] lines, model file, trailing sections
	printf '[agent]\ninclude = /rwtest.%s/*\n%s\n[model]\nfile = %s\n%s' $$ "$1" "$2" "$3" > "$conf"
}
write_conf "" "$tmp/good.model" ""
"$RW" check-config "$conf" > /dev/null || fail "check-config on the first configuration"
"$RW" run --config.file="$conf" --web.listen-address="127.0.0.1:$port" > "$tmp/agent.log" 2>&1 &
agent_pid=$!
rw_pids="$rw_pids $agent_pid"
rw_wait_http "$url/healthz" 60 || { cat "$tmp/agent.log"; fail "rigwatch run: no /healthz on $port within 60 s"; }

# Poll /verdicts until the python check on it passes (at most 60 s); $1 names what is awaited.
await_verdicts() {
	what=$1; check=$2; i=0
	while [ $i -lt 120 ]; do
		kill -0 "$agent_pid" 2>/dev/null || { cat "$tmp/agent.log"; fail "the agent exited while awaiting: $what"; }
		curl -sf "$url/verdicts" > "$tmp/v.json" 2>/dev/null &&
			python3 -c "import json
T={t['cgroup']: t for t in json.load(open('$tmp/v.json'))['targets']}
$check" 2>/dev/null && return 0
		sleep 0.5; i=$((i + 1))
	done
	cat "$tmp/v.json"; tail -20 "$tmp/agent.log"
	fail "not seen in /verdicts within 60 s: $what"
}
metric() { curl -sf "$url/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
# Wait until the metric reads $2 (at most 60 s).
await_metric() {
	i=0
	while [ $i -lt 120 ]; do
		[ "$(metric "$1")" = "$2" ] && return 0
		sleep 0.5; i=$((i + 1))
	done
	tail -20 "$tmp/agent.log"
	fail "$1 never read $2 (last: $(metric "$1"))"
}

await_verdicts "both cgroups watched" "assert '$ra' in T and '$rb' in T and not T['$ra']['allowed']"
[ "$(metric rigwatch_config_last_reload_successful)" = 1 ] || fail "reload metric at start: $(metric rigwatch_config_last_reload_successful)"
t0=$(metric rigwatch_config_last_reload_success_timestamp_seconds)
[ -n "$t0" ] || fail "no rigwatch_config_last_reload_success_timestamp_seconds"

# 1. A good edit: exclude b, allow a. SIGHUP does not stop the agent.
write_conf "exclude = $rb" "$tmp/good.model" "
[allow]
cgroup = $ra
reason = \"load test of the team's own node\"
"
"$RW" check-config "$conf" > "$tmp/cc.out" || fail "check-config on the edited configuration"
grep -q "^\[allow\]" "$tmp/cc.out" || fail "check-config does not print the [allow] rule"
kill -HUP "$agent_pid"
await_verdicts "exclude and allow applied by the reload" "
assert '$rb' not in T, 'b still watched'
assert T['$ra']['allowed'] is True and T['$ra']['allow_reason']==\"load test of the team's own node\""
await_metric rigwatch_config_last_reload_successful 1
t1=$(metric rigwatch_config_last_reload_success_timestamp_seconds)
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b > a) }' || fail "success timestamp did not move: $t0 -> $t1"
grep -q "reloaded $conf" "$tmp/agent.log" || fail "no log line for the reload"
note "reload 1: exclude and [allow] applied, agent pid $agent_pid still serving"

# 2. A bad configuration (an [allow] rule without a reason, its header on line 7): the old one keeps running.
write_conf "exclude = $rb" "$tmp/good.model" "
[allow]
cgroup = $rb
"
"$RW" check-config "$conf" > /dev/null 2> "$tmp/cc.err"; rc=$?
[ $rc -eq 2 ] || fail "check-config on a rule without a reason: exit $rc, want 2"
grep -q "$conf:7: \[allow\] rule without a reason" "$tmp/cc.err" || fail "check-config message: $(cat "$tmp/cc.err")"
kill -HUP "$agent_pid"
await_metric rigwatch_config_last_reload_successful 0
grep -q "reload failed, the running configuration stays: $conf:7: \[allow\] rule without a reason" "$tmp/agent.log" ||
	{ tail "$tmp/agent.log"; fail "the failed reload's log line does not name $conf:7"; }
[ "$(metric rigwatch_config_last_reload_success_timestamp_seconds)" = "$t1" ] || fail "success timestamp moved on a failed reload"
sleep 2
await_verdicts "the old configuration still applied after a failed reload" "
assert '$rb' not in T and T['$ra']['allowed'] is True"
note "reload 2: bad config rejected ($conf:7), old exclude/allow still applied, metric 0"

# 3. A bad model with a good configuration that would remove the exclude: nothing of it is applied.
write_conf "" "$tmp/bad.model" ""
"$RW" check-config "$conf" > /dev/null 2> "$tmp/cc.err"; rc=$?
[ $rc -eq 2 ] || fail "check-config on a bad model: exit $rc, want 2"
grep -q "$tmp/bad.model:5:" "$tmp/cc.err" || fail "check-config message on a bad model: $(cat "$tmp/cc.err")"
kill -HUP "$agent_pid"
i=0
until grep -q "reload failed.*$tmp/bad.model:5:" "$tmp/agent.log"; do
	i=$((i + 1)); [ $i -lt 120 ] || { tail "$tmp/agent.log"; fail "no failed-reload line naming $tmp/bad.model:5"; }
	sleep 0.5
done
[ "$(metric rigwatch_config_last_reload_successful)" = 0 ] || fail "reload metric after a bad model"
sleep 2
await_verdicts "the configuration unchanged after a bad model" "
assert '$rb' not in T and T['$ra']['allowed'] is True"
note "reload 3: bad model rejected ($tmp/bad.model:5), configuration untouched"

# 4. Fixed again: applied, metric back to 1; a setting that needs a restart is named, not applied.
write_conf "" "$tmp/good.model" "
[http]
timeout_s = 11
"
kill -HUP "$agent_pid"
await_verdicts "the exclude and allow rule gone after a good reload" "
assert '$rb' in T and T['$ra']['allowed'] is False and 'allow_reason' not in T['$ra']"
await_metric rigwatch_config_last_reload_successful 1
grep -q "take effect at the next restart: http.timeout_s" "$tmp/agent.log" || { tail "$tmp/agent.log"; fail "no warning naming http.timeout_s"; }
note "reload 4: back to the first configuration"

kill "$agent_pid"; wait "$agent_pid"; rc=$?
[ $rc -eq 0 ] || fail "agent exit status $rc after SIGTERM"
rm -rf "$tmp"
echo "PASS reload"
