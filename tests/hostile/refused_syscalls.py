# expect: success  want: io_uring_setup 425 EPERM|clone3 435 ENOSYS|ptrace 101 EPERM|splice 275 EPERM|unshare 272 EPERM
# Calls each system call runner_image/seccomp.list refuses, by its x86_64
# number through ctypes, with arguments that would succeed, or fail with
# another error, were the call let through; prints "<name> <number> <errno
# name>" (or SUCCEEDED, or "= <value>"), one a line. test_hostile.py checks
# every line against `build/seccomp_profile --refused`, so that this table
# and the list stay in step. Then the conditional refusals: clone with
# namespace flags, socket families, personality values; and a 32-bit
# system call (int 0x80), which must never return.
import ctypes
import errno
import mmap
import os
import socket

from PIL import Image

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
buf = ctypes.create_string_buffer(4096)
B = ctypes.addressof(buf)

# name, number, arguments (integers; B is a scratch buffer).
CALLS = [
    ("clone3", 435, (B, 88)),
    ("io_uring_setup", 425, (4, B)),
    ("io_uring_enter", 426, (-1, 0, 0, 0, 0, 0)),
    ("io_uring_register", 427, (-1, 0, 0, 0)),
    ("io_setup", 206, (1, B)),
    ("io_destroy", 207, (0,)),
    ("io_submit", 209, (0, 0, 0)),
    ("io_cancel", 210, (0, 0, B)),
    ("io_getevents", 208, (0, 0, 0, 0, 0)),
    ("io_pgetevents", 333, (0, 0, 0, 0, 0, 0)),
    ("ptrace", 101, (12, 1, 0, B)),             # PTRACE_GETREGS: ESRCH when let through
    ("splice", 275, (-1, 0, -1, 0, 1, 0)),
    ("tee", 276, (-1, -1, 1, 0)),
    ("vmsplice", 278, (-1, 0, 0, 0)),
    ("fanotify_mark", 301, (-1, 0, 0, -1, 0)),
    ("modify_ldt", 154, (0, B, 16)),
    ("get_thread_area", 211, (B,)),
    ("set_thread_area", 205, (0,)),
    ("remap_file_pages", 216, (0, 0, 0, 0, 0)),
    ("msgctl", 71, (-1, 0, 0)),
    ("msgget", 68, (1, 0)),                     # key 1, no IPC_CREAT: ENOENT when let through
    ("msgrcv", 70, (-1, B, 0, 0, 0)),
    ("msgsnd", 69, (-1, B, 0, 0)),
    ("semctl", 66, (-1, 0, 0, 0)),
    ("semget", 64, (1, 1, 0)),
    ("semop", 65, (-1, B, 1)),
    ("semtimedop", 220, (-1, B, 1, 0)),
    ("shmat", 30, (-1, 0, 0)),
    ("shmctl", 31, (-1, 0, 0)),
    ("shmdt", 67, (1,)),
    ("shmget", 29, (1, 4096, 0)),
    ("mq_open", 240, (0, 0, 0, 0)),
    ("mq_unlink", 241, (0,)),
    ("mq_timedsend", 242, (-1, B, 0, 0, 0)),
    ("mq_timedreceive", 243, (-1, B, 0, 0, 0)),
    ("mq_notify", 244, (-1, 0)),
    ("mq_getsetattr", 245, (-1, 0, B)),
    ("landlock_create_ruleset", 444, (0, 0, 1)),  # the ABI version when let through
    ("landlock_add_rule", 445, (-1, 1, B, 0)),
    ("landlock_restrict_self", 446, (-1, 0)),
    ("memfd_secret", 447, (0,)),
    ("process_mrelease", 448, (-1, 0)),
    ("get_mempolicy", 239, (B, 0, 0, 0, 0)),
    ("set_mempolicy", 238, (0, 0, 0)),
    ("mbind", 237, (0, 0, 0, 0, 0, 0)),
    ("migrate_pages", 256, (0, 0, 0, 0)),
    ("move_pages", 279, (0, 0, 0, 0, 0, 0)),
    ("process_vm_readv", 310, (os.getpid(), 0, 0, 0, 0, 0)),
    ("process_vm_writev", 311, (os.getpid(), 0, 0, 0, 0, 0)),
    ("process_madvise", 440, (-1, 0, 0, 0, 0)),
    ("kcmp", 312, (os.getpid(), os.getpid(), 0, 0, 0)),
    ("pidfd_getfd", 438, (-1, 0, 0)),
    ("unshare", 272, (0x10000000,)),            # CLONE_NEWUSER: allowed to anyone by Linux
    ("setns", 308, (-1, 0)),
    ("mount", 165, (0, 0, 0, 0, 0)),
    ("umount2", 166, (0, 0)),
    ("pivot_root", 155, (0, 0)),
    ("chroot", 161, (0,)),
    ("fsopen", 430, (0, 0)),
    ("fsconfig", 431, (-1, 0, 0, 0, 0)),
    ("fsmount", 432, (-1, 0, 0)),
    ("fspick", 433, (-1, 0, 0)),
    ("move_mount", 429, (-1, 0, -1, 0, 0)),
    ("open_tree", 428, (-1, 0, 0)),
    ("mount_setattr", 442, (-1, 0, 0, 0, 0)),
    ("name_to_handle_at", 303, (-1, 0, 0, 0, 0)),
    ("open_by_handle_at", 304, (-1, 0, 0)),
    ("fanotify_init", 300, (0, 0)),
    ("quotactl", 179, (0, 0, 0, 0)),
    ("quotactl_fd", 443, (-1, 0, 0, 0)),
    ("bpf", 321, (0, 0, 0)),
    ("perf_event_open", 298, (0, 0, -1, -1, 0)),
    ("lookup_dcookie", 212, (0, 0, 0)),
    ("userfaultfd", 323, (0,)),
    ("keyctl", 250, (0, 0, 0, 0, 0)),
    ("add_key", 248, (0, 0, 0, 0, 0)),
    ("request_key", 249, (0, 0, 0, 0)),
    ("init_module", 175, (0, 0, 0)),
    ("finit_module", 313, (-1, 0, 0)),
    ("delete_module", 176, (0, 0)),
    ("kexec_load", 246, (0, 0, 0, 0)),
    ("kexec_file_load", 320, (-1, -1, 0, 0, 0)),
    ("reboot", 169, (0, 0, 0, 0)),
    ("settimeofday", 164, (0, 0)),              # both NULL: 0 when let through
    ("clock_settime", 227, (0, 0)),
    ("swapon", 167, (0, 0)),
    ("swapoff", 168, (0,)),
    ("acct", 163, (0,)),
    ("iopl", 172, (0,)),                        # lowering the level: 0 when let through
    ("ioperm", 173, (0, 0, 0)),
    ("syslog", 103, (10, 0, 0)),                # the buffer's size
    ("vhangup", 153, ()),
    ("sethostname", 170, (0, 0)),
    ("setdomainname", 171, (0, 0)),
]


