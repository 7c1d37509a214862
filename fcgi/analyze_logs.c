/*
 * analyze_logs: the execution log's analysis in a terminal, over the same
 * database and the same reports as GET /api/logs/... : the commands are
 * rows of the one table of reports (shared/reports/report_table.h). Every table is
 * printed from the JSON document the API serves (--json prints that
 * document), so the two never disagree on a figure.
 *
 * Exit status: 0 done, 1 no database / cannot read it / no such session or
 * log, 2 bad usage or settings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/config.h"
#include "base/json_out.h"
#include "base/log.h"
#include "store/logdb.h"
#include "facts/packages.h"
#include "reports/report_table.h"
#include "facts/term.h"

#define EXIT_NODB 1
#define EXIT_USAGE 2

static const char usage_head[] =
	"usage: analyze_logs [--db PATH] [--json] [--limit N] [--before ID] [--after N] COMMAND [ARG]\n"
	"\n"
	"commands (each the same figures as GET /api/logs/...):\n";
static const char usage_migrate[] =
	"  migrate            bring an older database to this build's schema (opens it read-write)\n";
static const char usage_options[] =
	"\n"
	"options:\n"
	"  --db PATH    the execution log (default: $IMGSANDBOX_DB, else $IMGSANDBOX_DATA/log.db,\n"
	"               else ./var/log.db); opened read-only, never created\n"
	"  --json       print the API's JSON instead of tables\n"
	"  --limit N    rows of lists, patterns, recommendations (1..500, default 50)\n"
	"  --before ID  failures/unfixed: the page of rows older than log ID\n"
	"  --after N    session: the attempts after attempt N\n"
	"  --array      export: one JSON array instead of JSON lines\n";

/* Writes the help: the commands from the table of reports, and migrate. */
static void
usage(FILE *fp)
{
	const struct report *r;
	const char *p;
	size_t i;

	fputs(usage_head, fp);
	for (i = 0; i < REPORT_COUNT; i++) {
		r = &report_table[i];
		if (r->command == NULL)
			continue;
		if (r->same_as != NULL) {
			term_printf(fp, "  %-19s%-40s(%s)\n", r->usage, r->about, r->same_as);
			continue;
		}
		term_printf(fp, "  %-19s", r->usage);
		for (p = r->about; *p != '\0'; p++) {
			if (*p == '\n')
				term_printf(fp, "\n%21s", "");	/* a second line, under the first */
			else
				fputc(*p, fp);
		}
		fputc('\n', fp);
	}
	fputs(usage_migrate, fp);
	fputs(usage_options, fp);
}

/* ---- JSON access ------------------------------------------------------------ */

/* Returns the member name of o, or NULL. */
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

