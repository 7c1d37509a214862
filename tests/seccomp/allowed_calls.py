"""Makes every system call given on the command line ("name:number ..."),
with arguments that fail at once (-1: a bad descriptor, a bad pointer, a
huge count), and prints "<name> <errno name or the value>" for each. Run
under a profile and under none, the two must answer alike: a call that gets
EPERM under the profile alone is one the profile meant to allow and the
runtime did not (a name it does not know, for one). Calls that would end,
block or fork the process, or that the list allows only with conditions,
are not made."""
import ctypes
import errno
import sys

SKIP = {"exit", "exit_group", "pause", "rt_sigsuspend", "rt_sigreturn", "restart_syscall",
        "fork", "vfork", "clone", "kill", "tkill", "tgkill", "socket", "socketpair",
        "personality", "sigaltstack", "set_tid_address", "umask", "alarm", "setitimer",
        "timer_create", "munmap", "mremap", "brk", "rseq", "set_robust_list", "sync"}

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for item in sys.argv[1:]:
    name, nr = item.split(":")
    if name in SKIP:
        continue
    ctypes.set_errno(0)
    r = libc.syscall(int(nr), *[ctypes.c_long(-1)] * 6)
    print(name, errno.errorcode.get(ctypes.get_errno(), "?") if r == -1 else "= %d" % r,
          flush=True)
