"""The fork engine (shared/engine/fork.h, IMGSANDBOX_ENGINE=fork) driven by
build/try_fork without the broker, as the broker drives it: open, start a
box, READY, main.py and the job, both streams to the END records, wait,
outcome, remove. As root and as an unprivileged user with only what
fcgi/engine_setup.sh gives it (a subordinate id range, the delegated
cgroup): no root, no root-equivalent group. Besides the hostile scripts'
kinds of attack, what a shared template could leak: files, processes,
abstract sockets and SysV/POSIX IPC of a job running at the same time, a
module attribute set by the job before, NumPy's and Python's random
state."""
import glob
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
TRY = os.path.join(BUILD, "try_fork")
USER = "imgsbx-forktest"
CGROUP = "imgsandbox-forktest"  # -root, -<user>: a delegated parent is one user's
ROOTFS = subprocess.run([os.path.join(ROOT, "runner_image", "build.sh"), "--print-rootfs"],
                        capture_output=True, text=True).stdout.strip()
FACTS = {"seccomp": 2, "no_new_privs": 1, "cap_eff": "0000000000000000", "uid": 10001,
         "apparmor": None}

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="prepares users and cgroups as root"),
              # One worker: the root step and useradd are not to run twice at once.
              pytest.mark.xdist_group("fork_engine")]


def cgroup_of(user):
    return "%s-%s" % (CGROUP, user or "root")


def setup_for(user):
    env = dict(os.environ, IMGSANDBOX_CGROUP=cgroup_of(user))
    subprocess.run([os.path.join(ROOT, "fcgi", "engine_setup.sh"), user or "root"], env=env,
                   check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def built():
    if not (os.path.exists(TRY) and os.path.exists(os.path.join(BUILD, "zygote_fork.so"))):
        subprocess.run(["make", "-s", TRY, os.path.join(BUILD, "zygote_fork.so")], cwd=ROOT,
                       check=True, capture_output=True)
    # The unprivileged user: a system user with no login and no group of
    # note; the engine's root step gives it the rest.
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", USER], check=True)
    setup_for(USER)
    setup_for(None)
    yield True
    # The delegated cgroups engine_setup.sh made for the module (a host's
    # own stays for its broker; these are the tests').
    import leftovers
    leftovers.remove_cgroups(sorted(glob.glob("/sys/fs/cgroup/*/%s-*" % CGROUP) +
                                    glob.glob("/sys/fs/cgroup/%s-*" % CGROUP)))


class Engine:
    """try_fork as user (None: root) on a state folder of its own."""

    def __init__(self, user=None):
        self.user = user
        self.state = tempfile.mkdtemp(prefix="imgsandbox-fork-")
        os.chmod(self.state, 0o700)
        if user:
            pw = pwd.getpwnam(user)
            os.chown(self.state, pw.pw_uid, pw.pw_gid)
        self.instance = "t" + secrets.token_hex(6)
        self.cgroup = cgroup_of(user)

    def env(self, extra):
        # No settings file (as harness.py gives every program of the suite):
        # test_deb installs /etc/imgsandbox/imgsandbox.conf while these run.
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "IMGSANDBOX_CONFIG_FILE": "",
               "IMGSANDBOX_ROOTFS": ROOTFS,
               "IMGSANDBOX_PACKAGES": os.path.join(ROOT, "runner_image", "packages.txt"),
               "IMGSANDBOX_CGROUP": self.cgroup, "IMGSANDBOX_MEMORY": str(256 << 20)}
        env.update(extra or {})
        return env

    def cmd(self, args):
        pre = []
        if self.user:
            pw = pwd.getpwnam(self.user)
            pre = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                   "--init-groups"]
        return pre + [TRY, "--state", self.state, "--instance", self.instance] + args

    def run(self, *scripts, together=False, mark=None, timeout_ms=None, env=None):
        """Runs each script (its text) in a box; returns their results."""
        paths = []
        for i, text in enumerate(scripts):
            p = os.path.join(self.state, "script%d.py" % i)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o644)
            paths.append(p)
        args = []
        if together:
            args.append("--together")
        if mark:
            args += ["--mark", mark]
        if timeout_ms:
            args += ["--timeout-ms", str(timeout_ms)]
        r = subprocess.run(self.cmd(args + ["run"] + paths), env=self.env(env),
                           capture_output=True, text=True, timeout=300)
        self.log = r.stderr  # the broker's side, the template's lines with it
        assert r.returncode == 0, (r.stdout, r.stderr)
        out = [json.loads(line) for line in r.stdout.splitlines()]
        assert len(out) == len(scripts), (r.stdout, r.stderr)
        return out

    def check(self, env=None, user=None):
        return subprocess.run(self.cmd(["check"]), env=self.env(env), capture_output=True,
                              text=True, timeout=300)

    def boxes_left(self):
        """The box cgroups left in the instance's folder (v1 memory or v2)."""
        for base in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
            d = os.path.join(base, self.cgroup, self.instance)
            if os.path.isdir(d):
                return [n for n in os.listdir(d) if n.startswith("box-")]
        return []

    def close(self):
        """The state folder, and the instance's cgroups (its template's is
        empty once try_fork has ended)."""
        shutil.rmtree(self.state, ignore_errors=True)
        for base in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/pids",
                     "/sys/fs/cgroup"):
            d = os.path.join(base, self.cgroup, self.instance)
            for sub in ([os.path.join(d, n) for n in os.listdir(d)
                         if os.path.isdir(os.path.join(d, n))] if os.path.isdir(d) else []) + [d]:
                try:
                    os.rmdir(sub)
                except OSError:
                    pass


