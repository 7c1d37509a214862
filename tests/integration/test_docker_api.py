"""The Docker engine spoken to on its socket (shared/engine/docker_api.c,
IMGSANDBOX_DOCKER_API=1, the default) instead of a docker client program
per call: the container it makes is the one the client would make from the
same argv (docker_run_argv, the one place the flags are written) but for
the network set-up, which it skips (NetworkDisabled: no libnetwork hooks,
no set-ipv6, no "network connect"), while each sandbox still gets a network
namespace of its own. The hostile scripts run this way in test_hostile.py;
IMGSANDBOX_DOCKER_API=0 keeps the client program."""
import json
import os
import secrets
import subprocess
import threading
import time

import harness
import leftovers
from conftest import ROOT, Service, container_names, docker, new_folder, new_instance, wait_for

SANDBOXD = os.path.join(ROOT, "build", "sandboxd")


def normal(section, key, value):
    """What the engine keeps, without the forms that mean the same: an
    empty list or map and none, no restart policy named "no" or "", the
    limits in any order, the environment as a set (the client sends a
    variable it has no value for by name alone; the API leaves it out)."""
    if value in ([], {}, None):
        return None
    if key == "RestartPolicy":
        return dict(value, Name=value["Name"] or "no")
    if key == "Ulimits":
        return sorted(value, key=lambda u: u["Name"])
    if key == "Env":
        return sorted(e for e in value if "=" in e)
    if key == "Labels":  # the deadline is checked apart: each call reads its own clock
        return {k: v for k, v in value.items() if k != "imgsandbox.deadline"}
    return value


