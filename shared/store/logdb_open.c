/*
 * logdb_open: opening the log. IMGSANDBOX_DB names it: a PostgreSQL
 * connection URI ("postgresql://" or "postgres://") is a server, anything
 * else an SQLite file. Read-write opens create and migrate (an SQLite
 * file: WAL, incremental auto-vacuum, the SQL functions its migrations
 * use; a PostgreSQL database: its tables made under the writers' lock);
 * read-only opens never create or migrate. Either says why it failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/logdb_internal.h"
#include "base/text.h"	/* utf8_sanitize */

int
logdb_path_is_pg(const char *path)
{
	return sqldb_is_pg(path);
}

char *
logdb_path_safe(const char *path, char *out, size_t outlen)
{
	return sqldb_safe_target(path, out, outlen);
}

/* ---- SQLite ------------------------------------------------------------------------ */

/* SQL function logdb_bucket(ms), for the migration's backfill. */
static void
sql_bucket(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_result_int(ctx, logdb_duration_bucket(sqlite3_value_int64(argv[0])));
}

/* SQL function logdb_excerpt(text, max), for the migration: the head of
 * text of at most max bytes, cut on a character boundary, made valid. */
static void
sql_excerpt(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *t = (const char *)sqlite3_value_text(argv[0]);
	int64_t max = sqlite3_value_int64(argv[1]);
	size_t len = (size_t)sqlite3_value_bytes(argv[0]);
	char *clean;

	(void)argc;
	if (t == NULL || max < 0) {
		sqlite3_result_null(ctx);
		return;
	}
	len = logdb_excerpt_len(t, len, (size_t)max);
	if ((clean = utf8_sanitize(t, len)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_text(ctx, clean, -1, free);
}

/* Sets what every SQLite connection gets. Returns 0, or -1 with err. */
static int
setup_sqlite(struct logdb *db, char *err, size_t errlen)
{
	sqlite3 *s = sqldb_sqlite_handle(db->db);

	if (sqldb_set_lock_timeout(db->db, LOGDB_BUSY_TIMEOUT_MS) < 0 ||
	    sqlite3_create_function(s, "logdb_bucket", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_bucket, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(s, "logdb_excerpt", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_excerpt, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s));
		return -1;
	}
	return 0;
}

/* Runs sql (no rows wanted) on the new connection; on failure sets *why
 * and err. Returns 0 or -1. */
static int
open_exec(struct logdb *db, const char *path, const char *sql, enum logdb_open_error *why,
    char *err, size_t errlen)
{
	if (sqldb_exec(db->db, sql) < 0) {
		*why = logdb_open_error_of(sqldb_last_fail(db->db), path);
		snprintf(err, errlen, "%s: %s: %s", path, sql, sqldb_errmsg(db->db));
		return -1;
	}
	return 0;
}

/* Switches the connection to WAL: that needs a moment alone with the file,
 * so it is tried again while another process holds it, for at most the busy
 * timeout in all. Returns 0, or -1 with *why and err. */
static int
open_wal(struct logdb *db, const char *path, enum logdb_open_error *why, char *err,
    size_t errlen)
{
	int64_t start = clock_mono_ms();

	for (;;) {
		if (open_exec(db, path, "PRAGMA journal_mode = WAL", why, err, errlen) == 0)
			return 0;
		if (*why != LOGDB_LOCKED || clock_mono_ms() - start >= LOGDB_BUSY_TIMEOUT_MS)
			return -1;
		usleep(100 * 1000);
	}
}

/* Opens (creating and migrating) the SQLite file at path into db. Returns
 * 0, or -1 with *why and err. */
static int
open_sqlite(struct logdb *db, const char *path, enum logdb_open_error *why, char *err,
    size_t errlen)
{
	enum sqldb_fail f;

	if ((db->db = sqldb_open(path, SQLDB_CREATE, &f, err, errlen)) == NULL) {
		*why = logdb_open_error_of(f, path);
		return -1;
	}
	db->sql = logdb_sql(SQLDB_SQLITE);
	if (setup_sqlite(db, err, errlen) < 0)
		return -1;
	/* A new file is given incremental auto-vacuum before its first table
	 * (an older one gets it from the migration's VACUUM). NORMAL in WAL: a
	 * crash of the process loses nothing; a power cut may lose the last
	 * transactions, never the file. The WAL file is cut back to 64 MiB
	 * after a checkpoint that emptied it. */
	if (open_exec(db, path, "PRAGMA auto_vacuum = INCREMENTAL", why, err, errlen) < 0 ||
	    open_wal(db, path, why, err, errlen) < 0 ||
	    open_exec(db, path, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
	    " PRAGMA journal_size_limit = 67108864", why, err, errlen) < 0)
		return -1;
	return 0;
}

/* ---- Both ---------------------------------------------------------------------------- */

struct logdb *
logdb_open_why(const char *path, enum logdb_open_error *why, char *err, size_t errlen)
{
	struct logdb *db;
	enum sqldb_fail f;

	*why = LOGDB_FAILED;
	if ((db = logdb_handle_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!sqldb_is_pg(path)) {
		if (open_sqlite(db, path, why, err, errlen) < 0)
			goto fail;
	} else {
		if ((db->db = sqldb_open(path, 0, &f, err, errlen)) == NULL) {
			*why = logdb_open_error_of(f, path);
			goto fail;
		}
		db->sql = logdb_sql(SQLDB_PG);
		if (sqldb_set_lock_timeout(db->db, LOGDB_BUSY_TIMEOUT_MS) < 0) {
			*why = logdb_open_error_of(sqldb_last_fail(db->db), path);
			snprintf(err, errlen, "%s", sqldb_errmsg(db->db));
			goto fail;
		}
	}
	if (logdb_migrate(db, why, err, errlen) < 0)
		goto fail;
	*why = LOGDB_OK;
	return db;
fail:
	logdb_close(db);
	return NULL;
}

struct logdb *
logdb_open(const char *path, char *err, size_t errlen)
{
	enum logdb_open_error why;

	return logdb_open_why(path, &why, err, errlen);
}

int
logdb_file_version(const char *path)
{
	struct logdb *db;
	enum sqldb_fail f;
	char err[256];
	int v = -1;

	if ((db = logdb_handle_new()) == NULL)
		return -1;
	if ((db->db = sqldb_open(path, SQLDB_READONLY, &f, err, sizeof(err))) != NULL &&
	    logdb_user_version(db, &v) < 0)
		v = -1;
	logdb_close(db);
	return v;
}

/* Checks that the version of the database at path (safe: as messages name
 * it) is this build's. Returns 0, or -1 with *why and err. */
static int
readonly_check(struct logdb *db, const char *path, const char *safe,
    enum logdb_open_error *why, char *err, size_t errlen)
{
	int v;

	if (logdb_user_version(db, &v) < 0) {
		*why = logdb_open_error_of(sqldb_last_fail(db->db), path);
		snprintf(err, errlen, "%s: %s", safe, sqldb_errmsg(db->db));
		return -1;
	}
	if (v == 0 && logdb_is_pg(db)) {
		*why = LOGDB_MISSING;
		snprintf(err, errlen, "%s holds no log yet (the responder makes it on its first "
		    "open)", safe);
		return -1;
	}
	if (v < LOGDB_SCHEMA_VERSION) {
		*why = LOGDB_OLDER;
		snprintf(err, errlen, "%s has schema version %d, older than this build's %d: "
		    "open it once read-write (the responder, or `analyze_logs migrate`) to "
		    "migrate it", safe, v, LOGDB_SCHEMA_VERSION);
		return -1;
	}
	if (v > LOGDB_SCHEMA_VERSION) {
		*why = LOGDB_NEWER;
		snprintf(err, errlen, "%s has schema version %d, newer than this build's %d",
		    safe, v, LOGDB_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

struct logdb *
logdb_open_readonly(const char *path, enum logdb_open_error *why, char *err, size_t errlen)
{
	struct logdb *db = NULL;
	enum sqldb_fail f;
	struct stat sb;
	char safe[300];

	*why = LOGDB_FAILED;
	sqldb_safe_target(path, safe, sizeof(safe));
	if (!sqldb_is_pg(path) && stat(path, &sb) < 0) {
		if (errno == ENOENT)
			*why = LOGDB_MISSING;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!sqldb_is_pg(path) && !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return NULL;
	}
	if ((db = logdb_handle_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->readonly = 1;
	if ((db->db = sqldb_open(path, SQLDB_READONLY, &f, err, errlen)) == NULL) {
		*why = logdb_open_error_of(f, path);
		goto fail;
	}
	db->sql = logdb_sql(sqldb_dialect(db->db));
	if ((!logdb_is_pg(db) && setup_sqlite(db, err, errlen) < 0) ||
	    (logdb_is_pg(db) && sqldb_set_lock_timeout(db->db, LOGDB_BUSY_TIMEOUT_MS) < 0) ||
	    readonly_check(db, path, safe, why, err, errlen) < 0)
		goto fail;
	*why = LOGDB_OK;
	return db;
fail:
	logdb_close(db);
	return NULL;
}
