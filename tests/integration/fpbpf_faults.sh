# eBPF FP path faults at the agent level: whatever keeps the program from loading (a missing BTF file, no
# CAP_BPF/CAP_PERFMON), `fpprobe.path = auto` logs one line saying why, uses the ptrace probe and keeps running;
# `fpprobe.path = bpf` makes it a start-up error naming the cause. The module-level failures (verifier rejection,
# a file that is not BTF, a full map) are forced in tests/unit/test_fpbpf.c.
. tests/integration/lib.sh

[ "$(uname -m)" = x86_64 ] || skip "no eBPF FP path on $(uname -m)"
"$RW" events --fp.path=bpf 2>/dev/null | grep -q '^FP path: bpf' || skip "eBPF FP path not loadable here"
tmp=$(mktemp -d)
trap 'rw_cleanup; rm -rf "$tmp"' EXIT INT TERM
rw_mkcg idle > /dev/null

# auto + missing BTF: one line, ptrace path live, the loop runs.
rw_start_agent "$tmp" '[fpprobe]
path = auto
btf = /nonexistent/vmlinux.btf
'
curl -sf "$url/metrics" > "$tmp/m" || fail "/metrics"
grep -q '^rigwatch_fp_path{path="ptrace"} 1' "$tmp/m" || fail "missing BTF: ptrace path not live"
grep -q '^rigwatch_source_available{source="fpprobe"} 1' "$tmp/m" || fail "missing BTF: fpprobe source unavailable"
n=$(grep -c 'FP path' "$tmp/agent.log")
[ "$n" = 1 ] || { cat "$tmp/agent.log"; fail "missing BTF: $n log lines about the FP path, want 1"; }
grep -q 'FP path: ptrace, not eBPF: .*/nonexistent/vmlinux.btf' "$tmp/agent.log" ||
	{ cat "$tmp/agent.log"; fail "missing BTF: the log line does not name the file"; }
note "$(grep 'FP path' "$tmp/agent.log")"
seq0=$(awk '/^rigwatch_intervals_total/ { print $2 }' "$tmp/m")
i=0
until [ "$(curl -sf "$url/metrics" | awk '/^rigwatch_intervals_total/ { print $2 }')" -gt "$seq0" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "missing BTF: the sampling loop does not advance"
	sleep 0.1
done
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null

# bpf forced + missing BTF: start-up error naming the file.
printf '[agent]\ninclude = /rwtest.%s/*\n[fpprobe]\npath = bpf\nbtf = /nonexistent/vmlinux.btf\n' $$ > "$tmp/forced.conf"
"$RW" run --config.file="$tmp/forced.conf" --web.listen-address=127.0.0.1:$(rw_free_port) > "$tmp/forced.log" 2>&1 &
fp=$!
i=0
while kill -0 "$fp" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 300 ] || { kill -9 "$fp"; fail "fpprobe.path = bpf without BTF: still running after 30 s"; }
	sleep 0.1
done
wait "$fp"; rc=$?
[ "$rc" != 0 ] || fail "fpprobe.path = bpf without BTF: exit status 0"
grep -q 'fpprobe.path = bpf: .*/nonexistent/vmlinux.btf' "$tmp/forced.log" || { cat "$tmp/forced.log"; fail "forced bpf: no reason"; }
note "forced: exit $rc: $(grep 'fpprobe.path' "$tmp/forced.log")"

# auto without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: one line, ptrace path.
if command -v capsh > /dev/null; then
	port=$(rw_free_port); url="http://127.0.0.1:$port"
	printf '[agent]\ninclude = /rwtest.%s/*\n' $$ > "$tmp/nocap.conf"
	capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c "exec '$RW' run --config.file='$tmp/nocap.conf' --web.listen-address=127.0.0.1:$port" \
		> "$tmp/nocap.log" 2>&1 &
	agent_pid=$!
	rw_pids="$rw_pids $agent_pid"
	rw_wait_http "$url/healthz" 15 || { cat "$tmp/nocap.log"; fail "no capabilities: agent did not come up"; }
	curl -sf "$url/metrics" | grep -q '^rigwatch_fp_path{path="ptrace"} 1' || fail "no capabilities: ptrace path not live"
	[ "$(grep -c 'FP path' "$tmp/nocap.log")" = 1 ] || { cat "$tmp/nocap.log"; fail "no capabilities: not one line"; }
	grep -q 'FP path: ptrace, not eBPF: .*CAP_BPF' "$tmp/nocap.log" || { cat "$tmp/nocap.log"; fail "no capabilities: reason"; }
	note "$(grep 'FP path' "$tmp/nocap.log")"
	kill "$agent_pid"
else
	note "capsh missing: the no-capability case is covered by tests/unit/test_fpbpf.c only"
fi
echo "fpbpf_faults: ok"
