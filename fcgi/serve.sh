#!/usr/bin/env bash
# Runs the whole service in the foreground: the container engine if none
# answers (and we may start it), the sandbox broker (sandboxd: the one
# process that holds the engine's keys), two pools of responders under
# spawn-fcgi and supervise, and lighttpd, nginx or Apache in front. Ctrl-C
# (or SIGTERM) stops everything it started.
#
#   PORT=8000 SERVER=lighttpd|nginx|apache HOST=127.0.0.1 fcgi/serve.sh
#   SERVER=none        no web server: the responders and the broker alone,
#                      for the system's web server (the drop-ins of conf/);
#                      the ready line names the sockets, the page and results
#   RESPONDERS=8       the run pool: POST /run and POST /api/assist
#   API_RESPONDERS=2   the API pool: everything else under /api/, so that
#                      reads of the log never wait behind runs
#   START_DOCKERD=auto|no   (auto: start dockerd when root and none answers)
#   IMGSANDBOX_* settings: see `build/responder --settings`; the settings
#                      file (/etc/imgsandbox/imgsandbox.conf, when there is
#                      one) is read too, but for the paths of the checkout
#                      (DATA, the sample, the runner's lists), which make run
#                      sets unless the environment names them.
#
# Started as root, only what must be root stays root: the web server's
# master (it binds the port) and dockerd. The web server's workers run as
# WEB_USER (www-data); the responders and their supervise as SERVICE_USER
# (imgsandbox: a system user of no other group, which parses what strangers
# and scripts send and holds no key to the engine); the broker as
# ENGINE_USER (imgsandbox-engine: in the docker group for the Docker engine,
# and in SERVICE_USER's group, whose members it serves). Both are created
# if missing. What the web server's workers and the service users read (the
# page, the programs, the package list) is copied out of the checkout into
# DATA/app at each start, so a checkout in a folder nobody else may enter
# (a home, /root, mktemp -d) serves all the same; DATA itself defaults to
# /var/lib/imgsandbox/checkout-<hash of the checkout's path>, one per
# checkout. The data folder (0751: passable, not listable) and the log
# (0600) are the service user's; DATA/engine is the broker's; the published
# results (OUTPUTS, 2750, group WEB_USER's) are readable by the web server
# and nobody else; the FastCGI sockets (0600, WEB_USER's) are connectable
# by the web server's workers and nobody else. Started as anyone else,
# everything runs as that user, from the checkout, with DATA in ./var.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# The servers (and useradd, setpriv) live in sbin, not on an ordinary user's PATH.
export PATH=$PATH:/usr/sbin:/sbin
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
SERVER=${SERVER:-lighttpd}
RESPONDERS=${RESPONDERS:-8}
API_RESPONDERS=${API_RESPONDERS:-2}
BUILD=${BUILD:-$root/build}
START_DOCKERD=${START_DOCKERD:-auto}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}

say() { printf 'serve: %s\n' "$*" >&2; }
case $SERVER in lighttpd|nginx|apache|none) ;; *) say "SERVER must be lighttpd, nginx, apache or none"; exit 2;; esac
for n in PORT RESPONDERS API_RESPONDERS; do
  case ${!n} in ''|*[!0-9]*|0) say "$n must be a number above 0"; exit 2;; esac
done
PROGS="responder supervise sandboxd seccomp_profile"
for b in $PROGS; do
  [ -x "$BUILD/$b" ] || { say "$BUILD/$b is missing: run 'make' first"; exit 1; }
done

as_root=
[ "$(id -u)" = 0 ] && as_root=1
if [ -n "$as_root" ]; then
  checkout_key=$(printf '%s' "$root" | sha256sum | cut -c1-12)
  export IMGSANDBOX_DATA=$(realpath -m "${IMGSANDBOX_DATA:-/var/lib/imgsandbox/checkout-$checkout_key}")
  APP=$IMGSANDBOX_DATA/app
else
  export IMGSANDBOX_DATA=$(realpath -m "${IMGSANDBOX_DATA:-$root/var}")
  APP=
