"""A service with its log in PostgreSQL (#15): IMGSANDBOX_DB=postgresql://...
The same runs through a service logging to SQLite and one logging to
PostgreSQL are logged alike: /api/logs/summary, /api/logs/failures and a
session answer the same (what depends on the moment aside: times, job ids,
durations). A server that is down when the service starts, or goes away
later, leaves runs going ahead unlogged (log_id null, a warning), and the
log is written again once the server is back, without a restart."""
import os
import time

import pytest

from conftest import Service, budget, secret_file
from pg import PgServer, pg_server  # noqa: F401 (a fixture)

ENGINE = "fork"  # its claims are not the engine's: docs/development.md

# (session, code, extra fields): a failure fixed in its session, a timeout-
# free no_output, a refusal (no code), an error left unfixed.
RUNS = [
    ("pg-fix", "import skimage2\nprint('never')\n", {"ai_model": "test-model"}),
    ("pg-fix", "from PIL import Image\nim = Image.open('/input/image.png')\nim.invert()\n",
     {"ai_model": "test-model"}),
    ("pg-fix", "from PIL import Image, ImageOps\n"
     "im = Image.open('/input/image.png').convert('RGB')\n"
     "ImageOps.invert(im).save('/output/result.png')\n", {"ai_model": "test-model"}),
    ("pg-lone", "print('no result')\n", {}),
    ("pg-refused", "", {}),
    ("pg-key", "d = {}\nprint(d['width'])\n", {"user_prompt": "read the width"}),
]

# What depends on the moment of a run, not on what was logged.
VOLATILE = {"created_at", "first_at", "last_at", "last_seen", "rows_kept_since", "job_id",
            "example_job_id", "duration_ms", "timings", "avg", "p50", "p95", "max", "histogram",
            "day"}


