/*
 * reports: the summary, the error patterns, the analysis, the per-model
 * figures and the tool's "all", each from the aggregates the store keeps at
 * insert (no scan of the log), each one snapshot of it.
 */
#include <stdlib.h>
#include <string.h>

#include "reports/advice.h"
#include "reports/report_rows.h"
#include "reports/reports.h"

/* ---- Summary -------------------------------------------------------------------- */

static const char *const statuses[] = { "success", "error", "timeout", "oom", "no_output",
	"bad_output", "output_limit", "rejected", NULL };

/* The duration at quantile q, interpolated inside its histogram bucket. */
static int64_t
percentile(const int64_t hist[LOGDB_DURATION_BUCKETS], int64_t total, double q, int64_t max)
{
	double target = q * (double)total, cum = 0, lo, hi, v;
	int i;

	if (total <= 0)
		return 0;
	for (i = 0; i < LOGDB_DURATION_BUCKETS; i++) {
		if (hist[i] > 0 && cum + (double)hist[i] >= target) {
			lo = i > 0 ? (double)logdb_duration_bound(i - 1) : 0;
			hi = i < LOGDB_DURATION_BUCKETS - 1 ? (double)logdb_duration_bound(i) :
			    (double)max;
			if (hi > (double)max)
				hi = (double)max;
			if (lo > hi)
				lo = hi;
			v = lo + (target - cum) / (double)hist[i] * (hi - lo);
			return (int64_t)(v + 0.5);
		}
		cum += (double)hist[i];
	}
	return max;
}

/* Adds the totals and the outcomes by status to o. */
static void
outcomes_add(struct logdb *db, cJSON *o, const struct logdb_totals *t, int *bad)
{
	struct logdb_count c[LOGDB_DURATION_BUCKETS + 16];
	cJSON *by, *x;
	size_t n, i;

	jb_num(bad, o, "total", (double)t->runs);
	jb_num(bad, o, "successes", (double)t->successes);
	jb_num(bad, o, "failures", (double)t->failures);
	jb_num(bad, o, "success_rate", report_rate(t->successes, t->runs));
	by = jb_obj(bad, o, "by_status");
	for (i = 0; statuses[i] != NULL; i++)
		jb_num(bad, by, statuses[i], 0);
	if (logdb_get_counts(db, LOGDB_BY_STATUS, c, sizeof(c) / sizeof(c[0]), &n) < 0)
		*bad = 1;
	for (i = 0; i < n && by != NULL; i++) {
		if ((x = cJSON_GetObjectItemCaseSensitive(by, c[i].key)) != NULL)
			cJSON_SetNumberValue(x, (double)c[i].n);
		else
			jb_num(bad, by, c[i].key, (double)c[i].n);
	}
}

/* Adds the fixes of failures and of sessions to o. */
static void
fixes_add(cJSON *o, const struct logdb_totals *t, int *bad)
{
	cJSON *s;

	jb_num(bad, o, "failures_fixed", (double)t->fixed);
	jb_num(bad, o, "failures_unfixed", (double)(t->failures - t->fixed));
	jb_num(bad, o, "fix_rate", report_rate(t->fixed, t->failures));
	s = jb_obj(bad, o, "sessions");
	jb_num(bad, s, "total", (double)t->sessions);
	jb_num(bad, s, "with_failures", (double)t->sessions_failed);
	jb_num(bad, s, "fixed", (double)(t->sessions_failed - t->sessions_unfixed));
	jb_num(bad, s, "unfixed", (double)t->sessions_unfixed);
	jb_num(bad, s, "fix_rate", report_rate(t->sessions_failed - t->sessions_unfixed,
	    t->sessions_failed));
}

