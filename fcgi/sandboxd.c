/*
 * sandboxd: the broker. The one process of the service that holds the
 * engine's keys: the docker group for the Docker engine, the namespaces
 * and delegated cgroups of the fork-server engine. The responders, which
 * parse everything a stranger or a script sends, hold none of it; they ask
 * this process, over DATA/engine/broker.sock (its peer checked with
 * SO_PEERCRED: the owner of DATA, the service's user), for a sandbox and
 * may then only kill it, ask how it ended and let it go (engine/broker.h).
 * No request carries an argv, a path or a name for the engine.
 *
 * Threads: this one accepts and reads signals; the pool's
 * (sandboxd_pool.c) starts sandboxes ahead; one per connection serves its
 * one sandbox; housekeeping checks the engine, reaps what an earlier
 * broker left, and writes DATA/engine/state.json for /api/health and the
 * metrics. SIGTERM or SIGINT removes every sandbox and ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/files.h"
#include "base/log.h"
#include "engine/broker.h"
#include "engine/docker.h"
#include "engine/docker_api.h"
#include "engine/engine.h"
#include "engine/seccomp_list.h"
#include "sandbox/jobs.h"
#include "sandboxd.h"

#define CONN_MAX 256		/* connections served at once */
#define CHECK_EVERY_MS 5000	/* the engine's health ... */
#define QUIET_CHECK_MS 30000	/* ... when no sandbox became ready for this long */
#define STOP_WAIT_MS 8000	/* for connections to let their sandboxes go */
#define END_GRACE_MS 2000	/* a sandbox's own end after DONE, before a kill */
#define STOP_BOX_MS 15000	/* ... and kills until the engine says it ended */

static char engine_dir[600], sock_path[600];
static char instance[32];
static uid_t peer_uid;		/* who may ask: the owner of DATA */
static volatile int stopping;
static pthread_mutex_t conn_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conn_cv = PTHREAD_COND_INITIALIZER;
static int conns;

/* ---- One connection, one sandbox ----------------------------------------- */

struct conn {
	int fd;
	struct box *b;
};

/* Whether the asker is still there (its connection neither closed nor
 * readable: a request before its BOX is a protocol error). */
static int
asker_there(void *arg)
{
	struct pollfd p = { .fd = *(int *)arg, .events = POLLIN | POLLRDHUP };

	return !stopping && poll(&p, 1, 0) == 0;
}

static int
answer(int fd, enum broker_op op, int32_t value)
{
	struct broker_msg m;

	broker_msg_init(&m, op, value);
	return broker_send(fd, &m, NULL, 0);
}

static int
answer_none(int fd, int unavailable, const char *why)
{
	struct broker_msg m;

	broker_msg_init(&m, BROKER_NONE, unavailable);
	snprintf(m.text, sizeof(m.text), "%s", why);
	return broker_send(fd, &m, NULL, 0);
}

/* Marks a box handed out: its folder becomes <id>.in-use (its mounts
 * follow the folder), so that what waits in DATA/engine/boxes/ and what
 * runs a job are told apart at a glance. */
static void
claim(struct engine_box *eb)
{
	char taken[sizeof(eb->dir)];

	char code[sizeof(eb->code_dir)], input[sizeof(eb->input_dir)];

	if (snprintf(taken, sizeof(taken), "%s.in-use", eb->dir) >= (int)sizeof(taken) ||
	    snprintf(code, sizeof(code), "%s/code", taken) >= (int)sizeof(code) ||
	    snprintf(input, sizeof(input), "%s/input", taken) >= (int)sizeof(input) ||
	    rename(eb->dir, taken) < 0) {
		log_warn("sandbox %s: marking its folder in use", eb->id);
		return;
	}
	memcpy(eb->dir, taken, sizeof(eb->dir));
	memcpy(eb->code_dir, code, sizeof(code));
	memcpy(eb->input_dir, input, sizeof(input));
}

