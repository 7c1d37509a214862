/*
 * test_logdb: the store, on real SQLite files in a temp dir, or with an
 * argument (postgresql://user@host:port/) on a real PostgreSQL server, a
 * database per test (store.h). Reads the store's internal header for the
 * handle's connection (the PRAGMAs it set) and the version 1 schema of the
 * migration test, which are SQLite's alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/logdb_internal.h"
#include "base/sha256.h"

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

TEST(migrate_from_empty)
{
	struct logdb *db = fresh("empty.db");
	struct logdb_totals t;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_INT(logdb_file_version(tmp_path("empty.db")), LOGDB_SCHEMA_VERSION);
	CHECK_INT(q1(tmp_path("empty.db"), store_pg ? "SELECT COUNT(*) FROM pg_tables WHERE"
	    " tablename IN ('runs','totals','counts','sessions','patterns','fix_lessons')" :
	    "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
	    "('runs','totals','counts','sessions','patterns','fix_lessons')"), 6);
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.runs, 0);
	logdb_close(db);
	/* Opening again migrates nothing and keeps the version. */
	db = logdb_open(tmp_path("empty.db"), (char[256]){ 0 }, 256);
	CHECK(db != NULL);
	logdb_close(db);
	CHECK_INT(logdb_file_version(tmp_path("empty.db")), LOGDB_SCHEMA_VERSION);
}

