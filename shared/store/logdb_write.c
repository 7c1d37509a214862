/*
 * logdb_write: insert. A record is prepared before the write lock (its
 * time, its code's hash, the error parsed from a raw traceback, its
 * category and pattern), then written in one write transaction
 * (serialized with every other writer: SQLite's BEGIN IMMEDIATE,
 * PostgreSQL's writers' lock) with every aggregate it changes: counts, its session, its pattern, its
 * model's figures, the totals, and when it is a success, the earlier
 * failures of its session it fixed (logdb_fix.c). A refused request keeps
 * only an excerpt of its code. Every text of a record (but a ran script's
 * code, which POST /run took as valid UTF-8) is stored as valid UTF-8
 * (what is not is made so: a script's error record may hold any bytes, and
 * PostgreSQL refuses a row with one that is not). A write that
 * found the database locked trips the handle's breaker (see logdb.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/classify.h"
#include "base/clock.h"
#include "base/log.h"
#include "store/logdb_internal.h"
#include "base/sha256.h"
#include "base/text.h"	/* utf8_sanitize */
#include "facts/traceback.h"

#define MESSAGE_MAX 8192	/* of a message parsed from a raw traceback */

/* The text fields of a record, made valid UTF-8 before they are stored
 * (the code is hashed as sent, and kept only when it was valid). */
static const size_t text_fields[] = {
	offsetof(struct run_record, job_id), offsetof(struct run_record, session_id),
	offsetof(struct run_record, params), offsetof(struct run_record, image_type),
	offsetof(struct run_record, user_prompt), offsetof(struct run_record, ai_model),
	offsetof(struct run_record, status), offsetof(struct run_record, stdout_text),
	offsetof(struct run_record, stderr_text), offsetof(struct run_record, error_type),
	offsetof(struct run_record, error_message), offsetof(struct run_record, traceback),
	offsetof(struct run_record, reject_code), offsetof(struct run_record, reject_message),
	offsetof(struct run_record, timings_json),
};
#define TEXT_FIELDS (sizeof(text_fields) / sizeof(text_fields[0]))

/* What is worked out about a record before its transaction starts. */
struct prepared {
	struct run_record rec;		/* the record as stored: its texts valid UTF-8 */
	char *owned[TEXT_FIELDS];	/* the copies made valid (freed), or NULL */
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
	const char *code;		/* what is stored of the code: rec's, or excerpt */
	size_t code_len;
	char *excerpt;			/* a refused request's (freed), or NULL */
	int lessons;			/* ai_lessons as stored: -1, 0, 1 */
	struct record_class cls;
};

/* p->rec: a copy of rec whose texts are valid UTF-8 (a bad byte becomes
 * U+FFFD; the copies made are p->owned's). Returns 0, or -1 when memory ran
 * out. */
static int
make_valid(const struct run_record *rec, struct prepared *p)
{
	const char **field;
	size_t i;

	p->rec = *rec;
	for (i = 0; i < TEXT_FIELDS; i++) {
		field = (const char **)(void *)((char *)&p->rec + text_fields[i]);
		if (*field == NULL || utf8_valid(*field, strlen(*field)))
			continue;
		if ((p->owned[i] = utf8_sanitize(*field, strlen(*field))) == NULL)
			return -1;
		*field = p->owned[i];
	}
	return 0;
}

/* The code as stored (p->code): its hash is of the bytes sent; a ran
 * script's code as it is (POST /run takes only valid UTF-8 without NUL; a
 * PostgreSQL driver makes any other valid); a refused request's code never
 * ran, so its hash, size and head are kept, not the code, the head made
 * valid. Returns 0, or -1 when memory ran out. */
static int
prepare_code(const struct run_record *rec, struct prepared *p)
{
	size_t len;

	p->code = rec->code;
	p->code_len = rec->code_len;
	if (rec->code == NULL)
		return 0;
	sha256_hex(rec->code, rec->code_len, p->sha);
	if (p->ran)
		return 0;
	len = logdb_excerpt_len(rec->code, rec->code_len, LOGDB_REJECT_CODE);
	if ((p->excerpt = utf8_sanitize(rec->code, len)) == NULL)
		return -1;
	p->code = p->excerpt;
	p->code_len = strlen(p->excerpt);
	return 0;
}

