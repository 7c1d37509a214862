#!/usr/bin/env bash
# Builds the sandbox image without any container registry:
#   1. a Debian root filesystem from debootstrap with the packages of
#      packages.txt, cached in $RUNNER_CACHE keyed by that list (so a rerun
#      takes seconds, and a changed list builds a new one);
#   2. `docker import` of that tree as the base image imgsandbox-base:<key>;
#   3. a small layer on top (Dockerfile) with entry.py and packages.txt,
#      tagged $RUNNER_IMAGE, by default imgsandbox-runner:proto2-<key>: proto2
#      names the version of the record protocol entry.py speaks (a responder
#      never runs an image whose records it cannot read), the key the
#      sources it was built from, so that two checkouts with different
#      sources never take each other's image (fcgi/serve.sh runs the keyed
#      tag). imgsandbox-runner:proto2 is also moved to the last one built,
#      for use by hand.
#   --print-rootfs prints the root filesystem this package list makes (the
#   fork engine's IMGSANDBOX_ROOTFS), built or not.
# Usage: runner_image/build.sh [--if-missing | --print-tag | --print-rootfs]
set -euo pipefail
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)
CACHE=${RUNNER_CACHE:-/var/cache/imgsandbox}
DOCKER=${DOCKER:-docker}
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { printf 'runner_image: %s\n' "$*" >&2; }

pkgs=$(sed -e 's/#.*//' -e 's/|.*//' "$here/packages.txt" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
# The root filesystem depends only on the suite and the package list.
rootkey=$(printf '%s\n%s\n' "$SUITE" "$pkgs" | sha256sum)
rootkey=${rootkey:0:16}
# The image depends on that and on the files of the top layer.
imgkey=$(cat "$here/Dockerfile" "$here/entry.py" "$here/packages.txt" | sha256sum)
imgkey=${imgkey:0:12}-$rootkey

if [ "${1:-}" = "--print-rootfs" ]; then
  printf '%s\n' "$CACHE/rootfs-$rootkey"
  exit 0
fi
IMAGE=${RUNNER_IMAGE:-imgsandbox-runner:proto2-$imgkey}
if [ "${1:-}" = "--print-tag" ]; then
  printf '%s\n' "$IMAGE"
  exit 0
fi

if [ "${1:-}" = "--if-missing" ] &&
   [ "$($DOCKER image inspect -f '{{index .Config.Labels "imgsandbox.key"}}' "$IMAGE" 2>/dev/null)" = "$imgkey" ]; then
  exit 0
fi

rootfs=$CACHE/rootfs-$rootkey
if [ ! -e "$rootfs/.complete" ]; then
  command -v debootstrap >/dev/null || { say "debootstrap is missing: apt-get install debootstrap"; exit 1; }
  [ "$(id -u)" = 0 ] || { say "debootstrap needs root: run 'sudo $0' once"; exit 1; }
  say "building the root filesystem in $rootfs (about 3 minutes, 2.4 GB)"
  mkdir -p "$CACHE"
  rm -rf "$rootfs.tmp"
  debootstrap --variant=minbase --include="$(echo "$pkgs" | tr ' ' ',')" \
    "$SUITE" "$rootfs.tmp" "$MIRROR" >"$CACHE/debootstrap-$rootkey.log" 2>&1 ||
    { say "debootstrap failed; see $CACHE/debootstrap-$rootkey.log"; exit 1; }
  # What a sandbox never needs: package caches, docs, manuals, locales.
  rm -rf "$rootfs.tmp"/var/cache/apt/* "$rootfs.tmp"/var/lib/apt/lists/* \
         "$rootfs.tmp"/usr/share/doc/* "$rootfs.tmp"/usr/share/man/* \
         "$rootfs.tmp"/usr/share/locale/* "$rootfs.tmp"/var/log/*
  # Byte-compile once here, since the sandbox's root is read-only.
  chroot "$rootfs.tmp" /usr/bin/python3 -m compileall -q /usr/lib/python3/dist-packages >/dev/null 2>&1 || true
  touch "$rootfs.tmp/.complete"
  mv "$rootfs.tmp" "$rootfs"
fi

if ! $DOCKER image inspect "imgsandbox-base:$rootkey" >/dev/null 2>&1; then
  say "importing imgsandbox-base:$rootkey"
  tar -C "$rootfs" --exclude=./.complete --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
      -c . | $DOCKER import - "imgsandbox-base:$rootkey" >/dev/null
fi

say "building $IMAGE"
$DOCKER build -q --build-arg "BASE=imgsandbox-base:$rootkey" --label "imgsandbox.key=$imgkey" \
  -t "$IMAGE" -t imgsandbox-runner:proto2 "$here" >/dev/null
say "ready: $IMAGE ($imgkey); root filesystem $rootfs"
# For the chroot baseline of `make bench`.
ln -sfn "$rootfs" "$CACHE/rootfs-current"
