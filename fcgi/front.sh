#!/usr/bin/env bash
# Runs nginx in front of several imgsandbox hosts, in the foreground
# (front.nginx.conf, filled in here). Each host is an ordinary
# `fcgi/serve.sh` with its own data folder, IMGSANDBOX_URL_PREFIX=/h<N>,
# the one PostgreSQL log in IMGSANDBOX_DB and this machine's address in
# IMGSANDBOX_TRUSTED_PROXIES. Ctrl-C (or SIGTERM) stops it.
#
#   HOSTS="10.0.0.11:8000 10.0.0.12:8000" PORT=8000 fcgi/front.sh
#   HOSTS           the hosts, address:port each; the first is /h1, the
#                   second /h2, ... (or name=address:port: /name)
#   PORT, HOST      where the front listens (8000, 127.0.0.1; 0.0.0.0 for all)
#   BIND            the address the front connects to the hosts from
#                   (nginx's proxy_bind; default: the system's choice)
#   MAX_FAILS=1 FAIL_TIMEOUT_S=10   a host that fails MAX_FAILS times is
#                   left out for FAIL_TIMEOUT_S seconds
#   RUNDIR          the filled-in configuration and the logs (var/front-PORT)
#   IMGSANDBOX_*    the hosts' settings: the body cap, the time limits and
#                   a client's share (IMGSANDBOX_CLIENT_*, held here for the
#                   whole site) are read from them (`build/responder
#                   --settings`), so give the front the same ones as the hosts.
#
# By hand: fill front.nginx.conf the way render() does below and run nginx
# with it (nginx -c), or take its http block into your own configuration.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$PATH:/usr/sbin:/sbin
HOSTS=${HOSTS:-}
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
BIND=${BIND:-}
MAX_FAILS=${MAX_FAILS:-1}
FAIL_TIMEOUT_S=${FAIL_TIMEOUT_S:-10}
BUILD=${BUILD:-$root/build}
RUNDIR=$(realpath -m "${RUNDIR:-$root/var/front-$PORT}")

say() { printf 'front: %s\n' "$*" >&2; }
[ -n "$HOSTS" ] || { say "HOSTS must name the hosts, e.g. HOSTS=\"10.0.0.11:8000 10.0.0.12:8000\""; exit 2; }
for n in PORT MAX_FAILS FAIL_TIMEOUT_S; do
  case ${!n} in ''|*[!0-9]*|0) say "$n must be a number above 0"; exit 2;; esac
done
[ -x "$BUILD/responder" ] || { say "$BUILD/responder is missing: run 'make' first (its settings give the caps)"; exit 1; }
command -v nginx >/dev/null || { say "nginx is not installed (apt-get install nginx-light)"; exit 1; }

# The hosts' caps and time limits, as serve.sh computes them for theirs;
# the front waits 10 s longer than a host, so that a host's own 504 (JSON,
# its words) reaches the client rather than the front's.
# shellcheck source=fcgi/settings.sh
. "$root/fcgi/settings.sh"
read_timeout_s=$(( read_timeout_s + 10 ))
# A client's share, held by the front for the whole site (the hosts' own
# figures): nginx's burst is the excess over the first request (and 0 is
# said by leaving it out), and a refused rate waits for one run's worth
# of the minute.
client_inflight=${setting_of[CLIENT_INFLIGHT]}
client_per_min=${setting_of[CLIENT_RUNS_PER_MIN]}
client_burst=${setting_of[CLIENT_BURST]}
client_burst_arg=
[ "$client_burst" -le 1 ] || client_burst_arg="burst=$(( client_burst - 1 )) "
rate_retry_s=$(( (60 + client_per_min - 1) / client_per_min ))

