#!/bin/sh
# Train the shipped model from the shipped recordings: every trace in tests/data/traces/traces.list with its
# label and class, the hand-derived priors (tools/train/prior.model) for what the data cannot train (the pmu
# source on this PMU-less host, the indicators when every recorded miner was renamed), and fixed name and date, so
#   RW_BUILD=/tmp/b-x tools/train/train-shipped.sh [OUT]          (default OUT: models/rigwatch.model)
# rebuilds models/rigwatch.model byte for byte (tests/integration/train.sh checks it). The provenance lists each
# recording's verdicts with the shipped model and with a model trained without its class.
# fp_ftz_daz_nondefault keeps its small prior weight (--fixed): every recorded miner sets FTZ+DAZ, but a miner
# can clear them, so the data must not make that hint strong. fp_traced_threads keeps its prior weight too: only
# the self-traced class has traced threads, so held out it would leave nothing to learn the rule from.
set -eu
: "${RW_BUILD:=build}"
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/models/rigwatch.model}
dir=$top/tests/data/traces
set --
while read -r file label class rest; do
	case $file in ''|\#*) continue ;; esac
	set -- "$@" "$label:$class:$dir/$file"
done < "$dir/traces.list"
exec "$RW_BUILD/train" --prior "$top/tools/train/prior.model" ${OUT_FLAG:---out} "$out" \
	--name rigwatch-2026-11-30 --date 2026-11-30 --lambda 0.05 --lambda fpprobe=0.01 \
	--fixed fp_ftz_daz_nondefault --fixed fp_traced_threads \
	--note "recorded on a 2-core Debian 12 VM without a PMU (software perf events only), shared and busy, 1 s interval, ptrace FP path at the default cadence (rx-light-2t-selftraced-bpf on the eBPF path); commands in tests/data/traces/traces.list (made by tools/train/record-shipped.sh)" \
	--note "miners are rxload (Debian librandomx, real RandomX hashing), renamed; fast-mode traces start at the first hash (the dataset build before it is not hashing)" \
	"$@"
