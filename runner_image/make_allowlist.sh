#!/bin/sh
# make_allowlist.sh: writes runner_image/allowlist.txt, the names the
# execution log's lessons may say, with the runner image's own Python inside
# its root filesystem (as root: chroot).
#
#   runner_image/make_allowlist.sh [ROOTFS]    (default: the current one of build.sh)
#
# Run it again after packages.txt changed and the image was rebuilt; commit
# the file it writes.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOTFS=${1:-/var/cache/imgsandbox/rootfs-current}
OUT=$HERE/allowlist.txt
if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
	echo "make_allowlist.sh: no $ROOTFS/usr/bin/python3 (build the image first: runner_image/build.sh)" >&2
	exit 1
fi
PACKAGES_TXT=$(cat "$HERE/packages.txt")
export PACKAGES_TXT
# -I: the image's Python alone (no user site, no PYTHON* variables of ours).
env -i PACKAGES_TXT="$PACKAGES_TXT" PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \
	chroot "$ROOTFS" /usr/bin/python3 -I - <"$HERE/make_allowlist.py" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT: $(grep -vc '^#' "$OUT") names"
