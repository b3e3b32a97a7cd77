#!/bin/sh
# Install the Debian packages rigwatch needs to build, run and test, when any is missing.
# Used by `make run`, `make check` and .ci/run; a no-op once everything is there.
set -e
PKGS="build-essential pkg-config clang libpfm4-dev libcgroup-dev libmicrohttpd-dev libprotobuf-c-dev
protobuf-c-compiler libprotobuf-dev zlib1g-dev libcunit1-dev librandomx-dev prometheus wrk prometheus-node-exporter
stress-ng xz-utils openssl python3 python3-numpy sqlite3 curl valgrind"
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
apt-get update -qq
# prometheus and node-exporter are test peers only: keep their services from starting on install.
own_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
fi
apt-get install -y -qq --no-install-recommends $missing
[ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
exit 0
