/*
 * logdb: the execution log. One row per /run request, refused ones
 * included, in an SQLite file or a PostgreSQL database: the path
 * (IMGSANDBOX_DB) names which, "postgresql://..." or "postgres://..." (any
 * libpq connection URI) a server, anything else a file. The same calls,
 * the same figures, on both. Knows nothing of HTTP, Docker or the reports:
 * it stores struct run_record (record.h) and, at insert, the text facts of
 * it (its category and pattern, its code's SHA-256, the changes a fix
 * made); the reports read it through the calls below.
 *
 * SQLite: schema versioned with PRAGMA user_version and migrated on open;
 * WAL; a busy timeout; prepared statements only. PostgreSQL: the same
 * tables, made at the first read-write open under the writers' lock, the
 * version in the table logdb_schema; a bounded connect, statement and
 * answer (sqldb.h); a handle whose server went away fails its calls at
 * once and connects again on a later call (at most every
 * SQLDB_RECONNECT_MS), so a responder keeps its handle.
 *
 * The code: logdb.c (the handle, its statements, helpers, transactions),
 * logdb_open.c (opening either store), logdb_sql.c (the statements' SQL,
 * written once for both where it can be), logdb_schema.c (SQLite's schema
 * and migrations), logdb_schema_pg.c (PostgreSQL's), logdb_write.c
 * (insert), logdb_fix.c (a success marks the failures it fixed),
 * logdb_retain.c (retention) and logdb_read.c (the read side), over the
 * driver layer sqldb*.c; logdb_internal.h is theirs alone.
 *
 * Writers are one at a time on a log, from any process or host (SQLite's
 * BEGIN IMMEDIATE; PostgreSQL's writers' advisory lock), so attempts are
 * numbered 1, 2, ... in every session and the summaries stay exact. Writers
 * never wait out the lock timeout twice in a row: an insert that found
 * the log locked for LOGDB_BUSY_TIMEOUT_MS trips the handle's breaker, and
 * until an insert succeeds again the handle waits at most
 * LOGDB_BUSY_SHORT_MS for the lock (a run is never held up by a log that
 * another process keeps locked; its row is lost and logged as such).
 */
#ifndef LOGDB_H
#define LOGDB_H

#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"	/* CLOCK_ISO_MAX */
#include "base/record.h"	/* struct run_record, RECORD_*_MAX */
#include "base/sha256.h"	/* SHA256_HEX_MAX */

struct logdb;

#define LOGDB_SCHEMA_VERSION	3	/* what this build reads and writes */

/* Why an open failed. */
enum logdb_open_error {
	LOGDB_OK = 0,
	LOGDB_MISSING,		/* no file at the path (read-only), or no folder for it */
	LOGDB_OLDER,		/* its schema is older: open it once read-write to migrate */
	LOGDB_NEWER,		/* made by a newer build */
	LOGDB_CORRUPT,		/* not a database, or a damaged one */
	LOGDB_LOCKED,		/* another process held it locked past the busy timeout */
	LOGDB_FAILED,		/* anything else (permissions, memory); err says what */
	LOGDB_UNREACHABLE	/* PostgreSQL: the server cannot be reached */
};

/* Returns 1 when path names a PostgreSQL database (a "postgresql://" or
 * "postgres://" URI), 0 for an SQLite file. */
int logdb_path_is_pg(const char *path);

/* Copies path into out (outlen bytes) with a password in it shown as
 * "***", for messages and logs. Returns out. */
char *logdb_path_safe(const char *path, char *out, size_t outlen);

/* Returns the word for why ("missing", "corrupt", ...), static. */
const char *logdb_open_error_name(enum logdb_open_error why);

/* Opens (creating and migrating) the database at path. Returns a handle the
 * caller closes with logdb_close(), or NULL with *why set and a message in
 * err. Never exits; a caller that goes on without the log may try again
 * later. A migration to schema 3 ends with one VACUUM (to turn incremental
 * auto-vacuum on); it takes a while on a large file. A PostgreSQL server
 * that cannot be reached fails in SQLDB_CONNECT_MS at most, as
 * LOGDB_UNREACHABLE. */
struct logdb *logdb_open_why(const char *path, enum logdb_open_error *why, char *err,
    size_t errlen);

