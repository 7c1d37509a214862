"""Warm sandboxes (IMGSANDBOX_WARM): a container started ahead with the
imaging libraries loaded, handed exactly one job, through the real server
and dockerd. The hostile and timeout suites also run against a warm
service (conftest's "warm" variant); these are what only warm has."""
import io
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, Service, instance_of, leftover_containers

SAMPLE = os.path.join(ROOT, "static", "sample.png")


@pytest.fixture(scope="module")
def warm():
    svc = Service("lighttpd", {"IMGSANDBOX_WARM": "1", "IMGSANDBOX_MEMORY": str(256 << 20)},
                  responders=1)
    yield svc
    svc.stop()


def waiting(service):
    return sorted(os.listdir(os.path.join(service.data, "sandboxes")))


def wait_for_pool(service, n=1, timeout=30):
    """Until the pool holds n sandboxes whose containers run."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        names = running(service)
        if len(waiting(service)) == n and all("imgsandbox-" + w in names for w in waiting(service)):
            return
        time.sleep(0.2)
    raise AssertionError(("pool not ready", waiting(service), running(service)))


def running(service):
    out = subprocess.run(["docker", "ps", "--filter", "label=imgsandbox.instance=" + instance_of(service),
                          "--format", "{{.Names}}"], capture_output=True, text=True, check=True)
    return out.stdout.split()


INVERT = """\
import json, os, sys
from PIL import Image, ImageOps
p = json.loads(os.environ["USER_PARAMS"])
print("params", p, "stdin empty", sys.stdin.read() == "")
img = Image.open("/input/image.png").convert("RGB")
ImageOps.invert(img).save("/output/result.png")
"""


def test_warm_run_is_handed_files_params_and_publishes(warm):
    wait_for_pool(warm)
    before = waiting(warm)
    status, _, r = warm.run(INVERT, use_sample=True, params={"k": [1, "é"]})
    assert status == 200 and r["status"] == "success", r
    assert r["sandbox"] == "docker-warm"
    assert "params {'k': [1, 'é']} stdin empty True" in r["stdout"]
    # Its ready line was read before the hand-off: the output is the script's.
    assert r["stdout"].startswith("params") and "IMGSANDBOX" not in r["stdout"]
    assert r["timings"]["container_start_ms"] < 5000
    with urlopen(warm, r["url"]) as body:
        out = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=np.int16)
    src = np.asarray(Image.open(SAMPLE).convert("RGB"), dtype=np.int16)
    assert np.array_equal(out, 255 - src)
    # The sandbox it used is gone, container and folder; the job folder too.
    assert before[0] not in waiting(warm)
    assert "imgsandbox-" + before[0] not in running(warm)
    assert os.listdir(os.path.join(warm.data, "jobs")) == []
    assert leftover_containers(warm) == []
    # The pool starts the next one by itself.
    wait_for_pool(warm)


class urlopen:
    def __init__(self, service, url):
        self.status, _, self.body = service.request("GET", url)

    def __enter__(self):
        assert self.status == 200
        return self.body

    def __exit__(self, *a):
        return False


def test_each_job_gets_a_fresh_sandbox(warm):
    code = """\
