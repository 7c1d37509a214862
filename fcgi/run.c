/*
 * run.c: POST /run, the HTTP handler. Reads and checks the form
 * (run_form.c), takes a sandbox slot and a sandbox, runs the script
 * (shared/sandbox: its outcome comes from the sandbox's own records),
 * publishes its images (shared/outputs), logs one row, and answers: JSON,
 * or an event stream as the script prints (Accept: text/event-stream).
 *
 * The answer goes as soon as the script's end is known and its output is
 * in; the container is removed after it (responder.c calls
 * run_after_answer), and the slot is held until the container is gone.
 * Every refusal is the API's JSON error, leaves nothing on disk, and is
 * logged as "rejected".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/json_out.h"
#include "base/log.h"
#include "base/secret.h"
#include "base/text.h"
#include "http.h"
#include "run.h"
#include "handlers.h"
#include "service.h"

/* Writes c->rec to the log. When the log cannot take it (not open, corrupt,
 * locked past the busy timeout) the run goes on: *log_id stays 0, the
 * answer says the attempt was not logged, the host counts it. */
static void
log_row(struct run_ctx *c, int64_t *log_id, int *attempt)
{
	log_reopen_if_due();
	if (svc.db != NULL && logdb_insert(svc.db, &c->rec, log_id, attempt) == 0) {
		c->unlogged = NULL;
		share_log_outcome(svc.share, 1);
		return;
	}
	*log_id = 0;
	c->unlogged = svc.db == NULL ? svc.log_problem : "the log could not take the row";
	share_log_outcome(svc.share, 0);
	log_warnx("%s %s was not logged: %s", c->have_job ? "job" : "a refused request",
	    c->have_job ? c->job.id : "", c->unlogged);
}

/* Logs the refusal and answers it: the API's JSON error (or, once an
 * event stream has begun, its last event). Returns as http_json. */
static int
reject(struct run_ctx *c, const struct refusal *no)
{
	int64_t log_id = 0;
	int attempt = 0, rc = -1;
	cJSON *root;

	/* A refusal belongs to the client's session when it sent a good one. */
	if (c->f[F_SESSION].seen && c->f[F_SESSION].value != NULL &&
	    session_id_valid(c->f[F_SESSION].value, c->f[F_SESSION].len) &&
	    session_id_ours(c->f[F_SESSION].value, c->f[F_SESSION].len))
		memcpy(c->session_id, c->f[F_SESSION].value, c->f[F_SESSION].len + 1);
	run_record_request(c);
	c->rec.job_id = NULL;
	c->rec.status = "rejected";
	c->rec.http_status = no->status;
	c->rec.exit_code = -1;
	c->rec.reject_code = no->code;
	c->rec.reject_message = no->msg;
	log_row(c, &log_id, &attempt);
	if ((root = json_error_body(no->code, no->msg)) == NULL)
		return http_error(c->r, 500, "internal", "the server ran out of memory; try again");
	if (log_id > 0)
		cJSON_AddNumberToObject(root, "log_id", (double)log_id);
	else
		cJSON_AddNullToObject(root, "log_id");
	if (c->unlogged != NULL)
		add_unlogged_warning(root, c->unlogged);
	cJSON_AddStringToObject(root, "session_id", c->session_id);
	if (no->extra != NULL && strncmp(no->extra, "Retry-After: ", 13) == 0)
		cJSON_AddNumberToObject(root, "retry_after", atoi(no->extra + 13));
	if (c->live && (c->live_gone || c->t[T_CHECKED] != 0)) {
		/* The stream began: the refusal is its last event. */
		cJSON_AddNumberToObject(root, "http_status", no->status);
		run_live_event(c, "done", root);
		return 0;
	}
	rc = http_json(c->r, no->status, root, no->extra);
	cJSON_Delete(root);
	return rc;
}

/* Whether the client asked for the event stream. */
static int
wants_events(FCGX_Request *r)
{
	const char *accept = FCGX_GetParam("HTTP_ACCEPT", r->envp);

	return accept != NULL && strstr(accept, "text/event-stream") != NULL;
}

