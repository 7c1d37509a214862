/*
 * logdb: the handle. Its statements (prepared once, on first use), the
 * helpers every query uses, opening (read-write, creating and migrating;
 * or read-only, never creating), closing, the clock, and read snapshots.
 * The schema is in logdb_schema.c, insert in logdb_write.c, the read side
 * in logdb_read.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "log.h"
#include "logdb_internal.h"
#include "text.h"	/* utf8_sanitize */

/* ---- Statements ------------------------------------------------------------ */

#define XS(x) XS_(x)
#define XS_(x) #x

/* The columns of a row (logdb_run_read reads them by position), each text
 * as a mode wants it: whole, or an excerpt (one character more than the
 * excerpt's bytes, so that the reader can tell a cut text). */
#define RUN_COLS(code, params, prompt, out, err, msg, tb, timings) \
	"id, created_at, session_id, attempt, job_id, previous_attempt_id, " code ", code_sha256," \
	" " params ", image_type, image_bytes, image_width, image_height, use_sample, " prompt "," \
	" ai_model, status, http_status, exit_code, duration_ms, " out ", " err ", truncated," \
	" error_type, " msg ", error_line, " tb ", reject_code, reject_message, " timings "," \
	" category, pattern, fixed_by, code_bytes, ai_lessons"
#define HEAD(col, n) "substr(" col ", 1, " XS(n) " + 1)"
#define TAIL(col, n) "substr(" col ", -" XS(n) " - 1)"
#define RUN_COLS_WHOLE RUN_COLS("code", "params", "user_prompt", "stdout_text", "stderr_text", \
	"error_message", "traceback", "timings_json")
#define RUN_COLS_EXCERPTS(code, timings) RUN_COLS(code, \
	HEAD("params", LOGDB_EXCERPT_TEXT), HEAD("user_prompt", LOGDB_EXCERPT_TEXT), \
	HEAD("stdout_text", LOGDB_EXCERPT_STREAM), TAIL("stderr_text", LOGDB_EXCERPT_STREAM), \
	HEAD("error_message", LOGDB_EXCERPT_TEXT), TAIL("traceback", LOGDB_EXCERPT_TEXT), timings)
#define RUN_COLS_PAGE RUN_COLS_EXCERPTS(HEAD("code", LOGDB_EXCERPT_CODE), "NULL")
/* A session's code is read whole (its changes are diffed) until the
 * session's code so far passes LOGDB_SESSION_CODE. */
