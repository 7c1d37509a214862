"""The line for a sandbox slot, with the shipped defaults: a request waits
in a fair line (the client that holds the fewest slots first, then the first
come) for as long as three runs at the limit, and is refused with 429 only
when it is over its own share or the line cannot reach it in time (said at
once, with when to come back). A live run is told its place in line.
Different loopback addresses are different clients."""
import http.client
import json
import os
import threading
import time

import pytest

from conftest import Service, budget, encode_multipart, wait_for

TRIVIAL = ("from PIL import Image\n"
           "Image.new('RGB', (64, 64), (9, 9, 9)).save('/output/result.png')\n")
# The defaults of a client's share, not the suite's generous ones: empty
# settings are the defaults.
# make run's defaults: a client's share, the time limit, the warm pool
# (None leaves the product's default; "" too for the share's settings).
DEFAULT_SHARE = {"IMGSANDBOX_CLIENT_INFLIGHT": "", "IMGSANDBOX_CLIENT_RUNS_PER_MIN": "",
                 "IMGSANDBOX_CLIENT_BURST": "", "IMGSANDBOX_TIMEOUT_MS": None,
                 "IMGSANDBOX_WARM": None}


def post_from(service, source, code, headers=None, timeout=180):
    body, ctype = encode_multipart([("code", code)])
    c = http.client.HTTPConnection("127.0.0.1", service.port, timeout=timeout,
                                   source_address=(source, 0))
    try:
        c.request("POST", "/run", body, dict({"Content-Type": ctype}, **(headers or {})))
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


@pytest.fixture(scope="module")
def defaults():
    """make run's defaults (slots: the CPUs; the line's wait: three limits;
    a client's share), with enough responders for a class to wait in line."""
    svc = Service("lighttpd", dict(DEFAULT_SHARE), responders=16)
    pool_ready(svc)
    yield svc
    svc.stop()


def test_four_clients_back_to_back_are_never_refused(defaults):
    """Four clients (each its own address), eight runs each back to back:
    every run is served, none refused."""
    results = []
    lock = threading.Lock()

    def client(n):
        for _ in range(8):
            status, _, body = post_from(defaults, "127.0.1.%d" % n, TRIVIAL)
            with lock:
                results.append((status, json.loads(body)))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    statuses = [s for s, _ in results]
    assert len(results) == 32 and statuses == [200] * 32, \
        [(s, b.get("error")) for s, b in results if s != 200]
    assert all(b["status"] == "success" for _, b in results)


def test_a_second_client_goes_before_the_first_ones_waiting_runs(defaults):
    """While one address keeps its share of runs in flight (each sleeping to
    the limit: a slot is held by a run, not by the CPU it burns), a second address's trivial run is not refused: it takes
    the next slot that comes free, ahead of the first address's runs that
    waited before it (it holds no slot, they hold them all)."""
    pool_ready(defaults)
    slots = health(defaults)["slots"]
    done = []
    lock = threading.Lock()

    def busy():
        status, _, body = post_from(defaults, "127.0.2.1", "import time\nwhile True:\n    time.sleep(1)\n")
        with lock:
            done.append(("busy", status, time.time()))

    threads = [threading.Thread(target=busy) for _ in range(slots + 2)]
    for t in threads:
        t.start()
    wait_until(lambda: health(defaults)["slots_busy"] == slots and
               health(defaults)["waiting"] >= 2)
    status, _, body = post_from(defaults, "127.0.2.2", TRIVIAL)
    r = json.loads(body)
    mine = time.time()
    for t in threads:
        t.join(120)
    assert status == 200 and r["status"] == "success", r
    busy_ends = sorted(t for kind, s, t in done)
    assert [s for _, s, _ in done] == [200] * (slots + 2), done
    # Served after the first round of long runs, before the waiting ones.
    assert mine < busy_ends[slots], (mine, busy_ends)


def health(service):
    """GET /api/health (whatever its status: an engine still starting is 503)."""
    status, _, body = service.request("GET", "/api/health")
    return json.loads(body)


def pool_ready(service):
    """Until the broker's pool is full: a test of the line starts from a
    service at rest, as a class finds it."""
    wait_until(lambda: health(service).get("warm", {}).get("ready") ==
               health(service).get("warm", {}).get("size"))


def wait_until(cond):
    """Until cond() holds: at most as long as a loaded start per slot (the
    pool filling, the default's slots being the CPUs) and two more."""
    wait_for(cond, "the service's state", budget((os.cpu_count() or 1) + 2))


def test_a_live_run_is_told_its_place_in_line():
    """One slot, busy: a live run says it is queued, first in line, and
    then runs."""
    svc = Service("nginx", {"IMGSANDBOX_SLOTS": "1"}, responders=4)
    try:
        t = threading.Thread(target=lambda: svc.run("import time\ntime.sleep(4)\n"))
        t.start()
        wait_until(lambda: health(svc)["slots_busy"] == 1)
        body, ctype = encode_multipart([("code", "print('after')\n")])
        c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=60)
        c.request("POST", "/run", body, {"Content-Type": ctype, "Accept": "text/event-stream"})
        text = c.getresponse().read().decode()
        c.close()
        t.join(60)
        places = [json.loads(l[6:]) for l in text.splitlines()
                  if l.startswith("data: ") and '"position"' in l]
        assert places and places[0]["phase"] == "queued" and places[0]["position"] == 1, text
        assert '"phase":"running"' in text.replace(" ", "") and "after" in text
    finally:
        svc.stop()


def test_a_line_that_cannot_reach_a_run_in_time_refuses_it_at_once():
    """One slot and a wait of a second: once runs are known to hold the
    slot for seconds, a request behind a run that has just begun cannot get
    the slot within the wait, and is refused when it comes (not after the
    wait), with when to come back."""
    svc = Service("apache", {"IMGSANDBOX_SLOTS": "1", "IMGSANDBOX_SLOT_WAIT_MS": "1000"},
                  responders=4)
    try:
        sleeper = "import time\ntime.sleep(3)\n"
        for _ in range(2):          # how long a run holds the slot, lately
            wait_until(lambda: health(svc)["slots_busy"] == 0)
            status, _, r = svc.run(sleeper)
            assert status == 200, r
        assert health(svc)["slot_hold_ms"] >= 3000, health(svc)
        # The last run's slot is freed after its answer (once its sandbox
        # is gone): the next run must be the one holding it.
        wait_until(lambda: health(svc)["slots_busy"] == 0)
        t = threading.Thread(target=lambda: svc.run(sleeper))
        t.start()
        wait_until(lambda: health(svc)["slots_busy"] == 1)
        status, headers, body = post_from(svc, "127.0.3.1", "print(1)\n")
        t.join(60)
        r = json.loads(body)
        assert status == 429 and r["error"]["code"] == "busy", r
        # Refused when it came, not after its 1 s wait: only a refusal at
        # once says the line is long (one after the wait says none came
        # free), so the words tell, whatever the machine's speed.
        assert "the line is long" in r["error"]["message"], r
        assert int(headers["Retry-After"]) >= 1, headers
    finally:
        svc.stop()
