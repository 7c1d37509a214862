#!/usr/bin/env bash
# prepare.sh: what must be true before the service's processes start, done
# as root, in one place for both ways the service runs:
#   - sourced by fcgi/serve.sh (make run), which calls its functions;
#   - run as a program by the installed service (imgsandbox-setup.service,
#     make install): `prepare.sh` makes the users, the data folder and its
#     modes, the sandboxes' capped cgroup, and the runner image when it is
#     missing (runner_image/build.sh --if-missing: the first start builds
#     it, about 3 minutes, later ones reuse it), and writes what it
#     decided (the image's tag, the root filesystem, the cgroup) to
#     RUNTIME_DIR/env (default /run/imgsandbox/env), which the units read
#     as their environment; `prepare.sh --stop` removes the cgroup.
# The settings are read the one way: `responder --settings` (the settings
# file, then the environment) through settings.sh.
# Uses: say, as_root, SERVICE_USER, ENGINE_USER, WEB_USER, DATA, OUTPUTS,
# db, engine_kind, BIN, STATIC, IMGSANDBOX_SAMPLE, IMGSANDBOX_PACKAGES.

# The words that run a command as user with exactly the groups listed
# after it (never what /etc/group says besides): setpriv, which execs it
# (no process stays behind); nothing when not root.
drop_to() {
  local user=$1 groups
  shift
  groups=$(IFS=,; printf '%s' "$*")
  if [ -n "$as_root" ]; then
    if [ -n "$groups" ]; then
      printf '%s\n' "$(command -v setpriv)" --reuid="$user" --regid="$(id -gn "$user")" --groups="$groups" --
    else
      printf '%s\n' "$(command -v setpriv)" --reuid="$user" --regid="$(id -gn "$user")" --clear-groups --
    fi
  fi
}
as_user() {
  local user=$1 drop; shift
  mapfile -t drop < <(drop_to "$user")
  "${drop[@]}" "$@"
}


in_group() { local groups; groups=" $(id -nG "$1") "; [[ $groups == *" $2 "* ]]; }

# A system user with no login and no home.
make_user() {
  getent passwd "$1" >/dev/null && return 0
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --comment "$2" "$1"
  say "created the system user $1"
}

# The service user parses what strangers and scripts send: it is in no
# group but its own (an earlier version put it in docker: taken out). The
# engine's user holds the engine's keys: the docker group for the Docker
# engine (root-equivalent: that is why it is a user of its own, in a
# process that parses nothing a stranger sends), and the service's group,
# whose members it serves. Several serve.sh may start at once: one at a
# time here.
ensure_users() {
  (
    flock -w 60 9 || { say "cannot lock /run/lock/imgsandbox-user.lock"; exit 1; }
    make_user "$SERVICE_USER" "imgsandbox responders"
    make_user "$ENGINE_USER" "imgsandbox sandbox broker"
    # Earlier versions put the service user in the docker group: out.
    if in_group "$SERVICE_USER" docker; then
      gpasswd -d "$SERVICE_USER" docker >/dev/null
      say "took $SERVICE_USER out of the docker group (the broker's user holds that key now)"
    fi
    in_group "$ENGINE_USER" "$(id -gn "$SERVICE_USER")" ||
      usermod -a -G "$(id -gn "$SERVICE_USER")" "$ENGINE_USER"
    if [ "$engine_kind" = docker ]; then
      if getent group docker >/dev/null; then
        in_group "$ENGINE_USER" docker || usermod -a -G docker "$ENGINE_USER"
      else
        say "warning: no docker group; $ENGINE_USER may not reach the engine"
      fi
    elif in_group "$ENGINE_USER" docker; then
      gpasswd -d "$ENGINE_USER" docker >/dev/null   # the fork engine needs no such key
    fi
  ) 9>/run/lock/imgsandbox-user.lock
}

