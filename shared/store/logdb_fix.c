/*
 * logdb_fix: what a success does to the failures before it in its session.
 * Each unfixed one is marked fixed by it, in its row and in every aggregate
 * that counted it (its pattern, category, day, model), and the changes the
 * fix made to its code are kept as lessons. Failures that retention already
 * let go are found by their facts in retired_unfixed. Runs inside the
 * insert's transaction (logdb_write.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/codediff.h"
#include "store/logdb_internal.h"

#define LESSONS_PER_FIX 8	/* failures of one fix whose code is compared */
#define CHANGES_PER_FAILURE 8

/* What marking one failure fixed needs of it. */
struct earlier {
	int64_t id;			/* its row; 0: let go by retention */
	int attempt, failure, fixed, lessons;
	char category[RECORD_CATEGORY_MAX], type[RECORD_TYPE_MAX];
	char pattern[RECORD_PATTERN_MAX], day[11], model[136];
	char *code;
	size_t code_len;
};

/* Reads the attempt of session sid just before attempt `before`. Returns 1
 * with e filled (e->code malloc'd, the caller frees it), 0 when there is
 * none, -1 on error. */
static int
earlier_get(struct logdb *db, const char *sid, int before, struct earlier *e)
{
	struct sqldb_stmt *st;
	int rc, oom = 0;

	if ((st = logdb_stmt(db, S_PREVIOUS)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, sid);
	sqldb_bind_int64(st, 2, before);
	rc = sqldb_step(st);
	if (rc == SQLDB_DONE) {
		sqldb_reset(st);
		return 0;
	}
	if (rc != SQLDB_ROW) {
		logdb_warn(db, "previous attempt");
		sqldb_reset(st);
		return -1;
	}
	memset(e, 0, sizeof(*e));
	e->id = sqldb_column_int64(st, 0);
	e->attempt = sqldb_column_int(st, 1);
	e->failure = sqldb_column_int(st, 2);
	e->fixed = !sqldb_column_null(st, 3);
	logdb_col_copy(st, 4, e->category, sizeof(e->category));
	logdb_col_copy(st, 5, e->type, sizeof(e->type));
	logdb_col_copy(st, 6, e->pattern, sizeof(e->pattern));
	logdb_col_copy(st, 7, e->day, sizeof(e->day));
	logdb_col_copy(st, 8, e->model, sizeof(e->model));
	e->code = logdb_col_dup(st, 9, &e->code_len, &oom);
	e->lessons = sqldb_column_int(st, 10);
	sqldb_reset(st);
	return oom ? -1 : 1;
}

/* Records what a fix changed against one failure it fixed. Returns 0/-1. */
static int
lessons_add(struct logdb *db, int64_t pattern_id, const struct earlier *e, int64_t fix_id,
    const char *fix_code, size_t fix_len)
{
	char changes[CHANGES_PER_FAILURE][RECORD_CHANGE_MAX];
	struct sqldb_stmt *st;
	size_t n, i;

	if (e->code == NULL || fix_code == NULL)
		return 0;
	n = codediff_fix_changes(e->code, e->code_len, fix_code, fix_len, e->category,
	    e->pattern, changes, CHANGES_PER_FAILURE);
	for (i = 0; i < n; i++) {
		if ((st = logdb_stmt(db, S_LESSON_ADD)) == NULL)
			return -1;
		sqldb_bind_int64(st, 1, pattern_id);
		sqldb_bind_text(st, 2, changes[i]);
		sqldb_bind_int64(st, 3, e->id);
		sqldb_bind_int64(st, 4, fix_id);
		if (logdb_step_done(db, st, "lesson") < 0)
			return -1;
	}
	return 0;
}

/* Adds one fixed failure to the count (kind, key). Returns 0, or -1. */
static int
count_fix(struct logdb *db, const char *kind, const char *key)
{
	struct sqldb_stmt *st;

	if ((st = logdb_stmt(db, S_COUNT_FIX)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, kind);
	sqldb_bind_text(st, 2, key);
	return logdb_step_done(db, st, "counts fix");
}

/* Adds one fixed failure to its model's figures. Returns 0, or -1. */
static int
model_fix(struct logdb *db, const char *model, int lessons)
{
	struct sqldb_stmt *st;

	if (model[0] == '\0')
		return 0;
	if ((st = logdb_stmt(db, S_MODEL_FIX)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, model);
	sqldb_bind_int64(st, 2, lessons);
	return logdb_step_done(db, st, "model fix");
}

/* Marks one earlier failure fixed by fix_id, in its row (when it still has
 * one) and every aggregate. Returns 0/-1. */
static int
fix_one(struct logdb *db, const struct earlier *e, int64_t fix_id, int with_lessons,
    const char *fix_code, size_t fix_len)
{
	struct sqldb_stmt *st;
	int64_t pattern_id = 0;
	int rc;

	if (e->id > 0) {
		if ((st = logdb_stmt(db, S_RUN_FIX)) == NULL)
			return -1;
		sqldb_bind_int64(st, 1, fix_id);
		sqldb_bind_int64(st, 2, e->id);
		if (logdb_step_done(db, st, "fix") < 0)
			return -1;
	}
	if ((st = logdb_stmt(db, S_PATTERN_FIX)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, e->category);
	sqldb_bind_text(st, 2, e->type);
	sqldb_bind_text(st, 3, e->pattern);
	while ((rc = sqldb_step(st)) == SQLDB_ROW)
		pattern_id = sqldb_column_int64(st, 0);
	sqldb_reset(st);
	if (rc != SQLDB_DONE) {
		logdb_warn(db, "pattern fix");
		return -1;
	}
	if (count_fix(db, "category", e->category) < 0 || count_fix(db, "day", e->day) < 0 ||
	    count_fix(db, "model", e->model) < 0 || model_fix(db, e->model, e->lessons) < 0)
		return -1;
	if (with_lessons && pattern_id > 0)
		return lessons_add(db, pattern_id, e, fix_id, fix_code, fix_len);
	return 0;
}

/* Marks the failures of session sid before `attempt` that retention let go
 * unfixed as fixed by fix_id, and forgets them; adds how many to *fixed.
 * Returns 0/-1. */
static int
fix_retired(struct logdb *db, const char *sid, int attempt, int64_t fix_id, int64_t *fixed)
{
	struct earlier *v = NULL, *t;
	struct sqldb_stmt *st;
	size_t n = 0, cap = 0, i;
	int rc = -1, step;

	if ((st = logdb_stmt(db, S_STUBS_GET)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, sid);
	sqldb_bind_int64(st, 2, attempt);
	while ((step = sqldb_step(st)) == SQLDB_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((t = realloc(v, cap * sizeof(*v))) == NULL) {
				sqldb_reset(st);
				goto out;
			}
			v = t;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].attempt = sqldb_column_int(st, 0);
		logdb_col_copy(st, 1, v[n].category, sizeof(v[n].category));
		logdb_col_copy(st, 2, v[n].type, sizeof(v[n].type));
		logdb_col_copy(st, 3, v[n].pattern, sizeof(v[n].pattern));
		logdb_col_copy(st, 4, v[n].day, sizeof(v[n].day));
		logdb_col_copy(st, 5, v[n].model, sizeof(v[n].model));
		v[n++].lessons = sqldb_column_int(st, 6);
	}
	if (step != SQLDB_DONE)
		logdb_warn(db, "retired failures");
	sqldb_reset(st);
	if (step != SQLDB_DONE)
		goto out;
	for (i = 0; i < n; i++)
		if (fix_one(db, &v[i], fix_id, 0, NULL, 0) < 0)
			goto out;
	*fixed += (int64_t)n;
	if (n > 0) {
		if ((st = logdb_stmt(db, S_STUBS_DEL)) == NULL)
			goto out;
		sqldb_bind_text(st, 1, sid);
		sqldb_bind_int64(st, 2, attempt);
		if (logdb_step_done(db, st, "retired failures") < 0)
			goto out;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

/* Walks back from the newest and stops at the first success or fixed
 * failure (all older ones were settled then); when the rows run out first,
 * the failures retention let go are next. */
int
logdb_fix_earlier(struct logdb *db, const char *sid, int attempt, int64_t fix_id,
    const struct run_record *rec, int64_t *fixed)
{
	struct earlier e;
	int cur = attempt, rc;

	*fixed = 0;
	for (;;) {
		if ((rc = earlier_get(db, sid, cur, &e)) < 0)
			return -1;
		if (rc == 0)
			return fix_retired(db, sid, cur, fix_id, fixed);
		if (!e.failure || e.fixed) {
			free(e.code);
			return 0;
		}
		rc = fix_one(db, &e, fix_id, *fixed < LESSONS_PER_FIX, rec->code, rec->code_len);
		free(e.code);
		if (rc < 0)
			return -1;
		(*fixed)++;
		cur = e.attempt;
	}
}

/* The lessons are made the way insert makes them: the LESSONS_PER_FIX
 * newest failures of each fix. */
int
logdb_backfill_lessons(struct logdb *db)
{
	static const char sql[] =
	    "SELECT id, fixed_by, category, COALESCE(error_type, ''), pattern, code, fix_code"
	    " FROM (SELECT f.id, f.fixed_by, f.category, f.error_type, f.pattern, f.code,"
	    " s.code AS fix_code, ROW_NUMBER() OVER (PARTITION BY f.fixed_by ORDER BY f.id DESC)"
	    " AS k FROM runs f JOIN runs s ON s.id = f.fixed_by WHERE f.is_failure = 1"
	    " AND f.fixed_by IS NOT NULL) AS fixes WHERE k <= $1 ORDER BY id";
	struct sqldb_stmt *st = NULL, *pst = NULL;
	struct earlier e;
	const char *fix;
	size_t fix_len;
	int rc, result = -1;

	if ((st = sqldb_prepare(db->db, sql)) == NULL ||
	    (pst = sqldb_prepare(db->db, "SELECT id FROM patterns WHERE category = $1 AND"
	    " error_type = $2 AND pattern = $3")) == NULL)
		goto out;
	sqldb_bind_int64(st, 1, LESSONS_PER_FIX);
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		memset(&e, 0, sizeof(e));
		e.id = sqldb_column_int64(st, 0);
		logdb_col_copy(st, 2, e.category, sizeof(e.category));
		logdb_col_copy(st, 3, e.type, sizeof(e.type));
		logdb_col_copy(st, 4, e.pattern, sizeof(e.pattern));
		e.code = (char *)sqldb_column_text(st, 5);
		e.code_len = (size_t)sqldb_column_bytes(st, 5);
		fix = (const char *)sqldb_column_text(st, 6);
		fix_len = (size_t)sqldb_column_bytes(st, 6);
		sqldb_reset(pst);
		sqldb_bind_text(pst, 1, e.category);
		sqldb_bind_text(pst, 2, e.type);
		sqldb_bind_text(pst, 3, e.pattern);
		if (sqldb_step(pst) == SQLDB_ROW &&
		    lessons_add(db, sqldb_column_int64(pst, 0), &e,
		    sqldb_column_int64(st, 1), fix, fix_len) < 0)
			goto out;
	}
	if (rc == SQLDB_DONE)
		result = 0;
out:
	if (result < 0)
		logdb_warn(db, "lessons backfill");
	sqldb_finalize(st);
	sqldb_finalize(pst);
	return result;
}
