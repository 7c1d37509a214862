"""A failing log does not stop runs (#11.6), through every server: with
log.db corrupt, or from a newer version, runs go ahead, each answer says the
attempt was not logged (log_id null and a warning), /api/health reports the
problem and counts the unlogged runs."""
import os
import sqlite3
import time

import pytest

from conftest import SERVERS, Service, service_data_folder
from test_access import get

import json

ENGINE = "fork"  # its claims are not the engine's: docs/development.md


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


@pytest.mark.parametrize("server", SERVERS)
def test_a_locked_log_costs_one_busy_wait_not_one_per_run(server):
    """Another process holds log.db locked (BEGIN EXCLUSIVE): runs go ahead
    unlogged; the first insert waits out the busy timeout (5 s), the next
    ones do not (the store's breaker), and once the lock goes, rows are
    logged again. The inserts are timed on refusals (logged like runs, and
    answered without a container, so the engine's speed is not in them)."""
    svc = Service(server, {"IMGSANDBOX_WARM": "0"}, responders=1)
    try:
        status, _, r = svc.run("print('before')\n")
        assert status == 200 and r["log_id"] > 0
        holder = sqlite3.connect(svc.db, timeout=10, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            walls = []
            for i in range(3):
                t0 = time.time()
                status, _, r = svc.run("")
                walls.append(time.time() - t0)
                assert status == 400 and r["log_id"] is None and "not logged" in r["warning"], r
            status, _, r = svc.run("print('locked')\n")
            assert status == 200 and r["log_id"] is None and "not logged" in r["warning"], r
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        # The first waited for the lock; the others did not wait as long.
        assert walls[1] < walls[0] - 2 and walls[2] < walls[0] - 2, walls
        status, _, r = svc.run("print('after')\n")
        assert r["log_id"] is not None and r["log_id"] > 0, r
    finally:
        svc.stop()
