"""Integration fixtures: a real service (fcgi/serve.sh: spawn-fcgi, the
responders, lighttpd, nginx or Apache) on a free loopback port, each with
its own data folder and SQLite log, in front of the real dockerd. Run as
root (as here), serve.sh runs the responders as the service user and the
web server's workers as www-data, and hands the data folder to them.

The suite sizes itself to the machine (harness.py has the machinery):

- Tests that share a service (or any fixture of the suite broader than a
  test) form a group that runs on one worker, one test after the other;
  the service stops when the group's last test ends. The longest groups
  start first. At most harness.SERVICES_MAX services (from nproc) are up at
  once on the machine; a service waits for a slot before it starts.
- Test services have no warm pool (IMGSANDBOX_WARM=0) unless the test is
  about warm sandboxes (it sets IMGSANDBOX_WARM) or claims a property of
  the defaults (it passes IMGSANDBOX_WARM=None: the product's default).
- Time limits and waits derive from the engine's start time, measured once
  per session and printed: budget(starts, plus) is how long something that
  takes that many container starts (and plus seconds of its own) may take
  inside the suite. `service` has a roomy time limit (at least 20 s);
  `short_service` one of 3 s plus a loaded container start, for the
  timeout tests (the limit counts the container's start).
- Every service's instance label is t-<session>-...; everything on disk is
  under /tmp/imgsandbox-test-<session>. A stopped service's containers,
  processes and folder are removed at the end of the test that stopped it;
  what the session left is reaped at its end and listed in the summary.
- A failed test's report carries its services' log lines written during
  the test (serve.log, the responders', the warm pool's, the web server's
  errors)."""
import glob
import hashlib
import hmac
import json
import os
import pwd
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

import harness
import leftovers  # tests/leftovers.py (harness puts tests/ on the path)
from harness import budget, free_port, new_folder, new_instance, start_s  # noqa: F401 (for the tests)

ROOT = harness.ROOT
SERVERS = ["lighttpd", "nginx", "apache"]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Tests marked xdist_group("name") run on one worker, so that a module
    that starts a cluster of services for its tests (test_hosts.py) starts
    it once, not once per worker: xdist's "load" becomes "loadgroup" (the
    same for every test without the mark), on the controller here and on
    each worker (which parses the command line afresh) through its input.
    The groups of tests sharing a service are marked the same way
    (pytest_collection_modifyitems). The session's tag and folder are made
    here, by the first process; pytest's own temporary folders go in it."""
    config.addinivalue_line("markers", "xdist_group(name): run on the worker of group name")
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "loadgroup"
    if getattr(config, "workerinput", {}).get("imgsandbox_loadgroup"):
        config.option.loadgroup = True
    if not hasattr(config, "workerinput"):
        harness.tag()
        if getattr(config.option, "basetemp", None) is None:
            config.option.basetemp = os.path.join(harness.folder(), "pytest")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    if node.config.getvalue("dist") == "loadgroup":
        node.workerinput["imgsandbox_loadgroup"] = True


def is_controller(config):
    return not hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """The engine's start time, measured once (before any worker starts),
    and said."""
    config = session.config
    if not is_controller(config) or config.option.collectonly:
        return
    tr = config.pluginmanager.get_plugin("terminalreporter")
    try:
        e = harness.engine()
    except Exception as err:        # no engine, no image: every test will say so too
        if tr:
            tr.write_line("engine: could not be measured: %s" % err, red=True)
        return
    if tr:
        tr.write_line(
            "engine: a bare hardened `docker run` of print(1) takes %.2f s here (median of %s; "
            "load %.1f on %d cores); time limits and waits derive from it (x%g inside the suite). "
            "Session %s: at most %d services up at once."
            % (e["start_s"], ", ".join("%.2f" % w for w in e["walls_s"]), e["load"], e["nproc"],
               harness.LOADED, harness.tag(), harness.SERVICES_MAX))


