/*
 * run_answer.c: what a client hears of a run: the answer object (the same
 * for a plain POST /run and for the live stream's last event), its
 * timings, and the live events (Accept: text/event-stream) as the script
 * prints: job, phase, stdout, stderr, done.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/json_out.h"
#include "base/text.h"
#include "http.h"
#include "run.h"
#include "service.h"

/* The name of each step's time (from the step before it): job (the job
 * folder made), parse (the form read, the image written), checks (fields,
 * image, code written), slot_wait, prepare (a sandbox taken: warm from the
 * pool, or cold), sandbox (from asking for it to the script's end known),
 * result (the images checked and published). */
/* "warning": the attempt was not logged, and why. */
void
add_unlogged_warning(cJSON *root, const char *why)
{
	char msg[700];

	snprintf(msg, sizeof(msg), "this attempt was not logged (%s); it ran all the same", why);
	json_add_str_or_null(root, "warning", msg);
}

static const char *const timing_names[T_COUNT] = {
	NULL, "job_ms", "parse_ms", "checks_ms", "slot_wait_ms", "prepare_ms",
	"sandbox_ms", "result_ms", "log_ms",
};

char *
run_timings(const struct run_ctx *c, const struct sandbox_result *res)
{
	cJSON *o = cJSON_CreateObject();
	const struct sbproto *p = &res->proto;
	char *s;
	int i;

	if (o == NULL)
		return NULL;
	/* The sandbox's time split: from the hand-off of the job until the
	 * script's START record (container_start_ms, its old name), then the
	 * script by its own END record's clock when that is sane, else as we
	 * saw it. */
	if (res->started_ms > 0) {
		cJSON_AddNumberToObject(o, "container_start_ms",
		    (double)(res->started_ms - res->handed_ms));
		if (p->ended && p->end_end >= p->end_start &&
		    (p->end_end - p->end_start) * 1000.0 <= (double)(res->ended_ms - res->started_ms))
			cJSON_AddNumberToObject(o, "script_ms",
			    (double)(int64_t)((p->end_end - p->end_start) * 1000.0));
		else
			cJSON_AddNumberToObject(o, "script_ms",
			    (double)(res->ended_ms - res->started_ms));
	}
	for (i = 1; i < T_COUNT; i++) {
		if (c->t[i] == 0 || c->t[i - 1] == 0)
			continue;
		cJSON_AddNumberToObject(o, timing_names[i], (double)(c->t[i] - c->t[i - 1]));
	}
	if (c->t[T_LOGGED] != 0)
		cJSON_AddNumberToObject(o, "total_ms", (double)(c->t[T_LOGGED] - c->t[T_START]));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static cJSON *
error_json(const struct outcome *o)
{
	cJSON *e = cJSON_CreateObject();

	if (e == NULL)
		return NULL;
	json_add_str_or_null(e, "type", o->type);
	json_add_str_or_null(e, "message", o->message);
	if (o->line > 0)
		cJSON_AddNumberToObject(e, "line", o->line);
	else
		cJSON_AddNullToObject(e, "line");
	json_add_str_or_null(e, "traceback", o->traceback);
	return e;
}

/* "outputs": the published images, result.png first; "outputs_refused":
 * those that did not pass, with why. */
static void
add_outputs(cJSON *root, const struct run_ctx *c)
{
	cJSON *pub = cJSON_AddArrayToObject(root, "outputs"), *refused = NULL, *o;
	const struct output_file *f;
	char url[256];
	int i;

	for (i = 0; i < c->outs.n && pub != NULL; i++) {
		f = &c->outs.files[i];
		if (!f->published) {
			if (refused == NULL)
				refused = cJSON_AddArrayToObject(root, "outputs_refused");
			if (refused != NULL && (o = cJSON_CreateObject()) != NULL) {
				cJSON_AddStringToObject(o, "name", f->name);
				cJSON_AddStringToObject(o, "reason", f->why);
				cJSON_AddItemToArray(refused, o);
			}
			continue;
		}
		if ((o = cJSON_CreateObject()) == NULL)
			continue;
		snprintf(url, sizeof(url), "%s/outputs/%s/%s", cfg.url_prefix, c->job.id, f->name);
		cJSON_AddStringToObject(o, "name", f->name);
		cJSON_AddStringToObject(o, "url", url);
		cJSON_AddStringToObject(o, "type", f->type);
		cJSON_AddNumberToObject(o, "width", f->width);
		cJSON_AddNumberToObject(o, "height", f->height);
		cJSON_AddNumberToObject(o, "bytes", (double)f->bytes);
		cJSON_AddItemToArray(pub, o);
	}
}

/* "url" and "output" (the result's facts) of a success; null otherwise. */
static void
add_result(cJSON *root, const struct run_ctx *c, const struct outcome *o)
{
	const struct output_file *f = &c->outs.files[0];
	cJSON *out;
	char url[256];

	if (strcmp(o->status, "success") != 0 || c->outs.n == 0 ||
	    strcmp(f->name, "result.png") != 0) {
		cJSON_AddNullToObject(root, "url");
		return;
	}
	snprintf(url, sizeof(url), "%s/outputs/%s/result.png", cfg.url_prefix, c->job.id);
	cJSON_AddStringToObject(root, "url", url);
	if ((out = cJSON_AddObjectToObject(root, "output")) != NULL) {
		cJSON_AddNumberToObject(out, "width", f->width);
		cJSON_AddNumberToObject(out, "height", f->height);
		cJSON_AddNumberToObject(out, "bytes", (double)f->bytes);
	}
}

static void
add_input(cJSON *root, const struct run_ctx *c)
{
	cJSON *in;

	if (!c->have_image || (in = cJSON_AddObjectToObject(root, "input")) == NULL)
		return;
	cJSON_AddStringToObject(in, "type", c->img.mime);
	cJSON_AddNumberToObject(in, "width", c->img.width);
	cJSON_AddNumberToObject(in, "height", c->img.height);
	cJSON_AddNumberToObject(in, "bytes", (double)c->img.bytes);
	cJSON_AddBoolToObject(in, "sample", c->use_sample);
}

/* "stdout", "stderr", "truncated" from what the sandbox kept. */
static void
add_streams(cJSON *root, const struct sandbox_result *res)
{
	char *out, *err;
	size_t nout = 0, nerr = 0;
	int tout = 0, terr = 0;

	out = stream_text(&res->out, &nout, &tout);
	err = stream_text(&res->err, &nerr, &terr);
	json_add_text(root, "stdout", out ? out : "", nout);
	json_add_text(root, "stderr", err ? err : "", nerr);
	cJSON_AddBoolToObject(root, "truncated", tout || terr);
	free(out);
	free(err);
}

/* "notes": what was sent and not kept (a session_id this service did not
 * issue, ai_model without its token), when there is any. */
static void
add_notes(cJSON *root, const struct run_ctx *c)
{
	cJSON *a;
	int i;

	if (c->nnotes == 0 || (a = cJSON_AddArrayToObject(root, "notes")) == NULL)
		return;
	for (i = 0; i < c->nnotes; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(c->notes[i]));
}

cJSON *
run_answer(const struct run_ctx *c, const struct sandbox_result *res, const struct outcome *o,
    int64_t log_id, int attempt)
{
	cJSON *root = cJSON_CreateObject();
	char *timings;

	if (root == NULL)
		return NULL;
	cJSON_AddStringToObject(root, "job_id", c->job.id);
	if (log_id > 0)
		cJSON_AddNumberToObject(root, "log_id", (double)log_id);
	else
		cJSON_AddNullToObject(root, "log_id");
	cJSON_AddStringToObject(root, "session_id", c->session_id);
	cJSON_AddNumberToObject(root, "attempt", attempt);
	cJSON_AddStringToObject(root, "status", o->status);
	cJSON_AddNumberToObject(root, "exit_code", res->exit_code);
	cJSON_AddNumberToObject(root, "duration_ms",
	    (double)(res->ended_ms - (res->handed_ms ? res->handed_ms : res->asked_ms)));
	add_result(root, c, o);
	add_outputs(root, c);
	if (res->proto.skipped > 0)	/* images past the 8 the API allows */
		cJSON_AddNumberToObject(root, "outputs_skipped", res->proto.skipped);
	add_streams(root, res);
	if (o->has_error)
		cJSON_AddItemToObject(root, "error", error_json(o));
	else
		cJSON_AddNullToObject(root, "error");
	add_input(root, c);
	if ((timings = run_timings(c, res)) != NULL)
		cJSON_AddRawToObject(root, "timings", timings);
	free(timings);
	cJSON_AddStringToObject(root, "sandbox", c->sandbox_kind ? c->sandbox_kind : "none");
	json_add_str_or_null(root, "sandbox_id",
	    c->sandbox_id != NULL && c->sandbox_id[0] != '\0' ? c->sandbox_id : NULL);
	if (c->unlogged != NULL)
		add_unlogged_warning(root, c->unlogged);
	add_notes(root, c);
	return root;
}

/* ---- Live events ---------------------------------------------------------- */

void
run_live_begin(struct run_ctx *c)
{
	cJSON *job;

	if (!c->live)
		return;
	if (http_sse_begin(c->r) < 0) {
		c->live_gone = 1;
		return;
	}
	if ((job = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(job, "job_id", c->job.id);
		cJSON_AddStringToObject(job, "session_id", c->session_id);
	}
	run_live_event(c, "job", job);
}

/* Sends event with data (deleted here). */
void
run_live_event(struct run_ctx *c, const char *event, cJSON *data)
{
	if (c->live && !c->live_gone && data != NULL && http_sse_event(c->r, event, data) < 0)
		c->live_gone = 1;
	cJSON_Delete(data);
}

void
run_live_place(struct run_ctx *c, int position, int waiting, int64_t expected_ms)
{
	cJSON *d;

	if (!c->live || (d = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(d, "phase", "queued");
	cJSON_AddNumberToObject(d, "position", position);
	cJSON_AddNumberToObject(d, "waiting", waiting);
	cJSON_AddNumberToObject(d, "expected_ms", (double)expected_ms);
	run_live_event(c, "phase", d);
}

void
run_live_phase(struct run_ctx *c, const char *phase)
{
	cJSON *d;

	if (!c->live || (d = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(d, "phase", phase);
	run_live_event(c, "phase", d);
}

/* Sends buf[0..n) of a stream as one event, holding back a UTF-8 sequence
 * cut at its end; at most the stream's cap is sent live (the answer has
 * the rest: head and tail). */
static void
live_text(struct run_ctx *c, int stream, const char *buf, size_t n)
{
	struct live_stream *ls = stream == SBPROTO_STDOUT ? &c->live_out : &c->live_err;
	char piece[65536 + 4];
	size_t len = 0, keep = 0, k;
	cJSON *d;

	if (!c->live || c->live_gone || ls->sent >= (uint64_t)cfg.stream_bytes)
		return;
	if (n > 65536)
		n = 65536;
	memcpy(piece, ls->carry, ls->ncarry);
	memcpy(piece + ls->ncarry, buf, n);
	len = ls->ncarry + n;
	/* A lead byte in the last three whose sequence is not complete. */
	for (k = 1; k <= 3 && k <= len; k++) {
		unsigned char b = (unsigned char)piece[len - k];
		if ((b & 0xC0) == 0x80)
			continue;
		if (b >= 0xC0 && utf8_seq_len((unsigned char *)piece + len - k, k) == 0 &&
		    k < (b >= 0xF0 ? 4u : b >= 0xE0 ? 3u : 2u))
			keep = k;
		break;
	}
	memcpy(ls->carry, piece + len - keep, keep);
	ls->ncarry = keep;
	len -= keep;
	if (len == 0 || (d = cJSON_CreateObject()) == NULL)
		return;
	json_add_text(d, "text", piece, len);
	ls->sent += len;
	run_live_event(c, stream == SBPROTO_STDOUT ? "stdout" : "stderr", d);
}

static void
ev_phase(void *arg, const char *phase)
{
	run_live_phase(arg, phase);
}

static void
ev_text(void *arg, int stream, const char *buf, size_t n)
{
	live_text(arg, stream, buf, n);
}

/* Once a second: a comment keeps the stream alive through every server
 * and finds a client that left (the write fails). */
static int
ev_tick(void *arg)
{
	struct run_ctx *c = arg;

	if (c->live && !c->live_gone && http_sse_ping(c->r) < 0)
		c->live_gone = 1;
	return c->live && c->live_gone ? -1 : 0;
}

static int
ev_file_begin(void *arg, const struct sbproto_file *f)
{
	return outputs_file_begin(&((struct run_ctx *)arg)->outs, f);
}

static int
ev_file_data(void *arg, const char *buf, size_t n)
{
	return outputs_file_data(&((struct run_ctx *)arg)->outs, buf, n);
}

static int
ev_file_end(void *arg, const struct sbproto_file *f)
{
	return outputs_file_end(&((struct run_ctx *)arg)->outs, f);
}

void
run_events(struct run_ctx *c, struct sandbox_events *ev)
{
	*ev = (struct sandbox_events){ c, ev_phase, ev_text, ev_tick, ev_file_begin,
	    ev_file_data, ev_file_end };
}
