# deploy/docker: the agent image built on a real Docker engine (a private dockerd: its own data root, exec root,
# socket and cgroup parent, no network), with the legacy builder (no BuildKit, nothing pulled: FROM scratch).
# Asserted: the image builds; `version` runs in it (the binary finds every library it links); `check-config` of
# the image's /etc/rigwatch/rigwatch.conf passes; `replay` of a recorded RandomX trace with that configuration (the
# model and rules from /usr/share/rigwatch in the image) reaches `mining`; the image holds no shell.
# Skipped (77) where dockerd cannot start or is not installed. Everything this run made (daemon, containers,
# image store, mounts, cgroups, temp directory) is removed at the end.
. tests/integration/lib.sh

[ -x "$RW" ] || fail "no $RW"
trace=$(ls "$RW_TOP"/tests/data/traces/rx-light-*.trace 2>/dev/null | head -1)
[ -n "$trace" ] || fail "no RandomX trace under tests/data/traces"

tmp=$(mktemp -d /tmp/rwimage.XXXXXX)
cgp="rwtest.$$.image"
dk() { RW_DK_TIMEOUT=300 rw_dk "$@"; }
image_cleanup() {
	rw_dockerd_stop
	rw_cleanup
	rm -rf "$tmp"
}
trap image_cleanup EXIT INT TERM

rw_dockerd_start "$tmp" "$cgp"
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
