/*
 * logdb: the execution log in one SQLite file.
 *
 * Tables (schema version 2):
 *   runs         one row per request: every field of struct run_record, plus
 *                id, created_at, attempt, code_sha256, category, pattern,
 *                is_failure and fixed_by (the success that fixed it)
 *   totals       one row of running totals
 *   counts       (kind, key) -> n, failures, fixed: by status, category, day,
 *                duration bucket and AI model
 *   sessions     per session: attempts, failures, unfixed failures
 *   patterns     per (category, type, normalised message): n, fixed, examples
 *   fix_lessons  per (pattern, change): what fixes of that pattern changed
 *
 * Everything but runs is kept up to date by logdb_insert, in the same
 * BEGIN IMMEDIATE transaction as the row itself, so the summary and the
 * analysis read a few small tables instead of scanning the log, and several
 * processes writing at once get distinct, gap-free attempt numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analyze.h"
#include "log.h"
#include "logdb.h"

#define BUSY_TIMEOUT_MS 5000
#define LESSONS_PER_FIX 8	/* failures of one fix whose code is compared */
#define CHANGES_PER_FAILURE 8
#define MESSAGE_MAX 8192	/* of a message parsed from a raw traceback */

/* ---- Schema -------------------------------------------------------------- */

/* Version 1: the raw log. */
static const char schema_v1[] =
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" created_at TEXT NOT NULL,"
	" session_id TEXT NOT NULL,"
	" attempt INTEGER NOT NULL,"
	" job_id TEXT,"
	" previous_attempt_id INTEGER,"
	" code TEXT,"
	" code_sha256 TEXT,"
	" params TEXT,"
	" image_type TEXT,"
	" image_bytes INTEGER,"
	" image_width INTEGER,"
	" image_height INTEGER,"
	" use_sample INTEGER NOT NULL DEFAULT 0,"
	" user_prompt TEXT,"
	" ai_model TEXT,"
	" status TEXT NOT NULL,"
	" http_status INTEGER,"
	" exit_code INTEGER,"
	" duration_ms INTEGER,"
	" stdout_text TEXT,"
	" stderr_text TEXT,"
	" truncated INTEGER NOT NULL DEFAULT 0,"
	" error_type TEXT,"
	" error_message TEXT,"
	" error_line INTEGER,"
	" traceback TEXT,"
	" reject_code TEXT,"
	" reject_message TEXT,"
	" timings_json TEXT,"
	" category TEXT,"
	" pattern TEXT);"
	"CREATE UNIQUE INDEX runs_session ON runs(session_id, attempt);"
	"CREATE INDEX runs_status ON runs(status, id);";

/* Version 2: fix state on each row and the aggregates, filled from the rows
 * already there (the lessons of old fixes are filled by backfill_lessons). */
