/*
 * spawn_ns: the one start of a process in namespaces of its own (the fork
 * engine's template). Like spawn_start: explicit argv and envp, an empty
 * signal mask, default actions, a session of its own, 0-2 as given and
 * nothing else but the descriptors asked for; unlike it, a clone3 with
 * CLONE_NEW* flags, a step in the parent before the child goes on (its
 * uid and gid maps) and one in the child before its exec (its mounts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The child's side, between clone3 and execve: system calls only (the
 * parent may have other threads, so no lock of libc may be taken here).
 * Never returns. sync: a byte from the parent once its step is done;
 * errp: close-on-exec, its write end gets errno when something fails. */
static void __attribute__((noreturn))
child_side(const char *path, char *const argv[], char *const envp[], const int fds[],
    int nfds, const struct spawn_ns *ns, const int sync[2], const int errp[2])
{
	int sync_r = sync[0], err_w = errp[1], i, e, hi[SPAWN_NS_KEEP_MAX + 4];
	struct sigaction dfl;
	sigset_t none;
	char go;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			sigaction(i, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The parent's ends: with them open here, its giving up (closing its
	 * end unwritten) would never be seen. */
	close(sync[1]);
	close(errp[0]);
	if (read(sync_r, &go, 1) != 1) {
		e = ECHILD;	/* the parent gave up */
		goto fail;
	}
	if (setsid() < 0)
		goto fail_errno;
	/* Every descriptor to keep goes above them all first, then to its
	 * place: a source may sit where another is to go. */
	for (i = 0; i < nfds; i++) {
		hi[i] = fds[i] < 0 ? open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY | O_CLOEXEC) :
		    fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
		if (hi[i] < 0)
			goto fail_errno;
	}
	if ((err_w = fcntl(err_w, F_DUPFD_CLOEXEC, 64)) < 0)
		goto fail_errno;
	for (i = 0; i < nfds; i++)
		if (dup2(hi[i], i) < 0)
			goto fail_errno;
	if (dup2(err_w, nfds) < 0 || fcntl(nfds, F_SETFD, FD_CLOEXEC) < 0)
		goto fail_errno;
	err_w = nfds;
	if (syscall(SYS_close_range, nfds + 1, ~0U, 0) < 0)
		goto fail_errno;
	if (ns->child != NULL && ns->child(ns->arg) < 0)
		goto fail_errno;
	execve(path, argv, envp);
fail_errno:
	e = errno;
fail:
	(void)!write(err_w, &e, sizeof(e));
	_exit(127);
}

/* clone3 as a fork into new namespaces, with a pidfd. Returns the pid in
 * the parent, 0 in the child, -1 with errno. */
static pid_t
clone_ns(uint64_t flags, int *pidfd)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.flags = flags | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* The parent's side once the child exists: its step, the go, then what the
 * child says of its exec. Returns 0, or -1 with errno (the child reaped). */
static int
parent_side(pid_t pid, int pidfd, const struct spawn_ns *ns, int sync_w, int err_r,
    struct child *c)
{
	ssize_t n;
	int e = 0;

	if (ns->parent != NULL && ns->parent(pid, ns->arg) < 0) {
		e = errno != 0 ? errno : EPERM;
		close(sync_w);	/* the child reads no byte and ends */
	} else {
		(void)!write(sync_w, "g", 1);
		close(sync_w);
		while ((n = read(err_r, &e, sizeof(e))) < 0 && errno == EINTR)
			;
		if (n == 0)
			e = 0;	/* closed by its exec */
		else if (n != (ssize_t)sizeof(e))
			e = EIO;
	}
	close(err_r);
	if (e != 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(pidfd);
		errno = e;
		return -1;
	}
	c->pid = pid;
	c->pidfd = pidfd;
	return 0;
}

int
spawn_start_ns(const char *path, char *const argv[], char *const envp[], int in, int out,
    int err, const struct spawn_ns *ns, struct child *c)
{
	int fds[3 + SPAWN_NS_KEEP_MAX], sync[2], errp[2], i, nfds, pidfd = -1, saved;
	sigset_t all, old;
	pid_t pid;

	c->pid = -1;
	c->pidfd = -1;
	if (ns->nkeep < 0 || ns->nkeep > SPAWN_NS_KEEP_MAX) {
		errno = EINVAL;
		return -1;
	}
	fds[0] = in;
	fds[1] = out;
	fds[2] = err;
	for (i = 0; i < ns->nkeep; i++)
		fds[3 + i] = ns->keep[i];
	nfds = 3 + ns->nkeep;
	if (pipe2(sync, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		saved = errno;
		close(sync[0]);
		close(sync[1]);
		errno = saved;
		return -1;
	}
	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone_ns(ns->flags, &pidfd);
	if (pid == 0)
		child_side(path, argv, envp, fds, nfds, ns, sync, errp);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sync[0]);
	close(errp[1]);
	if (pid < 0) {
		close(sync[1]);
		close(errp[0]);
		errno = saved;
		return -1;
	}
	return parent_side(pid, pidfd, ns, sync[1], errp[0], c);
}
