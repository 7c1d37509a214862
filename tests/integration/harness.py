"""The integration suite's own machinery (conftest.py wires it into pytest):

- the session: a tag (IMGSANDBOX_TEST_SESSION, made by the first process
  when not given) and a folder, /tmp/imgsandbox-test-<TAG>, that holds
  everything the suite makes on disk: services' data folders, secrets,
  PostgreSQL servers, pytest's own temporary folders, the engine's figure,
  the services' slots. Every service's instance label starts t-<TAG>-, so
  that what a session left can be found (tests/leftovers.py) and reaped.
- the engine's speed, measured once per session: the median wall time of a
  bare hardened `docker run` of print(1) (the responder's own argv), from
  which the tests derive their time limits and how long they wait.
- the services' slots: at most SERVICES_MAX services (from nproc) are up at
  once on the machine, whichever worker started them (flock'd files).
- the services this process started, their logs (for a failed test's
  report) and what each left behind once stopped.
- the groups: which tests share a service (or any fixture of the suite
  broader than a test), so that they run on one worker, one after the
  other, and the service stops when the last of them ends.

Only the standard library."""
import fcntl
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import leftovers  # noqa: E402  (tests/leftovers.py: the finders)

TAG_ENV = "IMGSANDBOX_TEST_SESSION"
NPROC = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
# At most this many services up at once on the machine: a service idles
# cheaply (its housekeeping asks the engine every few seconds) but each
# keeps a web server, 5 responders and their logs, and every one that runs
# a script adds a container start to the engine's queue. Three per core
# also covers what one worker may hold at once (a cluster of two hosts and
# a service of its group), so that waiting workers cannot all hold slots.
SERVICES_MAX = int(os.environ.get("IMGSANDBOX_TEST_SERVICES", 0)) or max(4, 3 * NPROC)
# How many times the bare start a container start takes inside the suite:
# its workers keep up to about nproc + 1 runs going and services idling on
# the same cores and engine. On the 2-core machines of issue #? a start
# took 3.5-4.4 s under the old suite's load (18 services up) for a bare
# 0.7-0.8 s: 6 covers that. IMGSANDBOX_TEST_SLACK overrides it.
LOADED = float(os.environ.get("IMGSANDBOX_TEST_SLACK", 0)) or 6.0
# No settings file but the one a test names: the suite's services and
# programs take their settings from their environment alone, not from an
# /etc/imgsandbox/imgsandbox.conf the machine has (an installed package's,
# or test_deb.py's while it installs one). Empty is "none"; set it to run
# the suite with a file.
os.environ.setdefault("IMGSANDBOX_CONFIG_FILE", "")
ENV = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


# --- the session ------------------------------------------------------------
def tag():
    t = os.environ.get(TAG_ENV)
    if not t:
        t = "%06x%s" % (int(time.time()) % 16 ** 6, uuid.uuid4().hex[:3])
        os.environ[TAG_ENV] = t
    return t


def folder():
    """The session's folder (made 0711: the service user, www-data and
    postgres pass through it to their own folders inside)."""
    f = leftovers.session_folder(tag())
    if not os.path.isdir(f):
        os.makedirs(f, exist_ok=True)
        os.chmod(f, 0o711)
    return f


def new_folder(prefix):
    """A fresh folder in the session's folder; its path."""
    return tempfile.mkdtemp(prefix=prefix + "-", dir=folder())


_counter = [0]


def new_instance(what="svc"):
    """A unique instance label of this session: t-<TAG>-<pid>-<n>-<what>."""
    _counter[0] += 1
    name = "%s%x-%x-%s" % (leftovers.instance_prefix(tag()), os.getpid(), _counter[0], what[:8])
    # IMGSANDBOX_INSTANCE is at most 31 bytes (a session tag of make's is 9).
    assert len(name) <= 31, "the instance label %s is too long: a shorter session tag" % name
    return name


def record(name, doc):
    """Appends doc (JSON) to the session's file name (one line each)."""
    with open(os.path.join(folder(), name), "a") as f:
        f.write(json.dumps(doc) + "\n")


def records(name):
    try:
        with open(os.path.join(folder(), name)) as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError:
        return []


# --- the engine's speed ---------------------------------------------------------
def image_tag():
    return subprocess.run([os.path.join(ROOT, "runner_image", "build.sh"), "--print-tag"],
                          capture_output=True, text=True, check=True).stdout.strip()