/* Fills hist with the runs per duration bucket. Returns 0 or -1. */
static int
histogram_read(struct logdb *db, int64_t hist[LOGDB_DURATION_BUCKETS])
{
	struct logdb_count c[LOGDB_DURATION_BUCKETS + 16];
	int64_t bound;
	size_t n, i;
	int b;

	memset(hist, 0, LOGDB_DURATION_BUCKETS * sizeof(hist[0]));
	if (logdb_get_counts(db, LOGDB_BY_DURATION, c, sizeof(c) / sizeof(c[0]), &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(c[i].key, "inf") == 0) {
			hist[LOGDB_DURATION_BUCKETS - 1] += c[i].n;
			continue;
		}
		bound = strtoll(c[i].key, NULL, 10);
		for (b = 0; b < LOGDB_DURATION_BUCKETS - 1; b++)
			if (logdb_duration_bound(b) == bound)
				hist[b] += c[i].n;
	}
	return 0;
}

/* Adds the durations of the runs that ran to o: average, quantiles, max,
 * the histogram's non-empty buckets. */
static void
durations_add(struct logdb *db, cJSON *o, const struct logdb_totals *t, int *bad)
{
	int64_t hist[LOGDB_DURATION_BUCKETS];
	cJSON *d, *h, *x;
	int b;

	if (histogram_read(db, hist) < 0)
		*bad = 1;
	d = jb_obj(bad, o, "duration_ms");
	jb_num(bad, d, "runs", (double)t->ran);
	jb_num(bad, d, "avg", t->ran > 0 ? (double)(t->dur_sum / t->ran) : 0);
	jb_num(bad, d, "p50", (double)percentile(hist, t->ran, 0.50, t->dur_max));
	jb_num(bad, d, "p95", (double)percentile(hist, t->ran, 0.95, t->dur_max));
	jb_num(bad, d, "max", (double)t->dur_max);
	h = jb_arr(bad, d, "histogram");
	for (b = 0; b < LOGDB_DURATION_BUCKETS; b++) {
		if (hist[b] == 0)
			continue;
		x = jb_push_obj(bad, h);
		if (b < LOGDB_DURATION_BUCKETS - 1)
			jb_num(bad, x, "le", (double)logdb_duration_bound(b));
		else
			jb_null(bad, x, "le");
		jb_num(bad, x, "count", (double)hist[b]);
	}
}

/* Returns the summary object (NULL when memory ran out); sets *bad when
 * any of it could not be made. */
static cJSON *
summary_json(struct logdb *db, int *bad)
{
	struct logdb_totals t;
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL || logdb_get_totals(db, &t) < 0) {
		*bad = 1;
		return o;
	}
	outcomes_add(db, o, &t, bad);
	fixes_add(o, &t, bad);
	durations_add(db, o, &t, bad);
	jb_num(bad, o, "distinct_patterns", (double)t.patterns);
	jb_str_ne(bad, o, "first_at", t.first_at);
	jb_str_ne(bad, o, "last_at", t.last_at);
	/* Retention: the figures above count every run; the rows of the
	 * oldest ones were let go, and rows are kept from rows_kept_since. */
	jb_num(bad, o, "rows_retired", (double)t.rows_retired);
	jb_str_ne(bad, o, "rows_kept_since", t.kept_since);
	return o;
}

cJSON *
report_summary(struct logdb *db, enum report_status *st)
{
	cJSON *doc;
	int bad = 0;

	*st = REPORT_OK;
	if (logdb_read_begin(db) < 0)
		return report_finish(NULL, 1, st, "summary");
	doc = summary_json(db, &bad);
	logdb_read_end(db);
	return report_finish(doc, bad, st, "summary");
}

/* ---- Categories and patterns -------------------------------------------------- */

/* Adds to parent, under name, the failure categories with their share of
 * the failures and their fix rates. Sets *bad when it could not. */
