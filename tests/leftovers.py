#!/usr/bin/python3
"""What the test suites left on this machine: containers, processes, mounts,
temporary folders and the services' cgroups. Run at the end of `make integration` (for its session)
and of `make test` (against what was there before it began); prints what it
found and exits 1, or says so and exits 0.

    tests/leftovers.py --session TAG        the integration session TAG's:
                                            containers labelled
                                            imgsandbox.instance=t-TAG-*, and
                                            what names /tmp/imgsandbox-test-TAG
    tests/leftovers.py --save-baseline F    writes what is there now to F
    tests/leftovers.py --baseline F         anything of the suites' kinds that
                                            was not in F: containers of the
                                            sandbox (imgsandbox-*) whose
                                            service is gone, processes and
                                            mounts naming a temporary folder
                                            of the suites, those folders
    --remove                                removes what it finds (containers,
                                            processes, mounts, folders, in that
                                            order), then looks again

The integration suite (tests/integration/harness.py) uses the same finders
to reap its session at its end. Only the standard library; run as root to
see every process's environment."""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

TMP = tempfile.gettempdir()
SESSION_PREFIX = "imgsandbox-test-"     # /tmp/imgsandbox-test-<TAG>: a session's folder
# Temporary folders of the suites (integration, browser, bench): what a
# baseline check looks for in /tmp.
SUITE_FOLDERS = re.compile(r"^(imgsandbox-(test|pg|browser|chromium)-|direct-|job-)")
ENV = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def session_folder(tag):
    return os.path.join(TMP, SESSION_PREFIX + tag)


def instance_prefix(tag):
    """The instance label of every service of session tag starts so."""
    return "t-%s-" % tag


# --- containers -------------------------------------------------------------
# The engine asked on its socket: a `docker ps` costs 50-60 ms of CPU (a
# Go program started), the same question on the socket about 1 ms, and the
# suite asks it thousands of times (each run's host check polls it).
ENGINE_SOCKET = "/var/run/docker.sock"


class _Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(ENGINE_SOCKET)


def engine_request(method, path, body=None, timeout=120):
    """One request to the engine's API (1.41) on its socket: (status, the
    body's bytes). OSError when it does not answer."""
    c = _Unix("docker", timeout=timeout)
    try:
        c.request(method, "/v1.41" + path, body, {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    except http.client.HTTPException as e:
        raise OSError("the engine's answer: %s" % e)
    finally:
        c.close()


def engine_containers(label=None, name=None, running=False):
    """[{"name", "labels", "state"}] of the engine's containers (all, or
    running ones), filtered as `docker ps --filter label=... name=...`
    does. OSError when the engine does not answer."""
    filters = {}
    if label:
        filters["label"] = [label]
    if name:
        filters["name"] = [name]
    if running:
        filters["status"] = ["running"]
    status, body = engine_request("GET", "/containers/json?all=1&filters=" +
                                  urllib.parse.quote(json.dumps(filters)))
    if status != 200:
        raise OSError("the engine answered %d: %s" % (status, body[:300]))
    return [{"name": (c.get("Names") or ["/"])[0].lstrip("/"), "labels": c.get("Labels") or {},
             "state": c.get("State", "")} for c in json.loads(body)]


def containers():
    """[(name, instance label, state)] of the engine's imgsandbox containers.
    OSError when the engine does not answer: a check that saw no engine has
    not seen that nothing is left."""
    try:
        got = engine_containers()
    except ValueError as e:
        raise OSError("the engine's list of containers: %s" % e)
    rows = []
    for c in got:
        inst = c["labels"].get("imgsandbox.instance", "")
        if c["name"].startswith("imgsandbox-") or inst:
            rows.append((c["name"], inst, c["state"]))
    return rows


def remove_containers(names):
    names = sorted(names)
    for i in range(0, len(names), 50):
        subprocess.run(["docker", "rm", "--force", "--volumes"] + names[i:i + 50],
                       capture_output=True, timeout=300, env=ENV)


# --- processes --------------------------------------------------------------
def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def processes():
    """{pid: (cmdline as text, environment bytes)} of every process but this
    one and its ancestors."""
    mine = set()
    p = os.getpid()
    while p > 1:
        mine.add(p)
        stat = _read("/proc/%d/stat" % p).decode("utf-8", "replace")
        try:
            p = int(stat.rsplit(")", 1)[1].split()[1])
        except (IndexError, ValueError):
            break
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in mine:
            continue
        cmd = _read("/proc/%s/cmdline" % d)
        if not cmd:
            continue                    # a kernel thread, or gone
        out[int(d)] = (cmd.replace(b"\0", b" ").decode("utf-8", "replace").strip(),
                       _read("/proc/%s/environ" % d))
    return out


def live_instances(procs):
    """The instance labels of the services running now (a responder's
    IMGSANDBOX_DATA/instance, or its IMGSANDBOX_INSTANCE)."""
    live = set()
    for cmd, env in procs.values():
        vars_ = dict(v.split(b"=", 1) for v in env.split(b"\0") if b"=" in v)
        if b"IMGSANDBOX_INSTANCE" in vars_ and vars_[b"IMGSANDBOX_INSTANCE"]:
            live.add(vars_[b"IMGSANDBOX_INSTANCE"].decode("utf-8", "replace"))
        data = vars_.get(b"IMGSANDBOX_DATA")
        if data:
            name = _read(os.path.join(data.decode("utf-8", "replace"), "instance")).strip()
            if name:
                live.add(name.decode("utf-8", "replace"))
    return live


def kill(pids):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(p, sig)
            except OSError:
                pass
        deadline = time.time() + 5
        while time.time() < deadline and any(os.path.exists("/proc/%d" % p) for p in pids):
            time.sleep(0.1)


# --- mounts and folders -------------------------------------------------------
def mounts():
    """Mount points (decoded) of this mount namespace."""
    out = []
    for line in _read("/proc/self/mountinfo").decode("utf-8", "replace").splitlines():
        f = line.split()
        if len(f) > 4:
            out.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), f[4]))
    return out


