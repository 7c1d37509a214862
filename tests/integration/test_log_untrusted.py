"""The log against what others control or may read: a script's error
record holding bytes that are not UTF-8 is logged with them made valid
(U+FFFD), in SQLite (which kept them raw) as in PostgreSQL (which refuses
them in a row), so a script cannot keep its own run out of the log, nor
put text in it that its readers cannot decode."""
import sqlite3

import pytest

from conftest import Service
from pg import pg_server  # noqa: F401 (a fixture)

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

