"""The log against what others control or may read: a script's error
record holding bytes that are not UTF-8 is logged with them made valid
(U+FFFD), in SQLite (which kept them raw) as in PostgreSQL (which refuses
them in a row), so a script cannot keep its own run out of the log, nor
put text in it that its readers cannot decode; and why a log cannot
be opened is said in public (the health answer, a run's warning) without
the driver's text, which may quote a password or name the server's paths."""
import json
import os
import sqlite3

import pytest

from conftest import Service, service_data_folder
from pg import pg_server  # noqa: F401 (a fixture)

ENGINE = "fork"  # its claims are not the engine's: docs/development.md

# The script forges its own ERROR record (it runs in the interpreter that
# writes them), with bytes that are not UTF-8 in each text, then exits 1.
FORGED_ERROR = (
    "import os, sys\n"
    "os.write(2, b'\\x1eIMGSANDBOX-ERROR {\"type\": \"Bad\\xffType\", "
    "\"message\": \"m\\xfe\\xc3 end\", \"line\": 1, \"traceback\": \"tb \\xff\\xed\\xa0\\x80\"}\\n')\n"
    "sys.exit(1)\n")


@pytest.fixture(scope="module")
def pg_service(pg_server):
    db = pg_server.createdb("untrusted")
    svc = Service("lighttpd", {"IMGSANDBOX_DB": db, "IMGSANDBOX_TIMEOUT_MS": "60000"}, responders=2)
    yield svc, db
    svc.stop()


def test_an_error_record_that_is_not_utf8_is_logged_valid_in_sqlite():
    svc = Service("lighttpd", {"IMGSANDBOX_TIMEOUT_MS": "60000"}, responders=1)
    try:
        status, _, r = svc.run(FORGED_ERROR, timeout=300)
    finally:
        svc.stop()
    assert status == 200 and r["status"] == "error" and r["log_id"] is not None, r
    db = sqlite3.connect(svc.db)
    db.text_factory = bytes
    row = db.execute("SELECT error_type, error_message, traceback, pattern FROM runs "
                     "WHERE id = ?", (r["log_id"],)).fetchone()
    db.close()
    assert row[:3] == ("Bad\ufffdType".encode(), "m\ufffd\ufffd end".encode(),
                       "tb \ufffd\ufffd\ufffd\ufffd".encode()), row
    for text in row:
        assert text is None or text.decode("utf-8")     # every text of the row: valid


def test_an_error_record_that_is_not_utf8_is_logged(pg_service, pg_server):
    svc, db = pg_service
    status, _, r = svc.run(FORGED_ERROR, timeout=300)
    assert status == 200 and r["status"] == "error", r
    assert r["log_id"] is not None and "warning" not in r, r
    assert r["error"]["type"] == "Bad\ufffdType", r["error"]
    row = pg_server.query(db, "SELECT error_type || '|' || error_message || '|' || traceback "
                              "FROM runs WHERE id = %d" % r["log_id"])
    assert row == "Bad\ufffdType|m\ufffd\ufffd end|tb \ufffd\ufffd\ufffd\ufffd", row
    status, body = svc.get_json("/api/health")
    assert body["log"]["ok"] is True, body
    # And the run after it is logged too.
    status, _, r = svc.run("print('next')\n", timeout=300)
    assert r["log_id"] is not None and "warning" not in r, r


def files_holding(root, needle):
    found = []
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    if needle in f.read():
                        found.append(p)
    return found


def test_a_password_libpq_quotes_is_shown_nowhere(pg_server):
    """A password with a '%' that is no escape: libpq refuses the URI and
    quotes the password in its error. Neither /api/health nor a run's
    warning (both public) nor the server's own log shows it."""
    db = pg_server.createdb("untrusted_pw").replace("postgresql://postgres@",
                                                    "postgresql://postgres:s%zzecret@")
    svc = Service("lighttpd", {"IMGSANDBOX_DB": db, "IMGSANDBOX_TIMEOUT_MS": "60000"},
                  responders=1)
    try:
        status, _, r = svc.run("print('unlogged')\n", timeout=300)
        status, h = svc.get_json("/api/health")
        status, _, logs = svc.request("GET", "/api/logs/session/s1")
        seen = json.dumps([r, h]) + logs.decode()
        assert r["log_id"] is None and "not logged" in r["warning"], r
        assert h["log"]["ok"] is False and h["log"]["message"].startswith("failed: "), h
        for secret in (b"zzecret", b"s%zzecret"):
            assert secret.decode() not in seen, seen
            assert files_holding(svc.data, secret) == []
        assert "***" in svc.read_log() + "".join(
            open(p, errors="replace").read() for p in files_holding(svc.data, b"cannot be opened"))
    finally:
        svc.stop()


def test_an_sqlite_log_that_fails_shows_no_server_path():
    data = service_data_folder()
    with open(os.path.join(data, "log.db"), "wb") as f:
        f.write(b"SQLite format 3\0" + os.urandom(8192))
    svc = Service("lighttpd", {"IMGSANDBOX_DATA": data, "IMGSANDBOX_TIMEOUT_MS": "60000"},
                  responders=1)
    try:
        status, _, r = svc.run("print('unlogged')\n", timeout=300)
        status, h = svc.get_json("/api/health")
        status, _, logs = svc.request("GET", "/api/logs/session/s1")
    finally:
        svc.stop()
    assert r["log_id"] is None and h["log"]["ok"] is False, (r, h)
    assert h["log"]["message"].startswith("corrupt: the log's file is damaged"), h
    for text in (r["warning"], h["log"]["message"], logs.decode()):
        assert data not in text and "log.db" not in text, text
