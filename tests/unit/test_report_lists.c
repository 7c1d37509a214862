/*
 * test_report_lists: the reports over many rows, on real SQLite files in a
 * temp dir: a page and a session whose rows would pass REPORT_ANSWER_MAX
 * are cut short under it and go on where they stopped; the figures per AI
 * model (first tries, attempts until success, fixes, by ai_lessons).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "store/logdb.h"
#include "reports/report_rows.h"
#include "reports/reports.h"
#include "unit.h"

static char tmpdir[256];

/* Returns a path in the test's temp dir (static buffer, one at a time). */
static const char *
tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *
gs(const cJSON *o, const char *k)
{
	const cJSON *x = get(o, k);

	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double
gn(const cJSON *o, const char *k)
{
	const cJSON *x = get(o, k);

	return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

/* Inserts one attempt of session sid. Returns its id. */
static int64_t
add(struct logdb *db, const char *sid, const char *status, const char *type, const char *msg,
    const char *code, const char *model, int lessons)
{
	struct run_record r;
	int64_t id = 0;

	record_init(&r);
	r.session_id = sid;
	r.status = status;
	r.http_status = 200;
	r.error_type = type;
	r.error_message = msg;
	r.code = code;
	r.code_len = code ? strlen(code) : 0;
	r.ai_model = model;
	r.ai_lessons = lessons;
	CHECK_INT(logdb_insert(db, &r, &id, NULL), 0);
	return id;
}

/* Fills a session (or sessions, sid NULL) with n failures whose code is
 * 8 KiB of \x01 (each byte six in JSON). */
static struct logdb *
heavy(const char *name, const char *sid, int n)
{
	static char code[8193];
	struct logdb *db;
	char err[256], s[16];
	int i;

	memset(code, 1, sizeof(code) - 1);
	unlink(tmp_path(name));
	if ((db = logdb_open(tmp_path(name), err, sizeof(err))) == NULL) {
		CHECK(0);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "h%d", i);
		add(db, sid ? sid : s, "error", "ValueError", "bad", code, NULL, -1);
	}
	return db;
}

/* Returns the length of doc's rendering (0 when it cannot be made). */
static size_t
rendered(const cJSON *doc)
{
	char *text = cJSON_PrintUnformatted(doc);
	size_t n = text ? strlen(text) : 0;

	free(text);
	return n;
}

TEST(page_cut_at_answer_max)
{
	enum report_status st;
	struct logdb *db;
	const cJSON *it;
	int64_t before = 0, last = 0;
	int seen = 0, pages = 0, ok = 1;
	cJSON *doc;

	if ((db = heavy("heavy.db", NULL, 300)) == NULL)
		return;
	do {
		doc = report_page(db, LOGDB_FAILURES, before, 500, &st);
		CHECK(doc != NULL);
		if (doc == NULL)
			break;
		CHECK(rendered(doc) <= REPORT_ANSWER_MAX);
		cJSON_ArrayForEach(it, get(doc, "items")) {
			if (strlen(gs(it, "code_excerpt")) > LOGDB_EXCERPT_CODE ||
			    gn(it, "code_bytes") != 8192 || !cJSON_IsTrue(get(it, "code_truncated")))
				ok = 0;
			last = (int64_t)gn(it, "log_id");
		}
		seen += (int)gn(doc, "count");
		if (pages++ == 0) {
			/* 300 rows of 24 KiB of JSON: the first page is cut and says where
			 * the next one starts. */
			CHECK(cJSON_IsTrue(get(doc, "cut")));
			CHECK(gn(doc, "count") < 300);
			CHECK_INT(gn(doc, "next_before"), last);
		}
		before = cJSON_IsNumber(get(doc, "next_before")) ? (int64_t)gn(doc, "next_before") : 0;
		cJSON_Delete(doc);
	} while (before > 0 && pages < 10);
	CHECK(ok);
	CHECK_INT(seen, 300);
	CHECK_INT(pages, 2);
	logdb_close(db);
}

TEST(session_cut_and_after)
{
	enum report_status st;
	struct logdb *db;
	int64_t after = 0;
	int seen = 0, parts = 0;
	cJSON *doc;

	if ((db = heavy("heavy-session.db", "long", 300)) == NULL)
		return;
	do {
		doc = report_session(db, "long", after, &st);
		CHECK(doc != NULL);
		if (doc == NULL)
			break;
		CHECK(rendered(doc) <= REPORT_ANSWER_MAX);
		CHECK_INT(gn(doc, "attempt_count"), 300);
		CHECK_INT(gn(doc, "attempts_retired"), 0);
		if (parts++ == 0)
			CHECK(cJSON_IsTrue(get(doc, "cut")));
		CHECK_INT(gn(cJSON_GetArrayItem(get(doc, "attempts"), 0), "attempt"), after + 1);
		seen += (int)gn(doc, "shown");
		after = cJSON_IsNumber(get(doc, "next_after")) ? (int64_t)gn(doc, "next_after") : 0;
		cJSON_Delete(doc);
	} while (after > 0 && parts < 10);
	CHECK_INT(seen, 300);
	CHECK_INT(parts, 2);
	CHECK(report_session(db, "long", 300, &st) == NULL);	/* nothing after the last */
	CHECK_INT(st, REPORT_NOT_FOUND);
	logdb_close(db);
}

/* Returns the figures of model name in the models document (or NULL). */
static const cJSON *
model_of(const cJSON *doc, const char *name)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, get(doc, "models"))
		if (strcmp(gs(m, "ai_model"), name) == 0)
			return m;
	return NULL;
}