TEST(wal_and_busy_timeout)
{
	struct logdb *db;
	sqlite3_stmt *st = NULL;

	if (store_pg != NULL)
		return;		/* SQLite's own */
	if ((db = fresh("wal.db")) == NULL) {
		CHECK(0);
		return;
	}
	/* Each PRAGMA must answer a row: no row is a failure, not a pass. */
	CHECK_INT(sqlite3_prepare_v2(sqldb_sqlite_handle(db->db), "PRAGMA journal_mode", -1, &st,
	    NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	st = NULL;
	/* Our busy handler (sqldb_sqlite.c: a try each millisecond, fairer
	 * than SQLite's growing sleeps) waits as long as it is asked: a write
	 * while another connection holds the lock fails after the timeout,
	 * not at once. */
	CHECK_INT(sqldb_lock_timeout(db->db), LOGDB_BUSY_TIMEOUT_MS);
	{
		sqlite3 *other = NULL;
		struct run_record r;
		int64_t t0;

		CHECK_INT(sqlite3_open(tmp_path("wal.db"), &other), SQLITE_OK);
		CHECK_INT(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
		CHECK_INT(sqldb_set_lock_timeout(db->db, 300), 0);
		rec_init(&r, "busy", "success");
		t0 = clock_mono_ms();
		CHECK_INT(logdb_insert(db, &r, NULL, NULL), -1);
		CHECK(clock_mono_ms() - t0 >= 290);
		CHECK(logdb_busy(db));
		sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(other);
		CHECK_INT(logdb_insert(db, &r, NULL, NULL), 0);
	}
	logdb_close(db);
}

TEST(migrate_from_v1_with_rows)
{
	const char *path = tmp_path("v1.db");
	struct logdb_lesson l[8];
	struct logdb_totals t;
	struct run_record r;
	struct logdb *db;
	sqlite3 *s = NULL;
	char err[256];
	size_t n;
	int attempt;

	if (store_pg != NULL)
		return;		/* PostgreSQL starts at version 3 */
	unlink(path);
	/* A version 1 database as an older build left it. */
	CHECK_INT(sqlite3_open(path, &s), SQLITE_OK);
	CHECK_INT(sqlite3_exec(s, logdb_schema_v1, NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(s,
	    "INSERT INTO runs (created_at, session_id, attempt, code, status, duration_ms,"
	    " error_type, error_message, category, pattern) VALUES"
	    " ('2025-01-01T10:00:00.000Z', 'a', 1, 'import skimage2', 'error', 100,"
	    "  'ModuleNotFoundError', 'No module named ''skimage2''', 'import',"
	    "  'No module named ''skimage2'''),"
	    " ('2025-01-01T10:01:00.000Z', 'a', 2, 'from skimage import filters', 'success', 200,"
	    "  NULL, NULL, NULL, NULL),"
	    " ('2025-01-02T10:00:00.000Z', 'b', 1, 'x', 'timeout', 10000, NULL, NULL,"
	    "  'timeout', 'timeout: went over the time limit');"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);

	db = logdb_open(path, err, sizeof(err));
	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_INT(logdb_file_version(path), LOGDB_SCHEMA_VERSION);
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.runs, 3);
	CHECK_INT(t.failures, 2);
	CHECK_INT(t.fixed, 1);
	CHECK_INT(t.sessions, 2);
	CHECK_INT(t.sessions_failed, 2);
	CHECK_INT(t.sessions_unfixed, 1);
	CHECK_INT(t.dur_max, 10000);
	CHECK_STR(t.first_at, "2025-01-01T10:00:00.000Z");
	CHECK_INT(q1(path, "SELECT fixed_by FROM runs WHERE session_id = 'a' AND attempt = 1"), 2);
	CHECK_INT(logdb_get_lessons(db, l, 8, &n), 0);
	CHECK_INT(n, 2);	/* +from skimage import filters, -import skimage2 */
	/* Writing goes on from where the old rows left off. */
	rec_init(&r, "b", "success");
	CHECK_INT(logdb_insert(db, &r, NULL, &attempt), 0);
	CHECK_INT(attempt, 2);
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.fixed, 2);
	CHECK_INT(t.sessions_unfixed, 0);
	logdb_close(db);
}

TEST(reopen_keeps_data)
{
	struct logdb *db = fresh("reopen.db");
	struct logdb_run run;
	struct run_record r;
	char err[256];
	int64_t id = 0;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	rec_init(&r, "s1", "error");
	r.code = "print(1)\n";
	r.code_len = 9;
	CHECK_INT(logdb_insert(db, &r, &id, NULL), 0);
	logdb_close(db);
	db = logdb_open(tmp_path("reopen.db"), err, sizeof(err));
	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_INT(logdb_get_run(db, id, &run), 1);
	CHECK_STR(run.rec.code, "print(1)\n");
	CHECK_STR(run.rec.session_id, "s1");
	logdb_run_free(&run);
	logdb_close(db);
}

TEST(attempt_numbering)
{
	struct logdb *db = fresh("attempts.db");
	struct run_record r;
	int a, i;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	for (i = 1; i <= 5; i++) {
		rec_init(&r, "one", "error");
		CHECK_INT(logdb_insert(db, &r, NULL, &a), 0);
		CHECK_INT(a, i);
		rec_init(&r, "two", "success");
		CHECK_INT(logdb_insert(db, &r, NULL, &a), 0);
		CHECK_INT(a, i);
	}
	rec_init(&r, "three", "rejected");
	CHECK_INT(logdb_insert(db, &r, NULL, &a), 0);
	CHECK_INT(a, 1);
	logdb_close(db);
}

#define WRITERS 8
#define ROWS 200

TEST(concurrent_writers)
{
	const char *path = tmp_path("fork.db");
	struct logdb *db = fresh("fork.db");
	struct logdb_totals t;
	pid_t pid[WRITERS];
	int i, status, ok = 1;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	logdb_close(db);	/* each child opens its own handle */
	for (i = 0; i < WRITERS; i++) {
		if ((pid[i] = fork()) == 0) {
			struct run_record r;
			char err[256], sid[16];
			struct logdb *c = logdb_open(path, err, sizeof(err));
			int k, bad = c == NULL;
			for (k = 0; k < ROWS && !bad; k++) {
				/* Every writer writes into the same ten sessions. */
				snprintf(sid, sizeof(sid), "shared-%d", k % 10);
				rec_init(&r, sid, (k + i) % 4 == 0 ? "success" : "error");
				if (logdb_insert(c, &r, NULL, NULL) < 0)
					bad = 1;
			}
			logdb_close(c);
			_exit(bad);
		}
		CHECK(pid[i] > 0);
	}
	for (i = 0; i < WRITERS; i++)
		if (pid[i] > 0 && (waitpid(pid[i], &status, 0) != pid[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0))
			ok = 0;
	CHECK(ok);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM runs"), WRITERS * ROWS);
	/* Distinct, gap-free attempts in every session. */
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM (SELECT session_id FROM runs GROUP BY session_id"
	    " HAVING COUNT(*) <> MAX(attempt) OR COUNT(DISTINCT attempt) <> COUNT(*)"
	    " OR MIN(attempt) <> 1) AS bad"), 0);
	CHECK_INT(q1(path, "SELECT SUM(attempts) FROM sessions"), WRITERS * ROWS);
	/* The aggregates kept up. */
	db = logdb_open(path, (char[256]){ 0 }, 256);
	CHECK(db != NULL);
	if (db != NULL) {
		CHECK_INT(logdb_get_totals(db, &t), 0);
		CHECK_INT(t.runs, WRITERS * ROWS);
		CHECK_INT(t.failures, q1(path, "SELECT COUNT(*) FROM runs WHERE status <> 'success'"));
		CHECK_INT(t.fixed, q1(path, "SELECT COUNT(*) FROM runs WHERE fixed_by IS NOT NULL"));
		logdb_close(db);
	}
}

TEST(fix_marking)
{
	const char *path = tmp_path("fix.db");
	struct logdb *db = fresh("fix.db");
	struct logdb_totals t;
	struct run_record r;
	int64_t id[6];
	int i;
	const char *seq[] = { "error", "timeout", "success", "error", "no_output", "success" };

	if (db == NULL) {
		CHECK(0);
		return;
	}
	for (i = 0; i < 4; i++) {
		rec_init(&r, "f", seq[i]);
		logdb_insert(db, &r, &id[i], NULL);
	}
	/* Another session's success fixes nothing here. */
	rec_init(&r, "other", "success");
	logdb_insert(db, &r, NULL, NULL);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM runs WHERE fixed_by IS NOT NULL"), 2);
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.fixed, 2);
	CHECK_INT(t.sessions_unfixed, 1);	/* the last error */
	CHECK_INT(t.sessions_failed, 1);
	for (i = 4; i < 6; i++) {
		rec_init(&r, "f", seq[i]);
		logdb_insert(db, &r, &id[i], NULL);
	}
	{
		char sql[160];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM runs WHERE fixed_by = %lld",
		    (long long)id[2]);
		CHECK_INT(q1(path, sql), 2);
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM runs WHERE fixed_by = %lld",
		    (long long)id[5]);
		CHECK_INT(q1(path, sql), 2);
	}
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.fixed, 4);
	CHECK_INT(t.failures, 4);
	CHECK_INT(t.sessions_unfixed, 0);
	CHECK_INT(q1(path, "SELECT fixed FROM counts WHERE kind = 'category' AND key = 'value'"), 2);
	CHECK_INT(q1(path, "SELECT SUM(fixed) FROM patterns"), 4);
	logdb_close(db);
}

