#!/bin/sh
# rw-integration: long
# The Docker story on a real engine: a private dockerd (its own data root, exec root, socket and cgroup parent under
# this run's names), two locally built images imported with `docker import` (a RandomX miner, tools/rxload renamed
# nginx, with its shared libraries and loader; a shell running a busy loop), containers with names and labels,
# `--network none`. Asserted:
#   freeze mode: the miner container reaches `mining` with its name, image and labels in /verdicts, in the alert
#     line (Falco's container.name, container.image.repository, container.image.tag) and in rigwatch_container_info;
#     its origin says it is the entry point; the engine pauses it (docker inspect: Paused) and the audit line says
#     the engine API did it; the benign container stays clean and running. A miner started later in the benign
#     container by `docker exec` is convicted with origin "exec", and paused too.
#   kill mode: a new miner container is killed through the engine: docker inspect shows it exited 137, and the
#     benign container beside it still runs.
# Skipped (77) only where dockerd cannot start. Everything this run made (daemon, its containerd, containers, mounts,
# cgroups, temp directory) is removed at the end, failure or not. Waits are bounded by LIMIT seconds (default 180).
. tests/integration/lib.sh

LIMIT=${LIMIT:-180}
RX=$RW_BUILD/rxload
[ -x "$RX" ] || fail "missing $RX (make tools)"
command -v curl >/dev/null || skip "curl not installed"
command -v python3 >/dev/null || skip "python3 not installed"
case $(uname -m) in x86_64|aarch64) ;; *) skip "no FP control-register evidence on $(uname -m)" ;; esac

tmp=$(mktemp -d /tmp/rwdocker.XXXXXX)
cgp="rwtest.$$.docker"
sock="$tmp/docker.sock"
dk() { rw_dk "$@"; }

docker_cleanup() {
	# a container the agent froze by cgroup writes (engine unreachable) is thawed, so the engine can remove it
	[ -d "$CG2/$cgp" ] && find "$CG2/$cgp" -mindepth 1 -name cgroup.freeze | while read -r f; do echo 0 > "$f"; done 2>/dev/null
	rw_dockerd_stop
	rw_cleanup
	rm -rf "$tmp"
}
trap docker_cleanup EXIT INT TERM

# ---- the engine
rw_dockerd_start "$tmp" "$cgp"
note "dockerd $(dk version -f '{{.Server.Version}}') up after $rw_dockerd_up s, data root $tmp/data"

# ---- images: a rootfs with the program, the libraries ldd lists and the loader
mkroot() { # dir prog:dest...
	r=$1
	shift
	for pd in "$@"; do
		p=${pd%%:*}
		d=${pd#*:}
		mkdir -p "$r$(dirname "$d")" && cp "$p" "$r$d" || fail "copy $p into $r"
		for l in $(ldd "$p" | awk '/=>/ { print $3 } /^[ \t]*\// { print $1 }'); do
			mkdir -p "$r$(dirname "$l")" && cp -L "$l" "$r$l" || fail "copy $l into $r"
		done
	done
	tar -C "$r" -cf "$r.tar" . || fail "tar $r"
}
mkroot "$tmp/miner" "$RX:/usr/sbin/nginx"
mkroot "$tmp/web" /bin/sh:/bin/sh
dk import "$tmp/miner.tar" acme/nginx:1.25 >/dev/null || fail "docker import miner"
dk import "$tmp/web.tar" acme/web:2.1 >/dev/null || fail "docker import web"

run_miner() { # name
	dk run -d --init --network none --name "$1" --label com.docker.compose.project=shop --label tier=edge \
		acme/nginx:1.25 /usr/sbin/nginx --mode light --threads 1 --name nginx >/dev/null || fail "docker run $1"
}
run_web() { # name
	dk run -d --init --network none --name "$1" --label com.docker.compose.project=shop --label tier=front \
		acme/web:2.1 /bin/sh -c 'while :; do :; done' >/dev/null || fail "docker run $1"
}
cid() { dk inspect -f '{{.Id}}' "$1"; }

# One line per container target of this daemon: "name verdict image started_by".
verdicts() {
	curl -sf "$url/verdicts" > "$tmp/v.json" || return 1
	python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["targets"]:
    c = t.get("container")
    if c and t["cgroup"].startswith(sys.argv[2]):
        print(c["name"], t["verdict"], c.get("image", "-"), t.get("origin", {}).get("started_by", "-"))' \
		"$tmp/v.json" "/$cgp/"
}
field() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$tmp/now"; }
wait_for() { # seconds command...
	_end=$(( $(date +%s) + $1 ))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -ge $_end ] && return 1
		sleep 0.5
	done
}
is_mining() { verdicts > "$tmp/now" || return 1; [ "$(field "$1" 2)" = mining ]; }
benign_clean() {
	verdicts > "$tmp/now" || return 0
	v=$(field "$1" 2)
	[ -z "$v" ] || [ "$v" = clean ] || fail "$1 (benign busy loop) went $v"
}
inspect_is() { [ "$(dk inspect -f "$2" "$1" 2>/dev/null)" = "$3" ]; }

