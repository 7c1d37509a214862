"""Least privilege on the host, through lighttpd, nginx and Apache. Started
as root (as the tests are here), serve.sh keeps root for the web server's
master (it binds the port) and itself (it stops the rest) and nothing else:
the web server's workers are www-data, the responders and their supervise
the service user imgsandbox with no group but its own, and the broker
(sandboxd) and its supervise imgsandbox-engine, the one user in the docker
group. No process that parses HTTP or what a sandbox prints is root or in
the docker group. The data folder, the log, the published results, the
broker's socket and the FastCGI sockets are each reachable by who needs them
and nobody else. Started as another user, everything runs as that user."""
import grp
import os
import pwd
import stat
import subprocess

import pytest

from conftest import SERVERS, Service

SERVICE_USER = "imgsandbox"
ENGINE_USER = "imgsandbox-engine"
WEB_USER = "www-data"
MASTERS = {"nginx", "apache2"}      # lighttpd has none: it becomes www-data itself


def status_of(pid):
    """/proc/<pid>/status as a dict of its fields."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def processes(service):
    """The service's processes (serve.sh's process group), each as
    (pid, ppid, comm, user name, {uid, gid, groups, capeff} of status)."""
    procs = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != service.proc.pid:          # the process group
                continue
            comm = open("/proc/%s/comm" % p).read().strip()
            st = status_of(int(p))
        except OSError:
            continue                                        # ended meanwhile
        uids, gids = st["Uid"], st["Gid"]
        assert len(set(uids)) == 1 and len(set(gids)) == 1, (comm, uids, gids)  # real = effective = saved
        procs.append((int(p), int(fields[1]), comm, pwd.getpwuid(int(uids[0])).pw_name,
                      {"gid": int(gids[0]), "groups": set(int(g) for g in st["Groups"]),
                       "capeff": int(st["CapEff"][0], 16)}))
    return procs


def role(service, pid, ppid, comm):
    """What the process is: serve.sh, master, worker, supervise (of a pool),
    broker-supervise, broker, responder, or other (a short-lived helper
    such as the broker's docker client)."""
    if pid == service.proc.pid or (ppid == service.proc.pid and comm in ("curl", "sleep")):
        return "serve.sh"       # itself, or a step of its own (waiting for the server)
    if comm in ("nginx", "apache2", "lighttpd"):
        return "master" if ppid == service.proc.pid and comm in MASTERS else "worker"
    if comm == "supervise":
        return "broker-supervise" if "sandboxd" in cmdline(pid) else "supervise"
    if comm == "sandboxd" and parent_is_supervise(ppid):
        return "broker"
    if comm in ("responder", "imgsandbox-api") and parent_is_supervise(ppid):
        return "responder"
    return "other"      # a short-lived helper, e.g. serve.sh's own `responder --settings`


def cmdline(pid):
    try:
        return open("/proc/%d/cmdline" % pid, "rb").read().decode("utf-8", "replace")
    except OSError:
        return ""


def parent_is_supervise(ppid):
    try:
        return open("/proc/%d/comm" % ppid).read().strip() == "supervise"
    except OSError:
        return False


# Who each role runs as.
USER_OF = {"serve.sh": "root", "master": "root", "worker": WEB_USER, "supervise": SERVICE_USER,
           "responder": SERVICE_USER, "broker-supervise": ENGINE_USER, "broker": ENGINE_USER}
# The roles that read what a stranger or a script sends.
PARSERS = ("worker", "supervise", "responder")


def test_each_process_runs_as_its_user(service):
    docker_gid = grp.getgrnam("docker").gr_gid
    service_gid = grp.getgrnam(SERVICE_USER).gr_gid
    seen = {}
    for pid, ppid, comm, user, st in processes(service):
        r = role(service, pid, ppid, comm)
        seen.setdefault(r, []).append((comm, user))
        if r == "other":
            assert user in ("root", ENGINE_USER), (comm, pid, user)   # the broker's clients
            continue
        assert user == USER_OF[r], (r, comm, pid, user)
        if user != "root":
            assert st["capeff"] == 0, (comm, hex(st["capeff"]))
        if r in PARSERS:
            # No key to the engine, and no group but its own: not even what
            # /etc/group gives its user (an older version put it in docker).
            assert docker_gid not in st["groups"], (r, comm, st)
            assert st["groups"] <= {st["gid"]}, (r, comm, st)
        if r in ("supervise", "responder"):
            assert st["gid"] == service_gid, (comm, st)
        if r in ("broker", "broker-supervise"):
            assert st["groups"] - {st["gid"]} == {service_gid, docker_gid}, (comm, st)
    print(service.server, {r: sorted(set(v)) for r, v in seen.items()})
    assert len(seen.get("master", [])) == (1 if service.server != "lighttpd" else 0), seen
    assert seen.get("worker"), seen
    # Two pools (3 + 2 responders here) each under supervise, and the broker.
    assert len(seen["responder"]) == 5 and len(seen["supervise"]) == 2, seen
    assert len(seen["broker"]) == 1 and len(seen["broker-supervise"]) == 1, seen


def as_user(user, *cmd):
    """Runs cmd as user (with that user's groups); its exit status."""
    pw = pwd.getpwnam(user)
    return subprocess.run(["setpriv", "--reuid", user, "--regid", str(pw.pw_gid), "--init-groups",
                           "--"] + list(cmd), capture_output=True).returncode


def mode_owner(path):
    st = os.lstat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


def test_data_log_and_results_belong_to_who_needs_them(service):
    status, _, r = service.run("from PIL import Image\nImage.new('L', (2, 2)).save('/output/result.png')\n")
    assert r["status"] == "success", r
    outputs = os.path.join(service.data, "outputs")
    job = os.path.join(outputs, r["job_id"])
    result = os.path.join(job, "result.png")
    assert mode_owner(service.data) == (0o751, SERVICE_USER, WEB_USER)
    assert mode_owner(service.db) == (0o600, SERVICE_USER, SERVICE_USER)
    for extra in ("-wal", "-shm"):
        if os.path.exists(service.db + extra):
            assert mode_owner(service.db + extra)[:2] == (0o600, SERVICE_USER)
    assert mode_owner(outputs) == (0o2750, SERVICE_USER, WEB_USER)
    assert mode_owner(job) == (0o750, SERVICE_USER, WEB_USER)
    assert mode_owner(result) == (0o640, SERVICE_USER, WEB_USER)
    # The web server reads results and not the log; anyone else neither.
    assert as_user(WEB_USER, "cat", result) == 0
    assert as_user(WEB_USER, "cat", service.db) != 0
    assert as_user("nobody", "cat", result) != 0
    assert as_user("nobody", "cat", service.db) != 0
    assert as_user("nobody", "ls", outputs) != 0
    # And the web server does serve it.
    status, _, body = service.request("GET", r["url"])
    assert status == 200 and body == open(result, "rb").read()


CONNECT = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])"


