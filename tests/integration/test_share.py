"""A client's share of the host (shared/sandbox/share.c), through every server: a cap
on requests in flight, a rate cap (429 with Retry-After), and slots served
fairly, so that one address keeping many long runs in flight cannot starve
another's. Loopback addresses are different clients: 127.0.0.2, .3, ...

The long runs sleep to their time limit: a slot is held by a run, not by
the CPU it burns, and a busy loop would take a core from every other test
on the machine for its whole limit (the hostile suite's busy_loop.py and
test_run.py's own busy loop are where a CPU-bound script is the point)."""
import http.client
import json
import threading
import time

import pytest

import os

from conftest import SERVERS, Service, budget, encode_multipart, wait_for

TRIVIAL = "print('hello')\n"
# Holds its slot to the time limit, as a busy loop would, on no CPU.
HOLD = "import time\nwhile True:\n    time.sleep(1)\n"


def post_from(service, source, code, timeout=None):
    body, ctype = encode_multipart([("code", code)])
    c = http.client.HTTPConnection("127.0.0.1", service.port,
                                   timeout=service.answer_within() if timeout is None else timeout,
                                   source_address=(source, 0))
    try:
        c.request("POST", "/run", body, {"Content-Type": ctype})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read())
    finally:
        c.close()


@pytest.fixture(scope="module", params=SERVERS)
def shared(request):
    # Long runs end at the time limit (6 s), which counts the script, not
    # its sandbox's start. The line's wait is the default (three limits).
    # One slot: "the next slot that comes free" is then one slot at one
    # time. With two, both holders (started together, each sleeping to the
    # same limit) freed theirs in the same millisecond, one went to the
    # second client and the other to the first client's next run, and
    # which came first was a race the answers' clocks cannot tell.
    svc = Service(request.param, {"IMGSANDBOX_SLOTS": "1", "IMGSANDBOX_TIMEOUT_MS": "6000",
                                  "IMGSANDBOX_CLIENT_INFLIGHT": "4",
                                  "IMGSANDBOX_CLIENT_RUNS_PER_MIN": "600",
                                  "IMGSANDBOX_CLIENT_BURST": "100"}, responders=8)
    yield svc
    svc.stop()


def slot_time(answered, r):
    """When a run took its slot: when its answer came, less what the
    responder did after the slot by its own clock (its total less the steps
    before the slot). Not counted from the send: a request may wait in the
    web server for a free responder, which the responder's clock does not
    see (under load that put a run's slot seconds early)."""
    t = r["timings"]
    before = sum(t.get(k, 0) for k in ("job_ms", "parse_ms", "checks_ms", "slot_wait_ms"))
    return answered - (t["total_ms"] - before) / 1000.0


