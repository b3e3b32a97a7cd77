#!/bin/sh
# HTTP flood benchmark: `rigwatch run` on a free loopback port (default [http] limits: 64 connections, 16 per
# address) under tools/bench/httpflood's slow-header, many-address and idle floods, printing /healthz and
# /metrics latency (median, p99, max), failures, sampling progress and RSS per flood. With RW_OLD=<another
# rigwatch binary> the same floods run against it too, one after the other, for a side-by-side comparison.
#
#   sh tools/bench/httpflood.sh                         (from the repo root, as root, after make)
#   SECONDS_PER=10 CONNS=2000 ADDRS=40 PER_ADDR=16 RW_OLD=/tmp/old/rigwatch sh tools/bench/httpflood.sh
set -u
: "${RW_BUILD:=build}" "${SECONDS_PER:=10}" "${CONNS:=2000}" "${ADDRS:=40}" "${PER_ADDR:=16}" "${RW_OLD:=}"
flood=$RW_BUILD/bench/httpflood
[ -x "$flood" ] || { echo "httpflood: $flood not built (make all)" >&2; exit 1; }
tmp=$(mktemp -d)
printf '[agent]\ninclude = /rwbench.none.%s/*\n' $$ > "$tmp/agent.conf"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

run_one() { # label binary
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
	"$2" run --config.file="$tmp/agent.conf" --web.listen-address="127.0.0.1:$port" > "$tmp/$1.log" 2>&1 &
	pid=$!
	i=0
	until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
		i=$((i + 1)); [ $i -lt 150 ] || { cat "$tmp/$1.log"; echo "httpflood: $1 agent not up" >&2; exit 1; }
		sleep 0.1
	done
	echo "== $1: $2 (port $port), $SECONDS_PER s per flood, $CONNS connections, $ADDRS addresses x $PER_ADDR"
	"$flood" --port "$port" --pid "$pid" --seconds "$SECONDS_PER" --conns "$CONNS" --addrs "$ADDRS" --per-addr "$PER_ADDR"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=""
}
run_one this "$RW_BUILD/rigwatch"
[ -n "$RW_OLD" ] && run_one old "$RW_OLD"
exit 0
