#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "sandbox/docker.h"
#include "base/files.h"
#include "base/log.h"
#include "sandbox/sandbox.h"
#include "base/spawn.h"
#include "sandbox/warm.h"

/* After a kill, how long the streams get to end before we stop reading. */
#define KILL_GRACE_MS 10000
/* ... and how often the kill is sent again meanwhile (a container still
 * being created when the first kill came would otherwise start and run). */
#define KILL_RETRY_MS 1000
/* How often the caller hears a tick while the script runs. */
#define TICK_MS 1000
/* How long a responder waits for the keeper's answer (it may hold the
 * asker up to a second for a sandbox about to be ready). */
#define TAKE_TIMEOUT_MS 1500
/* How long finishing waits for a removal the engine does not confirm. */
#define FINISH_MS 10000

struct sandbox {
	const struct config *cfg;
	char instance[64];
	char name[64];		/* the container's name, once it has one */
	int warm;		/* handed by the keeper (else cold) */
	int used;		/* a sandbox takes one job */
	int started;		/* a container may exist */
	int script_started;	/* its START record came: the container exists */
	struct warm_box box;	/* warm: its folders and pipe ends */
	struct child child;	/* cold: our docker client */
};

/* One run being read: the sandbox, its job, the result, the streams. */
struct run {
	struct sandbox *sb;
	const struct sandbox_job *job;
	const struct sandbox_events *ev;
	struct sandbox_result *res;
	int out, err, in;	/* our ends; -1 once closed */
	const char *in_buf;	/* the job line (warm) still to write */
	size_t in_len;
	int exited, status;	/* cold: the client's wait status */
	int stopping;		/* the container was told to die (timeout, cancel) */
	int killed;		/* ... and the engine confirmed it */
	enum sandbox_outcome stop_as;
	int64_t deadline, next_kill, next_tick;
	int64_t started_real;	/* unix ms: the engine's events are asked from here */
};

static const struct sandbox_events no_events;

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void
sandbox_result_free(struct sandbox_result *res)
{
	stream_free(&res->out);
	stream_free(&res->err);
	sbproto_free(&res->proto);
}

/* ---- The protocol's sink: text to the capture and the caller ------------ */

static void
on_started(void *arg);

static void
on_text(void *arg, int stream, const char *buf, size_t n)
{
	struct run *r = arg;

	/* Text can come before the START record (another pipe): it runs. */
	if (r->res->started_ms == 0)
		on_started(arg);
	stream_add(stream == SBPROTO_STDOUT ? &r->res->out : &r->res->err, buf, n);
	if (r->ev->text != NULL)
		r->ev->text(r->ev->arg, stream, buf, n);
}

/* The script runs: its START record, or its first text. Once. */
static void
on_started(void *arg)
{
	struct run *r = arg;

	if (r->res->started_ms != 0)
		return;
	r->res->started_ms = clock_mono_ms();
	r->sb->script_started = 1;
	if (r->ev->phase != NULL)
		r->ev->phase(r->ev->arg, "running");
}

static int
on_file_begin(void *arg, const struct sbproto_file *f)
{
	struct run *r = arg;

	return r->ev->file_begin ? r->ev->file_begin(r->ev->arg, f) : 0;
}

static int
on_file_data(void *arg, const char *buf, size_t n)
{
	struct run *r = arg;

	return r->ev->file_data ? r->ev->file_data(r->ev->arg, buf, n) : 0;
}

static int
on_file_end(void *arg, const struct sbproto_file *f)
{
	struct run *r = arg;

	return r->ev->file_end ? r->ev->file_end(r->ev->arg, f) : 0;
}

/* ---- Reading a run ------------------------------------------------------- */

/* Reads what is there on *fd into the protocol; closes it at EOF. */
static void
drain(struct run *r, int *fd, int stream)
{
	char buf[65536];
	ssize_t n;

	n = read(*fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		sbproto_eof(&r->res->proto, stream);
		close_fd(fd);
		return;
	}
	if (sbproto_feed(&r->res->proto, stream, buf, (size_t)n) < 0)
		log_warnx("container %s: a record was lost (out of memory)", r->sb->name);
}

