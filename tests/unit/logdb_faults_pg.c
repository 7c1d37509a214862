/*
 * logdb_faults_pg: the store on a PostgreSQL server that comes and goes,
 * and under many writers at once. Needs a server of its own, which it
 * stops and starts (tests/integration/pg.sh), so it is not one of the
 * unit programs: tests/integration/test_pg_store.py runs it.
 *
 *   logdb_faults_pg BASE_URI PG_DIR
 *     BASE_URI  postgresql://user@host:port/ (a database per test is made)
 *     PG_DIR    the server's folder, for pg.sh stop and start
 *
 * Checks: N processes x M inserts at once into the same sessions leave
 * totals equal to the rows and attempts 1..k in every session; a server
 * that goes away makes inserts and reads fail (-1) within the driver's
 * bounds, an open fail as "unreachable", and the same handle writes again
 * (its attempts going on) once the server is back; a server that takes
 * the connection but never answers fails an open within the connect
 * bound, and one whose process stops answering a statement within the
 * round trip's; a writer that vanished inside its transaction holds the
 * others up until the server ends it (SQLDB_IDLE_TXN_MS), not for ever.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/logdb.h"
#include "store/sqldb.h"

#include "store.h"
#include "unit.h"

static const char *pg_dir;
static char pg_sh[600];

/* Runs pg.sh CMD on the server. Returns its exit status. */
static int
server(const char *cmd)
{
	char line[1400];

	snprintf(line, sizeof(line), "'%s' %s '%s' >/dev/null", pg_sh, cmd, pg_dir);
	return system(line);
}

static void
rec(struct run_record *r, const char *sid, const char *status)
{
	record_init(r);
	r->session_id = sid;
	r->status = status;
	r->http_status = 200;
	r->exit_code = strcmp(status, "success") == 0 ? 0 : 1;
	r->duration_ms = 120;
	r->ai_model = "m";
	if (strcmp(status, "error") == 0) {
		r->error_type = "KeyError";
		r->error_message = "'w'";
	}
}

#define WRITERS 16
#define ROWS 150
#define SESSIONS 24

TEST(many_writers_at_once)
{
	const char *path = store_wipe("writers");
	struct logdb_totals t;
	struct logdb *db;
	pid_t pid[WRITERS];
	char err[256];
	int i, status, ok = 1;

	if ((db = logdb_open(path, err, sizeof(err))) == NULL) {	/* the schema, once */
		fprintf(stderr, "%s\n", err);
		CHECK(0);
		return;
	}
	logdb_close(db);
	for (i = 0; i < WRITERS; i++)
		if ((pid[i] = fork()) == 0) {
			struct run_record r;
			char sid[16];
			struct logdb *c = logdb_open(path, err, sizeof(err));
			int k, bad = c == NULL;
			for (k = 0; k < ROWS && !bad; k++) {
				snprintf(sid, sizeof(sid), "w-%d", (k * 7 + i) % SESSIONS);
				rec(&r, sid, (k + i) % 3 == 0 ? "success" : "error");
				bad = logdb_insert(c, &r, NULL, NULL) < 0;
			}
			logdb_close(c);
			_exit(bad);
		}
	for (i = 0; i < WRITERS; i++)
		if (pid[i] < 0 || waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			ok = 0;
	CHECK(ok);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM runs"), WRITERS * ROWS);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM (SELECT session_id FROM runs GROUP BY session_id"
	    " HAVING COUNT(*) <> MAX(attempt) OR COUNT(DISTINCT attempt) <> COUNT(*)"
	    " OR MIN(attempt) <> 1) AS bad"), 0);
	CHECK_INT(q1(path, "SELECT SUM(attempts) FROM sessions"), WRITERS * ROWS);
	CHECK_INT(q1(path, "SELECT COUNT(*) FROM sessions"), SESSIONS);
	if ((db = logdb_open_readonly(path, &(enum logdb_open_error){ 0 }, err, sizeof(err))) ==
	    NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.runs, WRITERS * ROWS);
	CHECK_INT(t.failures, q1(path, "SELECT COUNT(*) FROM runs WHERE status <> 'success'"));
	CHECK_INT(t.fixed, q1(path, "SELECT COUNT(*) FROM runs WHERE fixed_by IS NOT NULL"));
	CHECK_INT(t.sessions, SESSIONS);
	CHECK_INT(t.sessions_unfixed, q1(path, "SELECT COUNT(DISTINCT session_id) FROM runs"
	    " WHERE status <> 'success' AND fixed_by IS NULL"));
	CHECK_INT(q1(path, "SELECT n FROM counts WHERE kind = 'model' AND key = 'm'"),
	    WRITERS * ROWS);
	CHECK_INT(q1(path, "SELECT runs FROM model_stats WHERE model = 'm'"), WRITERS * ROWS);
	logdb_close(db);
}

