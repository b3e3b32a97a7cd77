#!/bin/sh
# Install the Debian packages rigwatch needs, when any is missing; a no-op once everything is there.
#   install-deps.sh run     what building and running the agent needs (`make run`)
#   install-deps.sh         everything the tests need too (`make check`, .ci/run)
set -e
PKGS="build-essential pkg-config libpfm4-dev libcgroup-dev libmicrohttpd-dev libprotobuf-c-dev protobuf-c-compiler
zlib1g-dev librandomx-dev curl clang libbpf-dev bpftool libcrypt-dev libgnutls28-dev"
if [ "${1:-check}" != run ]; then
PKGS="$PKGS libprotobuf-dev libcunit1-dev prometheus prometheus-alertmanager wrk prometheus-node-exporter
stress-ng xz-utils openssl python3 python3-yaml python3-numpy sqlite3 valgrind strace g++ libboost-dev python3-matplotlib iproute2
util-linux docker.io tmux systemd"
# make check-arm64: cross compiler, qemu-user, and the arm64 -dev packages via Debian multiarch (installing them
# may upgrade amd64 packages of the same source to the identical version, as multiarch requires).
PKGS="$PKGS gcc-aarch64-linux-gnu qemu-user-static libpfm4-dev:arm64 libcgroup-dev:arm64
libmicrohttpd-dev:arm64 libprotobuf-c-dev:arm64 zlib1g-dev:arm64 libcunit1-dev:arm64 libcrypt-dev:arm64
libgnutls28-dev:arm64"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
case "$missing" in *:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;; esac
apt-get update -qq
# prometheus, alertmanager, node-exporter and docker.io are test peers only: keep their services from starting on
# install (tests/integration/docker.sh starts a private dockerd of its own).
own_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
fi
apt-get install -y -qq --no-install-recommends $missing
[ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
exit 0
