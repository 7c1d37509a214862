"""What the web servers themselves do, through lighttpd, nginx and Apache
alike (issues 13.1 and 11.1): live output reaches the client as the script
prints it; the published images and nothing else are served, with the
right type; every kind of answer carries the same headers, once; reads of
the API never wait behind runs (two pools of responders), and the
assistant waits with the runs."""
import http.client
import json
import os
import secrets
import socket
import threading
import time

import pytest

from conftest import SERVERS, Service, budget, encode_multipart, leftover_containers, start_s


def open_stream(service, code):
    """POSTs code to /run asking for events; the open response."""
    body, ctype = encode_multipart([("code", code)])
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=service.answer_within())
    conn.request("POST", "/run", body, {"Content-Type": ctype, "Accept": "text/event-stream"})
    return conn, conn.getresponse()


def read_events(resp):
    """The events of an event stream as they arrive: (seconds since the
    answer began, event name, data as parsed JSON), until the stream ends."""
    t0 = time.monotonic()
    buf = b""
    out = []
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            return out
        buf += chunk
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            fields = dict(line.split(b": ", 1) for line in block.split(b"\n")
                          if b": " in line and not line.startswith(b":"))
            if b"event" in fields:      # not a ": ping" comment
                out.append((time.monotonic() - t0, fields[b"event"].decode(),
                            json.loads(fields[b"data"])))


def test_live_output_streams_unbuffered(service):
    conn, resp = open_stream(service, "import time\nprint(1, flush=True)\ntime.sleep(2)\nprint(2)\n")
    try:
        assert resp.status == 200
        assert resp.getheader("Content-Type") == "text/event-stream"
        events = read_events(resp)
    finally:
        conn.close()
    names = [e for _, e, _ in events]
    assert names[0] == "job" and names[-1] == "done", names
    stdout = [(t, d["text"]) for t, e, d in events if e == "stdout"]
    assert "".join(text for _, text in stdout) == "1\n2\n", stdout
    first, done = stdout[0][0], events[-1][0]
    print("%s: first stdout at %.2f s, done at %.2f s" % (service.server, first, done))
    # The first line left the sandbox two seconds before the end: a server
    # that holds the answer back delivers them together.
    assert done - first >= 1.5, (first, done)
    assert events[-1][2]["status"] == "no_output" and events[-1][2]["stdout"] == "1\n2\n"


SEVERAL = """\
from PIL import Image
Image.new("RGB", (4, 3), (255, 0, 0)).save("/output/result.png")
Image.new("RGB", (5, 5), (0, 255, 0)).save("/output/Green.JPG", "JPEG")
Image.new("L", (2, 2)).save("/output/edge-map_2.jpeg", "JPEG")
"""


def test_every_published_image_is_served_with_its_type(service):
    status, _, r = service.run(SEVERAL)
    assert status == 200 and r["status"] == "success", r
    names = [o["name"] for o in r["outputs"]]
    assert names[0] == "result.png" and sorted(names[1:]) == ["Green.JPG", "edge-map_2.jpeg"], names
    want = {"result.png": "image/png", "Green.JPG": "image/jpeg", "edge-map_2.jpeg": "image/jpeg"}
    for o in r["outputs"]:
        assert o["url"] == "/outputs/%s/%s" % (r["job_id"], o["name"])
        status, headers, body = service.request("GET", o["url"])
        assert status == 200, (o, status)
        assert headers["Content-Type"].split(";")[0] == want[o["name"]]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert len(body) == o["bytes"]


def plant(service, job, names):
    """Files written straight into the outputs folder (as the responder
    would, but with names it never publishes)."""
    d = os.path.join(service.data, "outputs", job)
    os.makedirs(d)
    for n in names:
        with open(os.path.join(d, n), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    return d


def test_only_publishable_names_are_served(service):
    job = secrets.token_hex(16)
    ok = ["a" * 60 + ".png", "x.PNG", "y.jpg"]
    refused = ["a" * 61 + ".png", "notes.txt", "x.gif", "x.png.bak", "x.svg", ".htaccess",
               "x%20y.png", "png"]
    d = plant(service, job, ok + [n.replace("%20", " ") for n in refused])
    try:
        for n in ok:
            status, _, _ = service.request("GET", "/outputs/%s/%s" % (job, n))
            assert status == 200, n
        for n in refused:
            status, _, body = service.request("GET", "/outputs/%s/%s" % (job, n))
            assert status in (403, 404), (n, status)
        for path in ("/outputs/%s/" % job, "/outputs/%s/y.jpg" % job[:31],
                     "/outputs/%s/y.jpg" % job.upper(), "/outputs/%s/sub/y.jpg" % job):
            status, _, _ = service.request("GET", path)
            assert status in (403, 404), (path, status)
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)


