/*
 * sqldb_sqlite: the SQLite driver of sqldb. A thin layer: a statement is
 * an sqlite3_stmt whose parameters $1..$n were checked at prepare to be
 * numbered as SQLite numbers them (in order of first appearance); begin,
 * commit and rollback are statements prepared once per connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "base/clock.h"
#include "store/sqldb_driver.h"
#include "store/sqldb_sqlite.h"

struct lite {
	struct sqldb base;
	sqlite3 *s;
	sqlite3_stmt *txn[4];		/* BEGIN, BEGIN IMMEDIATE, COMMIT, ROLLBACK */
	int64_t busy_since;		/* when the present wait for a lock began */
};

struct lite_stmt {
	struct sqldb_stmt base;
	sqlite3_stmt *st;
	int64_t changes;
};

static const struct sqldb_ops lite_ops;

/* Returns what SQLite's (extended) code rc means. */
static enum sqldb_fail
fail_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE:
		return SQLDB_OK;
	case SQLITE_BUSY: case SQLITE_LOCKED:
		return SQLDB_BUSY;
	case SQLITE_NOTADB: case SQLITE_CORRUPT:
		return SQLDB_CORRUPT;
	case SQLITE_CANTOPEN:
		return SQLDB_MISSING;
	case SQLITE_CONSTRAINT:
		return SQLDB_CONSTRAINT;
	case SQLITE_NOMEM:
		return SQLDB_NOMEM;
	default:
		return SQLDB_OTHER;
	}
}

/* Records the connection's last error as db's failure. Returns -1. */
static int
lite_fail(struct lite *db)
{
	int rc = sqlite3_extended_errcode(db->s);

	return sqldb_failf(&db->base, fail_of(rc) == SQLDB_OK ? SQLDB_OTHER : fail_of(rc), "%s",
	    sqlite3_errmsg(db->s));
}

struct sqldb *
sqldb_sqlite_open(const char *path, int flags, enum sqldb_fail *fail, char *err,
    size_t errlen)
{
	struct lite *db;
	int rc, oflags;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		*fail = SQLDB_NOMEM;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->base.ops = &lite_ops;
	db->base.dialect = SQLDB_SQLITE;
	oflags = flags & SQLDB_READONLY ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | (flags & SQLDB_CREATE ? SQLITE_OPEN_CREATE : 0);
	if ((rc = sqlite3_open_v2(path, &db->s, oflags, NULL)) != SQLITE_OK) {
		rc = db->s ? sqlite3_extended_errcode(db->s) : rc;
		*fail = fail_of(rc) == SQLDB_OK ? SQLDB_OTHER : fail_of(rc);
		snprintf(err, errlen, "%s: %s", path, db->s ? sqlite3_errmsg(db->s) :
		    "out of memory");
		sqlite3_close(db->s);
		free(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db->s, 1);
	*fail = SQLDB_OK;
	return &db->base;
}

static void
lite_close(struct sqldb *b)
{
	struct lite *db = (struct lite *)b;
	size_t i;

	for (i = 0; i < sizeof(db->txn) / sizeof(db->txn[0]); i++)
		sqlite3_finalize(db->txn[i]);
	sqlite3_close(db->s);
	free(db);
}

struct sqlite3 *
sqldb_sqlite_handle(struct sqldb *b)
{
	return b != NULL && b->dialect == SQLDB_SQLITE ? ((struct lite *)b)->s : NULL;
}

static int
lite_exec(struct sqldb *b, const char *sql)
{
	struct lite *db = (struct lite *)b;

	if (sqlite3_exec(db->s, sql, NULL, NULL, NULL) != SQLITE_OK)
		return lite_fail(db);
	return 0;
}

/* Runs the transaction statement k (prepared on first use). Returns 0/-1. */
static int
txn_run(struct lite *db, int k)
{
	static const char *const sql[] = { "BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK" };
	int rc;

	if (db->txn[k] == NULL && sqlite3_prepare_v3(db->s, sql[k], -1,
	    SQLITE_PREPARE_PERSISTENT, &db->txn[k], NULL) != SQLITE_OK)
		return lite_fail(db);
	rc = sqlite3_step(db->txn[k]);
	sqlite3_reset(db->txn[k]);
	if (rc != SQLITE_DONE)
		return lite_fail(db);
	return 0;
}

static int
lite_begin(struct sqldb *b, enum sqldb_txn kind)
{
	return txn_run((struct lite *)b, kind == SQLDB_WRITE ? 1 : 0);
}

static int
lite_commit(struct sqldb *b)
{
	struct lite *db = (struct lite *)b;

	if (txn_run(db, 2) < 0) {
		if (sqlite3_get_autocommit(db->s) == 0)
			txn_run(db, 3);
		return -1;
	}
	return 0;
}

static void
lite_rollback(struct sqldb *b)
{
	struct lite *db = (struct lite *)b;

	if (sqlite3_get_autocommit(db->s) == 0)
		txn_run(db, 3);
}

/* SQLite's own busy handler sleeps longer at each try (up to 100 ms), so
 * among several processes that want the lock the one that waited longest
 * tries least often: with 8 writers on a loaded machine one waited out the
 * whole 5 s while the others took turns. This one tries every millisecond
 * (a little more for each waiter, so they do not all wake at once) until
 * the timeout: the lock goes to whoever asks when it is free, not to
 * whoever waited least. */
static int
lite_busy(void *arg, int count)
{
	struct lite *db = arg;
	struct timespec nap = { 0, 1000 * 1000 };
	int64_t now = clock_mono_ms();

	if (count == 0)
		db->busy_since = now;
	if (now - db->busy_since >= db->base.lock_ms)
		return 0;
	nap.tv_nsec += (long)(count % 7) * 100 * 1000;
	nanosleep(&nap, NULL);
	return 1;
}

static int
lite_set_lock_timeout(struct sqldb *b, int ms)
{
	struct lite *db = (struct lite *)b;

	if (sqlite3_busy_handler(db->s, ms > 0 ? lite_busy : NULL, db) != SQLITE_OK)
		return lite_fail(db);
	return 0;
}

/* Each parameter i must be named "$i". */
static struct sqldb_stmt *
lite_prepare(struct sqldb *b, const char *sql)
{
	struct lite *db = (struct lite *)b;
	struct lite_stmt *st;
	const char *name;
	char want[16];
	int i, n;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		sqldb_failf(b, SQLDB_NOMEM, "out of memory");
		return NULL;
	}
	st->base.db = b;
	if (sqlite3_prepare_v3(db->s, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->st, NULL) !=
	    SQLITE_OK) {
		lite_fail(db);
		free(st);
		return NULL;
	}
	n = sqlite3_bind_parameter_count(st->st);
	for (i = 1; i <= n; i++) {
		snprintf(want, sizeof(want), "$%d", i);
		if ((name = sqlite3_bind_parameter_name(st->st, i)) == NULL ||
		    strcmp(name, want) != 0) {
			sqldb_failf(b, SQLDB_OTHER, "parameter %d is %s, not %s (number them in "
			    "order of first appearance): %.200s", i, name ? name : "?", want, sql);
			sqlite3_finalize(st->st);
			free(st);
			return NULL;
		}
	}
	return &st->base;
}

