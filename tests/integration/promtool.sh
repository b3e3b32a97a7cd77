# `promtool check metrics` (Prometheus' own linter) on real /metrics output of a running agent watching a real
# child cgroup, `promtool check rules` and `promtool test rules` on deploy/prometheus/, and the HTTP surface seen
# by curl: content types, HEAD, 404, 405, gzip, /verdicts JSON parsed by python3.
# The agent is `rigwatch run` once it serves HTTP (it links rw_http_start); until then tools/bench/httpdrive.
. tests/integration/lib.sh

command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
tmp=$(mktemp -d)

# the alert rules first: they need no agent
( cd "$RW_TOP/deploy/prometheus" && promtool check rules rigwatch.rules.yml && promtool test rules rules_test.yml &&
	promtool check config prometheus.yml ) > "$tmp/rules.log" 2>&1 || { cat "$tmp/rules.log"; fail "deploy/prometheus rules"; }
note "deploy/prometheus: rules valid, rules_test.yml passes"
# the Alertmanager example: valid, and each kind of rigwatch alert routed to the receiver meant for it
if command -v amtool >/dev/null; then
	am="$RW_TOP/deploy/prometheus/alertmanager.yml"
	amtool check-config "$am" > "$tmp/am.log" 2>&1 || { cat "$tmp/am.log"; fail "amtool check-config alertmanager.yml"; }
	for want in "security-page alertname=RigwatchMinerDetected severity=critical" \
		"security-page alertname=RigwatchResponseAction severity=critical" \
		"security alertname=RigwatchMinerDetectedBriefly severity=warning" \
		"security alertname=RigwatchResponseDryRun severity=warning" \
		"ops alertname=RigwatchDown severity=warning" \
		"ops-info alertname=RigwatchSourceUnavailable severity=info"; do
		set -- $want
		rcv=$1; shift
		got=$(amtool config routes test --config.file="$am" "$@" 2>/dev/null)
		[ "$got" = "$rcv" ] || fail "alertmanager.yml routes $* to '$got', want $rcv"
	done
	note "deploy/prometheus/alertmanager.yml: valid, routes as documented"
	# Inhibition (amtool cannot test it): a real Alertmanager on this file, given alerts as Prometheus would send
	# them. A response on /a suppresses the miner page for /a only; the record of /a and the page for /b stay.
	AM=$(command -v prometheus-alertmanager || command -v alertmanager) || AM=""
	if [ -n "$AM" ]; then
		amport=$(rw_free_port)
		sed 's|http://alert-receiver.example:9095|http://127.0.0.1:9|' "$am" > "$tmp/am.yml"
		"$AM" --config.file="$tmp/am.yml" --storage.path="$tmp/am-data" --web.listen-address="127.0.0.1:$amport" \
			--cluster.listen-address= > "$tmp/am-run.log" 2>&1 &
		rw_pids="$rw_pids $!"
		amu="http://127.0.0.1:$amport"
		rw_wait_http "$amu/-/ready" 30 || { cat "$tmp/am-run.log"; fail "alertmanager not ready"; }
		for a in "alertname=RigwatchMinerDetected severity=critical instance=h5:10170 cgroup=/a verdict=mining" \
			"alertname=RigwatchMinerDetected severity=critical instance=h5:10170 cgroup=/b verdict=mining" \
			"alertname=RigwatchMinerDetectedBriefly severity=warning instance=h5:10170 cgroup=/a" \
			"alertname=RigwatchResponseAction severity=critical instance=h5:10170 cgroup=/a action=kill result=ok"; do
			amtool --alertmanager.url="$amu" alert add $a || fail "amtool alert add $a"
		done
		i=0
		until curl -sf "$amu/api/v2/alerts" | python3 -c '
import json, sys
st = {(a["labels"]["alertname"], a["labels"]["cgroup"]): a["status"]["state"] for a in json.load(sys.stdin)}
sys.exit(st != {("RigwatchMinerDetected", "/a"): "suppressed", ("RigwatchMinerDetected", "/b"): "active",
                ("RigwatchMinerDetectedBriefly", "/a"): "active", ("RigwatchResponseAction", "/a"): "active"})'; do
			i=$((i + 1)); [ $i -lt 50 ] || { curl -s "$amu/api/v2/alerts"; fail "alertmanager.yml: inhibition not as documented"; }
			sleep 0.2
		done
		note "deploy/prometheus/alertmanager.yml: a response inhibits the miner page of its own target only"
	fi
