"""In-sandbox entry point: runs /code/main.py as __main__.

This is one half of the sandbox's record protocol; the other half, which
reads it, is shared/sandbox/sbproto.c. Everything the user's script prints goes to
stdout/stderr as usual. Around it this file writes records, each starting
with \\x1e (record separator) and IMGSANDBOX-:

  stderr  \\x1eIMGSANDBOX-START {"t": <unix s>}        the script starts
  stderr  \\x1eIMGSANDBOX-ERROR {"type", "message", "line", "traceback"}
                                                      it raised (after the
                                                      trimmed traceback text)
  stderr  \\x1eIMGSANDBOX-END {"start", "end", "exit"}  it ended, with its
                                                      exit status
  stdout  \\x1eIMGSANDBOX-END {"files": [...], "skipped": n} and then the
          bytes of each file, one after the other: the images the script
          left directly in /output (at most MAX_FILES, result.png first),
          each {"name", "bytes"} or, when it is not a regular file,
          {"name", "kind": "symlink" | "folder" | "fifo" | "other"}.
          Sent only when the script ended with status 0; else "files": [].

Before the END records every other process of the sandbox is killed and
reaped (this is PID 1 of the container's PID namespace): what a detached
child would write later never reaches the result, and the answer can go as
soon as both END records are read, without waiting for the container to
exit. /output is a size-capped tmpfs of the container's own, so the files
leave the sandbox only this way.

The script runs in this same interpreter and can forge, break or suppress
any record, so the responder treats them as untrusted input: they only
ever describe the script's own run.

A cold run (`python3 entry.py`) and a warm sandbox (`python3 entry.py
--warm`: started ahead, it imports the modules of IMGSANDBOX_PRELOAD, then
waits for exactly one job on stdin) use this same file, and so does the
fork engine's template (zygote.py imports it: _preload once, then in each
box ready_line and _take_job). A warm sandbox writes \\x1eIMGSANDBOX-READY on
stdout when it is ready, then a space, the facts of its own process as JSON
and a newline (shared/engine/engine.h: {"seccomp": 2, "no_new_privs": 1,
"cap_eff": "0000000000000000", "uid": 10001, "apparmor": "docker-default
(enforce)" | null}), read before any user code runs, so that the host can
refuse a sandbox that is not one. The
job is one line of JSON, {"params": "<USER_PARAMS>"}; by then /code and
/input hold the job's files. End of input before a job ends the sandbox
quietly (the pool let it go unused).
"""
import importlib
import json
import os
import re
import runpy
import signal
import stat
import sys
import time
import traceback

CODE = "/code/main.py"
OUTPUT = "/output"
PREFIX = "\x1eIMGSANDBOX-"
LIMIT = 8000  # characters of message / traceback carried in the record
MAX_FILES = 8
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        except OSError:
            return False
        data = data[n:]
    return True


def _record(fd, kind, obj):
    _write_all(fd, (PREFIX + kind + " " + json.dumps(obj) + "\n").encode("utf-8", "replace"))


def _user_frames(tb):
    """Drop the frames of this file and runpy: start at the first /code frame."""
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("/code/"):
        tb = tb.tb_next
    return tb


def _describe(exc):
    line = None
    if isinstance(exc, SyntaxError) and exc.filename == CODE:
        line = exc.lineno
        text = "".join(traceback.format_exception_only(type(exc), exc))
    else:
        tb = _user_frames(exc.__traceback__)
        for frame, lineno in traceback.walk_tb(tb):
            if frame.f_code.co_filename == CODE:
                line = lineno
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    try:
        message = str(exc)
    except BaseException:  # a hostile __str__
        message = "<unprintable %s>" % type(exc).__name__
    return text, {
        "type": type(exc).__name__,
        "message": message[:LIMIT],
        "line": line,
        "traceback": text[-LIMIT:],
    }


def _others_gone():
    """Kills every other process of the sandbox and reaps them, so that
    nothing writes to /output or to our streams after the script's end."""
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _kind(mode):
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "fifo"
    return "other"


