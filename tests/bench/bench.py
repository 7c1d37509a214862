#!/usr/bin/python3
"""The measuring half of `make bench` (run.sh starts and stops the
services; this file sends the requests, times the engine and the
interpreter on their own, and prints the tables, in tables.py).

    bench.py gen DIR                           the inputs (scripts, photo.jpg, sample.png)
    bench.py compare JOB RUNS DIR [SPEC=URL...] RUNS rounds (after BENCH_WARMUP) of: POST
                                               /run through each service (SPEC: server/mode),
                                               and, unless BENCH_BASELINES=0, the same
                                               `docker run` argv by hand and python3 in a
                                               chroot of the runner's rootfs, in turn
    bench.py b2b URL SPEC JOB RUNS OUT         RUNS requests back to back (no pause)
    bench.py warmstart LABEL PRELOAD N OUT     N warm sandboxes started by hand: time to
                                               ready, CPU to ready, memory held waiting
    bench.py poolmem INSTANCE LABEL OUT        memory of a service's waiting sandboxes
    bench.py load URL NAME CLIENTS SECS OUT    closed-loop clients for SECS, each from an
                                               address of its own; where the CPU went
    bench.py burst URL NAME CLIENTS RUNS OUT   CLIENTS clients x RUNS runs back to back: 429s
    bench.py acct PID FOLDER                   serve.sh PID's processes into cpuacct cgroups
    bench.py mem PID NAME PHASE OUT            VmRSS of the processes under serve.sh PID
    bench.py api URL NAME TARGET PATH OUT      wrk against a GET
    bench.py slow URL NAME OUT                 reads of the summary, idle and while 64
                                               connections trickle
    bench.py busy                              the processes busy over the next second
    bench.py table PART DIR                    prints one part's markdown table

Each measuring command writes one JSON file; `table` reads them all from
DIR. Only the Python standard library, plus PIL and NumPy for `gen`.
Loopback only: every URL must be http://127.0.0.1:...
"""
import glob
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paths  # noqa: E402
from paths import ROOT, ROOTFS, die, loopback, post_run, say  # noqa: E402


def save(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def env_f(name, default):
    return float(os.environ.get(name, default))


# --- inputs ----------------------------------------------------------------

def cmd_gen(outdir):
    """A deterministic photo-like 2048x2048 JPEG (smooth light, a horizon,
    discs, multi-scale noise and grain), the scripts, the sample image."""
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
        f.write(paths.TRIVIAL)
    with open(os.path.join(outdir, "blur.py"), "w") as f:
        f.write(paths.BLUR)
    for f in ("edges_opencv.py", "threshold_skimage.py"):
        shutil.copy(os.path.join(ROOT, "static", "examples", f), outdir)
    shutil.copy(os.path.join(ROOT, "static", "sample.png"), outdir)
    say("inputs in %s: photo.jpg %d bytes" % (outdir, os.path.getsize(os.path.join(outdir, "photo.jpg"))))


# --- latency: the paths in turn ------------------------------------------------

def reexec_in_namespaces(argv):
    """The chroot floor's mounts and its kill(-1) stay in namespaces of
    their own: this command again, as PID 1 of a new PID namespace with a
    private mount namespace."""
    os.environ["BENCH_IN_NS"] = "1"
    os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
                          sys.executable, os.path.abspath(__file__)] + argv)


