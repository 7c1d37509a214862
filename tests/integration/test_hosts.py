"""Several hosts behind one nginx, one log in PostgreSQL (#15): a PostgreSQL
of the test's own, two ordinary services (fcgi/serve.sh: host 1 behind
nginx, host 2 behind lighttpd, one dockerd), each with its data folder,
IMGSANDBOX_INSTANCE, IMGSANDBOX_URL_PREFIX=/h1 or /h2, the shared log and
the front's address as its trusted proxy, and the front (fcgi/front.sh,
front.nginx.conf) connecting to them from 127.0.0.9.

What it shows: runs are spread over both hosts and each is logged once;
the log's analysis is the same through any host; a result URL fetches the
host's own file; a run is cancelled on whichever host has it; the hosts
see the client behind the front, and the front holds a client to one
share of the whole site; one host's reaper leaves the other's
containers; a log server that goes away costs the log, not the runs; and a
host killed under load costs the runs it held (a JSON 502), nothing else.

One cluster serves the module: xdist_group keeps its tests on one worker
(conftest.py turns xdist's "load" into "loadgroup"); the host-killing test
comes last."""
import http.client
import io
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest
from PIL import Image

import harness
from conftest import (ROOT, Service, budget, container_names, docker, encode_multipart, free_port,
                      new_folder, new_instance, secret_file, service_timeout_ms, start_s,
                      wait_for)
from pg import PgServer, available as pg_available

pytestmark = pytest.mark.xdist_group("hosts")

FRONT_ADDR = "127.0.0.9"     # the front connects to the hosts from here


def common():
    """The settings of both hosts and of the front (which reads the caps and
    time limits from them). A cold run's limit counts its container's
    start, which took over 5 s once under make test's load (a 5 s sleeper
    was stopped at 10 s): the suite's roomy limit (20 s, more on a slow
    engine); a run may wait for a slot behind a few others."""
    return {"IMGSANDBOX_TIMEOUT_MS": str(service_timeout_ms()),
            "IMGSANDBOX_SLOT_WAIT_MS": str(int(max(30, budget(4)) * 1000)),
            "IMGSANDBOX_BODY_BYTES": str(3 << 20),
            "IMGSANDBOX_SLOTS": "2", "IMGSANDBOX_CLIENT_INFLIGHT": "2",
            "IMGSANDBOX_TRUSTED_PROXIES": FRONT_ADDR}

NO_FRONT_SHARE = {"IMGSANDBOX_CLIENT_INFLIGHT": "1024", "IMGSANDBOX_CLIENT_RUNS_PER_MIN": "1000000",
                  "IMGSANDBOX_CLIENT_BURST": "100000"}

# A PNG of the size params ask for: each run's result is its own.
PNG = ("import json, os\nfrom PIL import Image\n"
       "p = json.loads(os.environ['USER_PARAMS'])\n"
       "Image.new('RGB', (p['w'], p['h']), (p['w'] % 256, p['h'] % 256, 7))"
       ".save('/output/result.png')\n")


def sleeper(seconds, then_png=True):
    code = "import time\nprint('started', flush=True)\ntime.sleep(%s)\n" % seconds
    return code + (PNG if then_png else "")


