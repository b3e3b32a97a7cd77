#!/bin/sh
# Run every libFuzzer target built under $1/fuzz for $2 seconds each (default 15), from the repository root.
# Seeds: tests/fuzz/corpus/<target>/ (read only); inputs the fuzzer finds go to $1/corpus/<target>/, crash
# artifacts to $1/artifacts/. One line per target: executions without a crash, or the crash and its input.
# Exit 1 if any target crashed (or did not run). RW_TALLY: see tests/run-unit.sh. RW_JOBS targets run at once
# (default: the number of CPUs); each still gets its full time, so the run takes about targets/jobs x seconds.
set -u
if [ "${1:-}" = --one ]; then
	# one target: $2 binary, $3 build directory, $4 seconds
	bin=$2; build=$3; secs=$4
	name=$(basename "$bin")
	work=$build/corpus/$name
	mkdir -p "$work" "$build/artifacts"
	dict=""
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	# -rss_limit_mb: a parser that balloons on small input is a finding too. -timeout: per input.
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 -max_len=8192 \
		-artifact_prefix="$build/artifacts/$name-" $dict "$work" "tests/fuzz/corpus/$name" \
		>"$build/$name.log" 2>&1
	echo $? > "$build/$name.rc"
	exit 0
fi
build=${1:-build/fuzz}
secs=${2:-15}
jobs=${RW_JOBS:-$(nproc 2>/dev/null || echo 2)}
for bin in "$build"/fuzz/fuzz_*; do [ -x "$bin" ] && echo "$bin"; done |
	xargs -r -P "$jobs" -I{} sh "$0" --one {} "$build" "$secs"
fail=0; ok=0
for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	log=$build/$name.log
	rc=$(cat "$build/$name.rc" 2>/dev/null || echo 255)
	rm -f "$build/$name.rc"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz $name: ${execs:-?} executions in ${secs}s, no crash (corpus $(ls "$build/corpus/$name" | wc -l) inputs)"
		ok=$((ok + 1))
	else
		fail=$((fail + 1))
		echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions; log $log"
		grep -E '^==[0-9]+==ERROR|^SUMMARY|check failed|Test unit written|runtime error' "$log" | head -8
	fi
done
echo "fuzz: $ok passed, $fail failed"
[ -n "${RW_TALLY:-}" ] && echo "fuzz $ok $fail 0" >> "$RW_TALLY"
[ "$fail" -eq 0 ] || exit 1
