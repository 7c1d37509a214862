/*
 * ai_context: GET /api/logs/ai-context, the plain text a model is given
 * before it writes a script: the sandbox's facts (paths, parameters, the
 * limits, the installed libraries) and what the log teaches (the most
 * frequent failures with their advice, the fixes that worked), bounded.
 * Every word of it is ours: the facts, the rule base's advice, error types
 * and names of fixes as the allow-list has them (advice.h); no script's
 * message, pattern, traceback or code.
 */
#ifndef AI_CONTEXT_H
#define AI_CONTEXT_H

#include <stddef.h>

#include "store/logdb.h"
#include "reports/report_base.h"

#define AI_CONTEXT_MAX 8192	/* bytes of the text */

/* Returns a malloc'd NUL-terminated text of at most AI_CONTEXT_MAX bytes
 * (its length in *len) the caller frees, or NULL with *st set. */
char *ai_context(struct logdb *db, const struct report_env *env, size_t *len,
    enum report_status *st);

/* The facts alone (the first part of ai_context, for a prompt made without
 * the log's lessons: IMGSANDBOX_AI_LESSONS=0). Returns a malloc'd
 * NUL-terminated text (its length in *len) the caller frees, or NULL when
 * memory ran out. */
char *ai_context_facts(const struct report_env *env, size_t *len);

#endif