fi
DATA=$IMGSANDBOX_DATA
# What the programs read of the checkout: DATA/app's copy when root.
STATIC=${APP:+$APP/www}
STATIC=${STATIC:-$root/static}
BIN=${APP:+$APP/bin}
BIN=${BIN:-$BUILD}
RUNNER=${APP:+$APP/runner}
RUNNER=${RUNNER:-$root/runner_image}
export IMGSANDBOX_SAMPLE=${IMGSANDBOX_SAMPLE:-$STATIC/sample.png}
export IMGSANDBOX_PACKAGES=${IMGSANDBOX_PACKAGES:-$RUNNER/packages.txt}
export IMGSANDBOX_ALLOWLIST=${IMGSANDBOX_ALLOWLIST:-$RUNNER/allowlist.txt}
export IMGSANDBOX_SECCOMP_LIST=${IMGSANDBOX_SECCOMP_LIST:-$RUNNER/seccomp.list}
export IMGSANDBOX_OUTPUTS=$(realpath -m "${IMGSANDBOX_OUTPUTS:-$IMGSANDBOX_DATA/outputs}")
OUTPUTS=$IMGSANDBOX_OUTPUTS
# The runner image of these sources, unless one is named: its tag carries
# the key of what it is built from (runner_image/build.sh).
image_is_ours=
# What the settings file (and the environment) say before serve.sh adds
# its own (the checkout's paths above win over an installed file's).
# shellcheck source=fcgi/settings.sh
. "$root/fcgi/settings.sh"
if [ -z "${IMGSANDBOX_IMAGE:-}" ] && [ "${setting_of[IMAGE]}" = imgsandbox-runner:proto2 ]; then
  IMGSANDBOX_IMAGE=$("$root/runner_image/build.sh" --print-tag)
  export IMGSANDBOX_IMAGE
  image_is_ours=1
fi
# The fork engine's root filesystem: the one the runner image is made of.
if [ -z "${IMGSANDBOX_ROOTFS:-}" ] && [ "${setting_of[ROOTFS]}" = /var/cache/imgsandbox/rootfs-current ]; then
  IMGSANDBOX_ROOTFS=$("$root/runner_image/build.sh" --print-rootfs)
  export IMGSANDBOX_ROOTFS
fi
# shellcheck source=fcgi/settings.sh
. "$root/fcgi/settings.sh"
body_timeout_ms=${setting_of[BODY_TIMEOUT_MS]}
warm=${setting_of[WARM]}
image=${setting_of[IMAGE]}
db=${setting_of[DB]}

# --- who runs what -----------------------------------------------------
if [ -n "$as_root" ]; then
  SERVICE_USER=${SERVICE_USER:-imgsandbox}
  ENGINE_USER=${ENGINE_USER:-imgsandbox-engine}
  WEB_USER=${WEB_USER:-www-data}
else
  SERVICE_USER=$(id -un)
  ENGINE_USER=$SERVICE_USER
  WEB_USER=$SERVICE_USER
fi

# shellcheck source=fcgi/prepare.sh
. "$root/fcgi/prepare.sh"

