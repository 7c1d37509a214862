"""make run from a checkout anywhere (issue 20.1): a clone in a folder of
mode 0700 (what mktemp -d makes; /root and every home folder of Debian 12
are 0700 too), with a space in its path, serves as root through each of
the three servers: what the web server's workers and the service's users
read of it is copied out (DATA/app), its data lives in
/var/lib/imgsandbox/checkout-<hash of its path>, and the modes of the
user's own folders are left as they were. A second checkout beside the
first serves at the same time, each with its own data."""
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import ROOT, SERVERS, encode_multipart, free_port, new_folder

# What a checkout holds besides its tracked files: what `make` made.
BUILT = ["build/responder", "build/supervise", "build/sandboxd", "build/seccomp_profile",
         "build/zygote_fork.so", "static/vendor"]


def clone_into(parent):
    """The tracked tree and the programs, as a clone and `make` leave them,
    in a folder named with a space inside parent. Returns its path."""
    dest = os.path.join(parent, "my checkout")
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in [f for f in files if f] + BUILT:
        src = os.path.join(ROOT, rel)
        if not os.path.lexists(src):
            continue
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if os.path.isdir(src) and not os.path.islink(src):
            shutil.copytree(src, out, symlinks=True)
        else:
            shutil.copy2(src, out, follow_symlinks=False)
    return dest


class Checkout:
    """fcgi/serve.sh of the clone at path, as root, with make run's defaults
    (its data folder where serve.sh puts it), on a free port."""

    def __init__(self, path, server):
        self.path, self.server, self.port = path, server, free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log = tempfile.TemporaryFile()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMGSANDBOX_")}
        # make run's defaults, less an installed service's settings file
        # (test_deb may install one meanwhile).
        env.update({"IMGSANDBOX_CONFIG_FILE": "", "PORT": str(self.port), "SERVER": server,
                    "START_DOCKERD": "no",
                    "RESPONDERS": "2", "API_RESPONDERS": "1"})
        self.proc = subprocess.Popen([os.path.join(path, "fcgi", "serve.sh")], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 300        # a first start may build the image
        while time.time() < deadline:
            assert self.proc.poll() is None, self.said()
            try:
                urllib.request.urlopen(self.base + "/", timeout=2).read()
                if "data in " in self.said():     # its line comes after the servers'
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("the service did not come up: " + self.said())

    def said(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-4000:]

    def data(self):
        said = self.said()
        return said.split("data in ", 1)[1].split(";", 1)[0]

    def run(self, code):
        body, ctype = encode_multipart([("code", code)])
        req = urllib.request.Request(self.base + "/run", data=body, method="POST",
                                     headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())

    def stop(self):
        data = self.data() if "data in " in self.said() else None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if data and data.startswith("/var/lib/imgsandbox/checkout-"):
            shutil.rmtree(data, ignore_errors=True)


RESULT = ("from PIL import Image\n"
          "Image.new('RGB', (8, 8), (1, 2, 3)).save('/output/result.png')\n")


@pytest.fixture(scope="module")
def home():
    """A folder of mode 0700, as mktemp -d and every home folder make."""
    parent = new_folder("home")
    os.chmod(parent, 0o700)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.parametrize("server", SERVERS)
def test_a_checkout_in_a_0700_folder_serves(home, server):
    path = clone_into(os.path.join(home, server))
    os.chmod(os.path.join(home, server), 0o700)
    modes = {p: stat.S_IMODE(os.stat(p).st_mode) for p in (home, os.path.join(home, server), path)}
    svc = Checkout(path, server)
    try:
        assert svc.data().startswith("/var/lib/imgsandbox/checkout-"), svc.said()
        page = urllib.request.urlopen(svc.base + "/", timeout=10).read()
        assert b"<html" in page.lower()
        r = svc.run(RESULT)
        assert r["status"] == "success", r
        img = urllib.request.urlopen(svc.base + r["url"], timeout=10).read()
        assert img.startswith(b"\x89PNG")
        # Nothing of the user's folders was opened up to do it.
        assert {p: stat.S_IMODE(os.stat(p).st_mode) for p in modes} == modes
    finally:
        svc.stop()


def test_a_second_checkout_beside_the_first(home):
    a = clone_into(os.path.join(home, "first"))
    b = clone_into(os.path.join(home, "second"))
    one, two = Checkout(a, "nginx"), None
    try:
        two = Checkout(b, "lighttpd")
        assert one.data() != two.data()
        for svc in (one, two):
            assert svc.run(RESULT)["status"] == "success"
    finally:
        one.stop()
        if two is not None:
            two.stop()