def time_one_start(job_dir, image):
    """Wall seconds of one `docker run` of the service's argv (sandboxd --docker-argv) for the job in
    job_dir (started to exited), the container removed after."""
    jid = uuid.uuid4().hex
    env = dict(ENV, IMGSANDBOX_IMAGE=image, IMGSANDBOX_DATA=job_dir, IMGSANDBOX_CONFIG_FILE="")
    argv = subprocess.run([os.path.join(ROOT, "build", "sandboxd"), "--docker-argv",
                           new_instance("engine"), jid, job_dir],
                          capture_output=True, check=True, env=env, cwd=ROOT).stdout.decode().split("\0")[:-1]
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=600)
    wall = time.monotonic() - t0
    subprocess.run(["docker", "rm", "--force", "imgsandbox-" + jid], capture_output=True, env=ENV)
    if p.returncode != 0 or b"IMGSANDBOX-END" not in p.stdout:
        raise RuntimeError("the engine's trial run failed (exit %d): %s"
                           % (p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")[-600:]))
    return wall


def measure_engine(n=3):
    """Times a bare hardened `docker run` of print(1): one to warm the
    engine's caches, then n (fewer once a minute has passed); writes {"start_s": median, ...} to the
    session's engine.json and returns it."""
    job = new_folder("engine")
    os.chmod(job, 0o755)
    for sub in ("code", "input"):
        os.mkdir(os.path.join(job, sub), 0o755)
    with open(os.path.join(job, "code", "main.py"), "w") as f:
        f.write("print(1)\n")
    open(os.path.join(job, "input", "image.png"), "wb").close()
    for p in ("code/main.py", "input/image.png"):
        os.chmod(os.path.join(job, p), 0o644)
    image = image_tag()
    time_one_start(job, image)
    walls = []
    while len(walls) < n and sum(walls) < 60:       # fewer on a very slow engine
        walls.append(time_one_start(job, image))
    doc = {"start_s": round(statistics.median(walls), 3), "walls_s": [round(w, 3) for w in walls],
           "load": round(os.getloadavg()[0], 1), "nproc": NPROC, "image": image}
    shutil.rmtree(job, ignore_errors=True)
    with open(os.path.join(folder(), "engine.json"), "w") as f:
        json.dump(doc, f)
    return doc


_engine = {}


def engine():
    """The session's measurement (engine.json), measured here if no process
    of the session has yet."""
    if not _engine:
        try:
            with open(os.path.join(folder(), "engine.json")) as f:
                _engine.update(json.load(f))
        except OSError:
            _engine.update(measure_engine())
    return _engine


def start_s():
    """A bare container start on this machine, in seconds (measured)."""
    return engine()["start_s"]


_seen = []       # the container starts of the last runs answered here, in seconds


def observe(answer):
    """Notes the container start of a run's answer (a dict) here."""
    try:
        ms = answer["timings"]["container_start_ms"]
    except (KeyError, TypeError):
        return
    _seen.append(ms / 1000.0)
    del _seen[:-20]


def loaded_start_s():
    """A container start inside the suite: LOADED times the measured bare
    start, or half as much again as the slowest of the last 20 starts the
    suite saw here, if the machine got that much slower since."""
    return max(start_s() * LOADED, 1.5 * max(_seen, default=0.0))


def free_port():
    """A port free now, below the kernel's ephemeral range: a port the
    kernel gave (bind to 0) is one it may give next to a client's outgoing
    connection, which took it before the web server bound it (lighttpd:
    "can't bind to socket: Address already in use", once in a suite run
    that made many connections)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below %d" % low)


def budget(starts=1, plus=0.0):
    """Seconds to allow for something that takes `starts` container starts
    and `plus` seconds of its own (a script's sleep, a time limit), inside
    the suite: each start a loaded one (loaded_start_s), and one start more
    for what surrounds them (the client, the answer, the log)."""
    return plus + (starts + 1) * loaded_start_s()


# --- the services' slots ---------------------------------------------------------
_slot_lock = threading.Lock()


def take_slot(what):
    """Blocks until one of the SERVICES_MAX slots is free (across every
    worker of the session); returns (fd, how many were taken with it, seconds
    waited). A worker that already holds a slot and has waited 10 minutes
    goes ahead over the cap (said in the summary) rather than deadlock."""
    slots = os.path.join(folder(), "slots")
    os.makedirs(slots, exist_ok=True)
    t0 = time.monotonic()
    said = False
    while True:
        with _slot_lock:
            for i in range(SERVICES_MAX):
                fd = os.open(os.path.join(slots, "slot-%d" % i), os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.write(fd, ("%d %s\n" % (os.getpid(), what)).encode())
                return fd, time.monotonic() - t0
        waited = time.monotonic() - t0
        if not said and waited > 30:
            print("harness: %s waits for one of %d service slots" % (what, SERVICES_MAX),
                  file=sys.stderr)
            said = True
        if waited > 600 and any(s.slot is not None and s.alive() for s in registry):
            record("stats.jsonl", {"over_cap": what})
            return None, waited
        time.sleep(0.2)


def give_slot(fd):
    if fd is not None:
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)


def alive_now(delta, what):
    """Counts the services up in the session (a file per service in
    alive/); records the count after a start."""
    d = os.path.join(folder(), "alive")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, what)
    if delta > 0:
        open(path, "w").close()
        record("stats.jsonl", {"started": what, "alive": len(os.listdir(d))})
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


# --- the services of this process --------------------------------------------------
registry = []          # every Service started here (conftest.Service registers itself)
stopped_recently = []  # the last few stopped, for the report of the test that stopped them
current = {"test": None, "group": None, "engine": None}


def log_files(data):
    """The service's own logs: serve.log and the servers' folder's logs
    (responders, API responders, warm pool or broker, the web server's
    errors); not the access logs."""
    out = [os.path.join(data, "serve.log")]
    try:
        for d in sorted(os.listdir(data)):
            if d.startswith("run-") and os.path.isdir(os.path.join(data, d)):
                out += [os.path.join(data, d, f) for f in sorted(os.listdir(os.path.join(data, d)))
                        if f.endswith(".log") and "access" not in f]
    except OSError:
        pass
    return [p for p in out if os.path.isfile(p)]


def sizes(svc):
    return {p: os.path.getsize(p) for p in log_files(svc.data)}


def excerpt(path, since=0, lines=60, before=5, max_bytes=12000):
    """The log's lines written after byte `since` (the last `lines` of them),
    with `before` lines ahead of it; text."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, since - 4000))
            head = f.read(min(since, 4000))
            body = f.read()
    except OSError:
        return ""
    ctx = head.decode("utf-8", "replace").splitlines()[-before:] if before and since else []
    new = body.decode("utf-8", "replace").splitlines()
    cut = len(new) > lines
    new = new[-lines:]
    text = "\n".join(("  | " + l) for l in ctx) + ("\n" if ctx else "")
    if cut:
        text += "  ... (%d earlier lines)\n" % (len(body.splitlines()) - lines)
    text += "\n".join(new)
    return text[-max_bytes:]


def logs_of(svc, since=None):
    """The service's logs as one text, each file from its offset in since
    (all of it for a file not there then), or from its snapshot if the data
    folder is gone."""
    if getattr(svc, "log_snapshot", None) is not None and not os.path.isdir(svc.data):
        return svc.log_snapshot
    parts = []
    for p in log_files(svc.data):
        text = excerpt(p, (since or {}).get(p, 0))
        if text.strip():
            parts.append("==> %s <==\n%s" % (os.path.relpath(p, svc.data), text))
    return "\n".join(parts)


def clean_stopped(nodeid):
    """For each service of this process that has stopped since: removes what
    it left (containers of its instance, processes of its group, its
    cgroups, its data folder) and records it. Its logs are kept in memory for the reports."""
    for svc in list(registry):
        if svc.alive() or getattr(svc, "cleaned", True):
            continue
        svc.cleaned = True
        svc.log_snapshot = logs_of(svc)
        inst = svc.instance
        left = [n for n, i, _ in leftovers.containers_seen()[0] if i == inst] if inst else []
        if left:
            leftovers.remove_containers(left)
        procs = {p: c for p, (c, env) in leftovers.processes().items()
                 if (svc.data.encode() + b"/") in env or svc.data in c}
        if procs:
            leftovers.kill(list(procs))
        # Its cgroups (serve.sh removes them at a clean stop; a service
        # killed on purpose leaves them), once its processes are gone.
        groups = [g for g, i in leftovers.cgroups() if i == inst] if inst else []
        if groups:
            leftovers.remove_cgroups(groups)
        if left or procs:
            record("stats.jsonl", {"left": inst, "containers": left, "processes": len(procs),
                                   "commands": [c[:120] for c in list(procs.values())[:3]],
                                   "server": svc.server, "test": nodeid})
        if svc.data.startswith(folder() + "/"):
            shutil.rmtree(svc.data, ignore_errors=True)
        registry.remove(svc)


# --- groups --------------------------------------------------------------------
# Fixtures broader than a test that cost nothing worth sharing: each worker
# may have its own (a stand-in server in a thread, a file).
UNGROUPED = {"standin", "key_file"}


def _deps(name, info, seen):
    """The fixture names name depends on (itself included), transitively."""
    if name in seen:
        return seen
    seen.add(name)
    for fd in info.name2fixturedefs.get(name, ())[-1:]:
        for a in fd.argnames:
            _deps(a, info, seen)
    return seen


def ours(fixturedef):
    """Whether the fixture is the suite's (defined in a file of this folder),
    not pytest's or a plugin's."""
    mod = sys.modules.get(getattr(fixturedef.func, "__module__", ""), None)
    path = getattr(mod, "__file__", None) or ""
    return os.path.abspath(path).startswith(HERE + os.sep)


def shared_fixtures(item):
    """{key: fixture name} of the item's fixtures broader than a test that
    the suite defines (not pytest's), each keyed by its instance: its scope's
    node, its name and the parameters it depends on, so that two tests with
    the same key share that very instance."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return {}
    callspec = getattr(item, "callspec", None)
    indices = getattr(callspec, "indices", {}) if callspec else {}
    params = getattr(callspec, "params", {}) if callspec else {}
    out = {}
    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name)
        if not defs or name in UNGROUPED:
            continue
        fd = defs[-1]
        if fd.scope == "function" or not ours(fd):
            continue
        deps = sorted(a for a in _deps(name, info, set()) if a in indices)
        label = "-".join(str(params[a]) if isinstance(params[a], str) and len(params[a]) < 20
                         else str(indices[a]) for a in deps)
        node = item.nodeid.split("::")[0] if fd.scope in ("module", "class") else ""
        key = "%s|%s|%s|%s" % (fd.baseid, node, name, label)
        # No "]" nor "@" in a group's name: xdist's loadgroup takes what
        # follows the last "@" after the last "]" of a node id.
        out[key] = "%s%s" % (name, "(%s)" % label.replace("@", "_").replace("]", ")")
                             if label else "")
    return out


def groups(items):
    """{nodeid: group name} for the items that share a fixture instance with
    another (or carry an xdist_group mark): the connected parts of the
    graph of items and shared fixture instances. Items alone are not
    listed."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    names, item_keys = {}, {}
    for item in items:
        keys = shared_fixtures(item)
        mark = item.get_closest_marker("xdist_group")
        if mark:
            g = mark.args[0] if mark.args else mark.kwargs.get("name", "default")
            keys["mark|" + g] = g
        names.update(keys)
        item_keys[item.nodeid] = list(keys)
        for k in keys:
            find(k)
        for a, b in zip(list(keys), list(keys)[1:]):
            parent[find(a)] = find(b)
    members = {}
    for key in names:
        members.setdefault(find(key), []).append(key)
    label = {root: "+".join(sorted(set(names[k].replace("]", ")").replace("@", "_") for k in ks)))
             for root, ks in members.items()}
    return {nid: label[find(ks[0])] for nid, ks in item_keys.items() if ks}


DURATIONS = os.path.join(ROOT, "build", "integration-durations.json")
# The durations of a whole run, kept in the tree (tests/integration/
# durations.json, `harness.py --seed` writes it from DURATIONS): a fresh
# clone has no earlier run of its own, and ordered by count alone it ran
# the longest groups last (a tail of several minutes on one worker).
SEED = os.path.join(HERE, "durations.json")
KEY_MAX = 160   # a test's key: its id cut here (some ids carry 200 KB of data)


def _load(path):
    try:
        with open(path) as f:
            return {k[:KEY_MAX]: v for k, v in json.load(f).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def durations():
    """{test key: seconds}: this tree's last run over the seed."""
    known = _load(SEED)
    known.update(_load(DURATIONS))
    return known


def write_seed():
    """SEED from DURATIONS (its tests of a second or more, to 0.1 s)."""
    known = _load(DURATIONS)
    if not known:
        sys.exit("harness: no %s to seed from (run make integration first)" % DURATIONS)
    seed = {k: round(v, 1) for k, v in sorted(known.items()) if v >= 1.0}
    with open(SEED, "w") as f:
        json.dump(seed, f, indent=0, sort_keys=True)
        f.write("\n")
    print("harness: %s: %d tests, %.0f s in all" % (SEED, len(seed), sum(seed.values())))


def order(items, group_of):
    """The items in units (a group, or an item alone), the longest first (by
    the durations of an earlier run when known, else by count: a test alone
    counts 3, as it starts a service of its own), each group's items in
    their order. Returns the new list."""
    known = durations()
    units, first = {}, {}
    for i, item in enumerate(items):
        g = group_of.get(item.nodeid) or ("alone", item.nodeid)
        units.setdefault(g, []).append(item)
        first.setdefault(g, i)

    def weight(g):
        its = units[g]
        guess = 1.0 if isinstance(g, str) else 3.0
        return sum(known.get(base_id(it.nodeid), guess) for it in its)

    out = []
    for g in sorted(units, key=lambda g: (-weight(g), first[g])):
        out += units[g]
    return out


def base_id(nodeid):
    """A node id without xdist's @group suffix."""
    return nodeid.split("@")[0][:KEY_MAX]


_durations = {}


def note_duration(report):
    """Adds a phase's duration to its test's (for DURATIONS)."""
    if report.when in ("setup", "call", "teardown"):
        k = base_id(report.nodeid)
        _durations[k] = _durations.get(k, 0.0) + report.duration


def end_session(config):
    """The controller's last step: the session's figures, what its stopped
    services left (removed after their tests), what is left now (reaped:
    containers of its instances, processes naming its folder, mounts, the
    folder itself); the durations kept for the next run's order. Returns
    the summary's lines."""
    t = tag()
    stats = records("stats.jsonl")
    e = {}
    try:
        with open(os.path.join(folder(), "engine.json")) as f:
            e = json.load(f)
    except OSError:
        pass
    started = [s for s in stats if "started" in s]
    waits = [s["slot_wait_s"] for s in stats if "slot_wait_s" in s]
    lines = ["integration session %s: the engine's bare start %s; %d services started, at most %d "
             "up at once (cap %d, from %d cores); %d waited for a slot%s%s"
             % (t, "%.2f s" % e["start_s"] if e else "not measured", len(started),
                max((s["alive"] for s in started), default=0), SERVICES_MAX, NPROC, len(waits),
                " (longest %.0f s)" % max(waits) if waits else "",
                "; %d over the cap" % sum(1 for s in stats if "over_cap" in s)
                if any("over_cap" in s for s in stats) else "")]
    for s in stats:
        if "left" in s:
            lines.append("  stopped service %s (%s, %s) left %d containers and %d processes "
                         "(removed after its test)%s" % (
                             s["left"], s["server"], s["test"], len(s["containers"]),
                             s["processes"], "".join("\n      " + c for c in s.get("commands", []))))
    found, handles = leftovers.find_session(t)
    left = {k: v for k, v in found.items() if v and k != "folders"}
    if left:
        lines.append("  left at the session's end, reaped now:")
        for kind, items in left.items():
            lines += ["    %-10s %s" % (kind, i) for i in items]
    # A PostgreSQL server of the session is stopped as such before its
    # processes are killed.
    for d in (os.listdir(folder()) if os.path.isdir(folder()) else []):
        pgdir = os.path.join(folder(), d)
        if os.path.exists(os.path.join(pgdir, "data", "postmaster.pid")):
            subprocess.run([os.path.join(HERE, "pg.sh"), "kill", pgdir], capture_output=True)
    found, handles = leftovers.find_session(t)
    leftovers.remove(handles)
    if _durations and not getattr(config.option, "collectonly", False):
        known = _load(DURATIONS)
        known.update({k: round(v, 2) for k, v in _durations.items()})
        try:
            os.makedirs(os.path.dirname(DURATIONS), exist_ok=True)
            with open(DURATIONS, "w") as f:
                json.dump(known, f, indent=0, sort_keys=True)
        except OSError:
            pass
    return lines


if __name__ == "__main__":
    if sys.argv[1:] == ["--seed"]:
        write_seed()
    elif sys.argv[1:] == ["--engine"]:
        # For the browser suite: the same measurement, printed as JSON, and
        # nothing of it left behind.
        try:
            print(json.dumps(measure_engine()))
        finally:
            shutil.rmtree(folder(), ignore_errors=True)
    else:
        sys.exit("usage: harness.py --seed   (writes %s from %s)\n"
                 "       harness.py --engine (times a bare hardened docker run; JSON)"
                 % (SEED, DURATIONS))