static void
categories_add(struct logdb *db, cJSON *parent, const char *name, int64_t failures, int *bad)
{
	struct logdb_count c[32];
	cJSON *a, *x;
	size_t n, i;

	a = jb_arr(bad, parent, name);
	if (logdb_get_counts(db, LOGDB_BY_CATEGORY, c, 32, &n) < 0) {
		*bad = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		x = jb_push_obj(bad, a);
		jb_str(bad, x, "category", c[i].key);
		jb_num(bad, x, "count", (double)c[i].n);
		jb_num(bad, x, "share", report_rate(c[i].n, failures));
		jb_num(bad, x, "fixed", (double)c[i].fixed);
		jb_num(bad, x, "fix_rate", report_rate(c[i].fixed, c[i].n));
		jb_id(bad, x, "example_log_id", c[i].last_id);
		jb_str_ne(bad, x, "last_seen", c[i].last_at);
	}
}

/* Adds one error pattern's fields to object x. */
static void
pattern_fields(cJSON *x, const struct logdb_pattern *p, int *bad)
{
	jb_str(bad, x, "category", p->category);
	jb_str_ne(bad, x, "type", p->error_type);
	jb_str(bad, x, "pattern", p->pattern);
	jb_num(bad, x, "count", (double)p->n);
	jb_num(bad, x, "fixed", (double)p->fixed);
	jb_num(bad, x, "fix_rate", report_rate(p->fixed, p->n));
	jb_id(bad, x, "example_log_id", p->last_id);
	jb_str_ne(bad, x, "example_job_id", p->last_job);
	jb_id(bad, x, "first_log_id", p->first_id);
	jb_str_ne(bad, x, "last_seen", p->last_at);
}

/* Adds to parent, under name, the limit most frequent error patterns, as
 * many as b has room for. */
static void
patterns_add(struct logdb *db, cJSON *parent, const char *name, int limit,
    struct report_budget *b, int *bad)
{
	struct logdb_pattern *p;
	cJSON *a, *x;
	size_t n, i;

	a = jb_arr(bad, parent, name);
	if ((p = calloc((size_t)limit, sizeof(*p))) == NULL ||
	    logdb_get_patterns(db, p, (size_t)limit, &n) < 0) {
		*bad = 1;
		free(p);
		return;
	}
	for (i = 0; i < n && a != NULL && !b->cut; i++) {
		if ((x = cJSON_CreateObject()) == NULL) {
			*bad = 1;
			break;
		}
		pattern_fields(x, &p[i], bad);
		if (report_budget_take(b, x))
			cJSON_AddItemToArray(a, x);
		else
			cJSON_Delete(x);
	}
	free(p);
}

cJSON *
report_error_patterns(struct logdb *db, int limit, enum report_status *st)
{
	struct report_budget b;
	struct logdb_totals t;
	cJSON *doc;
	int bad = 0;

	*st = REPORT_OK;
	limit = report_clamp_limit(limit);
	report_budget_init(&b);
	if (logdb_read_begin(db) < 0)
		return report_finish(NULL, 1, st, "error patterns");
	if ((doc = cJSON_CreateObject()) == NULL || logdb_get_totals(db, &t) < 0)
		bad = 1;
	else {
		jb_num(&bad, doc, "failures", (double)t.failures);
		jb_num(&bad, doc, "distinct_patterns", (double)t.patterns);
		categories_add(db, doc, "categories", t.failures, &bad);
		patterns_add(db, doc, "patterns", limit, &b, &bad);
		jb_bool(&bad, doc, "cut", b.cut);
	}
	logdb_read_end(db);
	return report_finish(doc, bad, st, "error patterns");
}

/* ---- The analysis ------------------------------------------------------------------ */

/* Adds the trend by day (the last REPORT_TREND_DAYS, oldest first) to doc. */
static void
trend_add(struct logdb *db, cJSON *doc, int *bad)
{
	struct logdb_count c[REPORT_TREND_DAYS];
	cJSON *a, *x;
	size_t n, i;

	a = jb_arr(bad, doc, "trend");
	if (logdb_get_counts(db, LOGDB_BY_DAY, c, REPORT_TREND_DAYS, &n) < 0)
		*bad = 1;
	for (i = n; i-- > 0; ) {
		x = jb_push_obj(bad, a);
		jb_str(bad, x, "day", c[i].key);
		jb_num(bad, x, "runs", (double)c[i].n);
		jb_num(bad, x, "failures", (double)c[i].failures);
		jb_num(bad, x, "fixed", (double)c[i].fixed);
		jb_num(bad, x, "success_rate", report_rate(c[i].n - c[i].failures, c[i].n));
	}
}

