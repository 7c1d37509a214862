"""The drop-ins for the system's own web server (conf/, docs/install.md,
"The system's web server"): each of Debian's lighttpd, nginx and Apache,
from its packaged configuration and started as its init script starts it,
with our drop-in enabled the Debian way (a2enconf, lighty-enable-mod, a
link in sites-enabled) beside another site, in front of the responders
alone (serve.sh's SERVER=none, IMGSANDBOX_URL_PREFIX=/imgsandbox):

- the other site still answers, the page and its scripts answer under
  /imgsandbox/ with the project's headers, /imgsandbox goes there;
- POST /imgsandbox/run runs a script that saves /output/result.png, and
  the result URL of its answer (/imgsandbox/outputs/...) is fetched
  through the server, as a PNG; nothing else of the outputs is served;
- /imgsandbox/api/health answers (the API pool), and a body over the cap
  is refused with the API's JSON 413 before it is sent;
- nginx also as a site of its own (sites-available/imgsandbox).

Then the server is stopped and the system's configuration restored: every
file under /etc/apache2, /etc/nginx, /etc/lighttpd and /var/lib/apache2
(a2enmod's records) as it was, compared file by file.

The system's servers listen on port 80 as packaged (ours on a free port of
the test's, by a drop-in of its own): the test is skipped when port 80 is
taken or the system's server runs already (it is not ours to stop), and
one such test runs at a time on the machine (a lock)."""
import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import ROOT, Service, budget, encode_multipart, free_port, new_folder, wait_for

PREFIX = "/imgsandbox"
ENV = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
ENV.pop("PYTEST_CURRENT_TEST", None)
WATCHED = ["/etc/apache2", "/etc/nginx", "/etc/lighttpd", "/var/lib/apache2"]
PIDFILES = {"apache": "/var/run/apache2/apache2.pid", "nginx": "/run/nginx.pid",
            "lighttpd": "/run/lighttpd.pid"}
SCRIPT = """from PIL import Image
im = Image.open("/input/image.png").convert("L")
im.save("/output/result.png")
print("saved", im.size)
"""


def sh(*argv, check=True):
    """Runs argv; its CompletedProcess (text). Fails saying its output when
    check and it fails."""
    p = subprocess.run(list(argv), capture_output=True, text=True, env=ENV, timeout=120)
    assert not check or p.returncode == 0, "%s: exit %d\n%s%s" % (
        " ".join(argv), p.returncode, p.stdout, p.stderr)
    return p


def snapshot():
    """{path: what it is} of everything under WATCHED: a link's target, a
    file's mode and digest, a folder's mode."""
    out = {}
    for top in WATCHED:
        for d, dirs, files in os.walk(top):
            out[d] = ("dir", os.lstat(d).st_mode)
            for n in dirs + files:
                p = os.path.join(d, n)
                st = os.lstat(p)
                if os.path.islink(p):
                    out[p] = ("link", os.readlink(p))
                elif n in files:
                    with open(p, "rb") as f:
                        out[p] = ("file", st.st_mode, hashlib.sha256(f.read()).hexdigest())
    return out


def restore(before):
    """Removes what is under WATCHED now and was not in the snapshot before
    (the deepest first). Returns (the paths it removed, the differences
    that remain: [] when the configuration is as it was)."""
    now = snapshot()
    added = sorted(set(now) - set(before), key=len, reverse=True)
    for p in added:
        if now[p][0] == "dir":
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            os.unlink(p)
    now = snapshot()
    return sorted(added), sorted(p for p in set(now) | set(before) if now.get(p) != before.get(p))


