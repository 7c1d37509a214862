# expect: success  want: setuid EPERM|mount EPERM|unshare EPERM|raw socket EPERM|ptrace EPERM|chroot EPERM
import ctypes, errno, os, socket
from PIL import Image
libc = ctypes.CDLL(None, use_errno=True)

def check(name, fn):
    try:
        rc = fn()
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
        return
    if isinstance(rc, int) and rc == -1:
        print(name, errno.errorcode.get(ctypes.get_errno(), "?"))
    else:
        print(name, "SUCCEEDED")

check("setuid", lambda: os.setuid(0))
check("mount", lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
check("unshare", lambda: libc.unshare(0x10000000))           # CLONE_NEWUSER
check("raw socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
check("ptrace", lambda: libc.ptrace(16, 1, None, None))       # PTRACE_ATTACH to pid 1
check("chroot", lambda: os.chroot("/tmp"))
Image.new("RGB", (1, 1)).save("/output/result.png")
