/*
 * sqldb_sqlite: the SQLite driver. sqldb_open calls its open; the
 * rest is reached through its table of operations (sqldb_driver.h).
 */
#ifndef SQLDB_SQLITE_H
#define SQLDB_SQLITE_H

#include "store/sqldb_types.h"

/* Opens a connection (see sqldb_open). Returns it, or NULL with *fail and
 * a message in err. */
struct sqldb *sqldb_sqlite_open(const char *path, int flags, enum sqldb_fail *fail,
    char *err, size_t errlen);

#endif
