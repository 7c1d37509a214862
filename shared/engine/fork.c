/*
 * fork: the fork-server engine's calls (see fork.h for the whole of it).
 * Thread-safe: the template and the list of boxes are under one mutex,
 * held only for short steps; each box is its caller's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "engine/engine.h"
#include "engine/fork.h"

#define HELLO_MS 10000		/* a box's fork and first steps, under load */
#define EXIT_MS 3000		/* the template's word of a box's end */
#define GONE_MS 2000		/* a box's end after SIGKILL */

struct fork_box {
	struct fork_box *next;	/* the engine's list of its boxes */
	pid_t pid;		/* the box's PID 1, as the broker sees it */
	int pidfd;		/* -1 until the box said hello */
	int sock;		/* the broker's end of its box socket */
	int ended;		/* its pidfd said so */
	int code_known, code;
	char cg[96];		/* its cgroup: box-<deadline>-<id> */
};

static struct {
	pthread_mutex_t mu;
	int opened;
	struct config cfg;
	char instance[32];
	char state[PATH_MAX];	/* the state folder, bound at FORK_BOXES_AT */
	struct idmap map;
	struct cgroup_host cg;
	struct fork_template t;
	struct fork_box *boxes;
} E = { .mu = PTHREAD_MUTEX_INITIALIZER, .t = { .c = { -1, -1 }, .ctl = -1 } };

/* Whether the template has ended (reaping it). Called with E.mu held. */
static int
template_gone(void)
{
	struct pollfd p = { .fd = E.t.c.pidfd, .events = POLLIN };
	int status;

	if (E.t.c.pid <= 0)
		return 1;
	if (poll(&p, 1, 0) == 0)
		return 0;
	spawn_wait(&E.t.c, -1, &status);
	log_warnx("fork engine: the template ended (status %d); it is started again",
	    spawn_exit_code(status));
	fork_template_stop(&E.t);
	return 1;
}

/* Makes sure a template runs, starting one when it ended. Called with E.mu
 * held. Returns 0, or -1 with msg. */
static int
template_up(char *msg, size_t len)
{
	if (!E.opened) {
		snprintf(msg, len, "the fork engine is not open");
		return -1;
	}
	if (!template_gone())
		return 0;
	return fork_template_start(&E.cfg, &E.map, &E.cg, E.state, &E.t, msg, len);
}

static int
fork_open(const struct config *c, const char *instance, const char *state_dir, char *msg,
    size_t len)
{
	int rc;

	pthread_mutex_lock(&E.mu);
	if (E.opened) {
		pthread_mutex_unlock(&E.mu);
		snprintf(msg, len, "the fork engine is open already");
		return -1;
	}
	E.cfg = *c;
	snprintf(E.instance, sizeof(E.instance), "%s", instance);
	rc = -1;
	if (realpath(state_dir, E.state) == NULL)
		snprintf(msg, len, "the fork engine's state folder %s: %s", state_dir,
		    strerror(errno));
	else if (fork_host_check(c, instance, &E.map, &E.cg, msg, len) == 0) {
		E.opened = 1;
		if ((rc = template_up(msg, len)) < 0)
			E.opened = 0;
	}
	pthread_mutex_unlock(&E.mu);
	return rc;
}

/* The path p relative to the state folder (p must be inside it). Returns
 * it, or NULL. */