def one_header(headers, name):
    values = headers.get_all(name) or []
    assert len(values) == 1, (name, values)
    return values[0]


def test_every_kind_of_answer_has_the_headers_once(service):
    status, _, r = service.run("from PIL import Image\nImage.new('L', (1, 1)).save('/output/result.png')\n")
    assert r["status"] == "success", r
    body, ctype = encode_multipart([("code", "print(1)")])
    kinds = {
        "page": ("GET", "/", None, {}),
        "result": ("GET", r["url"], None, {}),
        "api": ("GET", "/api/limits", None, {}),
        "log": ("GET", "/api/logs/summary", None, {}),
        "refusal": ("GET", "/run", None, {}),
        "run": ("POST", "/run", body, {"Content-Type": ctype}),
        "events": ("POST", "/run", body, {"Content-Type": ctype, "Accept": "text/event-stream"}),
        "not found": ("GET", "/no-such-page", None, {}),
    }
    for kind, (method, path, data, headers) in kinds.items():
        conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=service.answer_within())
        try:
            conn.request(method, path, data, headers)
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
        assert one_header(resp.headers, "X-Content-Type-Options") == "nosniff", kind
        assert "default-src 'self'" in one_header(resp.headers, "Content-Security-Policy"), kind
        assert one_header(resp.headers, "X-Frame-Options") == "DENY", kind
        assert one_header(resp.headers, "Referrer-Policy") == "no-referrer", kind
        assert resp.getheader("Server", "") in ("", "nginx", "Apache"), (kind, resp.getheader("Server"))
    # The server's own refusal: a body over the cap, refused from its
    # Content-Length before it is read.
    with socket.create_connection(("127.0.0.1", service.port), timeout=20) as sock:
        sock.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: text/plain\r\nContent-Length: 11534337\r\n\r\n")
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        out = resp.read()
    assert resp.status == 413 and json.loads(out)["error"]["code"] == "too_large"
    assert resp.getheader("Content-Type") == "application/json"
    # lighttpd refuses it before any module sees the request, so mod_setenv
    # adds nothing to that one answer (a fixed JSON body, sent as JSON).
    if service.server != "lighttpd":
        assert one_header(resp.headers, "X-Content-Type-Options") == "nosniff"
        assert "default-src 'self'" in one_header(resp.headers, "Content-Security-Policy")


# --- the two pools ------------------------------------------------------

@pytest.fixture(scope="module", params=SERVERS)
def one_runner(request):
    """One responder in the run pool (and the usual two in the API pool)."""
    svc = Service(request.param, {"IMGSANDBOX_WARM": "0"}, responders=1)
    yield svc
    svc.stop()


def test_api_reads_never_wait_behind_a_run(one_runner):
    svc = one_runner
    done = {}
    # The run holds the pool's one responder for this long once its
    # container exists: 6 s and more on a slow machine, so that the three
    # reads (a third of it each at most) come well within it.
    hold = 6 + 3 * start_s()

    def run():
        done["answer"] = svc.run("import time\nprint('holding', flush=True)\ntime.sleep(%g)\n"
                                 % hold)
        done["at"] = time.monotonic()

    t = threading.Thread(target=run)
    t.start()
    try:
        deadline = time.time() + budget(1)
        while time.time() < deadline and not leftover_containers(svc):
            time.sleep(0.05)
        assert leftover_containers(svc), "the run never started its sandbox"
        # The run pool's one responder is busy: the API pool answers.
        for path in ("/api/logs/summary", "/api/health", "/api/limits"):
            status, _, _ = svc.request("GET", path, timeout=hold / 3)
            assert status in (200, 503), (path, status)   # health: 503 names a fault
        assert t.is_alive(), "the reads were answered only after the run"
        # The assistant goes to the run pool: it waits for the run.
        status, _, _ = svc.request("POST", "/api/assist", b'{"prompt": "blur it"}',
                                   {"Content-Type": "application/json"})
        assist_at = time.monotonic()
        t.join(svc.answer_within())
        assert done["answer"][0] == 200 and done["answer"][2]["stdout"] == "holding\n"
        assert assist_at >= done["at"], "the assistant was answered during the run"
    finally:
        t.join(svc.answer_within())