def cmd_compare(job, runs, outdir, specs):
    """RUNS rounds (after BENCH_WARMUP) of each path, the order rotating
    each round so that whatever else the machine does falls on every path
    alike. Each service request is followed by a pause: BENCH_WARM_SETTLE_S
    after a warm one (its replacement starts, the used container goes),
    BENCH_SETTLE_S after the others (the container's removal)."""
    baselines = os.environ.get("BENCH_BASELINES", "1") == "1"
    floor = (baselines and os.geteuid() == 0 and os.environ.get("BENCH_FLOOR", "1") == "1" and
             os.path.isfile(os.path.join(os.path.realpath(ROOTFS), "usr/bin/python3")))
    if floor and os.environ.get("BENCH_IN_NS") != "1":
        reexec_in_namespaces(["compare", job, str(runs), outdir] + specs)
    warm_settle, settle = env_f("BENCH_WARM_SETTLE_S", 1.5), env_f("BENCH_SETTLE_S", 0.3)
    s = paths.settings()
    ps = []
    try:
        for kv in specs:
            spec, url = kv.split("=", 1)
            ps.append(paths.ServicePath(spec, url, job))
        if baselines:
            ps.append(paths.DirectPath(job, s))
            ps.append(paths.HostPath(job))
        if floor:
            ps.append(paths.FloorPath(job, s))
        elif baselines:
            say("no chroot floor (it needs root and %s)" % ROOTFS)
        warm = int(os.environ.get("BENCH_WARMUP", "1"))
        for i in range(warm + runs):
            k = i % len(ps)
            for p in ps[k:] + ps[:k]:
                p.one(i >= warm)
                if isinstance(p, paths.ServicePath):
                    time.sleep(warm_settle if p.warm else settle)
            if i >= warm and (i - warm + 1) % 5 == 0:
                say("%s: %d of %d rounds" % (job, i - warm + 1, runs))
    finally:
        for p in ps:
            p.close()
    for p in ps:
        d = p.doc()
        d["pace_s"] = warm_settle if p.warm else settle
        tail = "-".join(x for x in (d.get("server"), d.get("mode")) if x)
        save(os.path.join(outdir, "%s-%s%s.json" % (d["kind"], job, tail and "-" + tail)), d)
        w = d["wall_ms"] or [float("nan")]
        say("%-16s %-7s p50 %7.0f ms  p95 %7.0f ms%s" % (
            getattr(p, "name", d["kind"]), job, pct(w, 50), pct(w, 95),
            "  (%d failed)" % len(d["failed"]) if d.get("failed") else ""))


def pct(xs, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def cmd_b2b(url, spec, job, runs, out):
    """RUNS requests one after the other with no pause (after a settle, so
    that the pool is full at the first)."""
    time.sleep(2 * env_f("BENCH_WARM_SETTLE_S", 1.5))
    p = paths.ServicePath(spec, url, job)
    for _ in range(runs):
        p.one(True)
    d = p.doc()
    d["kind"] = "b2b"
    save(out, d)
    say("%s %s back to back: p50 %.0f ms, %d of %d warm" % (
        spec, job, pct(d["wall_ms"] or [float("nan")], 50), d["sandbox"].count("docker-warm"), runs))


# --- what a waiting warm sandbox holds -------------------------------------------

def container_mem(name):
    """{rss_anon_kib, vm_rss_kib, cg_rss_kib, cpu_ms} of a running
    container: its init process's status (python, alone in there) and
    its cgroup (v1: memory and cpuacct under docker/<id>)."""
    out = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}} {{.Id}}", name],
                         capture_output=True, text=True)
    r = {}
    try:
        pid, cid = out.stdout.split()
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("RssAnon", "VmRSS"):
                    r[{"RssAnon": "rss_anon_kib", "VmRSS": "vm_rss_kib"}[k]] = int(v.split()[0])
        with open("/sys/fs/cgroup/memory/docker/%s/memory.stat" % cid) as f:
            st = dict(line.split() for line in f)
        r["cg_rss_kib"] = int(st["total_rss"]) // 1024
        with open("/sys/fs/cgroup/cpuacct/docker/%s/cpuacct.usage" % cid) as f:
            r["cpu_ms"] = int(f.read()) / 1e6
    except (ValueError, OSError, KeyError):
        pass
    return r


def docker_stats(names):
    """{name: MemUsage in MiB} from `docker stats --no-stream`."""
    if not names:
        return {}
    out = subprocess.run(["docker", "stats", "--no-stream", "--format",
                          "{{.Name}} {{.MemUsage}}"] + names, capture_output=True, text=True)
    r = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^(\S+) ([\d.]+)([KMG]i?B)", line)
        if m:
            r[m.group(1)] = float(m.group(2)) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024,
                                                 "kB": 1 / 1024, "MB": 1, "GB": 1024}.get(m.group(3), 1)
    return r


