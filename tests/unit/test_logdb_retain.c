/*
 * test_logdb_retain: the store's schema 3 on real SQLite files in a temp
 * dir: retention that leaves every summary as it was (against a twin file
 * that kept its rows), by age and by size, with the space given back; a
 * version 2 file migrated; a refused request's code kept as an excerpt;
 * page rows with excerpts; an open that says why it failed (corrupt,
 * newer, missing, locked by another process); the breaker after a write
 * that found the log locked. With an argument (postgresql://user@host:port/)
 * the same on a PostgreSQL server (store.h), less what is SQLite's alone
 * (its files, pages and older versions), plus what is PostgreSQL's (a
 * server that cannot be reached, a database that does not exist).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/logdb_internal.h"
#include "base/sha256.h"
#include "base/text.h"

#include "store.h"
#include "unit.h"

#include <sqlite3.h>

#define tmp_path store_path

static struct logdb *
fresh(const char *name)
{
	char err[256];
	struct logdb *db;

	if ((db = logdb_open(store_wipe(name), err, sizeof(err))) == NULL)
		fprintf(stderr, "open: %s\n", err);
	return db;
}

static void
rec_init(struct run_record *r, const char *sid, const char *status)
{
	memset(r, 0, sizeof(*r));
	r->session_id = sid;
	r->status = status;
	r->http_status = 200;
	r->exit_code = strcmp(status, "success") == 0 ? 0 : 1;
	r->duration_ms = 100;
	if (strcmp(status, "error") == 0) {
		r->error_type = "ValueError";
		r->error_message = "bad value 42";
	}
}


/* A clock the test moves itself (*arg: ms since the epoch). */
static int64_t
clock_at(void *arg)
{
	return *(int64_t *)arg;
}

/* Inserts one attempt an hour after the last one on *now. */
static void
put(struct logdb *db, int64_t *now, const char *sid, const char *status, int k)
{
	static const char *const models[] = { "m-a", "m-b", NULL };
	static char code[2100];
	struct run_record r;

	*now += 3600 * 1000;
	record_init(&r);
	r.session_id = sid;
	r.status = status;
	r.http_status = 200;
	r.duration_ms = 100 + k % 700;
	snprintf(code, sizeof(code), "import m%d\n# %0*d\n", k % 5, 2000, k);
	r.code = code;
	r.code_len = strlen(code);
	r.ai_model = models[k % 3];
	r.ai_lessons = k % 3 - 1;
	if (strcmp(status, "error") == 0) {
		r.error_type = k % 2 ? "ValueError" : "ModuleNotFoundError";
		r.error_message = k % 2 ? "bad value 7" : "No module named 'm1'";
	}
	CHECK_INT(logdb_insert(db, &r, NULL, NULL), 0);
}

/* Sessions a0..a(n-1), two failures each and every fifth a success. */
static void
phase_one(struct logdb *db, int64_t *now, int n)
{
	char sid[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(sid, sizeof(sid), "a%d", i);
		put(db, now, sid, "error", i);
		put(db, now, sid, i % 7 ? "error" : "timeout", i + 1);
		if (i % 5 == 0)
			put(db, now, sid, "success", i + 2);
	}
}

/* A success in every session a0..a(n-1): fixes failures, some of them
 * already let go. */
static void
phase_two(struct logdb *db, int64_t *now, int n)
{
	char sid[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(sid, sizeof(sid), "a%d", i);
		put(db, now, sid, "success", i + 3);
	}
}

/* Returns every row of sql on path as one malloc'd text (the caller
 * frees it), "" when none; NULL on error. */
static char *
dump(const char *path, const char *sql)
{
	struct sqldb_stmt *st = NULL;
	struct sqldb *s;
	enum sqldb_fail f;
	char *out = NULL, *t, err[256];
	size_t n = 0, k;
	const char *v;
	int i, ncol;

	if ((s = sqldb_open(path, SQLDB_READONLY, &f, err, sizeof(err))) == NULL ||
	    (st = sqldb_prepare(s, sql)) == NULL) {
		fprintf(stderr, "dump: %s: %s\n", sql, s ? sqldb_errmsg(s) : err);
		goto out;
	}
	out = calloc(1, 1);
	while (out != NULL && sqldb_step(st) == SQLDB_ROW)
		for (i = 0, ncol = sqldb_column_count(st); i < ncol && out != NULL; i++) {
			v = sqldb_column_text(st, i);
			k = strlen(v ? v : "NULL");
			if ((t = realloc(out, n + k + 2)) == NULL) {
				free(out);
				out = NULL;
				break;
			}
			out = t;
			memcpy(out + n, v ? v : "NULL", k);
			n += k;
			out[n++] = i + 1 < ncol ? '|' : '\n';
			out[n] = '\0';
		}
out:
	sqldb_finalize(st);
	sqldb_close(s);
	return out;
}