static const char *
relative(const char *p, char *real)
{
	size_t n = strlen(E.state);
	const char *rel;

	if (realpath(p, real) == NULL || strncmp(real, E.state, n) != 0 || real[n] != '/')
		return NULL;
	rel = real + n + 1;
	/* The request is words separated by spaces: nothing but these. */
	if (strspn(rel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/+-") !=
	    strlen(rel))
		return NULL;
	return rel;
}

/* One try at handing the template mh (n bytes), a template started first
 * when it ended. Returns 0, or -1 (logged, errno kept). Under E.mu. */
static int
send_once(struct msghdr *mh, int n, char *err, size_t len)
{
	int e;

	if (template_up(err, len) < 0) {
		log_warnx("%s", err);
		errno = 0;
		return -1;
	}
	if ((int)sendmsg(E.t.ctl, mh, MSG_NOSIGNAL) != n) {
		e = errno;
		log_warn("fork engine: sending the template a start");
		errno = e;
		return -1;
	}
	return 0;
}

/* Sends the template the start request of b with its four descriptors.
 * Returns 0, or -1 (logged). */
static int
send_request(const struct engine_box *b, const int fds[4])
{
	char code[PATH_MAX], input[PATH_MAX], req[2 * PATH_MAX + 128], cbuf[CMSG_SPACE(4 * sizeof(int))];
	const char *rc_, *ri;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	char err[512];
	int n, rc;

	if ((rc_ = relative(b->code_dir, code)) == NULL || (ri = relative(b->input_dir, input)) == NULL) {
		log_warnx("fork engine: the box %s's folders are not inside the state folder %s "
		    "(or have odd names)", b->id, E.state);
		return -1;
	}
	n = snprintf(req, sizeof(req), "%s %.12s %s %s", b->id, b->id, rc_, ri);
	iov.iov_base = req;
	iov.iov_len = (size_t)n;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(4 * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, 4 * sizeof(int));
	pthread_mutex_lock(&E.mu);
	rc = send_once(&mh, n, err, sizeof(err));
	if (rc < 0 && (errno == EPIPE || errno == ECONNRESET)) {
		/* The template is dying: its socket closes before its pidfd says
		 * it ended. Once it has, a new one takes the start. */
		struct pollfd p = { .fd = E.t.c.pidfd, .events = POLLIN };
		(void)poll(&p, 1, 2000);
		rc = send_once(&mh, n, err, sizeof(err));
	}
	pthread_mutex_unlock(&E.mu);
	return rc < 0 ? -1 : 0;
}

/* Waits (HELLO_MS) for the box's hello; its host pid into *pid. Returns 0,
 * or -1 (logged). */
static int
await_hello(int sock, const char *id, pid_t *pid)
{
	char buf[600], cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh;
	struct cmsghdr *cm;
	struct ucred uc;
	ssize_t n;

	if (poll(&p, 1, HELLO_MS) <= 0) {
		log_warnx("fork engine: the box %s did not say hello within %d ms", id, HELLO_MS);
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if ((n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) <= 0) {
		log_warnx("fork engine: the template made no box %s", id);
		return -1;
	}
	buf[n] = '\0';
	cm = CMSG_FIRSTHDR(&mh);
	if (strcmp(buf, "hello") != 0 || cm == NULL || cm->cmsg_type != SCM_CREDENTIALS) {
		log_warnx("fork engine: the box %s did not start: %.500s", id, buf);
		return -1;
	}
	memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
	*pid = uc.pid;
	return 0;
}

/* Opens a pidfd for the box and checks it is what it says: PID 1 of a
 * namespace two below ours. Returns the pidfd, or -1 (logged). */
static int
open_box(pid_t pid, const char *id)
{
	char path[64], text[1024], *ns, *last;
	int fd, info;
	ssize_t n;

	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
		log_warn("fork engine: pidfd_open of the box %s (%ld)", id, (long)pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	text[0] = '\0';
	if ((info = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(info, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = '\0';
		close(info);
	}
	if ((ns = strstr(text, "NSpid:")) != NULL)
		ns[strcspn(ns, "\n")] = '\0';
	if (ns == NULL || (last = strrchr(ns, '\t')) == NULL || strcmp(last, "\t1") != 0 ||
	    strchr(ns + 7, '\t') == last) {
		log_warnx("fork engine: the box %s (%ld) is not a namespace's PID 1: %s", id,
		    (long)pid, ns ? ns : "no NSpid");
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* The box's cgroup limits from the settings. */
static void
box_limits(struct cgroup_limits *l)
{
	l->memory_bytes = E.cfg.memory_bytes;
	l->cpu_quota_us = (int64_t)llround(strtod(E.cfg.cpus, NULL) * 100000.0);
	if (l->cpu_quota_us < 1000)
		l->cpu_quota_us = 1000;
	l->pids = E.cfg.pids;
}

/* Closes what start made of a box that does not go on. */
static void
box_drop(struct fork_box *x, const int mine[3])
{
	int i;

	if (x->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, x->pidfd, SIGKILL, NULL, 0);
		close(x->pidfd);
	}
	if (x->sock >= 0)
		close(x->sock);
	for (i = 0; i < 3; i++)
		if (mine[i] >= 0)
			close(mine[i]);
	if (x->cg[0] != '\0')
		cgroup_remove(&E.cg, x->cg, 1000);
	free(x);
}

/* The pipes and the box socket of a start: mine (the broker's ends: stdin's
 * write end, stdout's and stderr's read ends), theirs (the box's, and the
 * template's end of the socket). Returns 0, or -1 (logged). */
static int
make_ends(int mine[3], int theirs[4], int *sock)
{
	int p[3][2], sv[2], i, one = 1;

	for (i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0) {
			while (i-- > 0) {
				close(p[i][0]);
				close(p[i][1]);
			}
			log_warn("fork engine: pipe");
			return -1;
		}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		log_warn("fork engine: socketpair");
		for (i = 0; i < 3; i++) {
			close(p[i][0]);
			close(p[i][1]);
		}
		return -1;
	}
	mine[0] = p[0][1];
	theirs[0] = p[0][0];
	mine[1] = p[1][0];
	theirs[1] = p[1][1];
	mine[2] = p[2][0];
	theirs[2] = p[2][1];
	theirs[3] = sv[1];
	*sock = sv[0];
	return 0;
}

/* The box from its request to its "go". Returns 0, or -1 (logged). */
static int
bring_up(struct engine_box *b, struct fork_box *x, const int theirs[4])
{
	int rc = send_request(b, theirs), i;

	for (i = 0; i < 4; i++)
		close(theirs[i]);
	if (rc < 0 || await_hello(x->sock, b->id, &x->pid) < 0 ||
	    (x->pidfd = open_box(x->pid, b->id)) < 0)
		return -1;
	if (cgroup_attach(&E.cg, x->cg, x->pid) < 0)
		return -1;
	if (send(x->sock, "go", 2, MSG_NOSIGNAL) != 2) {
		log_warn("fork engine: telling the box %s to go", b->id);
		return -1;
	}
	return 0;
}

static int
fork_start(struct engine_box *b)
{
	struct cgroup_limits l;
	struct fork_box *x;
	int mine[3] = { -1, -1, -1 }, theirs[4], i;

	if (strspn(b->id, "0123456789abcdef") != strlen(b->id) || b->id[0] == '\0') {
		log_warnx("fork engine: a box's id must be hex: %.40s", b->id);
		return -1;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->pidfd = x->sock = -1;
	snprintf(x->cg, sizeof(x->cg), "box-%lld-%s", (long long)b->deadline_epoch, b->id);
	box_limits(&l);
	if (cgroup_make(&E.cg, x->cg, &l) < 0 || make_ends(mine, theirs, &x->sock) < 0 ||
	    bring_up(b, x, theirs) < 0) {
		box_drop(x, mine);
		return -1;
	}
	for (i = 0; i < 3; i++)
		fcntl(mine[i], F_SETFL, fcntl(mine[i], F_GETFL) | O_NONBLOCK);
	b->in_fd = mine[0];
	b->out_fd = mine[1];
	b->err_fd = mine[2];
	b->priv = x;
	pthread_mutex_lock(&E.mu);
	x->next = E.boxes;
	E.boxes = x;
	pthread_mutex_unlock(&E.mu);
	return 0;
}

static int
fork_wait(struct engine_box *b, int64_t until_ms)
{
	struct fork_box *x = b->priv;
	struct pollfd p;
	int64_t left;
	int rc;

	if (x == NULL || x->pidfd < 0)
		return -1;
	p.fd = x->pidfd;
	p.events = POLLIN;
	while (!x->ended) {
		left = until_ms - clock_mono_ms();
		if (left < 0)
			left = 0;
		rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc > 0)
			x->ended = 1;
		else if (left == 0)
			return 0;
	}
	return 1;
}

static int
fork_kill(struct engine_box *b)
{
	struct fork_box *x = b->priv;

	if (x == NULL || x->pidfd < 0)
		return -1;
	/* PID 1 of its namespace: the kernel kills the rest with it. */
	if (syscall(SYS_pidfd_send_signal, x->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH) {
		log_warn("fork engine: killing the box %s", b->id);
		return -1;
	}
	cgroup_kill(&E.cg, x->cg);	/* and, should one have left it, the cgroup's */
	return 0;
}

/* Reads the template's word of the box's end. Returns 0, or -1. */
static int
read_exit(struct fork_box *x)
{
	struct pollfd p = { .fd = x->sock, .events = POLLIN };
	char buf[128];
	ssize_t n;

	if (x->code_known)
		return 0;
	if (poll(&p, 1, EXIT_MS) <= 0 ||
	    (n = recv(x->sock, buf, sizeof(buf) - 1, MSG_DONTWAIT)) <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "exit %d", &x->code) != 1)
		return -1;
	x->code_known = 1;
	return 0;
}

static int
fork_outcome(struct engine_box *b, int *exit_code, int *oom)
{
	struct fork_box *x = b->priv;
	int64_t kills;

	*exit_code = -1;
	*oom = 0;
	if (x == NULL)
		return -1;
	kills = cgroup_oom_kills(&E.cg, x->cg);
	*oom = kills > 0;
	if (read_exit(x) < 0) {
		log_warnx("fork engine: no word of how the box %s ended", b->id);
		return -1;
	}
	*exit_code = x->code;
	return 0;
}

static int
fork_remove(struct engine_box *b)
{
	struct fork_box *x = b->priv, **pp;
	int rc = 0;

	if (x == NULL)
		return 0;
	if (x->pidfd >= 0 && fork_wait(b, clock_mono_ms()) != 1) {
		fork_kill(b);
		if (fork_wait(b, clock_mono_ms() + GONE_MS) != 1)
			rc = -1;
	}
	if (cgroup_remove(&E.cg, x->cg, 1000) < 0)
		rc = -1;
	pthread_mutex_lock(&E.mu);
	for (pp = &E.boxes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	pthread_mutex_unlock(&E.mu);
	if (x->pidfd >= 0)
		close(x->pidfd);
	close(x->sock);
	free(x);
	b->priv = NULL;
	return rc;
}

struct reap_ctx {
	int64_t now, grace;
	int removed;
};

/* Removes the cgroup name when it is a box of an earlier broker past its
 * deadline and grace. Called with E.mu held. */
static void
reap_one(const char *name, void *arg)
{
	struct reap_ctx *r = arg;
	struct fork_box *x;
	long long deadline;

	if (sscanf(name, "box-%lld-", &deadline) != 1 || deadline + r->grace > r->now)
		return;
	for (x = E.boxes; x != NULL; x = x->next)
		if (strcmp(x->cg, name) == 0)
			return;
	if (cgroup_remove(&E.cg, name, 500) == 0)
		r->removed++;
}

static int
fork_reap(int64_t grace_s)
{
	struct reap_ctx r = { (int64_t)time(NULL), grace_s, 0 };
	int rc;

	pthread_mutex_lock(&E.mu);
	rc = E.opened ? cgroup_each(&E.cg, reap_one, &r) : -1;
	pthread_mutex_unlock(&E.mu);
	return rc < 0 ? -1 : r.removed;
}

static int
fork_check(char *msg, size_t len)
{
	char path[PATH_MAX + 32];
	int rc;

	pthread_mutex_lock(&E.mu);
	snprintf(path, sizeof(path), "%s/usr/bin/python3", E.cfg.rootfs);
	if (E.opened && access(path, X_OK) < 0) {
		snprintf(msg, len, "the fork engine's root filesystem %s is gone: build it with "
		    "'sudo runner_image/build.sh'", E.cfg.rootfs);
		rc = -1;
	} else
		rc = template_up(msg, len);
	pthread_mutex_unlock(&E.mu);
	return rc;
}

/* The template ends at the end of its input; then the instance's cgroup
 * (the boxes' are gone: the broker removed them) goes too. */
static void
fork_close(void)
{
	pthread_mutex_lock(&E.mu);
	if (E.opened) {
		fork_template_stop(&E.t);
		cgroup_close(&E.cg);
		E.opened = 0;
	}
	pthread_mutex_unlock(&E.mu);
}

static const struct engine_ops fork_ops = {
	.name = "fork",
	.open = fork_open,
	.start = fork_start,
	.wait = fork_wait,
	.kill = fork_kill,
	.outcome = fork_outcome,
	.remove = fork_remove,
	.reap = fork_reap,
	.check = fork_check,
	.close = fork_close,
};

const struct engine_ops *
engine_fork(void)
{
	return &fork_ops;
}
