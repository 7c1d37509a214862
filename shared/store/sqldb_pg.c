/*
 * sqldb_pg: the PostgreSQL driver of sqldb, over libpq's asynchronous
 * calls so that every wait has a deadline of our own: a connect at most
 * SQLDB_CONNECT_MS, an answer at most SQLDB_ROUNDTRIP_MS (past it the
 * connection is dropped). The session is set up at each connect:
 * statement_timeout, lock_timeout (the one asked for), a transaction idle
 * for SQLDB_IDLE_TXN_MS ended by the server (a client that vanished inside
 * one must not hold the writers' lock until TCP notices), UTC, and read
 * only for a read-only handle. A statement is prepared on the server at its
 * first run on a connection (again after a reconnect), with the types of
 * its first bindings (bigint, text; NULL left for the server to infer);
 * values go as text and rows come back as text, the whole result at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/pq_load.h"
#include "store/sqldb_driver.h"
#include "store/sqldb_pg.h"
#include "base/text.h"	/* utf8_valid, utf8_sanitize, text_hide_uri_password */

/* libpq's functions through the table pq_load fills (the library is
 * loaded when the first PostgreSQL log is opened). */
#define PQ_CALL(name) (pq_lib.name)
#define PQclear PQ_CALL(PQclear)
#define PQcmdStatus PQ_CALL(PQcmdStatus)
#define PQcmdTuples PQ_CALL(PQcmdTuples)
#define PQconnectPoll PQ_CALL(PQconnectPoll)
#define PQconnectStartParams PQ_CALL(PQconnectStartParams)
#define PQconninfoFree PQ_CALL(PQconninfoFree)
#define PQconninfoParse PQ_CALL(PQconninfoParse)
#define PQconsumeInput PQ_CALL(PQconsumeInput)
#define PQerrorMessage PQ_CALL(PQerrorMessage)
#define PQfinish PQ_CALL(PQfinish)
#define PQflush PQ_CALL(PQflush)
#define PQfreemem PQ_CALL(PQfreemem)
#define PQgetResult PQ_CALL(PQgetResult)
#define PQgetisnull PQ_CALL(PQgetisnull)
#define PQgetlength PQ_CALL(PQgetlength)
#define PQgetvalue PQ_CALL(PQgetvalue)
#define PQisBusy PQ_CALL(PQisBusy)
#define PQnfields PQ_CALL(PQnfields)
#define PQntuples PQ_CALL(PQntuples)
#define PQresultErrorField PQ_CALL(PQresultErrorField)
#define PQresultErrorMessage PQ_CALL(PQresultErrorMessage)
#define PQresultStatus PQ_CALL(PQresultStatus)
#define PQsendPrepare PQ_CALL(PQsendPrepare)
#define PQsendQuery PQ_CALL(PQsendQuery)
#define PQsendQueryPrepared PQ_CALL(PQsendQueryPrepared)
#define PQsetNoticeProcessor PQ_CALL(PQsetNoticeProcessor)
#define PQsocket PQ_CALL(PQsocket)
#define PQstatus PQ_CALL(PQstatus)
#define PQtransactionStatus PQ_CALL(PQtransactionStatus)

#define INT8OID 20
#define TEXTOID 25

struct pg {
	struct sqldb base;
	PGconn *conn;			/* NULL: not connected */
	char *uri;
	int readonly;
	int connect_ms;
	unsigned gen;			/* bumped at each connect: statements re-prepare */
	unsigned names;			/* statements named so far */
	int64_t next_try;		/* no connect before this (monotonic ms) */
	int in_txn;			/* sqldb_begin'd, not ended */
	char why[300];			/* why the last connection failed or broke */
};

struct pg_param {
	enum sqldb_bind kind;
	char num[24];
	char *owned;			/* a copy made for the server, freed at reset */
};

struct pg_stmt {
	struct sqldb_stmt base;
	char *sql;
	char name[24];
	unsigned gen;			/* the connection it is prepared on (0: none) */
	int n;				/* its parameters */
	int typed;			/* types[] fixed (at the first prepare) */
	Oid *types;
	struct pg_param *p;
	const char **values;
	PGresult *res;
	int ran, row, rows;
	int64_t changes;
};

