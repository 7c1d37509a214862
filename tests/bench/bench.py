#!/usr/bin/python3
"""The measuring half of `make bench` (bench/run.sh starts and stops the
services; this file sends the requests, times the engine and the
interpreter on their own, and prints the tables).

    bench.py gen DIR                          the inputs: trivial.py, blur.py, photo.jpg
    bench.py compare JOB RUNS DIR NAME=URL... RUNS rounds (after BENCH_WARMUP) of: POST /run
                                              through each service, the same `docker run`
                                              argv by hand, python3 in a chroot of the
                                              runner's rootfs (the floor), in turn
    bench.py load URL NAME CLIENTS SECS OUT [TAG]  closed-loop clients for SECS
    bench.py mem PID NAME PHASE OUT           VmRSS of the responders under serve.sh PID
    bench.py api URL NAME PATH OUT            wrk against a GET
    bench.py table PART DIR                   prints one part's markdown table

Each measuring command writes one JSON file; `table` reads them all from
DIR. Only the Python standard library, plus PIL and NumPy for `gen`.
Loopback only: every URL must be http://127.0.0.1:...
"""
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
ROOTFS = os.environ.get("BENCH_ROOTFS", "/var/cache/imgsandbox/rootfs-current")
INPUTS = os.environ.get("BENCH_INPUTS", "")

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
TIMING_KEYS = ["job_ms", "parse_ms", "checks_ms", "slot_wait_ms", "prepare_ms",
               "sandbox_ms", "container_start_ms", "script_ms", "container_exit_ms",
               "remove_ms", "result_ms", "log_ms", "total_ms"]
# Parts of sandbox_ms (from the script's own start/end record), shown indented.
SANDBOX_PARTS = ("container_start_ms", "script_ms", "container_exit_ms")


