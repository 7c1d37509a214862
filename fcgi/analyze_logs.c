/*
 * analyze_logs: the execution log's analysis in a terminal, over the same
 * database and the same shared/analyze code as GET /api/logs/... . Every
 * table is printed from the JSON document the API serves (--json prints
 * that document), so the two never disagree on a figure.
 *
 * Exit status: 0 done, 1 no database / cannot read it / no such session or
 * log, 2 bad usage or settings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shared/analyze.h"
#include "../shared/config.h"
#include "../shared/json_out.h"
#include "../shared/log.h"
#include "../shared/logdb.h"
#include "http.h"

#define EXIT_NODB 1
#define EXIT_USAGE 2
#define CELL_MAX 60		/* characters shown of one table cell */
#define WRAP 96			/* columns of wrapped advice */

static const char usage_text[] =
	"usage: analyze_logs [--db PATH] [--json] [--limit N] [--before ID] COMMAND [ARG]\n"
	"\n"
	"commands (each the same figures as GET /api/logs/...):\n"
	"  summary            totals, outcomes, fixes, durations      (summary)\n"
	"  errors             error categories and patterns           (error-patterns)\n"
	"  recommendations    advice for script generation, lessons   (recommendations)\n"
	"  unfixed            failures no later attempt fixed         (failures?unfixed_only=true)\n"
	"  failures           recent failures                         (failures)\n"
	"  session ID         a session's attempts, changes and fixes (session/ID)\n"
	"  log ID             one attempt, whole                      (log/ID)\n"
	"  context            the plain-text context for an AI prompt (ai-context)\n"
	"  export [FILE]      every row as JSON lines (--array: one JSON array) to FILE or stdout\n"
	"  all                summary, errors, recommendations, unfixed\n"
	"                     (--json: {\"analysis\": <analysis>, \"unfixed\": <unfixed page>})\n"
	"  migrate            bring an older database to this build's schema (opens it read-write)\n"
	"\n"
	"options:\n"
	"  --db PATH    the execution log (default: $IMGSANDBOX_DB, else $IMGSANDBOX_DATA/log.db,\n"
	"               else ./var/log.db); opened read-only, never created\n"
	"  --json       print the API's JSON instead of tables\n"
	"  --limit N    rows of lists, patterns, recommendations (1..500, default 50)\n"
	"  --before ID  failures/unfixed: the page of rows older than log ID\n"
	"  --array      export: one JSON array instead of JSON lines\n";

static void
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "analyze_logs: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", usage_text);
	exit(EXIT_USAGE);
}

/* ---- Printing text a script may have written ----------------------------- */

/* Writes s to fp with control characters (terminal escapes) shown as '?';
 * newlines and tabs are kept when keep_lines, else become spaces. */
static void
put_clean(FILE *fp, const char *s, int keep_lines)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c == '\n' || c == '\t') && keep_lines)
			fputc(c, fp);
		else if (c == '\n' || c == '\t' || c == '\r')
			fputc(' ', fp);
		else if (c < 0x20 || c == 0x7f)
			fputc('?', fp);
		else
			fputc(c, fp);
	}
}

/* Characters (code points) of a UTF-8 string. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* ---- JSON access ------------------------------------------------------------ */

