/*
 * multipart_header: a part's Content-Disposition header (RFC 7578, with the
 * RFC 5987 filename* form), parsed strictly: the field's name, and its file
 * name for information only.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "facts/multipart_internal.h"
#include "base/text.h"

/* Returns 1 when c may be in an HTTP token (RFC 9110 tchar). */
int
mp_is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7F && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* Returns v moved past spaces and tabs, never past e. */
const char *
mp_skip_ws(const char *v, const char *e)
{
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	return v;
}

/* Parses a parameter value (quoted-string with backslash escapes, or a run
 * of bytes up to ';' or white space) at *vp (< e). Copies the decoded value
 * into out (outsz > 0, cut to fit, NUL-terminated; out NULL: skipped) and
 * its full length into *lenp. Returns 0 and advances *vp, or -1. */
int
mp_param_value(const char **vp, const char *e, char *out, size_t outsz, size_t *lenp)
{
	const char *v = *vp;
	size_t o = 0, n = 0;
	int quoted = 0;
	char c;

	if (v < e && *v == '"') {
		quoted = 1;
		v++;
	}
	for (;;) {
		if (v == e) {
			if (quoted)
				return -1;	/* unterminated */
			break;
		}
		c = *v;
		if (quoted) {
			if (c == '"') {
				v++;
				break;
			}
			if (c == '\\') {
				if (++v == e)
					return -1;
				c = *v;
			}
		} else if (c == ';' || c == ' ' || c == '\t' || c == '"')
			break;
		if (out != NULL && o + 1 < outsz)
			out[o++] = c;
		n++;
		v++;
	}
	if (!quoted && n == 0)
		return -1;
	if (out != NULL)
		out[o] = '\0';
	*lenp = n;
	*vp = v;
	return 0;
}

/* Decodes an RFC 5987 ext-value (charset'lang'pct-encoded) into out as
 * printable UTF-8 (ISO-8859-1 is converted; other charsets are kept as
 * decoded bytes and cleaned). Returns 0, or -1 when it is malformed. */
static int
mp_decode_ext(const char *v, size_t n, char *out, size_t outsz)
{
	char raw[512];
	const char *q1, *q2, *e = v + n;
	size_t o = 0;
	int latin1, hi, lo;
	unsigned char c;

	if ((q1 = memchr(v, '\'', n)) == NULL)
		return -1;
	if ((q2 = memchr(q1 + 1, '\'', (size_t)(e - q1 - 1))) == NULL)
		return -1;
	latin1 = (q1 - v == 10 && strncasecmp(v, "iso-8859-1", 10) == 0);
	for (v = q2 + 1; v < e; v++) {
		c = (unsigned char)*v;
		if (c == '%') {
			if (e - v < 3 || (hi = text_hexval(v[1])) < 0 || (lo = text_hexval(v[2])) < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			v += 2;
		}
		if (latin1 && c >= 0x80) {
			if (o + 2 > sizeof(raw))
				break;
			raw[o++] = (char)(0xC0 | (c >> 6));
			raw[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			if (o + 1 > sizeof(raw))
				break;
			raw[o++] = (char)c;
		}
	}
	text_clean_copy(out, outsz, raw, o, '_');
	return 0;
}

/* Parses a Content-Disposition value v[0..n) into d. Returns 0 or -1 with
 * the reason in why. */
int
mp_disposition(const char *v, size_t n, struct mp_disposition *d, const char **why)
{
	const char *e = v + n, *pn;
	char tmp[512];
	size_t pnlen, vlen;

	v = mp_skip_ws(v, e);
	if ((size_t)(e - v) < 9 || strncasecmp(v, "form-data", 9) != 0 ||
	    (e - v > 9 && v[9] != ';' && v[9] != ' ' && v[9] != '\t')) {
		*why = "its Content-Disposition is not form-data";
		return -1;
	}
	v += 9;
	for (;;) {
		v = mp_skip_ws(v, e);
		if (v == e)
			return 0;
		if (*v != ';') {
			*why = "its Content-Disposition header is malformed";
			return -1;
		}
		v = mp_skip_ws(v + 1, e);
		if (v == e)
			return 0;	/* a trailing ';' */
		for (pn = v; v < e && mp_is_tchar((unsigned char)*v) && *v != '='; v++)
			;
		/* '*' is a tchar, so "filename*" comes whole. */
		pnlen = (size_t)(v - pn);
		v = mp_skip_ws(v, e);
		if (pnlen == 0 || v == e || *v != '=') {
			*why = "its Content-Disposition header has a malformed parameter";
			return -1;
		}
		v = mp_skip_ws(v + 1, e);
		if (pnlen == 4 && strncasecmp(pn, "name", 4) == 0) {
			if (d->has_name) {
				*why = "its Content-Disposition gives two names";
				return -1;
			}
			if (mp_param_value(&v, e, d->name, sizeof(d->name), &d->name_len) == -1)
				goto bad;
			d->has_name = 1;
		} else if (pnlen == 8 && strncasecmp(pn, "filename", 8) == 0) {
			if (mp_param_value(&v, e, tmp, sizeof(tmp), &vlen) == -1)
				goto bad;
			text_clean_copy(d->filename, sizeof(d->filename), tmp, strlen(tmp), '_');
			d->has_filename = 1;
		} else if (pnlen == 9 && strncasecmp(pn, "filename*", 9) == 0) {
			if (mp_param_value(&v, e, tmp, sizeof(tmp), &vlen) == -1)
				goto bad;
			/* Informational: a malformed one falls back to filename. */
			if (mp_decode_ext(tmp, strlen(tmp), d->filename_star,
			    sizeof(d->filename_star)) == 0)
				d->has_filename_star = 1;
		} else if (mp_param_value(&v, e, NULL, 0, &vlen) == -1)
			goto bad;
	}
bad:
	*why = "its Content-Disposition header has a malformed parameter value";
	return -1;
}

