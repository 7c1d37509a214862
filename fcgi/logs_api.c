/*
 * logs_api: the /api/logs/... endpoints. Thin: checks the path and the query
 * against a table, calls shared/analyze (which reads shared/logdb), and
 * writes the answer. Every figure comes from analyze, as for the tool.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/json_out.h"
#include "http.h"
#include "logs_api.h"

/* Set once at start-up, read-only afterwards. */
static struct analyze_limits api_limits;

void
logs_api_set_limits(const struct analyze_limits *limits)
{
	api_limits = *limits;
}

/* The query values an endpoint takes. */
#define Q_LIMIT		0x1	/* limit=1..500 (default 50) */
#define Q_BEFORE	0x2	/* before=<log id> */
#define Q_UNFIXED	0x4	/* unfixed_only=true|false */

struct query {
	int limit;
	int64_t before;
	int unfixed_only;
};

enum endpoint {
	E_SUMMARY, E_ANALYSIS, E_FAILURES, E_SUCCESSES, E_PATTERNS, E_RECOMMENDATIONS,
	E_SESSION, E_LOG, E_CONTEXT
};

/* The endpoints: a path (with "/" at the end: takes one more segment),
 * and the query values it reads (others are ignored). */
static const struct route {
	const char *path;
	enum endpoint e;
	int q;
} routes[] = {
	{ "summary", E_SUMMARY, 0 },
	{ "analysis", E_ANALYSIS, Q_LIMIT },
	{ "failures", E_FAILURES, Q_LIMIT | Q_BEFORE | Q_UNFIXED },
	{ "successes", E_SUCCESSES, Q_LIMIT | Q_BEFORE },
	{ "error-patterns", E_PATTERNS, Q_LIMIT },
	{ "recommendations", E_RECOMMENDATIONS, Q_LIMIT },
	{ "session/", E_SESSION, 0 },
	{ "log/", E_LOG, 0 },
	{ "ai-context", E_CONTEXT, 0 },
};

/* Reads the query values flags asks for into q. Returns 0, or -1 with a
 * message for a 400 in msg. */
static int
read_query(const char *query, int flags, struct query *q, char *msg, size_t msglen)
{
	char buf[64];
	long long v;
	int rc;

	q->limit = ANALYZE_LIMIT_DEFAULT;
	q->before = 0;
	q->unfixed_only = 0;
	if (flags & Q_LIMIT) {
		rc = http_query_get(query, "limit", buf, sizeof(buf));
		if (rc < 0 || (rc == 1 && parse_int_range(buf, 1, ANALYZE_LIMIT_MAX, &v) < 0)) {
			snprintf(msg, msglen, "limit must be a whole number from 1 to %d",
			    ANALYZE_LIMIT_MAX);
			return -1;
		}
		if (rc == 1)
			q->limit = (int)v;
	}
	if (flags & Q_BEFORE) {
		rc = http_query_get(query, "before", buf, sizeof(buf));
		if (rc < 0 || (rc == 1 && parse_int_range(buf, 1, INT64_MAX, &v) < 0)) {
			snprintf(msg, msglen, "before must be a log id (a whole number from 1)");
			return -1;
		}
		if (rc == 1)
			q->before = v;
	}
	if (flags & Q_UNFIXED) {
		rc = http_query_get(query, "unfixed_only", buf, sizeof(buf));
		if (rc < 0 || (rc == 1 && strcmp(buf, "true") != 0 && strcmp(buf, "false") != 0)) {
			snprintf(msg, msglen, "unfixed_only must be true or false");
			return -1;
		}
		q->unfixed_only = rc == 1 && strcmp(buf, "true") == 0;
	}
	return 0;
}

/* Writes 405 with Allow. Returns as http_json. */
static int
method_not_allowed(FCGX_Request *r, const char *method)
{
	char msg[160];
	cJSON *root, *err;
	int rc = -1;

	snprintf(msg, sizeof(msg), "%.32s is not allowed here: use GET", method);
	if ((root = cJSON_CreateObject()) == NULL ||
	    (err = cJSON_AddObjectToObject(root, "error")) == NULL ||
	    cJSON_AddStringToObject(err, "code", "method_not_allowed") == NULL ||
	    json_add_str_or_null(err, "message", msg) == NULL) {
		cJSON_Delete(root);
		return http_error(r, 500, "internal", "the server ran out of memory; try again");
	}
	rc = http_json(r, 405, root, "Allow: GET, HEAD\r\n");
	cJSON_Delete(root);
	return rc;
}

