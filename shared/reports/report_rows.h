/*
 * report_rows: the reports over rows of the log, as cJSON documents: one
 * row as the API shows it, a page of rows, a session's attempts with what
 * changed between them and the fixes, one whole attempt, and the export of
 * every row. They read the store (logdb.h) and diff code (codediff.h).
 *
 * A row in a list (a page, a session) carries excerpts: "code_excerpt"
 * (the first LOGDB_EXCERPT_CODE bytes; "code_truncated" when the code was
 * longer), "code_sha256" and "code_bytes" (the code as sent),
 * "stdout_excerpt" and "stderr_excerpt" (the head of stdout, the tail of
 * stderr, LOGDB_EXCERPT_STREAM bytes each), and a message, traceback,
 * prompt or params cut to LOGDB_EXCERPT_TEXT ("…" where cut). GET
 * log/<id> alone gives "code", "stdout" and "stderr" whole. A list that
 * would pass REPORT_ANSWER_MAX is cut short: "cut": true, and where the
 * next part starts ("next_before", "next_after").
 */
#ifndef REPORT_ROWS_H
#define REPORT_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "store/logdb.h"
#include "reports/report_base.h"

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

/* GET /api/logs/session/<id>?after=N: the attempts after attempt N (0:
 * from the first) in order, at most REPORT_SESSION_MAX, what changed
 * between them, the fixes and what they changed. Returns a new document
 * for cJSON_Delete(), or NULL with *st (REPORT_NOT_FOUND: no such session
 * or no attempt after N, or session_id breaks the session-id rule). */
cJSON *report_session(struct logdb *db, const char *session_id, int64_t after,
    enum report_status *st);

/* GET /api/logs/log/<id>: one attempt, whole. Returns a new document for
 * cJSON_Delete(), or NULL with *st (REPORT_NOT_FOUND: no such id). */
cJSON *report_log(struct logdb *db, int64_t id, enum report_status *st);

/* Writes every row as the JSON of report_run_json(whole), one per line, or
 * as one array (as_array), to fp, and flushes it. Returns 0, or -1 (a write
 * error, or the log could not be read: logged). */
int report_export(struct logdb *db, FILE *fp, int as_array);

#endif
