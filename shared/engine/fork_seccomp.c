/*
 * fork_seccomp: the fork engine's seccomp filter, built once by the broker
 * with libseccomp and handed to the template as BPF, which each box
 * installs on itself after dropping to the sandbox's uid.
 *
 * Until the list the Docker engine's profile is made from
 * (runner_image/seccomp.list) has a reader here, this is a list of our own:
 * everything allowed but what a script never needs and what reaches the
 * kernel's less trodden corners (namespaces, mounts, keys, BPF, perf,
 * ptrace, modules, io_uring, userfaultfd, the clock), answered EPERM;
 * clone with a CLONE_NEW* flag is EPERM too, and clone3 ENOSYS (libc then
 * uses clone, whose flags the filter can read). System calls of another
 * architecture (i386 through int 0x80, x32) kill the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/fork.h"

static const char *const denied[] = {
	"acct", "add_key", "bpf", "chroot", "clock_adjtime", "clock_settime",
	"create_module", "delete_module", "fanotify_init", "finit_module",
	"fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms",
	"init_module", "io_uring_enter", "io_uring_register", "io_uring_setup",
	"ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
	"lookup_dcookie", "mbind", "mount", "mount_setattr", "move_mount",
	"move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
	"open_tree", "perf_event_open", "pidfd_getfd", "pivot_root",
	"process_madvise", "process_vm_readv", "process_vm_writev", "ptrace",
	"query_module", "quotactl", "quotactl_fd", "reboot", "request_key",
	"set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon",
	"syslog", "_sysctl", "sysfs", "umount", "umount2", "unshare", "uselib",
	"userfaultfd", "ustat", "vhangup", "vm86", "vm86old",
};

/* The flags of clone that make a namespace. */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
	CLONE_NEWPID, CLONE_NEWNET,
};

/* Adds the rules to ctx. Returns 0, or a negative libseccomp error. */
static int
add_rules(scmp_filter_ctx ctx)
{
	size_t i;
	int nr, rc;

	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;	/* not a system call of this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0)
			return rc;
	}
	for (i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]))) < 0)
			return rc;
	nr = seccomp_syscall_resolve_name("clone3");
	if (nr != __NR_SCMP_ERROR && nr >= 0 &&
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) < 0)
		return rc;
	return 0;
}

int
fork_seccomp_memfd(char *msg, size_t len)
{
	scmp_filter_ctx ctx;
	int fd, rc;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(msg, len, "libseccomp could not start a filter");
		return -1;
	}
	if ((rc = add_rules(ctx)) < 0) {
		seccomp_release(ctx);
		snprintf(msg, len, "libseccomp refused a rule of the sandbox's filter: %s",
		    strerror(-rc));
		return -1;
	}
	if ((fd = memfd_create("imgsandbox-seccomp", MFD_CLOEXEC)) < 0) {
		seccomp_release(ctx);
		snprintf(msg, len, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		seccomp_release(ctx);
		close(fd);
		snprintf(msg, len, "libseccomp could not export the sandbox's filter: %s",
		    strerror(-rc));
		return -1;
	}
	seccomp_release(ctx);
	return fd;
}
