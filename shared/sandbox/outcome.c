#include <stdio.h>
#include <string.h>

#include "sandbox/outcome.h"
#include "base/text.h"

static void
fail(struct outcome *o, const char *status, const char *type)
{
	o->status = status;
	o->has_error = 1;
	snprintf(o->type, sizeof(o->type), "%s", type);
	o->message = o->msg;
}

/* A script that exited non-zero: its ERROR record when it wrote one, else
 * the status in words. */
static void
script_failed(struct outcome *o, const struct sandbox_result *res)
{
	const struct sbproto *p = &res->proto;

	if (p->has_error) {
		fail(o, "error", p->error_type);
		o->message = p->error_message != NULL ? p->error_message : "";
		o->line = p->error_line;
		o->traceback = p->error_traceback;
		return;
	}
	if (res->exit_code >= 128) {
		fail(o, "error", "Killed");
		snprintf(o->msg, sizeof(o->msg), "the script was killed by signal %d%s",
		    res->exit_code - 128, res->exit_code == 137 ? " (SIGKILL)" : "");
	} else {
		fail(o, "error", "SystemExit");
		snprintf(o->msg, sizeof(o->msg), "the script exited with status %d",
		    res->exit_code);
	}
}

void
outcome_make(struct outcome *o, const struct sandbox_result *res, enum result_status rs,
    const char *publish_msg, const struct outcome_limits *lim)
{
	char size[32], size2[32];

	memset(o, 0, sizeof(*o));
	switch (res->outcome) {
	case SANDBOX_TIMEOUT:
		fail(o, "timeout", "Timeout");
		snprintf(o->msg, sizeof(o->msg), "the script ran longer than the limit of %.1f s "
		    "and was stopped", lim->timeout_ms / 1000.0);
		return;
	case SANDBOX_OOM:
		fail(o, "oom", "OutOfMemory");
		snprintf(o->msg, sizeof(o->msg), "the script used more than the memory limit of "
		    "%s and was stopped", size_words(size, sizeof(size), lim->memory_bytes));
		return;
	case SANDBOX_FLOOD:
		fail(o, "output_limit", "OutputLimit");
		snprintf(o->msg, sizeof(o->msg), "the script printed more than %s and was stopped "
		    "(only the first and last %s of each stream are kept anyway)",
		    size_words(size, sizeof(size), lim->stream_max_bytes),
		    size_words(size2, sizeof(size2), lim->stream_bytes / 2));
		return;
	case SANDBOX_CANCELLED:
		fail(o, "cancelled", "Cancelled");
		snprintf(o->msg, sizeof(o->msg), "the run was stopped before the script ended");
		return;
	default:
		break;
	}
	if (res->exit_code != 0) {
		script_failed(o, res);
		return;
	}
	switch (rs) {
	case RESULT_OK:
		o->status = "success";
		return;
	case RESULT_MISSING:
		fail(o, "no_output", "NoOutput");
		snprintf(o->msg, sizeof(o->msg), "the script finished without saving "
		    "/output/result.png");
		return;
	default:
		fail(o, "bad_output", "BadOutput");
		snprintf(o->msg, sizeof(o->msg), "%s", publish_msg);
		return;
	}
}
