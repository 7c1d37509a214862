#!/usr/bin/env bash
# make bench: starts its own services (fcgi/serve.sh behind lighttpd, nginx
# and Apache, each once with make run's defaults, warm, and once with
# IMGSANDBOX_WARM=0, cold; the fork engine, IMGSANDBOX_ENGINE=fork, behind
# lighttpd; temp data folders under /tmp, free loopback ports), measures,
# and stops everything it started. Prints markdown on
# stdout (progress on stderr) and saves it to build/bench/results-<date>.md.
#
#   tests/bench/run.sh                 everything: about 12 minutes on 2 cores
#   BENCH_RUNS=3 BENCH_SECONDS=3 BENCH_PARTS="latency load" tests/bench/run.sh   a quick pass
#
# Knobs (environment):
#   BENCH_PARTS="latency heavy load api slow logdb"   a subset runs only those parts
#   BENCH_SERVERS="lighttpd nginx apache"
#   BENCH_RUNS=10            timed rounds per job of the latency table (after BENCH_WARMUP=1)
#   BENCH_B2B_RUNS=10        warm requests back to back (the row that shows the pool draining)
#   BENCH_WARM_SETTLE_S=1.5  pause after each warm request (its replacement starts, the used
#                            container goes); BENCH_SETTLE_S=0.3 after each other request
#   BENCH_HEAVY_RUNS=5       rounds of the OpenCV and scikit-image scripts
#   BENCH_PRELOAD_EXTRA=cv2,skimage.filters.thresholding,skimage.color.colorconv   added to
#                            the default IMGSANDBOX_PRELOAD for the "preloaded" rows (scikit-image
#                            loads its packages' members lazily: their submodules are named)
#   BENCH_WARMSTART_N=3      warm sandboxes started by hand per preload (time and memory)
#   BENCH_SECONDS=10         length of each load step; BENCH_CLIENTS="1 2 4 8 16"
#   BENCH_LOAD_MODES="warm cold client fork fork0"   the services of the load part (lighttpd
#                            each): Docker warm (make run's defaults), Docker cold (IMGSANDBOX_WARM=0),
#                            Docker cold with a client program per call (IMGSANDBOX_DOCKER_API=0),
#                            the fork engine (IMGSANDBOX_ENGINE=fork, else make run's defaults),
#                            the fork engine with no page mapped ahead (IMGSANDBOX_FORK_PREFAULT=0)
#   BENCH_BURST="4 8"        CLIENTS RUNS of the refusal check (make run's client share); empty: none
#   BENCH_FORK=1             the fork engine's services (0: Docker only)
#   BENCH_LOG_ROWS=20000     rows put in each service's log before it starts (API reads)
#   BENCH_WRK_SECONDS=5 BENCH_WRK_CONNS=8 BENCH_WRK_THREADS=2
#   BENCH_SLOW_SECONDS=8     reads of the summary, idle and with 64 connections trickling
#   BENCH_LOGDB_STORES="sqlite postgresql"  the log stores build/bench_logdb is run for
#                            (postgresql only where Debian's server is installed: a throwaway
#                            one, tests/integration/pg.sh, on BENCH_PG_PORT=55499)
#   BENCH_LOGDB_ROWS=        rows for build/bench_logdb (its default: 1e6), BENCH_LOGDB_TIMEOUT=400
#   BENCH_LOGDB_PG_ROWS=     rows for the PostgreSQL store (default: BENCH_LOGDB_ROWS, else
#                            1e6); written to an SQLite file by logdb and copied in with
#                            COPY (tests/bench/pg_load.py): PostgreSQL's own write path
#                            takes about 1 ms a row, 20 minutes for a million
#   BENCH_QUIET_WAIT=60      seconds to wait, at most, before starting, for other containers
#   BENCH_QUIET_LOAD=nproc   to end and the 1-minute load average to drop below this
#   BENCH_KEEP=1             keep the temp folder (logs, JSON) for a look afterwards
#   BENCH_FLOOR=0            skip the chroot floor
#   RESPONDERS, API_RESPONDERS, IMGSANDBOX_*   passed on to the services, as serve.sh
# Loopback only. Runs as root (the chroot floor needs it; serve.sh then runs
# the responders as imgsandbox and the web servers' workers as www-data).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export BUILD=${BUILD:-$root/build}
PY=/usr/bin/python3
BENCH=$root/tests/bench/bench.py
export BENCH_RUNS=${BENCH_RUNS:-10}
BENCH_B2B_RUNS=${BENCH_B2B_RUNS:-10}
BENCH_HEAVY_RUNS=${BENCH_HEAVY_RUNS:-5}
export BENCH_PRELOAD_EXTRA=${BENCH_PRELOAD_EXTRA:-cv2,skimage.filters.thresholding,skimage.color.colorconv}
BENCH_WARMSTART_N=${BENCH_WARMSTART_N:-3}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CLIENTS=${BENCH_CLIENTS:-1 2 4 8 16}
BENCH_LOAD_MODES=${BENCH_LOAD_MODES:-warm cold client fork fork0}
BENCH_BURST=${BENCH_BURST-4 8}
BENCH_FORK=${BENCH_FORK:-1}
[ "$BENCH_FORK" = 1 ] || BENCH_LOAD_MODES=$(echo " $BENCH_LOAD_MODES " | sed 's/ fork0 / /; s/ fork / /')
BENCH_LOG_ROWS=${BENCH_LOG_ROWS:-20000}
BENCH_PARTS=${BENCH_PARTS:-latency heavy load api slow logdb}
BENCH_SERVERS=${BENCH_SERVERS:-lighttpd nginx apache}
if [ -x /usr/lib/postgresql/15/bin/pg_ctl ] && [ -z "${BENCH_LOGDB_STORES:-}" ]; then
  BENCH_LOGDB_STORES="sqlite postgresql"
