/*
 * multipart: the streaming multipart/form-data parser (see multipart.h).
 *
 * The window holds [start, end) of the body not yet dealt with. The parser
 * pretends the body begins with CRLF, so the first delimiter ("--boundary" at
 * the very start) and every later one ("CRLF--boundary") are the same string.
 * Body bytes leave the window as soon as they cannot be the beginning of that
 * string, so a delimiter split across reads is still found, and every
 * decision depends only on the bytes, never on how the reads were cut.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/files.h"
#include "facts/multipart.h"
#include "facts/multipart_internal.h"
#include "base/text.h"

#define MP_BOUNDARY_MAX		70
#define MP_DELIM_MAX		(4 + MP_BOUNDARY_MAX)	/* CRLF "--" boundary */
#define MP_PAD_MAX		256	/* transport padding after a boundary */
#define MP_WINDOW_MIN		8192
#define MP_HEADER_CAP		(64 * 1024)
#define MP_DEFAULT_PARTS	16
#define MP_DEFAULT_HEADER	8192
#define MP_VALUE_FIRST		4096	/* first allocation of a memory field */

enum mp_delim { MP_DELIM_PART, MP_DELIM_CLOSE };
enum mp_class { CL_PART, CL_CLOSE, CL_NOT, CL_MORE, CL_ERROR };

struct mp_parser {
	mp_read_fn	 rd;
	void		*ctx;
	unsigned char	*buf;		/* the window */
	size_t		 cap;
	size_t		 start;
	size_t		 end;
	int		 eof;
	char		 delim[MP_DELIM_MAX + 1];
	size_t		 dlen;
	size_t		 max_parts;
	size_t		 max_header;
	size_t		 nparts;
	size_t		 vcap;		/* allocated bytes of the current memory field */
	struct mp_error	*err;
};

/* Records an error in p->err (field may be NULL) and returns st. */
static enum mp_status
mp_fail(struct mp_parser *p, enum mp_status st, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum mp_status
mp_fail(struct mp_parser *p, enum mp_status st, const char *field, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL)
		return st;
	p->err->status = st;
	if (field != NULL)
		text_clean_copy(p->err->field, sizeof(p->err->field), field,
		    strlen(field), '?');
	else
		p->err->field[0] = '\0';
	va_start(ap, fmt);
	n = vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	if (n < 0)	/* a cut message is still a message; a failed one is not */
		snprintf(p->err->message, sizeof(p->err->message), "malformed form data");
	return st;
}

/* Reads more of the body into the window after moving what is left to its
 * front. Returns MP_OK (p->eof set when the body ended) or MP_IO_ERROR. */
static enum mp_status
mp_fill(struct mp_parser *p)
{
	ssize_t n;

	if (p->start > 0) {
		memmove(p->buf, p->buf + p->start, p->end - p->start);
		p->end -= p->start;
		p->start = 0;
	}
	if (p->eof)
		return MP_OK;
	if (p->end == p->cap)	/* cannot happen: every state leaves room */
		return mp_fail(p, MP_IO_ERROR, NULL, "the form parser ran out of room");
	n = p->rd(p->ctx, p->buf + p->end, p->cap - p->end);
	if (n < 0 || (size_t)n > p->cap - p->end)
		return mp_fail(p, MP_IO_ERROR, NULL, "reading the request body failed");
	if (n == 0)
		p->eof = 1;
	p->end += (size_t)n;
	return MP_OK;
}

/* Hands n body bytes to field f (NULL: dropped, as preamble). Returns MP_OK,
 * MP_TOO_LARGE when they would take f over its max_len (nothing of them is
 * kept), MP_IO_ERROR or MP_NO_MEMORY. */
static enum mp_status
mp_emit(struct mp_parser *p, struct mp_field *f, const unsigned char *d, size_t n)
{
	char lim[32];
	size_t max, want, ncap;
	char *nv;

	if (f == NULL || n == 0)
		return MP_OK;
	max = f->max_len < SIZE_MAX - 1 ? f->max_len : SIZE_MAX - 2;	/* len + n + 1 fits */
	if (n > max - f->len)
		return mp_fail(p, MP_TOO_LARGE, f->name,
		    "the field '%s' is over its limit of %s", f->name,
		    size_words(lim, sizeof(lim), (int64_t)f->max_len));
	if (f->fd >= 0) {
		if (file_write_all(f->fd, d, n) == -1)
			return mp_fail(p, MP_IO_ERROR, f->name,
			    "the field '%s' could not be saved: %s", f->name, strerror(errno));
	} else {
		want = f->len + n + 1;	/* no overflow: len + n <= max */
		if (want > p->vcap) {
			ncap = p->vcap > SIZE_MAX / 2 ? SIZE_MAX : 2 * p->vcap;
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap < want)
				ncap = want;
			if ((nv = realloc(f->value, ncap)) == NULL)
				return mp_fail(p, MP_NO_MEMORY, f->name,
				    "the server ran out of memory reading the field '%s'", f->name);
			f->value = nv;
			p->vcap = ncap;
		}
		memcpy(f->value + f->len, d, n);
		f->value[f->len + n] = '\0';
	}
	f->len += n;
	return MP_OK;
}

