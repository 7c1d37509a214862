"""Integration fixtures: a real service (fcgi/serve.sh: spawn-fcgi, the
responders, lighttpd, nginx or Apache) on a free loopback port, each with
its own data folder and SQLite log, in front of the real dockerd. Run as
root (as here), serve.sh runs the responders as the service user and the
web server's workers as www-data, and hands the data folder to them.

`service` has a roomy time limit (20 s: the tests run in parallel on two
cores, and a cold container then takes seconds to start); `short_service`
has the 3-second limit the timeout tests need."""
import hashlib
import hmac
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVERS = ["lighttpd", "nginx", "apache"]


def pytest_configure(config):
    """Tests marked xdist_group("name") run on one worker, so that a module
    that starts a cluster of services for its tests (test_hosts.py) starts
    it once, not once per worker: xdist's "load" becomes "loadgroup" (the
    same for every test without the mark), on the controller here and on
    each worker (which parses the command line afresh) through its input."""
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "loadgroup"
    if getattr(config, "workerinput", {}).get("imgsandbox_loadgroup"):
        config.option.loadgroup = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    if node.config.getvalue("dist") == "loadgroup":
        node.workerinput["imgsandbox_loadgroup"] = True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """fcgi/serve.sh started for server, as root (as the tests run here) or,
    with user, as that user (then everything runs as it)."""
    def __init__(self, server, env_extra=None, responders=3, user=None):
        self.server = server
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.data = tempfile.mkdtemp(prefix="imgsandbox-test-%s-" % server)
        self.db = os.path.join(self.data, "log.db")
        cmd = [os.path.join(ROOT, "fcgi", "serve.sh")]
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(self.data, pw.pw_uid, pw.pw_gid)
            cmd = ["setpriv", "--reuid", user, "--regid", str(pw.pw_gid), "--init-groups", "--"] + cmd
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        env.update({
            "PORT": str(self.port), "SERVER": server, "START_DOCKERD": "no",
            "RESPONDERS": str(responders), "IMGSANDBOX_DATA": self.data,
            "IMGSANDBOX_TIMEOUT_MS": "20000", "IMGSANDBOX_REAP_INTERVAL_S": "2",
            # Every test client is 127.0.0.1: a client's share is tested
            # where a test sets it (test_share.py), not met by accident.
            "IMGSANDBOX_CLIENT_INFLIGHT": "1024", "IMGSANDBOX_CLIENT_RUNS_PER_MIN": "1000000",
            "IMGSANDBOX_CLIENT_BURST": "100000", "IMGSANDBOX_CLIENT_READS_PER_MIN": "1000000",
        })
        env.update(env_extra or {})
        self.env = env
        self.log = open(os.path.join(self.data, "serve.log"), "wb")
        self.proc = subprocess.Popen(cmd, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("serve.sh ended: " + self.read_log())
            try:
                urllib.request.urlopen(self.base + "/", timeout=2).read()
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the service did not come up: " + self.read_log())

    def read_log(self):
        with open(os.path.join(self.data, "serve.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    # --- requests -------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=60):
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def post_form(self, fields, timeout=60):
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
    svc = Service(request.param)
    yield svc
    svc.stop()


# The sandbox suites run against each server (with the host's warm pool at
# its default size), and against lighttpd with one warm sandbox
# (IMGSANDBOX_WARM=1): every backend must hold the same line.
VARIANTS = {"lighttpd": ("lighttpd", {}), "nginx": ("nginx", {}), "apache": ("apache", {}),
            "warm": ("lighttpd", {"IMGSANDBOX_WARM": "1"})}
# The hostile scripts also run under gVisor (defence in depth): the same
# service but for the OCI runtime in the engine's argv (runsc, registered
# with dockerd by fcgi/ensure_dockerd.sh).
RUNTIME_VARIANTS = {"gvisor": ("lighttpd", {"IMGSANDBOX_RUNTIME": "runsc"})}
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
    return Service(server, dict(extra, **env), responders=responders)


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
    svc = variant_service(request.param, {"IMGSANDBOX_TIMEOUT_MS": "3000"})
    yield svc
    svc.stop()


def docker(*args):
    """Runs the docker client; its stdout. Without PYTEST_CURRENT_TEST in
    the environment: a test id with a 100 KB parameter would not fit."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=True,
                          env=env).stdout


def instance_of(service):
    return open(os.path.join(service.data, "instance")).read().strip()


def leftover_containers(service):
    """This service's containers (running or not), less the warm sandboxes
    waiting in the host's pool (each has its folder DATA/sandboxes/<id>,
    made before its container; a responder that takes one renames it to
    <id>.in-use, and removes it after the container)."""
    names = docker("ps", "-a", "--filter", "label=imgsandbox.instance=" + instance_of(service),
                   "--format", "{{.Names}}").split()
    root = os.path.join(service.data, "sandboxes")
    waiting = set(n for n in os.listdir(root) if "." not in n) if os.path.isdir(root) else set()
    return [n for n in names if n[len("imgsandbox-"):] not in waiting]


def settled(service, timeout=15):
    """Waits until the host holds nothing of finished runs: no job folder,
    no container but the warm ones waiting. The answer goes before the
    container is removed (the slot is held until it is), so a check made
    right after an answer must wait for that. Returns True when settled."""
    deadline = time.time() + timeout
    while True:
        jobs = os.listdir(os.path.join(service.data, "jobs"))
        if jobs == [] and leftover_containers(service) == []:
            return True
        if time.time() > deadline:
            print("not settled:", jobs, leftover_containers(service))
            return False
        time.sleep(0.1)


def containers_of(job_id):
    """Names of containers (running or not) whose job label is job_id."""
    return docker("ps", "-a", "--filter", "label=imgsandbox.job=" + job_id,
                  "--format", "{{.Names}}").split()


def secret_file(text, name="secret"):
    """A file only the service can read, as an operator would give it one (a
    token, a model's key): in a folder of its own that anyone may pass
    through, owned by the service user (imgsandbox when the tests run as
    root, as serve.sh makes it), mode 0600. Returns its path."""
    import pwd
    folder = tempfile.mkdtemp(prefix="imgsandbox-test-secret-")
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
    return tempfile.mkdtemp(prefix="imgsandbox-test-data-")