agent() { # mode [directory name]
	d=$tmp/${2:-$1}
	mkdir -p "$d"
	RW_INCLUDE="/$cgp/*" rw_start_agent "$d" "[response]
mode = $1
audit_log = $d/audit.jsonl
[alerts]
output = $d/alerts.jsonl
[docker]
root = $tmp/data
socket = $sock
labels = com.docker.compose.*,tier
"
}
stop_agent() { kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; }

# ---- freeze mode
run_web web
run_miner edge
agent freeze
t0=$(date +%s)
until is_mining edge; do
	benign_clean web
	[ $(( $(date +%s) - t0 )) -gt "$LIMIT" ] && { cat "$tmp/now"; tail -20 "$tmp/freeze/agent.log"; fail "edge not mining after $LIMIT s"; }
	sleep 0.5
done
note "edge (renamed RandomX in a container): mining after $(( $(date +%s) - t0 )) s: $(grep '^edge ' "$tmp/now")"
[ "$(field edge 3)" = acme/nginx:1.25 ] || fail "/verdicts: edge image is $(field edge 3)"
[ "$(field edge 4)" = entrypoint ] || fail "/verdicts: edge origin is $(field edge 4), not entrypoint"
# hashing_since is the first interval whose FP evidence and CPU share would justify a response; a miner convicted
# while it got little CPU (a busy machine) has none yet, so wait for it rather than expect it with the verdict.
edge_fields() {
	curl -sf "$url/verdicts" > "$tmp/v.json" || return 3
	python3 - "$tmp/v.json" "$(cid edge)" <<'EOF'
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["targets"] if t.get("container", {}).get("name") == "edge"][0]
c, o = t["container"], t["origin"]
assert t["identity"]["id"] == sys.argv[2], t["identity"]
assert c["short_id"] == sys.argv[2][:12] and c["image_repository"] == "acme/nginx" and c["image_tag"] == "1.25", c
assert c["labels"] == {"com.docker.compose.project": "shop", "tier": "edge"}, c["labels"]
assert c["started"], c
p = o["process_tree"][0]
assert p["exe"] == "/usr/sbin/nginx" and p["cmdline"] == "nginx" and p["uid"] == 0 and p["start"], p  # rxload sets argv to its --name
sys.exit(0 if o["hashing_since"] else 3)
EOF
}
t1=$(date +%s)
while edge_fields; r=$?; [ $r = 3 ]; do
	[ $(( $(date +%s) - t1 )) -gt "$LIMIT" ] && fail "/verdicts: edge's origin has no hashing_since after $LIMIT s"
	sleep 0.5
done
[ $r = 0 ] || fail "/verdicts: edge's container fields"
note "edge: container fields and origin in /verdicts, hashing_since $(( $(date +%s) - t1 )) s after the verdict"
wait_for 60 grep -q '"container.name":"edge"' "$tmp/freeze/alerts.jsonl" || fail "no alert line names edge"
grep '"rule":"Cryptocurrency miner detected"' "$tmp/freeze/alerts.jsonl" | grep '"container.name":"edge"' |
	grep '"container.image.repository":"acme/nginx"' | grep '"container.image.tag":"1.25"' |
	grep -q '"rigwatch.origin.started_by":"entrypoint"' || { cat "$tmp/freeze/alerts.jsonl"; fail "alert line: edge's names"; }
curl -sf "$url/metrics" | grep '^rigwatch_container_info{' | grep 'name="edge"' | grep 'image="acme/nginx:1.25"' |
	grep -q 'container_label_tier="edge"' || fail "/metrics: no rigwatch_container_info for edge"
wait_for "$LIMIT" inspect_is edge '{{.State.Paused}}' true || { tail -20 "$tmp/freeze/agent.log"; fail "edge not paused by the engine"; }
grep "\"cgroup\":\"/$cgp/$(cid edge)\"" "$tmp/freeze/audit.jsonl" | grep '"result":"ok"' |
	grep -q 'docker engine API: POST /containers/[0-9a-f]*/pause: 204' || { cat "$tmp/freeze/audit.jsonl"; fail "audit: no engine pause of edge"; }
note "audit: $(grep "\"cgroup\":\"/$cgp/$(cid edge)\"" "$tmp/freeze/audit.jsonl" | grep '"result":"ok"' | sed 's/.*"detail":"\([^"]*\)".*/\1/')"
dk ps --format '{{.Names}} {{.Status}}' | grep -q '^edge .*(Paused)' || fail "docker ps does not show edge Paused"
note "edge paused by the engine: $(dk ps --format '{{.Names}}: {{.Status}}' | tr '\n' ' ')"
benign_clean web
inspect_is web '{{.State.Status}}/{{.State.Paused}}' running/false || fail "web is not running unpaused"
# rigwatch list: one look names both containers
COLUMNS=300 "$RW" list --config.file="$tmp/freeze/agent.conf" > "$tmp/list" 2> "$tmp/list.err" ||
	{ cat "$tmp/list.err"; fail "rigwatch list exited $?"; }