def test_one_client_cannot_starve_another(shared):
    """127.0.0.2 keeps 8 long runs (HOLD) in flight for a while (4 are let in:
    one holds the slot, three wait; the rest get 429); 127.0.0.3's trivial
    run then takes the next free slot
    ahead of every run of the first client that was waiting when it came
    (it holds none, they hold them all), and never gets 429."""
    # A service at rest: its pool (if it has one) full. The suite's
    # services have none (IMGSANDBOX_WARM=0), which is ready at once: this
    # waited out its whole deadline (120 s) for a pool of size 0 before.
    wait_for(lambda: (lambda w: w.get("ready", 0) >= w.get("size", 0))(
        json.loads(shared.request("GET", "/api/health")[2]).get("warm", {})),
        "the service at rest (its warm pool full)", budget(2))
    stop = time.time() + 12
    refused, runs, failed = [], [], []

    def greedy():
        while time.time() < stop:
            sent = time.time()
            try:
                status, headers, r = post_from(shared, "127.0.0.2", HOLD)
            except Exception as e:   # said below, not lost with the thread
                failed.append(repr(e))
                return
            if status == 429:
                refused.append(r["error"]["message"])
                time.sleep(0.2)
            else:
                done = time.time()
                runs.append((sent, slot_time(done, r), done))

    threads = [threading.Thread(target=greedy) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while time.time() < deadline:   # the slot busy with its run, two more in line
        st = json.loads(shared.request("GET", "/api/health")[2])
        if st["slots_busy"] == 1 and st["waiting"] >= 2:
            break
        time.sleep(0.1)
    sent = time.time()
    status, _, r = post_from(shared, "127.0.0.3", TRIVIAL)
    answered = time.time()
    for t in threads:
        t.join(shared.answer_within())
    assert not failed, failed
    assert not any(t.is_alive() for t in threads)
    assert status == 200 and r["status"] == "no_output", r
    assert "hello" in r["stdout"]
    mine = slot_time(answered, r)
    # When it stood in line: its slot time less its wait. The first client's
    # runs still there then (answered after it) held the slot (the check
    # above; each holds it to its limit) or stood in line with it: the one
    # that took its slot first held it, and every other must come after it. (Told by order, not by a margin of time: a
    # slot's time is known from an answer's arrival, late by as much as
    # the machine's load makes it, 8 ms and more here.)
    in_line = mine - r["timings"].get("slot_wait_ms", 0) / 1000.0
    there = sorted(slot for s, slot, done in runs if s < sent and done > in_line)
    waited_with_me = there[st["slots_busy"]:]
    assert waited_with_me, runs
    assert all(mine < slot for slot in waited_with_me), \
        "mine %.3f (in line at %.3f), the first client's (sent, slot, answered): %s" % (
            mine, in_line, " ".join("(%.3f, %.3f, %.3f)" % run for run in runs))
    # The first client was held to its share (and, past it, told when the
    # line would reach it); never the second.
    assert refused and all("in progress" in m or "the line is long" in m or "came free" in m
                          for m in refused), \
        set(refused)


def test_in_flight_cap_and_rate_cap():
    svc = Service(SERVERS[0], {"IMGSANDBOX_CLIENT_INFLIGHT": "1",
                               "IMGSANDBOX_CLIENT_RUNS_PER_MIN": "1",
                               "IMGSANDBOX_CLIENT_BURST": "3"}, responders=4)
    try:
        # In flight: a second run while the first sleeps (its job folder
        # is there from its start to its answer).
        out = {}
        t = threading.Thread(target=lambda: out.update(r=post_from(
            svc, "127.0.0.4", "import time\ntime.sleep(2)\n")))
        t.start()
        deadline = time.time() + budget(1)
        jobs = os.path.join(svc.data, "jobs")
        while time.time() < deadline and not (os.path.isdir(jobs) and os.listdir(jobs)):
            time.sleep(0.02)
        status, headers, r = post_from(svc, "127.0.0.4", TRIVIAL)
        t.join(svc.answer_within())
        assert status == 429 and r["error"]["code"] == "busy", r
        assert "in progress" in r["error"]["message"] and int(headers["Retry-After"]) > 0
        assert out["r"][0] == 200
        # Rate: 3 at once after a quiet while, then one a minute. One went
        # above (the refusal cost nothing); two more go, then 429. Requests
        # without code count like runs (the share is asked first) and are
        # answered at once, so no token comes back meanwhile however slow
        # the engine.
        statuses = [post_from(svc, "127.0.0.4", "")[0] for _ in range(3)]
        assert statuses == [400, 400, 429], statuses
        status, headers, r = post_from(svc, "127.0.0.4", TRIVIAL)
        assert status == 429 and "in the last minute" in r["error"]["message"]
        assert 1 <= int(headers["Retry-After"]) <= 60
        # Another address is not held back by the first one's share.
        assert post_from(svc, "127.0.0.5", TRIVIAL)[0] == 200
    finally:
        svc.stop()


def get_from(service, source, path):
    c = http.client.HTTPConnection("127.0.0.1", service.port, timeout=120,
                                   source_address=(source, 0))
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read())
    finally:
        c.close()


def test_session_reads_have_a_share_of_their_own():
    """GET /api/logs/session/<id> (answers of megabytes, each ?after= a new
    one): 8 pages a minute, 2 at once, per client, apart from its runs."""
    svc = Service(SERVERS[0], {"IMGSANDBOX_CLIENT_READS_PER_MIN": "8"}, responders=2)
    try:
        status, _, r = svc.run(TRIVIAL, timeout=300)
        assert status == 200, r
        path = "/api/logs/session/" + r["session_id"]
        assert [get_from(svc, "127.0.0.4", path)[0] for i in range(2)] == [200, 200]
        status, headers, body = get_from(svc, "127.0.0.4", path + "?after=0")
        assert status == 429 and body["error"]["code"] == "busy", body
        assert "pages of sessions" in body["error"]["message"]
        assert 1 <= int(headers["Retry-After"]) <= 15
        assert get_from(svc, "127.0.0.5", path)[0] == 200      # another client
        assert post_from(svc, "127.0.0.4", TRIVIAL, timeout=300)[0] == 200   # its runs
    finally:
        svc.stop()
