#!/bin/sh
# Copies the parts of CodeMirror 5 the page uses from Debian's libjs-codemirror
# into static/vendor/codemirror/, so that our own web server serves them (no
# CDN; the Content-Security-Policy allows nothing but this origin). The copy is
# not committed (static/vendor/ is ignored); run this after a checkout:
#
#   static/vendor.sh            (the Makefile's build runs it)
#
# CODEMIRROR_SRC overrides where the package's files are read from.
# Without the package the page still works, with a plain text box.
set -eu

src=${CODEMIRROR_SRC:-/usr/share/javascript/codemirror}
here=$(cd "$(dirname "$0")" && pwd)
dest=$here/vendor/codemirror

# Exactly what index.html loads (keep the two lists in step).
files="
lib/codemirror.js
lib/codemirror.css
mode/python/python.js
addon/edit/matchbrackets.js
addon/selection/active-line.js
addon/comment/comment.js
"

missing=
for f in $files; do
  [ -f "$src/$f" ] || missing="$missing $src/$f"
done
if [ -n "$missing" ]; then
  echo "vendor.sh: CodeMirror 5 is missing:$missing" >&2
  echo "vendor.sh: install the Debian package libjs-codemirror (apt-get install libjs-codemirror)," >&2
  echo "vendor.sh: or point CODEMIRROR_SRC at a folder that holds its files." >&2
  exit 1
fi

# Into a fresh folder beside the old one, then swapped in, so that a server
# running meanwhile never serves half a copy.
tmp=$(mktemp -d "$here/vendor/.codemirror.XXXXXX" 2>/dev/null) || {
  mkdir -p "$here/vendor"
  tmp=$(mktemp -d "$here/vendor/.codemirror.XXXXXX")
}
trap 'rm -rf "$tmp"' EXIT
for f in $files; do
  # lib/ is flattened: the page loads vendor/codemirror/codemirror.js.
  case $f in lib/*) out=${f#lib/} ;; *) out=$f ;; esac
  mkdir -p "$tmp/$(dirname "$out")"
  # -L: the package's top-level files are symbolic links, and the web
  # servers never follow links; copy what they point at.
  cp -L "$src/$f" "$tmp/$out"
  chmod 0644 "$tmp/$out"
done
find "$tmp" -type d -exec chmod 0755 {} +
rm -rf "$dest.old"
[ -e "$dest" ] && mv "$dest" "$dest.old"
mv "$tmp" "$dest"
rm -rf "$dest.old"
trap - EXIT
echo "vendor.sh: CodeMirror $(sed -n 's/.*CodeMirror\.version = "\([^"]*\)".*/\1/p' "$dest/codemirror.js") copied to $dest"