import os, socket
print("host", socket.gethostname(), "marker", os.path.exists("/tmp/marker"))
open("/tmp/marker", "w").write("x")
"""
    hosts = []
    for _ in range(2):
        wait_for_pool(warm)
        _, _, r = warm.run(code)
        assert r["sandbox"] == "docker-warm" and r["status"] == "no_output", r
        assert "marker False" in r["stdout"], r["stdout"]
        hosts.append(r["stdout"].split()[1])
    assert hosts[0] != hosts[1]


def test_error_line_and_type_from_a_warm_sandbox(warm):
    wait_for_pool(warm)
    _, _, r = warm.run("import numpy as np\nx = 1\nnp.zeros(3)[7]\n")
    assert r["sandbox"] == "docker-warm" and r["status"] == "error", r
    assert r["error"]["type"] == "IndexError" and r["error"]["line"] == 3
    assert "IMGSANDBOX" not in r["stderr"]


def test_time_limit_counts_from_the_hand_off():
    # A 3 s limit, and a container up for longer than that before its job:
    # a limit counted from the container's start would stop this script.
    # (The busy-loop and hostile timed suites run warm too: the limit ends
    # a script that runs past it.)
    svc = Service("lighttpd", {"IMGSANDBOX_WARM": "1", "IMGSANDBOX_TIMEOUT_MS": "3000"},
                  responders=1)
    try:
        wait_for_pool(svc)
        time.sleep(4)
        _, _, r = svc.run("import time\ntime.sleep(1)\nprint('slept')\n")
        assert r["sandbox"] == "docker-warm" and r["status"] == "no_output", r
        assert "slept" in r["stdout"]
    finally:
        svc.stop()


def test_out_of_memory_in_a_warm_sandbox(warm):
    wait_for_pool(warm)
    _, _, r = warm.run("b = bytearray(1 << 30)\n")
    assert r["sandbox"] == "docker-warm" and r["status"] in ("oom", "error"), r
    if r["status"] == "error":
        assert r["error"]["type"] == "MemoryError"
    assert leftover_containers(warm) == []


def test_a_dead_warm_sandbox_is_replaced_by_a_cold_run(warm):
    wait_for_pool(warm)
    gone = waiting(warm)[0]
    subprocess.run(["docker", "rm", "--force", "imgsandbox-" + gone], check=True,
                   capture_output=True)
    status, _, r = warm.run("print('still served')\n")
    assert status == 200 and r["sandbox"] == "docker-cold" and "still served" in r["stdout"], r
    # Its folder is removed after the answer, and a new one started.
    wait_for_pool(warm)
    assert gone not in waiting(warm)
    assert leftover_containers(warm) == []


def test_idle_sandboxes_are_replaced_and_sigterm_removes_the_pool():
    svc = Service("lighttpd", {"IMGSANDBOX_WARM": "2", "IMGSANDBOX_WARM_IDLE_S": "5"},
                  responders=2)
    try:
        wait_for_pool(svc, 4)
        old = set(waiting(svc))
        time.sleep(6)
        # Too old to use: the responder replaces its sandboxes and runs cold.
        _, _, r = svc.run("print(1)\n")
        assert r["sandbox"] == "docker-cold", r
        os.kill(svc.proc.pid, signal.SIGTERM)
        svc.proc.wait(30)
        # Every container of the service is gone with it, and the folders.
        out = subprocess.run(["docker", "ps", "-a", "--filter",
                              "label=imgsandbox.instance=" + instance_of(svc), "--format",
                              "{{.Names}}"], capture_output=True, text=True, check=True)
        assert out.stdout.split() == []
        assert waiting(svc) == []
        assert old
    finally:
        svc.stop()


def test_settings_are_checked():
    env = dict(os.environ, IMGSANDBOX_PRELOAD="numpy;os.system('x')")
    p = subprocess.run([os.path.join(ROOT, "build", "responder"), "--settings"], env=env,
                       capture_output=True, text=True)
    assert p.returncode != 0 and "IMGSANDBOX_PRELOAD" in p.stderr
    env = dict(os.environ, IMGSANDBOX_WARM="17")
    p = subprocess.run([os.path.join(ROOT, "build", "responder"), "--settings"], env=env,
                       capture_output=True, text=True)
    assert p.returncode != 0 and "IMGSANDBOX_WARM" in p.stderr


def test_a_killed_responders_sandbox_is_reaped():
    # SIGKILL gives the responder no time to remove its pool: the reaper
    # removes the container once its deadline (WARM_IDLE_S + the limit) and
    # grace have passed, as the README says.
    svc = Service("lighttpd", {"IMGSANDBOX_WARM": "1", "IMGSANDBOX_WARM_IDLE_S": "5",
                               "IMGSANDBOX_TIMEOUT_MS": "3000", "IMGSANDBOX_REAP_GRACE_S": "1",
                               "IMGSANDBOX_REAP_INTERVAL_S": "1"}, responders=1)
    try:
        wait_for_pool(svc)
        orphan = "imgsandbox-" + waiting(svc)[0]
        for pid in responder_pids(svc):
            os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 40
        names = [orphan]
        while time.time() < deadline and orphan in names:
            names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"],
                                   capture_output=True, text=True, check=True).stdout.split()
            time.sleep(0.5)
        assert orphan not in names
        # The restarted responder has a pool of its own, and serves.
        _, _, r = svc.run("print('after')\n")
        assert "after" in r["stdout"], r
    finally:
        svc.stop()


def responder_pids(service):
    """The responders of this service: processes running build/responder
    whose environment names its data folder."""
    pids = []
    for p in os.listdir("/proc"):
        try:
            cmd = open("/proc/%s/cmdline" % p, "rb").read()
            env = open("/proc/%s/environ" % p, "rb").read()
        except OSError:
            continue
        if cmd.startswith(os.path.join(ROOT, "build", "responder").encode()) and \
                ("IMGSANDBOX_DATA=" + service.data + "\0").encode() in env:
            pids.append(int(p))
    assert pids
    return pids
