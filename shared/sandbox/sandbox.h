/*
 * sandbox: runs one job in one sandbox and says what happened. Taking a
 * sandbox, handing it the job and finishing it are separate steps:
 *
 *   sandbox_take    a warm sandbox from the host's pool (shared/sandbox/warm.h),
 *                   or a cold one (its container starts with the job)
 *   sandbox_run     hands it the job and reads its streams through the
 *                   record protocol (shared/sandbox/sbproto.h) until the script's
 *                   end is known and its output complete, the deadline
 *                   passes (the container is killed), or the run is
 *                   cancelled; the text and the phases go to the caller as
 *                   they come
 *   sandbox_finish  after the answer: the container is removed and its
 *                   client reaped; it returns once the container is gone,
 *                   so the caller's slot is held until then
 *
 * Either way a container takes one job. Knows nothing of HTTP or SQLite.
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
	SANDBOX_CANCELLED,	/* the client left or asked to stop; the container was killed */
	SANDBOX_UNAVAILABLE,	/* the engine or the image is missing (message says which) */
	SANDBOX_FAILED,		/* anything else that kept the job from running */
};

/* What the caller hears while a job runs; any callback may be NULL. */
struct sandbox_events {
	void *arg;
	/* "starting" (the container or the hand-off), "running" (the
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
	int64_t asked_ms;		/* monotonic: the container or the hand-off asked */
	int64_t started_ms;		/* ... the script's START record came (0: never) */
	int64_t ended_ms;		/* ... its end was known (or the run stopped) */
	char message[512];		/* for UNAVAILABLE and FAILED: a sentence */
};

struct sandbox;

/* A sandbox for one job under the limits of c, labelled for instance: a
 * warm one from the keeper at pool_socket (NULL or none ready: a cold one).
 * Returns NULL only when memory ran out. */
struct sandbox *sandbox_take(const struct config *c, const char *instance,
    const char *pool_socket);

/* Hands job to sb and reads it until its end, the deadline or a cancel
 * (see above). Fills res (free it with sandbox_result_free). Returns 0
 * when res says what happened (any outcome), -1 on a local failure (no
 * memory, no pipes). A sandbox takes one job only. */
int sandbox_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res);

/* Removes whatever is left of sb (the container, its client, a warm one's
 * folders) and frees it. Returns when the container is gone (or the engine
 * could not be asked, after a bounded wait: the reaper removes it later). */
void sandbox_finish(struct sandbox *sb);

/* "docker-cold" or "docker-warm". */
const char *sandbox_kind(const struct sandbox *sb);

void sandbox_result_free(struct sandbox_result *res);

/* Kills and removes this instance's containers whose deadline is long past
 * (a responder died mid-run). Returns how many, or -1. */
int sandbox_reap(const char *instance, int64_t grace_s);

/* Checks that runs can start (the engine answers, the image is there).
 * Returns 0, or -1 with a sentence naming the fix in msg. */
int sandbox_check(const struct config *c, char *msg, size_t msglen);

#endif
