#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/advice.h"
#include "base/log.h"
#include "base/outbuf.h"

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

const char *
advice_type(const struct allowlist *allow, const char *error_type)
{
	const char *t;

	if (error_type == NULL || *error_type == '\0')
		return "";
	return (t = allowlist_exception(allow, error_type)) != NULL ? t : ADVICE_OTHER_TYPE;
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

/* Writes the advice a lesson teaches into g->advice: "`T` failures (rule)
 * were fixed by using `.x` instead of `.y`" or "by adding ...; removing ...". */
static void
lesson_advice(struct advice_lesson *g)
{
	struct outbuf o;
	size_t i;
	int attr_swap = g->ndel > 0 && g->del[0][1] == '.' && g->nadd > 0 && g->add[0][1] == '.';

	outbuf_init(&o, g->advice, sizeof(g->advice));
	outbuf_puts(&o, "`");
	outbuf_puts(&o, g->type[0] ? g->type : g->category);
	outbuf_puts(&o, "` failures (");
	outbuf_puts(&o, g->rule->id);
	outbuf_puts(&o, ") were fixed by ");
	if (attr_swap) {
		outbuf_puts(&o, "using ");
		put_change(&o, g->add[0], g->add_n[0]);
		outbuf_puts(&o, " instead of ");
		put_change(&o, g->del[0], g->del_n[0]);
	}
	for (i = attr_swap ? 1 : 0; !attr_swap && i < g->nadd; i++) {
		outbuf_puts(&o, i == 0 ? "adding " : ", ");
		put_change(&o, g->add[i], g->add_n[i]);
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

/* Builds the recommendations of a->pats: one per rule, advice and type
 * shown, with the counts of the patterns it answers. */
static void
recs_build(struct advice *a, const struct report_env *env)
{
	struct rules_ctx ctx = { &a->pk, &env->limits, NULL, env->allow };
	const struct logdb_pattern *p;
	const struct rule *r;
	struct advice_rec *rc;
	char advice[ADVICE_MAX];
	const char *type;
	size_t i, j;

	for (i = 0; i < a->npats; i++) {
		p = &a->pats[i];
		r = rules_match(p->category, p->error_type, p->pattern);
		type = advice_type(env->allow, p->error_type);
		ctx.pattern = p->pattern;
		rules_advice(advice, sizeof(advice), r, &ctx);
		for (j = 0; j < a->nrecs; j++)
			if (a->recs[j].rule == r && strcmp(a->recs[j].type, type) == 0 &&
			    strcmp(a->recs[j].advice, advice) == 0)
				break;
		rc = &a->recs[j];
		if (j == a->nrecs) {
			a->nrecs++;
			rc->rule = r;
			rc->type = type;
			rc->category = p->category;
			memcpy(rc->advice, advice, sizeof(advice));
		}
		rc->count += p->n;
		rc->fixed += p->fixed;
		if (p->last_id > rc->example_id) {
			rc->example_id = p->last_id;
			rc->example_job = p->last_job;
		}
	}
}

/* Adds change (seen n times) to the list v (counts in vn, *k of them, room
 * for ADVICE_CHANGES): to its equal, or as a new one. */
static void
change_add(const char **v, int64_t *vn, size_t *k, const char *change, int64_t n)
{
	size_t i;

	for (i = 0; i < *k; i++)
		if (strcmp(v[i], change) == 0) {
			vn[i] += n;
			return;
		}
	if (*k < ADVICE_CHANGES) {
		v[*k] = change;
		vn[(*k)++] = n;
	}
}

/* Returns the lesson group of (rule, type) in a, made when new. */
static struct advice_lesson *
group_of(struct advice *a, const struct rule *r, const char *type, const struct logdb_lesson *l)
{
	struct advice_lesson *g;
	size_t j;

	for (j = 0; j < a->ngroups; j++)
		if (a->groups[j].rule == r && strcmp(a->groups[j].type, type) == 0)
			return &a->groups[j];
	g = &a->groups[a->ngroups++];
	g->rule = r;
	g->type = type;
	g->category = l->pattern.category;
	g->fail_id = l->example_fail_id;
	g->fix_id = l->example_fix_id;
	return g;
}

/* Builds the lessons of a->lessons: the changes the allow-list lets us
 * name, grouped by the rule and type of the failures they fixed, each with
 * its advice, most often seen first. */
static void
lessons_build(struct advice *a, const struct allowlist *allow)
{
	struct advice_lesson *g;
	struct logdb_lesson *l;
	size_t i, j;

	for (i = 0; i < a->nlessons; i++) {
		l = &a->lessons[i];
		if (!allowlist_change(allow, l->change))
			continue;
		g = group_of(a, rules_match(l->pattern.category, l->pattern.error_type,
		    l->pattern.pattern), advice_type(allow, l->pattern.error_type), l);
		if (l->change[0] == '+')
			change_add(g->add, g->add_n, &g->nadd, l->change, l->n);
		else
			change_add(g->del, g->del_n, &g->ndel, l->change, l->n);
	}
	for (j = 0; j < a->ngroups; j++) {
		g = &a->groups[j];
		for (i = 0; i < g->nadd; i++)
			g->times = g->add_n[i] > g->times ? g->add_n[i] : g->times;
		for (i = 0; i < g->ndel; i++)
			g->times = g->del_n[i] > g->times ? g->del_n[i] : g->times;
		lesson_advice(g);
	}
	qsort(a->groups, a->ngroups, sizeof(*a->groups), cmp_lesson);
}

/* Gives each recommendation the lessons of its rule and type, and sorts
 * them. */
static void
recs_learn(struct advice *a)
{
	struct advice_rec *rc;
	size_t i, j;

	for (i = 0; i < a->nrecs; i++) {
		rc = &a->recs[i];
		for (j = 0; j < a->ngroups && rc->nlearnt < ADVICE_LEARNT; j++)
			if (a->groups[j].rule == rc->rule && strcmp(a->groups[j].type, rc->type) == 0)
				snprintf(rc->learnt[rc->nlearnt++], ADVICE_MAX, "%s",
				    a->groups[j].advice);
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
	lessons_build(a, env->allow);
	recs_learn(a);
	return 0;
}

/* Returns recommendation rc as the API shows it (NULL: *bad set). */
static cJSON *
rec_json(const struct advice_rec *rc, int *bad)
{
	cJSON *x, *p;
	size_t j;

	if ((x = cJSON_CreateObject()) == NULL) {
		*bad = 1;
		return NULL;
	}
	jb_str(bad, x, "rule", rc->rule->id);
	jb_str(bad, x, "category", rc->category);
	jb_str_ne(bad, x, "error_type", rc->type);
	jb_str(bad, x, "advice", rc->advice);
	jb_num(bad, x, "count", (double)rc->count);
	jb_num(bad, x, "fixed", (double)rc->fixed);
	jb_num(bad, x, "fix_rate", report_rate(rc->fixed, rc->count));
	jb_id(bad, x, "example_log_id", rc->example_id);
	jb_str_ne(bad, x, "example_job_id", rc->example_job);
	p = jb_arr(bad, x, "learnt");
	for (j = 0; j < rc->nlearnt; j++)
		jb_push_str(bad, p, rc->learnt[j]);
	return x;
}

/* Returns lesson g as the API shows it (NULL: *bad set). */
static cJSON *
lesson_json(const struct advice_lesson *g, int *bad)
{
	cJSON *x, *c, *y;
	size_t j;

	if ((x = cJSON_CreateObject()) == NULL) {
		*bad = 1;
		return NULL;
	}
	jb_str(bad, x, "rule", g->rule->id);
	jb_str(bad, x, "category", g->category);
	jb_str_ne(bad, x, "type", g->type);
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
	return x;
}

/* Appends x to array a when b has room for it, else deletes it. */
static void
push_within(cJSON *a, cJSON *x, struct report_budget *b, int *bad)
{
	if (x == NULL)
		return;
	if (a == NULL || !report_budget_take(b, x)) {
		*bad |= a == NULL;
		cJSON_Delete(x);
		return;
	}
	cJSON_AddItemToArray(a, x);
}

void
advice_add_recommendations(const struct advice *k, cJSON *parent, const char *name,
    int limit, struct report_budget *b, int *bad)
{
	cJSON *a;
	size_t i;

	a = jb_arr(bad, parent, name);
	for (i = 0; i < k->nrecs && i < (size_t)limit && !b->cut; i++)
		push_within(a, rec_json(&k->recs[i], bad), b, bad);
}

void
advice_add_lessons(const struct advice *k, cJSON *parent, const char *name, int limit,
    struct report_budget *b, int *bad)
{
	cJSON *a;
	size_t i;

	a = jb_arr(bad, parent, name);
	for (i = 0; i < k->ngroups && i < (size_t)limit && !b->cut; i++)
		push_within(a, lesson_json(&k->groups[i], bad), b, bad);
}

cJSON *
advice_recommendations(struct logdb *db, const struct report_env *env, int limit,
    enum report_status *st)
{
	struct report_budget b;
	struct advice a;
	cJSON *doc = NULL;
	int bad = 0;

	*st = REPORT_OK;
	limit = report_clamp_limit(limit);
	report_budget_init(&b);
	if (logdb_read_begin(db) < 0)
		return report_finish(NULL, 1, st, "recommendations");
	if (advice_build(db, env, &a) < 0 || (doc = cJSON_CreateObject()) == NULL)
		bad = 1;
	else {
		advice_add_recommendations(&a, doc, "recommendations", limit, &b, &bad);
		advice_add_lessons(&a, doc, "lessons", limit, &b, &bad);
		jb_bool(&bad, doc, "cut", b.cut);
	}
	advice_free(&a);
	logdb_read_end(db);
	return report_finish(doc, bad, st, "recommendations");
}