/* Decides what follows a "CRLF--boundary" match whose end is at buf[a].
 * Returns CL_PART or CL_CLOSE with *used set to the bytes after the match
 * that belong to the delimiter line, CL_NOT when it is body data after all,
 * CL_MORE when more bytes are needed to tell, CL_ERROR (p->err set). */
static enum mp_class
mp_classify(struct mp_parser *p, size_t a, size_t *used)
{
	const unsigned char *b = p->buf;
	size_t i;

	if (a == p->end)
		return CL_MORE;
	if (b[a] == '-') {
		if (a + 1 == p->end)
			return CL_MORE;
		if (b[a + 1] == '-') {
			*used = 2;
			return CL_CLOSE;
		}
		return CL_NOT;
	}
	for (i = a; i < p->end && (b[i] == ' ' || b[i] == '\t'); i++) {
		if (i - a >= MP_PAD_MAX) {
			mp_fail(p, MP_BAD_REQUEST, NULL,
			    "a boundary line has more than %d bytes of trailing spaces", MP_PAD_MAX);
			return CL_ERROR;
		}
	}
	if (i == p->end)
		return CL_MORE;
	if (b[i] == '\r') {
		if (i + 1 == p->end)
			return CL_MORE;
		if (b[i + 1] == '\n') {
			*used = i + 2 - a;
			return CL_PART;
		}
		mp_fail(p, MP_BAD_REQUEST, NULL,
		    "a boundary line ends with a bare CR; lines must end with CRLF");
		return CL_ERROR;
	}
	if (b[i] == '\n') {
		mp_fail(p, MP_BAD_REQUEST, NULL,
		    "a boundary line ends with a bare LF; multipart lines must end with CRLF");
		return CL_ERROR;
	}
	return CL_NOT;
}

/* Length of the longest tail of s[0..n) (shorter than the delimiter) that is
 * a beginning of the delimiter: those bytes must wait for the next read. */
static size_t
mp_partial(const struct mp_parser *p, const unsigned char *s, size_t n)
{
	size_t i = n > p->dlen - 1 ? n - (p->dlen - 1) : 0;

	for (; i < n; i++)
		if (s[i] == '\r' && memcmp(s + i, p->delim, n - i) == 0)
			return n - i;
	return 0;
}

/* Moves the body up to the next delimiter line into f (NULL: drops it, for
 * the preamble) and consumes the delimiter line. Returns MP_OK with *kind
 * set, or an error status (p->err set). */
static enum mp_status
mp_scan(struct mp_parser *p, struct mp_field *f, enum mp_delim *kind)
{
	enum mp_status st;
	enum mp_class cl;
	unsigned char *s, *hit;
	size_t avail, off, keep, used = 0;

	for (;;) {
		s = p->buf + p->start;
		avail = p->end - p->start;
		hit = memmem(s, avail, p->delim, p->dlen);
		if (hit != NULL) {
			/* What comes before a candidate is body data whatever the
			 * candidate turns out to be: hand it over first, so that a
			 * limit is met at the same byte however the reads were cut. */
			off = (size_t)(hit - s);
			if ((st = mp_emit(p, f, s, off)) != MP_OK)
				return st;
			p->start += off;
			cl = mp_classify(p, p->start + p->dlen, &used);
			switch (cl) {
			case CL_ERROR:
				return p->err ? p->err->status : MP_BAD_REQUEST;
			case CL_NOT:
				/* Data that only looks like a delimiter: its CR goes. */
				if ((st = mp_emit(p, f, p->buf + p->start, 1)) != MP_OK)
					return st;
				p->start++;
				continue;
			case CL_MORE:
				if (p->eof)
					goto ended;
				if ((st = mp_fill(p)) != MP_OK)
					return st;
				continue;
			default:
				p->start += p->dlen + used;
				*kind = cl == CL_CLOSE ? MP_DELIM_CLOSE : MP_DELIM_PART;
				return MP_OK;
			}
		}
		keep = mp_partial(p, s, avail);
		if ((st = mp_emit(p, f, s, avail - keep)) != MP_OK)
			return st;
		p->start += avail - keep;
		if (p->eof)
			goto ended;
		if ((st = mp_fill(p)) != MP_OK)
			return st;
	}
ended:
	if (f == NULL)
		return mp_fail(p, MP_BAD_REQUEST, NULL,
		    "the body does not contain the boundary '%s' given in its Content-Type",
		    p->delim + 4);
	return mp_fail(p, MP_BAD_REQUEST, f->name,
	    "the body ended before the closing boundary (inside the field '%s')", f->name);
}

