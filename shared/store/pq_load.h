/*
 * pq_load: libpq, loaded when a log in PostgreSQL is first opened
 * (dlopen), not linked: libpq brings OpenSSL, GnuTLS, Kerberos and LDAP
 * with it, several MiB in every responder, which a service logging to
 * SQLite (the default) never uses. sqldb_pg.c calls libpq's functions
 * through the table below under their own names (its PQ_FUNC macros).
 */
#ifndef PQ_LOAD_H
#define PQ_LOAD_H

#include <stddef.h>

#include <libpq-fe.h>

/* The functions of libpq that sqldb_pg uses: X(name). */
#define PQ_FUNCS(X) \
	X(PQclear) X(PQcmdStatus) X(PQcmdTuples) X(PQconnectPoll) \
	X(PQconnectStartParams) X(PQconninfoFree) X(PQconninfoParse) \
	X(PQconsumeInput) X(PQerrorMessage) X(PQfinish) X(PQflush) X(PQfreemem) \
	X(PQgetResult) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) X(PQisBusy) \
	X(PQnfields) X(PQntuples) X(PQresultErrorField) X(PQresultErrorMessage) \
	X(PQresultStatus) X(PQsendPrepare) X(PQsendQuery) X(PQsendQueryPrepared) \
	X(PQsetNoticeProcessor) X(PQsocket) X(PQstatus) X(PQtransactionStatus)

#define PQ_SLOT(name) __typeof__(&name) name;
struct pq_lib {
	PQ_FUNCS(PQ_SLOT)
};
#undef PQ_SLOT

extern struct pq_lib pq_lib;

/* Loads libpq.so.5 once (thread-safe) and fills pq_lib. Returns 0, or -1
 * with why in err (the library or one of its functions missing). */
int pq_load(char *err, size_t errlen);

#endif