static const cJSON *
get(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* The string at name, or "" (also for null). */
static const char *
gs(const cJSON *o, const char *name)
{
	const cJSON *x = get(o, name);

	return cJSON_IsString(x) && x->valuestring ? x->valuestring : "";
}

static double
gn(const cJSON *o, const char *name)
{
	const cJSON *x = get(o, name);

	return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

static int
is_null(const cJSON *o, const char *name)
{
	const cJSON *x = get(o, name);

	return x == NULL || cJSON_IsNull(x);
}

/* Formats a number of o ("-" for null) into a static buffer. */
static const char *
fmt_num(const cJSON *o, const char *name)
{
	static char buf[8][32];	/* a ring: up to 8 in one printf */
	static int k;

	k = (k + 1) % 8;
	if (is_null(o, name))
		return "-";
	snprintf(buf[k], sizeof(buf[k]), "%.0f", gn(o, name));
	return buf[k];
}

static const char *
fmt_pct(double rate)
{
	static char buf[8][16];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%.1f%%", rate * 100);
	return buf[k];
}

/* ---- Tables ---------------------------------------------------------------------- */

#define COLS_MAX 10

struct table {
	size_t ncol, nrows, cap;
	const char *head[COLS_MAX];
	int right[COLS_MAX];
	char **cell;		/* nrows * ncol strings, owned */
};

/* Starts a table; heads ending in '>' are right-aligned (the '>' is not shown). */
static void
table_init(struct table *t, size_t ncol, const char *const *heads)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->ncol = ncol < COLS_MAX ? ncol : COLS_MAX;
	for (i = 0; i < t->ncol; i++) {
		t->head[i] = heads[i];
		t->right[i] = heads[i][0] != '\0' && heads[i][strlen(heads[i]) - 1] == '>';
	}
}

/* Copies s into a cell: one line, at most CELL_MAX characters. */
static char *
cell_dup(const char *s)
{
	size_t n = 0, chars = 0, i;
	char *c;

	if (s == NULL)
		s = "";
	if ((c = malloc(strlen(s) + 4)) == NULL)
		return NULL;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch & 0xC0) != 0x80 && ++chars > CELL_MAX) {
			memcpy(c + n, "\xe2\x80\xa6", 3);	/* ... */
			n += 3;
			break;
		}
		c[n++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	c[n] = '\0';
	return c;
}

/* Adds a row of ncol strings. Returns 0 or -1 (out of memory). */
static int
table_row(struct table *t, const char *const *cells)
{
	size_t i;
	char **v;

	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		if ((v = realloc(t->cell, ncap * t->ncol * sizeof(*v))) == NULL)
			return -1;
		t->cell = v;
		t->cap = ncap;
	}
	for (i = 0; i < t->ncol; i++)
		if ((t->cell[t->nrows * t->ncol + i] = cell_dup(cells[i])) == NULL) {
			while (i-- > 0)
				free(t->cell[t->nrows * t->ncol + i]);
			return -1;
		}
	t->nrows++;
	return 0;
}

/* Prints the table with aligned columns and frees it. */
static void
table_print(struct table *t, FILE *fp)
{
	size_t w[COLS_MAX], i, j, k, hw;
	const char *s;

	for (j = 0; j < t->ncol; j++) {
		w[j] = width(t->head[j]) - (size_t)t->right[j];
		for (i = 0; i < t->nrows; i++)
			if (width(t->cell[i * t->ncol + j]) > w[j])
				w[j] = width(t->cell[i * t->ncol + j]);
	}
	for (j = 0; j < t->ncol; j++) {
		hw = width(t->head[j]) - (size_t)t->right[j];
		if (t->right[j])
			for (k = hw; k < w[j]; k++)
				fputc(' ', fp);
		fwrite(t->head[j], 1, strlen(t->head[j]) - (size_t)t->right[j], fp);
		if (j + 1 < t->ncol)
			for (k = t->right[j] ? w[j] : hw; k < w[j] + 2; k++)
				fputc(' ', fp);
	}
	fputc('\n', fp);
	for (i = 0; i < t->nrows; i++) {
		for (j = 0; j < t->ncol; j++) {
			s = t->cell[i * t->ncol + j];
			if (t->right[j])
				for (k = width(s); k < w[j]; k++)
					fputc(' ', fp);
			fputs(s, fp);
			if (j + 1 < t->ncol)
				for (k = t->right[j] ? w[j] : width(s); k < w[j] + 2; k++)
					fputc(' ', fp);
		}
		fputc('\n', fp);
	}
	for (i = 0; i < t->nrows * t->ncol; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof(*t));
}