static const struct sqldb_ops pg_ops;
static void pg_rollback(struct sqldb *b);

/* Notices (a COMMIT with nothing to commit, ...) are not errors. */
static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Copies libpq's message into out on one line, trimmed. */
static void
one_line(const char *msg, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; msg != NULL && msg[i] != '\0' && n + 1 < outlen; i++)
		if (msg[i] == '\n' || msg[i] == '\t' || msg[i] == '\r') {
			if (n > 0 && out[n - 1] != ' ')
				out[n++] = ' ';
		} else
			out[n++] = msg[i];
	while (n > 0 && out[n - 1] == ' ')
		n--;
	if (outlen > 0)
		out[n] = '\0';
}

/* Waits until the socket is ready for ev. Returns 1, 0 at the deadline,
 * -1 on error. */
static int
sock_wait(PGconn *c, short ev, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int rc;

	if ((pfd.fd = PQsocket(c)) < 0)
		return -1;
	pfd.events = ev;
	for (;;) {
		if ((left = deadline - clock_mono_ms()) <= 0)
			return 0;
		pfd.revents = 0;
		if ((rc = poll(&pfd, 1, (int)left)) > 0)
			return 1;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Closes the connection, which broke (why). Returns -1 with db's failure. */
static int
drop(struct pg *db, const char *why)
{
	one_line(why, db->why, sizeof(db->why));
	text_hide_uri_password(db->why, sizeof(db->why), db->uri);
	PQfinish(db->conn);
	db->conn = NULL;
	return sqldb_failf(&db->base, SQLDB_CONN, "the connection to the server broke: %s",
	    db->why);
}

/* Returns 1 when r is a result of success. */
static int
result_ok(const PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

/* Waits for the answer to what was sent. Returns its result (the first
 * that failed, else the last; the caller clears it), or NULL when the
 * connection broke or gave no answer in time (then dropped). */
static PGresult *
answer(struct pg *db)
{
	int64_t deadline = clock_mono_ms() + SQLDB_ROUNDTRIP_MS;
	PGresult *r, *keep = NULL;
	int f;

	while ((f = PQflush(db->conn)) == 1)
		if (sock_wait(db->conn, POLLIN | POLLOUT, deadline) <= 0 ||
		    !PQconsumeInput(db->conn))
			goto late;
	if (f < 0)
		goto broke;
	for (;;) {
		while (PQisBusy(db->conn)) {
			if (sock_wait(db->conn, POLLIN, deadline) <= 0)
				goto late;
			if (!PQconsumeInput(db->conn))
				goto broke;
		}
		if ((r = PQgetResult(db->conn)) == NULL)
			break;
		if (keep == NULL || result_ok(keep)) {
			PQclear(keep);
			keep = r;
		} else
			PQclear(r);
	}
	if (PQstatus(db->conn) != CONNECTION_OK)
		goto broke;
	return keep;
late:
	PQclear(keep);
	drop(db, "no answer from the server in time");
	return NULL;
broke:
	PQclear(keep);
	drop(db, PQerrorMessage(db->conn));
	return NULL;
}

/* Sets db's failure from a result that failed. Returns -1. */
static int
result_fail(struct pg *db, const PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	enum sqldb_fail f = SQLDB_OTHER;
	char line[400];

	if (state == NULL)
		state = "";
	if (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "40001") == 0)
		f = SQLDB_BUSY;
	else if (strcmp(state, "57014") == 0)
		f = SQLDB_TIMEOUT;
	else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0)
		f = SQLDB_CONN;
	else if (strncmp(state, "23", 2) == 0)
		f = SQLDB_CONSTRAINT;
	else if (strcmp(state, "3D000") == 0)
		f = SQLDB_MISSING;
	else if (strncmp(state, "53", 2) == 0)
		f = SQLDB_NOMEM;
	one_line(msg ? msg : PQresultErrorMessage(r), line, sizeof(line));
	return sqldb_failf(&db->base, f, "%s%s%s%s", line, state[0] ? " (SQLSTATE " : "",
	    state, state[0] ? ")" : "");
}

/* Runs sql (no parameters) on the connection db has. Returns 0 or -1;
 * *tag, when not NULL, gets the command tag of a success. */
static int
simple(struct pg *db, const char *sql, char *tag, size_t taglen)
{
	PGresult *r;
	int rc = 0;

	if (!PQsendQuery(db->conn, sql))
		return drop(db, PQerrorMessage(db->conn));
	if ((r = answer(db)) == NULL)
		return -1;
	if (!result_ok(r))
		rc = result_fail(db, r);
	else if (tag != NULL)
		snprintf(tag, taglen, "%s", PQcmdStatus(r));
	PQclear(r);
	return rc;
}

/* Sets up a new connection's session. Returns 0 or -1 (dropped). */
static int
session_setup(struct pg *db)
{
	char sql[256];

	PQsetNoticeProcessor(db->conn, quiet, NULL);
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; SET lock_timeout = %d;"
	    " SET idle_in_transaction_session_timeout = %d; SET TIME ZONE 'UTC'%s",
	    SQLDB_STATEMENT_MS, db->base.lock_ms, SQLDB_IDLE_TXN_MS,
	    db->readonly ? "; SET default_transaction_read_only = on" : "");
	if (simple(db, sql, NULL, 0) < 0) {
		if (db->conn != NULL)
			drop(db, db->base.msg);
		return -1;
	}
	return 0;
}