TEST(models_figures)
{
	enum report_status st;
	struct logdb *db;
	const cJSON *m, *p;
	char err[256];
	cJSON *doc;

	unlink(tmp_path("models.db"));
	if ((db = logdb_open(tmp_path("models.db"), err, sizeof(err))) == NULL) {
		CHECK(0);
		return;
	}
	/* m1 with the lessons: a first-try success, a success at 2, an unfixed
	 * session; m1 without: a success at 3; m2 unknown: a first-try success;
	 * no model: not counted. */
	add(db, "s1", "success", NULL, NULL, "a", "m1", 1);
	add(db, "s2", "error", "ValueError", "v", "a", "m1", 1);
	add(db, "s2", "success", NULL, NULL, "b", "m1", 1);
	add(db, "s3", "error", "ValueError", "v", "a", "m1", 1);
	add(db, "s3", "timeout", NULL, NULL, "a", "m1", 1);
	add(db, "s4", "error", "ValueError", "v", "a", "m1", 0);
	add(db, "s4", "error", "ValueError", "v", "a", "m1", 0);
	add(db, "s4", "success", NULL, NULL, "b", "m1", 0);
	add(db, "s5", "success", NULL, NULL, "a", "m2", -1);
	add(db, "s6", "error", "ValueError", "v", "a", NULL, 1);
	add(db, "s6", "success", NULL, NULL, "b", NULL, 1);
	doc = report_models(db, 50, &st);
	CHECK(doc != NULL);
	CHECK_INT(gn(doc, "count"), 2);
	CHECK_STR(gs(cJSON_GetArrayItem(get(doc, "models"), 0), "ai_model"), "m1");
	m = model_of(doc, "m1");
	CHECK_INT(gn(m, "runs"), 8);
	CHECK_INT(gn(m, "failures"), 5);
	CHECK_INT(gn(m, "failures_fixed"), 3);
	CHECK_INT(gn(m, "sessions"), 4);
	CHECK_INT(gn(m, "first_attempt_successes"), 1);
	CHECK_INT(gn(m, "first_attempt_success_rate") * 100, 25);
	CHECK_INT(gn(m, "sessions_succeeded"), 3);
	CHECK_INT(gn(get(m, "attempts_to_success"), "mean") * 100, 200);
	CHECK_INT(gn(get(m, "attempts_to_success"), "median") * 10, 20);
	p = get(get(m, "by_lessons"), "with");
	CHECK_INT(gn(p, "runs"), 5);
	CHECK_INT(gn(p, "failures"), 3);
	CHECK_INT(gn(p, "failures_fixed"), 1);
	CHECK_INT(gn(p, "sessions"), 3);
	CHECK_INT(gn(p, "sessions_succeeded"), 2);
	CHECK_INT(gn(get(p, "attempts_to_success"), "median") * 10, 15);
	p = get(get(m, "by_lessons"), "without");
	CHECK_INT(gn(p, "sessions"), 1);
	CHECK_INT(gn(p, "failures_fixed"), 2);
	CHECK_INT(gn(get(p, "attempts_to_success"), "mean") * 100, 300);
	p = get(get(m, "by_lessons"), "unknown");
	CHECK_INT(gn(p, "runs"), 0);
	CHECK(cJSON_IsNull(get(get(p, "attempts_to_success"), "median")));
	m = model_of(doc, "m2");
	CHECK_INT(gn(get(get(m, "by_lessons"), "unknown"), "first_attempt_successes"), 1);
	cJSON_Delete(doc);
	logdb_close(db);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_report_lists.XXXXXX", cmd[600];

	log_init("test_report_lists");
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	RUN(page_cut_at_answer_max);
	RUN(session_cut_and_after);
	RUN(models_figures);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return unit_done("report_lists");
}
