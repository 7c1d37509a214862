#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 if the bytes
 * there are not one (overlong, surrogate, > U+10FFFF, truncated, NUL). */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		if (avail >= 2 && (s[1] & 0xC0) == 0x80)
			return 2;
		return 0;
	}
	if (c >= 0xE0 && c <= 0xEF) {
		if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;	/* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0;	/* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;	/* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;	/* > U+10FFFF */
		return 4;
	}
	return 0;
}

char *
utf8_sanitize(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, n;
	char *out;

	/* Each bad byte becomes 3 bytes (U+FFFD): at most 3 * len + 1. */
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	if ((out = malloc(3 * len + 1)) == NULL)
		return NULL;
	while (i < len) {
		n = utf8_seq(p + i, len - i);
		if (n == 0) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	return out;
}

cJSON *
json_add_text(cJSON *obj, const char *name, const char *s, size_t len)
{
	cJSON *item;
	char *clean;

	if (s == NULL)
		return cJSON_AddNullToObject(obj, name);
	if ((clean = utf8_sanitize(s, len)) == NULL)
		return NULL;
	item = cJSON_AddStringToObject(obj, name, clean);
	free(clean);
	return item;
}

cJSON *
json_add_str_or_null(cJSON *obj, const char *name, const char *s)
{
	if (s == NULL)
		return cJSON_AddNullToObject(obj, name);
	return json_add_text(obj, name, s, strlen(s));
}

char *
json_render(const cJSON *obj)
{
	return cJSON_PrintUnformatted(obj);
}