#define RUN_COLS_SESSION RUN_COLS_EXCERPTS("CASE WHEN SUM(COALESCE(code_bytes, 0)) OVER" \
	" (ORDER BY attempt ROWS UNBOUNDED PRECEDING) <= " XS(LOGDB_SESSION_CODE) " THEN code" \
	" ELSE " HEAD("code", LOGDB_EXCERPT_CODE) " END", "timings_json")

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[S_BEGIN] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SESSION_GET] = "SELECT attempts, failures, unfixed, model, COALESCE(lessons, -1),"
	    " COALESCE(success_attempt, 0) FROM sessions WHERE session_id = ?1",
	[S_RUN_INSERT] = "INSERT INTO runs (created_at, session_id, attempt, job_id,"
	    " previous_attempt_id, code, code_sha256, params, image_type, image_bytes,"
	    " image_width, image_height, use_sample, user_prompt, ai_model, status, http_status,"
	    " exit_code, duration_ms, stdout_text, stderr_text, truncated, error_type,"
	    " error_message, error_line, traceback, reject_code, reject_message, timings_json,"
	    " category, pattern, is_failure, fixed_by, code_bytes, ai_lessons) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
	    " ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, NULL, ?33, ?34)",
	[S_SESSION_PUT] = "INSERT INTO sessions (session_id, attempts, failures, unfixed,"
	    " successes, first_id, last_id, last_status, model, lessons, success_attempt)"
	    " VALUES (?1, 1, ?2, ?2, 1 - ?2, ?3, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (session_id) DO UPDATE SET attempts = attempts + 1,"
	    " failures = failures + excluded.failures,"
	    " unfixed = CASE WHEN excluded.successes > 0 THEN 0 ELSE unfixed + 1 END,"
	    " successes = successes + excluded.successes, last_id = excluded.last_id,"
	    " last_status = excluded.last_status,"
	    " success_attempt = COALESCE(success_attempt, excluded.success_attempt)",
	[S_TOTALS_ADD] = "UPDATE totals SET runs = runs + 1, successes = successes + ?1,"
	    " failures = failures + ?2, fixed = fixed + ?3, ran = ran + ?4,"
	    " dur_sum = dur_sum + ?5, dur_max = max(dur_max, ?5), sessions = sessions + ?6,"
	    " sessions_failed = sessions_failed + ?7, sessions_unfixed = sessions_unfixed + ?8,"
	    " patterns = patterns + ?9, first_at = COALESCE(first_at, ?10), last_at = ?10"
	    " WHERE id = 1",
	[S_COUNT_ADD] = "INSERT INTO counts (kind, key, n, failures, fixed, last_id, last_at)"
	    " VALUES (?1, ?2, 1, ?3, 0, ?4, ?5) ON CONFLICT (kind, key) DO UPDATE SET"
	    " n = n + 1, failures = failures + excluded.failures, last_id = excluded.last_id,"
	    " last_at = excluded.last_at",
	[S_PATTERN_ADD] = "INSERT INTO patterns (category, error_type, pattern, n, fixed,"
	    " first_id, last_id, last_at, last_job) VALUES (?1, ?2, ?3, 1, 0, ?4, ?4, ?5, ?6)"
	    " ON CONFLICT (category, error_type, pattern) DO UPDATE SET n = n + 1,"
	    " last_id = excluded.last_id, last_at = excluded.last_at, last_job = excluded.last_job"
	    " RETURNING n",
	[S_MODEL_ADD] = "INSERT INTO model_stats (model, lessons, runs, failures, fixed, sessions,"
	    " first_ok, succeeded, attempts_sum) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8)"
	    " ON CONFLICT (model, lessons) DO UPDATE SET runs = runs + excluded.runs,"
	    " failures = failures + excluded.failures, sessions = sessions + excluded.sessions,"
	    " first_ok = first_ok + excluded.first_ok, succeeded = succeeded + excluded.succeeded,"
	    " attempts_sum = attempts_sum + excluded.attempts_sum",
	[S_MODEL_ATTEMPT] = "INSERT INTO model_attempts (model, lessons, attempts, n)"
	    " VALUES (?1, ?2, ?3, 1) ON CONFLICT (model, lessons, attempts) DO UPDATE SET n = n + 1",
	[S_PREVIOUS] = "SELECT id, attempt, is_failure, fixed_by, COALESCE(category, 'other'),"
	    " COALESCE(error_type, ''), COALESCE(pattern, ''), substr(created_at, 1, 10),"
	    " COALESCE(ai_model, ''), code, ai_lessons FROM runs WHERE session_id = ?1"
	    " AND attempt < ?2 ORDER BY attempt DESC LIMIT 1",
	[S_RUN_FIX] = "UPDATE runs SET fixed_by = ?1 WHERE id = ?2",
	[S_PATTERN_FIX] = "UPDATE patterns SET fixed = fixed + 1 WHERE category = ?1"
	    " AND error_type = ?2 AND pattern = ?3 RETURNING id",
	[S_COUNT_FIX] = "UPDATE counts SET fixed = fixed + 1 WHERE kind = ?1 AND key = ?2",
	[S_LESSON_ADD] = "INSERT INTO fix_lessons (pattern_id, change, n, example_fail_id,"
	    " example_fix_id) VALUES (?1, ?2, 1, ?3, ?4) ON CONFLICT (pattern_id, change)"
	    " DO UPDATE SET n = n + 1, example_fail_id = excluded.example_fail_id,"
	    " example_fix_id = excluded.example_fix_id",
	[S_MODEL_FIX] = "UPDATE model_stats SET fixed = fixed + 1 WHERE model = ?1 AND lessons = ?2",
	[S_STUBS_GET] = "SELECT attempt, category, error_type, pattern, day, model, lessons"
	    " FROM retired_unfixed WHERE session_id = ?1 AND attempt < ?2 ORDER BY attempt DESC",
	[S_STUBS_DEL] = "DELETE FROM retired_unfixed WHERE session_id = ?1 AND attempt < ?2",
	[S_RETAIN_HEAD] = "SELECT id, created_at FROM runs ORDER BY id LIMIT ?1",
	[S_RETAIN_STUBS] = "INSERT INTO retired_unfixed (session_id, attempt, category,"
	    " error_type, pattern, day, model, lessons) SELECT session_id, attempt,"
	    " COALESCE(category, 'other'), COALESCE(error_type, ''), COALESCE(pattern, ''),"
	    " substr(created_at, 1, 10), COALESCE(ai_model, ''), ai_lessons FROM runs"
	    " WHERE id <= ?1 AND is_failure = 1 AND fixed_by IS NULL",
	[S_RETAIN_DELETE] = "DELETE FROM runs WHERE id <= ?1",
	[S_RETAIN_TOTALS] = "UPDATE totals SET rows_retired = rows_retired + ?1,"
	    " retired_until = max(COALESCE(retired_until, ''), ?2) WHERE id = 1",
	[S_STUBS_CAP] = "DELETE FROM retired_unfixed"
	    " WHERE id <= (SELECT MAX(id) FROM retired_unfixed) - ?1",
	[S_PAGE_COUNT] = "PRAGMA page_count",
	[S_FREELIST_COUNT] = "PRAGMA freelist_count",
	[S_PAGE_SIZE] = "PRAGMA page_size",
	[S_VACUUM_STEP] = "PRAGMA incremental_vacuum(1024)",
	[S_CHECKPOINT] = "PRAGMA wal_checkpoint(PASSIVE)",
	[S_TOTALS_GET] = "SELECT runs, successes, failures, fixed, ran, dur_sum, dur_max,"
	    " sessions, sessions_failed, sessions_unfixed, patterns, COALESCE(first_at, ''),"
	    " COALESCE(last_at, ''), rows_retired, COALESCE(retired_until, '') FROM totals"
	    " WHERE id = 1",
	[S_KEPT_SINCE] = "SELECT created_at FROM runs ORDER BY id LIMIT 1",
	[S_COUNTS_BY_N] = "SELECT key, n, failures, fixed, COALESCE(last_id, 0),"
	    " COALESCE(last_at, '') FROM counts WHERE kind = ?1 ORDER BY n DESC, key LIMIT ?2",
	[S_COUNTS_BY_KEY_DESC] = "SELECT key, n, failures, fixed, COALESCE(last_id, 0),"
	    " COALESCE(last_at, '') FROM counts WHERE kind = ?1 ORDER BY key DESC LIMIT ?2",
	[S_COUNTS_BY_KEY] = "SELECT key, n, failures, fixed, COALESCE(last_id, 0),"
	    " COALESCE(last_at, '') FROM counts WHERE kind = ?1 ORDER BY key LIMIT ?2",
	[S_PATTERNS_GET] = "SELECT id, n, fixed, COALESCE(first_id, 0), COALESCE(last_id, 0),"
	    " category, error_type, pattern, COALESCE(last_at, ''), COALESCE(last_job, '')"
	    " FROM patterns ORDER BY n DESC, last_id DESC LIMIT ?1",
	[S_LESSONS_GET] = "SELECT p.id, p.n, p.fixed, COALESCE(p.first_id, 0),"
	    " COALESCE(p.last_id, 0), p.category, p.error_type, p.pattern,"
	    " COALESCE(p.last_at, ''), COALESCE(p.last_job, ''), l.change, l.n,"
	    " COALESCE(l.example_fail_id, 0), COALESCE(l.example_fix_id, 0)"
	    " FROM fix_lessons l JOIN patterns p ON p.id = l.pattern_id"
	    " ORDER BY l.n DESC, l.example_fix_id DESC LIMIT ?1",
	[S_RUN_GET] = "SELECT " RUN_COLS_WHOLE " FROM runs WHERE id = ?1",
	[S_PAGE_FAILURES] = "SELECT " RUN_COLS_PAGE " FROM runs WHERE is_failure = 1"
	    " AND id < ?1 ORDER BY id DESC LIMIT ?2",
	[S_PAGE_UNFIXED] = "SELECT " RUN_COLS_PAGE " FROM runs WHERE is_failure = 1"
	    " AND fixed_by IS NULL AND id < ?1 ORDER BY id DESC LIMIT ?2",
	[S_PAGE_SUCCESSES] = "SELECT " RUN_COLS_PAGE " FROM runs WHERE is_failure = 0"
	    " AND id < ?1 ORDER BY id DESC LIMIT ?2",
	[S_PAGE_ALL] = "SELECT " RUN_COLS_PAGE " FROM runs WHERE id < ?1"
	    " ORDER BY id DESC LIMIT ?2",
	[S_SESSION_RUNS] = "SELECT " RUN_COLS_SESSION " FROM runs WHERE session_id = ?1"
	    " AND attempt > ?3 ORDER BY attempt LIMIT ?2",
	[S_SESSION_TOTAL] = "SELECT attempts FROM sessions WHERE session_id = ?1",
	[S_FOREACH] = "SELECT " RUN_COLS_WHOLE " FROM runs ORDER BY id",
	[S_MODELS_TOP] = "SELECT key FROM counts WHERE kind = 'model' AND key <> ''"
	    " ORDER BY n DESC, key LIMIT ?1",
	[S_MODEL_PARTS] = "SELECT lessons, runs, failures, fixed, sessions, first_ok, succeeded,"
	    " attempts_sum FROM model_stats WHERE model = ?1",
	[S_MODEL_HIST] = "SELECT lessons, attempts, n FROM model_attempts WHERE model = ?1",
};

