#!/usr/bin/env bash
# Makes sure a Docker engine answers for the tests, with gVisor's runsc
# registered when it is installed (the hostile suite runs under it too):
#
#   1. /etc/docker/daemon.json gets
#      {"runtimes": {"runsc": {"path": "/usr/bin/runsc",
#                              "runtimeArgs": ["--network=none", "--oci-seccomp"]}}}
#      merged into what it holds (as root; the rest of the file is kept).
#      --oci-seccomp: without it runsc ignores the engine's seccomp profile,
#      and a script may unshare a user namespace (then chroot, open raw
#      sockets) inside gVisor's kernel; with it the sandbox keeps the same
#      filter as under runc, enforced by gVisor, on top of gVisor's own;
#   2. when none answers, dockerd is started in the background (as root);
#   3. when a dockerd answers but does not run runsc so yet and we started
#      it (its output goes to our log), it is told to read the file again:
#      SIGHUP, which reloads the runtimes without a restart (running
#      containers are not touched). A dockerd started by someone else is
#      left alone, with a note saying how to reload it.
set -euo pipefail
LOG=/var/log/imgsandbox/dockerd.log
CONF=${DOCKERD_CONFIG:-/etc/docker/daemon.json}
RUNSC=/usr/bin/runsc

say() { printf 'ensure_dockerd: %s\n' "$*" >&2; }

# Merges the runsc runtime into $CONF. Prints "changed" when it wrote it.
register_runsc() {
  [ -x "$RUNSC" ] || return 0
  [ "$(id -u)" = 0 ] || { say "not root: cannot register runsc in $CONF"; return 0; }
  mkdir -p "$(dirname "$CONF")"
  /usr/bin/python3 - "$CONF" "$RUNSC" <<'PY'
import json, os, sys
conf, runsc = sys.argv[1], sys.argv[2]
want = {"path": runsc, "runtimeArgs": ["--network=none", "--oci-seccomp"]}
try:
    with open(conf) as f:
        data = json.load(f)
except FileNotFoundError:
    data = {}
except ValueError as e:
    sys.exit("ensure_dockerd: %s is not valid JSON (%s): runsc is not registered" % (conf, e))
if not isinstance(data, dict) or not isinstance(data.get("runtimes", {}), dict):
    sys.exit("ensure_dockerd: %s has an unexpected shape: runsc is not registered" % conf)
if data.get("runtimes", {}).get("runsc") == want:
    sys.exit(0)
data.setdefault("runtimes", {})["runsc"] = want
tmp = conf + ".imgsandbox.tmp"
with open(tmp, "w") as f:
    json.dump(data, f, indent=2)
    f.write("\n")
os.chmod(tmp, 0o644)
os.rename(tmp, conf)
print("changed")
PY
}

# The pid of the dockerd that answers on the default socket, if we started it.
our_dockerd() {
  local pid
  pid=$(cat /run/docker.pid 2>/dev/null) || return 1
  [ "$(readlink "/proc/$pid/fd/1" 2>/dev/null)" = "$LOG" ] || return 1
  echo "$pid"
}

# Whether the engine runs runsc with our arguments.
has_runsc() {
  local r
  r=$(docker info --format '{{json (index .Runtimes "runsc")}}' 2>/dev/null) || return 1
  case $r in *'"--network=none"'*'"--oci-seccomp"'*) return 0;; esac
  return 1
}

changed=$(register_runsc) || true
[ -n "$changed" ] && say "registered runsc in $CONF"

if docker version >/dev/null 2>&1; then
  if [ -x "$RUNSC" ] && [ "$(id -u)" = 0 ] && ! has_runsc; then
    if pid=$(our_dockerd); then
      say "dockerd (pid $pid, started here) reloads $CONF"
      kill -HUP "$pid"
      for _ in $(seq 40); do has_runsc && break; sleep 0.25; done
      has_runsc || { say "dockerd did not take the runsc runtime; see $LOG"; exit 1; }
    else
      say "the running dockerd was not started here and does not know runsc:"
      say "reload it (systemctl reload docker, or kill -HUP its pid) for the gVisor tests"
    fi
  fi
  exit 0
fi
[ "$(id -u)" = 0 ] || { say "no Docker engine answers and we are not root to start one"; exit 1; }
mkdir -p "$(dirname "$LOG")"
say "starting dockerd (log $LOG)"
nohup dockerd >"$LOG" 2>&1 &
for _ in $(seq 120); do docker version >/dev/null 2>&1 && exit 0; sleep 0.5; done
say "dockerd did not start; see $LOG"
exit 1