/* Connects, within db->connect_ms. Returns 0, or -1 with db's failure. */
static int
pg_connect(struct pg *db)
{
	static const char *const kw[] = { "dbname", "client_encoding",
		"fallback_application_name", NULL };
	const char *val[] = { db->uri, "UTF8", "imgsandbox", NULL };
	int64_t deadline = clock_mono_ms() + db->connect_ms;
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	PGconn *c;
	int w;

	if ((c = PQconnectStartParams(kw, val, 1)) == NULL)
		return sqldb_failf(&db->base, SQLDB_NOMEM, "out of memory");
	while (PQstatus(c) != CONNECTION_BAD && ps != PGRES_POLLING_OK &&
	    ps != PGRES_POLLING_FAILED) {
		if ((w = sock_wait(c, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
		    deadline)) == 0) {
			PQfinish(c);
			snprintf(db->why, sizeof(db->why), "no answer from the server in %d ms",
			    db->connect_ms);
			return sqldb_failf(&db->base, SQLDB_CONN, "cannot connect: %s", db->why);
		}
		ps = w < 0 ? PGRES_POLLING_FAILED : PQconnectPoll(c);
	}
	if (ps != PGRES_POLLING_OK || PQstatus(c) != CONNECTION_OK) {
		one_line(PQerrorMessage(c), db->why, sizeof(db->why));
		text_hide_uri_password(db->why, sizeof(db->why), db->uri);
		PQfinish(c);
		return sqldb_failf(&db->base, strstr(db->why, "database \"") != NULL &&
		    strstr(db->why, "does not exist") != NULL ? SQLDB_MISSING : SQLDB_CONN,
		    "cannot connect: %s", db->why);
	}
	db->conn = c;
	if (session_setup(db) < 0)
		return -1;
	db->gen++;
	return 0;
}

/* Makes sure db has a connection: the one it has, or a new one (not
 * inside a transaction, and not sooner than SQLDB_RECONNECT_MS after the
 * last try). Returns 0, or -1 with db's failure. */
static int
ready(struct pg *db)
{
	int64_t now;

	if (db->conn != NULL) {
		if (PQstatus(db->conn) == CONNECTION_OK)
			return 0;
		drop(db, PQerrorMessage(db->conn));
	}
	if (db->in_txn)
		return sqldb_failf(&db->base, SQLDB_CONN, "the connection to the server broke "
		    "inside a transaction: %s", db->why);
	now = clock_mono_ms();
	if (now < db->next_try)
		return sqldb_failf(&db->base, SQLDB_CONN, "not connected (%s); next try in %lld ms",
		    db->why, (long long)(db->next_try - now));
	db->next_try = now + SQLDB_RECONNECT_MS;
	return pg_connect(db);
}

/* Reads connect_timeout from the URI into db->connect_ms (SQLDB_CONNECT_MS
 * at most). Returns 0, or -1 with err when the URI cannot be read. */
