/*
 * sqldb: the log store's driver layer. One small interface over two
 * databases: an SQLite file (sqldb_sqlite.c) and a PostgreSQL server
 * through libpq (sqldb_pg.c). The store (logdb*.c) writes its SQL once for
 * both where it can: parameters are $1..$n (SQLite takes them as named
 * parameters, numbered in order of first appearance, so each $k must first
 * appear after $1..$k-1: sqldb_prepare checks it), and what only one
 * dialect has is asked of sqldb_dialect().
 *
 * The target names the database: "postgresql://..." or "postgres://..."
 * (any libpq connection URI) is a server, anything else an SQLite file.
 *
 * A write transaction (sqldb_begin(db, SQLDB_WRITE)) is serialized with
 * every other write transaction on the same database, from any process or
 * host: SQLite's BEGIN IMMEDIATE; on PostgreSQL a transaction-scoped
 * advisory lock (key SQLDB_PG_WRITE_LOCK) taken first. Waiting for that
 * lock, or any other, is bounded by the lock timeout
 * (sqldb_set_lock_timeout); when it runs out the call fails as SQLDB_BUSY.
 *
 * On PostgreSQL every round trip has a client-side deadline (a server that
 * vanished from the network cannot hold a caller longer); a connection
 * that broke is closed, and a later call opens a new one, at most every
 * SQLDB_RECONNECT_MS, never inside a transaction that the broken
 * connection had open (that one ends with sqldb_rollback). Statements are
 * prepared again on the new connection without the caller knowing.
 *
 * Not thread-safe: the store's handle lock guards every call.
 */
#ifndef SQLDB_H
#define SQLDB_H

#include <stddef.h>
#include <stdint.h>

#include "store/sqldb_types.h"

/* Opens the database target names (flags: SQLDB_READONLY, SQLDB_CREATE).
 * Returns a connection for sqldb_close(), or NULL with *fail and a message
 * in err. A server that cannot be reached fails in SQLDB_CONNECT_MS at
 * most, as SQLDB_CONN. */
struct sqldb *sqldb_open(const char *target, int flags, enum sqldb_fail *fail, char *err,
    size_t errlen);
/* Closes db and frees it and its statements' memory (NULL: nothing). Every
 * statement must have been finalized first. */
void sqldb_close(struct sqldb *db);

/* Returns the dialect of db. */
enum sqldb_dialect sqldb_dialect(const struct sqldb *db);
/* Returns the message of db's last failure (static to db; "" when none). */
const char *sqldb_errmsg(struct sqldb *db);
/* Returns what db's last failure was (SQLDB_OK: none since the last
 * sqldb_clear_fail). */
enum sqldb_fail sqldb_last_fail(struct sqldb *db);
/* Forgets db's last failure. */
void sqldb_clear_fail(struct sqldb *db);

/* Sets how long a statement waits for a lock (SQLite's busy timeout,
 * PostgreSQL's lock_timeout), kept across reconnects. Returns 0 or -1. */
int sqldb_set_lock_timeout(struct sqldb *db, int ms);
/* Returns the lock timeout db asks for, ms. */
int sqldb_lock_timeout(struct sqldb *db);

/* Runs sql: one statement or several separated by ';', no parameters,
 * rows discarded. Returns 0, or -1 (sqldb_errmsg says why). */
int sqldb_exec(struct sqldb *db, const char *sql);

/* Starts a transaction: SQLDB_READ sees one snapshot (PostgreSQL:
 * repeatable read, read only); SQLDB_WRITE is serialized with every other
 * writer (see above). Returns 0 or -1. */
int sqldb_begin(struct sqldb *db, enum sqldb_txn kind);
/* Commits. Returns 0 or -1 (the transaction is over either way). */
int sqldb_commit(struct sqldb *db);
/* Rolls back (a connection that broke meanwhile: nothing to do). */
void sqldb_rollback(struct sqldb *db);

/* Prepares sql (parameters $1..$n, see above). Returns a statement that
 * the caller finalizes, or NULL (sqldb_errmsg says why). */
struct sqldb_stmt *sqldb_prepare(struct sqldb *db, const char *sql);
/* Frees st (NULL: nothing). */
void sqldb_finalize(struct sqldb_stmt *st);
/* Ends st's current run and clears its parameters. */
void sqldb_reset(struct sqldb_stmt *st);

/* Bind parameter i (1-based) of st. Text is not copied: it must live until
 * the statement's first sqldb_step. NULL text binds SQL NULL. PostgreSQL
 * text cannot hold NUL or bytes that are not UTF-8: such a value is bound
 * as its sanitized copy (NUL and bad bytes as U+FFFD). */
void sqldb_bind_int64(struct sqldb_stmt *st, int i, int64_t v);
void sqldb_bind_text(struct sqldb_stmt *st, int i, const char *s);
void sqldb_bind_textn(struct sqldb_stmt *st, int i, const char *s, size_t len);
void sqldb_bind_null(struct sqldb_stmt *st, int i);

/* Runs st (the first call) or moves to its next row. Returns SQLDB_ROW,
 * SQLDB_DONE, or -1 (sqldb_errmsg of its connection says why). */
int sqldb_step(struct sqldb_stmt *st);
/* Returns the number of rows the last SQLDB_DONE statement changed. */
int64_t sqldb_changes(struct sqldb_stmt *st);

/* Returns the number of columns of st's rows (after its first step). */
int sqldb_column_count(struct sqldb_stmt *st);
/* Columns of the current row (0-based). */
int sqldb_column_null(struct sqldb_stmt *st, int i);
int64_t sqldb_column_int64(struct sqldb_stmt *st, int i);	/* 0 for NULL */
int sqldb_column_int(struct sqldb_stmt *st, int i);
/* Returns the text of column i (NULL for SQL NULL), valid until the next
 * step or reset, and its length in bytes through sqldb_column_bytes. */
const char *sqldb_column_text(struct sqldb_stmt *st, int i);
size_t sqldb_column_bytes(struct sqldb_stmt *st, int i);

/* Returns the connection a statement belongs to. */
struct sqldb *sqldb_stmt_db(struct sqldb_stmt *st);

/* For the store's SQLite-only parts (functions for the migrations,
 * PRAGMAs, checkpoints): the sqlite3 handle of an SQLite connection, NULL
 * for another dialect. */
struct sqlite3;
struct sqlite3 *sqldb_sqlite_handle(struct sqldb *db);

#endif