/* The number at name, or 0. */
static double
gn(const cJSON *o, const char *name)
{
	const cJSON *x = get(o, name);

	return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

/* Returns 1 when o has no member name, or it is null. */
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

/* Formats a rate as a percentage ("12.5%") into a static ring of buffers. */
static const char *
fmt_pct(double rate)
{
	static char buf[8][16];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%.1f%%", rate * 100);
	return buf[k];
}

/* ---- The reports as tables ------------------------------------------------------------ */

/* Prints the summary document s. */
static void
print_summary(const cJSON *s, FILE *fp)
{
	const cJSON *by = get(s, "by_status"), *x, *ses = get(s, "sessions"),
	    *d = get(s, "duration_ms");
	char line[256];

	term_printf(fp, "Summary\n");
	term_printf(fp, "  runs              %s (%s succeeded)\n", fmt_num(s, "total"),
	    fmt_pct(gn(s, "success_rate")));
	cJSON_ArrayForEach(x, by)
		if (cJSON_IsNumber(x)) {
			snprintf(line, sizeof(line), "    %-15s %.0f\n", x->string, x->valuedouble);
			term_put(fp, line, 1);
		}
	term_printf(fp, "  failures          %s: %s fixed later, %s unfixed (fix rate %s)\n",
	    fmt_num(s, "failures"), fmt_num(s, "failures_fixed"), fmt_num(s, "failures_unfixed"),
	    fmt_pct(gn(s, "fix_rate")));
	term_printf(fp, "  sessions          %s: %s with failures, %s fixed, %s unfixed\n",
	    fmt_num(ses, "total"), fmt_num(ses, "with_failures"), fmt_num(ses, "fixed"),
	    fmt_num(ses, "unfixed"));
	term_printf(fp, "  duration (ms)     avg %s, p50 %s, p95 %s, max %s (of %s runs that ran)\n",
	    fmt_num(d, "avg"), fmt_num(d, "p50"), fmt_num(d, "p95"), fmt_num(d, "max"),
	    fmt_num(d, "runs"));
	term_printf(fp, "  error patterns    %s distinct\n", fmt_num(s, "distinct_patterns"));
	term_printf(fp, "  first, last run   %s, %s\n", is_null(s, "first_at") ? "-" : gs(s, "first_at"),
	    is_null(s, "last_at") ? "-" : gs(s, "last_at"));
	if (gn(s, "rows_retired") > 0)
		term_printf(fp, "  retention         %s rows let go (still counted above); rows kept "
		    "since %s\n", fmt_num(s, "rows_retired"), is_null(s, "rows_kept_since") ? "-" :
		    gs(s, "rows_kept_since"));
}

/* Prints the categories array as a table. */
static void
print_categories(const cJSON *cats, FILE *fp)
{
	static const char *const heads[] = { "CATEGORY", "COUNT>", "SHARE>", "FIXED>",
		"FIX RATE>", "EXAMPLE>", "LAST SEEN" };
	struct term_table t;
	const cJSON *c;
	char ex[32];

	term_table_init(&t, 7, heads);
	cJSON_ArrayForEach(c, cats) {
		snprintf(ex, sizeof(ex), "#%s", fmt_num(c, "example_log_id"));
		const char *row[] = { gs(c, "category"), fmt_num(c, "count"),
			fmt_pct(gn(c, "share")), fmt_num(c, "fixed"), fmt_pct(gn(c, "fix_rate")), ex,
			gs(c, "last_seen") };
		term_table_row(&t, row);
	}
	term_table_print(&t, fp);
}

/* Prints the error patterns array as a table. */
static void
print_patterns(const cJSON *pats, FILE *fp)
{
	static const char *const heads[] = { "COUNT>", "FIXED>", "CATEGORY", "TYPE", "PATTERN",
		"EXAMPLE>" };
	struct term_table t;
	const cJSON *p;
	char ex[32];

	term_table_init(&t, 6, heads);
	cJSON_ArrayForEach(p, pats) {
		snprintf(ex, sizeof(ex), "#%s", fmt_num(p, "example_log_id"));
		const char *row[] = { fmt_num(p, "count"), fmt_num(p, "fixed"), gs(p, "category"),
			gs(p, "type"), gs(p, "pattern"), ex };
		term_table_row(&t, row);
	}
	term_table_print(&t, fp);
}

/* Prints the error-patterns document: categories, then patterns. */
static void
print_errors(const cJSON *doc, FILE *fp)
{
	term_printf(fp, "Error categories (%s failures, %s distinct patterns)\n",
	    fmt_num(doc, "failures"), fmt_num(doc, "distinct_patterns"));
	print_categories(get(doc, "categories"), fp);
	term_printf(fp, "\nMost frequent error patterns\n");
	print_patterns(get(doc, "patterns"), fp);
}

/* Prints recommendations and lessons (arrays of the API's documents). */
static void
print_advice(const cJSON *recs, const cJSON *lessons, FILE *fp)
{
	const cJSON *r, *x;
	char head[512];
	int i = 0;

	term_printf(fp, "Recommendations for script generation (most frequent first)\n");
	cJSON_ArrayForEach(r, recs) {
		snprintf(head, sizeof(head), "%2d. [%s] %s%s%.0f\xc3\x97, %s fixed later, e.g. log #%s",
		    ++i, gs(r, "category"), gs(r, "error_type"), *gs(r, "error_type") ? ", " : "",
		    gn(r, "count"), fmt_pct(gn(r, "fix_rate")), fmt_num(r, "example_log_id"));
		term_put(fp, head, 0);
		fputc('\n', fp);
		term_wrapped(fp, "    advice:  ", gs(r, "advice"), 13);
		cJSON_ArrayForEach(x, get(r, "learnt"))
			if (cJSON_IsString(x))
				term_wrapped(fp, "    learnt:  ", x->valuestring, 13);
	}
	if (i == 0)
		term_printf(fp, "  (no failures logged)\n");
	if (lessons != NULL && cJSON_GetArraySize(lessons) > 0) {
		term_printf(fp, "\nLessons from fixes seen in the log\n");
		cJSON_ArrayForEach(x, lessons)
			term_wrapped(fp, "  - ", gs(x, "advice"), 4);
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

/* Prints a page document of rows under title, with how to see older ones. */
static void
print_page(const cJSON *doc, const char *title, FILE *fp)
{
	static const char *const heads[] = { "LOG>", "TIME", "SESSION", "#>", "STATUS",
		"CATEGORY", "ERROR" };
	struct term_table t;
	const cJSON *r;
	char err[512];

	term_printf(fp, "%s (%s shown", title, fmt_num(doc, "count"));
	if (!is_null(doc, "next_before"))
		term_printf(fp, "; older ones: --before %s", fmt_num(doc, "next_before"));
	term_printf(fp, ")\n");
	term_table_init(&t, 7, heads);
	cJSON_ArrayForEach(r, get(doc, "items")) {
		error_words(r, err, sizeof(err));
		const char *row[] = { fmt_num(r, "log_id"), gs(r, "created_at"), gs(r, "session_id"),
			fmt_num(r, "attempt"), gs(r, "status"), gs(r, "category"), err };
		term_table_row(&t, row);
	}
	term_table_print(&t, fp);
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

/* Prints a session document: its attempts with what changed, its fixes, its
 * unfixed failures. */
static void
print_session(const cJSON *doc, FILE *fp)
{
	static const char *const heads[] = { "#>", "LOG>", "STATUS", "CATEGORY", "ERROR",
		"+LINES>", "-LINES>", "IMPORTS" };
	struct term_table t;
	const cJSON *r, *c;
	char err[512], imports[512], la[16], lr[16], line[1024];

	term_printf(fp, "Session %s: %s attempts%s%s, last %s; %s failures fixed, %s unfixed\n",
	    gs(doc, "session_id"), fmt_num(doc, "attempt_count"),
	    cJSON_IsTrue(get(doc, "truncated")) ? "; more: --after " : "",
	    cJSON_IsTrue(get(doc, "truncated")) ? fmt_num(doc, "next_after") : "",
	    gs(doc, "last_status"), fmt_num(doc, "failures_fixed"),
	    fmt_num(doc, "failures_unfixed"));
	term_table_init(&t, 8, heads);
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
		term_table_row(&t, row);
	}
	term_table_print(&t, fp);
	if (cJSON_GetArraySize(get(doc, "fixes")) > 0) {
		term_printf(fp, "\nFixes\n");
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
			term_wrapped(fp, "", line, 4);
		}
	}
	if (cJSON_GetArraySize(get(doc, "unfixed")) > 0) {
		term_printf(fp, "\nUnfixed failures: log");
		cJSON_ArrayForEach(r, get(doc, "unfixed"))
			term_printf(fp, " #%.0f", r->valuedouble);
		fputc('\n', fp);
	}
}

/* Prints one whole attempt: its fields, error, code, traceback, streams. */
static void
print_log(const cJSON *r, FILE *fp)
{
	static const char *const keys[] = { "log_id", "job_id", "session_id", "attempt",
		"previous_attempt_id", "created_at", "status", "http_status", "exit_code",
		"duration_ms", "category", "pattern", "fixed_by", "code_sha256", "code_bytes",
		"ai_model", "user_prompt", "params", NULL };
	const cJSON *x, *e;
	char *s;
	int i;

	for (i = 0; keys[i] != NULL; i++) {
		x = get(r, keys[i]);
		term_printf(fp, "%-20s ", keys[i]);
		if (cJSON_IsString(x))
			term_put(fp, x->valuestring, 0);
		else if (cJSON_IsNumber(x))
			term_printf(fp, "%.0f", x->valuedouble);
		else
			fputs("-", fp);
		fputc('\n', fp);
	}
	e = get(r, "error");
	if (e != NULL && !cJSON_IsNull(e)) {
		term_printf(fp, "%-20s ", "error");
		term_put(fp, gs(e, "type"), 0);
		term_printf(fp, " (line %s)\n%-20s ", fmt_num(e, "line"), "message");
		term_put(fp, gs(e, "message"), 0);
		fputc('\n', fp);
	}
	e = get(r, "reject");
	if (e != NULL && !cJSON_IsNull(e)) {
		term_printf(fp, "%-20s ", "rejected");
		term_put(fp, gs(e, "code"), 0);
		fputs(": ", fp);
		term_put(fp, gs(e, "message"), 0);
		fputc('\n', fp);
	}
	if ((x = get(r, "timings")) != NULL && cJSON_IsObject(x) &&
	    (s = cJSON_PrintUnformatted(x)) != NULL) {
		term_printf(fp, "%-20s ", "timings");
		term_put_json(fp, s);
		fputc('\n', fp);
		free(s);
	}
	if (cJSON_IsTrue(get(r, "code_truncated")))
		term_printf(fp, "\n--- code: the first %zu of %s bytes (a refused request's code "
		    "is not kept whole) ---\n", strlen(gs(r, "code")), fmt_num(r, "code_bytes"));
	else
		term_printf(fp, "\n--- code ---\n");
	term_put(fp, gs(r, "code"), 1);
	if (e != NULL && !cJSON_IsNull(e = get(r, "error")) && *gs(e, "traceback")) {
		term_printf(fp, "\n--- traceback ---\n");
		term_put(fp, gs(e, "traceback"), 1);
	}
	for (i = 0; i < 2; i++)
		if (*gs(r, i ? "stderr" : "stdout")) {
			term_printf(fp, "\n--- %s ---\n", i ? "stderr" : "stdout");
			term_put(fp, gs(r, i ? "stderr" : "stdout"), 1);
		}
	fputc('\n', fp);
}

/* The tool's own pages of the table's page reports. */
static void
print_unfixed(const cJSON *doc, FILE *fp)
{
	print_page(doc, "Unfixed failures, newest first", fp);
}

/* Prints the page of failures. */
static void
print_failures(const cJSON *doc, FILE *fp)
{
	print_page(doc, "Failures, newest first", fp);
}

/* Prints the recommendations document. */
static void
print_recommendations(const cJSON *doc, FILE *fp)
{
	print_advice(get(doc, "recommendations"), get(doc, "lessons"), fp);
}

/* Adds the row of one model's figures (p: the model, or one of its
 * by_lessons parts) to t. */
static void
model_row(struct term_table *t, const char *model, const char *lessons, const cJSON *p)
{
	const cJSON *a = get(p, "attempts_to_success");
	char mean[32] = "-", median[32] = "-", ok[64];

	if (!is_null(a, "mean"))
		snprintf(mean, sizeof(mean), "%.2f", gn(a, "mean"));
	if (!is_null(a, "median"))
		snprintf(median, sizeof(median), "%g", gn(a, "median"));
	snprintf(ok, sizeof(ok), "%s of %s", fmt_num(p, "sessions_succeeded"),
	    fmt_num(p, "sessions"));
	const char *row[] = { model, lessons, fmt_num(p, "runs"), ok,
		fmt_pct(gn(p, "first_attempt_success_rate")), mean, median,
		fmt_pct(gn(p, "fix_rate")) };
	term_table_row(t, row);
}

/* Prints the models document: per model, its figures, then with and without
 * the log's lessons in the prompt. */
static void
print_models(const cJSON *doc, FILE *fp)
{
	static const char *const heads[] = { "MODEL", "LESSONS", "RUNS>", "SUCCEEDED>",
		"FIRST TRY>", "MEAN TRIES>", "MEDIAN>", "FIX RATE>" };
	static const char *const parts[] = { "with", "without", "unknown" };
	struct term_table t;
	const cJSON *m, *p;
	size_t k;

	term_printf(fp, "Per AI model: sessions it started that succeeded, at the first try, "
	    "attempts until success; failures fixed later (%s models)\n", fmt_num(doc, "count"));
	term_table_init(&t, 8, heads);
	cJSON_ArrayForEach(m, get(doc, "models")) {
		model_row(&t, gs(m, "ai_model"), "all", m);
		for (k = 0; k < 3; k++) {
			p = get(get(m, "by_lessons"), parts[k]);
			if (gn(p, "runs") > 0 || gn(p, "sessions") > 0)
				model_row(&t, "", parts[k], p);
		}
	}
	term_table_print(&t, fp);
}

/* "all": the analysis's summary, categories, patterns, advice, and the
 * page of unfixed failures. */
static void
print_all(const cJSON *doc, FILE *fp)
{
	const cJSON *a = get(doc, "analysis");

	print_summary(get(a, "summary"), fp);
	term_printf(fp, "\nError categories\n");
	print_categories(get(a, "categories"), fp);
	term_printf(fp, "\nMost frequent error patterns\n");
	print_patterns(get(a, "error_patterns"), fp);
	fputc('\n', fp);
	print_advice(get(a, "recommendations"), get(a, "lessons"), fp);
	fputc('\n', fp);
	print_unfixed(get(doc, "unfixed"), fp);
}

/* How the tool prints each report as tables (by the table's ids); a report
 * without a printer is printed as its JSON. */
static void (*const printers[REPORT_COUNT])(const cJSON *doc, FILE *fp) = {
	[REPORT_SUMMARY] = print_summary,
	[REPORT_ERRORS] = print_errors,
	[REPORT_RECOMMENDATIONS] = print_recommendations,
	[REPORT_MODELS] = print_models,
	[REPORT_UNFIXED] = print_unfixed,
	[REPORT_FAILURES] = print_failures,
	[REPORT_SESSION] = print_session,
	[REPORT_LOG] = print_log,
	[REPORT_ALL] = print_all,
};

/* ---- Main ----------------------------------------------------------------------------------- */

/* What the command line asks for. */
struct cli {
	const char *db_path;
	int json, as_array;
	int migrate;			/* the command is migrate */
	const struct report *rt;	/* else the report's row */
	const char *arg;		/* the command's argument, or NULL */
	struct report_query q;
};

static void
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Says what is wrong with the command line, prints the help to stderr and
 * exits EXIT_USAGE. */
static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	term_printf(stderr, "analyze_logs: ");
	va_start(ap, fmt);
	term_vprintf(stderr, fmt, ap);
	va_end(ap);
	term_printf(stderr, "\n\n");
	usage(stderr);
	exit(EXIT_USAGE);
}

/* Reads the options into c (they may come anywhere: GNU getopt permutes;
 * "--" ends them); --help prints the help and exits 0. Returns the index
 * of the command in argv; bad usage exits. */
static int
parse_options(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "before", required_argument, NULL, 'b' },
		{ "after", required_argument, NULL, 'f' },
		{ "array", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char msg[160];
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		if (ch == 'd')
			c->db_path = optarg;
		else if (ch == 'j')
			c->json = 1;
		else if (ch == 'a')
			c->as_array = 1;
		else if (ch == 'l' || ch == 'b' || ch == 'f') {
			if (report_query_set(&c->q, ch == 'l' ? RQ_LIMIT : ch == 'b' ? RQ_BEFORE :
			    RQ_AFTER, optarg, msg, sizeof(msg)) < 0)
				usage_error("--%s", msg);
		} else if (ch == 'h') {
			usage(stdout);
			exit(0);
		} else if (optopt != 0)
			usage_error("option -%c is unknown or needs a value", optopt);
		else
			usage_error("unknown option or missing value: %s", argv[optind - 1]);
	}
	return optind;
}

