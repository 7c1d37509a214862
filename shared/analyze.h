/*
 * analyze: what the execution log teaches. Two layers in one file:
 *
 *  - text facts, pure functions on strings (no I/O): a traceback's type,
 *    message and line; the category and normalised pattern of a failure;
 *    the imports of a script and what changed between two scripts; SHA-256;
 *    the runner image's package list.
 *  - reports over a logdb handle, as cJSON documents: the API serves them
 *    and the command-line tool prints them (as tables, or the same JSON),
 *    so neither computes a figure the other does not.
 *
 * logdb calls the first layer at insert (category, pattern, code_sha256,
 * the lessons of a fix); the second layer reads what logdb kept.
 */
#ifndef ANALYZE_H
#define ANALYZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "logdb.h"

/* ---- Text facts ---------------------------------------------------------- */

/* What a raw Python traceback says. message points into the parsed text. */
struct tb_facts {
	char type[LOGDB_TYPE_MAX];	/* last dotted part: "cv2.error" -> "error" */
	const char *message;		/* may span lines; not NUL-terminated */
	size_t message_len;
	int line;			/* last line in /code/main.py; 0: none */
};

/* Parses the last exception of a traceback text (stderr). Returns 1 and
 * fills f when one was found, 0 when the text holds none. */
int analyze_parse_traceback(const char *text, size_t len, struct tb_facts *f);

/* Returns the category of an outcome: "import", "attribute", "data_access",
 * "type", "value", "syntax", "name", "file", "image", "memory", "timeout",
 * "output", "rejected", "other"; "" for a success. A static string. */
const char *analyze_category(const char *status, const char *error_type, const char *message);

/* Writes the normalised form of message[0..len) (numbers <N>, quoted names
 * <name>, paths <path>, hex ids <id>; module, attribute and type names kept
 * where they are the lesson; sandbox paths kept) into out, at most outlen
 * bytes with the NUL, cut on a UTF-8 boundary. Returns the length. */
size_t analyze_normalise(const char *error_type, const char *message, size_t len,
    char *out, size_t outlen);

/* The category and pattern of one record (rejected: the reject code and its
 * message; timeout and the like: the status when there is no message). */
struct analyze_class {
	char category[LOGDB_CATEGORY_MAX];
	char pattern[LOGDB_PATTERN_MAX];
};
void analyze_classify(const struct run_record *rec, struct analyze_class *out);

/* The import statements of a script, one per bound name, normalised:
 * "import numpy as np", "from PIL import Image". Sorted, unique, bounded. */
#define ANALYZE_IMPORTS_MAX 64
#define ANALYZE_IMPORT_LEN 128
struct import_set {
	size_t n;
	int truncated;
	char line[ANALYZE_IMPORTS_MAX][ANALYZE_IMPORT_LEN];
};
/* Fills s from code[0..len). Never fails; a script with more imports than
 * fit sets truncated. */
void analyze_imports(const char *code, size_t len, struct import_set *s);

#define ANALYZE_DIFF_MAX 16
struct import_diff {
	size_t n_added, n_removed;
	char added[ANALYZE_DIFF_MAX][ANALYZE_IMPORT_LEN];
	char removed[ANALYZE_DIFF_MAX][ANALYZE_IMPORT_LEN];
};
/* What b has that a lacks (added) and the reverse (removed). */
void analyze_import_diff(const struct import_set *a, const struct import_set *b,
    struct import_diff *d);

/* Lines added and removed from a to b (a Myers diff over whole lines,
 * bounded: past ANALYZE_DIFF_LINES lines or ANALYZE_DIFF_D edits the counts
 * come from a multiset comparison and approximate is set). */
#define ANALYZE_DIFF_LINES 20000
#define ANALYZE_DIFF_D 2000
struct line_diff {
	long added, removed;
	int approximate;
};
/* Returns 0, or -1 when memory ran out (d then holds the approximation). */
int analyze_line_diff(const char *a, size_t alen, const char *b, size_t blen, struct line_diff *d);

/* The changes a fix made, for the log's lessons: imports added and removed
 * ("+import cv2", "-import skimage2"), and for an attribute error the
 * attribute that went away and those that came ("-.ANTIALIAS",
 * "+.LANCZOS", only when few came). Returns how many were written to
 * out (at most max). */
size_t analyze_fix_changes(const char *fail_code, size_t fail_len, const char *fix_code,
    size_t fix_len, const char *category, const char *pattern,
    char out[][LOGDB_CHANGE_MAX], size_t max);

