#!/usr/bin/env bash
# Makes sure a Docker engine answers for the tests: starts dockerd in the
# background when none does (as root), and waits for it.
set -euo pipefail
docker version >/dev/null 2>&1 && exit 0
[ "$(id -u)" = 0 ] || { echo "no Docker engine answers and we are not root to start one" >&2; exit 1; }
mkdir -p /var/log/imgsandbox
echo "ensure_dockerd: starting dockerd (log /var/log/imgsandbox/dockerd.log)" >&2
nohup dockerd >/var/log/imgsandbox/dockerd.log 2>&1 &
for _ in $(seq 120); do docker version >/dev/null 2>&1 && exit 0; sleep 0.5; done
echo "dockerd did not start; see /var/log/imgsandbox/dockerd.log" >&2
exit 1
