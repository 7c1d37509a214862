#!/usr/bin/python3
"""A stand-in for an OpenAI-compatible chat-completions server, for the
assistant's tests (standard library only).

    /usr/bin/python3 ai_standin.py [--port 0] [--replies FILE] [--key KEY]

prints "port N" as its first line of stdout, then serves on 127.0.0.1
until it is killed.

POST /v1/chat/completions (or /chat/completions) answers with the next
reply of its list, each a JSON object:

    {"content": "```python\\n...```", "model": "standin-coder",
     "finish_reason": "stop"}          a chat completion (the defaults shown)
    {"delay_s": 8, ...}                the same, after a pause (a slow model)
    {"status": 500, "body": "..."}     an HTTP error; body is text, or JSON
                                       when it is an object
    {"status": 401, "echo_auth": true} an error whose message repeats the
                                       Authorization header it got
    {"raw": "<html>..."}               200 with this body as it is

With an empty list it answers 500 ("the stand-in has no reply left"). With a
key (--key, or PUT /_standin/key) a request without "Authorization: Bearer
KEY" gets 401. Every request to the model's path is recorded first.

Control (what a test uses):
    PUT  /_standin/replies    a JSON list: replaces the list   -> {"queued": n}
    POST /_standin/replies    a JSON list: appends to it       -> {"queued": n}
    GET  /_standin/requests   every request recorded: [{"path", "headers",
                              "json" (or null), "body"}]
    POST /_standin/reset      forgets the replies and the requests
    PUT  /_standin/key        {"key": "..."} or {"key": null}

As a module, StandIn starts it as a process and talks to it.
"""
import argparse
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

MODEL_PATHS = ("/v1/chat/completions", "/chat/completions")


class State:
    def __init__(self, replies=None, key=None):
        self.lock = threading.Lock()
        self.replies = list(replies or [])
        self.requests = []
        self.key = key
        self.served = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ai-standin/1"

    def log_message(self, fmt, *args):  # quiet: the tests read the records
        pass

    # --- plumbing -------------------------------------------------------
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, obj=None, raw=None, ctype="application/json"):
        data = raw if raw is not None else json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its deadline): nothing to do

    # --- control --------------------------------------------------------
    def do_GET(self):
        st = self.server.state
        if self.path == "/_standin/requests":
            with st.lock:
                return self.send(200, list(st.requests))
        self.send(404, {"error": {"message": "no such path"}})

    def do_PUT(self):
        self.control(replace=True)

    def do_POST(self):
        if self.path.split("?")[0] in MODEL_PATHS:
            return self.chat()
        self.control(replace=False)

    def control(self, replace):
        st = self.server.state
        raw = self.body()
        if self.path == "/_standin/replies":
            replies = json.loads(raw)
            with st.lock:
                if replace:
                    st.replies = list(replies)
                else:
                    st.replies.extend(replies)
                return self.send(200, {"queued": len(st.replies)})
        if self.path == "/_standin/reset":
            with st.lock:
                st.replies, st.requests = [], []
            return self.send(200, {"reset": True})
        if self.path == "/_standin/key":
            with st.lock:
                st.key = json.loads(raw).get("key")
            return self.send(200, {"key_set": st.key is not None})
        self.send(404, {"error": {"message": "no such path"}})

    # --- the model ------------------------------------------------------
    def chat(self):
        st = self.server.state
        raw = self.body()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        auth = self.headers.get("Authorization")
        with st.lock:
            st.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                "json": doc, "body": raw.decode("utf-8", "replace")})
            reply = st.replies.pop(0) if st.replies else None
            key = st.key
            st.served += 1
            n = st.served
        if key is not None and auth != "Bearer " + key:
            return self.send(401, {"error": {"message": "missing or wrong API key",
                                             "type": "invalid_request_error"}})
        if reply is None:
            return self.send(500, {"error": {"message": "the stand-in has no reply left"}})
        time.sleep(float(reply.get("delay_s", 0)))
        if "raw" in reply:
            return self.send(200, raw=reply["raw"].encode(), ctype="text/html")
        if reply.get("echo_auth"):
            return self.send(reply.get("status", 401), {"error": {
                "message": "Incorrect API key provided: %s" % auth, "type": "auth"}})
        if reply.get("status", 200) != 200:
            body = reply.get("body", "")
            if isinstance(body, (dict, list)):
                return self.send(reply["status"], body)
            return self.send(reply["status"], raw=body.encode(), ctype="text/plain")
        model = reply.get("model", "standin-coder")
        self.send(200, {
            "id": "chatcmpl-standin-%d" % n, "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": reply.get("finish_reason", "stop"),
                         "message": {"role": "assistant", "content": reply.get("content", "")}}],
            "usage": {"prompt_tokens": len(raw) // 4, "completion_tokens": 1,
                      "total_tokens": len(raw) // 4 + 1},
        })


def serve(port, replies=None, key=None, ready=sys.stdout):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.state = State(replies, key)
    print("port %d" % server.server_address[1], file=ready, flush=True)
    server.serve_forever()


class StandIn:
    """The stand-in as a process of its own, stopped by its pid."""

    def __init__(self, key=None):
        args = [sys.executable, os.path.abspath(__file__), "--port", "0"]
        if key:
            args += ["--key", key]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, start_new_session=True)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("port "):
            self.stop()
            raise RuntimeError("the stand-in did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def _call(self, method, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def load(self, replies):
        """Replaces the list of replies; forgets the requests recorded."""
        self._call("POST", "/_standin/reset", {})
        return self._call("PUT", "/_standin/replies", replies)

    def requests(self):
        return self._call("GET", "/_standin/requests")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self.proc.stdout.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--replies", help="a JSON file: the list of replies")
    ap.add_argument("--key", help="the bearer key to require")
    a = ap.parse_args()
    replies = json.load(open(a.replies)) if a.replies else []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(a.port, replies, a.key)


if __name__ == "__main__":
    main()
