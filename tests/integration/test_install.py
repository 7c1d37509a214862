"""make install (issue 24.1): the layout it makes in a DESTDIR, its systemd
units checked by systemd-analyze (verify, and the hardening's exposure),
and the installed service run the way its units say, with its settings in
the installed settings file, behind lighttpd (the project's own template):
one run served and its result fetched, then everything stopped and nothing
left. There is no systemd as PID 1 here: the units are read and their
ExecStart= lines run as their User= (setpriv), with the environment their
Environment= and EnvironmentFile= give, and a socket unit's socket made as
systemd makes it (its owner and mode) and handed over as standard input."""
import grp
import hashlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

import harness
from conftest import ROOT, encode_multipart, free_port, service_timeout_ms
from harness import budget, new_folder, new_instance

PREFIX = "/usr"
UNITDIR = PREFIX + "/lib/systemd/system"
LIB = PREFIX + "/lib/imgsandbox"
SHARE = PREFIX + "/share/imgsandbox"
CONF = "/etc/imgsandbox/imgsandbox.conf"
RUNTIME = "/run/imgsandbox"
UNITS = ["imgsandbox-setup.service", "imgsandbox-broker.service",
         "imgsandbox-responders.service", "imgsandbox-responders.socket",
         "imgsandbox-api.service", "imgsandbox-api.socket"]
# The most exposure `systemd-analyze security` may find in each service
# (0 safe .. 10 exposed); docs/install.md says why each scores what it does.
EXPOSURE_MAX = {"imgsandbox-broker.service": 1.0, "imgsandbox-responders.service": 2.0,
                "imgsandbox-api.service": 2.0, "imgsandbox-setup.service": 7.0}
RESULT = ("from PIL import Image\n"
          "Image.new('RGB', (8, 8), (1, 2, 3)).save('/output/result.png')\n"
          "print('saved')\n")


@pytest.fixture(scope="module")
def destdir():
    """`make install DESTDIR=<folder> PREFIX=/usr`: its folder."""
    root = new_folder("install")
    os.chmod(root, 0o755)           # www-data reads the page in it
    t0 = time.monotonic()
    out = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "install",
                          "DESTDIR=" + root, "PREFIX=" + PREFIX],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    harness.record("stats.jsonl", {"make_install_s": round(time.monotonic() - t0, 1)})
    yield root
    shutil.rmtree(root, ignore_errors=True)


def at(root, path):
    return root + path


def rewrite(root, text):
    """A unit's text with the install's paths inside DESTDIR, and the
    runtime folder (root) in place of /run/imgsandbox."""
    for p in (LIB, SHARE, "/etc/imgsandbox"):
        text = text.replace(p, root + p)
    return text


def parse_unit(text):
    """{section: [(key, value)]}, continuation lines joined."""
    out, section, pending = {}, None, ""
    for raw in text.split("\n"):
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        m = re.match(r"^\[(\w+)\]$", line)
        if m:
            section = m.group(1)
            out.setdefault(section, [])
            continue
        k, _, v = line.partition("=")
        out[section].append((k.strip(), v.strip()))
    return out


def values(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit, section, key, default=None):
    v = values(unit, section, key)
    return v[-1] if v else default


def test_layout(destdir):
    for rel in ["responder", "sandboxd", "supervise", "seccomp_profile", "analyze_logs",
                "prepare.sh", "settings.sh", "cgroup_parent.sh", "engine_setup.sh"]:
        p = at(destdir, LIB + "/" + rel)
        assert os.path.isfile(p) and os.access(p, os.X_OK), p
    assert os.path.isfile(at(destdir, LIB + "/zygote_fork.so"))
    assert os.readlink(at(destdir, LIB + "/imgsandbox-api")) == "responder"
    assert os.path.realpath(at(destdir, PREFIX + "/bin/imgsandbox-analyze-logs")) == \
        at(destdir, LIB + "/analyze_logs")
    for rel in ["www/index.html", "www/dashboard.html", "www/sample.png", "www/errors/503.json",
                "runner/build.sh", "runner/Dockerfile", "runner/entry.py", "runner/packages.txt",
                "runner/allowlist.txt", "runner/seccomp.list", "doc/install.md"]:
        assert os.path.isfile(at(destdir, SHARE + "/" + rel)), rel
    for u in UNITS:
        assert os.path.isfile(at(destdir, UNITDIR + "/" + u)), u
    # Nothing of the data folder or the users: the first start makes them.
    assert not os.path.exists(at(destdir, "/var"))
    # The installed image's key is the checkout's: the same sources.
    keys = [subprocess.run([d + "/build.sh", "--print-tag"], capture_output=True, text=True,
                           check=True).stdout for d in (at(destdir, SHARE + "/runner"),
                                                        ROOT + "/runner_image")]
    assert keys[0] == keys[1]


