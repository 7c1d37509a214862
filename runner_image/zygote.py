"""The fork engine's template (shared/engine/fork.h): one Python that has
imported IMGSANDBOX_PRELOAD, forking a fresh box per sandbox.

The broker starts it as /usr/bin/python3 -I /opt/imgsandbox/zygote.py in
new user, mount, PID, network, IPC and UTS namespaces, on a small read-only
root of its own, with its control socket as fd 3 (SOCK_SEQPACKET) and the
sandbox's seccomp filter (BPF) as fd 4. On the control socket: the
settings (JSON), then "ready" from here, then one start request per box,
"<id> <host> <code> <input>" with four descriptors: the box's stdin,
stdout and stderr, and a box socket. The end of the control socket ends
the template, and every box with it (it is PID 1 of their namespaces).

The loop and a box's first steps are C (zygote_fork.c, which says why:
every page written after a fork is a copy). Each box is forked as PID 1
of new PID, network, IPC and UTS namespaces (its host name and loopback
set there by the template). In the box, box_setup says "hello" on the box
socket (the kernel adds its host pid), enters a new mount namespace,
mounts its /proc, /output, /tmp and /dev/shm, binds its code/ and input/
read-only, waits for "go" (the broker has moved it into its cgroup),
maps ahead the pages a job is likely to touch (learned from a trial job
when the template started: zygote_learn.c; charged to its cgroup),
enters a cgroup namespace, drops to the sandbox's uid and gid with no
capability and no new privileges, closes every descriptor but 0-2 and
installs the filter and writes the READY line. Then, here, the job is
taken as entry.py does. The random generators of NumPy and Python are
given a fresh state by the template before each fork. The template reaps
the box and says "exit <code>" on its box socket. Nothing of a job comes
back to the template: each job is a fresh fork, so what one job changes (a
module's attribute, a random state, its files) no other job sees.
"""
import ctypes
import gc
import importlib.util
import json
import os
import resource
import sys

CTL, BPF = 3, 4
LIB = "/opt/imgsandbox/zygote_fork.so"


class BoxReq(ctypes.Structure):
    _fields_ = [("id", ctypes.c_char * 40), ("host", ctypes.c_char * 16),
                ("code", ctypes.c_char * 512), ("input", ctypes.c_char * 512),
                ("fd", ctypes.c_int * 4)]


class BoxSettings(ctypes.Structure):
    _fields_ = [("uid", ctypes.c_uint), ("gid", ctypes.c_uint),
                ("output_bytes", ctypes.c_longlong), ("tmp_bytes", ctypes.c_longlong),
                ("nofile", ctypes.c_longlong), ("boxes", ctypes.c_char * 256)]


def _read_filter():
    size = os.fstat(BPF).st_size
    bpf = os.pread(BPF, size, 0)
    os.close(BPF)
    if size == 0 or size % 8 != 0 or len(bpf) != size:
        raise RuntimeError("the seccomp filter is not BPF")
    return ctypes.create_string_buffer(bpf, size), size


class Seeds(ctypes.Structure):
    _fields_ = [("np_key", ctypes.c_void_p), ("np_pos", ctypes.c_void_p),
                ("py_state", ctypes.c_void_p), ("py_index", ctypes.c_void_p)]


def _seeds():
    """Where NumPy's global MT19937 and Python's random keep their state, for
    the template to refresh before each fork (checked against their own
    getstate, else None: each box then reseeds itself, at 200 copied pages)."""
    try:
        import random
        import struct
        import numpy.random
        bg = numpy.random.mtrand._rand._bit_generator
        np_at = bg.ctypes.state_address
        st = bg.state["state"]
        if (ctypes.string_at(np_at, 2496) != st["key"].astype("<u4").tobytes()
                or ctypes.c_int.from_address(np_at + 2496).value != st["pos"]):
            return None
        # CPython 3.11's RandomObject: the object's head, int index, uint32 state[624].
        py_at = id(random._inst) + 16
        words = random._inst.getstate()[1]
        if (ctypes.c_int.from_address(py_at).value != words[624]
                or ctypes.string_at(py_at + 4, 2496) != struct.pack("<624I", *words[:624])):
            return None
        return Seeds(np_at, np_at + 2496, py_at + 4, py_at)
    except Exception:
        return None


def _load_entry():
    spec = importlib.util.spec_from_file_location("entry", "/opt/imgsandbox/entry.py")
    entry = importlib.util.module_from_spec(spec)
    sys.modules["entry"] = entry
    spec.loader.exec_module(entry)
    return entry