def read_ready(p, timeout):
    """Reads the sandbox's stdout until its ready line; True when it came."""
    buf, until = b"", time.monotonic() + timeout
    fd = p.stdout.fileno()
    while time.monotonic() < until:
        r, _, _ = select.select([fd], [], [], max(0, until - time.monotonic()))
        if not r:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            return False
        buf += chunk
        if re.search(re.escape(paths.PREFIX + "READY").encode() + rb"(\n| [^\n]*\n)", buf):
            return True
    return False


def cmd_warmstart(label, preload, n, out):
    """N warm sandboxes started by hand with the keeper's argv and PRELOAD,
    one at a time: the time from `docker run` to the ready line, the CPU
    the container used by then, what it holds while it waits (RssAnon of
    its Python, the cgroup's rss, `docker stats` of the last)."""
    s = paths.settings()
    work = tempfile.mkdtemp(prefix="warmstart-", dir=os.environ.get("BENCH_TMP"))
    os.chmod(work, 0o755)
    eng = paths.Engine(s, work)
    rec = {"kind": "warmstart", "label": label, "preload": preload, "ready_ms": [],
           "cpu_ms": [], "rss_anon_kib": [], "cg_rss_kib": [], "stats_mib": None}
    try:
        for i in range(n):
            d = paths.make_job_dir(work, None, eng.uid, eng.gid)
            jid = uuid.uuid4().hex
            name = "imgsandbox-" + jid
            argv = eng.warm_argv(name, jid, d, preload)
            t0 = time.monotonic()
            p = subprocess.Popen(argv, env=eng.env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            ok = read_ready(p, 60)
            ms = (time.monotonic() - t0) * 1000
            if not ok:
                p.kill()
                eng.rm(name)
                die("warmstart %s: no ready line in 60 s" % label)
            time.sleep(0.5)  # what it holds once settled
            m = container_mem(name)
            if i == n - 1:
                rec["stats_mib"] = docker_stats([name]).get(name)
            p.stdin.close()  # no job: entry.py ends quietly
            p.wait(30)
            eng.rm(name)
            shutil.rmtree(d, ignore_errors=True)
            rec["ready_ms"].append(ms)
            for k in ("cpu_ms", "rss_anon_kib", "cg_rss_kib"):
                if k in m:
                    rec[k].append(m[k])
            time.sleep(env_f("BENCH_SETTLE_S", 0.3))
    finally:
        eng.remove_all()
        shutil.rmtree(work, ignore_errors=True)
    save(out, rec)
    say("warm start %s: ready in %.0f ms (p50), %s KiB anonymous" % (
        label, pct(rec["ready_ms"], 50), rec["rss_anon_kib"][-1:] or "?"))


def cmd_poolmem(instance, label, out):
    """What the waiting sandboxes of a running service hold."""
    ids = subprocess.run(["docker", "ps", "--format", "{{.Names}}", "--filter",
                          "label=imgsandbox.instance=" + instance],
                         capture_output=True, text=True).stdout.split()
    stats = docker_stats(ids)
    rows = [dict(container_mem(n), name=n, stats_mib=stats.get(n)) for n in ids]
    save(out, {"kind": "poolmem", "label": label, "instance": instance, "rows": rows})
    say("pool %s: %d waiting sandboxes, %s MiB each (docker stats)" % (
        label, len(rows), [round(r["stats_mib"] or 0, 1) for r in rows]))


# --- parallel load --------------------------------------------------------------

def host_cpu_ms():
    """CPU time the whole machine has spent busy (every core), in ms."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle, iowait
    return (sum(v[:8]) - idle) * 1000 / os.sysconf("SC_CLK_TCK")


HZ = os.sysconf("SC_CLK_TCK")
CPUACCT = "/sys/fs/cgroup/cpuacct"


def cg_ms(path):
    """cpuacct.usage of a cgroup v1 folder (it keeps what its exited
    processes used), ms; None when there is none."""
    try:
        with open(os.path.join(path, "cpuacct.usage")) as f:
            return int(f.read()) / 1e6
    except (OSError, ValueError, TypeError):
        return None


def proc_stats():
    """{pid: (comm, ppid, starttime, own ticks, reaped children's ticks)}."""
    out = {}
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        out[int(d[6:])] = (st[st.index("(") + 1:st.rindex(")")], int(rest[1]), int(rest[19]),
                           int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]))
    return out


def subtree(ps, root):
    kids = {}
    for p, v in ps.items():
        kids.setdefault(v[1], []).append(p)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return [p for p in out if p in ps]


# The service's processes by role (run.sh moves them into cpuacct cgroups
# of these names under BENCH_ACCT/<service> once the service answers:
# what they start later inherits the cgroup).
ACCT_ROLES = {"lighttpd": "web", "nginx": "web", "apache2": "web",
              "spawn-fcgi": "service", "responder": "service", "imgsandbox-api": "service"}


def cmd_acct(pid, folder):
    """Moves the processes of serve.sh PID into FOLDER/{web,service,broker}
    (cpuacct, cgroup v1): the broker's supervise and everything under it
    (the docker clients it runs, the fork engine's template and its boxes)
    in broker, the web server in web, the pools in service; serve.sh
    itself stays in FOLDER."""
    ps = proc_stats()
    tree = subtree(ps, pid)
    broker = set()
    for p in tree:
        if ps[p][0] == "sandboxd" and ps.get(ps[p][1], ("",))[0] == "supervise":
            broker.update(subtree(ps, ps[p][1]))
    moved = {}
    for p in tree:
        role = "broker" if p in broker else ACCT_ROLES.get(ps[p][0])
        if role is None and ps[p][0] == "supervise":
            role = "service"
        if role is None:
            continue
        os.makedirs(os.path.join(folder, role), exist_ok=True)
        try:
            with open(os.path.join(folder, role, "cgroup.procs"), "w") as f:
                f.write(str(p))
            moved[role] = moved.get(role, 0) + 1
        except OSError:
            pass  # gone meanwhile
    for role in ("web", "service", "broker"):
        os.makedirs(os.path.join(folder, role), exist_ok=True)
    say("cpu accounting of %s: %s" % (os.path.basename(folder), moved))


class CpuSplit:
    """Where the host's CPU goes over a load step, for one service:

      sandbox   docker: the containers' cgroup (imgsandbox-<instance>, the
                cgroup parent serve.sh makes); fork: the boxes (the
                template's reaped children: the broker's cgroup less the
                broker's and the template's own time)
      engine    docker: dockerd and containerd (with the children they
                reaped) and the shims of our containers (sampled every
                0.2 s, their own time: a shim reaps its runc calls together
                with the container's processes, counted in sandbox, so
                runc's time is left in rest); fork: the template's own time
      clients   docker: the docker clients the broker runs (the broker's
                cgroup less the broker's own time); fork: none
      broker    sandboxd and its supervise, their own time
      service   the responders, their supervise and spawn-fcgi; web: the
                web server
      bench     this process (the load's clients and this sampler)
      rest      the host's busy time less all of the above: the kernel's
                threads, and whatever else the machine runs
    dockerd and containerd serve every container on the host: on a shared
    machine they count the neighbours' work too."""

    def __init__(self, serve_pid, acct, instance, engine):
        self.pid, self.acct, self.engine = serve_pid, acct, engine
        self.sb_cg = os.path.join(CPUACCT, "imgsandbox-" + instance) if instance else None
        self.shims = {}  # (pid, start): [first, last, ours]
        self.t0_ticks = None
        self.stop = threading.Event()

    def _shims(self, ps, first=False):
        for p, (comm, _, start, own, kids) in ps.items():
            if not comm.startswith("containerd-shim"):
                continue
            k = (p, start)
            e = self.shims.get(k)
            if e is None:
                base = own if first or start < self.t0_ticks else 0
                e = self.shims[k] = [base, own, False]
            e[1] = own
            if not e[2] and self.sb_cg:
                try:
                    with open("/proc/%d/cmdline" % p, "rb") as f:
                        a = f.read().split(b"\0")
                    cid = a[a.index(b"-id") + 1].decode()
                    e[2] = os.path.isdir(os.path.join(self.sb_cg, cid))
                except (OSError, ValueError, IndexError):
                    pass

    def _sampler(self):
        while not self.stop.wait(0.2):
            if self.engine == "docker":
                self._shims(proc_stats())

    def _snap(self):
        ps = proc_stats()
        tree = subtree(ps, self.pid) if self.pid else []
        r = {"host": host_cpu_ms(), "bench": sum(os.times()[:2]) * 1000}
        for role in ("web", "service", "broker"):
            r[role + "_cg"] = cg_ms(os.path.join(self.acct, role)) if self.acct else None
        r["sandbox_cg"] = cg_ms(self.sb_cg) if self.engine == "docker" else None
        own = {"broker": 0, "template": 0}
        tmpl = None
        for p in tree:
            comm, pp, start, o, _ = ps[p]
            pcomm = ps.get(pp, ("",))[0]
            if comm == "sandboxd" or (comm == "supervise" and any(
                    ps[c][0] == "sandboxd" and ps[c][1] == p for c in tree)):
                own["broker"] += o
            elif comm.startswith("python") and not pcomm.startswith("python"):
                own["template"] += o  # the template (its boxes are its children)
                tmpl = (p, start)
        r["broker_own"] = own["broker"] * 1000 / HZ
        r["template_own"] = own["template"] * 1000 / HZ
        r["template"] = tmpl
        r["daemons"] = sum(v[3] + v[4] for v in ps.values()
                           if v[0] in ("dockerd", "containerd")) * 1000 / HZ
        return r, ps

    def start(self):
        with open("/proc/uptime") as f:
            self.t0_ticks = float(f.read().split()[0]) * HZ
        self.a, ps = self._snap()
        if self.engine == "docker":
            self._shims(ps, first=True)
        self.th = threading.Thread(target=self._sampler, daemon=True)
        self.th.start()

    def end(self):
        self.stop.set()
        self.th.join()
        b, ps = self._snap()
        a = self.a
        if self.engine == "docker":
            self._shims(ps)
        d = {k: (b[k] - a[k] if isinstance(b[k], float) and isinstance(a.get(k), float) else None)
             for k in b if k != "template"}
        out = {"host": d["host"], "bench": d["bench"], "web": d["web_cg"],
               "service": d["service_cg"], "broker": d["broker_own"]}
        if self.engine == "docker":
            out["sandbox"] = d["sandbox_cg"]
            out["engine"] = d["daemons"] + sum(e[1] - e[0] for e in self.shims.values()
                                               if e[2]) * 1000 / HZ
            out["engine_shims"] = sum(e[1] - e[0] for e in self.shims.values() if e[2]) * 1000 / HZ
            out["clients"] = (d["broker_cg"] - d["broker_own"]
                              if d["broker_cg"] is not None else None)
        else:
            out["engine"] = d["template_own"]
            out["clients"] = 0.0
            out["sandbox"] = (d["broker_cg"] - d["broker_own"] - d["template_own"]
                              if d["broker_cg"] is not None else None)
            if a["template"] != b["template"]:
                out["note"] = "the template changed during the step"
        known = [v for k, v in out.items() if k not in ("host", "engine_shims", "note")]
        out["rest"] = d["host"] - sum(known) if None not in known else None
        return out


def cmd_load(url, name, clients, seconds, out):
    """CLIENTS closed-loop clients, each from an address of its own
    (127.0.0.2, 127.0.0.3, ...: a client of its own to the service's share),
    POSTing the trivial job back to back for SECONDS (no new request after
    that; those in flight finish). Where the host's CPU went meanwhile:
    CpuSplit, for the service BENCH_LOAD_SERVE_PID (serve.sh),
    BENCH_LOAD_INSTANCE and BENCH_LOAD_ENGINE."""
    url = loopback(url)
    body, ctype = paths.job_body(os.environ.get("BENCH_LOAD_JOB", "trivial"))
    lock = threading.Lock()
    rec = []
    engine = os.environ.get("BENCH_LOAD_ENGINE", "docker")
    acct = os.environ.get("BENCH_ACCT")
    split = CpuSplit(int(os.environ.get("BENCH_LOAD_SERVE_PID", "0")),
                     os.path.join(acct, os.environ.get("BENCH_LOAD_SERVICE", "")) if acct else None,
                     os.environ.get("BENCH_LOAD_INSTANCE"), engine)
    t_start = time.monotonic()
    t_stop = t_start + seconds

    def client(i):
        src = "127.0.0.%d" % (2 + i)
        while time.monotonic() < t_stop:
            t0 = time.monotonic()
            kind = None
            try:
                status, doc, ms = post_run(url, body, ctype, timeout=120, source=src)
                ok = status == 200 and doc is not None and doc.get("status") == "success"
                kind = doc.get("sandbox") if ok else None
            except Exception as e:  # a refused connection, a timeout: counted
                status, ok, ms = "error: %s" % type(e).__name__, False, 0
            with lock:
                rec.append((t0 - t_start, time.monotonic() - t_start, status, ok, ms, kind))

    ts = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    split.start()
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 180)
    cpu = split.end()
    elapsed = max([r[1] for r in rec] + [seconds])
    okl = [r[4] for r in rec if r[3]]
    res = {"kind": "load", "name": name, "engine": engine, "clients": clients,
           "host_cpu_ms": cpu["host"], "cpu_ms": cpu,
           "seconds": seconds, "elapsed_s": elapsed, "requests": len(rec),
           "ok": len(okl), "busy_429": sum(1 for r in rec if r[2] == 429),
           "other": sum(1 for r in rec if not r[3] and r[2] != 429),
           "other_statuses": sorted({str(r[2]) for r in rec if not r[3] and r[2] != 429}),
           "warm_hits": sum(1 for r in rec if r[5] and r[5].endswith("-warm")),
           "sandboxes": sorted({r[5] for r in rec if r[5]}),
           "loadavg": open("/proc/loadavg").read().split()[:3],
           "ok_ms": okl}
    save(out, res)
    say("%-9s %2d clients: %d ok (%d warm), %d 429, %d other in %.1f s, p50 %s ms; CPU/run %s" % (
        name, clients, res["ok"], res["warm_hits"], res["busy_429"], res["other"], elapsed,
        round(pct(okl, 50)) if okl else "n/a",
        {k: round(v / max(1, res["ok"])) for k, v in cpu.items() if isinstance(v, float)}))


