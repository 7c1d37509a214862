/*
 * sandbox_watch: reading a run, from the hand-off of its job to its end.
 * The script's streams go through the record protocol (sbproto) to the
 * caller as they come; at the deadline, a cancel, a client gone or a flood
 * of output the broker is asked to kill the sandbox; how it ended comes
 * from the script's END records or, when there are none, from the broker.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "sandbox/sandbox_internal.h"

/* After a kill, how long the streams get to end before we stop reading. */
#define KILL_GRACE_MS 10000
/* ... and how often the kill is asked again meanwhile while the broker has
 * not confirmed it (a container still being made cannot be killed yet). */
#define KILL_RETRY_MS 1000
/* How often the caller hears a tick while the script runs. */
#define TICK_MS 1000
/* How long the broker may take to say how a sandbox ended: its processes'
 * end, then the engine's word on memory (up to 2 s under Docker). */
#define OUTCOME_WAIT_MS 5000
#define OUTCOME_MS (OUTCOME_WAIT_MS + 5000)

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
		log_warnx("sandbox %s: a record was lost (out of memory)", r->sb->box.id);
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

/* Asks the broker to kill the sandbox, as outcome; again each
 * KILL_RETRY_MS until it confirms. */
static void
stop(struct run *r, enum sandbox_outcome as)
{
	int64_t now = clock_mono_ms();

	if (!r->stopping) {
		r->stopping = 1;
		r->stop_as = as;
		r->deadline = now + KILL_GRACE_MS;
	}
	if (now >= r->next_kill && !r->killed && !r->broker_gone) {
		if (sandbox_ask(r->sb, BROKER_KILL, 0) < 0)
			r->broker_gone = 1;
		r->next_kill = now + KILL_RETRY_MS;
	}
}

/* The broker's answer to a KILL: confirmed, the sandbox is dead (what it
 * printed until then is in the pipes, read below without waiting for the
 * streams to end: the answer need not wait for that). */
static void
broker_said(struct run *r)
{
	struct broker_msg m;
	int fds[3];

	switch (broker_recv(r->sb->conn, 0, &m, fds)) {
	case 1:
		if (m.op == BROKER_KILLED && m.value == 1)
			r->killed = 1;
		return;
	case 0:
		r->broker_gone = 1;
		return;
	default:
		if (errno != EAGAIN && errno != EINTR)
			r->broker_gone = 1;
	}
}

/* The time to wait in poll: to the deadline, the next kill or tick. */
static int
wait_ms(const struct run *r)
{
	int64_t now = clock_mono_ms(), until = r->deadline;

	if (r->stopping && !r->killed && r->next_kill < until)
		until = r->next_kill;
	if (!r->stopping && r->next_tick < until)
		until = r->next_tick;
	return until > now ? (int)(until - now) : 0;
}

/* One round of poll over the streams, stdin, the broker, the client and
 * the cancel. */
static void
watch_once(struct run *r)
{
	struct pollfd p[6];
	int n = 0, conn = r->broker_gone ? -1 : r->sb->conn;

	if (r->out >= 0)
		p[n++] = (struct pollfd){ .fd = r->out, .events = POLLIN };
	if (r->err >= 0)
		p[n++] = (struct pollfd){ .fd = r->err, .events = POLLIN };
	if (r->in >= 0)
		p[n++] = (struct pollfd){ .fd = r->in, .events = POLLOUT };
	if (conn >= 0)
		p[n++] = (struct pollfd){ .fd = conn, .events = POLLIN };
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
	if (conn >= 0 && ready_on(p, n, conn))
		broker_said(r);
	if (!r->stopping && r->job->cancel_fd >= 0 && ready_on(p, n, r->job->cancel_fd))
		stop(r, SANDBOX_CANCELLED);
	if (!r->stopping && r->job->client_fd >= 0 && ready_on(p, n, r->job->client_fd))
		stop(r, SANDBOX_CANCELLED);
}

/* Whether the script has printed more than a run may (both streams, all
 * of it, kept or not): a flood holds a core for nothing. */
static int
flooding(const struct run *r)
{
	return r->sb->cfg->stream_max_bytes > 0 &&
	    r->res->out.total + r->res->err.total > (uint64_t)r->sb->cfg->stream_max_bytes;
}

/* One step of the watch's clock: the deadline, a kill to ask again, a
 * tick for the caller. */
static void
watch_clock(struct run *r)
{
	int64_t now = clock_mono_ms();

	if (!r->stopping && now >= r->deadline)
		stop(r, SANDBOX_TIMEOUT);
	else if (!r->stopping && flooding(r))
		stop(r, SANDBOX_FLOOD);
	else if (r->stopping && now >= r->next_kill)
		stop(r, r->stop_as);
	if (!r->stopping && now >= r->next_tick) {
		r->next_tick = now + TICK_MS;
		if (r->ev->tick != NULL && r->ev->tick(r->ev->arg) < 0)
			stop(r, SANDBOX_CANCELLED);
	}
}

/* How the run ended when no END record said so: the broker's word (the
 * exit status of the sandbox's PID 1, and whether the kernel killed it for
 * memory). */
static void
ended_without_record(struct run *r)
{
	struct sandbox_result *res = r->res;
	struct broker_msg m;

	res->outcome = SANDBOX_EXITED;
	if (r->broker_gone || sandbox_ask(r->sb, BROKER_OUTCOME, OUTCOME_WAIT_MS) < 0 ||
	    sandbox_answer(r->sb, BROKER_ENDED, clock_mono_ms() + OUTCOME_MS, &m) != 1) {
		log_warnx("sandbox %s: the broker did not say how it ended", r->sb->box.id);
		return;
	}
	if (m.flags & BROKER_NOT_YET)
		return;
	res->exit_code = m.value;
	if (m.value2 == 1)
		res->outcome = SANDBOX_OOM;
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

void
sandbox_watch(struct run *r)
{
	while (!sbproto_complete(&r->res->proto) && (r->out >= 0 || r->err >= 0)) {
		if (r->killed) {
			drain_now(r);
			break;
		}
		if (r->stopping && clock_mono_ms() >= r->deadline) {
			log_warnx("sandbox %s: its streams did not end after the kill", r->sb->box.id);
			break;
		}
		watch_clock(r);
		watch_once(r);
	}
	r->res->ended_ms = clock_mono_ms();
	conclude(r);
}

int
sandbox_run_init(struct run *r, struct sandbox *sb, const struct sandbox_job *job,
    struct sandbox_result *res)
{
	struct sbproto_sink sink = { r, on_text, on_started, on_file_begin, on_file_data,
	    on_file_end };

	memset(r, 0, sizeof(*r));
	r->sb = sb;
	r->job = job;
	r->ev = job->ev != NULL ? job->ev : &no_events;
	r->res = res;
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
