/*
 * params: the check of the `params` form field (see params.h).
 *
 * A strict lexical pass runs first: it finds NUL bytes, raw control
 * characters in strings, numbers that JSON does not allow (cJSON reads them
 * with strtod and would take "01" or "1."), and measures the nesting, so that
 * cJSON never sees anything deeper than PARAMS_MAX_DEPTH. cJSON then checks
 * the structure and the type of the top value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facts/params.h"
#include "base/text.h"


/* Writes a message into msg (NULL or msglen 0: nothing). A message cut to
 * fit is still a message, so only a failed vsnprintf matters. */
static void
params_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
params_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (msg == NULL || msglen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
}

/* Returns 1 for an ASCII digit. */
static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* 1 when c is one of the bytes of set (never for NUL). */
static int
in_set(unsigned char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* Returns 1 for an ASCII hex digit. */
static int
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the JSON number at s[0..n) (RFC 8259 grammar), or 0 when there
 * is none. */
static size_t
json_number_len(const unsigned char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i == n || !is_digit(s[i]))
		return 0;
	if (s[i] == '0')
		i++;
	else
		while (i < n && is_digit(s[i]))
			i++;
	if (i < n && s[i] == '.') {
		if (++i == n || !is_digit(s[i]))
			return 0;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == n || !is_digit(s[i]))
			return 0;
		while (i < n && is_digit(s[i]))
			i++;
	}
	return i;
}

enum lex_result { LEX_OK, LEX_NUL, LEX_DEEP, LEX_BAD };

/* The lexical pass over s[0..n). Returns LEX_OK, or the problem with its
 * byte index in *at. */
static enum lex_result
params_lex(const unsigned char *s, size_t n, size_t *at)
{
	size_t i = 0, k, depth = 0;
	unsigned char c;

	while (i < n) {
		c = s[i];
		*at = i;
		if (c == '\0')
			return LEX_NUL;
		if (c == '"') {
			for (i++; ; i++) {
				*at = i;
				if (i == n)
					return LEX_BAD;	/* unterminated string */
				c = s[i];
				if (c == '\0')
					return LEX_NUL;
				if (c == '"')
					break;
				if (c < 0x20)
					return LEX_BAD;	/* raw control character */
				if (c != '\\')
					continue;
				if (++i == n)
					return LEX_BAD;
				c = s[i];
				if (c == 'u') {
					for (k = 1; k <= 4; k++)
						if (i + k >= n || !is_hex(s[i + k]))
							return LEX_BAD;
					i += 4;
				} else if (!in_set(c, "\"\\/bfnrt"))
					return LEX_BAD;
			}
			i++;
			continue;
		}
		if (c == '-' || is_digit(c)) {
			if ((k = json_number_len(s + i, n - i)) == 0)
				return LEX_BAD;
			i += k;
			/* "01", "1.", "1x": what follows must end the number. */
			if (i < n && !in_set(s[i], " \t\r\n,]}")) {
				*at = i;
				return s[i] == '\0' ? LEX_NUL : LEX_BAD;
			}
			continue;
		}
		if (c == '[' || c == '{') {
			if (++depth > PARAMS_MAX_DEPTH)
				return LEX_DEEP;
		} else if (c == ']' || c == '}') {
			if (depth > 0)
				depth--;
		} else if (c >= 'a' && c <= 'z') {
			/* true, false, null: cJSON checks the words. */
		} else if (!in_set(c, " \t\r\n,:"))
			return LEX_BAD;
		i++;
	}
	return LEX_OK;
}

/* The name of a JSON value's type, with its article, for messages. */
static const char *
params_type_name(const cJSON *v)
{
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "something else";
}

int
params_check(const char *s, size_t len, char *msg, size_t msglen)
{
	const unsigned char *u = (const unsigned char *)s;
	const char *end = NULL;
	cJSON *root = NULL;
	size_t at = 0, pos;
	int rc = -1;

	params_msg(msg, msglen, "%s", "");
	if (len == 0)
		return 0;	/* taken as {} */
	if (s == NULL) {
		params_msg(msg, msglen, "params is missing");
		return -1;
	}
	if ((at = utf8_bad_at(s, len)) != len) {
		params_msg(msg, msglen, "params is not valid UTF-8 (at byte %zu)", at + 1);
		goto out;
	}
	switch (params_lex(u, len, &at)) {
	case LEX_OK:
		break;
	case LEX_NUL:
		params_msg(msg, msglen, "params contains a NUL byte (at byte %zu)", at + 1);
		goto out;
	case LEX_DEEP:
		params_msg(msg, msglen, "params nests deeper than %d levels", PARAMS_MAX_DEPTH);
		goto out;
	case LEX_BAD:
		params_msg(msg, msglen, "params is not valid JSON near byte %zu", at + 1);
		goto out;
	}
	root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (root == NULL) {
		pos = (end != NULL && end >= s && (size_t)(end - s) < len) ? (size_t)(end - s) : len - 1;
		params_msg(msg, msglen, "params is not valid JSON near byte %zu", pos + 1);
		goto out;
	}
	/* require_null_terminated by hand: only white space may follow. */
	pos = (end != NULL && end >= s && (size_t)(end - s) <= len) ? (size_t)(end - s) : len;
	while (pos < len && in_set((unsigned char)s[pos], " \t\r\n"))
		pos++;
	if (pos != len) {
		params_msg(msg, msglen,
		    "params has text after the end of the JSON value (at byte %zu)", pos + 1);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		params_msg(msg, msglen, "params must be a JSON object, not %s",
		    params_type_name(root));
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}
