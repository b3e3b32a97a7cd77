# A real Prometheus (Debian's prometheus) on loopback scrapes the agent, and its HTTP API returns a rigwatch
# series for a real child cgroup running a busy loop. Two Prometheus servers scrape side by side: one with the
# defaults (text format 0.0.4) and one with --enable-feature=native-histograms, which makes Prometheus 2.x ask for
# the protobuf delimited format first; both must store the same series.
# The agent is `rigwatch run` once it serves HTTP (it links rw_http_start); until then tools/bench/httpdrive,
# a real rw_http server fed with that cgroup's real cpu.stat.
. tests/integration/lib.sh

command -v prometheus >/dev/null || skip "prometheus not installed (Debian package prometheus)"
command -v curl >/dev/null || skip "curl not installed"

tmp=$(mktemp -d)
busy=$(rw_mkcg busy)
p1=$(rw_run_in "$busy" sh -c 'while :; do :; done')
rw_pids="$rw_pids $p1"
rel="/rwtest.$$/busy"

rw_start_agent "$tmp"
note "agent: rigwatch run on 127.0.0.1:$port"

start_prom() { # name extra-flags...
	name=$1; shift
	pport=$(rw_free_port)
	cat > "$tmp/$name.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: rigwatch
    static_configs:
      - targets: ["127.0.0.1:$port"]
EOC
	prometheus --config.file="$tmp/$name.yml" --storage.tsdb.path="$tmp/$name-data" \
		--web.listen-address="127.0.0.1:$pport" "$@" > "$tmp/$name.log" 2>&1 &
	rw_pids="$rw_pids $!"
	eval "${name}_port=$pport"
}
start_prom text
start_prom proto --enable-feature=native-histograms

# Prometheus' instant-query API, value of the first result or empty.
query() { # port promql
	curl -sf --get "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" |
		python3 -c 'import json,sys
d=json.load(sys.stdin); r=d["data"]["result"]
print(r[0]["value"][1] if d["status"]=="success" and r else "")'
}

for name in text proto; do
	eval "pport=\$${name}_port"
	rw_wait_http "http://127.0.0.1:$pport/-/ready" 120 || { tail -20 "$tmp/$name.log"; fail "prometheus ($name) not ready"; }
done

q="rigwatch_target_cpu_usage_seconds_total{cgroup=\"$rel\"}"
for name in text proto; do
	eval "pport=\$${name}_port"
	v=""; i=0
	while [ $i -lt 240 ]; do   # at most 120 s: a bound for a loaded host
		v=$(query "$pport" "$q")
		[ -n "$v" ] && [ "$(query "$pport" "rate(${q}[5s])")" != "" ] && break
		sleep 0.5; i=$((i + 1))
	done
	[ -n "$v" ] || { tail -20 "$tmp/$name.log"; curl -s "http://127.0.0.1:$port/metrics" | grep "$rel" | head; fail "prometheus ($name): no series for $q"; }
	up=$(query "$pport" 'up{job="rigwatch"}')
	[ "$up" = "1" ] || fail "prometheus ($name): up = $up"
	rate=$(query "$pport" "rate(${q}[5s])")
	# the busy loop uses up to one core (less on a loaded 2-core host)
	awk -v r="$rate" 'BEGIN { exit !(r >= 0.05 && r <= 1.6) }' || fail "prometheus ($name): rate of $q = $rate, want ~1"
	score=$(query "$pport" "rigwatch_target_score{cgroup=\"$rel\"}")
	[ -n "$score" ] || fail "prometheus ($name): no rigwatch_target_score for $rel"
	clean=$(query "$pport" "rigwatch_target_verdict{cgroup=\"$rel\",verdict=\"clean\"} + on(cgroup) group_left rigwatch_target_verdict{cgroup=\"$rel\",verdict=\"suspect\"} + on(cgroup) group_left rigwatch_target_verdict{cgroup=\"$rel\",verdict=\"mining\"}")
	[ "$clean" = "1" ] || fail "prometheus ($name): verdict series of $rel do not sum to 1 ($clean)"
	build=$(query "$pport" 'rigwatch_build_info')
	[ "$build" = "1" ] || fail "prometheus ($name): rigwatch_build_info = $build"
	note "prometheus ($name): $q = $v, rate ${rate} cores, score $score, up 1"
done
# the stored label set carries the cgroup path exactly
curl -sf --get "http://127.0.0.1:$text_port/api/v1/series" --data-urlencode "match[]=rigwatch_target_score{cgroup=\"$rel\"}" |
	python3 -c 'import json,sys
d=json.load(sys.stdin)["data"]; assert len(d)==1, d; assert d[0]["cgroup"]==sys.argv[1], d' "$rel" ||
	fail "series API: label set of $rel"
kill "$agent_pid" 2>/dev/null
exit 0