/* Finds the command at argv[i] and its argument; checks the argument.
 * Bad usage exits. */
static void
parse_command(int argc, char **argv, int i, struct cli *c)
{
	char msg[160];
	int args;	/* 0, 1 (required), -1 (optional) */

	if (i >= argc)
		usage_error("which command?");
	if (strcmp(argv[i], "migrate") == 0)
		c->migrate = 1;
	else if ((c->rt = report_by_command(argv[i])) == NULL)
		usage_error("unknown command: %s", argv[i]);
	args = c->rt == NULL || c->rt->arg == RA_NONE ? 0 : c->rt->arg == RA_FILE ? -1 : 1;
	if (i + 1 < argc) {
		if (args == 0 || i + 2 < argc)
			usage_error("unexpected argument: %s", argv[args == 0 ? i + 1 : i + 2]);
		c->arg = argv[i + 1];
	}
	if (args == 1 && c->arg == NULL)
		usage_error("%s needs an argument", c->rt->command);
	if (c->rt != NULL && report_query_arg(c->rt, c->arg, &c->q, msg, sizeof(msg)) < 0)
		usage_error("%s: %s", msg, c->arg);
}

/* Opens the log for the command: read-only, but read-write (never a new
 * file) to migrate. Returns the handle, or NULL after saying why (the exit
 * status is then EXIT_NODB). */
