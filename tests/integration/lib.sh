# Shared helpers for integration scripts (sourced, POSIX sh). Scripts exit 0 ok, 1 failed, 77 skipped.
: "${RW_BUILD:=$PWD/build}" "${RW_TOP:=$PWD}"
RW=$RW_BUILD/rigwatch

# The cgroup2 mount: pure v2 at /sys/fs/cgroup, or the hybrid /sys/fs/cgroup/unified.
rw_cg2_root() {
	awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo
}

fail() { echo "FAIL: $*" >&2; exit 1; }
# Every HTTP request of a test is bounded: a server that accepts and never answers fails the test, not hangs it.
curl() { command curl --max-time 30 "$@"; }
skip() { echo "SKIP: $*" >&2; exit 77; }
note() { echo "  $*"; }

[ "$(id -u)" = 0 ] || skip "needs root for cgroups"
CG2=$(rw_cg2_root)
[ -n "$CG2" ] || skip "no cgroup2 mount"

# A private parent cgroup per script run; rw_cleanup kills and removes everything under it.
RW_CG_PARENT="$CG2/rwtest.$$"
rw_cg_children=""
rw_pids=""

# On a hybrid host the memory controller lives on v1: each test cgroup gets its v1 memory twin at the same path, as
# systemd gives every unit there, so the agent reads memory.stat (`mining` needs RandomX's memory footprint).
RW_MEM1=""
if ! grep -qw memory "$CG2/cgroup.controllers" 2>/dev/null; then
	RW_MEM1=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)
fi

rw_mkcg() { # name -> prints absolute path
	mkdir -p "$RW_CG_PARENT/$1" || fail "mkdir $RW_CG_PARENT/$1"
	[ -n "$RW_MEM1" ] && mkdir -p "$RW_MEM1${RW_CG_PARENT#"$CG2"}/$1" 2>/dev/null
	echo "$RW_CG_PARENT/$1"
}

rw_run_in() { # cgroup-path command... : start command in the cgroup (and its v1 memory twin), print its pid
	_cg=$1; shift
	rw_run_log "$_cg" /dev/null "$@"
}

# rw_run_in with the command's output in a file. A process in the v2 cgroup but not in its v1 memory twin would
# show the agent an empty memory cgroup: on a real hybrid host the two hold the same processes.
rw_run_log() { # cgroup-path logfile command... : print its pid
	cg=$1; log=$2; shift 2
	twin=""
	[ -n "$RW_MEM1" ] && [ -d "$RW_MEM1${cg#"$CG2"}" ] && twin="$RW_MEM1${cg#"$CG2"}"
	sh -c 'echo $$ > "$0/cgroup.procs" || exit 1; [ -z "$1" ] || echo $$ > "$1/cgroup.procs"; shift; exec "$@"' \
		"$cg" "$twin" "$@" > "$log" 2>&1 &
	echo $!
}

rw_cleanup() {
	for p in $rw_pids; do kill -9 "$p" 2>/dev/null; done
	if [ -d "$RW_CG_PARENT" ]; then
		find "$RW_CG_PARENT" -depth -mindepth 1 -type d | while read -r d; do
			[ -f "$d/cgroup.kill" ] && echo 1 > "$d/cgroup.kill" 2>/dev/null
			[ -f "$d/cgroup.freeze" ] && echo 0 > "$d/cgroup.freeze" 2>/dev/null
		done
		sleep 0.2
		find "$RW_CG_PARENT" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
	if [ -n "$RW_MEM1" ] && [ -d "$RW_MEM1${RW_CG_PARENT#"$CG2"}" ]; then
		find "$RW_MEM1${RW_CG_PARENT#"$CG2"}" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
}
trap rw_cleanup EXIT INT TERM

# Wait until `curl -sf URL` succeeds, at most $2 seconds.
rw_wait_http() {
	i=0
	while [ $i -lt $(( ${2:-10} * 10 )) ]; do
		curl -sf "$1" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# A free TCP port on loopback.
rw_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Start `rigwatch run` on a free loopback port, watching only this script's cgroups (or the globs in RW_INCLUDE),
# and wait for /healthz. $1: a directory for its config and log; $2: extra config lines (optional). Sets port, url
# and agent_pid.
rw_start_agent() {
	port=$(rw_free_port)
	url="http://127.0.0.1:$port"
	printf '[agent]\ninclude = %s\n%s' "${RW_INCLUDE:-/rwtest.$$/*}" "${2:-}" > "$1/agent.conf"
	"$RW" run --config.file="$1/agent.conf" --web.listen-address="127.0.0.1:$port" > "$1/agent.log" 2>&1 &
	agent_pid=$!
	rw_pids="$rw_pids $agent_pid"
	rw_wait_http "$url/healthz" 60 || { cat "$1/agent.log"; fail "rigwatch run: no /healthz on $port within 60 s"; }
}
