"""In-sandbox entry point: runs /code/main.py as __main__.

Everything the user's script prints goes to stdout/stderr as usual. When the
script raises, the traceback (trimmed to the user's frames) is printed to
stderr and followed by one record line

    \x1eIMGSANDBOX {"type": ..., "message": ..., "line": ..., "traceback": ...}

that the responder parses. Every run ends with a second record,

    \x1eIMGSANDBOX-TIME {"start": <unix s>, "end": <unix s>}

when the script started and ended, so that the responder can tell the
container's start and exit from the script's own time. The script runs in
this same interpreter and can forge or suppress either record, so the
responder treats them as untrusted input: they only ever describe the
script's own run.

A cold run (`python3 entry.py`) and a warm sandbox (`python3 entry.py
--warm`: started ahead, it imports the modules of IMGSANDBOX_PRELOAD, then
waits for exactly one job on stdin) use this same file. A warm sandbox
writes one line, \x1eIMGSANDBOX-READY, on stdout when it is ready. The job is one line
of JSON, {"params": "<USER_PARAMS>"}; by then /code and /input hold the
job's files. End of input before a job ends the sandbox quietly (the pool
let it go unused).
"""
import importlib
import json
import os
import runpy
import sys
import time
import traceback

CODE = "/code/main.py"
MARK = "\x1eIMGSANDBOX "
TIME_MARK = "\x1eIMGSANDBOX-TIME "
READY = "\x1eIMGSANDBOX-READY\n"
LIMIT = 8000  # bytes of message / traceback carried in the record


def _user_frames(tb):
    """Drop the frames of this file and runpy: start at the first /code frame."""
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("/code/"):
        tb = tb.tb_next
    return tb


def _record(exc):
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


def _exit(code, start):
    """Writes the time record and ends the process with code."""
    rec = json.dumps({"start": start, "end": time.time()})
    _write_all(2, ("\n" + TIME_MARK + rec + "\n").encode())
    os._exit(code)


def main(job_params=None):
    start = time.time()
    if job_params is not None:
        os.environ["USER_PARAMS"] = job_params
    sys.argv = [CODE]
    sys.path.insert(0, "/code")
    try:
        runpy.run_path(CODE, run_name="__main__")
    except SystemExit as e:
        sys.stdout.flush()
        sys.stderr.flush()
        code = e.code
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        _exit(code & 0xFF, start)
    except BaseException as e:  # KeyboardInterrupt, MemoryError and the rest
        try:
            text, rec = _record(e)
        except BaseException:
            text, rec = "", {"type": type(e).__name__, "message": "", "line": None, "traceback": ""}
        try:
            sys.stdout.flush()
        except BaseException:
            pass
        data = (text + "\n" + MARK + json.dumps(rec) + "\n").encode("utf-8", "replace")
        try:
            sys.stderr.flush()
        except BaseException:
            pass
        _write_all(2, data)
        _exit(1, start)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        _exit(1, start)
    _exit(0, start)


def _write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except OSError:
            return
        data = data[n:]


def warm():
    for name in os.environ.get("IMGSANDBOX_PRELOAD", "").split(","):
        if name.strip():
            try:
                importlib.import_module(name.strip())
            except Exception:  # a missing module is the script's to find
                pass
    # Ready: the pool hands jobs to sandboxes that said so (and reads this
    # line before the job's output begins).
    _write_all(1, READY.encode())
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


if __name__ == "__main__":
    if sys.argv[1:] == ["--warm"]:
        warm()
    else:
        main()
