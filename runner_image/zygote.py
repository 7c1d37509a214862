"""The fork engine's template (shared/engine/fork.h): one Python that has
imported IMGSANDBOX_PRELOAD, forking a fresh box per sandbox.

The broker starts it as /usr/bin/python3 -I /opt/imgsandbox/zygote.py in
new user, mount, PID, network, IPC and UTS namespaces, on a small read-only
root of its own, with its control socket as fd 3 (SOCK_SEQPACKET) and the
sandbox's seccomp filter (BPF) as fd 4. On the control socket: the
settings (JSON), then "ready" from here, then one start request per box:
{"id", "code", "input", "host"} with four descriptors: the box's stdin,
stdout and stderr, and a box socket. The end of the control socket ends
the template, and every box with it (it is PID 1 of their namespaces).

A box is a fork of this process, made PID 1 of a new PID namespace (the
template unshares it for the fork, then returns to its own); it enters new
mount, network, IPC and UTS namespaces, says "hello" on the box socket (the
kernel adds its host pid), mounts its /proc, /output, /tmp and /dev/shm,
binds its code/ and input/ read-only, brings loopback up, waits for "go"
(the broker has moved it into its cgroup), enters a cgroup namespace, sets
its limits, reseeds the random generators, drops to the sandbox's uid and
gid with no capability and no new privileges, closes every descriptor but
0-2, installs the filter, writes the READY line and takes its job as
entry.py does. The template reaps it and says "exit <code>" on its box
socket. Nothing of a job comes back here: each job is a fresh fork, so
what one job changes (a module's attribute, a random state, its files) no
other job sees.
"""
import ctypes
import fcntl
import gc
import importlib.util
import json
import os
import re
import resource
import select
import socket
import struct
import sys

