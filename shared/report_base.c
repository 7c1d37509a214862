#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "log.h"
#include "report_base.h"

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
