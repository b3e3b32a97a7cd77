#!/bin/sh
# Run every CUnit suite binary under $1/tests and print one closing line for all of them.
# RW_TEST_WRAP, if set, is a command each suite runs under (valgrind, qemu-aarch64-static; see the Makefile).
# Each suite's output goes to a file, not a pipe: a process a failed test left behind cannot hold this script
# waiting for end of file. RW_TEST_TIMEOUT (seconds, default 600) bounds each suite, so a hang fails the suite
# by name instead of running into CI's limit.
build=${1:-build}
limit=${RW_TEST_TIMEOUT:-600}
log=$(mktemp "${TMPDIR:-/tmp}/rw-unit.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT
pass=0; fail=0; bad=""
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	timeout -k 10 "$limit" ${RW_TEST_WRAP:-} "$t" >"$log" 2>&1 </dev/null; rc=$?
	grep -E '^(RWTEST|  Test:|.*FAILED)' "$log" | grep -v 'passed$' || true
	run=$(sed -n 's/^RWTEST .* run=\([0-9]*\) .*/\1/p' "$log")
	if [ "$rc" -ne 0 ] || [ -z "$run" ]; then
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && echo "$name: still running after ${limit}s, stopped"
		tail -40 "$log"
		fail=$((fail + 1)); bad="$bad $name"
	else
		pass=$((pass + run))
	fi
done
echo "unit ($build): $pass passed, $fail failed"
[ -n "$bad" ] && echo "failing suites:$bad"
[ "$fail" -eq 0 ]