def strip(doc):
    if isinstance(doc, dict):
        return {k: strip(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [strip(v) for v in doc]
    return doc


def do_runs(svc, sids):
    """The RUNS through svc, each named session as sids has it (ids the
    twins' shared key issued); a model's runs as the page sends what the
    assistant wrote, with its token."""
    out = []
    for name, code, extra in RUNS:
        sid = sids[name]
        fields = dict(extra, session_id=sid)
        if "ai_model" in extra:
            fields.update(ai_lessons="0",
                          ai_token=svc.ai_token(sid, extra["ai_model"], 0, code))
        status, _, r = svc.run(code, use_sample=True, **fields)
        out.append((status, r.get("status"), r.get("log_id"), r.get("attempt")))
    return out


def api(svc, path):
    status, doc = svc.get_json(path)
    assert status == 200, (path, doc)
    return doc


@pytest.fixture(scope="module")
def twins(pg_server):
    """A service logging to SQLite and one logging to PostgreSQL, the same
    runs made through each."""
    db = pg_server.createdb("service_twin")
    key = secret_file(os.urandom(32).hex(), "secret.key")   # one key: the same sessions
    lite = Service("lighttpd", {"IMGSANDBOX_SECRET_FILE": key}, responders=2)
    pg = Service("nginx", {"IMGSANDBOX_DB": db, "IMGSANDBOX_SECRET_FILE": key}, responders=2)
    lite.sids = {name: lite.new_session() for name, _, _ in RUNS}
    try:
        yield lite, pg, do_runs(lite, lite.sids), do_runs(pg, lite.sids), db
    finally:
        lite.stop()
        pg.stop()


def test_runs_are_logged_in_postgresql(twins, pg_server):
    lite, pg, on_lite, on_pg, db = twins
    assert on_pg == on_lite                     # statuses, log ids, attempts
    assert all(log_id is not None for _, _, log_id, _ in on_pg), on_pg
    assert [a for _, _, _, a in on_pg] == [1, 2, 3, 1, None, 1]     # a refusal: no attempt
    assert pg_server.query(db, "SELECT COUNT(*) FROM runs") == str(len(RUNS))
    assert pg_server.query(db, "SELECT runs FROM totals") == str(len(RUNS))
    h = health(pg)
    assert h["log"]["ok"] is True, h


@pytest.mark.parametrize("path", [
    "/api/logs/summary", "/api/logs/failures?limit=50", "/api/logs/failures?unfixed_only=true",
    "/api/logs/error-patterns", "/api/logs/session/pg-fix", "/api/logs/models",
    "/api/logs/log/2"])
def test_the_api_answers_the_same(twins, path):
    lite, pg, _, _, _ = twins
    path = path.replace("pg-fix", lite.sids["pg-fix"])
    a, b = api(lite, path), api(pg, path)
    assert strip(b) == strip(a)
    if path == "/api/logs/summary":
        assert b["total"] == len(RUNS) and b["failures_fixed"] == 2, b
        assert b["duration_ms"]["runs"] == a["duration_ms"]["runs"] == len(RUNS) - 1


def responders_maps(svc):
    """The libraries each responder of svc (its process group) has mapped:
    {pid: set of file names}."""
    out = {}
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != svc.proc.pid:
                continue
            if open("/proc/%s/comm" % p).read().strip() not in ("responder", "imgsandbox-api"):
                continue
            with open("/proc/%s/maps" % p) as f:
                out[int(p)] = {os.path.basename(line.split()[-1]) for line in f
                               if len(line.split()) >= 6}
        except (OSError, IndexError, ValueError):
            continue                                    # not a process, or ended meanwhile
    return out


def test_libpq_is_loaded_only_for_a_postgresql_log(twins):
    """libpq brings OpenSSL, GnuTLS, Kerberos and LDAP: several MiB in each
    responder. It is loaded when a PostgreSQL log is opened, never for an
    SQLite one."""
    lite, pg, _, _, _ = twins
    on_lite, on_pg = responders_maps(lite), responders_maps(pg)
    assert len(on_lite) >= 2 and len(on_pg) >= 2, (on_lite, on_pg)
    for pid, libs in on_lite.items():
        assert any(n.startswith("libsqlite3.so") for n in libs), (pid, libs)     # maps were read
        assert not any(n.startswith(("libpq.so", "libssl.so", "libgssapi")) for n in libs), (pid, libs)
    assert any(any(n.startswith("libpq.so") for n in libs) for libs in on_pg.values()), on_pg


def health(svc):
    return svc.get_json("/api/health")[1]


def refused(svc):
    """A refused request (no code): quick, and logged like any run."""
    status, _, r = svc.run("")
    assert status == 400, r
    return r


def wait_logged(svc, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = refused(svc)
        if r.get("log_id") is not None:
            return r
        time.sleep(0.5)
    return None


def test_a_server_that_is_down_then_back(tmp_path):
    srv = PgServer().start()
    db = srv.createdb("comes_and_goes")
    srv.stop()
    svc = Service("lighttpd", {"IMGSANDBOX_DB": db}, responders=2)
    try:
        # Down at start: runs go ahead, unlogged, and health says why.
        status, _, r = svc.run("print('ran')\n")
        assert status == 200 and r["status"] == "no_output" and "ran" in r["stdout"], r
        assert r["log_id"] is None and "not logged" in r["warning"], r
        h = health(svc)
        assert h["log"]["ok"] is False and "unreachable" in h["log"]["message"], h
        status, doc = svc.get_json("/api/logs/summary")
        assert status in (500, 503) and doc["error"]["message"], doc
        # Back: every responder opens it on its next try (every 10 s).
        srv.start()
        assert wait_logged(svc, 20 + budget(1)) is not None
        # Gone again with the log open: runs are unlogged at once ...
        srv.stop()
        r = refused(svc)
        assert r["log_id"] is None and "not logged" in r["warning"], r
        status, _, r = svc.run("print('still runs')\n")
        assert status == 200 and "still runs" in r["stdout"] and r["log_id"] is None, r
        # ... and logged again soon after it is back (each handle reconnects).
        srv.start()
        assert wait_logged(svc, 10 + budget(1)) is not None
        n = int(srv.query(db, "SELECT runs FROM totals"))
        assert n == int(srv.query(db, "SELECT COUNT(*) FROM runs")) and n >= 2
        # Health says so (a responder that has not tried again yet, within
        # its 10 s between tries, may say otherwise for a while).
        deadline = time.time() + 10 + budget(1)
        h = health(svc)
        while not h["log"]["ok"] and time.time() < deadline:
            time.sleep(0.5)
            h = health(svc)
        assert h["log"]["ok"] is True and h["log"]["runs_unlogged"] >= 3, h
    finally:
        svc.stop()
        srv.remove()