/* Writes the answer for a report: 200 with doc, or 404 / 500 from st. */
static int
answer(FCGX_Request *r, cJSON *doc, enum analyze_status st, const char *what)
{
	int rc;

	if (doc != NULL) {
		rc = http_json(r, 200, doc, NULL);
		cJSON_Delete(doc);
		return rc;
	}
	if (st == ANALYZE_NOT_FOUND)
		return http_error(r, 404, "not_found", "no such %s in the execution log", what);
	return http_error(r, 500, "internal",
	    "the execution log could not be read; the server log says why");
}

int
logs_api_handle(FCGX_Request *r, struct logdb *db, const char *method, const char *rest,
    const char *query, const char *packages_file)
{
	struct analyze_env env = { packages_file, api_limits };
	const struct route *rt = NULL;
	/* st is filled by the call that makes doc: read it only after (an
	 * argument list does not order its evaluations). */
	enum analyze_status st = ANALYZE_OK;
	cJSON *doc;
	const char *arg = NULL;
	struct query q;
	char msg[160];
	long long id;
	size_t i, n;
	char *text;
	int rc;

	if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return method_not_allowed(r, method ? method : "?");
	if (rest == NULL)
		rest = "";
	if (query == NULL)
		query = "";
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		n = strlen(routes[i].path);
		if (routes[i].path[n - 1] == '/' ? strncmp(rest, routes[i].path, n) == 0 :
		    strcmp(rest, routes[i].path) == 0) {
			rt = &routes[i];
			arg = rest + n;
			break;
		}
	}
	if (rt == NULL)
		return http_error(r, 404, "not_found", "no such endpoint: /api/logs/%.64s "
		    "(see summary, analysis, failures, successes, error-patterns, "
		    "recommendations, session/<id>, log/<id>, ai-context)", rest);
	if (read_query(query, rt->q, &q, msg, sizeof(msg)) < 0)
		return http_error(r, 400, "bad_request", "%s", msg);

	switch (rt->e) {
	case E_SUMMARY:
		doc = analyze_summary(db, &st);
		return answer(r, doc, st, "summary");
	case E_ANALYSIS:
		doc = analyze_analysis(db, &env, q.limit, &st);
		return answer(r, doc, st, "analysis");
	case E_FAILURES:
		doc = analyze_page(db, q.unfixed_only ? LOGDB_UNFIXED : LOGDB_FAILURES,
		    q.before, q.limit, &st);
		return answer(r, doc, st, "page");
	case E_SUCCESSES:
		doc = analyze_page(db, LOGDB_SUCCESSES, q.before, q.limit, &st);
		return answer(r, doc, st, "page");
	case E_PATTERNS:
		doc = analyze_error_patterns(db, q.limit, &st);
		return answer(r, doc, st, "patterns");
	case E_RECOMMENDATIONS:
		doc = analyze_recommendations(db, &env, q.limit, &st);
		return answer(r, doc, st, "recommendations");
	case E_SESSION:
		if (!analyze_valid_session_id(arg))
			return http_error(r, 400, "bad_request",
			    "a session id is 1 to 64 of A-Z a-z 0-9 _ -");
		doc = analyze_session(db, arg, &st);
		return answer(r, doc, st, "session");
	case E_LOG:
		if (parse_int_range(arg, 1, INT64_MAX, &id) < 0)
			return http_error(r, 400, "bad_request",
			    "a log id is a whole number from 1");
		doc = analyze_log(db, (int64_t)id, &st);
		return answer(r, doc, st, "log");
	case E_CONTEXT:
		if ((text = analyze_context(db, &env, &n, &st)) == NULL)
			return answer(r, NULL, st, "context");
		rc = http_body(r, 200, "text/plain; charset=utf-8", text, n);
		free(text);
		return rc;
	}
	return http_error(r, 404, "not_found", "no such endpoint");
}
