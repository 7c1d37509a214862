/*
 * report_table: the one table of the execution log's reports. Each row
 * says where the API serves a report (GET /api/logs/<api>), which command
 * of analyze_logs prints it, the values it takes (limit, before,
 * unfixed_only, an id), and the function that makes it: a cJSON document,
 * a plain text (the AI context), or a stream of rows (the export).
 * fcgi/logs_api.c and fcgi/analyze_logs.c both dispatch through it, and
 * read and check the values through it: adding a report is one row.
 */
#ifndef REPORT_TABLE_H
#define REPORT_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "store/logdb.h"
#include "reports/report_base.h"

/* The rows, by name (the tool keeps its table printers by these). */
enum report_id {
	REPORT_SUMMARY, REPORT_ANALYSIS, REPORT_ERRORS, REPORT_RECOMMENDATIONS,
	REPORT_MODELS, REPORT_UNFIXED, REPORT_FAILURES, REPORT_SUCCESSES, REPORT_SESSION,
	REPORT_LOG, REPORT_CONTEXT, REPORT_EXPORT, REPORT_ALL,
	REPORT_COUNT
};

/* The query values a report reads (others are ignored). */
#define RQ_LIMIT	0x1	/* limit=1..REPORT_LIMIT_MAX (default REPORT_LIMIT_DEFAULT) */
#define RQ_BEFORE	0x2	/* before=<log id> */
#define RQ_UNFIXED	0x4	/* unfixed_only=true|false */
#define RQ_AFTER	0x8	/* after=<attempt> (a session's attempts after it) */

/* What a report is about, when it is about one thing: the API takes it as
 * the path's last segment, the tool as the command's argument. */
enum report_arg {
	RA_NONE,
	RA_SESSION,	/* a session id */
	RA_LOG,		/* a log id */
	RA_FILE		/* the tool's export: an optional file ("-": stdout) */
};

/* The values a report is made with. */
struct report_query {
	int limit;
	int64_t before;		/* 0: from the newest */
	int unfixed_only;
	int64_t after;		/* 0: from the first attempt */
	const char *session_id;	/* RA_SESSION: checked, not copied */
	int64_t log_id;		/* RA_LOG */
};

struct report {
	enum report_id id;
	const char *api;	/* path under /api/logs/; "x/" takes an id; NULL: not served */
	const char *command;	/* analyze_logs command; NULL: not one */
	const char *usage;	/* the command with its argument, for the tool's help */
	const char *about;	/* one line for the tool's help */
	const char *same_as;	/* the API request the tool's command shows; NULL: none */
	int query;		/* RQ_* */
	enum report_arg arg;
	const char *what;	/* what it is called in messages */
	/* Exactly one of: */
	cJSON *(*json)(struct logdb *db, const struct report_env *env,
	    const struct report_query *q, enum report_status *st);
	char *(*text)(struct logdb *db, const struct report_env *env, size_t *len,
	    enum report_status *st);
	int (*stream)(struct logdb *db, FILE *fp, int as_array);
};

/* The rows, REPORT_COUNT of them, in the order the tool's help lists them;
 * report_table[i].id == i. */
extern const struct report report_table[];

/* Returns the row serving the API path rest (what follows "/api/logs/", no
 * query string) and sets *arg to the segment after a "x/" path ("" when
 * none), or NULL when no row serves it. */
const struct report *report_by_api(const char *rest, const char **arg);

/* Returns the row of the tool's command name, or NULL. */
const struct report *report_by_command(const char *name);

/* Writes the API's paths ("summary, ..., session/<id>, ...") into out.
 * Returns out. */
char *report_api_list(char *out, size_t outlen);

/* Sets q to the defaults: limit REPORT_LIMIT_DEFAULT, nothing else. */
void report_query_init(struct report_query *q);

/* Sets one query value (which: one RQ_*) from its text. Returns 0, or -1
 * with what is wrong in msg ("limit must be ..."). */
int report_query_set(struct report_query *q, int which, const char *value, char *msg,
    size_t msglen);

/* Returns the query-string name of a value (which: one RQ_*). */
const char *report_query_name(int which);

/* Sets the argument of row r (a session or log id) in q from its text.
 * Returns 0, or -1 with what is wrong in msg. Rows without one: 0. */
int report_query_arg(const struct report *r, const char *value, struct report_query *q,
    char *msg, size_t msglen);

#endif
