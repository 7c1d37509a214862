/*
 * prompt: the two messages the assistant sends a model. The system message
 * is the context (the log's AI context, or the sandbox's facts alone) and
 * the task; the user message is what the person asked for, the script as it
 * stands, and for a fix the failed attempt: its outcome, error, traceback
 * and code. Every piece is bounded; code goes in a fence longer than any
 * run of backticks in it.
 */
#ifndef PROMPT_H
#define PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "reports/report_base.h"

#define PROMPT_ERROR_MAX	1024	/* bytes of an error message kept */
#define PROMPT_TRACE_MAX	4096	/* bytes of a traceback kept (its end) */
#define PROMPT_STDERR_MAX	2048	/* bytes of stderr kept (its end), when no traceback */

/* A failed attempt, from the log. Every pointer may be NULL. */
struct prompt_attempt {
	int64_t log_id;
	const char *status;		/* error timeout oom no_output bad_output ... */
	const char *code;
	size_t code_len;
	const char *error_type;
	const char *error_message;
	int error_line;			/* 0: unknown */
	const char *traceback;
	const char *stderr_text;
};

/* The sandbox's facts alone (paths, parameters, limits, the installed
 * libraries from env->packages_file), word for word as ai_context() writes
 * them before its lessons. Returns a malloc'd NUL-terminated text (length
 * in *len) the caller frees, or NULL when memory ran out. */
char *prompt_facts(const struct report_env *env, size_t *len);

/* The system message: context[0..ctx_len) then the task (one complete
 * script for /code/main.py in one ```python block). Returns a malloc'd
 * NUL-terminated text the caller frees, or NULL when memory ran out. */
char *prompt_system(const char *context, size_t ctx_len);

/* The user message: words (may be ""), the script as it stands (code, may
 * be NULL; left out when it is the failed attempt's own), and the failed
 * attempt (may be NULL). Returns a malloc'd NUL-terminated text the caller
 * frees, or NULL when memory ran out. */
char *prompt_user(const char *words, const char *code, size_t code_len,
    const struct prompt_attempt *failed);

/* Writes into out (outlen >= 4) a fence of backticks longer than any run
 * of backticks in s[0..n), at least 3; when it would not fit, the longest
 * that does. Returns out. */
char *prompt_fence(const char *s, size_t n, char *out, size_t outlen);

#endif
