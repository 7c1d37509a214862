"""POST /api/assist where it meets the rest of the host, through every
server: with the log unavailable it still answers (facts alone, no
lessons) and a fix by log_id says the log cannot be read, never a dead
responder."""
import json
import os

import pytest

from ai_standin import StandIn
from conftest import SERVERS, Service, service_data_folder
from test_assist import AI_ENV, GOOD, assist, fenced


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
