#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "sandbox/docker.h"
#include "base/files.h"
#include "base/log.h"
#include "sandbox/sbproto.h"
#include "sandbox/warm.h"

/* What goes over the keeper's socket with the three descriptors. */
struct warm_msg {
	char have;		/* 'Y': a sandbox follows; 'N': none */
	char id[JOB_ID_LEN + 1];
	char dir[512];
	int64_t created_ms;
};

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Fills the folder paths of b (id, name, code/, input/) from its folder
 * dir. Returns 0 or -1. */
static int
warm_dirs(struct warm_box *b, const char *dir)
{
	struct job *d = &b->dirs;

	memcpy(d->id, b->id, sizeof(d->id));
	if (snprintf(d->dir, sizeof(d->dir), "%s", dir) >= (int)sizeof(d->dir) ||
	    snprintf(d->code_dir, sizeof(d->code_dir), "%s/code", d->dir) >= (int)sizeof(d->code_dir) ||
	    snprintf(d->input_dir, sizeof(d->input_dir), "%s/input", d->dir) >= (int)sizeof(d->input_dir))
		return -1;
	snprintf(b->name, sizeof(b->name), "imgsandbox-%s", b->id);
	return 0;
}

/* Spawns the attached client of b's container. Returns 0 or -1. */
static int
warm_spawn(const struct config *c, const char *instance, struct warm_box *b)
{
	struct argv_buf argv = { .n = 0 }, envp = { .n = 0 };
	struct docker_job dj;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc = -1;
	char name[64];

	/* Past this the reaper may remove it: the keeper replaces it at
	 * warm_idle_s, and a job handed at the last moment has its time. */
	docker_job_fill(&dj, c, instance, b->id, b->dirs.code_dir, b->dirs.input_dir,
	    (int64_t)time(NULL) + c->warm_idle_s + (c->timeout_ms + 999) / 1000, 1, name);
	if (docker_run_argv(c, &dj, &argv) < 0 || docker_envp(c, NULL, &envp) < 0) {
		log_warnx("warm sandbox: the command line is too long");
		return -1;
	}
	/* Our ends do not block; the client's are ordinary. */
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    fcntl(in[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(out[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(err[0], F_SETFL, O_NONBLOCK) < 0)
		goto out;
	if (spawn_start(argv.v[0], argv.v, envp.v, in[0], out[1], err[1], &b->child) < 0) {
		log_warn("warm sandbox: spawn %s", argv.v[0]);
		goto out;
	}
	b->in_fd = in[1];
	b->out_fd = out[0];
	b->err_fd = err[0];
	in[1] = out[0] = err[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&err[i]);
	}
	return rc;
}

int
warm_start(const struct config *c, const char *instance, const char *root, struct warm_box *b)
{
	memset(b, 0, sizeof(*b));
	b->in_fd = b->out_fd = b->err_fd = b->keeper_fd = -1;
	b->child = (struct child){ .pid = -1, .pidfd = -1 };
	if (job_create(root, &b->dirs) < 0) {
		log_warn("warm sandbox: folders in %s", root);
		return -1;
	}
	memcpy(b->id, b->dirs.id, sizeof(b->id));
	snprintf(b->name, sizeof(b->name), "imgsandbox-%s", b->id);
	if (warm_spawn(c, instance, b) < 0) {
		remove_tree(b->dirs.dir);
		return -1;
	}
	b->created_ms = clock_mono_ms();
	return 0;
}

int
warm_poll_ready(struct warm_box *b)
{
	struct pollfd p = { .fd = b->child.pidfd, .events = POLLIN };
	char buf[512];
	ssize_t n;

	/* Its client ended (the engine refused, or it was reaped). */
	if (b->child.pidfd >= 0 && poll(&p, 1, 0) > 0)
		return -1;
	if (b->ready_ms != 0)
		return 1;
	for (;;) {
		n = read(b->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		/* What it printed before (an import's warning) is dropped. */
		if (sbproto_ready_scan(&b->ready_match, buf, (size_t)n)) {
			b->ready_ms = clock_mono_ms();
			return 1;
		}
	}
	return 0;
}

void
warm_discard(struct warm_box **v, int n, int64_t deadline_ms)
{
	int left, status, i;

	for (i = 0; i < n; i++)
		close_fd(&v[i]->in_fd);		/* a ready one's script then ends */
	do {
		left = 0;
		for (i = 0; i < n; i++) {
			if (v[i]->child.pid > 0)
				spawn_wait(&v[i]->child, 0, &status);
			if (v[i]->child.pid > 0) {
				(void)docker_rm(v[i]->name);
				left++;
			}
		}
		if (left > 0)
			usleep(100000);
	} while (left > 0 && clock_mono_ms() < deadline_ms);
	for (i = 0; i < n; i++) {
		if (v[i]->child.pid > 0)
			spawn_kill(&v[i]->child, SIGKILL);
		/* The client has ended: the container exists now or never will.
		 * What fails here (the engine is gone) is the reaper's. */
		if (docker_rm(v[i]->name) < 0)
			log_warnx("container %s could not be removed now; the reaper will",
			    v[i]->name);
		close_fd(&v[i]->out_fd);
		close_fd(&v[i]->err_fd);
		remove_tree(v[i]->dirs.dir);
	}
}

int
warm_send(int sock, const struct warm_box *b)
{
	struct warm_msg m;
	struct msghdr mh;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct cmsghdr *cm;
	int fds[3];

	memset(&m, 0, sizeof(m));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &m;
	iov.iov_len = sizeof(m);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	m.have = 'N';
	if (b != NULL) {
		m.have = 'Y';
		memcpy(m.id, b->id, sizeof(m.id));
		snprintf(m.dir, sizeof(m.dir), "%s", b->dirs.dir);
		m.created_ms = b->created_ms;
		fds[0] = b->in_fd;
		fds[1] = b->out_fd;
		fds[2] = b->err_fd;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

/* Receives the keeper's answer on sock into b. Returns 1, 0 or -1 as
 * warm_take. */
static int
warm_receive(int sock, struct warm_box *b)
{
	struct warm_msg m;
	struct msghdr mh;
	struct iovec iov = { &m, sizeof(m) };
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct cmsghdr *cm;
	int fds[3];
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	if ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) != (ssize_t)sizeof(m) || m.have != 'Y')
		return 0;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(fds)))
		return -1;
	memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	memset(b, 0, sizeof(*b));
	b->child = (struct child){ .pid = -1, .pidfd = -1 };
	b->keeper_fd = -1;
	b->in_fd = fds[0];
	b->out_fd = fds[1];
	b->err_fd = fds[2];
	m.id[JOB_ID_LEN] = '\0';
	m.dir[sizeof(m.dir) - 1] = '\0';
	memcpy(b->id, m.id, sizeof(b->id));
	b->created_ms = m.created_ms;
	b->ready_ms = 1;
	if (strlen(b->id) != JOB_ID_LEN || warm_dirs(b, m.dir) < 0) {
		close_fd(&b->in_fd);
		close_fd(&b->out_fd);
		close_fd(&b->err_fd);
		return -1;
	}
	return 1;
}

int
warm_claim(struct warm_box *b)
{
	char taken[sizeof(b->dirs.dir)];

	if (snprintf(taken, sizeof(taken), "%s.in-use", b->dirs.dir) >= (int)sizeof(taken) ||
	    rename(b->dirs.dir, taken) < 0)
		return -1;
	return warm_dirs(b, taken);
}

int
warm_take(const char *socket_path, int64_t timeout_ms, struct warm_box *b)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	int sock, rc;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path) >= (int)sizeof(sa.sun_path))
		return 0;
	if ((sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* No keeper (not started, or restarting): a cold run, at once. */
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(sock, "TAKE", 4, MSG_NOSIGNAL) != 4) {
		close(sock);
		return 0;
	}
	if ((rc = warm_receive(sock, b)) == 1)
		b->keeper_fd = sock;
	else
		close(sock);
	return rc;
}