def unmount(points):
    for m in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)


CGROUP_ROOT = "/sys/fs/cgroup"


def cgroups():
    """The services' cgroup folders: /imgsandbox-<instance> (the sandboxes'
    capped parent, fcgi/cgroup_parent.sh) and /imgsandbox/<instance> (the
    fork engine's, fcgi/engine_setup.sh), under each v1 controller or the
    v2 root; [(path, instance)]."""
    roots = [CGROUP_ROOT]
    try:
        roots += [os.path.join(CGROUP_ROOT, c) for c in os.listdir(CGROUP_ROOT)
                  if not os.path.islink(os.path.join(CGROUP_ROOT, c))]
    except OSError:
        return []
    out = []
    for r in roots:
        try:
            names = os.listdir(r)
        except OSError:
            continue
        for n in names:
            p = os.path.join(r, n)
            if n.startswith("imgsandbox-") and os.path.isdir(p):
                out.append((p, n[len("imgsandbox-"):]))
            elif n == "imgsandbox" and os.path.isdir(p):
                out += [(os.path.join(p, i), i) for i in os.listdir(p)
                        if os.path.isdir(os.path.join(p, i))]
    return sorted(out)


def remove_cgroups(paths):
    """rmdir, deepest first (a cgroup folder goes once its children and
    processes have)."""
    for top in paths:
        for d, _, _ in sorted(os.walk(top), key=lambda w: len(w[0]), reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass


def suite_folders():
    return sorted(os.path.join(TMP, n) for n in os.listdir(TMP) if SUITE_FOLDERS.match(n))


# --- what a session left ---------------------------------------------------------
def find_session(tag):
    """{kind: [description]} of what session tag left, and the handles to
    remove them: ({...}, {"containers": names, "pids": [], "mounts": [],
    "folders": []})."""
    folder = session_folder(tag)
    prefix = instance_prefix(tag)
    rows, unseen = containers_seen()
    names = [(n, i, s) for n, i, s in rows if i.startswith(prefix)]
    needle = folder.encode()
    marker = ("IMGSANDBOX_TEST_SESSION=%s\0" % tag).encode()
    procs = {p: c for p, (c, env) in processes().items()
             if needle in c.encode() or needle in env or marker in env}
    points = [m for m in mounts() if m == folder or m.startswith(folder + "/")]
    folders = [folder] if os.path.exists(folder) else []
    groups = [p for p, i in cgroups() if i.startswith(prefix)]
    return describe(names, procs, points, folders, groups, unseen)


def containers_seen():
    """(containers(), []), or ([], [why]) when the engine did not answer:
    a check that could not ask has not seen that no container is left, and
    says so as something found."""
    try:
        return containers(), []
    except OSError as e:
        return [], ["the engine did not answer, so its containers were not checked: %s" % e]


def describe(names, procs, points, folders, groups=(), unseen=()):
    found = {
        "engine": list(unseen),
        "containers": ["%s (%s, instance %s)" % (n, s, i or "-") for n, i, s in names],
        "processes": ["%d %s" % (p, c[:200]) for p, c in sorted(procs.items())],
        "mounts": points,
        "folders": folders,
        "cgroups": list(groups),
    }
    handles = {"containers": [n for n, _, _ in names], "pids": sorted(procs),
               "mounts": points, "folders": folders, "cgroups": list(groups)}
    return found, handles


def snapshot():
    """What is there now, for a baseline."""
    procs = processes()
    try:
        names = [n for n, _, _ in containers()]
    except OSError:
        names = []          # make test saves it before it starts the engine
    return {"containers": names,
            "pids": sorted(p for p, (c, env) in procs.items() if suite_process(c, env)),
            "mounts": mounts(), "folders": suite_folders(),
            "cgroups": [p for p, _ in cgroups()]}


def suite_process(cmd, env):
    """Whether a process looks like a suite's: it names a suite's folder in
    /tmp, or it is a service's (IMGSANDBOX_DATA in its environment)."""
    tmp = TMP.rstrip("/") + "/"
    words = re.findall(re.escape(tmp) + r"([^\s/]+)", cmd)
    if any(SUITE_FOLDERS.match(w) for w in words):
        return True
    data = re.search(rb"(^|\0)IMGSANDBOX_DATA=" + re.escape(tmp.encode()) + rb"([^\0/]+)", env)
    return bool(data and SUITE_FOLDERS.match(data.group(2).decode("utf-8", "replace")))


def find_since(base):
    """What appeared since the baseline base (a snapshot()) and looks like a
    suite's: containers whose service is gone, processes and mounts of the
    suites' folders, the folders."""
    procs = processes()
    live = live_instances(procs)
    rows, unseen = containers_seen()
    names = [(n, i, s) for n, i, s in rows
             if n not in base["containers"] and not (i and i in live and s == "running")]
    # A service still running that the suites started is a leftover too;
    # its containers are found through it (removing it reaps them).
    mine = {p: c for p, (c, env) in procs.items()
            if p not in base["pids"] and suite_process(c, env)}
    if mine:
        left = live_instances({p: procs[p] for p in mine})
        names += [(n, i, s) for n, i, s in rows
                  if n not in base["containers"] and i in left and (n, i, s) not in names]
    points = [m for m in mounts() if m not in base["mounts"] and
              any(m.startswith(f + "/") or m == f for f in suite_folders())]
    folders = [f for f in suite_folders() if f not in base["folders"]]
    # A cgroup of a service that is gone (none of a running one's).
    groups = [p for p, i in cgroups() if p not in base.get("cgroups", []) and i not in live]
    return describe(names, mine, points, folders, groups, unseen)


def remove(handles):
    """Removes what handles name: containers, then processes, mounts and
    folders."""
    if handles["containers"]:
        remove_containers(handles["containers"])
    if handles["pids"]:
        kill(handles["pids"])
    if handles["mounts"]:
        unmount(handles["mounts"])
    for f in handles["folders"]:
        shutil.rmtree(f, ignore_errors=True)
    remove_cgroups(handles.get("cgroups", []))


def report(found, what):
    n = sum(len(v) for v in found.values())
    if n == 0:
        print("leftovers: %s left nothing (no container, process, mount, temporary folder or cgroup)"
              % what)
        return 0
    print("leftovers: %s left %d things behind:" % (what, n))
    for kind, items in found.items():
        for i in items:
            print("  %-10s %s" % (kind, i))
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--session", metavar="TAG")
    g.add_argument("--baseline", metavar="FILE")
    g.add_argument("--save-baseline", metavar="FILE")
    ap.add_argument("--remove", action="store_true")
    a = ap.parse_args()
    if a.save_baseline:
        os.makedirs(os.path.dirname(os.path.abspath(a.save_baseline)), exist_ok=True)
        with open(a.save_baseline, "w") as f:
            json.dump(snapshot(), f)
        return 0
    if a.session:
        if not re.fullmatch(r"[a-z0-9-]+", a.session):
            ap.error("a session tag is lower-case letters, digits and '-'")
        look, what = (lambda: find_session(a.session)), "the integration session " + a.session
    else:
        with open(a.baseline) as f:
            base = json.load(f)
        look, what = (lambda: find_since(base)), "the test suites"
    found, handles = look()
    status = report(found, what)
    if status and a.remove:
        remove(handles)
        found, _ = look()
        status = report(found, what + " (after removing)")
    return status


if __name__ == "__main__":
    sys.exit(main())