def cmd_burst(url, name, clients, runs, out):
    """CLIENTS clients from addresses of their own, each sending RUNS
    requests back to back, all starting together: the 429s and the errors
    (the issue's "4 clients x 8 runs")."""
    url = loopback(url)
    body, ctype = paths.job_body("trivial")
    lock = threading.Lock()
    rec = []
    go = threading.Event()

    def client(i):
        go.wait()
        for _ in range(runs):
            try:
                status, doc, ms = post_run(url, body, ctype, timeout=120,
                                           source="127.0.0.%d" % (2 + i))
                ok = status == 200 and doc is not None and doc.get("status") == "success"
            except Exception as e:
                status, ok, ms = "error: %s" % type(e).__name__, False, 0
            with lock:
                rec.append((status, ok, ms))

    ts = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in ts:
        t.start()
    t0 = time.monotonic()
    go.set()
    for t in ts:
        t.join(300)
    res = {"kind": "burst", "name": name, "clients": clients, "runs": runs,
           "elapsed_s": time.monotonic() - t0, "requests": len(rec),
           "ok": sum(1 for r in rec if r[1]), "busy_429": sum(1 for r in rec if r[0] == 429),
           "other_statuses": sorted({str(r[0]) for r in rec if not r[1] and r[0] != 429}),
           "ok_ms": [r[2] for r in rec if r[1]]}
    save(out, res)
    say("%s: %d clients x %d runs: %d ok, %d 429, others %s" % (
        name, clients, runs, res["ok"], res["busy_429"], res["other_statuses"]))