/* logdb_open_why() without the why. */
struct logdb *logdb_open(const char *path, char *err, size_t errlen);
/* Closes db and frees it (NULL: nothing). */
void logdb_close(struct logdb *db);

/* Appends rec as one row. Sets *log_id to the row's id and *attempt to its
 * place in its session (1, 2, ...). Returns 0, or -1 (the cause is logged;
 * db NULL is -1 too). A refused request (status "rejected") keeps its
 * code's SHA-256 and size and the first LOGDB_REJECT_CODE bytes of it, not
 * the code. */
int logdb_insert(struct logdb *db, const struct run_record *rec, int64_t *log_id, int *attempt);

#define LOGDB_BUSY_TIMEOUT_MS	5000	/* how long a handle waits for a lock */
#define LOGDB_BUSY_SHORT_MS	100	/* ... while its breaker is tripped */

/* The handle's write health, for the health and metrics endpoints. */
struct logdb_state {
	int breaker;			/* tripped: waits are short until an insert succeeds */
	int64_t inserts, insert_failures, busy_failures;	/* since open */
	int unreachable;		/* PostgreSQL: the last insert found no server
					 * (it is tried again on later calls) */
	int64_t unreachable_failures;	/* ... inserts that failed so, since open */
};
/* Fills s (zeroes when db is NULL). */
void logdb_get_state(struct logdb *db, struct logdb_state *s);

/* What logdb_retain() did. */
struct logdb_retain_stats {
	int64_t deleted;		/* rows let go by this call */
	int64_t by_age, by_size;	/* ... because they were old, or the file too big */
	int64_t bytes_before, bytes_after;	/* the file's pages in use, in bytes
						 * (PostgreSQL: the rows', estimated) */
	int64_t pages_vacuumed;		/* free pages given back to the file system
					 * (0 on PostgreSQL) */
	int more;			/* stopped at the call's bound: call again */
};

/* Retention: deletes the oldest rows older than max_age_s (0: none for
 * age), then the oldest rows while the file's pages in use (PostgreSQL:
 * an estimate of the rows' stored bytes) take more than max_bytes (0: no
 * cap), in transactions of a few hundred rows each (other writers go in
 * between), at most LOGDB_RETAIN_ROWS a call; then, on SQLite, gives the
 * free pages back (incremental vacuum) and checkpoints (on PostgreSQL
 * autovacuum makes the space reusable; nothing shrinks). The summaries
 * (totals, counts, patterns, lessons, sessions, models) are kept as they
 * were: they were counted at insert and nothing recounts them; the totals
 * count the rows let go (rows_retired). A failure that was let go unfixed
 * is still marked fixed in the summaries when its session later succeeds
 * (the facts of the newest LOGDB_RETIRED_UNFIXED such failures are kept;
 * a fix of an older one counts in the sessions' figures only, not in the
 * failures fixed). Only the lessons of such a fix are lost: they need the
 * failed code. Meant for a housekeeping
 * thread every minute or so. Returns 0 with *st filled, or -1 (logged; *st
 * says what was done before). */
#define LOGDB_RETAIN_ROWS 100000
#define LOGDB_RETIRED_UNFIXED 20000
int logdb_retain(struct logdb *db, int64_t max_age_s, int64_t max_bytes,
    struct logdb_retain_stats *st);

/* ------------------------------------------------------------------------
 * Read side, and what the tools, tests and bench need. A handle may be used
 * by several threads: every call takes the handle's (recursive) lock.
 * ------------------------------------------------------------------------ */

/* Opens an existing database for reading only; never creates or migrates.
 * Returns a handle for logdb_close(), or NULL with *why and err set. */
struct logdb *logdb_open_readonly(const char *path, enum logdb_open_error *why,
    char *err, size_t errlen);

/* Returns the log's schema version (SQLite: the file's PRAGMA
 * user_version; PostgreSQL: 0 for a database without a log), or -1 when
 * it cannot be read. */
int logdb_file_version(const char *path);

/* Replaces the clock that stamps created_at (ms since the epoch, UTC), for
 * tests, the bench and imports. NULL restores the real clock. */
void logdb_set_clock(struct logdb *db, int64_t (*now_ms)(void *arg), void *arg);

/* Appends n records in one transaction (all or none), as logdb_insert does
 * one. log_ids and attempts may be NULL. Returns 0, or -1 (logged). */
