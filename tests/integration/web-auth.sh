# --web.config.file: TLS and basic auth on a real `rigwatch run`, checked with curl and with a real Prometheus
# (Debian's prometheus) scraping over TLS with basic auth. The certificate is self-signed, made here by openssl;
# the bcrypt hash by Python's crypt module (libxcrypt underneath, as in the agent). A second Prometheus job with
# a wrong password must see up == 0. A bad web config makes the agent exit 2 naming file:line.
. tests/integration/lib.sh

command -v openssl >/dev/null || skip "openssl not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v prometheus >/dev/null || skip "prometheus not installed (Debian package prometheus)"
tmp=$(mktemp -d)
hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret pass", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))' 2>/dev/null)
case "$hash" in '$2b$'*) ;; *) skip "no bcrypt from python3's crypt module" ;; esac

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/tls.key" -out "$tmp/tls.crt" -days 2 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1,DNS:localhost > "$tmp/openssl.log" 2>&1 || { cat "$tmp/openssl.log"; fail "openssl req"; }
cat > "$tmp/web.yml" <<EOC
# relative paths: next to this file
tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
basic_auth_users:
  prometheus: '$hash'
EOC

# a bad web config: exit 2, the message names file and line
printf 'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  min_version: TLS13\n' > "$tmp/bad.yml"
"$RW" check-config --web.config.file="$tmp/bad.yml" > "$tmp/bad.out" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "check-config with a bad web config: exit $rc, want 2"
grep -q "bad.yml:4: tls_server_config.min_version is not supported" "$tmp/bad.out" || { cat "$tmp/bad.out"; fail "bad web config message"; }

port=$(rw_free_port)
url="https://127.0.0.1:$port"
printf '[agent]\ninclude = /rwtest.%s/*\n' $$ > "$tmp/agent.conf"
"$RW" run --config.file="$tmp/agent.conf" --web.listen-address="127.0.0.1:$port" --web.config.file="$tmp/web.yml" \
	> "$tmp/agent.log" 2>&1 &
agent_pid=$!
rw_pids="$rw_pids $agent_pid"
c="curl -s --cacert $tmp/tls.crt -o /dev/null -w %{http_code}"
i=0
until [ "$($c "$url/healthz")" = 200 ]; do
	i=$((i + 1)); [ $i -lt 150 ] || { cat "$tmp/agent.log"; fail "no /healthz over TLS on $port"; }
	sleep 0.1
done

code() { got=$($c "$@"); echo "$got"; }
[ "$(code "$url/metrics")" = 401 ] || fail "/metrics without credentials: want 401"
[ "$(code -u prometheus:wrong "$url/metrics")" = 401 ] || fail "/metrics with a wrong password: want 401"
[ "$(code -u nobody:'s3cret pass' "$url/metrics")" = 401 ] || fail "/metrics as an unknown user: want 401"
[ "$(code -u prometheus:'s3cret pass' "$url/metrics")" = 200 ] || fail "/metrics with the password: want 200"
[ "$(code -u prometheus:'s3cret pass' "$url/verdicts")" = 200 ] || fail "/verdicts with the password: want 200"
[ "$(code "$url/verdicts")" = 401 ] || fail "/verdicts without credentials: want 401"
[ "$(code "$url/nope")" = 401 ] || fail "an unknown path without credentials: want 401 (no path probing)"
[ "$(code "$url/healthz")" = 200 ] || fail "/healthz without credentials: want 200"
curl -s --cacert "$tmp/tls.crt" -D - -o /dev/null "$url/metrics" | grep -qi '^WWW-Authenticate: Basic realm="rigwatch"' ||
	fail "401 without WWW-Authenticate: Basic"
curl -s -m 5 -o /dev/null "http://127.0.0.1:$port/healthz" && fail "plain HTTP answered on a TLS listener"
note "curl: 401 without or with wrong credentials, 200 with them, /healthz open, TLS only"

pport=$(rw_free_port)
cat > "$tmp/prom.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: rigwatch
    scheme: https
    tls_config:
      ca_file: $tmp/tls.crt
    basic_auth:
      username: prometheus
      password: 's3cret pass'
    static_configs:
      - targets: ["127.0.0.1:$port"]
  - job_name: wrongpass
    scheme: https
    tls_config:
      ca_file: $tmp/tls.crt
    basic_auth:
      username: prometheus
      password: wrong
    static_configs:
      - targets: ["127.0.0.1:$port"]
EOC
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/prom-data" --web.listen-address="127.0.0.1:$pport" \
	> "$tmp/prom.log" 2>&1 &
rw_pids="$rw_pids $!"
rw_wait_http "http://127.0.0.1:$pport/-/ready" 30 || { tail -20 "$tmp/prom.log"; fail "prometheus not ready"; }
query() {
	curl -sf --get "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys
d=json.load(sys.stdin); r=d["data"]["result"]
print(r[0]["value"][1] if d["status"]=="success" and r else "")'
}
up=""; bad=""; info=""; i=0
while [ $i -lt 120 ]; do
	up=$(query 'up{job="rigwatch"}'); bad=$(query 'up{job="wrongpass"}')
	info=$(query 'rigwatch_build_info{job="rigwatch"}')
	[ "$up" = 1 ] && [ "$bad" = 0 ] && [ "$info" = 1 ] && break
	sleep 0.5; i=$((i + 1))
done
[ "$up" = 1 ] || { tail -20 "$tmp/prom.log"; fail "prometheus over TLS with basic auth: up = '$up', want 1"; }
[ "$bad" = 0 ] || fail "prometheus with a wrong password: up = '$bad', want 0"
[ "$info" = 1 ] || fail "no rigwatch_build_info scraped over TLS (query gave '$info')"
note "prometheus: up 1 over TLS with basic auth, up 0 with a wrong password"
for p in $rw_pids; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
rm -rf "$tmp"
exit 0
