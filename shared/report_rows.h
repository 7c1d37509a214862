/*
 * report_rows: the reports over rows of the log, as cJSON documents: one
 * row as the API shows it, a page of rows, a session's attempts with what
 * changed between them and the fixes, one whole attempt, and the export of
 * every row. They read the store (logdb.h) and diff code (codediff.h).
 */
#ifndef REPORT_ROWS_H
#define REPORT_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "logdb.h"
#include "report_base.h"

#define REPORT_SESSION_MAX 500	/* attempts shown of one session */

/* One row as the API shows it (whole: with streams, params and timings).
 * Returns a new object the caller frees with cJSON_Delete(), or NULL when
 * memory ran out. */
cJSON *report_run_json(const struct logdb_run *run, int whole);

/* GET /api/logs/failures (f = LOGDB_FAILURES or LOGDB_UNFIXED) and
 * /api/logs/successes: up to limit rows, newest first, ids below before
 * (0: all). Returns a new document for cJSON_Delete(), or NULL with *st. */
cJSON *report_page(struct logdb *db, enum logdb_filter f, int64_t before, int limit,
    enum report_status *st);

/* GET /api/logs/session/<id>: attempts in order, what changed between
 * them, the fixes and what they changed. Returns a new document for
 * cJSON_Delete(), or NULL with *st (REPORT_NOT_FOUND: no such session, or
 * session_id breaks the session-id rule). */
cJSON *report_session(struct logdb *db, const char *session_id, enum report_status *st);

/* GET /api/logs/log/<id>: one attempt, whole. Returns a new document for
 * cJSON_Delete(), or NULL with *st (REPORT_NOT_FOUND: no such id). */
cJSON *report_log(struct logdb *db, int64_t id, enum report_status *st);

/* Writes every row as the JSON of report_run_json(whole), one per line, or
 * as one array (as_array), to fp, and flushes it. Returns 0, or -1 (a write
 * error, or the log could not be read: logged). */
int report_export(struct logdb *db, FILE *fp, int as_array);

#endif
