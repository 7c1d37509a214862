/*
 * report_table: the one table of the execution log's reports (see
 * report_table.h), the lookups the API and the tool make in it, and the
 * query values, read and checked once for both.
 */
#include <stdio.h>
#include <string.h>

#include "reports/advice.h"
#include "reports/ai_context.h"
#include "reports/report_rows.h"
#include "reports/report_table.h"
#include "reports/reports.h"
#include "base/text.h"

/* ---- How each row makes its report ------------------------------------------------
 * Each returns a new document the caller frees with cJSON_Delete(), or NULL
 * with *st set: the report named, with the values of q it takes. */

/* The summary. */
static cJSON *
make_summary(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_summary(db, st);
}

/* The analysis, limit long lists. */
static cJSON *
make_analysis(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_analysis(db, env, q->limit, st);
}

/* The error patterns. */
static cJSON *
make_errors(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_error_patterns(db, q->limit, st);
}

/* The recommendations and lessons. */
static cJSON *
make_recommendations(struct logdb *db, const struct report_env *env,
    const struct report_query *q, enum report_status *st)
{
	return advice_recommendations(db, env, q->limit, st);
}

/* The figures per AI model. */
static cJSON *
make_models(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_models(db, q->limit, st);
}

/* The page of unfixed failures. */
static cJSON *
make_unfixed(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_page(db, LOGDB_UNFIXED, q->before, q->limit, st);
}

/* The page of failures, or of unfixed ones (unfixed_only). */
static cJSON *
make_failures(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_page(db, q->unfixed_only ? LOGDB_UNFIXED : LOGDB_FAILURES, q->before,
	    q->limit, st);
}

/* The page of successes. */
static cJSON *
make_successes(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_page(db, LOGDB_SUCCESSES, q->before, q->limit, st);
}

/* One session. */
static cJSON *
make_session(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_session(db, q->session_id, q->after, st);
}

/* One whole attempt. */
static cJSON *
make_log(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_log(db, q->log_id, st);
}

/* The tool's "all". */
static cJSON *
make_all(struct logdb *db, const struct report_env *env, const struct report_query *q,
    enum report_status *st)
{
	return report_all(db, env, q->limit, q->before, st);
}

/* ---- The table ---------------------------------------------------------------------- */

const struct report report_table[REPORT_COUNT] = {
	{ REPORT_SUMMARY, "summary", "summary", "summary",
	  "totals, outcomes, fixes, durations", "summary",
	  0, RA_NONE, "summary", make_summary, NULL, NULL },
	{ REPORT_ANALYSIS, "analysis", NULL, NULL, NULL, NULL,
	  RQ_LIMIT, RA_NONE, "analysis", make_analysis, NULL, NULL },
	{ REPORT_ERRORS, "error-patterns", "errors", "errors",
	  "error categories and patterns", "error-patterns",
	  RQ_LIMIT, RA_NONE, "error patterns", make_errors, NULL, NULL },
	{ REPORT_RECOMMENDATIONS, "recommendations", "recommendations", "recommendations",
	  "advice for script generation, lessons", "recommendations",
	  RQ_LIMIT, RA_NONE, "recommendations", make_recommendations, NULL, NULL },
	{ REPORT_MODELS, "models", "models", "models",
	  "per AI model: first tries, attempts", "models",
	  RQ_LIMIT, RA_NONE, "models", make_models, NULL, NULL },
	{ REPORT_UNFIXED, NULL, "unfixed", "unfixed",
	  "failures no later attempt fixed", "failures?unfixed_only=true",
	  RQ_LIMIT | RQ_BEFORE, RA_NONE, "page", make_unfixed, NULL, NULL },
	{ REPORT_FAILURES, "failures", "failures", "failures",
	  "recent failures", "failures",
	  RQ_LIMIT | RQ_BEFORE | RQ_UNFIXED, RA_NONE, "page", make_failures, NULL, NULL },
	{ REPORT_SUCCESSES, "successes", NULL, NULL, NULL, NULL,
	  RQ_LIMIT | RQ_BEFORE, RA_NONE, "page", make_successes, NULL, NULL },
	{ REPORT_SESSION, "session/", "session", "session ID",
	  "a session's attempts, changes and fixes", "session/ID",
	  RQ_AFTER, RA_SESSION, "session", make_session, NULL, NULL },
	{ REPORT_LOG, "log/", "log", "log ID",
	  "one attempt, whole", "log/ID",
	  0, RA_LOG, "log", make_log, NULL, NULL },
	{ REPORT_CONTEXT, "ai-context", "context", "context",
	  "the plain-text context for an AI prompt", "ai-context",
	  0, RA_NONE, "context", NULL, ai_context, NULL },
	{ REPORT_EXPORT, NULL, "export", "export [FILE]",
	  "every row as JSON lines (--array: one JSON array) to FILE or stdout", NULL,
	  0, RA_FILE, "export", NULL, NULL, report_export },
	{ REPORT_ALL, NULL, "all", "all",
	  "summary, errors, recommendations, unfixed\n"
	  "(--json: {\"analysis\": <analysis>, \"unfixed\": <unfixed page>})", NULL,
	  RQ_LIMIT | RQ_BEFORE, RA_NONE, "analysis", make_all, NULL, NULL },
};

