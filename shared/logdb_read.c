/*
 * logdb_read: the read side. The totals, counts, patterns and lessons kept
 * at insert, and rows: one whole, a page, a session, every row in turn.
 * Each call takes the handle's lock; logdb_read_begin() (logdb.c) makes
 * several of them one snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "logdb_internal.h"

int
logdb_get_totals(struct logdb *db, struct logdb_totals *t)
{
	sqlite3_stmt *st;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	logdb_lock(db);
	if ((st = logdb_stmt(db, S_TOTALS_GET)) == NULL)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		t->runs = sqlite3_column_int64(st, 0);
		t->successes = sqlite3_column_int64(st, 1);
		t->failures = sqlite3_column_int64(st, 2);
		t->fixed = sqlite3_column_int64(st, 3);
		t->ran = sqlite3_column_int64(st, 4);
		t->dur_sum = sqlite3_column_int64(st, 5);
		t->dur_max = sqlite3_column_int64(st, 6);
		t->sessions = sqlite3_column_int64(st, 7);
		t->sessions_failed = sqlite3_column_int64(st, 8);
		t->sessions_unfixed = sqlite3_column_int64(st, 9);
		t->patterns = sqlite3_column_int64(st, 10);
		logdb_col_copy(st, 11, t->first_at, sizeof(t->first_at));
		logdb_col_copy(st, 12, t->last_at, sizeof(t->last_at));
		rc = 0;
	} else
		logdb_warn(db, "totals");
	sqlite3_reset(st);
out:
	logdb_unlock(db);
	return rc;
}

int
logdb_get_counts(struct logdb *db, enum logdb_count_kind kind, struct logdb_count *out,
    size_t max, size_t *n)
{
	static const char *const kinds[] = {
		[LOGDB_BY_STATUS] = "status", [LOGDB_BY_CATEGORY] = "category",
		[LOGDB_BY_DAY] = "day", [LOGDB_BY_DURATION] = "dur", [LOGDB_BY_MODEL] = "model",
	};
	enum stmt_id id = S_COUNTS_BY_N;
	sqlite3_stmt *st;
	int rc, result = -1;
	long b;

	*n = 0;
	if ((unsigned)kind >= sizeof(kinds) / sizeof(kinds[0]))
		return -1;
	if (kind == LOGDB_BY_DAY)
		id = S_COUNTS_BY_KEY_DESC;
	else if (kind == LOGDB_BY_DURATION)
		id = S_COUNTS_BY_KEY;
	logdb_lock(db);
	if ((st = logdb_stmt(db, id)) == NULL)
		goto out;
	logdb_bind_text(st, 1, kinds[kind]);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct logdb_count *c = &out[(*n)++];
		memset(c, 0, sizeof(*c));
		logdb_col_copy(st, 0, c->key, sizeof(c->key));
		if (kind == LOGDB_BY_DURATION) {
			b = strtol(c->key, NULL, 10);
			if (b >= LOGDB_DURATION_BUCKETS - 1)
				snprintf(c->key, sizeof(c->key), "inf");
			else
				snprintf(c->key, sizeof(c->key), "%lld",
				    (long long)logdb_duration_bound((int)b));
		}
		c->n = sqlite3_column_int64(st, 1);
		c->failures = sqlite3_column_int64(st, 2);
		c->fixed = sqlite3_column_int64(st, 3);
		c->last_id = sqlite3_column_int64(st, 4);
		logdb_col_copy(st, 5, c->last_at, sizeof(c->last_at));
	}
	if (*n < max && rc != SQLITE_DONE)
		logdb_warn(db, "counts");
	else
		result = 0;
	sqlite3_reset(st);
out:
	logdb_unlock(db);
	return result;
}

/* Reads columns [i, i + 10) of st as a pattern. */
static void
pattern_read(sqlite3_stmt *st, int i, struct logdb_pattern *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, i);
	p->n = sqlite3_column_int64(st, i + 1);
	p->fixed = sqlite3_column_int64(st, i + 2);
	p->first_id = sqlite3_column_int64(st, i + 3);
	p->last_id = sqlite3_column_int64(st, i + 4);
	logdb_col_copy(st, i + 5, p->category, sizeof(p->category));
	logdb_col_copy(st, i + 6, p->error_type, sizeof(p->error_type));
	logdb_col_copy(st, i + 7, p->pattern, sizeof(p->pattern));
	logdb_col_copy(st, i + 8, p->last_at, sizeof(p->last_at));
	logdb_col_copy(st, i + 9, p->last_job, sizeof(p->last_job));
}

