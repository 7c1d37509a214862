/*
 * logdb: the execution log, one SQLite database. One row per /run request,
 * refused ones included. Schema versioned with PRAGMA user_version and
 * migrated on open; WAL; a busy timeout; prepared statements only. Knows
 * nothing of HTTP, Docker or the reports: it stores struct run_record
 * (record.h) and, at insert, the text facts of it (its category and
 * pattern, its code's SHA-256, the changes a fix made); the reports read
 * it through the calls below.
 *
 * The code: logdb.c (the handle, its statements, open and close),
 * logdb_schema.c (the schema and its migrations), logdb_write.c (insert)
 * and logdb_read.c (the read side); logdb_internal.h is theirs alone.
 */
#ifndef LOGDB_H
#define LOGDB_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"	/* CLOCK_ISO_MAX */
#include "record.h"	/* struct run_record, RECORD_*_MAX */
#include "sha256.h"	/* SHA256_HEX_MAX */

struct logdb;

/* Opens (creating and migrating) the database at path. Returns a handle the
 * caller closes with logdb_close(), or NULL with a message in err. */
struct logdb *logdb_open(const char *path, char *err, size_t errlen);
/* Closes db and frees it (NULL: nothing). */
void logdb_close(struct logdb *db);

/* Appends rec as one row. Sets *log_id to the row's id and *attempt to its
 * place in its session (1, 2, ...). Returns 0, or -1 (the cause is logged). */
int logdb_insert(struct logdb *db, const struct run_record *rec, int64_t *log_id, int *attempt);

/* ------------------------------------------------------------------------
 * Read side, and what the tools, tests and bench need. A handle may be used
 * by several threads: every call takes the handle's (recursive) lock.
 * ------------------------------------------------------------------------ */

#define LOGDB_SCHEMA_VERSION	2	/* what this build reads and writes */

enum logdb_open_error {
	LOGDB_OK = 0,
	LOGDB_MISSING,		/* no file at the path (read-only open never makes one) */
	LOGDB_OLDER,		/* its schema is older: open it once read-write to migrate */
	LOGDB_NEWER,		/* made by a newer build */
	LOGDB_FAILED		/* anything else; err says what */
};

/* Opens an existing database for reading only; never creates or migrates.
 * Returns a handle for logdb_close(), or NULL with *why and err set. */
struct logdb *logdb_open_readonly(const char *path, enum logdb_open_error *why,
    char *err, size_t errlen);

/* Returns the file's PRAGMA user_version, or -1 when it cannot be read. */
int logdb_file_version(const char *path);

/* Replaces the clock that stamps created_at (ms since the epoch, UTC), for
 * tests, the bench and imports. NULL restores the real clock. */
void logdb_set_clock(struct logdb *db, int64_t (*now_ms)(void *arg), void *arg);

/* Appends n records in one transaction (all or none), as logdb_insert does
 * one. log_ids and attempts may be NULL. Returns 0, or -1 (logged). */
int logdb_insert_batch(struct logdb *db, const struct run_record *recs, size_t n,
    int64_t *log_ids, int *attempts);

/* Takes the handle's lock and starts a read transaction, so several reads
 * see one snapshot. Returns 0 or -1; after 0, call logdb_read_end(). */
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
};
/* Fills t. Returns 0 or -1. */
int logdb_get_totals(struct logdb *db, struct logdb_totals *t);

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

/* One row of the log. rec's strings are owned by the row (freed by
 * logdb_run_free); in a page, stdout_text, stderr_text, params and
 * timings_json are left NULL (whole = 0). */
struct logdb_run {
	int64_t id;
	int attempt;
	int whole;
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
 * newest first. Returns 0 and a malloc'd *out of *n rows (the caller frees
 * it with logdb_runs_free), or -1. */
int logdb_get_page(struct logdb *db, enum logdb_filter f, int64_t before, size_t limit,
    struct logdb_run **out, size_t *n);

/* Reads the first max attempts of a session in order (whole rows but
 * stdout/stderr). Returns 0 with *out and *n (n = 0: no such session), *total
 * (may be NULL) set to the session's attempt count; or -1. */
int logdb_get_session(struct logdb *db, const char *session_id, size_t max,
    struct logdb_run **out, size_t *n, int64_t *total);

/* Calls fn on every whole row, oldest first, inside one read transaction;
 * stops when fn returns nonzero. Returns 0, fn's value, or -1. */
int logdb_foreach(struct logdb *db, int (*fn)(const struct logdb_run *run, void *arg), void *arg);

#endif