/* Reads the rest of the body (the epilogue) and drops it. Returns MP_OK or
 * MP_IO_ERROR. */
static enum mp_status
mp_drain(struct mp_parser *p)
{
	enum mp_status st;

	while (!p->eof) {
		p->start = p->end;
		if ((st = mp_fill(p)) != MP_OK)
			return st;
	}
	return MP_OK;
}

/* Returns 1 when s[0..n) has an LF not preceded by CR. */
static int
mp_bare_lf(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 1;
	return 0;
}

static enum mp_status
mp_bare_lf_fail(struct mp_parser *p)
{
	return mp_fail(p, MP_BAD_REQUEST, NULL,
	    "the headers of part %zu have a bare LF; lines must end with CRLF", p->nparts);
}

/* Finds the blank line that ends the part's header block. Every refusal
 * looks at the same bytes whatever the reads were: the block is over the
 * budget as soon as max_header + 4 bytes hold no terminator, and then only
 * those bytes (or those up to the terminator) are looked at. Returns MP_OK
 * with *hlen (the block's bytes before its final CRLF), or an error. */
static enum mp_status
mp_header_end(struct mp_parser *p, size_t *hlen)
{
	size_t avail, scanned = 0, k;
	unsigned char *s, *hit;
	enum mp_status st;
	char lim[32];

	for (;;) {
		s = p->buf + p->start;
		avail = p->end - p->start;
		if (avail >= 2 && s[0] == '\r' && s[1] == '\n') {
			*hlen = 0;
			return MP_OK;
		}
		if (avail >= 4 && (hit = memmem(s + scanned, avail - scanned, "\r\n\r\n", 4)) != NULL) {
			*hlen = (size_t)(hit - s) + 2;
			if (*hlen <= p->max_header)
				return MP_OK;
			k = *hlen + 2 < p->max_header + 4 ? *hlen + 2 : p->max_header + 4;
			break;
		}
		if (avail >= 4)
			scanned = avail - 3;
		if (avail >= p->max_header + 4) {
			k = p->max_header + 4;
			break;
		}
		if (p->eof) {
			if (mp_bare_lf(s, avail))
				return mp_bare_lf_fail(p);
			return mp_fail(p, MP_BAD_REQUEST, NULL,
			    "the body ended inside the headers of part %zu", p->nparts);
		}
		if ((st = mp_fill(p)) != MP_OK)
			return st;
	}
	/* Too large; a bare LF explains an endless header block better. */
	if (mp_bare_lf(s, k))
		return mp_bare_lf_fail(p);
	return mp_fail(p, MP_TOO_LARGE, NULL, "the headers of part %zu are over their limit of %s",
	    p->nparts, size_words(lim, sizeof(lim), (int64_t)p->max_header));
}

/* Checks the block's line endings (CRLF only, no NUL, no leading
 * continuation) and unfolds continuation lines in place. */
