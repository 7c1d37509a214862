"""A failing log does not stop runs (#11.6), through every server: with
log.db corrupt, or from a newer version, runs go ahead, each answer says the
attempt was not logged (log_id null and a warning), /api/health reports the
problem and counts the unlogged runs."""
import os
import sqlite3

import pytest

from conftest import SERVERS, Service, service_data_folder
from test_access import get

import json


def broken_log(server, how):
    data = service_data_folder()
    db = os.path.join(data, "log.db")
    if how == "corrupt":
        with open(db, "wb") as f:
            f.write(b"SQLite format 3\0" + os.urandom(8192))
    else:
        c = sqlite3.connect(db)
        c.execute("PRAGMA user_version = 999")
        c.commit()
        c.close()
    return Service(server, {"IMGSANDBOX_DATA": data}, responders=2)


@pytest.mark.parametrize("how", ["corrupt", "newer"])
@pytest.mark.parametrize("server", SERVERS)
def test_runs_go_ahead_unlogged(server, how):
    svc = broken_log(server, how)
    try:
        for i in range(2):
            status, _, r = svc.run("print('ran %d')\n" % i)
            assert status == 200 and r["status"] == "no_output", r
            assert "ran %d" % i in r["stdout"]
            assert r["log_id"] is None and "not logged" in r["warning"], r
        # A refusal is answered as usual too.
        status, _, r = svc.run("")
        assert status == 400 and r["log_id"] is None and "not logged" in r["warning"]
        status, _, body = get(svc, "/api/health")
        h = json.loads(body)
        assert h["log"]["ok"] is False and h["log"]["message"], h
        assert h["log"]["runs_unlogged"] >= 3
        # The reports say they cannot read the log, plainly.
        status, _, body = get(svc, "/api/logs/summary")
        assert status in (500, 503) and json.loads(body)["error"]["message"]
    finally:
        svc.stop()
