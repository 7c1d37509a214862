#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL server for the tests and the bench, from
# Debian's packages (postgresql 15), in a folder of its own on a port of
# its own, run as the `postgres` system user when called as root (initdb
# refuses root) and as the caller otherwise. Trust authentication on its
# Unix socket (in DIR) and on 127.0.0.1 only: for tests, never for a
# service.
#
#   pg.sh start DIR [PORT] makes DIR/data when missing, starts the server,
#                          prints its URI: postgresql://postgres@127.0.0.1:PORT/
#                          (append a database name); without PORT, the port
#                          it had last time
#   pg.sh stop DIR         stops it (fast: open connections are ended)
#   pg.sh kill DIR         stops it at once (immediate: no clean shutdown)
#   pg.sh createdb DIR PORT NAME   makes database NAME (dropping one of that name)
#
# PG_BIN names the server's binaries (default /usr/lib/postgresql/15/bin);
# PG_OPTS adds server options (e.g. "-c fsync=off" for tests). Exits
# non-zero after saying why.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|kill|createdb DIR [PORT [NAME]]" >&2; exit 2; }
[ -x "$PG_BIN/pg_ctl" ] || { echo "pg.sh: no $PG_BIN/pg_ctl (apt-get install postgresql)" >&2; exit 1; }

# as USER ARGS...: runs ARGS as the server's owner.
as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
	port=${3:-$(cat "$dir/port" 2>/dev/null || true)}
	[ -n "$port" ] || { echo "pg.sh start: no PORT, and none in $dir/port" >&2; exit 2; }
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
		    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	fi
	# shellcheck disable=SC2086
	as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
	    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 ${PG_OPTS:-}" start >/dev/null || {
		tail -20 "$dir/server.log" >&2; exit 1; }
	echo "$port" >"$dir/port"
	echo "postgresql://postgres@127.0.0.1:$port/"
	;;
stop|kill)
	[ -f "$dir/data/postmaster.pid" ] || exit 0
	as "$PG_BIN/pg_ctl" -D "$dir/data" -m "$([ "$cmd" = kill ] && echo immediate || echo fast)" \
	    -w -t 60 stop >/dev/null
	;;
createdb)
	port=${3:?port}
	name=${4:?name}
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$port/postgres" \
	    -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\"" >/dev/null
	;;
*)
	echo "pg.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
