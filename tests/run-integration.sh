#!/bin/sh
# Run every integration script (tests/integration/*.sh). Exit 77 from a script means "skipped here".
build=${1:-build}
case $build in /*) ;; *) build="$PWD/$build" ;; esac
export RW_BUILD="$build" RW_TOP="$PWD"
pass=0; fail=0; skip=0; bad=""
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	[ "$name" = lib ] && continue # sourced by the others
	echo "== $name"
	timeout 600 sh "$t"; rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "== $name: ok" ;;
	77) skip=$((skip + 1)); echo "== $name: skipped" ;;
	*) fail=$((fail + 1)); bad="$bad $name"; echo "== $name: FAILED ($rc)" ;;
	esac
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ -n "$bad" ] && echo "failing:$bad"
[ "$fail" -eq 0 ]
