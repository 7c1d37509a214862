/*
 * warmpool: the host's keeper of warm sandboxes (one per host, under
 * supervise). It keeps IMGSANDBOX_WARM containers started ahead (as many
 * as the slots by default), refills them in the background, idle or not,
 * and replaces any older than IMGSANDBOX_WARM_IDLE_S. Responders ask its
 * socket, DATA/warmpool.sock, for one (shared/sandbox/warm.h): it hands the oldest
 * ready sandbox over, or, when one is still starting, holds the asker up
 * to TAKE_WAIT_MS for it, or says there is none (the responder runs cold).
 * Once handed over a sandbox is the responder's, which removes it after
 * its one job and then closes its connection; the keeper reaps the client,
 * and removes the container itself when the responder's connection closes
 * with the container still there (the responder died). What the pool holds is
 * written to DATA/state/warmpool.json for /api/health and the metrics.
 *
 * SIGTERM or SIGINT removes every sandbox not handed out and ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "sandbox/docker.h"
#include "base/files.h"
#include "base/log.h"
#include "sandbox/warm.h"

#define MAX_BOXES 64
#define MAX_HANDED 256		/* clients handed out, still to reap */
#define MAX_WAITERS 32
#define MAX_STARTING 2		/* containers starting at once */
#define TAKE_WAIT_MS 1000	/* an asker waits this long for one still starting */
#define RETRY_MS 5000		/* after a failed start */
#define STATE_MAX 256		/* the state file's text but its time */

struct waiter {
	int fd;
	int64_t until;
};

/* A sandbox let go unused (too old, or dead): its removal runs in the
 * background; its folder goes once its client and the removal are done. */
struct gone {
	struct child client, rm;
	char dir[512];
	int64_t since;
};

/* A sandbox handed out: its client to reap, the responder's connection. */
struct handed {
	struct child child;
	struct child rm;	/* our `docker rm` of it, while it runs (pid > 0) */
	char name[64];
	int fd;			/* -1 once the responder said it is done (or died) */
	int64_t closed_at;	/* when it did */
	int64_t hard_until;	/* past this the keeper removes it in any case */
};

struct pool {
	char instance[32], root[600], sock_path[600];
	int listen_fd, sig_fd;
	struct warm_box *box[MAX_BOXES];
	int n;
	struct handed handed[MAX_HANDED];
	int nhanded;
	struct waiter wait[MAX_WAITERS];
	int nwait;
	struct gone gone[MAX_BOXES];
	int ngone;
	int64_t retry_at;
	/* What the state file says, and when it was written. */
	long long started, handed_out, failed, retired;
	char state[STATE_MAX];
	int64_t state_at;
};

static int
box_ready(const struct warm_box *b)
{
	return b->ready_ms != 0;
}

static int
count_starting(const struct pool *p)
{
	int i, k = 0;

	for (i = 0; i < p->n; i++)
		k += !box_ready(p->box[i]);
	return k;
}

/* Removes box i from the pool (it is handed out or discarded). */
static void
drop_box(struct pool *p, int i)
{
	memmove(p->box + i, p->box + i + 1, (size_t)(p->n - i - 1) * sizeof(p->box[0]));
	p->n--;
}

/* Lets sandbox i go: its stdin closes (a ready one's script then ends),
 * and its container's removal starts; the keeper goes on at once (a
 * responder asking meanwhile is answered), and tend_gone finishes it. */
static void
discard_box(struct pool *p, int i)
{
	struct warm_box *b = p->box[i];
	struct gone *g;

	drop_box(p, i);
	close(b->in_fd);
	close(b->out_fd);
	close(b->err_fd);
	if (p->ngone == MAX_BOXES) {		/* cannot happen: as many as boxes */
		spawn_kill(&b->child, SIGKILL);
		(void)docker_rm(b->name);
		remove_tree(b->dirs.dir);
		free(b);
		return;
	}
	g = &p->gone[p->ngone++];
	*g = (struct gone){ .client = b->child, .rm = { -1, -1 }, .since = clock_mono_ms() };
	snprintf(g->dir, sizeof(g->dir), "%s", b->dirs.dir);
	if (docker_rm_start(b->name, &g->rm) < 0)
		log_warn("removing %s", b->name);
	free(b);
}