def test_sockets_are_the_web_servers_alone(service):
    rundir = os.path.join(service.data, "run-%s-%d" % (service.server, service.port))
    for name in ("run.sock", "api.sock"):
        path = os.path.join(rundir, name)
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
        assert mode_owner(path) == (0o600, WEB_USER, WEB_USER), name
        assert as_user(WEB_USER, "/usr/bin/python3", "-c", CONNECT, path) == 0, name
        assert as_user("nobody", "/usr/bin/python3", "-c", CONNECT, path) != 0, name
        assert as_user(SERVICE_USER, "/usr/bin/python3", "-c", CONNECT, path) != 0, name
    # The servers' own folder: root's, readable by the web server only.
    assert mode_owner(rundir) == (0o751, "root", WEB_USER)
    assert as_user("nobody", "ls", rundir) != 0


def test_only_the_service_user_may_ask_the_broker(service):
    """The broker's socket is its own and its group's (the service's); and
    whoever reaches it, the broker serves only the owner of the data folder:
    root, the web server and a stranger get no sandbox."""
    engine = os.path.join(service.data, "engine")
    sock = os.path.join(engine, "broker.sock")
    assert mode_owner(engine) == (0o2750, ENGINE_USER, SERVICE_USER)
    assert mode_owner(sock) == (0o660, ENGINE_USER, SERVICE_USER)
    assert as_user(WEB_USER, "/usr/bin/python3", "-c", CONNECT, sock) != 0
    assert as_user("nobody", "/usr/bin/python3", "-c", CONNECT, sock) != 0
    # Root reaches the file; the broker checks the peer and says nothing.
    import socket
    import struct
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    s.connect(sock)
    take = struct.pack("<IHHii", 0x31425349, 1, 0, 5000, 0).ljust(1488, b"\0")  # sizeof(struct broker_msg)
    try:
        s.send(take)
        got = s.recv(4096)
    except (ConnectionError, OSError):
        got = b""
    s.close()
    assert got == b"", "the broker answered root"
    log = open(os.path.join(service.data, "run-%s-%d" % (service.server, service.port),
                            "sandboxd.log")).read()
    assert "refused a connection from uid 0" in log, log[-2000:]


@pytest.fixture(scope="module", params=SERVERS)
def unprivileged(request):
    """serve.sh started by an ordinary user in the docker group (a
    developer's machine): a user of its own, made for the test."""
    user = "imgsandbox-dev"
    if subprocess.run(["getent", "passwd", user], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", "-G", "docker", user], check=True)
    svc = Service(request.param, {"IMGSANDBOX_WARM": "0"}, responders=1, user=user)
    yield svc
    svc.stop()


def test_started_by_a_user_everything_runs_as_that_user(unprivileged):
    svc = unprivileged
    procs = processes(svc)
    assert procs and {user for _, _, _, user, _ in procs} == {"imgsandbox-dev"}, procs
    roles = {role(svc, p, pp, c) for p, pp, c, _, _ in procs}
    assert {"responder", "worker", "broker"} <= roles, roles
    status, _, r = svc.run("from PIL import Image\nImage.new('L', (2, 2)).save('/output/result.png')\n")
    assert status == 200 and r["status"] == "success", r
    status, _, _ = svc.request("GET", r["url"])
    assert status == 200