def say(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def die(*a):
    say(*a)
    sys.exit(1)


def save(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def pct(xs, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def loopback(url):
    if not re.match(r"^http://127\.0\.0\.1:\d+(/|$)", url):
        die("refusing to send load anywhere but 127.0.0.1: %s" % url)
    return url.rstrip("/")


# --- inputs ----------------------------------------------------------------

def cmd_gen(outdir):
    """A deterministic photo-like 2048x2048 JPEG (smooth light, a horizon,
    discs, multi-scale noise and grain) and the two scripts."""
    import numpy as np
    from PIL import Image

    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(20240607)
    n = 2048
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    sky = np.stack([0.35 + 0.3 * y, 0.55 + 0.25 * y, 0.9 - 0.2 * y], -1)
    ground = np.stack([0.25 + 0.2 * x, 0.4 + 0.1 * (1 - y), 0.15 + 0.05 * x], -1)
    horizon = 0.55 + 0.05 * np.sin(x * 9.0) + 0.03 * np.sin(x * 23.0 + 1.0)
    img = np.where((y > horizon)[..., None], ground, sky).astype(np.float32)
    for _ in range(60):  # discs with soft edges: "objects", done in their box
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.01, 0.12)
        col = rng.uniform(0.05, 0.95, 3).astype(np.float32)
        y0, y1 = max(0, int((cy - r) * n)), min(n, int((cy + r) * n) + 1)
        x0, x1 = max(0, int((cx - r) * n)), min(n, int((cx + r) * n) + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        d = np.hypot(x[y0:y1, x0:x1] - cx, y[y0:y1, x0:x1] - cy) / r
        m = (np.clip((1 - d) * 6, 0, 1) * 0.85)[..., None]
        box = img[y0:y1, x0:x1]
        img[y0:y1, x0:x1] = box * (1 - m) + col * (0.7 + 0.3 * (1 - d[..., None])) * m
    tex = np.zeros((n, n), np.float32)  # fractal texture, 8 octaves
    for o in range(1, 9):
        s = 2 ** o
        g = rng.standard_normal((s + 1, s + 1)).astype(np.float32)
        up = np.asarray(Image.fromarray(g, mode="F").resize((n, n), Image.BICUBIC))
        tex += up / (o ** 1.2)
    tex = tex / np.abs(tex).max()
    img *= 1 + 0.3 * tex[..., None]
    img += rng.standard_normal(img.shape, dtype=np.float32) * 0.02  # sensor grain
    arr = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    Image.fromarray(arr, "RGB").save(os.path.join(outdir, "photo.jpg"), quality=90,
                                     subsampling=0, optimize=False)
    with open(os.path.join(outdir, "trivial.py"), "w") as f:
        f.write(TRIVIAL)
    with open(os.path.join(outdir, "blur.py"), "w") as f:
        f.write(BLUR)
    say("inputs in %s: photo.jpg %d bytes" % (outdir, os.path.getsize(os.path.join(outdir, "photo.jpg"))))


def job_files(job):
    """(code text, image bytes or None) of 'trivial' or 'blur'."""
    if job == "trivial":
        return TRIVIAL, None
    if job == "blur":
        with open(os.path.join(INPUTS, "photo.jpg"), "rb") as f:
            return BLUR, f.read()
    die("unknown job %r" % job)


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


def post_run(url, body, ctype, timeout=120):
    """(http status, parsed JSON or None, wall ms)."""
    req = urllib.request.Request(url + "/run", data=body, method="POST",
                                 headers={"Content-Type": ctype})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    ms = (time.monotonic() - t0) * 1000
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    return status, doc, ms


def job_body(job):
    code, image = job_files(job)
    fields = [("code", code)]
    if image is not None:
        fields.append(("image", ("photo.jpg", image)))
    return multipart(fields)


# --- the paths compared ---------------------------------------------------------
# Each path runs the same job once per call of one() and returns its record;
# cmd_compare calls them in turn (the order rotates each round), so that
# whatever else the machine does falls on every path alike.

class ServicePath:
    """POST /run through one of our services; the client's wall clock and
    the answer's "timings"."""

    def __init__(self, name, url, job):
        self.name, self.url, self.job = name, loopback(url), job
        self.body, self.ctype = job_body(job)
        self.walls, self.timings = [], []

    def one(self, keep):
        status, doc, ms = post_run(self.url, self.body, self.ctype)
        if status != 200 or not doc or doc.get("status") != "success":
            die("%s %s: answered %s: %s" % (self.name, self.job, status,
                json.dumps(doc)[:600] if doc else "(not JSON)"))
        if keep:
            self.walls.append(ms)
            self.timings.append(doc.get("timings") or {})

    def close(self):
        pass

    def doc(self):
        return {"kind": "latency", "name": self.name, "job": self.job,
                "wall_ms": self.walls, "timings": self.timings}


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
    """A job folder laid out as shared/jobs.c makes it."""
    code, image = job_files(job)
    d = tempfile.mkdtemp(prefix="job-", dir=parent)
    os.chmod(d, 0o711)
    for sub in ("code", "input"):
        os.mkdir(os.path.join(d, sub), 0o755)
    os.mkdir(os.path.join(d, "output"), 0o700)
    try:
        os.chown(os.path.join(d, "output"), uid, gid)
    except PermissionError:  # not root: as jobs.c, writable by anyone
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


class DirectPath:
    """`docker run` with the argv of shared/docker.c docker_run_argv
    (printed by `responder --docker-argv`: one copy of the flags), then `docker rm
    --force --volumes`, as the responder does; each timed from the client's
    start to its exit, with the client's stdout and stderr on pipes."""

    def __init__(self, job, s):
        self.job, self.s = job, s
        self.uid, self.gid = (int(v) for v in s["IMGSANDBOX_USER"].split(":"))
        self.work = tempfile.mkdtemp(prefix="direct-", dir=os.environ.get("BENCH_TMP"))
        os.chmod(self.work, 0o755)
        conf = os.path.join(self.work, "docker-config")
        os.mkdir(conf, 0o700)
        self.instance = os.environ.get("BENCH_DIRECT_INSTANCE", "bench-direct-%d" % os.getpid())
        self.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "DOCKER_CONFIG": conf, "USER_PARAMS": "{}"}  # as docker_envp, no params
        if s.get("IMGSANDBOX_DOCKER_HOST"):
            self.env["DOCKER_HOST"] = s["IMGSANDBOX_DOCKER_HOST"]
        self.client = shutil.which(s["IMGSANDBOX_DOCKER"]) or s["IMGSANDBOX_DOCKER"]
        self.timeout_s = int(s["IMGSANDBOX_TIMEOUT_MS"]) / 1000
        self.run_ms, self.rm_ms = [], []

    def argv(self, name, jid, d):
        """The responder's own docker_run_argv for this job folder (one copy
        of the flags, in shared/docker.c)."""
        out = subprocess.run([os.path.join(BUILD, "responder"), "--docker-argv",
                              self.instance, jid, d], capture_output=True, check=True,
                             env=dict(os.environ, **{k: v for k, v in self.s.items()
                                                     if k.startswith("IMGSANDBOX_")}))
        a = out.stdout.decode().split("\0")[:-1]
        assert a[2] == "--name=" + name, a[:3]
        return a

    def one(self, keep):
        d = make_job_dir(self.work, self.job, self.uid, self.gid)
        jid = uuid.uuid4().hex
        name = "imgsandbox-%s" % jid
        argv = self.argv(name, jid, d)
        t0 = time.monotonic()
        p = subprocess.run(argv, env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=self.timeout_s + 30)
        t1 = time.monotonic()
        r = subprocess.run([self.client, "rm", "--force", "--volumes", name], env=self.env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        t2 = time.monotonic()
        ok = p.returncode == 0 and os.path.isfile(os.path.join(d, "output", "result.png"))
        shutil.rmtree(d, ignore_errors=True)
        if not ok or r.returncode != 0:
            die("direct %s: failed (exit %d): %s" % (
                self.job, p.returncode, (p.stderr + r.stderr).decode("utf-8", "replace")[-800:]))
        if keep:
            self.run_ms.append((t1 - t0) * 1000)
            self.rm_ms.append((t2 - t1) * 1000)

    def close(self):
        left = subprocess.run([self.client, "ps", "-aq", "--filter",
                               "label=imgsandbox.instance=" + self.instance],
                              env=self.env, capture_output=True, text=True).stdout.split()
        if left:
            subprocess.run([self.client, "rm", "--force"] + left, env=self.env,
                           capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def doc(self):
        return {"kind": "direct", "name": "docker run", "job": self.job,
                "wall_ms": [a + b for a, b in zip(self.run_ms, self.rm_ms)],
                "run_ms": self.run_ms, "rm_ms": self.rm_ms,
                "argv_example": self.argv("imgsandbox-<job>", "<job>", "<job folder>")}


def sh(*argv):
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


class FloorPath:
    """python3 -I entry.py on the same script in a chroot of the runner's
    root filesystem, as the sandbox's user, with the sandbox's environment,
    /tmp a tmpfs, /code /input /output bind mounts. The chroot is assembled
    over a tmpfs with each top-level folder of the rootfs bind-mounted
    read-only, inside the private mount namespace cmd_compare runs in
    (unshare): the rootfs is not written and every mount goes away with the
    namespace (and is unmounted by close() before that)."""

    def __init__(self, job, s):
        self.job = job
        self.uid, self.gid = (int(v) for v in s["IMGSANDBOX_USER"].split(":"))
        rootfs = os.path.realpath(ROOTFS)
        if not os.path.isfile(os.path.join(rootfs, "usr/bin/python3")):
            die("floor: no usr/bin/python3 in %s" % rootfs)
        self.work = tempfile.mkdtemp(prefix="floor-", dir=os.environ.get("BENCH_TMP"))
        os.chmod(self.work, 0o755)
        self.jd = make_job_dir(self.work, job, self.uid, self.gid)
        self.root = root = os.path.join(self.work, "root")
        os.mkdir(root)
        self.mounts = []
        self.walls = []
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
        self.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME": "/tmp", "MPLCONFIGDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1",
                    "OMP_NUM_THREADS": cpus, "OPENBLAS_NUM_THREADS": cpus,
                    "MKL_NUM_THREADS": cpus, "NUMEXPR_NUM_THREADS": cpus,
                    "OPENCV_FOR_THREADS_NUM": cpus, "USER_PARAMS": "{}"}
        self.result = os.path.join(self.jd, "output", "result.png")

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
        return {"kind": "floor", "name": "chroot python3", "job": self.job,
                "wall_ms": self.walls}


def cmd_compare(job, runs, outdir, services):
    """RUNS rounds (after BENCH_WARMUP) of: POST /run through each service
    (NAME=URL), the same `docker run` by hand, python3 in the chroot."""
    floor = (os.geteuid() == 0 and os.environ.get("BENCH_FLOOR", "1") == "1" and
             os.path.isfile(os.path.join(os.path.realpath(ROOTFS), "usr/bin/python3")))
    if floor and os.environ.get("BENCH_IN_NS") != "1":
        os.environ["BENCH_IN_NS"] = "1"
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private",
                              sys.executable, os.path.abspath(__file__), "compare",
                              job, str(runs), outdir] + services)
    s = settings()
    paths = []
    try:
        for kv in services:
            name, url = kv.split("=", 1)
            paths.append((name, ServicePath(name, url, job)))
        paths.append(("direct", DirectPath(job, s)))
        if floor:
            paths.append(("floor", FloorPath(job, s)))
        else:
            say("no chroot floor (it needs root and %s)" % ROOTFS)
        warm = int(os.environ.get("BENCH_WARMUP", "1"))
        for i in range(warm + runs):
            k = i % len(paths)
            for name, p in paths[k:] + paths[:k]:
                p.one(i >= warm)
                if name == "warm":
                    # Its responder starts the next warm container right
                    # after answering; let that start end before another
                    # path is timed (the load part measures back-to-back).
                    time.sleep(float(os.environ.get("BENCH_WARM_SETTLE_S", "1.5")))
            if i >= warm and (i - warm + 1) % 5 == 0:
                say("%s: %d of %d rounds" % (job, i - warm + 1, runs))
    finally:
        for name, p in paths:
            p.close()
    for name, p in paths:
        d = p.doc()
        save(os.path.join(outdir, "%s-%s-%s.json" % (d["kind"], job, name)), d)
        w = d["wall_ms"]
        say("%-9s %-7s p50 %7.0f ms  p95 %7.0f ms" % (name, job, pct(w, 50), pct(w, 95)))


# --- parallel load --------------------------------------------------------------

def cmd_load(url, name, clients, seconds, out, tag=""):
    """CLIENTS closed-loop clients, each POSTing the trivial job back to back
    for SECONDS (no new request after that; those in flight finish)."""
    url = loopback(url)
    body, ctype = job_body(os.environ.get("BENCH_LOAD_JOB", "trivial"))
    lock = threading.Lock()
    rec = []
    t_start = time.monotonic()
    t_stop = t_start + seconds

    def client():
        while time.monotonic() < t_stop:
            t0 = time.monotonic()
            try:
                status, doc, ms = post_run(url, body, ctype, timeout=120)
                ok = status == 200 and doc is not None and doc.get("status") == "success"
            except Exception as e:  # a refused connection, a timeout: counted
                status, ok, ms = "error: %s" % type(e).__name__, False, 0
            with lock:
                rec.append((t0 - t_start, time.monotonic() - t_start, status, ok, ms))

    ts = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 180)
    elapsed = max([r[1] for r in rec] + [seconds])
    okl = [r[4] for r in rec if r[3]]
    res = {"kind": "load", "name": name, "tag": tag, "clients": clients,
           "seconds": seconds, "elapsed_s": elapsed, "requests": len(rec),
           "ok": len(okl), "busy_429": sum(1 for r in rec if r[2] == 429),
           "other": sum(1 for r in rec if not r[3] and r[2] != 429),
           "other_statuses": sorted({str(r[2]) for r in rec if not r[3] and r[2] != 429}),
           "ok_ms": okl}
    save(out, res)
    say("%-9s %d clients%s: %d ok, %d 429, %d other in %.1f s" % (
        name, clients, tag and " (%s)" % tag, res["ok"], res["busy_429"], res["other"], elapsed))


