#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "log.h"
#include "outbuf.h"

#define PATTERN_SCAN 500	/* patterns the recommendations look at */
#define LESSON_SCAN 400		/* lesson rows the lessons look at */

void
advice_free(struct advice *a)
{
	free(a->pats);
	free(a->lessons);
	free(a->groups);
	free(a->recs);
	memset(a, 0, sizeof(*a));
}

/* Most frequent first, then the newest example. */
static int
cmp_rec(const void *a, const void *b)
{
	const struct advice_rec *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->example_id > y->example_id ? -1 : x->example_id < y->example_id;
}

/* Most often seen first, then the newest fix. */
static int
cmp_lesson(const void *a, const void *b)
{
	const struct advice_lesson *x = a, *y = b;

	if (x->times != y->times)
		return x->times > y->times ? -1 : 1;
	return x->fix_id > y->fix_id ? -1 : x->fix_id < y->fix_id;
}

/* Writes "`x` (3×)" or "`x`" for a change (its leading +/- dropped). */
static void
put_change(struct outbuf *o, const char *change, int64_t n)
{
	char buf[32];

	outbuf_puts(o, "`");
	outbuf_puts(o, change + 1);
	outbuf_puts(o, "`");
	if (n > 1) {
		snprintf(buf, sizeof(buf), " (%lld\xc3\x97)", (long long)n);
		outbuf_puts(o, buf);
	}
}

/* Writes the advice a lesson teaches into g->advice: "Failures with `T: p`
 * were fixed by using `.x` instead of `.y`" or "by adding ...; removing ...". */
static void
lesson_advice(struct advice_lesson *g)
{
	struct outbuf o;
	size_t i;
	int attr_swap = g->ndel > 0 && g->del[0][1] == '.' && g->nadd > 0 && g->add[0][1] == '.';

	outbuf_init(&o, g->advice, sizeof(g->advice));
	outbuf_puts(&o, "Failures with `");
	if (g->p->error_type[0]) {
		outbuf_puts(&o, g->p->error_type);
		outbuf_puts(&o, ": ");
	}
	outbuf_puts(&o, g->p->pattern);
	outbuf_puts(&o, "` were fixed by ");
	if (attr_swap) {
		outbuf_puts(&o, "using ");
		put_change(&o, g->add[0], g->add_n[0]);
		outbuf_puts(&o, " instead of ");
		put_change(&o, g->del[0], g->del_n[0]);
		i = 1;
	} else
		i = 0;
	if (!attr_swap && g->nadd > 0) {
		outbuf_puts(&o, "adding ");
		for (; i < g->nadd; i++) {
			if (i > 0)
				outbuf_puts(&o, ", ");
			put_change(&o, g->add[i], g->add_n[i]);
		}
	}
	for (i = attr_swap ? 1 : 0; i < g->ndel; i++) {
		if (i == (attr_swap ? 1u : 0u))
			outbuf_puts(&o, attr_swap || g->nadd > 0 ? "; removing " : "removing ");
		else
			outbuf_puts(&o, ", ");
		put_change(&o, g->del[i], g->del_n[i]);
	}
	outbuf_puts(&o, ".");
	if (o.full)
		memcpy(g->advice + sizeof(g->advice) - 4, "...", 4);
}

/* Builds the recommendations of a->pats: one per distinct advice, with
 * the patterns it answers. */
static void
recs_build(struct advice *a, const struct report_env *env)
{
	struct rules_ctx ctx = { &a->pk, &env->limits, NULL };
	const struct logdb_pattern *p;
	const struct rule *r;
	struct advice_rec *rc;
	char advice[ADVICE_MAX];
	size_t i, j;

	for (i = 0; i < a->npats; i++) {
		p = &a->pats[i];
		r = rules_match(p->category, p->error_type, p->pattern);
		ctx.pattern = p->pattern;
		rules_advice(advice, sizeof(advice), r, &ctx);
		for (j = 0; j < a->nrecs; j++)
			if (a->recs[j].rule == r && strcmp(a->recs[j].advice, advice) == 0)
				break;
		rc = &a->recs[j];
		if (j == a->nrecs) {
			a->nrecs++;
			rc->rule = r;
			memcpy(rc->advice, advice, sizeof(advice));
		}
		if (rc->npat < ADVICE_PATTERNS)
			rc->pat[rc->npat++] = p;
		if (rc->nids < sizeof(rc->ids) / sizeof(rc->ids[0]))
			rc->ids[rc->nids++] = p->id;
		rc->count += p->n;
		rc->fixed += p->fixed;
		if (p->last_id > rc->example_id) {
			rc->example_id = p->last_id;
			rc->example_job = p->last_job;
		}
	}
}

/* Builds the lessons of a->lessons: changes grouped by the pattern they
 * fixed, each with its advice, most often seen first. */
static void
lessons_build(struct advice *a)
{
	struct advice_lesson *g;
	struct logdb_lesson *l;
	size_t i, j;

	for (i = 0; i < a->nlessons; i++) {
		l = &a->lessons[i];
		for (j = 0; j < a->ngroups; j++)
			if (a->groups[j].p->id == l->pattern.id)
				break;
		g = &a->groups[j];
		if (j == a->ngroups) {
			a->ngroups++;
			g->p = &l->pattern;
			g->fail_id = l->example_fail_id;
			g->fix_id = l->example_fix_id;
		}
		if (l->n > g->times)
			g->times = l->n;
		if (l->change[0] == '+' && g->nadd < ADVICE_CHANGES) {
			g->add[g->nadd] = l->change;
			g->add_n[g->nadd++] = l->n;
		} else if (l->change[0] == '-' && g->ndel < ADVICE_CHANGES) {
			g->del[g->ndel] = l->change;
			g->del_n[g->ndel++] = l->n;
		}
	}
	for (j = 0; j < a->ngroups; j++)
		lesson_advice(&a->groups[j]);
	qsort(a->groups, a->ngroups, sizeof(*a->groups), cmp_lesson);
}

