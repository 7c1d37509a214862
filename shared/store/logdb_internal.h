/*
 * logdb_internal: what the files of the log store share, and nothing
 * outside shared/logdb*.c (and its unit test) includes: the handle, its
 * cached statements, and the helpers every query uses.
 */
#ifndef LOGDB_INTERNAL_H
#define LOGDB_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store/logdb.h"
#include "store/sqldb.h"

/* The statements of the handle, prepared on first use (logdb_sql.c holds
 * their SQL, in the dialect of the handle's database). */
enum stmt_id {
	/* insert */
	S_SESSION_GET, S_RUN_INSERT, S_SESSION_PUT, S_TOTALS_ADD, S_COUNT_ADD, S_PATTERN_ADD,
	S_MODEL_ADD, S_MODEL_ATTEMPT,
	/* fixes */
	S_PREVIOUS, S_RUN_FIX, S_PATTERN_FIX, S_COUNT_FIX, S_LESSON_ADD, S_MODEL_FIX,
	S_STUBS_GET, S_STUBS_DEL,
	/* retention */
	S_RETAIN_HEAD, S_RETAIN_STUBS, S_RETAIN_DELETE, S_RETAIN_TOTALS, S_STUBS_CAP,
	S_PAGE_COUNT, S_FREELIST_COUNT, S_PAGE_SIZE, S_VACUUM_STEP, S_CHECKPOINT,	/* SQLite */
	S_USED_BYTES_PG,							/* PostgreSQL */
	/* read */
	S_TOTALS_GET, S_VERSION, S_KEPT_SINCE, S_COUNTS_BY_N, S_COUNTS_BY_KEY_DESC, S_COUNTS_BY_KEY,
	S_PATTERNS_GET, S_LESSONS_GET, S_RUN_GET, S_PAGE_FAILURES, S_PAGE_UNFIXED,
	S_PAGE_SUCCESSES, S_PAGE_ALL, S_SESSION_RUNS, S_SESSION_TOTAL, S_FOREACH,
	S_MODELS_TOP, S_MODEL_PARTS, S_MODEL_HIST,
	S_COUNT
};

struct logdb {
	struct sqldb *db;
	struct sqldb_stmt *st[S_COUNT];
	const char *const *sql;		/* the statements' SQL, of db's dialect */
	pthread_mutex_t lock;		/* recursive: a read snapshot spans calls */
	int read_depth;			/* open logdb_read_begin()s */
	int readonly;
	int64_t (*now_ms)(void *arg);	/* NULL: the real clock */
	void *clock_arg;
	struct logdb_state state;	/* the breaker and the insert counts */
};

/* How a row's columns are read (run_read). */
enum run_mode { RUN_WHOLE, RUN_PAGE, RUN_SESSION };

/* ---- logdb_sql.c: the statements ---------------------------------------- */

/* Returns the SQL of every statement in dialect d (an array of S_COUNT;
 * NULL where the dialect has no such statement). */
const char *const *logdb_sql(enum sqldb_dialect d);

/* ---- logdb.c: the handle ------------------------------------------------- */

/* Logs what failed with the driver's message. */
void logdb_warn(struct logdb *db, const char *what);

/* Take and give back the handle's recursive lock. */
void logdb_lock(struct logdb *db);
void logdb_unlock(struct logdb *db);

/* Returns 1 when the handle's database is PostgreSQL. */
int logdb_is_pg(const struct logdb *db);

/* Returns the cached statement id, prepared on first use, reset and with
 * its bindings cleared; NULL on error (logged). The handle owns it. */
struct sqldb_stmt *logdb_stmt(struct logdb *db, enum stmt_id id);

/* Steps a statement that returns no row (or rows nobody needs) to its end,
 * and resets it. Returns 0, or -1 (logged as what). */
int logdb_step_done(struct logdb *db, struct sqldb_stmt *st, const char *what);

/* Runs the statement id, which takes no parameters. Returns 0 or -1. */
int logdb_exec(struct logdb *db, enum stmt_id id);

/* Starts a transaction (a write one is serialized with every other
 * writer), commits, rolls back. Return 0 or -1 (logged). */
