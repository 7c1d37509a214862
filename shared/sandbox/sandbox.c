/*
 * sandbox: one job in one sandbox, as a client of the broker (see
 * sandbox.h). This file takes the sandbox, hands it the job and lets it
 * go; sandbox_watch.c reads the run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "base/log.h"
#include "sandbox/sandbox_internal.h"

/* How often the caller hears a tick while a sandbox is being readied. */
#define TICK_MS 1000
/* Past the start timeout, how long the broker may take to say it has none. */
#define TAKE_SLACK_MS 5000
/* How long letting a sandbox go waits for the broker's word that it is gone
 * (a container's removal under load takes seconds). */
#define FINISH_MS 20000

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- The broker's connection ------------------------------------------- */

struct sandbox *
sandbox_take(const struct config *c, const char *broker_socket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };
	struct sandbox *sb;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return NULL;
	sb->cfg = c;
	sb->in_fd = sb->out_fd = sb->err_fd = -1;
	snprintf(sb->kind, sizeof(sb->kind), "none");
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", broker_socket) >=
	    (int)sizeof(sa.sun_path)) {
		snprintf(sb->problem, sizeof(sb->problem), "the broker's socket path is too long");
		sb->conn = -1;
		return sb;
	}
	if ((sb->conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(sb->conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(sb->conn, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(sb->problem, sizeof(sb->problem), "the sandbox broker does not answer "
		    "(%s: %s); it may be starting or stopped", broker_socket, strerror(errno));
		close_fd(&sb->conn);
	}
	return sb;
}

/* ---- Taking a sandbox --------------------------------------------------- */

/* Whether the run is still wanted while it waits for a sandbox: no cancel,
 * the client still there, the caller's tick not against it. */
static int
still_wanted(const struct sandbox_job *job, int64_t *next_tick)
{
	struct pollfd p[2];
	int n = 0;

	if (job->cancel_fd >= 0)
		p[n++] = (struct pollfd){ .fd = job->cancel_fd, .events = POLLIN };
	if (job->client_fd >= 0)
		p[n++] = (struct pollfd){ .fd = job->client_fd, .events = POLLIN | POLLRDHUP };
	if (n > 0 && poll(p, (nfds_t)n, 0) > 0)
		return 0;
	if (clock_mono_ms() >= *next_tick) {
		*next_tick = clock_mono_ms() + TICK_MS;
		if (job->ev != NULL && job->ev->tick != NULL && job->ev->tick(job->ev->arg) < 0)
			return 0;
	}
	return 1;
}

/* What the broker answered to TAKE, into sb and res. Returns 1 when sb
 * holds a sandbox, 0 when res says why not. */
static int
took(struct sandbox *sb, const struct broker_msg *m, const int fds[3],
    struct sandbox_result *res)
{
	if (m->op == BROKER_NONE) {
		res->outcome = m->value == 1 ? SANDBOX_UNAVAILABLE : SANDBOX_FAILED;
		snprintf(res->message, sizeof(res->message), "%s", m->text);
		return 0;
	}
	sb->box = *m;
	sb->have_box = 1;
	sb->warm = (m->flags & BROKER_WARM) != 0;
	snprintf(sb->kind, sizeof(sb->kind), "%s-%s", m->engine, sb->warm ? "warm" : "cold");
	sb->in_fd = fds[0];
	sb->out_fd = fds[1];
	sb->err_fd = fds[2];
	return 1;
}

/* Asks the broker for a sandbox and waits for it, as long as the run is
 * wanted and the start timeout allows. Returns 1 when sb holds one, 0 when
 * res says why not (cancelled, none), -1 on a local failure. */
static int
ask_for_box(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res)
{
	int64_t until = clock_mono_ms() + sb->cfg->start_timeout_ms + TAKE_SLACK_MS;
	int64_t next_tick = clock_mono_ms() + TICK_MS;
	struct pollfd p = { .fd = sb->conn, .events = POLLIN };
	struct broker_msg m;
	int fds[3], r;

	if (sb->conn < 0 || sandbox_ask(sb, BROKER_TAKE, (int32_t)sb->cfg->start_timeout_ms) < 0) {
		res->outcome = SANDBOX_UNAVAILABLE;
		snprintf(res->message, sizeof(res->message), "%s", sb->problem[0] ? sb->problem :
		    "the sandbox broker does not answer; it may be starting or stopped");
		return 0;
	}
	while (clock_mono_ms() < until) {
		if (!still_wanted(job, &next_tick)) {
			res->outcome = SANDBOX_CANCELLED;	/* the broker drops the ask */
			close_fd(&sb->conn);
			return 0;
		}
		if (poll(&p, 1, 200) <= 0)
			continue;
		if ((r = broker_recv(sb->conn, 0, &m, fds)) == 1 &&
		    (m.op == BROKER_BOX || m.op == BROKER_NONE))
			return took(sb, &m, fds, res);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	res->outcome = SANDBOX_UNAVAILABLE;
	snprintf(res->message, sizeof(res->message), "no sandbox was ready within %lld s; the "
	    "engine may be overloaded or failing", (long long)sb->cfg->start_timeout_ms / 1000);
	return 0;
}

/* ---- Handing it the job -------------------------------------------------- */

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

/* Moves the job's files into the sandbox's folders and readies the job
 * line for its stdin. Returns 0, 1 when res says why it could not, -1 on
 * a local failure. */
static int
hand_off(struct sandbox *sb, const struct sandbox_job *job, struct run *r, char **line)
{
	size_t len = 0;

	if (move_entries(job->code_dir, sb->box.code_dir) < 0 ||
	    move_entries(job->input_dir, sb->box.input_dir) < 0) {
		log_warn("moving job %s into sandbox %s", job->id, sb->box.id);
		snprintf(r->res->message, sizeof(r->res->message), "the job's files could not be "
		    "handed to the sandbox: %s", strerror(errno));
		r->res->outcome = SANDBOX_FAILED;
		return 1;
	}
	if ((*line = job_line(job, &len)) == NULL)
		return -1;
	r->in = sb->in_fd;
	r->out = sb->out_fd;
	r->err = sb->err_fd;
	sb->in_fd = sb->out_fd = sb->err_fd = -1;	/* the run's now */
	r->in_buf = *line;
	r->in_len = len;
	r->res->handed_ms = clock_mono_ms();
	return 0;
}

/* ---- The interface ------------------------------------------------------ */

const char *
sandbox_kind(const struct sandbox *sb)
{
	return sb->kind;
}

const char *
sandbox_id(const struct sandbox *sb)
{
	return sb->box.id;
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
	if (sandbox_run_init(&r, sb, job, res) < 0)
		return -1;
	if (r.ev->phase != NULL)
		r.ev->phase(r.ev->arg, "starting");
	res->asked_ms = clock_mono_ms();
	rc = ask_for_box(sb, job, res) == 1 ? hand_off(sb, job, &r, &line) : 1;
	if (rc != 0) {
		free(line);
		if (rc < 0)
			sandbox_result_free(res);
		res->ended_ms = clock_mono_ms();
		return rc < 0 ? -1 : 0;
	}
	/* The limit is the script's: from the hand-off, never the start. */
	r.deadline = res->handed_ms + job->timeout_ms;
	r.next_tick = res->handed_ms + TICK_MS;
	sandbox_watch(&r);
	close_fd(&r.out);
	close_fd(&r.err);
	close_fd(&r.in);
	free(line);
	return 0;
}

void
sandbox_finish(struct sandbox *sb)
{
	struct broker_msg m;

	if (sb == NULL)
		return;
	close_fd(&sb->in_fd);
	close_fd(&sb->out_fd);
	close_fd(&sb->err_fd);
	if (sb->have_box && sb->conn >= 0 && sandbox_ask(sb, BROKER_DONE, 0) == 0 &&
	    sandbox_answer(sb, BROKER_GONE, clock_mono_ms() + FINISH_MS, &m) != 1)
		log_warnx("sandbox %s: the broker did not say it was removed; its reaper will",
		    sb->box.id);
	close_fd(&sb->conn);
	free(sb);
}
