"""The sandbox's system call filter and its place on the host, on every
backend the hostile scripts run on (each server, a warm pool of one, and
gVisor): every call runner_image/seccomp.list refuses is refused inside a
real sandbox (tests/hostile/refused_syscalls.py), the engine runs each
sandbox under the profile the service wrote from the list, a waiting
sandbox states the facts of a sandbox on its READY line, and the
sandboxes live under the service's capped cgroup, first in line for the
OOM killer."""
import contextlib
import ctypes
import json
import os
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (ROOT, docker, in_use, instance_of, kill_from_outside, runtime_registered,
                      wait_for)

BUILD = os.path.join(ROOT, "build")
LIST = os.path.join(ROOT, "runner_image", "seccomp.list")


def refused_by_list():
    """{name: (number, errno name)} of every call the list refuses or
    answers with an errno."""
    out = subprocess.run([os.path.join(BUILD, "seccomp_profile"), "--refused", LIST],
                         capture_output=True, text=True, check=True).stdout
    return {n: (int(nr), e) for n, nr, e in (line.split() for line in out.splitlines())}


def test_every_refused_call_is_refused(hostile_service):
    code = open(os.path.join(ROOT, "tests", "hostile", "refused_syscalls.py")).read()
    status, _, r = hostile_service.run(code)
    assert status == 200 and r["status"] == "success", (r["status"], r.get("error"), r["stdout"][-2000:], r["stderr"])
    lines = r["stdout"].splitlines()
    got = {}
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1].isdigit():
            got[parts[0]] = (int(parts[1]), parts[2])
    want = refused_by_list()
    # The script tries exactly what the list refuses, by the same numbers.
    calls = {n: v for n, v in got.items() if not n.startswith("clone-")}
    assert sorted(calls) == sorted(want), set(calls) ^ set(want)
    for name, (nr, err) in want.items():
        assert got[name] == (nr, err), (name, got[name], "expected", (nr, err))
    assert "clone-newuser 56 EPERM" in lines, r["stdout"]
    assert "clone-fork 56 allowed" in lines, r["stdout"]
    for family in ("AF_NETLINK", "AF_PACKET", "AF_ALG", "AF_VSOCK"):
        assert "socket %s EPERM" % family in lines, (family, r["stdout"])
    for family in ("AF_UNIX", "AF_INET", "AF_INET6"):
        assert "socket %s allowed" % family in lines, (family, r["stdout"])
    for label in ("UNAME26", "PER_LINUX32", "ADDR_NO_RANDOMIZE"):
        assert "personality %s EPERM" % label in lines, (label, r["stdout"])
    for label in ("query", "PER_LINUX"):   # let through (gVisor answers EINVAL itself)
        assert not any(l.startswith("personality %s EPERM" % label) for l in lines), r["stdout"]
        assert any(l.startswith("personality %s " % label) for l in lines), r["stdout"]
    assert "int80 killed" in lines, r["stdout"]


SLEEPER = "import time\nprint('up', flush=True)\ntime.sleep(600)\n"


def docker_only(service):
    if service.env.get("IMGSANDBOX_ENGINE") == "fork":
        pytest.skip("no container under the fork engine: test_fork_engine.py checks its "
                    "filter, its cgroup and its facts")


@contextlib.contextmanager
def a_sandbox(service):
    """The container name of a sandbox running a job of the service's (a
    script that sleeps; the suite's services keep no sandbox waiting), as
    the broker handed it out; killed from outside after the with."""
    # The sandbox of the test before is removed after its answer.
    before = set(in_use(service))
    answer = {}
    t = threading.Thread(target=lambda: answer.update(r=service.run(SLEEPER)))
    t.start()
    try:
        boxes = wait_for(lambda: set(in_use(service)) - before, "the run's sandbox")
        yield "imgsandbox-" + sorted(boxes)[0]
    finally:
        for box in set(in_use(service)) - before:
            try:
                kill_from_outside(service, box)
            except (subprocess.CalledProcessError, AssertionError):
                pass        # ended already: what the with's body raised matters
        t.join(service.answer_within())


