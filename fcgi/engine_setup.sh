#!/usr/bin/env bash
# The root step of the fork engine (IMGSANDBOX_ENGINE=fork): what its broker
# needs of the host and cannot take itself, given to the user that runs it.
# Idempotent; fcgi/serve.sh runs it as root before it starts the broker.
#
#   fcgi/engine_setup.sh USER        prepare the host for USER's broker
#   fcgi/engine_setup.sh --enter PID (cgroup v2) move the broker PID into
#                                    the delegated cgroup's service leaf
#   IMGSANDBOX_CGROUP (default imgsandbox): the delegated cgroup's name
#
# What it does, and why:
#   - checks that the kernel lets an unprivileged user make user namespaces
#     (kernel.unprivileged_userns_clone, user.max_user_namespaces): the
#     template runs in one; it changes no sysctl, it says which to set;
#   - gives USER a range of 65536 subordinate uids and gids (/etc/subuid,
#     /etc/subgid) when it has none: scripts run as the first of them, never
#     as USER itself; newuidmap and newgidmap (Debian's uidmap) map it;
#   - makes the cgroup IMGSANDBOX_CGROUP in the memory, cpu and pids
#     hierarchies (v1) or the unified one (v2, with those controllers given
#     to its children and a leaf "service" for the broker) and gives it to
#     USER: the broker makes a cgroup per sandbox below it (memory with
#     swap, CPU quota, processes) and moves each sandbox into its own.
# No group of USER's is root-equivalent for this engine (no docker group).
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin
CG=${IMGSANDBOX_CGROUP:-imgsandbox}
say() { printf 'engine_setup: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run it as root: it writes /etc/subuid and makes cgroups"
case $CG in ''|/*|*..*) die "IMGSANDBOX_CGROUP=$CG: expected a relative name such as imgsandbox";; esac

v2() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }

if [ "${1:-}" = --enter ]; then
  pid=${2:?--enter needs the broker pid}
  if v2; then echo "$pid" >"/sys/fs/cgroup/$CG/service/cgroup.procs"; fi
  exit 0
fi

user=${1:?usage: engine_setup.sh USER | --enter PID}
id "$user" >/dev/null 2>&1 || die "no user $user"
uid=$(id -u "$user")
gid=$(id -g "$user")

# User namespaces: checked, not changed.
if [ -r /proc/sys/kernel/unprivileged_userns_clone ] &&
   [ "$(cat /proc/sys/kernel/unprivileged_userns_clone)" != 1 ] && [ "$uid" != 0 ]; then
  die "kernel.unprivileged_userns_clone is 0: sysctl -w kernel.unprivileged_userns_clone=1 (and keep it in /etc/sysctl.d/)"
fi
[ "$(cat /proc/sys/user/max_user_namespaces)" -gt 0 ] ||
  die "user.max_user_namespaces is 0: sysctl -w user.max_user_namespaces=15000 (and keep it in /etc/sysctl.d/)"
for p in newuidmap newgidmap; do
  command -v $p >/dev/null || die "$p is missing: apt-get install uidmap"
done

# A subordinate range: the next free 65536 above every range given out.
add_range() { # file option
  local file=$1 opt=$2 next
  touch "$file"
  if grep -qE "^($user|$uid):[0-9]+:[1-9]" "$file"; then return 0; fi
  next=$(awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }' "$file")
  usermod "$opt" "$next-$((next + 65535))" "$user"
  say "gave $user the ids $next-$((next + 65535)) in $file"
}
add_range /etc/subuid --add-subuids
add_range /etc/subgid --add-subgids

# The delegated cgroup.
if v2; then
  base=/sys/fs/cgroup
  for c in memory cpu pids; do
    grep -qw "$c" "$base/cgroup.controllers" || die "cgroup v2 has no $c controller here"
  done
  echo "+memory +cpu +pids" >"$base/cgroup.subtree_control"
  mkdir -p "$base/$CG/service"
  echo "+memory +cpu +pids" >"$base/$CG/cgroup.subtree_control"
  chown "$uid:$gid" "$base/$CG" "$base/$CG/cgroup.procs" "$base/$CG/cgroup.subtree_control" \
    "$base/$CG/cgroup.threads" "$base/$CG/service" "$base/$CG/service/cgroup.procs" \
    "$base/$CG/service/cgroup.threads"
  say "cgroup v2: $base/$CG is $user's; its broker must start in $base/$CG/service (engine_setup.sh --enter PID)"
else
  for c in memory cpu pids; do
    mnt=$(awk -v c="$c" '{ for (f = 7; f <= NF && $f != "-"; f++); if ($(f + 1) != "cgroup") next;
      n = split($(f + 3), o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo)
    [ -n "$mnt" ] || die "no cgroup v1 hierarchy has the $c controller here"
    mkdir -p "$mnt/$CG"
    chown "$uid:$gid" "$mnt/$CG"
    # Each child of it takes its limits from itself, not from here.
    [ "$c" != memory ] || [ ! -e "$mnt/$CG/memory.use_hierarchy" ] ||
      echo 1 >"$mnt/$CG/memory.use_hierarchy" 2>/dev/null || true
  done
  say "cgroup v1: $CG in memory, cpu and pids is $user's"
fi