/* The bound of one failed call: an answer that never came, then a connect
 * that never finished (the driver's own deadlines), and a second. */
#define BOUND_MS (SQLDB_ROUNDTRIP_MS + SQLDB_CONNECT_MS + 1000)

TEST(server_goes_away_and_comes_back)
{
	const char *path = store_wipe("away");
	enum logdb_open_error why;
	struct logdb_totals t;
	struct logdb_state s;
	struct run_record r;
	struct logdb *db, *db2;
	int64_t t0, ms;
	char err[512];
	int attempt = 0, tries;

	if ((db = logdb_open(path, err, sizeof(err))) == NULL) {
		CHECK(0);
		return;
	}
	rec(&r, "away", "error");
	CHECK_INT(logdb_insert(db, &r, NULL, &attempt), 0);
	CHECK_INT(attempt, 1);
	CHECK_INT(server("stop"), 0);
	/* Down: the insert fails, within the bounds, and so does a read. */
	t0 = clock_mono_ms();
	CHECK_INT(logdb_insert(db, &r, NULL, NULL), -1);
	ms = clock_mono_ms() - t0;
	printf("  insert with the server down: -1 in %lld ms\n", (long long)ms);
	CHECK(ms < BOUND_MS);
	t0 = clock_mono_ms();
	CHECK_INT(logdb_insert(db, &r, NULL, NULL), -1);	/* not tried again yet */
	printf("  the next insert: -1 in %lld ms\n", (long long)(clock_mono_ms() - t0));
	CHECK_INT(logdb_get_totals(db, &t), -1);
	logdb_get_state(db, &s);
	CHECK_INT(s.insert_failures, 2);
	CHECK_INT(s.unreachable, 1);
	CHECK_INT(s.unreachable_failures, 2);
	CHECK_INT(s.busy_failures, 0);
	/* An open says why, within the connect bound. */
	t0 = clock_mono_ms();
	CHECK((db2 = logdb_open_why(path, &why, err, sizeof(err))) == NULL);
	logdb_close(db2);
	ms = clock_mono_ms() - t0;
	printf("  open with the server down: %s in %lld ms (%s)\n", logdb_open_error_name(why),
	    (long long)ms, err);
	CHECK_INT(why, LOGDB_UNREACHABLE);
	CHECK(ms < SQLDB_CONNECT_MS + 1000);
	/* Back: the same handle reconnects on a later call and goes on. */
	CHECK_INT(server("start"), 0);
	for (tries = 0; tries < 50; tries++) {
		if (logdb_insert(db, &r, NULL, &attempt) == 0)
			break;
		usleep(200 * 1000);
	}
	printf("  written again after %d tries\n", tries + 1);
	CHECK(tries < 50);
	CHECK_INT(attempt, 2);
	CHECK_INT(logdb_get_totals(db, &t), 0);
	CHECK_INT(t.runs, 2);
	logdb_get_state(db, &s);
	CHECK_INT(s.breaker, 0);
	CHECK_INT(s.unreachable, 0);
	/* Killed mid-life (no clean shutdown) and back: the same again. */
	CHECK_INT(server("kill"), 0);
	CHECK_INT(logdb_insert(db, &r, NULL, NULL), -1);
	CHECK_INT(server("start"), 0);
	for (tries = 0; tries < 50 && logdb_insert(db, &r, NULL, &attempt) < 0; tries++)
		usleep(200 * 1000);
	CHECK_INT(attempt, 3);
	logdb_close(db);
}

TEST(server_that_never_answers)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	enum logdb_open_error why;
	struct logdb *db;
	char uri[128], err[512];
	int64_t t0, ms;
	int fd;

	/* A listener nobody accepts on: the connection is made (the kernel's
	 * backlog), the server's answer never comes. */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(fd, (void *)&a, sizeof(a)) < 0 ||
	    listen(fd, 8) < 0 || getsockname(fd, (void *)&a, &alen) < 0) {
		CHECK(0);
		return;
	}
	snprintf(uri, sizeof(uri), "postgresql://postgres@127.0.0.1:%d/x", ntohs(a.sin_port));
	t0 = clock_mono_ms();
	CHECK((db = logdb_open_why(uri, &why, err, sizeof(err))) == NULL);
	ms = clock_mono_ms() - t0;
	printf("  open of a server that never answers: %s in %lld ms (%s)\n",
	    logdb_open_error_name(why), (long long)ms, err);
	CHECK_INT(why, LOGDB_UNREACHABLE);
	CHECK(ms >= SQLDB_CONNECT_MS - 100 && ms < SQLDB_CONNECT_MS + 1000);
	logdb_close(db);
	close(fd);
}