int logdb_insert_batch(struct logdb *db, const struct run_record *recs, size_t n,
    int64_t *log_ids, int *attempts);

/* Takes the handle's lock and starts a read transaction, so several reads
 * see one snapshot. Returns 0 or -1 (also for a NULL db); after 0, call
 * logdb_read_end(). */
int logdb_read_begin(struct logdb *db);
/* Ends what logdb_read_begin() started. */
void logdb_read_end(struct logdb *db);

/* The totals kept at insert (no scan of the log). */
struct logdb_totals {
	int64_t runs, successes, failures, fixed;
	int64_t ran;			/* runs that reached the sandbox (not rejected) */
	int64_t dur_sum, dur_max;	/* of those, ms */
	int64_t sessions, sessions_failed, sessions_unfixed;
	int64_t patterns;		/* distinct (category, type, pattern) */
	char first_at[CLOCK_ISO_MAX], last_at[CLOCK_ISO_MAX];
	int64_t rows_retired;		/* rows retention let go (still counted above) */
	char retired_until[CLOCK_ISO_MAX];	/* the newest of them; "" when none */
	char kept_since[CLOCK_ISO_MAX];	/* the oldest row kept; "" when none */
};
/* Fills t. Returns 0 or -1. */
int logdb_get_totals(struct logdb *db, struct logdb_totals *t);

/* A number that grows with every change of the log (a row written, rows
 * retired), from any process or host: a reader may keep what it made from
 * the log while it stays the same. Returns it, or -1. */
int64_t logdb_version(struct logdb *db);

enum logdb_count_kind {
	LOGDB_BY_STATUS,	/* key: status; n */
	LOGDB_BY_CATEGORY,	/* key: category; n failures, fixed, last_id, last_at */
	LOGDB_BY_DAY,		/* key: YYYY-MM-DD (UTC); n, failures, fixed; newest first */
	LOGDB_BY_DURATION,	/* key: the bucket's upper bound in ms ("inf" last); n */
	LOGDB_BY_MODEL		/* key: ai_model ("" none); n, failures, fixed */
};
struct logdb_count {
	char key[136];
	int64_t n, failures, fixed, last_id;
	char last_at[CLOCK_ISO_MAX];
};
/* Copies at most max rows of one kind into out (by count, most first, but
 * days newest first and durations by bound). Returns 0 and sets *n, or -1. */
int logdb_get_counts(struct logdb *db, enum logdb_count_kind kind,
    struct logdb_count *out, size_t max, size_t *n);

/* The duration histogram's upper bounds, ms, ascending; the last bucket
 * (index LOGDB_DURATION_BUCKETS - 1) is unbounded. */
#define LOGDB_DURATION_BUCKETS 24
/* Returns bucket's upper bound, INT64_MAX for the last (or no such) bucket. */
int64_t logdb_duration_bound(int bucket);

/* One error pattern: failures grouped by (category, type, normalised message). */
struct logdb_pattern {
	int64_t id, n, fixed, first_id, last_id;
	char category[RECORD_CATEGORY_MAX];
	char error_type[RECORD_TYPE_MAX];	/* "" when the outcome had none */
	char pattern[RECORD_PATTERN_MAX];
	char last_at[CLOCK_ISO_MAX];
	char last_job[40];			/* "" when refused before a job */
};
/* Copies the max most frequent patterns into out. Returns 0 and *n, or -1. */
int logdb_get_patterns(struct logdb *db, struct logdb_pattern *out, size_t max, size_t *n);

/* One change seen between a failing attempt's code and the code that fixed
 * it: "+import cv2", "-import skimage2", "+.LANCZOS", "-.ANTIALIAS". */
struct logdb_lesson {
	struct logdb_pattern pattern;	/* the failures it fixed */
	char change[RECORD_CHANGE_MAX];
	int64_t n, example_fail_id, example_fix_id;
};
/* Copies the max most frequent lessons into out. Returns 0 and *n, or -1. */
int logdb_get_lessons(struct logdb *db, struct logdb_lesson *out, size_t max, size_t *n);

/* What a row of a page or a session carries of its texts: excerpts, cut on
 * a UTF-8 boundary (a cut text ends, or for a tail begins, with "…"). */
