#!/bin/sh
# The trainer is deterministic (the same traces give a byte-identical model), and the shipped model is exactly
# what tools/train/train-shipped.sh makes of the shipped recordings (tests/data/traces). Needs no root.
: "${RW_BUILD:=$PWD/build}"
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$RW_BUILD/train" ] || fail "missing $RW_BUILD/train (make tools)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

RW_BUILD=$RW_BUILD sh tools/train/train-shipped.sh "$tmp/a.model" 2> "$tmp/a.err" || { cat "$tmp/a.err"; fail "train exited $?"; }
RW_BUILD=$RW_BUILD sh tools/train/train-shipped.sh "$tmp/b.model" 2> "$tmp/b.err" || { cat "$tmp/b.err"; fail "train exited $?"; }
sed 's/^/  /' "$tmp/a.err"
cmp "$tmp/a.model" "$tmp/b.model" || fail "two runs on the same traces differ"
cmp "$tmp/a.model" models/rigwatch.model || {
	diff models/rigwatch.model "$tmp/a.model" | head -20
	fail "models/rigwatch.model is not what tools/train/train-shipped.sh makes of tests/data/traces"
}
"$RW_BUILD/rigwatch" replay --model="$tmp/a.model" tests/data/traces/rx-light-1t.trace > "$tmp/replay" 2>&1 ||
	{ cat "$tmp/replay"; fail "rigwatch replay exited $?"; }
grep -q '"verdict":"mining"' "$tmp/replay" || fail "replay of rx-light-1t with the trained model: no mining"
# A bad argument is a usage error (exit 2) naming it.
"$RW_BUILD/train" --out "$tmp/c.model" frobnicate:x > "$tmp/c.err" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q frobnicate "$tmp/c.err" || fail "bad argument: exit $rc, $(cat "$tmp/c.err")"
echo "  trainer deterministic; models/rigwatch.model reproduced from $(grep -c . tests/data/traces/traces.list) traces"
exit 0
