/*
 * fork_template: what the fork engine needs of the host, and its template
 * process: started once in namespaces of its own on a small root
 * (fork_root.c), it imports IMGSANDBOX_PRELOAD and then forks the boxes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "engine/fork.h"

#define TEMPLATE_READY_MS 120000	/* its imports, under load */

/* The folder of the runner's files (entry.py, zygote.py, packages.txt): the
 * one IMGSANDBOX_PACKAGES names the list in. Returns 0, or -1. */
static int
runner_dir(const struct config *c, char *out)
{
	char *slash;

	if (realpath(c->packages_file, out) == NULL || (slash = strrchr(out, '/')) == NULL)
		return -1;
	*slash = '\0';
	return 0;
}

/* The template's loop (zygote_fork.so), beside this program. Returns 0, or
 * -1. */
static int
lib_path(char *out)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return -1;
	*slash = '\0';
	return snprintf(out, PATH_MAX, "%s/%s", exe, FORK_LIB) >= PATH_MAX ? -1 : 0;
}

/* The root filesystem and the runner's files. Returns 0, or -1 with msg. */
static int
check_files(const struct config *c, char *msg, size_t len)
{
	static const char *const files[] = { "entry.py", "zygote.py", "packages.txt", NULL };
	char root[PATH_MAX], runner[PATH_MAX], path[PATH_MAX + 32];
	int i;

	if (realpath(c->rootfs, root) == NULL ||
	    (snprintf(path, sizeof(path), "%s/usr/bin/python3", root), access(path, X_OK) < 0)) {
		snprintf(msg, len, "the fork engine's root filesystem %s is not there (no "
		    "usr/bin/python3): build it with 'sudo runner_image/build.sh' (it makes "
		    "/var/cache/imgsandbox/rootfs-<key>), or set IMGSANDBOX_ROOTFS to "
		    "'runner_image/build.sh --print-rootfs'", c->rootfs);
		return -1;
	}
	if (runner_dir(c, runner) < 0) {
		snprintf(msg, len, "cannot find the runner's folder from IMGSANDBOX_PACKAGES=%s",
		    c->packages_file);
		return -1;
	}
	if (lib_path(path) < 0 || access(path, R_OK) < 0) {
		snprintf(msg, len, "the fork engine needs %s beside the broker's program: make",
		    FORK_LIB);
		return -1;
	}
	for (i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", runner, files[i]);
		if (access(path, R_OK) < 0) {
			snprintf(msg, len, "the fork engine needs %s (readable by this user)", path);
			return -1;
		}
	}
	return 0;
}

/* Whether the kernel filters system calls with seccomp. Returns 0, or -1
 * with msg. */
static int
check_seccomp(char *msg, size_t len)
{
	unsigned int act = SECCOMP_RET_ERRNO;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) < 0) {
		snprintf(msg, len, "this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER), "
		    "which the fork engine needs: use the Docker engine");
		return -1;
	}
	return 0;
}

int
fork_host_check(const struct config *c, const char *instance, struct idmap *m,
    struct cgroup_host *h, char *msg, size_t len)
{
	if (check_files(c, msg, len) < 0 || userns_allowed(msg, len) < 0 ||
	    userns_plan(c->sandbox_uid, c->sandbox_gid, m, msg, len) < 0 ||
	    check_seccomp(msg, len) < 0 ||
	    cgroup_open(h, c->cgroup, instance, msg, len) < 0)
		return -1;
	return 0;
}

int
engine_fork_host_check(const struct config *c, const char *instance, char *msg, size_t len)
{
	struct cgroup_host h;
	struct idmap m;

	return fork_host_check(c, instance, &m, &h, msg, len);
}

/* What both sides of the template's start need. */
struct start_ctx {
	struct root_plan *plan;
	const struct idmap *map;
};

static int
start_parent(pid_t pid, void *arg)
{
	return userns_write_maps(pid, ((struct start_ctx *)arg)->map);
}

static int
start_child(void *arg)
{
	return fork_root_run(((struct start_ctx *)arg)->plan);
}

/* The template's environment: the sandbox's, as the Docker engine gives
 * it (HOSTNAME is each box's own). env holds 16 strings of 300. */