TEST(paging)
{
	struct logdb *db = fresh("page.db");
	struct logdb_run *runs;
	struct run_record r;
	int64_t before = 0, seen = 0, last = INT64_MAX;
	size_t n, i;
	int k, ok = 1;
	char sid[16];

	if (db == NULL) {
		CHECK(0);
		return;
	}
	for (k = 0; k < 130; k++) {
		snprintf(sid, sizeof(sid), "p%d", k / 5);
		rec_init(&r, sid, k % 5 == 4 ? "success" : k % 5 == 3 ? "timeout" : "error");
		logdb_insert(db, &r, NULL, NULL);
	}
	/* 104 failures: pages of 50, 50, 4, newest first, no repeats. */
	do {
		CHECK_INT(logdb_get_page(db, LOGDB_FAILURES, before, 50, &runs, &n), 0);
		for (i = 0; i < n; i++) {
			if (runs[i].id >= last || strcmp(runs[i].rec.status, "success") == 0)
				ok = 0;
			last = runs[i].id;
		}
		seen += (int64_t)n;
		before = n > 0 ? runs[n - 1].id : 0;
		if (n > 0) {
			CHECK(runs[0].rec.stdout_text == NULL);	/* pages are light */
			CHECK(runs[0].category[0] != '\0');
		}
		logdb_runs_free(runs, n);
	} while (n == 50);
	CHECK(ok);
	CHECK_INT(seen, 104);
	CHECK_INT(logdb_get_page(db, LOGDB_SUCCESSES, 0, 500, &runs, &n), 0);
	CHECK_INT(n, 26);
	logdb_runs_free(runs, n);
	CHECK_INT(logdb_get_page(db, LOGDB_UNFIXED, 0, 500, &runs, &n), 0);
	CHECK_INT(n, 0);	/* every session ended in success */
	logdb_runs_free(runs, n);
	rec_init(&r, "late", "error");
	logdb_insert(db, &r, NULL, NULL);
	CHECK_INT(logdb_get_page(db, LOGDB_UNFIXED, 0, 500, &runs, &n), 0);
	CHECK_INT(n, 1);
	logdb_runs_free(runs, n);
	CHECK_INT(logdb_get_page(db, LOGDB_ALL, 0, 7, &runs, &n), 0);
	CHECK_INT(n, 7);
	logdb_runs_free(runs, n);
	logdb_close(db);
}

