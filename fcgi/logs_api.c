/*
 * logs_api: the /api/logs/... endpoints. Thin: finds the report in the one
 * table (shared/reports/report_table.h), reads and checks the query values and the
 * id it takes, has it made, and writes the answer, never one larger than
 * REPORT_ANSWER_MAX. Every figure comes from the reports, as for the tool.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/json_out.h"
#include "base/log.h"
#include "store/logdb.h"
#include "facts/packages.h"
#include "reports/report_table.h"
#include "sandbox/share.h"
#include "http.h"
#include "logs_api.h"
#include "service.h"

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

/* The answers this process made, kept while the log stays the same: the
 * dashboard asks the same few reports again and again, and even from the
 * summaries a report costs milliseconds where a kept one costs
 * microseconds. Bounded: CACHE_SLOTS answers of CACHE_ANSWER_MAX bytes at
 * most, none older than its log's age limit. Only the request's thread
 * touches it. */
#define CACHE_SLOTS		16
#define CACHE_KEY_MAX		256
#define CACHE_ANSWER_MAX	(256 * 1024)
#define CACHE_MAX_AGE_MS	60000	/* PostgreSQL: its version is asked each time */
#define CACHE_LOCAL_AGE_MS	1000	/* SQLite: see log_version */

struct kept {
	char key[CACHE_KEY_MAX];	/* path after /api/logs/, "?", the query */
	int64_t version;
	int64_t made_ms;		/* monotonic; 0: an empty slot */
	int64_t max_age_ms;
	const char *type;		/* static */
	char *body;
	size_t len;
};
static struct kept kept[CACHE_SLOTS];

/* The log's version, and how long an answer made at it may be kept. An
 * SQLite log is this host's alone, and every change its responders make
 * counts in the host's shared table: reading that costs no query at all,
 * and what another program changes (an operator's tool) shows within
 * CACHE_LOCAL_AGE_MS. A PostgreSQL log is written by other hosts too: it
 * is asked (logdb_version). Returns the version, or -1: keep nothing. */
static int64_t
log_version(struct logdb *db, int64_t *max_age_ms)
{
	if (!logdb_path_is_pg(cfg.db_path) && svc.share != NULL) {
		*max_age_ms = CACHE_LOCAL_AGE_MS;
		return share_log_changes(svc.share);
	}
	*max_age_ms = CACHE_MAX_AGE_MS;
	return logdb_version(db);
}

/* Returns the kept answer for key at version, or NULL. */
static const struct kept *
kept_find(const char *key, int64_t version)
{
	int64_t now = clock_mono_ms();
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++)
		if (kept[i].made_ms != 0 && kept[i].version == version &&
		    now - kept[i].made_ms < kept[i].max_age_ms && strcmp(kept[i].key, key) == 0)
			return &kept[i];
	return NULL;
}

/* Keeps a copy of an answer in the oldest slot (nothing when it is too
 * large or memory is short). */
static void
kept_put(const char *key, int64_t version, int64_t max_age_ms, const char *type,
    const char *body, size_t len)
{
	struct kept *k = &kept[0];
	char *copy;
	size_t i;

	if (len > CACHE_ANSWER_MAX || (copy = malloc(len + 1)) == NULL)
		return;
	memcpy(copy, body, len);
	copy[len] = '\0';
	for (i = 1; i < CACHE_SLOTS; i++)
		if (kept[i].made_ms < k->made_ms)
			k = &kept[i];
	free(k->body);
	snprintf(k->key, sizeof(k->key), "%s", key);
	k->version = version;
	k->made_ms = clock_mono_ms();
	k->max_age_ms = max_age_ms;
	k->type = type;
	k->body = copy;
	k->len = len;
}

/* Makes the report of row rt with q: its text (the caller frees it), its
 * length and type; NULL with *st set when it could not be made. */
static char *
make(struct logdb *db, const struct report *rt, const struct report_env *env,
    const struct report_query *q, size_t *len, const char **type, enum report_status *st)
{
	cJSON *doc;
	char *text;

	*st = REPORT_OK;
	if (rt->text != NULL && rt->json == NULL) {
		*type = "text/plain; charset=utf-8";
		return rt->text(db, env, len, st);
	}
	*type = "application/json";
	if (rt->json == NULL) {
		*st = REPORT_FAILED;
		return NULL;
	}
	/* st is filled by the call that makes the report: read it only after. */
	if ((doc = rt->json(db, env, q, st)) == NULL)
		return NULL;
	text = json_render(doc);
	cJSON_Delete(doc);
	if (text == NULL) {
		*st = REPORT_FAILED;
		return NULL;
	}
	/* The reports cut their lists to stay under it: never met. */
	if ((*len = strlen(text)) > REPORT_ANSWER_MAX) {
		log_warnx("logs api: the %s would be %zu bytes, over %d", rt->what, *len,
		    REPORT_ANSWER_MAX);
		free(text);
		*st = REPORT_FAILED;
		return NULL;
	}
	return text;
}

/* Answers rt with q: a kept answer while the log is unchanged, else a new
 * one (kept for the next ask). Returns as http_body. */
static int
serve(FCGX_Request *r, struct logdb *db, const struct report *rt, const struct report_env *env,
    const struct report_query *q, const char *key)
{
	enum report_status st;
	const struct kept *k;
	const char *type;
	int64_t max_age_ms = 0, version = key != NULL ? log_version(db, &max_age_ms) : -1;
	size_t len = 0;
	char *text;
	int rc;

	if (version >= 0 && (k = kept_find(key, version)) != NULL)
		return http_body(r, 200, k->type, k->body, k->len);
	if ((text = make(db, rt, env, q, &len, &type, &st)) == NULL) {
		if (st == REPORT_NOT_FOUND)
			return http_error(r, 404, "not_found", "no such %s in the execution log",
			    rt->what);
		return http_error(r, 500, "internal",
		    "the execution log could not be read; the server log says why");
	}
	if (version >= 0)
		kept_put(key, version, max_age_ms, type, text, len);
	rc = http_body(r, 200, type, text, len);
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
	char msg[512], key[CACHE_KEY_MAX];
	int n;

	if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return http_error_with(r, 405, "method_not_allowed", "Allow: GET, HEAD\r\n",
		    "%.32s is not allowed here: use GET", method ? method : "?");
	if ((rt = report_by_api(rest ? rest : "", &arg)) == NULL)
		return http_error(r, 404, "not_found", "no such endpoint: /api/logs/%.64s (see %s)",
		    rest ? rest : "", report_api_list(msg, sizeof(msg)));
	if (read_query(rt, query ? query : "", &q, msg, sizeof(msg)) < 0 ||
	    report_query_arg(rt, arg, &q, msg, sizeof(msg)) < 0)
		return http_error(r, 400, "bad_request", "%s", msg);
	n = snprintf(key, sizeof(key), "%s?%s", rest ? rest : "", query ? query : "");
	return serve(r, db, rt, &env, &q, n >= 0 && (size_t)n < sizeof(key) ? key : NULL);
}