/* Prints text wrapped at WRAP columns, each line after the first indented. */
static void
print_wrapped(FILE *fp, const char *first, const char *text, size_t indent)
{
	size_t col, wl, i;
	const char *p = text, *w;

	fputs(first, fp);
	col = width(first);
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *w != '\0' && *w != ' '; w++)
			;
		wl = 0;
		for (i = 0; p + i < w; i++)
			if (((unsigned char)p[i] & 0xC0) != 0x80)
				wl++;
		if (col > indent && col + 1 + wl > WRAP) {
			fputc('\n', fp);
			for (col = 0; col < indent; col++)
				fputc(' ', fp);
		} else if (col > indent || (col == indent && p != text && col > width(first))) {
			fputc(' ', fp);
			col++;
		}
		{
			char *piece = strndup(p, (size_t)(w - p));
			if (piece != NULL) {
				put_clean(fp, piece, 0);
				free(piece);
			}
		}
		col += wl;
		p = w;
	}
	fputc('\n', fp);
}

/* ---- The reports as tables ----------------------------------------------------------- */

static void
print_summary(const cJSON *s, FILE *fp)
{
	const cJSON *by = get(s, "by_status"), *x, *ses = get(s, "sessions"),
	    *d = get(s, "duration_ms");
	char line[256];

	fprintf(fp, "Summary\n");
	fprintf(fp, "  runs              %s (%s succeeded)\n", fmt_num(s, "total"),
	    fmt_pct(gn(s, "success_rate")));
	cJSON_ArrayForEach(x, by)
		if (cJSON_IsNumber(x)) {
			snprintf(line, sizeof(line), "    %-15s %.0f\n", x->string, x->valuedouble);
			put_clean(fp, line, 1);
		}
	fprintf(fp, "  failures          %s: %s fixed later, %s unfixed (fix rate %s)\n",
	    fmt_num(s, "failures"), fmt_num(s, "failures_fixed"), fmt_num(s, "failures_unfixed"),
	    fmt_pct(gn(s, "fix_rate")));
	fprintf(fp, "  sessions          %s: %s with failures, %s fixed, %s unfixed\n",
	    fmt_num(ses, "total"), fmt_num(ses, "with_failures"), fmt_num(ses, "fixed"),
	    fmt_num(ses, "unfixed"));
	fprintf(fp, "  duration (ms)     avg %s, p50 %s, p95 %s, max %s (of %s runs that ran)\n",
	    fmt_num(d, "avg"), fmt_num(d, "p50"), fmt_num(d, "p95"), fmt_num(d, "max"),
	    fmt_num(d, "runs"));
	fprintf(fp, "  error patterns    %s distinct\n", fmt_num(s, "distinct_patterns"));
	fprintf(fp, "  first, last run   %s, %s\n", is_null(s, "first_at") ? "-" : gs(s, "first_at"),
	    is_null(s, "last_at") ? "-" : gs(s, "last_at"));
}

static void
print_categories(const cJSON *cats, FILE *fp)
{
	static const char *const heads[] = { "CATEGORY", "COUNT>", "SHARE>", "FIXED>",
		"FIX RATE>", "EXAMPLE>", "LAST SEEN" };
	struct table t;
	const cJSON *c;
	char ex[32];

	table_init(&t, 7, heads);
	cJSON_ArrayForEach(c, cats) {
		snprintf(ex, sizeof(ex), "#%s", fmt_num(c, "example_log_id"));
		const char *row[] = { gs(c, "category"), fmt_num(c, "count"),
			fmt_pct(gn(c, "share")), fmt_num(c, "fixed"), fmt_pct(gn(c, "fix_rate")), ex,
			gs(c, "last_seen") };
		table_row(&t, row);
	}
	table_print(&t, fp);
}

static void
print_patterns(const cJSON *pats, FILE *fp)
{
	static const char *const heads[] = { "COUNT>", "FIXED>", "CATEGORY", "TYPE", "PATTERN",
		"EXAMPLE>" };
	struct table t;
	const cJSON *p;
	char ex[32];

	table_init(&t, 6, heads);
	cJSON_ArrayForEach(p, pats) {
		snprintf(ex, sizeof(ex), "#%s", fmt_num(p, "example_log_id"));
		const char *row[] = { fmt_num(p, "count"), fmt_num(p, "fixed"), gs(p, "category"),
			gs(p, "type"), gs(p, "pattern"), ex };
		table_row(&t, row);
	}
	table_print(&t, fp);
}