TEST(backend_that_stops_answering)
{
	const char *path = store_wipe("stopped");
	struct sqldb_stmt *st;
	enum sqldb_fail f;
	struct sqldb *s;
	char err[512];
	int64_t pid = 0, t0, ms;

	if ((s = sqldb_open(path, 0, &f, err, sizeof(err))) == NULL) {
		CHECK(0);
		return;
	}
	if ((st = sqldb_prepare(s, "SELECT pg_backend_pid()")) != NULL &&
	    sqldb_step(st) == SQLDB_ROW)
		pid = sqldb_column_int64(st, 0);
	sqldb_finalize(st);
	CHECK(pid > 0);
	/* The server process of this connection stopped (as a host that
	 * vanished from the network would be): no answer, ever. */
	if (pid <= 0 || kill((pid_t)pid, SIGSTOP) < 0) {
		CHECK(0);
		sqldb_close(s);
		return;
	}
	t0 = clock_mono_ms();
	CHECK_INT(sqldb_exec(s, "SELECT 1"), -1);
	ms = clock_mono_ms() - t0;
	printf("  a statement to a stopped server process: -1 in %lld ms (%s)\n", (long long)ms,
	    sqldb_errmsg(s));
	CHECK_INT(sqldb_last_fail(s), SQLDB_CONN);
	CHECK(ms >= SQLDB_ROUNDTRIP_MS - 100 && ms < SQLDB_ROUNDTRIP_MS + 1000);
	kill((pid_t)pid, SIGCONT);
	/* A new connection, on a later call. */
	usleep((SQLDB_RECONNECT_MS + 100) * 1000);
	CHECK_INT(sqldb_exec(s, "SELECT 1"), 0);
	sqldb_close(s);
}

TEST(writer_that_vanished_inside_its_transaction)
{
	const char *path = store_wipe("vanished");
	struct logdb_state st;
	struct run_record r;
	struct logdb *db;
	int ready[2], tries, status;
	char c = 0, err[512];
	pid_t pid;

	if ((db = logdb_open(path, err, sizeof(err))) == NULL || pipe(ready) < 0) {
		CHECK(0);
		logdb_close(db);
		return;
	}
	/* A writer takes the writers' lock and then never says a word again
	 * (its host gone, its connection still open). */
	if ((pid = fork()) == 0) {
		enum sqldb_fail f;
		struct sqldb *s = sqldb_open(path, 0, &f, err, sizeof(err));
		int ok = s != NULL && sqldb_begin(s, SQLDB_WRITE) == 0;
		if (write(ready[1], ok ? "y" : "n", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	CHECK(pid > 0 && read(ready[0], &c, 1) == 1 && c == 'y');
	rec(&r, "vanished", "error");
	CHECK_INT(logdb_insert(db, &r, NULL, NULL), -1);	/* busy: the breaker trips */
	logdb_get_state(db, &st);
	CHECK_INT(st.busy_failures, 1);
	CHECK_INT(st.breaker, 1);
	/* The server ends the idle transaction; writes go on. */
	for (tries = 0; tries < 40 && logdb_insert(db, &r, NULL, NULL) < 0; tries++)
		sleep(1);
	printf("  written again after %d tries a second apart\n", tries + 1);
	CHECK(tries < 40);
	logdb_get_state(db, &st);
	CHECK_INT(st.breaker, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(ready[0]);
	close(ready[1]);
	logdb_close(db);
}

int
main(int argc, char **argv)
{
	const char *slash;

	log_init("logdb_faults_pg");
	if (argc != 3 || store_init(2, argv, "logdb_faults_pg") < 0) {
		fprintf(stderr, "usage: logdb_faults_pg postgresql://user@host:port/ PG_DIR\n");
		return 2;
	}
	pg_dir = argv[2];
	/* pg.sh: beside the tests, found from this program's source tree. */
	slash = getenv("PG_SH");
	snprintf(pg_sh, sizeof(pg_sh), "%s", slash ? slash : "tests/integration/pg.sh");
	RUN(many_writers_at_once);
	RUN(server_goes_away_and_comes_back);
	RUN(server_that_never_answers);
	RUN(backend_that_stops_answering);
	RUN(writer_that_vanished_inside_its_transaction);
	store_done();
	return unit_done("logdb_faults_pg");
}