/* A small deterministic generator for the consistency test. */
static uint32_t rng = 12345;
static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static int64_t fake_now = 1735689600000LL;	/* 2025-01-01 */
static int64_t
fake_clock(void *arg)
{
	(void)arg;
	fake_now += 60 * 60 * 1000;	/* an hour per row: several days */
	return fake_now;
}

TEST(aggregates_match_the_rows)
{
	static const char *const st[] = { "success", "error", "timeout", "oom", "no_output",
		"bad_output", "rejected" };
	static const char *const msgs[] = { "No module named 'a'", "No module named 'b'",
		"index 3 is out of bounds", "'k'" };
	static const char *const types[] = { "ModuleNotFoundError", "ModuleNotFoundError",
		"IndexError", "KeyError" };
	const char *path = tmp_path("agg.db");
	struct logdb *db = fresh("agg.db");
	struct logdb_count c[64];
	struct logdb_totals t;
	struct run_record r;
	char sid[16], code[64], sql[512];
	size_t n, i;
	int k, m;
	int64_t sum;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	logdb_set_clock(db, fake_clock, NULL);
	for (k = 0; k < 600; k++) {
		snprintf(sid, sizeof(sid), "g%u", next_rand() % 60);
		rec_init(&r, sid, st[next_rand() % 7]);
		m = (int)(next_rand() % 4);
		snprintf(code, sizeof(code), "import m%d\nprint(%d)\n", m, k);
		r.code = code;
		r.code_len = strlen(code);
		r.duration_ms = next_rand() % 20000;
		r.ai_model = next_rand() % 2 ? "model-a" : NULL;
		if (strcmp(r.status, "error") == 0) {
			r.error_type = types[m];
			r.error_message = msgs[m];
		}
		CHECK_INT(logdb_insert(db, &r, NULL, NULL), 0);
	}
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.runs, q1(path, "SELECT COUNT(*) FROM runs"));
	CHECK_INT(t.successes, q1(path, "SELECT COUNT(*) FROM runs WHERE status = 'success'"));
	CHECK_INT(t.fixed, q1(path, "SELECT COUNT(*) FROM runs WHERE fixed_by IS NOT NULL"));
	/* fixed_by as the definition says: the first later success of the session. */
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM runs f WHERE status <> 'success' AND"
	    " fixed_by IS DISTINCT FROM (SELECT MIN(s.id) FROM runs s WHERE s.session_id = f.session_id"
	    " AND s.status = 'success' AND s.attempt > f.attempt)"), 0);
	CHECK_INT(t.ran, q1(path, "SELECT COUNT(*) FROM runs WHERE status <> 'rejected'"));
	CHECK_INT(t.dur_sum, q1(path, "SELECT SUM(duration_ms) FROM runs WHERE status <> 'rejected'"));
	CHECK_INT(t.dur_max, q1(path, "SELECT MAX(duration_ms) FROM runs WHERE status <> 'rejected'"));
	CHECK_INT(t.sessions, q1(path, "SELECT COUNT(DISTINCT session_id) FROM runs"));
	CHECK_INT(t.sessions_unfixed, q1(path, "SELECT COUNT(DISTINCT session_id) FROM runs"
	    " WHERE status <> 'success' AND fixed_by IS NULL"));
	CHECK_INT(t.patterns, q1(path, "SELECT COUNT(*) FROM (SELECT DISTINCT category,"
	    " COALESCE(error_type, ''), pattern FROM runs WHERE status <> 'success') AS p"));
	CHECK_INT(logdb_get_counts(db, LOGDB_BY_STATUS, c, 64, &n), 0);
	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM runs WHERE status = '%.40s'", c[i].key);
		CHECK_INT(c[i].n, q1(path, sql));
	}
	CHECK_INT(logdb_get_counts(db, LOGDB_BY_CATEGORY, c, 64, &n), 0);
	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM runs WHERE category = '%.40s'", c[i].key);
		CHECK_INT(c[i].n, q1(path, sql));
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM runs WHERE category = '%.40s' AND"
		    " fixed_by IS NOT NULL", c[i].key);
		CHECK_INT(c[i].fixed, q1(path, sql));
	}
	CHECK_INT(logdb_get_counts(db, LOGDB_BY_DAY, c, 64, &n), 0);
	CHECK_INT(n, q1(path, "SELECT COUNT(DISTINCT substr(created_at, 1, 10)) FROM runs"));
	CHECK(n > 20);
	CHECK(n >= 2 && strcmp(c[0].key, c[1].key) > 0);	/* newest first */
	CHECK_STR(c[n - 1].key, "2025-01-01");
	CHECK_INT(logdb_get_counts(db, LOGDB_BY_DURATION, c, 64, &n), 0);
	for (i = 0, sum = 0; i < n; i++)
		sum += c[i].n;
	CHECK_INT(sum, t.ran);
	CHECK_INT(logdb_get_counts(db, LOGDB_BY_MODEL, c, 64, &n), 0);
	CHECK_INT(n, 2);
	logdb_close(db);
}

