#!/usr/bin/python3
"""pg_load.py: copies an SQLite execution log into an empty PostgreSQL one,
for the bench (tests/bench/run.sh): PostgreSQL's own write path takes about
a millisecond a row (a dozen statements, each a round trip), so a million
rows through it would take twenty minutes; COPY takes a minute. The rows
are the ones logdb wrote to the SQLite file (`bench_logdb -g`), so the
aggregate tables agree with the runs as they would on the service.

    pg_load.py LOG.db postgresql://user@host:port/db

The PostgreSQL database must have the log's schema and no runs yet
(`build/analyze_logs migrate URI` makes it). Each table is copied with the
columns PostgreSQL has (the same names as SQLite's), in PostgreSQL's text
format; then the identity sequences are moved past the copied ids and the
tables ANALYZEd. Prints one line per table. Exits non-zero after saying why.
"""
import sqlite3
import subprocess
import sys
import time

# Parents before children (fix_lessons refers to patterns).
TABLES = ["runs", "totals", "counts", "sessions", "patterns", "fix_lessons",
          "model_stats", "model_attempts", "retired_unfixed"]
IDENTITY = ["runs", "patterns", "retired_unfixed"]


def psql(uri, sql):
    """Runs sql; returns its unaligned output lines."""
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", uri, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def text_field(v):
    """A value in COPY's text format."""
    if v is None:
        return "\\N"
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    s = str(v)
    if "\x00" in s:
        s = s.replace("\x00", "")
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_table(src, uri, table):
    cols = psql(uri, "SELECT column_name FROM information_schema.columns "
                     f"WHERE table_name = '{table}' ORDER BY ordinal_position")
    have = {r[1] for r in src.execute(f"PRAGMA table_info({table})")}
    missing = [c for c in cols if c not in have]
    if missing:
        sys.exit(f"pg_load: {table} in SQLite has no {', '.join(missing)}")
    names = ", ".join(cols)
    p = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", uri, "-c",
                          f"COPY {table} ({names}) FROM STDIN"],
                         stdin=subprocess.PIPE, text=True, encoding="utf-8")
    n = 0
    for row in src.execute(f"SELECT {names} FROM {table}"):
        p.stdin.write("\t".join(text_field(v) for v in row) + "\n")
        n += 1
    p.stdin.close()
    if p.wait() != 0:
        sys.exit(f"pg_load: COPY {table} failed")
    return n


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: pg_load.py LOG.db postgresql://...")
    path, uri = sys.argv[1], sys.argv[2]
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    if psql(uri, "SELECT COUNT(*) FROM runs") != ["0"]:
        sys.exit("pg_load: the PostgreSQL log has runs already")
    psql(uri, "TRUNCATE " + ", ".join(TABLES))
    for t in TABLES:
        t0 = time.monotonic()
        n = copy_table(src, uri, t)
        print(f"pg_load: {t}: {n} rows in {time.monotonic() - t0:.1f} s", flush=True)
    for t in IDENTITY:
        psql(uri, f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                  f"GREATEST(COALESCE(MAX(id), 0), 1)) FROM {t}")
    psql(uri, "ANALYZE")


if __name__ == "__main__":
    main()
