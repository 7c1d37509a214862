#!/usr/bin/env bash
# The cgroup the sandboxes of one service live under (docker run
# --cgroup-parent), capped so that all of them together never take more
# memory than the service was given: when they reach the cap, the kernel's
# OOM killer picks inside this cgroup (a sandbox), never dockerd,
# PostgreSQL or the responders outside it.
#
#   fcgi/cgroup_parent.sh create NAME BYTES SLOTS
#       creates /NAME in every cgroup hierarchy the engine uses (v1: each
#       controller's; v2: the unified one, with the memory and cpu
#       controllers enabled for it), caps its memory (and memory+swap, when
#       the kernel counts swap) at BYTES, gives it the CPU weight of SLOTS
#       containers (side by side at the top, each sandbox had a container's
#       weight; under one parent they share its weight, which would let a
#       busy host starve them), and prints the --cgroup-parent value: /NAME.
#       Run again, it sets the cap and the weight again (changed settings).
#   fcgi/cgroup_parent.sh remove NAME
#       removes it, when no sandbox is left in it (else says so, exit 1:
#       the engine removes a container's cgroup with the container, so the
#       caller may try again a moment later).
#
# As root (the cgroup filesystem is root's), with an engine that uses the
# cgroupfs driver (docker info: Cgroup Driver: cgroupfs, Debian's default
# without systemd); under the systemd driver a parent is a slice, capped
# through systemd, and this script says so and exits 3.
#
# fcgi/serve.sh (as root) calls it with NAME imgsandbox-<instance>, BYTES =
# slots x IMGSANDBOX_MEMORY + warm sandboxes x 256 MiB (a waiting sandbox
# holds 20 to 70 MiB) and SLOTS, and sets IMGSANDBOX_CGROUP_PARENT to what
# it prints; at its end it removes it.
set -euo pipefail
CGROOT=${CGROUP_ROOT:-/sys/fs/cgroup}
say() { printf 'cgroup_parent: %s\n' "$*" >&2; }
usage() { say "usage: $0 create NAME BYTES SLOTS | remove NAME"; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1 name=$2
case $name in ''|*[!a-z0-9_.-]*|.*) say "NAME must be [a-z0-9_.-], not starting with a dot"; exit 2;; esac
[ "$(id -u)" = 0 ] || { say "needs root (the cgroup filesystem is root's)"; exit 1; }

driver=$(docker info --format '{{.CgroupDriver}}' 2>/dev/null) || driver=unknown
if [ "$driver" = systemd ]; then
  say "the engine uses the systemd cgroup driver: a parent is a slice there, capped with"
  say "systemctl set-property <name>.slice MemoryMax=<bytes>; not done here"
  exit 3
fi

# The folders of NAME: one per v1 hierarchy (controllers and named ones),
# or the one of v2.
dirs() {
  if [ -e "$CGROOT/cgroup.controllers" ]; then
    printf '%s\n' "$CGROOT/$name"
    return
  fi
  local d
  for d in "$CGROOT"/*/; do
    d=${d%/}
    [ -L "$d" ] && continue            # cpu,cpuacct and the like: links to one
    [ -e "$d/cgroup.procs" ] || continue
    printf '%s\n' "$d/$name"
  done
}

# v1: a new cpuset takes its CPUs and memory nodes from its parent's.
cpuset_init() {
  local d=$1 f
  for f in cpuset.cpus cpuset.mems; do
    [ -e "$d/$f" ] && [ -z "$(cat "$d/$f")" ] && cat "$(dirname "$d")/$f" >"$d/$f"
  done
  return 0
}

cap_memory() {
  local bytes=$1 d
  if [ -e "$CGROOT/cgroup.controllers" ]; then
    grep -qw memory "$CGROOT/cgroup.subtree_control" ||
      echo +memory >"$CGROOT/cgroup.subtree_control"
    echo "$bytes" >"$CGROOT/$name/memory.max"
    [ -e "$CGROOT/$name/memory.swap.max" ] && echo 0 >"$CGROOT/$name/memory.swap.max"
    return 0
  fi
  d=$CGROOT/memory/$name
  [ -d "$d" ] || { say "no memory hierarchy at $CGROOT/memory"; exit 1; }
  # memsw is at least memory: lower memsw first when shrinking, raise it
  # first when growing (the kernel refuses memory > memsw).
  if [ -e "$d/memory.memsw.limit_in_bytes" ]; then
    echo "$bytes" >"$d/memory.memsw.limit_in_bytes" 2>/dev/null || true
    echo "$bytes" >"$d/memory.limit_in_bytes"
    echo "$bytes" >"$d/memory.memsw.limit_in_bytes"
  else
    echo "$bytes" >"$d/memory.limit_in_bytes"
  fi
}

# The CPU weight of slots containers: v1 cpu.shares (1024 each), v2
# cpu.weight (100 each, at most 10000).
weigh() {
  local slots=$1
  if [ -e "$CGROOT/cgroup.controllers" ]; then
    grep -qw cpu "$CGROOT/cgroup.subtree_control" ||
      echo +cpu >"$CGROOT/cgroup.subtree_control"
    echo $(( slots * 100 > 10000 ? 10000 : slots * 100 )) >"$CGROOT/$name/cpu.weight"
  elif [ -e "$CGROOT/cpu/$name/cpu.shares" ]; then
    echo $(( slots * 1024 )) >"$CGROOT/cpu/$name/cpu.shares"
  fi
}

case $cmd in
create)
  [ $# -eq 4 ] || usage
  bytes=$3 slots=$4
  case $bytes in ''|*[!0-9]*) say "BYTES must be a number"; exit 2;; esac
  case $slots in ''|0|*[!0-9]*) say "SLOTS must be a number above 0"; exit 2;; esac
  [ "$bytes" -ge $((64 << 20)) ] || { say "BYTES below 64 MiB leaves no room for a sandbox"; exit 2; }
  while read -r d; do
    mkdir -p "$d"
    case $d in */cpuset/*) cpuset_init "$d";; esac
  done < <(dirs)
  cap_memory "$bytes"
  weigh "$slots"
  printf '/%s\n' "$name"
  ;;
remove)
  [ $# -eq 2 ] || usage
  left=0
  while read -r d; do
    [ -d "$d" ] || continue
    rmdir "$d" 2>/dev/null || left=1
  done < <(dirs)
  [ $left = 0 ] || { say "/$name still holds sandboxes (or their cgroups): left in place"; exit 1; }
  ;;
*) usage;;
esac
