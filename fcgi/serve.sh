#!/usr/bin/env bash
# Runs the whole service in the foreground: the container engine if none
# answers (and we may start it), the responders under spawn-fcgi and
# supervise, and lighttpd or nginx in front. Ctrl-C (or SIGTERM) stops
# everything it started.
#
#   PORT=8000 SERVER=lighttpd|nginx HOST=127.0.0.1 RESPONDERS=4 fcgi/serve.sh
#   IMGSANDBOX_* settings: see `build/responder --settings`.
#   START_DOCKERD=auto|no   (auto: start dockerd when root and none answers)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
SERVER=${SERVER:-lighttpd}
RESPONDERS=${RESPONDERS:-4}
BUILD=${BUILD:-$root/build}
START_DOCKERD=${START_DOCKERD:-auto}

say() { printf 'serve: %s\n' "$*" >&2; }
case $SERVER in lighttpd|nginx) ;; *) say "SERVER must be lighttpd or nginx"; exit 2;; esac
case $PORT in ''|*[!0-9]*) say "PORT must be a number"; exit 2;; esac
for b in responder supervise warmpool; do
  [ -x "$BUILD/$b" ] || { say "$BUILD/$b is missing: run 'make' first"; exit 1; }
done

export IMGSANDBOX_DATA=$(realpath -m "${IMGSANDBOX_DATA:-$root/var}")
export IMGSANDBOX_SAMPLE=${IMGSANDBOX_SAMPLE:-$root/static/sample.png}
export IMGSANDBOX_PACKAGES=${IMGSANDBOX_PACKAGES:-$root/runner_image/packages.txt}
export IMGSANDBOX_OUTPUTS=$(realpath -m "${IMGSANDBOX_OUTPUTS:-$IMGSANDBOX_DATA/outputs}")
mkdir -p "$IMGSANDBOX_DATA" "$IMGSANDBOX_OUTPUTS"
rundir=$IMGSANDBOX_DATA/run-$SERVER-$PORT
rm -rf "$rundir"
mkdir -p "$rundir"
sock=$rundir/fcgi.sock
settings=$("$BUILD/responder" --settings) || { say "the settings are wrong (see above)"; exit 2; }
setting() { printf '%s\n' "$settings" | sed -n "s/^IMGSANDBOX_$1=//p"; }
body=$(setting BODY_BYTES)
timeout_ms=$(setting TIMEOUT_MS)
wait_ms=$(setting SLOT_WAIT_MS)
warm=$(setting WARM)
image=$(setting IMAGE)

pids=()
dockerd_pid=
stop() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  say "stopped"
}
trap stop EXIT
interrupted=
trap 'interrupted=1; exit 0' INT TERM

docker=${IMGSANDBOX_DOCKER:-docker}
if ! "$docker" version >/dev/null 2>&1; then
  if [ "$START_DOCKERD" = auto ] && [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null; then
    say "no container engine answers; starting dockerd (log: $IMGSANDBOX_DATA/dockerd.log)"
    dockerd >"$IMGSANDBOX_DATA/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 60); do "$docker" version >/dev/null 2>&1 && break; sleep 0.5; done
    "$docker" version >/dev/null 2>&1 || { say "dockerd did not start; see $IMGSANDBOX_DATA/dockerd.log"; exit 1; }
  else
    say "warning: no container engine answers; runs will get 503 until one does"
  fi
fi

# The runner image, when it is missing or its sources changed (ours only: an
# image named in IMGSANDBOX_IMAGE is the operator's to build).
if [ -z "${IMGSANDBOX_IMAGE:-}" ]; then
  DOCKER=$docker RUNNER_IMAGE=$image "$root/runner_image/build.sh" --if-missing ||
    say "warning: the runner image could not be built; runs will get 503"
fi

# The host's warm sandboxes: one keeper, kept alive by supervise.
if [ "$warm" -gt 0 ]; then
  "$BUILD/supervise" -n 1 "$BUILD/warmpool" </dev/null 2>>"$rundir/warmpool.log" &
  pids+=($!)
fi

# The responders: spawn-fcgi makes the socket, supervise keeps them alive.
spawn-fcgi -n -s "$sock" -M 0660 -- "$BUILD/supervise" -n "$RESPONDERS" "$BUILD/responder" \
  2>>"$rundir/responder.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { say "the FastCGI socket did not appear; see $rundir/responder.log"; exit 1; }

render() {
  sed -e "s|@HOST@|$HOST|g" -e "s|@PORT@|$PORT|g" -e "s|@STATIC@|$root/static|g" \
      -e "s|@OUTPUTS@|$IMGSANDBOX_OUTPUTS|g" -e "s|@SOCKET@|$sock|g" -e "s|@RUNDIR@|$rundir|g" \
      -e "s|@SERVER_BODY_KB@|$(( body * 2 / 1024 ))|g" -e "s|@SERVER_BODY_BYTES@|$(( body * 2 ))|g" \
      -e "s|@READ_TIMEOUT@|$(( (timeout_ms + wait_ms) / 1000 + 120 ))|g" \
      -e "s|@USER_LINE@|${NGINX_USER_LINE:-user $(id -un) $(id -gn);}|g" "$1"
}
if [ "$SERVER" = lighttpd ]; then
  render "$root/lighttpd.conf" >"$rundir/lighttpd.conf"
  lighttpd -tt -f "$rundir/lighttpd.conf" >/dev/null
  lighttpd -D -f "$rundir/lighttpd.conf" &
  pids+=($!)
else
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
fi

for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://$HOST:$PORT/" 2>/dev/null && break
  sleep 0.05
done
curl -fsS -o /dev/null "http://$HOST:$PORT/" || { say "$SERVER did not come up; see $rundir"; exit 1; }
say "ready: http://$HOST:$PORT/  ($SERVER, $RESPONDERS responders, data in $IMGSANDBOX_DATA; Ctrl-C stops)"
# Until one of them ends, or we are told to stop.
wait -n "${pids[@]}" || true
# Ctrl-C reaches the whole process group: the servers may end first.
sleep 0.2
[ -n "$interrupted" ] && exit 0
say "a part of the service ended by itself; stopping the rest"
exit 1