/* TAKE: a ready box, or NONE. Returns 0 when c holds a box now. */
static int
take(struct conn *c, const struct broker_msg *req)
{
	int64_t until = clock_mono_ms() + (req->value > 0 ? req->value : cfg.start_timeout_ms);
	int warm, unavailable, fds[3];
	struct broker_msg m;
	char why[400];

	if ((c->b = pool_take(until, asker_there, &c->fd, &warm, &unavailable, why,
	    sizeof(why))) == NULL) {
		(void)answer_none(c->fd, unavailable, why);
		return -1;
	}
	claim(&c->b->eb);
	broker_msg_init(&m, BROKER_BOX, 0);
	m.flags = warm ? BROKER_WARM : 0;
	memcpy(m.id, c->b->eb.id, sizeof(m.id));
	snprintf(m.engine, sizeof(m.engine), "%s", eng->name);
	snprintf(m.code_dir, sizeof(m.code_dir), "%s", c->b->eb.code_dir);
	snprintf(m.input_dir, sizeof(m.input_dir), "%s", c->b->eb.input_dir);
	fds[0] = c->b->eb.in_fd;
	fds[1] = c->b->eb.out_fd;
	fds[2] = c->b->eb.err_fd;
	if (broker_send(c->fd, &m, fds, 3) < 0)
		return -1;	/* the asker left: the box goes with the connection */
	/* The pipe ends are the responder's now. */
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	c->b->eb.in_fd = c->b->eb.out_fd = c->b->eb.err_fd = -1;
	return 0;
}

/* OUTCOME: how the box ended, once it has (within the asked wait). */
static void
outcome(struct conn *c, const struct broker_msg *req)
{
	struct broker_msg m;
	int code = -1, oom = -1;

	broker_msg_init(&m, BROKER_ENDED, -1);
	m.value2 = -1;
	if (eng->wait(&c->b->eb, clock_mono_ms() + req->value) != 1)
		m.flags = BROKER_NOT_YET;
	else if (eng->outcome(&c->b->eb, &code, &oom) == 0) {
		m.value = code >= -1 && code <= 255 ? code : -1;
		m.value2 = oom >= -1 && oom <= 1 ? oom : -1;
	}
	(void)broker_send(c->fd, &m, NULL, 0);
}

/* Serves the requests on c's box until DONE, the end of the connection,
 * or a silence longer than any run (the responder is stuck or gone). */
static void
serve_box(struct conn *c)
{
	struct timeval tv = { 1, 0 };
	int64_t quiet_until = clock_mono_ms() + cfg.timeout_ms + 120000;
	struct broker_msg req;
	int r;

	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!stopping && clock_mono_ms() < quiet_until) {
		if ((r = broker_recv(c->fd, 1, &req, NULL)) < 0 && errno == EAGAIN)
			continue;
		if (r <= 0)
			return;
		quiet_until = clock_mono_ms() + cfg.timeout_ms + 120000;
		switch (req.op) {
		case BROKER_KILL:
			(void)answer(c->fd, BROKER_KILLED, eng->kill(&c->b->eb) == 0);
			break;
		case BROKER_OUTCOME:
			outcome(c, &req);
			break;
		case BROKER_DONE:
			return;
		default:	/* a second TAKE: one box a connection */
			return;
		}
	}
	if (!stopping)
		log_warnx("sandbox %s: its responder said nothing for too long; removing it",
		    c->b->eb.id);
}

/* Makes sure nothing of b runs: its processes' end (after the script's
 * END records PID 1 ends at once), else a kill. Returns 0 when it has
 * ended, -1 when the engine could not say. */