static struct logdb *
open_log(const char *path, int migrate)
{
	enum logdb_open_error why;
	struct logdb *db;
	struct stat sb;
	char err[512];

	if (migrate) {
		if (!logdb_path_is_pg(path) && stat(path, &sb) < 0) {
			term_printf(stderr, "analyze_logs: no database at %s: %s\n", path, strerror(errno));
			return NULL;
		}
		if ((db = logdb_open(path, err, sizeof(err))) == NULL)
			term_printf(stderr, "analyze_logs: %s\n", err);
		return db;
	}
	if ((db = logdb_open_readonly(path, &why, err, sizeof(err))) != NULL)
		return db;
	if (why == LOGDB_MISSING)
		term_printf(stderr, "analyze_logs: no database at %s (give --db PATH or set "
		    "IMGSANDBOX_DB; the responder makes it on its first run)\n", path);
	else
		term_printf(stderr, "analyze_logs: %s\n", err);
	return NULL;
}

/* Prints doc as the API serves it (compact), and frees it. Returns the
 * exit status. */
static int
print_json(cJSON *doc)
{
	char *s = json_render(doc);

	cJSON_Delete(doc);
	if (s == NULL) {
		term_printf(stderr, "analyze_logs: out of memory\n");
		return 1;
	}
	term_put_json(stdout, s);
	putchar('\n');
	free(s);
	return 0;
}