def test_sandboxes_run_under_our_profile(hostile_service):
    docker_only(hostile_service)
    with a_sandbox(hostile_service) as name:
        info = json.loads(docker("inspect", "--type=container", name))[0]
        check_profile(hostile_service, info)


def check_profile(service, info):
    opts = info["HostConfig"]["SecurityOpt"]
    profile = os.path.join(service.data, "engine", "seccomp.json")
    # The client sends the profile's content: the one the service wrote.
    seccomp = [o for o in opts if o.startswith("seccomp=")]
    assert len(seccomp) == 1, opts
    assert json.loads(seccomp[0][len("seccomp="):]) == json.load(open(profile))
    assert "no-new-privileges" in opts, opts
    assert info["HostConfig"]["OomScoreAdj"] == 1000
    doc = json.load(open(profile))
    clone3 = [s for s in doc["syscalls"] if s["names"] == ["clone3"]]
    if info["HostConfig"]["Runtime"] == "runsc":
        # gVisor answers clone3 ENOSYS itself (refused_syscalls says so).
        assert clone3[0]["action"] == "SCMP_ACT_ALLOW", clone3
    else:
        assert clone3[0]["errnoRet"] == 38, clone3
        pid = info["State"]["Pid"]
        status = open("/proc/%d/status" % pid).read()
        assert "\nSeccomp:\t2\n" in status and "\nNoNewPrivs:\t1\n" in status, status
        assert open("/proc/%d/oom_score_adj" % pid).read().strip() == "1000"


def test_sandboxes_live_under_the_capped_cgroup(hostile_service):
    docker_only(hostile_service)
    with a_sandbox(hostile_service) as name:
        info = json.loads(docker("inspect", "--type=container", name))[0]
        check_cgroup(hostile_service, info)


def check_cgroup(hostile_service, info):
    parent = "/imgsandbox-" + instance_of(hostile_service)
    assert info["HostConfig"]["CgroupParent"] == parent
    # Each of the sandbox's processes, as the kernel sees them.
    pid = info["State"]["Pid"]
    memory = [l for l in open("/proc/%d/cgroup" % pid).read().splitlines()
              if l.split(":")[1] == "memory"]
    assert memory and memory[0].split(":")[2].startswith(parent + "/"), memory
    # The cap: every slot's sandbox at its memory, a waiting one at 256 MiB.
    s = dict(l.split("=", 1) for l in subprocess.run(
        [os.path.join(BUILD, "responder"), "--settings"], env=hostile_service.env,
        capture_output=True, text=True, check=True).stdout.splitlines() if "=" in l
        and l.startswith("IMGSANDBOX_"))
    cap = int(s["IMGSANDBOX_SLOTS"]) * int(s["IMGSANDBOX_MEMORY"]) + \
        int(s["IMGSANDBOX_WARM"]) * (256 << 20)
    limit = open("/sys/fs/cgroup/memory%s/memory.limit_in_bytes" % parent).read().strip()
    assert int(limit) == cap, (limit, cap)
    # Together they weigh what as many containers side by side did.
    shares = open("/sys/fs/cgroup/cpu%s/cpu.shares" % parent).read().strip()
    assert int(shares) == int(s["IMGSANDBOX_SLOTS"]) * 1024, shares