def result(r):
    if r == -1:
        return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
    return "SUCCEEDED = %d" % r


def call(name, nr, args):
    ctypes.set_errno(0)
    r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    print(name, nr, result(r), flush=True)


for name, nr, args in CALLS:
    call(name, nr, args)

# clone with a namespace flag (CLONE_NEWUSER | SIGCHLD); a child, were it
# made, leaves at once.
ctypes.set_errno(0)
r = libc.syscall(56, ctypes.c_long(0x10000000 | 17), 0, 0, 0, 0)
if r == 0:
    os._exit(0)
if r > 0:
    os.waitpid(r, 0)
print("clone-newuser 56", result(r))
# A fork through clone, without namespace flags, is allowed.
r = libc.syscall(56, ctypes.c_long(17), 0, 0, 0, 0)
if r == 0:
    os._exit(0)
if r > 0:
    os.waitpid(r, 0)
print("clone-fork 56", "allowed" if r > 0 else result(r))

# Socket families: only AF_UNIX, AF_INET and AF_INET6.
for fam, kind, label in ((16, 3, "AF_NETLINK"), (17, 3, "AF_PACKET"), (38, 5, "AF_ALG"),
                         (40, 1, "AF_VSOCK"), (1, 1, "AF_UNIX"), (2, 2, "AF_INET"),
                         (10, 2, "AF_INET6")):
    try:
        socket.socket(fam, kind).close()
        print("socket", label, "allowed")
    except OSError as e:
        print("socket", label, errno.errorcode.get(e.errno, e.errno))

# personality: PER_LINUX and the query alone.
for value, label in ((0x20000, "UNAME26"), (8, "PER_LINUX32"), (0x0040000, "ADDR_NO_RANDOMIZE"),
                     (0xffffffff, "query"), (0, "PER_LINUX")):
    ctypes.set_errno(0)
    r = libc.syscall(135, ctypes.c_ulong(value))
    print("personality", label, "allowed" if r != -1 else result(r))

# getpid through the 32-bit ABI, in a child: killed (a bad architecture
# for the filter; SIGSYS, or SIGSEGV where the kernel has no 32-bit entry),
# never answered.
pid = os.fork()
if pid == 0:
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    m.write(b"\xb8\x14\x00\x00\x00\xcd\x80\xc3")   # mov eax, 20; int 0x80; ret
    f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
    print("int80 returned", f(), flush=True)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("int80", "killed" if os.WIFSIGNALED(status) else "exited %d" % os.WEXITSTATUS(status))

Image.new("RGB", (1, 1)).save("/output/result.png")