/* ---- Helpers ------------------------------------------------------------------ */

void
logdb_warn(struct logdb *db, const char *what)
{
	log_warnx("logdb: %s: %s", what, sqlite3_errmsg(db->db));
}

void
logdb_lock(struct logdb *db)
{
	pthread_mutex_lock(&db->lock);
}

void
logdb_unlock(struct logdb *db)
{
	pthread_mutex_unlock(&db->lock);
}

sqlite3_stmt *
logdb_stmt(struct logdb *db, enum stmt_id id)
{
	sqlite3_stmt *st = db->st[id];

	if (st == NULL) {
		if (sqlite3_prepare_v3(db->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		    &st, NULL) != SQLITE_OK) {
			logdb_warn(db, "prepare");
			return NULL;
		}
		db->st[id] = st;
		return st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int
logdb_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int
logdb_step_done(struct logdb *db, sqlite3_stmt *st, const char *what)
{
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db->last_rc = rc;
		logdb_warn(db, what);
		return -1;
	}
	return 0;
}

int
logdb_rc_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

int64_t
logdb_int(struct logdb *db, enum stmt_id id)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	int rc;

	if ((st = logdb_stmt(db, id)) == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else {
		db->last_rc = rc;
		logdb_warn(db, stmt_sql[id]);
	}
	sqlite3_reset(st);
	return v;
}

int64_t
logdb_used_bytes(struct logdb *db)
{
	int64_t pages, free_pages, size;

	if ((pages = logdb_int(db, S_PAGE_COUNT)) < 0 ||
	    (free_pages = logdb_int(db, S_FREELIST_COUNT)) < 0 ||
	    (size = logdb_int(db, S_PAGE_SIZE)) < 0)
		return -1;
	return (pages - free_pages) * size;
}

size_t
logdb_excerpt_len(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	/* Back off continuation bytes, then the lead byte of the cut sequence. */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int
logdb_exec(struct logdb *db, enum stmt_id id)
{
	return logdb_step_done(db, logdb_stmt(db, id), stmt_sql[id]);
}

void
logdb_col_copy(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;

	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	if (n > 0)
		memcpy(out, t, n);
	out[n] = '\0';
}

char *
logdb_col_dup(sqlite3_stmt *st, int i, size_t *len, int *oom)
{
	const unsigned char *t;
	size_t n;
	char *s;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(st, i);
	n = (size_t)sqlite3_column_bytes(st, i);
	if (t == NULL || (s = malloc(n + 1)) == NULL) {
		*oom = 1;
		return NULL;
	}
	memcpy(s, t, n);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

int64_t
logdb_now_ms(struct logdb *db)
{
	return db->now_ms != NULL ? db->now_ms(db->clock_arg) : clock_real_ms();
}

static const int64_t duration_bounds[LOGDB_DURATION_BUCKETS - 1] = {
	10, 20, 50, 100, 150, 200, 300, 400, 500, 700, 1000, 1500, 2000, 3000,
	4000, 5000, 7000, 10000, 15000, 20000, 30000, 60000, 120000
};

int64_t
logdb_duration_bound(int bucket)
{
	if (bucket < 0 || bucket >= LOGDB_DURATION_BUCKETS - 1)
		return INT64_MAX;
	return duration_bounds[bucket];
}

int
logdb_duration_bucket(int64_t ms)
{
	int i;

	for (i = 0; i < LOGDB_DURATION_BUCKETS - 1; i++)
		if (ms <= duration_bounds[i])
			return i;
	return LOGDB_DURATION_BUCKETS - 1;
}

/* SQL function logdb_bucket(ms), for the migration's backfill. */
static void
sql_bucket(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_result_int(ctx, logdb_duration_bucket(sqlite3_value_int64(argv[0])));
}

/* SQL function logdb_excerpt(text, max), for the migration: the head of
 * text of at most max bytes, cut on a character boundary, made valid. */
static void
sql_excerpt(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *t = (const char *)sqlite3_value_text(argv[0]);
	int64_t max = sqlite3_value_int64(argv[1]);
	size_t len = (size_t)sqlite3_value_bytes(argv[0]);
	char *clean;

	(void)argc;
	if (t == NULL || max < 0) {
		sqlite3_result_null(ctx);
		return;
	}
	len = logdb_excerpt_len(t, len, (size_t)max);
	if ((clean = utf8_sanitize(t, len)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_text(ctx, clean, -1, free);
}

/* ---- Open, close ---------------------------------------------------------------------- */

/* Returns a new handle around an open connection, or NULL. */
static struct logdb *
handle_new(void)
{
	pthread_mutexattr_t a;
	struct logdb *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->lock, &a);
	pthread_mutexattr_destroy(&a);
	return db;
}

/* Sets what every connection gets. Returns 0, or -1 with err. */
static int
setup_connection(struct logdb *db, char *err, size_t errlen)
{
	sqlite3_extended_result_codes(db->db, 1);
	if (sqlite3_busy_timeout(db->db, LOGDB_BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_create_function(db->db, "logdb_bucket", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_bucket, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db->db, "logdb_excerpt", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_excerpt, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db->db));
		return -1;
	}
	return 0;
}

const char *
logdb_open_error_name(enum logdb_open_error why)
{
	static const char *const names[] = { [LOGDB_OK] = "ok", [LOGDB_MISSING] = "missing",
		[LOGDB_OLDER] = "older", [LOGDB_NEWER] = "newer", [LOGDB_CORRUPT] = "corrupt",
		[LOGDB_LOCKED] = "locked", [LOGDB_FAILED] = "failed" };

	if ((unsigned)why >= sizeof(names) / sizeof(names[0]))
		return "failed";
	return names[why];
}

/* Returns why an open of path failed with SQLite's code rc. */
static enum logdb_open_error
open_error_of(int rc, const char *path)
{
	char dir[512];
	struct stat sb;
	char *slash;

	if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
		return LOGDB_CORRUPT;
	if (logdb_rc_busy(rc))
		return LOGDB_LOCKED;
	if ((rc & 0xff) == SQLITE_CANTOPEN) {
		snprintf(dir, sizeof(dir), "%s", path);
		if ((slash = strrchr(dir, '/')) == NULL)
			return LOGDB_FAILED;
		*slash = '\0';
		if (dir[0] != '\0' && stat(dir, &sb) < 0 && errno == ENOENT)
			return LOGDB_MISSING;
	}
	return LOGDB_FAILED;
}

/* Runs sql (no rows wanted) on the new connection; on failure sets *why
 * and err. Returns SQLite's code. */
static int
open_exec(struct logdb *db, const char *path, const char *sql, enum logdb_open_error *why,
    char *err, size_t errlen)
{
	int rc;

	if ((rc = sqlite3_exec(db->db, sql, NULL, NULL, NULL)) != SQLITE_OK) {
		rc = sqlite3_extended_errcode(db->db);
		*why = open_error_of(rc, path);
		snprintf(err, errlen, "%s: %s: %s", path, sql, sqlite3_errmsg(db->db));
	}
	return rc;
}

/* Switches the connection to WAL: that needs a moment alone with the file,
 * so it is tried again while another process holds it, for at most the busy
 * timeout in all. Returns 0, or -1 with *why and err. */
static int
open_wal(struct logdb *db, const char *path, enum logdb_open_error *why, char *err,
    size_t errlen)
{
	int64_t start = clock_mono_ms();
	int rc;

	for (;;) {
		if ((rc = open_exec(db, path, "PRAGMA journal_mode = WAL", why, err, errlen)) ==
		    SQLITE_OK)
			return 0;
		if (!logdb_rc_busy(rc) || clock_mono_ms() - start >= LOGDB_BUSY_TIMEOUT_MS)
			return -1;
		usleep(100 * 1000);
	}
}

struct logdb *
logdb_open_why(const char *path, enum logdb_open_error *why, char *err, size_t errlen)
{
	struct logdb *db;
	int rc;

	*why = LOGDB_FAILED;
	if ((db = handle_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((rc = sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL)) != SQLITE_OK) {
		*why = open_error_of(db->db ? sqlite3_extended_errcode(db->db) : rc, path);
		snprintf(err, errlen, "%s: %s", path, db->db ? sqlite3_errmsg(db->db) :
		    "out of memory");
		goto fail;
	}
	if (setup_connection(db, err, errlen) < 0)
		goto fail;
	/* A new file is given incremental auto-vacuum before its first table
	 * (an older one gets it from the migration's VACUUM). NORMAL in WAL: a
	 * crash of the process loses nothing; a power cut may lose the last
	 * transactions, never the file. The WAL file is cut back to 64 MiB
	 * after a checkpoint that emptied it. */
	if (open_exec(db, path, "PRAGMA auto_vacuum = INCREMENTAL", why, err, errlen) != SQLITE_OK ||
	    open_wal(db, path, why, err, errlen) < 0 ||
	    open_exec(db, path, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
	    " PRAGMA journal_size_limit = 67108864", why, err, errlen) != SQLITE_OK)
		goto fail;
	if (logdb_migrate(db, why, err, errlen) < 0)
		goto fail;
	*why = LOGDB_OK;
	return db;
fail:
	logdb_close(db);
	return NULL;
}

struct logdb *
logdb_open(const char *path, char *err, size_t errlen)
{
	enum logdb_open_error why;

	return logdb_open_why(path, &why, err, errlen);
}

void
logdb_get_state(struct logdb *db, struct logdb_state *s)
{
	memset(s, 0, sizeof(*s));
	if (db == NULL)
		return;
	logdb_lock(db);
	*s = db->state;
	logdb_unlock(db);
}

int
logdb_file_version(const char *path)
{
	sqlite3 *s = NULL;
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(s, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return v;
}

struct logdb *
logdb_open_readonly(const char *path, enum logdb_open_error *why, char *err, size_t errlen)
{
	struct logdb *db = NULL;
	struct stat sb;
	int v;

	*why = LOGDB_FAILED;
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			*why = LOGDB_MISSING;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return NULL;
	}
	if ((db = handle_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->readonly = 1;
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->db ? sqlite3_errmsg(db->db) :
		    "out of memory");
		goto fail;
	}
	if (setup_connection(db, err, errlen) < 0)
		goto fail;
	if (logdb_user_version(db, &v) < 0) {
		*why = open_error_of(sqlite3_extended_errcode(db->db), path);
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db->db));
		goto fail;
	}
	if (v < LOGDB_SCHEMA_VERSION) {
		*why = LOGDB_OLDER;
		snprintf(err, errlen, "%s has schema version %d, older than this build's %d: "
		    "open it once read-write (the responder, or `analyze_logs migrate`) to "
		    "migrate it", path, v, LOGDB_SCHEMA_VERSION);
		goto fail;
	}
	if (v > LOGDB_SCHEMA_VERSION) {
		*why = LOGDB_NEWER;
		snprintf(err, errlen, "%s has schema version %d, newer than this build's %d",
		    path, v, LOGDB_SCHEMA_VERSION);
		goto fail;
	}
	*why = LOGDB_OK;
	return db;
fail:
	logdb_close(db);
	return NULL;
}

void
logdb_close(struct logdb *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->db);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

void
logdb_set_clock(struct logdb *db, int64_t (*now_ms)(void *arg), void *arg)
{
	logdb_lock(db);
	db->now_ms = now_ms;
	db->clock_arg = now_ms ? arg : NULL;
	logdb_unlock(db);
}

/* ---- Read snapshots -------------------------------------------------------------------- */

int
logdb_read_begin(struct logdb *db)
{
	logdb_lock(db);
	if (db->read_depth++ == 0 && logdb_exec(db, S_BEGIN) < 0) {
		db->read_depth--;
		logdb_unlock(db);
		return -1;
	}
	return 0;
}

void
logdb_read_end(struct logdb *db)
{
	if (--db->read_depth == 0)
		logdb_exec(db, S_COMMIT);
	logdb_unlock(db);
}