fi

busy=$(rw_mkcg busy)
p1=$(rw_run_in "$busy" sh -c 'while :; do :; done')
rw_pids="$rw_pids $p1"
rel="/rwtest.$$/busy"
rw_start_agent "$tmp"
note "agent: rigwatch run"

# wait for a report that includes the child cgroup
i=0
until curl -sf "$url/metrics" > "$tmp/metrics.prom" && grep -q "cgroup=\"$rel\"" "$tmp/metrics.prom"; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "no series for $rel in /metrics within 60 s"; sleep 0.2
done
promtool check metrics < "$tmp/metrics.prom" > "$tmp/lint.log" 2>&1 || { cat "$tmp/lint.log"; fail "promtool check metrics"; }
note "promtool check metrics: clean on $(wc -l < "$tmp/metrics.prom") lines, $(grep -c '^# TYPE' "$tmp/metrics.prom") families"

hdr() { # url [curl args] -> headers of a request, lowercased
	u=$1; shift
	curl -s -o /dev/null -D - "$@" "$u" | tr -d '\r' | tr 'A-Z' 'a-z'
}
hdr "$url/metrics" | grep -q '^content-type: text/plain; version=0.0.4; charset=utf-8$' || fail "/metrics content type"
# Protobuf is rendered only while scrapers ask for it: the first such request gets text (Prometheus accepts both),
# and from the next interval on it gets protobuf.
pbaccept='Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3'
hdr "$url/metrics" -H "$pbaccept" | grep -q '^content-type: text/plain; version=0.0.4; charset=utf-8$' ||
	fail "/metrics: the first protobuf request should get text"
pbtype='^content-type: application/vnd.google.protobuf; proto=io.prometheus.client.metricfamily; encoding=delimited$'
i=0
until hdr "$url/metrics" -H "$pbaccept" | grep -q "$pbtype"; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "/metrics: no protobuf content type within 60 s of the first protobuf request"
	sleep 0.2
done
hdr "$url/metrics" -H 'Accept-Encoding: gzip' | grep -q '^content-encoding: gzip$' || fail "/metrics gzip"
[ "$(curl -s -H 'Accept-Encoding: gzip' "$url/metrics" | gzip -dc | head -1)" = "$(head -1 "$tmp/metrics.prom")" ] ||
	fail "gzip body does not inflate to the text"
len=$(hdr "$url/metrics" -I | sed -n 's/^content-length: //p')
[ -n "$len" ] && [ "$len" -gt 1000 ] || fail "HEAD /metrics: content-length $len"
[ "$(curl -s -I "$url/metrics" -o /dev/null -w '%{size_download}')" = 0 ] || fail "HEAD /metrics sent a body"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/nope")" = 404 ] || fail "/nope not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/metrics")" = 405 ] || fail "POST /metrics not 405"
hdr "$url/metrics" -X POST | grep -q '^allow: get, head$' || fail "405 without Allow"
hdr "$url/verdicts" | grep -q '^content-type: application/json$' || fail "/verdicts content type"

curl -sf "$url/verdicts" > "$tmp/verdicts.json" || fail "GET /verdicts"
id=$(python3 - "$tmp/verdicts.json" "$rel" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
assert set(("host", "interval_s", "targets")) <= set(d), d.keys()
t = [x for x in d["targets"] if x["cgroup"] == sys.argv[2]]
assert len(t) == 1, [x["cgroup"] for x in d["targets"]][:5]
t = t[0]
for k in ("cgroup", "cgroup_id", "identity", "verdict", "score", "sources", "reasons", "first_seen", "since", "action"):
    assert k in t, k
assert t["verdict"] in ("clean", "suspect", "mining") and 0 <= t["score"] <= 1
assert t["first_seen"].endswith("Z")
print(t["cgroup_id"])
EOP
) || fail "/verdicts JSON"
[ "$id" = "$(stat -c %i "$busy")" ] || fail "cgroup_id $id is not the inode of $busy"
curl -sf "$url/verdicts/$id" | python3 -c 'import json,sys; t=json.load(sys.stdin); assert t["cgroup"]==sys.argv[1]' "$rel" ||
	fail "/verdicts/$id"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/verdicts/1")" = 404 ] || fail "/verdicts/1 not 404"
note "HTTP surface ok; /verdicts/$id is $rel"
exit 0
