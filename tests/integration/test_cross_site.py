"""Runs are started from this service's own page, through every server:
a plain multipart POST /run is a "simple" request a page on any site can
make its visitors' browsers send, so one that says it comes from another
site (Sec-Fetch-Site: cross-site, or an Origin that is not the Host it
names) is refused unless IMGSANDBOX_ALLOWED_ORIGINS lists that origin; the
page's own requests (same-origin) go. And IPv6 clients share by /64."""
import http.client
import json

import pytest

from conftest import SERVERS, Service, encode_multipart

ENGINE = "fork"  # its claims are not the engine's: docs/development.md

CODE = "print('hello')\n"


def post(service, headers, path="/run", host=None, source="127.0.0.1"):
    if path == "/run":
        body, ctype = encode_multipart([("code", CODE)])
    else:
        body, ctype = json.dumps({"prompt": "gray"}).encode(), "application/json"
    c = http.client.HTTPConnection("127.0.0.1", service.port, timeout=300,
                                   source_address=(source, 0))
    try:
        c.putrequest("POST", path, skip_host=True)
        h = {"Host": host or "127.0.0.1:%d" % service.port, "Content-Type": ctype,
             "Content-Length": str(len(body))}
        h.update(headers)
        for k, v in h.items():
            c.putheader(k, v)
        c.endheaders(body)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read())
    finally:
        c.close()


@pytest.fixture(scope="module", params=SERVERS)
def site(request):
    svc = Service(request.param, {"IMGSANDBOX_ALLOWED_ORIGINS":
                                  "https://app.example.com, http://127.0.0.1:1",
                                  "IMGSANDBOX_TRUSTED_PROXIES": "127.0.0.9",
                                  "IMGSANDBOX_TIMEOUT_MS": "60000"}, responders=2)
    yield svc
    svc.stop()


def test_another_sites_page_cannot_start_runs(site):
    me = "http://127.0.0.1:%d" % site.port
    for headers in ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
                    {"Origin": "https://evil.example"},
                    {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null"},
                    {"Origin": "http://127.0.0.1:%d.evil.example" % site.port},
                    {"Origin": "https://sub.app.example.com", "Sec-Fetch-Site": "same-site"},
                    {"Origin": me, "Sec-Fetch-Site": "cross-site"}):
        for path in ("/run", "/api/assist"):
            status, _, r = post(site, headers, path)
            assert status == 403 and r["error"]["code"] == "forbidden", (headers, path, r)
            assert "IMGSANDBOX_ALLOWED_ORIGINS" in r["error"]["message"]


def test_the_page_and_listed_sites_can(site):
    me = "http://127.0.0.1:%d" % site.port
    for headers, host in (({"Origin": me, "Sec-Fetch-Site": "same-origin"}, None),
                          ({"Origin": me}, None),
                          ({}, None),                               # curl, a script
                          ({"Sec-Fetch-Site": "none"}, None),       # typed by hand
                          ({"Origin": "https://app.example.com", "Sec-Fetch-Site": "cross-site"},
                           None),
                          ({"Origin": "http://sandbox.example.org"}, "sandbox.example.org:80"),
                          ({"Origin": "https://sandbox.example.org"}, "sandbox.example.org:443"),
                          ({"Origin": "HTTP://Sandbox.Example.org:8443"}, "sandbox.example.org:8443")):
        status, _, r = post(site, headers, host=host)
        assert status == 200 and r["stdout"] == "hello\n", (headers, host, r)
    # Behind a trusted proxy, the Host the browser named may come as
    # X-Forwarded-Host.
    status, _, r = post(site, {"Origin": "https://sandbox.example.org",
                               "X-Forwarded-Host": "sandbox.example.org",
                               "X-Forwarded-For": "198.51.100.7"}, source="127.0.0.9")
    assert status == 200, r
    status, _, r = post(site, {"Origin": "https://sandbox.example.org",
                               "X-Forwarded-Host": "sandbox.example.org"}, source="127.0.0.2")
    assert status == 403, r


@pytest.mark.parametrize("server", SERVERS[:1])
def test_ipv6_clients_share_by_64(server):
    """Through a trusted proxy (127.0.0.9) naming IPv6 clients: two
    addresses of one /64 are one client (its rate: 2 at once), another /64
    another client."""
    svc = Service(server, {"IMGSANDBOX_TRUSTED_PROXIES": "127.0.0.9",
                           "IMGSANDBOX_CLIENT_RUNS_PER_MIN": "1",
                           "IMGSANDBOX_CLIENT_BURST": "2",
                           "IMGSANDBOX_TIMEOUT_MS": "60000"}, responders=2)
    try:
        def from_(addr):
            return post(svc, {"X-Forwarded-For": addr}, source="127.0.0.9")[0]
        assert from_("2001:db8:1:2::5") == 200
        assert from_("2001:db8:1:2:ffff:ffff:ffff:ffff") == 200
        assert from_("2001:db8:1:2::6") == 429          # the same /64: its rate is spent
        assert from_("2001:db8:1:3::5") == 200          # another /64
        assert from_("::ffff:198.51.100.7") == 200      # IPv4, mapped
        assert from_("198.51.100.7") == 200             # the same client: its second
        assert from_("198.51.100.7") == 429
    finally:
        svc.stop()