/* Says why a report could not be made. Returns the exit status. */
static int
report_failed(enum report_status st, const char *what, const char *arg)
{
	if (st == REPORT_NOT_FOUND)
		term_printf(stderr, "analyze_logs: no such %s in the log: %s\n", what, arg ? arg : "");
	else
		term_printf(stderr, "analyze_logs: the %s could not be made (see the message above)\n",
		    what);
	return 1;
}

/* The export: every row to the file named (stdout: none, or "-"). Returns
 * the exit status. */
static int
run_export(struct logdb *db, const struct cli *c)
{
	FILE *out = stdout;
	int rc = 0;

	if (c->arg != NULL && strcmp(c->arg, "-") != 0 && (out = fopen(c->arg, "we")) == NULL) {
		term_printf(stderr, "analyze_logs: %s: %s\n", c->arg, strerror(errno));
		return 1;
	}
	if (c->rt->stream(db, out, c->as_array) < 0) {
		term_printf(stderr, "analyze_logs: export to %s failed\n", out == stdout ? "stdout" :
		    c->arg);
		rc = 1;
	}
	if (out != stdout && fclose(out) == EOF && rc == 0) {
		term_printf(stderr, "analyze_logs: %s: %s\n", c->arg, strerror(errno));
		rc = 1;
	}
	return rc;
}

