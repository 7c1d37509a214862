"""POST /api/assist through lighttpd and nginx, against a stand-in
OpenAI-compatible server (ai_standin.py) on a loopback port: the prompt
carries the log's AI context (and for a fix the failed attempt's error,
traceback and code), the key goes as a Bearer header and nowhere else,
each failure has its clear error, IMGSANDBOX_AI_LESSONS=0 leaves the
lessons out; then assist -> POST /run -> the log row, and a small driver of
the fix loop that stops at the first success and at N attempts."""
import json
import os
import sqlite3
import stat
import uuid

import pytest

from ai_standin import StandIn
from conftest import SERVERS, Service, free_port, secret_file

ENGINE = "fork"  # its claims are not the engine's: docs/development.md

KEY = "sk-standin-" + uuid.uuid4().hex
GOOD = ("from PIL import Image, ImageOps\n"
        "im = Image.open('/input/image.png').convert('L')\n"
        "ImageOps.autocontrast(im).save('/output/result.png')\n")
BAD = ("from PIL import Image\n"
       "im = Image.open('/input/image.png')\n"
       "undefined_name.save('/output/result.png')\n")
AI_ENV = {"IMGSANDBOX_AI_MODEL": "configured-model", "IMGSANDBOX_AI_TIMEOUT_MS": "3000",
          "IMGSANDBOX_WARM": "0"}


def fenced(code, before="Here is the script:", after="It should work."):
    return "%s\n\n```python\n%s```\n\n%s" % (before, code, after)


@pytest.fixture(scope="module")
def standin():
    s = StandIn()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def key_file():
    # Outside the service's data folder: every file in there is searched
    # for the key. Readable by the service's user only.
    return secret_file(KEY + "\n", "key")


def ai_service_with(server, standin, key_file, **env):
    extra = dict(AI_ENV, IMGSANDBOX_AI_URL=standin.url + "/v1", IMGSANDBOX_AI_KEY_FILE=key_file)
    extra.update(env)
    return Service(server, extra, responders=2)


@pytest.fixture(scope="module", params=SERVERS)
def ai_service(request, standin, key_file):
    svc = ai_service_with(request.param, standin, key_file)
    yield svc
    svc.stop()


def assist(service, body, raw=None, ctype="application/json"):
    data = raw if raw is not None else json.dumps(body).encode()
    status, headers, out = service.request("POST", "/api/assist", data,
                                           {"Content-Type": ctype})
    return status, headers, json.loads(out)


def new_session(service):
    """A session of service's issue (the page's, once it has run once)."""
    return service.new_session()


def failed_run(service, sid, code=BAD):
    status, _, r = service.run(code, use_sample=True, session_id=sid)
    assert status == 200 and r["status"] == "error", r
    return r


def rows(service, where, args):
    with sqlite3.connect(service.db) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(
            "SELECT id, session_id, attempt, previous_attempt_id, status, user_prompt, ai_model,"
            " error_type FROM runs WHERE " + where + " ORDER BY id", args)]


def messages(req):
    m = req["json"]["messages"]
    assert [x["role"] for x in m] == ["system", "user"]
    return m[0]["content"], m[1]["content"]


# --- the prompt ----------------------------------------------------------

