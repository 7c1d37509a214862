"""Clients that never read their answers, through every server (each
with a receive buffer of 4 KiB, asking for answers of megabytes, more
than any server holds for them but nginx, which buffers a FastCGI answer
to disk): a responder writing to such a client waits at most
IMGSANDBOX_SEND_TIMEOUT_MS (2 s here), so

- four of them, each with a run whose answer is 12 MiB of escaped control
  characters, do not keep a fifth client's run from its slot: the slot of
  a run is freed whether or not its client reads (without the deadline,
  each held it until the server gave up on its client: Apache's Timeout,
  60 s, lighttpd's max-write-idle, 360 s);
- two of them reading a session whose answer is 4 MiB (the most an answer
  of the log is; lighttpd and Apache take 2 MiB into their own buffers,
  not 4) do not keep the API pool (two responders) from answering
  /api/health."""
import fcntl
import http.client
import json
import os
import socket
import struct
import subprocess
import termios
import time

import pytest

from conftest import ROOT, SERVERS, Service, encode_multipart, service_data_folder

ENGINE = "fork"  # its claims are not the engine's: docs/development.md

LOUD = ("import sys\n"
        "sys.stdout.write('\\x01' * (1 << 20))\n"
        "sys.stderr.write('\\x01' * (1 << 20))\n")


def never_reads(port, request, source):
    """A connection from source that sends request and never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(request)
    return s


def run_request(port, code):
    body, ctype = encode_multipart([("code", code)])
    return (("POST /run HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\n"
             "Content-Length: %d\r\n\r\n" % (port, ctype, len(body))).encode() + body)


def run_from(port, source, code, timeout):
    body, ctype = encode_multipart([("code", code)])
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        c.request("POST", "/run", body, {"Content-Type": ctype})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


@pytest.mark.parametrize("server", SERVERS)
def test_a_runs_slot_is_freed_when_its_client_does_not_read(server):
    svc = Service(server, {"IMGSANDBOX_SLOTS": "1", "IMGSANDBOX_STREAM_BYTES": str(1 << 20),
                           "IMGSANDBOX_SEND_TIMEOUT_MS": "2000",
                           "IMGSANDBOX_SLOT_WAIT_MS": "150000",
                           "IMGSANDBOX_TIMEOUT_MS": "60000"}, responders=6)
    socks = []
    try:
        for i in range(4):
            socks.append(never_reads(svc.port, run_request(svc.port, LOUD), "127.0.0.%d" % (2 + i)))
        # The fifth comes last in the queue for the one slot, behind the
        # four: it gets it once each of them has had it and let it go.
        status, r = run_from(svc.port, "127.0.0.9", "print('fifth')\n", timeout=300)
        assert status == 200 and r["stdout"] == "fifth\n", (status, r)
    finally:
        for s in socks:
            s.close()
        svc.stop()


def pending(sock):
    """Bytes waiting in sock's receive buffer."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0]


def wait_for(pred, timeout=300):
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline, "waited %d s" % timeout
        time.sleep(0.05)


def session_request(port):
    return ("GET /api/logs/session/s-wide HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port).encode()


@pytest.mark.parametrize("server", SERVERS)
def test_the_api_pool_answers_while_readers_do_not_read(server):
    data = service_data_folder()
    subprocess.run([os.path.join(ROOT, "build", "make_log_fixture"),
                    os.path.join(data, "log.db"), "wide", "s-wide", "110"],
                   check=True, capture_output=True)
    svc = Service(server, {"IMGSANDBOX_DATA": data, "IMGSANDBOX_SEND_TIMEOUT_MS": "2000"},
                  responders=1)
    socks = []
    try:
        status, body = svc.get_json("/api/logs/session/s-wide?after=109")
        assert status == 200 and body["attempt_count"] == 110, body
        # Two readers that stop reading (the pool has two responders): each
        # holds one while its 4 MiB answer waits to be written.
        for i in range(2):
            socks.append(never_reads(svc.port, session_request(svc.port), "127.0.0.%d" % (2 + i)))
        # Both answers are on their way (bytes wait in each reader's buffer):
        # each responder has made its answer and is writing it.
        wait_for(lambda: all(pending(s) > 0 for s in socks))
        # Health answers once the deadline let the responders go, well
        # before any server gives up on those clients (Apache's Timeout is
        # 60 s, lighttpd's max-write-idle 360 s; nginx buffers the answers).
        c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=45,
                                       source_address=("127.0.0.9", 0))
        c.request("GET", "/api/health")
        r = c.getresponse()
        assert r.status in (200, 503) and "log" in json.loads(r.read())
        c.close()
    finally:
        for s in socks:
            s.close()
        svc.stop()
