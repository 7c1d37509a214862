/*
 * logdb_read: the read side. The totals, counts, patterns and lessons kept
 * at insert, and rows: one whole, a page, a session, every row in turn.
 * Each call takes the handle's lock; logdb_read_begin() (logdb.c) makes
 * several of them one snapshot. Rows of a page or a session carry excerpts
 * of their texts (the SQL reads a few more characters than the excerpt's
 * bytes; the cut is made here, on a character boundary).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/logdb_internal.h"

int
logdb_get_totals(struct logdb *db, struct logdb_totals *t)
{
	struct sqldb_stmt *st;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	logdb_lock(db);
	if ((st = logdb_stmt(db, S_TOTALS_GET)) == NULL)
		goto out;
	if (sqldb_step(st) == SQLDB_ROW) {
		t->runs = sqldb_column_int64(st, 0);
		t->successes = sqldb_column_int64(st, 1);
		t->failures = sqldb_column_int64(st, 2);
		t->fixed = sqldb_column_int64(st, 3);
		t->ran = sqldb_column_int64(st, 4);
		t->dur_sum = sqldb_column_int64(st, 5);
		t->dur_max = sqldb_column_int64(st, 6);
		t->sessions = sqldb_column_int64(st, 7);
		t->sessions_failed = sqldb_column_int64(st, 8);
		t->sessions_unfixed = sqldb_column_int64(st, 9);
		t->patterns = sqldb_column_int64(st, 10);
		logdb_col_copy(st, 11, t->first_at, sizeof(t->first_at));
		logdb_col_copy(st, 12, t->last_at, sizeof(t->last_at));
		t->rows_retired = sqldb_column_int64(st, 13);
		logdb_col_copy(st, 14, t->retired_until, sizeof(t->retired_until));
		rc = 0;
	} else
		logdb_warn(db, "totals");
	sqldb_reset(st);
	if (rc == 0 && (st = logdb_stmt(db, S_KEPT_SINCE)) != NULL) {
		if ((rc = sqldb_step(st)) == SQLDB_ROW)
			logdb_col_copy(st, 0, t->kept_since, sizeof(t->kept_since));
		else if (rc != SQLDB_DONE)
			logdb_warn(db, "the oldest row");
		rc = rc == SQLDB_ROW || rc == SQLDB_DONE ? 0 : -1;
		sqldb_reset(st);
	} else if (rc == 0)
		rc = -1;
out:
	logdb_unlock(db);
	return rc;
}

int64_t
logdb_version(struct logdb *db)
{
	int64_t v;

	logdb_lock(db);
	v = logdb_int(db, S_VERSION);
	logdb_unlock(db);
	return v;
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
	struct sqldb_stmt *st;
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
	sqldb_bind_text(st, 1, kinds[kind]);
	sqldb_bind_int64(st, 2, (int64_t)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqldb_step(st)) == SQLDB_ROW) {
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
		c->n = sqldb_column_int64(st, 1);
		c->failures = sqldb_column_int64(st, 2);
		c->fixed = sqldb_column_int64(st, 3);
		c->last_id = sqldb_column_int64(st, 4);
		logdb_col_copy(st, 5, c->last_at, sizeof(c->last_at));
	}
	if (*n < max && rc != SQLDB_DONE)
		logdb_warn(db, "counts");
	else
		result = 0;
	sqldb_reset(st);
out:
	logdb_unlock(db);
	return result;
}

/* Reads columns [i, i + 10) of st as a pattern. */
static void
pattern_read(struct sqldb_stmt *st, int i, struct logdb_pattern *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqldb_column_int64(st, i);
	p->n = sqldb_column_int64(st, i + 1);
	p->fixed = sqldb_column_int64(st, i + 2);
	p->first_id = sqldb_column_int64(st, i + 3);
	p->last_id = sqldb_column_int64(st, i + 4);
	logdb_col_copy(st, i + 5, p->category, sizeof(p->category));
	logdb_col_copy(st, i + 6, p->error_type, sizeof(p->error_type));
	logdb_col_copy(st, i + 7, p->pattern, sizeof(p->pattern));
	logdb_col_copy(st, i + 8, p->last_at, sizeof(p->last_at));
	logdb_col_copy(st, i + 9, p->last_job, sizeof(p->last_job));
}