static int
stop_box(struct engine_box *b)
{
	int64_t give_up = clock_mono_ms() + STOP_BOX_MS;

	if (eng->wait(b, clock_mono_ms() + END_GRACE_MS) == 1)
		return 0;
	while (clock_mono_ms() < give_up) {
		(void)eng->kill(b);
		if (eng->wait(b, clock_mono_ms() + 1000) == 1)
			return 0;
	}
	log_warnx("sandbox %s: still running after its kill; its removal follows", b->id);
	return -1;
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct broker_msg req;

	if (broker_recv(c->fd, 1, &req, NULL) == 1 && req.op == BROKER_TAKE &&
	    take(c, &req) == 0) {
		serve_box(c);
		/* DONE, or the responder died: the box goes either way. GONE
		 * as soon as nothing of it runs (its slot may then serve
		 * another run); its removal, engine work that can take seconds
		 * under load, follows on this thread. */
		(void)answer(c->fd, BROKER_GONE, stop_box(&c->b->eb) == 0);
		box_destroy(c->b);
	} else if (c->b != NULL) {
		box_destroy(c->b);
	}
	close(c->fd);
	free(c);
	pthread_mutex_lock(&conn_mu);
	conns--;
	pthread_cond_broadcast(&conn_cv);
	pthread_mutex_unlock(&conn_mu);
	return NULL;
}

/* A new asker: its peer checked, a thread of its own. */
static void
accept_one(int lfd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	pthread_attr_t at;
	struct conn *c;
	pthread_t t;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != peer_uid) {
		log_warnx("refused a connection from uid %ld (only uid %ld may ask)",
		    (long)cr.uid, (long)peer_uid);
		close(fd);
		return;
	}
	pthread_mutex_lock(&conn_mu);
	if (conns >= CONN_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		pthread_mutex_unlock(&conn_mu);
		(void)answer_none(fd, 0, "the sandbox broker has too many askers");
		close(fd);
		return;
	}
	conns++;
	pthread_mutex_unlock(&conn_mu);
	c->fd = fd;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, conn_main, c) != 0) {
		close(fd);
		free(c);
		pthread_mutex_lock(&conn_mu);
		conns--;
		pthread_mutex_unlock(&conn_mu);
	}
	pthread_attr_destroy(&at);
}

/* ---- Housekeeping -------------------------------------------------------- */

/* Box folders past any box's deadline: an earlier broker's (ours go with
 * their boxes). */
static void
sweep_folders(void)
{
	int64_t age = cfg.warm_idle_s + (cfg.start_timeout_ms + cfg.timeout_ms) / 1000 + 60 +
	    cfg.reap_grace_s;
	int n = jobs_sweep(boxes_root, age);

	if (n > 0)
		log_info("removed %d sandbox folders an earlier broker left", n);
}

static void *
housekeeping_main(void *arg)
{
	int64_t next_reap = 0, next_check = 0, now;
	char msg[400];

	(void)arg;
	while (!stopping) {
		now = clock_mono_ms();
		/* A sandbox that became ready lately says the engine works:
		 * asking it costs the engine's clients a core's fraction on a
		 * busy host, so it is asked only when nothing else says. */
		if (now >= next_check && now - pool_last_ready() > QUIET_CHECK_MS) {
			int ok = eng->check(msg, sizeof(msg)) == 0;
			pthread_mutex_lock(&pool.mu);
			if (!ok) {
				pool.engine_ok = 0;
				snprintf(pool.problem, sizeof(pool.problem), "%s", msg);
			} else if (pool.problem[0] == '\0' || pool.n > 0) {
				pool.engine_ok = 1;
			}
			pthread_mutex_unlock(&pool.mu);
			pool_wake();
			next_check = now + CHECK_EVERY_MS;
		}
		if (now >= next_reap) {
			int n = eng->reap(cfg.reap_grace_s);
			if (n > 0)
				log_info("reaped %d sandboxes an earlier broker left", n);
			sweep_folders();
			next_reap = now + cfg.reap_interval_s * 1000;
		}
		pool_write_state();
		usleep(1000 * 1000);
	}
	return NULL;
}