int logdb_begin(struct logdb *db, enum sqldb_txn kind);
int logdb_commit(struct logdb *db);
void logdb_rollback(struct logdb *db);

/* Copies column i as text into out (outlen bytes, cut), "" for NULL. */
void logdb_col_copy(struct sqldb_stmt *st, int i, char *out, size_t outlen);

/* Returns a malloc'd copy of text column i (NULL for SQL NULL) and its
 * length in *len (len may be NULL); sets *oom when memory ran out. The
 * caller frees it. */
char *logdb_col_dup(struct sqldb_stmt *st, int i, size_t *len, int *oom);

/* Returns the histogram bucket of a duration in ms. */
int logdb_duration_bucket(int64_t ms);

/* Returns the handle's clock: ms since the epoch, UTC. */
int64_t logdb_now_ms(struct logdb *db);

/* Returns 1 when the last failure of the handle's database was a lock
 * wait (or a statement) that ran out of time. */
int logdb_busy(struct logdb *db);

/* Returns the first column of statement id's first row (it takes no
 * parameters), or -1 (logged). */
int64_t logdb_int(struct logdb *db, enum stmt_id id);

/* The bytes the log takes: SQLite, the file's pages in use (not free);
 * PostgreSQL, an estimate of what its rows take: the live rows of runs
 * times their mean stored size (of the newest 1000; the summaries, small
 * next to them, are not counted). -1 on error. */
int64_t logdb_used_bytes(struct logdb *db);

/* A new handle, no connection yet (NULL: out of memory). */
struct logdb *logdb_handle_new(void);

/* ---- logdb_open.c -------------------------------------------------------------- */

/* Returns why an open failed, from the driver's failure (path: the SQLite
 * file, whose folder says whether it is missing). */
enum logdb_open_error logdb_open_error_of(enum sqldb_fail f, const char *path);

/* ---- logdb_schema.c: the schema and its migrations -------------------------- */

/* Versions 1 and 2 of the schema, as older builds made them (the migration
 * tests make such databases; version 2's backfill calls logdb_bucket()). */
extern const char logdb_schema_v1[];
extern const char logdb_schema_v2[];

/* Reads the schema version into *v: SQLite's PRAGMA user_version; on
 * PostgreSQL the version row (0 when the database has no log yet).
 * Returns 0 or -1. */
int logdb_user_version(struct logdb *db, int *v);

/* Takes the database to LOGDB_SCHEMA_VERSION. SQLite: one step per
 * transaction, then incremental auto-vacuum turned on (one VACUUM; a
 * failure there is logged, not returned); PostgreSQL: the schema made
 * whole in one transaction under the writers' lock (logdb_schema_pg.c).
 * Returns 0, or -1 with *why and err set. */
int logdb_migrate(struct logdb *db, enum logdb_open_error *why, char *err, size_t errlen);

/* ---- logdb_schema_pg.c ---------------------------------------------------------- */

/* PostgreSQL's logdb_user_version and logdb_migrate. */
int logdb_pg_version(struct logdb *db, int *v);
int logdb_pg_migrate(struct logdb *db, enum logdb_open_error *why, char *err, size_t errlen);

/* ---- logdb_fix.c -------------------------------------------------------------- */

/* Marks every unfixed failure of session sid before `attempt` fixed by
 * fix_id (rec: the success), in the rows, the aggregates and the lessons;
 * failures already let go by retention are found in retired_unfixed. Sets
 * *fixed to how many. Runs inside the insert's transaction. Returns 0/-1. */
int logdb_fix_earlier(struct logdb *db, const char *sid, int attempt, int64_t fix_id,
    const struct run_record *rec, int64_t *fixed);

/* Migration 2's last step: the lessons of the fixes already in the log.
 * Runs inside the migration's transaction. Returns 0 or -1 (logged). */
int logdb_backfill_lessons(struct logdb *db);

/* ---- logdb_read.c ------------------------------------------------------------- */

/* Fills run from the current row of a RUN_COLS_* statement read as mode.
 * Returns 0, or -1 when memory ran out (run then holds what was copied;
 * free it). */
int logdb_run_read(struct sqldb_stmt *st, struct logdb_run *run, enum run_mode mode);

#endif
