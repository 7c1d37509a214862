/*
 * outcome: what a run came to, in the API's words: its status (success,
 * error, timeout, oom, no_output, bad_output, cancelled) and, for a
 * failure, the error a person reads (type, message, line in main.py,
 * traceback). Made from the sandbox's result (its records first, checked
 * there) and what publishing the images said. The answer and the log row
 * are both written from it, so they never disagree.
 */
#ifndef OUTCOME_H
#define OUTCOME_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox/outputs.h"
#include "sandbox/sandbox.h"

struct outcome {
	const char *status;		/* a static string */
	int has_error;
	char type[SBPROTO_TYPE_MAX];	/* "NameError", "Timeout", "OutOfMemory", ... */
	const char *message;		/* points into the result or msg below */
	int line;			/* 0: none */
	const char *traceback;		/* NULL: none */
	char msg[512];			/* the service's own sentence, when it wrote one */
};

/* The limits a message quotes. */
struct outcome_limits {
	int64_t timeout_ms, memory_bytes;
	int64_t stream_max_bytes, stream_bytes;
};

/* Fills o from an ended run res (outcome SANDBOX_EXITED, _TIMEOUT, _OOM,
 * _FLOOD or _CANCELLED) and, for a script that exited 0, what outputs_publish said
 * (rs and its msg). o points into res: keep res until o is used. */
void outcome_make(struct outcome *o, const struct sandbox_result *res,
    enum result_status rs, const char *publish_msg, const struct outcome_limits *lim);

#endif
