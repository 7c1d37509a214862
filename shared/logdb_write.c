/*
 * logdb_write: insert. A record is prepared before the write lock (its
 * time, its code's hash, the error parsed from a raw traceback, its
 * category and pattern), then written in one BEGIN IMMEDIATE transaction
 * with every aggregate it changes: counts, its session, its pattern, the
 * totals, and when it is a success, the earlier failures of its session it
 * fixed, with the lessons of what the fix changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "classify.h"
#include "clock.h"
#include "codediff.h"
#include "log.h"
#include "logdb_internal.h"
#include "sha256.h"
#include "traceback.h"

#define LESSONS_PER_FIX 8	/* failures of one fix whose code is compared */
#define CHANGES_PER_FAILURE 8
#define MESSAGE_MAX 8192	/* of a message parsed from a raw traceback */

/* What is worked out about a record before its transaction starts. */
struct prepared {
	char created_at[CLOCK_ISO_MAX];
	char day[11];
	char sha[SHA256_HEX_MAX];
	char type[RECORD_TYPE_MAX];	/* the error type, given or parsed */
	const char *error_type;		/* NULL or type */
	char *message;			/* parsed from a raw traceback (freed), or NULL */
	const char *error_message;	/* given, or message */
	int error_line;
	int failure;
	int ran;			/* reached the sandbox (not rejected) */
	int64_t duration;		/* ms, 0 when negative */
	struct record_class cls;
};

/* Fills p from rec: time, hash, and when the record has no error type but
 * a traceback or stderr holds one, the parsed type, message and line.
 * Returns 0, or -1 when memory ran out. The caller frees p->message. */
static int
prepare(struct logdb *db, const struct run_record *rec, struct prepared *p)
{
	struct run_record eff;
	struct tb_facts f;
	const char *text;
	size_t len;

	memset(p, 0, sizeof(*p));
	clock_iso8601(logdb_now_ms(db), p->created_at);
	memcpy(p->day, p->created_at, 10);
	p->day[10] = '\0';
	if (rec->code != NULL)
		sha256_hex(rec->code, rec->code_len, p->sha);
	p->failure = strcmp(rec->status, "success") != 0;
	p->ran = strcmp(rec->status, "rejected") != 0;
	p->duration = rec->duration_ms > 0 ? rec->duration_ms : 0;
	p->error_type = rec->error_type;
	p->error_message = rec->error_message;
	p->error_line = rec->error_line;
	if (rec->error_type == NULL && strcmp(rec->status, "error") == 0) {
		text = rec->traceback ? rec->traceback : rec->stderr_text;
		if (text != NULL && traceback_parse(text, strlen(text), &f)) {
			snprintf(p->type, sizeof(p->type), "%s", f.type);
			p->error_type = p->type;
			if (rec->error_message == NULL) {
				len = f.message_len < MESSAGE_MAX ? f.message_len : MESSAGE_MAX;
				if ((p->message = malloc(len + 1)) == NULL)
					return -1;
				memcpy(p->message, f.message, len);
				p->message[len] = '\0';
				p->error_message = p->message;
			}
			if (p->error_line <= 0)
				p->error_line = f.line;
		}
	}
	eff = *rec;
	eff.error_type = p->error_type;
	eff.error_message = p->error_message;
	classify_record(&eff, &p->cls);
	return 0;
}

/* Adds row id (a failure or not) to the count (kind, key). Returns 0, or -1
 * (logged). */
static int
count_add(struct logdb *db, const char *kind, const char *key, int failure, int64_t id,
    const char *at)
{
	sqlite3_stmt *st;

	if ((st = logdb_stmt(db, S_COUNT_ADD)) == NULL)
		return -1;
	logdb_bind_text(st, 1, kind);
	logdb_bind_text(st, 2, key);
	sqlite3_bind_int(st, 3, failure);
	sqlite3_bind_int64(st, 4, id);
	logdb_bind_text(st, 5, at);
	return logdb_step_done(db, st, "counts");
}