/* Gives each recommendation the lessons of its patterns, and sorts them. */
static void
recs_learn(struct advice *a)
{
	struct advice_rec *rc;
	size_t i, j, m;

	for (i = 0; i < a->nrecs; i++) {
		rc = &a->recs[i];
		for (j = 0; j < a->ngroups && rc->nlearnt < ADVICE_LEARNT; j++) {
			for (m = 0; m < rc->nids; m++)
				if (rc->ids[m] == a->groups[j].p->id)
					break;
			if (m < rc->nids)
				snprintf(rc->learnt[rc->nlearnt++], ADVICE_MAX, "%s",
				    a->groups[j].advice);
		}
	}
	qsort(a->recs, a->nrecs, sizeof(*a->recs), cmp_rec);
}

int
advice_build(struct logdb *db, const struct report_env *env, struct advice *a)
{
	char err[256];

	memset(a, 0, sizeof(*a));
	if (env->packages_file != NULL &&
	    packages_load(env->packages_file, &a->pk, err, sizeof(err)) < 0)
		log_warnx("advice: package list: %s", err);
	if ((a->pats = calloc(PATTERN_SCAN, sizeof(*a->pats))) == NULL ||
	    (a->lessons = calloc(LESSON_SCAN, sizeof(*a->lessons))) == NULL ||
	    (a->groups = calloc(LESSON_SCAN, sizeof(*a->groups))) == NULL ||
	    (a->recs = calloc(PATTERN_SCAN, sizeof(*a->recs))) == NULL ||
	    logdb_get_patterns(db, a->pats, PATTERN_SCAN, &a->npats) < 0 ||
	    logdb_get_lessons(db, a->lessons, LESSON_SCAN, &a->nlessons) < 0)
		return -1;
	recs_build(a, env);
	lessons_build(a);
	recs_learn(a);
	return 0;
}

void
advice_add_recommendations(const struct advice *k, cJSON *parent, const char *name,
    int limit, int *bad)
{
	const struct advice_rec *rc;
	cJSON *a, *x, *p;
	size_t i, j;

	a = jb_arr(bad, parent, name);
	for (i = 0; i < k->nrecs && i < (size_t)limit; i++) {
		rc = &k->recs[i];
		x = jb_push_obj(bad, a);
		jb_str(bad, x, "rule", rc->rule->id);
		jb_str(bad, x, "category", rc->pat[0]->category);
		jb_str_ne(bad, x, "error_type", rc->pat[0]->error_type);
		p = jb_arr(bad, x, "patterns");
		for (j = 0; j < rc->npat; j++)
			jb_push_str(bad, p, rc->pat[j]->pattern);
		jb_str(bad, x, "advice", rc->advice);
		jb_num(bad, x, "count", (double)rc->count);
		jb_num(bad, x, "fixed", (double)rc->fixed);
		jb_num(bad, x, "fix_rate", report_rate(rc->fixed, rc->count));
		jb_id(bad, x, "example_log_id", rc->example_id);
		jb_str_ne(bad, x, "example_job_id", rc->example_job);
		p = jb_arr(bad, x, "learnt");
		for (j = 0; j < rc->nlearnt; j++)
			jb_push_str(bad, p, rc->learnt[j]);
	}
}

void
advice_add_lessons(const struct advice *k, cJSON *parent, const char *name, int limit,
    int *bad)
{
	const struct advice_lesson *g;
	cJSON *a, *x, *c, *y;
	size_t i, j;

	a = jb_arr(bad, parent, name);
	for (i = 0; i < k->ngroups && i < (size_t)limit; i++) {
		g = &k->groups[i];
		x = jb_push_obj(bad, a);
		jb_str(bad, x, "category", g->p->category);
		jb_str_ne(bad, x, "type", g->p->error_type);
		jb_str(bad, x, "pattern", g->p->pattern);
		jb_num(bad, x, "times", (double)g->times);
		c = jb_arr(bad, x, "added");
		for (j = 0; j < g->nadd; j++) {
			y = jb_push_obj(bad, c);
			jb_str(bad, y, "change", g->add[j] + 1);
			jb_num(bad, y, "times", (double)g->add_n[j]);
		}
		c = jb_arr(bad, x, "removed");
		for (j = 0; j < g->ndel; j++) {
			y = jb_push_obj(bad, c);
			jb_str(bad, y, "change", g->del[j] + 1);
			jb_num(bad, y, "times", (double)g->del_n[j]);
		}
		jb_str(bad, x, "advice", g->advice);
		jb_id(bad, x, "example_fail_log_id", g->fail_id);
		jb_id(bad, x, "example_fix_log_id", g->fix_id);
	}
}

cJSON *
advice_recommendations(struct logdb *db, const struct report_env *env, int limit,
    enum report_status *st)
{
	struct advice a;
	cJSON *doc = NULL;
	int bad = 0;

	*st = REPORT_OK;
	limit = report_clamp_limit(limit);
	if (logdb_read_begin(db) < 0)
		return report_finish(NULL, 1, st, "recommendations");
	if (advice_build(db, env, &a) < 0 || (doc = cJSON_CreateObject()) == NULL)
		bad = 1;
	else {
		advice_add_recommendations(&a, doc, "recommendations", limit, &bad);
		advice_add_lessons(&a, doc, "lessons", limit, &bad);
	}
	advice_free(&a);
	logdb_read_end(db);
	return report_finish(doc, bad, st, "recommendations");
}