def main():
    bpf, bpf_len = _read_filter()
    s = json.loads(os.read(CTL, 4096))
    settings = BoxSettings(s["uid"], s["gid"], s["output_bytes"], s["tmp_bytes"],
                           s["nofile"], s["boxes"].encode())
    own = (ctypes.c_int * 4)(*[os.open("/proc/self/ns/" + name, os.O_RDONLY | os.O_CLOEXEC)
                               for name in ("net", "ipc", "uts", "pid")])
    lib = ctypes.CDLL(LIB, use_errno=True)
    lib.zygote_serve.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.box_setup.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.learn_fork.argtypes = [ctypes.c_void_p]
    lib.learn_scan.argtypes = [ctypes.c_int]
    lib.learn_take.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    entry = _load_entry()
    entry._preload()
    # What entry.main imports lazily (runpy.run_path takes pkgutil, and
    # with it typing: 5 ms of each job on a quiet machine, 45 here).
    import pkgutil  # noqa: F401
    # Limits every box has (RLIMIT_NOFILE is set in each, after its
    # descriptors), as the Docker engine's --ulimit.
    resource.setrlimit(resource.RLIMIT_FSIZE, (s["output_bytes"], s["output_bytes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.umask(0o022)
    # A box is forked with libc's fork, without Python's work after a fork
    # (thread states, locks, at-fork hooks: 220 pages copied): right only
    # for a process of one thread.
    if len(os.listdir("/proc/self/task")) != 1:
        raise RuntimeError("a preloaded module started a thread: the template must have one")
    req = BoxReq()
    seeds = _seeds()
    # The imported objects are never collected: a box's collections leave
    # their pages alone.
    gc.collect()
    gc.freeze()
    if s.get("prefault"):
        learn(entry, lib, own)
    os.write(CTL, b"ready")
    lib.zygote_serve(CTL, own, ctypes.byref(seeds) if seeds else None, ctypes.byref(req))
    box(entry, lib, req, settings, bpf, bpf_len, seeds)  # only a new box gets here


# The trial job: what a job commonly does (open the image, NumPy, Pillow,
# save a PNG), on an image of our own.
TRIAL = """from PIL import Image, ImageFilter
import numpy as np
im = Image.open("/input/image.png").convert("RGB")
a = np.asarray(im)
Image.fromarray(255 - a).filter(ImageFilter.BLUR).save("/output/result.png")
print(im.size, a.mean())
"""


def learn(entry, lib, own):
    """Runs the trial job in a child forked as a box is, and keeps the pages
    it touched for every box to map ahead (zygote_learn.c). Says what it
    learned on stderr (the broker's log)."""
    r, w = os.pipe()
    pid = lib.learn_fork(own)
    if pid == 0:
        os.close(r)
        _trial(entry, lib, w)  # never returns
    os.close(w)
    counts = (ctypes.c_long * 2)()
    n = lib.learn_take(r, pid, counts) if pid > 0 else 0
    os.close(r)
    sys.stderr.write("imgsandbox: template: a box maps %d pages ahead (%d copied, %d mapped) "
                     "in %d ranges\n" % (counts[0] + counts[1], counts[0], counts[1], n)
                     if n > 0 else "imgsandbox: template: boxes map no page ahead "
                     "(the trial job failed, or the kernel has no MADV_POPULATE)\n")
    sys.stderr.flush()


def _trial(entry, lib, w):
    """The trial, in its child: our script on our image, its job line on
    stdin, as a box takes one; at the job's end, the scan. Never returns."""
    end = os._exit
    try:
        if lib.learn_mounts() == 0:
            from PIL import Image
            Image.new("RGB", (64, 64), (200, 80, 40)).save("/input/image.png")
            with open("/code/main.py", "w") as f:
                f.write(TRIAL)
            job_r, job_w = os.pipe()
            os.write(job_w, b'{"params": "{}"}\n')
            os.close(job_w)
            null = os.open(os.devnull, os.O_WRONLY)
            for fd, to in ((job_r, 0), (null, 1), (null, 2)):
                os.dup2(fd, to)
            os.chdir("/tmp")
            os.environ["HOSTNAME"] = "trial"

            def at_end(code):
                lib.learn_scan(w)
                end(code)
            os._exit = at_end
            entry._take_job()
    except BaseException:
        pass
    end(1)


def box(entry, lib, req, settings, bpf, bpf_len, seeds):
    """A new box: its steps in C (up to its READY line), then its job.
    Never returns."""
    try:
        if lib.box_setup(ctypes.byref(req), ctypes.byref(settings), bpf, bpf_len) == 0:
            os.environ["HOSTNAME"] = req.host.decode()
            if seeds is None:  # the template could not give it fresh ones
                for name in ("random", "numpy.random"):
                    mod = sys.modules.get(name)
                    if mod is not None:
                        mod.seed()
            entry._take_job()
    except BaseException as e:
        try:
            os.write(2, ("imgsandbox: the sandbox did not start: %s\n" % e).encode())
        except BaseException:
            pass
    os._exit(125)


if __name__ == "__main__":
    main()