def test_the_api_makes_the_container_the_client_makes():
    """sandboxd --docker-argv (with `create` for `run`) through the client,
    sandboxd --docker-body through the API: every field of both
    containers' HostConfig and Config is the same, but for the hostname the
    engine draws and NetworkDisabled (and the deadline label, from each
    call's own clock, a second apart when the two straddle one)."""
    job = new_folder("docker-api")
    os.makedirs(os.path.join(job, "code"))
    os.makedirs(os.path.join(job, "input"))
    image = subprocess.run([os.path.join(ROOT, "runner_image", "build.sh"), "--print-tag"],
                           capture_output=True, text=True, check=True).stdout.strip()
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.update(IMGSANDBOX_IMAGE=image, IMGSANDBOX_DATA=job, IMGSANDBOX_CONFIG_FILE="")
    instance = "t-api-" + secrets.token_hex(4)
    by_client, by_api = secrets.token_hex(16), secrets.token_hex(16)
    t0 = time.monotonic()
    argv = subprocess.run([SANDBOXD, "--docker-argv", instance, by_client, job], env=env,
                          capture_output=True, check=True).stdout.decode().split("\0")[:-1]
    assert argv[1] == "run"
    body = subprocess.run([SANDBOXD, "--docker-body", instance, by_api, job], env=env,
                          capture_output=True, check=True).stdout
    made_in = time.monotonic() - t0
    names = ["imgsandbox-" + by_client, "imgsandbox-" + by_api]
    try:
        subprocess.run(argv[:1] + ["create"] + argv[2:], env=env, check=True, capture_output=True)
        status, answer = leftovers.engine_request("POST", "/containers/create?name=" + names[1],
                                                  body)
        assert status == 201, answer
        a, b = (json.loads(docker("inspect", n))[0] for n in names)
        differ = {}
        for section in ("HostConfig", "Config"):
            for key in set(a[section]) | set(b[section]):
                va = normal(section, key, a[section].get(key))
                vb = normal(section, key, b[section].get(key))
                if va != vb:
                    differ["%s.%s" % (section, key)] = (va, vb)
        assert set(differ) == {"Config.Hostname", "Config.NetworkDisabled"}, differ
        assert differ["Config.NetworkDisabled"] == (None, True)
        deadlines = [int(x["Config"]["Labels"]["imgsandbox.deadline"]) for x in (a, b)]
        assert 0 <= deadlines[1] - deadlines[0] <= made_in + 1, (deadlines, made_in)
        # The hardening itself, as the engine holds it (not only equal).
        h = b["HostConfig"]
        assert h["NetworkMode"] == "none" and h["ReadonlyRootfs"] and h["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in h["SecurityOpt"]
        assert any(o.startswith("seccomp={") for o in h["SecurityOpt"])
    finally:
        subprocess.run(["docker", "rm", "--force"] + names, capture_output=True)


def network_events(svc, since, containers_wanted, skip=()):
    """The engine's events for svc's containers since `since` (but the ids
    in skip): {container id: [actions]} and the network actions on them."""
    until = time.time()
    out = docker("events", "--since", "%.3f" % since, "--until", "%.3f" % until,
                 "--format", '{{.Type}} {{.Action}} {{.Actor.ID}} '
                             '{{index .Actor.Attributes "container"}} '
                             '{{index .Actor.Attributes "imgsandbox.instance"}}')
    mine, network = {}, []
    for line in out.splitlines():
        kind, action, actor, container, instance = (line.split(" ") + [""] * 5)[:5]
        if kind == "container" and instance == svc.instance and actor not in skip:
            mine.setdefault(actor, []).append(action)
    for line in out.splitlines():
        kind, action, actor, container = (line.split(" ") + [""] * 4)[:4]
        if kind == "network" and container in mine:
            network.append(action)
    assert len(mine) >= containers_wanted, out
    return mine, network


PROBE = """\
import os, socket
print(sorted(os.listdir("/sys/class/net")))
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("1.1.1.1", 53))
    print("internet reached")
except OSError as e:
    print("internet", type(e).__name__)
"""


def client_that_tells(folder):
    """A docker client program that writes each of its command lines to
    folder/calls, after the name of the program that started it, then runs
    the real one; (its path, the calls' file)."""
    os.chmod(folder, 0o711)
    calls = os.path.join(folder, "calls")
    open(calls, "w").close()
    os.chmod(calls, 0o666)
    path = os.path.join(folder, "docker")
    with open(path, "w") as f:
        f.write('#!/bin/sh\necho "$(cat /proc/$PPID/comm) $*" >> %s\nexec /usr/bin/docker "$@"\n'
                % calls)
    os.chmod(path, 0o755)
    return path, calls


def test_a_run_sets_up_no_network_and_starts_no_client():
    """Through a service with the defaults: the sandbox has a loopback and
    nothing else, and the engine did no network set-up for it; the same
    service with IMGSANDBOX_DOCKER_API=0 (the client program) did, which
    the engine's events show (so the check can tell them apart). And with
    the API, the broker starts no client program at all, its housekeeping
    included: the engine's health and the image asked at its start, a
    container its instance left reaped (its deadline past), the run; with
    IMGSANDBOX_DOCKER_API=0 the same service starts the client for each
    (a client that writes down its calls, in place of docker)."""
    client, calls = client_that_tells(new_folder("client"))
    for api, connects in (("1", False), ("0", True)):
        instance = new_instance("api" + api)
        left, left_id = orphan(instance)
        svc = Service("nginx", {"IMGSANDBOX_DOCKER_API": api, "IMGSANDBOX_DOCKER": client,
                                "IMGSANDBOX_INSTANCE": instance, "IMGSANDBOX_REAP_GRACE_S": "1",
                                "IMGSANDBOX_REAP_INTERVAL_S": "1"}, responders=1)
        try:
            wait_for(lambda: not container_names(name="^%s$" % left), "the orphan reaped")
            assert svc.request("GET", "/api/health")[0] == 200
            since = time.time() - 1
            status, _, r = svc.run(PROBE)
            assert status == 200 and r["status"] == "no_output", r
            assert "['lo']" in r["stdout"] and "internet reached" not in r["stdout"], r
            # Until the engine has removed its container (its last events).
            mine, network = wait_for(
                lambda: (lambda m, n: (m, n) if m and all("destroy" in a for a in m.values())
                         else None)(*network_events(svc, since, 0, skip=[left_id])),
                "the run's container removed")
            assert all("start" in actions for actions in mine.values()), mine
            assert ("connect" in network) == connects, (api, network, mine)
            # The broker's calls (serve.sh asks the engine with the client
            # at its start, before the broker runs).
            said = [line.split(" ")[1] for line in open(calls).read().splitlines()
                    if line.startswith("sandboxd ")]
            if api == "1":
                assert said == [], said
            else:
                assert {"version", "image", "ps", "run", "rm"} <= set(said), said
            open(calls, "w").close()
        finally:
            svc.stop()
            subprocess.run(["docker", "rm", "--force", left], capture_output=True)


def orphan(instance):
    """A container as a broker that was killed leaves it: named
    imgsandbox-<id>, labelled with its instance and a deadline long past;
    created, not started. (Its name, its id.)"""
    name = "imgsandbox-" + secrets.token_hex(16)
    return name, docker("create", "--name", name, "--network=none", "--label", "imgsandbox.instance=" + instance,
           "--label", "imgsandbox.deadline=%d" % (time.time() - 600), "--entrypoint", "true",
           harness.image_tag()).strip()


HOLDER = """\
import socket, time
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind("\\0imgsandbox-%(mark)s")
srv.listen(1)
print("bound", time.time(), flush=True)
time.sleep(%(hold)d)
print("released", time.time())
"""

SEEKER = """\
import errno, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
at = time.time()
try:
    s.connect("\\0imgsandbox-%(mark)s")
    print("reached", at)
except OSError as e:
    print(errno.errorcode[e.errno], at)
"""


def test_sandboxes_at_once_have_a_network_namespace_each():
    """An abstract Unix socket (named in the network namespace) bound by
    one sandbox is not there for others running at the same time: seekers
    run one after the other while the holder holds, and those whose attempt
    fell inside the holder's time (by the clock they share) all found
    nothing; at least one did."""
    svc = Service("lighttpd", {"IMGSANDBOX_SLOTS": "2"}, responders=2)
    try:
        mark = secrets.token_hex(6)
        hold = int(svc.env["IMGSANDBOX_TIMEOUT_MS"]) // 2000   # within its time limit
        got = {}
        holder = threading.Thread(target=lambda: got.update(
            holder=svc.run(HOLDER % {"mark": mark, "hold": hold}, timeout=svc.answer_within())))
        holder.start()
        attempts = []
        while holder.is_alive():
            status, _, r = svc.run(SEEKER % {"mark": mark})
            assert status == 200 and r["status"] == "no_output", r
            word, at = r["stdout"].split()
            attempts.append((float(at), word))
        holder.join()
        status, _, r = got["holder"]
        assert status == 200 and r["status"] == "no_output", r
        h = r["stdout"].split()
        bound, released = float(h[1]), float(h[3])
        inside = [word for at, word in attempts if bound < at < released]
        assert inside and set(inside) == {"ECONNREFUSED"}, (r["stdout"], attempts)
    finally:
        svc.stop()


def test_the_oom_event_is_asked_alike_both_ways():
    """What the broker asks when a sandbox's exit of 137 came with no OOM
    flag (gVisor's OOM event can come after the exit): through the API and
    through the client program (IMGSANDBOX_DOCKER_API=0), the engine's
    event is seen for a container its OOM killer stopped, and not for one
    that exited on its own (sandboxd --docker-saw-event)."""
    since = int(time.time() * 1000) - 1000
    oom, ok = ("imgsandbox-t-" + secrets.token_hex(8) for _ in range(2))
    try:
        subprocess.run(["docker", "run", "--name", oom, "--memory=32m", "--memory-swap=32m",
                        "--network=none", "--entrypoint", "python3", harness.image_tag(), "-c",
                        "x = bytearray(256 << 20)"], capture_output=True, timeout=300)
        docker("run", "--name", ok, "--network=none", "--entrypoint", "true", harness.image_tag())

        def saw(name, api):
            env = dict(harness.ENV, IMGSANDBOX_DOCKER_API=api, IMGSANDBOX_CONFIG_FILE="")
            return subprocess.run([SANDBOXD, "--docker-saw-event", name, "oom", str(since)],
                                  env=env, capture_output=True, text=True,
                                  check=True).stdout.strip()
        bad = subprocess.run([SANDBOXD, "--docker-saw-event", ok, "oom", "yesterday"],
                             env=harness.ENV, capture_output=True, text=True)
        assert bad.returncode != 0 and "SINCE_MS must be milliseconds" in bad.stderr, bad
        # The event comes within about 150 ms of the exit: waited for, not assumed.
        wait_for(lambda: saw(oom, "1") == "1", "the engine's oom event")
        assert [saw(oom, "0"), saw(ok, "1"), saw(ok, "0")] == ["1", "0", "0"]
    finally:
        subprocess.run(["docker", "rm", "--force", oom, ok], capture_output=True)


def test_the_leftovers_check_fails_when_it_cannot_ask_the_engine(monkeypatch):
    """The suite's end check asks the engine on its socket: an engine that
    does not answer is said as something found (the check fails), not
    taken for an engine with no container left."""
    assert leftovers.find_session("t-none")[0]["engine"] == []
    monkeypatch.setattr(leftovers, "ENGINE_SOCKET", "/nonexistent/docker.sock")
    found, _ = leftovers.find_session("t-none")
    assert found["engine"] and "did not answer" in found["engine"][0], found
    assert leftovers.report(found, "a session with no engine") == 1
