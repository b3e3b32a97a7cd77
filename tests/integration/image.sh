# deploy/docker: the agent image built on a real Docker engine (a private dockerd: its own data root, exec root,
# socket and cgroup parent, no network), with the legacy builder (no BuildKit, nothing pulled: FROM scratch).
# Asserted: the image builds; `version` runs in it (the binary finds every library it links); `check-config` of
# the image's /etc/rigwatch/rigwatch.conf passes; `replay` of a recorded RandomX trace with that configuration (the
# model and rules from /usr/share/rigwatch in the image) reaches `mining`; the image holds no shell.
# Skipped (77) where dockerd cannot start or is not installed. Everything this run made (daemon, containers,
# image store, mounts, cgroups, temp directory) is removed at the end.
. tests/integration/lib.sh

command -v dockerd >/dev/null || skip "dockerd not installed (docker.io)"
DOCKER_CLI=$(command -v /usr/bin/docker || command -v docker) || skip "no docker CLI"
[ -x "$RW" ] || fail "no $RW"
trace=$(ls "$RW_TOP"/tests/data/traces/rx-light-*.trace 2>/dev/null | head -1)
[ -n "$trace" ] || fail "no RandomX trace under tests/data/traces"

tmp=$(mktemp -d /tmp/rwimage.XXXXXX)
cgp="rwtest.$$.image"
sock="$tmp/docker.sock"
dk() { timeout 300 "$DOCKER_CLI" -H "unix://$sock" "$@"; }
dockerd_pid=""
image_cleanup() {
	if [ -n "$dockerd_pid" ]; then
		ids=$(dk ps -aq 2>/dev/null)
		[ -n "$ids" ] && dk rm -f $ids >/dev/null 2>&1
		kill "$dockerd_pid" 2>/dev/null
		i=0
		while kill -0 "$dockerd_pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$dockerd_pid" 2>/dev/null
		cpid=$(cat "$tmp/exec/containerd/containerd.pid" 2>/dev/null)
		[ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null && kill -9 "$cpid" 2>/dev/null
	fi
	rw_cleanup
	awk -v t="$tmp" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	for h in /sys/fs/cgroup/*; do
		[ -d "$h/$cgp" ] && find "$h/$cgp" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$tmp"
}
trap image_cleanup EXIT INT TERM

dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 --exec-opt native.cgroupdriver=cgroupfs \
	--data-root "$tmp/data" --exec-root "$tmp/exec" --pidfile "$tmp/docker.pid" -H "unix://$sock" \
	--cgroup-parent "/$cgp" > "$tmp/dockerd.log" 2>&1 &
dockerd_pid=$!
i=0
until dk version >/dev/null 2>&1; do
	if ! kill -0 "$dockerd_pid" 2>/dev/null || [ $i -ge 600 ]; then
		tail -5 "$tmp/dockerd.log" >&2
		skip "dockerd cannot start here"
	fi
	sleep 0.1
	i=$((i + 1))
done
note "dockerd $(dk version -f '{{.Server.Version}}') up"

( cd "$RW_TOP" && sh deploy/docker/build-context.sh "$tmp/ctx" "$RW_BUILD" ) || fail "deploy/docker/build-context.sh"
DOCKER_BUILDKIT=0 dk build -q -t "rigwatch:test$$" "$tmp/ctx" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "docker build"; }
note "image rigwatch:test$$ built: $(dk image inspect -f '{{.Size}}' "rigwatch:test$$") bytes"

dk run --rm --network none "rigwatch:test$$" version > "$tmp/version.out" 2>&1 || { cat "$tmp/version.out"; fail "version in the image"; }
grep -qi rigwatch "$tmp/version.out" || fail "version output: $(cat "$tmp/version.out")"
dk run --rm --network none "rigwatch:test$$" check-config /etc/rigwatch/rigwatch.conf > "$tmp/cc.out" 2>&1 ||
	{ cat "$tmp/cc.out"; fail "check-config of the image's configuration"; }
grep -q '/usr/share/rigwatch/models/rigwatch.model' "$tmp/cc.out" || fail "the image's configuration does not name its model: $(cat "$tmp/cc.out")"
dk run --rm --network none -v "$trace:/trace:ro" "rigwatch:test$$" replay --config.file=/etc/rigwatch/rigwatch.conf /trace \
	> "$tmp/replay.out" 2>&1 || { cat "$tmp/replay.out"; fail "replay in the image"; }
grep -q '"verdict":"mining"' "$tmp/replay.out" || { head -c 2000 "$tmp/replay.out"; fail "replay in the image never reached mining"; }
note "in the image: version, check-config and a RandomX trace replayed to mining"
if dk run --rm --network none --entrypoint /bin/sh "rigwatch:test$$" -c true > /dev/null 2>&1; then
	fail "the image has a shell"
fi
exit 0