/* Adds one fixed failure to the count (kind, key). Returns 0, or -1. */
static int
count_fix(struct logdb *db, const char *kind, const char *key)
{
	sqlite3_stmt *st;

	if ((st = logdb_stmt(db, S_COUNT_FIX)) == NULL)
		return -1;
	logdb_bind_text(st, 1, kind);
	logdb_bind_text(st, 2, key);
	return logdb_step_done(db, st, "counts fix");
}

/* What marking one failure fixed needs of its row. */
struct earlier {
	int64_t id;
	int attempt, failure, fixed;
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
	sqlite3_stmt *st;
	int rc, oom = 0;

	if ((st = logdb_stmt(db, S_PREVIOUS)) == NULL)
		return -1;
	logdb_bind_text(st, 1, sid);
	sqlite3_bind_int(st, 2, before);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		logdb_warn(db, "previous attempt");
		sqlite3_reset(st);
		return -1;
	}
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, 0);
	e->attempt = sqlite3_column_int(st, 1);
	e->failure = sqlite3_column_int(st, 2);
	e->fixed = sqlite3_column_type(st, 3) != SQLITE_NULL;
	logdb_col_copy(st, 4, e->category, sizeof(e->category));
	logdb_col_copy(st, 5, e->type, sizeof(e->type));
	logdb_col_copy(st, 6, e->pattern, sizeof(e->pattern));
	logdb_col_copy(st, 7, e->day, sizeof(e->day));
	logdb_col_copy(st, 8, e->model, sizeof(e->model));
	e->code = logdb_col_dup(st, 9, &e->code_len, &oom);
	sqlite3_reset(st);
	return oom ? -1 : 1;
}