def test_settings_file_says_every_setting(destdir):
    """Every setting of `responder --settings`, commented out at its default,
    but the install's paths, set; and read back, it gives those paths."""
    conf = open(at(destdir, CONF)).read()
    resp = at(destdir, LIB + "/responder")
    names = re.findall(r"^(IMGSANDBOX_\w+)=", subprocess.run(
        [resp, "--settings"], capture_output=True, text=True, check=True,
        env={"IMGSANDBOX_CONFIG_FILE": ""}).stdout, re.M)
    names.remove("IMGSANDBOX_CONFIG_FILE")
    for n in names:
        assert re.search(r"^#?%s=" % n, conf, re.M), n
    set_ = dict(re.findall(r"^(IMGSANDBOX_\w+)=(.*)$", conf, re.M))
    assert set_ == {"IMGSANDBOX_DATA": "/var/lib/imgsandbox",
                    "IMGSANDBOX_SAMPLE": SHARE + "/www/sample.png",
                    "IMGSANDBOX_PACKAGES": SHARE + "/runner/packages.txt",
                    "IMGSANDBOX_ALLOWLIST": SHARE + "/runner/allowlist.txt",
                    "IMGSANDBOX_SECCOMP_LIST": SHARE + "/runner/seccomp.list"}
    out = subprocess.run([resp, "--settings"], capture_output=True, text=True, check=True,
                         env={"IMGSANDBOX_CONFIG_FILE": at(destdir, CONF)}).stdout
    assert "IMGSANDBOX_DATA=/var/lib/imgsandbox\n" in out
    assert "IMGSANDBOX_CONFIG_FILE=%s\n" % at(destdir, CONF) in out


def units_for_analyze(destdir):
    """The units with the install's paths inside DESTDIR, in a folder of
    their own (systemd-analyze 252's --root= finds no system units to go
    with them, sysinit.target and the like)."""
    folder = new_folder("units")
    for u in UNITS:
        with open(os.path.join(folder, u), "w") as f:
            f.write(rewrite(destdir, open(at(destdir, UNITDIR + "/" + u)).read()))
    return folder


def test_units_verify_and_score(destdir):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is missing (apt-get install systemd)")
    folder = units_for_analyze(destdir)
    out = subprocess.run(["systemd-analyze", "verify"] + [os.path.join(folder, u) for u in UNITS],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    scores = {}
    for u in EXPOSURE_MAX:
        out = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                              os.path.join(folder, u)], capture_output=True, text=True,
                             timeout=120)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout + out.stderr)
        assert m, out.stdout[-2000:] + out.stderr[-2000:]
        scores[u] = float(m.group(1))
    harness.record("stats.jsonl", {"unit_exposure": scores})
    print("systemd-analyze security:", scores)
    for u, limit in EXPOSURE_MAX.items():
        assert scores[u] <= limit, (u, scores[u])
    shutil.rmtree(folder, ignore_errors=True)


