/*
 * reports: the reports over the log's aggregates, as cJSON documents: the
 * summary, the error patterns, the whole analysis, the per-model figures,
 * and the command-line tool's "all". They read the store (logdb.h) and the advice (advice.h);
 * report_table.h names them for the API and the tool.
 *
 * Each returns a new document the caller frees with cJSON_Delete(), or
 * NULL with *st set (REPORT_FAILED: the cause is logged).
 */
#ifndef REPORTS_H
#define REPORTS_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "store/logdb.h"
#include "reports/report_base.h"

#define REPORT_TREND_DAYS 30	/* days of the analysis's trend */

/* GET /api/logs/summary: totals, outcomes, fixes, sessions, durations. */
cJSON *report_summary(struct logdb *db, enum report_status *st);

/* GET /api/logs/error-patterns: categories with fix rates, the limit most
 * frequent patterns. */
cJSON *report_error_patterns(struct logdb *db, int limit, enum report_status *st);

/* GET /api/logs/analysis: summary, categories, patterns (limit), lessons,
 * recommendations, trend by day, models; one snapshot of the log. */
cJSON *report_analysis(struct logdb *db, const struct report_env *env, int limit,
    enum report_status *st);

/* GET /api/logs/models: per ai_model (runs with one only; the limit most
 * used), runs, failures and how many were fixed later in their session, the
 * sessions it started (their first attempt had it), how many of those
 * succeeded at once and in how many attempts the others did (mean and
 * median), and the same split by ai_lessons ("with", "without",
 * "unknown"). */
cJSON *report_models(struct logdb *db, int limit, enum report_status *st);

/* The tool's "all": {"analysis": <analysis>, "unfixed": <the page of
 * unfixed failures below before>}. */
cJSON *report_all(struct logdb *db, const struct report_env *env, int limit, int64_t before,
    enum report_status *st);

#endif
