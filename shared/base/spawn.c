#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/spawn.h"


int
spawn_start(const char *path, char *const argv[], char *const envp[],
    int in, int out, int err, struct child *c)
{
	return spawn_start_flags(path, argv, envp, in, out, err, 0, c);
}

int
spawn_start_flags(const char *path, char *const argv[], char *const envp[],
    int in, int out, int err, int flags, struct child *c)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int fds[3] = { in, out, err }, i, rc, saved;

	c->pid = -1;
	c->pidfd = -1;
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		errno = rc;
		return -1;
	}
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		errno = rc;
		return -1;
	}
	sigemptyset(&none);
	sigfillset(&all);
	/* An empty mask and every signal at its default (SIGPIPE included):
	 * the child must not inherit the responder's ignored SIGPIPE. */
	rc = posix_spawnattr_setsigmask(&attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	if (rc == 0)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
		    POSIX_SPAWN_SETSIGDEF |
		    ((flags & SPAWN_SAME_SESSION) ? 0 : POSIX_SPAWN_SETSID));
	for (i = 0; rc == 0 && i < 3; i++) {
		if (fds[i] >= 0)
			rc = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
		else
			rc = posix_spawn_file_actions_addopen(&fa, i, "/dev/null",
			    i == 0 ? O_RDONLY : O_WRONLY, 0);
	}
	/* Nothing above 2 reaches the child: not the FastCGI socket, not a
	 * client connection, not another job's pipe. */
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (rc == 0)
		rc = posix_spawn(&c->pid, path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		c->pid = -1;
		errno = rc;
		return -1;
	}
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0) {
		saved = errno;
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

int
spawn_wait(struct child *c, int64_t deadline_ms, int *status)
{
	struct pollfd pfd = { .fd = c->pidfd, .events = POLLIN };
	int64_t left;
	int rc;

	if (c->pid <= 0)
		return -1;
	for (;;) {
		left = deadline_ms < 0 ? -1 : deadline_ms - clock_mono_ms();
		if (deadline_ms >= 0 && left < 0)
			left = 0;
		rc = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc == 0)
			return 1;
		break;
	}
	while ((rc = waitpid(c->pid, status, 0)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return -1;
	close(c->pidfd);
	c->pidfd = -1;
	c->pid = -1;
	return 0;
}

void
spawn_kill(struct child *c, int sig)
{
	int status;

	if (c->pid <= 0)
		return;
	syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0);
	spawn_wait(c, -1, &status);
}

int
spawn_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int
spawn_capture(const char *path, char *const argv[], char *const envp[],
    int64_t timeout_ms, char *out, size_t outlen, int *exit_code)
{
	struct pollfd pfd;
	struct child c;
	char drop[4096];
	size_t used = 0;
	int64_t deadline = clock_mono_ms() + timeout_ms, left;
	int p[2], status, rc;
	ssize_t n;

	if (outlen > 0)
		out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (spawn_start(path, argv, envp, -1, p[1], -1, &c) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		left = deadline - clock_mono_ms();
		if (left <= 0)
			break;
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		if (outlen > 0 && used < outlen - 1) {
			n = read(p[0], out + used, outlen - 1 - used);
			if (n > 0)
				used += (size_t)n;
		} else
			n = read(p[0], drop, sizeof(drop));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	close(p[0]);
	if (outlen > 0)
		out[used] = '\0';
	rc = spawn_wait(&c, deadline, &status);
	if (rc == 1) {
		spawn_kill(&c, SIGKILL);
		return 1;
	}
	if (rc < 0)
		return -1;
	*exit_code = spawn_exit_code(status);
	return 0;
}

int
spawn_find_program(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH"), *p, *end;
	int n;

	if (strchr(name, '/') != NULL) {
		if (strlen(name) >= outlen)
			return -1;
		memcpy(out, name, strlen(name) + 1);
		return access(out, X_OK);
	}
	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	for (p = path; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ":");
		if (end == p)
			continue;
		n = snprintf(out, outlen, "%.*s/%s", (int)(end - p), p, name);
		if (n < 0 || (size_t)n >= outlen)
			continue;
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}