TEST(readonly_open)
{
	enum logdb_open_error why;
	struct logdb *db;
	struct run_record r;
	char err[512];

	CHECK(logdb_open_readonly(tmp_path("nope.db"), &why, err, sizeof(err)) == NULL);
	CHECK_INT(why, LOGDB_MISSING);
	if (store_pg == NULL)
		CHECK(access(tmp_path("nope.db"), F_OK) != 0);	/* not made */
	else {
		/* A database that holds no log yet is missing one, and stays so. */
		CHECK(logdb_open_readonly(store_wipe("empty-ro.db"), &why, err, sizeof(err)) == NULL);
		CHECK_INT(why, LOGDB_MISSING);
		CHECK_INT(logdb_file_version(tmp_path("empty-ro.db")), 0);
	}
	db = fresh("ro.db");
	logdb_close(db);
	db = logdb_open_readonly(tmp_path("ro.db"), &why, err, sizeof(err));
	CHECK(db != NULL);
	CHECK_INT(why, LOGDB_OK);
	if (db != NULL) {
		rec_init(&r, "x", "error");
		CHECK_INT(logdb_insert(db, &r, NULL, NULL), -1);
		logdb_close(db);
	}
	CHECK_INT(store_set_version(tmp_path("ro.db"), 1), 0);
	CHECK(logdb_open_readonly(tmp_path("ro.db"), &why, err, sizeof(err)) == NULL);
	CHECK_INT(why, LOGDB_OLDER);
	CHECK(strstr(err, "older") != NULL);
	CHECK_INT(store_set_version(tmp_path("ro.db"), 99), 0);
	CHECK(logdb_open_readonly(tmp_path("ro.db"), &why, err, sizeof(err)) == NULL);
	CHECK_INT(why, LOGDB_NEWER);
	CHECK(logdb_open(tmp_path("ro.db"), err, sizeof(err)) == NULL);	/* never downgraded */
	CHECK(strstr(err, "newer") != NULL);
	if (store_pg != NULL)
		return;
	{
		FILE *fp = fopen(tmp_path("junk.db"), "w");
		if (fp != NULL) {
			fputs("not a database at all, just text long enough to pass for a header.\n",
			    fp);
			fclose(fp);
		}
	}
	CHECK(logdb_open_readonly(tmp_path("junk.db"), &why, err, sizeof(err)) == NULL);
	CHECK_INT(why, LOGDB_CORRUPT);
}