def _images():
    """The images directly in /output, result.png first, at most MAX_FILES:
    (header entries, open descriptors of the regular ones, skipped)."""
    try:
        names = sorted(os.listdir(OUTPUT))
    except OSError:
        return [], [], 0
    names = [n for n in names if NAME.match(n) and n.lower().endswith(IMAGE_SUFFIXES)]
    if "result.png" in names:
        names.remove("result.png")
        names.insert(0, "result.png")
    skipped = max(0, len(names) - MAX_FILES)
    entries, fds = [], []
    for name in names[:MAX_FILES]:
        path = os.path.join(OUTPUT, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                entries.append({"name": name, "kind": _kind(st.st_mode)})
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            size = os.fstat(fd).st_size
        except OSError:
            entries.append({"name": name, "kind": "other"})
            continue
        entries.append({"name": name, "bytes": size})
        fds.append((fd, size))
    return entries, fds, skipped


def _send_images(code):
    entries, fds, skipped = _images() if code == 0 else ([], [], 0)
    if not _write_all(1, (PREFIX + "END " + json.dumps({"files": entries, "skipped": skipped})
                          + "\n").encode()):
        return
    for fd, size in fds:
        left = size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:  # it shrank: pad, and the check will say it is damaged
                chunk = b"\0" * min(left, 1 << 20)
            if not _write_all(1, chunk):
                return
            left -= len(chunk)
        os.close(fd)


def _end(code, start):
    """The script's end: every other process gone, then the files and the
    END records, then this process (the container) ends."""
    _others_gone()
    _send_images(code)
    _record(2, "END", {"start": start, "end": time.time(), "exit": code})
    os._exit(code)


def _flush():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except BaseException:
            pass


def main(job_params=None):
    start = time.time()
    if job_params is not None:
        os.environ["USER_PARAMS"] = job_params
    sys.argv = [CODE]
    sys.path.insert(0, "/code")
    _record(2, "START", {"t": start})
    try:
        runpy.run_path(CODE, run_name="__main__")
    except SystemExit as e:
        _flush()
        code = e.code
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            _flush()
            code = 1
        _end(code & 0xFF, start)
    except BaseException as e:  # KeyboardInterrupt, MemoryError and the rest
        try:
            text, rec = _describe(e)
        except BaseException:
            text, rec = "", {"type": type(e).__name__, "message": "", "line": None, "traceback": ""}
        _flush()
        _write_all(2, text.encode("utf-8", "replace"))
        _record(2, "ERROR", rec)
        _end(1, start)
    _flush()
    _end(0, start)


def _preload():
    """Imports the modules of IMGSANDBOX_PRELOAD, as the script would."""
    for name in os.environ.get("IMGSANDBOX_PRELOAD", "").split(","):
        if name.strip():
            try:
                importlib.import_module(name.strip())
            except Exception:  # a missing module is the script's to find
                pass
    # Pillow loads its format plugins at the first open or save (25 ms):
    # do it here, as the script would.
    pil = sys.modules.get("PIL.Image")
    if pil is not None:
        try:
            pil.init()
        except Exception:
            pass


def ready_line():
    """The READY line with the facts of this process (shared/engine/engine.h),
    read from the kernel before any user code runs."""
    facts = {"seccomp": None, "no_new_privs": None, "cap_eff": None, "uid": None,
             "apparmor": None}
    keys = {b"Seccomp:": "seccomp", b"NoNewPrivs:": "no_new_privs", b"CapEff:": "cap_eff",
            b"Uid:": "uid"}
    for line in _read_small("/proc/self/status").split(b"\n"):
        words = line.split()
        if words and words[0] in keys:
            key = keys[words[0]]
            facts[key] = words[1].decode() if key == "cap_eff" else int(words[1])
    for path in ("/proc/self/attr/apparmor/current", "/proc/self/attr/current"):
        try:
            label = _read_small(path).strip(b"\0\n ").decode("utf-8", "replace")
        except OSError:
            continue
        facts["apparmor"] = None if label in ("", "unconfined") else label
        break
    if facts["no_new_privs"] is None:
        facts["no_new_privs"] = _no_new_privs()     # gVisor's status has no such line
    return PREFIX + "READY " + json.dumps(facts) + "\n"


def _no_new_privs():
    """prctl(PR_GET_NO_NEW_PRIVS), or None when it cannot be asked."""
    try:
        import ctypes
        r = ctypes.CDLL(None, use_errno=True).prctl(39, 0, 0, 0, 0)
    except Exception:
        return None
    return r if r >= 0 else None


def _read_small(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _take_job():
    """Reads the one job line on stdin and runs it; never returns."""
    line = sys.stdin.buffer.readline()
    if not line.endswith(b"\n"):
        os._exit(0)  # no job: the sandbox was let go
    job = json.loads(line)
    # The script's stdin is empty, as in a cold run.
    fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = open(0, closefd=False)
    main(job_params=job.get("params", "{}"))


def warm():
    _preload()
    # Ready: the broker hands jobs to sandboxes that said so, with the facts
    # of this process (and reads this line before the job's output begins).
    _write_all(1, ready_line().encode())
    _take_job()


if __name__ == "__main__":
    if sys.argv[1:] == ["--warm"]:
        warm()
    else:
        main()