class Installed:
    """The installed units' processes, started the way their ExecStart=
    lines say (with what of their hardening setpriv and unshare give:
    NoNewPrivileges=, an empty CapabilityBoundingSet=, PrivateNetwork=), with a lighttpd in front rendered from the project's
    template. Everything it makes is in DESTDIR and the data folder."""

    def __init__(self, destdir, data, instance):
        self.root, self.data, self.instance = destdir, data, instance
        self.runtime = new_folder("run")
        os.chmod(self.runtime, 0o755)
        self.logs = new_folder("logs")
        self.procs, self.socks = [], []
        self.conf = at(destdir, CONF)
        self.units = {u: parse_unit(rewrite(destdir, open(at(destdir, UNITDIR + "/" + u)).read())
                                    .replace(RUNTIME, self.runtime)) for u in UNITS}

    def env_of(self, unit, extra=None):
        """The environment a unit's process gets: systemd's few variables,
        Environment=, then EnvironmentFile=; and the settings file's path
        (installed in DESTDIR, not /etc). IMGSANDBOX_INSTANCE is set too
        (the same as the file's), so that tests/leftovers.py knows the
        processes as the session's."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "IMGSANDBOX_CONFIG_FILE": self.conf, "IMGSANDBOX_INSTANCE": self.instance}
        u = self.units[unit]
        for line in values(u, "Service", "Environment"):
            for word in shlex.split(line):
                k, _, v = word.partition("=")
                env[k] = v
        for path in values(u, "Service", "EnvironmentFile"):
            path = path.lstrip("-")
            if os.path.exists(path):
                for line in open(path):
                    if "=" in line and not line.startswith("#"):
                        k, _, v = line.strip().partition("=")
                        env[k] = v
        env.update(extra or {})
        return env

    def argv(self, unit, key="ExecStart", env=None):
        u = self.units[unit]
        words = shlex.split(one(u, "Service", key))
        words = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], w) for w in words]
        user = one(u, "Service", "User")
        if user is None:
            return words
        group = one(u, "Service", "Group", user)
        extra = " ".join(values(u, "Service", "SupplementaryGroups")).split()
        groups = ["--groups=" + ",".join(extra)] if extra else ["--clear-groups"]
        # What of the unit's hardening setpriv and unshare can give too.
        if one(u, "Service", "NoNewPrivileges") == "yes":
            groups.append("--no-new-privs")
        if one(u, "Service", "CapabilityBoundingSet") == "":
            groups.append("--bounding-set=-all")
        net = ["unshare", "--net"] if one(u, "Service", "PrivateNetwork") == "yes" else []
        return net + ["setpriv", "--reuid=" + user, "--regid=" + group] + groups + ["--"] + words

    def socket_of(self, unit):
        """The listening socket a .socket unit makes: its path, owner, mode."""
        s = dict(self.units[unit]["Socket"])
        path = s["ListenStream"]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(128)
        os.chown(path, pwd.getpwnam(s["SocketUser"]).pw_uid, grp.getgrnam(s["SocketGroup"]).gr_gid)
        os.chmod(path, int(s["SocketMode"], 8))
        self.socks.append((sock, path))
        return sock, path

    def prepare(self):
        unit = "imgsandbox-setup.service"
        return subprocess.run(self.argv(unit), env=self.env_of(unit), capture_output=True,
                              text=True, timeout=max(300, budget(4)))

    def start(self, unit, extra=None):
        env = self.env_of(unit, extra)
        stdin = subprocess.DEVNULL
        if one(self.units[unit], "Service", "StandardInput") == "socket":
            stdin = self.socket_of(unit.replace(".service", ".socket"))[0].fileno()
        log = open(os.path.join(self.logs, unit + ".log"), "ab")
        p = subprocess.Popen(self.argv(unit, env=env), env=env, stdin=stdin, stdout=log,
                             stderr=log, start_new_session=True)
        self.procs.append(p)
        return p

    def web(self):
        """lighttpd with the project's template, filled as serve.sh fills
        it for the sockets the socket units make."""
        settings = subprocess.run([at(self.root, LIB + "/responder"), "--settings"],
                                  env=self.env_of("imgsandbox-responders.service"),
                                  capture_output=True, text=True, check=True).stdout
        s = dict(re.findall(r"^IMGSANDBOX_(\w+)=(.*)$", settings, re.M))
        body, ms = int(s["BODY_BYTES"]), lambda k: int(s[k])
        read_s = max(ms("TIMEOUT_MS") + ms("SLOT_WAIT_MS") + ms("START_TIMEOUT_MS"),
                     ms("AI_TIMEOUT_MS")) // 1000 + 120
        rundir = new_folder("lighttpd")
        os.chmod(rundir, 0o751)
        os.makedirs(rundir + "/errors")
        for f in os.listdir(at(self.root, SHARE + "/www/errors")):
            shutil.copy(at(self.root, SHARE + "/www/errors/" + f),
                        rundir + "/errors/" + f.replace(".json", ".html"))
        www = pwd.getpwnam("www-data")
        os.makedirs(rundir + "/lighttpd-upload", mode=0o700)
        for p in ["lighttpd-upload", "lighttpd-error.log", "lighttpd-access.log"]:
            open(rundir + "/" + p, "a").close() if "." in p else None
            os.chown(rundir + "/" + p, www.pw_uid, www.pw_gid)
        self.port = free_port()
        subst = {"HOST": "127.0.0.1", "PORT": str(self.port), "STATIC": at(self.root, SHARE + "/www"),
                 "OUTPUTS": s["OUTPUTS"], "RUNDIR": rundir,
                 "RUN_SOCKET": self.runtime + "/run.sock", "API_SOCKET": self.runtime + "/api.sock",
                 "SERVER_BODY_KB": str((body + 1023) // 1024), "SERVER_BODY_BYTES": str(body),
                 "BODY_TIMEOUT_S": str((ms("BODY_TIMEOUT_MS") + 999) // 1000),
                 "READ_TIMEOUT": str(read_s), "ROOT_ONLY": "", "WEB_USER": "www-data",
                 "WEB_GROUP": "www-data", "APACHE_MODULES": "/usr/lib/apache2/modules"}
        text = open(os.path.join(ROOT, "lighttpd.conf")).read()
        text = re.sub(r"@([A-Z_]+)@", lambda m: subst.get(m.group(1), m.group(0)), text)
        with open(rundir + "/lighttpd.conf", "w") as f:
            f.write(text)
        log = open(os.path.join(self.logs, "lighttpd.log"), "ab")
        self.procs.append(subprocess.Popen(["lighttpd", "-D", "-f", rundir + "/lighttpd.conf"],
                                           stdout=log, stderr=log, start_new_session=True))
        self.base = "http://127.0.0.1:%d" % self.port

    def said(self):
        out = ""
        for f in sorted(os.listdir(self.logs)):
            out += "== %s\n%s\n" % (f, open(os.path.join(self.logs, f), errors="replace")
                                    .read()[-3000:])
        return out

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for sock, path in self.socks:
            sock.close()
            os.unlink(path)
        self.socks = []
        unit = "imgsandbox-setup.service"
        subprocess.run(self.argv(unit, "ExecStop"), env=self.env_of(unit), capture_output=True,
                       timeout=120)


def post_run(base, code):
    body, ctype = encode_multipart([("code", code), ("use_sample", "1")])
    req = urllib.request.Request(base + "/run", data=body, method="POST",
                                 headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=budget(3, 30)) as r:
        return json.loads(r.read())


def write_settings(destdir, data, instance):
    """The installed file, with this test's data folder and service: the
    lines an operator edits (each test from the file make install wrote)."""
    path = at(destdir, CONF)
    if not os.path.exists(path + ".installed"):
        shutil.copy(path, path + ".installed")
    text = open(path + ".installed").read()
    # The install's paths are in DESTDIR here (a package's are where they say).
    text = text.replace(SHARE, destdir + SHARE)
    text = text.replace("IMGSANDBOX_DATA=/var/lib/imgsandbox\n", "IMGSANDBOX_DATA=%s\n" % data)
    text += ("\n# this test's service\nIMGSANDBOX_INSTANCE=%s\nIMGSANDBOX_WARM=0\n"
             "IMGSANDBOX_TIMEOUT_MS=%d\nIMGSANDBOX_CLIENT_INFLIGHT=1024\n"
             % (instance, service_timeout_ms()))
    with open(path, "w") as f:
        f.write(text)


def test_installed_service_serves_a_run(destdir):
    data = new_folder("installed-data")
    instance = new_instance("inst")
    assert len(instance) <= 31, instance
    write_settings(destdir, data, instance)
    svc = Installed(destdir, data, instance)
    slot, _ = harness.take_slot(instance)
    t0 = time.monotonic()
    try:
        prep = svc.prepare()
        assert prep.returncode == 0, prep.stdout + prep.stderr
        env_file = open(svc.runtime + "/env").read()
        assert "IMGSANDBOX_IMAGE=imgsandbox-runner:proto2-" in env_file, env_file
        assert "IMGSANDBOX_CGROUP_PARENT=/imgsandbox-%s" % instance in env_file, env_file
        st = os.stat(data)
        assert (pwd.getpwuid(st.st_uid).pw_name, oct(st.st_mode & 0o7777)) == ("imgsandbox", "0o751")
        svc.start("imgsandbox-broker.service")
        # Two responders each, as a drop-in would set (the units say 8 and 2).
        svc.start("imgsandbox-responders.service", {"RESPONDERS": "2"})
        svc.start("imgsandbox-api.service", {"API_RESPONDERS": "1"})
        svc.web()
        deadline = time.monotonic() + budget(2, 20)
        while True:
            assert all(p.poll() is None for p in svc.procs), svc.said()
            try:
                health = json.loads(urllib.request.urlopen(svc.base + "/api/health",
                                                           timeout=5).read())
                break
            except OSError:
                assert time.monotonic() < deadline, svc.said()
                time.sleep(0.2)
        started_s = time.monotonic() - t0
        ans = post_run(svc.base, RESULT)
        assert ans["status"] == "success", (ans, svc.said())
        assert "saved" in ans["stdout"]
        png = urllib.request.urlopen(svc.base + ans["url"], timeout=30).read()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        # The run's result is in this test's data folder, named by the file.
        assert ans["url"].startswith("/outputs/")
        assert os.path.isdir(os.path.join(data, "outputs", ans["url"].split("/")[2]))
        # Each process as its unit's user.
        users = {p.pid: pwd.getpwuid(os.stat("/proc/%d" % p.pid).st_uid).pw_name
                 for p in svc.procs[:3]}
        assert list(users.values()) == ["imgsandbox-engine", "imgsandbox", "imgsandbox"], users
        harness.record("stats.jsonl", {"installed_start_s": round(started_s, 1),
                                       "installed_run_ms": ans.get("timings", {})})
        assert isinstance(health, dict)
    finally:
        svc.stop()
        harness.give_slot(slot)
    # Nothing left: no process of the service, no cgroup, no socket.
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", svc.root + LIB], capture_output=True, text=True).stdout
    assert not left.strip(), left
    assert not any(os.path.exists(d + "/imgsandbox-" + instance)
                   for d in ["/sys/fs/cgroup", "/sys/fs/cgroup/memory"])
    assert not os.listdir(svc.runtime) or os.listdir(svc.runtime) == ["env"]
    shutil.rmtree(data, ignore_errors=True)


def test_a_bad_settings_line_stops_the_start(destdir):
    """A typo in the settings file: the setup and each program refuse to
    start, saying the file and the line; the data folder is left as it was."""
    data = new_folder("badconf-data")
    instance = new_instance("bad")
    write_settings(destdir, data, instance)
    with open(at(destdir, CONF), "a") as f:
        f.write("IMGSANDBOX_WRAM=2\n")
    line = len(open(at(destdir, CONF)).read().splitlines())
    svc = Installed(destdir, data, instance)
    with open(os.path.join(data, "keep"), "w") as f:
        f.write("mine")
    before = sorted(os.listdir(data))
    prep = svc.prepare()
    want = '%s line %d: no setting is named "IMGSANDBOX_WRAM"' % (svc.conf, line)
    assert prep.returncode != 0 and want in prep.stderr, prep.stderr
    for unit in ["imgsandbox-broker.service", "imgsandbox-responders.service"]:
        env = svc.env_of(unit, {"RESPONDERS": "1"})
        words = svc.argv(unit, env=env)
        # The program itself as the unit's user (not supervise, which restarts it).
        out = subprocess.run(words[:words.index("--") + 1] + words[-1:], env=env,
                             capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert out.returncode != 0 and want in out.stderr, (unit, out.stderr)
    assert sorted(os.listdir(data)) == before
    assert open(os.path.join(data, "keep")).read() == "mine"
    assert not os.listdir(svc.runtime)
    shutil.rmtree(data, ignore_errors=True)


def test_install_again_keeps_the_settings(destdir):
    """A second make install keeps the operator's settings file and writes
    the new one beside it."""
    with open(at(destdir, CONF), "a") as f:
        f.write("IMGSANDBOX_WARM=3\n")
    mine = open(at(destdir, CONF)).read()
    out = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "install",
                          "DESTDIR=" + destdir, "PREFIX=" + PREFIX],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "kept %s" % at(destdir, CONF) in out.stdout
    assert open(at(destdir, CONF)).read() == mine
    assert "#IMGSANDBOX_WARM=-1\n" in open(at(destdir, CONF) + ".dist").read()


# --- under a real systemd (opt in: IMGSANDBOX_TEST_SYSTEMD=1) --------------------
# A Debian 12 root with systemd and the programs' libraries, made once by
# debootstrap (about 4 minutes, 270 MB) and cached beside the runner's.
SYSTEMD_ROOT_PKGS = ("systemd,systemd-sysv,dbus,libfcgi0ldbl,libcjson1,libsqlite3-0,libmagic1,"
                     "libmagic-mgc,libseccomp2,zlib1g,libcurl4")
SYSTEMD_UNITS = ["imgsandbox-responders.socket", "imgsandbox-api.socket",
                 "imgsandbox-broker.service", "imgsandbox-responders.service",
                 "imgsandbox-api.service"]


def systemd_root():
    key = hashlib.sha256(("bookworm\n" + SYSTEMD_ROOT_PKGS).encode()).hexdigest()[:16]
    base = "/var/cache/imgsandbox/systemd-root-" + key
    if not os.path.exists(base + "/.complete"):
        shutil.rmtree(base + ".tmp", ignore_errors=True)
        out = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + SYSTEMD_ROOT_PKGS,
                              "bookworm", base + ".tmp", "http://deb.debian.org/debian"],
                             capture_output=True, text=True, timeout=1800)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        open(base + ".tmp/.complete", "w").close()
        os.rename(base + ".tmp", base)
    return base


def ours(instance):
    """The engine's containers of instance."""
    return subprocess.run(["docker", "ps", "-aq", "--filter", "label=imgsandbox.instance=" + instance],
                          capture_output=True, text=True).stdout.split()


