/*
 * logdb: the handle. Its statements (prepared once, on first use, in the
 * dialect of its database: logdb_sql.c), the helpers every query uses,
 * transactions, closing, the clock, and read snapshots. Opening is in
 * logdb_open.c, the schema in logdb_schema.c (SQLite) and
 * logdb_schema_pg.c (PostgreSQL), insert in logdb_write.c, the read side
 * in logdb_read.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/logdb_internal.h"

/* ---- Helpers ------------------------------------------------------------------ */

void
logdb_warn(struct logdb *db, const char *what)
{
	log_warnx("logdb: %s: %s", what, db->db ? sqldb_errmsg(db->db) : "no connection");
}

void
logdb_lock(struct logdb *db)
{
	pthread_mutex_lock(&db->lock);
}

void
logdb_unlock(struct logdb *db)
{
	pthread_mutex_unlock(&db->lock);
}

int
logdb_is_pg(const struct logdb *db)
{
	return sqldb_dialect(db->db) == SQLDB_PG;
}

struct sqldb_stmt *
logdb_stmt(struct logdb *db, enum stmt_id id)
{
	struct sqldb_stmt *st = db->st[id];

	if (st == NULL) {
		if (db->sql[id] == NULL) {
			log_warnx("logdb: statement %d has no SQL in this dialect", (int)id);
			return NULL;
		}
		if ((st = sqldb_prepare(db->db, db->sql[id])) == NULL) {
			logdb_warn(db, "prepare");
			return NULL;
		}
		db->st[id] = st;
		return st;
	}
	sqldb_reset(st);
	return st;
}

int
logdb_step_done(struct logdb *db, struct sqldb_stmt *st, const char *what)
{
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqldb_step(st)) == SQLDB_ROW)
		;
	sqldb_reset(st);
	if (rc != SQLDB_DONE) {
		logdb_warn(db, what);
		return -1;
	}
	return 0;
}

int
logdb_busy(struct logdb *db)
{
	enum sqldb_fail f = sqldb_last_fail(db->db);

	return f == SQLDB_BUSY || f == SQLDB_TIMEOUT;
}

int64_t
logdb_int(struct logdb *db, enum stmt_id id)
{
	struct sqldb_stmt *st;
	int64_t v = -1;

	if ((st = logdb_stmt(db, id)) == NULL)
		return -1;
	if (sqldb_step(st) == SQLDB_ROW)
		v = sqldb_column_int64(st, 0);
	else
		logdb_warn(db, db->sql[id]);
	sqldb_reset(st);
	return v;
}

int64_t
logdb_used_bytes(struct logdb *db)
{
	int64_t pages, free_pages, size;

	if (logdb_is_pg(db))
		return logdb_int(db, S_USED_BYTES_PG);
	if ((pages = logdb_int(db, S_PAGE_COUNT)) < 0 ||
	    (free_pages = logdb_int(db, S_FREELIST_COUNT)) < 0 ||
	    (size = logdb_int(db, S_PAGE_SIZE)) < 0)
		return -1;
	return (pages - free_pages) * size;
}

size_t
logdb_excerpt_len(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	/* Back off continuation bytes, then the lead byte of the cut sequence. */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int
logdb_exec(struct logdb *db, enum stmt_id id)
{
	return logdb_step_done(db, logdb_stmt(db, id), db->sql[id]);
}

int
logdb_begin(struct logdb *db, enum sqldb_txn kind)
{
	if (sqldb_begin(db->db, kind) < 0) {
		logdb_warn(db, kind == SQLDB_WRITE ? "begin (write)" : "begin");
		return -1;
	}
	return 0;
}

int
logdb_commit(struct logdb *db)
{
	if (sqldb_commit(db->db) < 0) {
		logdb_warn(db, "commit");
		return -1;
	}
	return 0;
}

void
logdb_rollback(struct logdb *db)
{
	sqldb_rollback(db->db);
}

void
logdb_col_copy(struct sqldb_stmt *st, int i, char *out, size_t outlen)
{
	const char *t = sqldb_column_text(st, i);
	size_t n = t ? sqldb_column_bytes(st, i) : 0;

	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	if (n > 0)
		memcpy(out, t, n);
	out[n] = '\0';
}

char *
logdb_col_dup(struct sqldb_stmt *st, int i, size_t *len, int *oom)
{
	const char *t;
	size_t n;
	char *s;

	if (sqldb_column_null(st, i))
		return NULL;
	t = sqldb_column_text(st, i);
	n = sqldb_column_bytes(st, i);
	if (t == NULL || (s = malloc(n + 1)) == NULL) {
		*oom = 1;
		return NULL;
	}
	memcpy(s, t, n);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

int64_t
logdb_now_ms(struct logdb *db)
{
	return db->now_ms != NULL ? db->now_ms(db->clock_arg) : clock_real_ms();
}

static const int64_t duration_bounds[LOGDB_DURATION_BUCKETS - 1] = {
	10, 20, 50, 100, 150, 200, 300, 400, 500, 700, 1000, 1500, 2000, 3000,
	4000, 5000, 7000, 10000, 15000, 20000, 30000, 60000, 120000
};

int64_t
logdb_duration_bound(int bucket)
{
	if (bucket < 0 || bucket >= LOGDB_DURATION_BUCKETS - 1)
		return INT64_MAX;
	return duration_bounds[bucket];
}

int
logdb_duration_bucket(int64_t ms)
{
	int i;

	for (i = 0; i < LOGDB_DURATION_BUCKETS - 1; i++)
		if (ms <= duration_bounds[i])
			return i;
	return LOGDB_DURATION_BUCKETS - 1;
}

/* ---- The handle --------------------------------------------------------------------- */

struct logdb *
logdb_handle_new(void)
{
	pthread_mutexattr_t a;
	struct logdb *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->lock, &a);
	pthread_mutexattr_destroy(&a);
	return db;
}

void
logdb_get_state(struct logdb *db, struct logdb_state *s)
{
	memset(s, 0, sizeof(*s));
	if (db == NULL)
		return;
	logdb_lock(db);
	*s = db->state;
	logdb_unlock(db);
}

void
logdb_close(struct logdb *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < S_COUNT; i++)
		sqldb_finalize(db->st[i]);
	sqldb_close(db->db);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

void
logdb_set_clock(struct logdb *db, int64_t (*now_ms)(void *arg), void *arg)
{
	logdb_lock(db);
	db->now_ms = now_ms;
	db->clock_arg = now_ms ? arg : NULL;
	logdb_unlock(db);
}

/* ---- Read snapshots -------------------------------------------------------------------- */

int
logdb_read_begin(struct logdb *db)
{
	if (db == NULL)		/* no log open: nothing to read, never a crash */
		return -1;
	logdb_lock(db);
	if (db->read_depth++ == 0 && logdb_begin(db, SQLDB_READ) < 0) {
		db->read_depth--;
		logdb_unlock(db);
		return -1;
	}
	return 0;
}

void
logdb_read_end(struct logdb *db)
{
	if (--db->read_depth == 0 && sqldb_commit(db->db) < 0)
		logdb_warn(db, "end of a read");
	logdb_unlock(db);
}