def pid_alive(pidfile):
    """The pid in pidfile if that process lives, else None."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().split()[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, IndexError):
        return None


def port_free(port):
    """Whether nothing listens on port (IPv4 or IPv6, any address)."""
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        with socket.socket(family) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


@pytest.fixture(scope="module")
def responders():
    """The service without a web server: SERVER=none, its results under
    /imgsandbox/outputs/ and its routes answered under /imgsandbox/ too."""
    svc = Service("none", {"IMGSANDBOX_URL_PREFIX": PREFIX})
    m = re.search(r"the run pool at (\S+), the API pool at (\S+), the page in (\S+), "
                  r"the results in (\S+)\s", svc.ready_line())
    assert m, svc.ready_line()
    svc.sockets = {"RUN_SOCKET": m.group(1), "API_SOCKET": m.group(2),
                   "STATIC": m.group(3), "OUTPUTS": m.group(4)}
    yield svc
    svc.stop()


@contextlib.contextmanager
def machine_lock():
    """One such test at a time on the machine (the system's servers are one)."""
    fd = os.open("/run/lock/imgsandbox-test-dropins.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def render(svc, template, **extra):
    """conf/<template> filled by fcgi/render_conf.sh with the service's
    paths and settings."""
    env = dict(svc.env, **svc.sockets, PREFIX=PREFIX, **extra)
    env.pop("PYTEST_CURRENT_TEST", None)
    p = subprocess.run([os.path.join(ROOT, "fcgi", "render_conf.sh"),
                        os.path.join(ROOT, "conf", template)],
                       capture_output=True, text=True, env=env, check=True)
    return p.stdout


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def other_site():
    """A folder the web server's workers can read with a page of its own;
    (folder, the page's text)."""
    d = new_folder("other-site")
    os.chmod(d, 0o755)
    token = "the other site %s" % os.path.basename(d)
    write(os.path.join(d, "index.html"), "<p>%s</p>\n" % token)
    os.chmod(os.path.join(d, "index.html"), 0o644)
    return d, token


# --- each server, the Debian way ---------------------------------------------------
def setup_apache(svc, port, other):
    """conf-available/imgsandbox.conf and a test site of its own (a Listen and a
    virtual host with the other site on port): enabled with a2enmod and
    a2enconf. Returns {port: the other site's folder or None}."""
    write("/etc/apache2/conf-available/imgsandbox.conf", render(svc, "apache-imgsandbox.conf"))
    write("/etc/apache2/conf-available/imgsandbox-test.conf",
          'Listen 127.0.0.1:%d\n<VirtualHost 127.0.0.1:%d>\n  DocumentRoot "%s"\n'
          '  <Directory "%s">\n    Require all granted\n  </Directory>\n</VirtualHost>\n'
          % (port, port, other, other))
    sh("a2enmod", "-q", "proxy_fcgi", "headers", "buffer")
    sh("a2enconf", "-q", "imgsandbox", "imgsandbox-test")
    sh("apache2ctl", "configtest")
    sh("apache2ctl", "start")
    return {port: True}


def stop_apache():
    sh("apache2ctl", "stop", check=False)


def teardown_apache(enabled_before):
    sh("a2disconf", "-q", "imgsandbox", "imgsandbox-test", check=False)
    for mod in ("proxy_fcgi", "proxy", "headers", "buffer"):
        if mod not in enabled_before:
            sh("a2dismod", "-q", "-f", mod, check=False)
    for f in ("imgsandbox.conf", "imgsandbox-test.conf"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink("/etc/apache2/conf-available/" + f)


def setup_nginx(svc, port, other):
    """snippets/imgsandbox.conf included in a server of the test's own that
    serves the other site at /, and sites-available/imgsandbox (the site
    of its own) on a second port; both linked into sites-enabled."""
    site_port = free_port()
    write("/etc/nginx/snippets/imgsandbox.conf", render(svc, "nginx-snippet.conf"))
    write("/etc/nginx/sites-available/imgsandbox",
          render(svc, "nginx-site.conf", LISTEN="127.0.0.1:%d" % site_port))
    write("/etc/nginx/sites-available/imgsandbox-test",
          "server {\n  listen 127.0.0.1:%d;\n  root \"%s\";\n  location / { }\n"
          "  include snippets/imgsandbox.conf;\n}\n" % (port, other))
    for name in ("imgsandbox", "imgsandbox-test"):
        os.symlink("../sites-available/" + name, "/etc/nginx/sites-enabled/" + name)
    sh("nginx", "-t", "-q")
    sh("/etc/init.d/nginx", "start")
    return {port: True, site_port: False}


def stop_nginx():
    sh("/etc/init.d/nginx", "stop", check=False)


def teardown_nginx(enabled_before):
    for f in ("sites-enabled/imgsandbox", "sites-enabled/imgsandbox-test",
              "sites-available/imgsandbox", "sites-available/imgsandbox-test",
              "snippets/imgsandbox.conf"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink("/etc/nginx/" + f)


def setup_lighttpd(svc, port, other):
    """conf-available/50-imgsandbox.conf (its errors' folder beside it) and a
    test module of its own (a socket on port serving the other site):
    enabled with lighty-enable-mod, which enables fastcgi and setenv too."""
    errors = "/etc/lighttpd/imgsandbox-errors"
    os.makedirs(errors)
    for f in os.listdir(os.path.join(svc.sockets["STATIC"], "errors")):
        shutil.copy(os.path.join(svc.sockets["STATIC"], "errors", f),
                    os.path.join(errors, f.replace(".json", ".html")))
    write("/etc/lighttpd/conf-available/50-imgsandbox.conf",
          render(svc, "lighttpd-imgsandbox.conf", ERRORS=errors))
    write("/etc/lighttpd/conf-available/99-imgsandbox-test.conf",
          '$SERVER["socket"] == "127.0.0.1:%d" {\n  server.document-root = "%s"\n}\n'
          % (port, other))
    sh("lighty-enable-mod", "imgsandbox", "imgsandbox-test")
    sh("lighttpd", "-tt", "-f", "/etc/lighttpd/lighttpd.conf")
    sh("/etc/init.d/lighttpd", "start")
    return {port: True}


def stop_lighttpd():
    sh("/etc/init.d/lighttpd", "stop", check=False)


def teardown_lighttpd(enabled_before):
    sh("lighty-disable-mod", "imgsandbox", "imgsandbox-test", check=False)
    for mod in ("fastcgi", "setenv"):
        if mod not in enabled_before:
            sh("lighty-disable-mod", mod, check=False)
    for f in ("50-imgsandbox.conf", "99-imgsandbox-test.conf"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink("/etc/lighttpd/conf-available/" + f)
    shutil.rmtree("/etc/lighttpd/imgsandbox-errors", ignore_errors=True)


def enabled_now(server):
    """The modules enabled before the test (which it must leave enabled)."""
    if server == "apache":
        return {f.rsplit(".", 1)[0] for f in os.listdir("/etc/apache2/mods-enabled")}
    if server == "lighttpd":
        return {re.sub(r"^\d+-|\.conf$", "", f) for f in os.listdir("/etc/lighttpd/conf-enabled")}
    return set()


SERVERS = {"apache": (setup_apache, stop_apache, teardown_apache),
           "nginx": (setup_nginx, stop_nginx, teardown_nginx),
           "lighttpd": (setup_lighttpd, stop_lighttpd, teardown_lighttpd)}


# --- the requests ------------------------------------------------------------------
def request(port, method, path, body=None, headers=None, timeout=None):
    """(status, {lower-case header: value}, body) of one request to 127.0.0.1:port."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout or budget(2) + 30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def check_page(port):
    status, h, body = request(port, "GET", PREFIX)
    assert status == 301 and h["location"].endswith(PREFIX + "/"), (status, h)
    status, h, body = request(port, "GET", PREFIX + "/")
    assert status == 200 and b'id="run-form"' in body, (status, body[:300])
    assert h["content-type"].startswith("text/html"), h
    assert "script-src 'self'" in h.get("content-security-policy", ""), h
    assert h.get("x-content-type-options") == "nosniff" and h.get("x-frame-options") == "DENY", h
    # The page's scripts and the URLs they use: relative to the page.
    status, h, body = request(port, "GET", PREFIX + "/js/playground/request.js")
    assert status == 200 and h["content-type"].startswith("text/javascript"), (status, h)
    assert b"RUN_URL = 'run'" in body
    status, h, body = request(port, "GET", PREFIX + "/sample.png")
    assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n", (status, h)
    status, h, body = request(port, "GET", PREFIX + "/js/")
    assert status in (403, 404) and b"request.js" not in body, (status, body[:300])


def check_api(port):
    status, h, body = request(port, "GET", PREFIX + "/api/health")
    assert status == 200 and h["content-type"].startswith("application/json"), (status, body[:300])
    assert isinstance(json.loads(body), dict), body[:300]
    status, h, body = request(port, "GET", PREFIX + "/api/limits")
    assert status == 200 and "body_bytes" in json.loads(body), body[:300]


def check_run(port, svc):
    form, ctype = encode_multipart([("code", SCRIPT), ("use_sample", "1")])
    status, h, body = request(port, "POST", PREFIX + "/run", form, {"Content-Type": ctype},
                              timeout=svc.answer_within())
    assert status == 200, (status, body[:500])
    r = json.loads(body)
    assert r["status"] == "success", r
    assert r["url"] == "%s/outputs/%s/result.png" % (PREFIX, r["job_id"]), r
    status, h, png = request(port, "GET", r["url"])
    assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n", (status, h, png[:100])
    assert h["content-type"] == "image/png" and h.get("x-content-type-options") == "nosniff", h
    # Nothing else of the outputs folder: no listing, no other name.
    for path in ("/outputs/", "/outputs/%s/" % r["job_id"],
                 "/outputs/%s/result.txt" % r["job_id"]):
        status, h, _ = request(port, "GET", PREFIX + path)
        assert status in (403, 404), (path, status)


def check_live(port, svc):
    """Live output passes as the script prints (no buffering, no
    compression on the way): the first line arrives while the script
    still sleeps."""
    code = "import time\nprint('first', flush=True)\ntime.sleep(2)\nprint('second')\n"
    form, ctype = encode_multipart([("code", code)])
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=svc.answer_within())
    try:
        c.request("POST", PREFIX + "/run", form, {"Content-Type": ctype, "Accept-Encoding": "gzip",
                                                  "Accept": "text/event-stream"})
        r = c.getresponse()
        assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
        assert r.getheader("Content-Encoding") is None, r.getheaders()
        first = done = None
        while done is None:
            line = r.readline()
            assert line, "the stream ended before its done event"
            if first is None and line.startswith(b"data: ") and b"first" in line:
                first = time.monotonic()
            elif line.startswith(b"event: done"):
                done = time.monotonic()
    finally:
        c.close()
    assert first is not None and done - first >= 1.5, "the first line was held back"


def check_body_cap(port, svc):
    """A Content-Length over the cap: the API's JSON 413, before the body."""
    cap = int(subprocess.run([os.path.join(ROOT, "build", "responder"), "--settings"],
                             capture_output=True, text=True, env=svc.env, check=True)
              .stdout.split("IMGSANDBOX_BODY_BYTES=")[1].split()[0])
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=budget(1) + 30)
    try:
        c.putrequest("POST", PREFIX + "/run")
        c.putheader("Content-Type", "multipart/form-data; boundary=x")
        c.putheader("Content-Length", str(cap + 4096))
        c.endheaders()
        r = c.getresponse()
        body = r.read()
    finally:
        c.close()
    assert r.status == 413, (r.status, body[:300])
    assert r.getheader("Content-Type", "").startswith("application/json"), r.getheaders()
    assert json.loads(body)["error"]["code"] == "too_large", body


@pytest.mark.parametrize("server", list(SERVERS))
def test_dropin_beside_another_site(server, responders):
    setup, stop, teardown = SERVERS[server]
    with machine_lock():
        running = pid_alive(PIDFILES[server])
        if running:
            pytest.skip("the system's %s runs already (pid %d): it is not ours to stop"
                        % (server, running))
        if not port_free(80):
            pytest.skip("port 80 is taken: the system's %s listens there as packaged" % server)
        before = snapshot()
        enabled_before = enabled_now(server)
        port = free_port()
        other, token = other_site()
        try:
            ports = setup(responders, port, other)
            wait_for(lambda: pid_alive(PIDFILES[server]), "the system's %s to start" % server)
            for p, with_other in ports.items():
                wait_for(lambda: request(p, "GET", PREFIX + "/")[0] == 200,
                         "%s to answer on port %d" % (server, p), timeout=budget(0) + 30)
                if with_other:
                    status, _, body = request(p, "GET", "/")
                    assert status == 200 and token.encode() in body, (status, body[:300])
                else:                   # the site of its own leads to the service
                    status, h, _ = request(p, "GET", "/")
                    assert status == 302 and h["location"].endswith(PREFIX + "/"), (status, h)
                check_page(p)
                check_api(p)
                check_run(p, responders)
                check_live(p, responders)
                check_body_cap(p, responders)
        finally:
            pid = pid_alive(PIDFILES[server])
            stop()
            if pid:
                wait_for(lambda: not os.path.exists("/proc/%d" % pid),
                         "the system's %s (pid %d) to stop" % (server, pid), timeout=60)
            teardown(enabled_before)
            removed, differ = restore(before)
        # What the Debian tools leave of a round trip: a2dismod's records
        # of what the administrator disabled (removed above); nothing else.
        assert differ == [], "the system's configuration differs: %s" % differ
        assert [p for p in removed if not p.startswith("/var/lib/apache2/")] == [], removed
