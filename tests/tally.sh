#!/bin/sh
# Sum up a whole `make check` from the lines its stages appended to the tally file ($1): "stage passed failed
# skipped". Prints one line per stage and the closing line "check: N passed, N failed, N skipped".
# $2, if given, holds "stage seconds" lines (tests/stage.sh): printed before the summary, with the total.
# Exits 1 if any stage failed a test.
tally=${1:?usage: tally.sh FILE [TIMES]}
[ -s "$tally" ] || { echo "check: no stage reported (empty $tally)" >&2; exit 1; }
if [ -n "${2:-}" ] && [ -s "$2" ]; then
	awk '{ printf "  %-24s %5d s\n", $1, $2; t += $2 } END { printf "  %-24s %5d s (%d min %d s)\n", "all stages", t, t / 60, t % 60 }' "$2"
fi
awk '
	{ printf "  %-24s %5d passed, %d failed, %d skipped\n", $1, $2, $3, $4; p += $2; f += $3; s += $4 }
	END { printf "check: %d passed, %d failed, %d skipped\n", p, f, s; exit f > 0 }
' "$tally"