# --- memory ------------------------------------------------------------------

def procs():
    """{pid: (ppid, comm)} of every process."""
    out = {}
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/stat") as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        out[int(d[6:])] = (ppid, comm)
    return out


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cmd_mem(pid, name, phase, out):
    """VmRSS of the supervise process(es) under serve.sh PID, of each of
    their children (the responders), and of the web server. Waits (10 s at
    most) for RESPONDERS responders: the server may answer before supervise
    has started them all."""
    want = int(os.environ.get("RESPONDERS", "4"))
    for _ in range(100):
        ps = procs()
        sup = [p for p, (pp, comm) in ps.items() if comm == "supervise"]
        if sum(1 for p, (pp, comm) in ps.items() if pp in sup and comm == "responder") >= want:
            break
        time.sleep(0.1)
    kids = {}
    for p, (pp, _) in ps.items():
        kids.setdefault(pp, []).append(p)
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += kids.get(p, [])
    rows = []
    for p in sorted(tree):
        comm = ps.get(p, (0, "?"))[1]
        if comm == "supervise":
            rows.append({"pid": p, "role": "supervise", "rss_kib": rss_kib(p)})
            for c in sorted(kids.get(p, [])):
                rows.append({"pid": c, "role": "responder", "rss_kib": rss_kib(c)})
        elif comm in ("lighttpd", "nginx"):
            rows.append({"pid": p, "role": comm, "rss_kib": rss_kib(p)})
    if not any(r["role"] == "responder" for r in rows):
        die("mem: no responders found under pid %d" % pid)
    doc = {"kind": "mem", "name": name, "phases": {}}
    if os.path.exists(out):
        with open(out) as f:
            doc = json.load(f)
    doc["phases"][phase] = rows
    save(out, doc)