@pytest.fixture(params=["root", "user"])
def engine(request, built):
    e = Engine(USER if request.param == "user" else None)
    yield e
    e.close()


@pytest.fixture
def root_engine(built):
    e = Engine()
    yield e
    e.close()


def ready_facts(r):
    assert r["ready"].startswith("\x1eIMGSANDBOX-READY "), r["ready"]
    return json.loads(r["ready"][len("\x1eIMGSANDBOX-READY "):])


def end_records(r):
    out = re.search(r"\x1eIMGSANDBOX-END (\{.*?\})\n", r["stdout"])
    err = re.search(r"\x1eIMGSANDBOX-END (\{.*?\})\n", r["stderr"])
    return (json.loads(out.group(1)) if out else None, json.loads(err.group(1)) if err else None)


TRIVIAL = """\
from PIL import Image
Image.new("RGB", (64, 64), (200, 80, 40)).save("/output/result.png")
"""

WHO = """\
import os
print("ids", os.getuid(), os.getgid(), os.getgroups(), os.getpid())
print("uid_map", open("/proc/self/uid_map").read().split())
print("env", sorted(os.environ))
"""


def test_trivial_run_and_its_facts(engine):
    r, who = engine.run(TRIVIAL, WHO)
    assert ready_facts(r) == FACTS
    assert r["exit"] == 0 and not r["oom"] and not r["killed"]
    out, err = end_records(r)
    assert out["files"] == [{"name": "result.png", "bytes": out["files"][0]["bytes"]}]
    assert err["exit"] == 0
    assert who["exit"] == 0
    assert "ids 10001 10001 [] 1" in who["stdout"]
    # Inside, 0 is the broker's own uid and 10001 a subordinate one.
    host_uid = pwd.getpwnam(engine.user).pw_uid if engine.user else 0
    m = re.search(r"uid_map \[(.*)\]", who["stdout"]).group(1).replace("'", "").split(", ")
    assert m[:3] == ["0", str(host_uid), "1"] and m[3] == "10001" and m[5] == "1", m
    assert int(m[4]) >= 100000 and int(m[4]) != host_uid
    # The environment is the sandbox's, as the Docker engine gives it.
    env = re.search(r"env \[(.*)\]", who["stdout"]).group(1)
    for name in ("HOME", "HOSTNAME", "MPLCONFIGDIR", "PATH", "USER_PARAMS", "OMP_NUM_THREADS"):
        assert "'%s'" % name in env
    assert "IMGSANDBOX_CGROUP" not in env and "IMGSANDBOX_PACKAGES" not in env
    assert engine.boxes_left() == []


