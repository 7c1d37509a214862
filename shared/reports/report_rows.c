#include <stdlib.h>
#include <string.h>

#include "facts/codediff.h"
#include "base/log.h"
#include "reports/report_rows.h"
#include "facts/term.h"	/* term_put_json */
#include "base/text.h"	/* session_id_valid */

#define RUN_WHOLE 1	/* code, stdout and stderr whole (else their excerpts) */
#define RUN_EXTRAS 2	/* params, timings */
#define SESSION_DIFF_BUDGET (20L * 1000 * 1000)	/* diff work of one session report */

/* ---- One row ---------------------------------------------------------------------- */

/* Adds the row's error ({type, message, line, traceback}, or null) and its
 * refusal ({code, message}, or null) to o. */
static void
outcome_add(cJSON *o, const struct run_record *r, int *bad)
{
	cJSON *e;

	if (r->error_type != NULL || r->error_message != NULL || r->traceback != NULL) {
		e = jb_obj(bad, o, "error");
		jb_str(bad, e, "type", r->error_type);
		jb_str(bad, e, "message", r->error_message);
		if (r->error_line > 0)
			jb_num(bad, e, "line", r->error_line);
		else
			jb_null(bad, e, "line");
		jb_str(bad, e, "traceback", r->traceback);
	} else
		jb_null(bad, o, "error");
	if (r->reject_code != NULL || r->reject_message != NULL) {
		e = jb_obj(bad, o, "reject");
		jb_str(bad, e, "code", r->reject_code);
		jb_str(bad, e, "message", r->reject_message);
	} else
		jb_null(bad, o, "reject");
}

/* Adds the row's code (whole, or its excerpt) with its hash and size to o. */
static void
code_add(cJSON *o, const struct logdb_run *run, int whole, int *bad)
{
	const struct run_record *r = &run->rec;
	size_t len = r->code ? r->code_len : 0;

	if (!whole)
		len = logdb_excerpt_len(r->code, len, LOGDB_EXCERPT_CODE);
	jb_text(bad, o, whole ? "code" : "code_excerpt", r->code, len);
	/* The code as sent was longer than what is shown: a list's excerpt,
	 * or a refused request's code, of which only the head is kept. */
	jb_bool(bad, o, "code_truncated", r->code != NULL && run->code_bytes > (int64_t)len);
	jb_str_ne(bad, o, "code_sha256", run->code_sha256);
	jb_num(bad, o, "code_bytes", (double)(run->code_bytes > 0 ? run->code_bytes : 0));
}

/* Adds the row's image and what came with the request to o. */
static void
request_add(cJSON *o, const struct logdb_run *run, int *bad)
{
	const struct run_record *r = &run->rec;
	cJSON *e;

	if (r->image_type != NULL || r->image_bytes > 0) {
		e = jb_obj(bad, o, "image");
		jb_str(bad, e, "type", r->image_type);
		jb_num(bad, e, "bytes", (double)r->image_bytes);
		jb_num(bad, e, "width", r->image_width);
		jb_num(bad, e, "height", r->image_height);
	} else
		jb_null(bad, o, "image");
	jb_bool(bad, o, "use_sample", r->use_sample);
	jb_str(bad, o, "ai_model", r->ai_model);
	if (r->ai_lessons < 0)
		jb_null(bad, o, "ai_lessons");
	else
		jb_bool(bad, o, "ai_lessons", r->ai_lessons);
	jb_str(bad, o, "user_prompt", r->user_prompt);
	jb_bool(bad, o, "truncated", r->truncated);
}

/* Adds the row's params and timings (the responder's own JSON, shown as an
 * object) to o. */
static void
extras_add(cJSON *o, const struct run_record *r, int *bad)
{
	cJSON *t;

	jb_str(bad, o, "params", r->params);
	if (r->timings_json != NULL && (t = cJSON_Parse(r->timings_json)) != NULL &&
	    cJSON_IsObject(t))
		cJSON_AddItemToObject(o, "timings", t);
	else {
		if (r->timings_json != NULL)
			cJSON_Delete(t);
		jb_null(bad, o, "timings");
	}
}

