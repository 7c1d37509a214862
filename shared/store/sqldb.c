/*
 * sqldb: the driver layer's entry points (see sqldb.h). Each call checks
 * its arguments and hands over to the connection's driver: sqldb_sqlite.c
 * or sqldb_pg.c.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/sqldb_driver.h"
#include "store/sqldb_pg.h"
#include "store/sqldb_sqlite.h"
#include "base/text.h"

struct sqldb *
sqldb_open(const char *target, int flags, enum sqldb_fail *fail, char *err, size_t errlen)
{
	*fail = SQLDB_OTHER;
	if (target == NULL || target[0] == '\0') {
		snprintf(err, errlen, "no database named");
		return NULL;
	}
	if (sqldb_is_pg(target))
		return sqldb_pg_open(target, flags, fail, err, errlen);
	return sqldb_sqlite_open(target, flags, fail, err, errlen);
}

void
sqldb_close(struct sqldb *db)
{
	if (db != NULL)
		db->ops->close(db);
}

enum sqldb_dialect
sqldb_dialect(const struct sqldb *db)
{
	return db->dialect;
}

const char *
sqldb_errmsg(struct sqldb *db)
{
	return db->msg;
}

enum sqldb_fail
sqldb_last_fail(struct sqldb *db)
{
	return db->fail;
}

void
sqldb_clear_fail(struct sqldb *db)
{
	db->fail = SQLDB_OK;
	db->msg[0] = '\0';
}

int
sqldb_set_lock_timeout(struct sqldb *db, int ms)
{
	db->lock_ms = ms;
	return db->ops->set_lock_timeout(db, ms);
}

int
sqldb_lock_timeout(struct sqldb *db)
{
	return db->lock_ms;
}

int
sqldb_exec(struct sqldb *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int
sqldb_begin(struct sqldb *db, enum sqldb_txn kind)
{
	return db->ops->begin(db, kind);
}

int
sqldb_commit(struct sqldb *db)
{
	return db->ops->commit(db);
}

void
sqldb_rollback(struct sqldb *db)
{
	db->ops->rollback(db);
}

struct sqldb_stmt *
sqldb_prepare(struct sqldb *db, const char *sql)
{
	return db->ops->prepare(db, sql);
}

void
sqldb_finalize(struct sqldb_stmt *st)
{
	if (st != NULL)
		st->db->ops->finalize(st);
}

void
sqldb_reset(struct sqldb_stmt *st)
{
	st->db->ops->reset(st);
}

void
sqldb_bind_int64(struct sqldb_stmt *st, int i, int64_t v)
{
	st->db->ops->bind(st, i, SQLDB_B_INT, v, NULL, 0);
}

void
sqldb_bind_text(struct sqldb_stmt *st, int i, const char *s)
{
	if (s == NULL)
		st->db->ops->bind(st, i, SQLDB_B_NULL, 0, NULL, 0);
	else
		st->db->ops->bind(st, i, SQLDB_B_TEXT, 0, s, strlen(s));
}

void
sqldb_bind_textn(struct sqldb_stmt *st, int i, const char *s, size_t len)
{
	if (s == NULL)
		st->db->ops->bind(st, i, SQLDB_B_NULL, 0, NULL, 0);
	else
		st->db->ops->bind(st, i, SQLDB_B_TEXTN, 0, s, len);
}

void
sqldb_bind_null(struct sqldb_stmt *st, int i)
{
	st->db->ops->bind(st, i, SQLDB_B_NULL, 0, NULL, 0);
}

int
sqldb_step(struct sqldb_stmt *st)
{
	return st->db->ops->step(st);
}

int64_t
sqldb_changes(struct sqldb_stmt *st)
{
	return st->db->ops->changes(st);
}

int
sqldb_column_count(struct sqldb_stmt *st)
{
	return st->db->ops->column_count(st);
}

int
sqldb_column_null(struct sqldb_stmt *st, int i)
{
	return st->db->ops->column_null(st, i);
}

int64_t
sqldb_column_int64(struct sqldb_stmt *st, int i)
{
	return st->db->ops->column_int64(st, i);
}

int
sqldb_column_int(struct sqldb_stmt *st, int i)
{
	return (int)st->db->ops->column_int64(st, i);
}

const char *
sqldb_column_text(struct sqldb_stmt *st, int i)
{
	return st->db->ops->column_text(st, i);
}

size_t
sqldb_column_bytes(struct sqldb_stmt *st, int i)
{
	return st->db->ops->column_bytes(st, i);
}

struct sqldb *
sqldb_stmt_db(struct sqldb_stmt *st)
{
	return st->db;
}
