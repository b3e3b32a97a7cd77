#!/bin/sh
# Run every integration script (tests/integration/*.sh). Exit 77 from a script means "skipped here" (the
# script prints why). Each script is stopped after RW_INTEGRATION_TIMEOUT seconds (default 600; its EXIT/TERM
# trap cleans up). RW_INTEGRATION (space-separated names) runs only those. RW_TALLY: see tests/run-unit.sh.
build=${1:-build}
case $build in /*) ;; *) build="$PWD/$build" ;; esac
export RW_BUILD="$build" RW_TOP="$PWD"
pass=0; fail=0; skip=0; bad=""
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	[ "$name" = lib ] && continue # sourced by the others
	if [ -n "${RW_INTEGRATION:-}" ]; then
		case " $RW_INTEGRATION " in *" $name "*) ;; *) continue ;; esac
	fi
	echo "== $name"
	timeout -k 20 "${RW_INTEGRATION_TIMEOUT:-600}" sh "$t"; rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "== $name: ok" ;;
	77) skip=$((skip + 1)); echo "== $name: skipped" ;;
	*) fail=$((fail + 1)); bad="$bad $name"; echo "== $name: FAILED ($rc)" ;;
	esac
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ -n "${RW_TALLY:-}" ] && echo "integration $pass $fail $skip" >> "$RW_TALLY"
[ -n "$bad" ] && echo "failing:$bad"
[ "$fail" -eq 0 ]