fi
BENCH_LOGDB_STORES=${BENCH_LOGDB_STORES:-sqlite}
export BENCH_WARM_SETTLE_S=${BENCH_WARM_SETTLE_S:-1.5} BENCH_SETTLE_S=${BENCH_SETTLE_S:-0.3}
export BENCH_WARMUP=${BENCH_WARMUP:-1}
export RESPONDERS=${RESPONDERS:-8} API_RESPONDERS=${API_RESPONDERS:-2}
# A client's share (IMGSANDBOX_CLIENT_*) made roomy: the latency part's
# requests all come from 127.0.0.1, and the load part's clients (each from
# an address of its own, 127.0.0.2...) send as fast as they are answered,
# which make run's 60 runs a minute would turn away after the burst. The
# refusal check (BENCH_BURST) has a service with make run's share.
SHARE=(IMGSANDBOX_CLIENT_INFLIGHT=1024 IMGSANDBOX_CLIENT_RUNS_PER_MIN=1000000
       IMGSANDBOX_CLIENT_BURST=100000)

tmp= report=
acct=           # cpuacct cgroups (v1) of our services: the load part's CPU split
pgids=()        # every process group we started (serve.sh, hello servers)
insts=()        # the instance labels of our containers
t_begin=$(date +%s)
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
part() { case " $BENCH_PARTS " in *" $1 "*) return 0;; esac; return 1; }

[ "$(id -u)" = 0 ] || die "run as root (the chroot floor and the services' users need it)"
for b in responder supervise sandboxd hello_fcgi; do
  [ -x "$BUILD/$b" ] || die "$BUILD/$b is missing: run 'make' first"
done
for t in curl wrk spawn-fcgi lighttpd nginx apache2 docker unshare; do
  command -v "$t" >/dev/null || die "$t is not installed"
done
docker version >/dev/null 2>&1 || die "dockerd does not answer; start it (fcgi/ensure_dockerd.sh)"
# The image of these sources (what serve.sh runs), unless one is named.
export IMGSANDBOX_IMAGE=${IMGSANDBOX_IMAGE:-$("$root/runner_image/build.sh" --print-tag)}
image=$IMGSANDBOX_IMAGE
docker image inspect "$image" >/dev/null 2>&1 || die "the runner image $image is missing: make runner-image"

stamp=$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$BUILD/bench"
report=$BUILD/bench/results-$stamp.md
: >"$report"
# Under /tmp (0755 on the way): the service's users must reach the data.
tmp=$(mktemp -d /tmp/imgsandbox-bench.XXXXXX)
chmod 755 "$tmp"
res=$tmp/results
mkdir -p "$res"
export BENCH_TMP=$tmp BENCH_INPUTS=$tmp/inputs BENCH_DIRECT_INSTANCE=bench$$-direct
insts+=("$BENCH_DIRECT_INSTANCE")

