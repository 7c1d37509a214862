#!/usr/bin/env bash
# make bench: starts its own services (fcgi/serve.sh, behind lighttpd and
# behind nginx, in a temp data folder, on free loopback ports), measures, and
# stops everything it started. Prints markdown tables on stdout (progress on
# stderr) and saves them to build/bench/results-<date>.md.
#
#   bench/run.sh                        everything: ~6 min on 2 cores, +3 with build/bench_logdb
#   BENCH_RUNS=5 BENCH_SECONDS=3 bench/run.sh     a quick pass
#
# Knobs (environment):
#   BENCH_RUNS=20            timed /run requests per job and path (after BENCH_WARMUP=1)
#   BENCH_SECONDS=10         length of each parallel-load step
#   BENCH_CLIENTS="1 2 4 8"  parallel clients per load step
#   BENCH_LOAD_SERVERS="lighttpd nginx warm"   (warm: lighttpd with IMGSANDBOX_WARM=1)
#   BENCH_SLOT_WAIT_MS=200   IMGSANDBOX_SLOT_WAIT_MS of the extra service for the 429 rows
#   BENCH_BUSY_CLIENTS=8     clients of the 429 row(s) ("" skips them; "4 8" for two rows)
#   BENCH_LOG_ROWS=20000     rows put in each service's log before it starts (API reads)
#   BENCH_LOGDB_ROWS=        rows for build/bench_logdb (its default: 1e6), BENCH_LOGDB_TIMEOUT=400
#   BENCH_WRK_SECONDS=5 BENCH_WRK_CONNS=8 BENCH_WRK_THREADS=2
#   BENCH_PARTS="latency load api mem logdb"   a subset runs only those parts
#   BENCH_WARM_SETTLE_S=1.5  pause after each warm request (its next container starts)
#   BENCH_KEEP=1             keep the temp folder (logs, JSON) for a look afterwards
#   BENCH_FLOOR=0            skip the chroot floor
#   BENCH_QUIET_WAIT=30      seconds to wait, at most, before starting, for other containers
#   BENCH_QUIET_LOAD=nproc   to end and the 1-minute load average to drop below this
#   RESPONDERS=4             responders per service, as serve.sh
#   IMGSANDBOX_*             passed on to the services (and to the by-hand docker run)
# Loopback only. Runs as root (the chroot floor needs it; docker too, here).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export BUILD=${BUILD:-$root/build}
PY=/usr/bin/python3
BENCH=$root/tests/bench/bench.py
BENCH_RUNS=${BENCH_RUNS:-20}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CLIENTS=${BENCH_CLIENTS:-1 2 4 8}
BENCH_LOAD_SERVERS=${BENCH_LOAD_SERVERS:-lighttpd nginx warm}
BENCH_SLOT_WAIT_MS=${BENCH_SLOT_WAIT_MS:-200}
BENCH_BUSY_CLIENTS=${BENCH_BUSY_CLIENTS-8}
BENCH_LOG_ROWS=${BENCH_LOG_ROWS:-20000}
BENCH_PARTS=${BENCH_PARTS:-latency load api mem logdb}
export RESPONDERS=${RESPONDERS:-4}
export BENCH_WARMUP=${BENCH_WARMUP:-1}
SERVERS="lighttpd nginx"

tmp= report=
pgids=()        # every process group we started (serve.sh, hello servers)
datas=()        # data folders of our services (their containers are removed at exit)
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
part() { case " $BENCH_PARTS " in *" $1 "*) return 0;; esac; return 1; }

for b in responder supervise; do
  [ -x "$BUILD/$b" ] || die "$BUILD/$b is missing: run 'make' first"
done
for t in curl wrk spawn-fcgi lighttpd nginx docker; do
  command -v "$t" >/dev/null || die "$t is not installed (apt-get install $t)"
done
docker version >/dev/null 2>&1 || die "dockerd does not answer; start it (fcgi/ensure_dockerd.sh)"
image=$("$BUILD/responder" --settings | sed -n 's/^IMGSANDBOX_IMAGE=//p')
docker image inspect "$image" >/dev/null 2>&1 || die "the runner image $image is missing: make runner-image"

