/*
 * logdb_schema: the log's schema, version by version, and the migration
 * that takes a database from the version it has to LOGDB_SCHEMA_VERSION.
 *
 * Tables (schema version 3):
 *   runs         one row per request: every field of struct run_record, plus
 *                id, created_at, attempt, code_sha256, code_bytes, category,
 *                pattern, is_failure and fixed_by (the success that fixed it)
 *   totals       one row of running totals, and the rows retention let go
 *   counts       (kind, key) -> n, failures, fixed: by status, category, day,
 *                duration bucket and AI model
 *   sessions     per session: attempts, failures, unfixed failures, the model
 *                and ai_lessons of its first attempt, the attempt of its first
 *                success
 *   patterns     per (category, type, normalised message): n, fixed, examples
 *   fix_lessons  per (pattern, change): what fixes of that pattern changed
 *   model_stats  per (ai_model, ai_lessons): runs, failures, fixed, sessions
 *                started, first attempts that succeeded, sessions that
 *                succeeded and their attempts until success
 *   model_attempts  per (ai_model, ai_lessons, attempts): sessions that took
 *                that many attempts to succeed (for the median)
 *   retired_unfixed  the facts of unfixed failures retention let go, so a
 *                later fix still counts (at most LOGDB_RETIRED_UNFIXED)
 *
 * Everything but runs is kept up to date by logdb_insert, in the same
 * write transaction as the row itself (serialized with every other
 * writer), so the summary and the
 * analysis read a few small tables instead of scanning the log, several
 * processes writing at once get distinct, gap-free attempt numbers, and
 * retention can delete rows without changing a figure.
 *
 * This file is SQLite's schema and migrations; PostgreSQL's, the same
 * tables made at version 3, are in logdb_schema_pg.c.
 */
#include <stdio.h>

#include "base/log.h"
#include "store/logdb_internal.h"

/* ---- Schema -------------------------------------------------------------- */

/* Version 1: the raw log. */
const char logdb_schema_v1[] =
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
 * already there (the lessons of old fixes are filled by logdb_backfill_lessons). */
const char logdb_schema_v2[] =
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

/* Version 3: retention (code_bytes, a refused request's code cut to its
 * excerpt, the rows let go, the facts of unfixed failures let go), the
 * per-model figures (ai_lessons on each row, the model of each session),
 * filled from the rows already there (their ai_lessons not known). */
static const char schema_v3[] =
	"ALTER TABLE runs ADD COLUMN code_bytes INTEGER;"
	"ALTER TABLE runs ADD COLUMN ai_lessons INTEGER NOT NULL DEFAULT -1;"
	"UPDATE runs SET code_bytes = length(CAST(code AS BLOB)) WHERE code IS NOT NULL;"
	"UPDATE runs SET code = logdb_excerpt(code, 1024)"
	" WHERE status = 'rejected' AND code_bytes > 1024;"
	"ALTER TABLE totals ADD COLUMN rows_retired INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE totals ADD COLUMN retired_until TEXT;"
	"ALTER TABLE sessions ADD COLUMN model TEXT;"
	"ALTER TABLE sessions ADD COLUMN lessons INTEGER;"
	"ALTER TABLE sessions ADD COLUMN success_attempt INTEGER;"
	"UPDATE sessions SET lessons = -1,"
	" model = (SELECT r.ai_model FROM runs r WHERE r.session_id = sessions.session_id"
	" AND r.attempt = 1),"
	" success_attempt = (SELECT MIN(r.attempt) FROM runs r"
	" WHERE r.session_id = sessions.session_id AND r.status = 'success');"
	"CREATE TABLE model_stats ("
	" model TEXT NOT NULL, lessons INTEGER NOT NULL,"
	" runs INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,"
	" fixed INTEGER NOT NULL DEFAULT 0, sessions INTEGER NOT NULL DEFAULT 0,"
	" first_ok INTEGER NOT NULL DEFAULT 0, succeeded INTEGER NOT NULL DEFAULT 0,"
	" attempts_sum INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (model, lessons)) WITHOUT ROWID;"
	"CREATE TABLE model_attempts ("
	" model TEXT NOT NULL, lessons INTEGER NOT NULL, attempts INTEGER NOT NULL,"
	" n INTEGER NOT NULL, PRIMARY KEY (model, lessons, attempts)) WITHOUT ROWID;"
	"CREATE TABLE retired_unfixed ("
	" id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, attempt INTEGER NOT NULL,"
	" category TEXT NOT NULL, error_type TEXT NOT NULL, pattern TEXT NOT NULL,"
	" day TEXT NOT NULL, model TEXT NOT NULL, lessons INTEGER NOT NULL);"
	"CREATE INDEX retired_unfixed_session ON retired_unfixed(session_id, attempt);"
	/* Backfill from the rows. */
	"INSERT INTO model_stats (model, lessons, runs, failures, fixed)"
	" SELECT ai_model, -1, COUNT(*), SUM(is_failure), SUM(fixed_by IS NOT NULL)"
	" FROM runs WHERE ai_model IS NOT NULL GROUP BY ai_model;"
	"INSERT INTO model_stats (model, lessons, sessions, first_ok, succeeded, attempts_sum)"
	" SELECT model, -1, COUNT(*), SUM(success_attempt = 1), COUNT(success_attempt),"
	" COALESCE(SUM(success_attempt), 0) FROM sessions WHERE model IS NOT NULL"
	" GROUP BY model ON CONFLICT (model, lessons) DO UPDATE SET"
	" sessions = excluded.sessions, first_ok = excluded.first_ok,"
	" succeeded = excluded.succeeded, attempts_sum = excluded.attempts_sum;"
	"INSERT INTO model_attempts (model, lessons, attempts, n)"
	" SELECT model, -1, min(success_attempt, 100), COUNT(*) FROM sessions"
	" WHERE model IS NOT NULL AND success_attempt IS NOT NULL"
	" GROUP BY model, min(success_attempt, 100);";
