/*
 * logs_api: the /api/logs/... endpoints. Thin: finds the report in the one
 * table (shared/report_table.h), reads and checks the query values and the
 * id it takes, has it made, and writes the answer, never one larger than
 * REPORT_ANSWER_MAX. Every figure comes from the reports, as for the tool.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/config.h"
#include "../shared/json_out.h"
#include "../shared/log.h"
#include "../shared/packages.h"
#include "../shared/report_table.h"
#include "http.h"
#include "logs_api.h"

/* Set once at start-up, read-only afterwards. */
static struct report_limits api_limits;
static struct allowlist api_allow;

void
logs_api_set_limits(const struct report_limits *limits)
{
	char err[512];

	api_limits = *limits;
	allowlist_free(&api_allow);
	if (allowlist_load(cfg.allowlist_file, &api_allow, err, sizeof(err)) < 0)
		log_warnx("the recommendations and the AI context name no error type and no "
		    "change of a fix: the allow-list could not be read: %s", err);
}

const struct allowlist *
logs_api_allowlist(void)
{
	return &api_allow;
}

/* Reads the query values row r takes into q. Returns 0, or -1 with a
 * message for a 400 in msg. */
static int
read_query(const struct report *r, const char *query, struct report_query *q, char *msg,
    size_t msglen)
{
	static const int values[] = { RQ_LIMIT, RQ_BEFORE, RQ_UNFIXED, RQ_AFTER };
	char buf[64];
	size_t i;
	int rc;

	report_query_init(q);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		if ((r->query & values[i]) == 0)
			continue;
		rc = http_query_get(query, report_query_name(values[i]), buf, sizeof(buf));
		if (rc != 0 && report_query_set(q, values[i], rc > 0 ? buf : NULL, msg,
		    msglen) < 0)
			return -1;
	}
	return 0;
}

/* Writes the answer for a report: 200 with doc, or 404 / 500 from st.
 * Frees doc. Returns as http_json. */
static int
answer(FCGX_Request *r, cJSON *doc, enum report_status st, const char *what)
{
	size_t len;
	char *text;
	int rc;

	if (doc != NULL) {
		text = json_render(doc);
		cJSON_Delete(doc);
		if (text == NULL)
			return http_error(r, 500, "internal", "the server ran out of memory; try again");
		/* The reports cut their lists to stay under it: never met. */
		if ((len = strlen(text)) > REPORT_ANSWER_MAX) {
			free(text);
			log_warnx("logs api: the %s would be %zu bytes, over %d", what, len,
			    REPORT_ANSWER_MAX);
			return http_error(r, 500, "internal", "the answer would be larger than "
			    "%d bytes", REPORT_ANSWER_MAX);
		}
		rc = http_body(r, 200, "application/json", text, len);
		free(text);
		return rc;
	}
	if (st == REPORT_NOT_FOUND)
		return http_error(r, 404, "not_found", "no such %s in the execution log", what);
	return http_error(r, 500, "internal",
	    "the execution log could not be read; the server log says why");
}

/* Makes the report of row rt with q and writes it. Returns as http_json. */
static int
serve(FCGX_Request *r, struct logdb *db, const struct report *rt, const struct report_env *env,
    const struct report_query *q)
{
	/* st is filled by the call that makes the report: read it only after
	 * (an argument list does not order its evaluations). */
	enum report_status st = REPORT_OK;
	cJSON *doc;
	size_t n;
	char *text;
	int rc;

	if (rt->json != NULL) {
		doc = rt->json(db, env, q, &st);
		return answer(r, doc, st, rt->what);
	}
	if (rt->text == NULL || (text = rt->text(db, env, &n, &st)) == NULL)
		return answer(r, NULL, st, rt->what);
	rc = http_body(r, 200, "text/plain; charset=utf-8", text, n);
	free(text);
	return rc;
}

int
logs_api_handle(FCGX_Request *r, struct logdb *db, const char *method, const char *rest,
    const char *query, const char *packages_file)
{
	struct report_env env = { packages_file, api_limits, &api_allow };
	const struct report *rt;
	struct report_query q;
	const char *arg = NULL;
	char msg[512];

	if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return http_error_with(r, 405, "method_not_allowed", "Allow: GET, HEAD\r\n",
		    "%.32s is not allowed here: use GET", method ? method : "?");
	if ((rt = report_by_api(rest ? rest : "", &arg)) == NULL)
		return http_error(r, 404, "not_found", "no such endpoint: /api/logs/%.64s (see %s)",
		    rest ? rest : "", report_api_list(msg, sizeof(msg)));
	if (read_query(rt, query ? query : "", &q, msg, sizeof(msg)) < 0 ||
	    report_query_arg(rt, arg, &q, msg, sizeof(msg)) < 0)
		return http_error(r, 400, "bad_request", "%s", msg);
	return serve(r, db, rt, &env, &q);
}
