/*
 * sandbox: runs one job in one sandbox and says what happened, as a client
 * of the broker (fcgi/sandboxd), which alone holds the engine's keys: the
 * responder that calls this has no access to the engine at all. Taking a
 * sandbox, handing it the job and finishing it are separate steps:
 *
 *   sandbox_take    a connection to the broker
 *   sandbox_run     asks the broker for a sandbox (a ready one from the
 *                   host's pool, or one started at once: whichever is ready
 *                   first; its start does not count against the run's
 *                   limit), moves the job's files into its folders, hands
 *                   it the job on its stdin, and reads its streams through
 *                   the record protocol (shared/sandbox/sbproto.h) until the
 *                   script's end is known and its output complete, the
 *                   deadline passes, the script floods its streams, or the
 *                   run is cancelled (the broker kills it); the text and the
 *                   phases go to the caller as they come
 *   sandbox_finish  after the answer: the broker removes the sandbox; it
 *                   returns once it is gone, so the caller's slot is held
 *                   until then
 *
 * A sandbox takes one job, always. Knows nothing of HTTP or SQLite.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/capture.h"
#include "base/config.h"
#include "sandbox/sbproto.h"

enum sandbox_outcome {
	SANDBOX_EXITED,		/* the script ended by itself (see exit_code) */
	SANDBOX_TIMEOUT,	/* the wall-clock limit passed; the container was killed */
	SANDBOX_OOM,		/* the engine says the container was OOM-killed */
	SANDBOX_CANCELLED,	/* the client left or asked to stop; the sandbox was killed */
	SANDBOX_FLOOD,		/* it printed more than IMGSANDBOX_STREAM_MAX_BYTES; killed */
	SANDBOX_UNAVAILABLE,	/* the engine or the image is missing (message says which) */
	SANDBOX_FAILED,		/* anything else that kept the job from running */
};

/* What the caller hears while a job runs; any callback may be NULL. */
struct sandbox_events {
	void *arg;
	/* "starting" (waiting for the broker's sandbox), "running" (the
	 * script's own START record came). */
	void (*phase)(void *arg, const char *phase);
	/* The script's text, as it prints it (SBPROTO_STDOUT or _STDERR). */
	void (*text)(void *arg, int stream, const char *buf, size_t n);
	/* About once a second while it runs. Returns -1 to cancel the run
	 * (the client is gone). */
	int (*tick)(void *arg);
	/* The images the script left in /output, after its end (see
	 * sbproto_sink): return -1 to give up on them. */
	int (*file_begin)(void *arg, const struct sbproto_file *f);
	int (*file_data)(void *arg, const char *buf, size_t n);
	int (*file_end)(void *arg, const struct sbproto_file *f);
};

struct sandbox_job {
	const char *id;			/* 32 hex */
	const char *code_dir;		/* host folders, absolute */
	const char *input_dir;
	const char *params;		/* USER_PARAMS, verbatim; NULL: "{}" */
	size_t params_len;
	int64_t timeout_ms;
	int cancel_fd;			/* readable: stop the run (-1: none) */
	int client_fd;			/* readable or hung up: the client left, stop (-1: none) */
	const struct sandbox_events *ev;	/* NULL: none */
};

struct sandbox_result {
	enum sandbox_outcome outcome;
	int exit_code;			/* the script's, 128+n for signal n; -1 if none */
	struct stream_capture out, err;	/* the script's text (records taken out) */
	struct sbproto proto;		/* what its records said: error, times, files */
	int64_t asked_ms;		/* monotonic: the broker was asked for a sandbox */
	int64_t handed_ms;		/* ... the job was handed to it (0: never) */
	int64_t started_ms;		/* ... the script's START record came (0: never) */
	int64_t ended_ms;		/* ... its end was known (or the run stopped) */
	char message[512];		/* for UNAVAILABLE and FAILED: a sentence */
};

struct sandbox;

/* A connection to the broker at broker_socket for one job under the limits
 * of c. Returns NULL only when memory ran out (a broker that does not
 * answer makes sandbox_run say so). */
struct sandbox *sandbox_take(const struct config *c, const char *broker_socket);

/* Asks the broker for a sandbox, hands it job and reads it until its end,
 * the deadline or a cancel (see above). Fills res (free it with
 * sandbox_result_free). Returns 0 when res says what happened (any
 * outcome), -1 on a local failure (no memory). A sandbox takes one job
 * only. */
int sandbox_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res);

/* Lets the sandbox go (the broker removes it) and frees sb. Returns when
 * it is gone, or the broker did not say so within a bounded wait. */
void sandbox_finish(struct sandbox *sb);

/* "docker-warm", "docker-cold", "fork-warm" or "fork-cold"; "none" before
 * the broker handed one. */
const char *sandbox_kind(const struct sandbox *sb);

/* The sandbox's own id (its container is imgsandbox-<id>), "" before the
 * broker handed one: never the job's. */
const char *sandbox_id(const struct sandbox *sb);

void sandbox_result_free(struct sandbox_result *res);

#endif
