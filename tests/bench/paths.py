"""The ways one job is run, for `make bench` (bench.py compare):

    ServicePath   POST /run through one of our services (client wall clock,
                  the answer's "timings" and which sandbox ran it)
    DirectPath    the same `docker run` argv by hand (sandboxd --docker-argv),
                  then `docker rm`, untimed: the service answers before its
                  removal too
    FloorPath     python3 -I entry.py on the same files in a chroot of the
                  runner's root filesystem (the interpreter's floor)
    HostPath      the script by the host's /usr/bin/python3 -I (no sandbox)

and the helpers they share: the inputs, multipart bodies, POST /run, the
responder's settings, job folders, the warm argv. Only the standard library.
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
ROOTFS = os.environ.get("BENCH_ROOTFS", "/var/cache/imgsandbox/rootfs-current")
INPUTS = os.environ.get("BENCH_INPUTS", "")
PREFIX = "\x1eIMGSANDBOX-"
SYS_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

TRIVIAL = '''\
from PIL import Image
Image.new("RGB", (64, 64), (200, 80, 40)).save("/output/result.png")
'''
BLUR = '''\
from PIL import Image, ImageFilter
img = Image.open("/input/image.png").convert("RGB")
img = img.filter(ImageFilter.GaussianBlur(radius=6))
img.save("/output/result.png")
print(img.size)
'''
# job: (script file in INPUTS, image file in INPUTS or None)
JOBS = {
    "trivial": ("trivial.py", None),
    "blur": ("blur.py", "photo.jpg"),
    # The page's own starter examples, on the page's sample image.
    "opencv": ("edges_opencv.py", "sample.png"),
    "skimage": ("threshold_skimage.py", "sample.png"),
}


def say(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def die(*a):
    say(*a)
    sys.exit(1)


def loopback(url):
    if not re.match(r"^http://127\.0\.0\.1:\d+(/|$)", url):
        die("refusing to send load anywhere but 127.0.0.1: %s" % url)
    return url.rstrip("/")


def job_files(job):
    """(code text, image bytes or None) of a job of JOBS."""
    if job not in JOBS:
        die("unknown job %r" % job)
    script, image = JOBS[job]
    with open(os.path.join(INPUTS, script)) as f:
        code = f.read()
    if image is None:
        return code, None
    with open(os.path.join(INPUTS, image), "rb") as f:
        return code, f.read()


# --- HTTP --------------------------------------------------------------------

def multipart(fields):
    boundary = "----imgsandboxbench" + uuid.uuid4().hex
    out = bytearray()
    for name, value in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        if isinstance(value, tuple):
            filename, data = value
            out += ('Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    'Content-Type: application/octet-stream\r\n\r\n' % (name, filename)).encode()
            out += data
        else:
            out += ('Content-Disposition: form-data; name="%s"\r\n\r\n' % name).encode()
            out += value.encode()
        out += b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out), "multipart/form-data; boundary=" + boundary


def job_body(job):
    code, image = job_files(job)
    fields = [("code", code)]
    if image is not None:
        fields.append(("image", ("image" + os.path.splitext(JOBS[job][1])[1], image)))
    return multipart(fields)


def post_run(url, body, ctype, timeout=120, source=None):
    """(http status, parsed JSON or None, wall ms). source: the loopback
    address to send from (127.0.0.x: each is a client of its own to the
    service's share), or the kernel's choice (127.0.0.1)."""
    host, _, port = url[len("http://"):].split("/")[0].partition(":")
    t0 = time.monotonic()
    c = http.client.HTTPConnection(host, int(port or 80), timeout=timeout,
                                   source_address=(source, 0) if source else None)
    try:
        c.request("POST", "/run", body, {"Content-Type": ctype})
        r = c.getresponse()
        status, raw = r.status, r.read()
    finally:
        c.close()
    ms = (time.monotonic() - t0) * 1000
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    return status, doc, ms


class ServicePath:
    """POST /run through one of our services. spec is SERVER/MODE (mode:
    warm, cold, preload...): a mode other than cold is paced by the warm
    settle pause (its replacement container starts after it)."""

    def __init__(self, spec, url, job):
        self.server, _, self.mode = spec.partition("/")
        self.name = spec
        self.url, self.job = loopback(url), job
        self.body, self.ctype = job_body(job)
        self.walls, self.timings, self.kinds, self.failed = [], [], [], []
        self.warm = self.mode != "cold"

    def one(self, keep):
        status, doc, ms = post_run(self.url, self.body, self.ctype)
        if status != 200 or not doc or doc.get("status") != "success":
            # Counted, not timed: a timeout on a machine someone else
            # loads should not throw the other figures away.
            what = "%s %s" % (status, doc.get("status") if doc else "(not JSON)")
            say("%s %s: answered %s: %s" % (self.name, self.job, what,
                json.dumps(doc)[:300] if doc else ""))
            if keep:
                self.failed.append(what)
            return
        if keep:
            self.walls.append(ms)
            self.timings.append(doc.get("timings") or {})
            self.kinds.append(doc.get("sandbox", "?"))

    def close(self):
        pass

    def doc(self):
        return {"kind": "latency", "server": self.server, "mode": self.mode, "job": self.job,
                "wall_ms": self.walls, "timings": self.timings, "sandbox": self.kinds,
                "failed": self.failed}


# --- the engine and the rootfs by hand ---------------------------------------

def settings():
    """The responder's settings (with this environment), as a dict."""
    out = subprocess.run([os.path.join(BUILD, "responder"), "--settings"],
                         capture_output=True, text=True, check=True).stdout
    s = {}
    for line in out.splitlines():
        m = re.match(r"^(IMGSANDBOX_[A-Z_]+)=(.*)$", line)
        if m:
            s[m.group(1)] = m.group(2)
    if os.geteuid() != 0 and "IMGSANDBOX_USER" not in os.environ:
        s["IMGSANDBOX_USER"] = "%d:%d" % (os.getuid(), os.getgid())  # as the responder
    return s


def make_job_dir(parent, job, uid, gid):
    """A job folder laid out as shared/sandbox/jobs.c makes it (code/main.py,
    input/image.png) with an output/ folder for the chroot floor (the
    container's /output is a tmpfs of its own)."""
    code, image = job_files(job) if job else ("", None)
    d = tempfile.mkdtemp(prefix="job-", dir=parent)
    os.chmod(d, 0o711)
    for sub in ("code", "input"):
        os.mkdir(os.path.join(d, sub), 0o755)
    os.mkdir(os.path.join(d, "output"), 0o700)
    try:
        os.chown(os.path.join(d, "output"), uid, gid)
    except PermissionError:  # not root: writable by anyone
        os.chmod(os.path.join(d, "output"), 0o777)
    p = os.path.join(d, "code", "main.py")
    with open(p, "w") as f:
        f.write(code)
    os.chmod(p, 0o444)
    p = os.path.join(d, "input", "image.png")
    with open(p, "wb") as f:
        f.write(image if image is not None else b"")
    os.chmod(p, 0o644)
    return d


class Engine:
    """The docker client as the responder runs it: the responder's own
    argv (`sandboxd --docker-argv`, the one docker_run_argv), a client
    configuration of its own, the sandbox's user."""

    def __init__(self, s, work):
        self.s = s
        self.uid, self.gid = (int(v) for v in s["IMGSANDBOX_USER"].split(":"))
        conf = os.path.join(work, "docker-config")
        os.makedirs(conf, 0o700, exist_ok=True)
        self.instance = os.environ.get("BENCH_DIRECT_INSTANCE", "bench-direct-%d" % os.getpid())
        self.env = {"PATH": SYS_PATH, "DOCKER_CONFIG": conf, "USER_PARAMS": "{}"}
        if s.get("IMGSANDBOX_DOCKER_HOST"):
            self.env["DOCKER_HOST"] = s["IMGSANDBOX_DOCKER_HOST"]
        self.client = shutil.which(s["IMGSANDBOX_DOCKER"]) or s["IMGSANDBOX_DOCKER"]

    def argv(self, name, jid, d, extra_env=None):
        """The cold argv for job folder d (its name must be name)."""
        env = dict(os.environ, **{k: v for k, v in self.s.items() if k.startswith("IMGSANDBOX_")})
        env.update(extra_env or {})
        out = subprocess.run([os.path.join(BUILD, "sandboxd"), "--docker-argv",
                              self.instance, jid, d], capture_output=True, check=True, env=env)
        a = out.stdout.decode().split("\0")[:-1]
        assert a[2] == "--name=" + name, a[:3]
        return a

    def warm_argv(self, name, jid, d, preload):
        """The warm sandbox's argv (shared/engine/docker.c with warm=1): the cold
        one with IMGSANDBOX_PRELOAD in place of USER_PARAMS, stdin kept
        open, and entry.py --warm."""
        a = self.argv(name, jid, d)
        i = a.index("--env=USER_PARAMS")
        a[i:i + 1] = ["--env=IMGSANDBOX_PRELOAD=" + preload, "--interactive"]
        return a + ["--warm"]

    def rm(self, name):
        return subprocess.run([self.client, "rm", "--force", "--volumes", name], env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=60)

    def remove_all(self):
        left = subprocess.run([self.client, "ps", "-aq", "--filter",
                               "label=imgsandbox.instance=" + self.instance],
                              env=self.env, capture_output=True, text=True).stdout.split()
        if left:
            subprocess.run([self.client, "rm", "--force"] + left, env=self.env,
                           capture_output=True)


def end_files(stdout):
    """The files of the END record on a sandbox's stdout ([] when none)."""
    i = stdout.find((PREFIX + "END ").encode())
    if i < 0:
        return []
    line = stdout[i + len(PREFIX) + 4:stdout.find(b"\n", i)]
    try:
        return json.loads(line).get("files", [])
    except ValueError:
        return []


class DirectPath:
    """`docker run` with the responder's argv, timed from the client's
    start to its exit (stdout and stderr on pipes); then `docker rm
    --force --volumes`, timed apart (the service answers before it)."""

    def __init__(self, job, s):
        self.job = job
        self.work = tempfile.mkdtemp(prefix="direct-", dir=os.environ.get("BENCH_TMP"))
        os.chmod(self.work, 0o755)
        self.eng = Engine(s, self.work)
        self.timeout_s = int(s["IMGSANDBOX_TIMEOUT_MS"]) / 1000
        self.run_ms, self.rm_ms = [], []
        self.warm = False
        self.name = "direct"

    def one(self, keep):
        d = make_job_dir(self.work, self.job, self.eng.uid, self.eng.gid)
        jid = uuid.uuid4().hex
        name = "imgsandbox-%s" % jid
        argv = self.eng.argv(name, jid, d)
        t0 = time.monotonic()
        p = subprocess.run(argv, env=self.eng.env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=self.timeout_s + 30)
        t1 = time.monotonic()
        r = self.eng.rm(name)
        t2 = time.monotonic()
        files = end_files(p.stdout)
        ok = p.returncode == 0 and files and files[0].get("name") == "result.png" \
            and files[0].get("bytes", 0) > 0
        shutil.rmtree(d, ignore_errors=True)
        if not ok or r.returncode != 0:
            die("direct %s: failed (exit %d): %s" % (
                self.job, p.returncode, (p.stderr + r.stderr).decode("utf-8", "replace")[-800:]))
        if keep:
            self.run_ms.append((t1 - t0) * 1000)
            self.rm_ms.append((t2 - t1) * 1000)

    def close(self):
        self.eng.remove_all()
        shutil.rmtree(self.work, ignore_errors=True)

    def doc(self):
        return {"kind": "direct", "job": self.job, "wall_ms": self.run_ms,
                "rm_ms": self.rm_ms,
                "argv_example": self.eng.argv("imgsandbox-<job>", "<job>", "<job folder>")}


def sh(*argv):
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


class FloorPath:
    """python3 -I entry.py on the same script in a chroot of the runner's
    root filesystem, as the sandbox's user, with the sandbox's environment,
    /tmp a tmpfs, /code /input read-only and /output bind mounts. The
    chroot is a tmpfs with each top-level folder of the rootfs bind-mounted
    read-only, inside the private mount and PID namespaces cmd_compare runs
    in (unshare): the rootfs is not written, every mount goes with the
    namespace, and entry.py's kill(-1) at the script's end (it is PID 1 in
    a sandbox) reaches nothing outside: not the host's sandboxes, which run
    as the same uid."""

    def __init__(self, job, s):
        self.job = job
        self.uid, self.gid = (int(v) for v in s["IMGSANDBOX_USER"].split(":"))
        rootfs = os.path.realpath(ROOTFS)
        if not os.path.isfile(os.path.join(rootfs, "usr/bin/python3")):
            die("floor: no usr/bin/python3 in %s" % rootfs)
        if os.environ.get("BENCH_IN_NS") != "1" or os.getpid() != 1:
            die("floor: not in a PID namespace of its own (run through bench.py compare)")
        self.work = tempfile.mkdtemp(prefix="floor-", dir=os.environ.get("BENCH_TMP"))
        os.chmod(self.work, 0o755)
        self.jd = make_job_dir(self.work, job, self.uid, self.gid)
        self.root = os.path.join(self.work, "root")
        os.mkdir(self.root)
        self.mounts, self.walls = [], []
        self.warm = False
        self.name = "floor"
        self.build(rootfs, s)
        self.result = os.path.join(self.jd, "output", "result.png")

    def build(self, rootfs, s):
        root = self.root
        self.mount("-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", root)
        special = {"code", "input", "output", "tmp", "proc", "dev", "sys", "opt", "run"}
        for e in sorted(os.listdir(rootfs)):
            src, dst = os.path.join(rootfs, e), os.path.join(root, e)
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
            elif os.path.isdir(src) and e not in special:
                os.mkdir(dst)
                self.mount("--bind", src, dst)
                sh("mount", "-o", "remount,bind,ro", dst)
        for e in ("code", "input", "output", "tmp", "proc", "dev", "opt/imgsandbox", "run"):
            os.makedirs(os.path.join(root, e), exist_ok=True)
        for e, ro in (("code", True), ("input", True), ("output", False)):
            self.mount("--bind", os.path.join(self.jd, e), os.path.join(root, e))
            if ro:
                sh("mount", "-o", "remount,bind,ro", os.path.join(root, e))
        self.mount("-t", "tmpfs", "-o", "rw,size=%s,noexec,nosuid,nodev,mode=1777"
                   % s["IMGSANDBOX_TMP_BYTES"], "tmpfs", os.path.join(root, "tmp"))
        self.mount("-t", "proc", "proc", os.path.join(root, "proc"))
        self.mount("--rbind", "/dev", os.path.join(root, "dev"))
        # entry.py where the image has it, compiled as the image's build does.
        shutil.copy(os.path.join(ROOT, "runner_image", "entry.py"),
                    os.path.join(root, "opt/imgsandbox/entry.py"))
        sh("chroot", root, "/usr/bin/python3", "-m", "py_compile", "/opt/imgsandbox/entry.py")
        cpus = s["IMGSANDBOX_CPUS"]
        self.env = {"PATH": SYS_PATH, "HOME": "/tmp", "MPLCONFIGDIR": "/tmp",
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "OMP_NUM_THREADS": cpus, "OPENBLAS_NUM_THREADS": cpus,
                    "MKL_NUM_THREADS": cpus, "NUMEXPR_NUM_THREADS": cpus,
                    "OPENCV_FOR_THREADS_NUM": cpus, "USER_PARAMS": "{}"}

    def mount(self, *args):
        sh("mount", *args)
        self.mounts.append(args[-1])

    def enter(self):
        os.chroot(self.root)
        os.chdir("/tmp")
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)

    def one(self, keep):
        if os.path.exists(self.result):
            os.unlink(self.result)
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/python3", "-I", "/opt/imgsandbox/entry.py"],
                           env=self.env, preexec_fn=self.enter, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=120)
        ms = (time.monotonic() - t0) * 1000
        if p.returncode != 0 or not os.path.isfile(self.result):
            die("floor %s: failed (exit %d): %s" % (
                self.job, p.returncode, p.stderr.decode("utf-8", "replace")[-800:]))
        if keep:
            self.walls.append(ms)

    def close(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], capture_output=True)
        self.mounts = []
        shutil.rmtree(self.work, ignore_errors=True)

    def doc(self):
        return {"kind": "floor", "job": self.job, "wall_ms": self.walls}