static void
template_env(const struct config *c, char env[][300], char **envp)
{
	static const char *const fixed[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/tmp", "MPLCONFIGDIR=/tmp", "PYTHONDONTWRITEBYTECODE=1", NULL };
	static const char *const pools[] = { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
		"MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "OPENCV_FOR_THREADS_NUM", NULL };
	int i, n = 0, threads = (int)ceil(strtod(c->cpus, NULL));

	if (threads < 1)
		threads = 1;
	for (i = 0; fixed[i] != NULL; i++)
		snprintf(env[n++], 300, "%s", fixed[i]);
	for (i = 0; pools[i] != NULL; i++)
		snprintf(env[n++], 300, "%s=%d", pools[i], threads);
	snprintf(env[n++], 300, "IMGSANDBOX_PRELOAD=%s", c->preload);
	for (i = 0; i < n; i++)
		envp[i] = env[i];
	envp[n] = NULL;
}

/* Sends the template its settings (one message). Returns 0, or -1. */
static int
send_settings(const struct config *c, int ctl)
{
	char msg[512];
	int n;

	n = snprintf(msg, sizeof(msg), "{\"uid\": %u, \"gid\": %u, \"output_bytes\": %lld, "
	    "\"tmp_bytes\": %lld, \"nofile\": %lld, \"boxes\": \"%s\", \"prefault\": %lld}",
	    c->sandbox_uid, c->sandbox_gid, (long long)c->output_bytes, (long long)c->tmp_bytes,
	    (long long)c->nofile, FORK_BOXES_AT, (long long)c->fork_prefault);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;
	return send(ctl, msg, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* Waits for the template's "ready" (or its "error ..." or its end).
 * Returns 0, or -1 with msg. */
static int
await_ready(struct fork_template *t, char *msg, size_t len)
{
	struct pollfd p[2] = { { .fd = t->ctl, .events = POLLIN },
		{ .fd = t->c.pidfd, .events = POLLIN } };
	int64_t until = clock_mono_ms() + TEMPLATE_READY_MS, left;
	char buf[512];
	ssize_t n;

	while ((left = until - clock_mono_ms()) > 0) {
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (!(p[0].revents & (POLLIN | POLLHUP)) && !(p[1].revents & POLLIN))
			continue;
		n = recv(t->ctl, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			break;	/* ended without a word */
		buf[n > 0 ? n : 0] = '\0';
		if (strcmp(buf, "ready") == 0)
			return 0;
		snprintf(msg, len, "the fork engine's template did not start: %s",
		    n > 0 ? buf : "it ended (see the broker's log)");
		return -1;
	}
	snprintf(msg, len, "the fork engine's template did not start within %d s, or ended "
	    "(see the broker's log)", TEMPLATE_READY_MS / 1000);
	return -1;
}

/* Spawns the template with its control socket as fd 3 and the filter as
 * fd 4. Returns 0, or -1 with msg. */
static int
spawn_template(const struct config *c, const struct idmap *m, struct root_plan *plan,
    struct fork_template *t, char *msg, size_t len)
{
	char env[16][300], *envp[17];
	char *const argv[] = { "/usr/bin/python3", "-I", "/opt/imgsandbox/zygote.py", NULL };
	struct start_ctx ctx = { plan, m };
	struct timeval sndtimeo = { 10, 0 };
	struct spawn_ns ns;
	int sv[2], keep[2], rc, saved;

	if ((keep[1] = fork_seccomp_memfd(c->seccomp_list, msg, len)) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(msg, len, "socketpair: %s", strerror(errno));
		close(keep[1]);
		return -1;
	}
	/* A template that stops reading makes a start fail, not wait. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	keep[0] = sv[1];
	template_env(c, env, envp);
	memset(&ns, 0, sizeof(ns));
	ns.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
	    CLONE_NEWUTS;
	ns.keep = keep;
	ns.nkeep = 2;
	ns.parent = start_parent;
	ns.child = start_child;
	ns.arg = &ctx;
	rc = spawn_start_ns("/usr/bin/python3", argv, envp, -1, -1, 2, &ns, &t->c);
	saved = errno;
	close(sv[1]);
	close(keep[1]);
	if (rc < 0) {
		close(sv[0]);
		snprintf(msg, len, "the fork engine could not start its template in namespaces of "
		    "its own: %s", strerror(saved));
		return -1;
	}
	t->ctl = sv[0];
	return 0;
}

int
fork_template_start(const struct config *c, const struct idmap *m,
    const struct cgroup_host *h, const char *boxes, struct fork_template *t,
    char *msg, size_t len)
{
	char root[PATH_MAX], runner[PATH_MAX], lib[PATH_MAX];
	struct root_plan *plan;
	int rc = -1;

	t->c.pid = -1;
	t->c.pidfd = -1;
	t->ctl = -1;
	if (realpath(c->rootfs, root) == NULL || runner_dir(c, runner) < 0 || lib_path(lib) < 0) {
		snprintf(msg, len, "the fork engine's files went away: %s", strerror(errno));
		return -1;
	}
	if ((plan = malloc(sizeof(*plan))) == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	if (fork_root_plan(plan, root, runner, lib, boxes, msg, len) == 0 &&
	    spawn_template(c, m, plan, t, msg, len) == 0) {
		cgroup_kill(h, "template");
		if (cgroup_make(h, "template", NULL) < 0 ||
		    cgroup_attach(h, "template", t->c.pid) < 0)
			snprintf(msg, len, "the fork engine could not move its template into the "
			    "cgroup %s/template (see the broker's log)", h->inst[CG_MEMORY]);
		else if (send_settings(c, t->ctl) < 0)
			snprintf(msg, len, "the fork engine's template went away at its start");
		else
			rc = await_ready(t, msg, len);
		if (rc < 0)
			fork_template_stop(t);
	}
	free(plan);
	return rc;
}

void
fork_template_stop(struct fork_template *t)
{
	int status;

	if (t->ctl >= 0)
		close(t->ctl);	/* it ends at the end of its input */
	t->ctl = -1;
	if (t->c.pid > 0 && spawn_wait(&t->c, clock_mono_ms() + 2000, &status) == 1)
		spawn_kill(&t->c, SIGKILL);
}