/* Writes the SHA-256 of data[0..len) as 64 lowercase hex digits and a NUL. */
void analyze_sha256_hex(const void *data, size_t len, char out[65]);

/* The runner image's package list: "debian-package | import line | what". */
#define ANALYZE_PACKAGES_MAX 32
struct analyze_package {
	char package[64];
	char import_line[160];
	char about[160];
};
struct analyze_packages {
	size_t n;
	struct analyze_package p[ANALYZE_PACKAGES_MAX];
};
/* Reads path (at most 64 KiB; '#' lines and blank lines skipped). Returns 0,
 * or -1 with a message in err (pk then holds nothing). */
int analyze_packages_load(const char *path, struct analyze_packages *pk, char *err, size_t errlen);

/* ---- Reports --------------------------------------------------------------- */

/* The sandbox's limits, as the service is configured (0: not known). */
struct analyze_limits {
	int64_t timeout_ms;
	int64_t memory_bytes;
	int64_t output_bytes;
};

/* What reports need besides the log. */
struct analyze_env {
	const char *packages_file;	/* NULL or unreadable: no library list */
	struct analyze_limits limits;
};

enum analyze_status {
	ANALYZE_OK = 0,
	ANALYZE_NOT_FOUND,	/* no such session or log */
	ANALYZE_FAILED		/* the log could not be read, or memory ran out (logged) */
};

#define ANALYZE_LIMIT_DEFAULT 50
#define ANALYZE_LIMIT_MAX 500
#define ANALYZE_SESSION_MAX 500	/* attempts shown of one session */
#define ANALYZE_TREND_DAYS 30
#define ANALYZE_CONTEXT_MAX 8192	/* bytes of /api/logs/ai-context */

/* Each returns a new cJSON document the caller frees with cJSON_Delete(), or
 * NULL with *st set (ANALYZE_NOT_FOUND only where said). */

/* GET /api/logs/summary */
cJSON *analyze_summary(struct logdb *db, enum analyze_status *st);
/* GET /api/logs/analysis: summary, categories, patterns (limit), lessons,
 * recommendations, trend by day, models. */
cJSON *analyze_analysis(struct logdb *db, const struct analyze_env *env, int limit,
    enum analyze_status *st);
/* GET /api/logs/error-patterns: categories with fix rates, the limit most
 * frequent patterns. */
cJSON *analyze_error_patterns(struct logdb *db, int limit, enum analyze_status *st);
/* GET /api/logs/recommendations: advice from the rule base and from fixes. */
cJSON *analyze_recommendations(struct logdb *db, const struct analyze_env *env, int limit,
    enum analyze_status *st);
/* GET /api/logs/failures (f = LOGDB_FAILURES or LOGDB_UNFIXED) and
 * /api/logs/successes: a page, newest first, ids below before (0: all). */
cJSON *analyze_page(struct logdb *db, enum logdb_filter f, int64_t before, int limit,
    enum analyze_status *st);
/* GET /api/logs/session/<id>: attempts in order, what changed between them,
 * the fixes and what they changed. ANALYZE_NOT_FOUND: no such session. */
cJSON *analyze_session(struct logdb *db, const char *session_id, enum analyze_status *st);
/* GET /api/logs/log/<id>: one attempt, whole. ANALYZE_NOT_FOUND: no such id. */
cJSON *analyze_log(struct logdb *db, int64_t id, enum analyze_status *st);

/* GET /api/logs/ai-context: plain text of at most ANALYZE_CONTEXT_MAX bytes.
 * Returns a malloc'd NUL-terminated text (length in *len) the caller frees,
 * or NULL with *st set. */
char *analyze_context(struct logdb *db, const struct analyze_env *env, size_t *len,
    enum analyze_status *st);

/* One row as the API shows it (whole: with streams, params and timings).
 * Returns a new object, or NULL when memory ran out. */
cJSON *analyze_run_json(const struct logdb_run *run, int whole);

/* Writes every row as the JSON of analyze_run_json(whole), one per line, or
 * as one array (as_array), to fp. Returns 0, or -1 (a write error or the
 * log could not be read). */
int analyze_export(struct logdb *db, FILE *fp, int as_array);

/* Returns 1 when s is a valid session id ([A-Za-z0-9_-]{1,64}), else 0. */
int analyze_valid_session_id(const char *s);

#endif
