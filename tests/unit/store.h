/*
 * store.h: what the store's test programs share: the store they test, an
 * SQLite file in a temp folder (no argument) or a PostgreSQL server (the
 * argument: a base URI "postgresql://user@host:port/" that each test
 * appends a database name of its own to), and plain queries on it through
 * the store's own driver (sqldb), so that the same checks read both.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqldb.h"

static char store_tmpdir[256];
static const char *store_pg;	/* the base URI; NULL: SQLite files */

/* Returns where the log called name lives: a file in the temp folder, or
 * a database of its own on the server (the name's dots as underscores). */
static __attribute__((unused)) const char *
store_path(const char *name)
{
	static char path[8][512];
	static int k;
	char *s;

	k = (k + 1) % 8;
	if (store_pg == NULL) {
		snprintf(path[k], sizeof(path[k]), "%s/%s", store_tmpdir, name);
		return path[k];
	}
	snprintf(path[k], sizeof(path[k]), "%s%s", store_pg, name);
	for (s = path[k] + strlen(store_pg); *s != '\0'; s++)
		if (*s == '.' || *s == '/' || *s == '-')
			*s = '_';
	return path[k];
}

/* Runs sql (no rows wanted) on its own connection to target. Returns 0
 * or -1 (said). */
static __attribute__((unused)) int
store_exec(const char *target, const char *sql)
{
	enum sqldb_fail f;
	struct sqldb *s;
	char err[512];
	int rc = -1;

	if ((s = sqldb_open(target, 0, &f, err, sizeof(err))) == NULL)
		fprintf(stderr, "store_exec: %s\n", err);
	else if ((rc = sqldb_exec(s, sql)) < 0)
		fprintf(stderr, "store_exec: %s: %s\n", sql, sqldb_errmsg(s));
	sqldb_close(s);
	return rc;
}

/* Removes the log called name: its files, or its database (made anew,
 * empty). Returns its path. */
static __attribute__((unused)) const char *
store_wipe(const char *name)
{
	const char *path = store_path(name);
	char p[700], sql[600];

	if (store_pg == NULL) {
		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
		return path;
	}
	snprintf(p, sizeof(p), "%spostgres", store_pg);
	/* One statement each: CREATE DATABASE runs outside any transaction. */
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)",
	    path + strlen(store_pg));
	store_exec(p, sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", path + strlen(store_pg));
	store_exec(p, sql);
	return path;
}

/* Runs sql on its own connection to target; returns the first column of
 * the first row, or -1. */
static __attribute__((unused)) int64_t
q1(const char *target, const char *sql)
{
	struct sqldb_stmt *st = NULL;
	enum sqldb_fail f;
	struct sqldb *s;
	char err[512];
	int64_t v = -1;

	if ((s = sqldb_open(target, SQLDB_READONLY, &f, err, sizeof(err))) == NULL) {
		fprintf(stderr, "q1: %s\n", err);
		return -1;
	}
	if ((st = sqldb_prepare(s, sql)) != NULL && sqldb_step(st) == SQLDB_ROW)
		v = sqldb_column_int64(st, 0);
	else
		fprintf(stderr, "q1: %s: %s\n", sql, sqldb_errmsg(s));
	sqldb_finalize(st);
	sqldb_close(s);
	return v;
}

/* Sets the schema version of the log at target (PRAGMA user_version, or
 * the version row). Returns 0 or -1. */
static __attribute__((unused)) int
store_set_version(const char *target, int v)
{
	char sql[96];

	if (store_pg == NULL)
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	else
		snprintf(sql, sizeof(sql), "UPDATE logdb_schema SET version = %d", v);
	return store_exec(target, sql);
}

/* Parses the arguments: none (SQLite in a new temp folder) or the base
 * URI. Returns 0, or -1 after saying why. */
static __attribute__((unused)) int
store_init(int argc, char **argv, const char *prog)
{
	char tmpl[128];

	snprintf(tmpl, sizeof(tmpl), "/tmp/%s.XXXXXX", prog);
	if (argc > 1) {
		store_pg = argv[1];
		if (!sqldb_is_pg(store_pg) || store_pg[strlen(store_pg) - 1] != '/') {
			fprintf(stderr, "usage: %s [postgresql://user@host:port/]\n", prog);
			return -1;
		}
	}
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(store_tmpdir, sizeof(store_tmpdir), "%s", tmpl);
	printf("%s: on %s\n", prog, store_pg ? store_pg : "SQLite files");
	return 0;
}

/* Removes the temp folder. */
static __attribute__((unused)) void
store_done(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store_tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", store_tmpdir);
}

#endif