static const char schema_v2[] =
	"ALTER TABLE runs ADD COLUMN is_failure INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN fixed_by INTEGER;"
	"UPDATE runs SET is_failure = (status <> 'success');"
	"UPDATE runs SET fixed_by = (SELECT MIN(s.id) FROM runs s"
	" WHERE s.session_id = runs.session_id AND s.status = 'success'"
	" AND s.attempt > runs.attempt) WHERE is_failure = 1;"
	"DROP INDEX IF EXISTS runs_status;"
	"CREATE INDEX runs_outcome ON runs(is_failure, id);"
	"CREATE INDEX runs_unfixed ON runs(id) WHERE is_failure = 1 AND fixed_by IS NULL;"
	"CREATE TABLE totals ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" runs INTEGER NOT NULL, successes INTEGER NOT NULL, failures INTEGER NOT NULL,"
	" fixed INTEGER NOT NULL, ran INTEGER NOT NULL, dur_sum INTEGER NOT NULL,"
	" dur_max INTEGER NOT NULL, sessions INTEGER NOT NULL,"
	" sessions_failed INTEGER NOT NULL, sessions_unfixed INTEGER NOT NULL,"
	" patterns INTEGER NOT NULL, first_at TEXT, last_at TEXT);"
	"CREATE TABLE counts ("
	" kind TEXT NOT NULL, key TEXT NOT NULL,"
	" n INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,"
	" fixed INTEGER NOT NULL DEFAULT 0, last_id INTEGER, last_at TEXT,"
	" PRIMARY KEY (kind, key)) WITHOUT ROWID;"
	"CREATE TABLE sessions ("
	" session_id TEXT PRIMARY KEY, attempts INTEGER NOT NULL,"
	" failures INTEGER NOT NULL, unfixed INTEGER NOT NULL, successes INTEGER NOT NULL,"
	" first_id INTEGER, last_id INTEGER, last_status TEXT) WITHOUT ROWID;"
	"CREATE TABLE patterns ("
	" id INTEGER PRIMARY KEY, category TEXT NOT NULL, error_type TEXT NOT NULL,"
	" pattern TEXT NOT NULL, n INTEGER NOT NULL, fixed INTEGER NOT NULL,"
	" first_id INTEGER, last_id INTEGER, last_at TEXT, last_job TEXT,"
	" UNIQUE (category, error_type, pattern));"
	"CREATE TABLE fix_lessons ("
	" pattern_id INTEGER NOT NULL REFERENCES patterns(id), change TEXT NOT NULL,"
	" n INTEGER NOT NULL, example_fail_id INTEGER, example_fix_id INTEGER,"
	" PRIMARY KEY (pattern_id, change)) WITHOUT ROWID;"
	/* Backfill from the rows. */
	"INSERT INTO sessions SELECT session_id, COUNT(*), SUM(is_failure),"
	" SUM(is_failure = 1 AND fixed_by IS NULL), SUM(is_failure = 0), MIN(id), MAX(id), NULL"
	" FROM runs GROUP BY session_id;"
	"UPDATE sessions SET last_status = (SELECT status FROM runs WHERE id = sessions.last_id);"
	"INSERT INTO patterns (category, error_type, pattern, n, fixed, first_id, last_id)"
	" SELECT COALESCE(category, 'other'), COALESCE(error_type, ''), COALESCE(pattern, ''),"
	" COUNT(*), SUM(fixed_by IS NOT NULL), MIN(id), MAX(id)"
	" FROM runs WHERE is_failure = 1 GROUP BY 1, 2, 3;"
	"UPDATE patterns SET last_at = (SELECT created_at FROM runs WHERE id = patterns.last_id),"
	" last_job = (SELECT COALESCE(job_id, '') FROM runs WHERE id = patterns.last_id);"
	"INSERT INTO counts SELECT 'status', status, COUNT(*), SUM(is_failure),"
	" SUM(fixed_by IS NOT NULL), MAX(id), NULL FROM runs GROUP BY status;"
	"INSERT INTO counts SELECT 'category', COALESCE(category, 'other'), COUNT(*), COUNT(*),"
	" SUM(fixed_by IS NOT NULL), MAX(id), NULL FROM runs WHERE is_failure = 1 GROUP BY 2;"
	"INSERT INTO counts SELECT 'day', substr(created_at, 1, 10), COUNT(*), SUM(is_failure),"
	" SUM(fixed_by IS NOT NULL), MAX(id), NULL FROM runs GROUP BY 2;"
	"INSERT INTO counts SELECT 'dur', printf('%02d', logdb_bucket(duration_ms)), COUNT(*),"
	" SUM(is_failure), SUM(fixed_by IS NOT NULL), MAX(id), NULL"
	" FROM runs WHERE status <> 'rejected' GROUP BY 2;"
	"INSERT INTO counts SELECT 'model', COALESCE(ai_model, ''), COUNT(*), SUM(is_failure),"
	" SUM(fixed_by IS NOT NULL), MAX(id), NULL FROM runs GROUP BY 2;"
	"UPDATE counts SET last_at = (SELECT created_at FROM runs WHERE id = counts.last_id);"
	"INSERT INTO totals SELECT 1, COUNT(*), COALESCE(SUM(is_failure = 0), 0),"
	" COALESCE(SUM(is_failure), 0), COALESCE(SUM(fixed_by IS NOT NULL), 0),"
	" COALESCE(SUM(status <> 'rejected'), 0),"
	" COALESCE(SUM(CASE WHEN status <> 'rejected' THEN MAX(COALESCE(duration_ms, 0), 0) END), 0),"
	" COALESCE(MAX(CASE WHEN status <> 'rejected' THEN COALESCE(duration_ms, 0) END), 0),"
	" (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM sessions WHERE failures > 0),"
	" (SELECT COUNT(*) FROM sessions WHERE unfixed > 0), (SELECT COUNT(*) FROM patterns),"
	" MIN(created_at), MAX(created_at) FROM runs;";

struct logdb;
static int backfill_lessons(struct logdb *db);

/* migrations[i] takes a database from version i to i + 1. */
static const struct migration {
	const char *sql;
	int (*fn)(struct logdb *db);	/* NULL, or run after sql */
} migrations[] = {
	{ schema_v1, NULL },
	{ schema_v2, backfill_lessons },
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == LOGDB_SCHEMA_VERSION,
    "one migration per schema version");

/* ---- Statements ------------------------------------------------------------ */

#define RUN_COLS_HEAD \
	"id, created_at, session_id, attempt, job_id, previous_attempt_id, code, code_sha256,"
#define RUN_COLS_TAIL \
	" image_type, image_bytes, image_width, image_height, use_sample, user_prompt, ai_model," \
	" status, http_status, exit_code, duration_ms,"
#define RUN_COLS_ERR \
	" truncated, error_type, error_message, error_line, traceback, reject_code, reject_message,"
/* Whole rows, rows without the streams (sessions), and page rows. */
#define RUN_COLS_WHOLE RUN_COLS_HEAD " params," RUN_COLS_TAIL " stdout_text, stderr_text," \
	RUN_COLS_ERR " timings_json, category, pattern, fixed_by"
