#!/bin/sh
# Run every integration script (tests/integration/*.sh). Exit 77 from a script means "skipped here" (the
# script prints why). Each script is stopped after RW_INTEGRATION_TIMEOUT seconds (default 1200; its EXIT/TERM
# trap cleans up). RW_INTEGRATION (space-separated names) runs only those. RW_TALLY: see tests/run-unit.sh.
# RW_JOBS scripts run at once (default 3: on a quiet machine a script mostly waits for an agent interval, a verdict
# or a scrape; beside CPU loads the CPUs are the limit and 3 at a time took about as long as 2): every script works
# in cgroups, ports and directories of its own and waits for behaviour with bounds meant for a busy machine. A
# script whose header has the line
#   # rw-integration: exclusive
# changes something host-wide (binds a cgroup controller, floods the machine on purpose) and runs alone, after
# the others. A script whose header has the line
#   # rw-integration: long
# takes minutes and starts first, so the short ones fill the gaps around it rather than leaving it alone at the
# end. Each script's output is printed whole when it ends, with how long it took.
if [ "${1:-}" = --one ]; then
	# one script: $2 path, $3 directory for its log
	name=$(basename "$2" .sh)
	start=$(date +%s)
	timeout -k 20 "${RW_INTEGRATION_TIMEOUT:-1200}" sh "$2" >"$3/$name.log" 2>&1 </dev/null
	rc=$?
	echo "$rc $(( $(date +%s) - start ))" > "$3/$name.rc"
	case $rc in 0) r=ok ;; 77) r=skipped ;; *) r="FAILED ($rc)" ;; esac
	echo "   ($name: $r after $(( $(date +%s) - start )) s)"
	exit 0
fi
build=${1:-build}
case $build in /*) ;; *) build="$PWD/$build" ;; esac
export RW_BUILD="$build" RW_TOP="$PWD"
jobs=${RW_JOBS:-3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/rw-integration.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
selected() {
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		[ "$name" = lib ] && continue # sourced by the others
		if [ -n "${RW_INTEGRATION:-}" ]; then
			case " $RW_INTEGRATION " in *" $name "*) ;; *) continue ;; esac
		fi
		echo "$t"
	done
}
exclusive() { grep -q '^# rw-integration: exclusive' "$1"; }
long() { grep -q '^# rw-integration: long' "$1"; }
{
	selected | while read -r t; do exclusive "$t" || ! long "$t" || echo "$t"; done
	selected | while read -r t; do exclusive "$t" || long "$t" || echo "$t"; done
} | xargs -r -P "$jobs" -I{} sh "$0" --one {} "$dir"
selected | while read -r t; do exclusive "$t" && echo "$t"; done | xargs -r -P 1 -I{} sh "$0" --one {} "$dir"
pass=0; fail=0; skip=0; bad=""
for t in $(selected); do
	name=$(basename "$t" .sh)
	read -r rc secs < "$dir/$name.rc" 2>/dev/null || { rc=255; secs=0; }
	echo "== $name"
	cat "$dir/$name.log" 2>/dev/null
	case $rc in
	0) pass=$((pass + 1)); echo "== $name: ok ($secs s)" ;;
	77) skip=$((skip + 1)); echo "== $name: skipped" ;;
	*) fail=$((fail + 1)); bad="$bad $name"; echo "== $name: FAILED ($rc after $secs s)" ;;
	esac
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ -n "${RW_TALLY:-}" ] && echo "integration $pass $fail $skip" >> "$RW_TALLY"
[ -n "$bad" ] && echo "failing:$bad"
[ "$fail" -eq 0 ]
