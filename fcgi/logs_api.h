/*
 * logs_api: GET /api/logs/... (see API.md), read-only JSON (and the plain
 * text AI context) made by the reports of shared/reports/report_table.h from the
 * execution log.
 */
#ifndef LOGS_API_H
#define LOGS_API_H

#include <fcgiapp.h>

#include "store/logdb.h"
#include "reports/report_base.h"

/* The limits' old name, until fcgi/responder.c says struct report_limits. */

/* Sets the sandbox limits the recommendations and the AI context quote
 * (cfg.timeout_ms, cfg.memory_bytes, cfg.output_bytes), and loads the
 * allow-list of names they may say (cfg.allowlist_file; unreadable: they
 * name no error type and no change, and a warning says why). Call once at
 * start-up, before any thread serves requests; until then the texts speak
 * of "the time limit" without numbers. */
void logs_api_set_limits(const struct report_limits *limits);

/* The allow-list logs_api_set_limits() loaded, for whatever else puts the
 * log's lessons in front of a model (the assistant's prompt): pass it as
 * struct report_env's allow. Read-only; lives as long as the process. */
const struct allowlist *logs_api_allowlist(void);

/* Serves GET /api/logs/<rest>; rest is the path after "/api/logs/" (no
 * query string), query is QUERY_STRING (may be ""). packages_file is the
 * runner image's package list. Always writes a whole response (404
 * {"error":{"code":"not_found",...}} for an unknown path/session/log, 400
 * bad_request for bad query values, 405 for a method other than GET/HEAD).
 * Returns 0, or -1 if the client went away. */
int logs_api_handle(FCGX_Request *r, struct logdb *db, const char *method, const char *rest,
    const char *query, const char *packages_file);

#endif
