"""The Debian package (issue 24.3 and 24.4): `make deb` builds it (lintian
finds no error), apt-get installs it on this machine, the installed units'
commands serve a run behind lighttpd (there is no systemd as PID 1 here:
test_install.Installed reads /lib/systemd/system's units and runs their
ExecStart= lines as their User=), a newer version installed over it keeps
the log, the results and the operator's settings file (a conffile), and
`apt-get purge` leaves nothing of the package's but what docs/install.md
says purge keeps: the data and the system users.

This machine is shared: services run from checkouts use the same users
and keep their data in /var/lib/imgsandbox/checkout-*, and read
/etc/imgsandbox/imgsandbox.conf while it is there (their environment wins
over it: serve.sh sets the data folder and the runner's paths). So the
operator's change here is a data folder of the test's own (the installed
service's results and log stay out of /var/lib/imgsandbox), every other
setting the test needs is given in the units' environment, users that were
there are left alone, and ones the test made go at its end if nothing runs
as them."""
import gzip
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import time
import urllib.request

import pytest

import harness
from conftest import ROOT, service_timeout_ms
from harness import budget, new_folder, new_instance
from test_install import Installed, RESULT, parse_unit, post_run

UNITDIR = "/lib/systemd/system"
CONF = "/etc/imgsandbox/imgsandbox.conf"
USERS = ["imgsandbox", "imgsandbox-engine"]
# What the package installs; none of it may be left after purge.
OURS = ["/usr/lib/imgsandbox", "/usr/share/imgsandbox", "/usr/share/doc/imgsandbox",
        "/usr/bin/imgsandbox-analyze-logs", "/etc/imgsandbox",
        "/usr/share/man/man1/imgsandbox-analyze-logs.1.gz"] + \
       [UNITDIR + "/" + u for u in ["imgsandbox-setup.service", "imgsandbox-broker.service",
                                    "imgsandbox-responders.service",
                                    "imgsandbox-responders.socket", "imgsandbox-api.service",
                                    "imgsandbox-api.socket"]]
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def version():
    return open(os.path.join(ROOT, "VERSION")).read().strip()


def sh(argv, timeout=600, **kw):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    assert out.returncode == 0, (argv, out.stdout[-3000:], out.stderr[-3000:])
    return out


def installed_version():
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", "imgsandbox"],
                         capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else ""


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def unit_links():
    """What deb-systemd-helper made for our units (the enabled units' links
    under /etc/systemd/system, its state files)."""
    out = []
    for d in ["/etc/systemd/system", "/var/lib/systemd/deb-systemd-helper-enabled",
              "/var/lib/systemd/deb-systemd-helper-masked"]:
        for dirpath, _, files in os.walk(d):
            out += [os.path.join(dirpath, f) for f in files if "imgsandbox" in f]
    return sorted(out)


class FromPackage(Installed):
    """test_install's runner of the units, for the package's files where
    the package put them (no DESTDIR; the units in /lib/systemd/system)."""

    def __init__(self, data, instance):
        self.root, self.data, self.instance = "", data, instance
        self.runtime = new_folder("run")
        os.chmod(self.runtime, 0o755)
        self.logs = new_folder("logs")
        self.procs, self.socks = [], []
        self.conf = CONF
        self.units = {}
        for u in os.listdir(UNITDIR):
            if u.startswith("imgsandbox"):
                self.units[u] = parse_unit(open(os.path.join(UNITDIR, u)).read()
                                           .replace("/run/imgsandbox", self.runtime))


# The settings the suite gives its services, in the units' environment
# (not the settings file, which checkouts' services read too).
def extra():
    return {"IMGSANDBOX_WARM": "0", "IMGSANDBOX_TIMEOUT_MS": str(service_timeout_ms()),
            "IMGSANDBOX_CLIENT_INFLIGHT": "1024"}


def serve(data, code=RESULT, fetch=None):
    """The installed units up (setup, broker, both pools, lighttpd), one run
    served, everything stopped again. Returns (the run's answer, the bytes
    of each url in fetch, seconds to the first health answer)."""
    instance = new_instance("deb")
    svc = FromPackage(data, instance)
    slot, _ = harness.take_slot(instance)
    t0 = time.monotonic()
    try:
        prep = svc.prepare()
        assert prep.returncode == 0, prep.stdout + prep.stderr
        svc.start("imgsandbox-broker.service", extra())
        svc.start("imgsandbox-responders.service", dict(extra(), RESPONDERS="2"))
        svc.start("imgsandbox-api.service", dict(extra(), API_RESPONDERS="1"))
        svc.web()
        deadline = time.monotonic() + budget(2, 20)
        while True:
            assert all(p.poll() is None for p in svc.procs), svc.said()
            try:
                urllib.request.urlopen(svc.base + "/api/health", timeout=5).read()
                break
            except OSError:
                assert time.monotonic() < deadline, svc.said()
                time.sleep(0.2)
        up_s = time.monotonic() - t0
        got = [urllib.request.urlopen(svc.base + u, timeout=30).read() for u in (fetch or [])]
        ans = post_run(svc.base, code)
        assert ans["status"] == "success", (ans, svc.said())
        png = urllib.request.urlopen(svc.base + ans["url"], timeout=30).read()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        users = [pwd.getpwuid(os.stat("/proc/%d" % p.pid).st_uid).pw_name for p in svc.procs[:3]]
        assert users == ["imgsandbox-engine", "imgsandbox", "imgsandbox"], users
        return ans, got, up_s
    finally:
        svc.stop()
        harness.give_slot(slot)
        shutil.rmtree(svc.runtime, ignore_errors=True)
        shutil.rmtree(svc.logs, ignore_errors=True)