# DATA (0750) and the log (0600) are the service user's; OUTPUTS is too,
# group the web server's, 2750: the responder makes each result folder 0750
# and its files 0640, which the set-group-id bit gives to that group. What
# an earlier run as root left in DATA is handed over too (the service's own
# entries only: never run-*, the servers' folders, nor *.log).
own_data() {
  local web_group svc_group out_in_data=
  web_group=$(id -gn "$WEB_USER")
  svc_group=$(id -gn "$SERVICE_USER")
  chown "$SERVICE_USER:$web_group" "$DATA"
  chmod 0751 "$DATA"
  case $OUTPUTS in "$DATA"/*) out_in_data=1;; esac
  # What versions before the broker left: the warm pool keeper's.
  rm -rf "$DATA/sandboxes" "$DATA/warmpool.sock" "$DATA/docker-client" \
    "$DATA/state/warmpool.json" "$DATA/state/health.json"
  find "$DATA" -mindepth 1 -maxdepth 1 ! -name 'run-*' ! -name '*.log' ! -name app \
    ! -name engine ! -name 'checkout-*' ! -path "$OUTPUTS" ! -user "$SERVICE_USER" \
    -exec chown -R -h "$SERVICE_USER:$svc_group" {} +
  # The broker's: its socket, its state, the sandboxes' folders (their
  # set-group-id root gives them the service's group, which writes the
  # job's files into them).
  install -d -m 2750 -o "$ENGINE_USER" -g "$svc_group" "$DATA/engine" "$DATA/engine/boxes"
  chown "$ENGINE_USER:$svc_group" "$DATA/engine" "$DATA/engine/boxes"
  chmod 2750 "$DATA/engine" "$DATA/engine/boxes"
  # A log in PostgreSQL (IMGSANDBOX_DB=postgresql://...) is no file here.
  case ${db,,} in
  postgresql://*|postgres://*) ;;
  *)
    [ -e "$db" ] || install -m 0600 -o "$SERVICE_USER" -g "$svc_group" /dev/null "$db"
    for f in "$db" "$db-wal" "$db-shm"; do
      [ -e "$f" ] || continue
      chown "$SERVICE_USER:$svc_group" "$f"
      chmod 0600 "$f"
    done
    ;;
  esac
  chown "$SERVICE_USER:$web_group" "$OUTPUTS"
  chmod 2750 "$OUTPUTS"
  find "$OUTPUTS" -mindepth 1 -xdev \( ! -user "$SERVICE_USER" -o ! -group "$web_group" \) \
    -exec chown -h "$SERVICE_USER:$web_group" {} +
  [ -n "$out_in_data" ] || say "note: $OUTPUTS is outside $DATA: $WEB_USER must be able to reach it"
}

# What each user must be able to read, checked as that user.
check_access() {
  as_user "$WEB_USER" test -r "$STATIC/index.html" -a -x "$OUTPUTS" || {
    say "$WEB_USER cannot read $STATIC or reach $OUTPUTS: every folder on the way must be"
    say "searchable by it (chmod o+x)"; exit 1; }
  as_user "$SERVICE_USER" test -x "$BIN/responder" -a -r "$IMGSANDBOX_SAMPLE" \
    -a -r "$IMGSANDBOX_PACKAGES" || {
    say "$SERVICE_USER cannot run $BIN/responder or read the sample or the package list"; exit 1; }
  as_user "$ENGINE_USER" test -x "$BIN/sandboxd" -a -w "$DATA/engine/boxes" || {
    say "$ENGINE_USER cannot run $BIN/sandboxd or write in $DATA/engine/boxes"; exit 1; }
}

# The capped cgroup the sandboxes live under (cgroup_parent.sh), unless
# the settings name one or the engine is someone else's: sets cgroup_name
# and IMGSANDBOX_CGROUP_PARENT.
make_cgroup_parent() {
  local slots cap warm_n
  cgroup_name=
  [ -z "${setting_of[CGROUP_PARENT]}" ] && [ -z "${setting_of[DOCKER_HOST]}" ] || return 0
  cgroup_name=imgsandbox-$("$BIN/responder" --instance)
  slots=${setting_of[SLOTS]}
  warm_n=${setting_of[WARM]}
  # Every slot's sandbox at its memory, and the waiting ones at 256 MiB.
  cap=$(( slots * ${setting_of[MEMORY]} + warm_n * (256 << 20) ))
  IMGSANDBOX_CGROUP_PARENT=$("$prepare_dir/cgroup_parent.sh" create "$cgroup_name" "$cap" "$slots") ||
    { say "warning: the sandboxes are not under a capped cgroup"; cgroup_name=; }
}

prepare_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

# --- run as a program: the installed service's preparation -------------
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin
say() { printf 'imgsandbox-setup: %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root"; exit 1; }
# The install's layout: programs here, the page and the runner's files in
# ../../share/imgsandbox (PREFIX/lib/imgsandbox and PREFIX/share/imgsandbox).
BIN=$prepare_dir
SHARE=$(cd "$prepare_dir/../../share/imgsandbox" && pwd)
RUNTIME_DIR=${RUNTIME_DIR:-/run/imgsandbox}
BUILD=$BIN
# shellcheck source=fcgi/settings.sh
. "$prepare_dir/settings.sh"
DATA=${setting_of[DATA]}
OUTPUTS=${setting_of[OUTPUTS]}
db=${setting_of[DB]}
engine_kind=${setting_of[ENGINE]}
STATIC=$SHARE/www
IMGSANDBOX_SAMPLE=${setting_of[SAMPLE]}
IMGSANDBOX_PACKAGES=${setting_of[PACKAGES]}
as_root=1
SERVICE_USER=${SERVICE_USER:-imgsandbox}
ENGINE_USER=${ENGINE_USER:-imgsandbox-engine}
WEB_USER=${WEB_USER:-www-data}

if [ "${1:-}" = --stop ]; then
  cgroup_name=imgsandbox-$("$BIN/responder" --instance)
  [ -n "${setting_of[CGROUP_PARENT]}" ] && [ "${setting_of[CGROUP_PARENT]}" != "/$cgroup_name" ] && exit 0
  # Once the engine has removed the sandboxes' containers (up to 20 s).
  for ((try = 0; try < 40; try++)); do
    "$prepare_dir/cgroup_parent.sh" remove "$cgroup_name" 2>/dev/null && exit 0
    sleep 0.5
  done
  say "warning: /$cgroup_name still has sandboxes; left in place"
  exit 0
fi
case $DATA in /*) ;; *) say "IMGSANDBOX_DATA must be an absolute path (the settings file sets it)"; exit 1;; esac
install -d -m 0755 "$RUNTIME_DIR"
: >"$RUNTIME_DIR/env.tmp"
chmod 0644 "$RUNTIME_DIR/env.tmp"
# The runner image of the installed sources, unless the settings name one.
if [ "${setting_of[IMAGE]}" = imgsandbox-runner:proto2 ]; then
  printf 'IMGSANDBOX_IMAGE=%s\n' "$("$SHARE/runner/build.sh" --print-tag)" >>"$RUNTIME_DIR/env.tmp"
fi
if [ "${setting_of[ROOTFS]}" = /var/cache/imgsandbox/rootfs-current ]; then
  printf 'IMGSANDBOX_ROOTFS=%s\n' "$("$SHARE/runner/build.sh" --print-rootfs)" >>"$RUNTIME_DIR/env.tmp"
fi
mkdir -p "$DATA" "$OUTPUTS"
ensure_users
own_data
check_access
if [ "$engine_kind" = fork ]; then
  "$prepare_dir/engine_setup.sh" "$ENGINE_USER" || { say "the host cannot run the fork engine (see above)"; exit 1; }
fi
"$BIN/seccomp_profile" --check "${setting_of[SECCOMP_LIST]}" >/dev/null
make_cgroup_parent
[ -z "$cgroup_name" ] || printf 'IMGSANDBOX_CGROUP_PARENT=%s\n' "$IMGSANDBOX_CGROUP_PARENT" >>"$RUNTIME_DIR/env.tmp"
image=$(sed -n 's/^IMGSANDBOX_IMAGE=//p' "$RUNTIME_DIR/env.tmp")
if [ -n "$image" ]; then
  docker=${setting_of[DOCKER]}
  dh=${setting_of[DOCKER_HOST]}
  env ${dh:+DOCKER_HOST="$dh"} DOCKER="$docker" RUNNER_IMAGE="$image" \
    "$SHARE/runner/build.sh" --if-missing ||
    say "warning: the runner image could not be built; runs will get 503 until it is"
fi
mv "$RUNTIME_DIR/env.tmp" "$RUNTIME_DIR/env"
say "ready: data in $DATA, settings from ${IMGSANDBOX_CONFIG_FILE-/etc/imgsandbox/imgsandbox.conf}"
