#!/bin/sh
# Run every CUnit suite binary under $1/tests and print one closing line for all of them:
#   unit (BUILD): N passed, N failed, N skipped
# counted per test. A suite that crashed, hung or printed no RWTEST line counts as one failure more.
# RW_TEST_WRAP, if set, is a command each suite runs under (valgrind, qemu-aarch64-static; see the Makefile).
# Each suite's output goes to a file, not a pipe: a process a failed test left behind cannot hold this script
# waiting for end of file. RW_TEST_TIMEOUT (seconds, default 600) bounds each suite, so a hang fails the suite
# by name instead of running into CI's limit. RW_TALLY, if set, is a file the counts are appended to
# (tests/tally.sh sums up a whole `make check`).
# RW_JOBS suites run at once (default: the number of CPUs). The suites share nothing (their cgroups, ports and
# files are named per process) and every test waits for behaviour with bounds meant for a busy machine, so running
# them side by side is one more load they must hold under; results are printed in suite order all the same.
if [ "${1:-}" = --one ]; then
	# one suite: $2 binary, $3 directory for its log and exit status
	name=$(basename "$2")
	timeout -k 10 "${RW_TEST_TIMEOUT:-600}" ${RW_TEST_WRAP:-} "$2" >"$3/$name.log" 2>&1 </dev/null
	echo $? > "$3/$name.rc"
	exit 0
fi
build=${1:-build}
limit=${RW_TEST_TIMEOUT:-600}
jobs=${RW_JOBS:-$(nproc 2>/dev/null || echo 2)}
dir=$(mktemp -d "${TMPDIR:-/tmp}/rw-unit.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
for t in "$build"/tests/test_*; do [ -x "$t" ] && echo "$t"; done |
	xargs -r -P "$jobs" -I{} sh "$0" --one {} "$dir"
pass=0; fail=0; skip=0; bad=""
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	log=$dir/$name.log
	rc=$(cat "$dir/$name.rc" 2>/dev/null || echo 255)
	grep -E '^(RWTEST|  Test:|.*FAILED|  \(skipped)' "$log" 2>/dev/null | grep -v 'passed$' || true
	line=$(grep '^RWTEST ' "$log" 2>/dev/null | tail -1)
	p=$(echo "$line" | sed -n 's/.* passed=\([0-9]*\).*/\1/p')
	f=$(echo "$line" | sed -n 's/.* failed_tests=\([0-9]*\).*/\1/p')
	s=$(echo "$line" | sed -n 's/.* skipped=\([0-9]*\).*/\1/p')
	pass=$((pass + ${p:-0})); skip=$((skip + ${s:-0})); fail=$((fail + ${f:-0}))
	if [ "$rc" -ne 0 ] || [ -z "$p" ]; then
		{ [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && echo "$name: still running after ${limit}s, stopped"
		# a crash or hang after the last test, or a suite with no closing line: one failure more
		[ "${f:-0}" -eq 0 ] && fail=$((fail + 1))
		tail -40 "$log" 2>/dev/null
		bad="$bad $name"
	fi
done
echo "unit ($build${RW_TEST_WRAP:+ under ${RW_TEST_WRAP%% *}}): $pass passed, $fail failed, $skip skipped"
[ -n "$bad" ] && echo "failing suites:$bad"
if [ -n "${RW_TALLY:-}" ]; then
	wrap=${RW_TEST_WRAP%% *}
	echo "unit(${build##*/}${wrap:+,${wrap##*/}}) $pass $fail $skip" >> "$RW_TALLY"
fi
[ -z "$bad" ]
