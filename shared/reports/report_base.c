/*
 * report_base: what every report shares: limits and rates, the budget that
 * keeps an answer under REPORT_ANSWER_MAX (with an upper bound of a cJSON
 * item's rendering), and builders that remember a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_out.h"
#include "base/log.h"
#include "reports/report_base.h"

#define ENVELOPE 4096	/* room kept for what a report adds around its lists */

void
report_budget_init(struct report_budget *b)
{
	b->left = REPORT_ANSWER_MAX - ENVELOPE;
	b->cut = 0;
}

int
report_budget_take(struct report_budget *b, const cJSON *item)
{
	size_t n = jb_size(item) + 1;	/* and its comma */

	if (b->cut || n > b->left) {
		b->cut = 1;
		return 0;
	}
	b->left -= n;
	return 1;
}

/* Returns the bound of a string's rendering: quotes, and each byte as one,
 * two (\n, \") or six (\u0001) characters. */
static size_t
str_size(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 2;

	for (; p != NULL && *p != '\0'; p++)
		n += *p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' ||
		    *p == '\r' || *p == '\t' ? 2 : *p < 0x20 ? 6 : 1;
	return n;
}

size_t
jb_size(const cJSON *x)
{
	const cJSON *c;
	size_t n;

	if (x == NULL)
		return 0;
	if (cJSON_IsString(x))
		return str_size(x->valuestring);
	if (cJSON_IsNumber(x))
		return 32;	/* %1.17g and a sign at most */
	if (cJSON_IsArray(x) || cJSON_IsObject(x)) {
		n = 2;
		for (c = x->child; c != NULL; c = c->next) {
			n += jb_size(c) + (c->next != NULL);
			if (cJSON_IsObject(x))
				n += str_size(c->string) + 1;
		}
		return n;
	}
	return 5;	/* null, true, false */
}

int
report_clamp_limit(int limit)
{
	if (limit <= 0)
		return REPORT_LIMIT_DEFAULT;
	return limit > REPORT_LIMIT_MAX ? REPORT_LIMIT_MAX : limit;
}

double
report_rate(int64_t num, int64_t den)
{
	double r;

	if (den <= 0)
		return 0;
	r = (double)num / (double)den;
	return (double)(int64_t)(r * 10000 + 0.5) / 10000;
}

char *
report_seconds(char *out, size_t outlen, int64_t ms)
{
	if (ms <= 0) {
		if (outlen > 0)
			out[0] = '\0';
	} else if (ms % 1000 == 0)
		snprintf(out, outlen, "%lld s", (long long)(ms / 1000));
	else
		snprintf(out, outlen, "%.1f s", (double)ms / 1000.0);
	return out;
}

cJSON *
report_finish(cJSON *doc, int bad, enum report_status *st, const char *what)
{
	if (bad || doc == NULL) {
		if (*st == REPORT_OK)
			*st = REPORT_FAILED;
		if (*st == REPORT_FAILED)
			log_warnx("report: %s: the log could not be read or memory ran out", what);
		cJSON_Delete(doc);
		return NULL;
	}
	*st = REPORT_OK;
	return doc;
}

/* Marks *bad when x is NULL; returns x. */
static cJSON *
check(int *bad, cJSON *x)
{
	if (x == NULL)
		*bad = 1;
	return x;
}

cJSON *
jb_num(int *bad, cJSON *o, const char *name, double v)
{
	return check(bad, cJSON_AddNumberToObject(o, name, v));
}

cJSON *
jb_str(int *bad, cJSON *o, const char *name, const char *s)
{
	return check(bad, o ? json_add_str_or_null(o, name, s) : NULL);
}

cJSON *
jb_str_ne(int *bad, cJSON *o, const char *name, const char *s)
{
	return jb_str(bad, o, name, s && *s ? s : NULL);
}

cJSON *
jb_text(int *bad, cJSON *o, const char *name, const char *s, size_t len)
{
	return check(bad, o ? json_add_text(o, name, s, len) : NULL);
}

cJSON *
jb_id(int *bad, cJSON *o, const char *name, int64_t id)
{
	return check(bad, id > 0 ? cJSON_AddNumberToObject(o, name, (double)id) :
	    cJSON_AddNullToObject(o, name));
}

cJSON *
jb_bool(int *bad, cJSON *o, const char *name, int v)
{
	return check(bad, cJSON_AddBoolToObject(o, name, v != 0));
}

cJSON *
jb_null(int *bad, cJSON *o, const char *name)
{
	return check(bad, cJSON_AddNullToObject(o, name));
}

cJSON *
jb_obj(int *bad, cJSON *o, const char *name)
{
	return check(bad, cJSON_AddObjectToObject(o, name));
}

cJSON *
jb_arr(int *bad, cJSON *o, const char *name)
{
	return check(bad, cJSON_AddArrayToObject(o, name));
}

cJSON *
jb_push_obj(int *bad, cJSON *a)
{
	cJSON *x;

	if (a == NULL || (x = cJSON_CreateObject()) == NULL) {
		*bad = 1;
		return NULL;
	}
	cJSON_AddItemToArray(a, x);
	return x;
}

void
jb_push_str(int *bad, cJSON *a, const char *s)
{
	char *clean;
	cJSON *x;

	if (a == NULL || (clean = utf8_sanitize(s, strlen(s))) == NULL) {
		*bad = 1;
		return;
	}
	x = cJSON_CreateString(clean);
	free(clean);
	if (x == NULL)
		*bad = 1;
	else
		cJSON_AddItemToArray(a, x);
}

void
jb_push_num(int *bad, cJSON *a, double v)
{
	cJSON *x;

	if (a == NULL || (x = cJSON_CreateNumber(v)) == NULL) {
		*bad = 1;
		return;
	}
	cJSON_AddItemToArray(a, x);
}
