/*
 * logdb_sql: the SQL of the store's statements, written once for SQLite
 * and PostgreSQL where it can be ($1..$n parameters, ON CONFLICT,
 * RETURNING, CASE for what SQLite spells max(a, b)); the few statements of
 * one dialect only (SQLite's PRAGMAs, PostgreSQL's size estimate) are
 * NULL in the other's table.
 */
#include <pthread.h>
#include <stddef.h>

#include "store/logdb_internal.h"

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
/* The last n + 1 characters (SQLite's substr(col, -k) has no PostgreSQL
 * twin; this says it in both). */
#define TAIL(col, n) "substr(" col ", CASE WHEN length(" col ") > " XS(n) " + 1 THEN" \
	" length(" col ") - " XS(n) " ELSE 1 END)"
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

static const char *const sql_common[S_COUNT] = {
	[S_SESSION_GET] = "SELECT attempts, failures, unfixed, model, COALESCE(lessons, -1),"
	    " COALESCE(success_attempt, 0) FROM sessions WHERE session_id = $1",
	[S_RUN_INSERT] = "INSERT INTO runs (created_at, session_id, attempt, job_id,"
	    " previous_attempt_id, code, code_sha256, params, image_type, image_bytes,"
	    " image_width, image_height, use_sample, user_prompt, ai_model, status, http_status,"
	    " exit_code, duration_ms, stdout_text, stderr_text, truncated, error_type,"
	    " error_message, error_line, traceback, reject_code, reject_message, timings_json,"
	    " category, pattern, is_failure, fixed_by, code_bytes, ai_lessons) VALUES ($1, $2,"
	    " $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,"
	    " $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, NULL, $33, $34) RETURNING id",
	[S_SESSION_PUT] = "INSERT INTO sessions (session_id, attempts, failures, unfixed,"
	    " successes, first_id, last_id, last_status, model, lessons, success_attempt)"
	    " VALUES ($1, 1, $2, $2, 1 - $2, $3, $3, $4, $5, $6, $7)"
	    " ON CONFLICT (session_id) DO UPDATE SET attempts = sessions.attempts + 1,"
	    " failures = sessions.failures + excluded.failures,"
	    " unfixed = CASE WHEN excluded.successes > 0 THEN 0 ELSE sessions.unfixed + 1 END,"
	    " successes = sessions.successes + excluded.successes, last_id = excluded.last_id,"
	    " last_status = excluded.last_status,"
	    " success_attempt = COALESCE(sessions.success_attempt, excluded.success_attempt)",
	[S_TOTALS_ADD] = "UPDATE totals SET runs = runs + 1, successes = successes + $1,"
	    " failures = failures + $2, fixed = fixed + $3, ran = ran + $4,"
	    " dur_sum = dur_sum + $5, dur_max = CASE WHEN dur_max > $5 THEN dur_max ELSE $5 END, sessions = sessions + $6,"
	    " sessions_failed = sessions_failed + $7, sessions_unfixed = sessions_unfixed + $8,"
	    " patterns = patterns + $9, first_at = COALESCE(first_at, $10), last_at = $10"
	    " WHERE id = 1",
	[S_COUNT_ADD] = "INSERT INTO counts (kind, key, n, failures, fixed, last_id, last_at)"
	    " VALUES ($1, $2, 1, $3, 0, $4, $5) ON CONFLICT (kind, key) DO UPDATE SET"
	    " n = counts.n + 1, failures = counts.failures + excluded.failures,"
	    " last_id = excluded.last_id, last_at = excluded.last_at",
	[S_PATTERN_ADD] = "INSERT INTO patterns (category, error_type, pattern, n, fixed,"
	    " first_id, last_id, last_at, last_job) VALUES ($1, $2, $3, 1, 0, $4, $4, $5, $6)"
	    " ON CONFLICT (category, error_type, pattern) DO UPDATE SET n = patterns.n + 1,"
	    " last_id = excluded.last_id, last_at = excluded.last_at, last_job = excluded.last_job"
	    " RETURNING patterns.n",
	[S_MODEL_ADD] = "INSERT INTO model_stats (model, lessons, runs, failures, fixed, sessions,"
	    " first_ok, succeeded, attempts_sum) VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8)"
	    " ON CONFLICT (model, lessons) DO UPDATE SET runs = model_stats.runs + excluded.runs,"
	    " failures = model_stats.failures + excluded.failures,"
	    " sessions = model_stats.sessions + excluded.sessions,"
	    " first_ok = model_stats.first_ok + excluded.first_ok,"
	    " succeeded = model_stats.succeeded + excluded.succeeded,"
	    " attempts_sum = model_stats.attempts_sum + excluded.attempts_sum",
	[S_MODEL_ATTEMPT] = "INSERT INTO model_attempts (model, lessons, attempts, n)"
	    " VALUES ($1, $2, $3, 1) ON CONFLICT (model, lessons, attempts) DO UPDATE SET n = model_attempts.n + 1",
	[S_PREVIOUS] = "SELECT id, attempt, is_failure, fixed_by, COALESCE(category, 'other'),"
	    " COALESCE(error_type, ''), COALESCE(pattern, ''), substr(created_at, 1, 10),"
	    " COALESCE(ai_model, ''), code, ai_lessons FROM runs WHERE session_id = $1"
	    " AND attempt < $2 ORDER BY attempt DESC LIMIT 1",
	[S_RUN_FIX] = "UPDATE runs SET fixed_by = $1 WHERE id = $2",
	[S_PATTERN_FIX] = "UPDATE patterns SET fixed = fixed + 1 WHERE category = $1"
	    " AND error_type = $2 AND pattern = $3 RETURNING id",
	[S_COUNT_FIX] = "UPDATE counts SET fixed = fixed + 1 WHERE kind = $1 AND key = $2",
	[S_LESSON_ADD] = "INSERT INTO fix_lessons (pattern_id, change, n, example_fail_id,"
	    " example_fix_id) VALUES ($1, $2, 1, $3, $4) ON CONFLICT (pattern_id, change)"
	    " DO UPDATE SET n = fix_lessons.n + 1, example_fail_id = excluded.example_fail_id,"
	    " example_fix_id = excluded.example_fix_id",
	[S_MODEL_FIX] = "UPDATE model_stats SET fixed = fixed + 1 WHERE model = $1 AND lessons = $2",
	[S_STUBS_GET] = "SELECT attempt, category, error_type, pattern, day, model, lessons"
	    " FROM retired_unfixed WHERE session_id = $1 AND attempt < $2 ORDER BY attempt DESC",
	[S_STUBS_DEL] = "DELETE FROM retired_unfixed WHERE session_id = $1 AND attempt < $2",
	[S_RETAIN_HEAD] = "SELECT id, created_at FROM runs ORDER BY id LIMIT $1",
	[S_RETAIN_STUBS] = "INSERT INTO retired_unfixed (session_id, attempt, category,"
	    " error_type, pattern, day, model, lessons) SELECT session_id, attempt,"
	    " COALESCE(category, 'other'), COALESCE(error_type, ''), COALESCE(pattern, ''),"
	    " substr(created_at, 1, 10), COALESCE(ai_model, ''), ai_lessons FROM runs"
	    " WHERE id <= $1 AND is_failure = 1 AND fixed_by IS NULL",
	[S_RETAIN_DELETE] = "DELETE FROM runs WHERE id <= $1",
	[S_RETAIN_TOTALS] = "UPDATE totals SET rows_retired = rows_retired + $1,"
	    " retired_until = CASE WHEN COALESCE(retired_until, '') > $2 THEN retired_until"
	    " ELSE $2 END WHERE id = 1",
	[S_STUBS_CAP] = "DELETE FROM retired_unfixed"
	    " WHERE id <= (SELECT MAX(id) FROM retired_unfixed) - $1",
	[S_PAGE_COUNT] = "PRAGMA page_count",
	[S_FREELIST_COUNT] = "PRAGMA freelist_count",
	[S_PAGE_SIZE] = "PRAGMA page_size",
	[S_VACUUM_STEP] = "PRAGMA incremental_vacuum(1024)",
	[S_CHECKPOINT] = "PRAGMA wal_checkpoint(PASSIVE)",
	[S_TOTALS_GET] = "SELECT runs, successes, failures, fixed, ran, dur_sum, dur_max,"
	    " sessions, sessions_failed, sessions_unfixed, patterns, COALESCE(first_at, ''),"
	    " COALESCE(last_at, ''), rows_retired, COALESCE(retired_until, '') FROM totals"
	    " WHERE id = 1",
	/* Every change of the log adds a run or retires rows, in the same
	 * transaction as its totals: their sum grows with each. */
	[S_VERSION] = "SELECT runs + rows_retired FROM totals WHERE id = 1",
	[S_KEPT_SINCE] = "SELECT created_at FROM runs ORDER BY id LIMIT 1",
	[S_COUNTS_BY_N] = "SELECT key, n, failures, fixed, COALESCE(last_id, 0),"
	    " COALESCE(last_at, '') FROM counts WHERE kind = $1 ORDER BY n DESC, key LIMIT $2",
	[S_COUNTS_BY_KEY_DESC] = "SELECT key, n, failures, fixed, COALESCE(last_id, 0),"
	    " COALESCE(last_at, '') FROM counts WHERE kind = $1 ORDER BY key DESC LIMIT $2",
	[S_COUNTS_BY_KEY] = "SELECT key, n, failures, fixed, COALESCE(last_id, 0),"
	    " COALESCE(last_at, '') FROM counts WHERE kind = $1 ORDER BY key LIMIT $2",
	[S_PATTERNS_GET] = "SELECT id, n, fixed, COALESCE(first_id, 0), COALESCE(last_id, 0),"
	    " category, error_type, pattern, COALESCE(last_at, ''), COALESCE(last_job, '')"
	    " FROM patterns ORDER BY n DESC, last_id DESC LIMIT $1",
	[S_LESSONS_GET] = "SELECT p.id, p.n, p.fixed, COALESCE(p.first_id, 0),"
	    " COALESCE(p.last_id, 0), p.category, p.error_type, p.pattern,"
	    " COALESCE(p.last_at, ''), COALESCE(p.last_job, ''), l.change, l.n,"
	    " COALESCE(l.example_fail_id, 0), COALESCE(l.example_fix_id, 0)"
	    " FROM fix_lessons l JOIN patterns p ON p.id = l.pattern_id"
	    " ORDER BY l.n DESC, l.example_fix_id DESC, l.pattern_id, l.change LIMIT $1",
	[S_RUN_GET] = "SELECT " RUN_COLS_WHOLE " FROM runs WHERE id = $1",
	[S_PAGE_FAILURES] = "SELECT " RUN_COLS_PAGE " FROM runs WHERE is_failure = 1"
	    " AND id < $1 ORDER BY id DESC LIMIT $2",
	[S_PAGE_UNFIXED] = "SELECT " RUN_COLS_PAGE " FROM runs WHERE is_failure = 1"
	    " AND fixed_by IS NULL AND id < $1 ORDER BY id DESC LIMIT $2",
	[S_PAGE_SUCCESSES] = "SELECT " RUN_COLS_PAGE " FROM runs WHERE is_failure = 0"
	    " AND id < $1 ORDER BY id DESC LIMIT $2",
	[S_PAGE_ALL] = "SELECT " RUN_COLS_PAGE " FROM runs WHERE id < $1"
	    " ORDER BY id DESC LIMIT $2",
	[S_SESSION_RUNS] = "SELECT " RUN_COLS_SESSION " FROM runs WHERE session_id = $1"
	    " AND attempt > $2 ORDER BY attempt LIMIT $3",
	[S_SESSION_TOTAL] = "SELECT attempts FROM sessions WHERE session_id = $1",
	[S_FOREACH] = "SELECT " RUN_COLS_WHOLE " FROM runs WHERE id > $1 ORDER BY id LIMIT $2",
	[S_MODELS_TOP] = "SELECT key FROM counts WHERE kind = 'model' AND key <> ''"
	    " ORDER BY n DESC, key LIMIT $1",
	[S_MODEL_PARTS] = "SELECT lessons, runs, failures, fixed, sessions, first_ok, succeeded,"
	    " attempts_sum FROM model_stats WHERE model = $1",
	[S_MODEL_HIST] = "SELECT lessons, attempts, n FROM model_attempts WHERE model = $1",
};

