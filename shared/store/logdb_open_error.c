/*
 * logdb_open_error: why a log could not be opened, in the store's words,
 * from the driver's failure. Below the opening and both schemas' files,
 * which all say why through it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/logdb_internal.h"

const char *
logdb_open_error_name(enum logdb_open_error why)
{
	static const char *const names[] = { [LOGDB_OK] = "ok", [LOGDB_MISSING] = "missing",
		[LOGDB_OLDER] = "older", [LOGDB_NEWER] = "newer", [LOGDB_CORRUPT] = "corrupt",
		[LOGDB_LOCKED] = "locked", [LOGDB_FAILED] = "failed",
		[LOGDB_UNREACHABLE] = "unreachable" };

	if ((unsigned)why >= sizeof(names) / sizeof(names[0]))
		return "failed";
	return names[why];
}

enum logdb_open_error
logdb_open_error_of(enum sqldb_fail f, const char *path)
{
	char dir[512];
	struct stat sb;
	char *slash;

	switch (f) {
	case SQLDB_CORRUPT:
		return LOGDB_CORRUPT;
	case SQLDB_BUSY:
	case SQLDB_TIMEOUT:
		return LOGDB_LOCKED;
	case SQLDB_CONN:
		return LOGDB_UNREACHABLE;
	case SQLDB_MISSING:
		if (sqldb_is_pg(path))
			return LOGDB_MISSING;
		/* An SQLite file that cannot be opened is missing when its
		 * folder is. */
		snprintf(dir, sizeof(dir), "%s", path);
		if ((slash = strrchr(dir, '/')) == NULL)
			return LOGDB_FAILED;
		*slash = '\0';
		if (dir[0] != '\0' && stat(dir, &sb) < 0 && errno == ENOENT)
			return LOGDB_MISSING;
		return LOGDB_FAILED;
	default:
		return LOGDB_FAILED;
	}
}