#define RUN_COLS_SESSION RUN_COLS_HEAD " params," RUN_COLS_TAIL " NULL, NULL," \
	RUN_COLS_ERR " timings_json, category, pattern, fixed_by"
#define RUN_COLS_PAGE RUN_COLS_HEAD " NULL," RUN_COLS_TAIL " NULL, NULL," \
	RUN_COLS_ERR " NULL, category, pattern, fixed_by"

enum stmt_id {
	S_BEGIN_IMMEDIATE, S_BEGIN, S_COMMIT, S_ROLLBACK,
	/* insert */
	S_SESSION_GET, S_RUN_INSERT, S_SESSION_PUT, S_TOTALS_ADD, S_COUNT_ADD, S_PATTERN_ADD,
	S_PREVIOUS, S_RUN_FIX, S_PATTERN_FIX, S_COUNT_FIX, S_LESSON_ADD,
	/* read */
	S_TOTALS_GET, S_COUNTS_BY_N, S_COUNTS_BY_KEY_DESC, S_COUNTS_BY_KEY, S_PATTERNS_GET,
	S_LESSONS_GET, S_RUN_GET, S_PAGE_FAILURES, S_PAGE_UNFIXED, S_PAGE_SUCCESSES, S_PAGE_ALL,
	S_SESSION_RUNS, S_SESSION_TOTAL, S_FOREACH,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[S_BEGIN] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SESSION_GET] = "SELECT attempts, failures, unfixed FROM sessions WHERE session_id = ?1",
	[S_RUN_INSERT] = "INSERT INTO runs (created_at, session_id, attempt, job_id,"
	    " previous_attempt_id, code, code_sha256, params, image_type, image_bytes,"
	    " image_width, image_height, use_sample, user_prompt, ai_model, status, http_status,"
	    " exit_code, duration_ms, stdout_text, stderr_text, truncated, error_type,"
	    " error_message, error_line, traceback, reject_code, reject_message, timings_json,"
	    " category, pattern, is_failure, fixed_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
	    " ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, NULL)",
	[S_SESSION_PUT] = "INSERT INTO sessions (session_id, attempts, failures, unfixed,"
	    " successes, first_id, last_id, last_status) VALUES (?1, 1, ?2, ?2, 1 - ?2, ?3, ?3, ?4)"
	    " ON CONFLICT (session_id) DO UPDATE SET attempts = attempts + 1,"
	    " failures = failures + excluded.failures,"
	    " unfixed = CASE WHEN excluded.successes > 0 THEN 0 ELSE unfixed + 1 END,"
	    " successes = successes + excluded.successes, last_id = excluded.last_id,"
	    " last_status = excluded.last_status",
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
	[S_PREVIOUS] = "SELECT id, attempt, is_failure, fixed_by, COALESCE(category, 'other'),"
	    " COALESCE(error_type, ''), COALESCE(pattern, ''), substr(created_at, 1, 10),"
	    " COALESCE(ai_model, ''), code FROM runs WHERE session_id = ?1 AND attempt < ?2"
	    " ORDER BY attempt DESC LIMIT 1",
	[S_RUN_FIX] = "UPDATE runs SET fixed_by = ?1 WHERE id = ?2",
	[S_PATTERN_FIX] = "UPDATE patterns SET fixed = fixed + 1 WHERE category = ?1"
	    " AND error_type = ?2 AND pattern = ?3 RETURNING id",
	[S_COUNT_FIX] = "UPDATE counts SET fixed = fixed + 1 WHERE kind = ?1 AND key = ?2",
	[S_LESSON_ADD] = "INSERT INTO fix_lessons (pattern_id, change, n, example_fail_id,"
	    " example_fix_id) VALUES (?1, ?2, 1, ?3, ?4) ON CONFLICT (pattern_id, change)"
	    " DO UPDATE SET n = n + 1, example_fail_id = excluded.example_fail_id,"
	    " example_fix_id = excluded.example_fix_id",
	[S_TOTALS_GET] = "SELECT runs, successes, failures, fixed, ran, dur_sum, dur_max,"
	    " sessions, sessions_failed, sessions_unfixed, patterns, COALESCE(first_at, ''),"
	    " COALESCE(last_at, '') FROM totals WHERE id = 1",
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
	    " ORDER BY attempt LIMIT ?2",
	[S_SESSION_TOTAL] = "SELECT attempts FROM sessions WHERE session_id = ?1",
	[S_FOREACH] = "SELECT " RUN_COLS_WHOLE " FROM runs ORDER BY id",
};

struct logdb {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	pthread_mutex_t lock;		/* recursive: a read snapshot spans calls */
	int read_depth;			/* open logdb_read_begin()s */
	int readonly;
	int64_t (*now_ms)(void *arg);
	void *clock_arg;
};

/* ---- Small helpers ----------------------------------------------------------- */

static void
db_warn(struct logdb *db, const char *what)
{
	log_warnx("logdb: %s: %s", what, sqlite3_errmsg(db->db));
}