class Front(Service):
    """fcgi/front.sh on a free port, in front of hosts (Services): the
    first is /h1, the second /h2. Service's requests and stop() apply."""
    def __init__(self, hosts, env_extra):
        self.server = "front"
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.data = new_folder("front")
        self.hosts = hosts
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        env.update(env_extra)
        self.env = env          # its hosts' limits: how long a client waits (answer_within)
        env.update({"HOSTS": " ".join("127.0.0.1:%d" % h.port for h in hosts),
                    "PORT": str(self.port), "BIND": FRONT_ADDR, "RUNDIR": self.data})
        self.log = open(os.path.join(self.data, "serve.log"), "wb")
        self.proc = subprocess.Popen([os.path.join(ROOT, "fcgi", "front.sh")], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        # Not a measure of speed: a front that has not answered in two
        # minutes (it waits on no container) is broken, and says why.
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("front.sh ended: " + self.read_log())
            try:
                urllib.request.urlopen(self.base + "/", timeout=2).read()
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the front did not come up: " + self.read_log())

    def access_log(self):
        with open(os.path.join(self.data, "nginx-access.log")) as f:
            return f.read().splitlines()


class Cluster:
    def __init__(self):
        self.tag = uuid.uuid4().hex[:8]
        self.pg = PgServer().start()
        self.db = self.pg.createdb("hosts_log")
        self.h1 = self.h2 = self.front = None
        # One key on both hosts (IMGSANDBOX_SECRET_FILE, as the docs say):
        # a session begun on one goes on on the other.
        base = dict(common(), IMGSANDBOX_DB=self.db,
                    IMGSANDBOX_SECRET_FILE=secret_file(os.urandom(32).hex(), "secret.key"))
        # Host 1 looks for leftovers every second; host 2 once, at its start.
        envs = [dict(base, IMGSANDBOX_INSTANCE=new_instance("hosts-h1"),
                     IMGSANDBOX_URL_PREFIX="/h1", IMGSANDBOX_REAP_INTERVAL_S="1",
                     IMGSANDBOX_REAP_GRACE_S="1"),
                dict(base, IMGSANDBOX_INSTANCE=new_instance("hosts-h2"),
                     IMGSANDBOX_URL_PREFIX="/h2", IMGSANDBOX_REAP_INTERVAL_S="3600")]
        made = {}

        def start(i, server):
            try:
                made[i] = Service(server, envs[i], responders=4)
            except Exception as e:      # said below
                made[i] = e

        threads = [threading.Thread(target=start, args=a) for a in ((0, "nginx"), (1, "lighttpd"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.h1, self.h2 = made.get(0), made.get(1)
        for h in (self.h1, self.h2):
            if not isinstance(h, Service):
                self.close()
                raise RuntimeError("a host did not start: %s" % h)
        self.hosts = {"/h1": self.h1, "/h2": self.h2}
        try:
            # This front lets every client through: what these tests show
            # is the hosts' own share of a client seen behind it. The
            # front's share of the whole site has a front of its own below.
            self.front = Front([self.h1, self.h2], dict(common(), **NO_FRONT_SHARE))
        except Exception:
            self.close()
            raise

    def close(self):
        for s in (self.front, self.h1, self.h2):
            if isinstance(s, Service):
                s.stop()
        for h in (self.h1, self.h2):
            if isinstance(h, Service):
                remove_containers(instance_label(h))
        self.pg.remove()

    def query(self, sql):
        return self.pg.query(self.db, sql)


def instance_label(host):
    return host.env["IMGSANDBOX_INSTANCE"]


def remove_containers(instance):
    names = set(container_names(label="imgsandbox.instance=" + instance))
    if names:
        subprocess.run(["docker", "rm", "--force"] + sorted(names), capture_output=True)


@pytest.fixture(scope="module")
def cluster():
    if not pg_available():
        pytest.fail("PostgreSQL 15 is not installed (fcgi/deps.sh --test installs it)")
    c = Cluster()
    try:
        yield c
    finally:
        c.close()


# --- requests ------------------------------------------------------------
def post_from(svc, source, fields, headers=None, timeout=None):
    """POST /run to svc from the loopback address source; (status,
    headers, body parsed as JSON, or the raw bytes when it is not)."""
    body, ctype = encode_multipart(fields)
    c = http.client.HTTPConnection("127.0.0.1", svc.port,
                                   timeout=svc.answer_within() if timeout is None else timeout,
                                   source_address=(source, 0))
    try:
        c.request("POST", "/run", body, dict({"Content-Type": ctype}, **(headers or {})))
        r = c.getresponse()
        raw = r.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = raw
        return r.status, dict(r.getheaders()), doc
    finally:
        c.close()


def png_run(svc, source, w, h):
    return post_from(svc, source, [("code", PNG), ("params", json.dumps({"w": w, "h": h}))])


def host_of(answer):
    """The prefix of the host that made the answer's result: /h1 or /h2."""
    m = re.match(r"^(/h[12])/outputs/[0-9a-f]{32}/result\.png$", answer.get("url") or "")
    assert m, answer
    return m.group(1)


def get(svc, path):
    status, headers, body = svc.request("GET", path)
    return status, headers, body


def metric(svc, name):
    status, _, body = get(svc, "/api/metrics")
    assert status == 200, body
    m = re.search(r"^%s (\d+)$" % re.escape(name), body.decode(), re.M)
    assert m, body.decode()[:2000]
    return int(m.group(1))


def logged_ids(cluster, log_ids):
    """{log_id: job_id} of the rows with these ids."""
    if not log_ids:
        return {}
    out = cluster.query("SELECT id, job_id FROM runs WHERE id IN (%s)"
                        % ",".join(str(int(i)) for i in log_ids))
    return {int(l.split("|")[0]): l.split("|")[1] or None for l in out.splitlines() if l}


# --- the load ------------------------------------------------------------
@pytest.fixture(scope="module")
def forty(cluster):
    """40 runs through the front, 4 clients (127.0.0.21-24) with one run in
    progress each; each run's result a PNG of its own size. Returns
    [(w, h, status, answer)]."""
    out = []
    lock = threading.Lock()

    def client(k):
        for i in range(10):
            w, h = 16 + k * 10 + i, 40 + i
            status, _, r = png_run(cluster.front, "127.0.0.%d" % (21 + k), w, h)
            with lock:
                out.append((w, h, status, r))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_runs_are_spread_over_the_hosts(forty):
    assert len(forty) == 40
    bad = [(s, r) for _, _, s, r in forty if s != 200 or r.get("status") != "success"]
    assert bad == [], bad
    per_host = {"/h1": 0, "/h2": 0}
    for _, _, _, r in forty:
        per_host[host_of(r)] += 1
    # Each host its fair share: never under half of an even split.
    assert min(per_host.values()) >= 10, per_host


def test_each_run_is_logged_once(cluster, forty):
    answers = [r for _, _, _, r in forty]
    log_ids = [r["log_id"] for r in answers]
    assert None not in log_ids and len(set(log_ids)) == 40, log_ids
    jobs = [r["job_id"] for r in answers]
    assert len(set(jobs)) == 40
    rows = cluster.query("SELECT job_id, COUNT(*), MIN(id) FROM runs WHERE job_id IN (%s) "
                         "GROUP BY job_id" % ",".join("'%s'" % j for j in jobs))
    counted = {l.split("|")[0]: (int(l.split("|")[1]), int(l.split("|")[2]))
               for l in rows.splitlines()}
    assert counted == {r["job_id"]: (1, r["log_id"]) for r in answers}


def test_result_urls_fetch_the_hosts_own_image(cluster, forty):
    for w, h, _, r in forty:
        prefix = host_of(r)
        status, headers, body = get(cluster.front, r["url"])
        assert status == 200 and headers["Content-Type"] == "image/png", (r["url"], status)
        im = Image.open(io.BytesIO(body))
        assert im.size == (w, h) and im.getpixel((0, 0)) == (w % 256, h % 256, 7)
        # The very file of that host, and no other host has it.
        path = r["url"][len(prefix):]
        assert get(cluster.hosts[prefix], path)[2] == body
        other = "/h2" if prefix == "/h1" else "/h1"
        assert get(cluster.front, other + path)[0] == 404
        assert get(cluster.hosts[other], path)[0] == 404
    # An unprefixed result URL names no host.
    status, headers, body = get(cluster.front, forty[0][3]["url"][3:])
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"


FAILURES = ["import skimage2\n", "d = {}\nprint(d['width'])\n", "x = undefined_name + 1\n",
            "print('no result')\n"]
ANALYSIS = ["/api/logs/summary", "/api/logs/analysis", "/api/logs/error-patterns",
            "/api/logs/recommendations", "/api/logs/failures?limit=50",
            "/api/logs/successes?limit=50", "/api/logs/failures?unfixed_only=true",
            "/api/logs/models", "/api/logs/ai-context"]


def test_the_analysis_is_the_same_through_any_host(cluster, forty):
    sid = cluster.h1.new_session()      # the hosts' key: taken by either
    for i, code in enumerate(FAILURES):
        status, _, r = post_from(cluster.front, "127.0.0.25",
                                 [("code", code), ("session_id", sid)])
        assert status == 200 and r["status"] in ("error", "no_output") and r["log_id"], r
    # Each host directly, the front (any host), and each host through the front.
    ways = [(cluster.h1, ""), (cluster.h2, ""), (cluster.front, ""), (cluster.front, "/h1"),
            (cluster.front, "/h2")]
    for path in ANALYSIS + ["/api/logs/session/" + sid]:
        seen = []
        for svc, prefix in ways:
            status, _, body = get(svc, prefix + path)
            assert status == 200, (svc.server, prefix, path, body[:300])
            seen.append(body if path.endswith("ai-context") else json.loads(body))
        assert all(s == seen[0] for s in seen[1:]), path
    summary = json.loads(get(cluster.front, "/api/logs/summary")[2])
    assert summary["total"] == int(cluster.query("SELECT COUNT(*) FROM runs")) >= 44, summary
    session = json.loads(get(cluster.h2, "/api/logs/session/" + sid)[2])
    assert [a["attempt"] for a in session["attempts"]] == [1, 2, 3, 4], session


def test_bodies_through_the_front(cluster):
    """An upload larger than nginx keeps in memory goes through the front
    (kept in a file by its workers) whole; a body over the hosts' cap
    (IMGSANDBOX_BODY_BYTES, 3 MiB here) is refused by the front itself,
    from its Content-Length, in the API's JSON."""
    import numpy
    rng = numpy.random.default_rng(7)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (620, 700, 3), dtype=numpy.uint8)).save(buf, "PNG")
    upload = buf.getvalue()
    assert 1 << 20 < len(upload) < 3 << 20
    code = ("from PIL import Image\nim = Image.open('/input/image.png')\n"
            "im.transpose(Image.Transpose.ROTATE_90).save('/output/result.png')\n")
    status, _, r = post_from(cluster.front, "127.0.0.26",
                             [("code", code), ("image", ("noise.png", upload, "image/png"))])
    assert status == 200 and r["status"] == "success", r
    assert r["input"]["bytes"] == len(upload), r["input"]
    im = Image.open(io.BytesIO(get(cluster.front, r["url"])[2]))
    assert im.size == (620, 700)
    status, headers, r = post_from(cluster.front, "127.0.0.26",
                                   [("code", "x" * (3 << 20))])
    assert status == 413 and headers["Content-Type"] == "application/json", (status, r)
    assert r["error"]["code"] == "too_large", r
    # No host heard of it (the front logs it once the client has gone).
    deadline = time.time() + budget(1)
    line = []
    while not line and time.time() < deadline:
        line = [l for l in cluster.front.access_log() if '"POST /run ' in l and '" 413 ' in l]
        time.sleep(0.1)
    assert len(line) == 1 and "upstream=- " in line[0], line


# --- live output and cancel -----------------------------------------------
def open_stream(svc, source, code):
    body, ctype = encode_multipart([("code", code)])
    c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=svc.answer_within(),
                               source_address=(source, 0))
    c.request("POST", "/run", body, {"Content-Type": ctype, "Accept": "text/event-stream"})
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
    return c, r


def next_event(resp):
    """The next (event, data) of an event stream; None at its end."""
    name, data = None, []
    while True:
        line = resp.readline()
        if not line:
            return None
        line = line.decode().rstrip("\r\n")
        if line == "" and name is not None:
            return name, json.loads("\n".join(data))
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])