int
logdb_get_patterns(struct logdb *db, struct logdb_pattern *out, size_t max, size_t *n)
{
	struct sqldb_stmt *st;
	int rc = SQLDB_DONE, result = -1;

	*n = 0;
	logdb_lock(db);
	if ((st = logdb_stmt(db, S_PATTERNS_GET)) == NULL)
		goto out;
	sqldb_bind_int64(st, 1, (int64_t)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqldb_step(st)) == SQLDB_ROW)
		pattern_read(st, 0, &out[(*n)++]);
	if (*n < max && rc != SQLDB_DONE)
		logdb_warn(db, "patterns");
	else
		result = 0;
	sqldb_reset(st);
out:
	logdb_unlock(db);
	return result;
}

int
logdb_get_lessons(struct logdb *db, struct logdb_lesson *out, size_t max, size_t *n)
{
	struct sqldb_stmt *st;
	int rc = SQLDB_DONE, result = -1;

	*n = 0;
	logdb_lock(db);
	if ((st = logdb_stmt(db, S_LESSONS_GET)) == NULL)
		goto out;
	sqldb_bind_int64(st, 1, (int64_t)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqldb_step(st)) == SQLDB_ROW) {
		struct logdb_lesson *l = &out[(*n)++];
		pattern_read(st, 0, &l->pattern);
		logdb_col_copy(st, 10, l->change, sizeof(l->change));
		l->n = sqldb_column_int64(st, 11);
		l->example_fail_id = sqldb_column_int64(st, 12);
		l->example_fix_id = sqldb_column_int64(st, 13);
	}
	if (*n < max && rc != SQLDB_DONE)
		logdb_warn(db, "lessons");
	else
		result = 0;
	sqldb_reset(st);
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

/* "…" marks where an excerpt was cut. */
#define MARK "\xe2\x80\xa6"
#define MARK_LEN 3

/* Cuts the string *s (len bytes) to its head of at most max bytes, "…"
 * included, on a character boundary. */
static void
cut_head(char *s, size_t len, size_t max)
{
	size_t n;

	if (s == NULL || len <= max)
		return;
	n = logdb_excerpt_len(s, len, max - MARK_LEN);
	memcpy(s + n, MARK, MARK_LEN);
	s[n + MARK_LEN] = '\0';
}

/* Cuts the string s (len bytes) to its tail of at most max bytes, "…"
 * first, starting on a character boundary. */
static void
cut_tail(char *s, size_t len, size_t max)
{
	size_t start;

	if (s == NULL || len <= max)
		return;
	start = len - (max - MARK_LEN);
	while (start < len && ((unsigned char)s[start] & 0xC0) == 0x80)
		start++;
	memmove(s + MARK_LEN, s + start, len - start + 1);
	memcpy(s, MARK, MARK_LEN);
}

/* Returns a malloc'd copy of text column i (NULL for SQL NULL), its head
 * (tail < 0: its tail) cut to max bytes when max > 0; sets *oom when memory
 * ran out. */
static char *
col_text(struct sqldb_stmt *st, int i, size_t max, int tail, int *oom)
{
	size_t len = 0;
	char *s = logdb_col_dup(st, i, &len, oom);

	if (max > 0) {
		if (tail)
			cut_tail(s, len, max);
		else
			cut_head(s, len, max);
	}
	return s;
}

/* Reads the code (column 6) and its size (column 33) into run: whole, or
 * in a page (in a session past its budget) its head. */
static void
code_read(struct sqldb_stmt *st, struct logdb_run *run, enum run_mode mode, int *oom)
{
	struct run_record *r = &run->rec;

	r->code = logdb_col_dup(st, 6, &r->code_len, oom);
	run->code_bytes = sqldb_column_null(st, 33) ?
	    (r->code ? (int64_t)r->code_len : -1) : sqldb_column_int64(st, 33);
	run->code_whole = r->code != NULL && (int64_t)r->code_len == run->code_bytes;
	if (r->code != NULL && mode != RUN_WHOLE && (mode == RUN_PAGE || !run->code_whole) &&
	    r->code_len > LOGDB_EXCERPT_CODE) {
		r->code_len = logdb_excerpt_len(r->code, r->code_len, LOGDB_EXCERPT_CODE);
		((char *)r->code)[r->code_len] = '\0';
		run->code_whole = 0;
	}
}

