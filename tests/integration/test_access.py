"""Who may read the log (IMGSANDBOX_LOGS_ACCESS), through every server:
local (a loopback client naming a loopback host, in a request no proxy
forwarded; a Host of another name is refused, so a page the operator
visits cannot read the log by DNS rebinding), token, open; a session stays readable by whoever holds its id."""
import http.client
import json
import os
import socket

import pytest

from conftest import SERVERS, Service, secret_file

ENGINE = "fork"  # its claims are not the engine's: docs/development.md


def get(service, path, headers=None, source="127.0.0.1"):
    c = http.client.HTTPConnection("127.0.0.1", service.port, timeout=service.answer_within(),
                                   source_address=(source, 0))
    try:
        c.putrequest("GET", path, skip_host=True)
        h = {"Host": "127.0.0.1:%d" % service.port}
        h.update(headers or {})
        for k, v in h.items():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


OPERATOR = ["/api/logs/summary", "/api/logs/failures?limit=5", "/api/logs/ai-context",
            "/api/logs/log/1", "/api/metrics"]


@pytest.fixture(scope="module", params=SERVERS)
def local(request):
    svc = Service(request.param, {"IMGSANDBOX_TRUSTED_PROXIES": "127.0.0.9",
                                  "IMGSANDBOX_LOCAL_HOSTS": "sandbox.internal"}, responders=2)
    yield svc
    svc.stop()


def test_local_reads_from_this_machine_only(local):
    status, _, r = local.run("print('x')\n", session_id="access-" + local.server)
    assert status == 200
    for host in ("127.0.0.1:%d" % local.port, "localhost", "LOCALHOST:80", "[::1]:8000",
                 "127.1.2.3", "sandbox.internal"):
        for path in OPERATOR:
            status, _, body = get(local, path, {"Host": host})
            assert status in (200, 404), (host, path, status, body[:200])
            assert status == 200 or path == "/api/logs/log/1"
    # Another name (a rebinding attacker's page), from this very machine.
    for host in ("evil.example", "127.0.0.1.evil.example", "localhost.evil.example", ""):
        for path in OPERATOR:
            status, _, body = get(local, path, {"Host": host} if host else {"Host": ""})
            assert status in (400, 403), (host, path, status)
            if status == 403:
                err = json.loads(body)["error"]
                assert err["code"] == "forbidden" and "dashboard" in err["message"]
    # A session is its holder's: readable with its id from anywhere.
    status, _, body = get(local, "/api/logs/session/" + r["session_id"], {"Host": "evil.example"})
    assert status == 200 and json.loads(body)["attempts"][0]["log_id"] == r["log_id"]


def test_local_refuses_a_client_behind_a_proxy(local):
    # 127.0.0.9 is a trusted proxy: its X-Forwarded-For names the client.
    status, _, _ = get(local, "/api/logs/summary", {"X-Forwarded-For": "198.51.100.7"},
                       source="127.0.0.9")
    assert status == 403
    status, _, _ = get(local, "/api/logs/summary", {"X-Forwarded-For": "127.0.0.1"},
                       source="127.0.0.9")
    assert status == 200
    # A request anyone else forwarded is never local: a proxy on this
    # machine connects from loopback and may name a loopback Host.
    for header in ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
                   "X-Real-IP", "Via", "X-Host"):
        for source in ("127.0.0.1", "127.0.0.2"):
            status, _, body = get(local, "/api/logs/summary", {header: "127.0.0.1"},
                                  source=source)
            assert status == 403, (header, source, status)
            assert "a proxy forwarded" in json.loads(body)["error"]["message"]
    # Nor one in HTTP/1.0, what nginx's proxy_pass speaks with no header.
    assert http10_get(local, "/api/logs/summary") == 403
    assert http10_get(local, "/api/limits") == 200


def http10_get(service, path):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as s:
        s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, service.port))
                  .encode())
        head = s.recv(64).decode()
    return int(head.split()[1])


@pytest.fixture(scope="module", params=SERVERS)
def token(request):
    path = secret_file("s3cret-token-0123456789abcdef\n", "token")
    svc = Service(request.param, {"IMGSANDBOX_LOGS_ACCESS": "token",
                                  "IMGSANDBOX_LOGS_TOKEN_FILE": path}, responders=2)
    yield svc
    svc.stop()


def test_token_mode(token):
    good = {"Authorization": "Bearer s3cret-token-0123456789abcdef", "Host": "evil.example"}
    for path in ("/api/logs/summary", "/api/metrics"):
        assert get(token, path, good)[0] == 200
        for bad in ({}, {"Authorization": "Bearer s3cret-token-0123456789abcdeX"},
                    {"Authorization": "Bearer s3cret-token-0123456789abcdef0"},
                    {"Authorization": "Basic czNjcmV0"}):
            status, headers, body = get(token, path, bad)
            assert status == 403 and json.loads(body)["error"]["code"] == "forbidden", bad


def test_open_mode_and_bad_settings():
    svc = Service(SERVERS[0], {"IMGSANDBOX_LOGS_ACCESS": "open"}, responders=1)
    try:
        assert get(svc, "/api/logs/summary", {"Host": "evil.example"})[0] == 200
    finally:
        svc.stop()
    for bad in ({"IMGSANDBOX_LOGS_ACCESS": "public"}, {"IMGSANDBOX_LOGS_ACCESS": "token"}):
        env = dict(os.environ, **bad)
        import subprocess
        from conftest import ROOT
        p = subprocess.run([os.path.join(ROOT, "build", "responder"), "--settings"], env=env,
                           capture_output=True, text=True)
        assert p.returncode != 0 and "IMGSANDBOX_LOGS_" in p.stderr


def test_an_unreadable_token_closes_the_log_not_the_service():
    svc = Service(SERVERS[0], {"IMGSANDBOX_LOGS_ACCESS": "token",
                               "IMGSANDBOX_LOGS_TOKEN_FILE": "/nonexistent/token"}, responders=1)
    try:
        status, _, body = get(svc, "/api/logs/summary", {"Authorization": "Bearer x" * 3})
        assert status == 503 and "cannot be read" in json.loads(body)["error"]["message"]
        status, _, r = svc.run("print('runs go on')\n")
        assert status == 200 and "runs go on" in r["stdout"]
    finally:
        svc.stop()