static void
lock(struct logdb *db)
{
	pthread_mutex_lock(&db->lock);
}

static void
unlock(struct logdb *db)
{
	pthread_mutex_unlock(&db->lock);
}

/* Returns the cached statement id, prepared on first use, reset and with
 * its bindings cleared; NULL on error (logged). The handle owns it. */
static sqlite3_stmt *
stmt(struct logdb *db, enum stmt_id id)
{
	sqlite3_stmt *st = db->st[id];

	if (st == NULL) {
		if (sqlite3_prepare_v3(db->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		    &st, NULL) != SQLITE_OK) {
			db_warn(db, "prepare");
			return NULL;
		}
		db->st[id] = st;
		return st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Steps a statement that returns no row (or rows nobody needs) to its end.
 * Returns 0, or -1 (logged). */
static int
run_done(struct logdb *db, sqlite3_stmt *st, const char *what)
{
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, what);
		return -1;
	}
	return 0;
}

static int
exec_id(struct logdb *db, enum stmt_id id)
{
	return run_done(db, stmt(db, id), stmt_sql[id]);
}

/* Copies column i as text into out (outlen bytes, cut), "" for NULL. */
static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t outlen)
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

/* Returns a malloc'd copy of text column i (NULL for SQL NULL) and its
 * length in *len; sets *oom when memory ran out. The caller frees it. */
static char *
col_dup(sqlite3_stmt *st, int i, size_t *len, int *oom)
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