/* ---- Start-up ------------------------------------------------------------ */

/* DATA/engine: the broker's (the service's group may pass and read), the
 * boxes' root in it (set-group-id: each box's folders get that group), the
 * socket. */
static void
make_paths(void)
{
	struct stat st;

	if (snprintf(engine_dir, sizeof(engine_dir), "%s/engine", cfg.data_dir) >=
	    (int)sizeof(engine_dir) ||
	    snprintf(boxes_root, sizeof(boxes_root), "%s/boxes", engine_dir) >=
	    (int)sizeof(boxes_root) ||
	    snprintf(sock_path, sizeof(sock_path), "%s/broker.sock", engine_dir) >=
	    (int)sizeof(sock_path) ||
	    snprintf(state_path, sizeof(state_path), "%s/state.json", engine_dir) >=
	    (int)sizeof(state_path))
		die("IMGSANDBOX_DATA is too long");
	if (stat(cfg.data_dir, &st) < 0)
		die("IMGSANDBOX_DATA %s: %s", cfg.data_dir, strerror(errno));
	peer_uid = st.st_uid;
	if (make_dirs(engine_dir, 0750) < 0 || make_dirs(boxes_root, 0750) < 0 ||
	    chmod(boxes_root, 02750) < 0)
		die("cannot make %s: %s", boxes_root, strerror(errno));
}

static int
listen_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path) >= (int)sizeof(sa.sun_path))
		die("%s is too long for a socket path", sock_path);
	unlink(sock_path);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sock_path, 0660) < 0 ||
	    listen(fd, 128) < 0)
		die("cannot listen on %s: %s", sock_path, strerror(errno));
	return fd;
}

static const struct engine_ops *
pick_engine(void)
{
	const struct engine_ops *e = strcmp(cfg.engine, "fork") == 0 ? engine_fork() : engine_docker();

	if (e == NULL)
		die("IMGSANDBOX_ENGINE=%s: this build has no such engine", cfg.engine);
	return e;
}

static void
start_threads(void)
{
	pthread_t t;
	char msg[400] = "";

	if (eng->open(&cfg, instance, engine_dir, msg, sizeof(msg)) < 0) {
		/* Not fatal: every asker hears why, and health says so. */
		log_warnx("the %s engine cannot start sandboxes: %s", eng->name, msg);
		snprintf(pool.problem, sizeof(pool.problem), "%s", msg);
	}
	if ((pool.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    pthread_create(&t, NULL, pool_main, NULL) != 0 ||
	    pthread_detach(t) != 0 ||
	    pthread_create(&t, NULL, housekeeping_main, NULL) != 0 ||
	    pthread_detach(t) != 0)
		die("cannot start the broker's threads");
}

/* Accepts until SIGTERM or SIGINT. */
static void
serve(int lfd, int sfd)
{
	struct signalfd_siginfo si;
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = lfd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if ((p[0].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si))
			return;
		if (p[1].revents & POLLIN)
			accept_one(lfd);
	}
}

/* Stopping: no new asker; the pool's boxes go at once, and the boxes in
 * use go with their connections' threads (which see `stopping`). */
static void
stop(int lfd)
{
	int64_t until = clock_mono_ms() + STOP_WAIT_MS;
	struct timespec ts;

	close(lfd);
	unlink(sock_path);
	stopping = 1;
	pool_drain();
	pthread_mutex_lock(&conn_mu);
	while (conns > 0 && clock_mono_ms() < until) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&conn_cv, &conn_mu, &ts);
	}
	pthread_mutex_unlock(&conn_mu);
	pool_write_state();
	if (eng->close != NULL)
		eng->close();
}

/* For `make bench` and the tests: the docker run argv of a job folder
 * (code/, input/), NUL-separated, so that a baseline runs exactly our
 * flags; with body, the create request the engine's API is sent for that
 * argv instead (JSON; docker_api.h). The seccomp profile the argv names is
 * written from the list first, as the broker does at its start: the argv
 * runs as printed. */