grep -q '^docker:web\[acme/web:2.1\] ' "$tmp/list" || { cat "$tmp/list"; fail "rigwatch list: no row naming web"; }
grep -q '^docker:edge\[acme/nginx:1.25\] ' "$tmp/list" || { cat "$tmp/list"; fail "rigwatch list: no row naming edge"; }

# A miner dropped into the running web container later (docker cp + docker exec): convicted, origin "exec".
dk cp - web:/ < "$tmp/miner.tar" || fail "docker cp into web"
dk exec -d web /usr/sbin/nginx --mode light --threads 1 --name php-fpm || fail "docker exec into web"
t0=$(date +%s)
wait_for "$LIMIT" is_mining web || { cat "$tmp/now"; fail "web with an exec'd miner not mining after $LIMIT s"; }
note "web after docker exec of a miner: mining after $(( $(date +%s) - t0 )) s: $(grep '^web ' "$tmp/now")"
[ "$(field web 4)" = exec ] || fail "web's origin is $(field web 4), not exec"
python3 - "$tmp/v.json" <<'EOF' || fail "/verdicts: web's process tree"
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["targets"] if t.get("container", {}).get("name") == "web"][0]
tree = t["origin"]["process_tree"]
assert "php-fpm" in tree[0]["cmdline"] and tree[0]["exe"] == "/usr/sbin/nginx", tree
assert "containerd-shim" in tree[-1]["comm"], tree  # started from outside the container's process tree
EOF
wait_for 60 inspect_is web '{{.State.Paused}}' true || fail "web (exec'd miner) not paused by the engine"
stop_agent
dk rm -f edge web >/dev/null

# ---- kill mode
run_web web2
run_miner edge2
agent kill
t0=$(date +%s)
until inspect_is edge2 '{{.State.Status}}' exited; do
	benign_clean web2
	[ $(( $(date +%s) - t0 )) -gt "$LIMIT" ] && { verdicts; tail -20 "$tmp/kill/agent.log"; fail "edge2 not stopped after $LIMIT s"; }
	sleep 0.5
done
code=$(dk inspect -f '{{.State.ExitCode}}' edge2)
note "edge2: exited $code $(( $(date +%s) - t0 )) s after the agent started"
[ "$code" = 137 ] || fail "edge2 exited $code, not 137 (SIGKILL through the engine)"
grep "\"cgroup\":\"/$cgp/$(cid edge2)\"" "$tmp/kill/audit.jsonl" | grep '"action":"kill"' | grep '"result":"\(ok\|vanished\)"' |
	grep -q 'killed by the engine' || { cat "$tmp/kill/audit.jsonl"; fail "audit: edge2 not killed by the engine"; }
note "audit: $(grep "\"cgroup\":\"/$cgp/$(cid edge2)\"" "$tmp/kill/audit.jsonl" | grep -v '"result":"pending"' | sed 's/.*"detail":"\([^"]*\)".*/\1/')"
inspect_is web2 '{{.State.Status}}' running || fail "web2 (benign) is not running"
benign_clean web2
# names follow the engine's state: a rename shows within a few intervals (the state file is re-read on change)
dk rename web2 shop-web || fail "docker rename"
has_name() { verdicts > "$tmp/now" && [ -n "$(field shop-web 2)" ]; }
wait_for 60 has_name || { cat "$tmp/now"; fail "/verdicts does not show web2 renamed shop-web"; }
benign_clean shop-web
stop_agent
dk rm -f edge2 >/dev/null

# ---- freeze mode with the engine API unreachable: the cgroup is frozen instead, and the audit line says so
run_miner edge3
sock_real=$sock
sock="$tmp/no-such.sock"
agent freeze freeze-noapi
sock=$sock_real
audit_noapi() {
	grep "\"cgroup\":\"/$cgp/$(cid edge3)\"" "$tmp/freeze-noapi/audit.jsonl" 2>/dev/null | grep '"result":"ok"' |
		grep -q 'docker engine API at [^ ]*no-such.sock unreachable ([^)]*); frozen by cgroup writes instead: cgroup.freeze=1; frozen 1'
}
wait_for "$LIMIT" audit_noapi || { cat "$tmp/freeze-noapi/audit.jsonl" 2>/dev/null; tail -20 "$tmp/freeze-noapi/agent.log"; fail "edge3: no cgroup freeze after the engine API failed"; }
[ "$(cat "$CG2/$cgp/$(cid edge3)/cgroup.freeze")" = 1 ] || fail "edge3: cgroup.freeze is not 1"
note "engine unreachable: $(grep "\"cgroup\":\"/$cgp/$(cid edge3)\"" "$tmp/freeze-noapi/audit.jsonl" | grep '"result":"ok"' | sed 's/.*"detail":"\([^"]*\)".*/\1/')"
stop_agent
exit 0
