#!/bin/sh
# Lay out the build context for deploy/docker/Dockerfile: DIR/rootfs holds `make install` (PREFIX=/usr,
# SYSCONFDIR=/etc) of an already built build/rigwatch, the shared libraries it loads (as ldd finds them on this
# build host, at the same paths) and the dynamic loader; DIR/Dockerfile is a copy of deploy/docker/Dockerfile.
# The image is then `docker build -t rigwatch:VERSION DIR`. Run from the repository root after `make`.
# Usage: sh deploy/docker/build-context.sh DIR [BUILD]
set -eu
dir=${1:?usage: build-context.sh DIR [BUILD]}
build=${2:-build}
[ -x "$build/rigwatch" ] || { echo "build-context.sh: no $build/rigwatch (run make first)" >&2; exit 2; }
rm -rf "$dir"
mkdir -p "$dir/rootfs"
make -s install BUILD="$build" DESTDIR="$(cd "$dir/rootfs" && pwd)" PREFIX=/usr SYSCONFDIR=/etc \
	SYSTEMD_UNIT_DIR=/usr/lib/systemd/system >/dev/null
# the unit and the man page are of no use in the image
rm -rf "$dir/rootfs/usr/lib/systemd" "$dir/rootfs/usr/share/man"
# every library ldd resolves, and the loader (the "=>"-less absolute path line)
ldd "$build/rigwatch" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
while read -r lib; do
	mkdir -p "$dir/rootfs$(dirname "$lib")"
	cp -L "$lib" "$dir/rootfs$lib"
done
# the agent's writable places (the DaemonSet mounts volumes over them)
mkdir -p "$dir/rootfs/tmp" "$dir/rootfs/var/log/rigwatch"
chmod 1777 "$dir/rootfs/tmp"
cp deploy/docker/Dockerfile "$dir/Dockerfile"