def test_a_run_is_cancelled_on_the_host_that_has_it(cluster):
    # Two live runs at once: one on each host (the fewest in progress).
    streams, jobs = [], []
    for k in range(2):
        c, resp = open_stream(cluster.front, "127.0.0.%d" % (31 + k), sleeper(60, False))
        ev = next_event(resp)
        assert ev[0] == "job", ev
        jobs.append(ev[1]["job_id"])
        streams.append((c, resp))
        # The script's first line comes through the front as it is printed
        # (nothing buffers it), long before the run could end.
        while ev is not None and not (ev[0] == "stdout" and "started" in ev[1]["text"]):
            ev = next_event(resp)
        assert ev is not None
    where = [[p for p, h in cluster.hosts.items()
              if os.path.isdir(os.path.join(h.data, "jobs", j))] for j in jobs]
    assert sorted(w[0] for w in where) == ["/h1", "/h2"], where
    # DELETE through the front reaches each, whichever host it asks first.
    for j in jobs:
        status, _, body = cluster.front.request("DELETE", "/api/jobs/" + j)
        assert status == 202 and json.loads(body) == {"cancelled": True}, body
    for (c, resp), j in zip(streams, jobs):
        ev = next_event(resp)
        while ev is not None and ev[0] != "done":
            ev = next_event(resp)
        c.close()
        assert ev is not None and ev[1]["status"] == "cancelled" and ev[1]["job_id"] == j, ev
        assert cluster.query("SELECT status FROM runs WHERE job_id = '%s'" % j) == "cancelled"
    # A job no host has: every host is asked (the front's log lists both),
    # and their 404 is the answer.
    unknown = uuid.uuid4().hex
    status, _, body = cluster.front.request("DELETE", "/api/jobs/" + unknown)
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found", body
    # nginx writes its access log after the answer has gone: its line
    # comes a moment later on a loaded machine.
    line = wait_for(lambda: [l for l in cluster.front.access_log() if "/api/jobs/" + unknown in l],
                    "the front's access log line of the DELETE")
    assert len(line) == 1, line
    tried = re.search(r"upstream=(.*?) upstream_status=", line[0]).group(1).split(", ")
    assert sorted(tried) == sorted("127.0.0.1:%d" % h.port for h in (cluster.h1, cluster.h2))
    # One host by name: /h1/api/jobs/... asks host 1 alone.
    status, _, body = cluster.front.request("DELETE", "/h1/api/jobs/" + unknown)
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"