static int
read_uri(struct pg *db, char *err, size_t errlen)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;
	long v;

	db->connect_ms = SQLDB_CONNECT_MS;
	if ((opts = PQconninfoParse(db->uri, &msg)) == NULL) {
		one_line(msg ? msg : "out of memory", err, errlen);
		PQfreemem(msg);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL &&
		    (v = strtol(o->val, NULL, 10)) > 0 && v * 1000 < db->connect_ms)
			db->connect_ms = (int)(v < 2 ? 2000 : v * 1000);
	PQconninfoFree(opts);
	return 0;
}

struct sqldb *
sqldb_pg_open(const char *uri, int flags, enum sqldb_fail *fail, char *err, size_t errlen)
{
	char safe[300];
	struct pg *db;

	if ((db = calloc(1, sizeof(*db))) == NULL || (db->uri = strdup(uri)) == NULL) {
		free(db);
		*fail = SQLDB_NOMEM;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->base.ops = &pg_ops;
	db->base.dialect = SQLDB_PG;
	db->base.lock_ms = 5000;
	db->readonly = (flags & SQLDB_READONLY) != 0;
	sqldb_safe_target(uri, safe, sizeof(safe));
	*fail = SQLDB_OTHER;
	if (pq_load(err, errlen) < 0 || read_uri(db, err, errlen) < 0)
		goto fail;
	db->next_try = clock_mono_ms() + SQLDB_RECONNECT_MS;
	if (pg_connect(db) < 0) {
		*fail = db->base.fail;
		snprintf(err, errlen, "%s: %s", safe, db->base.msg);
		goto fail;
	}
	*fail = SQLDB_OK;
	return &db->base;
fail:
	/* libpq may quote the URI's parts, its password among them. */
	text_hide_uri_password(err, errlen, uri);
	free(db->uri);
	free(db);
	return NULL;
}

static void
pg_close(struct sqldb *b)
{
	struct pg *db = (struct pg *)b;

	PQfinish(db->conn);
	free(db->uri);
	free(db);
}

static int
pg_exec(struct sqldb *b, const char *sql)
{
	struct pg *db = (struct pg *)b;

	if (ready(db) < 0)
		return -1;
	return simple(db, sql, NULL, 0);
}

/* A writer takes the writers' lock first: every insert changes the one
 * row of totals, so writers were one at a time at that row anyway; taking
 * the lock first makes them queue instead of deadlocking on the rows of
 * the summaries they touch in different orders.
 * A connection the server closed while it sat idle (the server restarted)
 * looks fine until it is used: its BEGIN breaks having done nothing, so
 * it is tried once more on a new connection (else every responder's first
 * row after a restart would be lost). */
static int
pg_begin(struct sqldb *b, enum sqldb_txn kind)
{
	struct pg *db = (struct pg *)b;
	char sql[160];
	int had_conn, tries;

	if (kind == SQLDB_WRITE)
		snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%lld)",
		    (long long)SQLDB_PG_WRITE_LOCK);
	else
		snprintf(sql, sizeof(sql), "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	for (tries = 0; tries < 2; tries++) {
		had_conn = db->conn != NULL;
		if (ready(db) < 0)
			return -1;
		db->in_txn = 1;
		if (simple(db, sql, NULL, 0) == 0)
			return 0;
		pg_rollback(b);
		if (!had_conn || db->conn != NULL)
			break;		/* a new connection, or the server said no */
	}
	return -1;
}

static int
pg_commit(struct sqldb *b)
{
	struct pg *db = (struct pg *)b;
	char tag[32] = "";
	int rc;

	db->in_txn = 0;
	if (db->conn == NULL)
		return sqldb_failf(b, SQLDB_CONN, "the connection to the server broke inside a "
		    "transaction: %s", db->why);
	if ((rc = simple(db, "COMMIT", tag, sizeof(tag))) == 0 && strcmp(tag, "COMMIT") != 0)
		rc = sqldb_failf(b, SQLDB_OTHER, "the transaction was rolled back");
	return rc;
}