def log_state(data):
    """(rows of the log's runs, its schema version), read as SQLite opens it."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "log.db"), uri=True)
    try:
        return (db.execute("SELECT count(*) FROM runs").fetchone()[0],
                db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def apt_install(deb):
    return sh(["apt-get", "install", "-y", "-q", "--no-install-recommends",
               "-o", "Dpkg::Options::=--force-confold", "-o", "Dpkg::Options::=--force-confdef",
               "./" + os.path.relpath(deb, ROOT)], cwd=ROOT, env=APT_ENV, timeout=600)


@pytest.fixture(scope="module")
def machine():
    """What was here before: the test runs only on a machine without the
    package, and gives back the users it made and the package's state."""
    if os.geteuid() != 0:
        pytest.skip("needs root (apt-get install)")
    if installed_version() and "not-installed" not in installed_version():
        pytest.skip("imgsandbox is installed here (%s): not the test's to replace"
                    % installed_version())
    if os.path.exists("/etc/imgsandbox"):
        pytest.skip("/etc/imgsandbox is here already: not the test's")
    tag = subprocess.run([os.path.join(ROOT, "runner_image", "build.sh"), "--print-tag"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0, \
        "the runner image %s is missing: make runner-image" % tag
    before = {"users": {u: user_exists(u) for u in USERS},
              "var": os.path.exists("/var/lib/imgsandbox"),
              "var_stat": os.stat("/var/lib/imgsandbox") if os.path.exists("/var/lib/imgsandbox")
              else None,
              "run": os.path.exists("/run/imgsandbox"), "links": unit_links()}
    made = []
    yield before, made
    if installed_version():
        subprocess.run(["apt-get", "purge", "-y", "-q", "imgsandbox"], capture_output=True,
                       env=APT_ENV, timeout=600)
    for u in USERS:
        # Ours to remove only if the test made it and nothing runs as it.
        if not before["users"][u] and user_exists(u) and \
                subprocess.run(["pgrep", "-u", u], capture_output=True).returncode != 0:
            subprocess.run(["userdel", u], capture_output=True)
            subprocess.run(["groupdel", u], capture_output=True)
    for path in made:
        shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else \
            (os.path.exists(path) and os.unlink(path))


def build():
    """make deb of the tree's version, with lintian: (.deb path, seconds,
    lintian's text)."""
    t0 = time.monotonic()
    out = sh(["make", "--no-print-directory", "-C", ROOT, "deb"], timeout=900,
             env=dict(os.environ, LINTIAN="yes"))
    lint = os.path.join(ROOT, "build", "deb", version(), "lintian.txt")
    return (os.path.join(ROOT, "build", "imgsandbox_%s_amd64.deb" % version()),
            round(time.monotonic() - t0, 1), open(lint).read() if os.path.exists(lint) else out.stdout)


def newer(deb, v):
    """The upgrade: the built package re-versioned as v (its control file's
    Version, a changelog entry of its own) with a default settings file of
    its own (a line appended), so that the upgrade meets what dpkg asks
    about: a conffile both the operator and the package changed. The
    binaries are the older's: what the test upgrades is the package's
    files and scripts, not the compile (make deb DEB_VERSION=v builds one
    from the tree when a compiled one is wanted). Returns (the newer .deb,
    the line its settings file adds)."""
    line = "# a newer default (test_deb.py)\n"
    tree = new_folder("repack")
    sh(["dpkg-deb", "-R", deb, tree])
    control = open(tree + "/DEBIAN/control").read()
    old = [l.split(": ", 1)[1] for l in control.splitlines() if l.startswith("Version: ")][0]
    with open(tree + "/DEBIAN/control", "w") as f:
        f.write(control.replace("Version: %s\n" % old, "Version: %s\n" % v))
    with open(tree + CONF, "a") as f:
        f.write(line)
    log = "usr/share/doc/imgsandbox/changelog.gz"     # a native package's
    maint = [l.split(": ", 1)[1] for l in control.splitlines() if l.startswith("Maintainer: ")][0]
    entry = ("imgsandbox (%s) unstable; urgency=medium\n\n  * %s re-versioned by test_deb.py.\n\n"
             " -- %s  %s\n\n" % (v, old, maint, time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                                                 time.gmtime())))
    with gzip.open(tree + "/" + log, "rb") as f:
        text = entry.encode() + f.read()
    with open(tree + "/" + log, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(text)
    changed = [CONF.lstrip("/"), log]
    sums = [l for l in open(tree + "/DEBIAN/md5sums") if l.split()[1] not in changed]
    md5 = subprocess.run(["md5sum"] + changed, cwd=tree, capture_output=True, text=True,
                         check=True).stdout
    with open(tree + "/DEBIAN/md5sums", "w") as f:
        f.write("".join(sums) + md5)
    out = os.path.join(ROOT, "build", "imgsandbox_%s_amd64.deb" % v)
    sh(["dpkg-deb", "--root-owner-group", "-b", tree, out])
    shutil.rmtree(tree, ignore_errors=True)
    return out, line


def test_install_upgrade_purge(machine):
    before, made = machine
    old, new = version(), version() + "+test1"
    deb, build_s, lint = build()
    new_deb, newer_line = newer(deb, new)
    made.append(new_deb)
    assert not [l for l in lint.splitlines() if l.startswith("E:")], lint
    print("lintian:", "\n".join(l for l in lint.splitlines() if "root privileges" not in l)
          or "no tags")
    timings = {"build_s": build_s}

    # The older: installed, its users and data folder made, the conffile registered.
    t0 = time.monotonic()
    apt_install(deb)
    timings["install_s"] = round(time.monotonic() - t0, 1)
    assert installed_version() == "install ok installed " + old
    assert all(user_exists(u) for u in USERS)
    assert os.path.isdir("/var/lib/imgsandbox")
    conffiles = sh(["dpkg-query", "-W", "-f=${Conffiles}", "imgsandbox"]).stdout
    assert CONF in conffiles, conffiles
    assert unit_links(), "deb-systemd-helper enabled no unit"

    # The operator's settings: the data folder this test's own.
    data = new_folder("deb-data")
    made.append(data)
    text = open(CONF).read()
    assert "IMGSANDBOX_DATA=/var/lib/imgsandbox\n" in text
    mine = text.replace("IMGSANDBOX_DATA=/var/lib/imgsandbox\n",
                        "# the operator's (test_deb.py)\nIMGSANDBOX_DATA=%s\n" % data)
    with open(CONF, "w") as f:
        f.write(mine)

    t0 = time.monotonic()
    ans, _, up_s = serve(data)
    timings["serve_old_s"] = round(time.monotonic() - t0, 1)
    timings["up_s"] = round(up_s, 1)
    result = os.path.join(data, ans["url"].lstrip("/"))
    png = open(result, "rb").read()
    rows, schema = log_state(data)
    assert rows == 1, rows

    # The newer over it: the settings file, the log and the result kept.
    t0 = time.monotonic()
    apt_install(new_deb)
    timings["upgrade_s"] = round(time.monotonic() - t0, 1)
    assert installed_version() == "install ok installed " + new
    assert open(CONF).read() == mine
    # The package's new default beside it, as dpkg leaves it under confold.
    assert open(CONF + ".dpkg-dist").read() == text + newer_line
    assert open(result, "rb").read() == png
    rows2, schema2 = log_state(data)
    assert rows2 == rows and schema2 >= schema, (rows, schema, rows2, schema2)
    # The newer's tool reads the log (read-only), and its service serves
    # the older's result and logs a second run in the same log.
    summary = sh(["/usr/bin/imgsandbox-analyze-logs", "--db", os.path.join(data, "log.db"),
                  "--json", "summary"]).stdout
    assert json.loads(summary), summary
    t0 = time.monotonic()
    _, got, _ = serve(data, fetch=[ans["url"]])
    timings["serve_new_s"] = round(time.monotonic() - t0, 1)
    assert got == [png]
    assert log_state(data)[0] == 2

    # Purge: nothing of the package's left but the data and the users.
    t0 = time.monotonic()
    sh(["apt-get", "purge", "-y", "-q", "imgsandbox"], env=APT_ENV)
    timings["purge_s"] = round(time.monotonic() - t0, 1)
    assert not installed_version() or "not-installed" in installed_version(), installed_version()
    left = [p for p in OURS if os.path.lexists(p)]
    assert not left, left
    assert unit_links() == before["links"], unit_links()
    assert os.path.exists("/run/imgsandbox") == before["run"]
    assert all(user_exists(u) for u in USERS)             # Debian's custom: users stay
    assert log_state(data)[0] == 2 and os.path.exists(result)     # the data stays
    if before["var"]:
        st = os.stat("/var/lib/imgsandbox")
        assert (st.st_uid, st.st_gid, st.st_mode) == \
            (before["var_stat"].st_uid, before["var_stat"].st_gid, before["var_stat"].st_mode)
    else:
        assert not os.path.exists("/var/lib/imgsandbox")   # made empty, removed empty
    harness.record("stats.jsonl", {"deb": timings})
    print("test_deb timings:", timings)