/* Makes the command's report and prints it: its JSON (--json), its tables,
 * or its text (plain either way: what the API serves as text/plain).
 * Returns the exit status. */
static int
run_report(struct logdb *db, const struct report_env *env, const struct cli *c)
{
	/* st is filled by the call that makes the report: read it only after. */
	enum report_status st = REPORT_OK;
	const struct report *r = c->rt;
	size_t len;
	char *text;
	cJSON *doc;

	if (r->stream != NULL)
		return run_export(db, c);
	if (r->text != NULL) {
		if ((text = r->text(db, env, &len, &st)) == NULL)
			return report_failed(st, r->what, c->arg);
		term_put(stdout, text, 1);
		free(text);
		return 0;
	}
	if ((doc = r->json(db, env, &c->q, &st)) == NULL)
		return report_failed(st, r->what, c->arg);
	if (c->json || printers[r->id] == NULL)
		return print_json(doc);
	printers[r->id](doc, stdout);
	cJSON_Delete(doc);
	return 0;
}

int
main(int argc, char **argv)
{
	struct allowlist allow;
	struct report_env env;
	struct logdb *db;
	struct cli c;
	char err[512], where[1024];
	int rc;

	log_init("analyze_logs");
	memset(&c, 0, sizeof(c));
	report_query_init(&c.q);
	parse_command(argc, argv, parse_options(argc, argv, &c), &c);
	/* The same settings as the responder: paths and limits. */
	if (config_load(err, sizeof(err)) < 0) {
		term_printf(stderr, "analyze_logs: %s\n", err);
		return EXIT_USAGE;
	}
	if (c.db_path == NULL)
		c.db_path = cfg.db_path;
	memset(&env, 0, sizeof(env));
	env.packages_file = cfg.packages_file;
	env.limits.timeout_ms = cfg.timeout_ms;
	env.limits.memory_bytes = cfg.memory_bytes;
	env.limits.output_bytes = cfg.output_bytes;
	memset(&allow, 0, sizeof(allow));
	env.allow = &allow;
	if ((db = open_log(c.db_path, c.migrate)) == NULL)
		return EXIT_NODB;
	/* The reports that teach name only what the allow-list holds. */
	if (c.rt != NULL && (c.rt->id == REPORT_RECOMMENDATIONS || c.rt->id == REPORT_CONTEXT ||
	    c.rt->id == REPORT_ANALYSIS || c.rt->id == REPORT_ALL) &&
	    allowlist_load(cfg.allowlist_file, &allow, err, sizeof(err)) < 0)
		term_printf(stderr, "analyze_logs: warning: no error type and no change of a fix is "
		    "named: the allow-list could not be read: %s\n", err);
	rc = c.migrate ? 0 : run_report(db, &env, &c);
	if (c.migrate)
		term_printf(stdout, "%s: schema version %d\n",
		    logdb_path_safe(c.db_path, where, sizeof(where)), LOGDB_SCHEMA_VERSION);
	logdb_close(db);
	allowlist_free(&allow);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno != EPIPE)
			term_printf(stderr, "analyze_logs: writing the output: %s\n", strerror(errno));
		rc = 1;
	}
	return rc;
}
