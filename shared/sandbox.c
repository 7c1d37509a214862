#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "log.h"
#include "sandbox.h"
#include "spawn.h"

/* After a kill, how long the client gets to notice before it is killed. */
#define KILL_GRACE_MS 10000
/* The tail of stderr is at least this big: the error record lives there. */
#define MIN_TAIL 65536

struct sandbox_backend {
	const char *name;
	int (*run)(struct sandbox *, const struct sandbox_job *, struct sandbox_result *);
	void (*release)(struct sandbox *);
};

struct sandbox {
	const struct sandbox_backend *backend;
	const struct config *cfg;
	char instance[64];
	char name[64];		/* the container's name, once it has one */
	int used;		/* a sandbox takes one job */
	int started;		/* a container may exist */
};

/* Milliseconds of CLOCK_REALTIME. */
static int64_t
real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
stream_add(struct stream_capture *s, const char *buf, size_t n)
{
	size_t take, i;

	s->total += n;
	take = s->head_cap - s->head_len;
	if (take > n)
		take = n;
	memcpy(s->head + s->head_len, buf, take);
	s->head_len += take;
	buf += take;
	n -= take;
	/* Only what overflows the head goes to the tail ring. */
	if (n > s->tail_cap) {
		buf += n - s->tail_cap;
		n = s->tail_cap;
	}
	for (i = 0; i < n; i++) {
		s->tail[s->tail_pos % s->tail_cap] = buf[i];
		s->tail_pos++;
	}
}

int
stream_init(struct stream_capture *s, size_t cap, size_t min_tail)
{
	memset(s, 0, sizeof(*s));
	s->head_cap = cap / 2;
	s->tail_cap = cap - cap / 2;
	if (s->tail_cap < min_tail)
		s->tail_cap = min_tail;
	s->head = malloc(s->head_cap);
	s->tail = malloc(s->tail_cap);
	if (s->head == NULL || s->tail == NULL) {
		free(s->head);
		free(s->tail);
		s->head = s->tail = NULL;
		return -1;
	}
	return 0;
}

char *
stream_text(const struct stream_capture *s, size_t *len, int *truncated)
{
	size_t tail_len = s->tail_pos < s->tail_cap ? s->tail_pos : s->tail_cap;
	size_t show = tail_len, start, i, o = 0;
	char note[128];
	int nn = 0;
	char *out;

	/* Show no more of the tail than the head's size (the rest of the
	 * ring is kept for the error record only). */
	if (show > s->head_cap)
		show = s->head_cap;
	*truncated = s->total > (uint64_t)(s->head_len + show);
	if (*truncated)
		nn = snprintf(note, sizeof(note), "\n[... %llu bytes not kept ...]\n",
		    (unsigned long long)(s->total - s->head_len - show));
	if (nn < 0)
		nn = 0;
	if ((out = malloc(s->head_len + (size_t)nn + show + 1)) == NULL)
		return NULL;
	memcpy(out, s->head, s->head_len);
	o = s->head_len;
	memcpy(out + o, note, (size_t)nn);
	o += (size_t)nn;
	start = s->tail_pos - show;
	for (i = 0; i < show; i++)
		out[o++] = s->tail[(start + i) % s->tail_cap];
	out[o] = '\0';
	*len = o;
	return out;
}

void
stream_free(struct stream_capture *s)
{
	free(s->head);
	free(s->tail);
	s->head = s->tail = NULL;
}

void
sandbox_result_free(struct sandbox_result *res)
{
	stream_free(&res->out);
	stream_free(&res->err);
}

/* Reads what is there on fd into s. Returns 0 at EOF, 1 for more, -1 on
 * error. */
static int
drain(int fd, struct stream_capture *s)
{
	char buf[65536];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	stream_add(s, buf, (size_t)n);
	return 1;
}

/* The engine's own complaint (exit status 125) in words. */
static enum sandbox_outcome
engine_failure(const struct sandbox *sb, const struct stream_capture *err, char *msg, size_t len)
{
	char text[1024];
	size_t n = err->head_len < sizeof(text) - 1 ? err->head_len : sizeof(text) - 1;

	memcpy(text, err->head, n);
	text[n] = '\0';
	/* The client's own words (docker 20 and 28 alike); anything else is
	 * reported as it is, not guessed at. */
	if (strstr(text, "Cannot connect to the Docker daemon") != NULL) {
		snprintf(msg, len, "the container engine does not answer; start it "
		    "(e.g. 'dockerd &' or 'systemctl start docker')");
		return SANDBOX_UNAVAILABLE;
	}
	if (strstr(text, "No such image") != NULL) {
		snprintf(msg, len, "the runner image %s is missing; build it with "
		    "'make runner-image' (runner_image/build.sh)", sb->cfg->image);
		return SANDBOX_UNAVAILABLE;
	}
	text[strcspn(text, "\n")] = '\0';
	snprintf(msg, len, "the container engine refused the run: %.400s", text);
	return SANDBOX_FAILED;
}

