"""POST /api/assist where it meets the rest of the host, through every
server: with the log unavailable it still answers (facts alone, no
lessons) and a fix by log_id says the log cannot be read, never a dead
responder; and the assists in progress on the host are capped
(IMGSANDBOX_AI_INFLIGHT), so that they cannot fill the run pool."""
import http.client
import json
import os
import threading
import time

import pytest

from ai_standin import StandIn
from conftest import SERVERS, Service, service_data_folder
from test_assist import AI_ENV, GOOD, assist, fenced

ENGINE = "fork"  # its claims are not the engine's: docs/development.md


@pytest.fixture(scope="module")
def standin():
    s = StandIn()
    yield s
    s.stop()


def restarts(svc):
    """How many times supervise started a responder again (its log)."""
    n = 0
    for d, _, names in os.walk(svc.data):
        for name in names:
            if name.endswith("responder.log"):
                with open(os.path.join(d, name), errors="replace") as f:
                    n += f.read().count("starting another")
    return n


@pytest.mark.parametrize("server", SERVERS)
def test_assist_with_the_log_unavailable(server, standin):
    data = service_data_folder()
    with open(os.path.join(data, "log.db"), "wb") as f:
        f.write(b"SQLite format 3\0" + os.urandom(8192))
    svc = Service(server, dict(AI_ENV, IMGSANDBOX_DATA=data,
                               IMGSANDBOX_AI_URL=standin.url + "/v1"), responders=2)
    try:
        standin.load([{"content": fenced(GOOD)}] * 3)
        for _ in range(3):
            status, _, a = assist(svc, {"prompt": "make it gray"})
            assert status == 200 and a["code"] == GOOD and a["lessons"] is False, (status, a)
        system = standin.requests()[0]["json"]["messages"][0]["content"]
        assert "import numpy as np" in system and "Lessons" not in system
        # A fix by log_id needs the log: said, and no model is asked.
        standin.load([{"content": fenced(GOOD)}])
        status, _, a = assist(svc, {"prompt": "fix it", "log_id": 1, "session_id": "s1"})
        assert status == 503 and a["error"]["code"] == "log_unavailable", a
        assert "send the failed script" in a["error"]["message"]
        assert standin.requests() == []
        assert restarts(svc) == 0, svc.read_log()
    finally:
        svc.stop()


def wait_for(pred, timeout=120):
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline, "waited %d s" % timeout
        time.sleep(0.05)


def assist_from(svc, source, body):
    c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=300, source_address=(source, 0))
    try:
        c.request("POST", "/api/assist", json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read())
    finally:
        c.close()


@pytest.mark.parametrize("server", SERVERS)
def test_assists_in_flight_are_capped_for_the_host(server, standin):
    """IMGSANDBOX_AI_INFLIGHT=1: while one client's assist waits for a slow
    model, another client's is refused at once (429, the model not asked),
    a third client's run goes through, and once the first is answered the
    next assist is taken again."""
    svc = Service(server, dict(AI_ENV, IMGSANDBOX_AI_URL=standin.url + "/v1",
                               IMGSANDBOX_AI_INFLIGHT="1", IMGSANDBOX_AI_TIMEOUT_MS="120000",
                               IMGSANDBOX_TIMEOUT_MS="60000"), responders=4)
    try:
        standin.load([{"delay_s": 10, "content": fenced(GOOD)}, {"content": fenced(GOOD)}])
        first = {}
        t = threading.Thread(target=lambda: first.update(
            a=assist_from(svc, "127.0.0.2", {"prompt": "slow"})))
        t.start()
        wait_for(lambda: len(standin.requests()) == 1)      # the model has it
        status, headers, a = assist_from(svc, "127.0.0.3", {"prompt": "second"})
        assert status == 429 and a["error"]["code"] == "busy", a
        assert "the assistant is answering 1 requests" in a["error"]["message"]
        assert int(headers["Retry-After"]) > 0
        assert len(standin.requests()) == 1                 # never asked
        status, _, r = svc.run("print('runs go on')\n", timeout=300)
        assert status == 200 and r["stdout"] == "runs go on\n", r
        t.join(300)
        assert first["a"][0] == 200, first
        status, _, a = assist_from(svc, "127.0.0.3", {"prompt": "second, again"})
        assert status == 200 and a["code"] == GOOD, a
    finally:
        svc.stop()