static void
lite_finalize(struct sqldb_stmt *b)
{
	struct lite_stmt *st = (struct lite_stmt *)b;

	sqlite3_finalize(st->st);
	free(st);
}

static void
lite_reset(struct sqldb_stmt *b)
{
	struct lite_stmt *st = (struct lite_stmt *)b;

	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
}

static void
lite_bind(struct sqldb_stmt *b, int i, enum sqldb_bind kind, int64_t v, const char *s,
    size_t len)
{
	struct lite_stmt *st = (struct lite_stmt *)b;

	if (kind == SQLDB_B_INT)
		sqlite3_bind_int64(st->st, i, v);
	else if (kind == SQLDB_B_TEXT || kind == SQLDB_B_TEXTN)
		sqlite3_bind_text64(st->st, i, s, len, SQLITE_STATIC, SQLITE_UTF8);
	else
		sqlite3_bind_null(st->st, i);
}

static int
lite_step(struct sqldb_stmt *b)
{
	struct lite_stmt *st = (struct lite_stmt *)b;
	struct lite *db = (struct lite *)b->db;
	int rc = sqlite3_step(st->st);

	if (rc == SQLITE_ROW)
		return SQLDB_ROW;
	if (rc == SQLITE_DONE) {
		st->changes = sqlite3_changes64(db->s);
		return SQLDB_DONE;
	}
	lite_fail(db);
	sqlite3_reset(st->st);
	return -1;
}

static int64_t
lite_changes(struct sqldb_stmt *b)
{
	return ((struct lite_stmt *)b)->changes;
}

static int
lite_column_count(struct sqldb_stmt *b)
{
	return sqlite3_column_count(((struct lite_stmt *)b)->st);
}

static int
lite_column_null(struct sqldb_stmt *b, int i)
{
	return sqlite3_column_type(((struct lite_stmt *)b)->st, i) == SQLITE_NULL;
}

static const char *
lite_column_text(struct sqldb_stmt *b, int i)
{
	return (const char *)sqlite3_column_text(((struct lite_stmt *)b)->st, i);
}

static size_t
lite_column_bytes(struct sqldb_stmt *b, int i)
{
	return (size_t)sqlite3_column_bytes(((struct lite_stmt *)b)->st, i);
}

static int64_t
lite_column_int64(struct sqldb_stmt *b, int i)
{
	return sqlite3_column_int64(((struct lite_stmt *)b)->st, i);
}

static const struct sqldb_ops lite_ops = {
	.close = lite_close, .exec = lite_exec, .begin = lite_begin, .commit = lite_commit,
	.rollback = lite_rollback, .set_lock_timeout = lite_set_lock_timeout,
	.prepare = lite_prepare, .finalize = lite_finalize, .reset = lite_reset,
	.bind = lite_bind, .step = lite_step, .changes = lite_changes,
	.column_count = lite_column_count, .column_null = lite_column_null, .column_text = lite_column_text,
	.column_bytes = lite_column_bytes, .column_int64 = lite_column_int64,
};
