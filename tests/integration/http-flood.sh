# Hostile HTTP clients against `rigwatch run` on loopback (tools/bench/httpflood --check): a slow-header flood
# from one address, a flood from 40 addresses each within its share but together far over the pool, and idle
# connections from many addresses. Throughout each, /healthz from another address must be answered (at most 3
# attempts each), /metrics must answer, the sampling loop must go on (rigwatch_intervals_total advances), the
# server must close the trickling connections, and the agent's RSS must not grow by more than 64 MiB. Nothing
# here asserts a latency: tools/bench/httpflood without --check prints those.
# rw-integration: exclusive
. tests/integration/lib.sh

flood=$RW_BUILD/bench/httpflood
[ -x "$flood" ] || fail "$flood not built (make all)"
# The floods bind client sockets to 127.0.0.2 and up: all of 127.0.0.0/8 must route to lo.
ip route get 127.0.1.1 2>/dev/null | grep -q ' dev lo' || skip "127.0.0.0/8 is not routed to lo here"

tmp=$(mktemp -d)
rw_start_agent "$tmp"
note "agent: rigwatch run on 127.0.0.1:$port (pid $agent_pid)"

# Bounded: httpflood stops each flood after --seconds; the outer timeout only catches a hang.
timeout 300 "$flood" --port "$port" --pid "$agent_pid" --seconds 6 --conns 600 --addrs 40 --per-addr 16 --check \
	> "$tmp/flood.out" 2>&1
rc=$?
sed 's/^/  /' "$tmp/flood.out"
kill -0 "$agent_pid" 2>/dev/null || { tail -20 "$tmp/agent.log"; fail "the agent died during the floods"; }
[ $rc -eq 0 ] || { tail -20 "$tmp/agent.log"; fail "httpflood --check (exit $rc)"; }
# after the floods, plain service
rw_wait_http "$url/healthz" 30 || fail "/healthz not answering after the floods"
curl -sf "$url/metrics" | grep -q '^rigwatch_intervals_total ' || fail "/metrics not answering after the floods"
for p in $rw_pids; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
rm -rf "$tmp"
exit 0