/* Returns the row as the API shows it (flags: RUN_WHOLE, RUN_EXTRAS), or
 * NULL when memory ran out; sets *bad when any of it could not be made.
 * Without RUN_WHOLE the code and the streams are excerpts (a row of a list
 * carries at most some KiB of each text; the whole is GET log/<id>'s). */
static cJSON *
run_json(const struct logdb_run *run, int flags, int *bad)
{
	const struct run_record *r = &run->rec;
	int whole = (flags & RUN_WHOLE) != 0;
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL) {
		*bad = 1;
		return NULL;
	}
	jb_num(bad, o, "log_id", (double)run->id);
	jb_str(bad, o, "job_id", r->job_id);
	jb_str(bad, o, "session_id", r->session_id);
	jb_num(bad, o, "attempt", run->attempt);
	jb_id(bad, o, "previous_attempt_id", r->previous_attempt_id);
	jb_str(bad, o, "created_at", run->created_at);
	jb_str(bad, o, "status", r->status);
	jb_num(bad, o, "http_status", r->http_status);
	if (r->exit_code >= 0)
		jb_num(bad, o, "exit_code", r->exit_code);
	else
		jb_null(bad, o, "exit_code");
	jb_num(bad, o, "duration_ms", (double)r->duration_ms);
	jb_str_ne(bad, o, "category", run->category);
	jb_str_ne(bad, o, "pattern", run->category[0] ? run->pattern : NULL);
	jb_id(bad, o, "fixed_by", run->fixed_by);
	outcome_add(o, r, bad);
	code_add(o, run, whole, bad);
	request_add(o, run, bad);
	if (flags & RUN_EXTRAS)
		extras_add(o, r, bad);
	jb_str(bad, o, whole ? "stdout" : "stdout_excerpt", r->stdout_text);
	jb_str(bad, o, whole ? "stderr" : "stderr_excerpt", r->stderr_text);
	return o;
}