static void
pg_rollback(struct sqldb *b)
{
	struct pg *db = (struct pg *)b;
	enum sqldb_fail f = b->fail;
	char msg[sizeof(b->msg)];

	db->in_txn = 0;
	if (db->conn == NULL || PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	memcpy(msg, b->msg, sizeof(msg));
	simple(db, "ROLLBACK", NULL, 0);
	b->fail = f;		/* what failed before stays the failure */
	memcpy(b->msg, msg, sizeof(msg));
}

static int
pg_set_lock_timeout(struct sqldb *b, int ms)
{
	struct pg *db = (struct pg *)b;
	char sql[64];

	if (db->conn == NULL)
		return 0;	/* set at the next connect */
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", ms);
	return simple(db, sql, NULL, 0);
}

/* Returns the highest $n of sql outside quotes. */
static int
count_params(const char *sql)
{
	const char *s;
	char q = 0;
	long v;
	int n = 0;

	for (s = sql; *s != '\0'; s++) {
		if (q != 0) {
			if (*s == q)
				q = 0;
		} else if (*s == '\'' || *s == '"')
			q = *s;
		else if (*s == '$' && s[1] >= '0' && s[1] <= '9') {
			v = strtol(s + 1, NULL, 10);
			if (v > n && v < 10000)
				n = (int)v;
		}
	}
	return n;
}

static struct sqldb_stmt *
pg_prepare(struct sqldb *b, const char *sql)
{
	struct pg *db = (struct pg *)b;
	struct pg_stmt *st;

	if ((st = calloc(1, sizeof(*st))) == NULL || (st->sql = strdup(sql)) == NULL)
		goto oom;
	st->base.db = b;
	st->n = count_params(sql);
	if (st->n > 0 && ((st->types = calloc((size_t)st->n, sizeof(*st->types))) == NULL ||
	    (st->p = calloc((size_t)st->n, sizeof(*st->p))) == NULL ||
	    (st->values = calloc((size_t)st->n, sizeof(*st->values))) == NULL))
		goto oom;
	snprintf(st->name, sizeof(st->name), "sqldb_%u", ++db->names);
	return &st->base;
oom:
	if (st != NULL) {
		free(st->sql);
		free(st->types);
		free(st->p);
		free(st);
	}
	sqldb_failf(b, SQLDB_NOMEM, "out of memory");
	return NULL;
}

static void
pg_reset(struct sqldb_stmt *b)
{
	struct pg_stmt *st = (struct pg_stmt *)b;
	int i;

	PQclear(st->res);
	st->res = NULL;
	st->ran = st->row = st->rows = 0;
	for (i = 0; i < st->n; i++) {
		free(st->p[i].owned);
		st->p[i].owned = NULL;
		st->p[i].kind = SQLDB_B_NULL;
		st->values[i] = NULL;
	}
}

static void
pg_finalize(struct sqldb_stmt *b)
{
	struct pg_stmt *st = (struct pg_stmt *)b;

	pg_reset(b);
	free(st->sql);
	free(st->types);
	free(st->p);
	free(st->values);
	free(st);
}

/* Text goes as it is when the server takes it (UTF-8, no NUL, ending at
 * s[len]); else as a copy, sanitized when it must be. */
static void
pg_bind(struct sqldb_stmt *b, int i, enum sqldb_bind kind, int64_t v, const char *s,
    size_t len)
{
	struct pg_stmt *st = (struct pg_stmt *)b;
	struct pg_param *p;
	int clean;

	if (i < 1 || i > st->n)
		return;
	p = &st->p[i - 1];
	free(p->owned);
	p->owned = NULL;
	p->kind = kind;
	st->values[i - 1] = NULL;
	if (kind == SQLDB_B_INT) {
		snprintf(p->num, sizeof(p->num), "%lld", (long long)v);
		st->values[i - 1] = p->num;
	} else if (kind == SQLDB_B_TEXT || kind == SQLDB_B_TEXTN) {
		clean = utf8_valid(s, len) && memchr(s, '\0', len) == NULL;
		if (clean && kind == SQLDB_B_TEXT)
			st->values[i - 1] = s;
		else if (clean && (p->owned = malloc(len + 1)) != NULL) {
			memcpy(p->owned, s, len);
			p->owned[len] = '\0';
		} else if (!clean)
			p->owned = utf8_sanitize(s, len);
		if (p->owned != NULL)
			st->values[i - 1] = p->owned;
		else if (st->values[i - 1] == NULL)
			p->kind = -1;	/* out of memory: step fails */
	}
}

/* Prepares st on db's connection, with the types of its bindings when
 * they are not fixed yet. Returns 0 or -1. */
static int
server_prepare(struct pg *db, struct pg_stmt *st)
{
	PGresult *r;
	int i, rc = 0;

	if (!st->typed) {
		for (i = 0; i < st->n; i++)
			st->types[i] = st->p[i].kind == SQLDB_B_INT ? INT8OID :
			    st->p[i].kind == SQLDB_B_NULL ? 0 : TEXTOID;
		st->typed = 1;
	}
	if (!PQsendPrepare(db->conn, st->name, st->sql, st->n, st->types))
		return drop(db, PQerrorMessage(db->conn));
	if ((r = answer(db)) == NULL)
		return -1;
	if (!result_ok(r))
		rc = result_fail(db, r);
	else
		st->gen = db->gen;
	PQclear(r);
	return rc;
}

/* Runs st and keeps its result. Returns 0 or -1. */
static int
run(struct pg *db, struct pg_stmt *st)
{
	int i;

	for (i = 0; i < st->n; i++)
		if ((int)st->p[i].kind < 0)
			return sqldb_failf(&db->base, SQLDB_NOMEM, "out of memory");
	if (ready(db) < 0 || (st->gen != db->gen && server_prepare(db, st) < 0))
		return -1;
	if (!PQsendQueryPrepared(db->conn, st->name, st->n, st->values, NULL, NULL, 0))
		return drop(db, PQerrorMessage(db->conn));
	if ((st->res = answer(db)) == NULL)
		return -1;
	if (!result_ok(st->res)) {
		result_fail(db, st->res);
		PQclear(st->res);
		st->res = NULL;
		return -1;
	}
	st->ran = 1;
	st->row = 0;
	st->rows = PQresultStatus(st->res) == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
	st->changes = strtoll(PQcmdTuples(st->res), NULL, 10);
	return 0;
}

static int
pg_step(struct sqldb_stmt *b)
{
	struct pg_stmt *st = (struct pg_stmt *)b;

	if (!st->ran) {
		if (run((struct pg *)b->db, st) < 0)
			return -1;
	} else if (st->row < st->rows)
		st->row++;
	return st->row < st->rows ? SQLDB_ROW : SQLDB_DONE;
}

static int64_t
pg_changes(struct sqldb_stmt *b)
{
	return ((struct pg_stmt *)b)->changes;
}

/* Returns 1 when (row, i) is a cell of st's result. */
static int
cell(struct pg_stmt *st, int i)
{
	return st->res != NULL && st->row < st->rows && i >= 0 && i < PQnfields(st->res);
}

static int
pg_column_count(struct sqldb_stmt *b)
{
	struct pg_stmt *st = (struct pg_stmt *)b;

	return st->res != NULL ? PQnfields(st->res) : 0;
}

static int
pg_column_null(struct sqldb_stmt *b, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)b;

	return !cell(st, i) || PQgetisnull(st->res, st->row, i);
}

static const char *
pg_column_text(struct sqldb_stmt *b, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)b;

	if (pg_column_null(b, i))
		return NULL;
	return PQgetvalue(st->res, st->row, i);
}

static size_t
pg_column_bytes(struct sqldb_stmt *b, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)b;

	return pg_column_null(b, i) ? 0 : (size_t)PQgetlength(st->res, st->row, i);
}

static int64_t
pg_column_int64(struct sqldb_stmt *b, int i)
{
	const char *v = pg_column_text(b, i);

	return v == NULL ? 0 : strtoll(v, NULL, 10);
}

static const struct sqldb_ops pg_ops = {
	.close = pg_close, .exec = pg_exec, .begin = pg_begin, .commit = pg_commit,
	.rollback = pg_rollback, .set_lock_timeout = pg_set_lock_timeout,
	.prepare = pg_prepare, .finalize = pg_finalize, .reset = pg_reset,
	.bind = pg_bind, .step = pg_step, .changes = pg_changes,
	.column_count = pg_column_count, .column_null = pg_column_null, .column_text = pg_column_text,
	.column_bytes = pg_column_bytes, .column_int64 = pg_column_int64,
};
