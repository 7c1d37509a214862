/*
 * sqldb_driver: what the drivers of sqldb share with sqldb.c, and
 * nothing else includes: the connection and statement each driver embeds
 * first in its own, and its table of operations.
 */
#ifndef SQLDB_DRIVER_H
#define SQLDB_DRIVER_H

#include "store/sqldb_types.h"

struct sqldb_ops;

struct sqldb {
	const struct sqldb_ops *ops;
	enum sqldb_dialect dialect;
	enum sqldb_fail fail;		/* of the last failure */
	int lock_ms;			/* the lock timeout asked for */
	char msg[512];			/* the last failure's message */
};

struct sqldb_stmt {
	struct sqldb *db;
};

/* Binding kinds: text with a NUL at s[len] (SQLDB_B_TEXT), or of len
 * bytes that may be followed by anything (SQLDB_B_TEXTN). */
enum sqldb_bind { SQLDB_B_NULL, SQLDB_B_INT, SQLDB_B_TEXT, SQLDB_B_TEXTN };

/* A driver: sqldb.c calls these after its own checks. */
struct sqldb_ops {
	void (*close)(struct sqldb *db);
	int (*exec)(struct sqldb *db, const char *sql);
	int (*begin)(struct sqldb *db, enum sqldb_txn kind);
	int (*commit)(struct sqldb *db);
	void (*rollback)(struct sqldb *db);
	int (*set_lock_timeout)(struct sqldb *db, int ms);
	struct sqldb_stmt *(*prepare)(struct sqldb *db, const char *sql);
	void (*finalize)(struct sqldb_stmt *st);
	void (*reset)(struct sqldb_stmt *st);
	/* s: text of len bytes (kind SQLDB_B_TEXT), v: an integer. */
	void (*bind)(struct sqldb_stmt *st, int i, enum sqldb_bind kind, int64_t v,
	    const char *s, size_t len);
	int (*step)(struct sqldb_stmt *st);
	int64_t (*changes)(struct sqldb_stmt *st);
	int (*column_count)(struct sqldb_stmt *st);
	int (*column_null)(struct sqldb_stmt *st, int i);
	const char *(*column_text)(struct sqldb_stmt *st, int i);
	size_t (*column_bytes)(struct sqldb_stmt *st, int i);
	int64_t (*column_int64)(struct sqldb_stmt *st, int i);
};

/* Sets db's failure and its message (printf-style). Returns -1. */
int sqldb_failf(struct sqldb *db, enum sqldb_fail fail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