SLEEPER_AND_LOOP = """\
import os, subprocess, sys
subprocess.Popen(["sleep", "%(mark)s"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    while True:
        pass
print("started", flush=True)
while True:
    pass
"""


def processes_with(text):
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if text in line]


def test_timeout_kills_the_whole_tree(engine):
    mark = str(700000 + secrets.randbelow(99999))
    r, = engine.run(SLEEPER_AND_LOOP % {"mark": mark}, timeout_ms=5000)
    assert r["killed"] and r["exit"] == 137, r
    assert "started" in r["stdout"]
    assert processes_with("sleep " + mark) == []
    assert engine.boxes_left() == []


FORK_BOMB = """\
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


def test_fork_bomb_is_contained(engine):
    r, = engine.run(FORK_BOMB, timeout_ms=3000)
    assert r["exit"] in (1, 137), r
    assert engine.boxes_left() == []


ALLOC = """\
import numpy as np
a = np.ones(1 << 30, dtype=np.uint8)
print("survived")
"""


def test_out_of_memory_is_oom(engine):
    r, = engine.run(ALLOC)
    assert r["oom"] and r["exit"] == 137, r
    assert "survived" not in r["stdout"]


NETWORK = """\
import socket
# /proc/self/net/dev is this process's network namespace (netlink, which
# socket.if_nameindex asks, is a socket family the seccomp list refuses).
print("interfaces", sorted(l.split(":")[0].strip()
                           for l in open("/proc/self/net/dev").read().splitlines()[2:]))
for host, port in (("1.1.1.1", 53), ("127.0.0.1", 80)):
    try:
        socket.create_connection((host, port), timeout=2)
        print("connected", host)
    except OSError as e:
        print("refused", host, e.errno)
try:
    socket.getaddrinfo("deb.debian.org", 80)
    print("resolved")
except OSError:
    print("no dns")
"""


def test_no_network(root_engine):
    r, = root_engine.run(NETWORK)
    assert "interfaces ['lo']" in r["stdout"], r
    assert "connected" not in r["stdout"] and "resolved" not in r["stdout"]
    assert "refused 127.0.0.1 111" in r["stdout"]  # loopback is up, as Docker's


HOLDER = """\
import ctypes, os, socket, time
mark = "%(mark)s"
libc = ctypes.CDLL(None, use_errno=True)
open("/tmp/secret-" + mark, "w").write(mark)
open("/output/secret-" + mark + ".png", "w").write(mark)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind("\\0imgsandbox-" + mark)
srv.listen(1)
shm = libc.shmget(int(mark), 4096, 0o1666)
msg = libc.msgget(int(mark), 0o1666)
fd = os.open("/dev/shm/imgsandbox-" + mark, os.O_CREAT | os.O_RDWR, 0o666)
print("holding", shm >= 0, msg >= 0, flush=True)
time.sleep(4)
# Still there for this job: the other one's misses were not for want of them.
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect("\\0imgsandbox-" + mark)
print("own", libc.shmget(int(mark), 0, 0) >= 0, libc.msgget(int(mark), 0) >= 0,
      os.path.exists("/dev/shm/imgsandbox-" + mark))
"""

SEEKER = """\
import ctypes, errno, os, socket
mark = "%(mark)s"
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("\\0imgsandbox-" + mark)
    print("abstract reached")
except OSError as e:
    print("abstract", errno.errorcode[e.errno])
print("shm", libc.shmget(int(mark), 0, 0), errno.errorcode[ctypes.get_errno()])
print("msg", libc.msgget(int(mark), 0), errno.errorcode[ctypes.get_errno()])
print("posix shm", os.path.exists("/dev/shm/imgsandbox-" + mark))
print("pids", sorted(p for p in os.listdir("/proc") if p.isdigit()))
found = []
for top in ("/tmp", "/output", "/code", "/input", "/dev/shm", "/run", "/opt", "/var"):
    for d, _, files in os.walk(top):
        found += [os.path.join(d, f) for f in files if mark in f]