# The generated parts: the servers of the shared upstreams, an upstream of
# each host alone, and its /h<N>/ location (host_location NAME).
host_location() {
  cat <<LOCATION
    location ^~ /$1/ {
      rewrite ^/$1(/(?:outputs|api)/.*)\$ \$1 break;
      default_type application/json;
      proxy_hide_header X-Content-Type-Options;
      add_header X-Content-Type-Options nosniff always;
      return 404 '{"error":{"code":"not_found","message":"/$1/ has only outputs/ and api/"}}';
      proxy_pass http://imgsandbox_$1;
      proxy_read_timeout 70s;
    }
LOCATION
}
servers='' upstreams='' locations='' i=0
for h in $HOSTS; do
  i=$((i + 1))
  name=h$i addr=$h
  case $h in *=*) name=${h%%=*} addr=${h#*=};; esac
  case $name in ''|*[!A-Za-z0-9_-]*) say "$h: a host's name is [A-Za-z0-9_-]"; exit 2;; esac
  # Its /name/ would hide a path of the page's or the API's.
  case $name in api|run|outputs|errors) say "$h: $name is a path of the service's"; exit 2;; esac
  [ ! -e "$root/static/$name" ] || { say "$h: $name is a path of the page's (static/$name)"; exit 2; }
  port=${addr##*:}
  case $addr in ''|*[!A-Za-z0-9.:_\[\]-]*|"$port") say "$h: expected address:port"; exit 2;; esac
  case $port in ''|*[!0-9]*) say "$h: expected address:port"; exit 2;; esac
  servers+="    server $addr max_fails=$MAX_FAILS fail_timeout=${FAIL_TIMEOUT_S}s;"$'\n'
  upstreams+="  upstream imgsandbox_$name { server $addr; }"$'\n'
  locations+=$(host_location "$name")$'\n'
done

as_root=
[ "$(id -u)" = 0 ] && as_root=1
WEB_USER=${WEB_USER:-www-data}
if [ -n "$as_root" ]; then root_only='' web_group=$(id -gn "$WEB_USER")
else root_only='# ' WEB_USER=$(id -un) web_group=$(id -gn); fi
bind_line='# proxy_bind: the system chooses'
[ -z "$BIND" ] || bind_line="proxy_bind $BIND;"

# Fills the template: every @NAME@, the generated parts included.
render() {
  local t
  shopt -u patsub_replacement 2>/dev/null || true   # '&' stays '&'
  t=$(<"$1")
  t=${t//@HOSTS_SERVERS@/${servers%$'\n'}}
  t=${t//@HOST_UPSTREAMS@/${upstreams%$'\n'}}
  t=${t//@HOST_LOCATIONS@/${locations%$'\n'}}
  t=${t//@PROXY_BIND@/$bind_line}
  t=${t//@HOST@/$HOST}
  t=${t//@PORT@/$PORT}
  t=${t//@STATIC@/$root/static}
  t=${t//@RUNDIR@/$RUNDIR}
  t=${t//@SERVER_BODY_BYTES@/$body}
  t=${t//@READ_TIMEOUT@/$read_timeout_s}
  t=${t//@MAX_FAILS@/$MAX_FAILS}
  t=${t//@FAIL_TIMEOUT_S@/$FAIL_TIMEOUT_S}
  t=${t//@CLIENT_INFLIGHT@/$client_inflight}
  t=${t//@CLIENT_RUNS_PER_MIN@/$client_per_min}
  t=${t//@CLIENT_BURST_ARG@/$client_burst_arg}
  t=${t//@RATE_RETRY_S@/$rate_retry_s}
  t=${t//@ROOT_ONLY@/$root_only}
  t=${t//@WEB_USER@/$WEB_USER}
  t=${t//@WEB_GROUP@/$web_group}
  printf '%s\n' "$t"
}

# The configuration and the logs are root's; the workers pass through the
# folder to the bodies they keep (nginx makes nginx-body etc. theirs).
mkdir -p "$RUNDIR"
if [ -n "$as_root" ]; then
  chown "root:$web_group" "$RUNDIR"
  chmod 0751 "$RUNDIR"
fi
render "$root/front.nginx.conf" >"$RUNDIR/nginx.conf"
nginx -t -q -c "$RUNDIR/nginx.conf"
say "http://$HOST:$PORT/ in front of $i host(s): $HOSTS (configuration and logs in $RUNDIR)"
exec nginx -c "$RUNDIR/nginx.conf"