static void
print_errors(const cJSON *doc, FILE *fp)
{
	fprintf(fp, "Error categories (%s failures, %s distinct patterns)\n",
	    fmt_num(doc, "failures"), fmt_num(doc, "distinct_patterns"));
	print_categories(get(doc, "categories"), fp);
	fprintf(fp, "\nMost frequent error patterns\n");
	print_patterns(get(doc, "patterns"), fp);
}

static void
print_recommendations(const cJSON *recs, const cJSON *lessons, FILE *fp)
{
	const cJSON *r, *x;
	char head[512];
	int i = 0;

	fprintf(fp, "Recommendations for script generation (most frequent first)\n");
	cJSON_ArrayForEach(r, recs) {
		snprintf(head, sizeof(head), "%2d. [%s] %s%s%.0f\xc3\x97, %s fixed later, e.g. log #%s",
		    ++i, gs(r, "category"), gs(r, "error_type"), *gs(r, "error_type") ? ", " : "",
		    gn(r, "count"), fmt_pct(gn(r, "fix_rate")), fmt_num(r, "example_log_id"));
		put_clean(fp, head, 0);
		fputc('\n', fp);
		cJSON_ArrayForEach(x, get(r, "patterns"))
			if (cJSON_IsString(x))
				print_wrapped(fp, "    pattern: ", x->valuestring, 13);
		print_wrapped(fp, "    advice:  ", gs(r, "advice"), 13);
		cJSON_ArrayForEach(x, get(r, "learnt"))
			if (cJSON_IsString(x))
				print_wrapped(fp, "    learnt:  ", x->valuestring, 13);
	}
	if (i == 0)
		fprintf(fp, "  (no failures logged)\n");
	if (lessons != NULL && cJSON_GetArraySize(lessons) > 0) {
		fprintf(fp, "\nLessons from fixes seen in the log\n");
		cJSON_ArrayForEach(x, lessons)
			print_wrapped(fp, "  - ", gs(x, "advice"), 4);
	}
}

/* One line of a failure: "Type: message" or the pattern. */
static void
error_words(const cJSON *run, char *out, size_t outlen)
{
	const cJSON *e = get(run, "error");

	if (e != NULL && !cJSON_IsNull(e) && (*gs(e, "type") || *gs(e, "message")))
		snprintf(out, outlen, "%s%s%s", gs(e, "type"), *gs(e, "type") ? ": " : "",
		    gs(e, "message"));
	else
		snprintf(out, outlen, "%s", gs(run, "pattern"));
}

static void
print_page(const cJSON *doc, const char *title, FILE *fp)
{
	static const char *const heads[] = { "LOG>", "TIME", "SESSION", "#>", "STATUS",
		"CATEGORY", "ERROR" };
	struct table t;
	const cJSON *r;
	char err[512];

	fprintf(fp, "%s (%s shown", title, fmt_num(doc, "count"));
	if (!is_null(doc, "next_before"))
		fprintf(fp, "; older ones: --before %s", fmt_num(doc, "next_before"));
	fprintf(fp, ")\n");
	table_init(&t, 7, heads);
	cJSON_ArrayForEach(r, get(doc, "items")) {
		error_words(r, err, sizeof(err));
		const char *row[] = { fmt_num(r, "log_id"), gs(r, "created_at"), gs(r, "session_id"),
			fmt_num(r, "attempt"), gs(r, "status"), gs(r, "category"), err };
		table_row(&t, row);
	}
	table_print(&t, fp);
}

/* "+a, -b" of an array of strings, into out. */
static void
join_list(const cJSON *a, const char *sign, char *out, size_t outlen)
{
	const cJSON *x;
	size_t n = strlen(out);

	cJSON_ArrayForEach(x, a) {
		if (!cJSON_IsString(x) || n + 8 >= outlen)
			continue;
		n += (size_t)snprintf(out + n, outlen - n, "%s%s%s", n > 0 ? ", " : "", sign,
		    x->valuestring);
		if (n >= outlen)
			n = outlen - 1;
	}
}

