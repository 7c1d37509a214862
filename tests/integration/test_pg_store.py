"""The log in PostgreSQL (#15), below the service: the store's own test
programs run again on a real server; the store on a server that goes away,
never answers, or takes many writers at once; and the command-line tool on
PostgreSQL-backed logs, which must print exactly what it prints for SQLite
logs made by the same calls. Builds nothing: `make integration` builds
what it runs (PG_TEST_BIN in the Makefile)."""
import os
import re
import subprocess

import pytest

from conftest import ROOT
from pg import PG_SH, PgServer, pg_server  # noqa: F401 (a fixture)

BUILD = os.path.join(ROOT, "build")
TOOL = os.path.join(BUILD, "analyze_logs")
FIXTURE = os.path.join(BUILD, "make_log_fixture")
ASAN = {"ASAN_OPTIONS": "detect_leaks=1"}


def program(path):
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (make integration builds it)" % path)
    return path


def run(argv, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    e.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run(argv, capture_output=True, text=True, env=e, timeout=timeout)


# ---- The store's programs ------------------------------------------------------

@pytest.mark.parametrize("name", ["test_logdb", "test_logdb_retain"])
def test_store_programs_on_postgresql(pg_server, name):
    r = run([program(os.path.join(BUILD, "asan", name)), pg_server.base], ASAN)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    assert "(PostgreSQL): " in r.stdout and " 0 failed" in r.stdout, r.stdout


def test_store_faults_on_a_server_of_its_own():
    srv = PgServer().start()
    try:
        r = run([program(os.path.join(BUILD, "asan", "logdb_faults_pg")), srv.base, srv.dir],
                dict(ASAN, PG_SH=PG_SH))
        print(r.stdout)
        assert r.returncode == 0, r.stdout + r.stderr[-4000:]
        assert "5 passed, 0 failed" in r.stdout
    finally:
        srv.remove()


# ---- The command-line tool: the same on both ----------------------------------------

TOOL_ENV = {"IMGSANDBOX_PACKAGES": os.path.join(ROOT, "runner_image", "packages.txt"),
            "IMGSANDBOX_ALLOWLIST": os.path.join(ROOT, "runner_image", "allowlist.txt"),
            "IMGSANDBOX_TIMEOUT_MS": "10000", "IMGSANDBOX_MEMORY": "1073741824",
            "IMGSANDBOX_OUTPUT_BYTES": "33554432"}

COMMANDS = ["summary", "errors", "recommendations", "unfixed", "failures",
            "--limit 5 failures", "--limit 5 --before 100 failures",
            "session s-demo", "session s-ctl", "session s-nobody", "log 1", "log 2", "log 3",
            "log 6", "log 999", "context", "models", "export", "all"]

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z|\d{4}-\d\d-\d\d")


def tool(db, args):
    r = run([TOOL, "--db", db] + args.split(), TOOL_ENV)
    # The two logs were filled at different moments; nothing else may differ.
    norm = lambda s: TIME.sub("<time>", s.replace(db, "<db>"))  # noqa: E731
    return r.returncode, norm(r.stdout), norm(r.stderr)


def fill(db, *args):
    r = run([program(FIXTURE), db] + list(args))
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("scenario", [["scenario"], ["mixed", "120"], ["controls"]],
                         ids=lambda s: s[0])
def test_cli_prints_the_same_on_both(pg_server, tmp_path, scenario):
    lite = str(tmp_path / "log.db")
    pg = pg_server.createdb("cli_" + scenario[0])
    assert fill(lite, *scenario) == fill(pg, *scenario)     # the same ids and attempts
    differ = []
    for cmd in COMMANDS:
        for json in ("", "--json "):
            a, b = tool(lite, json + cmd), tool(pg, json + cmd)
            if a != b:
                differ.append((json + cmd, a, b))
    assert differ == [], differ[:2]


def test_cli_on_a_postgresql_log(pg_server):
    """test_cli.sh's checks of the scripted session, on PostgreSQL."""
    db = pg_server.createdb("cli_checks")
    fill(db, "scenario")
    code, out, _ = tool(db, "summary")
    assert code == 0
    assert "runs              6 (16.7% succeeded)" in out
    assert "failures          5: 2 fixed later, 3 unfixed" in out
    assert "sessions          4: 4 with failures, 1 fixed, 3 unfixed" in out
    code, out, _ = tool(db, "--json session s-demo")
    assert '"failures_fixed":2,"failures_unfixed":0' in out
    assert ('"imports_added":["from skimage import filters"],'
            '"imports_removed":["import skimage2"]') in out
    code, out, _ = tool(db, "--json models")
    assert '"ai_model":"test-model","runs":3,"failures":2,"failures_fixed":2' in out
    code, out, _ = tool(db, "export")
    assert code == 0 and out.count('{"log_id":') == 6
    # IMGSANDBOX_DB names it as well as --db does.
    r = run([TOOL, "--json", "summary"], dict(TOOL_ENV, IMGSANDBOX_DB=db))
    assert r.returncode == 0 and '"total":6' in r.stdout


def test_cli_retention_on_postgresql(pg_server, tmp_path):
    """Every row let go (a cap of one byte): the figures stay, the rows go,
    on both stores alike."""
    lite = str(tmp_path / "retained.db")
    pg = pg_server.createdb("cli_retained")
    for db in (lite, pg):
        fill(db, "scenario")
        assert "deleted 6" in fill(db, "retain", "0", "1")
    for cmd in ("summary", "--json summary", "--json errors", "--json failures",
                "session s-demo", "--json models"):
        assert tool(lite, cmd) == tool(pg, cmd), cmd
    code, out, _ = tool(pg, "--json summary")
    assert '"rows_retired":6,"rows_kept_since":null' in out
    assert tool(pg, "session s-demo")[0] == 1


def test_cli_schema_versions_and_missing_logs(pg_server):
    db = pg_server.createdb("cli_versions")
    fill(db, "scenario")
    pg_server.query(db, "UPDATE logdb_schema SET version = 1")
    code, _, err = tool(db, "summary")
    assert code == 1 and "older than this build's 3" in err
    pg_server.query(db, "UPDATE logdb_schema SET version = 4")
    code, _, err = tool(db, "summary")
    assert code == 1 and "newer than this build's 3" in err
    # A database with no log in it, and no such database: nothing is made.
    empty = pg_server.createdb("cli_empty")
    code, _, err = tool(empty, "summary")
    assert code == 1 and "no database at" in err
    assert pg_server.query(empty, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'") \
        == "0"
    code, _, err = tool(pg_server.uri("cli_no_such_database"), "summary")
    assert code == 1 and "no database at" in err
    # No server at all: said plainly, at once.
    code, _, err = tool("postgresql://postgres@127.0.0.1:1/x", "summary")
    assert code == 1 and "Connection refused" in err