/* The summaries, as they must stay through retention (the totals but
 * what counts the retention itself). */
static const char *const summaries[] = {
	"SELECT runs, successes, failures, fixed, ran, dur_sum, dur_max, sessions,"
	" sessions_failed, sessions_unfixed, patterns, first_at, last_at FROM totals",
	"SELECT kind, key, n, failures, fixed, last_id, last_at FROM counts ORDER BY kind, key",
	"SELECT session_id, attempts, failures, unfixed, successes, first_id, last_id,"
	" last_status, model, lessons, success_attempt FROM sessions ORDER BY session_id",
	"SELECT category, error_type, pattern, n, fixed, first_id, last_id, last_at, last_job"
	" FROM patterns ORDER BY category, error_type, pattern",
	"SELECT model, lessons, runs, failures, fixed, sessions, first_ok, succeeded, attempts_sum"
	" FROM model_stats ORDER BY model, lessons",
	"SELECT model, lessons, attempts, n FROM model_attempts ORDER BY model, lessons, attempts",
	"SELECT p.category, p.error_type, p.pattern, l.change, l.n, l.example_fail_id,"
	" l.example_fix_id FROM fix_lessons l JOIN patterns p ON p.id = l.pattern_id"
	" ORDER BY 1, 2, 3, 4",	/* last: see below */
	NULL
};

/* Returns 1 when the summaries of a and b are the same (the first n). */
static int
same_summaries(const char *a, const char *b, int n)
{
	char *x, *y;
	int i, same = 1;

	for (i = 0; summaries[i] != NULL && i < n; i++) {
		x = dump(a, summaries[i]);
		y = dump(b, summaries[i]);
		if (x == NULL || y == NULL || strcmp(x, y) != 0) {
			fprintf(stderr, "differ: %s\n", summaries[i]);
			same = 0;
		}
		free(x);
		free(y);
	}
	return same;
}