static void
print_session(const cJSON *doc, FILE *fp)
{
	static const char *const heads[] = { "#>", "LOG>", "STATUS", "CATEGORY", "ERROR",
		"+LINES>", "-LINES>", "IMPORTS" };
	struct table t;
	const cJSON *r, *c;
	char err[512], imports[512], la[16], lr[16], line[1024];

	snprintf(line, sizeof(line), "Session %s: %s attempts%s, last %s; %s failures fixed, "
	    "%s unfixed\n", gs(doc, "session_id"), fmt_num(doc, "attempt_count"),
	    cJSON_IsTrue(get(doc, "truncated")) ? " (first ones shown)" : "",
	    gs(doc, "last_status"), fmt_num(doc, "failures_fixed"),
	    fmt_num(doc, "failures_unfixed"));
	put_clean(fp, line, 1);
	table_init(&t, 8, heads);
	cJSON_ArrayForEach(r, get(doc, "attempts")) {
		c = get(r, "changes");
		error_words(r, err, sizeof(err));
		imports[0] = '\0';
		la[0] = lr[0] = '\0';
		if (c != NULL && !cJSON_IsNull(c)) {
			join_list(get(c, "imports_added"), "+", imports, sizeof(imports));
			join_list(get(c, "imports_removed"), "-", imports, sizeof(imports));
			snprintf(la, sizeof(la), "%s%s", fmt_num(c, "lines_added"),
			    cJSON_IsTrue(get(c, "approximate")) ? "~" : "");
			snprintf(lr, sizeof(lr), "%s", fmt_num(c, "lines_removed"));
		}
		const char *row[] = { fmt_num(r, "attempt"), fmt_num(r, "log_id"), gs(r, "status"),
			gs(r, "category"), err, la, lr, imports };
		table_row(&t, row);
	}
	table_print(&t, fp);
	if (cJSON_GetArraySize(get(doc, "fixes")) > 0) {
		fprintf(fp, "\nFixes\n");
		cJSON_ArrayForEach(r, get(doc, "fixes")) {
			c = get(r, "changes");
			imports[0] = '\0';
			if (c != NULL && !cJSON_IsNull(c)) {
				join_list(get(c, "imports_added"), "+", imports, sizeof(imports));
				join_list(get(c, "imports_removed"), "-", imports, sizeof(imports));
			}
			snprintf(line, sizeof(line), "  attempt %s (%s, %s) fixed by attempt %s: "
			    "%s lines added, %s removed%s%s", fmt_num(r, "failure_attempt"),
			    gs(r, "category"), gs(r, "type"), fmt_num(r, "fixed_by_attempt"),
			    c && !cJSON_IsNull(c) ? fmt_num(c, "lines_added") : "?",
			    c && !cJSON_IsNull(c) ? fmt_num(c, "lines_removed") : "?",
			    imports[0] ? "; imports " : "", imports);
			print_wrapped(fp, "", line, 4);
		}
	}
	if (cJSON_GetArraySize(get(doc, "unfixed")) > 0) {
		fprintf(fp, "\nUnfixed failures: log");
		cJSON_ArrayForEach(r, get(doc, "unfixed"))
			fprintf(fp, " #%.0f", r->valuedouble);
		fputc('\n', fp);
	}
}

