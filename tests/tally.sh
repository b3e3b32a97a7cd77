#!/bin/sh
# Sum up a whole `make check` from the lines its stages appended to the tally file ($1): "stage passed failed
# skipped". Prints one line per stage and the closing line "check: N passed, N failed, N skipped".
# Exits 1 if any stage failed a test.
tally=${1:?usage: tally.sh FILE}
[ -s "$tally" ] || { echo "check: no stage reported (empty $tally)" >&2; exit 1; }
awk '
	{ printf "  %-24s %5d passed, %d failed, %d skipped\n", $1, $2, $3, $4; p += $2; f += $3; s += $4 }
	END { printf "check: %d passed, %d failed, %d skipped\n", p, f, s; exit f > 0 }
' "$tally"