#define LOGDB_EXCERPT_CODE	4096	/* bytes of code (the head) */
#define LOGDB_EXCERPT_STREAM	1024	/* of stdout (the head) and of stderr (the tail) */
#define LOGDB_EXCERPT_TEXT	2048	/* of a message, a prompt, params (the head) and
					 * a traceback (the tail) */
#define LOGDB_REJECT_CODE	1024	/* bytes of a refused request's code kept */
#define LOGDB_SESSION_CODE	8388608	/* bytes of whole code read of one session (8 MiB) */

/* Returns the length of the longest head of s[0..len) of at most max bytes
 * that ends on a UTF-8 character boundary. */
size_t logdb_excerpt_len(const char *s, size_t len, size_t max);

/* One row of the log. rec's strings are owned by the row (freed by
 * logdb_run_free). whole: every text as stored. Else (a page, a session)
 * the texts are excerpts (LOGDB_EXCERPT_*), timings_json is NULL in a page,
 * and in a session rec.code is whole while the session's code so far is
 * under LOGDB_SESSION_CODE (code_whole says). */
struct logdb_run {
	int64_t id;
	int attempt;
	int whole;
	int code_whole;				/* rec.code is the whole code as stored */
	int64_t code_bytes;			/* the code's size as sent (-1: no code) */
	int64_t fixed_by;			/* the success that fixed it; 0: none */
	char created_at[CLOCK_ISO_MAX];
	char code_sha256[SHA256_HEX_MAX];
	char category[RECORD_CATEGORY_MAX];	/* "" for a success */
	char pattern[RECORD_PATTERN_MAX];
	struct run_record rec;
};
/* Frees the strings of one row (not the row itself). */
void logdb_run_free(struct logdb_run *run);
/* Frees the strings of n rows and the array. */
void logdb_runs_free(struct logdb_run *runs, size_t n);

/* Reads one whole row. Returns 1 and fills out, 0 when there is no such
 * id, -1 on error. */
int logdb_get_run(struct logdb *db, int64_t id, struct logdb_run *out);

enum logdb_filter { LOGDB_FAILURES, LOGDB_UNFIXED, LOGDB_SUCCESSES, LOGDB_ALL };
/* Reads up to limit rows matching f with id < before (0: from the newest),
 * newest first, with excerpts of their texts. Returns 0 and a malloc'd *out
 * of *n rows (the caller frees it with logdb_runs_free), or -1. */
int logdb_get_page(struct logdb *db, enum logdb_filter f, int64_t before, size_t limit,
    struct logdb_run **out, size_t *n);

/* Reads up to max attempts of a session after attempt `after` (0: from the
 * first) in order, with excerpts of their texts but the code (see struct
 * logdb_run). Returns 0 with *out and *n (n = 0: no such attempts), *total
 * (may be NULL) set to the session's attempt count (rows let go included);
 * or -1. */
int logdb_get_session(struct logdb *db, const char *session_id, int64_t after, size_t max,
    struct logdb_run **out, size_t *n, int64_t *total);

/* ---- Per model (the ai_model of the runs; runs without one are left out) */

#define LOGDB_ATTEMPTS_CAP 100	/* attempts until success counted exactly up to this */

/* A model's figures, for one value of ai_lessons. Sessions count by the
 * model and ai_lessons of their first attempt. */
struct logdb_model_part {
	int64_t runs, failures, fixed;	/* rows with the model; failures later fixed */
	int64_t sessions;		/* sessions whose first attempt had the model */
	int64_t first_ok;		/* ... of which the first attempt succeeded */
	int64_t succeeded;		/* ... that reached a success */
	int64_t attempts_sum;		/* their attempts until the first success, summed */
	int64_t hist[LOGDB_ATTEMPTS_CAP + 1];	/* [k]: sessions that took k attempts
						 * (the last: that many or more) */
};
struct logdb_model {
	char model[136];
	struct logdb_model_part part[3];	/* ai_lessons -1, 0, 1 at [ai_lessons + 1] */
};
/* Copies the max most used models (by runs) into out. Returns 0 and *n, or -1. */
int logdb_get_models(struct logdb *db, struct logdb_model *out, size_t max, size_t *n);

/* Calls fn on every whole row, oldest first, inside one read transaction;
 * stops when fn returns nonzero. Returns 0, fn's value, or -1. */
int logdb_foreach(struct logdb *db, int (*fn)(const struct logdb_run *run, void *arg), void *arg);

#endif