static void
print_log(const cJSON *r, FILE *fp)
{
	static const char *const keys[] = { "log_id", "job_id", "session_id", "attempt",
		"previous_attempt_id", "created_at", "status", "http_status", "exit_code",
		"duration_ms", "category", "pattern", "fixed_by", "code_sha256", "ai_model",
		"user_prompt", "params", NULL };
	const cJSON *x, *e;
	char *s;
	int i;

	for (i = 0; keys[i] != NULL; i++) {
		x = get(r, keys[i]);
		fprintf(fp, "%-20s ", keys[i]);
		if (cJSON_IsString(x))
			put_clean(fp, x->valuestring, 0);
		else if (cJSON_IsNumber(x))
			fprintf(fp, "%.0f", x->valuedouble);
		else
			fputs("-", fp);
		fputc('\n', fp);
	}
	e = get(r, "error");
	if (e != NULL && !cJSON_IsNull(e)) {
		fprintf(fp, "%-20s %s (line %s)\n%-20s ", "error", gs(e, "type"), fmt_num(e, "line"),
		    "message");
		put_clean(fp, gs(e, "message"), 0);
		fputc('\n', fp);
	}
	e = get(r, "reject");
	if (e != NULL && !cJSON_IsNull(e)) {
		fprintf(fp, "%-20s ", "rejected");
		put_clean(fp, gs(e, "code"), 0);
		fputs(": ", fp);
		put_clean(fp, gs(e, "message"), 0);
		fputc('\n', fp);
	}
	if ((x = get(r, "timings")) != NULL && cJSON_IsObject(x) &&
	    (s = cJSON_PrintUnformatted(x)) != NULL) {
		fprintf(fp, "%-20s %s\n", "timings", s);
		free(s);
	}
	fprintf(fp, "\n--- code ---\n");
	put_clean(fp, gs(r, "code"), 1);
	if (e != NULL && !cJSON_IsNull(e = get(r, "error")) && *gs(e, "traceback")) {
		fprintf(fp, "\n--- traceback ---\n");
		put_clean(fp, gs(e, "traceback"), 1);
	}
	if (*gs(r, "stdout")) {
		fprintf(fp, "\n--- stdout ---\n");
		put_clean(fp, gs(r, "stdout"), 1);
	}
	if (*gs(r, "stderr")) {
		fprintf(fp, "\n--- stderr ---\n");
		put_clean(fp, gs(r, "stderr"), 1);
	}
	fputc('\n', fp);
}

/* ---- Main ----------------------------------------------------------------------------------- */

enum command {
	C_SUMMARY, C_ERRORS, C_RECOMMENDATIONS, C_UNFIXED, C_FAILURES, C_SESSION, C_LOG,
	C_CONTEXT, C_EXPORT, C_ALL, C_MIGRATE
};

static const struct {
	const char *name;
	enum command c;
	int args;	/* 0, 1 (required), -1 (optional) */
} commands[] = {
	{ "summary", C_SUMMARY, 0 }, { "errors", C_ERRORS, 0 },
	{ "recommendations", C_RECOMMENDATIONS, 0 }, { "unfixed", C_UNFIXED, 0 },
	{ "failures", C_FAILURES, 0 }, { "session", C_SESSION, 1 }, { "log", C_LOG, 1 },
	{ "context", C_CONTEXT, 0 }, { "export", C_EXPORT, -1 }, { "all", C_ALL, 0 },
	{ "migrate", C_MIGRATE, 0 },
};

/* Prints doc as the API serves it (compact), and frees it. Returns 0/1. */
static int
print_json(cJSON *doc)
{
	char *s = json_render(doc);

	cJSON_Delete(doc);
	if (s == NULL) {
		fprintf(stderr, "analyze_logs: out of memory\n");
		return 1;
	}
	puts(s);
	free(s);
	return 0;
}

/* Reports a failed report and returns the exit status. */
static int
report_failed(enum analyze_status st, const char *what, const char *arg)
{
	if (st == ANALYZE_NOT_FOUND)
		fprintf(stderr, "analyze_logs: no such %s in the log: %s\n", what, arg ? arg : "");
	else
		fprintf(stderr, "analyze_logs: the %s could not be made (see the message above)\n",
		    what);
	return 1;
}

/* Opens the log for the command. Returns the handle, or NULL after saying
 * why (the exit status is then EXIT_NODB). */
