"""Session ids and the model's name are the service's, not what a client
says (shared/base/secret.h), through every server:

- a session id is issued by the server (128 random bits and their tag
  under the host's key); one a client made up, or changed, is not taken:
  the run begins a new session and its answer says so, so a session is
  never a name another client could guess or share;
- ai_model and ai_lessons, which feed the per-model figures, are kept only
  with the token POST /api/assist answered for that very code in that
  session; without it (or with another script's) the run goes on, counted
  for no model, and its answer says why."""
import json
import sqlite3

import pytest

from ai_standin import StandIn
from conftest import SERVERS, Service
from test_assist import AI_ENV, GOOD, assist, fenced

ENGINE = "fork"  # its claims are not the engine's: docs/development.md


@pytest.fixture(scope="module")
def standin():
    s = StandIn()
    yield s
    s.stop()


@pytest.fixture(scope="module", params=SERVERS)
def svc(request, standin):
    s = Service(request.param, dict(AI_ENV, IMGSANDBOX_AI_URL=standin.url + "/v1",
                                    IMGSANDBOX_TIMEOUT_MS="60000"), responders=2)
    yield s
    s.stop()


def row(svc, log_id):
    with sqlite3.connect(svc.db) as db:
        return db.execute("SELECT session_id, attempt, ai_model, ai_lessons FROM runs WHERE id = ?",
                          (log_id,)).fetchone()


def test_a_session_is_one_the_server_issued(svc):
    status, _, first = svc.run("print(1)\n", session_id="my-own-session", timeout=300)
    assert status == 200 and first["session_id"] != "my-own-session", first
    sid = first["session_id"]
    assert len(sid) == 64 and first["attempt"] == 1
    assert any("not one this service issued" in n for n in first["notes"]), first
    # The issued one is taken back: the same session, its next attempt.
    status, _, second = svc.run("print(2)\n", session_id=sid, timeout=300)
    assert second["session_id"] == sid and second["attempt"] == 2 and "notes" not in second
    # Changed in its random half or in its tag: not taken.
    for forged in (("0" if sid[0] != "0" else "1") + sid[1:], sid[:-1] + ("0" if sid[-1] != "0" else "1")):
        status, _, r = svc.run("print(3)\n", session_id=forged, timeout=300)
        assert r["session_id"] not in (sid, forged) and r["attempt"] == 1, r
    # Nothing was ever logged under a name a client chose.
    assert svc.get_json("/api/logs/session/my-own-session")[0] == 404
    assert row(svc, first["log_id"])[0] == sid
    # A malformed one is still refused, as the contract says.
    status, _, r = svc.run("print(4)\n", session_id="bad id!", timeout=300)
    assert status == 400 and r["error"]["code"] == "bad_request"


def test_the_model_is_the_assistants_word(svc, standin):
    standin.load([{"content": fenced(GOOD), "model": "coder-7b"}])
    status, _, a = assist(svc, {"prompt": "make it gray"})
    assert status == 200 and len(a["session_id"]) == 64 and len(a["ai_token"]) == 32, a
    sid, lessons = a["session_id"], "1" if a["lessons"] else "0"
    said = {"ai_model": a["model"], "ai_lessons": lessons, "session_id": sid}
    # Claimed without a token, with another script's, for another session,
    # another model, other lessons: the run goes on, for no model.
    for code, extra in (
            (GOOD, {}),
            (GOOD + "# edited\n", {"ai_token": a["ai_token"]}),
            (GOOD, {"ai_token": a["ai_token"], "session_id": svc.new_session()}),
            (GOOD, {"ai_token": a["ai_token"], "ai_model": "gpt-9"}),
            (GOOD, {"ai_token": a["ai_token"], "ai_lessons": "0" if lessons == "1" else "1"})):
        status, _, r = svc.run(code, use_sample=True, timeout=300, **dict(said, **extra))
        assert status == 200 and r["status"] == "success", r
        assert row(svc, r["log_id"])[2:] == (None, -1), (extra, row(svc, r["log_id"]))
        assert any("ai_model and ai_lessons were not kept" in n for n in r["notes"]), r
    # The script as the assistant wrote it, with its token: kept.
    status, _, r = svc.run(GOOD, use_sample=True, timeout=300, ai_token=a["ai_token"], **said)
    assert status == 200 and "notes" not in r, r
    assert row(svc, r["log_id"]) == (sid, r["attempt"], "coder-7b", int(lessons))
    # ai_lessons not said: kept as not said, with the model.
    status, _, r = svc.run(GOOD, use_sample=True, timeout=300, ai_token=a["ai_token"],
                           ai_model=a["model"], session_id=sid)
    assert row(svc, r["log_id"])[2:] == ("coder-7b", -1), r
    # The per-model figures know only the assistant's model.
    status, doc = svc.get_json("/api/logs/models")
    assert [m["ai_model"] for m in doc["models"]] == ["coder-7b"], json.dumps(doc)[:500]
    assert doc["models"][0]["runs"] == 2