class HostPath:
    """The same script run by the host's /usr/bin/python3 -I, no sandbox
    at all (its /input and /output paths rewritten to a folder of its
    own): interpreter start, imports and the script, timed from the spawn
    to the exit. The issue's yardstick for the blur."""

    def __init__(self, job):
        self.job = job
        self.work = tempfile.mkdtemp(prefix="host-", dir=os.environ.get("BENCH_TMP"))
        code, image = job_files(job)
        inp = os.path.join(self.work, "image.png")
        with open(inp, "wb") as f:
            f.write(image or b"")
        self.out = os.path.join(self.work, "result.png")
        self.script = os.path.join(self.work, "main.py")
        with open(self.script, "w") as f:
            f.write(code.replace("/input/image.png", inp).replace("/output/result.png", self.out))
        self.walls = []
        self.warm = False
        self.name = "host python3"

    def one(self, keep):
        if os.path.exists(self.out):
            os.unlink(self.out)
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/python3", "-I", self.script], cwd=self.work,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        ms = (time.monotonic() - t0) * 1000
        if p.returncode != 0 or not os.path.isfile(self.out):
            die("host python3 %s: failed (exit %d): %s" % (
                self.job, p.returncode, p.stderr.decode("utf-8", "replace")[-800:]))
        if keep:
            self.walls.append(ms)

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def doc(self):
        return {"kind": "host", "job": self.job, "wall_ms": self.walls}
