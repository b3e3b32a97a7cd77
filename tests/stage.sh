#!/bin/sh
# Run one stage of `make check` and note how long it took: tests/stage.sh TIMES NAME COMMAND...
# Appends "NAME SECONDS" to TIMES (tests/tally.sh prints them) and exits with the command's status.
times=$1; name=$2; shift 2
start=$(date +%s)
"$@"; rc=$?
secs=$(( $(date +%s) - start ))
echo "$name $secs" >> "$times"
echo "== stage $name: $secs s (exit $rc)"
exit $rc