# --- memory of our processes ---------------------------------------------------------

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


ROLES = {"responder": "run pool (responder)", "imgsandbox-api": "API pool (imgsandbox-api)",
         "supervise": "supervise", "sandboxd": "broker", "lighttpd": "web server",
         "nginx": "web server", "apache2": "web server"}


def cmd_mem(pid, name, phase, out):
    """VmRSS of every process of ours under serve.sh PID, by role. Waits
    (10 s at most) for the pools to be full: the server may answer before
    supervise has started them all."""
    want = int(os.environ.get("RESPONDERS", "8")) + int(os.environ.get("API_RESPONDERS", "2"))
    for _ in range(100):
        ps = procs()
        kids = {}
        for p, (pp, _) in ps.items():
            kids.setdefault(pp, []).append(p)
        tree, todo = [], [pid]
        while todo:
            p = todo.pop()
            tree.append(p)
            todo += kids.get(p, [])
        if sum(1 for p in tree if ps.get(p, (0, ""))[1] in ("responder", "imgsandbox-api")) >= want:
            break
        time.sleep(0.1)
    rows = [{"pid": p, "role": ROLES[ps[p][1]], "rss_kib": rss_kib(p)}
            for p in sorted(tree) if p in ps and ps[p][1] in ROLES]
    doc = {"kind": "mem", "name": name, "phases": {}}
    if os.path.exists(out):
        with open(out) as f:
            doc = json.load(f)
    doc["phases"][phase] = rows
    save(out, doc)


