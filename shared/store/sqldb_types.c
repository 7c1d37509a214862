/*
 * sqldb_types: which kind of database a target names, and how it is
 * printed (see sqldb_types.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "store/sqldb_types.h"

int
sqldb_is_pg(const char *target)
{
	return target != NULL && (strncasecmp(target, "postgresql://", 13) == 0 ||
	    strncasecmp(target, "postgres://", 11) == 0);
}

/* A URI's password: see uri_hide_password (shared/base/text.h). */
char *
sqldb_safe_target(const char *target, char *out, size_t outlen)
{
	if (!sqldb_is_pg(target)) {
		if (outlen > 0)
			snprintf(out, outlen, "%s", target ? target : "");
		return out;
	}
	return uri_hide_password(target, out, outlen);
}