TEST(paths_named)
{
	char out[128];

	CHECK_INT(logdb_path_is_pg("postgresql://u@h:5432/db"), 1);
	CHECK_INT(logdb_path_is_pg("postgres://u@h/db"), 1);
	CHECK_INT(logdb_path_is_pg("POSTGRESQL://u@h/db"), 1);
	CHECK_INT(logdb_path_is_pg("var/log.db"), 0);
	CHECK_INT(logdb_path_is_pg("postgresql:/x"), 0);
	CHECK_STR(logdb_path_safe("postgresql://u:pw@h:5/db?sslmode=require", out, sizeof(out)),
	    "postgresql://u:***@h:5/db?sslmode=require");
	CHECK_STR(logdb_path_safe("postgresql://u@h/db", out, sizeof(out)), "postgresql://u@h/db");
	CHECK_STR(logdb_path_safe("postgresql://h/db?password=x&sslmode=require", out,
	    sizeof(out)), "postgresql://h/db?password=***&sslmode=require");
	CHECK_STR(logdb_path_safe("postgresql://u:a@h/db?user=u&password=x", out, sizeof(out)),
	    "postgresql://u:***@h/db?user=u&password=***");
	CHECK_STR(logdb_path_safe("var/a:b@c.db", out, sizeof(out)), "var/a:b@c.db");
}

TEST(traceback_fill_in)
{
	struct logdb *db = fresh("tb.db");
	struct logdb_run run;
	struct run_record r;
	int64_t id;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	rec_init(&r, "t", "error");
	r.error_type = NULL;
	r.error_message = NULL;
	r.stderr_text = "hello\nTraceback (most recent call last):\n"
	    "  File \"/code/main.py\", line 4, in <module>\n"
	    "    x = d['w']\n"
	    "KeyError: 'w'\n";
	CHECK_INT(logdb_insert(db, &r, &id, NULL), 0);
	CHECK_INT(logdb_get_run(db, id, &run), 1);
	CHECK_STR(run.rec.error_type, "KeyError");
	CHECK_STR(run.rec.error_message, "'w'");
	CHECK_INT(run.rec.error_line, 4);
	CHECK_STR(run.category, "data_access");
	CHECK_STR(run.pattern, "<name>");
	logdb_run_free(&run);
	logdb_close(db);
}