/* Records what a fix changed against one failure it fixed. Returns 0/-1. */
static int
lessons_add(struct logdb *db, int64_t pattern_id, const struct earlier *e, int64_t fix_id,
    const char *fix_code, size_t fix_len)
{
	char changes[CHANGES_PER_FAILURE][RECORD_CHANGE_MAX];
	sqlite3_stmt *st;
	size_t n, i;

	if (e->code == NULL || fix_code == NULL)
		return 0;
	n = codediff_fix_changes(e->code, e->code_len, fix_code, fix_len, e->category,
	    e->pattern, changes, CHANGES_PER_FAILURE);
	for (i = 0; i < n; i++) {
		if ((st = logdb_stmt(db, S_LESSON_ADD)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, pattern_id);
		logdb_bind_text(st, 2, changes[i]);
		sqlite3_bind_int64(st, 3, e->id);
		sqlite3_bind_int64(st, 4, fix_id);
		if (logdb_step_done(db, st, "lesson") < 0)
			return -1;
	}
	return 0;
}

/* Marks one earlier failure fixed by fix_id, in the row and every count.
 * Returns 0/-1. */
static int
fix_one(struct logdb *db, const struct earlier *e, int64_t fix_id, int with_lessons,
    const char *fix_code, size_t fix_len)
{
	sqlite3_stmt *st;
	int64_t pattern_id = 0;
	int rc;

	if ((st = logdb_stmt(db, S_RUN_FIX)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, fix_id);
	sqlite3_bind_int64(st, 2, e->id);
	if (logdb_step_done(db, st, "fix") < 0)
		return -1;
	if ((st = logdb_stmt(db, S_PATTERN_FIX)) == NULL)
		return -1;
	logdb_bind_text(st, 1, e->category);
	logdb_bind_text(st, 2, e->type);
	logdb_bind_text(st, 3, e->pattern);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		pattern_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		logdb_warn(db, "pattern fix");
		return -1;
	}
	if (count_fix(db, "category", e->category) < 0 || count_fix(db, "day", e->day) < 0 ||
	    count_fix(db, "model", e->model) < 0)
		return -1;
	if (with_lessons && pattern_id > 0)
		return lessons_add(db, pattern_id, e, fix_id, fix_code, fix_len);
	return 0;
}

/* Marks every unfixed failure of the session before `attempt` fixed by
 * fix_id: walks back from the newest and stops at the first success or
 * fixed failure (all older ones were settled then). Sets *fixed to how
 * many. Returns 0/-1. */
static int
fix_earlier(struct logdb *db, const char *sid, int attempt, int64_t fix_id,
    const struct run_record *rec, int64_t *fixed)
{
	struct earlier e;
	int cur = attempt, rc;

	*fixed = 0;
	for (;;) {
		if ((rc = earlier_get(db, sid, cur, &e)) <= 0)
			return rc;
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

/* A session's counts before a row of it goes in. */
struct session_so_far {
	int have;			/* the session has rows already */
	int64_t attempts, failures, unfixed;
};

/* Reads the counts of session sid into s (zero when it has none).
 * Returns 0, or -1 (logged). */
static int
session_get(struct logdb *db, const char *sid, struct session_so_far *s)
{
	sqlite3_stmt *st;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((st = logdb_stmt(db, S_SESSION_GET)) == NULL)
		return -1;
	logdb_bind_text(st, 1, sid);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s->have = 1;
		s->attempts = sqlite3_column_int64(st, 0);
		s->failures = sqlite3_column_int64(st, 1);
		s->unfixed = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		logdb_warn(db, "session");
		return -1;
	}
	return 0;
}

/* Inserts the row of rec as the given attempt and sets *id. Returns 0, or
 * -1 (logged). */
static int
row_insert(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    int attempt, int64_t *id)
{
	sqlite3_stmt *st;

	if ((st = logdb_stmt(db, S_RUN_INSERT)) == NULL)
		return -1;
	logdb_bind_text(st, 1, p->created_at);
	logdb_bind_text(st, 2, rec->session_id);
	sqlite3_bind_int(st, 3, attempt);
	logdb_bind_text(st, 4, rec->job_id);
	if (rec->previous_attempt_id > 0)
		sqlite3_bind_int64(st, 5, rec->previous_attempt_id);
	if (rec->code != NULL) {
		sqlite3_bind_text64(st, 6, rec->code, rec->code_len, SQLITE_STATIC, SQLITE_UTF8);
		logdb_bind_text(st, 7, p->sha);
	}
	logdb_bind_text(st, 8, rec->params);
	logdb_bind_text(st, 9, rec->image_type);
	if (rec->image_type != NULL || rec->image_bytes > 0) {
		sqlite3_bind_int64(st, 10, rec->image_bytes);
		sqlite3_bind_int(st, 11, rec->image_width);
		sqlite3_bind_int(st, 12, rec->image_height);
	}
	sqlite3_bind_int(st, 13, rec->use_sample != 0);
	logdb_bind_text(st, 14, rec->user_prompt);
	logdb_bind_text(st, 15, rec->ai_model);
	logdb_bind_text(st, 16, rec->status);
	sqlite3_bind_int(st, 17, rec->http_status);
	if (rec->exit_code >= 0)
		sqlite3_bind_int(st, 18, rec->exit_code);
	sqlite3_bind_int64(st, 19, rec->duration_ms);
	logdb_bind_text(st, 20, rec->stdout_text);
	logdb_bind_text(st, 21, rec->stderr_text);
	sqlite3_bind_int(st, 22, rec->truncated != 0);
	logdb_bind_text(st, 23, p->error_type);
	logdb_bind_text(st, 24, p->error_message);
	if (p->error_line > 0)
		sqlite3_bind_int(st, 25, p->error_line);
	logdb_bind_text(st, 26, rec->traceback);
	logdb_bind_text(st, 27, rec->reject_code);
	logdb_bind_text(st, 28, rec->reject_message);
	logdb_bind_text(st, 29, rec->timings_json);
	if (p->failure) {
		logdb_bind_text(st, 30, p->cls.category);
		logdb_bind_text(st, 31, p->cls.pattern);
	}
	sqlite3_bind_int(st, 32, p->failure);
	if (logdb_step_done(db, st, "insert") < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(db->db);
	return 0;
}

/* Adds failure row id to its pattern and sets *pattern_n to the pattern's
 * count after. Returns 0, or -1 (logged). */
static int
pattern_add(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    int64_t id, int64_t *pattern_n)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = logdb_stmt(db, S_PATTERN_ADD)) == NULL)
		return -1;
	logdb_bind_text(st, 1, p->cls.category);
	logdb_bind_text(st, 2, p->error_type ? p->error_type : "");
	logdb_bind_text(st, 3, p->cls.pattern);
	sqlite3_bind_int64(st, 4, id);
	logdb_bind_text(st, 5, p->created_at);
	logdb_bind_text(st, 6, rec->job_id ? rec->job_id : "");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*pattern_n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		logdb_warn(db, "pattern");
		return -1;
	}
	return 0;
}