/* Finishes the sandboxes let go: once the client and the removal ended
 * (or 30 s passed: the client is killed, the reaper removes what is left),
 * the folder goes. */
static void
tend_gone(struct pool *p)
{
	int i = 0, status;

	while (i < p->ngone) {
		struct gone *g = &p->gone[i];
		if (g->client.pid > 0)
			spawn_wait(&g->client, 0, &status);
		if (g->rm.pid > 0)
			spawn_wait(&g->rm, 0, &status);
		if ((g->client.pid > 0 || g->rm.pid > 0) && clock_mono_ms() - g->since < 30000) {
			i++;
			continue;
		}
		if (g->client.pid > 0)
			spawn_kill(&g->client, SIGKILL);
		if (g->rm.pid > 0)
			spawn_kill(&g->rm, SIGKILL);
		remove_tree(g->dir);
		*g = p->gone[--p->ngone];
	}
}

/* Writes the state file when what it says changed (a reader then sees a
 * sandbox handed out or ready at once, not up to a second late: health,
 * and a test that waits for the pool, read it) and each second besides. */
static void
write_state(struct pool *p)
{
	char path[700], tmp[700], now[STATE_MAX], text[STATE_MAX + 48];
	int fd, ready = 0, i;

	for (i = 0; i < p->n; i++)
		ready += box_ready(p->box[i]);
	snprintf(now, sizeof(now), "{\"size\":%lld,\"ready\":%d,\"starting\":%d,"
	    "\"started\":%lld,\"handed_out\":%lld,\"failed_starts\":%lld,\"retired\":%lld,",
	    (long long)cfg.warm, ready, p->n - ready, p->started, p->handed_out, p->failed,
	    p->retired);
	if (strcmp(now, p->state) == 0 && clock_mono_ms() - p->state_at < 1000)
		return;
	snprintf(p->state, sizeof(p->state), "%s", now);
	snprintf(text, sizeof(text), "%s\"written_at_ms\":%lld}", now, (long long)clock_real_ms());
	snprintf(path, sizeof(path), "%s/state/warmpool.json", cfg.data_dir);
	snprintf(tmp, sizeof(tmp), "%s/state/.warmpool.json.tmp", cfg.data_dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		return;
	if (file_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
	p->state_at = clock_mono_ms();
}

/* Starts sandboxes until the pool is full (a few at a time). */
static void
refill(struct pool *p)
{
	struct warm_box *b;

	while (p->n < cfg.warm && p->n < MAX_BOXES && count_starting(p) < MAX_STARTING &&
	    clock_mono_ms() >= p->retry_at) {
		if ((b = calloc(1, sizeof(*b))) == NULL || warm_start(&cfg, p->instance, p->root, b) < 0) {
			free(b);
			p->failed++;
			p->retry_at = clock_mono_ms() + RETRY_MS;
			return;
		}
		p->box[p->n++] = b;
		p->started++;
	}
}

/* Looks at every sandbox: ready now, dead, or too old. */
static void
tend(struct pool *p)
{
	int64_t now = clock_mono_ms();
	int i, r;

	for (i = p->n - 1; i >= 0; i--) {
		r = warm_poll_ready(p->box[i]);
		if (r < 0) {
			log_warnx("warm sandbox %s ended before its job; the engine may be failing",
			    p->box[i]->name);
			p->failed++;
			p->retry_at = now + RETRY_MS;
			discard_box(p, i);
		} else if (r == 1 && now - p->box[i]->created_ms >= cfg.warm_idle_s * 1000) {
			p->retired++;
			discard_box(p, i);
		}
	}
}

/* Hands the oldest ready sandbox to the asker on fd, which it then keeps
 * (the connection stays open while the sandbox is in use). Returns 1 when
 * one was handed (fd is the pool's now), 0 when none is ready. */
static int
hand_out(struct pool *p, int fd)
{
	struct warm_box *b;
	int i;

	for (i = 0; i < p->n && !box_ready(p->box[i]); i++)
		;
	if (i == p->n)
		return 0;
	b = p->box[i];
	drop_box(p, i);
	if (p->nhanded == MAX_HANDED || warm_send(fd, b) < 0) {
		/* The asker left: nobody got it, and it cannot be trusted to
		 * be unused. */
		p->box[p->n++] = b;
		discard_box(p, p->n - 1);
		close(fd);
		return 1;
	}
	close(b->in_fd);
	close(b->out_fd);
	close(b->err_fd);
	p->handed[p->nhanded++] = (struct handed){ .child = b->child, .rm = { -1, -1 }, .fd = fd,
	    .hard_until = clock_mono_ms() + cfg.timeout_ms + (cfg.reap_grace_s + 60) * 1000 };
	snprintf(p->handed[p->nhanded - 1].name, sizeof(p->handed[0].name), "%s", b->name);
	p->handed_out++;
	free(b);
	return 1;
}

/* A new asker: hand one over, hold it for one starting, or say none. */
static void
accept_asker(struct pool *p)
{
	struct timeval tv = { 0, 200000 };
	char req[8];
	int fd;

	if ((fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (recv(fd, req, sizeof(req), 0) != 4 || memcmp(req, "TAKE", 4) != 0) {
		close(fd);
		return;
	}
	if (hand_out(p, fd))
		return;
	if (count_starting(p) > 0 && p->nwait < MAX_WAITERS) {
		p->wait[p->nwait++] = (struct waiter){ fd, clock_mono_ms() + TAKE_WAIT_MS };
		return;
	}
	(void)warm_send(fd, NULL);
	close(fd);
}

/* Serves the askers that wait, oldest first; tells those past their wait
 * that there is none. */
static void
serve_waiters(struct pool *p)
{
	int64_t now = clock_mono_ms();
	int i = 0;

	while (i < p->nwait) {
		if (!hand_out(p, p->wait[i].fd)) {
			if (now < p->wait[i].until && count_starting(p) > 0) {
				i++;
				continue;
			}
			(void)warm_send(p->wait[i].fd, NULL);
			close(p->wait[i].fd);
		}
		memmove(p->wait + i, p->wait + i + 1, (size_t)(p->nwait - i - 1) * sizeof(p->wait[0]));
		p->nwait--;
	}
}

/* Looks after the sandboxes handed out: reaps a client whose container
 * ended; notes a responder that closed its connection (done, or died);
 * removes the container of one whose responder died with it still there
 * (its client still runs 2 s after the close), or that outlived any run. */
static void
tend_handed(struct pool *p)
{
	int64_t now = clock_mono_ms();
	struct handed *h;
	struct pollfd pf;
	int i = 0, status;

	while (i < p->nhanded) {
		h = &p->handed[i];
		if (h->rm.pid > 0)
			spawn_wait(&h->rm, 0, &status);
		if (h->child.pid > 0)
			spawn_wait(&h->child, 0, &status);
		if (h->child.pid <= 0) {	/* reaped: gone once our removal ended too */
			if (h->rm.pid > 0) {
				i++;
				continue;
			}
			if (h->fd >= 0)
				close(h->fd);
			*h = p->handed[--p->nhanded];
			continue;
		}
		pf = (struct pollfd){ .fd = h->fd, .events = POLLIN };
		if (h->fd >= 0 && poll(&pf, 1, 0) > 0) {
			close(h->fd);
			h->fd = -1;
			h->closed_at = now;
		}
		if ((h->fd < 0 && now - h->closed_at > 2000) || now > h->hard_until) {
			/* Started, not waited for: an asker must not wait on
			 * the engine (a removal under load takes seconds). */
			log_warnx("container %s outlived its responder; removing it", h->name);
			if (h->rm.pid <= 0 && docker_rm_start(h->name, &h->rm) < 0)
				log_warn("removing %s", h->name);
			h->hard_until = now + 10000;	/* once more later if need be */
			h->closed_at = now + 8000;
		}
		i++;
	}
}

/* One round: wait for a sandbox's output, an asker, a signal or a second. */
static int
round_once(struct pool *p)
{
	struct pollfd pfd[2 + MAX_BOXES];
	struct signalfd_siginfo si;
	int n = 0, i;

	pfd[n++] = (struct pollfd){ .fd = p->sig_fd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = p->listen_fd, .events = POLLIN };
	for (i = 0; i < p->n; i++)
		if (!box_ready(p->box[i]))
			pfd[n++] = (struct pollfd){ .fd = p->box[i]->out_fd, .events = POLLIN };
	if (poll(pfd, (nfds_t)n, p->nwait > 0 ? 50 : 1000) < 0 && errno != EINTR)
		return 0;
	if (pfd[0].revents && read(p->sig_fd, &si, sizeof(si)) == sizeof(si) &&
	    si.ssi_signo != SIGCHLD)
		return -1;
	tend(p);
	if (pfd[1].revents)
		accept_asker(p);
	serve_waiters(p);
	tend_handed(p);
	tend_gone(p);
	refill(p);
	write_state(p);
	return 0;
}

static void
open_socket(struct pool *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->sock_path) >= (int)sizeof(sa.sun_path))
		die("%s is too long for a socket path", p->sock_path);
	unlink(p->sock_path);
	if ((p->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(p->sock_path, 0600) < 0 || listen(p->listen_fd, 64) < 0)
		die("cannot listen on %s: %s", p->sock_path, strerror(errno));
}

static void
start_up(struct pool *p)
{
	char ccfg[600], state[600];
	sigset_t mask;

	config_instance(p->instance, sizeof(p->instance));
	if (snprintf(p->root, sizeof(p->root), "%s/sandboxes", cfg.data_dir) >= (int)sizeof(p->root) ||
	    snprintf(p->sock_path, sizeof(p->sock_path), "%s/warmpool.sock", cfg.data_dir) >=
	    (int)sizeof(p->sock_path) ||
	    snprintf(ccfg, sizeof(ccfg), "%s/docker-client", cfg.data_dir) >= (int)sizeof(ccfg) ||
	    snprintf(state, sizeof(state), "%s/state", cfg.data_dir) >= (int)sizeof(state))
		die("IMGSANDBOX_DATA is too long");
	if (make_dirs(p->root, 0700) < 0 || make_dirs(ccfg, 0700) < 0 || make_dirs(state, 0750) < 0)
		die("cannot create folders under %s: %s", cfg.data_dir, strerror(errno));
	if (docker_init(&cfg, ccfg) < 0)
		log_warnx("no docker client: no warm sandboxes until one is installed");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (p->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
		die("signalfd failed");
	open_socket(p);
}

int
main(int argc, char **argv)
{
	static struct pool p;
	char err[512];

	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	if (config_load(err, sizeof(err)) < 0)
		die("%s", err);
	if (argc > 1)
		die("usage: warmpool (settings from the environment, as the responder's)");
	start_up(&p);
	log_info("ready: %lld warm sandboxes kept on %s", (long long)cfg.warm, p.sock_path);
	refill(&p);
	while (round_once(&p) == 0)
		;
	/* Stopping: nobody gets a sandbox any more; remove them all at once. */
	close(p.listen_fd);
	unlink(p.sock_path);
	for (int i = 0; i < p.nwait; i++)
		close(p.wait[i].fd);
	warm_discard(p.box, p.n, clock_mono_ms() + 8000);
	p.n = 0;
	for (int64_t until = clock_mono_ms() + 6000; p.ngone > 0; usleep(50000)) {
		if (clock_mono_ms() > until)
			for (int i = 0; i < p.ngone; i++)
				p.gone[i].since = 0;	/* supervise's 10 s: finish them now */
		tend_gone(&p);
	}
	write_state(&p);
	return 0;
}