/* Fills p from rec: its texts made valid (p->rec, which the row is made
 * of), time, hash, and when the record has no error type but a traceback
 * or stderr holds one, the parsed type, message and line. Returns 0, or -1
 * when memory ran out. The caller frees p->message, p->excerpt, p->owned. */
static int
prepare(struct logdb *db, const struct run_record *sent, struct prepared *p)
{
	const struct run_record *rec = &p->rec;
	struct run_record eff;
	struct tb_facts f;
	const char *text;
	size_t len;

	memset(p, 0, sizeof(*p));
	if (make_valid(sent, p) < 0)
		return -1;
	clock_iso8601(logdb_now_ms(db), p->created_at);
	memcpy(p->day, p->created_at, 10);
	p->day[10] = '\0';
	p->failure = strcmp(rec->status, "success") != 0;
	p->ran = strcmp(rec->status, "rejected") != 0;
	if (prepare_code(rec, p) < 0)
		return -1;
	p->lessons = rec->ai_model == NULL ? -1 : rec->ai_lessons < 0 ? -1 :
	    rec->ai_lessons > 0;
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
	struct sqldb_stmt *st;

	if ((st = logdb_stmt(db, S_COUNT_ADD)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, kind);
	sqldb_bind_text(st, 2, key);
	sqldb_bind_int64(st, 3, failure);
	sqldb_bind_int64(st, 4, id);
	sqldb_bind_text(st, 5, at);
	return logdb_step_done(db, st, "counts");
}

/* A session's counts before a row of it goes in. */
struct session_so_far {
	int have;			/* the session has rows already */
	int64_t attempts, failures, unfixed;
	char model[136];		/* of its first attempt ("" none) */
	int lessons;			/* ... and its ai_lessons */
	int success_attempt;		/* of its first success; 0: none yet */
};

/* Reads the counts of session sid into s (zero when it has none).
 * Returns 0, or -1 (logged). */
static int
session_get(struct logdb *db, const char *sid, struct session_so_far *s)
{
	struct sqldb_stmt *st;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((st = logdb_stmt(db, S_SESSION_GET)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, sid);
	if ((rc = sqldb_step(st)) == SQLDB_ROW) {
		s->have = 1;
		s->attempts = sqldb_column_int64(st, 0);
		s->failures = sqldb_column_int64(st, 1);
		s->unfixed = sqldb_column_int64(st, 2);
		logdb_col_copy(st, 3, s->model, sizeof(s->model));
		s->lessons = sqldb_column_int(st, 4);
		s->success_attempt = sqldb_column_int(st, 5);
	}
	sqldb_reset(st);
	if (rc != SQLDB_ROW && rc != SQLDB_DONE) {
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
	struct sqldb_stmt *st;

	if ((st = logdb_stmt(db, S_RUN_INSERT)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, p->created_at);
	sqldb_bind_text(st, 2, rec->session_id);
	sqldb_bind_int64(st, 3, attempt);
	sqldb_bind_text(st, 4, rec->job_id);
	if (rec->previous_attempt_id > 0)
		sqldb_bind_int64(st, 5, rec->previous_attempt_id);
	if (p->code != NULL) {
		sqldb_bind_textn(st, 6, p->code, p->code_len);
		sqldb_bind_text(st, 7, p->sha);
		sqldb_bind_int64(st, 33, (int64_t)rec->code_len);
	}
	sqldb_bind_text(st, 8, rec->params);
	sqldb_bind_text(st, 9, rec->image_type);
	if (rec->image_type != NULL || rec->image_bytes > 0) {
		sqldb_bind_int64(st, 10, rec->image_bytes);
		sqldb_bind_int64(st, 11, rec->image_width);
		sqldb_bind_int64(st, 12, rec->image_height);
	}
	sqldb_bind_int64(st, 13, rec->use_sample != 0);
	sqldb_bind_text(st, 14, rec->user_prompt);
	sqldb_bind_text(st, 15, rec->ai_model);
	sqldb_bind_text(st, 16, rec->status);
	sqldb_bind_int64(st, 17, rec->http_status);
	if (rec->exit_code >= 0)
		sqldb_bind_int64(st, 18, rec->exit_code);
	sqldb_bind_int64(st, 19, rec->duration_ms);
	sqldb_bind_text(st, 20, rec->stdout_text);
	sqldb_bind_text(st, 21, rec->stderr_text);
	sqldb_bind_int64(st, 22, rec->truncated != 0);
	sqldb_bind_text(st, 23, p->error_type);
	sqldb_bind_text(st, 24, p->error_message);
	if (p->error_line > 0)
		sqldb_bind_int64(st, 25, p->error_line);
	sqldb_bind_text(st, 26, rec->traceback);
	sqldb_bind_text(st, 27, rec->reject_code);
	sqldb_bind_text(st, 28, rec->reject_message);
	sqldb_bind_text(st, 29, rec->timings_json);
	if (p->failure) {
		sqldb_bind_text(st, 30, p->cls.category);
		sqldb_bind_text(st, 31, p->cls.pattern);
	}
	sqldb_bind_int64(st, 32, p->failure);
	sqldb_bind_int64(st, 34, p->lessons);
	if (sqldb_step(st) != SQLDB_ROW) {
		logdb_warn(db, "insert");
		sqldb_reset(st);
		return -1;
	}
	*id = sqldb_column_int64(st, 0);
	return logdb_step_done(db, st, "insert");
}

/* Adds failure row id to its pattern and sets *pattern_n to the pattern's
 * count after. Returns 0, or -1 (logged). */
static int
pattern_add(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    int64_t id, int64_t *pattern_n)
{
	struct sqldb_stmt *st;
	int rc;

	if ((st = logdb_stmt(db, S_PATTERN_ADD)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, p->cls.category);
	sqldb_bind_text(st, 2, p->error_type ? p->error_type : "");
	sqldb_bind_text(st, 3, p->cls.pattern);
	sqldb_bind_int64(st, 4, id);
	sqldb_bind_text(st, 5, p->created_at);
	sqldb_bind_text(st, 6, rec->job_id ? rec->job_id : "");
	while ((rc = sqldb_step(st)) == SQLDB_ROW)
		*pattern_n = sqldb_column_int64(st, 0);
	sqldb_reset(st);
	if (rc != SQLDB_DONE) {
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

/* Adds row id, its session's attempt-th, to its session's counts (a new
 * session takes the row's model). Returns 0, or -1 (logged). */
static int
session_put(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    int64_t id, int attempt)
{
	struct sqldb_stmt *st;

	if ((st = logdb_stmt(db, S_SESSION_PUT)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, rec->session_id);
	sqldb_bind_int64(st, 2, p->failure);
	sqldb_bind_int64(st, 3, id);
	sqldb_bind_text(st, 4, rec->status);
	sqldb_bind_text(st, 5, rec->ai_model);
	sqldb_bind_int64(st, 6, p->lessons);
	if (!p->failure)
		sqldb_bind_int64(st, 7, attempt);
	return logdb_step_done(db, st, "session");
}

/* What one insert adds to a model's figures. */
struct model_add {
	int runs, failures, sessions, first_ok, succeeded, attempts;
};

/* Adds a to the figures of (model, lessons), and a success after
 * a->attempts attempts to its histogram. Returns 0, or -1 (logged). */
static int
model_add(struct logdb *db, const char *model, int lessons, const struct model_add *a)
{
	struct sqldb_stmt *st;

	if ((st = logdb_stmt(db, S_MODEL_ADD)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, model);
	sqldb_bind_int64(st, 2, lessons);
	sqldb_bind_int64(st, 3, a->runs);
	sqldb_bind_int64(st, 4, a->failures);
	sqldb_bind_int64(st, 5, a->sessions);
	sqldb_bind_int64(st, 6, a->first_ok);
	sqldb_bind_int64(st, 7, a->succeeded);
	sqldb_bind_int64(st, 8, a->succeeded ? a->attempts : 0);
	if (logdb_step_done(db, st, "model") < 0)
		return -1;
	if (!a->succeeded)
		return 0;
	if ((st = logdb_stmt(db, S_MODEL_ATTEMPT)) == NULL)
		return -1;
	sqldb_bind_text(st, 1, model);
	sqldb_bind_int64(st, 2, lessons);
	sqldb_bind_int64(st, 3, a->attempts < LOGDB_ATTEMPTS_CAP ? a->attempts :
	    LOGDB_ATTEMPTS_CAP);
	return logdb_step_done(db, st, "model attempts");
}

/* Adds the row (the session's attempt-th; s the session before it) to the
 * per-model figures: the row to its model's, and a new session, or a
 * session's first success, to the model of the session's first attempt.
 * Returns 0, or -1 (logged). */
static int
models_add(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    const struct session_so_far *s, int attempt)
{
	struct model_add row = { 1, p->failure, 0, 0, 0, 0 }, ses = { 0, 0, 0, 0, 1, attempt };

	if (!s->have) {
		row.sessions = 1;
		row.first_ok = row.succeeded = !p->failure;
		row.attempts = 1;
	}
	if (rec->ai_model != NULL && model_add(db, rec->ai_model, p->lessons, &row) < 0)
		return -1;
	if (s->have && s->model[0] != '\0' && s->success_attempt == 0 && !p->failure)
		return model_add(db, s->model, s->lessons, &ses);
	return 0;
}

/* Adds the row to the running totals: s is its session before it, fixed
 * the failures it fixed, pattern_n its pattern's count after (1: a new
 * pattern). Returns 0, or -1 (logged). */
static int
totals_add(struct logdb *db, const struct prepared *p, const struct session_so_far *s,
    int64_t fixed, int64_t pattern_n)
{
	struct sqldb_stmt *st;

	if ((st = logdb_stmt(db, S_TOTALS_ADD)) == NULL)
		return -1;
	sqldb_bind_int64(st, 1, !p->failure);
	sqldb_bind_int64(st, 2, p->failure);
	sqldb_bind_int64(st, 3, fixed);
	sqldb_bind_int64(st, 4, p->ran);
	sqldb_bind_int64(st, 5, p->ran ? p->duration : 0);
	sqldb_bind_int64(st, 6, !s->have);
	sqldb_bind_int64(st, 7, p->failure && s->failures == 0);
	sqldb_bind_int64(st, 8, p->failure ? s->unfixed == 0 : -(s->unfixed > 0));
	sqldb_bind_int64(st, 9, pattern_n == 1);
	sqldb_bind_text(st, 10, p->created_at);
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
	if (counts_add(db, rec, p, id, &pattern_n) < 0 ||
	    session_put(db, rec, p, id, *attempt) < 0 || models_add(db, rec, p, &s, *attempt) < 0)
		return -1;
	if (!p->failure && s.unfixed > 0 &&
	    logdb_fix_earlier(db, rec->session_id, *attempt, id, rec, &fixed) < 0)
		return -1;
	return totals_add(db, p, &s, fixed, pattern_n);
}

/* The breaker: after a write that found the database locked past the busy
 * timeout, the handle waits only LOGDB_BUSY_SHORT_MS for a lock until a
 * write succeeds again (ok), so a locked log never holds a run up twice. */
static void
breaker(struct logdb *db, int ok)
{
	db->state.inserts++;
	db->state.unreachable = !ok && sqldb_last_fail(db->db) == SQLDB_CONN;
	db->state.unreachable_failures += db->state.unreachable;
	if (ok) {
		if (db->state.breaker) {
			sqldb_set_lock_timeout(db->db, LOGDB_BUSY_TIMEOUT_MS);
			db->state.breaker = 0;
			log_info("logdb: the log takes writes again");
		}
		return;
	}
	db->state.insert_failures++;
	if (!logdb_busy(db))
		return;
	db->state.busy_failures++;
	if (!db->state.breaker) {
		sqldb_set_lock_timeout(db->db, LOGDB_BUSY_SHORT_MS);
		db->state.breaker = 1;
		log_warnx("logdb: the log is locked by another process; until a write "
		    "succeeds, writes wait %d ms at most", LOGDB_BUSY_SHORT_MS);
	}
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
	sqldb_clear_fail(db->db);
	if (logdb_begin(db, SQLDB_WRITE) < 0)
		goto out;
	began = 1;
	for (i = 0; i < n; i++) {
		if (insert_one(db, &p[i].rec, &p[i], &id, &attempt) < 0)
			goto out;
		if (log_ids)
			log_ids[i] = id;
		if (attempts)
			attempts[i] = attempt;
	}
	began = 0;
	if (logdb_commit(db) < 0)
		goto out;
	rc = 0;
out:
	if (began)
		logdb_rollback(db);
	breaker(db, rc == 0);
	logdb_unlock(db);
	for (i = 0; i < done; i++) {
		free(p[i].message);
		free(p[i].excerpt);
		for (size_t k = 0; k < TEXT_FIELDS; k++)
			free(p[i].owned[k]);
	}
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