TEST(whole_row_roundtrip)
{
	struct logdb *db = fresh("row.db");
	struct logdb_run run;
	struct run_record r;
	char sha[SHA256_HEX_MAX];
	static const char code[] = "print('a')\0print('b')\n";	/* a NUL inside */
	int64_t id;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.job_id = "0123456789abcdef0123456789abcdef";
	r.session_id = "row";
	r.previous_attempt_id = 0;
	r.code = code;
	r.code_len = sizeof(code) - 1;	/* a NUL inside: kept */
	r.params = "{\"k\":1}";
	r.image_type = "image/png";
	r.image_bytes = 99;
	r.image_width = 3;
	r.image_height = 4;
	r.use_sample = 1;
	r.user_prompt = "make it blue";
	r.ai_model = "m";
	r.status = "bad_output";
	r.http_status = 200;
	r.exit_code = 0;
	r.duration_ms = 77;
	r.stdout_text = "out";
	r.stderr_text = "err";
	r.truncated = 1;
	r.timings_json = "{\"run_ms\":70}";
	CHECK_INT(logdb_insert(db, &r, &id, NULL), 0);
	CHECK_INT(logdb_get_run(db, id, &run), 1);
	if (store_pg == NULL) {
		CHECK_INT(run.rec.code_len, sizeof(code) - 1);
		CHECK(memcmp(run.rec.code, code, sizeof(code) - 1) == 0);
	} else	/* PostgreSQL's text holds no NUL: the driver made it U+FFFD */
		CHECK_STR(run.rec.code, "print('a')\xef\xbf\xbdprint('b')\n");
	sha256_hex(code, sizeof(code) - 1, sha);
	CHECK_STR(run.code_sha256, sha);
	CHECK_STR(run.rec.job_id, r.job_id);
	CHECK_STR(run.rec.params, r.params);
	CHECK_STR(run.rec.image_type, "image/png");
	CHECK_INT(run.rec.image_bytes, 99);
	CHECK_INT(run.rec.image_width, 3);
	CHECK_INT(run.rec.image_height, 4);
	CHECK_INT(run.rec.use_sample, 1);
	CHECK_STR(run.rec.user_prompt, "make it blue");
	CHECK_STR(run.rec.status, "bad_output");
	CHECK_INT(run.rec.exit_code, 0);
	CHECK_INT(run.rec.duration_ms, 77);
	CHECK_STR(run.rec.stdout_text, "out");
	CHECK_STR(run.rec.stderr_text, "err");
	CHECK_INT(run.rec.truncated, 1);
	CHECK_STR(run.rec.timings_json, "{\"run_ms\":70}");
	CHECK(run.rec.error_type == NULL);
	CHECK_STR(run.category, "output");
	CHECK_INT(run.attempt, 1);
	CHECK_INT(strlen(run.created_at), 24);
	CHECK(run.created_at[10] == 'T' && run.created_at[23] == 'Z' && run.created_at[19] == '.');
	logdb_run_free(&run);
	CHECK_INT(logdb_get_run(db, id + 100, &run), 0);
	logdb_close(db);
}

TEST(batch_is_all_or_nothing)
{
	const char *path = tmp_path("batch.db");
	struct logdb *db = fresh("batch.db");
	struct run_record r[3];
	int64_t ids[3];
	int att[3];

	if (db == NULL) {
		CHECK(0);
		return;
	}
	rec_init(&r[0], "b", "error");
	rec_init(&r[1], "b", "success");
	rec_init(&r[2], "b", "error");
	CHECK_INT(logdb_insert_batch(db, r, 3, ids, att), 0);
	CHECK_INT(att[2], 3);
	CHECK_INT(ids[1], ids[0] + 1);
	r[1].status = NULL;	/* a bad record: nothing of the batch is written */
	CHECK_INT(logdb_insert_batch(db, r, 3, ids, att), -1);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM runs"), 3);
	/* A failure inside the transaction (a duplicate attempt forced by hand)
	 * rolls every row and aggregate of the batch back. */
	logdb_close(db);
	CHECK_INT(store_exec(path, "UPDATE sessions SET attempts = 1 WHERE session_id = 'b'"), 0);
	db = logdb_open(path, (char[256]){ 0 }, 256);
	if (db == NULL) {
		CHECK(0);
		return;
	}
	rec_init(&r[0], "c", "error");
	rec_init(&r[1], "b", "error");
	CHECK_INT(logdb_insert_batch(db, r, 2, ids, att), -1);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM runs"), 3);
	CHECK_INT(q1(path, "SELECT runs FROM totals"), 3);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM sessions WHERE session_id = 'c'"), 0);
	logdb_close(db);
}