# DATA/app: a copy of what the programs read of the checkout, readable by
# the service's users and the web server, refreshed at each start (root's
# checkout may sit where nobody else may enter).
stage_app() {
  local tmp=$DATA/.app.$$
  rm -rf "$tmp"
  install -d -m 0755 "$tmp" "$tmp/bin" "$tmp/runner"
  local progs=()
  for b in $PROGS; do progs+=("$BUILD/$b"); done
  install -m 0755 -t "$tmp/bin" "${progs[@]}"
  # The fork engine's template loads this beside the broker's program.
  [ ! -e "$BUILD/zygote_fork.so" ] || install -m 0644 "$BUILD/zygote_fork.so" "$tmp/bin/"
  install -m 0644 "$root"/runner_image/*.txt "$root"/runner_image/*.py \
    "$root"/runner_image/*.list "$tmp/runner/"
  cp -R "$root/static" "$tmp/www"
  chown -R root:root "$tmp"
  chmod -R u=rwX,go=rX "$tmp"
  rm -rf "$APP"
  mv "$tmp" "$APP"
}

engine_kind=${setting_of[ENGINE]}
mkdir -p "$DATA" "$OUTPUTS"
if [ -n "$as_root" ]; then
  ensure_users
  stage_app
  own_data
  check_access
  # The fork engine: a range of subordinate ids and a delegated cgroup for
  # the broker's user (no root-equivalent group).
  if [ "$engine_kind" = fork ]; then
    "$root/fcgi/engine_setup.sh" "$ENGINE_USER" || { say "the host cannot run the fork engine (see above)"; exit 1; }
  fi
fi
WEB_GROUP=$(id -gn "$WEB_USER")
# The sandboxes' seccomp list must read (the broker writes the engine's
# profile from it at its start); and, as root, the capped cgroup they live
# under (fcgi/cgroup_parent.sh).
"$BIN/seccomp_profile" --check "$IMGSANDBOX_SECCOMP_LIST" >/dev/null || exit 1
cgroup_name=
if [ -n "$as_root" ]; then
  make_cgroup_parent
  [ -z "$cgroup_name" ] || export IMGSANDBOX_CGROUP_PARENT
fi

# The servers' own folder: their configurations, logs and the sockets,
# readable by the web server (its workers connect to the sockets), written
# by root alone; the service user may only pass through it (to the API
# pool's program), and DATA (0750) keeps everyone else out.
rundir=$DATA/run-$SERVER-$PORT
[ "$SERVER" != none ] || rundir=$DATA/run-none
rm -rf "$rundir"
mkdir -p "$rundir/errors"
run_sock=$rundir/run.sock
api_sock=$rundir/api.sock
if [ -n "$as_root" ]; then
  chown "root:$WEB_GROUP" "$rundir"
  chmod 0751 "$rundir"
fi

pids=()
dockerd_pid=
stop() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # The sandboxes' cgroup, once the engine has removed their containers.
  for ((try = 0; try < 40; try++)); do
    [ -n "$cgroup_name" ] && ! "$root/fcgi/cgroup_parent.sh" remove "$cgroup_name" 2>/dev/null || break
    sleep 0.5
  done
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  say "stopped"
}
trap stop EXIT
interrupted=
trap 'interrupted=1; exit 0' INT TERM

# --- the container engine ---------------------------------------------
# The one the responders use: IMGSANDBOX_DOCKER_HOST when set (then it is
# someone else's engine, never started here).
docker=${setting_of[DOCKER]}
docker_host=${setting_of[DOCKER_HOST]}
engine_env=()
[ -z "$docker_host" ] || engine_env=(DOCKER_HOST="$docker_host")
engine() { env "${engine_env[@]}" "$docker" "$@"; }
engine_up=
engine version >/dev/null 2>&1 && engine_up=1
if [ -z "$engine_up" ] && [ -z "$docker_host" ] && [ "$START_DOCKERD" = auto ] &&
   [ -n "$as_root" ] && command -v dockerd >/dev/null; then
  say "no container engine answers; starting dockerd (log: $DATA/dockerd.log)"
  dockerd >"$DATA/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for ((try = 0; try < 60; try++)); do engine version >/dev/null 2>&1 && break; sleep 0.5; done
  engine version >/dev/null 2>&1 || { say "dockerd did not start; see $DATA/dockerd.log"; exit 1; }
  engine_up=1
fi
if [ -z "$engine_up" ]; then
  say "warning: no container engine answers; runs will get 503 until one does"
else
  # The runner image, when it is missing or its sources changed (ours only:
  # an image named in IMGSANDBOX_IMAGE is the operator's to build).
  # The runner image (and with it the root filesystem the fork engine runs
  # on), when it is missing or its sources changed.
  if [ -n "$image_is_ours" ]; then
    env "${engine_env[@]}" DOCKER="$docker" RUNNER_IMAGE="$image" \
      "$root/runner_image/build.sh" --if-missing ||
      say "warning: the runner image could not be built; runs will get 503"
  fi
  mapfile -t drop < <(drop_to "$ENGINE_USER" docker)
  if [ -n "$as_root" ] && [ "$engine_kind" = docker ] &&
     ! "${drop[@]}" env "${engine_env[@]}" "$docker" version >/dev/null 2>&1; then
    say "warning: $ENGINE_USER cannot reach the engine (its socket's group must be docker); runs will get 503"
  fi
fi

# --- the service's processes ------------------------------------------
# The broker: the one process that holds the engine's keys, kept alive by
# supervise. The responders ask it for sandboxes (DATA/engine/broker.sock).
engine_groups=("$(id -gn "$SERVICE_USER")")
[ "$engine_kind" = docker ] && getent group docker >/dev/null && engine_groups+=(docker)
mapfile -t drop < <(drop_to "$ENGINE_USER" "${engine_groups[@]}")
enter=()
# cgroup v2: the fork engine's broker runs in its delegated cgroup's leaf
# (moved there before it drops root; engine_setup.sh does nothing on v1).
if [ -n "$as_root" ] && [ "$engine_kind" = fork ]; then
  enter=(bash -c '"$0" --enter $$ && exec "$@"' "$root/fcgi/engine_setup.sh")
fi
"${enter[@]}" "${drop[@]}" "$BIN/supervise" -n 1 "$BIN/sandboxd" </dev/null 2>>"$rundir/sandboxd.log" &
pids+=($!)

# A pool of responders: spawn-fcgi makes the socket (the web server's, 0600)
# and setpriv drops to the service user with no group but its own (not
# spawn-fcgi's -u, which takes every group /etc/group gives the user);
# supervise keeps n responders on it. The API pool's program is a link
# named imgsandbox-api, so that ps and the logs tell the pools apart.
ln -s "$BIN/responder" "$rundir/imgsandbox-api"
start_pool() {
  local sock=$1 n=$2 prog=$3 log=$4 owner=() drop
  [ -n "$as_root" ] && owner=(-U "$WEB_USER" -G "$WEB_GROUP")
  mapfile -t drop < <(drop_to "$SERVICE_USER")
  spawn-fcgi -n -s "$sock" -M 0600 "${owner[@]}" -- "${drop[@]}" "$BIN/supervise" -n "$n" "$prog" \
    2>>"$log" &
  pids+=($!)
}
start_pool "$run_sock" "$RESPONDERS" "$BIN/responder" "$rundir/responder.log"
start_pool "$api_sock" "$API_RESPONDERS" "$rundir/imgsandbox-api" "$rundir/api-responder.log"
for s in "$run_sock" "$api_sock"; do
  for ((try = 0; try < 100; try++)); do [ -S "$s" ] && break; sleep 0.05; done
  [ -S "$s" ] || { say "the FastCGI socket $s did not appear; see $rundir/*responder.log"; exit 1; }
done

# --- the web server ---------------------------------------------------
# @ROOT_ONLY@ starts the lines that name the workers' user: kept as root,
# commented out otherwise (the servers ignore or refuse them then).
root_only='# '
[ -n "$as_root" ] && root_only=
render() {
  HOST=$HOST PORT=$PORT STATIC=$STATIC OUTPUTS=$OUTPUTS RUNDIR=$rundir \
    RUN_SOCKET=$run_sock API_SOCKET=$api_sock SERVER_BODY_BYTES=$body \
    BODY_TIMEOUT_S=$(( (body_timeout_ms + 999) / 1000 )) READ_TIMEOUT=$read_timeout_s \
    ROOT_ONLY=$root_only WEB_USER=$WEB_USER WEB_GROUP=$WEB_GROUP APACHE_MODULES=$APACHE_MODULES \
    "$root/fcgi/render_conf.sh" "$1"
}
# A folder only the web server's workers write in (bodies being received).
worker_dir() {
  mkdir -p "$1"
  [ -z "$as_root" ] || { chown "$WEB_USER:$WEB_GROUP" "$1"; chmod 0700 "$1"; }
}
# The servers' own errors, in the API's JSON shape.
cp "$STATIC"/errors/*.json "$rundir/errors/"
case $SERVER in
none) ;;   # the system's web server, configured by the operator
lighttpd)
  # lighttpd sends <prefix><status>.html (lighttpd.conf gives these JSON's type).
  for f in "$rundir"/errors/*.json; do mv "$f" "${f%.json}.html"; done
  worker_dir "$rundir/lighttpd-upload"
  # lighttpd opens its logs after it has become the web server's user.
  for f in lighttpd-error.log lighttpd-access.log; do
    if [ -n "$as_root" ]; then install -m 0640 -o "$WEB_USER" -g "$WEB_GROUP" /dev/null "$rundir/$f"; fi
  done
  render "$root/lighttpd.conf" >"$rundir/lighttpd.conf"
  lighttpd -tt -f "$rundir/lighttpd.conf" >/dev/null
  lighttpd -D -f "$rundir/lighttpd.conf" &
  pids+=($!)
  ;;
nginx)
  cat >"$rundir/fastcgi_params.conf" <<'PARAMS'
fastcgi_param REQUEST_METHOD  $request_method;
fastcgi_param REQUEST_URI     $request_uri;
fastcgi_param QUERY_STRING    $query_string;
fastcgi_param CONTENT_TYPE    $content_type;
fastcgi_param CONTENT_LENGTH  $content_length;
fastcgi_param SCRIPT_NAME     $fastcgi_script_name;
fastcgi_param DOCUMENT_URI    $document_uri;
fastcgi_param SERVER_PROTOCOL $server_protocol;
fastcgi_param REMOTE_ADDR     $remote_addr;
fastcgi_param REMOTE_PORT     $remote_port;
fastcgi_param SERVER_ADDR     $server_addr;
fastcgi_param SERVER_PORT     $server_port;
fastcgi_param SERVER_NAME     $server_name;
PARAMS
  render "$root/nginx.conf" >"$rundir/nginx.conf"
  nginx -t -q -c "$rundir/nginx.conf"
  nginx -c "$rundir/nginx.conf" &
  pids+=($!)
  ;;
apache)
  # Request bodies are spooled here before a responder is asked (apache.conf).
  worker_dir "$rundir/apache-tmp"
  render "$root/apache.conf" >"$rundir/apache.conf"
  check=$(apache2 -t -f "$rundir/apache.conf" 2>&1) || { printf '%s\n' "$check" >&2; exit 1; }
  TMPDIR=$rundir/apache-tmp apache2 -f "$rundir/apache.conf" -DFOREGROUND &
  pids+=($!)
  ;;
esac

for ((try = 0; try < 100; try++)); do
  [ "$SERVER" != none ] || break
  curl -fsS -o /dev/null "http://$HOST:$PORT/" 2>/dev/null && break
  sleep 0.05
done
[ "$SERVER" = none ] || curl -fsS -o /dev/null "http://$HOST:$PORT/" ||
  { say "$SERVER did not come up; see $rundir"; exit 1; }
if [ -n "$as_root" ]; then
  users="workers as $WEB_USER, responders as $SERVICE_USER, the broker as $ENGINE_USER"
else users="everything as $(id -un)"; fi
if [ "$SERVER" = none ]; then
  say "ready: no web server; the run pool at $run_sock, the API pool at $api_sock, the page in" \
      "$STATIC, the results in $OUTPUTS  ($RESPONDERS + $API_RESPONDERS responders, $users;" \
      "data in $DATA; Ctrl-C stops)"
else
  say "ready: http://$HOST:$PORT/  ($SERVER, $RESPONDERS + $API_RESPONDERS responders, $users;" \
      "data in $DATA; Ctrl-C stops)"
fi
# Until one of them ends, or we are told to stop.
wait -n "${pids[@]}" || true
# Ctrl-C reaches the whole process group: the servers may end first.
sleep 0.2
[ -n "$interrupted" ] && exit 0
say "a part of the service ended by itself; stopping the rest"
exit 1
