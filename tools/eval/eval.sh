#!/bin/sh
# The held-out evaluation: train without each class of the shipped recordings in turn, replay that class through
# the scoring path, and fail if a confuser reaches `mining` or a miner misses its deadline (tools/train/train.c).
#   tools/eval/eval.sh [OUTDIR] [--no-plots]     (default OUTDIR: $RW_BUILD/eval)
# Writes OUTDIR/report.md, samples.tsv, traces.tsv, model.model (the model trained on everything, which must be
# models/rigwatch.model) and, unless --no-plots, score.png, time_to_mining.png and confusion.png (Debian python3-matplotlib, so /usr/bin/python3).
set -u
: "${RW_BUILD:=build}"
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$RW_BUILD/eval}
plots=1
[ "${2:-}" = --no-plots ] && plots=0
mkdir -p "$out"
OUT_FLAG=--eval RW_BUILD=$RW_BUILD sh "$top/tools/train/train-shipped.sh" "$out"
rc=$?
if [ $rc -le 1 ] && ! cmp -s "$out/model.model" "$top/models/rigwatch.model"; then
	echo "eval: models/rigwatch.model is not what tools/train/train-shipped.sh makes of the shipped recordings" \
		"(retrain it: RW_BUILD=$RW_BUILD sh tools/train/train-shipped.sh)" >&2
	rc=1
fi
if [ $plots = 1 ] && [ -s "$out/samples.tsv" ]; then
	/usr/bin/python3 "$top/tools/eval/plots.py" "$out" || rc=1
fi
[ $rc = 0 ] && echo "eval: passed; report in $out/report.md" >&2
exit $rc
