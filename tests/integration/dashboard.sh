# rw-integration: long
# deploy/grafana/rigwatch.json on real data: a real agent (dry-run response, HTTP and file alert sinks) watching a
# real RandomX workload (tools/rxload renamed nginx) and a busy benign loop in cgroups of its own, a real Prometheus
# (Debian's) scraping it every second with the shipped rules (deploy/prometheus/rigwatch.rules.yml). Asserted:
#   - every panel's and annotation's PromQL runs with `promtool query instant` and `promtool query range` without
#     error and with a non-empty result (tests/integration/dashboard_queries.py): the setup gives every panel data
#     (a mining target, a dry-run decision, a detection after the first scrape, alert sinks that sent);
#   - the shipped rules fire on the real agent's series: RigwatchMinerDetected and RigwatchResponseDryRun, each
#     with the target's cgroup in its labels;
#   - the HTTP alert sink POSTed the verdict and the dry-run decision to a real HTTP receiver (python3 http.server).
# Skipped without prometheus, promtool, python3, curl or tools/rxload. Waits are bounded by LIMIT seconds.
. tests/integration/lib.sh

LIMIT=${LIMIT:-240}
RX=$RW_BUILD/rxload
command -v prometheus >/dev/null || skip "prometheus not installed (Debian package prometheus)"
command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
command -v python3 >/dev/null || skip "python3 not installed"
command -v curl >/dev/null || skip "curl not installed"
[ -x "$RX" ] || skip "no $RX (make tools)"
[ -x "$RW" ] || fail "no $RW"

tmp=$(mktemp -d)
trap 'rw_cleanup; [ -n "${RW_KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM
base="/rwtest.$$"

# the HTTP receiver for the alert sink
python3 "$RW_TOP/tests/unit/alert_receiver.py" "$tmp/posts.jsonl" > "$tmp/receiver.port" 2>"$tmp/receiver.log" &
rw_pids="$rw_pids $!"
i=0
until [ -s "$tmp/receiver.port" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "alert receiver did not start: $(cat "$tmp/receiver.log")"; sleep 0.1
done
rport=$(cat "$tmp/receiver.port")

rw_start_agent "$tmp" "[response]
mode = dry-run
min_intervals = 2
min_score = 0.5
audit_log = $tmp/audit.jsonl
[alerts]
output = $tmp/alerts.jsonl
http_url = http://127.0.0.1:$rport/
"
note "agent on $url (dry-run, alerts to a file and http://127.0.0.1:$rport/)"

pport=$(rw_free_port)
prom="http://127.0.0.1:$pport"
cp "$RW_TOP/deploy/prometheus/rigwatch.rules.yml" "$tmp/"
cat > "$tmp/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rigwatch.rules.yml]
scrape_configs:
  - job_name: rigwatch
    static_configs:
      - targets: ["127.0.0.1:$port"]
EOC
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" \
	--web.listen-address="127.0.0.1:$pport" > "$tmp/prometheus.log" 2>&1 &
rw_pids="$rw_pids $!"
rw_wait_http "$prom/-/ready" 120 || { tail -20 "$tmp/prometheus.log"; fail "prometheus not ready within 120 s"; }

# value of the first result of an instant query, or empty
pq() {
	curl -sf --get "$prom/api/v1/query" --data-urlencode "query=$1" | python3 -c 'import json,sys
d=json.load(sys.stdin); r=d["data"]["result"]
print(r[0]["value"][1] if d["status"]=="success" and r else "")'
}
wait_q() { # seconds promql what: until the query has a result
	end=$(($(date +%s) + $1))
	until [ -n "$(pq "$2")" ]; do
		[ "$(date +%s)" -le $end ] || return 1
		sleep 1
	done
}
# the miner starts after Prometheus has the agent's zeros: its detection is then an increase Prometheus sees
wait_q 120 'rigwatch_detections_total == 0' || { tail -20 "$tmp/prometheus.log"; fail "prometheus never scraped the agent"; }

miner=$(rw_mkcg miner)
busy=$(rw_mkcg busy)
pm=$(rw_run_in "$miner" nice -n -10 "$RX" --mode light --threads 1 --name nginx)
pb=$(rw_run_in "$busy" sh -c 'while :; do :; done')
rw_pids="$rw_pids $pm $pb"
t0=$(date +%s)
wait_q "$LIMIT" "rigwatch_response_actions_total{action=\"dry-run\",result=\"ok\"} > 0" ||
	{ tail -20 "$tmp/agent.log"; curl -s "$url/verdicts" | head -c 2000; fail "no dry-run decision on the miner in Prometheus within $LIMIT s"; }
note "miner: dry-run decision in Prometheus after $(($(date +%s) - t0)) s"
wait_q 60 "rigwatch_target_detection_delay_seconds{cgroup=\"$base/miner\"}" ||
	fail "no rigwatch_target_detection_delay_seconds for $base/miner"
wait_q 60 "rigwatch_alerts_sent_total{sink=\"http\"} > 0" || fail "the HTTP alert sink never delivered"
# a few more scrapes, so rate() and increase() over the panels' windows have points after the events
sleep 5

# the shipped rules on the real series
for a in RigwatchMinerDetected RigwatchResponseDryRun; do
	wait_q 60 "ALERTS{alertname=\"$a\",alertstate=\"firing\",cgroup=\"$base/miner\"}" ||
		fail "$a did not fire for $base/miner: $(curl -s "$prom/api/v1/alerts" | head -c 1500)"
done
note "rules: RigwatchMinerDetected and RigwatchResponseDryRun firing with cgroup=$base/miner"

python3 "$RW_TOP/tests/integration/dashboard_queries.py" "$RW_TOP/deploy/grafana/rigwatch.json" "$prom" "$t0" > "$tmp/panels.log" 2>&1 ||
	{ cat "$tmp/panels.log"; fail "dashboard queries"; }
note "deploy/grafana/rigwatch.json: $(tail -1 "$tmp/panels.log") (instant and range each)"

# the receiver got the verdict and the dry-run decision as Falco JSON
python3 - "$tmp/posts.jsonl" "$base/miner" <<'EOP' || fail "HTTP alert sink: $(head -c 2000 "$tmp/posts.jsonl")"
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
rules = {(p["body"]["rule"], p["body"]["output_fields"]["rigwatch.cgroup"]) for p in posts if p["body"]}
assert ("Cryptocurrency miner detected", sys.argv[2]) in rules, rules
assert ("Cryptocurrency miner would be stopped (dry-run)", sys.argv[2]) in rules, rules
assert all(p["content_type"] == "application/json" for p in posts)
EOP
note "HTTP alert sink: $(wc -l < "$tmp/posts.jsonl") POSTs, the detection and the dry-run decision among them"
exit 0