static struct logdb *
open_log(const char *path, enum command cmd)
{
	enum logdb_open_error why;
	struct logdb *db;
	struct stat sb;
	char err[512];

	if (cmd == C_MIGRATE) {
		/* Read-write, but never a new file. */
		if (stat(path, &sb) < 0) {
			fprintf(stderr, "analyze_logs: no database at %s: %s\n", path, strerror(errno));
			return NULL;
		}
		if ((db = logdb_open(path, err, sizeof(err))) == NULL)
			fprintf(stderr, "analyze_logs: %s\n", err);
		return db;
	}
	if ((db = logdb_open_readonly(path, &why, err, sizeof(err))) != NULL)
		return db;
	if (why == LOGDB_MISSING)
		fprintf(stderr, "analyze_logs: no database at %s (give --db PATH or set "
		    "IMGSANDBOX_DB; the responder makes it on its first run)\n", path);
	else
		fprintf(stderr, "analyze_logs: %s\n", err);
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "before", required_argument, NULL, 'b' },
		{ "array", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *db_path = NULL, *arg = NULL;
	struct analyze_env env;
	struct logdb *db = NULL;
	enum analyze_status st = ANALYZE_OK;
	enum command cmd = C_SUMMARY;
	cJSON *doc = NULL, *doc2 = NULL, *all;
	long long v;
	int64_t before = 0;
	int ch, json = 0, as_array = 0, limit = ANALYZE_LIMIT_DEFAULT, rc = 0;
	char err[512], *text;
	size_t i, len;
	FILE *out;

	log_init("analyze_logs");
	opterr = 0;
	/* Options may come anywhere (GNU getopt permutes); "--" ends them. */
	while ((ch = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'l':
			if (parse_int_range(optarg, 1, ANALYZE_LIMIT_MAX, &v) < 0)
				usage_error("--limit must be a whole number from 1 to %d",
				    ANALYZE_LIMIT_MAX);
			limit = (int)v;
			break;
		case 'b':
			if (parse_int_range(optarg, 1, INT64_MAX, &v) < 0)
				usage_error("--before must be a log id (a whole number from 1)");
			before = v;
			break;
		case 'a':
			as_array = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			if (optopt != 0)
				usage_error("option -%c is unknown or needs a value", optopt);
			usage_error("unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("which command?");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		usage_error("unknown command: %s", argv[optind]);
	cmd = commands[i].c;
	if (optind + 1 < argc) {
		if (commands[i].args == 0 || optind + 2 < argc)
			usage_error("unexpected argument: %s", argv[commands[i].args == 0 ?
			    optind + 1 : optind + 2]);
		arg = argv[optind + 1];
	}
	if ((cmd == C_SESSION || cmd == C_LOG) && arg == NULL)
		usage_error("%s needs an argument", cmd == C_SESSION ? "session" : "log");
	if (cmd == C_SESSION && !analyze_valid_session_id(arg))
		usage_error("a session id is 1 to 64 of A-Z a-z 0-9 _ -: %s", arg);
	if (cmd == C_LOG && parse_int_range(arg, 1, INT64_MAX, &v) < 0)
		usage_error("a log id is a whole number from 1: %s", arg);

	/* The same settings as the responder: paths and limits. */
	if (config_load(err, sizeof(err)) < 0) {
		fprintf(stderr, "analyze_logs: %s\n", err);
		return EXIT_USAGE;
	}
	if (db_path == NULL)
		db_path = cfg.db_path;
	memset(&env, 0, sizeof(env));
	env.packages_file = cfg.packages_file;
	env.limits.timeout_ms = cfg.timeout_ms;
	env.limits.memory_bytes = cfg.memory_bytes;
	env.limits.output_bytes = cfg.output_bytes;

	if ((db = open_log(db_path, cmd)) == NULL)
		return EXIT_NODB;

	switch (cmd) {
	case C_MIGRATE:
		printf("%s: schema version %d\n", db_path, LOGDB_SCHEMA_VERSION);
		break;
	case C_SUMMARY:
		if ((doc = analyze_summary(db, &st)) == NULL)
			rc = report_failed(st, "summary", NULL);
		else if (json)
			rc = print_json(doc), doc = NULL;
		else
			print_summary(doc, stdout);
		break;
	case C_ERRORS:
		if ((doc = analyze_error_patterns(db, limit, &st)) == NULL)
			rc = report_failed(st, "error patterns", NULL);
		else if (json)
			rc = print_json(doc), doc = NULL;
		else
			print_errors(doc, stdout);
		break;
	case C_RECOMMENDATIONS:
		if ((doc = analyze_recommendations(db, &env, limit, &st)) == NULL)
			rc = report_failed(st, "recommendations", NULL);
		else if (json)
			rc = print_json(doc), doc = NULL;
		else
			print_recommendations(get(doc, "recommendations"), get(doc, "lessons"), stdout);
		break;
	case C_UNFIXED:
	case C_FAILURES:
		if ((doc = analyze_page(db, cmd == C_UNFIXED ? LOGDB_UNFIXED : LOGDB_FAILURES,
		    before, limit, &st)) == NULL)
			rc = report_failed(st, "page", NULL);
		else if (json)
			rc = print_json(doc), doc = NULL;
		else
			print_page(doc, cmd == C_UNFIXED ? "Unfixed failures, newest first" :
			    "Failures, newest first", stdout);
		break;
	case C_SESSION:
		if ((doc = analyze_session(db, arg, &st)) == NULL)
			rc = report_failed(st, "session", arg);
		else if (json)
			rc = print_json(doc), doc = NULL;
		else
			print_session(doc, stdout);
		break;
	case C_LOG:
		if ((doc = analyze_log(db, (int64_t)v, &st)) == NULL)
			rc = report_failed(st, "log", arg);
		else if (json)
			rc = print_json(doc), doc = NULL;
		else
			print_log(doc, stdout);
		break;
	case C_CONTEXT:
		if ((text = analyze_context(db, &env, &len, &st)) == NULL)
			rc = report_failed(st, "context", NULL);
		else {
			/* Plain text either way: what the API serves as text/plain. */
			put_clean(stdout, text, 1);
			free(text);
		}
		break;
	case C_EXPORT:
		out = stdout;
		if (arg != NULL && strcmp(arg, "-") != 0 && (out = fopen(arg, "we")) == NULL) {
			fprintf(stderr, "analyze_logs: %s: %s\n", arg, strerror(errno));
			rc = 1;
			break;
		}
		if (analyze_export(db, out, as_array) < 0) {
			fprintf(stderr, "analyze_logs: export to %s failed\n", out == stdout ?
			    "stdout" : arg);
			rc = 1;
		}
		if (out != stdout && fclose(out) == EOF && rc == 0) {
			fprintf(stderr, "analyze_logs: %s: %s\n", arg, strerror(errno));
			rc = 1;
		}
		break;
	case C_ALL:
		doc = analyze_analysis(db, &env, limit, &st);
		doc2 = doc ? analyze_page(db, LOGDB_UNFIXED, before, limit, &st) : NULL;
		if (doc == NULL || doc2 == NULL) {
			rc = report_failed(st, "analysis", NULL);
			break;
		}
		if (json) {
			if ((all = cJSON_CreateObject()) == NULL) {
				rc = 1;
				break;
			}
			cJSON_AddItemToObject(all, "analysis", doc);
			cJSON_AddItemToObject(all, "unfixed", doc2);
			doc = doc2 = NULL;
			rc = print_json(all);
			break;
		}
		print_summary(get(doc, "summary"), stdout);
		fprintf(stdout, "\nError categories\n");
		print_categories(get(doc, "categories"), stdout);
		fprintf(stdout, "\nMost frequent error patterns\n");
		print_patterns(get(doc, "error_patterns"), stdout);
		fputc('\n', stdout);
		print_recommendations(get(doc, "recommendations"), get(doc, "lessons"), stdout);
		fputc('\n', stdout);
		print_page(doc2, "Unfixed failures, newest first", stdout);
		break;
	}
	cJSON_Delete(doc);
	cJSON_Delete(doc2);
	logdb_close(db);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "analyze_logs: writing the output: %s\n", strerror(errno));
		rc = 1;
	}
	return rc;
}