# --- API reads with wrk ---------------------------------------------------------

def cmd_api(url, name, path, out):
    url = loopback(url)
    res = {"kind": "api", "name": name, "path": path}
    try:
        with urllib.request.urlopen(url + path, timeout=30) as r:
            status, first = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, first = e.code, e.read()
    except Exception as e:
        status, first = "error: %s" % e, b""
    res["status"] = status
    res["bytes"] = len(first)
    if status != 200:
        res["na"] = True
        save(out, res)
        say("%-9s %s: %s, n/a" % (name, path, status))
        return
    dur = os.environ.get("BENCH_WRK_SECONDS", "5")
    argv = ["wrk", "--latency", "-t", os.environ.get("BENCH_WRK_THREADS", "2"),
            "-c", os.environ.get("BENCH_WRK_CONNS", "8"), "-d", dur + "s",
            "--timeout", "10s", url + path]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=int(dur) + 60)
    txt = p.stdout
    res["wrk"] = txt

    def unit_ms(v, u):
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]

    m = re.search(r"Requests/sec:\s+([\d.]+)", txt)
    res["rps"] = float(m.group(1)) if m else None
    for q in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % q, txt, re.M)
        res["p%s_ms" % q] = unit_ms(*m.groups()) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", txt)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"(\d+) requests in", txt)
    res["requests"] = int(m.group(1)) if m else None
    save(out, res)
    say("%-9s %s: %s req/s" % (name, path, res["rps"]))