def test_the_page_through_the_front_is_of_this_site(cluster):
    """A browser on the front's page (a port of its own) posts with the
    front's origin: the hosts see the name and port it used (the front's
    X-Forwarded-Host) and take the run; another site's page is refused."""
    me = "http://127.0.0.1:%d" % cluster.front.port
    status, _, r = post_from(cluster.front, "127.0.0.26", [("code", "print('mine')\n")],
                             {"Origin": me, "Sec-Fetch-Site": "same-origin"})
    assert status == 200 and r["stdout"] == "mine\n", r
    status, _, r = post_from(cluster.front, "127.0.0.26", [("code", "print('theirs')\n")],
                             {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert status == 403 and r["error"]["code"] == "forbidden", r


def test_the_hosts_see_the_client_behind_the_front(cluster):
    """Each host lets a client 2 runs in progress (IMGSANDBOX_CLIENT_INFLIGHT).
    127.0.0.2 sends 6 at once through the front: at most 2 per host go
    ahead, the rest get 429. 127.0.0.3, meanwhile, is a client of its own
    (were the front's address the client, it would be refused too), even
    when it claims to be 127.0.0.2 in an X-Forwarded-For of its own."""
    results = []
    lock = threading.Lock()
    go = threading.Barrier(6)

    def greedy():
        go.wait()
        r = post_from(cluster.front, "127.0.0.2", [("code", sleeper(5))] +
                      [("params", json.dumps({"w": 8, "h": 8}))])
        with lock:
            results.append(r)

    threads = [threading.Thread(target=greedy) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.time() + budget(2)
    while time.time() < deadline:
        with lock:
            refused = [r for r in results if r[0] == 429]
        if len(refused) >= 2:
            break
        time.sleep(0.05)
    assert len(refused) >= 2, results
    for status, headers, r in refused:
        assert r["error"]["code"] == "busy" and "in progress" in r["error"]["message"], r
    status, _, r = post_from(cluster.front, "127.0.0.3",
                             [("code", PNG), ("params", json.dumps({"w": 9, "h": 9}))],
                             {"X-Forwarded-For": "127.0.0.2"})
    assert status == 200 and r["status"] == "success", r
    for t in threads:
        t.join()
    ran = [r for s, _, r in results if s == 200]
    assert len(ran) + len(refused) == 6 and 2 <= len(ran) <= 4, results
    assert all(r["status"] == "success" for r in ran), ran



@pytest.fixture
def share_front(cluster):
    """A second front before the same hosts, with the hosts' figures for a
    client's share (2 in flight, from COMMON) and a rate of its own: 1 a
    minute, 8 at once."""
    f = Front([cluster.h1, cluster.h2], dict(common(), IMGSANDBOX_CLIENT_RUNS_PER_MIN="1",
                                            IMGSANDBOX_CLIENT_BURST="8"))
    yield f
    f.stop()


def front_refusals(front, expected):
    """The front's access log lines of 429s that no host heard of, once
    there are as many as expected or a while has passed (nginx logs a
    request after its answer has gone)."""
    deadline = time.time() + budget(1)
    while True:
        lines = [l for l in front.access_log() if '" 429 ' in l and "upstream=- " in l]
        if len(lines) >= expected or time.time() > deadline:
            return lines
        time.sleep(0.1)


def test_the_front_holds_a_client_to_one_share_of_the_site(cluster, share_front):
    """Each host counts only the runs that reach it, so through the front a
    client could have its share on every host. The front holds it to one:
    127.0.0.4 sends 6 runs at once and exactly 2 go ahead (the hosts alone
    would let 2 per host); the other 4 are refused by the front itself,
    in the hosts' words, with Retry-After. As on a host, those refusals
    cost none of its runs a minute: of its burst of 8, the 2 that ran are
    gone, so 6 more requests in a row go (to a host, which refuses them for
    their missing code) and the 7th is refused for the rate, to be tried
    again in 60 s (60 s / 1)."""
    results = []
    lock = threading.Lock()
    go = threading.Barrier(6)

    def greedy(i):
        go.wait()
        r = post_from(share_front, "127.0.0.4", [("code", sleeper(3)),
                                                 ("params", json.dumps({"w": 5, "h": 5 + i}))])
        with lock:
            results.append(r)

    threads = [threading.Thread(target=greedy, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(share_front.answer_within() + budget(2))
    ran = [r for s, _, r in results if s == 200]
    refused = [(h, r) for s, h, r in results if s == 429]
    assert len(ran) == 2 and len(refused) == 4, results
    assert all(r["status"] == "success" for r in ran), ran
    for headers, r in refused:
        assert headers["Content-Type"] == "application/json" and headers["Retry-After"] == "2", headers
        assert r["error"] == {"code": "busy", "message": "you have 2 runs in progress already; "
                                                         "wait for one to end"}, r
    assert len(front_refusals(share_front, 4)) == 4, share_front.access_log()

    # Requests the front counts like any run, that a host refuses at once
    # (no code: no container), so that the minute is not over before the
    # 7th however slow the engine (a token comes back a minute after the
    # burst began).
    answers = [post_from(share_front, "127.0.0.4", [("code", "")]) for i in range(7)]
    assert [s for s, _, _ in answers] == [400] * 6 + [429], answers
    _, headers, r = answers[6]
    assert headers["Retry-After"] == "60" and r["error"]["code"] == "busy", (headers, r)
    assert "1 runs in the last minute" in r["error"]["message"] and "in 60 s" in r["error"]["message"], r
    assert len(front_refusals(share_front, 5)) == 5, share_front.access_log()
    # Another client is not held by the first one's share.
    status, _, r = png_run(share_front, "127.0.0.6", 7, 7)
    assert status == 200 and r["status"] == "success", r



def test_a_burst_of_one_at_the_front(cluster):
    """IMGSANDBOX_CLIENT_BURST=1, the least the hosts take, is no burst at
    all for nginx (which refuses "burst=0"): the front starts, lets one run
    in and refuses the next for the rate."""
    f = Front([cluster.h1, cluster.h2], dict(common(), IMGSANDBOX_CLIENT_RUNS_PER_MIN="1",
                                            IMGSANDBOX_CLIENT_BURST="1"))
    try:
        answers = [png_run(f, "127.0.0.7", 8, 20 + i) for i in range(2)]
    finally:
        f.stop()
    assert [s for s, _, _ in answers] == [200, 429], answers
    assert answers[1][1]["Retry-After"] == "60" and "in 60 s" in answers[1][2]["error"]["message"]


# --- the reaper -----------------------------------------------------------
def orphan(instance, deadline):
    """A container as a responder killed mid-run leaves it: named
    imgsandbox-<job>, labelled with its instance and deadline; sleeping."""
    job = uuid.uuid4().hex
    docker("run", "-d", "--name", "imgsandbox-" + job, "--network=none",
           "--label", "imgsandbox.instance=" + instance, "--label", "imgsandbox.job=" + job,
           "--label", "imgsandbox.deadline=%d" % deadline,
           "--entrypoint", "sleep", harness.image_tag(), "300")
    return "imgsandbox-" + job


def test_a_hosts_reaper_leaves_the_others_containers(cluster):
    """Host 1 reaps every second (grace 1 s); host 2 looked once, at its
    start. Both use the one dockerd."""
    now = int(time.time())
    made = []
    try:
        # Host 2's orphan first, then host 1's own: the sweep that removes
        # host 1's orphan listed host 2's too.
        theirs = orphan(instance_label(cluster.h2), now - 600)
        made.append(theirs)
        not_due = orphan(instance_label(cluster.h1), now + 600)
        made.append(not_due)
        mine = orphan(instance_label(cluster.h1), now - 600)
        made.append(mine)
        deadline = time.time() + budget(1)
        while time.time() < deadline and mine in container_names(name="^%s$" % mine):
            time.sleep(0.3)
        assert mine not in container_names(name="^%s$" % mine), "host 1 never reaped its own orphan"
        # Two more of host 1's sweeps (one a second, each asking the engine)
        # after that one: nothing to wait for, what must not happen.
        time.sleep(2 * (1 + start_s()))
        assert theirs in container_names(label="imgsandbox.instance=" + instance_label(cluster.h2))
        assert not_due in container_names(label="imgsandbox.instance=" + instance_label(cluster.h1))
        # The broker keeps house for the engine (it alone may use it); its log.
        rundir = os.path.join(cluster.h1.data, "run-nginx-%d" % cluster.h1.port)
        with open(os.path.join(rundir, "sandboxd.log")) as f:
            log = f.read()
        assert "reaped leftover container " + mine in log
        assert theirs not in log and not_due not in log
    finally:
        subprocess.run(["docker", "rm", "--force"] + made, capture_output=True)


# --- the log's server goes away --------------------------------------------
def unlogged_total(cluster):
    return sum(metric(h, "imgsandbox_runs_unlogged_total") for h in (cluster.h1, cluster.h2))


def health(svc):
    status, _, body = get(svc, "/api/health")
    return json.loads(body)


def test_runs_go_on_while_the_log_server_is_away(cluster):
    before = unlogged_total(cluster)
    cluster.pg.stop()
    try:
        away = [png_run(cluster.front, "127.0.0.%d" % (41 + k % 2), 20 + k, 20) for k in range(4)]
        for status, _, r in away:
            assert status == 200 and r["status"] == "success", r
            assert r["log_id"] is None and "not logged" in r["warning"], r
        assert {host_of(r) for _, _, r in away} == {"/h1", "/h2"}
        assert unlogged_total(cluster) - before == 4
        for h in (cluster.h1, cluster.h2):
            doc = health(h)
            assert doc["log"]["ok"] is False and doc["log"]["message"], doc
        # The front's own answers still come (the API says the log is away).
        status, _, body = get(cluster.front, "/api/logs/summary")
        assert status in (500, 503) and json.loads(body)["error"]["message"], body
    finally:
        cluster.pg.start()
    # Back: each host logs again, without a restart. A responder connects
    # again on its next row, at most every SQLDB_RECONNECT_MS (2 s: a dead
    # server is not hammered); one whose connection the restart closed
    # while it sat idle finds out at its BEGIN and connects at once. Past
    # those 2 s, no row is lost: neither runs through the front nor
    # refusals on each host (each on any of its responders).
    time.sleep(2.5)
    back = [png_run(cluster.front, "127.0.0.%d" % (41 + k % 2), 30 + k, 20) for k in range(6)]
    for h in (cluster.h1, cluster.h2):
        for _ in range(4):
            status, _, r = h.run("")            # a refusal: quick, logged like a run
            assert status == 400, r
            back.append((200, None, r))
    assert all(r["status"] == "success" for _, _, r in back[:6]), back[:6]
    assert all(s == 200 and r["log_id"] for s, _, r in back), [r for _, _, r in back]
    assert logged_ids(cluster, [r["log_id"] for _, _, r in back]) == {
        r["log_id"]: r.get("job_id") for _, _, r in back}
    for h in (cluster.h1, cluster.h2):
        assert health(h)["log"]["ok"] is True, health(h)


# --- a host dies ------------------------------------------------------------
def test_a_host_killed_under_load(cluster):
    """Last: host 1 is killed (SIGKILL to its whole process group: serve.sh,
    the responders, nginx) while it runs. The runs it held end with the
    front's JSON 502; every later run goes to host 2 and succeeds; every
    answered run is in the log."""
    results = []
    lock = threading.Lock()
    kill_time = []

    def client(k):
        for i in range(6):
            sent = time.time()
            status, headers, r = post_from(
                cluster.front, "127.0.0.%d" % (51 + k),
                [("code", sleeper(1.5)), ("params", json.dumps({"w": 50 + k, "h": 10 + i}))])
            with lock:
                results.append((sent, status, headers, r))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    # A run well under way on host 1 (its job folder there for 0.5 s).
    jobs = os.path.join(cluster.h1.data, "jobs")
    first_seen, victim = {}, None
    deadline = time.time() + budget(4)
    while time.time() < deadline and victim is None:
        now = time.time()
        for name in os.listdir(jobs):
            if now - first_seen.setdefault(name, now) >= 0.5:
                victim = name
        time.sleep(0.05)
    assert victim, "host 1 never had a run in progress"
    os.killpg(cluster.h1.proc.pid, signal.SIGKILL)
    kill_time.append(time.time())
    cluster.h1.proc.wait(10)
    for t in threads:
        t.join(6 * (cluster.front.answer_within()))
    assert len(results) == 24
    failed = [(status, headers, r) for _, status, headers, r in results if status != 200]
    # The runs host 1 held: the front's 502, in the API's JSON; none of
    # them was sent again to host 2 (a POST a host has received never is).
    assert failed, "no run was in progress on the killed host"
    for status, headers, r in failed:
        assert status == 502 and headers["Content-Type"] == "application/json", (status, r)
        assert r["error"]["code"] == "unavailable" and r["error"]["message"], r
    h1_addr = "127.0.0.1:%d" % cluster.h1.port
    lost = [l for l in cluster.front.access_log() if '"POST /run ' in l and '" 502 ' in l]
    assert len(lost) == len(failed), lost
    assert all(re.search(r"upstream=(.*?) upstream_status=", l).group(1) == h1_addr
               for l in lost), lost
    ok = [(sent, r) for sent, status, _, r in results if status == 200]
    assert all(r["status"] == "success" for _, r in ok), ok
    after = [r for sent, r in ok if sent > kill_time[0]]
    assert len(after) >= 8 and {host_of(r) for r in after} == {"/h2"}, after
    # No answered run is missing from the log.
    assert logged_ids(cluster, [r["log_id"] for _, r in ok]) == {
        r["log_id"]: r["job_id"] for _, r in ok}
    # The front answers on: the API through host 2.
    status, _, body = get(cluster.front, "/api/logs/summary")
    assert status == 200 and json.loads(body)["total"] >= len(ok)
    # And says so when the dead host is named.
    status, headers, body = get(cluster.front, "/h1/api/health")
    assert status == 502 and json.loads(body)["error"]["code"] == "unavailable"