const struct report *
report_by_api(const char *rest, const char **arg)
{
	const struct report *r;
	size_t i, n;

	for (i = 0; i < REPORT_COUNT; i++) {
		r = &report_table[i];
		if (r->api == NULL)
			continue;
		n = strlen(r->api);
		if (r->api[n - 1] == '/' ? strncmp(rest, r->api, n) == 0 :
		    strcmp(rest, r->api) == 0) {
			*arg = rest + n;
			return r;
		}
	}
	return NULL;
}

const struct report *
report_by_command(const char *name)
{
	size_t i;

	for (i = 0; i < REPORT_COUNT; i++)
		if (report_table[i].command != NULL && strcmp(report_table[i].command, name) == 0)
			return &report_table[i];
	return NULL;
}

char *
report_api_list(char *out, size_t outlen)
{
	size_t i, n = 0;
	int k;

	if (outlen == 0)
		return out;
	out[0] = '\0';
	for (i = 0; i < REPORT_COUNT; i++) {
		if (report_table[i].api == NULL)
			continue;
		k = snprintf(out + n, outlen - n, "%s%s%s", n > 0 ? ", " : "", report_table[i].api,
		    report_table[i].arg != RA_NONE ? "<id>" : "");
		if (k < 0 || (size_t)k >= outlen - n)
			break;
		n += (size_t)k;
	}
	return out;
}

/* ---- Query values ------------------------------------------------------------------- */

void
report_query_init(struct report_query *q)
{
	memset(q, 0, sizeof(*q));
	q->limit = REPORT_LIMIT_DEFAULT;
}

const char *
report_query_name(int which)
{
	switch (which) {
	case RQ_LIMIT:
		return "limit";
	case RQ_BEFORE:
		return "before";
	case RQ_UNFIXED:
		return "unfixed_only";
	case RQ_AFTER:
		return "after";
	}
	return "?";
}

int
report_query_set(struct report_query *q, int which, const char *value, char *msg,
    size_t msglen)
{
	long long v;

	switch (which) {
	case RQ_LIMIT:
		if (value == NULL || parse_int_range(value, 1, REPORT_LIMIT_MAX, &v) < 0) {
			snprintf(msg, msglen, "limit must be a whole number from 1 to %d",
			    REPORT_LIMIT_MAX);
			return -1;
		}
		q->limit = (int)v;
		return 0;
	case RQ_BEFORE:
		if (value == NULL || parse_int_range(value, 1, INT64_MAX, &v) < 0) {
			snprintf(msg, msglen, "before must be a log id (a whole number from 1)");
			return -1;
		}
		q->before = v;
		return 0;
	case RQ_AFTER:
		if (value == NULL || parse_int_range(value, 0, INT32_MAX, &v) < 0) {
			snprintf(msg, msglen, "after must be an attempt number (a whole number "
			    "from 0)");
			return -1;
		}
		q->after = v;
		return 0;
	case RQ_UNFIXED:
		if (value == NULL || (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)) {
			snprintf(msg, msglen, "unfixed_only must be true or false");
			return -1;
		}
		q->unfixed_only = strcmp(value, "true") == 0;
		return 0;
	}
	snprintf(msg, msglen, "no such value");
	return -1;
}

int
report_query_arg(const struct report *r, const char *value, struct report_query *q,
    char *msg, size_t msglen)
{
	long long v;

	switch (r->arg) {
	case RA_SESSION:
		if (value == NULL || !session_id_valid(value, strlen(value))) {
			snprintf(msg, msglen, "a session id is 1 to 64 of A-Z a-z 0-9 _ -");
			return -1;
		}
		q->session_id = value;
		return 0;
	case RA_LOG:
		if (value == NULL || parse_int_range(value, 1, INT64_MAX, &v) < 0) {
			snprintf(msg, msglen, "a log id is a whole number from 1");
			return -1;
		}
		q->log_id = v;
		return 0;
	case RA_NONE:
	case RA_FILE:
		break;
	}
	return 0;
}