_Static_assert(LOGDB_ATTEMPTS_CAP == 100 && LOGDB_REJECT_CODE == 1024,
    "schema_v3 spells these numbers out");

/* migrations[i] takes a database from version i to i + 1. */
static const struct migration {
	const char *sql;
	int (*fn)(struct logdb *db);	/* NULL, or run after sql */
} migrations[] = {
	{ logdb_schema_v1, NULL },
	{ logdb_schema_v2, logdb_backfill_lessons },
	{ schema_v3, NULL },
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == LOGDB_SCHEMA_VERSION,
    "one migration per schema version");

/* ---- Migrate ----------------------------------------------------------------------------- */

int
logdb_user_version(struct logdb *db, int *v)
{
	struct sqldb_stmt *st;
	int rc = -1;

	if (logdb_is_pg(db))
		return logdb_pg_version(db, v);
	if ((st = sqldb_prepare(db->db, "PRAGMA user_version")) != NULL &&
	    sqldb_step(st) == SQLDB_ROW) {
		*v = sqldb_column_int(st, 0);
		rc = 0;
	}
	sqldb_finalize(st);
	return rc;
}

/* Sets *why from the connection's last failure and err from what failed. */
static void
migrate_error(struct logdb *db, const char *what, int target, enum logdb_open_error *why,
    char *err, size_t errlen)
{
	*why = logdb_open_error_of(sqldb_last_fail(db->db), "");
	if (target > 0)
		snprintf(err, errlen, "%s to schema version %d: %s", what, target,
		    sqldb_errmsg(db->db));
	else
		snprintf(err, errlen, "%s: %s", what, sqldb_errmsg(db->db));
}

/* Turns incremental auto-vacuum on for a database made without it (by a
 * build before schema 3): that takes one VACUUM, outside any transaction.
 * Another process doing the same meanwhile, or a full disk, leaves it for
 * the next open. */
static void
enable_auto_vacuum(struct logdb *db)
{
	struct sqldb_stmt *st;
	int mode = -1;

	if ((st = sqldb_prepare(db->db, "PRAGMA auto_vacuum")) != NULL &&
	    sqldb_step(st) == SQLDB_ROW)
		mode = sqldb_column_int(st, 0);
	sqldb_finalize(st);
	if (mode == 2 || mode < 0)
		return;
	log_info("logdb: turning incremental auto-vacuum on (one VACUUM of the whole file)");
	if (sqldb_exec(db->db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM") < 0)
		logdb_warn(db, "VACUUM for incremental auto-vacuum (tried again at the next open)");
}

/* A step another process made meanwhile is not made twice. */
int
logdb_migrate(struct logdb *db, enum logdb_open_error *why, char *err, size_t errlen)
{
	char pragma[64];
	int v, target = 0;

	if (logdb_is_pg(db))
		return logdb_pg_migrate(db, why, err, errlen);
	if (logdb_user_version(db, &v) < 0) {
		migrate_error(db, "cannot read the schema version", 0, why, err, errlen);
		return -1;
	}
	if (v > LOGDB_SCHEMA_VERSION) {
		*why = LOGDB_NEWER;
		snprintf(err, errlen, "the database has schema version %d; this build knows "
		    "up to %d (made by a newer build?)", v, LOGDB_SCHEMA_VERSION);
		return -1;
	}
	for (target = v + 1; target <= LOGDB_SCHEMA_VERSION; target++) {
		if (sqldb_begin(db->db, SQLDB_WRITE) < 0) {
			migrate_error(db, "migration", target, why, err, errlen);
			return -1;
		}
		if (logdb_user_version(db, &v) < 0)
			goto fail;
		if (v >= target) {	/* another process got there first */
			sqldb_commit(db->db);
			target = v;
			continue;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", target);
		if (sqldb_exec(db->db, migrations[target - 1].sql) < 0 ||
		    (migrations[target - 1].fn != NULL && migrations[target - 1].fn(db) < 0) ||
		    sqldb_exec(db->db, pragma) < 0 || sqldb_commit(db->db) < 0)
			goto fail;
	}
	enable_auto_vacuum(db);
	return 0;
fail:
	migrate_error(db, "migration", target, why, err, errlen);
	sqldb_rollback(db->db);
	return -1;
}