stamp=$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$BUILD/bench"
report=$BUILD/bench/results-$stamp.md
: >"$report"
tmp=$(mktemp -d /tmp/imgsandbox-bench.XXXXXX)
chmod 755 "$tmp"
res=$tmp/results
mkdir -p "$res"
export BENCH_TMP=$tmp BENCH_INPUTS=$tmp/inputs BENCH_DIRECT_INSTANCE=bench-direct-$$

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
cleanup() {
  local rc=$? p i all=
  trap '' INT TERM
  trap - EXIT
  for p in "${pgids[@]}"; do all="$all $(descendants "$p")"; done
  for p in $(ps -o pid= --ppid $$); do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pgids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for p in "${pgids[@]}"; do
    for i in $(seq 100); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$p" 2>/dev/null || true
  done
  for p in $all; do kill -KILL "$p" 2>/dev/null || true; done   # what outlived its parent
  insts=${BENCH_DIRECT_INSTANCE:-}
  for d in "${datas[@]}"; do [ ! -s "$d/instance" ] || insts="$insts $(cat "$d/instance")"; done
  for i in $insts; do
    ids=$(docker ps -aq --filter "label=imgsandbox.instance=$i" 2>/dev/null || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
  done
  if [ -n "$tmp" ]; then
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  [ $rc = 0 ] || [ -z "$report" ] || say "failed (exit $rc); partial results in $report"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() {  # URL PGID LOG
  local i
  for i in $(seq 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 -- "-$2" 2>/dev/null || { tail -20 "$3" >&2; die "$1 did not come up"; }
    sleep 0.1
  done
  tail -20 "$3" >&2
  die "$1 did not come up in 60 s"
}

# start_service NAME SERVER [VAR=value...]: sets port_NAME, pid_NAME, data_NAME.
start_service() {
  local name=$1 server=$2 port data pid
  shift 2
  port=$(free_port)
  data=$tmp/data-$name
  mkdir -p "$data"
  [ ! -s "$tmp/seed.db" ] || cp "$tmp/seed.db" "$data/log.db"
  env "$@" PORT=$port SERVER=$server HOST=127.0.0.1 START_DOCKERD=no IMGSANDBOX_DATA="$data" \
    setsid "$root/fcgi/serve.sh" >"$tmp/serve-$name.log" 2>&1 </dev/null &
  pid=$!
  pgids+=("$pid")
  datas+=("$data")
  wait_http "http://127.0.0.1:$port/" "$pid" "$tmp/serve-$name.log"
  eval "port_$name=$port pid_$name=$pid data_$name=\$data"
  say "$name: $server on 127.0.0.1:$port (serve.sh pid $pid, data $data)"
}

# Fails the bench when a service we started is gone (a crash, or a signal
# from outside: the machine is shared).
alive() {
  local n pid
  for n in "$@"; do
    eval "pid=\$pid_$n"
    if ! kill -0 "$pid" 2>/dev/null || ! curl -fsS -o /dev/null "http://127.0.0.1:$(eval echo \$port_$n)/"; then
      tail -n 5 "$tmp/serve-$n.log" >&2
      die "the $n service (serve.sh pid $pid) is gone; was it signalled from outside? Run again."
    fi
  done
}

stop_service() {
  local pid all p
  eval "pid=\$pid_$1"
  all=$(descendants "$pid")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
}

# A hello-world FastCGI responder behind a copy of a running service's
# server configuration (same file, only its run folder, socket and port
# changed), with the same spawn-fcgi + supervise -n RESPONDERS layout.
start_hello() {  # NAME (of the running service)
  local name=$1 server port data rundir hdir hport hsock pid conf
  eval "server=\$server_$name port=\$port_$name data=\$data_$name"
  rundir=$data/run-$server-$port
  hdir=$tmp/hello-$server
  hport=$(free_port)
  hsock=$hdir/fcgi.sock
  mkdir -p "$hdir"
  setsid spawn-fcgi -n -s "$hsock" -M 0660 -- "$BUILD/supervise" -n "$RESPONDERS" "$hello" \
    >"$hdir/hello.log" 2>&1 </dev/null &
  pgids+=("$!")
  for _ in $(seq 100); do [ -S "$hsock" ] && break; sleep 0.05; done
  conf=$server.conf
  sed -e "s|$rundir|$hdir|g" -e "s|^server\.port *= *$port\$|server.port = $hport|" \
      -e "s|\(listen [0-9.]*:\)$port;|\1$hport;|" "$rundir/$conf" >"$hdir/$conf"
  grep -q "$hport" "$hdir/$conf" || die "could not move the $server config to port $hport"
  if [ "$server" = lighttpd ]; then
    setsid lighttpd -D -f "$hdir/$conf" >>"$hdir/hello.log" 2>&1 </dev/null &
  else
    cp "$rundir/fastcgi_params.conf" "$hdir/"
    setsid nginx -c "$hdir/$conf" >>"$hdir/hello.log" 2>&1 </dev/null &
  fi
  pid=$!
  pgids+=("$pid")
  wait_http "http://127.0.0.1:$hport/" "$pid" "$hdir/hello.log"
  eval "hport_$name=$hport"
}

out() { printf '%s\n' "$@" | tee -a "$report"; }
table() { $PY "$BENCH" table "$1" "$res" | tee -a "$report"; }

# --- the header ------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
out "## imgsandbox benchmarks, $(date '+%Y-%m-%d %H:%M %Z')" "" \
  "\`bench/run.sh\` (\`make bench\`) with BENCH_RUNS=$BENCH_RUNS BENCH_SECONDS=$BENCH_SECONDS" \
  "RESPONDERS=$RESPONDERS BENCH_LOG_ROWS=$BENCH_LOG_ROWS (parts: $BENCH_PARTS); $(nproc) CPUs ($cpu), $(free -g | awk '/^Mem:/{print $2}') GiB," \
  "Linux $(uname -r), Docker $(docker version --format '{{.Server.Version}}') ($(docker info --format '{{.Driver}}, cgroup v{{.CgroupVersion}}' 2>/dev/null))," \
  "$(lighttpd -v 2>&1 | head -1 | cut -d' ' -f1), $(nginx -v 2>&1 | sed 's/.*: //'); sandbox settings: \`$("$BUILD/responder" --settings | grep -E '^IMGSANDBOX_(CPUS|MEMORY|SLOTS|SLOT_WAIT_MS|TIMEOUT_MS)=' | tr '\n' ' ' | sed 's/ $//')\`." ""

# What else this machine is doing shows in the numbers: say it.
busy_note() {
  printf 'load average %s; %s other containers running' "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(docker ps -q 2>/dev/null | wc -l)"
}
# Wait (bounded) for other containers to end and the load average to drop.
quiet_load=${BENCH_QUIET_LOAD:-$(nproc)}
for _ in $(seq "${BENCH_QUIET_WAIT:-30}"); do
  [ "$(docker ps -q 2>/dev/null | wc -l)" = 0 ] &&
    awk -v m="$quiet_load" '{exit !($1 < m)}' /proc/loadavg && break
  sleep 1
done
out "At the start: $(busy_note)." ""

# --- inputs, the log, the services -------------------------------------------------
say "generating the inputs"
$PY "$BENCH" gen "$BENCH_INPUTS"
if part api && [ "$BENCH_LOG_ROWS" -gt 0 ]; then
  # Fill the log through the real write path (tests/unit/make_log_fixture.c).
  if cc -std=gnu11 -O2 -o "$tmp/make_log_fixture" "$root/tests/unit/make_log_fixture.c" \
       "$BUILD/libshared.a" $(pkg-config --libs libcjson sqlite3 libpq libmagic zlib 2>/dev/null) \
       -lpthread -lm 2>"$tmp/fixture-cc.log" &&
     "$tmp/make_log_fixture" "$tmp/seed.db" mixed "$BENCH_LOG_ROWS" >/dev/null 2>"$tmp/fixture.log"; then
    say "the log starts with $BENCH_LOG_ROWS rows"
  else
    say "could not fill the log (see $tmp/fixture*.log); the API reads run on an almost empty log"
    rm -f "$tmp/seed.db"; BENCH_LOG_ROWS=0
  fi
fi
if part latency || part load || part api || part mem; then
  for s in $SERVERS; do
    start_service "$s" "$s"
    eval "server_$s=$s"
    ! part mem || $PY "$BENCH" mem "$(eval echo \$pid_$s)" "$s" idle "$res/mem-$s.json"
  done
fi
# The same behind lighttpd with a warm sandbox per responder (IMGSANDBOX_WARM=1).
if part latency || { part load && case " $BENCH_LOAD_SERVERS " in *" warm "*) true;; *) false;; esac; }; then
  start_service warm lighttpd IMGSANDBOX_WARM=1
  server_warm=lighttpd
fi

# --- 1. latency, 2. steps ----------------------------------------------------------
if part latency; then
  say "latency: $BENCH_RUNS rounds per job (+$BENCH_WARMUP warm-up), the paths in turn"
  for job in trivial blur; do
    $PY "$BENCH" compare "$job" "$BENCH_RUNS" "$res" \
      "lighttpd=http://127.0.0.1:$port_lighttpd" "nginx=http://127.0.0.1:$port_nginx" \
      "warm=http://127.0.0.1:$port_warm"
  done
  alive $SERVERS warm
  out "### /run latency, one request at a time (client wall clock, ms)" ""
  table latency
  out "" "ours/docker-direct: our p50 over the same \`docker run\` argv (printed by" \
    "\`responder --docker-argv\`) plus \`docker rm\`, run by hand. ours/chroot-floor: over" \
    "\`python3 -I entry.py\` on the same script and files in a chroot of the runner's rootfs." ""
  out "### Where the time of one run goes (p50 of each step of \"timings\", ms)" ""
  table steps
  out ""
fi

# --- 3. throughput -----------------------------------------------------------------
if part load; then
  for s in $BENCH_LOAD_SERVERS; do
    for c in $BENCH_CLIENTS; do
      $PY "$BENCH" load "http://127.0.0.1:$(eval echo \$port_$s)" "$s" "$c" "$BENCH_SECONDS" \
        "$res/load-$s-$c.json"
    done
  done
  alive $BENCH_LOAD_SERVERS
  if part mem; then
    for s in $SERVERS; do
      $PY "$BENCH" mem "$(eval echo \$pid_$s)" "$s" end "$res/mem-$s.json"
    done
  fi
  if [ -n "$BENCH_BUSY_CLIENTS" ]; then
    start_service busy lighttpd IMGSANDBOX_SLOT_WAIT_MS="$BENCH_SLOT_WAIT_MS"
    for c in $BENCH_BUSY_CLIENTS; do
      $PY "$BENCH" load "http://127.0.0.1:$port_busy" lighttpd "$c" "$BENCH_SECONDS" \
        "$res/load-busy-$c.json" "${BENCH_SLOT_WAIT_MS} ms"
    done
    alive busy
    stop_service busy
  fi
  out "### Throughput under parallel load (trivial job, closed-loop clients, $BENCH_SECONDS s each)" ""
  table load
  out "" "Slots: $("$BUILD/responder" --settings | sed -n 's/^IMGSANDBOX_SLOTS=//p') sandboxes at once. A client sends its next request as soon as the last is" \
    "answered (a 429 after waiting IMGSANDBOX_SLOT_WAIT_MS for a slot, default 2000 ms). The rows" \
    "with a short slot wait show how often requests are turned away once both slots are full." ""
fi

# --- 4. API reads --------------------------------------------------------------------
if part api; then
  if [ -x "$BUILD/hello_fcgi" ]; then hello=$BUILD/hello_fcgi
  else
    hello=$tmp/hello_fcgi
    cc -O2 -o "$hello" "$root/tests/bench/hello_fcgi.c" -lfcgi || hello=
  fi
  for s in $SERVERS; do
    alive "$s"
    u="http://127.0.0.1:$(eval echo \$port_$s)"
    $PY "$BENCH" api "$u" "$s" /api/logs/summary "$res/api-$s-1.json"
    $PY "$BENCH" api "$u" "$s" "/api/logs/failures?limit=50" "$res/api-$s-2.json"
    if [ -n "$hello" ]; then
      start_hello "$s"
      $PY "$BENCH" api "http://127.0.0.1:$(eval echo \$hport_$s)" "$s hello_fcgi (floor)" \
        /api/logs/summary "$res/api-$s-3.json"
    fi
  done
  alive $SERVERS
  rows=$(sqlite3 "$data_lighttpd/log.db" 'select count(*) from runs' 2>/dev/null || echo "?")
  out "### API reads (wrk -t ${BENCH_WRK_THREADS:-2} -c ${BENCH_WRK_CONNS:-8} -d ${BENCH_WRK_SECONDS:-5}s, loopback; the log holds $rows rows)" ""
  table api
  out "" "hello_fcgi: tests/bench/hello_fcgi.c (a fixed 17-byte JSON body) under the same" \
    "spawn-fcgi + supervise -n $RESPONDERS, behind a copy of the same server configuration:" \
    "the floor of a FastCGI request through that server." ""
fi

# --- 5. memory ---------------------------------------------------------------------------
if part mem; then
  out "### Memory (VmRSS from /proc/<pid>/status, KiB)" ""
  table mem
  out "" "idle: just after start; after load: after the latency runs and the parallel load." ""
fi

# --- 6. the log database ------------------------------------------------------------------
if part logdb; then
  if [ -x "$BUILD/bench_logdb" ]; then
    say "running $BUILD/bench_logdb (about 3 minutes at 1e6 rows on 2 cores)"
    if (cd "$tmp" && TMPDIR=$tmp timeout "${BENCH_LOGDB_TIMEOUT:-400}" "$BUILD/bench_logdb" \
          -f "$tmp/logdb.db" ${BENCH_LOGDB_ROWS:+-n "$BENCH_LOGDB_ROWS"}) \
         >"$tmp/logdb.out" 2>"$tmp/logdb.err"; then
      # Its own markdown, one heading level down to sit under ours.
      sed 's/^## /### /' "$tmp/logdb.out" | tee -a "$report"
    else
      out "### The log database (build/bench_logdb)" "" \
        "(build/bench_logdb failed: $(tail -3 "$tmp/logdb.err" | tr '\n' ' '))"
    fi
  else
    out "### The log database (build/bench_logdb)" "" "(skipped: build/bench_logdb is not built)"
  fi
  out ""
fi

out "At the end: $(busy_note)."
say "saved $report"