def test_new_script_prompt_carries_the_ai_context(ai_service, standin):
    failed_run(ai_service, new_session(ai_service), "import skimage2\n")   # a lesson in the log
    status, _, ctx = ai_service.request("GET", "/api/logs/ai-context")
    ctx = ctx.decode()
    assert status == 200 and "# Lessons from the execution log" in ctx
    # The lesson is in our words: the script's made-up module is not repeated.
    assert "ModuleNotFoundError" in ctx and "skimage2" not in ctx
    standin.load([{"content": fenced(GOOD, after="It makes the image gray.")}])
    sid = new_session(ai_service)
    status, _, a = assist(ai_service, {"prompt": "make it gray", "session_id": sid})
    assert status == 200, a
    token = a.pop("ai_token")
    assert a == {"code": GOOD, "model": "standin-coder", "lessons": True, "session_id": sid,
                 "notes": "Here is the script:\n\nIt makes the image gray."}
    assert token == ai_service.ai_token(sid, "standin-coder", True, GOOD)
    reqs = standin.requests()
    assert len(reqs) == 1
    req = reqs[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["json"]["model"] == "configured-model"
    assert req["json"]["max_tokens"] == 2048 and req["json"]["stream"] is False
    system, user = messages(req)
    assert system.startswith(ctx), "the system message starts with the log's AI context"
    assert "/output/result.png" in system[len(ctx):] and "```python" in system[len(ctx):]
    assert user == "make it gray\n"


def test_fix_by_log_id_carries_the_failure_then_runs(ai_service, standin):
    sid = new_session(ai_service)
    bad = failed_run(ai_service, sid)
    assert bad["error"]["type"] == "NameError" and bad["error"]["line"] == 3
    standin.load([{"content": fenced(GOOD), "model": "fixer-7b"}])
    status, _, a = assist(ai_service, {"prompt": "make it gray", "log_id": bad["log_id"],
                                       "session_id": sid, "code": BAD})
    assert status == 200, a
    assert a["code"] == GOOD and a["model"] == "fixer-7b"
    system, user = messages(standin.requests()[0])
    assert user.startswith("make it gray\n")
    assert "(attempt %d) failed in the sandbox with status \"error\"" % bad["log_id"] in user
    assert "Error: NameError: name 'undefined_name' is not defined (line 3 of main.py)" in user
    assert "Traceback:\n```text\n" in user and bad["error"]["traceback"].strip() in user
    assert "The failed script:\n```python\n" + BAD + "```\n" in user
    assert "as it stands" not in user      # the code sent is the failed one
    # The page's next step: run it with the prompt and the model, as the fix.
    status, _, r = ai_service.run(a["code"], use_sample=True, session_id=sid,
                                  user_prompt="make it gray", ai_model=a["model"],
                                  ai_lessons="1" if a["lessons"] else "0", ai_token=a["ai_token"],
                                  previous_attempt_id=str(bad["log_id"]))
    assert status == 200 and r["status"] == "success", r
    got = rows(ai_service, "id = ?", (r["log_id"],))
    assert got == [{"id": r["log_id"], "session_id": sid, "attempt": 2,
                    "previous_attempt_id": bad["log_id"], "status": "success",
                    "user_prompt": "make it gray", "ai_model": "fixer-7b", "error_type": None}]


# --- the key -------------------------------------------------------------

def files_holding(root, needle):
    """The files under a service's data folder that hold needle, less the
    programs serve.sh stages there (DATA/app: its binaries hold the
    format strings of every message)."""
    found = []
    for d, dirs, names in os.walk(root):
        if d == root and "app" in dirs:
            dirs.remove("app")
        for n in names:
            p = os.path.join(d, n)
            if not stat.S_ISREG(os.lstat(p).st_mode):
                continue        # sockets, FIFOs, links
            try:
                with open(p, "rb") as f:
                    if needle in f.read():
                        found.append(p)
            except OSError:
                pass
    return found


def test_key_goes_as_bearer_and_nowhere_else(ai_service, standin):
    standin.load([{"content": fenced(GOOD)}, {"status": 401, "echo_auth": True},
                  {"status": 500, "echo_auth": True}])
    answers = [assist(ai_service, {"prompt": "gray"}) for _ in range(3)]
    reqs = standin.requests()
    assert [r["headers"].get("Authorization") for r in reqs] == ["Bearer " + KEY] * 3
    assert [(s, a.get("error", {}).get("code")) for s, _, a in answers] == \
        [(200, None), (502, "ai_error"), (503, "ai_unavailable")]
    assert "HTTP 401" in answers[1][2]["error"]["message"]
    assert "IMGSANDBOX_AI_KEY_FILE" in answers[1][2]["error"]["message"]
    assert "Incorrect API key provided: Bearer ***" in answers[1][2]["error"]["message"]
    assert "HTTP 500" in answers[2][2]["error"]["message"]
    for _, headers, a in answers:
        assert KEY not in json.dumps(a) and KEY not in json.dumps(headers)
    # Nor in any file of the service: its logs, the servers' logs, the database.
    assert files_holding(ai_service.data, KEY.encode()) == []
    assert "IMGSANDBOX_AI" not in json.dumps(reqs[0]["json"])   # nothing of ours in the body


# --- failures ------------------------------------------------------------

def test_slow_model_gets_a_timeout(ai_service, standin):
    standin.load([{"delay_s": 8, "content": fenced(GOOD)}])
    status, _, a = assist(ai_service, {"prompt": "gray"})
    assert status == 503 and a["error"]["code"] == "ai_unavailable", a
    assert "did not answer within 3 s" in a["error"]["message"]
    assert "127.0.0.1:%d" % standin.port in a["error"]["message"]


def test_reply_that_is_not_code(ai_service, standin):
    standin.load([{"content": "I am sorry,\n\n I cannot   draw that.\x1b[31m <b>no</b>"},
                  {"content": "```bash\npip install magic\n```"},
                  {"raw": "<html>bad gateway</html>"},
                  {"content": ""}])
    out = [assist(ai_service, {"prompt": "gray"}) for _ in range(4)]
    assert [(s, a["error"]["code"]) for s, _, a in out] == [(502, "ai_bad_reply")] * 4
    first = out[0][2]["error"]["message"]
    assert 'it began: "I am sorry, I cannot draw that.[31m <b>no</b>"' in first
    assert "\x1b" not in first
    assert "holds no Python script" in out[1][2]["error"]["message"]
    assert "not JSON" in out[2][2]["error"]["message"]
    assert "no text" in out[3][2]["error"]["message"]


def test_reply_too_large(ai_service, standin):
    huge = "import os\n" + "x = 1\n" * (300 * 1024 // 6)      # over the 256 KiB of a script
    standin.load([{"content": fenced(huge)}, {"content": "y" * (1100 * 1024)}])
    out = [assist(ai_service, {"prompt": "gray"}) for _ in range(2)]
    assert [(s, a["error"]["code"]) for s, _, a in out] == [(502, "ai_bad_reply")] * 2
    assert "over the limit of a script (256 KiB)" in out[0][2]["error"]["message"]
    assert "answered with more than 1024 KiB" in out[1][2]["error"]["message"]


def test_unknown_or_foreign_log_id(ai_service, standin):
    sid = new_session(ai_service)
    bad = failed_run(ai_service, sid)
    standin.load([])
    for body in ({"prompt": "fix", "log_id": 10 ** 9, "session_id": sid},
                 {"prompt": "fix", "log_id": bad["log_id"], "session_id": new_session(ai_service)}):
        status, _, a = assist(ai_service, body)
        assert status == 404 and a["error"]["code"] == "not_found", a
    assert standin.requests() == []


@pytest.mark.parametrize("body,raw,ctype,status,words", [
    (None, b"{not json", "application/json", 400, "not JSON"),
    (None, b"[1, 2]", "application/json", 400, "JSON object"),
    ({"prompt": 12}, None, "application/json", 400, "prompt must be a string"),
    ({"prompt": "x", "code": ["a"]}, None, "application/json", 400, "code must be a string"),
    ({"prompt": "x", "log_id": "12", "session_id": "s"}, None, "application/json", 400, "log_id"),
    ({"prompt": "x", "log_id": 1.5, "session_id": "s"}, None, "application/json", 400, "log_id"),
    ({"prompt": "x", "log_id": 3}, None, "application/json", 400, "needs the session_id"),
    ({"prompt": "x", "session_id": "bad id!"}, None, "application/json", 400, "session_id"),
    ({"prompt": "  \n"}, None, "application/json", 400, "prompt is empty"),
    ({"prompt": "x" * 8193}, None, "application/json", 413, "prompt is 8193 bytes; the limit is 8192 bytes"),
    ({"prompt": "x", "code": "y" * (256 * 1024 + 1)}, None, "application/json", 413, "code is"),
    ({"prompt": "x"}, None, "text/plain", 400, "application/json"),
])
def test_bad_requests(ai_service, standin, body, raw, ctype, status, words):
    standin.load([])
    got, _, a = assist(ai_service, body, raw=raw, ctype=ctype)
    assert got == status and a["error"]["code"] == ("too_large" if status == 413 else "bad_request")
    assert words in a["error"]["message"], a
    assert standin.requests() == []


def test_only_post(ai_service):
    status, headers, body = ai_service.request("GET", "/api/assist")
    assert status == 405 and json.loads(body)["error"]["code"] == "method_not_allowed"
    assert headers.get("Allow") == "POST"


@pytest.mark.parametrize("server", SERVERS)
def test_no_model_configured(server):
    svc = Service(server, {"IMGSANDBOX_WARM": "0"}, responders=1)
    try:
        status, _, a = assist(svc, {"prompt": "gray"})
    finally:
        svc.stop()
    assert status == 503 and a["error"]["code"] == "ai_unavailable"
    assert a["error"]["message"].startswith("no model is configured: set IMGSANDBOX_AI_URL")


@pytest.mark.parametrize("server", SERVERS)
def test_key_file_unreadable(server, standin, tmp_path):
    missing = str(tmp_path / "no-such-key")
    svc = ai_service_with(server, standin, missing)
    try:
        standin.load([{"content": fenced(GOOD)}])
        status, _, a = assist(svc, {"prompt": "gray"})
        log = svc.read_log() + "".join(open(p, errors="replace").read()
                                      for p in files_holding(svc.data, b"assist:"))
    finally:
        svc.stop()
    assert status == 503 and a["error"]["code"] == "ai_unavailable", a
    assert "IMGSANDBOX_AI_KEY_FILE" in a["error"]["message"] and missing not in a["error"]["message"]
    assert missing in log                   # the operator is told which file
    assert standin.requests() == []         # no call without the key it was given


@pytest.mark.parametrize("server", SERVERS)
def test_model_down(server, key_file):
    port = free_port()      # nothing listens there
    svc = Service(server, dict(AI_ENV, IMGSANDBOX_AI_URL="http://127.0.0.1:%d/v1" % port,
                               IMGSANDBOX_AI_KEY_FILE=key_file), responders=1)
    try:
        status, _, a = assist(svc, {"prompt": "gray"})
    finally:
        svc.stop()
    assert status == 503 and a["error"]["code"] == "ai_unavailable", a
    assert "the model at 127.0.0.1:%d could not be reached (connection refused)" % port \
        in a["error"]["message"]


# --- lessons off ---------------------------------------------------------

@pytest.mark.parametrize("server", SERVERS)
def test_lessons_off_leaves_the_lessons_out(server, standin, key_file):
    svc = ai_service_with(server, standin, key_file, IMGSANDBOX_AI_LESSONS="0")
    try:
        failed_run(svc, new_session(svc), "import skimage2\n")
        status, _, ctx = svc.request("GET", "/api/logs/ai-context")
        ctx = ctx.decode()
        standin.load([{"content": fenced(GOOD)}])
        status, _, a = assist(svc, {"prompt": "gray"})
        system, _ = messages(standin.requests()[0])
    finally:
        svc.stop()
    assert status == 200 and a["lessons"] is False and a["code"] == GOOD
    facts, lessons = ctx.split("# Lessons from the execution log")
    assert "ModuleNotFoundError" in lessons  # the log had a lesson to give
    assert system.startswith(facts) and "\n# Your task\n" in system
    assert "Lessons" not in system and "ModuleNotFoundError" not in system
    assert "import numpy as np" in system   # the installed libraries are facts


@pytest.mark.parametrize("server", SERVERS)
def test_lessons_true_only_when_the_log_has_some(server, standin):
    svc = ai_service_with(server, standin, "")      # and no key: no Authorization
    try:
        standin.load([{"content": fenced(GOOD)}, {"content": fenced(GOOD)}])
        status, _, empty = assist(svc, {"prompt": "gray"})
        failed_run(svc, new_session(svc), "import skimage2\n")
        status, _, later = assist(svc, {"prompt": "gray"})
        reqs = standin.requests()
        first, _ = messages(reqs[0])
        second, _ = messages(reqs[1])
    finally:
        svc.stop()
    assert [r["headers"].get("Authorization") for r in reqs] == [None, None]
    assert empty["lessons"] is False and later["lessons"] is True
    assert "Lessons" not in first and "# Lessons from the execution log" in second
    assert second.startswith(first.split("\n# Your task\n")[0])


# --- the loop the page will drive ----------------------------------------

def fix_loop(service, standin, prompt, n):
    """What the page's automatic fix does: assist, run; on failure assist
    again with the failed attempt, at most n times; stop at the first
    success. Returns the runs' answers."""
    sid, prev, runs = new_session(service), None, []
    for _ in range(n):
        body = {"prompt": prompt, "session_id": sid}
        if prev is not None:
            body.update(log_id=prev["log_id"], code=prev_code)
        status, _, a = assist(service, body)
        assert status == 200, a
        extra = {"session_id": sid, "user_prompt": prompt, "ai_model": a["model"],
                 "ai_lessons": "1" if a["lessons"] else "0", "ai_token": a["ai_token"]}
        if prev is not None:
            extra["previous_attempt_id"] = str(prev["log_id"])
        status, _, r = service.run(a["code"], use_sample=True, **extra)
        assert status == 200, r
        runs.append(r)
        if r["status"] == "success":
            break
        prev, prev_code = r, a["code"]
    return sid, runs


def test_fix_loop_stops_at_the_first_success(ai_service, standin):
    other_bad = BAD.replace("undefined_name", "also_undefined")
    standin.load([{"content": fenced(BAD)}, {"content": fenced(other_bad)},
                  {"content": fenced(GOOD)}, {"content": fenced(GOOD)}])
    sid, runs = fix_loop(ai_service, standin, "gray it", 5)
    assert [r["status"] for r in runs] == ["error", "error", "success"]
    reqs = standin.requests()
    assert len(reqs) == 3                     # the fourth reply was never asked for
    _, second = messages(reqs[1])
    _, third = messages(reqs[2])
    assert "name 'undefined_name' is not defined" in second
    assert "name 'also_undefined' is not defined" in third
    got = rows(ai_service, "session_id = ?", (sid,))
    assert [(r["attempt"], r["previous_attempt_id"], r["status"], r["user_prompt"], r["ai_model"])
            for r in got] == [
        (1, None, "error", "gray it", "standin-coder"),
        (2, runs[0]["log_id"], "error", "gray it", "standin-coder"),
        (3, runs[1]["log_id"], "success", "gray it", "standin-coder")]


def test_fix_loop_stops_at_n(ai_service, standin):
    standin.load([{"content": fenced(BAD)}] * 3)
    sid, runs = fix_loop(ai_service, standin, "gray it", 2)
    assert [r["status"] for r in runs] == ["error", "error"]
    assert len(standin.requests()) == 2
    assert len(rows(ai_service, "session_id = ?", (sid,))) == 2
