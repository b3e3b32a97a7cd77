#!/bin/sh
# Run every CUnit suite binary under $1/tests and print one closing line for all of them.
# RW_TEST_WRAP, if set, is a command each suite runs under (valgrind, qemu-aarch64-static; see the Makefile).
build=${1:-build}
pass=0; fail=0; bad=""
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out=$(${RW_TEST_WRAP:-} "$t" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^(RWTEST|  Test:|.*FAILED)' | grep -v 'passed$' || true
	run=$(printf '%s\n' "$out" | sed -n 's/^RWTEST .* run=\([0-9]*\) .*/\1/p')
	if [ "$rc" -ne 0 ] || [ -z "$run" ]; then
		printf '%s\n' "$out" | tail -40
		fail=$((fail + 1)); bad="$bad $name"
	else
		pass=$((pass + run))
	fi
done
echo "unit ($build): $pass passed, $fail failed"
[ -n "$bad" ] && echo "failing suites:$bad"
[ "$fail" -eq 0 ]