# --- API reads with wrk ---------------------------------------------------------

def cmd_api(url, name, target, path, out):
    url = loopback(url)
    res = {"kind": "api", "name": name, "target": target, "path": path}
    try:
        conn = http.client.HTTPConnection(url[7:].split("/")[0], timeout=30)
        conn.request("GET", path)
        r = conn.getresponse()
        status, first = r.status, r.read()
        conn.close()
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
    say("%-9s %s %s: %s req/s" % (name, target, path, res["rps"]))


# --- slow clients (tests/integration/test_slow_clients.py's trickle) ---------------

SLOW = 64
TRICKLE = b"ab"  # every half second: 4 bytes a second


def open_slow(port, body):
    """A connection from 127.0.0.2 that has sent the start of a request:
    a header that never ends, or a whole header and a body that trickles."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0))
    if body:
        s.sendall(b"POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: multipart/form-data; boundary=slow\r\n"
                  b"Content-Length: 100000\r\n\r\n--slow\r\n")
    else:
        s.sendall(b"POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return s


def trickle(port, stop, result):
    """Keeps SLOW connections trickling until stop is set; counts those the
    server cut off meanwhile (a timeout of its own)."""
    socks = [open_slow(port, body=i % 2 == 1) for i in range(SLOW)]
    cut = 0
    while not stop.wait(0.5):
        for i, s in enumerate(socks):
            if s is None:
                continue
            try:
                s.sendall(TRICKLE)
            except OSError:
                s.close()
                socks[i] = None
                cut += 1
    for s in socks:
        if s is not None:
            s.close()
    result["cut"] = cut


def read_summaries(port, seconds):
    """GET /api/logs/summary from 127.0.0.1, one after another with a 20 ms
    pause, for SECONDS; the wall clock of each (ms)."""
    times, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/api/logs/summary")
        r = c.getresponse()
        r.read()
        c.close()
        if r.status != 200:
            die("slow: the summary answered %d" % r.status)
        times.append((time.monotonic() - t0) * 1000)
        time.sleep(0.02)
    return times


def one_run(port, out):
    """A trivial run from 127.0.0.3: its wall clock (ms) into out["run_ms"]."""
    body, ctype = paths.job_body("trivial")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=("127.0.0.3", 0))
    t0 = time.monotonic()
    c.request("POST", "/run", body, {"Content-Type": ctype})
    r = c.getresponse()
    doc = json.loads(r.read())
    c.close()
    out["run_ms"] = (time.monotonic() - t0) * 1000
    out["run_status"] = "%d %s %s" % (r.status, doc.get("status"), doc.get("sandbox"))


def cmd_slow(url, name, out):
    """The summary's reads and one /run, idle, then while 64 connections
    from 127.0.0.2 trickle their headers or bodies."""
    port = int(loopback(url).rsplit(":", 1)[1])
    secs = env_f("BENCH_SLOW_SECONDS", 8)
    res = {"kind": "slow", "name": name, "seconds": secs, "connections": SLOW}
    idle = {}
    one_run(port, idle)
    time.sleep(env_f("BENCH_WARM_SETTLE_S", 1.5))
    res["idle"] = dict(idle, reads_ms=read_summaries(port, secs))
    stop, tr, busy = threading.Event(), {}, {}
    t = threading.Thread(target=trickle, args=(port, stop, tr))
    t.start()
    try:
        time.sleep(1)  # every slow connection open and trickling
        t_run = threading.Thread(target=one_run, args=(port, busy))
        t_run.start()
        reads = read_summaries(port, secs)
        t_run.join(120)
    finally:
        stop.set()
        t.join(30)
    res["slow"] = dict(busy, reads_ms=reads, cut=tr.get("cut"))
    save(out, res)
    say("%s: summary p99 idle %.1f ms, trickling %.1f ms; run %s / %s ms" % (
        name, pct(res["idle"]["reads_ms"], 99), pct(reads, 99),
        round(idle.get("run_ms", 0)), round(busy.get("run_ms", 0))))


# --- what else the machine does -----------------------------------------------------

def cpu_ticks():
    """{pid: (comm, utime + stime ticks)} of every process."""
    out = {}
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        out[int(d[6:])] = (st[st.index("(") + 1:st.rindex(")")], int(rest[11]) + int(rest[12]))
    return out


def cmd_busy():
    """Prints the processes that used over 10 % of a core in the next
    second, busiest first (or "none")."""
    a = cpu_ticks()
    time.sleep(1)
    b = cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    use = sorted(((b[p][1] - a[p][1]) * 100 / hz, b[p][0]) for p in b if p in a)
    top = ["%s %.0f%%" % (c, u) for u, c in reversed(use) if u > 10][:5]
    print(", ".join(top) or "none")


# --- the command line -------------------------------------------------------------

def main(argv):
    if len(argv) < 2:
        die(__doc__)
    c, a = argv[1], argv[2:]
    cmds = {
        "gen": lambda: cmd_gen(a[0]),
        "compare": lambda: cmd_compare(a[0], int(a[1]), a[2], a[3:]),
        "b2b": lambda: cmd_b2b(a[0], a[1], a[2], int(a[3]), a[4]),
        "warmstart": lambda: cmd_warmstart(a[0], a[1], int(a[2]), a[3]),
        "poolmem": lambda: cmd_poolmem(a[0], a[1], a[2]),
        "load": lambda: cmd_load(a[0], a[1], int(a[2]), float(a[3]), a[4]),
        "burst": lambda: cmd_burst(a[0], a[1], int(a[2]), int(a[3]), a[4]),
        "acct": lambda: cmd_acct(int(a[0]), a[1]),
        "mem": lambda: cmd_mem(int(a[0]), a[1], a[2], a[3]),
        "api": lambda: cmd_api(a[0], a[1], a[2], a[3], a[4]),
        "slow": lambda: cmd_slow(a[0], a[1], a[2]),
        "busy": cmd_busy,
    }
    if c == "table":
        import tables
        tables.cmd_table(a[0], a[1])
    elif c in cmds:
        cmds[c]()
    else:
        die(__doc__)


def on_term(sig, frame):
    raise SystemExit(128 + sig)  # so that the finally blocks clean up


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    main(sys.argv)