/* Adds row id to the counts by status, day, model, duration (rows that
 * ran) and, for a failure, to its pattern and category; sets *pattern_n
 * (left alone for a success). Returns 0, or -1 (logged). */
static int
counts_add(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    int64_t id, int64_t *pattern_n)
{
	const char *at = p->created_at;
	char key[8];

	if (p->failure && (pattern_add(db, rec, p, id, pattern_n) < 0 ||
	    count_add(db, "category", p->cls.category, 1, id, at) < 0))
		return -1;
	snprintf(key, sizeof(key), "%02d", logdb_duration_bucket(p->duration));
	if (count_add(db, "status", rec->status, p->failure, id, at) < 0 ||
	    count_add(db, "day", p->day, p->failure, id, at) < 0 ||
	    count_add(db, "model", rec->ai_model ? rec->ai_model : "", p->failure, id, at) < 0 ||
	    (p->ran && count_add(db, "dur", key, p->failure, id, at) < 0))
		return -1;
	return 0;
}

/* Adds row id to its session's counts. Returns 0, or -1 (logged). */
static int
session_put(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    int64_t id)
{
	sqlite3_stmt *st;

	if ((st = logdb_stmt(db, S_SESSION_PUT)) == NULL)
		return -1;
	logdb_bind_text(st, 1, rec->session_id);
	sqlite3_bind_int(st, 2, p->failure);
	sqlite3_bind_int64(st, 3, id);
	logdb_bind_text(st, 4, rec->status);
	return logdb_step_done(db, st, "session");
}

/* Adds the row to the running totals: s is its session before it, fixed
 * the failures it fixed, pattern_n its pattern's count after (1: a new
 * pattern). Returns 0, or -1 (logged). */