print("found", found)
print("code", os.listdir("/code"))
"""


def test_jobs_at_once_see_nothing_of_each_other(engine):
    mark = str(1000000 + secrets.randbelow(8000000))
    holder, seeker = engine.run(HOLDER % {"mark": mark}, SEEKER % {"mark": mark},
                                together=True, mark="holding")
    # SysV IPC: refused by the seccomp list (EPERM), as under Docker; were
    # the list to let it through, each box's IPC namespace still keeps the
    # objects its own, which the seeker's ENOENT then shows.
    held = re.search(r"holding (True|False) (True|False)", holder["stdout"])
    assert held, holder
    assert "own %s %s True" % held.groups() in holder["stdout"], holder
    out = seeker["stdout"]
    assert seeker["exit"] == 0, seeker
    assert "abstract ECONNREFUSED" in out, out
    assert re.search(r"shm -1 (ENOENT|EPERM)", out) and re.search(r"msg -1 (ENOENT|EPERM)", out), out
    assert "posix shm False" in out and "found []" in out, out
    assert "pids ['1']" in out, out
    assert "code ['main.py']" in out
    assert mark not in seeker["stderr"]


SETTER = """\
import sys, numpy, PIL.Image, json
numpy.__imgsandbox_left = "set by the job before"
PIL.Image.__imgsandbox_left = "set by the job before"
json.__imgsandbox_left = "set by the job before"
sys.modules["imgsandbox_left"] = sys
print("set")
"""

GETTER = """\
import sys, numpy, PIL.Image, json
print("numpy", hasattr(numpy, "__imgsandbox_left"))
print("pil", hasattr(PIL.Image, "__imgsandbox_left"))
print("json", not hasattr(json, "__imgsandbox_left"))
print("modules", "imgsandbox_left" in sys.modules)
"""


def test_module_state_is_not_inherited(root_engine):
    setter, getter = root_engine.run(SETTER, GETTER)
    assert "set" in setter["stdout"]
    out = getter["stdout"]
    assert "numpy False" in out and "pil False" in out, out
    assert "json True" in out and "modules False" in out, out


RANDOM = """\
import os, random
import numpy as np
print("draws", np.random.random(), np.random.randint(1 << 30), random.random(),
      np.random.normal(), random.getrandbits(64))
