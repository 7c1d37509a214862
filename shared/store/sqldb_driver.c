/*
 * sqldb_driver: the helpers the drivers share (see sqldb_driver.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "store/sqldb_driver.h"

int
sqldb_failf(struct sqldb *db, enum sqldb_fail fail, const char *fmt, ...)
{
	va_list ap;

	db->fail = fail;
	va_start(ap, fmt);
	vsnprintf(db->msg, sizeof(db->msg), fmt, ap);
	va_end(ap);
	return -1;
}
