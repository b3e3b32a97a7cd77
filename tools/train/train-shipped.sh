#!/bin/sh
# Train the shipped model from the shipped recordings: every trace in tests/data/traces/traces.list with its
# label, the hand-derived priors (tools/train/prior.model) for what the data cannot train (the pmu source on this
# PMU-less host, the indicators when every recorded miner was renamed), and fixed name and date, so that
#   RW_BUILD=/tmp/b-x tools/train/train-shipped.sh [OUT]          (default OUT: models/rigwatch.model)
# rebuilds models/rigwatch.model byte for byte (tests/integration/train.sh checks it).
# Regularisation: fpprobe lambda 0.001, the largest at which every miner, including each one held out of training,
# reaches `mining` within its deadline (at 0.005 the 25 %-duty light miners took 13-16 s); cgroup keeps 0.05,
# so resource behaviour stays a weak, smooth hint (at 0.001 it learns "256 MiB of memory = miner").
set -eu
: "${RW_BUILD:=build}"
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/models/rigwatch.model}
dir=$top/tests/data/traces
set --
while read -r file label deadline rest; do
	case $file in ''|\#*) continue ;; esac
	set -- "$@" "$label:$dir/$file"
done < "$dir/traces.list"
exec "$RW_BUILD/train" --prior "$top/tools/train/prior.model" --out "$out" \
	--name rigwatch-2026-11-28 --date 2026-11-28 --lambda 0.05 --lambda fpprobe=0.001 \
	--note "recorded on a 2-core Debian 12 VM without a PMU (software perf events only), 1 s interval, default fpprobe cadence; commands in tests/data/traces/traces.list (made by tools/train/record-shipped.sh)" \
	--note "miners are rxload (Debian librandomx, real RandomX hashing), renamed; fast-mode traces start at the first hash (the dataset build before it is not hashing)" \
	"$@"
