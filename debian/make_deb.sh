#!/usr/bin/env bash
# make deb: builds build/imgsandbox_<version>_amd64.deb with Debian's tools
# (dpkg-buildpackage, debhelper's dh) from a clean copy of the tree in
# build/deb/<version>/imgsandbox-<version>/ (the tracked files as they are in the
# work tree, and untracked ones git does not ignore; no build/, no var/),
# then runs lintian on it: an error fails the build, warnings are printed
# and kept in build/deb/<version>/lintian.txt. Each version builds in a
# folder of its own (build/deb/<version>/), so two may build at once.
#   DEB_VERSION   the package's version: VERSION's by default; another one
#                 gets a changelog entry of its own, written into the copy
#                 (with no dch; test_deb.py re-versions a built package
#                 instead, to test an upgrade without a second compile)
#   LINTIAN=no    skip lintian
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
V=${DEB_VERSION:-$(cat "$root/VERSION")}
out=$root/build/deb/$V
src=$out/imgsandbox-$V
say() { printf 'deb: %s\n' "$*" >&2; }
for t in dpkg-buildpackage dh lintian; do
  command -v "$t" >/dev/null || { say "$t is missing: apt-get install debhelper lintian devscripts"; exit 1; }
done
rm -rf "$out"
mkdir -p "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
     while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
     tar --null -T - -cf -) | tar -C "$src" -xf -
else
  tar -C "$root" --exclude=./build --exclude=./var --exclude=./.git --exclude=node_modules \
    --exclude=./static/vendor -cf - . | tar -C "$src" -xf -
fi
top=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
if [ "$top" != "$V" ]; then
  maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
  { printf 'imgsandbox (%s) unstable; urgency=medium\n\n' "$V"
    printf '  * Built as %s by make deb DEB_VERSION=%s (the tree says %s).\n\n' "$V" "$V" "$top"
    printf ' -- %s  %s\n\n' "$maint" "$(date -R)"
    cat "$src/debian/changelog"; } >"$src/debian/changelog.new"
  mv "$src/debian/changelog.new" "$src/debian/changelog"
fi
say "building imgsandbox $V in $src (log: $out/build.log)"
(cd "$src" && dpkg-buildpackage -us -uc -b -j"${NPROC:-$(nproc)}") >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; say "dpkg-buildpackage failed; see $out/build.log"; exit 1; }
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=imgsandbox_${V}_$arch.deb
cp "$out/$deb" "$root/build/$deb"
if [ "${LINTIAN:-yes}" != no ]; then
  rc=0
  lintian --fail-on error "$out/imgsandbox_${V}_$arch.changes" >"$out/lintian.txt" 2>&1 || rc=$?
  cat "$out/lintian.txt"
  [ $rc = 0 ] || { say "lintian found errors (above)"; exit 1; }
fi
say "built build/$deb"