# --- start and stop ------------------------------------------------------------
# Every process under PID (by parent id: the responders are in sessions of
# their own, out of reach of a process-group kill).
descendants() {
  ps -eo pid=,ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END { q[1] = root; h = 1; t = 1
          while (h <= t) { n = split(kids[q[h++]], k, " ")
                           for (i = 1; i <= n; i++) { print k[i]; q[++t] = k[i] } } }'
}
stop_group() {  # PGID: TERM, 10 s, then KILL to the group and what outlived it
  local all p
  all=$(descendants "$1")
  kill -TERM -- "-$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 -- "-$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
  for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
}
remove_containers() {  # INSTANCE...
  local i ids
  for i in "$@"; do
    ids=$(docker ps -aq --filter "label=imgsandbox.instance=$i" 2>/dev/null || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
  done
}
cleanup() {
  local rc=$? p
  trap '' INT TERM
  trap - EXIT
  for p in $(ps -o pid= --ppid $$); do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pgids[@]}"; do stop_group "$p"; done
  remove_containers "${insts[@]}"
  remove_acct
  declare -F stop_pg >/dev/null && stop_pg
  if [ -n "$tmp" ]; then
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  [ $rc = 0 ] || [ -z "$report" ] || say "failed (exit $rc); partial results in $report"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each service's processes in cpuacct cgroups of their own (cgroup v1):
# ACCT/<service>/{web,service,broker}, so that a load step can say what the
# web server, the responders and the broker (with what it runs) used.
if [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
  acct=/sys/fs/cgroup/cpuacct/benchacct-$$
  mkdir -p "$acct"
  export BENCH_ACCT=$acct
fi
remove_acct() {  # what is left in them back to the root, then the folders
  local d p
  [ -n "$acct" ] && [ -d "$acct" ] || return 0
  for d in $(find "$acct" -depth -mindepth 1 -type d); do
    for p in $(cat "$d/cgroup.procs" 2>/dev/null); do echo "$p" >/sys/fs/cgroup/cpuacct/cgroup.procs 2>/dev/null || true; done
    rmdir "$d" 2>/dev/null || true
  done
  rmdir "$acct" 2>/dev/null || true
}

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() {  # URL PID LOG (the PID, not its group: setsid may not have run yet)
  local i
  for i in $(seq 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "$1 did not come up"; }
    sleep 0.1
  done
  tail -20 "$3" >&2
  die "$1 did not come up in 60 s"
}

# start_service NAME SERVER [VAR=value...]: sets port_NAME, pid_NAME,
# data_NAME, inst_NAME, server_NAME (NAME: letters, digits, _).
start_service() {
  local name=$1 server=$2 port data pid inst pooled engine
  shift 2
  port=$(free_port)
  data=$tmp/data-$name
  inst=bench$$-${name//_/-}
  mkdir -p "$data"
  [ ! -s "$tmp/seed.db" ] || cp "$tmp/seed.db" "$data/log.db"
  [ -z "$acct" ] || mkdir -p "$acct/$name"
  # serve.sh in its service's cpuacct cgroup (when there is one), then as before.
  env "${SHARE[@]}" IMGSANDBOX_INSTANCE="$inst" "$@" PORT=$port SERVER=$server HOST=127.0.0.1 \
    START_DOCKERD=no IMGSANDBOX_DATA="$data" \
    sh -c '[ -z "$0" ] || echo $$ >"$0/cgroup.procs"; exec setsid "$@"' "${acct:+$acct/$name}" \
    "$root/fcgi/serve.sh" >"$tmp/serve-$name.log" 2>&1 </dev/null &
  pid=$!
  pgids+=("$pid")
  insts+=("$inst")
  wait_http "http://127.0.0.1:$port/" "$pid" "$tmp/serve-$name.log"
  [ -z "$acct" ] || $PY "$BENCH" acct "$pid" "$acct/$name"
  engine=docker
  case " $* " in *" IMGSANDBOX_ENGINE=fork "*) engine=fork;; esac
  pooled=1
  [ "${IMGSANDBOX_WARM:--1}" != 0 ] || pooled=0
  case " $* " in *" IMGSANDBOX_WARM=0 "*) pooled=0;; esac
  eval "port_$name=$port pid_$name=$pid data_$name=\$data inst_$name=$inst server_$name=$server"
  eval "pooled_$name=$pooled engine_$name=$engine"
  say "$name: $engine engine, $server on 127.0.0.1:$port (serve.sh pid $pid, data $data)"
}
url_of() { echo "http://127.0.0.1:$(eval echo \$port_$1)"; }

stop_service() { stop_group "$(eval echo \$pid_$1)"; remove_containers "$(eval echo \$inst_$1)"; }

# Fails the bench when a service we started is gone (a crash, or a signal
# from outside: the machine is shared).
alive() {
  local n pid
  for n in "$@"; do
    pid=$(eval echo \$pid_$n)
    if ! kill -0 "$pid" 2>/dev/null || ! curl -fsS -o /dev/null "$(url_of "$n")/"; then
      tail -n 5 "$tmp/serve-$n.log" >&2
      die "the $n service (serve.sh pid $pid) is gone; was it signalled from outside? Run again."
    fi
  done
}

# Waits (at most SECONDS) until a warm service's pool is full again
# (DATA/engine/state.json, written by the broker each second) and a cold
# one has no container left.
settle() {  # NAME [SECONDS]
  local n=$1 f ready size i state at since
  since=$(date +%s%3N)
  f=$(eval echo \$data_$n)/engine/state.json
  for i in $(seq $(( ${2:-30} * 10 ))); do
    if [ "$(eval echo \$pooled_$n)" = 1 ]; then
      # A state written after this call began (the broker writes it each second).
      state=$(cat "$f" 2>/dev/null || true)
      ready=$(printf '%s' "$state" | sed -n 's/.*"ready":\([0-9]*\).*/\1/p')
      size=$(printf '%s' "$state" | sed -n 's/.*"size":\([0-9]*\).*/\1/p')
      at=$(printf '%s' "$state" | sed -n 's/.*"written_at_ms":\([0-9]*\).*/\1/p')
      # ... saying the pool is full, and no used container left.
      if [ "${at:-0}" -gt "$since" ] && [ "${ready:-0}" -ge "${size:-1}" ] &&
         [ "$(docker ps -aq --filter "label=imgsandbox.instance=$(eval echo \$inst_$n)" | wc -l)" -le "$size" ]; then
        return 0
      fi
    elif [ -z "$(docker ps -aq --filter "label=imgsandbox.instance=$(eval echo \$inst_$n)")" ]; then
      return 0
    fi
    sleep 0.1
  done
  say "$n did not settle in ${2:-30} s"
}

# A hello-world FastCGI responder (tests/bench/hello_fcgi.c) under the
# same spawn-fcgi + supervise layout as the API pool (API_RESPONDERS of
# them, the same users), behind a copy of a running service's server
# configuration: its run folder copied, only the folder, the port and the
# API socket changed. Sets hport_NAME, hpid_NAME.
start_hello() {  # NAME (of the running service)
  local name=$1 server port data rundir hdir hport hsock pid owner=() hconf
  server=$(eval echo \$server_$name) port=$(eval echo \$port_$name) data=$(eval echo \$data_$name)
  rundir=$data/run-$server-$port
  hdir=$tmp/hello-$name
  hport=$(free_port)
  rm -rf "$hdir"
  cp -a "$rundir" "$hdir"
  chmod 0755 "$hdir"
  rm -f "$hdir"/*.sock "$hdir"/*.pid
  for f in "$hdir"/*.log; do : >"$f"; done
  hsock=$hdir/api.sock
  for f in "$hdir"/*.conf; do
    sed -i -e "s|$rundir|$hdir|g" -e "s|^server\.port *= *$port\$|server.port = $hport|" \
      -e "s|127\.0\.0\.1:$port\b|127.0.0.1:$hport|g" "$f"
  done
  hconf=$hdir/$server.conf
  grep -q "$hport" "$hconf" || die "could not move the $server config to port $hport"
  owner=(-u imgsandbox -U www-data -G www-data)
  setsid spawn-fcgi -n -s "$hsock" -M 0600 "${owner[@]}" -- "$BUILD/supervise" -n "$API_RESPONDERS" \
    "$BUILD/hello_fcgi" >"$hdir/hello.log" 2>&1 </dev/null &
  pgids+=("$!")
  eval "hsup_$name=$!"
  for _ in $(seq 100); do [ -S "$hsock" ] && break; sleep 0.05; done
  case $server in
    lighttpd) setsid lighttpd -D -f "$hconf" >>"$hdir/hello.log" 2>&1 </dev/null & ;;
    nginx) setsid nginx -c "$hconf" >>"$hdir/hello.log" 2>&1 </dev/null & ;;
    apache) TMPDIR=$hdir/apache-tmp setsid apache2 -f "$hconf" -DFOREGROUND \
              >>"$hdir/hello.log" 2>&1 </dev/null & ;;
  esac
  pid=$!
  pgids+=("$pid")
  wait_http "http://127.0.0.1:$hport/" "$pid" "$hdir/hello.log"
  eval "hport_$name=$hport hpid_$name=$pid"
}
stop_hello() { stop_group "$(eval echo \$hpid_$1)"; stop_group "$(eval echo \$hsup_$1)"; }

out() { printf '%s\n' "$@" | tee -a "$report"; }
table() { $PY "$BENCH" table "$1" "$res" | tee -a "$report"; }

# What else this machine is doing shows in the numbers: say it.
others() {  # containers running that are not ours
  docker ps --format '{{.Label "imgsandbox.instance"}}' 2>/dev/null |
    grep -cv "^bench$$-" || true
}
busy_note() {
  printf 'load average %s; %s other containers running' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(others)"
}
section() {  # TITLE: a heading with the machine's state at its start
  out "### $1" "" "(At its start: $(busy_note).)" ""
}

# --- the header ------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
setting() { "$BUILD/responder" --settings | sed -n "s/^IMGSANDBOX_$1=//p"; }
default_preload=$(setting PRELOAD)
out "## imgsandbox benchmarks, $(date '+%Y-%m-%d %H:%M %Z')" "" \
  "\`tests/bench/run.sh\` (\`make bench\`), parts: $BENCH_PARTS; BENCH_RUNS=$BENCH_RUNS BENCH_SECONDS=$BENCH_SECONDS," \
  "$(nproc) CPUs ($cpu), $(free -g | awk '/^Mem:/{print $2}') GiB, Linux $(uname -r)," \
  "Docker $(docker version --format '{{.Server.Version}}') ($(docker info --format '{{.Driver}}, cgroup v{{.CgroupVersion}}' 2>/dev/null))," \
  "$(lighttpd -v 2>&1 | head -1 | cut -d' ' -f1), $(nginx -v 2>&1 | sed 's/.*: //'), $(apache2 -v 2>/dev/null | sed -n 's/^Server version: //p' | cut -d' ' -f1)." \
  "Services: fcgi/serve.sh with make run's defaults (RESPONDERS=$RESPONDERS, API_RESPONDERS=$API_RESPONDERS," \
  "\`$("$BUILD/responder" --settings | grep -E '^IMGSANDBOX_(CPUS|MEMORY|SLOTS|SLOT_WAIT_MS|TIMEOUT_MS|WARM)=' | tr '\n' ' ' | sed 's/ $//')\`)" \
  "but for the client's share, made roomy (\`${SHARE[*]}\`; the defaults are 4, 60 and 20):" \
  "the latency part's requests all come from 127.0.0.1, the load part's clients (each from an" \
  "address of its own) send as fast as they are answered. The refusal check (load part) has make run's" \
  "share. The fork engine's services: IMGSANDBOX_ENGINE=fork, else the same." ""

# Wait (bounded) for other containers to end and the load average to drop.
quiet_load=${BENCH_QUIET_LOAD:-$(nproc)}
say "waiting up to ${BENCH_QUIET_WAIT:-60} s for a quiet machine ($(busy_note))"
for _ in $(seq "${BENCH_QUIET_WAIT:-60}"); do
  [ "$(others)" = 0 ] && awk -v m="$quiet_load" '{exit !($1 < m)}' /proc/loadavg && break
  sleep 1
done
out "At the start: $(busy_note); over a second, processes above 10 % of a core: $($PY "$BENCH" busy)." ""

# --- inputs, the log, the services -------------------------------------------------
say "generating the inputs"
$PY "$BENCH" gen "$BENCH_INPUTS"
if part api && [ "$BENCH_LOG_ROWS" -gt 0 ]; then
  # Fill the log through the real write path (tests/unit/make_log_fixture.c,
  # built by make bench as build/make_log_fixture).
  if [ -x "$BUILD/make_log_fixture" ] &&
     "$BUILD/make_log_fixture" "$tmp/seed.db" mixed "$BENCH_LOG_ROWS" >/dev/null 2>"$tmp/fixture.log"; then
    say "the log starts with $BENCH_LOG_ROWS rows"
  else
    say "could not fill the log (see $tmp/fixture.log; is build/make_log_fixture built?); the API reads run on an almost empty log"
    rm -f "$tmp/seed.db"; BENCH_LOG_ROWS=0
  fi
fi
warm_names=() cold_names=() fork_names=()
load_mode() { case " $BENCH_LOAD_MODES " in *" $1 "*) return 0;; esac; return 1; }
if part latency || part heavy || part load || part api || part slow; then
  for s in $BENCH_SERVERS; do
    start_service "warm_$s" "$s"
    warm_names+=("warm_$s")
    if part latency || { [ "$s" = lighttpd ] && { part heavy || { part load && load_mode cold; }; }; }; then
      start_service "cold_$s" "$s" IMGSANDBOX_WARM=0
      cold_names+=("cold_$s")
    fi
  done
  # Docker cold as before the engine's API: a docker client program per
  # call and the engine's network set-up (the load part's baseline for it).
  if part load && load_mode client; then
    start_service client_lighttpd lighttpd IMGSANDBOX_WARM=0 IMGSANDBOX_DOCKER_API=0
    cold_names+=(client_lighttpd)
  fi
  # The fork engine, through lighttpd: serve.sh does its root setup
  # (engine_setup.sh for the broker's user) when IMGSANDBOX_ENGINE=fork.
  if [ "$BENCH_FORK" = 1 ] && { part latency || { part load && load_mode fork; }; }; then
    start_service fork_lighttpd lighttpd IMGSANDBOX_ENGINE=fork
    fork_names+=(fork_lighttpd)
  fi
  # The same, each box taking a page fault per page (the load part's
  # baseline for the pages a box maps ahead).
  if [ "$BENCH_FORK" = 1 ] && part load && load_mode fork0; then
    start_service fork0_lighttpd lighttpd IMGSANDBOX_ENGINE=fork IMGSANDBOX_FORK_PREFAULT=0
    fork_names+=(fork0_lighttpd)
  fi
  for n in "${warm_names[@]}" "${fork_names[@]}"; do settle "$n" 60; done
  for n in "${warm_names[@]}"; do
    $PY "$BENCH" mem "$(eval echo \$pid_$n)" "$(eval echo \$server_$n)" idle "$res/mem-$n.json"
  done
fi

# --- 1. latency, 2. steps ----------------------------------------------------------
if part latency; then
  section "/run latency, one request at a time (client wall clock, ms)"
  specs=()
  for s in $BENCH_SERVERS; do
    specs+=("$s/warm=$(url_of "warm_$s")" "$s/cold=$(url_of "cold_$s")")
  done
  for n in "${fork_names[@]}"; do specs+=("$(eval echo \$server_$n)/fork=$(url_of "$n")"); done
  say "latency: $BENCH_RUNS rounds per job (+$BENCH_WARMUP warm-up), ${#specs[@]} services and the baselines in turn"
  for job in trivial blur; do
    $PY "$BENCH" compare "$job" "$BENCH_RUNS" "$res" "${specs[@]}"
  done
  b2b=${warm_names[0]}
  settle "$b2b"
  $PY "$BENCH" b2b "$(url_of "$b2b")" "$(eval echo \$server_$b2b)/warm" trivial "$BENCH_B2B_RUNS" \
    "$res/b2b-trivial.json"
  alive "${warm_names[@]}" "${cold_names[@]}" "${fork_names[@]}"
  table latency
  out "" "Warm rows: each request is followed by a ${BENCH_WARM_SETTLE_S} s pause (BENCH_WARM_SETTLE_S), in which" \
    "the keeper's replacement for the sandbox it took starts and the used container is removed;" \
    "the other requests by ${BENCH_SETTLE_S} s (BENCH_SETTLE_S). The back-to-back row sends the next request" \
    "as soon as an answer comes: the pool (as many sandboxes as slots) drains, since a replacement" \
    "takes about half a second to start. \"ran warm\": answers that say \"sandbox\": \"docker-warm\"" \
    "(or \"fork-warm\"). The fork rows: a service with IMGSANDBOX_ENGINE=fork, else make run's defaults," \
    "paced as the warm ones. Host python3: the same script run by the host's \`/usr/bin/python3 -I\`" \
    "($(/usr/bin/python3 -c 'import sys, PIL; print("Python %s, Pillow %s" % (sys.version.split()[0], PIL.__version__))' 2>/dev/null || echo '?'); the runner's:" \
    "$(chroot "$(readlink -f /var/cache/imgsandbox/rootfs-current)" /usr/bin/python3 -c 'import sys, PIL; print("Python %s, Pillow %s" % (sys.version.split()[0], PIL.__version__))' 2>/dev/null || echo '?'))," \
    "its paths rewritten to a folder of its own: no sandbox, no HTTP." \
    "docker-direct: the argv \`sandboxd --docker-argv\` prints (the one docker_run_argv; /output a" \
    "tmpfs, the result read from the record protocol on stdout), timed to the client's exit; its" \
    "\`docker rm\` is not timed, as the service answers before its removal. Chroot floor:" \
    "\`python3 -I entry.py\` on the same files in a chroot of the runner's rootfs, in a PID namespace" \
    "of its own (entry.py's kill(-1) at the end would otherwise reach every sandbox on the host)." ""
  section "Where the time of a run goes (p50 of each step of the answer's \"timings\", ms)"
  table steps
  out "" "Each line is a median of its own: the lines do not add up exactly." ""
fi

# --- 3. heavier libraries, and what preloading them costs ---------------------------------
if part heavy; then
  section "Heavier libraries: warm against cold, and what preloading pays"
  start_service preload lighttpd IMGSANDBOX_PRELOAD="$default_preload,$BENCH_PRELOAD_EXTRA"
  settle preload 60
  settle "warm_lighttpd" 30
  $PY "$BENCH" poolmem "$inst_warm_lighttpd" default "$res/poolmem-default.json"
  $PY "$BENCH" poolmem "$inst_preload" "+heavy" "$res/poolmem-heavy.json"
  for job in opencv skimage; do
    BENCH_BASELINES=0 $PY "$BENCH" compare "$job" "$BENCH_HEAVY_RUNS" "$res" \
      "lighttpd/cold=$(url_of cold_lighttpd)" "lighttpd/warm=$(url_of warm_lighttpd)" \
      "lighttpd/preload=$(url_of preload)"
  done
  alive preload
  stop_service preload
  $PY "$BENCH" warmstart default "$default_preload" "$BENCH_WARMSTART_N" "$res/warmstart-default.json"
  $PY "$BENCH" warmstart "+cv2" "$default_preload,cv2" "$BENCH_WARMSTART_N" "$res/warmstart-cv2.json"
  $PY "$BENCH" warmstart "+skimage (lazy)" "$default_preload,skimage.filters,skimage.color" \
    "$BENCH_WARMSTART_N" "$res/warmstart-skimage-lazy.json"
  $PY "$BENCH" warmstart "+skimage" "$default_preload,skimage.filters.thresholding,skimage.color.colorconv" \
    "$BENCH_WARMSTART_N" "$res/warmstart-skimage.json"
  $PY "$BENCH" warmstart "+heavy" "$default_preload,$BENCH_PRELOAD_EXTRA" "$BENCH_WARMSTART_N" \
    "$res/warmstart-heavy.json"
  table heavy
  out "" "Through lighttpd; the preloaded service has IMGSANDBOX_PRELOAD=<default>,$BENCH_PRELOAD_EXTRA." \
    "Warm requests paced as above (${BENCH_WARM_SETTLE_S} s)." "" \
    "What a waiting warm sandbox costs, by preload:" ""
  table preload
  out "" "Time to ready: from \`docker run\` of the keeper's argv (the cold argv with" \
    "IMGSANDBOX_PRELOAD, --interactive, entry.py --warm) to its ready line, one at a time," \
    "BENCH_WARMSTART_N=$BENCH_WARMSTART_N each; CPU: the container's cpuacct.usage at that point. RssAnon: its" \
    "Python's anonymous memory (the libraries' code is file-backed and shared through the page cache)." \
    "\`docker stats\` (cgroup v1) also counts the page cache charged to the container: the first" \
    "container to read a library's files pays for them, so it varies between sandboxes; RssAnon does not." ""
fi

# --- 4. throughput -----------------------------------------------------------------
if part load; then
  section "Throughput: runs per second (trivial job, closed-loop clients, $BENCH_SECONDS s each, lighttpd)"
  for c in $BENCH_CLIENTS; do
    for m in $BENCH_LOAD_MODES; do
      n=${m}_lighttpd
      settle "$n" 30
      BENCH_LOAD_SERVE_PID=$(eval echo \$pid_$n) BENCH_LOAD_INSTANCE=$(eval echo \$inst_$n) \
        BENCH_LOAD_ENGINE=$(eval echo \$engine_$n) BENCH_LOAD_SERVICE=$n \
        $PY "$BENCH" load "$(url_of "$n")" "$m" "$c" "$BENCH_SECONDS" "$res/load-$m-$c.json"
    done
  done
  for m in $BENCH_LOAD_MODES; do alive "${m}_lighttpd"; done
  table load
  out "" "Slots: $(setting SLOTS | sed 's/^0$/the number of CPUs/') ($(nproc) here), sandboxes at once; each client sends from" \
    "an address of its own (127.0.0.2, 127.0.0.3, ...: every 127.x.y.z is loopback) its next request as" \
    "soon as the last is answered, so each is a client of its own to the service's fair line and share;" \
    "the share is made roomy here (\`${SHARE[*]}\`): make run's" \
    "$(setting CLIENT_RUNS_PER_MIN) runs a minute (burst $(setting CLIENT_BURST)) would refuse a closed loop after its burst. A request" \
    "waits for a slot in the line (IMGSANDBOX_SLOT_WAIT_MS=$(setting SLOT_WAIT_MS): as long as three runs at the limit)," \
    "then gets 429 (counted apart, not in runs/s). p50/p95: the client's wall clock of the runs that" \
    "succeeded. Before each step the pool is full again and the cold service's containers are gone." \
    "Host CPU per run: the busy time of every core (/proc/stat) over the step, divided by the runs that" \
    "succeeded (whatever else runs counts too)." "" "Where that CPU goes (the same steps, ms per run):" ""
  table load_cpu
  out "" "Each service runs in cpuacct cgroups of its own (cgroup v1; the bench moves its processes" \
    "there once it answers): the web server; the responders (with supervise and spawn-fcgi); the broker" \
    "(\`sandboxd\`, its own time, and what it runs: Docker's command-line clients, or the fork engine's" \
    "template and boxes). In the sandbox: Docker's containers' cgroup (\`imgsandbox-<instance>\`," \
    "every process of the container, Python's start and imports when cold), or the fork engine's boxes" \
    "(the template's reaped children: each box's setup and the job). Engine: \`dockerd\` and \`containerd\`" \
    "(shared with every container on the host: the neighbours' too) and the shims of our containers" \
    "(sampled every 0.2 s, their own time: a shim reaps its \`runc\` calls with the container's processes," \
    "so runc is left in the rest), or the fork engine's template. The bench's clients are this Python's" \
    "own time; the rest is what no column names (the kernel's threads, runc, the neighbours' processes)." \
    "\"ours\": every column but the rest and the bench's clients, what the service and its engine cost." ""
  if [ -n "$BENCH_BURST" ]; then
    # The refusal check: Docker with make run's defaults, share included.
    set -- $BENCH_BURST
    start_service share_lighttpd lighttpd "IMGSANDBOX_CLIENT_INFLIGHT=$(setting CLIENT_INFLIGHT)" \
      "IMGSANDBOX_CLIENT_RUNS_PER_MIN=$(setting CLIENT_RUNS_PER_MIN)" "IMGSANDBOX_CLIENT_BURST=$(setting CLIENT_BURST)"
    settle share_lighttpd 60
    $PY "$BENCH" burst "$(url_of share_lighttpd)" "docker warm, make run's defaults" "$1" "$2" "$res/burst-docker.json"
    alive share_lighttpd
    stop_service share_lighttpd
    table burst
    out "" "Every client from an address of its own, all starting together, each sending its next" \
      "request when the last is answered; the service has make run's defaults, its client share" \
      "included (IMGSANDBOX_CLIENT_INFLIGHT=$(setting CLIENT_INFLIGHT), _RUNS_PER_MIN=$(setting CLIENT_RUNS_PER_MIN), _BURST=$(setting CLIENT_BURST))." ""
  fi
fi

# --- 5. API reads, and the responders' memory ---------------------------------------------
if part api; then
  section "API reads (wrk -t ${BENCH_WRK_THREADS:-2} -c ${BENCH_WRK_CONNS:-8} -d ${BENCH_WRK_SECONDS:-5}s, loopback), next to hello_fcgi"
  for n in "${warm_names[@]}"; do
    alive "$n"
    s=$(eval echo \$server_$n)
    u=$(url_of "$n")
    $PY "$BENCH" api "$u" "$s" summary /api/logs/summary "$res/api-$s-1.json"
    $PY "$BENCH" api "$u" "$s" failures "/api/logs/failures?limit=50" "$res/api-$s-2.json"
    start_hello "$n"
    h="http://127.0.0.1:$(eval echo \$hport_$n)"
    $PY "$BENCH" api "$h" "$s" hello /api/logs/summary "$res/api-$s-3.json"
    # The floor for an answer of the same size as each of ours.
    for t in 1:summary 2:failures; do
      b=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$res/api-$s-${t%%:*}.json")
      $PY "$BENCH" api "$h" "$s" "hello-${t#*:}" "/api/logs/summary?bytes=$b" "$res/api-$s-${t%%:*}h.json"
    done
    stop_hello "$n"
  done
  rows=$(sqlite3 "$(eval echo \$data_${warm_names[0]})/log.db" 'select count(*) from runs' 2>/dev/null || echo "?")
  table api
  out "" "The log holds $rows rows (BENCH_LOG_ROWS, written by logdb_insert). hello_fcgi:" \
    "tests/bench/hello_fcgi.c (a fixed 17-byte JSON body) under spawn-fcgi + supervise -n $API_RESPONDERS" \
    "(the API pool's size, its users), behind a copy of the same server's configuration: the floor" \
    "of a FastCGI request through that server. \"same size\": hello_fcgi answering as many bytes as" \
    "that endpoint (?bytes=N), the floor of moving an answer that large through the server." ""
  for n in "${warm_names[@]}"; do
    $PY "$BENCH" mem "$(eval echo \$pid_$n)" "$(eval echo \$server_$n)" end "$res/mem-$n.json"
  done
  section "The processes' memory (VmRSS from /proc/<pid>/status, KiB)"
  table mem
  out "" "idle: the services just started; after the load: after every part above" \
    "($(echo "$BENCH_PARTS" | sed 's/ *\bslow.*//;s/ *\blogdb.*//'))." ""
fi

# --- 6. slow clients ------------------------------------------------------------------
if part slow; then
  section "Slow clients: reads of the summary while 64 connections trickle"
  for n in "${warm_names[@]}"; do
    alive "$n"
    settle "$n" 30
    $PY "$BENCH" slow "$(url_of "$n")" "$(eval echo \$server_$n)" "$res/slow-$n.json"
  done
  table slow
  out "" "Reads of /api/logs/summary from 127.0.0.1, one after another with a 20 ms pause, for" \
    "${BENCH_SLOW_SECONDS:-8} s; then the same while 64 connections from 127.0.0.2 send the start of a" \
    "POST /run and then 2 bytes every half second (half in the header, half in the body," \
    "as tests/integration/test_slow_clients.py). The /run: a trivial run from 127.0.0.3 in each state." ""
fi

# The services are not needed any more: the log database has the machine.
for p in "${pgids[@]}"; do stop_group "$p"; done
pgids=()
remove_containers "${insts[@]}"

# --- 7. the log database ------------------------------------------------------------------
# build/bench_logdb, once per store of BENCH_LOGDB_STORES: logdb_<store>
# prints that store's markdown.
logdb_run() {  # LABEL ARGS...: build/bench_logdb ARGS, its table one heading level down
  local label=$1; shift
  say "running $BUILD/bench_logdb $* (about 3 minutes at 1e6 rows on 2 cores)"
  if (cd "$tmp" && TMPDIR=$tmp timeout "${BENCH_LOGDB_TIMEOUT:-400}" "$BUILD/bench_logdb" \
        ${BENCH_LOGDB_ROWS:+-n "$BENCH_LOGDB_ROWS"} "$@") >"$tmp/logdb-$label.out" 2>"$tmp/logdb-$label.err"; then
    sed 's/^## /### /' "$tmp/logdb-$label.out" | tee -a "$report"
  else
    out "### The log database, $label (build/bench_logdb)" "" \
      "(build/bench_logdb failed: $(tail -3 "$tmp/logdb-$label.err" | tr '\n' ' '))"
  fi
}
logdb_sqlite() { logdb_run sqlite -f "$tmp/logdb.db"; }
# PostgreSQL: a throwaway server in a folder of its own (the postgres user
# cannot enter $tmp), fsync on as a service has it; the rows made by logdb
# in an SQLite file (bench_logdb -g) and copied in (pg_load.py), then the
# bench on them (-k: reused; retention is not timed there). Stopped and
# removed after, or by cleanup.
pgdir=
logdb_postgresql() {
  local port=${BENCH_PG_PORT:-55499} uri rows=${BENCH_LOGDB_PG_ROWS:-${BENCH_LOGDB_ROWS:-1000000}}
  pgdir=$(mktemp -d /tmp/imgsandbox-bench-pg.XXXXXX)
  say "PostgreSQL: $rows rows made in SQLite, copied in"
  if ! uri=$("$root/tests/integration/pg.sh" start "$pgdir" "$port" 2>"$tmp/pg.err") ||
     ! "$root/tests/integration/pg.sh" createdb "$pgdir" "$port" bench 2>>"$tmp/pg.err" ||
     ! "$BUILD/analyze_logs" --db "${uri}bench" migrate >>"$tmp/pg.err" 2>&1 ||
     ! (cd "$tmp" && "$BUILD/bench_logdb" -g -n "$rows" -f "$tmp/pg-src.db") >>"$tmp/pg.err" 2>&1 ||
     ! $PY "$root/tests/bench/pg_load.py" "$tmp/pg-src.db" "${uri}bench" >>"$tmp/pg.err" 2>&1; then
    out "### The log database, postgresql (build/bench_logdb)" "" \
      "(PostgreSQL could not be filled: $(tail -3 "$tmp/pg.err" | tr '\n' ' '))"
    stop_pg
    return 0
  fi
  rm -f "$tmp/pg-src.db"*
  BENCH_LOGDB_ROWS=$rows logdb_run postgresql -d "${uri}bench" -k
  out "(Filled by COPY from rows logdb wrote to SQLite: $(grep -c '^pg_load' "$tmp/pg.err") tables," \
    "$(grep '^generated' "$tmp/pg.err"). PostgreSQL's own write path: the logdb_insert rows above.)"
  stop_pg
}
stop_pg() {
  [ -n "$pgdir" ] || return 0
  "$root/tests/integration/pg.sh" stop "$pgdir" 2>/dev/null || true
  rm -rf "$pgdir"
  pgdir=
}
if part logdb; then
  out "(The log database, at its start: $(busy_note).)" ""
  if [ -x "$BUILD/bench_logdb" ]; then
    for st in $BENCH_LOGDB_STORES; do
      declare -F "logdb_$st" >/dev/null || die "no logdb_$st in run.sh (BENCH_LOGDB_STORES)"
      "logdb_$st"
      out ""
    done
  else
    out "### The log database (build/bench_logdb)" "" "(skipped: build/bench_logdb is not built)" ""
  fi
fi

out "### Goals" ""
table goals
took=$(( $(date +%s) - t_begin ))
out "" "At the end: $(busy_note); over a second, processes above 10 % of a core: $($PY "$BENCH" busy)." \
  "The whole bench took $((took / 60)) min $((took % 60)) s."
say "saved $report"