def test_a_waiting_sandbox_states_its_facts(hostile_service):
    """entry.py --warm, started by the service's own argv, writes READY with
    the facts of its process before anything else of the job."""
    docker_only(hostile_service)
    env = dict(hostile_service.env)
    out = subprocess.run([os.path.join(BUILD, "sandboxd"), "--docker-argv",
                          instance_of(hostile_service), "f" * 32, "/nonexistent"],
                         env=env, capture_output=True, check=True).stdout
    argv = out.decode().split("\0")[:-1]
    i = argv.index("--env=USER_PARAMS")
    argv[i:i + 1] = ["--env=IMGSANDBOX_PRELOAD=numpy", "--interactive"]
    argv = [a for a in argv if not a.startswith("--mount=")] + ["--warm"]
    argv[argv.index("--name=imgsandbox-" + "f" * 32)] = "--rm"
    p = subprocess.run(argv, input=b"", capture_output=True, timeout=120,
                       env={"PATH": os.environ["PATH"]})
    line = [l for l in p.stdout.split(b"\n") if l.startswith(b"\x1eIMGSANDBOX-READY")]
    assert line, (p.stdout[-500:], p.stderr[-500:])
    facts = json.loads(line[0][len(b"\x1eIMGSANDBOX-READY "):])
    assert facts["seccomp"] == 2 and facts["no_new_privs"] == 1, facts
    assert facts["cap_eff"] == "0000000000000000" and facts["uid"] == 10001, facts
    apparmor = os.path.exists("/sys/module/apparmor/parameters/enabled") and \
        open("/sys/module/apparmor/parameters/enabled").read().startswith("Y")
    if apparmor:
        assert facts["apparmor"].endswith(" (enforce)"), facts
    else:
        assert facts["apparmor"] is None, facts


# Calls the list allows that a runtime does not implement at all: under a
# profile they get EPERM (gVisor's converter drops a name it does not
# know), unconfined ENOSYS. Nothing of the image makes them (the trace).
UNIMPLEMENTED = {"runsc": {"openat2", "futex_waitv"}}


@pytest.mark.parametrize("runtime", ["runc", "runsc"])
def test_every_allowed_call_is_let_through(runtime):
    """Every call the list allows answers under the profile as it does
    with no filter at all, under runc and gVisor (a name the runtime did
    not know would get EPERM: pselect6 under Debian's runsc did, until
    the profile named it as gVisor does)."""
    if runtime != "runc" and not runtime_registered(runtime):
        pytest.fail("the engine does not know the %s runtime: run fcgi/ensure_dockerd.sh" % runtime)
    names = subprocess.run([os.path.join(BUILD, "seccomp_profile"), "--names", LIST],
                           capture_output=True, text=True, check=True).stdout.split()
    lib = ctypes.CDLL("libseccomp.so.2")
    calls = ["%s:%d" % (n, lib.seccomp_syscall_resolve_name_arch(0xc000003e, n.encode()))
             for n in names]
    image = subprocess.run([os.path.join(ROOT, "runner_image", "build.sh"), "--print-tag"],
                           capture_output=True, text=True, check=True).stdout.strip()
    profile = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = dict(os.environ, IMGSANDBOX_RUNTIME="" if runtime == "runc" else runtime)
    subprocess.run([os.path.join(BUILD, "seccomp_profile"), "--json", profile, LIST], env=env,
                   check=True)
    os.chmod(profile, 0o644)
    answers = {}
    try:
        for opt in ("seccomp=" + profile, "seccomp=unconfined"):
            p = subprocess.run([
                "docker", "run", "--rm", "--runtime=" + runtime, "--network=none",
                "--cap-drop=ALL", "--security-opt=no-new-privileges", "--security-opt=" + opt,
                "--user=10001:10001", "--read-only", "--pull=never", "--log-driver=none",
                "--mount=type=bind,src=%s,dst=/probe.py,readonly"
                % os.path.join(ROOT, "tests", "seccomp", "allowed_calls.py"),
                image, "/usr/bin/python3", "-I", "/probe.py"] + calls,
                capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr[-2000:]
            answers[opt] = dict(l.split(" ", 1) for l in p.stdout.splitlines())
    finally:
        os.unlink(profile)
    ours, none = answers["seccomp=" + profile], answers["seccomp=unconfined"]
    assert len(ours) > 180 and ours.keys() == none.keys(), (len(ours), len(none))
    differ = {n: (ours[n], none[n]) for n in ours if ours[n] != none[n]}
    expected = {n: ("EPERM", "ENOSYS") for n in UNIMPLEMENTED.get(runtime, ())}
    assert differ == expected, differ