int
logdb_get_patterns(struct logdb *db, struct logdb_pattern *out, size_t max, size_t *n)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, result = -1;

	*n = 0;
	logdb_lock(db);
	if ((st = logdb_stmt(db, S_PATTERNS_GET)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		pattern_read(st, 0, &out[(*n)++]);
	if (*n < max && rc != SQLITE_DONE)
		logdb_warn(db, "patterns");
	else
		result = 0;
	sqlite3_reset(st);
out:
	logdb_unlock(db);
	return result;
}

int
logdb_get_lessons(struct logdb *db, struct logdb_lesson *out, size_t max, size_t *n)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, result = -1;

	*n = 0;
	logdb_lock(db);
	if ((st = logdb_stmt(db, S_LESSONS_GET)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct logdb_lesson *l = &out[(*n)++];
		pattern_read(st, 0, &l->pattern);
		logdb_col_copy(st, 10, l->change, sizeof(l->change));
		l->n = sqlite3_column_int64(st, 11);
		l->example_fail_id = sqlite3_column_int64(st, 12);
		l->example_fix_id = sqlite3_column_int64(st, 13);
	}
	if (*n < max && rc != SQLITE_DONE)
		logdb_warn(db, "lessons");
	else
		result = 0;
	sqlite3_reset(st);
out:
	logdb_unlock(db);
	return result;
}

void
logdb_run_free(struct logdb_run *run)
{
	struct run_record *r;

	if (run == NULL)
		return;
	r = &run->rec;
	free((void *)r->job_id);
	free((void *)r->session_id);
	free((void *)r->code);
	free((void *)r->params);
	free((void *)r->image_type);
	free((void *)r->user_prompt);
	free((void *)r->ai_model);
	free((void *)r->status);
	free((void *)r->stdout_text);
	free((void *)r->stderr_text);
	free((void *)r->error_type);
	free((void *)r->error_message);
	free((void *)r->traceback);
	free((void *)r->reject_code);
	free((void *)r->reject_message);
	free((void *)r->timings_json);
	memset(run, 0, sizeof(*run));
}

void
logdb_runs_free(struct logdb_run *runs, size_t n)
{
	size_t i;

	if (runs == NULL)
		return;
	for (i = 0; i < n; i++)
		logdb_run_free(&runs[i]);
	free(runs);
}

/* Fills run from the current row of a RUN_COLS_* statement. Returns 0, or
 * -1 when memory ran out (run then holds what was copied; free it). */
static int
run_read(sqlite3_stmt *st, struct logdb_run *run, int whole)
{
	struct run_record *r = &run->rec;
	int oom = 0;

	memset(run, 0, sizeof(*run));
	run->whole = whole;
	run->id = sqlite3_column_int64(st, 0);
	logdb_col_copy(st, 1, run->created_at, sizeof(run->created_at));
	r->session_id = logdb_col_dup(st, 2, NULL, &oom);
	run->attempt = sqlite3_column_int(st, 3);
	r->job_id = logdb_col_dup(st, 4, NULL, &oom);
	r->previous_attempt_id = sqlite3_column_int64(st, 5);
	r->code = logdb_col_dup(st, 6, &r->code_len, &oom);
	logdb_col_copy(st, 7, run->code_sha256, sizeof(run->code_sha256));
	r->params = logdb_col_dup(st, 8, NULL, &oom);
	r->image_type = logdb_col_dup(st, 9, NULL, &oom);
	r->image_bytes = sqlite3_column_int64(st, 10);
	r->image_width = sqlite3_column_int(st, 11);
	r->image_height = sqlite3_column_int(st, 12);
	r->use_sample = sqlite3_column_int(st, 13);
	r->user_prompt = logdb_col_dup(st, 14, NULL, &oom);
	r->ai_model = logdb_col_dup(st, 15, NULL, &oom);
	r->status = logdb_col_dup(st, 16, NULL, &oom);
	r->http_status = sqlite3_column_int(st, 17);
	r->exit_code = sqlite3_column_type(st, 18) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 18);
	r->duration_ms = sqlite3_column_int64(st, 19);
	r->stdout_text = logdb_col_dup(st, 20, NULL, &oom);
	r->stderr_text = logdb_col_dup(st, 21, NULL, &oom);
	r->truncated = sqlite3_column_int(st, 22);
	r->error_type = logdb_col_dup(st, 23, NULL, &oom);
	r->error_message = logdb_col_dup(st, 24, NULL, &oom);
	r->error_line = sqlite3_column_int(st, 25);
	r->traceback = logdb_col_dup(st, 26, NULL, &oom);
	r->reject_code = logdb_col_dup(st, 27, NULL, &oom);
	r->reject_message = logdb_col_dup(st, 28, NULL, &oom);
	r->timings_json = logdb_col_dup(st, 29, NULL, &oom);
	logdb_col_copy(st, 30, run->category, sizeof(run->category));
	logdb_col_copy(st, 31, run->pattern, sizeof(run->pattern));
	run->fixed_by = sqlite3_column_int64(st, 32);
	return oom ? -1 : 0;
}

