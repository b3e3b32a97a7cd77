#!/bin/sh
# Record the training/test traces shipped under tests/data/traces, one workload at a time, each in a private
# cgroup (tools/train/record.sh), and write their manifest (tests/data/traces/traces.list):
#   FILE LABEL DEADLINE_S COMMAND...
# LABEL is mining or benign; DEADLINE_S is how soon a replay must say `mining` (from the first sample), 0 for
# benign traces, which must never leave `clean`.
#   RW_BUILD=/tmp/b-x tools/train/record-shipped.sh [OUTDIR] [NAME...]   (NAME: only these traces, e.g. rx-light-1t-25)
# Miner traces start at the first hash (READY): fast mode's 2080 MiB dataset build (30-90 s here) and light mode's
# 256 MiB cache build (1-2 s) are not hashing, and samples of them labelled "mining" would teach the trainer that
# round-to-nearest is a miner's too. tests/integration/detect.sh measures from the launch, build included.
set -u
: "${RW_BUILD:=build}"
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/tests/data/traces}
[ $# -gt 0 ] && shift
only="$*"
secs=${SECS:-25}
RECORDER=${RECORDER:-$RW_BUILD/rigwatch record}
export RECORDER
mkdir -p "$out"
list=$out/traces.list
tmp=${TMPDIR:-/tmp}/rwrec.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

rec() { # name label deadline command...
	name=$1 label=$2 deadline=$3; shift 3
	if [ -n "$only" ] && ! echo " $only " | grep -q " $name "; then
		return 0
	fi
	echo "== $name ($label): $*" >&2
	sh "$top/tools/train/record.sh" "$out/$name.trace" "$label" "$secs" "$@" || echo "record.sh $name: $?" >&2
	grep -v "^$name.trace " "$list" > "$list.new" 2>/dev/null
	printf '%s' "$name.trace $label $deadline $*" | tr '\n' ' ' | sed "s|$RW_BUILD|\$RW_BUILD|g; s|$tmp|\$TMP|g; s| *$||" >> "$list.new"
	echo >> "$list.new"
	sort "$list.new" > "$list" && rm -f "$list.new"
	sleep 2   # let the host settle between recordings
}

rx=$RW_BUILD/rxload
# Miners: real RandomX hashing (librandomx), renamed, in light (256 MiB cache) and fast (2080 MiB dataset) mode.
READY='^rxload: ready' rec rx-light-1t-100 mining 5 $rx --mode light --threads 1 --name nginx
READY='^rxload: ready' rec rx-light-2t-100 mining 5 $rx --mode light --threads 2 --name postgres
READY='^rxload: ready' rec rx-light-1t-25 mining 10 $rx --mode light --threads 1 --duty 25 --name java
READY='^rxload: ready' rec rx-light-2t-25 mining 10 $rx --mode light --threads 2 --duty 25 --name node
READY='^rxload: ready' rec rx-fast-1t-100 mining 5 $rx --mode fast --threads 1 --name mysqld
READY='^rxload: ready' rec rx-fast-2t-100 mining 5 $rx --mode fast --threads 2 --name redis-server
READY='^rxload: ready' rec rx-fast-1t-25 mining 10 $rx --mode fast --threads 1 --duty 25 --name php-fpm
READY='^rxload: ready' rec rx-fast-2t-25 mining 10 $rx --mode fast --threads 2 --duty 25 --name dotnet

# Benign: crypto, compression, compilers, BLAS, matrix kernels, a database, FP-mode users, an idle service.
# (numpy: Debian's python3-numpy, so /usr/bin/python3 rather than whatever python3 is first on PATH)
rec openssl-aes-gcm benign 0 openssl speed -seconds 5 -evp aes-128-gcm
if echo " $only " | grep -q -e " xz-9 " -e "^  $"; then
	# a few hundred MB of ordinary files (text, binaries) to compress
	find /usr/share /usr/lib -type f -size -2M 2>/dev/null | head -40000 | xargs cat 2>/dev/null | head -c 300M \
		> "$tmp/xzdata"
fi
rec xz-9 benign 0 xz -9 -T1 -k -c "$tmp/xzdata"
rec gcc-build benign 0 sh -c "cd '$top' && while :; do for f in src/*.c; do \
gcc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -I$RW_BUILD/gen -c \$f -o $tmp/gcc.o; done; done"
rec numpy-matmul benign 0 /usr/bin/python3 -c \
	"exec('import numpy as np\\na = np.random.rand(1200, 1200)\\nwhile True: a = (a @ a) / 1200.0')"
rec stress-matrix-1 benign 0 stress-ng --matrix 1 -t 120
rec stress-matrix-2 benign 0 stress-ng --matrix 2 -t 120
rec sqlite-load benign 0 sh -c "while :; do sqlite3 $tmp/load.db 'CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, \
k INT, v TEXT); CREATE INDEX IF NOT EXISTS tk ON t(k); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c \
LIMIT 20000) INSERT INTO t(k, v) SELECT abs(random()) % 1000, hex(randomblob(32)) FROM c; SELECT k, count(*), \
max(v) FROM t GROUP BY k ORDER BY 2 DESC LIMIT 5; SELECT count(*) FROM t WHERE k BETWEEN 100 AND 200 AND length(v) = 64; \
DELETE FROM t WHERE id % 3 = 0;' >/dev/null; done"
rec fastmath benign 0 $RW_BUILD/progs/fp_fastmath
rec fp-roundup benign 0 $RW_BUILD/progs/fp_roundup
rec idle-http benign 0 python3 -m http.server --bind 127.0.0.1 0
exit 0