static int
print_docker_argv(const char *inst, const char *id, const char *dir, int body)
{
	struct argv_buf a = { .n = 0 };
	struct docker_job j;
	char code[600], input[600], name[64], folder[300], msg[512];
	char *slash, *json;

	snprintf(folder, sizeof(folder), "%s", cfg.seccomp_profile);
	if ((slash = strrchr(folder, '/')) != NULL && slash != folder) {
		*slash = '\0';
		if (make_dirs(folder, 0750) < 0)
			die("the profile's folder %s cannot be made", folder);
	}
	if (seccomp_profile_write(cfg.seccomp_list, cfg.runtime, cfg.seccomp_profile, msg,
	    sizeof(msg)) < 0)
		die("%s", msg);
	if (docker_init(&cfg, "/nonexistent") < 0 && cfg.docker_bin[0] == '\0')
		return 1;
	snprintf(code, sizeof(code), "%s/code", dir);
	snprintf(input, sizeof(input), "%s/input", dir);
	docker_job_fill(&j, &cfg, inst, id, code, input, (int64_t)time(NULL) + 3600, 0, name);
	if (docker_run_argv(&cfg, &j, &a) < 0)
		return 1;
	if (body) {
		if ((json = dapi_create_body(a.v, name, sizeof(name), msg, sizeof(msg))) == NULL)
			die("%s", msg);
		printf("%s\n", json);
		free(json);
		return 0;
	}
	for (int i = 0; i < a.n; i++)
		fwrite(a.v[i], 1, strlen(a.v[i]) + 1, stdout);
	return 0;
}

/* For the tests: what the broker asks the engine when a sandbox's exit of
 * 137 came with no OOM flag (gVisor's OOM event can come after the exit):
 * whether it recorded ACTION for container NAME since SINCE_MS (the real
 * clock), through the API or, with IMGSANDBOX_DOCKER_API=0, the client
 * program. Prints 1, 0, or -1 when it could not be asked. */
static int
print_saw_event(const char *name, const char *action, const char *since_ms)
{
	char *end;
	long long since;

	errno = 0;
	since = strtoll(since_ms, &end, 10);
	if (errno != 0 || end == since_ms || *end != '\0' || since < 0)
		die("--docker-saw-event: SINCE_MS must be milliseconds since the epoch, not '%s'",
		    since_ms);
	if (docker_init(&cfg, "/nonexistent") < 0)
		die("no docker client");
	dapi_init(&cfg);
	printf("%d\n", docker_saw_event(name, action, since));
	return 0;
}

int
main(int argc, char **argv)
{
	sigset_t mask;
	char err[512];
	int lfd, sfd;

	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	if (config_load(err, sizeof(err)) < 0)
		die("%s", err);
	if (argc == 5 && (strcmp(argv[1], "--docker-argv") == 0 ||
	    strcmp(argv[1], "--docker-body") == 0))
		return print_docker_argv(argv[2], argv[3], argv[4], argv[1][9] == 'b');
	if (argc == 5 && strcmp(argv[1], "--docker-saw-event") == 0)
		return print_saw_event(argv[2], argv[3], argv[4]);
	if (argc > 1)
		die("usage: sandboxd [--docker-argv|--docker-body INSTANCE ID JOB_DIR | "
		    "--docker-saw-event NAME ACTION SINCE_MS] (settings from the environment, as "
		    "the responder's)");
	umask(007);
	config_instance(instance, sizeof(instance));
	eng = pick_engine();
	make_paths();
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
		die("signalfd failed");
	lfd = listen_socket();
	start_threads();
	log_info("ready: the %s engine, %lld sandboxes kept started, on %s", eng->name,
	    (long long)cfg.warm, sock_path);
	serve(lfd, sfd);
	stop(lfd);
	return 0;
}