static int
totals_add(struct logdb *db, const struct prepared *p, const struct session_so_far *s,
    int64_t fixed, int64_t pattern_n)
{
	sqlite3_stmt *st;

	if ((st = logdb_stmt(db, S_TOTALS_ADD)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, !p->failure);
	sqlite3_bind_int(st, 2, p->failure);
	sqlite3_bind_int64(st, 3, fixed);
	sqlite3_bind_int(st, 4, p->ran);
	sqlite3_bind_int64(st, 5, p->ran ? p->duration : 0);
	sqlite3_bind_int(st, 6, !s->have);
	sqlite3_bind_int(st, 7, p->failure && s->failures == 0);
	sqlite3_bind_int(st, 8, p->failure ? s->unfixed == 0 : -(s->unfixed > 0));
	sqlite3_bind_int(st, 9, pattern_n == 1);
	logdb_bind_text(st, 10, p->created_at);
	return logdb_step_done(db, st, "totals");
}

/* Inserts one prepared record inside the caller's transaction: the row,
 * the aggregates, and a success marks the session's earlier failures
 * fixed. Returns 0 with *log_id and *attempt, or -1 (logged). */
static int
insert_one(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    int64_t *log_id, int *attempt)
{
	struct session_so_far s;
	int64_t id, fixed = 0, pattern_n = 0;

	if (session_get(db, rec->session_id, &s) < 0 || s.attempts >= 2147483647)
		return -1;
	*attempt = (int)s.attempts + 1;
	if (row_insert(db, rec, p, *attempt, &id) < 0)
		return -1;
	*log_id = id;
	if (counts_add(db, rec, p, id, &pattern_n) < 0 || session_put(db, rec, p, id) < 0)
		return -1;
	if (!p->failure && s.unfixed > 0 &&
	    fix_earlier(db, rec->session_id, *attempt, id, rec, &fixed) < 0)
		return -1;
	return totals_add(db, p, &s, fixed, pattern_n);
}

int
logdb_insert_batch(struct logdb *db, const struct run_record *recs, size_t n,
    int64_t *log_ids, int *attempts)
{
	struct prepared *p = NULL;
	int64_t id;
	int attempt, rc = -1, began = 0;
	size_t i, done = 0;

	if (db == NULL || db->readonly) {
		log_warnx("logdb: insert into a read-only handle");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (recs[i].session_id == NULL || recs[i].status == NULL) {
			log_warnx("logdb: insert: a record without session_id or status");
			return -1;
		}
	if (n == 0)
		return 0;
	/* Hashing, parsing and classifying happen before the write lock. */
	if ((p = calloc(n, sizeof(*p))) == NULL) {
		log_warnx("logdb: insert: out of memory");
		return -1;
	}
	logdb_lock(db);
	for (done = 0; done < n; done++)
		if (prepare(db, &recs[done], &p[done]) < 0) {
			log_warnx("logdb: insert: out of memory");
			done++;
			goto out;
		}
	if (logdb_exec(db, S_BEGIN_IMMEDIATE) < 0)
		goto out;
	began = 1;
	for (i = 0; i < n; i++) {
		if (insert_one(db, &recs[i], &p[i], &id, &attempt) < 0)
			goto out;
		if (log_ids)
			log_ids[i] = id;
		if (attempts)
			attempts[i] = attempt;
	}
	if (logdb_exec(db, S_COMMIT) < 0)
		goto out;
	began = 0;
	rc = 0;
out:
	if (began)
		logdb_exec(db, S_ROLLBACK);
	logdb_unlock(db);
	for (i = 0; i < done; i++)
		free(p[i].message);
	free(p);
	return rc;
}

int
logdb_insert(struct logdb *db, const struct run_record *rec, int64_t *log_id, int *attempt)
{
	int64_t id = 0;
	int a = 0;

	if (logdb_insert_batch(db, rec, 1, &id, &a) < 0)
		return -1;
	if (log_id)
		*log_id = id;
	if (attempt)
		*attempt = a;
	return 0;
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
	    " AND f.fixed_by IS NOT NULL) WHERE k <= ?1 ORDER BY id";
	sqlite3_stmt *st = NULL, *pst = NULL;
	struct earlier e;
	const char *fix;
	size_t fix_len;
	int rc, result = -1;

	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->db, "SELECT id FROM patterns WHERE category = ?1 AND"
	    " error_type = ?2 AND pattern = ?3", -1, &pst, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int(st, 1, LESSONS_PER_FIX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.id = sqlite3_column_int64(st, 0);
		logdb_col_copy(st, 2, e.category, sizeof(e.category));
		logdb_col_copy(st, 3, e.type, sizeof(e.type));
		logdb_col_copy(st, 4, e.pattern, sizeof(e.pattern));
		e.code = (char *)sqlite3_column_text(st, 5);
		e.code_len = (size_t)sqlite3_column_bytes(st, 5);
		fix = (const char *)sqlite3_column_text(st, 6);
		fix_len = (size_t)sqlite3_column_bytes(st, 6);
		sqlite3_reset(pst);
		logdb_bind_text(pst, 1, e.category);
		logdb_bind_text(pst, 2, e.type);
		logdb_bind_text(pst, 3, e.pattern);
		if (sqlite3_step(pst) == SQLITE_ROW &&
		    lessons_add(db, sqlite3_column_int64(pst, 0), &e,
		    sqlite3_column_int64(st, 1), fix, fix_len) < 0)
			goto out;
	}
	if (rc == SQLITE_DONE)
		result = 0;
out:
	if (result < 0)
		logdb_warn(db, "lessons backfill");
	sqlite3_finalize(st);
	sqlite3_finalize(pst);
	return result;
}