# --- tables ----------------------------------------------------------------------

def load_all(d):
    docs = []
    for p in sorted(glob.glob(os.path.join(d, "*.json"))):
        with open(p) as f:
            docs.append(json.load(f))
    return docs


def ms(v):
    if v is None:
        return "n/a"
    return "%.0f" % v if v >= 10 else "%.1f" % v if v >= 1 else "%.2f" % v


def ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "n/a"


PATH_LABELS = {"warm": "lighttpd, warm sandbox (IMGSANDBOX_WARM=1)"}


def table_latency(docs):
    jobs = [("trivial", "trivial (64x64 PNG)"), ("blur", "blur (2048x2048, Pillow)")]
    lat = {(d["name"], d["job"]): d for d in docs if d["kind"] == "latency"}
    dire = {d["job"]: d for d in docs if d["kind"] == "direct"}
    flo = {d["job"]: d for d in docs if d["kind"] == "floor"}
    servers = sorted({n for n, _ in lat})
    print("| job | path | runs | p50 ms | p95 ms | ours/docker-direct (p50) | ours/chroot-floor (p50) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for job, label in jobs:
        dd, ff = dire.get(job), flo.get(job)
        d50 = pct(dd["wall_ms"], 50) if dd else None
        f50 = pct(ff["wall_ms"], 50) if ff else None
        for s in servers:
            x = lat.get((s, job))
            if not x:
                continue
            w = x["wall_ms"]
            print("| %s | POST /run via %s | %d | %s | %s | %s | %s |" % (
                label, PATH_LABELS.get(s, s), len(w), ms(pct(w, 50)), ms(pct(w, 95)),
                ratio(pct(w, 50), d50), ratio(pct(w, 50), f50)))
        if dd:
            print("| %s | `docker run` + `docker rm`, same flags, by hand | %d | %s | %s | 1.00x | %s |" % (
                label, len(dd["wall_ms"]), ms(d50), ms(pct(dd["wall_ms"], 95)), ratio(d50, f50)))
        if ff:
            print("| %s | `python3` in a chroot of the rootfs (floor) | %d | %s | %s | | 1.00x |" % (
                label, len(ff["wall_ms"]), ms(f50), ms(pct(ff["wall_ms"], 95))))
    if not flo:
        print("\n(no chroot floor: it needs root and %s)" % ROOTFS)


def table_steps(docs):
    lat = [d for d in docs if d["kind"] == "latency"]
    dire = {d["job"]: d for d in docs if d["kind"] == "direct"}
    cols = [(d["name"], d["job"]) for d in sorted(lat, key=lambda d: (d["job"] != "trivial", d["name"]))]
    print("| step (p50 ms) | " + " | ".join("%s %s" % (j, n) for n, j in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    by = {(d["name"], d["job"]): d for d in lat}
    for k in TIMING_KEYS:
        vals = []
        for c in cols:
            xs = [t[k] for t in by[c]["timings"] if k in t]
            vals.append("%g" % round(statistics.median(xs), 1) if xs else "n/a")
        lab = k[:-3] if k != "total_ms" else "**total (in the responder)**"
        if k in SANDBOX_PARTS:
            lab = "&nbsp;&nbsp;of which " + lab
        print("| %s | %s |" % (lab, " | ".join(vals)))
    vals = [ms(statistics.median(by[c]["wall_ms"])) for c in cols]
    print("| client wall clock | %s |" % " | ".join(vals))
    vals = []
    for n, j in cols:
        dd = dire.get(j)
        vals.append(ms(statistics.median(dd["run_ms"])) + " / " + ms(statistics.median(dd["rm_ms"]))
                    if dd else "n/a")
    print("| by hand: `docker run` / `docker rm` | %s |" % " | ".join(vals))

    # The same p50s, as a sum: the script, the engine, us.
    flo = {d["job"]: d for d in docs if d["kind"] == "floor"}
    names = sorted({n for n, _ in by})
    if not names or not dire:
        return
    print()
    print("| job (p50 ms) | python3 + script (chroot floor) | container start and stop "
          "(`docker run` by hand - floor) | `docker rm` | ours - by hand (%s) | ours (%s) |"
          % (" / ".join(names), " / ".join(names)))
    print("|---|---:|---:|---:|---:|---:|")
    for job in ("trivial", "blur"):
        dd, ff = dire.get(job), flo.get(job)
        if not dd or not all((n, job) in by for n in names):
            continue
        run50, rm50 = statistics.median(dd["run_ms"]), statistics.median(dd["rm_ms"])
        hand = statistics.median(dd["wall_ms"])
        f50 = statistics.median(ff["wall_ms"]) if ff else None
        ours = [statistics.median(by[(n, job)]["wall_ms"]) for n in names]
        print("| %s | %s | %s | %s | %s | %s |" % (
            job, ms(f50), ms(run50 - f50) if f50 is not None else "n/a", ms(rm50),
            " / ".join("%+.0f" % (o - hand) for o in ours), " / ".join(ms(o) for o in ours)))


def table_load(docs):
    ld = sorted([d for d in docs if d["kind"] == "load"],
                key=lambda d: (d["tag"] != "", d["name"], d["clients"]))
    print("| server | clients | slot wait | seconds | runs/s (200 success) | 429 | 429 rate | other | p50 ms | p95 ms |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for d in ld:
        ok = d["ok_ms"]
        print("| %s | %d | %s | %.1f | %.2f | %d | %.0f%% | %d%s | %s | %s |" % (
            d["name"], d["clients"], d["tag"] or "default", d["elapsed_s"],
            d["ok"] / d["elapsed_s"], d["busy_429"],
            100.0 * d["busy_429"] / max(1, d["requests"]), d["other"],
            (" (%s)" % ",".join(d["other_statuses"])) if d["other"] else "",
            ms(pct(ok, 50)) if ok else "n/a", ms(pct(ok, 95)) if ok else "n/a"))


def table_api(docs):
    api = [d for d in docs if d["kind"] == "api"]
    order = {"summary": 0, "failures": 1, "hello": 2}
    api.sort(key=lambda d: (d["name"].split()[0], order.get(
        "hello" if "hello" in d["name"] else ("failures" if "failures" in d["path"] else "summary"), 9)))
    print("| server | GET | requests/s | p50 ms | p99 ms | non-2xx | body bytes |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for d in api:
        if d.get("na"):
            print("| %s | %s | n/a (%s) | | | | |" % (d["name"], d["path"], d["status"]))
        else:
            print("| %s | %s | %.0f | %s | %s | %d | %d |" % (
                d["name"], d["path"], d["rps"] or 0, ms(d["p50_ms"]), ms(d["p99_ms"]),
                d["non2xx"], d["bytes"]))
    if any(d.get("na") for d in api):
        print("\nn/a: the endpoint did not answer 200 (404: not built into the responder yet).")


def table_mem(docs):
    print("| server | process | pid | VmRSS idle (KiB) | VmRSS after load (KiB) |")
    print("|---|---|---:|---:|---:|")
    for d in sorted([d for d in docs if d["kind"] == "mem"], key=lambda d: d["name"]):
        idle = {r["pid"]: r for r in d["phases"].get("idle", [])}
        end = {r["pid"]: r for r in d["phases"].get("end", [])}
        for pid in sorted(set(idle) | set(end), key=lambda p: (
                ["supervise", "responder"].index((idle.get(p) or end.get(p))["role"])
                if (idle.get(p) or end.get(p))["role"] in ("supervise", "responder") else 2, p)):
            r = idle.get(pid) or end.get(pid)
            a = idle.get(pid, {}).get("rss_kib")
            b = end.get(pid, {}).get("rss_kib")
            print("| %s | %s | %d | %s | %s |" % (d["name"], r["role"], pid,
                  a if a is not None else "(not yet)", b if b is not None else "(gone)"))


def cmd_table(part, d):
    docs = load_all(d)
    {"latency": table_latency, "steps": table_steps, "load": table_load,
     "api": table_api, "mem": table_mem}[part](docs)


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    c, a = argv[1], argv[2:]
    if c == "gen":
        cmd_gen(a[0])
    elif c == "compare":
        cmd_compare(a[0], int(a[1]), a[2], a[3:])
    elif c == "load":
        cmd_load(a[0], a[1], int(a[2]), float(a[3]), a[4], a[5] if len(a) > 5 else "")
    elif c == "mem":
        cmd_mem(int(a[0]), a[1], a[2], a[3])
    elif c == "api":
        cmd_api(a[0], a[1], a[2], a[3])
    elif c == "table":
        cmd_table(a[0], a[1])
    else:
        die(__doc__)


def on_term(sig, frame):
    raise SystemExit(128 + sig)  # so that the finally blocks clean up


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, on_term)
    main(sys.argv)
