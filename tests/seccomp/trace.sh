#!/usr/bin/env bash
# The evidence behind runner_image/seccomp.list: every system call the
# sandbox's Python makes, traced with strace -f, for each example of
# static/examples, the workloads beside this file (the numeric libraries'
# heavy paths; processes, threads, multiprocessing), a warm sandbox with
# OpenCV and scikit-image preloaded, and the hostile scripts of
# tests/hostile (which try refused calls on purpose: listed apart).
#
# Each runs as the sandbox runs it (python3 -I entry.py, uid 10001, the
# sandbox's environment, /code, /input and /output) in a chroot of the
# runner image's root filesystem (runner_image/build.sh caches it), on an
# overlay so that the cache is never written, in a mount and PID namespace
# of its own. strace runs outside; only what follows the execve of the
# sandbox's python3 is counted.
#
# Prints, for each call the workloads made: the call, how many times, and
# which workloads made it; then the calls made that the list refuses (the
# list is wrong if a workload other than a hostile one makes one it does
# not carry on without). Then each workload but the hostile ones runs in a
# real sandbox, with the service's argv and the profile, under runc and
# runsc, and must end with status 0.
# Usage (root): tests/seccomp/trace.sh [build/seccomp_profile] [out-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tool=${1:-$root/build/seccomp_profile}
out=$(realpath -m "${2:-$root/build/seccomp-trace}")
rootfs=$(readlink -f "${RUNNER_ROOTFS:-/var/cache/imgsandbox/rootfs-current}")
say() { printf 'trace: %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root (chroot, mounts)"; exit 1; }
[ -e "$rootfs/.complete" ] || { say "no runner root filesystem at $rootfs: make runner-image"; exit 1; }
command -v strace >/dev/null || { say "strace is missing: apt-get install strace"; exit 1; }
[ -x "$tool" ] || { say "$tool is missing: make"; exit 1; }
rm -rf "$out"
mkdir -p "$out/logs"

# name<TAB>code file<TAB>mode (cold, or warm:<preload>)
jobs=$out/jobs.tsv
: >"$jobs"
for f in "$root"/static/examples/*.py "$here"/workloads/*.py; do
  printf '%s\t%s\tcold\n' "$(basename "$f" .py)" "$f" >>"$jobs"
done
printf 'warm-blur\t%s\twarm:numpy,PIL.Image,cv2,skimage.filters,scipy.ndimage\n' \
  "$root/static/examples/blur.py" >>"$jobs"
# Not those that only spend what the sandbox caps (memory, processes, disk,
# time), which a chroot does not cap: they make no call the others do not.
for f in "$root"/tests/hostile/*.py; do
  case $(basename "$f") in
  alloc_4gib.py|busy_loop.py|fill_*|fork_bomb.py|print_1gib.py|write_10gib_output.py) continue;;
  esac
  printf 'hostile-%s\t%s\tcold\n' "$(basename "$f" .py)" "$f" >>"$jobs"
done

run_one() {
  local name=$1 code=$2 mode=$3 work=$out/work-$name
  mkdir -p "$work"/{up,wk,root}
  unshare --mount --pid --fork --kill-child bash -s "$rootfs" "$work" "$code" "$root" 2>>"$out/unshare.log" <<'INNER' &
set -e
rootfs=$1 work=$2 code=$3 src=$4 r=$2/root
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$work/up,workdir=$work/wk" "$r"
mkdir -p "$r/code" "$r/input" "$r/output" "$r/opt/imgsandbox" "$r/dev/shm"
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -t tmpfs -o mode=1777,size=64m tmpfs "$r/dev/shm"
mount -t tmpfs -o mode=1777,size=64m,noexec,nosuid,nodev tmpfs "$r/tmp"
mount -t tmpfs -o mode=1777,size=32m,noexec,nosuid,nodev tmpfs "$r/output"
mount -t sysfs sysfs "$r/sys"
cp "$code" "$r/code/main.py"
cp "$src/static/sample.png" "$r/input/image.png"
cp "$src/runner_image/entry.py" "$r/opt/imgsandbox/entry.py"
mount -o remount,bind,ro "$r/code" 2>/dev/null || true
touch "$work/mounted"
cd "$r"
exec chroot "$r" /bin/sleep 600
INNER
  local holder=$!   # (its stderr: unshare complains when its child is killed)
  for _ in $(seq 100); do [ -e "$work/mounted" ] && break; sleep 0.05; done
  local pid
  pid=$(pgrep -P "$holder")
  for _ in $(seq 100); do [ "$(readlink "/proc/$pid/root")" != / ] && break; sleep 0.05; done
  local env=(HOME=/tmp MPLCONFIGDIR=/tmp PYTHONDONTWRITEBYTECODE=1 OMP_NUM_THREADS=2
             OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 NUMEXPR_NUM_THREADS=2
             OPENCV_FOR_THREADS_NUM=2 USER_PARAMS={}
             PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  local args=(/usr/bin/python3 -I /opt/imgsandbox/entry.py) input=/dev/null
  if [ "${mode%%:*}" = warm ]; then
    env+=(IMGSANDBOX_PRELOAD="${mode#warm:}")
    args+=(--warm)
    input=$work/job
    printf '{"params": "{}"}\n' >"$input"
  fi
  timeout 120 strace -f -qq -o "$out/logs/$name" -- \
    nsenter -t "$pid" -m -p -r -w -- \
    setpriv --reuid=10001 --regid=10001 --clear-groups -- \
    env -i "${env[@]}" "${args[@]}" <"$input" >"$out/logs/$name.stdout" 2>"$out/logs/$name.stderr" ||
    true
  kill -KILL "$pid" 2>/dev/null || true   # the namespace's init takes no SIGTERM
  wait "$holder" 2>/dev/null || true
  rm -rf "$work"
}

while IFS=$'\t' read -r name code mode; do
  say "$name"
  run_one "$name" "$code" "$mode"
done <"$jobs"

"$tool" --names "$root/runner_image/seccomp.list" >"$out/allowed.txt"
set +e
/usr/bin/python3 - "$out" <<'PY'
import collections, os, re, sys
out = sys.argv[1]
allowed = set(open(os.path.join(out, "allowed.txt")).read().split())
line_re = re.compile(r"^(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]")
calls = collections.defaultdict(lambda: [0, set()])
for name in sorted(os.listdir(os.path.join(out, "logs"))):
    if "." in name:
        continue
    started = False
    for line in open(os.path.join(out, "logs", name), errors="replace"):
        if not started:
            # The sandbox begins at the execve of its python3.
            started = 'execve("/usr/bin/python3"' in line and "= 0" in line
            continue
        m = line_re.match(line)
        if not m or "resumed>" in line or "+++" in line or "---" in line:
            continue
        c = calls[m.group(2)]
        c[0] += 1
        c[1].add(name)
    if not started:
        print("WARNING: %s never reached python3 (see logs/%s)" % (name, name))
with open(os.path.join(out, "calls.txt"), "w") as f:
    for call in sorted(calls):
        n, who = calls[call]
        f.write("%-24s %8d  %s\n" % (call, n, " ".join(sorted(who))))
print(open(os.path.join(out, "calls.txt")).read())
# Refused calls a workload makes and carries on without, and why (phase
# two below runs every workload under the filter to show it).
tolerated = {
    "clone3": "answered ENOSYS: glibc falls back to clone",
    "get_mempolicy": "NUMA policy, EPERM under Docker's default too (CAP_SYS_NICE)",
    "set_mempolicy": "NUMA policy, EPERM under Docker's default too (CAP_SYS_NICE)",
    "mbind": "NUMA policy, EPERM under Docker's default too (CAP_SYS_NICE)",
}
bad = {c: sorted(w for w in calls[c][1]) for c in calls if c not in allowed}
needed = {c: w for c, w in bad.items()
          if c not in tolerated and any(not x.startswith("hostile-") for x in w)}
print("made, and refused by the list:")
for c, w in sorted(bad.items()):
    why = "   <-- NEEDED" if c in needed else "   (" + tolerated[c] + ")" if c in tolerated else ""
    print("  %-22s %s%s" % (c, " ".join(w), why))
sys.exit(1 if needed else 0)
PY
status=$?

# Phase two: every workload but the hostile ones in a real sandbox, with
# the service's own argv (build/sandboxd --docker-argv) and its profile,
# two CPUs (so that the thread pools start threads), under runc and runsc:
# each must end with status 0.
image=$("$root/runner_image/build.sh" --print-tag)
data=$out/data
for rt in runc runsc; do
  # Under runsc the container's pids cgroup also counts gVisor's own host
  # threads, so --pids-limit=64 leaves too few for multiprocessing's spawn
  # (the sandbox dies, with or without a seccomp filter): more here.
  [ "$rt" = runc ] && runtime= pids=64 || runtime=$rt pids=512
  export IMGSANDBOX_DATA=$data IMGSANDBOX_RUNTIME=$runtime IMGSANDBOX_CPUS=2 IMGSANDBOX_IMAGE=$image \
    IMGSANDBOX_PIDS=$pids
  mkdir -p "$data/jobs"
  "$tool" --json "$data/seccomp.json" "$root/runner_image/seccomp.list"
  while IFS=$'\t' read -r name code mode; do
    case $name in hostile-*|warm-*) continue;; esac
    id=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    job=$data/jobs/$id
    mkdir -p "$job/code" "$job/input"
    cp "$code" "$job/code/main.py"
    cp "$root/static/sample.png" "$job/input/image.png"
    chmod -R a+rX "$job"
    mapfile -d '' argv < <("$root/build/sandboxd" --docker-argv trace "$id" "$job")
    USER_PARAMS={} "${argv[@]}" </dev/null >"$out/logs/$rt-$name.stdout" 2>"$out/logs/$rt-$name.stderr"
    rc=$?
    docker rm -f "imgsandbox-$id" >/dev/null 2>&1 || true
    if [ $rc = 0 ] && grep -q '"exit": 0}' "$out/logs/$rt-$name.stderr"; then
      say "$rt: $name ended with status 0 under the filter"
    else
      say "$rt: $name FAILED under the filter (status $rc; see $out/logs/$rt-$name.stderr)"
      status=1
    fi
  done <"$jobs"
done
exit $status