# --- groups: tests sharing a service run together, on one worker -----------------
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    group_of = harness.groups(items)
    items[:] = harness.order(items, group_of)
    loadgroup = bool(config.getvalue("loadgroup")) if hasattr(config.option, "loadgroup") else False
    for item in items:
        g = group_of.get(item.nodeid)
        if g is None:
            continue
        item._imgsandbox_group = g
        if loadgroup:
            base = item.nodeid
            if item.get_closest_marker("xdist_group") and "@" in base:
                base = base.rsplit("@", 1)[0]       # xdist's own suffix: ours names it too
            item._nodeid = "%s@%s" % (base, g.replace("@", "_"))


_left = {}


def pytest_collection_finish(session):
    _left.clear()
    for item in session.items:
        g = getattr(item, "_imgsandbox_group", None)
        if g:
            _left[g] = _left.get(g, 0) + 1


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    harness.current.update(test=item.nodeid, group=getattr(item, "_imgsandbox_group", None),
                           engine=getattr(item.module, "ENGINE", None))
    for svc in harness.registry:
        if svc.alive():
            svc.offsets[item.nodeid] = harness.sizes(svc)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last test of a group: its shared fixtures end (the services
    stop), not at the end of the session. Then what the services stopped
    during this test left is removed."""
    g = getattr(item, "_imgsandbox_group", None)
    try:
        if g and g in _left:
            _left[g] -= 1
            if _left[g] == 0:
                del _left[g]
                finish_shared(item)
    finally:
        harness.clean_stopped(item.nodeid)
        harness.current.update(test=None, group=None, engine=None)


def finish_shared(item):
    info = item._fixtureinfo
    shared = set()
    for key, label in harness.shared_fixtures(item).items():
        shared.add(key.split("|")[2])
    for name in reversed(info.names_closure):
        if name not in shared:
            continue
        fd = info.name2fixturedefs[name][-1]
        if fd.cached_result is not None:
            fd.finish(request=item._request)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the log lines its services wrote
    during it."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    try:
        for title, text in failure_logs(item):
            rep.sections.append((title, text))
    except Exception as e:          # the report matters more than its logs
        rep.sections.append(("service logs", "could not be read: %r" % e))


def services_in(value, depth=0, out=None):
    """The Services in a fixture's value (itself, in a tuple, list or dict,
    or an object's attributes), a few levels down."""
    out = [] if out is None else out
    if isinstance(value, Service):
        if value not in out:
            out.append(value)
    elif depth < 3:
        if isinstance(value, (list, tuple, set)):
            items = list(value)
        elif isinstance(value, dict):
            items = list(value.values())
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            items = list(vars(value).values())
        else:
            items = []
        for v in items:
            services_in(v, depth + 1, out)
    return out


def failure_logs(item):
    """[(title, text)] of the logs of the services the test used (in its
    fixtures' values, or started during it; else every service of this
    worker whose logs grew during it)."""
    used = services_in(list(getattr(item, "funcargs", {}).values()))
    for s in harness.registry + harness.stopped_recently:
        if getattr(s, "created_in", None) == item.nodeid and s not in used:
            used.append(s)
    if not used:
        used = [s for s in harness.registry if s.alive() and
                harness.sizes(s) != s.offsets.get(item.nodeid)]
    out = []
    for svc in used[:4]:
        text = harness.logs_of(svc, getattr(svc, "offsets", {}).get(item.nodeid))
        if text.strip():
            out.append(("%s service %s (port %s): its log lines during the test"
                        % (svc.server, getattr(svc, "instance", None) or "", svc.port), text))
    return out


# --- the end of the session ---------------------------------------------------------
@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if is_controller(session.config):
        session.config._imgsandbox_summary = harness.end_session(session.config)
    else:
        harness.clean_stopped("(the end of the session)")


def pytest_runtest_logreport(report):
    harness.note_duration(report)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for line in getattr(config, "_imgsandbox_summary", []):
        terminalreporter.write_line(line)


def pytest_unconfigure(config):
    if is_controller(config) and not hasattr(config, "_imgsandbox_summary"):
        harness.end_session(config)