def in_container(init, *argv, check=True):
    return subprocess.run(["nsenter", "-t", str(init), "-a"] + list(argv), capture_output=True,
                          text=True, timeout=120, check=check)


@pytest.mark.skipif(os.environ.get("IMGSANDBOX_TEST_SYSTEMD") != "1",
                    reason="under a real systemd only with IMGSANDBOX_TEST_SYSTEMD=1")
def test_units_under_systemd():
    """make install into a Debian 12 root that boots systemd as PID 1
    (systemd-nspawn), dockerd's socket and client, the data folder (at the
    same path, so that dockerd finds the sandboxes' folders) and
    /run/imgsandbox bound in, the drop-ins an operator would write: the
    units start with all their hardening, lighttpd outside serves a run
    through their sockets, and systemctl stop leaves nothing."""
    for tool in ("systemd-nspawn", "debootstrap", "nsenter"):
        if shutil.which(tool) is None:
            pytest.skip("%s is missing (apt-get install systemd-container debootstrap)" % tool)
    base = systemd_root()
    folder = new_folder("nspawn")
    os.chmod(folder, 0o755)
    root = folder + "/root"
    subprocess.run(["cp", "-a", base, root], check=True)
    instance = new_instance("nsp")
    # Not under /tmp: the units' PrivateTmp= would hide it.
    data = "/var/lib/imgsandbox/%s" % instance
    os.makedirs(data)
    out = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "install", "DESTDIR=" + root,
                          "PREFIX=" + PREFIX], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    docker_gid = grp.getgrnam("docker").gr_gid
    subprocess.run(["chroot", root, "groupadd", "-f", "-g", str(docker_gid), "docker"], check=True)
    conf = at(root, CONF)
    text = open(conf).read().replace("IMGSANDBOX_DATA=/var/lib/imgsandbox\n",
                                     "IMGSANDBOX_DATA=%s\n" % data)
    # The engine by its socket: no cgroup parent (the container's cgroups are not dockerd's).
    text += ("IMGSANDBOX_DOCKER_HOST=unix:///run/docker.sock\nIMGSANDBOX_INSTANCE=%s\n"
             "IMGSANDBOX_WARM=0\nIMGSANDBOX_TIMEOUT_MS=%d\n" % (instance, service_timeout_ms()))
    open(conf, "w").write(text)
    for unit, lines in [("broker", ["ReadWritePaths=" + data]),
                        ("responders", ["ReadWritePaths=" + data, "Environment=RESPONDERS=2"]),
                        ("api", ["ReadWritePaths=" + data, "Environment=API_RESPONDERS=1"])]:
        d = at(root, "/etc/systemd/system/imgsandbox-%s.service.d" % unit)
        os.makedirs(d)
        open(d + "/test.conf", "w").write("[Service]\n" + "\n".join(lines) + "\n")
    subprocess.run(["systemctl", "--root=" + root, "enable"] + SYSTEMD_UNITS, check=True,
                   capture_output=True)
    svc = Installed(root, data, instance)
    log = open(folder + "/boot.log", "wb")
    boot = subprocess.Popen(["systemd-nspawn", "-D", root, "-b", "--register=no", "--keep-unit",
                             "-M", instance[-20:], "--bind=/run/docker.sock",
                             "--bind-ro=" + shutil.which("docker") + ":/usr/bin/docker",
                             "--bind=" + data, "--bind=%s:%s" % (svc.runtime, RUNTIME)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)
    init = None
    slot, _ = harness.take_slot(instance)
    try:
        deadline = time.monotonic() + budget(4, 60)
        while not os.path.exists(svc.runtime + "/env") or \
                not os.path.exists(svc.runtime + "/run.sock"):
            assert boot.poll() is None, open(folder + "/boot.log", errors="replace").read()[-3000:]
            assert time.monotonic() < deadline, open(folder + "/boot.log",
                                                     errors="replace").read()[-3000:]
            time.sleep(0.5)
        init = int(subprocess.run(["pgrep", "-P", str(boot.pid)], capture_output=True, text=True,
                                  check=True).stdout.split()[0])
        svc.web()
        deadline = time.monotonic() + budget(2, 30)
        while True:
            state = in_container(init, "systemctl", "is-active", *SYSTEMD_UNITS[2:],
                                 check=False).stdout.split()
            try:
                urllib.request.urlopen(svc.base + "/api/health", timeout=5).read()
                if state == ["active"] * 3:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (state, in_container(
                init, "journalctl", "--no-pager", "-n", "60", check=False).stdout)
            time.sleep(0.5)
        ans = post_run(svc.base, RESULT)
        journal = in_container(init, "journalctl", "--no-pager", "-n", "60", check=False).stdout
        assert ans["status"] == "success", (ans, journal)
        png = urllib.request.urlopen(svc.base + ans["url"], timeout=30).read()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        # The hardening is in force (the broker's process as systemd made it).
        broker = int(in_container(init, "systemctl", "show", "-P", "MainPID",
                                  "imgsandbox-broker.service").stdout.strip())
        status = in_container(init, "cat", "/proc/%d/status" % broker).stdout
        assert "NoNewPrivs:\t1" in status and "CapBnd:\t0000000000000000" in status and \
            "Seccomp:\t2" in status, status
        # At once: the run's sandbox is removed after the answer, and a stop
        # then lets the broker finish (KillMode=mixed) before the rest is killed.
        in_container(init, "systemctl", "stop", *SYSTEMD_UNITS, "imgsandbox-setup.service")
        assert not ours(instance)
    finally:
        for p in svc.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(30)
        if boot.poll() is None:
            boot.send_signal(signal.SIGTERM)          # nspawn: the container powers off
            try:
                boot.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(boot.pid, signal.SIGKILL)
                boot.wait()
        harness.give_slot(slot)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
