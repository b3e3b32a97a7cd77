# Indicator scan on live processes: a miner (rxload) whose command line carries a stratum URL and that holds a
# connection to a "pool" listening on a pool port on 127.0.0.1; a renamed miner ("nginx", bare command line)
# injected into a cgroup next to an ordinary process, found only by its pool connection; the pool's own listener
# is not a pool connection. Also a bad rule file: file:line message and exit 2.
. tests/integration/lib.sh

RX=$RW_BUILD/rxload
CLI=$RW_BUILD/progs/procscan_cli
for b in "$RX" "$CLI"; do [ -x "$b" ] || fail "missing $b (make tools)"; done
tmp=$(mktemp -d)

# a free pool port from the default rules
port=""
for p in 3333 14444 45700 7777 5555; do
	python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' $p 2>/dev/null &&
		{ port=$p; break; }
done
[ -n "$port" ] || skip "no pool port free on 127.0.0.1"
grep -q "^pool-port $port\$" models/indicators.rules || fail "port $port not in the default rules"

pool=$(rw_mkcg pool)
miner=$(rw_mkcg miner)
injected=$(rw_mkcg webapp)
sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$pool" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
    with open(sys.argv[2], "a") as f: f.write(c.recv(4096).decode(errors="replace"))
' "$port" "$tmp/pool.log" > /dev/null 2>&1 &
lp=$!
i=0; while ! python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' $port 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "pool listener did not start"; sleep 0.1
done
m=$(rw_run_in "$miner" "$RX" --mode light --threads 1 --duty 5 --period-ms 200 --url "stratum+tcp://127.0.0.1:$port")
w=$(rw_run_in "$injected" sleep 60)
s=$(rw_run_in "$injected" "$RX" --mode light --threads 1 --duty 5 --period-ms 200 --name nginx \
	--url "stratum+tcp://127.0.0.1:$port")
rw_pids="$rw_pids $lp $m $w $s"
# both logins reach the pool (the probe-connection above adds an empty read)
i=0; while [ "$(grep -o '"method":"login"' "$tmp/pool.log" 2>/dev/null | wc -l)" -lt 2 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "miners did not log in to the pool"; sleep 0.1
done

"$CLI" models/indicators.rules /proc "$miner" "$injected" "$pool" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "procscan_cli exited $?"; }
cat "$tmp/out"
line() { grep "^procscan cgroup=$1 " "$tmp/out"; }
val() { line "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# the miner: stratum URL on its command line, its pool connection, its origin
[ "$(val "$miner" processes)" = 1 ] || fail "miner: processes $(val "$miner" processes)"
[ "$(val "$miner" pool_connections)" = 1 ] || fail "miner: pool connections $(val "$miner" pool_connections)"
[ "$(val "$miner" rule_hits)" = 0x14 ] || fail "miner: rule hits $(val "$miner" rule_hits), want cmdline|pool-port"
line "$miner" | grep -q "evidence=cmdline contains stratum+tcp:// (pid $m rxload)" || fail "miner: evidence"
grep -A1 "^procscan cgroup=$miner " "$tmp/out" | grep -q "^origin pid=$m ppid=[0-9]* uid=0 start=[0-9]* comm=rxload exe=$RX\$" ||
	fail "miner: origin"
# the injected, renamed miner: only its connection gives it away; the sleep next to it is clean
[ "$(val "$injected" processes)" = 2 ] || fail "webapp: processes"
[ "$(val "$injected" rule_hits)" = 0x10 ] || fail "webapp: rule hits $(val "$injected" rule_hits), want pool-port only"
[ "$(val "$injected" pool_connections)" = 1 ] || fail "webapp: pool connections"
line "$injected" | grep -q "evidence=connection to 127.0.0.1:$port (pool port) (pid $s nginx)" || fail "webapp: evidence"
grep -A1 "^procscan cgroup=$injected " "$tmp/out" | grep -q "^origin pid=$s .* comm=nginx" || fail "webapp: origin"
# the pool: a listener on a pool port is not a pool connection
[ "$(val "$pool" rule_hits)" = 0x0 ] || fail "pool: rule hits $(val "$pool" rule_hits)"
[ "$(val "$pool" pool_connections)" = 0 ] || fail "pool: connections"
note "live scan ok (pool port $port)"

# a bad rule file
printf 'name xmrig\npool-port 70000\n' > "$tmp/bad.rules"
msg=$("$CLI" "$tmp/bad.rules" /proc "$miner" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "bad rules: exit $rc"
echo "$msg" | grep -q "bad.rules:2: bad pool-port '70000'" || fail "bad rules: message: $msg"
note "bad rule file: $msg"
rm -rf "$tmp"
exit 0