cJSON *
report_run_json(const struct logdb_run *run, int whole)
{
	int bad = 0;
	cJSON *o = run_json(run, whole ? RUN_WHOLE | RUN_EXTRAS : 0, &bad);

	if (bad) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- Pages ------------------------------------------------------------------------ */

cJSON *
report_page(struct logdb *db, enum logdb_filter f, int64_t before, int limit,
    enum report_status *st)
{
	static const char *const names[] = { [LOGDB_FAILURES] = "failures",
		[LOGDB_UNFIXED] = "unfixed", [LOGDB_SUCCESSES] = "successes", [LOGDB_ALL] = "all" };
	struct logdb_run *runs = NULL;
	struct report_budget b;
	cJSON *doc, *a, *x;
	size_t n = 0, i, shown = 0;
	int bad = 0;

	*st = REPORT_OK;
	limit = report_clamp_limit(limit);
	report_budget_init(&b);
	if ((unsigned)f > LOGDB_ALL)
		return report_finish(NULL, 1, st, "page");
	if ((doc = cJSON_CreateObject()) == NULL ||
	    logdb_get_page(db, f, before, (size_t)limit, &runs, &n) < 0)
		return report_finish(doc, 1, st, "page");
	jb_str(&bad, doc, "filter", names[f]);
	jb_num(&bad, doc, "limit", limit);
	jb_id(&bad, doc, "before", before);
	a = cJSON_CreateArray();
	for (i = 0; i < n && a != NULL && !b.cut; i++) {
		if ((x = run_json(&runs[i], 0, &bad)) == NULL)
			break;
		if (!report_budget_take(&b, x)) {
			cJSON_Delete(x);
			break;
		}
		cJSON_AddItemToArray(a, x);
		shown++;
	}
	jb_num(&bad, doc, "count", (double)shown);
	if (a == NULL)
		bad = 1;
	else
		cJSON_AddItemToObject(doc, "items", a);
	/* The page was cut short to stay under REPORT_ANSWER_MAX. */
	jb_bool(&bad, doc, "cut", b.cut);
	/* The next page starts below the oldest row of this one. */
	jb_id(&bad, doc, "next_before", shown > 0 && (b.cut || n == (size_t)limit) ?
	    runs[shown - 1].id : 0);
	logdb_runs_free(runs, n);
	return report_finish(doc, bad, st, "page");
}

/* ---- Sessions ----------------------------------------------------------------------- */

/* Adds to o the imports b added to a's and removed from them. */
static void
imports_add(cJSON *o, const struct logdb_run *a, const struct logdb_run *b, int *bad)
{
	struct import_set *ia = NULL, *ib = NULL;
	struct import_diff *d = NULL;
	cJSON *x;
	size_t i;

	if ((ia = malloc(sizeof(*ia))) == NULL || (ib = malloc(sizeof(*ib))) == NULL ||
	    (d = malloc(sizeof(*d))) == NULL) {
		*bad = 1;
		goto out;
	}
	codediff_imports(a->rec.code, a->rec.code ? a->rec.code_len : 0, ia);
	codediff_imports(b->rec.code, b->rec.code ? b->rec.code_len : 0, ib);
	codediff_import_diff(ia, ib, d);
	x = jb_arr(bad, o, "imports_added");
	for (i = 0; i < d->n_added; i++)
		jb_push_str(bad, x, d->added[i]);
	x = jb_arr(bad, o, "imports_removed");
	for (i = 0; i < d->n_removed; i++)
		jb_push_str(bad, x, d->removed[i]);
out:
	free(ia);
	free(ib);
	free(d);
}

/* Adds to o what changed from run a to run b: lines (sharing *budget of
 * diff work), imports, and whether the code is the same. When either code
 * is not whole (a refused request's, or past the session's budget) the
 * counts are null and the imports empty ("approximate"). */
static void
changes_add(cJSON *o, const struct logdb_run *a, const struct logdb_run *b, long *budget,
    int *bad)
{
	struct line_diff ld;

	jb_id(bad, o, "from_log_id", a->id);
	jb_bool(bad, o, "same_code", a->code_sha256[0] &&
	    strcmp(a->code_sha256, b->code_sha256) == 0);
	if ((a->rec.code != NULL && !a->code_whole) || (b->rec.code != NULL && !b->code_whole)) {
		jb_null(bad, o, "lines_added");
		jb_null(bad, o, "lines_removed");
		jb_bool(bad, o, "approximate", 1);
		jb_arr(bad, o, "imports_added");
		jb_arr(bad, o, "imports_removed");
		return;
	}
	if (codediff_lines(a->rec.code, a->rec.code_len, b->rec.code, b->rec.code_len, &ld,
	    budget) < 0)
		ld.approximate = 1;
	jb_num(bad, o, "lines_added", (double)ld.added);
	jb_num(bad, o, "lines_removed", (double)ld.removed);
	jb_bool(bad, o, "approximate", ld.approximate);
	imports_add(o, a, b, bad);
}

/* A session report being made. */
struct session_doc {
	cJSON *attempts, *fixes, *unfixed;
	int64_t nfixed, nunfixed;
	long budget;			/* diff work left */
	struct report_budget room;	/* of the answer */
	int bad;
};

/* Returns the fix of failure runs[i] (the session's rows[0..n)): which
 * attempt fixed it and what that attempt changed; NULL when memory ran
 * out. */
static cJSON *
fix_json(struct session_doc *s, const struct logdb_run *runs, size_t n, size_t i)
{
	const struct logdb_run *f = &runs[i];
	cJSON *c;
	size_t j;

	if ((c = cJSON_CreateObject()) == NULL) {
		s->bad = 1;
		return NULL;
	}
	jb_num(&s->bad, c, "failure_log_id", (double)f->id);
	jb_num(&s->bad, c, "failure_attempt", f->attempt);
	jb_num(&s->bad, c, "fixed_by_log_id", (double)f->fixed_by);
	jb_str(&s->bad, c, "category", f->category);
	jb_str(&s->bad, c, "type", f->rec.error_type);
	jb_str(&s->bad, c, "pattern", f->pattern);
	for (j = i + 1; j < n && runs[j].id != f->fixed_by; j++)
		;
	if (j < n) {
		jb_num(&s->bad, c, "fixed_by_attempt", runs[j].attempt);
		changes_add(jb_obj(&s->bad, c, "changes"), f, &runs[j], &s->budget, &s->bad);
	} else {
		jb_null(&s->bad, c, "fixed_by_attempt");
		jb_null(&s->bad, c, "changes");
	}
	return c;
}

/* Adds attempt runs[i] to s: the row with what changed since the one
 * before, and when it failed, to the fixes or the unfixed. Returns 1, 0
 * when the answer has no room left for it (s->room.cut), or -1 when memory
 * ran out. */
static int
attempt_add(struct session_doc *s, const struct logdb_run *runs, size_t n, size_t i)
{
	cJSON *x, *fix = NULL;

	if ((x = run_json(&runs[i], RUN_EXTRAS, &s->bad)) == NULL)
		return -1;
	if (i == 0)
		jb_null(&s->bad, x, "changes");
	else
		changes_add(jb_obj(&s->bad, x, "changes"), &runs[i - 1], &runs[i], &s->budget,
		    &s->bad);
	if (runs[i].category[0] != '\0' && runs[i].fixed_by != 0 &&
	    (fix = fix_json(s, runs, n, i)) == NULL)
		goto fail;
	if (!report_budget_take(&s->room, x) || (fix != NULL &&
	    !report_budget_take(&s->room, fix))) {
		cJSON_Delete(x);
		cJSON_Delete(fix);
		return 0;
	}
	cJSON_AddItemToArray(s->attempts, x);
	if (fix != NULL) {
		s->nfixed++;
		cJSON_AddItemToArray(s->fixes, fix);
	} else if (runs[i].category[0] != '\0') {
		s->nunfixed++;
		jb_push_num(&s->bad, s->unfixed, (double)runs[i].id);
	}
	return 1;
fail:
	cJSON_Delete(x);
	return -1;
}

/* Returns the session document of runs[0..n), the attempts after `after`
 * (total: the session's attempt count), or NULL; sets *bad when any of it
 * could not be made. */
static cJSON *
session_json(const char *session_id, const struct logdb_run *runs, size_t n, int64_t after,
    int64_t total, int *bad)
{
	struct session_doc s = { NULL, NULL, NULL, 0, 0, SESSION_DIFF_BUDGET, { 0, 0 }, 0 };
	cJSON *doc;
	size_t i, shown = 0;
	int64_t last;

	report_budget_init(&s.room);
	if ((doc = cJSON_CreateObject()) == NULL) {
		*bad = 1;
		return NULL;
	}
	jb_str(&s.bad, doc, "session_id", session_id);
	jb_num(&s.bad, doc, "attempt_count", (double)total);
	jb_id(&s.bad, doc, "after", after);
	/* Attempts whose rows retention let go (the oldest go first). */
	jb_num(&s.bad, doc, "attempts_retired", (double)(runs[0].attempt - after - 1));
	s.attempts = cJSON_CreateArray();
	s.fixes = cJSON_CreateArray();
	s.unfixed = cJSON_CreateArray();
	if (s.attempts == NULL || s.fixes == NULL || s.unfixed == NULL)
		s.bad = 1;
	for (i = 0; i < n && !s.bad && attempt_add(&s, runs, n, i) > 0; i++)
		shown++;
	last = shown > 0 ? runs[shown - 1].attempt : after;
	jb_num(&s.bad, doc, "shown", (double)shown);
	jb_bool(&s.bad, doc, "truncated", last < total);
	jb_bool(&s.bad, doc, "cut", s.room.cut);
	jb_id(&s.bad, doc, "next_after", last < total ? last : 0);
	jb_str(&s.bad, doc, "last_status", runs[n - 1].rec.status);
	jb_num(&s.bad, doc, "failures_fixed", (double)s.nfixed);
	jb_num(&s.bad, doc, "failures_unfixed", (double)s.nunfixed);
	/* In the order of old: attempts, then fixes and unfixed. */
	if (s.attempts != NULL)
		cJSON_AddItemToObject(doc, "attempts", s.attempts);
	if (s.fixes != NULL)
		cJSON_AddItemToObject(doc, "fixes", s.fixes);
	if (s.unfixed != NULL)
		cJSON_AddItemToObject(doc, "unfixed", s.unfixed);
	*bad |= s.bad;
	return doc;
}

cJSON *
report_session(struct logdb *db, const char *session_id, int64_t after,
    enum report_status *st)
{
	struct logdb_run *runs = NULL;
	int64_t total = 0;
	cJSON *doc = NULL;
	size_t n = 0;
	int bad = 0;

	*st = REPORT_OK;
	if (session_id == NULL || !session_id_valid(session_id, strlen(session_id))) {
		*st = REPORT_NOT_FOUND;
		return NULL;
	}
	if (logdb_read_begin(db) < 0)
		return report_finish(NULL, 1, st, "session");
	if (logdb_get_session(db, session_id, after, REPORT_SESSION_MAX, &runs, &n, &total) < 0)
		bad = 1;
	else if (n == 0)
		*st = REPORT_NOT_FOUND;
	else
		doc = session_json(session_id, runs, n, after, total, &bad);
	logdb_runs_free(runs, n);
	logdb_read_end(db);
	if (*st == REPORT_NOT_FOUND)
		return NULL;
	return report_finish(doc, bad, st, "session");
}

/* ---- One log, the export ------------------------------------------------------------ */

cJSON *
report_log(struct logdb *db, int64_t id, enum report_status *st)
{
	struct logdb_run run;
	cJSON *doc;
	int rc, bad = 0;

	*st = REPORT_OK;
	if ((rc = logdb_get_run(db, id, &run)) < 0)
		return report_finish(NULL, 1, st, "log");
	if (rc == 0) {
		*st = REPORT_NOT_FOUND;
		return NULL;
	}
	doc = run_json(&run, RUN_WHOLE | RUN_EXTRAS, &bad);
	logdb_run_free(&run);
	return report_finish(doc, bad, st, "log");
}

/* Where the export stands. */
struct export_ctx {
	FILE *fp;
	int as_array;
	size_t n;
};

/* Writes one row (logdb_foreach's callback). Returns 0, or -1 to stop. */
static int
export_row(const struct logdb_run *run, void *arg)
{
	struct export_ctx *e = arg;
	cJSON *o;
	char *s;
	int rc = 0;

	if ((o = report_run_json(run, 1)) == NULL || (s = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		log_warnx("report: export: out of memory");
		return -1;
	}
	if (e->as_array && fputs(e->n == 0 ? "[\n" : ",\n", e->fp) == EOF)
		rc = -1;
	/* As JSON, with nothing a terminal acts on (C1 escaped too). */
	if (rc == 0) {
		term_put_json(e->fp, s);
		if (ferror(e->fp) || (!e->as_array && fputc('\n', e->fp) == EOF))
			rc = -1;
	}
	e->n++;
	free(s);
	cJSON_Delete(o);
	return rc;
}

int
report_export(struct logdb *db, FILE *fp, int as_array)
{
	struct export_ctx e = { fp, as_array, 0 };
	int rc;

	rc = logdb_foreach(db, export_row, &e);
	if (rc == 0 && as_array && fputs(e.n == 0 ? "[]\n" : "\n]\n", fp) == EOF)
		rc = -1;
	if (fflush(fp) == EOF || ferror(fp))
		rc = -1;
	return rc != 0 ? -1 : 0;
}