/* Returns the size of the file at path after a full checkpoint of db. */
static int64_t
file_size(struct logdb *db, const char *path)
{
	struct stat sb;

	sqlite3_wal_checkpoint_v2(sqldb_sqlite_handle(db->db), NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

TEST(retention_keeps_the_summaries)
{
	struct logdb *da = fresh("keep-a.db"), *dbb = fresh("keep-b.db");
	struct logdb_retain_stats st;
	struct logdb_totals t;
	int64_t now_a = 1735689600000LL, now_b = now_a, size_before, rows_before;
	char sql[160], a[512], b[512];

	/* tmp_path's buffers are few: keep copies. */
	snprintf(a, sizeof(a), "%s", tmp_path("keep-a.db"));
	snprintf(b, sizeof(b), "%s", tmp_path("keep-b.db"));
	if (da == NULL || dbb == NULL) {
		CHECK(0);
		logdb_close(da);
		logdb_close(dbb);
		return;
	}
	if (store_pg == NULL)
		CHECK_INT(q1(a, "PRAGMA auto_vacuum"), 2);	/* incremental, from the start */
	logdb_set_clock(da, clock_at, &now_a);
	logdb_set_clock(dbb, clock_at, &now_b);
	phase_one(da, &now_a, 200);
	phase_one(dbb, &now_b, 200);
	rows_before = q1(a, "SELECT COUNT(*) FROM runs");
	size_before = store_pg ? 0 : file_size(da, a);
	/* 440 hours of rows; keep the last 9 days. */
	CHECK_INT(logdb_retain(da, 9 * 86400, 0, &st), 0);
	CHECK(st.deleted > 100 && st.deleted < rows_before);
	CHECK_INT(st.by_age, st.deleted);
	CHECK_INT(st.by_size, 0);
	CHECK(st.bytes_after < st.bytes_before);
	if (store_pg == NULL) {
		CHECK(st.pages_vacuumed > 0);
		CHECK(file_size(da, a) < size_before);
	}
	CHECK_INT(q1(a, "SELECT COUNT(*) FROM runs"), rows_before - st.deleted);
	CHECK_INT(q1(a, "SELECT COUNT(*) FROM retired_unfixed") > 0, 1);
	CHECK_INT(logdb_get_totals(da, &t), 0);
	CHECK_INT(t.rows_retired, st.deleted);
	snprintf(sql, sizeof(sql), "SELECT MIN(id) FROM runs WHERE created_at = '%s'", t.kept_since);
	CHECK_INT(q1(a, sql), q1(a, "SELECT MIN(id) FROM runs"));
	CHECK(strcmp(t.retired_until, t.kept_since) < 0);
	/* Every summary is what it was; the one left alone says the same. */
	CHECK(same_summaries(a, b, 99));
	/* Again: nothing more is old enough. */
	CHECK_INT(logdb_retain(da, 9 * 86400, 0, &st), 0);
	CHECK_INT(st.deleted, 0);
	/* Later successes fix failures whose rows are gone: counted the same.
	 * (The lessons of those fixes need the failed code, which is gone.) */
	phase_two(da, &now_a, 200);
	phase_two(dbb, &now_b, 200);
	CHECK(same_summaries(a, b, 6));
	CHECK_INT(q1(a, "SELECT COUNT(*) FROM retired_unfixed"), 0);
	CHECK_INT(q1(a, "SELECT sessions_unfixed FROM totals"), 0);
	logdb_close(da);
	logdb_close(dbb);
}

TEST(retention_by_size)
{
	struct logdb *db = fresh("size.db");
	const char *path = tmp_path("size.db");
	struct logdb_retain_stats st;
	struct logdb_totals t;
	int64_t now = 1735689600000LL, used, cap;
	char *before, *after;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	logdb_set_clock(db, clock_at, &now);
	phase_one(db, &now, 300);
	before = dump(path, summaries[1]);
	/* SQLite: the file's pages in use; PostgreSQL: its estimate of what
	 * the rows take (their code compressed), a third of it let go. */
	used = logdb_used_bytes(db);
	cap = store_pg ? used * 2 / 3 : 1000000;
	CHECK(used > (store_pg ? 100000 : 1500000));
	CHECK_INT(logdb_retain(db, 0, cap, &st), 0);
	CHECK(st.by_size > 0);
	CHECK_INT(st.by_age, 0);
	CHECK(st.bytes_after <= cap);
	CHECK(q1(path, "SELECT COUNT(*) FROM runs") > 0);	/* the newest stay */
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.runs, 660);
	after = dump(path, summaries[1]);
	CHECK(before != NULL && after != NULL && strcmp(before, after) == 0);
	free(before);
	free(after);
	logdb_close(db);
}

/* The logdb_bucket() of version 2's backfill, for a raw connection. */
static void
raw_bucket(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_result_int(ctx, logdb_duration_bucket(sqlite3_value_int64(argv[0])));
}

TEST(migrate_from_v2)
{
	struct logdb_totals t;
	struct logdb *db;
	sqlite3 *s = NULL;
	char err[256], sql[8300], path[512];
	int n;

	if (store_pg != NULL)
		return;		/* PostgreSQL starts at version 3 */
	snprintf(path, sizeof(path), "%s", tmp_path("v2.db"));
	unlink(path);
	/* A version 2 database as the build before made it: no auto-vacuum, a
	 * refused request with its whole code, runs of a model. */
	CHECK_INT(sqlite3_open(path, &s), SQLITE_OK);
	sqlite3_create_function(s, "logdb_bucket", 1, SQLITE_UTF8, NULL, raw_bucket, NULL, NULL);
	CHECK_INT(sqlite3_exec(s, logdb_schema_v1, NULL, NULL, NULL), SQLITE_OK);
	n = snprintf(sql, sizeof(sql), "INSERT INTO runs (created_at, session_id, attempt, code,"
	    " code_sha256, status, duration_ms, ai_model, category, pattern) VALUES"
	    " ('2025-01-01T10:00:00.000Z', 'r', 1, '%05000d', 'abc', 'rejected', 0, NULL,"
	    "  'rejected', 'bad_params'),", 7);
	snprintf(sql + n, sizeof(sql) - (size_t)n,
	    " ('2025-01-01T10:01:00.000Z', 'm', 1, 'x', NULL, 'error', 100, 'gpt', 'value', 'v'),"
	    " ('2025-01-01T10:02:00.000Z', 'm', 2, 'y', NULL, 'error', 100, 'gpt', 'value', 'v'),"
	    " ('2025-01-01T10:03:00.000Z', 'm', 3, 'z', NULL, 'success', 100, 'gpt', NULL, NULL);");
	CHECK_INT(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(s, logdb_schema_v2, NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(s, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);
	CHECK_INT(q1(path, "PRAGMA auto_vacuum"), 0);

	db = logdb_open(path, err, sizeof(err));
	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_INT(logdb_file_version(path), 3);
	CHECK_INT(q1(path, "PRAGMA auto_vacuum"), 2);	/* the one VACUUM */
	CHECK_INT(q1(path, "SELECT code_bytes FROM runs WHERE session_id = 'r'"), 5000);
	CHECK_INT(q1(path, "SELECT length(code) FROM runs WHERE session_id = 'r'"), 1024);
	CHECK_INT(q1(path, "SELECT code_sha256 = 'abc' FROM runs WHERE session_id = 'r'"), 1);
	CHECK_INT(q1(path, "SELECT code_bytes FROM runs WHERE session_id = 'm' AND attempt = 3"),
	    1);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM runs WHERE ai_lessons <> -1"), 0);
	CHECK_INT(q1(path, "SELECT runs FROM model_stats WHERE model = 'gpt' AND lessons = -1"), 3);
	CHECK_INT(q1(path, "SELECT fixed FROM model_stats WHERE model = 'gpt'"), 2);
	CHECK_INT(q1(path, "SELECT sessions FROM model_stats WHERE model = 'gpt'"), 1);
	CHECK_INT(q1(path, "SELECT attempts_sum FROM model_stats WHERE model = 'gpt'"), 3);
	CHECK_INT(q1(path, "SELECT n FROM model_attempts WHERE model = 'gpt' AND attempts = 3"), 1);
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.runs, 4);
	CHECK_INT(t.fixed, 2);
	CHECK_INT(t.rows_retired, 0);
	CHECK_STR(t.kept_since, "2025-01-01T10:00:00.000Z");
	logdb_close(db);
}

TEST(refused_code_kept_as_excerpt)
{
	static char code[300000];
	struct logdb *db = fresh("refused.db");
	struct logdb_run run;
	struct run_record r;
	char sha[SHA256_HEX_MAX];
	int64_t id;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	memset(code, 1, sizeof(code));
	memset(code, 'a', 1023);
	memcpy(code + 1023, "\xc3\xa9", 2);	/* the cut at 1024 falls inside it */
	code[10] = (char)0xff;			/* and a bad byte: made valid */
	record_init(&r);
	r.session_id = "refused";
	r.status = "rejected";
	r.http_status = 422;
	r.reject_code = "bad_params";
	r.code = code;
	r.code_len = sizeof(code);
	CHECK_INT(logdb_insert(db, &r, &id, NULL), 0);
	CHECK_INT(logdb_get_run(db, id, &run), 1);
	CHECK_INT(run.code_bytes, sizeof(code));
	CHECK_INT(run.code_whole, 0);
	CHECK_INT(run.rec.code_len, 1023 + 2);		/* 0xff became U+FFFD */
	CHECK(utf8_valid(run.rec.code, run.rec.code_len));
	CHECK(memcmp(run.rec.code + 10, "\xef\xbf\xbd", 3) == 0);
	sha256_hex(code, sizeof(code), sha);
	CHECK_STR(run.code_sha256, sha);
	logdb_run_free(&run);
	/* A run that ran keeps its code whole. */
	r.status = "error";
	code[10] = 'a';
	CHECK_INT(logdb_insert(db, &r, &id, NULL), 0);
	CHECK_INT(logdb_get_run(db, id, &run), 1);
	CHECK_INT(run.rec.code_len, sizeof(code));
	CHECK_INT(run.code_whole, 1);
	logdb_run_free(&run);
	logdb_close(db);
}

TEST(page_rows_carry_excerpts)
{
	static char code[10000], out[5000], err[5000];
	struct logdb *db = fresh("excerpts.db");
	struct logdb_run *runs, run;
	struct run_record r;
	size_t n;
	int64_t id;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	memset(code, 'c', sizeof(code) - 1);
	memset(out, 'o', sizeof(out) - 1);
	memset(err, 'e', sizeof(err) - 1);
	err[sizeof(err) - 2] = 'Z';	/* the end of stderr is what a tail shows */
	rec_init(&r, "ex", "error");
	r.code = code;
	r.code_len = strlen(code);
	r.stdout_text = out;
	r.stderr_text = err;
	r.traceback = err;
	CHECK_INT(logdb_insert(db, &r, &id, NULL), 0);
	CHECK_INT(logdb_get_page(db, LOGDB_FAILURES, 0, 10, &runs, &n), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_INT(runs[0].rec.code_len, LOGDB_EXCERPT_CODE);
		CHECK_INT(runs[0].code_bytes, sizeof(code) - 1);
		CHECK_INT(runs[0].code_whole, 0);
		CHECK_INT(strlen(runs[0].rec.stdout_text), LOGDB_EXCERPT_STREAM);
		CHECK(strcmp(runs[0].rec.stdout_text + LOGDB_EXCERPT_STREAM - 3, "\xe2\x80\xa6") == 0);
		CHECK_INT(strlen(runs[0].rec.stderr_text), LOGDB_EXCERPT_STREAM);
		CHECK(strncmp(runs[0].rec.stderr_text, "\xe2\x80\xa6", 3) == 0);
		CHECK(runs[0].rec.stderr_text[LOGDB_EXCERPT_STREAM - 1] == 'Z');
		CHECK_INT(strlen(runs[0].rec.traceback), LOGDB_EXCERPT_TEXT);
	}
	logdb_runs_free(runs, n);
	CHECK_INT(logdb_get_run(db, id, &run), 1);
	CHECK_INT(strlen(run.rec.stdout_text), sizeof(out) - 1);
	CHECK_INT(run.rec.code_len, sizeof(code) - 1);
	logdb_run_free(&run);
	logdb_close(db);
}

/* A child that holds path locked from when it writes a byte on ready
 * until it reads one from go: SQLite, BEGIN EXCLUSIVE (after setup);
 * PostgreSQL, the writers' advisory lock. Returns its pid. */
static pid_t
locker(const char *path, const char *setup, int ready[2], int go[2])
{
	char c = 'x', lock[96], err[256];
	enum sqldb_fail f;
	pid_t pid;

	if (pipe(ready) < 0 || pipe(go) < 0)
		return -1;
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%lld)",
	    (long long)SQLDB_PG_WRITE_LOCK);
	if ((pid = fork()) == 0) {
		struct sqldb *s = sqldb_open(path, SQLDB_CREATE, &f, err, sizeof(err));
		int ok = s != NULL && (store_pg ? sqldb_exec(s, lock) == 0 :
		    sqldb_exec(s, setup) == 0 && sqldb_exec(s, "BEGIN EXCLUSIVE") == 0);
		if (write(ready[1], ok ? "y" : "n", 1) != 1 || read(go[0], &c, 1) != 1)
			ok = 0;
		if (s != NULL && store_pg == NULL)
			sqldb_exec(s, "COMMIT");
		sqldb_close(s);
		_exit(ok ? 0 : 1);
	}
	if (pid > 0 && read(ready[0], &c, 1) == 1 && c != 'y')
		CHECK(0);
	return pid;
}