/* Adds the runs by AI model (the 20 most used) to doc. */
static void
models_add(struct logdb *db, cJSON *doc, int *bad)
{
	struct logdb_count c[20];
	cJSON *a, *x;
	size_t n, i;

	a = jb_arr(bad, doc, "models");
	if (logdb_get_counts(db, LOGDB_BY_MODEL, c, 20, &n) < 0)
		*bad = 1;
	for (i = 0; i < n; i++) {
		x = jb_push_obj(bad, a);
		jb_str_ne(bad, x, "ai_model", c[i].key);
		jb_num(bad, x, "runs", (double)c[i].n);
		jb_num(bad, x, "failures", (double)c[i].failures);
		jb_num(bad, x, "fixed", (double)c[i].fixed);
		jb_num(bad, x, "success_rate", report_rate(c[i].n - c[i].failures, c[i].n));
	}
}

cJSON *
report_analysis(struct logdb *db, const struct report_env *env, int limit,
    enum report_status *st)
{
	struct report_budget b;
	struct logdb_totals t;
	struct advice a;
	cJSON *doc = NULL;
	int bad = 0;

	*st = REPORT_OK;
	limit = report_clamp_limit(limit);
	report_budget_init(&b);
	memset(&a, 0, sizeof(a));
	if (logdb_read_begin(db) < 0)
		return report_finish(NULL, 1, st, "analysis");
	if ((doc = cJSON_CreateObject()) == NULL || logdb_get_totals(db, &t) < 0 ||
	    advice_build(db, env, &a) < 0) {
		bad = 1;
		goto out;
	}
	cJSON_AddItemToObject(doc, "summary", summary_json(db, &bad));
	categories_add(db, doc, "categories", t.failures, &bad);
	trend_add(db, doc, &bad);
	models_add(db, doc, &bad);
	jb_num(&bad, doc, "distinct_patterns", (double)t.patterns);
	report_budget_take(&b, doc);	/* the room of what is there so far */
	patterns_add(db, doc, "error_patterns", limit, &b, &bad);
	advice_add_recommendations(&a, doc, "recommendations", limit, &b, &bad);
	advice_add_lessons(&a, doc, "lessons", limit, &b, &bad);
	jb_bool(&bad, doc, "cut", b.cut);
out:
	advice_free(&a);
	logdb_read_end(db);
	return report_finish(doc, bad, st, "analysis");
}

cJSON *
report_all(struct logdb *db, const struct report_env *env, int limit, int64_t before,
    enum report_status *st)
{
	cJSON *doc, *analysis, *unfixed = NULL;

	if ((analysis = report_analysis(db, env, limit, st)) == NULL ||
	    (unfixed = report_page(db, LOGDB_UNFIXED, before, limit, st)) == NULL)
		goto fail;
	if ((doc = cJSON_CreateObject()) == NULL)
		goto fail;
	cJSON_AddItemToObject(doc, "analysis", analysis);
	cJSON_AddItemToObject(doc, "unfixed", unfixed);
	return doc;
fail:
	cJSON_Delete(analysis);
	cJSON_Delete(unfixed);
	if (*st == REPORT_OK)
		*st = REPORT_FAILED;
	return NULL;
}

/* ---- Per model -------------------------------------------------------------------- */

/* Returns the median of the attempts in hist (its n sessions), or -1. */
static double
hist_median(const int64_t *hist, int64_t n)
{
	int64_t seen = 0, lo = (n + 1) / 2, hi = n / 2 + 1;
	double a = -1;
	int k;

	if (n <= 0)
		return -1;
	for (k = 0; k <= LOGDB_ATTEMPTS_CAP; k++) {
		if (a < 0 && seen + hist[k] >= lo)
			a = k;
		if (seen + hist[k] >= hi)
			return (a + k) / 2;
		seen += hist[k];
	}
	return a;
}

