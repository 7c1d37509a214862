#define _GNU_SOURCE	/* strcasestr */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return avail >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
			return 0;	/* overlong, surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
			return 0;	/* overlong, above U+10FFFF */
		return 4;
	}
	return 0;	/* a continuation byte, C0, C1, F5..FF */
}

size_t
utf8_bad_at(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		if ((k = utf8_seq_len(p + i, len - i)) == 0)
			return i;
		i += k;
	}
	return len;
}

int
utf8_valid(const char *s, size_t len)
{
	if (s == NULL)
		return len == 0;
	return utf8_bad_at(s, len) == len;
}

char *
utf8_sanitize(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, k;
	char *out;

	/* Each bad byte becomes 3 bytes (U+FFFD): at most 3 * len + 1. */
	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(3 * len + 1)) == NULL)
		return NULL;
	while (i < len) {
		k = utf8_seq_len(p + i, len - i);
		if (k == 0 || p[i] == 0) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}

size_t
utf8_copy(char *out, size_t outlen, const char *s, size_t n)
{
	size_t k;

	if (outlen == 0)
		return 0;
	k = n < outlen - 1 ? n : outlen - 1;
	if (k < n)
		while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
	memcpy(out, s, k);
	out[k] = '\0';
	return k;
}

int
text_is_control(const unsigned char *s, size_t k)
{
	if (k == 1)
		return (s[0] < 0x20 && s[0] != '\t' && s[0] != '\n') || s[0] == 0x7F;
	/* U+0080..U+009F: C2 80 .. C2 9F */
	return k == 2 && s[0] == 0xC2 && s[1] <= 0x9F;
}

size_t
text_clean_copy(char *out, size_t outlen, const char *src, size_t n, char bad)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, k;

	if (outlen == 0)
		return 0;
	while (i < n) {
		k = utf8_seq_len(s + i, n - i);
		if (k == 0 || text_is_control(s + i, k) || s[i] == '\t' || s[i] == '\n') {
			if (o + 1 >= outlen)
				break;
			out[o++] = bad;
			i += k == 0 ? 1 : k;
			continue;
		}
		if (o + k >= outlen)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return o;
}

char *
size_words(char *out, size_t outlen, int64_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(out, outlen, "%lld bytes", (long long)bytes);
		return out;
	}
	while (v >= 1024.0 && u < 3) {
		v /= 1024.0;
		u++;
	}
	if (v == (double)(long long)v)
		snprintf(out, outlen, "%lld %s", (long long)v, unit[u]);
	else
		snprintf(out, outlen, "%.1f %s", v, unit[u]);
	return out;
}

int
session_id_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0 || len > SESSION_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

uint64_t
hash_fnv1a64(const void *s, size_t n)
{
	const unsigned char *p = s;
	uint64_t h = 14695981039346656037ULL;	/* the FNV-1a 64 offset basis */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int
parse_int_range(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Masks the value of a "password=" parameter of the URI's query in out
 * (outlen bytes). */
static void
mask_query(char *out, size_t outlen)
{
	char *q = strchr(out, '?'), *p, *end, rest[512];

	for (p = q; p != NULL && (p = strcasestr(p, "password=")) != NULL; p += 9) {
		if (p[-1] != '?' && p[-1] != '&')
			continue;
		end = strchr(p + 9, '&');
		snprintf(rest, sizeof(rest), "%s", end ? end : "");
		snprintf(p + 9, outlen - (size_t)(p + 9 - out), "***%s", rest);
	}
}

/* A URI's password sits between the first ':' after "//" and the '@' of
 * its user info (postgresql://user:secret@host/db), or in its query
 * (?password=secret). */
char *
uri_hide_password(const char *uri, char *out, size_t outlen)
{
	const char *auth, *at, *colon, *slash;

	if (outlen == 0)
		return out;
	snprintf(out, outlen, "%s", uri ? uri : "");
	if (uri == NULL || (auth = strstr(uri, "://")) == NULL)
		return out;
	auth += 3;
	slash = strchr(auth, '/');
	at = strchr(auth, '@');
	colon = at != NULL && (slash == NULL || at < slash) ?
	    memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon != NULL)
		snprintf(out, outlen, "%.*s***%s", (int)(colon + 1 - uri), uri, at);
	mask_query(out, outlen);
	return out;
}

int
text_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The password of uri, as written, at *start for *n bytes: the user
 * info's (between its first ':' and the '@'), else the query's
 * password=. Returns 1, or 0 when there is none. */
static int
find_password(const char *uri, const char **start, size_t *n)
{
	const char *auth, *at, *colon, *slash, *p;

	if (uri == NULL || (auth = strstr(uri, "://")) == NULL)
		return 0;
	auth += 3;
	slash = strchr(auth, '/');
	at = strchr(auth, '@');
	colon = at != NULL && (slash == NULL || at < slash) ?
	    memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon != NULL) {
		*start = colon + 1;
		*n = (size_t)(at - *start);
		return *n > 0;
	}
	for (p = strchr(auth, '?'); p != NULL && (p = strcasestr(p, "password=")) != NULL; p += 9)
		if (p[-1] == '?' || p[-1] == '&') {
			*start = p + 9;
			*n = strcspn(*start, "&");
			return *n > 0;
		}
	return 0;
}

/* Replaces every secret in s (NUL-terminated, in size bytes) by "***",
 * cutting the end when that does not fit. */
static void
hide_all(char *s, size_t size, const char *secret)
{
	size_t k = strlen(secret), need, tail;
	char *p = s;

	if (k == 0)
		return;
	while ((p = strstr(p, secret)) != NULL) {
		tail = strlen(p + k);
		need = (size_t)(p - s) + 3 + tail + 1;
		if (need > size) {	/* a secret of 1 or 2 bytes grows */
			if (need - size > tail) {
				*p = '\0';	/* no room for "***": the end goes */
				return;
			}
			tail -= need - size;
		}
		memmove(p + 3, p + k, tail);
		p[3 + tail] = '\0';
		memcpy(p, "***", 3);
		p += 3;
	}
}

char *
text_hide_uri_password(char *s, size_t size, const char *uri)
{
	char raw[512], dec[512];
	const char *start;
	size_t n, i, o = 0;
	int hi, lo;

	if (s == NULL || !find_password(uri, &start, &n) || n >= sizeof(raw))
		return s;
	memcpy(raw, start, n);
	raw[n] = '\0';
	for (i = 0; i < n; i++)		/* %-decoded, bad escapes as they are */
		if (raw[i] == '%' && i + 2 < n && (hi = text_hexval(raw[i + 1])) >= 0 &&
		    (lo = text_hexval(raw[i + 2])) >= 0) {
			dec[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			dec[o++] = raw[i];
	dec[o] = '\0';
	hide_all(s, size, raw);
	if (o > 0 && strlen(dec) == o)	/* not when it decodes to a NUL */
		hide_all(s, size, dec);
	return s;
}