"""


def test_each_job_has_its_own_random_state(root_engine):
    rs = root_engine.run(RANDOM, RANDOM, RANDOM)
    draws = [re.search(r"draws (.*)", r["stdout"]).group(1).split() for r in rs]
    for i in range(5):
        values = [d[i] for d in draws]
        assert len(set(values)) == 3, values


# Page faults of the script's own work (the imports are the template's).
FAULTS = """\
import os, resource
from PIL import Image
import numpy as np
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print("output", os.listdir("/output"), os.listdir("/input"), os.environ["HOSTNAME"])
im = Image.new("RGB", (64, 64), (200, 80, 40))
Image.fromarray(255 - np.asarray(im)).save("/output/result.png")
print("faults", resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_boxes_map_the_pages_a_trial_job_touched(root_engine):
    """With the defaults the template learns, from a trial job of its own,
    the pages a job touches, and each box maps them ahead: the same work
    then takes far fewer page faults than with IMGSANDBOX_FORK_PREFAULT=0.
    Nothing of the trial is seen by a box."""
    on = root_engine.run(FAULTS, FAULTS)
    log_on = root_engine.log
    off = root_engine.run(FAULTS, FAULTS, env={"IMGSANDBOX_FORK_PREFAULT": "0"})
    log_off = root_engine.log
    m = re.search(r"a box maps (\d+) pages ahead \((\d+) copied, (\d+) mapped\)", log_on)
    assert m and int(m.group(2)) > 0 and int(m.group(3)) > 0, log_on
    assert "a box maps" not in log_off and "map no page" not in log_off, log_off  # no trial

    def faults(r):
        assert r["exit"] == 0, r
        return int(re.search(r"faults (\d+)", r["stdout"]).group(1))
    with_map, without = [faults(r) for r in on], [faults(r) for r in off]
    # Measured: 54 against 323 (a count of the kernel's, not a time).
    assert max(with_map) * 2 < min(without), (with_map, without)
    for r in on:
        assert "output [] [] " in r["stdout"] and "trial" not in r["stdout"], r["stdout"]


def test_refusals_say_what_is_missing(built):
    e = Engine()
    try:
        r = e.check(env={"IMGSANDBOX_ROOTFS": "/nonexistent/rootfs"})
        assert r.returncode == 3 and "build.sh" in r.stdout, r.stdout
        r = e.check(env={"IMGSANDBOX_CGROUP": "imgsandbox-never-made"})
        assert r.returncode == 3 and "engine_setup.sh" in r.stdout, r.stdout
    finally:
        e.close()
    # A user the root step never saw: no subordinate ids.
    nobody = Engine("nobody")
    try:
        r = nobody.check()
        assert r.returncode == 3 and "subordinate ids" in r.stdout, r.stdout
        assert "engine_setup.sh" in r.stdout
    finally:
        nobody.close()


HOLD = """\
import time
print("holding", flush=True)
time.sleep(600)
"""


def test_a_dead_brokers_boxes_go_and_are_reaped(root_engine):
    """The broker killed mid-run: its template ends with its control socket,
    every box with it (they are in its PID namespace); the next broker's
    reap removes what is left past the deadline."""
    e = root_engine
    path = os.path.join(e.state, "hold.py")
    with open(path, "w") as f:
        f.write(HOLD)
    os.chmod(path, 0o644)
    p = subprocess.Popen(e.cmd(["--deadline-s", "0", "run", path]), env=e.env(None),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not e.boxes_left() and time.time() < deadline:
        time.sleep(0.2)
    assert e.boxes_left(), "the box never started"
    time.sleep(1)
    p.send_signal(signal.SIGKILL)
    p.wait()
    # No process of the box is left (its cgroup is empty) ...
    for name in e.boxes_left():
        procs = os.path.join("/sys/fs/cgroup/pids", e.cgroup, e.instance, name, "cgroup.procs")
        if not os.path.exists(procs):
            procs = os.path.join("/sys/fs/cgroup", e.cgroup, e.instance, name, "cgroup.procs")
        until = time.time() + 10
        while open(procs).read().strip() and time.time() < until:
            time.sleep(0.1)
        assert open(procs).read().strip() == ""
    # ... and the next one removes its cgroup.
    r = e.check()
    assert r.returncode == 0, r.stdout + r.stderr
    assert e.boxes_left() == []


def children_of(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                stat = open("/proc/%s/stat" % p).read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid:
                out.append(int(p))
    return out


def test_a_dead_template_is_started_again(root_engine):
    """The template killed under a running box: that box ends (how, the
    engine cannot say), and the next start brings up a new template."""
    e = root_engine
    paths = []
    for name, text in (("hold.py", HOLD), ("after.py", TRIVIAL)):
        paths.append(os.path.join(e.state, name))
        with open(paths[-1], "w") as f:
            f.write(text)
        os.chmod(paths[-1], 0o644)
    p = subprocess.Popen(e.cmd(["run"] + paths), env=e.env(None), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not e.boxes_left() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    templates = children_of(p.pid)
    assert len(templates) == 1, templates
    os.kill(templates[0], signal.SIGKILL)
    out, err = p.communicate(timeout=300)
    held, after = [json.loads(line) for line in out.splitlines()]
    assert held["exit"] == -1 and "holding" in held["stdout"], held
    assert after["exit"] == 0 and ready_facts(after) == FACTS, (after, err)
    assert "started again" in err
    assert e.boxes_left() == []
