/*
 * run.h: what the parts of POST /run share (run.c the flow, run_form.c
 * the form and its checks, run_answer.c the answer, the live events and
 * the log row). Not a library interface: these are one endpoint's rooms.
 */
#ifndef RUN_H
#define RUN_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <fcgiapp.h>

#include "facts/image_check.h"
#include "sandbox/jobs.h"
#include "store/logdb.h"
#include "facts/multipart.h"
#include "sandbox/outcome.h"
#include "sandbox/outputs.h"
#include "sandbox/sandbox.h"
#include "sandbox/share.h"

/* The fields of the form, in the order of run_form.c's table. */
enum { F_CODE, F_IMAGE, F_USE_SAMPLE, F_PARAMS, F_SESSION, F_PREVIOUS, F_PROMPT,
	F_MODEL, F_LESSONS, F_TOKEN, F_COUNT };

/* Timestamps of one request, ms of the monotonic clock; each timing of
 * the answer is the time from the step before (run_answer.c names them). */
enum { T_START, T_JOB, T_PARSED, T_CHECKED, T_SLOT, T_PREPARED, T_SANDBOX_END, T_RESULT,
	T_LOGGED, T_COUNT };

/* A refusal: the API's status, code, extra header lines and a sentence. */
struct refusal {
	int status;
	const char *code;
	const char *extra;	/* NULL, or header lines each ending "\r\n" */
	char msg[512];
};

/* What was sent live of one stream: bytes, and an incomplete UTF-8
 * sequence held back for the next piece. */
struct live_stream {
	uint64_t sent;
	char carry[4];
	size_t ncarry;
};

struct run_ctx {
	FCGX_Request *r;
	struct mp_field f[F_COUNT];
	struct job job;
	int have_job;
	int image_fd;
	int use_sample;
	int have_image;
	struct image_info img;
	char session_id[65];
	long long previous;
	int ai_lessons;		/* the assistant's prompt held the log's lessons: 1, 0; -1 unknown */
	int64_t t[T_COUNT];
	int live;		/* Accept: text/event-stream */
	int live_gone;		/* the event stream could not be written */
	int64_t next_ping;	/* while it waits for a slot */
	struct live_stream live_out, live_err;
	int cancel_fd;		/* the job's cancel FIFO */
	struct outputs outs;
	struct run_record rec;
	struct share_place place;	/* in line for a slot, as last said to a live stream */
	const char *sandbox_kind;
	const char *sandbox_id;		/* "" or NULL: none */
	const char *unlogged;	/* why the log did not take the row (NULL: it did) */
	int ai_unproven;	/* ai_model and ai_lessons came without their token: not kept */
	const char *notes[2];	/* what the answer says of what was sent and not kept */
	int nnotes;
};

/* run_form.c: reads the form (streaming, bounded, against a deadline) into
 * c, making the job folder, and checks every field. Each returns 0, or -1
 * with the refusal in no. */
int run_form_read(struct run_ctx *c, struct refusal *no);
int run_form_check(struct run_ctx *c, struct refusal *no);
void run_refusal(struct refusal *no, int status, const char *code, const char *extra,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Fills the request part of c->rec from what was read so far. */
void run_record_request(struct run_ctx *c);

/* run_answer.c: the answer of a run that ended (outcome o). Returns a new
 * document, or NULL when memory ran out. */
cJSON *run_answer(const struct run_ctx *c, const struct sandbox_result *res,
    const struct outcome *o, int64_t log_id, int attempt);
/* The timings of c as JSON text (malloc'd), or NULL. */
char *run_timings(const struct run_ctx *c, const struct sandbox_result *res);
/* The live events (Accept: text/event-stream). */
void run_live_begin(struct run_ctx *c);
void run_live_event(struct run_ctx *c, const char *event, cJSON *data);
void run_live_phase(struct run_ctx *c, const char *phase);

/* A "phase" event "queued" with the run's place in line for a slot: its
 * position (1: next), how many wait, and when a slot would come to it. */
void run_live_place(struct run_ctx *c, int position, int waiting, int64_t expected_ms);
/* Adds "warning": the attempt was not logged, and why (run.c). */
void add_unlogged_warning(cJSON *root, const char *why);
/* The sandbox_events of a run: text, phases, ticks to c's event stream;
 * files to c->outs. */
void run_events(struct run_ctx *c, struct sandbox_events *ev);

#endif