# --- time -------------------------------------------------------------------------
def service_timeout_ms():
    """The time limit of an ordinary test service: roomy (a run's limit
    counts its container's start): 20 s, or more on a slow engine."""
    return int(max(20.0, 10 + budget(2)) * 1000)


def short_timeout_ms():
    """The limit of short_service, for the timeout tests: 3 s of script plus
    one container start inside the suite (the limit counts the start)."""
    return int(3000 + harness.loaded_start_s() * 1000)


def wait_for(check, what, timeout=None, every=0.1):
    """Calls check() until it returns something true (returned), for at most
    timeout seconds (budget(1) unless given); then fails saying what was
    awaited and check()'s last answer."""
    deadline = time.monotonic() + (budget(1) if timeout is None else timeout)
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("waited %.1f s for %s; last: %r"
                                 % (budget(1) if timeout is None else timeout, what, got))
        time.sleep(every)


# --- the service ----------------------------------------------------------------
class Service:
    """fcgi/serve.sh started for server (or "none": the responders alone,
    for a web server of the test's own), as root (as the tests run here) or,
    with user, as that user (then everything runs as it). env_extra's
    settings override the suite's; a setting given as None is left to the
    product's default (a test that claims a property of the defaults)."""
    def __init__(self, server, env_extra=None, responders=3, user=None):
        self.server = server
        self.created_in = harness.current["test"]
        self.offsets = {}
        self.cleaned = False
        self.slot = None
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        env.update({
            "SERVER": server, "START_DOCKERD": "no", "RESPONDERS": str(responders),
            "IMGSANDBOX_TIMEOUT_MS": str(service_timeout_ms()),
            "IMGSANDBOX_INSTANCE": new_instance(server),
            # No warm pool unless the test is about it: each keeps sandboxes
            # running and replaces them, which loads the engine for nothing.
            "IMGSANDBOX_WARM": "0",
            # No settings file: an installed service's /etc/imgsandbox/
            # imgsandbox.conf (test_deb installs one) is not the tests'.
            "IMGSANDBOX_CONFIG_FILE": "",
            # Every test client is 127.0.0.1: a client's share is tested
            # where a test sets it (test_share.py), not met by accident.
            "IMGSANDBOX_CLIENT_INFLIGHT": "1024", "IMGSANDBOX_CLIENT_RUNS_PER_MIN": "1000000",
            "IMGSANDBOX_CLIENT_BURST": "100000", "IMGSANDBOX_CLIENT_READS_PER_MIN": "1000000",
        })
        # The engine of the test's module (ENGINE = "fork" in a module whose
        # claims are not about the engine: see docs/development.md), unless
        # the test names one (None: the product's default).
        if harness.current.get("engine") and "IMGSANDBOX_ENGINE" not in (env_extra or {}):
            env["IMGSANDBOX_ENGINE"] = harness.current["engine"]
        for k, v in (env_extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        # A data folder of the test's own (service_data_folder()), or a new one.
        self.data = env.get("IMGSANDBOX_DATA") or new_folder("svc-%s" % server)
        env["IMGSANDBOX_DATA"] = self.data
        self.db = os.path.join(self.data, "log.db")
        self.instance = env.get("IMGSANDBOX_INSTANCE")
        self.env = env
        cmd = [os.path.join(ROOT, "fcgi", "serve.sh")]
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(self.data, pw.pw_uid, pw.pw_gid)
            cmd = ["setpriv", "--reuid", user, "--regid", str(pw.pw_gid), "--init-groups", "--"] + cmd
        self.log = open(os.path.join(self.data, "serve.log"), "wb")
        harness.registry.append(self)
        self.slot, waited = harness.take_slot(self.instance or self.data)
        if waited > 1:
            harness.record("stats.jsonl", {"slot_wait_s": round(waited, 1)})
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        env["PORT"] = str(self.port)
        self.proc = subprocess.Popen(cmd, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        harness.alive_now(+1, os.path.basename(self.data))
        # Not a measure of speed: a service that has not answered in two
        # minutes (it waits on no container) is broken, and says why below.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("serve.sh ended: " + self.read_log())
            try:
                if server == "none":        # no web server (SERVER=none): its ready line
                    assert self.ready_line()
                else:
                    urllib.request.urlopen(self.base + "/", timeout=5).read()
                return
            except Exception:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the service did not come up: " + self.read_log())

    def ready_line(self):
        """serve.sh's ready line ("serve: ready: ..."), or "" before it."""
        for line in self.read_log().splitlines():
            if line.startswith("serve: ready: "):
                return line
        return ""

    def read_log(self):
        with open(os.path.join(self.data, "serve.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def alive(self):
        proc = getattr(self, "proc", None)
        return proc is not None and proc.poll() is None

    def stop(self):
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # What serve.sh left running is found (and counted) after the test
        # that stopped it: harness.clean_stopped.
        if not self.log.closed:
            self.log.close()
        if getattr(self, "slot", None) is not None:
            harness.give_slot(self.slot)
            self.slot = None
            harness.alive_now(-1, os.path.basename(self.data))
        if self in harness.registry and self not in harness.stopped_recently:
            harness.stopped_recently.append(self)
            del harness.stopped_recently[:-8]

    # --- requests -------------------------------------------------------
    def answer_within(self):
        """Seconds a client waits for any answer: the service's time limit,
        a slot wait, and a loaded container start and removal."""
        env = getattr(self, "env", {})
        limit = int(env.get("IMGSANDBOX_TIMEOUT_MS") or 20000)
        # The line's wait as the product reads it (docs/settings.md): 0 or
        # unset is three time limits. A client that gave up sooner lost
        # runs that the service answered rightly (test_share's starving test
        # counted 2 of its first client's runs, the others' threads dead of
        # a socket timeout).
        line = int(env.get("IMGSANDBOX_SLOT_WAIT_MS") or 0) or 3 * limit
        return (limit + line) / 1000 + budget(2)

    def request(self, method, path, body=None, headers=None, timeout=None):
        timeout = self.answer_within() if timeout is None else timeout
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                out = r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()
        if path == "/run" and out[0] == 200 and out[2][:1] == b"{":
            try:
                harness.observe(json.loads(out[2]))
            except ValueError:
                pass
        return out

    def post_form(self, fields, timeout=None):
        """fields: list of (name, value) or (name, (filename, bytes, ctype))."""
        body, ctype = encode_multipart(fields)
        return self.request("POST", "/run", body, {"Content-Type": ctype}, timeout)

    def run(self, code, image=None, use_sample=False, params=None, timeout=60, **extra):
        fields = [("code", code)]
        if image is not None:
            fields.append(("image", ("upload.bin", image, "application/octet-stream")))
        if use_sample:
            fields.append(("use_sample", "1"))
        if params is not None:
            fields.append(("params", params if isinstance(params, str) else json.dumps(params)))
        for k, v in extra.items():
            fields.append((k, v))
        status, headers, body = self.post_form(fields, timeout)
        return status, headers, json.loads(body)

    def get_json(self, path):
        status, headers, body = self.request("GET", path)
        return status, json.loads(body)

    # --- what the host's key signs (shared/base/secret.h) -----------------
    def key(self):
        path = self.env.get("IMGSANDBOX_SECRET_FILE") or os.path.join(self.data, "secret.key")
        with open(path, "rb") as f:
            return f.read()

    def new_session(self):
        """A session id as this service issues them (a test that must name
        its session before its first answer, as a tool with the key may)."""
        rnd = os.urandom(16).hex()
        return rnd + signed(self.key(), "session", [rnd])[:32]

    def ai_token(self, session, model, lessons, code):
        """The token POST /api/assist gives with code by model."""
        sha = hashlib.sha256(code.replace("\r\n", "\n").encode()).hexdigest()
        return signed(self.key(), "ai-token", [session, model, "1" if lessons else "0", sha])[:32]


def signed(key, domain, parts):
    """The service's HMAC of parts under domain (shared/base/secret.c)."""
    msg = b"imgsandbox " + domain.encode()
    for p in parts:
        b = p.encode()
        msg += b"\n%d:" % len(b) + b
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def encode_multipart(fields, boundary=None):
    boundary = boundary or "----imgsandbox" + uuid.uuid4().hex
    out = bytearray()
    for name, value in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        if isinstance(value, tuple):
            filename, data, ctype = value
            out += ('Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    % (name, filename)).encode()
            out += ("Content-Type: %s\r\n\r\n" % ctype).encode()
            out += data
        else:
            out += ('Content-Disposition: form-data; name="%s"\r\n\r\n' % name).encode()
            out += value.encode("utf-8") if isinstance(value, str) else value
        out += b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out), "multipart/form-data; boundary=" + boundary


@pytest.fixture(scope="session", params=SERVERS)
def service(request):
    svc = Service(request.param, {"IMGSANDBOX_ENGINE": None})     # the default, whoever asks
    yield svc
    svc.stop()


@pytest.fixture(scope="session", params=SERVERS)
def fork_service(request):
    """The shared service of the files whose claims are not the engine's
    (ENGINE = "fork"; each says `service = fork_service` for its tests)."""
    svc = Service(request.param, {"IMGSANDBOX_ENGINE": "fork"})
    yield svc
    svc.stop()


# The sandbox suites run against each server (cold: no warm pool), and
# against lighttpd with one warm sandbox (IMGSANDBOX_WARM=1): every backend
# must hold the same line.
VARIANTS = {"lighttpd": ("lighttpd", {}), "nginx": ("nginx", {}), "apache": ("apache", {}),
            "warm": ("lighttpd", {"IMGSANDBOX_WARM": "1"})}
# The hostile scripts also run under gVisor (defence in depth): the same
# service but for the OCI runtime in the engine's argv (runsc, registered
# with dockerd by fcgi/ensure_dockerd.sh).
RUNTIME_VARIANTS = {"gvisor": ("lighttpd", {"IMGSANDBOX_RUNTIME": "runsc"})}
# ... and through every server under the fork-server engine (no container:
# a fresh child of a template interpreter per run, in namespaces and a
# cgroup of its own).
FORK_VARIANTS = {"fork-" + s: (s, {"IMGSANDBOX_ENGINE": "fork"}) for s in SERVERS}
RUNTIME_VARIANTS.update(FORK_VARIANTS)
HOSTILE_VARIANTS = list(VARIANTS) + list(RUNTIME_VARIANTS)


def runtime_registered(name):
    """Whether the engine knows the OCI runtime name."""
    out = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"],
                         capture_output=True, text=True).stdout
    return name in json.loads(out or "{}")


def variant_service(name, env, responders=None):
    server, extra = VARIANTS.get(name) or RUNTIME_VARIANTS[name]
    runtime = extra.get("IMGSANDBOX_RUNTIME")
    if runtime and not runtime_registered(runtime):
        pytest.fail("the engine does not know the %s runtime: run fcgi/ensure_dockerd.sh "
                    "(it registers it in /etc/docker/daemon.json)" % runtime)
    # Two responders for warm: two sandboxes waiting, not three, on an
    # engine the parallel suite keeps busy.
    if responders is None:
        responders = 2 if name == "warm" else 3
    env = dict(extra, **env)
    env.setdefault("IMGSANDBOX_ENGINE", None)       # the default's (Docker) unless named
    return Service(server, env, responders=responders)


@pytest.fixture(scope="session", params=HOSTILE_VARIANTS)
def hostile_service(request):
    """For the hostile scripts: 256 MiB instead of 1 GiB. First-touch page
    faults cost about 7 s per GiB on these VMs, so a 4 GiB allocation would
    take most of a minute to reach a 1 GiB limit under a loaded test run."""
    svc = variant_service(request.param, {"IMGSANDBOX_MEMORY": str(256 << 20)})
    yield svc
    svc.stop()


@pytest.fixture(scope="session", params=HOSTILE_VARIANTS)
def short_service(request):
    svc = variant_service(request.param, {"IMGSANDBOX_TIMEOUT_MS": str(short_timeout_ms())})
    yield svc
    svc.stop()


def docker(*args):
    """Runs the docker client; its stdout. Without PYTEST_CURRENT_TEST in
    the environment: a test id with a 100 KB parameter would not fit."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=True,
                          env=env).stdout


def container_names(label=None, name=None, running=False):
    """Names of the engine's containers, filtered as `docker ps --filter`
    does, asked on its socket (leftovers.engine_containers: the suite asks
    thousands of times, and a client program costs 50-60 ms of CPU each)."""
    return [c["name"] for c in leftovers.engine_containers(label=label, name=name,
                                                           running=running)]


def instance_of(service):
    return open(os.path.join(service.data, "instance")).read().strip()


def leftover_containers(service):
    """This service's containers (running or not), less the sandboxes
    waiting in the broker's pool (each has its folder
    DATA/engine/boxes/<id>, made before its container; the broker renames it
    to <id>.in-use when it hands it out, and removes it with the
    container)."""
    names = container_names(label="imgsandbox.instance=" + instance_of(service))
    root = os.path.join(service.data, "engine", "boxes")
    waiting = set(n for n in os.listdir(root) if "." not in n) if os.path.isdir(root) else set()
    return [n for n in names if n[len("imgsandbox-"):] not in waiting]


def settled(service, timeout=None):
    """Waits until the host holds nothing of finished runs: no job folder,
    no container but the warm ones waiting. The answer goes before the
    container is removed (the slot is held until it is), so a check made
    right after an answer must wait for that (a container's removal: one
    start's budget unless timeout is given). Returns True when settled."""
    deadline = time.monotonic() + (budget(1) if timeout is None else timeout)
    while True:
        jobs = os.listdir(os.path.join(service.data, "jobs"))
        if jobs == [] and leftover_containers(service) == []:
            return True
        if time.monotonic() > deadline:
            print("not settled:", jobs, leftover_containers(service))
            return False
        time.sleep(0.1)


def in_use(service):
    """The ids of the sandboxes the broker has handed out (their folders
    DATA/engine/boxes/<id>.in-use), whatever the engine."""
    root = os.path.join(service.data, "engine", "boxes")
    return [n[:-len(".in-use")] for n in os.listdir(root) if n.endswith(".in-use")]


def kill_from_outside(service, box):
    """SIGKILL to a sandbox as an operator would send it: docker kill, or,
    under the fork engine, a kill of the processes of its cgroup."""
    if service.env.get("IMGSANDBOX_ENGINE") != "fork":
        subprocess.run(["docker", "kill", "--signal=KILL", "imgsandbox-" + box], check=True,
                       capture_output=True)
        return
    instance = instance_of(service)
    procs = glob.glob("/sys/fs/cgroup/pids/imgsandbox/%s/box-*-%s/cgroup.procs" % (instance, box))
    procs += glob.glob("/sys/fs/cgroup/imgsandbox/%s/box-*-%s/cgroup.procs" % (instance, box))
    pids = [int(p) for f in procs for p in open(f).read().split()]
    assert pids, procs
    for pid in pids:
        os.kill(pid, 9)


def containers_of(sandbox_id):
    """Names of containers (running or not) of the sandbox a run's answer
    names (its "sandbox_id": the sandbox's own id, never the job's)."""
    return container_names(name="^imgsandbox-%s$" % sandbox_id)


def secret_file(text, name="secret"):
    """A file only the service can read, as an operator would give it one (a
    token, a model's key): in a folder of its own that anyone may pass
    through, owned by the service user (imgsandbox when the tests run as
    root, as serve.sh makes it), mode 0600. Returns its path."""
    folder = new_folder("secret")
    os.chmod(folder, 0o711)
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("imgsandbox")
            os.chown(path, pw.pw_uid, pw.pw_gid)
        except KeyError:
            os.chmod(path, 0o644)   # no service user yet (serve.sh makes it): readable
    return path


def service_data_folder():
    """A data folder serve.sh can hand to the service user and the web
    server (pytest's tmp_path sits under a 0700 folder they cannot pass)."""
    return new_folder("data")
