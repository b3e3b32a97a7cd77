#!/bin/sh
# Instructions per score, counted by callgrind: tools/bench/model-callgrind.sh [BUILD] [N]
build=${1:-build} n=${2:-100000}
for part in eval:rw_model_eval eval-nopmu:rw_model_eval score:rw_scorer_score; do
	fn=${part#*:}
	out=$(mktemp)
	valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$fn" "$build/bench/model" "$n" "${part%%:*}" \
		>/dev/null 2>&1 || { echo "callgrind failed"; rm -f "$out"; exit 1; }
	ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out")
	rm -f "$out"
	echo "$fn (${part%%:*}): $ir instructions / $n calls = $((ir / n)) instructions per call"
done