int
logdb_run_read(struct sqldb_stmt *st, struct logdb_run *run, enum run_mode mode)
{
	struct run_record *r = &run->rec;
	size_t text = mode == RUN_WHOLE ? 0 : LOGDB_EXCERPT_TEXT;
	size_t stream = mode == RUN_WHOLE ? 0 : LOGDB_EXCERPT_STREAM;
	int oom = 0;

	memset(run, 0, sizeof(*run));
	record_init(r);
	run->whole = mode == RUN_WHOLE;
	run->id = sqldb_column_int64(st, 0);
	logdb_col_copy(st, 1, run->created_at, sizeof(run->created_at));
	r->session_id = logdb_col_dup(st, 2, NULL, &oom);
	run->attempt = sqldb_column_int(st, 3);
	r->job_id = logdb_col_dup(st, 4, NULL, &oom);
	r->previous_attempt_id = sqldb_column_int64(st, 5);
	code_read(st, run, mode, &oom);
	logdb_col_copy(st, 7, run->code_sha256, sizeof(run->code_sha256));
	r->params = col_text(st, 8, text, 0, &oom);
	r->image_type = logdb_col_dup(st, 9, NULL, &oom);
	r->image_bytes = sqldb_column_int64(st, 10);
	r->image_width = sqldb_column_int(st, 11);
	r->image_height = sqldb_column_int(st, 12);
	r->use_sample = sqldb_column_int(st, 13);
	r->user_prompt = col_text(st, 14, text, 0, &oom);
	r->ai_model = logdb_col_dup(st, 15, NULL, &oom);
	r->status = logdb_col_dup(st, 16, NULL, &oom);
	r->http_status = sqldb_column_int(st, 17);
	r->exit_code = sqldb_column_null(st, 18) ? -1 :
	    sqldb_column_int(st, 18);
	r->duration_ms = sqldb_column_int64(st, 19);
	r->stdout_text = col_text(st, 20, stream, 0, &oom);
	r->stderr_text = col_text(st, 21, stream, 1, &oom);
	r->truncated = sqldb_column_int(st, 22);
	r->error_type = logdb_col_dup(st, 23, NULL, &oom);
	r->error_message = col_text(st, 24, text, 0, &oom);
	r->error_line = sqldb_column_int(st, 25);
	r->traceback = col_text(st, 26, text, 1, &oom);
	r->reject_code = logdb_col_dup(st, 27, NULL, &oom);
	r->reject_message = col_text(st, 28, text, 0, &oom);
	r->timings_json = logdb_col_dup(st, 29, NULL, &oom);
	logdb_col_copy(st, 30, run->category, sizeof(run->category));
	logdb_col_copy(st, 31, run->pattern, sizeof(run->pattern));
	run->fixed_by = sqldb_column_int64(st, 32);
	r->ai_lessons = sqldb_column_int(st, 34);
	return oom ? -1 : 0;
}

int
logdb_get_run(struct logdb *db, int64_t id, struct logdb_run *out)
{
	struct sqldb_stmt *st;
	int rc, result = -1;

	memset(out, 0, sizeof(*out));
	logdb_lock(db);
	if ((st = logdb_stmt(db, S_RUN_GET)) == NULL)
		goto out;
	sqldb_bind_int64(st, 1, id);
	rc = sqldb_step(st);
	if (rc == SQLDB_DONE)
		result = 0;
	else if (rc != SQLDB_ROW)
		logdb_warn(db, "run");
	else if (logdb_run_read(st, out, RUN_WHOLE) < 0) {
		log_warnx("logdb: run: out of memory");
		logdb_run_free(out);
	} else
		result = 1;
	sqldb_reset(st);
out:
	logdb_unlock(db);
	return result;
}

/* Reads up to max rows of a bound statement into a malloc'd array. Returns
 * 0 with *out and *n, or -1 (nothing to free). */
static int
runs_collect(struct logdb *db, struct sqldb_stmt *st, size_t max, enum run_mode mode,
    struct logdb_run **out, size_t *n)
{
	struct logdb_run *runs = NULL;
	size_t cap = 0, k = 0;
	int rc = SQLDB_DONE;

	*out = NULL;
	*n = 0;
	while (k < max && (rc = sqldb_step(st)) == SQLDB_ROW) {
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
		if (logdb_run_read(st, &runs[k], mode) < 0) {
			logdb_run_free(&runs[k]);
			goto oom;
		}
		k++;
	}
	sqldb_reset(st);
	if (k < max && rc != SQLDB_DONE) {
		logdb_warn(db, "runs");
		logdb_runs_free(runs, k);
		return -1;
	}
	*out = runs;
	*n = k;
	return 0;
oom:
	sqldb_reset(st);
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
	struct sqldb_stmt *st;
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
	sqldb_bind_int64(st, 1, before > 0 ? before : INT64_MAX);
	sqldb_bind_int64(st, 2, (int64_t)limit);
	rc = runs_collect(db, st, limit, RUN_PAGE, out, n);
out:
	logdb_unlock(db);
	return rc;
}

