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
# Whether process $1 is alive: there and not a zombie. One read of its stat (the state follows the command name,
# which may hold spaces): a process reaped between a check and a read is gone, not alive.
rw_alive() {
	_st=$(rw_stat_state "/proc/$1/stat")
	[ -n "$_st" ] && [ "$_st" != Z ]
}
# The opposite, for wait loops (wait_for 10 rw_gone "$pid").
rw_gone() { ! rw_alive "$1"; }
# The state letter of a /proc stat file ($1: /proc/PID/stat or /proc/PID/task/TID/stat), empty if it is gone.
rw_stat_state() { sed -n 's/.*) \([A-Za-z]\).*/\1/p' "$1" 2>/dev/null; }
# Fail if a thread of process $1 is left in a trace stop ('t'). The agent's ptrace reads stop a busy thread for a
# moment many times a second, so one look can catch a read in flight: a 't' counts once it lasts 20 looks, 0.1 s
# apart.
rw_not_trace_stopped() {
	for _t in /proc/"$1"/task/*; do
		_n=0
		while [ "$(rw_stat_state "$_t/stat")" = t ]; do
			_n=$((_n + 1))
			[ $_n -lt 20 ] || fail "thread ${_t##*/} of $1 left in a trace stop"
			sleep 0.1
		done
	done
}

[ "$(id -u)" = 0 ] || skip "needs root for cgroups"

# Debian's python3, the one `make deps` installs packages for, ahead of whatever python3 is first on PATH: the
# scripts call it hundreds of times (polls of /verdicts, receivers, JSON checks), and a version manager's shim (pyenv
# on this project's machines) is a shell and a second program per call: 0.4 s of CPU against 0.03 s, and 15-20 s of
# wall time per call in a busy integration stage.
if [ -x /usr/bin/python3 ] && [ -d "$RW_BUILD" ]; then
	mkdir -p "$RW_BUILD/pybin" && { ln -s /usr/bin/python3 "$RW_BUILD/pybin/python3" 2>/dev/null || :; }
	if [ -x "$RW_BUILD/pybin/python3" ]; then PATH=$RW_BUILD/pybin:$PATH; fi
fi

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

# A private Docker engine (docker.io's dockerd) for one script: its data root, exec root, pid file, socket and log
# under $1, its containers' cgroups under /$2 (cgroupfs driver), no iptables and no bridge (this machine has no
# network to give them). Waits at most 60 s for the engine to answer and skips the script where it cannot start.
# rw_dk runs the engine's own CLI against it (RW_DK_TIMEOUT seconds per call, default 60). rw_dockerd_stop removes
# its containers, stops it and the containerd it started, unmounts what it left under $1 and removes its cgroups;
# call it from the script's EXIT trap.
rw_dockerd_dir=""
rw_dockerd_cg=""
rw_dockerd_pid=""
rw_dk() { timeout "${RW_DK_TIMEOUT:-60}" "$RW_DOCKER_CLI" -H "unix://$rw_dockerd_dir/docker.sock" "$@"; }
rw_dockerd_start() {
	command -v dockerd >/dev/null || skip "dockerd not installed (docker.io)"
	# the CLI that comes with the engine first: another docker on PATH may speak a newer API
	RW_DOCKER_CLI=$(command -v /usr/bin/docker || command -v docker) || skip "no docker CLI"
	rw_dockerd_dir=$1
	rw_dockerd_cg=$2
	dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
		--exec-opt native.cgroupdriver=cgroupfs --data-root "$1/data" --exec-root "$1/exec" \
		--pidfile "$1/docker.pid" -H "unix://$1/docker.sock" --cgroup-parent "/$2" > "$1/dockerd.log" 2>&1 &
	rw_dockerd_pid=$!
	_i=0
	until rw_dk version >/dev/null 2>&1; do
		if ! kill -0 "$rw_dockerd_pid" 2>/dev/null || [ $_i -ge 600 ]; then
			tail -5 "$1/dockerd.log" >&2
			skip "dockerd cannot start here"
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	rw_dockerd_up=$((_i / 10))
}
rw_dockerd_stop() {
	if [ -n "$rw_dockerd_pid" ]; then
		_ids=$(rw_dk ps -aq 2>/dev/null)
		[ -n "$_ids" ] && rw_dk rm -f $_ids >/dev/null 2>&1
		kill "$rw_dockerd_pid" 2>/dev/null
		_i=0
		while kill -0 "$rw_dockerd_pid" 2>/dev/null && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
		kill -9 "$rw_dockerd_pid" 2>/dev/null
		# the containerd that this dockerd started for itself, should it outlive it
		_cpid=$(cat "$rw_dockerd_dir/exec/containerd/containerd.pid" 2>/dev/null)
		[ -n "$_cpid" ] && kill -0 "$_cpid" 2>/dev/null && kill -9 "$_cpid" 2>/dev/null
		rw_dockerd_pid=""
	fi
	[ -n "$rw_dockerd_dir" ] || return 0
	# mounts under the data and exec roots (overlay, netns, shm), innermost first
	awk -v t="$rw_dockerd_dir" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r _m; do
		umount -l "$_m" 2>/dev/null
	done
	for _h in /sys/fs/cgroup/*; do
		[ -d "$_h/$rw_dockerd_cg" ] && find "$_h/$rw_dockerd_cg" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}