static enum mp_status
mp_header_lines(struct mp_parser *p, unsigned char *s, size_t hlen)
{
	size_t i;

	for (i = 0; i < hlen; i++) {
		if (s[i] == '\0')
			return mp_fail(p, MP_BAD_REQUEST, NULL,
			    "the headers of part %zu contain a NUL byte", p->nparts);
		if ((s[i] == '\r' && s[i + 1] != '\n') || (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')))
			return mp_bare_lf_fail(p);
	}
	if (hlen > 0 && (s[0] == ' ' || s[0] == '\t'))
		return mp_fail(p, MP_BAD_REQUEST, NULL,
		    "the headers of part %zu begin with a continuation line", p->nparts);
	for (i = 0; i + 2 < hlen; i++)
		if (s[i] == '\r' && (s[i + 2] == ' ' || s[i + 2] == '\t'))
			s[i] = s[i + 1] = ' ';
	return MP_OK;
}

/* Reads the header lines of s[0..hlen) into d: each 'Name: value', one
 * Content-Disposition; the others count for nothing. */
static enum mp_status
mp_header_fields(struct mp_parser *p, char *s, size_t hlen, struct mp_disposition *d)
{
	char *line = s, *hend = s + hlen, *le, *colon, *v;
	const char *why = NULL;

	memset(d, 0, sizeof(*d));
	while (line < hend) {
		le = memchr(line, '\r', (size_t)(hend - line));	/* found: hlen ends in CRLF */
		if (le == NULL)
			le = hend;
		colon = memchr(line, ':', (size_t)(le - line));
		if (colon == NULL || colon == line)
			return mp_fail(p, MP_BAD_REQUEST, NULL,
			    "a header line of part %zu is not 'Name: value'", p->nparts);
		for (v = line; v < colon; v++)
			if (!mp_is_tchar((unsigned char)*v))
				return mp_fail(p, MP_BAD_REQUEST, NULL,
				    "a header name of part %zu is malformed", p->nparts);
		if (colon - line == 19 && strncasecmp(line, "content-disposition", 19) == 0) {
			if (d->seen)
				return mp_fail(p, MP_BAD_REQUEST, NULL,
				    "part %zu has two Content-Disposition headers", p->nparts);
			d->seen = 1;
			if (mp_disposition(colon + 1, (size_t)(le - colon - 1), d, &why) == -1)
				return mp_fail(p, MP_BAD_REQUEST, NULL, "part %zu is refused: %s",
				    p->nparts, why);
		}
		line = le + 2;
	}
	return MP_OK;
}

/* Finds the part's field (named by d) in the table and prepares it. */
static enum mp_status
mp_header_field(struct mp_parser *p, const struct mp_disposition *d, struct mp_field *fields,
    size_t nfields, struct mp_field **out)
{
	struct mp_field *f = NULL;
	char shown[64];
	size_t k;

	if (!d->seen)
		return mp_fail(p, MP_BAD_REQUEST, NULL,
		    "part %zu has no Content-Disposition header, so it has no name", p->nparts);
	if (!d->has_name || d->name_len == 0)
		return mp_fail(p, MP_BAD_REQUEST, NULL, "part %zu has no name", p->nparts);
	for (k = 0; k < nfields && f == NULL; k++)
		if (fields[k].name != NULL && d->name_len < sizeof(d->name) &&
		    strlen(fields[k].name) == d->name_len &&
		    memcmp(fields[k].name, d->name, d->name_len) == 0)
			f = &fields[k];
	text_clean_copy(shown, sizeof(shown), d->name, strlen(d->name), '?');
	if (f == NULL)
		return mp_fail(p, MP_BAD_REQUEST, shown, "unknown field '%s'", shown);
	if (f->seen)
		return mp_fail(p, MP_BAD_REQUEST, f->name, "the field '%s' was sent twice", f->name);
	f->seen = 1;
	if (d->has_filename_star)
		memcpy(f->filename, d->filename_star, sizeof(f->filename));
	else if (d->has_filename)
		memcpy(f->filename, d->filename, sizeof(f->filename));
	if (f->fd < 0) {
		p->vcap = f->max_len < MP_VALUE_FIRST ? f->max_len + 1 : MP_VALUE_FIRST;
		if ((f->value = malloc(p->vcap)) == NULL)
			return mp_fail(p, MP_NO_MEMORY, f->name,
			    "the server ran out of memory reading the field '%s'", f->name);
		f->value[0] = '\0';
	}
	*out = f;
	return MP_OK;
}

/* Reads and checks the header block of part number p->nparts, finds its
 * field in the table and prepares it. Returns MP_OK with *out set, or an
 * error. */
static enum mp_status
mp_headers(struct mp_parser *p, struct mp_field *fields, size_t nfields,
    struct mp_field **out)
{
	struct mp_disposition d;
	enum mp_status st;
	unsigned char *s;
	size_t hlen = 0;

	if ((st = mp_header_end(p, &hlen)) != MP_OK)
		return st;
	s = p->buf + p->start;
	if ((st = mp_header_lines(p, s, hlen)) != MP_OK ||
	    (st = mp_header_fields(p, (char *)s, hlen, &d)) != MP_OK)
		return st;
	p->start += hlen + 2;
	return mp_header_field(p, &d, fields, nfields, out);
}

enum mp_status
multipart_parse(const char *content_type, mp_read_fn rd, void *ctx,
    struct mp_field *fields, size_t nfields, const struct mp_limits *lim, struct mp_error *err)
{
	struct mp_parser p;
	struct mp_field *f;
	enum mp_delim kind;
	enum mp_status st;
	char boundary[MP_BOUNDARY_MAX + 1];
	size_t i;
	int n;

	memset(&p, 0, sizeof(p));
	p.rd = rd;
	p.ctx = ctx;
	p.err = err;
	if (err != NULL) {
		err->status = MP_OK;
		err->field[0] = '\0';
		err->message[0] = '\0';
	}
	for (i = 0; i < nfields; i++) {
		fields[i].seen = 0;
		fields[i].value = NULL;
		fields[i].len = 0;
		fields[i].filename[0] = '\0';
	}
	p.max_parts = (lim != NULL && lim->max_parts > 0) ? lim->max_parts : MP_DEFAULT_PARTS;
	p.max_header = (lim != NULL && lim->max_header_bytes > 0) ?
	    lim->max_header_bytes : MP_DEFAULT_HEADER;
	if (p.max_header > MP_HEADER_CAP)
		p.max_header = MP_HEADER_CAP;

	if (rd == NULL || multipart_boundary(content_type, boundary, sizeof(boundary)) == -1) {
		st = mp_fail(&p, MP_BAD_REQUEST, NULL,
		    "the Content-Type must be multipart/form-data with a boundary of 1 to 70 characters");
		goto out;
	}
	n = snprintf(p.delim, sizeof(p.delim), "\r\n--%s", boundary);
	if (n < 0 || (size_t)n >= sizeof(p.delim)) {
		st = mp_fail(&p, MP_BAD_REQUEST, NULL, "the boundary is too long");
		goto out;
	}
	p.dlen = (size_t)n;
	p.cap = p.max_header + 4 + MP_DELIM_MAX + MP_PAD_MAX + 64;
	if (p.cap < MP_WINDOW_MIN)
		p.cap = MP_WINDOW_MIN;
	if ((p.buf = malloc(p.cap)) == NULL) {
		st = mp_fail(&p, MP_NO_MEMORY, NULL, "the server ran out of memory");
		goto out;
	}
	/* The body is read as if it began with CRLF (see the top). */
	memcpy(p.buf, "\r\n", 2);
	p.end = 2;

	if ((st = mp_scan(&p, NULL, &kind)) != MP_OK)
		goto out;
	while (kind == MP_DELIM_PART) {
		if (++p.nparts > p.max_parts) {
			st = mp_fail(&p, MP_BAD_REQUEST, NULL,
			    "the form has more than %zu parts", p.max_parts);
			goto out;
		}
		f = NULL;
		if ((st = mp_headers(&p, fields, nfields, &f)) != MP_OK)
			goto out;
		if ((st = mp_scan(&p, f, &kind)) != MP_OK)
			goto out;
	}
	st = mp_drain(&p);
out:
	free(p.buf);
	if (err != NULL)
		err->status = st;
	return st;
}

void
multipart_fields_free(struct mp_field *fields, size_t nfields)
{
	size_t i;

	for (i = 0; i < nfields; i++) {
		free(fields[i].value);
		fields[i].value = NULL;
	}
}

/* Returns 1 when c may be in a boundary (RFC 2046 bchars). */
static int
mp_is_bchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

int
multipart_boundary(const char *content_type, char *out, size_t outlen)
{
	const char *v, *e, *pn;
	char val[MP_BOUNDARY_MAX + 2];
	size_t pnlen, vlen, i, blen = 0;
	int found = 0;

	if (content_type == NULL || out == NULL || outlen == 0)
		return -1;
	v = content_type;
	e = v + strlen(v);
	v = mp_skip_ws(v, e);
	if ((size_t)(e - v) < 19 || strncasecmp(v, "multipart/form-data", 19) != 0)
		return -1;
	v += 19;
	for (;;) {
		v = mp_skip_ws(v, e);
		if (v == e)
			break;
		if (*v != ';')
			return -1;
		v = mp_skip_ws(v + 1, e);
		if (v == e)
			break;
		for (pn = v; v < e && mp_is_tchar((unsigned char)*v) && *v != '='; v++)
			;
		pnlen = (size_t)(v - pn);
		v = mp_skip_ws(v, e);
		if (pnlen == 0 || v == e || *v != '=')
			return -1;
		v = mp_skip_ws(v + 1, e);
		if (pnlen == 8 && strncasecmp(pn, "boundary", 8) == 0) {
			if (found)
				return -1;
			if (mp_param_value(&v, e, val, sizeof(val), &vlen) == -1)
				return -1;
			if (vlen < 1 || vlen > MP_BOUNDARY_MAX || val[vlen - 1] == ' ')
				return -1;
			for (i = 0; i < vlen; i++)
				if (!mp_is_bchar((unsigned char)val[i]))
					return -1;
			blen = vlen;
			found = 1;
		} else if (mp_param_value(&v, e, NULL, 0, &vlen) == -1)
			return -1;
	}
	if (!found || blen + 1 > outlen)
		return -1;
	memcpy(out, val, blen + 1);
	return 0;
}