static int64_t
real_now_ms(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes ms since the epoch as "YYYY-MM-DDThh:mm:ss.mmmZ" into out. */
static void
format_time(int64_t ms, char out[LOGDB_TIME_MAX])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || gmtime_r(&sec, &tm) == NULL) {
		snprintf(out, LOGDB_TIME_MAX, "1970-01-01T00:00:00.000Z");
		return;
	}
	/* The moduli only tell the compiler the widths: gmtime_r keeps to them. */
	snprintf(out, LOGDB_TIME_MAX, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
	    (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
	    (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
	    (unsigned)tm.tm_sec % 100u, (unsigned)(ms % 1000));
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

/* Returns the histogram bucket of a duration in ms. */
static int
duration_bucket(int64_t ms)
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
	sqlite3_result_int(ctx, duration_bucket(sqlite3_value_int64(argv[0])));
}

/* ---- Open, migrate, close ---------------------------------------------------------- */

static int
user_version(struct logdb *db, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Takes the database to LOGDB_SCHEMA_VERSION, one step per transaction;
 * a step another process made meanwhile is not made twice. Returns 0, or
 * -1 with err set. */
static int
migrate(struct logdb *db, char *err, size_t errlen)
{
	char pragma[64];
	int v, target;

	if (user_version(db, &v) < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(db->db));
		return -1;
	}
	if (v > LOGDB_SCHEMA_VERSION) {
		snprintf(err, errlen, "the database has schema version %d; this build knows "
		    "up to %d (made by a newer build?)", v, LOGDB_SCHEMA_VERSION);
		return -1;
	}
	for (target = v + 1; target <= LOGDB_SCHEMA_VERSION; target++) {
		if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "migration: %s", sqlite3_errmsg(db->db));
			return -1;
		}
		if (user_version(db, &v) < 0)
			goto fail;
		if (v >= target) {	/* another process got there first */
			sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
			target = v;
			continue;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", target);
		if (sqlite3_exec(db->db, migrations[target - 1].sql, NULL, NULL, NULL) != SQLITE_OK ||
		    (migrations[target - 1].fn != NULL && migrations[target - 1].fn(db) < 0) ||
		    sqlite3_exec(db->db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "migration to schema version %d: %s", target,
	    sqlite3_errmsg(db->db));
	sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

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
	db->now_ms = real_now_ms;
	return db;
}

/* Sets what every connection gets. Returns 0, or -1 with err. */
static int
setup_connection(struct logdb *db, char *err, size_t errlen)
{
	sqlite3_extended_result_codes(db->db, 1);
	if (sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_create_function(db->db, "logdb_bucket", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_bucket, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db->db));
		return -1;
	}
	return 0;
}

struct logdb *
logdb_open(const char *path, char *err, size_t errlen)
{
	struct logdb *db;
	int tries;

	if ((db = handle_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->db ? sqlite3_errmsg(db->db) :
		    "out of memory");
		goto fail;
	}
	if (setup_connection(db, err, errlen) < 0)
		goto fail;
	/* WAL: readers never block the writer. Switching needs a moment alone
	 * with the file, so retry while another process opens it too. */
	for (tries = 0; ; tries++) {
		if (sqlite3_exec(db->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) == SQLITE_OK)
			break;
		if (tries >= 50 || (sqlite3_errcode(db->db) & 0xff) != SQLITE_BUSY) {
			snprintf(err, errlen, "%s: journal_mode: %s", path, sqlite3_errmsg(db->db));
			goto fail;
		}
		usleep(100 * 1000);
	}
	/* NORMAL in WAL: a crash of the process loses nothing; a power cut may
	 * lose the last transactions, never the file. */
	if (sqlite3_exec(db->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
	    NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db->db));
		goto fail;
	}
	if (migrate(db, err, errlen) < 0)
		goto fail;
	return db;
fail:
	logdb_close(db);
	return NULL;
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
	if (user_version(db, &v) < 0) {
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
	lock(db);
	db->now_ms = now_ms ? now_ms : real_now_ms;
	db->clock_arg = now_ms ? arg : NULL;
	unlock(db);
}

/* ---- Insert ------------------------------------------------------------------ */

/* What is worked out about a record before its transaction starts. */
struct prepared {
	char created_at[LOGDB_TIME_MAX];
	char day[11];
	char sha[65];
	char type[LOGDB_TYPE_MAX];	/* the error type, given or parsed */
	const char *error_type;		/* NULL or type */
	char *message;			/* parsed from a raw traceback (freed), or NULL */
	const char *error_message;	/* given, or message */
	int error_line;
	int failure;
	struct analyze_class cls;
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
	format_time(db->now_ms(db->clock_arg), p->created_at);
	memcpy(p->day, p->created_at, 10);
	p->day[10] = '\0';
	if (rec->code != NULL)
		analyze_sha256_hex(rec->code, rec->code_len, p->sha);
	p->failure = strcmp(rec->status, "success") != 0;
	p->error_type = rec->error_type;
	p->error_message = rec->error_message;
	p->error_line = rec->error_line;
	if (rec->error_type == NULL && strcmp(rec->status, "error") == 0) {
		text = rec->traceback ? rec->traceback : rec->stderr_text;
		if (text != NULL && analyze_parse_traceback(text, strlen(text), &f)) {
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
	analyze_classify(&eff, &p->cls);
	return 0;
}

static int
count_add(struct logdb *db, const char *kind, const char *key, int failure, int64_t id,
    const char *at)
{
	sqlite3_stmt *st;

	if ((st = stmt(db, S_COUNT_ADD)) == NULL)
		return -1;
	bind_text(st, 1, kind);
	bind_text(st, 2, key);
	sqlite3_bind_int(st, 3, failure);
	sqlite3_bind_int64(st, 4, id);
	bind_text(st, 5, at);
	return run_done(db, st, "counts");
}

static int
count_fix(struct logdb *db, const char *kind, const char *key)
{
	sqlite3_stmt *st;

	if ((st = stmt(db, S_COUNT_FIX)) == NULL)
		return -1;
	bind_text(st, 1, kind);
	bind_text(st, 2, key);
	return run_done(db, st, "counts fix");
}

/* What marking one failure fixed needs of its row. */
struct earlier {
	int64_t id;
	int attempt, failure, fixed;
	char category[LOGDB_CATEGORY_MAX], type[LOGDB_TYPE_MAX];
	char pattern[LOGDB_PATTERN_MAX], day[11], model[136];
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

	if ((st = stmt(db, S_PREVIOUS)) == NULL)
		return -1;
	bind_text(st, 1, sid);
	sqlite3_bind_int(st, 2, before);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		db_warn(db, "previous attempt");
		sqlite3_reset(st);
		return -1;
	}
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, 0);
	e->attempt = sqlite3_column_int(st, 1);
	e->failure = sqlite3_column_int(st, 2);
	e->fixed = sqlite3_column_type(st, 3) != SQLITE_NULL;
	col_copy(st, 4, e->category, sizeof(e->category));
	col_copy(st, 5, e->type, sizeof(e->type));
	col_copy(st, 6, e->pattern, sizeof(e->pattern));
	col_copy(st, 7, e->day, sizeof(e->day));
	col_copy(st, 8, e->model, sizeof(e->model));
	e->code = col_dup(st, 9, &e->code_len, &oom);
	sqlite3_reset(st);
	return oom ? -1 : 1;
}

/* Records what a fix changed against one failure it fixed. Returns 0/-1. */
static int
lessons_add(struct logdb *db, int64_t pattern_id, const struct earlier *e, int64_t fix_id,
    const char *fix_code, size_t fix_len)
{
	char changes[CHANGES_PER_FAILURE][LOGDB_CHANGE_MAX];
	sqlite3_stmt *st;
	size_t n, i;

	if (e->code == NULL || fix_code == NULL)
		return 0;
	n = analyze_fix_changes(e->code, e->code_len, fix_code, fix_len, e->category,
	    e->pattern, changes, CHANGES_PER_FAILURE);
	for (i = 0; i < n; i++) {
		if ((st = stmt(db, S_LESSON_ADD)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, pattern_id);
		bind_text(st, 2, changes[i]);
		sqlite3_bind_int64(st, 3, e->id);
		sqlite3_bind_int64(st, 4, fix_id);
		if (run_done(db, st, "lesson") < 0)
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

	if ((st = stmt(db, S_RUN_FIX)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, fix_id);
	sqlite3_bind_int64(st, 2, e->id);
	if (run_done(db, st, "fix") < 0)
		return -1;
	if ((st = stmt(db, S_PATTERN_FIX)) == NULL)
		return -1;
	bind_text(st, 1, e->category);
	bind_text(st, 2, e->type);
	bind_text(st, 3, e->pattern);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		pattern_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, "pattern fix");
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

/* Inserts one prepared record inside the caller's transaction. Returns 0
 * with *log_id and *attempt, or -1 (logged). */
static int
insert_one(struct logdb *db, const struct run_record *rec, const struct prepared *p,
    int64_t *log_id, int *attempt)
{
	sqlite3_stmt *st;
	int64_t attempts = 0, failures = 0, unfixed = 0, id, fixed = 0, dur, pattern_n = 0;
	int have = 0, rc, ran;
	char key[8];

	/* The session so far. */
	if ((st = stmt(db, S_SESSION_GET)) == NULL)
		return -1;
	bind_text(st, 1, rec->session_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		have = 1;
		attempts = sqlite3_column_int64(st, 0);
		failures = sqlite3_column_int64(st, 1);
		unfixed = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_warn(db, "session");
		return -1;
	}
	if (attempts >= 2147483647)
		return -1;
	*attempt = (int)attempts + 1;

	/* The row. */
	if ((st = stmt(db, S_RUN_INSERT)) == NULL)
		return -1;
	bind_text(st, 1, p->created_at);
	bind_text(st, 2, rec->session_id);
	sqlite3_bind_int(st, 3, *attempt);
	bind_text(st, 4, rec->job_id);
	if (rec->previous_attempt_id > 0)
		sqlite3_bind_int64(st, 5, rec->previous_attempt_id);
	if (rec->code != NULL) {
		sqlite3_bind_text64(st, 6, rec->code, rec->code_len, SQLITE_STATIC, SQLITE_UTF8);
		bind_text(st, 7, p->sha);
	}
	bind_text(st, 8, rec->params);
	bind_text(st, 9, rec->image_type);
	if (rec->image_type != NULL || rec->image_bytes > 0) {
		sqlite3_bind_int64(st, 10, rec->image_bytes);
		sqlite3_bind_int(st, 11, rec->image_width);
		sqlite3_bind_int(st, 12, rec->image_height);
	}
	sqlite3_bind_int(st, 13, rec->use_sample != 0);
	bind_text(st, 14, rec->user_prompt);
	bind_text(st, 15, rec->ai_model);
	bind_text(st, 16, rec->status);
	sqlite3_bind_int(st, 17, rec->http_status);
	if (rec->exit_code >= 0)
		sqlite3_bind_int(st, 18, rec->exit_code);
	sqlite3_bind_int64(st, 19, rec->duration_ms);
	bind_text(st, 20, rec->stdout_text);
	bind_text(st, 21, rec->stderr_text);
	sqlite3_bind_int(st, 22, rec->truncated != 0);
	bind_text(st, 23, p->error_type);
	bind_text(st, 24, p->error_message);
	if (p->error_line > 0)
		sqlite3_bind_int(st, 25, p->error_line);
	bind_text(st, 26, rec->traceback);
	bind_text(st, 27, rec->reject_code);
	bind_text(st, 28, rec->reject_message);
	bind_text(st, 29, rec->timings_json);
	if (p->failure) {
		bind_text(st, 30, p->cls.category);
		bind_text(st, 31, p->cls.pattern);
	}
	sqlite3_bind_int(st, 32, p->failure);
	if (run_done(db, st, "insert") < 0)
		return -1;
	id = sqlite3_last_insert_rowid(db->db);
	*log_id = id;

	/* The aggregates. */
	ran = strcmp(rec->status, "rejected") != 0;
	dur = rec->duration_ms > 0 ? rec->duration_ms : 0;
	if (p->failure) {
		if ((st = stmt(db, S_PATTERN_ADD)) == NULL)
			return -1;
		bind_text(st, 1, p->cls.category);
		bind_text(st, 2, p->error_type ? p->error_type : "");
		bind_text(st, 3, p->cls.pattern);
		sqlite3_bind_int64(st, 4, id);
		bind_text(st, 5, p->created_at);
		bind_text(st, 6, rec->job_id ? rec->job_id : "");
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			pattern_n = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			db_warn(db, "pattern");
			return -1;
		}
		if (count_add(db, "category", p->cls.category, 1, id, p->created_at) < 0)
			return -1;
	}
	snprintf(key, sizeof(key), "%02d", duration_bucket(dur));
	if (count_add(db, "status", rec->status, p->failure, id, p->created_at) < 0 ||
	    count_add(db, "day", p->day, p->failure, id, p->created_at) < 0 ||
	    count_add(db, "model", rec->ai_model ? rec->ai_model : "", p->failure, id,
	    p->created_at) < 0 ||
	    (ran && count_add(db, "dur", key, p->failure, id, p->created_at) < 0))
		return -1;
	if ((st = stmt(db, S_SESSION_PUT)) == NULL)
		return -1;
	bind_text(st, 1, rec->session_id);
	sqlite3_bind_int(st, 2, p->failure);
	sqlite3_bind_int64(st, 3, id);
	bind_text(st, 4, rec->status);
	if (run_done(db, st, "session") < 0)
		return -1;
	if (!p->failure && unfixed > 0 &&
	    fix_earlier(db, rec->session_id, *attempt, id, rec, &fixed) < 0)
		return -1;

	if ((st = stmt(db, S_TOTALS_ADD)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, !p->failure);
	sqlite3_bind_int(st, 2, p->failure);
	sqlite3_bind_int64(st, 3, fixed);
	sqlite3_bind_int(st, 4, ran);
	sqlite3_bind_int64(st, 5, ran ? dur : 0);
	sqlite3_bind_int(st, 6, !have);
	sqlite3_bind_int(st, 7, p->failure && failures == 0);
	sqlite3_bind_int(st, 8, p->failure ? unfixed == 0 : -(unfixed > 0));
	sqlite3_bind_int(st, 9, pattern_n == 1);
	bind_text(st, 10, p->created_at);
	return run_done(db, st, "totals");
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
	lock(db);
	for (done = 0; done < n; done++)
		if (prepare(db, &recs[done], &p[done]) < 0) {
			log_warnx("logdb: insert: out of memory");
			done++;
			goto out;
		}
	if (exec_id(db, S_BEGIN_IMMEDIATE) < 0)
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
	if (exec_id(db, S_COMMIT) < 0)
		goto out;
	began = 0;
	rc = 0;
out:
	if (began)
		exec_id(db, S_ROLLBACK);
	unlock(db);
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

/* Migration 2's last step: the lessons of fixes already in the log, made
 * the way insert makes them (the LESSONS_PER_FIX newest failures of each
 * fix). Runs inside the migration's transaction. Returns 0/-1. */
static int
backfill_lessons(struct logdb *db)
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
		col_copy(st, 2, e.category, sizeof(e.category));
		col_copy(st, 3, e.type, sizeof(e.type));
		col_copy(st, 4, e.pattern, sizeof(e.pattern));
		e.code = (char *)sqlite3_column_text(st, 5);
		e.code_len = (size_t)sqlite3_column_bytes(st, 5);
		fix = (const char *)sqlite3_column_text(st, 6);
		fix_len = (size_t)sqlite3_column_bytes(st, 6);
		sqlite3_reset(pst);
		bind_text(pst, 1, e.category);
		bind_text(pst, 2, e.type);
		bind_text(pst, 3, e.pattern);
		if (sqlite3_step(pst) == SQLITE_ROW &&
		    lessons_add(db, sqlite3_column_int64(pst, 0), &e,
		    sqlite3_column_int64(st, 1), fix, fix_len) < 0)
			goto out;
	}
	if (rc == SQLITE_DONE)
		result = 0;
out:
	if (result < 0)
		db_warn(db, "lessons backfill");
	sqlite3_finalize(st);
	sqlite3_finalize(pst);
	return result;
}

/* ---- Read ---------------------------------------------------------------------- */

int
logdb_read_begin(struct logdb *db)
{
	lock(db);
	if (db->read_depth++ == 0 && exec_id(db, S_BEGIN) < 0) {
		db->read_depth--;
		unlock(db);
		return -1;
	}
	return 0;
}

void
logdb_read_end(struct logdb *db)
{
	if (--db->read_depth == 0)
		exec_id(db, S_COMMIT);
	unlock(db);
}

int
logdb_get_totals(struct logdb *db, struct logdb_totals *t)
{
	sqlite3_stmt *st;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	lock(db);
	if ((st = stmt(db, S_TOTALS_GET)) == NULL)
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
		col_copy(st, 11, t->first_at, sizeof(t->first_at));
		col_copy(st, 12, t->last_at, sizeof(t->last_at));
		rc = 0;
	} else
		db_warn(db, "totals");
	sqlite3_reset(st);
out:
	unlock(db);
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
	lock(db);
	if ((st = stmt(db, id)) == NULL)
		goto out;
	bind_text(st, 1, kinds[kind]);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct logdb_count *c = &out[(*n)++];
		memset(c, 0, sizeof(*c));
		col_copy(st, 0, c->key, sizeof(c->key));
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
		col_copy(st, 5, c->last_at, sizeof(c->last_at));
	}
	if (*n < max && rc != SQLITE_DONE)
		db_warn(db, "counts");
	else
		result = 0;
	sqlite3_reset(st);
out:
	unlock(db);
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
	col_copy(st, i + 5, p->category, sizeof(p->category));
	col_copy(st, i + 6, p->error_type, sizeof(p->error_type));
	col_copy(st, i + 7, p->pattern, sizeof(p->pattern));
	col_copy(st, i + 8, p->last_at, sizeof(p->last_at));
	col_copy(st, i + 9, p->last_job, sizeof(p->last_job));
}

int
logdb_get_patterns(struct logdb *db, struct logdb_pattern *out, size_t max, size_t *n)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, result = -1;

	*n = 0;
	lock(db);
	if ((st = stmt(db, S_PATTERNS_GET)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		pattern_read(st, 0, &out[(*n)++]);
	if (*n < max && rc != SQLITE_DONE)
		db_warn(db, "patterns");
	else
		result = 0;
	sqlite3_reset(st);
out:
	unlock(db);
	return result;
}

int
logdb_get_lessons(struct logdb *db, struct logdb_lesson *out, size_t max, size_t *n)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, result = -1;

	*n = 0;
	lock(db);
	if ((st = stmt(db, S_LESSONS_GET)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(max > INT32_MAX ? INT32_MAX : max));
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct logdb_lesson *l = &out[(*n)++];
		pattern_read(st, 0, &l->pattern);
		col_copy(st, 10, l->change, sizeof(l->change));
		l->n = sqlite3_column_int64(st, 11);
		l->example_fail_id = sqlite3_column_int64(st, 12);
		l->example_fix_id = sqlite3_column_int64(st, 13);
	}
	if (*n < max && rc != SQLITE_DONE)
		db_warn(db, "lessons");
	else
		result = 0;
	sqlite3_reset(st);
out:
	unlock(db);
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
	col_copy(st, 1, run->created_at, sizeof(run->created_at));
	r->session_id = col_dup(st, 2, NULL, &oom);
	run->attempt = sqlite3_column_int(st, 3);
	r->job_id = col_dup(st, 4, NULL, &oom);
	r->previous_attempt_id = sqlite3_column_int64(st, 5);
	r->code = col_dup(st, 6, &r->code_len, &oom);
	col_copy(st, 7, run->code_sha256, sizeof(run->code_sha256));
	r->params = col_dup(st, 8, NULL, &oom);
	r->image_type = col_dup(st, 9, NULL, &oom);
	r->image_bytes = sqlite3_column_int64(st, 10);
	r->image_width = sqlite3_column_int(st, 11);
	r->image_height = sqlite3_column_int(st, 12);
	r->use_sample = sqlite3_column_int(st, 13);
	r->user_prompt = col_dup(st, 14, NULL, &oom);
	r->ai_model = col_dup(st, 15, NULL, &oom);
	r->status = col_dup(st, 16, NULL, &oom);
	r->http_status = sqlite3_column_int(st, 17);
	r->exit_code = sqlite3_column_type(st, 18) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 18);
	r->duration_ms = sqlite3_column_int64(st, 19);
	r->stdout_text = col_dup(st, 20, NULL, &oom);
	r->stderr_text = col_dup(st, 21, NULL, &oom);
	r->truncated = sqlite3_column_int(st, 22);
	r->error_type = col_dup(st, 23, NULL, &oom);
	r->error_message = col_dup(st, 24, NULL, &oom);
	r->error_line = sqlite3_column_int(st, 25);
	r->traceback = col_dup(st, 26, NULL, &oom);
	r->reject_code = col_dup(st, 27, NULL, &oom);
	r->reject_message = col_dup(st, 28, NULL, &oom);
	r->timings_json = col_dup(st, 29, NULL, &oom);
	col_copy(st, 30, run->category, sizeof(run->category));
	col_copy(st, 31, run->pattern, sizeof(run->pattern));
	run->fixed_by = sqlite3_column_int64(st, 32);
	return oom ? -1 : 0;
}