/* PostgreSQL's own: the bytes the log takes, estimated (see
 * logdb_used_bytes). */
static const char *const sql_pg_only[S_COUNT] = {
	[S_USED_BYTES_PG] = "SELECT CAST((SELECT COALESCE(AVG(pg_column_size(r.*)), 0) FROM"
	    " (SELECT * FROM runs ORDER BY id DESC LIMIT 1000) r) * (SELECT runs - rows_retired"
	    " FROM totals WHERE id = 1) AS BIGINT)",
};

/* The statements SQLite has and PostgreSQL does not. */
static const enum stmt_id sqlite_only[] = {
	S_PAGE_COUNT, S_FREELIST_COUNT, S_PAGE_SIZE, S_VACUUM_STEP, S_CHECKPOINT,
};

static const char *sql_sqlite[S_COUNT], *sql_pg[S_COUNT];
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

/* Fills the two tables from the common one. */
static void
sql_init(void)
{
	size_t i;

	for (i = 0; i < S_COUNT; i++) {
		sql_sqlite[i] = sql_common[i];
		sql_pg[i] = sql_pg_only[i] != NULL ? sql_pg_only[i] : sql_common[i];
	}
	for (i = 0; i < sizeof(sqlite_only) / sizeof(sqlite_only[0]); i++)
		sql_pg[sqlite_only[i]] = NULL;
}

const char *const *
logdb_sql(enum sqldb_dialect d)
{
	pthread_once(&sql_once, sql_init);
	return d == SQLDB_PG ? sql_pg : sql_sqlite;
}
