/*
 * report_base: what every report over the execution log shares: how it
 * ends (a document, or a status saying why not), what it needs besides the
 * log (the package list, the sandbox's limits), how long a list may be,
 * rates, and cJSON builders that remember a failure, so a report builds
 * its whole document and checks once at the end.
 */
#ifndef REPORT_BASE_H
#define REPORT_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

enum report_status {
	REPORT_OK = 0,
	REPORT_NOT_FOUND,	/* no such session or log */
	REPORT_FAILED		/* the log could not be read, or memory ran out (logged) */
};

/* The sandbox's limits, as the service is configured (0: not known). */
struct report_limits {
	int64_t timeout_ms;
	int64_t memory_bytes;
	int64_t output_bytes;
};

struct allowlist;	/* packages.h */

/* What reports need besides the log. */
struct report_env {
	const char *packages_file;	/* NULL or unreadable: no library list */
	struct report_limits limits;
	/* The names the recommendations and the AI context may say (exception
	 * types, modules, attributes); NULL allows none: every type is
	 * "another exception" and no change of a fix is named. */
	const struct allowlist *allow;
};

#define REPORT_LIMIT_DEFAULT 50	/* rows of a list when none is asked for */
#define REPORT_LIMIT_MAX 500

/* No answer of a report is larger than this (its compact JSON): a list that
 * would pass it is cut short and says so ("cut": true, and where to go on). */
#define REPORT_ANSWER_MAX (4 * 1024 * 1024)

/* Room left in an answer being made. */
struct report_budget {
	size_t left;		/* bytes */
	int cut;		/* an item did not fit */
};

/* Starts b with REPORT_ANSWER_MAX less room for the answer's envelope. */
void report_budget_init(struct report_budget *b);

/* Returns 1 and takes the room of item (jb_size) from b when it fits, else
 * sets b->cut and returns 0 (the caller leaves the item out). */
int report_budget_take(struct report_budget *b, const cJSON *item);

/* Returns an upper bound of the length of x's compact rendering
 * (cJSON_PrintUnformatted). */
size_t jb_size(const cJSON *x);

/* Returns limit within 1..REPORT_LIMIT_MAX (0 or less: the default). */
int report_clamp_limit(int limit);

/* Returns num / den rounded to 4 places; 0 when den is 0 or less. */
double report_rate(int64_t num, int64_t den);

/* Writes a time limit in words ("10 s", "2.5 s") into out; "" when ms is 0
 * or less (not known). Returns out. */
char *report_seconds(char *out, size_t outlen, int64_t ms);

/* Ends a report named what: returns doc when all went well, else deletes
 * doc, sets *st (REPORT_FAILED unless already set), logs a failure and
 * returns NULL. */
cJSON *report_finish(cJSON *doc, int bad, enum report_status *st, const char *what);

/* ---- Builders ------------------------------------------------------------
 * Each adds to object o (or array a) and sets *bad when it could not (o or
 * a NULL counts too), so a report calls them without checking each. Strings
 * are made valid UTF-8. Each returns the new item, or NULL. */

cJSON *jb_num(int *bad, cJSON *o, const char *name, double v);
/* A string, or null when s is NULL. */
cJSON *jb_str(int *bad, cJSON *o, const char *name, const char *s);
/* A string, or null when s is NULL or "". */
cJSON *jb_str_ne(int *bad, cJSON *o, const char *name, const char *s);
/* s[0..len) (may hold NUL bytes), or null when s is NULL. */
cJSON *jb_text(int *bad, cJSON *o, const char *name, const char *s, size_t len);
/* An id, or null when 0 (or less). */
cJSON *jb_id(int *bad, cJSON *o, const char *name, int64_t id);
cJSON *jb_bool(int *bad, cJSON *o, const char *name, int v);
cJSON *jb_null(int *bad, cJSON *o, const char *name);
cJSON *jb_obj(int *bad, cJSON *o, const char *name);
cJSON *jb_arr(int *bad, cJSON *o, const char *name);
/* Appends a new object to array a. */
cJSON *jb_push_obj(int *bad, cJSON *a);
/* Appends the string s to array a. */
void jb_push_str(int *bad, cJSON *a, const char *s);
void jb_push_num(int *bad, cJSON *a, double v);

#endif