/* Writes what is left of the job line. */
static void
feed_stdin(struct run *r)
{
	ssize_t k = write(r->in, r->in_buf, r->in_len);

	if (k > 0) {
		r->in_buf += k;
		r->in_len -= (size_t)k;
	}
	/* All written (stdin then ends), or the reader is gone. */
	if (r->in_len == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
		close_fd(&r->in);
}

/* Whether poll said something of fd. */
static int
ready_on(const struct pollfd *p, int n, int fd)
{
	for (int i = 0; i < n; i++)
		if (p[i].fd == fd && p[i].revents != 0)
			return 1;
	return 0;
}

/* Reads what the pipes hold now, without waiting. */
static void
drain_now(struct run *r)
{
	for (int k = 0; k < 64 && (r->out >= 0 || r->err >= 0); k++) {
		struct pollfd p[2];
		int n = 0;
		if (r->out >= 0)
			p[n++] = (struct pollfd){ .fd = r->out, .events = POLLIN };
		if (r->err >= 0)
			p[n++] = (struct pollfd){ .fd = r->err, .events = POLLIN };
		if (poll(p, (nfds_t)n, 0) <= 0)
			return;
		if (r->out >= 0 && ready_on(p, n, r->out))
			drain(r, &r->out, SBPROTO_STDOUT);
		if (r->err >= 0 && ready_on(p, n, r->err))
			drain(r, &r->err, SBPROTO_STDERR);
	}
}

/* Tells the container to die, as outcome; again each KILL_RETRY_MS. */
static void
stop(struct run *r, enum sandbox_outcome as)
{
	int64_t now = clock_mono_ms();

	if (!r->stopping) {
		r->stopping = 1;
		r->stop_as = as;
		r->deadline = now + KILL_GRACE_MS;
	}
	if (now >= r->next_kill) {
		/* Confirmed: the container is dead; what it printed until then
		 * is in the pipes, read below without waiting for the client to
		 * notice (the answer need not wait for that). */
		if (docker_kill(r->sb->name) == 0)
			r->killed = 1;
		r->next_kill = clock_mono_ms() + KILL_RETRY_MS;
	}
}

/* The time to wait in poll: to the deadline, the next kill or tick. */
static int
wait_ms(const struct run *r)
{
	int64_t now = clock_mono_ms(), until = r->deadline;

	if (r->stopping && r->next_kill < until)
		until = r->next_kill;
	if (!r->stopping && r->next_tick < until)
		until = r->next_tick;
	return until > now ? (int)(until - now) : 0;
}

/* One round of poll over the streams, stdin, the client and the cancel. */
static void
watch_once(struct run *r)
{
	struct pollfd p[6];
	int n = 0;

	if (r->out >= 0)
		p[n++] = (struct pollfd){ .fd = r->out, .events = POLLIN };
	if (r->err >= 0)
		p[n++] = (struct pollfd){ .fd = r->err, .events = POLLIN };
	if (r->in >= 0)
		p[n++] = (struct pollfd){ .fd = r->in, .events = POLLOUT };
	if (!r->sb->warm && !r->exited)
		p[n++] = (struct pollfd){ .fd = r->sb->child.pidfd, .events = POLLIN };
	if (!r->stopping && r->job->cancel_fd >= 0)
		p[n++] = (struct pollfd){ .fd = r->job->cancel_fd, .events = POLLIN };
	if (!r->stopping && r->job->client_fd >= 0)
		p[n++] = (struct pollfd){ .fd = r->job->client_fd, .events = POLLIN | POLLRDHUP };
	if (poll(p, (nfds_t)n, wait_ms(r)) < 0 && errno != EINTR)
		return;
	if (r->out >= 0 && ready_on(p, n, r->out))
		drain(r, &r->out, SBPROTO_STDOUT);
	if (r->err >= 0 && ready_on(p, n, r->err))
		drain(r, &r->err, SBPROTO_STDERR);
	if (r->in >= 0 && ready_on(p, n, r->in))
		feed_stdin(r);
	if (!r->sb->warm && !r->exited && ready_on(p, n, r->sb->child.pidfd) &&
	    spawn_wait(&r->sb->child, 0, &r->status) == 0)
		r->exited = 1;
	if (!r->stopping && r->job->cancel_fd >= 0 && ready_on(p, n, r->job->cancel_fd))
		stop(r, SANDBOX_CANCELLED);
	if (!r->stopping && r->job->client_fd >= 0 && ready_on(p, n, r->job->client_fd))
		stop(r, SANDBOX_CANCELLED);
}

/* Reads the run until its end is known (both END records and the files),
 * its streams end (the client exited), or a stop's grace is over. */
static void
watch(struct run *r)
{
	int64_t now;

	while (!sbproto_complete(&r->res->proto) && (r->out >= 0 || r->err >= 0)) {
		if (r->killed) {
			drain_now(r);
			break;
		}
		now = clock_mono_ms();
		if (!r->stopping && now >= r->deadline)
			stop(r, SANDBOX_TIMEOUT);
		else if (r->stopping && now >= r->deadline) {
			log_warnx("container %s: its streams did not end after the kill", r->sb->name);
			break;
		} else if (r->stopping && now >= r->next_kill)
			stop(r, r->stop_as);
		if (!r->stopping && now >= r->next_tick) {
			r->next_tick = now + TICK_MS;
			if (r->ev->tick != NULL && r->ev->tick(r->ev->arg) < 0)
				stop(r, SANDBOX_CANCELLED);
		}
		watch_once(r);
	}
	r->res->ended_ms = clock_mono_ms();
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

/* The engine's word on how a container ended: OOMKilled and the exit
 * code. The engine learns of an OOM kill by an event of its own, which may
 * come after the exit (under runsc beside three busy loops: 4 runs in 30,
 * 33-131 ms late), and then its OOMKilled stays false for good (docker
 * 20.10: asked again 4 times over 400 ms, it stayed false). So one killed by
 * SIGKILL that we did not stop is looked for in the engine's events, for
 * up to OOM_EVENT_WAIT_MS after the exit. PID 1 of a container cannot be
 * SIGKILLed from inside it under runc (gVisor allows it), so the wait is
 * rarely paid without an OOM. Returns 0, or -1 when it could not be asked. */
#define OOM_EVENT_WAIT_MS	2000
#define OOM_PAUSE_MS		100
static int
inspect_oom(const char *name, int64_t since_real_ms, int *oom, int *code)
{
	int64_t until = clock_mono_ms() + OOM_EVENT_WAIT_MS;
	int saw;

	if (docker_inspect_state(name, oom, code) < 0)
		return -1;
	if (*oom || *code != 128 + 9)
		return 0;
	for (;;) {
		saw = docker_saw_event(name, "oom", since_real_ms);
		if (saw != 0) {
			*oom = saw > 0;
			return 0;
		}
		if (clock_mono_ms() >= until)
			return 0;
		usleep(OOM_PAUSE_MS * 1000);
	}
}

/* How the run ended when no END record said so: the client's status
 * (cold) or the engine's word (warm), OOM from the engine. */
static void
ended_without_record(struct run *r)
{
	struct sandbox_result *res = r->res;
	int oom = 0, code = -1;

	if (!r->sb->warm && !r->exited && spawn_wait(&r->sb->child, clock_mono_ms() + 2000,
	    &r->status) == 0)
		r->exited = 1;
	if (!r->sb->warm)
		res->exit_code = r->exited ? spawn_exit_code(r->status) : -1;
	if (res->exit_code == 125 && !res->proto.started) {
		res->outcome = engine_failure(r->sb, &res->err, res->message, sizeof(res->message));
		return;
	}
	if (inspect_oom(r->sb->name, r->started_real - 1000, &oom, &code) == 0) {
		if (r->sb->warm)
			res->exit_code = code;
		if (oom) {
			res->outcome = SANDBOX_OOM;
			return;
		}
	}
	res->outcome = SANDBOX_EXITED;
}

/* Says what happened, from the records first. */
static void
conclude(struct run *r)
{
	struct sandbox_result *res = r->res;

	if (r->stopping) {
		res->outcome = r->stop_as;
		res->exit_code = -1;
	} else if (res->proto.ended) {
		res->outcome = SANDBOX_EXITED;
		res->exit_code = res->proto.exit_code;
	} else {
		ended_without_record(r);
	}
}

static int
run_init(struct run *r, struct sandbox *sb, const struct sandbox_job *job,
    struct sandbox_result *res)
{
	struct sbproto_sink sink = { r, on_text, on_started, on_file_begin, on_file_data,
	    on_file_end };

	memset(r, 0, sizeof(*r));
	r->sb = sb;
	r->job = job;
	r->ev = job->ev != NULL ? job->ev : &no_events;
	r->res = res;
	r->started_real = clock_real_ms();
	r->out = r->err = r->in = -1;
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	sbproto_init(&res->proto, &sink, sb->cfg->output_bytes);
	if (stream_init(&res->out, (size_t)sb->cfg->stream_bytes) < 0 ||
	    stream_init(&res->err, (size_t)sb->cfg->stream_bytes) < 0) {
		sandbox_result_free(res);
		return -1;
	}
	return 0;
}

/* ---- Cold: the container starts with the job ---------------------------- */

static int
cold_start(struct sandbox *sb, const struct sandbox_job *job, struct run *r)
{
	const struct config *c = sb->cfg;
	struct argv_buf argv = { .n = 0 }, envp = { .n = 0 };
	struct docker_job dj;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc = -1;
	char *params_env = NULL;

	docker_job_fill(&dj, c, sb->instance, job->id, job->code_dir, job->input_dir,
	    (int64_t)time(NULL) + (job->timeout_ms + 999) / 1000, 0, sb->name);
	/* USER_PARAMS reaches the container by name from the client's
	 * environment: not on a command line anyone can read in ps. */
	if (asprintf(&params_env, "USER_PARAMS=%.*s", job->params ? (int)job->params_len : 2,
	    job->params ? job->params : "{}") < 0)
		return -1;
	if (docker_run_argv(c, &dj, &argv) < 0 || docker_envp(c, params_env, &envp) < 0) {
		snprintf(r->res->message, sizeof(r->res->message),
		    "the sandbox's command line is too long");
		r->res->outcome = SANDBOX_FAILED;
		rc = 1;
		goto out;
	}
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	r->res->asked_ms = clock_mono_ms();
	if (spawn_start(argv.v[0], argv.v, envp.v, -1, out[1], err[1], &sb->child) < 0) {
		log_warn("spawn %s", argv.v[0]);
		snprintf(r->res->message, sizeof(r->res->message), "the docker client %s could "
		    "not be started: %s", argv.v[0], strerror(errno));
		r->res->outcome = SANDBOX_UNAVAILABLE;
		rc = 1;
		goto out;
	}
	sb->started = 1;
	r->out = out[0];
	r->err = err[0];
	out[0] = err[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		close_fd(&out[i]);
		close_fd(&err[i]);
	}
	free(params_env);
	return rc;
}

/* ---- Warm: the job is handed over --------------------------------------- */

/* Moves every entry of folder from into folder to (same filesystem).
 * Returns 0, or -1 with errno. */
static int
move_entries(const char *from, const char *to)
{
	char a[1024], b[1024];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(from)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(a, sizeof(a), "%s/%s", from, de->d_name) >= (int)sizeof(a) ||
		    snprintf(b, sizeof(b), "%s/%s", to, de->d_name) >= (int)sizeof(b) ||
		    rename(a, b) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* The job line: {"params": "..."} and a newline. malloc'd, or NULL. */
static char *
job_line(const struct sandbox_job *job, size_t *len)
{
	cJSON *o = cJSON_CreateObject();
	char *params, *text = NULL, *line = NULL;

	params = strndup(job->params ? job->params : "{}", job->params ? job->params_len : 2);
	if (o != NULL && params != NULL && cJSON_AddStringToObject(o, "params", params) != NULL)
		text = cJSON_PrintUnformatted(o);
	if (text != NULL && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	if (line != NULL)
		*len = strlen(line);
	cJSON_free(text);
	cJSON_Delete(o);
	free(params);
	return line;
}

static int
warm_handoff(struct sandbox *sb, const struct sandbox_job *job, struct run *r, char **line)
{
	size_t len = 0;

	r->res->asked_ms = clock_mono_ms();
	if (move_entries(job->code_dir, sb->box.dirs.code_dir) < 0 ||
	    move_entries(job->input_dir, sb->box.dirs.input_dir) < 0) {
		log_warn("moving job %s into sandbox %s", job->id, sb->box.id);
		snprintf(r->res->message, sizeof(r->res->message), "the job's files could not be "
		    "handed to the sandbox: %s", strerror(errno));
		r->res->outcome = SANDBOX_FAILED;
		return 1;
	}
	if ((*line = job_line(job, &len)) == NULL)
		return -1;
	r->in = sb->box.in_fd;
	r->out = sb->box.out_fd;
	r->err = sb->box.err_fd;
	sb->box.in_fd = sb->box.out_fd = sb->box.err_fd = -1;	/* the run's now */
	r->in_buf = *line;
	r->in_len = len;
	return 0;
}

/* ---- The interface ------------------------------------------------------ */

struct sandbox *
sandbox_take(const struct config *c, const char *instance, const char *pool_socket)
{
	struct sandbox *sb;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return NULL;
	sb->cfg = c;
	sb->child = (struct child){ .pid = -1, .pidfd = -1 };
	sb->box.in_fd = sb->box.out_fd = sb->box.err_fd = sb->box.keeper_fd = -1;
	snprintf(sb->instance, sizeof(sb->instance), "%s", instance);
	if (pool_socket != NULL && warm_take(pool_socket, TAKE_TIMEOUT_MS, &sb->box) == 1) {
		sb->warm = 1;
		sb->started = 1;
		snprintf(sb->name, sizeof(sb->name), "%s", sb->box.name);
		if (warm_claim(&sb->box) < 0)
			log_warn("sandbox %s: marking its folder in use", sb->name);
	} else if (pool_socket != NULL) {
		log_info("no warm sandbox from the keeper (none ready within %d ms, or no "
		    "keeper): this run starts cold", TAKE_TIMEOUT_MS);
	}
	return sb;
}

const char *
sandbox_kind(const struct sandbox *sb)
{
	return sb->warm ? "docker-warm" : "docker-cold";
}

int
sandbox_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res)
{
	struct run r;
	char *line = NULL;
	int rc;

	if (sb->used) {
		errno = EBUSY;
		return -1;
	}
	sb->used = 1;
	if (run_init(&r, sb, job, res) < 0)
		return -1;
	if (r.ev->phase != NULL)
		r.ev->phase(r.ev->arg, "starting");
	rc = sb->warm ? warm_handoff(sb, job, &r, &line) : cold_start(sb, job, &r);
	if (rc != 0) {
		free(line);
		if (rc < 0)
			sandbox_result_free(res);
		res->ended_ms = res->asked_ms;
		return rc < 0 ? -1 : 0;
	}
	/* The limit is the script's: from the hand-off (warm), or from the
	 * start of the container (cold, whose start counts). */
	r.deadline = res->asked_ms + job->timeout_ms;
	r.next_tick = res->asked_ms + TICK_MS;
	watch(&r);
	conclude(&r);
	close_fd(&r.out);
	close_fd(&r.err);
	close_fd(&r.in);
	free(line);
	return 0;
}

/* Removes a cold container whose client may still be creating it: `docker
 * rm --force` says nothing of a container that does not exist yet, which
 * would come up after the removal. So the removal is repeated while the
 * client runs, and done once more after it ended. Returns 1 when the last
 * removal was confirmed. */
static int
remove_while_created(struct sandbox *sb, int64_t give_up)
{
	int status, removed = docker_rm(sb->name) == 0;

	while (sb->child.pid > 0 && clock_mono_ms() < give_up) {
		if (spawn_wait(&sb->child, clock_mono_ms() + 200, &status) == 0)
			return docker_rm(sb->name) == 0;
		removed = docker_rm(sb->name) == 0;
	}
	return removed;
}

void
sandbox_finish(struct sandbox *sb)
{
	int64_t give_up = clock_mono_ms() + FINISH_MS;
	int status, removed = 1;

	if (sb == NULL)
		return;
	/* The container goes first (killed if it still runs); `docker rm
	 * --force` returns once it is gone. One whose script started exists
	 * already: one removal is enough. */
	if (sb->started)
		removed = sb->warm || sb->script_started ? docker_rm(sb->name) == 0 :
		    remove_while_created(sb, give_up);
	if (!removed)
		log_warnx("container %s could not be removed now; the reaper will", sb->name);
	if (sb->child.pid > 0 && spawn_wait(&sb->child, clock_mono_ms() + 2000, &status) != 0)
		spawn_kill(&sb->child, SIGKILL);
	if (sb->warm) {
		close_fd(&sb->box.in_fd);
		close_fd(&sb->box.out_fd);
		close_fd(&sb->box.err_fd);
		remove_tree(sb->box.dirs.dir);
		close_fd(&sb->box.keeper_fd);	/* "done with it" to the keeper */
	}
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
