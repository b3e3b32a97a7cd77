#!/bin/sh
# Scrape benchmark: wrk against rigwatch's /metrics with 1,000 targets and against node_exporter's /metrics, side
# by side in one run, plain and with "Accept-Encoding: gzip" (what Prometheus sends). Prints requests/s and
# latency percentiles (medians over REPS alternating runs) for both, and the ratios.
# The rigwatch side is a real rw_http server (tools/bench/httpdrive) publishing a synthetic 1,000-target report
# once a second: Docker, Kubernetes, Slurm and systemd cgroup shapes, software counters as on a host without PMU.
#
#   sh tools/bench/scrape.sh            (from the repo root, after make; RW_BUILD=build by default)
#   TARGETS=1000 DURATION=5 REPS=3 CONNS=1 PUBLISH_MS=1000 sh tools/bench/scrape.sh
# PUBLISH_MS is how often a new report is rendered (the agent interval); a large value shows serving alone.
set -u
# CONNS=1 by default: a Prometheus server scrapes a target over one connection at a time.
: "${RW_BUILD:=build}" "${TARGETS:=1000}" "${DURATION:=5}" "${REPS:=3}" "${CONNS:=1}" "${PUBLISH_MS:=1000}"
drive=$RW_BUILD/bench/httpdrive
[ -x "$drive" ] || { echo "scrape: $drive not built (make all)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "scrape: wrk not installed" >&2; exit 1; }
ne=$(command -v prometheus-node-exporter || command -v node_exporter) || { echo "scrape: node_exporter not installed" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
rp=$(free_port); np=$(free_port)
"$drive" --listen "127.0.0.1:$rp" --targets "$TARGETS" --per-ip 0 --interval-ms "$PUBLISH_MS" > "$tmp/drive.out" 2> "$tmp/drive.err" &
dpid=$!
"$ne" --web.listen-address="127.0.0.1:$np" > "$tmp/ne.log" 2>&1 &
npid=$!
cleanup() { kill "$dpid" "$npid" 2>/dev/null; wait "$dpid" "$npid" 2>/dev/null; }
trap cleanup EXIT INT TERM
for u in "http://127.0.0.1:$rp/healthz" "http://127.0.0.1:$np/metrics"; do
	i=0; until curl -sf -o /dev/null "$u"; do i=$((i + 1)); [ $i -lt 100 ] || { echo "scrape: $u not up" >&2; exit 1; }; sleep 0.1; done
done
sleep 1.2   # a second report, so both bodies have been rendered and replaced once

size() { curl -s "$@" | wc -c; }
echo "scrape bench: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -t1 -c$CONNS -d${DURATION}s, $REPS runs each, medians; a report published every $PUBLISH_MS ms"
echo "  rigwatch /metrics ($TARGETS targets): $(size "http://127.0.0.1:$rp/metrics") B text, $(size -H 'Accept-Encoding: gzip' "http://127.0.0.1:$rp/metrics") B gzip"
echo "  node_exporter /metrics: $(size "http://127.0.0.1:$np/metrics") B text, $(size -H 'Accept-Encoding: gzip' "http://127.0.0.1:$np/metrics") B gzip"

# wrk output -> "rps p50 p90 p99" (latencies in ms)
run_wrk() { # url [header]
	if [ -n "${2:-}" ]; then wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "$2" "$1"; else wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$1"; fi |
	awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
	     $1 == "50%" { p50 = ms($2) } $1 == "90%" { p90 = ms($2) } $1 == "99%" { p99 = ms($2) }
	     $1 == "Requests/sec:" { rps = $2 }
	     END { printf "%s %s %s %s\n", rps, p50, p90, p99 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for enc in identity gzip; do
	h=""; [ "$enc" = gzip ] && h="Accept-Encoding: gzip"
	: > "$tmp/rw.$enc"; : > "$tmp/ne.$enc"
	r=0
	while [ $r -lt "$REPS" ]; do   # alternate, so drift in the host's load hits both alike
		run_wrk "http://127.0.0.1:$rp/metrics" "$h" >> "$tmp/rw.$enc"
		run_wrk "http://127.0.0.1:$np/metrics" "$h" >> "$tmp/ne.$enc"
		r=$((r + 1))
	done
done

echo
printf '%-28s %12s %10s %10s %10s\n' "" "requests/s" "p50 ms" "p90 ms" "p99 ms"
for enc in identity gzip; do
	for who in rw ne; do
		f=$tmp/$who.$enc
		name=$([ $who = rw ] && echo "rigwatch" || echo "node_exporter")
		printf '%-28s %12.1f %10.3f %10.3f %10.3f\n' "$name ($enc)" \
			"$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" \
			"$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f4 "$f" | median)"
	done
	rw=$(cut -d' ' -f1 "$tmp/rw.$enc" | median); nx=$(cut -d' ' -f1 "$tmp/ne.$enc" | median)
	p99=$(cut -d' ' -f4 "$tmp/rw.$enc" | median)
	awk -v a="$rw" -v b="$nx" -v p="$p99" -v e="$enc" 'BEGIN {
		printf "  ratio (%s): rigwatch/node_exporter requests/s = %.1fx (target >= 5x: %s); rigwatch p99 %.3f ms (target < 2 ms: %s)\n",
			e, a / b, (a / b >= 5) ? "met" : "NOT met", p, (p < 2) ? "met" : "NOT met" }'
done
kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
echo
echo "  $(cat "$tmp/drive.err" | grep publishes)"
