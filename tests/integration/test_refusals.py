"""Refusals: the API's JSON error with the right status, nothing left on
disk, one log row with status "rejected" (issue 2's contract; issue 4 adds
the full parser and upload suite)."""
import json
import os
import socket
import sqlite3

from conftest import encode_multipart, settled


def rejected_rows(service):
    db = sqlite3.connect(service.db)
    return db.execute("SELECT COUNT(*) FROM runs WHERE status = 'rejected'").fetchone()[0]


def check_refusal(service, status, body, want_status, want_code):
    assert status == want_status, body
    doc = json.loads(body)
    assert doc["error"]["code"] == want_code
    assert len(doc["error"]["message"]) > 10
    assert settled(service)
    return doc


def test_get_is_405(service):
    before = rejected_rows(service)
    status, headers, body = service.request("GET", "/run")
    check_refusal(service, status, body, 405, "method_not_allowed")
    assert rejected_rows(service) == before + 1


def test_missing_code_is_400(service):
    body, ctype = encode_multipart([("use_sample", "1")])
    status, _, out = service.request("POST", "/run", body, {"Content-Type": ctype})
    doc = check_refusal(service, status, out, 400, "bad_request")
    assert "code" in doc["error"]["message"]


def test_bad_session_id_is_400(service):
    body, ctype = encode_multipart([("code", "print(1)"), ("session_id", "x'; DROP TABLE runs;--")])
    status, _, out = service.request("POST", "/run", body, {"Content-Type": ctype})
    check_refusal(service, status, out, 400, "bad_request")
    # The table is still there and still counts.
    assert rejected_rows(service) >= 1


def test_params_array_is_422(service):
    body, ctype = encode_multipart([("code", "print(1)"), ("params", "[1, 2]")])
    status, _, out = service.request("POST", "/run", body, {"Content-Type": ctype})
    doc = check_refusal(service, status, out, 422, "bad_params")
    assert "object" in doc["error"]["message"]


def test_text_named_png_is_415(service):
    body, ctype = encode_multipart([("code", "print(1)"),
                                    ("image", ("photo.png", b"hello, I am text\n" * 50, "image/png"))])
    status, _, out = service.request("POST", "/run", body, {"Content-Type": ctype})
    check_refusal(service, status, out, 415, "unsupported_image")


def test_declared_body_over_limit_is_413_unread(service):
    # Announce 11 MiB + 1 KiB and send only the headers: the answer must come
    # from Content-Length alone, as JSON.
    length = 11534336 + 1024
    with socket.create_connection(("127.0.0.1", service.port), timeout=20) as s:
        s.sendall(("POST /run HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Content-Type: multipart/form-data; boundary=abc\r\n"
                   "Content-Length: %d\r\n\r\n" % length).encode())
        s.sendall(b"--abc\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"413", head
    assert b"application/json" in head
    assert json.loads(body)["error"]["code"] == "too_large"


def test_outputs_folder_is_not_listed(service):
    status, _, _ = service.request("GET", "/outputs/")
    assert status in (403, 404)
    status, _, _ = service.request("GET", "/outputs/../log.db")
    assert status in (400, 403, 404)


def test_page_has_csp(service):
    status, headers, body = service.request("GET", "/")
    assert status == 200
    csp = headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert b"<script" in body


def test_outputs_never_follow_a_link(service):
    # A link planted in the outputs folder (the responder never makes one)
    # must not be followed by the web server.
    job = "f" * 32
    d = os.path.join(service.data, "outputs", job)
    os.makedirs(d)
    os.symlink("/etc/passwd", os.path.join(d, "result.png"))
    linked = os.path.join(service.data, "outputs", "e" * 32)
    os.symlink(d, linked)
    try:
        status, _, body = service.request("GET", "/outputs/%s/result.png" % job)
        assert status in (403, 404), status
        assert b"root:" not in body
        status, _, body = service.request("GET", "/outputs/%s/result.png" % ("e" * 32))
        assert status in (403, 404), status
        assert b"root:" not in body
    finally:
        os.unlink(linked)
        os.unlink(os.path.join(d, "result.png"))
        os.rmdir(d)
