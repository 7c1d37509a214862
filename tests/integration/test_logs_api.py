"""The execution log through the API and the command-line tool (issue 5):
a scripted session (a missing module, a wrong attribute, then success)
yields the right categories, the fix, the changed imports and a
recommendation, the same through /api/logs/* and build/analyze_logs."""
import json
import os
import subprocess
import urllib.parse

import pytest

from conftest import ROOT

TOOL = os.path.join(ROOT, "build", "analyze_logs")

ATTEMPTS = [
    "import skimage2\nprint('never')\n",
    "from PIL import Image\nim = Image.open('/input/image.png')\nim.invert()\n",
    "from PIL import Image, ImageOps\nfrom skimage import filters\n"
    "im = Image.open('/input/image.png').convert('RGB')\n"
    "ImageOps.invert(im).save('/output/result.png')\n",
]


@pytest.fixture(scope="module")
def session(service):
    sid = "scripted-" + service.server
    out = []
    prev = None
    for code in ATTEMPTS:
        extra = {"session_id": sid, "user_prompt": "invert the image", "ai_model": "test-model"}
        if prev:
            extra["previous_attempt_id"] = str(prev)
        status, _, r = service.run(code, use_sample=True, **extra)
        assert status == 200, r
        out.append(r)
        prev = r["log_id"]
    return sid, out


def tool(service, *args):
    # The tool reads the same settings as the service it looks at.
    env = dict(os.environ, IMGSANDBOX_PACKAGES=os.path.join(ROOT, "runner_image", "packages.txt"),
               IMGSANDBOX_TIMEOUT_MS=service.env["IMGSANDBOX_TIMEOUT_MS"])
    p = subprocess.run([TOOL, "--db", service.db] + list(args), capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


def test_session_categories_and_fix(service, session):
    sid, runs = session
    assert [r["status"] for r in runs] == ["error", "error", "success"]
    assert [r["attempt"] for r in runs] == [1, 2, 3]
    status, doc = service.get_json("/api/logs/session/" + sid)
    assert status == 200
    a = doc["attempts"]
    assert [x["log_id"] for x in a] == [r["log_id"] for r in runs]
    assert a[0]["category"] == "import" and a[0]["error"]["type"] == "ModuleNotFoundError"
    assert a[1]["category"] == "attribute" and a[1]["error"]["type"] == "AttributeError"
    assert a[1]["error"]["line"] == 3
    assert a[0]["fixed_by"] == runs[2]["log_id"] and a[1]["fixed_by"] == runs[2]["log_id"]
    fix = a[2]["changes"]
    assert "from skimage import filters" in fix["imports_added"]
    assert fix["from_log_id"] == runs[1]["log_id"]
    assert a[1]["changes"]["imports_removed"] == ["import skimage2"]
    # The tool says the same.
    rc, out, err = tool(service, "--json", "session", sid)
    assert rc == 0, err
    assert json.loads(out) == doc


def test_error_patterns_and_recommendations(service, session):
    status, doc = service.get_json("/api/logs/error-patterns")
    assert status == 200
    cats = {c["category"]: c for c in doc["categories"]}
    assert cats["import"]["count"] >= 1 and cats["attribute"]["count"] >= 1
    pats = [p["pattern"] for p in doc["patterns"]]
    assert any("skimage2" in p for p in pats)
    status, rec = service.get_json("/api/logs/recommendations")
    assert status == 200
    missing = [r for r in rec["recommendations"] if r["category"] == "import"]
    assert missing and "from skimage import" in missing[0]["advice"]
    assert missing[0]["fix_rate"] > 0
    rc, out, _ = tool(service, "--json", "recommendations")
    assert rc == 0 and json.loads(out) == rec


def test_ai_context_names_libraries_and_lessons(service, session):
    status, headers, body = service.request("GET", "/api/logs/ai-context")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "/output/result.png" in text and "USER_PARAMS" in text
    for line in open(os.path.join(ROOT, "runner_image", "packages.txt")):
        if line.strip() and not line.startswith("#"):
            assert line.split("|")[1].strip() in text
    assert "skimage2" in text
    assert len(body) <= 8192 + 256
    rc, out, _ = tool(service, "context")
    assert rc == 0 and out.strip() == text.strip()


def test_summary_and_paging(service, session):
    status, s = service.get_json("/api/logs/summary")
    assert status == 200 and s["total"] >= 3 and 0 <= s["success_rate"] <= 1
    status, page = service.get_json("/api/logs/failures?limit=1")
    assert status == 200 and page["count"] == 1
    first = page["items"][0]["log_id"]
    # The session failed twice, so a failure is older than the newest one:
    # the next page is not empty (all() over nothing would prove nothing).
    status, page2 = service.get_json("/api/logs/failures?limit=1&before=%d" % first)
    assert status == 200 and page2["count"] == 1 and len(page2["items"]) == 1
    assert all(i["log_id"] < first for i in page2["items"])
    # The session's last attempt succeeded: the successes are not empty.
    status, ok = service.get_json("/api/logs/successes?limit=500")
    assert status == 200 and ok["items"]
    assert all(i["status"] == "success" for i in ok["items"])
    sid, runs = session
    # Just above the session's success, the first success is that one.
    status, mine = service.get_json("/api/logs/successes?limit=1&before=%d"
                                    % (runs[2]["log_id"] + 1))
    assert status == 200 and [i["log_id"] for i in mine["items"]] == [runs[2]["log_id"]]
    status, unfixed = service.get_json("/api/logs/failures?unfixed_only=true&limit=500")
    assert status == 200
    assert runs[0]["log_id"] not in [i["log_id"] for i in unfixed["items"]]
    status, one = service.get_json("/api/logs/log/%d" % runs[2]["log_id"])
    assert status == 200 and one["status"] == "success" and "ImageOps" in one["code"]


@pytest.mark.parametrize("path,want", [
    ("/api/logs/session/no-such-session", 404),
    ("/api/logs/log/999999999", 404),
    ("/api/logs/log/abc", 400),
    ("/api/logs/failures?limit=0", 400),
    ("/api/logs/failures?limit=501", 400),
    ("/api/logs/failures?limit=ten", 400),
    ("/api/logs/failures?before=-1", 400),
    ("/api/logs/failures?unfixed_only=maybe", 400),
    ("/api/logs/nothing-here", 404),
])
def test_bad_queries(service, path, want):
    status, _, body = service.request("GET", path)
    assert status == want, body
    doc = json.loads(body)
    assert doc["error"]["message"]


def test_tool_usage_and_missing_db(service):
    rc, out, err = tool(service, "no-such-command")
    assert rc == 2 and err
    p = subprocess.run([TOOL, "--db", "/nonexistent/log.db", "summary"], capture_output=True, text=True)
    assert p.returncode == 1 and "log.db" in p.stderr
    assert not os.path.exists("/nonexistent/log.db")
