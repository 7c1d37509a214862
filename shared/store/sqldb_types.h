/*
 * sqldb_types: what the driver layer's interface (sqldb.h) and its drivers
 * (sqldb_driver.h) both name: the failures, the flags, the limits of a
 * server's round trips, and which kind of database a target names. Below
 * both, so that neither includes the other.
 */
#ifndef SQLDB_TYPES_H
#define SQLDB_TYPES_H

#include <stddef.h>
#include <stdint.h>

struct sqldb;
struct sqldb_stmt;

enum sqldb_dialect { SQLDB_SQLITE, SQLDB_PG };

/* A transaction's kind (sqldb_begin). */
enum sqldb_txn { SQLDB_READ, SQLDB_WRITE };

/* What the last failure of a connection was. */
enum sqldb_fail {
	SQLDB_OK = 0,
	SQLDB_BUSY,		/* a lock wait ran out (SQLite busy or locked; PostgreSQL
				 * lock_not_available, deadlock, serialization) */
	SQLDB_TIMEOUT,		/* a statement ran past its timeout */
	SQLDB_CONN,		/* no connection: the server cannot be reached, the
				 * connection broke, or it is not tried again yet */
	SQLDB_MISSING,		/* no such file or folder (SQLite); no such database */
	SQLDB_CORRUPT,		/* not a database, or a damaged one (SQLite) */
	SQLDB_CONSTRAINT,	/* a unique or check constraint */
	SQLDB_NOMEM,
	SQLDB_OTHER
};

#define SQLDB_READONLY	0x1	/* open: never write (SQLite: the file read-only) */
#define SQLDB_CREATE	0x2	/* open: make the SQLite file when missing */

#define SQLDB_ROW	1	/* sqldb_step: a row is ready */
#define SQLDB_DONE	0	/* sqldb_step: no more rows */

#define SQLDB_RECONNECT_MS	2000	/* PostgreSQL: between tries to reconnect */
#define SQLDB_CONNECT_MS	3000	/* ... the longest a connect may take (a URI's
					 * connect_timeout, when shorter, wins) */
#define SQLDB_STATEMENT_MS	6000	/* ... statement_timeout of the session */
#define SQLDB_ROUNDTRIP_MS	6500	/* ... the client's own deadline for an answer */
#define SQLDB_IDLE_TXN_MS	15000	/* ... a transaction idle this long is ended by
					 * the server (its locks given back) */
#define SQLDB_PG_WRITE_LOCK	0x696d6773616e64LL	/* "imgsand": the writers' advisory lock */

/* Returns 1 when target is a PostgreSQL connection URI. */
int sqldb_is_pg(const char *target);

/* Copies target into out (outlen bytes) with a password in it replaced by
 * "***", for messages. Returns out. */
char *sqldb_safe_target(const char *target, char *out, size_t outlen);

#endif