TEST(lessons_kept)
{
	struct logdb *db = fresh("lessons.db");
	struct logdb_lesson l[16];
	struct run_record r;
	size_t n, i;
	int k, found = 0;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	for (k = 0; k < 3; k++) {
		char sid[8];
		snprintf(sid, sizeof(sid), "L%d", k);
		rec_init(&r, sid, "error");
		r.error_type = "ModuleNotFoundError";
		r.error_message = "No module named 'cv'";
		r.code = "import cv\n";
		r.code_len = 10;
		logdb_insert(db, &r, NULL, NULL);
		rec_init(&r, sid, "success");
		r.code = "import cv2\n";
		r.code_len = 11;
		logdb_insert(db, &r, NULL, NULL);
	}
	CHECK_INT(logdb_get_lessons(db, l, 16, &n), 0);
	CHECK_INT(n, 2);
	for (i = 0; i < n; i++) {
		CHECK_INT(l[i].n, 3);
		CHECK_STR(l[i].pattern.pattern, "No module named 'cv'");
		if (strcmp(l[i].change, "+import cv2") == 0 || strcmp(l[i].change, "-import cv") == 0)
			found++;
	}
	CHECK_INT(found, 2);
	logdb_close(db);
}

TEST(session_read)
{
	struct logdb *db = fresh("sess.db");
	struct logdb_run *runs;
	struct run_record r;
	int64_t total;
	size_t n;
	int k;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	for (k = 0; k < 7; k++) {
		rec_init(&r, k % 2 ? "odd" : "even", "error");
		logdb_insert(db, &r, NULL, NULL);
	}
	CHECK_INT(logdb_get_session(db, "even", 0, 3, &runs, &n, &total), 0);
	CHECK_INT(n, 3);
	CHECK_INT(total, 4);
	CHECK_INT(runs[0].attempt, 1);
	CHECK_INT(runs[2].attempt, 3);
	logdb_runs_free(runs, n);
	CHECK_INT(logdb_get_session(db, "none", 0, 3, &runs, &n, &total), 0);
	CHECK_INT(n, 0);
	CHECK_INT(total, 0);
	logdb_runs_free(runs, n);
	logdb_close(db);
}

static int
count_row(const struct logdb_run *run, void *arg)
{
	(void)run;
	(*(int *)arg)++;
	return 0;
}

TEST(foreach_rows)
{
	struct logdb *db = fresh("each.db");
	struct run_record r;
	int k, n = 0;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	for (k = 0; k < 25; k++) {
		rec_init(&r, "e", "success");
		logdb_insert(db, &r, NULL, NULL);
	}
	CHECK_INT(logdb_foreach(db, count_row, &n), 0);
	CHECK_INT(n, 25);
	logdb_close(db);
}


int
main(int argc, char **argv)
{
	log_init("test_logdb");
	if (store_init(argc, argv, "test_logdb") < 0)
		return 2;
	RUN(migrate_from_empty);
	RUN(wal_and_busy_timeout);
	RUN(migrate_from_v1_with_rows);
	RUN(reopen_keeps_data);
	RUN(attempt_numbering);
	RUN(concurrent_writers);
	RUN(fix_marking);
	RUN(paging);
	RUN(aggregates_match_the_rows);
	RUN(readonly_open);
	RUN(paths_named);
	RUN(traceback_fill_in);
	RUN(whole_row_roundtrip);
	RUN(batch_is_all_or_nothing);
	RUN(lessons_kept);
	RUN(session_read);
	RUN(foreach_rows);
	store_done();
	return unit_done(store_pg ? "logdb (PostgreSQL)" : "logdb");
}