/* Lets the locker go and waits for it. */
static void
locker_end(pid_t pid, int ready[2], int go[2])
{
	int status;

	if (write(go[1], "x", 1) != 1)
		CHECK(0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

TEST(open_says_why)
{
	enum logdb_open_error why;
	int ready[2], go[2];
	char err[512];
	pid_t pid;

	if (store_pg == NULL) {
		/* Not a database. */
		FILE *fp = fopen(tmp_path("junk2.db"), "w");
		if (fp != NULL) {
			fputs("not a database, only text long enough to look like a header.\n", fp);
			fclose(fp);
		}
		CHECK(logdb_open_why(tmp_path("junk2.db"), &why, err, sizeof(err)) == NULL);
		CHECK_INT(why, LOGDB_CORRUPT);
		CHECK_STR(logdb_open_error_name(why), "corrupt");
		/* No folder for it. */
		CHECK(logdb_open_why(tmp_path("no/such/folder/log.db"), &why, err, sizeof(err)) ==
		    NULL);
		CHECK_INT(why, LOGDB_MISSING);
	} else {
		/* No such database on the server. */
		CHECK(logdb_open_why(tmp_path("no-such.db"), &why, err, sizeof(err)) == NULL);
		CHECK_INT(why, LOGDB_MISSING);
		/* No server there (port 1 of this host: refused at once). */
		CHECK(logdb_open_why("postgresql://postgres@127.0.0.1:1/x", &why, err,
		    sizeof(err)) == NULL);
		CHECK_INT(why, LOGDB_UNREACHABLE);
		CHECK_STR(logdb_open_error_name(why), "unreachable");
		/* A password never shows in a message. */
		CHECK(logdb_open_why("postgresql://u:s3cret@127.0.0.1:1/x", &why, err,
		    sizeof(err)) == NULL);
		CHECK(strstr(err, "s3cret") == NULL && strstr(err, "u:***@") != NULL);
	}
	/* Made by a newer build. */
	logdb_close(fresh("newer.db"));
	CHECK_INT(store_set_version(tmp_path("newer.db"), 99), 0);
	CHECK(logdb_open_why(tmp_path("newer.db"), &why, err, sizeof(err)) == NULL);
	CHECK_INT(why, LOGDB_NEWER);
	/* Another process holds it locked (SQLite: a database of the old
	 * journal, so even reading it waits; PostgreSQL: the writers' lock,
	 * which the open takes to check the schema): the open gives up after
	 * the busy timeout. */
	if (store_pg == NULL)
		unlink(tmp_path("locked.db"));
	else
		logdb_close(fresh("locked.db"));
	pid = locker(tmp_path("locked.db"), "CREATE TABLE t(x)", ready, go);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(logdb_open_why(tmp_path("locked.db"), &why, err, sizeof(err)) == NULL);
	CHECK_INT(why, LOGDB_LOCKED);
	locker_end(pid, ready, go);
}

/* Returns the lock timeout the handle's connection has, ms: PostgreSQL's
 * lock_timeout as the server says it; for SQLite the one our busy handler
 * waits (sqldb_sqlite.c's lite_busy, which the test times too). */
static int
busy_timeout(struct logdb *db)
{
	struct sqldb_stmt *st;
	int v = -1;

	if (!store_pg)
		return sqldb_lock_timeout(db->db);
	if ((st = sqldb_prepare(db->db, "SELECT setting FROM pg_settings WHERE"
	    " name = 'lock_timeout'")) != NULL &&
	    sqldb_step(st) == SQLDB_ROW)
		v = sqldb_column_int(st, 0);
	sqldb_finalize(st);
	return v;
}

TEST(breaker_after_a_busy_write)
{
	struct logdb *db = fresh("busy.db");
	struct logdb_state s;
	struct run_record r;
	int ready[2], go[2];
	pid_t pid;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	rec_init(&r, "busy", "error");
	pid = locker(tmp_path("busy.db"), "SELECT 1", ready, go);
	CHECK(pid > 0);
	if (pid <= 0) {
		logdb_close(db);
		return;
	}
	/* The first write waits out the busy timeout and trips the breaker;
	 * the next ones wait only LOGDB_BUSY_SHORT_MS. */
	CHECK_INT(logdb_insert(db, &r, NULL, NULL), -1);
	logdb_get_state(db, &s);
	CHECK_INT(s.breaker, 1);
	CHECK_INT(s.busy_failures, 1);
	CHECK_INT(busy_timeout(db), LOGDB_BUSY_SHORT_MS);
	/* It does wait that long, and no longer than the long timeout. */
	int64_t t0 = clock_mono_ms();
	CHECK_INT(logdb_insert(db, &r, NULL, NULL), -1);
	CHECK(clock_mono_ms() - t0 >= LOGDB_BUSY_SHORT_MS - 10);
	CHECK(clock_mono_ms() - t0 < LOGDB_BUSY_TIMEOUT_MS);
	logdb_get_state(db, &s);
	CHECK_INT(s.busy_failures, 2);
	CHECK_INT(busy_timeout(db), LOGDB_BUSY_SHORT_MS);
	locker_end(pid, ready, go);
	/* A write that succeeds closes it again. */
	CHECK_INT(logdb_insert(db, &r, NULL, NULL), 0);
	logdb_get_state(db, &s);
	CHECK_INT(s.breaker, 0);
	CHECK_INT(s.inserts, 3);
	CHECK_INT(s.insert_failures, 2);
	CHECK_INT(busy_timeout(db), LOGDB_BUSY_TIMEOUT_MS);
	logdb_close(db);
}

int
main(int argc, char **argv)
{
	log_init("test_logdb_retain");
	if (store_init(argc, argv, "test_logdb_retain") < 0)
		return 2;
	RUN(retention_keeps_the_summaries);
	RUN(retention_by_size);
	RUN(migrate_from_v2);
	RUN(refused_code_kept_as_excerpt);
	RUN(page_rows_carry_excerpts);
	RUN(open_says_why);
	RUN(breaker_after_a_busy_write);
	store_done();
	return unit_done(store_pg ? "logdb_retain (PostgreSQL)" : "logdb_retain");
}