/* Adds the figures of part p to object o. */
static void
model_figures(cJSON *o, const struct logdb_model_part *p, int *bad)
{
	cJSON *x;
	double median;

	jb_num(bad, o, "runs", (double)p->runs);
	jb_num(bad, o, "failures", (double)p->failures);
	jb_num(bad, o, "failures_fixed", (double)p->fixed);
	jb_num(bad, o, "fix_rate", report_rate(p->fixed, p->failures));
	jb_num(bad, o, "sessions", (double)p->sessions);
	jb_num(bad, o, "first_attempt_successes", (double)p->first_ok);
	jb_num(bad, o, "first_attempt_success_rate", report_rate(p->first_ok, p->sessions));
	jb_num(bad, o, "sessions_succeeded", (double)p->succeeded);
	x = jb_obj(bad, o, "attempts_to_success");
	if (p->succeeded > 0) {
		jb_num(bad, x, "mean", (double)(int64_t)((double)p->attempts_sum /
		    (double)p->succeeded * 100 + 0.5) / 100);
		median = hist_median(p->hist, p->succeeded);
		if (median >= 0)
			jb_num(bad, x, "median", median);
		else
			jb_null(bad, x, "median");
	} else {
		jb_null(bad, x, "mean");
		jb_null(bad, x, "median");
	}
}

/* Returns model m as the API shows it: its figures, and the same by
 * ai_lessons (NULL when memory ran out: *bad set). */
static cJSON *
model_json(const struct logdb_model *m, int *bad)
{
	static const char *const parts[3] = { "unknown", "without", "with" };
	struct logdb_model_part all;
	cJSON *o, *by;
	int k, a;

	if ((o = cJSON_CreateObject()) == NULL) {
		*bad = 1;
		return NULL;
	}
	memset(&all, 0, sizeof(all));
	for (k = 0; k < 3; k++) {
		all.runs += m->part[k].runs;
		all.failures += m->part[k].failures;
		all.fixed += m->part[k].fixed;
		all.sessions += m->part[k].sessions;
		all.first_ok += m->part[k].first_ok;
		all.succeeded += m->part[k].succeeded;
		all.attempts_sum += m->part[k].attempts_sum;
		for (a = 0; a <= LOGDB_ATTEMPTS_CAP; a++)
			all.hist[a] += m->part[k].hist[a];
	}
	jb_str(bad, o, "ai_model", m->model);
	model_figures(o, &all, bad);
	by = jb_obj(bad, o, "by_lessons");
	for (k = 2; k >= 0; k--)
		model_figures(jb_obj(bad, by, parts[k]), &m->part[k], bad);
	return o;
}

cJSON *
report_models(struct logdb *db, int limit, enum report_status *st)
{
	struct logdb_model *m;
	struct report_budget b;
	cJSON *doc, *a, *x;
	size_t n = 0, i, shown = 0;
	int bad = 0;

	*st = REPORT_OK;
	limit = report_clamp_limit(limit);
	report_budget_init(&b);
	if ((m = calloc((size_t)limit, sizeof(*m))) == NULL)
		return report_finish(NULL, 1, st, "models");
	if ((doc = cJSON_CreateObject()) == NULL || logdb_get_models(db, m, (size_t)limit, &n) < 0) {
		free(m);
		return report_finish(doc, 1, st, "models");
	}
	jb_num(&bad, doc, "limit", limit);
	a = jb_arr(&bad, doc, "models");
	for (i = 0; i < n && a != NULL && !b.cut; i++) {
		if ((x = model_json(&m[i], &bad)) == NULL)
			break;
		if (report_budget_take(&b, x)) {
			cJSON_AddItemToArray(a, x);
			shown++;
		} else
			cJSON_Delete(x);
	}
	jb_num(&bad, doc, "count", (double)shown);
	jb_bool(&bad, doc, "cut", b.cut);
	free(m);
	return report_finish(doc, bad, st, "models");
}
