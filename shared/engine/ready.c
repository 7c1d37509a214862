#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine/ready.h"

#define READY_WORD "\x1eIMGSANDBOX-READY"

int
ready_line_facts(const char *line, size_t len, const char **json, size_t *jlen)
{
	const size_t w = sizeof(READY_WORD) - 1;

	if (len <= w + 1 || memcmp(line, READY_WORD, w) != 0 || line[w] != ' ')
		return -1;
	*json = line + w + 1;
	*jlen = len - w - 1;
	return 0;
}

/* The number under name in o, when it is a whole number. Returns 0 with
 * *v, or -1. */
static int
whole(const cJSON *o, const char *name, long long *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(n) || n->valuedouble < -1e15 || n->valuedouble > 1e15 ||
	    n->valuedouble != (double)(long long)n->valuedouble)
		return -1;
	*v = (long long)n->valuedouble;
	return 0;
}

/* Whether s is an AppArmor label in enforce mode ("name (enforce)"). */
static int
apparmor_enforcing(const char *s)
{
	static const char mode[] = " (enforce)";
	size_t n = strlen(s), m = sizeof(mode) - 1;

	return n > m && strcmp(s + n - m, mode) == 0 && strncmp(s, "unconfined", 10) != 0;
}

/* The checks of ready_facts_ok on the parsed o. Returns 1, or 0 with msg. */
static int
facts_ok(const cJSON *o, int want_apparmor, char *msg, size_t msglen)
{
	const cJSON *cap = cJSON_GetObjectItemCaseSensitive(o, "cap_eff");
	const cJSON *aa = cJSON_GetObjectItemCaseSensitive(o, "apparmor");
	long long v;

	if (whole(o, "seccomp", &v) < 0 || v != 2)
		snprintf(msg, msglen, "the sandbox has no seccomp filter (seccomp is not 2)");
	else if (whole(o, "no_new_privs", &v) < 0 || v != 1)
		snprintf(msg, msglen, "the sandbox may gain privileges (no_new_privs is not 1)");
	else if (!cJSON_IsString(cap) || strcmp(cap->valuestring, "0000000000000000") != 0)
		snprintf(msg, msglen, "the sandbox has capabilities (cap_eff is not all zeros)");
	else if (whole(o, "uid", &v) < 0 || v <= 0)
		snprintf(msg, msglen, "the sandbox runs as root, or says no uid");
	else if (want_apparmor && !(cJSON_IsString(aa) && apparmor_enforcing(aa->valuestring)))
		snprintf(msg, msglen, "the host has AppArmor, and the sandbox is not confined by "
		    "a profile in enforce mode");
	else if (!want_apparmor && aa != NULL && !cJSON_IsNull(aa) && !cJSON_IsString(aa))
		snprintf(msg, msglen, "the sandbox's apparmor fact is neither a label nor null");
	else
		return 1;
	return 0;
}

int
ready_facts_ok(const char *json, size_t len, int want_apparmor, char *msg, size_t msglen)
{
	char buf[READY_FACTS_MAX + 1];
	cJSON *o;
	int ok;

	if (len == 0 || len > READY_FACTS_MAX || memchr(json, '\0', len) != NULL) {
		snprintf(msg, msglen, "the sandbox's facts are missing or too long");
		return 0;
	}
	/* One object and nothing after it. */
	memcpy(buf, json, len);
	buf[len] = '\0';
	if ((o = cJSON_ParseWithLengthOpts(buf, len + 1, NULL, 1)) == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		snprintf(msg, msglen, "the sandbox's facts are not a JSON object");
		return 0;
	}
	ok = facts_ok(o, want_apparmor, msg, msglen);
	cJSON_Delete(o);
	return ok;
}

int
ready_host_apparmor(void)
{
	FILE *f = fopen("/sys/module/apparmor/parameters/enabled", "re");
	int c;

	if (f == NULL)
		return 0;
	c = fgetc(f);
	fclose(f);
	return c == 'Y';
}
