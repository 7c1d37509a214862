/*
 * status_api: the small endpoints of the service's own state.
 *
 *   GET    /api/health       the engine, the pool of sandboxes, the log: from
 *                            the state the broker (fcgi/sandboxd.c) writes
 *                            each second (no process is started here)
 *   GET    /api/limits       the limits of a request and of a run
 *   DELETE /api/jobs/<id>    stops a run in progress (202; 404 when it is
 *                            unknown or over)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "sandbox/jobs.h"
#include "base/log.h"
#include "store/logdb.h"
#include "http.h"
#include "handlers.h"
#include "service.h"

/* How old the broker's state may be before health says it is not running
 * (it writes it each second). */
#define BROKER_STATE_MAX_AGE_MS 10000

/* Reads the broker's state, DATA/engine/state.json (at most 4 KiB), as
 * JSON. Returns it, or NULL. */
static cJSON *
read_engine_state(void)
{
	char path[700], buf[4096];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/engine/state.json", cfg.data_dir) >= (int)sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return cJSON_Parse(buf);
}

/* "log": whether the log takes rows, and how many runs it did not. A
 * PostgreSQL log's handle outlives its server: this responder's last
 * insert says, and so does the host's last run's row (whichever responder
 * wrote it: one of the API pool never does). */
static void
add_log_state(cJSON *root)
{
	struct logdb_state ls;
	struct share_stats st;
	cJSON *log;

	log_reopen_if_due();
	if ((log = cJSON_AddObjectToObject(root, "log")) == NULL)
		return;
	memset(&st, 0, sizeof(st));
	if (svc.share != NULL)
		share_stats(svc.share, &st);
	logdb_get_state(svc.db, &ls);
	cJSON_AddBoolToObject(log, "ok", svc.db != NULL && !ls.unreachable && !st.log_failing);
	if (svc.db == NULL)
		cJSON_AddStringToObject(log, "message", svc.log_problem);
	else if (ls.unreachable || st.log_failing)
		cJSON_AddStringToObject(log, "message", "the log did not take the last run's "
		    "row (its database server did not answer, or refused it); runs go on "
		    "unlogged until it does");
	if (svc.share != NULL)
		cJSON_AddNumberToObject(log, "runs_unlogged",
		    (double)st.counter[SHARE_RUNS_UNLOGGED]);
}

/* The line for slots: how many are busy and how many requests wait. */
static void
add_line(cJSON *root)
{
	struct share_stats st;

	if (svc.share == NULL)
		return;
	share_stats(svc.share, &st);
	cJSON_AddNumberToObject(root, "slots_busy", st.slots_busy);
	cJSON_AddNumberToObject(root, "waiting", st.waiting);
	cJSON_AddNumberToObject(root, "slot_hold_ms", (double)st.hold_ms);
}

/* The pool's figures of the broker's state, as "warm". */
static void
add_pool(cJSON *root, const cJSON *state)
{
	static const char *const keys[] = { "size", "ready", "starting", "waiting", "started",
		"handed_out", "failed_starts", "retired" };
	const cJSON *v;
	cJSON *warm;

	if (state == NULL || (warm = cJSON_AddObjectToObject(root, "warm")) == NULL)
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(state, keys[i])))
			cJSON_AddNumberToObject(warm, keys[i], v->valuedouble);
}

/* Whether the engine works, in the broker's words: its state must be fresh
 * (a broker that died writes none) and say so. */
static int
engine_good(cJSON *root, const cJSON *state)
{
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(state, "ok");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(state, "written_at_ms");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(state, "message");
	int64_t age;

	if (state == NULL || !cJSON_IsNumber(at)) {
		cJSON_AddStringToObject(root, "message", "the sandbox broker (sandboxd) has not "
		    "started yet, or cannot write its state");
		return 0;
	}
	age = clock_real_ms() - (int64_t)at->valuedouble;
	cJSON_AddNumberToObject(root, "checked_ms_ago", (double)age);
	if (age > BROKER_STATE_MAX_AGE_MS) {
		cJSON_AddStringToObject(root, "message", "the sandbox broker (sandboxd) is not "
		    "running: its state has not changed for over 10 s");
		return 0;
	}
	if (!cJSON_IsTrue(ok)) {
		cJSON_AddStringToObject(root, "message", cJSON_IsString(msg) ? msg->valuestring :
		    "the engine cannot start sandboxes");
		return 0;
	}
	return 1;
}

static int
health(FCGX_Request *r)
{
	cJSON *root, *state = read_engine_state();
	int good, rc;

	if ((root = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(state);
		return http_error(r, 500, "internal", "out of memory");
	}
	good = engine_good(root, state);
	cJSON_AddBoolToObject(root, "ok", good);
	cJSON_AddStringToObject(root, "engine", cfg.engine);
	cJSON_AddStringToObject(root, "image", cfg.image);
	cJSON_AddNumberToObject(root, "slots", (double)cfg.slots);
	add_line(root);
	cJSON_AddNumberToObject(root, "timeout_ms", (double)cfg.timeout_ms);
	add_pool(root, state);
	add_log_state(root);
	rc = http_json(r, good ? 200 : 503, root, NULL);
	cJSON_Delete(root);
	cJSON_Delete(state);
	return rc;
}

static void
add_limit(const char *key, int64_t value, void *arg)
{
	cJSON_AddNumberToObject(arg, key, (double)value);
}

/* GET /api/limits: the limits of a request and of a run, from the one
 * table of settings, for the page (which checks before it sends). */
static int
limits(FCGX_Request *r)
{
	cJSON *root;
	int rc;

	if ((root = cJSON_CreateObject()) == NULL)
		return http_error(r, 500, "internal", "out of memory");
	config_foreach_public(add_limit, root);
	cJSON_AddNumberToObject(root, "output_files", SBPROTO_MAX_FILES);
	/* Whether POST /api/assist has a model to ask (the page says so
	 * before anyone presses Generate). */
	cJSON_AddBoolToObject(root, "assistant", cfg.ai_url[0] != '\0');
	rc = http_json(r, 200, root, NULL);
	cJSON_Delete(root);
	return rc;
}

/* DELETE /api/jobs/<id>: whoever holds a job id (128 random bits) may stop
 * its run; the run's own responder kills the container and answers
 * "cancelled". */
static int
cancel_job(FCGX_Request *r, const char *id)
{
	switch (job_cancel(svc.jobs_dir, id)) {
	case 1:
		return http_body(r, 202, "application/json", "{\"cancelled\":true}", 18);
	case 0:
		return http_error(r, 404, "not_found", "no run in progress has that job id");
	default:
		log_warn("cancel job %.32s", id);
		return http_error(r, 500, "internal", "the run could not be told to stop");
	}
}

int
status_api_handle(FCGX_Request *r, const char *method, const char *rest)
{
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (strcmp(rest, "health") == 0 || strcmp(rest, "limits") == 0) {
		if (!get)
			return http_error_with(r, 405, "method_not_allowed", "Allow: GET, HEAD\r\n",
			    "use GET");
		return rest[0] == 'h' ? health(r) : limits(r);
	}
	if (strncmp(rest, "jobs/", 5) == 0) {
		if (strcmp(method, "DELETE") != 0)
			return http_error_with(r, 405, "method_not_allowed", "Allow: DELETE\r\n",
			    "DELETE /api/jobs/<job_id> stops a run in progress");
		return cancel_job(r, rest + 5);
	}
	return http_error(r, 404, "not_found", "no such endpoint: /api/%.64s", rest);
}