/* Reads the end of the FastCGI stdin, so that the connection is readable
 * afterwards only when the client left (an abort record, or EOF). */
static void
end_of_body(FCGX_Request *r)
{
	struct timeval tv = { 2, 0 };

	(void)setsockopt(r->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)FCGX_GetChar(r->in);
	tv.tv_sec = 10;		/* and a client that stops reading holds nothing forever */
	(void)setsockopt(r->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* The log row of a run that ended, and its id and attempt. */
static void
log_run(struct run_ctx *c, const struct sandbox_result *res, const struct outcome *o,
    int64_t *log_id, int *attempt)
{
	char *out, *err, *so = NULL, *se = NULL, *timings;
	size_t nout = 0, nerr = 0;
	int tout = 0, terr = 0;

	run_record_request(c);
	c->rec.status = o->status;
	c->rec.http_status = 200;
	c->rec.exit_code = res->exit_code;
	c->rec.duration_ms = res->ended_ms - (res->handed_ms ? res->handed_ms : res->asked_ms);
	if (o->has_error) {
		c->rec.error_type = o->type;
		c->rec.error_message = o->message;
		c->rec.error_line = o->line;
		c->rec.traceback = o->traceback;
	}
	/* Sanitised copies: the streams may hold any bytes. */
	out = stream_text(&res->out, &nout, &tout);
	err = stream_text(&res->err, &nerr, &terr);
	if (out != NULL && err != NULL) {
		so = utf8_sanitize(out, nout);
		se = utf8_sanitize(err, nerr);
	}
	c->rec.stdout_text = so;
	c->rec.stderr_text = se;
	c->rec.truncated = tout || terr;
	timings = run_timings(c, res);
	c->rec.timings_json = timings;
	log_row(c, log_id, attempt);
	c->t[T_LOGGED] = clock_mono_ms();
	free(out);
	free(err);
	free(so);
	free(se);
	free(timings);
}

/* Answers a run that ended: JSON, or the stream's last event. */
static int
answer(struct run_ctx *c, const struct sandbox_result *res, const struct outcome *o)
{
	int64_t log_id = 0;
	int attempt = 0, rc;
	cJSON *root;

	run_live_phase(c, "checking");
	log_run(c, res, o, &log_id, &attempt);
	if ((root = run_answer(c, res, o, log_id, attempt)) == NULL)
		return http_error(c->r, 500, "internal", "the server ran out of memory; try again");
	if (c->live) {
		run_live_event(c, "done", root);
		return c->live_gone ? -1 : 0;
	}
	rc = http_json(c->r, 200, root, NULL);
	cJSON_Delete(root);
	return rc;
}

/* Runs the checked job in sandbox sb and answers. */
static int
run_in(struct run_ctx *c, struct sandbox *sb)
{
	struct sandbox_events ev;
	struct sandbox_job sj = { .id = c->job.id, .code_dir = c->job.code_dir,
	    .input_dir = c->job.input_dir, .timeout_ms = cfg.timeout_ms,
	    .cancel_fd = c->cancel_fd, .client_fd = c->live ? c->r->ipcFd : -1, .ev = &ev };
	struct outcome_limits lim = { cfg.timeout_ms, cfg.memory_bytes, cfg.stream_max_bytes,
	    cfg.stream_bytes };
	struct sandbox_result res;
	struct refusal no;
	struct outcome o;
	enum result_status rs = RESULT_MISSING;
	char msg[512] = "";
	int rc;

	if (c->f[F_PARAMS].seen && c->f[F_PARAMS].len > 0) {
		sj.params = c->f[F_PARAMS].value;
		sj.params_len = c->f[F_PARAMS].len;
	}
	run_events(c, &ev);
	c->sandbox_kind = sandbox_kind(sb);
	c->sandbox_id = sandbox_id(sb);
	if (sandbox_run(sb, &sj, &res) < 0) {
		log_warn("sandbox_run");
		run_refusal(&no, 503, "sandbox_unavailable", NULL,
		    "the sandbox could not be started on this server");
		return reject(c, &no);
	}
	c->t[T_PREPARED] = res.handed_ms ? res.handed_ms : res.ended_ms;
	c->t[T_SANDBOX_END] = res.ended_ms;
	if (res.outcome == SANDBOX_UNAVAILABLE || res.outcome == SANDBOX_FAILED) {
		log_warnx("job %s: %s", c->job.id, res.message);
		run_refusal(&no, 503, "sandbox_unavailable", "Retry-After: 30\r\n", "%s", res.message);
		sandbox_result_free(&res);
		return reject(c, &no);
	}
	if (res.outcome == SANDBOX_EXITED && res.exit_code == 0)
		rs = outputs_publish(&c->outs, &res.proto, msg, sizeof(msg));
	if (rs == RESULT_OK)
		housekeeping_published(&c->outs);	/* the byte budget, at once */
	if (rs == RESULT_ERROR)
		log_warnx("job %s: %s", c->job.id, msg);
	c->t[T_RESULT] = clock_mono_ms();
	outcome_make(&o, &res, rs, msg, &lim);
	rc = answer(c, &res, &o);
	sandbox_result_free(&res);
	return rc;
}

/* While a run waits in line for a slot: its place goes to a live stream
 * when it changes; a ping each second keeps the stream alive and finds a
 * client that left; DELETE /api/jobs/<id> (the cancel FIFO) or a closed
 * stream stop it. Returns -1 to stop waiting. */
static int
still_wanted(void *arg, const struct share_place *at)
{
	struct run_ctx *c = arg;
	struct pollfd p[2];
	int n = 0;

	if (c->live && !c->live_gone && at != NULL && at->position != c->place.position) {
		c->place = *at;
		run_live_place(c, at->position, at->waiting, at->expected_ms);
	}
	if (c->live && !c->live_gone && clock_mono_ms() >= c->next_ping) {
		c->next_ping = clock_mono_ms() + 1000;
		if (http_sse_ping(c->r) < 0)
			c->live_gone = 1;
	}
	if (c->live_gone)
		return -1;
	if (c->cancel_fd >= 0)
		p[n++] = (struct pollfd){ .fd = c->cancel_fd, .events = POLLIN };
	if (c->live)
		p[n++] = (struct pollfd){ .fd = c->r->ipcFd, .events = POLLIN | POLLRDHUP };
	return n > 0 && poll(p, (nfds_t)n, 0) > 0 ? -1 : 0;
}

/* A run stopped before it had a slot: answered and logged as cancelled,
 * with no sandbox. */
static int
cancelled_in_queue(struct run_ctx *c)
{
	struct outcome_limits lim = { cfg.timeout_ms, cfg.memory_bytes, cfg.stream_max_bytes,
	    cfg.stream_bytes };
	struct sandbox_result res;
	struct outcome o;
	int rc;

	memset(&res, 0, sizeof(res));
	res.outcome = SANDBOX_CANCELLED;
	res.exit_code = -1;
	res.asked_ms = res.ended_ms = clock_mono_ms();
	if (stream_init(&res.out, 2) < 0 || stream_init(&res.err, 2) < 0) {
		sandbox_result_free(&res);
		return http_error(c->r, 500, "internal", "the server ran out of memory; try again");
	}
	c->sandbox_kind = "none";
	outcome_make(&o, &res, RESULT_MISSING, "", &lim);
	rc = answer(c, &res, &o);
	sandbox_result_free(&res);
	return rc;
}

/* ms as seconds for a person: "2", or "1.5" when not whole. */
static const char *
seconds(int64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%lld", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%.1f", (double)ms / 1000.0);
	return buf;
}

/* 429: the line for a slot could not reach the request in time, at once
 * (expected_ms: when it would have, from how long a slot is held lately)
 * or after its whole wait (0). */
static int
line_too_long(struct run_ctx *c, int64_t expected_ms)
{
	int64_t retry_s = (expected_ms > 0 ? expected_ms : cfg.timeout_ms) / 1000 + 1;
	char extra[64], wait[32], when[32];
	struct refusal no;

	snprintf(extra, sizeof(extra), "Retry-After: %lld\r\n", (long long)retry_s);
	seconds(cfg.slot_wait_ms, wait, sizeof(wait));
	if (expected_ms > 0)
		run_refusal(&no, 429, "busy", extra, "every sandbox is busy and the line is long: "
		    "a slot would come in about %s s, past the %s s a run may wait (%lld "
		    "sandboxes at once); try again in %lld s",
		    seconds(expected_ms, when, sizeof(when)), wait, (long long)cfg.slots,
		    (long long)retry_s);
	else
		run_refusal(&no, 429, "busy", extra, "every sandbox is busy: none came free within "
		    "the %s s a run may wait (%lld at once); try again in %lld s", wait,
		    (long long)cfg.slots, (long long)retry_s);
	return reject(c, &no);
}

/* Takes a slot and a sandbox for the checked job, runs it, answers. */
static int
run_job(struct run_ctx *c, struct after_answer *after)
{
	struct refusal no;
	struct sandbox *sb;
	int64_t expected = 0;
	int slot;

	run_live_begin(c);
	run_live_phase(c, "queued");
	slot = share_slot_wait(svc.share, svc.slots_dir, cfg.slot_wait_ms, still_wanted, c,
	    &expected);
	if (slot == -3)
		return cancelled_in_queue(c);
	if (slot == -2 || slot == -4)
		return line_too_long(c, slot == -4 ? expected : 0);
	if (slot < 0) {
		log_warn("slot_acquire");
		run_refusal(&no, 503, "sandbox_unavailable", NULL,
		    "the service cannot take sandbox slots in %s", svc.slots_dir);
		return reject(c, &no);
	}
	c->t[T_SLOT] = clock_mono_ms();
	if ((sb = sandbox_take(&cfg, svc.broker_socket)) == NULL) {
		share_slot_release(svc.share, slot);
		run_refusal(&no, 503, "sandbox_unavailable", NULL, "the server is out of memory");
		return reject(c, &no);
	}
	/* The container goes after the answer; the slot is held until then. */
	after->sb = sb;
	after->slot = slot;
	return run_in(c, sb);
}

int
run_handle(FCGX_Request *r, struct after_answer *after)
{
	struct run_ctx c;
	struct refusal no;
	int rc;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.image_fd = c.cancel_fd = -1;
	c.ai_lessons = -1;
	c.t[T_START] = clock_mono_ms();
	record_init(&c.rec);
	if (session_id_new(c.session_id) < 0)	/* unless the client sends one of ours */
		snprintf(c.session_id, sizeof(c.session_id), "s%lld", (long long)clock_real_ms());
	if (run_form_read(&c, &no) < 0 || run_form_check(&c, &no) < 0) {
		rc = reject(&c, &no);
		goto out;
	}
	if ((c.live = wants_events(r)))
		end_of_body(r);
	if ((c.cancel_fd = job_cancel_listen(&c.job)) < 0)
		log_warn("job %s: the cancel FIFO", c.job.id);
	if (outputs_init(&c.outs, cfg.outputs_dir, c.job.id) < 0) {
		run_refusal(&no, 503, "sandbox_unavailable", NULL, "IMGSANDBOX_OUTPUTS is too long");
		rc = reject(&c, &no);
		goto out;
	}
	rc = run_job(&c, after);
	outputs_discard(&c.outs);
out:
	if (c.image_fd >= 0)
		close(c.image_fd);
	if (c.cancel_fd >= 0)
		close(c.cancel_fd);
	/* The job folder is removed after the container is gone (a cold one
	 * still has it mounted), or now when there is none. */
	if (c.have_job) {
		unlink(c.job.cancel_path);
		if (after->sb != NULL)
			snprintf(after->job_dir, sizeof(after->job_dir), "%s", c.job.dir);
		else
			remove_tree(c.job.dir);
	}
	multipart_fields_free(c.f, F_COUNT);
	return rc;
}

void
run_after_answer(struct after_answer *after)
{
	if (after->sb != NULL)
		sandbox_finish(after->sb);
	if (after->slot >= 0)
		share_slot_release(svc.share, after->slot);
	if (after->job_dir[0] != '\0')
		remove_tree(after->job_dir);
	after->sb = NULL;
	after->slot = -1;
	after->job_dir[0] = '\0';
}