static int
docker_cold_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res)
{
	const struct config *c = sb->cfg;
	struct argv_buf argv = { .n = 0 }, envp = { .n = 0 };
	struct docker_job dj;
	struct pollfd pfd[3];
	struct child child = { .pid = -1, .pidfd = -1 };
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	char *params_env = NULL;
	int64_t deadline, now;
	int open_out = 1, open_err = 1, exited = 0, timed_out = 0, status = 0;
	int oom = 0, code, rc = -1, n;

	if (snprintf(sb->name, sizeof(sb->name), "imgsandbox-%s", job->id) >= (int)sizeof(sb->name))
		return -1;
	dj.name = sb->name;
	dj.job_id = job->id;
	dj.instance = sb->instance;
	dj.deadline_epoch = (int64_t)time(NULL) + (job->timeout_ms + 999) / 1000;
	dj.code_dir = job->code_dir;
	dj.input_dir = job->input_dir;
	dj.output_dir = job->output_dir;
	dj.user = c->sandbox_user;
	/* USER_PARAMS reaches the container by name from the client's
	 * environment: not on a command line anyone can read in ps. */
	if (asprintf(&params_env, "USER_PARAMS=%.*s", job->params ? (int)job->params_len : 2,
	    job->params ? job->params : "{}") < 0) {
		params_env = NULL;
		return -1;
	}
	if (docker_run_argv(c, &dj, &argv) < 0 || docker_envp(c, params_env, &envp) < 0) {
		snprintf(res->message, sizeof(res->message), "the sandbox's command line is too long");
		res->outcome = SANDBOX_FAILED;
		free(params_env);
		return 0;
	}
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	res->start_ms = now_ms();
	res->start_real_ms = real_ms();
	deadline = res->start_ms + job->timeout_ms;
	if (spawn_start(argv.v[0], argv.v, envp.v, -1, out[1], err[1], &child) < 0) {
		log_warn("spawn %s", argv.v[0]);
		snprintf(res->message, sizeof(res->message), "the docker client %s could not "
		    "be started: %s", argv.v[0], strerror(errno));
		res->outcome = SANDBOX_UNAVAILABLE;
		rc = 0;
		goto out;
	}
	sb->started = 1;
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;

	while (!exited || open_out || open_err) {
		now = now_ms();
		if (!timed_out && now >= deadline) {
			/* Kill the container, not the client: the client's
			 * death would leave the container running. */
			timed_out = 1;
			docker_kill(sb->name);
			deadline = now_ms() + KILL_GRACE_MS;
			continue;
		}
		if (timed_out && now >= deadline) {
			log_warnx("container %s: the client did not end after the kill", sb->name);
			break;
		}
		n = 0;
		if (open_out)
			pfd[n++] = (struct pollfd){ .fd = out[0], .events = POLLIN };
		if (open_err)
			pfd[n++] = (struct pollfd){ .fd = err[0], .events = POLLIN };
		if (!exited)
			pfd[n++] = (struct pollfd){ .fd = child.pidfd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == out[0] && drain(out[0], &res->out) <= 0)
				open_out = 0;
			else if (pfd[i].fd == err[0] && drain(err[0], &res->err) <= 0)
				open_err = 0;
			else if (pfd[i].fd == child.pidfd && spawn_wait(&child, 0, &status) == 0)
				exited = 1;
		}
	}
	if (!exited) {
		spawn_kill(&child, SIGKILL);
		status = 0;
	}
	res->end_ms = now_ms();
	res->end_real_ms = real_ms();
	res->exit_code = exited ? spawn_exit_code(status) : -1;
	if (timed_out) {
		res->outcome = SANDBOX_TIMEOUT;
	} else if (res->exit_code == 125) {
		res->outcome = engine_failure(sb, &res->err, res->message, sizeof(res->message));
	} else if (res->exit_code == 137 &&
	    docker_inspect_state(sb->name, &oom, &code) == 0 && oom) {
		res->outcome = SANDBOX_OOM;
	} else {
		res->outcome = SANDBOX_EXITED;
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free(params_env);
	return rc;
}

static void
docker_cold_release(struct sandbox *sb)
{
	if (sb->started && docker_rm(sb->name) < 0)
		log_warnx("container %s could not be removed now; the reaper will", sb->name);
}

static const struct sandbox_backend docker_cold = {
	"docker-cold", docker_cold_run, docker_cold_release,
};

struct sandbox *
sandbox_prepare(const struct config *c, const char *instance)
{
	struct sandbox *sb;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return NULL;
	sb->backend = &docker_cold;
	sb->cfg = c;
	snprintf(sb->instance, sizeof(sb->instance), "%s", instance);
	return sb;
}

int
sandbox_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res)
{
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (sb->used) {
		errno = EBUSY;
		return -1;
	}
	sb->used = 1;
	if (stream_init(&res->out, (size_t)sb->cfg->stream_bytes, 0) < 0 ||
	    stream_init(&res->err, (size_t)sb->cfg->stream_bytes, MIN_TAIL) < 0) {
		sandbox_result_free(res);
		return -1;
	}
	if (sb->backend->run(sb, job, res) < 0) {
		sandbox_result_free(res);
		return -1;
	}
	return 0;
}

void
sandbox_release(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	sb->backend->release(sb);
	free(sb);
}

int
sandbox_reap(const char *instance, int64_t grace_s)
{
	return docker_reap(instance, grace_s);
}

int
sandbox_check(const struct config *c, char *msg, size_t msglen)
{
	return docker_check(c->image, msg, msglen);
}

char *
stream_tail(const struct stream_capture *s, size_t *len)
{
	size_t n, start, i;
	char *out;

	if (s->tail_pos == 0) {
		if ((out = malloc(s->head_len + 1)) == NULL)
			return NULL;
		memcpy(out, s->head, s->head_len);
		out[s->head_len] = '\0';
		*len = s->head_len;
		return out;
	}
	n = s->tail_pos < s->tail_cap ? s->tail_pos : s->tail_cap;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	start = s->tail_pos - n;
	for (i = 0; i < n; i++)
		out[i] = s->tail[(start + i) % s->tail_cap];
	out[n] = '\0';
	*len = n;
	return out;
}