int
logdb_get_run(struct logdb *db, int64_t id, struct logdb_run *out)
{
	sqlite3_stmt *st;
	int rc, result = -1;

	memset(out, 0, sizeof(*out));
	lock(db);
	if ((st = stmt(db, S_RUN_GET)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		result = 0;
	else if (rc != SQLITE_ROW)
		db_warn(db, "run");
	else if (run_read(st, out, 1) < 0) {
		log_warnx("logdb: run: out of memory");
		logdb_run_free(out);
	} else
		result = 1;
	sqlite3_reset(st);
out:
	unlock(db);
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
		db_warn(db, "runs");
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
	lock(db);
	if ((st = stmt(db, ids[f])) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, before > 0 ? before : INT64_MAX);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	rc = runs_collect(db, st, limit, 0, out, n);
out:
	unlock(db);
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
	lock(db);
	if (total) {
		if ((st = stmt(db, S_SESSION_TOTAL)) == NULL)
			goto out;
		bind_text(st, 1, session_id);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			*total = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			db_warn(db, "session");
			goto out;
		}
	}
	if ((st = stmt(db, S_SESSION_RUNS)) == NULL)
		goto out;
	bind_text(st, 1, session_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	rc = runs_collect(db, st, max, 0, out, n);
	/* Rows carry params and timings: shown as whole but the streams. */
out:
	unlock(db);
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
	if ((st = stmt(db, S_FOREACH)) == NULL)
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
		db_warn(db, "export");
out:
	if (st)
		sqlite3_reset(st);
	logdb_read_end(db);
	return result;
}