CTL, BPF = 3, 4
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND = 1, 2, 4, 8, 4096
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_SECCOMP = 38, 24, 22
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, SECCOMP_MODE_FILTER = 47, 4, 2
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
ID = re.compile(r"[0-9a-f]{1,32}\Z")
SAFE = (MS_NOSUID | MS_NODEV | MS_NOEXEC)

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                       ctypes.c_ulong]


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _ok(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def _mount(src, dst, fstype, flags, data=None):
    enc = (lambda s: None if s is None else s.encode())
    _ok(libc.mount(enc(src), enc(dst), enc(fstype), flags, enc(data)), "mount " + dst)


class Template:
    def __init__(self):
        self.ctl = socket.socket(fileno=CTL)
        self.bpf = self._read_filter()
        self.settings = json.loads(self.ctl.recv(4096))
        with open("/proc/sys/kernel/cap_last_cap") as f:
            self.last_cap = int(f.read())
        self.own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        spec = importlib.util.spec_from_file_location("entry", "/opt/imgsandbox/entry.py")
        self.entry = importlib.util.module_from_spec(spec)
        sys.modules["entry"] = self.entry
        spec.loader.exec_module(self.entry)
        self.boxes = {}  # pidfd -> box socket
        self.poller = select.poll()

    @staticmethod
    def _read_filter():
        size = os.fstat(BPF).st_size
        bpf = os.pread(BPF, size, 0)
        os.close(BPF)
        if size == 0 or size % 8 != 0 or len(bpf) != size:
            raise RuntimeError("the seccomp filter is not BPF")
        return bpf

    def run(self):
        self.entry._preload()
        # The imported objects are never collected: a box's collections
        # then leave their pages alone (fewer copies on write).
        gc.collect()
        gc.freeze()
        self.ctl.send(b"ready")
        self.poller.register(self.ctl.fileno(), select.POLLIN)
        while True:
            for fd, _ in self.poller.poll():
                try:
                    if fd == self.ctl.fileno():
                        self._request()
                    else:
                        self._reap(fd)
                except Exception as e:  # one box's trouble is not every box's end
                    sys.stderr.write("imgsandbox template: %r\n" % (e,))

    def _request(self):
        msg, fds, _, _ = socket.recv_fds(self.ctl, 4096, 8)
        if not msg and not fds:
            os._exit(0)  # the broker is gone: so are its boxes
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            return
        sock = socket.socket(fileno=fds[3])
        try:
            req = json.loads(msg)
            for key in ("code", "input"):
                p = req[key]
                if (not isinstance(p, str) or p.startswith("/") or os.path.normpath(p) != p
                        or p.startswith("..") or "\0" in p):
                    raise ValueError("bad path")
            if not ID.match(req["id"]) or not ID.match(req["host"]):
                raise ValueError("bad id")
            pid = self._fork(req, fds[:3], sock)
        except Exception as e:
            for fd in fds[:3]:
                os.close(fd)
            self._tell(sock, "error %s" % e)
            sock.close()
            return
        for fd in fds[:3]:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        self.boxes[pidfd] = sock
        self.poller.register(pidfd, select.POLLIN)

    def _fork(self, req, fds, sock):
        """The box as PID 1 of a new PID namespace. Returns its pid here."""
        _ok(libc.unshare(CLONE_NEWPID), "unshare")
        try:
            pid = os.fork()
        except BaseException:
            _ok(libc.setns(self.own_pidns, CLONE_NEWPID), "setns")
            raise
        if pid == 0:
            Box(self, req, fds, sock).run()  # never returns
        _ok(libc.setns(self.own_pidns, CLONE_NEWPID), "setns")
        return pid

    def _reap(self, pidfd):
        sock = self.boxes.pop(pidfd)
        self.poller.unregister(pidfd)
        info = os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
        os.close(pidfd)
        code = -1
        if info is not None:
            code = info.si_status if info.si_code == os.CLD_EXITED else 128 + info.si_status
        self._tell(sock, "exit %d" % code)
        sock.close()

    @staticmethod
    def _tell(sock, text):
        try:
            sock.send(text.encode("utf-8", "replace")[:4000])
        except OSError:
            pass  # the broker let the box go


class Box:
    """One sandbox: a fork of the template, from its namespaces to its job."""

    def __init__(self, t, req, fds, sock):
        self.t, self.req, self.fds, self.sock = t, req, fds, sock

    def run(self):
        try:
            self._own_descriptors()
            self.sock.send(b"hello")  # the kernel adds our host pid
            _ok(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
                "unshare")
            self._mounts()
            socket.sethostname(self.req["host"])
            os.environ["HOSTNAME"] = self.req["host"]
            self._loopback()
            self.sock.settimeout(30)
            if self.sock.recv(16) != b"go":
                os._exit(1)
            _ok(libc.unshare(CLONE_NEWCGROUP), "unshare")
            self._limits()
            self._drop()
            self.t.entry._write_all(1, self.t.entry.ready_line().encode())
            self.t.entry._take_job()
        except BaseException as e:
            try:
                os.write(2, ("imgsandbox: the sandbox did not start: %s\n" % e).encode())
            except BaseException:
                pass
        os._exit(125)

    def _own_descriptors(self):
        """0-2 are the box's, 3 its socket; the template's are let go of
        (detached, so that no object closes a number the job reuses)."""
        os.dup2(self.fds[0], 0)
        os.dup2(self.fds[1], 1)
        os.dup2(self.fds[2], 2)
        os.dup2(self.sock.fileno(), CTL)
        self.t.ctl.detach()
        for s in self.t.boxes.values():
            s.detach()
        self.t.boxes.clear()
        self.sock.detach()
        self.sock = socket.socket(fileno=CTL)
        os.closerange(CTL + 1, 1 << 20)

    def _mounts(self):
        s = self.t.settings
        _mount("proc", "/proc", "proc", SAFE)
        for at, size in (("/output", s["output_bytes"]), ("/tmp", s["tmp_bytes"]),
                         ("/dev/shm", s["tmp_bytes"])):
            _mount("tmpfs", at, "tmpfs", SAFE, "size=%d,mode=1777" % size)
        # Read-only, nosuid, nodev and noexec, as the state folder is bound.
        for what in ("code", "input"):
            _mount(os.path.join(s["boxes"], self.req[what]), "/" + what, None, MS_BIND)
        _ok(libc.umount2(s["boxes"].encode(), MNT_DETACH), "umount")

    @staticmethod
    def _loopback():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))

    def _limits(self):
        s = self.t.settings
        resource.setrlimit(resource.RLIMIT_NOFILE, (s["nofile"], s["nofile"]))
        resource.setrlimit(resource.RLIMIT_FSIZE, (s["output_bytes"], s["output_bytes"]))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.umask(0o022)
        os.chdir("/tmp")
        # A fork inherits the template's generators: each job gets its own.
        for name in ("random", "numpy.random"):
            mod = sys.modules.get(name)
            if mod is not None:
                mod.seed()

    def _drop(self):
        s = self.t.settings
        for cap in range(self.t.last_cap + 1):
            _ok(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "capbset")
        _ok(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient")
        os.setgroups([])
        os.setresgid(s["gid"], s["gid"], s["gid"])
        os.setresuid(s["uid"], s["uid"], s["uid"])
        _ok(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        self.sock.close()
        os.closerange(CTL, 1 << 20)
        buf = ctypes.create_string_buffer(self.t.bpf, len(self.t.bpf))
        prog = _Fprog(len(self.t.bpf) // 8, ctypes.addressof(buf))
        _ok(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0),
            "seccomp")
        self.t.settings = self.t.bpf = None


if __name__ == "__main__":
    Template().run()
