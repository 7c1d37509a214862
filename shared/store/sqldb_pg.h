/*
 * sqldb_pg: the PostgreSQL driver (libpq, loaded by pq_load on first use). sqldb_open calls its open; the
 * rest is reached through its table of operations (sqldb_driver.h).
 */
#ifndef SQLDB_PG_H
#define SQLDB_PG_H

#include "store/sqldb_types.h"

/* Opens a connection (see sqldb_open). Returns it, or NULL with *fail and
 * a message in err. */
struct sqldb *sqldb_pg_open(const char *uri, int flags, enum sqldb_fail *fail, char *err,
    size_t errlen);

#endif
