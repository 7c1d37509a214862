#!/usr/bin/env bash
# Fills a server template: prints TEMPLATE with each @NAME@ replaced by the
# environment's NAME. serve.sh renders its own configurations with it
# (lighttpd.conf, nginx.conf, apache.conf), an operator the drop-ins for
# the system's web server (conf/: see docs/install.md, "The system's web
# server"):
#
#   PREFIX=/imgsandbox fcgi/render_conf.sh conf/nginx-snippet.conf
#
# Every placeholder the template names must have a value (empty counts);
# one without is an error that names it. When not given:
#   SERVER_BODY_BYTES, BODY_TIMEOUT_S, READ_TIMEOUT   from the responder's
#       settings (`$BUILD/responder --settings`, the IMGSANDBOX_* of the
#       environment applied): the body cap, how long a body may take to
#       arrive, how long to wait for a run's answer
#   SERVER_BODY_KB       SERVER_BODY_BYTES in KiB, rounded up
#   PREFIX=/imgsandbox   where the drop-ins mount the service
#   RUN_SOCKET=/run/imgsandbox/run.sock, API_SOCKET=/run/imgsandbox/api.sock
#   OUTPUTS=/var/lib/imgsandbox/outputs
#   STATIC=/usr/local/share/imgsandbox/www   (the page: static/ installed)
#   ERRORS=/etc/lighttpd/imgsandbox-errors   (lighttpd: static/errors/*.json
#       copied as <status>.html, the names lighttpd looks up)
#   LISTEN=80, SERVER_NAME=_   (nginx's site of its own)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
say() { printf 'render_conf: %s\n' "$*" >&2; }
[ $# = 1 ] && [ -r "$1" ] || { say "usage: render_conf.sh TEMPLATE (a readable file)"; exit 2; }

: "${PREFIX=/imgsandbox}" "${RUN_SOCKET=/run/imgsandbox/run.sock}"
: "${API_SOCKET=/run/imgsandbox/api.sock}" "${OUTPUTS=/var/lib/imgsandbox/outputs}"
: "${STATIC=/usr/local/share/imgsandbox/www}" "${ERRORS=/etc/lighttpd/imgsandbox-errors}"
: "${LISTEN=80}" "${SERVER_NAME=_}"
case $PREFIX in
/*[!/]) case $PREFIX in *[!A-Za-z0-9/_-]*|*//*) say "PREFIX=$PREFIX: expected a path such as /imgsandbox"; exit 2;; esac ;;
*) say "PREFIX=$PREFIX: expected a path such as /imgsandbox (a leading /, no trailing /)"; exit 2;;
esac
if [ -z "${SERVER_BODY_BYTES+x}" ] || [ -z "${BODY_TIMEOUT_S+x}" ] || [ -z "${READ_TIMEOUT+x}" ]; then
  # shellcheck source=fcgi/settings.sh
  . "$root/fcgi/settings.sh"
  : "${SERVER_BODY_BYTES=$body}" "${READ_TIMEOUT=$read_timeout_s}"
  : "${BODY_TIMEOUT_S=$(( ($(setting BODY_TIMEOUT_MS) + 999) / 1000 ))}"
fi
: "${SERVER_BODY_KB=$(( (SERVER_BODY_BYTES + 1023) / 1024 ))}"

text=$(cat "$1"; printf x)
text=${text%x}
shopt -u patsub_replacement 2>/dev/null || true   # bash 5.2: '&' in a value stays '&'
missing=()
for name in $(grep -o '@[A-Z_]*@' "$1" | sort -u | tr -d @); do
  if [ -z "${!name+x}" ]; then missing+=("$name"); continue; fi
  text=${text//@$name@/${!name}}
done
[ ${#missing[@]} = 0 ] || { say "$1 needs ${missing[*]} (in the environment)"; exit 2; }
printf '%s' "$text"