int
logdb_get_session(struct logdb *db, const char *session_id, int64_t after, size_t max,
    struct logdb_run **out, size_t *n, int64_t *total)
{
	struct sqldb_stmt *st;
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
		sqldb_bind_text(st, 1, session_id);
		step = sqldb_step(st);
		if (step == SQLDB_ROW)
			*total = sqldb_column_int64(st, 0);
		sqldb_reset(st);
		if (step != SQLDB_ROW && step != SQLDB_DONE) {
			logdb_warn(db, "session");
			goto out;
		}
	}
	if ((st = logdb_stmt(db, S_SESSION_RUNS)) == NULL)
		goto out;
	sqldb_bind_text(st, 1, session_id);
	sqldb_bind_int64(st, 2, after > 0 ? after : 0);
	sqldb_bind_int64(st, 3, (int64_t)max);
	rc = runs_collect(db, st, max, RUN_SESSION, out, n);
out:
	logdb_unlock(db);
	return rc;
}

/* Rows are read a page at a time (by id, inside the one snapshot), so
 * that a driver that takes a whole result at once holds only a page. */
#define FOREACH_PAGE 64

int
logdb_foreach(struct logdb *db, int (*fn)(const struct logdb_run *run, void *arg), void *arg)
{
	struct logdb_run *runs = NULL;
	struct sqldb_stmt *st;
	int64_t after = 0;
	size_t n = 0, i;
	int rc = 0;

	if (logdb_read_begin(db) < 0)
		return -1;
	do {
		if ((st = logdb_stmt(db, S_FOREACH)) == NULL) {
			rc = -1;
			break;
		}
		sqldb_bind_int64(st, 1, after);
		sqldb_bind_int64(st, 2, FOREACH_PAGE);
		if (runs_collect(db, st, FOREACH_PAGE, RUN_WHOLE, &runs, &n) < 0) {
			log_warnx("logdb: export failed");
			rc = -1;
			break;
		}
		for (i = 0; i < n && rc == 0; i++)
			rc = fn(&runs[i], arg);
		if (n > 0)
			after = runs[n - 1].id;
		logdb_runs_free(runs, n);
	} while (rc == 0 && n == FOREACH_PAGE);
	logdb_read_end(db);
	return rc;
}

/* Reads the figures of one model into m (its name set). Returns 0 or -1. */
static int
model_read(struct logdb *db, struct logdb_model *m)
{
	struct logdb_model_part *p;
	struct sqldb_stmt *st;
	int rc, k, a;

	if ((st = logdb_stmt(db, S_MODEL_PARTS)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, m->model);
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		if ((k = sqldb_column_int(st, 0) + 1) < 0 || k > 2)
			continue;
		p = &m->part[k];
		p->runs = sqldb_column_int64(st, 1);
		p->failures = sqldb_column_int64(st, 2);
		p->fixed = sqldb_column_int64(st, 3);
		p->sessions = sqldb_column_int64(st, 4);
		p->first_ok = sqldb_column_int64(st, 5);
		p->succeeded = sqldb_column_int64(st, 6);
		p->attempts_sum = sqldb_column_int64(st, 7);
	}
	sqldb_reset(st);
	if (rc != SQLDB_DONE || (st = logdb_stmt(db, S_MODEL_HIST)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, m->model);
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		k = sqldb_column_int(st, 0) + 1;
		a = sqldb_column_int(st, 1);
		if (k >= 0 && k <= 2 && a >= 0 && a <= LOGDB_ATTEMPTS_CAP)
			m->part[k].hist[a] += sqldb_column_int64(st, 2);
	}
	sqldb_reset(st);
	return rc == SQLDB_DONE ? 0 : -1;
}

int
logdb_get_models(struct logdb *db, struct logdb_model *out, size_t max, size_t *n)
{
	struct sqldb_stmt *st;
	int rc = SQLDB_DONE, result = -1;
	size_t i;

	*n = 0;
	if (logdb_read_begin(db) < 0)
		return -1;
	if ((st = logdb_stmt(db, S_MODELS_TOP)) == NULL)
		goto out;
	sqldb_bind_int64(st, 1, (int64_t)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqldb_step(st)) == SQLDB_ROW) {
		memset(&out[*n], 0, sizeof(out[*n]));
		logdb_col_copy(st, 0, out[*n].model, sizeof(out[*n].model));
		(*n)++;
	}
	sqldb_reset(st);
	if (*n < max && rc != SQLDB_DONE)
		goto out;
	for (i = 0; i < *n; i++)
		if (model_read(db, &out[i]) < 0)
			goto out;
	result = 0;
out:
	if (result < 0) {
		logdb_warn(db, "models");
		*n = 0;
	}
	logdb_read_end(db);
	return result;
}
