"""A proxy on the same host, in front of each server: a stock nginx
`proxy_pass http://127.0.0.1:PORT;` (nothing else: it names a loopback
Host, adds no forwarding header and speaks HTTP/1.0) makes no one the
operator, whatever Host its client names; the TLS recipe of
docs/install.md, run as it is written there, lets the operator read the
log from the machine and refuses a stranger (from an address of this
host that is not loopback), who cannot pose as loopback with a forged
X-Forwarded-For."""
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import ROOT, SERVERS, Service, encode_multipart, free_port, new_folder

ENGINE = "fork"  # its claims are not the engine's: docs/development.md

STOCK = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  {server}
}}
"""


def stock_server(listen, port):
    return ("server { listen %s; location / { proxy_pass http://127.0.0.1:%d; } }"
            % (listen, port))


RECIPE = os.path.join("docs", "install.md")


def recipe_tls_block():
    """The TLS recipe's server block, as docs/install.md has it."""
    text = open(os.path.join(ROOT, RECIPE)).read()
    m = re.search(r"```nginx\n(# TLS in front of imgsandbox.*?)```", text, re.S)
    assert m, ("%s has no TLS recipe (a fenced nginx block that starts with "
               "\"# TLS in front of imgsandbox\")" % RECIPE)
    return m.group(1)


def stranger_address():
    """An address of this host that is not loopback (docker0's at least)."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        addr = line.split()[3].split("/")[0]
        if not addr.startswith("127."):
            return addr
    pytest.fail("this host has no address but loopback")


class Proxy:
    """nginx with one server block, in a folder of its own."""
    def __init__(self, server_block, port):
        self.dir = new_folder("proxy")     # in the session's folder: removed with it
        os.chmod(self.dir, 0o755)
        self.port = port
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(STOCK.format(dir=self.dir, server=server_block))
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir],
                                     stderr=open(os.path.join(self.dir, "stderr"), "wb"))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError("nginx did not start: " + open(os.path.join(self.dir, "stderr")).read()
                           + open(os.path.join(self.dir, "error.log")).read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def get(port, path, host, source="127.0.0.1", tls=False, headers=None, address="127.0.0.1"):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection(address, port, timeout=60, context=ctx,
                                        source_address=(source, 0))
    else:
        c = http.client.HTTPConnection(address, port, timeout=60, source_address=(source, 0))
    try:
        c.putrequest("GET", path, skip_host=True)
        c.putheader("Host", host)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


OPERATOR = ["/api/logs/summary", "/api/metrics"]


@pytest.mark.parametrize("server", SERVERS)
def test_a_stock_proxy_makes_no_one_local(server):
    svc = Service(server, responders=1)
    port = free_port()
    proxy = Proxy(stock_server("127.0.0.1:%d" % port, svc.port), port)
    try:
        # From this machine, as before: the operator.
        for path in OPERATOR:
            assert get(svc.port, path, "127.0.0.1:%d" % svc.port)[0] == 200, path
        # Through the proxy, whatever the Host: no one.
        for host in ("imgsandbox.example.com", "localhost", "127.0.0.1:%d" % port):
            for path in OPERATOR:
                status, body = get(port, path, host)
                assert status == 403, (host, path, status, body[:300])
                assert json.loads(body)["error"]["code"] == "forbidden"
        # What is anyone's still answers through it.
        assert get(port, "/api/limits", "imgsandbox.example.com")[0] == 200
    finally:
        proxy.stop()
        svc.stop()


def self_signed(folder):
    key, cert = os.path.join(folder, "key.pem"), os.path.join(folder, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=imgsandbox.example.com", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return key, cert


def tls_recipe(port, listen_port, folder):
    """The recipe's block with this test's port, address and certificate."""
    key, cert = self_signed(folder)
    block = recipe_tls_block()
    for old, new in (("listen 443 ssl;", "listen %d ssl;" % listen_port),
                     ("/etc/ssl/imgsandbox/fullchain.pem", cert),
                     ("/etc/ssl/imgsandbox/privkey.pem", key),
                     ("http://127.0.0.1:8000;", "http://127.0.0.1:%d;" % port)):
        assert old in block, "%s: the TLS recipe no longer has %r" % (RECIPE, old)
        block = block.replace(old, new)
    return block


@pytest.mark.parametrize("server", SERVERS)
def test_the_documented_tls_recipe(server):
    svc = Service(server, {"IMGSANDBOX_TRUSTED_PROXIES": "127.0.0.1"}, responders=2)
    port = free_port()
    folder = new_folder("tls")
    os.chmod(folder, 0o755)
    proxy = Proxy(tls_recipe(svc.port, port, folder), port)
    far = stranger_address()
    try:
        # The operator, on the machine, through the proxy.
        for path in OPERATOR:
            status, body = get(port, path, "localhost:%d" % port, tls=True)
            assert status == 200, (path, status, body[:300])
        # A stranger: refused, whatever Host it names or whom it says it is for.
        for host, headers in (("imgsandbox.example.com", {}), ("localhost", {}),
                              ("localhost", {"X-Forwarded-For": "127.0.0.1"}),
                              ("127.0.0.1:%d" % svc.port, {"X-Real-IP": "127.0.0.1"})):
            for path in OPERATOR:
                status, body = get(port, path, host, source=far, tls=True, headers=headers,
                                   address=far)
                assert status == 403, (host, headers, path, status, body[:300])
        # And a run goes through it, as the page sends one.
        body, ctype = encode_multipart([("code", "print('through tls')\n")])
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection(far, port, timeout=120, context=ctx,
                                        source_address=(far, 0))
        c.request("POST", "/run", body, {"Content-Type": ctype})
        r = c.getresponse()
        answer = json.loads(r.read())
        c.close()
        assert r.status == 200 and "through tls" in answer["stdout"], answer
    finally:
        proxy.stop()
        svc.stop()