int
logdb_get_run(struct logdb *db, int64_t id, struct logdb_run *out)
{
	sqlite3_stmt *st;
	int rc, result = -1;

	memset(out, 0, sizeof(*out));
	logdb_lock(db);
	if ((st = logdb_stmt(db, S_RUN_GET)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		result = 0;
	else if (rc != SQLITE_ROW)
		logdb_warn(db, "run");
	else if (run_read(st, out, 1) < 0) {
		log_warnx("logdb: run: out of memory");
		logdb_run_free(out);
	} else
		result = 1;
	sqlite3_reset(st);
out:
	logdb_unlock(db);
	return result;
}

/* Reads up to max rows of a bound statement into a malloc'd array. Returns
 * 0 with *out and *n, or -1 (nothing to free). */
static int
runs_collect(struct logdb *db, sqlite3_stmt *st, size_t max, int whole,
    struct logdb_run **out, size_t *n)
{
	struct logdb_run *runs = NULL;
	size_t cap = 0, k = 0;
	int rc = SQLITE_DONE;

	*out = NULL;
	*n = 0;
	while (k < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (k == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct logdb_run *t;
			if (ncap > max)
				ncap = max;
			if ((t = realloc(runs, ncap * sizeof(*t))) == NULL)
				goto oom;
			runs = t;
			cap = ncap;
		}
		if (run_read(st, &runs[k], whole) < 0) {
			logdb_run_free(&runs[k]);
			goto oom;
		}
		k++;
	}
	sqlite3_reset(st);
	if (k < max && rc != SQLITE_DONE) {
		logdb_warn(db, "runs");
		logdb_runs_free(runs, k);
		return -1;
	}
	*out = runs;
	*n = k;
	return 0;
oom:
	sqlite3_reset(st);
	log_warnx("logdb: runs: out of memory");
	logdb_runs_free(runs, k);
	return -1;
}

int
logdb_get_page(struct logdb *db, enum logdb_filter f, int64_t before, size_t limit,
    struct logdb_run **out, size_t *n)
{
	static const enum stmt_id ids[] = {
		[LOGDB_FAILURES] = S_PAGE_FAILURES, [LOGDB_UNFIXED] = S_PAGE_UNFIXED,
		[LOGDB_SUCCESSES] = S_PAGE_SUCCESSES, [LOGDB_ALL] = S_PAGE_ALL,
	};
	sqlite3_stmt *st;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if ((unsigned)f >= sizeof(ids) / sizeof(ids[0]))
		return -1;
	if (limit == 0)
		return 0;
	if (limit > 100000)
		limit = 100000;
	logdb_lock(db);
	if ((st = logdb_stmt(db, ids[f])) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, before > 0 ? before : INT64_MAX);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	rc = runs_collect(db, st, limit, 0, out, n);
out:
	logdb_unlock(db);
	return rc;
}

int
logdb_get_session(struct logdb *db, const char *session_id, size_t max,
    struct logdb_run **out, size_t *n, int64_t *total)
{
	sqlite3_stmt *st;
	int rc = -1, step;

	*out = NULL;
	*n = 0;
	if (total)
		*total = 0;
	if (max > 100000)
		max = 100000;
	logdb_lock(db);
	if (total) {
		if ((st = logdb_stmt(db, S_SESSION_TOTAL)) == NULL)
			goto out;
		logdb_bind_text(st, 1, session_id);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			*total = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			logdb_warn(db, "session");
			goto out;
		}
	}
	if ((st = logdb_stmt(db, S_SESSION_RUNS)) == NULL)
		goto out;
	logdb_bind_text(st, 1, session_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	rc = runs_collect(db, st, max, 0, out, n);
	/* Rows carry params and timings: shown as whole but the streams. */
out:
	logdb_unlock(db);
	return rc;
}

int
logdb_foreach(struct logdb *db, int (*fn)(const struct logdb_run *run, void *arg), void *arg)
{
	struct logdb_run run;
	sqlite3_stmt *st;
	int rc, result = -1;

	if (logdb_read_begin(db) < 0)
		return -1;
	if ((st = logdb_stmt(db, S_FOREACH)) == NULL)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (run_read(st, &run, 1) < 0) {
			logdb_run_free(&run);
			log_warnx("logdb: export: out of memory");
			goto out;
		}
		rc = fn(&run, arg);
		logdb_run_free(&run);
		if (rc != 0) {
			result = rc;
			goto out;
		}
	}
	if (rc == SQLITE_DONE)
		result = 0;
	else
		logdb_warn(db, "export");
out:
	if (st)
		sqlite3_reset(st);
	logdb_read_end(db);
	return result;
}
