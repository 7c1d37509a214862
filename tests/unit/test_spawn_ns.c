/* spawn_start_ns: a start in namespaces of its own (the fork engine's
 * template): PID 1 of its namespace, only the descriptors asked for, the
 * parent's step before the child goes on, a failing step or exec reported
 * as -1 with its errno and nothing left running. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/spawn.h"
#include "unit.h"

static char *const env[] = { "PATH=/usr/bin:/bin", NULL };

/* Runs sh -c script in ns; its stdout into out. Returns its exit code, or
 * -1 when the start failed (errno). */
static int
run_sh(const char *script, const struct spawn_ns *ns, char *out, size_t len)
{
	char *const argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	struct child c;
	int p[2], status = -1;
	ssize_t n, used = 0;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (spawn_start_ns("/bin/sh", argv, env, -1, p[1], -1, ns, &c) < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	close(p[1]);
	while ((n = read(p[0], out + used, len - 1 - (size_t)used)) > 0)
		used += n;
	out[used] = '\0';
	close(p[0]);
	if (spawn_wait(&c, clock_mono_ms() + 10000, &status) != 0)
		return -1;
	return spawn_exit_code(status);
}

static int parent_ran;

static int
parent_ok(pid_t pid, void *arg)
{
	parent_ran = pid > 0;
	return 0;
}

static int
parent_fails(pid_t pid, void *arg)
{
	errno = EACCES;
	return -1;
}

static int
child_fails(void *arg)
{
	errno = ENOTDIR;
	return -1;
}

TEST(pid_one_of_its_namespace)
{
	struct spawn_ns ns = { .flags = CLONE_NEWPID | CLONE_NEWUTS, .parent = parent_ok };
	char out[256];

	parent_ran = 0;
	CHECK_INT(run_sh("echo $$; hostname x && hostname", &ns, out, sizeof(out)), 0);
	CHECK_STR(out, "1\nx\n");
	CHECK(parent_ran);
}

TEST(only_the_descriptors_asked_for)
{
	int keep[2], other = open("/dev/null", O_RDONLY);	/* not CLOEXEC on purpose */
	struct spawn_ns ns = { .flags = CLONE_NEWPID, .keep = keep, .nkeep = 1 };
	char out[256];
	int p[2];

	CHECK_INT(pipe(p), 0);
	keep[0] = p[0];
	CHECK_INT(write(p[1], "kept\n", 5), 5);
	close(p[1]);
	CHECK_INT(run_sh("cat <&3; ls /proc/self/fd | tr '\\n' ' '", &ns, out, sizeof(out)), 0);
	/* 0-2, 3 and the one ls opens to list them. */
	CHECK_STR(out, "kept\n0 1 2 3 4 ");
	close(p[0]);
	close(other);
}

TEST(a_failed_step_is_an_error_and_leaves_nothing)
{
	struct spawn_ns ns = { .flags = CLONE_NEWPID, .parent = parent_fails };
	char out[64];

	errno = 0;
	CHECK_INT(run_sh("echo ran", &ns, out, sizeof(out)), -1);
	CHECK_INT(errno, EACCES);
	ns.parent = NULL;
	ns.child = child_fails;
	CHECK_INT(run_sh("echo ran", &ns, out, sizeof(out)), -1);
	CHECK_INT(errno, ENOTDIR);
	/* No child of ours is left unreaped. */
	CHECK_INT(waitpid(-1, NULL, WNOHANG), -1);
	CHECK_INT(errno, ECHILD);
}

TEST(a_failed_exec_is_an_error)
{
	char *const argv[] = { "/nonexistent", NULL };
	struct spawn_ns ns = { .flags = CLONE_NEWPID };
	struct child c;

	CHECK_INT(spawn_start_ns("/nonexistent", argv, env, -1, -1, -1, &ns, &c), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(c.pid, -1);
}

int
main(void)
{
	if (geteuid() != 0) {
		/* New PID and UTS namespaces need CAP_SYS_ADMIN (the engine adds a
		 * user namespace for that). */
		printf("spawn_ns: skipped (not root)\n");
		return 0;
	}
	alarm(60);	/* a child waiting for a parent that gave up would hang here */
	RUN(pid_one_of_its_namespace);
	RUN(only_the_descriptors_asked_for);
	RUN(a_failed_step_is_an_error_and_leaves_nothing);
	RUN(a_failed_exec_is_an_error);
	return unit_done("spawn_ns");
}
