/*
 * sandbox: runs one job in one sandbox and says what happened. Preparing a
 * sandbox and handing it a job are separate steps, so that a backend can
 * prepare ahead (a warm pool: a container started with Python and the
 * imaging libraries loaded, handed exactly one job) without changing the
 * callers. Two backends: "docker-cold" (prepare builds nothing; run starts
 * the container with the job) and "docker-warm" (a pool starts containers
 * ahead on folders of their own; run moves the job's files in and hands the
 * job over on stdin). Either way a container takes one job and is removed.
 *
 * Knows nothing of HTTP or SQLite.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

enum sandbox_outcome {
	SANDBOX_EXITED,		/* the script ended by itself (see exit_code) */
	SANDBOX_TIMEOUT,	/* the wall-clock limit passed; the container was killed */
	SANDBOX_OOM,		/* the engine says the container was OOM-killed */
	SANDBOX_UNAVAILABLE,	/* the engine or the image is missing (message says which) */
	SANDBOX_FAILED,		/* anything else that kept the job from running */
};

/* What a stream (stdout or stderr) left: its head and its tail, at most
 * cap bytes in all, and how many bytes it had. */
struct stream_capture {
	char *head;		/* first bytes */
	size_t head_len, head_cap;
	char *tail;		/* a ring of the last bytes */
	size_t tail_cap, tail_pos;
	uint64_t total;		/* bytes the stream carried */
};

struct sandbox_job {
	const char *id;			/* 32 hex */
	const char *code_dir;		/* host folders, absolute */
	const char *input_dir;
	const char *output_dir;
	const char *params;		/* USER_PARAMS, verbatim; NULL: "{}" */
	size_t params_len;
	int64_t timeout_ms;
};

struct sandbox_result {
	enum sandbox_outcome outcome;
	int exit_code;			/* the script's, 128+n for signal n; -1 if none */
	struct stream_capture out, err;
	int64_t start_ms, end_ms;	/* monotonic: the engine asked, the run over */
	int64_t start_real_ms, end_real_ms;	/* the same on the real-time clock, which
					 * the sandbox shares (for its own records) */
	char message[512];		/* for UNAVAILABLE and FAILED: a sentence */
};

struct sandbox;

/* Prepares a sandbox for one job under the limits of c; instance labels
 * this service's containers. Returns a sandbox for sandbox_run, or NULL
 * (out of memory). */
struct sandbox *sandbox_prepare(const struct config *c, const char *instance);

/* Hands job to sb and waits for it to end, at most job->timeout_ms, then
 * kills it. Fills res (free it with sandbox_result_free). Returns 0 when
 * res says what happened (any outcome), -1 on a local failure (no memory,
 * no pipes). A sandbox takes one job only. */
int sandbox_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res);

/* Removes whatever is left of sb (the container) and frees it. */
void sandbox_release(struct sandbox *sb);

/* "docker-cold" or "docker-warm". */
const char *sandbox_kind(const struct sandbox *sb);

/* A process's warm sandboxes: c->warm of them, started ahead on folders
 * under root (output/ owned by uid:gid, as for a job), each handed one job.
 * Not thread-safe: one thread uses a pool. NULL when out of memory. */
struct sandbox_pool *sandbox_pool_new(const struct config *c, const char *instance,
    const char *root, uid_t uid, gid_t gid);
/* Releases the sandboxes take() found dead or too old, then starts
 * sandboxes until the pool is full; returns at once (the containers
 * start in the background). After a failed start it waits 5 s before
 * trying again. Returns how many were started. */
int sandbox_pool_fill(struct sandbox_pool *p);
/* A sandbox for one job: the oldest warm one still alive and younger than
 * c->warm_idle_s, else a cold one. NULL when out of memory. */
struct sandbox *sandbox_pool_take(struct sandbox_pool *p);
/* Releases (removes) every warm sandbox the pool holds or has retired. */
void sandbox_pool_drain(struct sandbox_pool *p);

void sandbox_result_free(struct sandbox_result *res);

/* A capture of at most cap bytes (half head, half tail), its tail ring at
 * least min_tail bytes. Returns 0, or -1 when memory ran out. */
int stream_init(struct stream_capture *s, size_t cap, size_t min_tail);
/* Counts n more bytes of the stream and keeps what the head and tail hold. */
void stream_add(struct stream_capture *s, const char *buf, size_t n);
void stream_free(struct stream_capture *s);

/* Returns a malloc'd copy of what the stream kept: everything when it fit,
 * else its head, a line saying how much was left out, and its tail. *len
 * gets the length; *truncated is set when bytes were left out. NULL when
 * memory ran out. */
char *stream_text(const struct stream_capture *s, size_t *len, int *truncated);

/* Kills and removes this instance's containers whose deadline is long past
 * (a responder died mid-run). Returns how many, or -1. */
int sandbox_reap(const char *instance, int64_t grace_s);

/* Checks that runs can start (the engine answers, the image is there).
 * Returns 0, or -1 with a sentence naming the fix in msg. */
int sandbox_check(const struct config *c, char *msg, size_t msglen);



/* Returns a malloc'd copy of the stream's last bytes in order (the whole
 * tail ring, or the head when nothing overflowed it), with *len. NULL when
 * memory ran out. */
char *stream_tail(const struct stream_capture *s, size_t *len);
#endif
