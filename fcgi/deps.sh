#!/usr/bin/env bash
# Installs the Debian packages the service (and, with --test, its tests)
# needs, when some are missing. libseccomp-dev and uidmap are the fork
# engine's (its filter; newuidmap and newgidmap for an unprivileged broker). As root it runs apt-get; otherwise it prints
# the exact command to run.
set -euo pipefail
run=(build-essential pkg-config libfcgi-dev libcjson-dev libsqlite3-dev libmagic-dev
     libmagic-mgc zlib1g-dev libcurl4-openssl-dev libpq-dev spawn-fcgi lighttpd nginx-light apache2
     docker.io debootstrap curl libjs-codemirror libseccomp-dev uidmap)
# runsc: gVisor, the hostile suite runs under it too (fcgi/ensure_dockerd.sh
# registers it with dockerd); postgresql: the log store's tests and the
# several-hosts test start throwaway servers of their own; systemd and
# systemd-container: systemd-analyze, which checks the units make install
# writes, and systemd-nspawn, which boots them (IMGSANDBOX_TEST_SYSTEMD=1);
# debhelper and lintian: make deb, which test_deb.py runs (dpkg-buildpackage
# is dpkg-dev's).
test=(clang libclang-rt-14-dev python3-pytest python3-pytest-xdist python3-pil
      python3-numpy sqlite3 chromium chromium-driver wrk runsc postgresql systemd
      systemd-container dpkg-dev debhelper lintian)
want=("${run[@]}")
[ "${1:-}" = --test ] && want+=("${test[@]}")
# The browser tests need Node.js 20 or later (playwright-core); Debian 12's
# own is 18, so a newer one already installed is kept.
if [ "${1:-}" = --test ] && ! command -v node >/dev/null; then want+=(nodejs npm); fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing Debian packages; run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The web servers' packages start their system services on port 80 when
# installed (and the second would fail to bind it, failing the install):
# we run our own instances, so no service is started during the install.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# fcgi/deps.sh: no service starts while it installs\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
