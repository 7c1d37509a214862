/*
 * test_multipart: the streaming multipart/form-data parser. Every body is
 * parsed whole, one byte per read, and in random read sizes (several seeds),
 * and the results (status, message, values, files) must be identical.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "facts/multipart.h"

#define MAXF		8
#define B		"----WebKitFormBoundary7MA4YWxkTrZu0gW"
#define CT		"multipart/form-data; boundary=" B

/* A body served from memory in reads of a chosen size. */
enum read_mode { READ_WHOLE, READ_ONE, READ_RANDOM, READ_FAIL };

struct mem_reader {
	const unsigned char	*data;
	size_t			 len, pos, total, fail_at;
	enum read_mode		 mode;
	uint32_t		 rng;
};

static ssize_t
mem_read(void *ctx, void *buf, size_t len)
{
	struct mem_reader *r = ctx;
	size_t n = r->len - r->pos;

	if (r->mode == READ_FAIL && r->pos >= r->fail_at)
		return -1;
	if (n > len)
		n = len;
	if (r->mode == READ_ONE && n > 1)
		n = 1;
	if (r->mode == READ_RANDOM && n > 1) {
		r->rng ^= r->rng << 13;
		r->rng ^= r->rng >> 17;
		r->rng ^= r->rng << 5;
		/* Mostly small reads, sometimes big ones. */
		size_t m = (r->rng & 3) ? 1 + r->rng % 97 : 1 + r->rng % 5000;
		if (n > m)
			n = m;
	}
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	r->total += n;
	return (ssize_t)n;
}

/* A growing byte string for building bodies; dies on no memory (a test). */
struct sb {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sb *s, const void *d, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t nc = s->cap ? s->cap : 256;
		while (nc < s->len + n + 1)
			nc *= 2;
		if ((s->p = realloc(s->p, nc)) == NULL) {
			perror("realloc");
			exit(2);
		}
		s->cap = nc;
	}
	memcpy(s->p + s->len, d, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void
sb_adds(struct sb *s, const char *str)
{
	sb_add(s, str, strlen(str));
}

static void __attribute__((format(printf, 2, 3)))
sb_addf(struct sb *s, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "sb_addf: too long\n");
		exit(2);
	}
	sb_add(s, tmp, (size_t)n);
}

/* One part: headers for name (and filename if not NULL), then data. */
static void
sb_part(struct sb *s, const char *name, const char *filename, const void *d, size_t n)
{
	sb_adds(s, "--" B "\r\n");
	if (filename)
		sb_addf(s, "Content-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
		    "Content-Type: application/octet-stream\r\n\r\n", name, filename);
	else
		sb_addf(s, "Content-Disposition: form-data; name=\"%s\"\r\n\r\n", name);
	sb_add(s, d, n);
	sb_adds(s, "\r\n");
}

static void
sb_close(struct sb *s)
{
	sb_adds(s, "--" B "--\r\n");
}

/* The fields a test accepts. */
struct spec {
	const char	*name;
	size_t		 max_len;
	int		 is_file;
};

/* What one parse gave. */
struct result {
	enum mp_status	 st;
	struct mp_error	 err;
	struct mp_field	 f[MAXF];
	char		*file[MAXF];	/* contents written to a file field */
	size_t		 file_len[MAXF];
	size_t		 bytes_read;
	size_t		 n;
};

static void
result_free(struct result *r)
{
	size_t i;

	multipart_fields_free(r->f, r->n);
	for (i = 0; i < r->n; i++) {
		free(r->file[i]);
		r->file[i] = NULL;
	}
}

/* Reads all of fd from its start into a malloc'd buffer. */
static char *
slurp_fd(int fd, size_t *len)
{
	struct sb s = { 0 };
	char buf[4096];
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) == -1)
		return NULL;
	sb_add(&s, "", 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_add(&s, buf, (size_t)n);
	*len = s.len;
	return s.p;
}

static int
tmp_fd(void)
{
	char path[] = "/tmp/test_multipart.XXXXXX";
	int fd = mkstemp(path);

	if (fd == -1) {
		perror("mkstemp");
		exit(2);
	}
	unlink(path);
	return fd;
}

static void
parse_one(const struct spec *sp, size_t n, const char *ct, const char *body, size_t len,
    enum read_mode mode, uint32_t seed, const struct mp_limits *lim, struct result *r)
{
	struct mem_reader rd = { (const unsigned char *)body, len, 0, 0, 0, mode, seed };
	size_t i;

	memset(r, 0, sizeof(*r));
	r->n = n;
	for (i = 0; i < n; i++) {
		r->f[i].name = sp[i].name;
		r->f[i].max_len = sp[i].max_len;
		r->f[i].fd = sp[i].is_file ? tmp_fd() : -1;
	}
	r->st = multipart_parse(ct, mem_read, &rd, r->f, n, lim, &r->err);
	r->bytes_read = rd.total;
	for (i = 0; i < n; i++) {
		if (r->f[i].fd >= 0) {
			r->file[i] = slurp_fd(r->f[i].fd, &r->file_len[i]);
			close(r->f[i].fd);
		}
	}
}

static int
same_result(const struct result *a, const struct result *b)
{
	size_t i;

	if (a->st != b->st || a->err.status != b->err.status ||
	    strcmp(a->err.field, b->err.field) != 0 || strcmp(a->err.message, b->err.message) != 0)
		return 0;
	for (i = 0; i < a->n; i++) {
		if (a->f[i].seen != b->f[i].seen)
			return 0;
		/* After an error, how much of a part got in depends on the reads. */
		if (a->st != MP_OK)
			continue;
		if (a->f[i].len != b->f[i].len ||
		    strcmp(a->f[i].filename, b->f[i].filename) != 0)
			return 0;
		if ((a->f[i].value == NULL) != (b->f[i].value == NULL))
			return 0;
		if (a->f[i].value && memcmp(a->f[i].value, b->f[i].value, a->f[i].len + 1) != 0)
			return 0;
		if (a->file_len[i] != b->file_len[i] ||
		    (a->file[i] && memcmp(a->file[i], b->file[i], a->file_len[i]) != 0))
			return 0;
	}
	return 1;
}

/* Parses body whole into *r, then one byte per read and with random reads,
 * and checks every way gives the same. Returns 1 when they agree. */
static int
parse_all(const struct spec *sp, size_t n, const char *ct, const char *body, size_t len,
    const struct mp_limits *lim, struct result *r)
{
	struct result other;
	uint32_t seed;
	int ok = 1;

	parse_one(sp, n, ct, body, len, READ_WHOLE, 0, lim, r);
	parse_one(sp, n, ct, body, len, READ_ONE, 0, lim, &other);
	if (!same_result(r, &other)) {
		fprintf(stderr, "1-byte reads differ: '%s' vs '%s'\n", r->err.message,
		    other.err.message);
		ok = 0;
	}
	result_free(&other);
	for (seed = 1; seed <= 8; seed++) {
		parse_one(sp, n, ct, body, len, READ_RANDOM, seed * 2654435761u, lim, &other);
		if (!same_result(r, &other)) {
			fprintf(stderr, "random reads (seed %u) differ: '%s' vs '%s'\n", seed,
			    r->err.message, other.err.message);
			ok = 0;
		}
		result_free(&other);
	}
	return ok;
}

static const struct spec form[] = {
	{ "code", 256 * 1024, 0 },
	{ "params", 16 * 1024, 0 },
	{ "image", 10 * 1024 * 1024, 1 },
	{ "session_id", 64, 0 },
};
#define NFORM (sizeof(form) / sizeof(form[0]))

/* Random binary data rich in CR, LF, '-' and pieces of the boundary. */
static void
nasty_bytes(unsigned char *d, size_t n, uint32_t seed)
{
	static const char pieces[] = "\r\n--" B;
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		d[i] = (unsigned char)(seed >> 16);
		if ((seed >> 8) % 7 == 0)
			d[i] = (unsigned char)pieces[(seed >> 4) % (sizeof(pieces) - 2)];
	}
}

TEST(well_formed)
{
	const char *code = "from PIL import Image\r\nimg = Image.open('/input/image.png')\n";
	const char *params = "{\"radius\": 3}";
	size_t ilen = 150 * 1024;
	unsigned char *img = malloc(ilen);
	struct result r;
	struct sb s = { 0 };

	CHECK(img != NULL);
	nasty_bytes(img, ilen, 42);
	sb_part(&s, "code", NULL, code, strlen(code));
	sb_part(&s, "params", NULL, params, strlen(params));
	sb_part(&s, "image", "cat photo.png", img, ilen);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_INT(r.err.status, MP_OK);
	CHECK_STR(r.err.message, "");
	CHECK_INT(r.f[0].seen, 1);
	CHECK_INT(r.f[0].len, strlen(code));
	CHECK_STR(r.f[0].value, code);
	CHECK_STR(r.f[1].value, params);
	CHECK_INT(r.f[2].seen, 1);
	CHECK(r.f[2].value == NULL);
	CHECK_INT(r.f[2].len, ilen);
	CHECK_INT(r.file_len[2], ilen);
	CHECK(r.file[2] != NULL && memcmp(r.file[2], img, ilen) == 0);
	CHECK_STR(r.f[2].filename, "cat photo.png");
	CHECK_STR(r.f[0].filename, "");
	CHECK_INT(r.f[3].seen, 0);
	CHECK(r.f[3].value == NULL);
	CHECK_INT(r.bytes_read, s.len);
	result_free(&r);
	free(s.p);
	free(img);
}

TEST(boundary_quoted_unquoted_case)
{
	struct result r;
	struct sb s = { 0 };
	const char *cts[] = {
		"multipart/form-data; boundary=" B,
		"multipart/form-data; boundary=\"" B "\"",
		"Multipart/Form-Data;BOUNDARY=" B ";charset=utf-8",
		"MULTIPART/FORM-DATA ; charset=\"utf-8\" ; Boundary = \"" B "\"",
	};
	size_t i;

	sb_part(&s, "code", NULL, "print(1)", 8);
	sb_close(&s);
	for (i = 0; i < sizeof(cts) / sizeof(cts[0]); i++) {
		CHECK(parse_all(form, NFORM, cts[i], s.p, s.len, NULL, &r));
		CHECK_INT(r.st, MP_OK);
		CHECK_STR(r.f[0].value, "print(1)");
		result_free(&r);
	}
	free(s.p);
}

TEST(boundary_param)
{
	char out[80];
	char b70[71], b71[72], ct[128];

	CHECK_INT(multipart_boundary("multipart/form-data; boundary=abc", out, sizeof(out)), 0);
	CHECK_STR(out, "abc");
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=\"a b'()+_,-./:=?\"", out,
	    sizeof(out)), 0);
	CHECK_STR(out, "a b'()+_,-./:=?");
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=\"a\\\"b\"", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=\"ends in space \"", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=\"\"", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-data", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/mixed; boundary=abc", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-datax; boundary=abc", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("text/plain", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary(NULL, out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=a; boundary=b", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=a{b", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=\"unterminated", out, sizeof(out)), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=abc", out, 3), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=abc", out, 4), 0);
	memset(b70, 'x', 70);
	b70[70] = '\0';
	memset(b71, 'y', 71);
	b71[71] = '\0';
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", b70);
	CHECK_INT(multipart_boundary(ct, out, sizeof(out)), 0);
	CHECK_STR(out, b70);
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", b71);
	CHECK_INT(multipart_boundary(ct, out, sizeof(out)), -1);
}

TEST(bad_content_type)
{
	struct result r;

	parse_one(form, NFORM, "application/json", "{}", 2, READ_WHOLE, 0, NULL, &r);
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "multipart/form-data") != NULL);
	result_free(&r);
}

TEST(boundary_split_across_reads)
{
	/* Parts of every size around the delimiter's length, read 1 byte at a
	 * time and in random cuts by parse_all. */
	struct result r;
	struct sb s;
	char data[200];
	size_t n;

	memset(data, 'a', sizeof(data));
	for (n = 0; n < sizeof(data); n += 7) {
		memset(&s, 0, sizeof(s));
		sb_part(&s, "code", NULL, data, n);
		sb_part(&s, "params", NULL, "{}", 2);
		sb_close(&s);
		CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
		CHECK_INT(r.st, MP_OK);
		CHECK_INT(r.f[0].len, n);
		CHECK_INT(r.f[1].len, 2);
		result_free(&r);
		free(s.p);
	}
}

TEST(preamble_and_epilogue)
{
	struct result r;
	struct sb s = { 0 };

	/* A delimiter line ending in a bare LF is refused, even in the preamble. */
	sb_adds(&s, "This is a preamble.\r\n--" B "x is not the boundary\r\n-- " B "\r\n"
	    "--" B "\n is a bad delimiter line\r\n");
	sb_part(&s, "code", NULL, "x = 1", 5);
	sb_adds(&s, "--" B "--   \r\nThis is the epilogue.\r\n--" B "\r\nContent-Disposition: "
	    "form-data; name=\"evil\"\r\n\r\nignored\r\n--" B "--\r\n");
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);	/* the bare LF line in the preamble */
	CHECK(strstr(r.err.message, "LF") != NULL);
	result_free(&r);
	free(s.p);

	memset(&s, 0, sizeof(s));
	sb_adds(&s, "This is a preamble.\r\n--" B "x is not the boundary\r\n-- " B "\r\n");
	sb_part(&s, "code", NULL, "x = 1", 5);
	sb_adds(&s, "--" B "--   \r\nThis is the epilogue.\r\n--" B "\r\nContent-Disposition: "
	    "form-data; name=\"evil\"\r\n\r\nignored\r\n--" B "--\r\n");
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_STR(r.f[0].value, "x = 1");
	CHECK_INT(r.bytes_read, s.len);	/* the epilogue was read (and dropped) */
	result_free(&r);
	free(s.p);

	/* A body that starts with CRLF before the first boundary. */
	memset(&s, 0, sizeof(s));
	sb_adds(&s, "\r\n");
	sb_part(&s, "code", NULL, "y", 1);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_STR(r.f[0].value, "y");
	result_free(&r);
	free(s.p);
}

TEST(transport_padding)
{
	const char *body = "--" B " \t \r\nContent-Disposition: form-data; name=code\r\n\r\n"
	    "abc\r\n--" B "\t\r\nContent-Disposition: form-data; name=params\r\n\r\n{}\r\n--"
	    B "--";	/* no CRLF after the closing boundary */
	struct result r;

	CHECK(parse_all(form, NFORM, CT, body, strlen(body), NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_STR(r.f[0].value, "abc");
	CHECK_STR(r.f[1].value, "{}");
	result_free(&r);
}

TEST(lf_only_refused)
{
	const char *body = "--" B "\nContent-Disposition: form-data; name=\"code\"\n\nprint(1)\n--"
	    B "--\n";
	const char *hdr_lf = "--" B "\r\nContent-Disposition: form-data; name=\"code\"\n\r\n"
	    "print(1)\r\n--" B "--\r\n";
	struct result r;

	CHECK(parse_all(form, NFORM, CT, body, strlen(body), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "CRLF") != NULL);
	result_free(&r);
	CHECK(parse_all(form, NFORM, CT, hdr_lf, strlen(hdr_lf), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "CRLF") != NULL);
	result_free(&r);
}

TEST(missing_closing_boundary)
{
	struct result r;
	struct sb s = { 0 };

	sb_part(&s, "code", NULL, "print(1)", 8);	/* ends with CRLF, no closing line */
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "the body ended before the closing boundary") != NULL);
	CHECK_STR(r.err.field, "code");
	result_free(&r);

	/* The closing delimiter itself cut short. */
	sb_adds(&s, "--" B "-");
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "the body ended before the closing boundary") != NULL);
	result_free(&r);
	free(s.p);

	/* No boundary at all, and an empty body. */
	CHECK(parse_all(form, NFORM, CT, "hello", 5, NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "does not contain the boundary") != NULL);
	result_free(&r);
	CHECK(parse_all(form, NFORM, CT, "", 0, NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	result_free(&r);
}

TEST(body_cut_mid_part)
{
	struct result r;
	struct sb s = { 0 };
	unsigned char img[5000];
	size_t cut;

	nasty_bytes(img, sizeof(img), 7);
	sb_part(&s, "code", NULL, "print(1)", 8);
	sb_part(&s, "image", "a.png", img, sizeof(img));
	sb_close(&s);
	/* Cut everywhere in the headers and the data of the image part. */
	for (cut = 60; cut < s.len - 2; cut += 211) {
		CHECK(parse_all(form, NFORM, CT, s.p, cut, NULL, &r));
		CHECK_INT(r.st, MP_BAD_REQUEST);
		CHECK(strstr(r.err.message, "ended") != NULL || strstr(r.err.message, "boundary") != NULL);
		result_free(&r);
	}
	free(s.p);
}

TEST(header_too_big)
{
	struct mp_limits lim = { 16, 1024 };
	struct result r;
	struct sb s = { 0 };
	char pad[2000];

	memset(pad, 'a', sizeof(pad));
	pad[sizeof(pad) - 1] = '\0';
	sb_adds(&s, "--" B "\r\nContent-Disposition: form-data; name=\"code\"\r\nX-Pad: ");
	sb_adds(&s, pad);
	sb_adds(&s, "\r\n\r\nprint(1)\r\n--" B "--\r\n");
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, &lim, &r));
	CHECK_INT(r.st, MP_TOO_LARGE);
	CHECK(strstr(r.err.message, "headers of part 1") != NULL);
	CHECK(strstr(r.err.message, "1 KiB") != NULL);
	result_free(&r);
	free(s.p);

	/* A header line that never ends: still refused at the budget. */
	memset(&s, 0, sizeof(s));
	sb_adds(&s, "--" B "\r\nContent-Disposition: form-data; name=\"");
	for (int i = 0; i < 50; i++)
		sb_adds(&s, pad);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, &lim, &r));
	CHECK_INT(r.st, MP_TOO_LARGE);
	CHECK(r.bytes_read < 16 * 1024);
	result_free(&r);
	free(s.p);

	/* Exactly at the budget passes; the count is the header lines with their CRLFs. */
	memset(&s, 0, sizeof(s));
	{
		const char *cd = "Content-Disposition: form-data; name=\"code\"\r\n";
		char line[1100];
		size_t fill = 1024 - strlen(cd) - strlen("X: \r\n");

		memset(line, 'b', fill);
		line[fill] = '\0';
		sb_adds(&s, "--" B "\r\n");
		sb_adds(&s, cd);
		sb_addf(&s, "X: %s\r\n\r\nok\r\n--" B "--\r\n", line);
		CHECK(parse_all(form, NFORM, CT, s.p, s.len, &lim, &r));
		CHECK_INT(r.st, MP_OK);
		CHECK_STR(r.f[0].value, "ok");
		result_free(&r);
		free(s.p);
		memset(&s, 0, sizeof(s));
		sb_adds(&s, "--" B "\r\n");
		sb_adds(&s, cd);
		sb_addf(&s, "X: %sb\r\n\r\nok\r\n--" B "--\r\n", line);
		CHECK(parse_all(form, NFORM, CT, s.p, s.len, &lim, &r));
		CHECK_INT(r.st, MP_TOO_LARGE);
		result_free(&r);
		free(s.p);
	}
}

TEST(too_many_parts)
{
	static struct spec many[MAXF];
	static char names[MAXF][8];
	struct mp_limits lim = { 4, 8192 };
	struct timespec t0, t1;
	struct result r;
	struct sb s = { 0 };
	double secs;
	int i;

	for (i = 0; i < MAXF; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		many[i].name = names[i];
		many[i].max_len = 100;
	}
	for (i = 0; i < 10000; i++) {
		char v[8];

		snprintf(v, sizeof(v), "%d", i);
		sb_part(&s, names[i % MAXF], NULL, v, strlen(v));
	}
	sb_close(&s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(parse_all(many, MAXF, CT, s.p, s.len, &lim, &r));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK_STR(r.err.message, "the form has more than 4 parts");
	CHECK(r.bytes_read < 16 * 1024);	/* of a body of ~600 KB */
	CHECK(s.len > 500 * 1024);
	CHECK(secs < 1.0);
	result_free(&r);

	/* With the default limits the same body stops at the first duplicate. */
	CHECK(parse_all(many, MAXF, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK_STR(r.err.message, "the field 'f0' was sent twice");
	result_free(&r);
	free(s.p);
}

TEST(unknown_and_duplicate_field)
{
	struct result r;
	struct sb s = { 0 };

	sb_part(&s, "code", NULL, "a", 1);
	sb_part(&s, "colour", NULL, "red", 3);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK_STR(r.err.message, "unknown field 'colour'");
	CHECK_STR(r.err.field, "colour");
	result_free(&r);
	free(s.p);

	memset(&s, 0, sizeof(s));
	sb_part(&s, "code", NULL, "a", 1);
	sb_part(&s, "code", NULL, "b", 1);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK_STR(r.err.message, "the field 'code' was sent twice");
	CHECK_STR(r.err.field, "code");
	result_free(&r);
	free(s.p);

	/* Names are compared exactly: "Code" and "code " are unknown. */
	memset(&s, 0, sizeof(s));
	sb_part(&s, "Code", NULL, "a", 1);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_STR(r.err.message, "unknown field 'Code'");
	result_free(&r);
	free(s.p);

	/* A control character in a name is not echoed raw. */
	memset(&s, 0, sizeof(s));
	sb_part(&s, "a\x1b[31mb", NULL, "a", 1);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_STR(r.err.message, "unknown field 'a?[31mb'");
	result_free(&r);
	free(s.p);
}

TEST(field_limits)
{
	static const struct spec small[] = {
		{ "code", 1000, 0 },
		{ "image", 3000, 1 },
	};
	unsigned char data[3001];
	struct result r;
	struct sb s;

	nasty_bytes(data, sizeof(data), 99);
	/* Exactly at the limit: accepted. */
	memset(&s, 0, sizeof(s));
	sb_part(&s, "code", NULL, data, 1000);
	sb_part(&s, "image", "x", data, 3000);
	sb_close(&s);
	CHECK(parse_all(small, 2, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_INT(r.f[0].len, 1000);
	CHECK(memcmp(r.f[0].value, data, 1000) == 0);
	CHECK_INT(r.f[0].value[1000], 0);
	CHECK_INT(r.file_len[1], 3000);
	CHECK(memcmp(r.file[1], data, 3000) == 0);
	result_free(&r);
	free(s.p);

	/* One byte over: MP_TOO_LARGE, and reading stops there. */
	memset(&s, 0, sizeof(s));
	sb_part(&s, "code", NULL, data, 1001);
	sb_part(&s, "image", "x", data, 3000);
	sb_close(&s);
	CHECK(parse_all(small, 2, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_TOO_LARGE);
	CHECK_STR(r.err.field, "code");
	CHECK_STR(r.err.message, "the field 'code' is over its limit of 1000 bytes");
	CHECK(r.f[0].len <= 1000);
	CHECK_INT(r.f[1].seen, 0);
	result_free(&r);
	free(s.p);

	memset(&s, 0, sizeof(s));
	sb_part(&s, "image", "x", data, 3001);
	sb_close(&s);
	CHECK(parse_all(small, 2, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_TOO_LARGE);
	CHECK_STR(r.err.field, "image");
	CHECK(r.file_len[1] <= 3000);	/* never more than the limit on disk */
	result_free(&r);
	free(s.p);

	/* The 256 KiB message names the unit. */
	{
		static const struct spec big[] = { { "code", 256 * 1024, 0 } };
		char *blob = malloc(1024 * 1024);

		CHECK(blob != NULL);
		memset(blob, 'x', 1024 * 1024);
		memset(&s, 0, sizeof(s));
		sb_part(&s, "code", NULL, blob, 1024 * 1024);
		sb_close(&s);
		parse_one(big, 1, CT, s.p, s.len, READ_WHOLE, 0, NULL, &r);
		CHECK_INT(r.st, MP_TOO_LARGE);
		CHECK_STR(r.err.message, "the field 'code' is over its limit of 256 KiB");
		CHECK(r.bytes_read < 300 * 1024);	/* stopped right there */
		result_free(&r);
		free(s.p);
		free(blob);
	}

	/* A zero-length field is seen, with an empty value. */
	memset(&s, 0, sizeof(s));
	sb_part(&s, "code", NULL, "", 0);
	sb_close(&s);
	CHECK(parse_all(small, 2, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_INT(r.f[0].seen, 1);
	CHECK_INT(r.f[0].len, 0);
	CHECK_STR(r.f[0].value, "");
	result_free(&r);
	free(s.p);
}

TEST(filenames)
{
	struct result r;
	struct sb s;
	char longname[400];

	memset(&s, 0, sizeof(s));
	sb_adds(&s, "--" B "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"fallback.png\"; "
	    "filename*=UTF-8''%E2%82%AC%20rates.png\r\n\r\nxx\r\n--" B "--\r\n");
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_STR(r.f[2].filename, "\xE2\x82\xAC rates.png");
	result_free(&r);
	free(s.p);

	memset(&s, 0, sizeof(s));
	sb_adds(&s, "--" B "\r\ncontent-disposition: FORM-DATA; filename*=iso-8859-1'en'caf%E9.jpg; "
	    "NAME=image\r\n\r\nxx\r\n--" B "--\r\n");
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_STR(r.f[2].filename, "caf\xC3\xA9.jpg");
	result_free(&r);
	free(s.p);

	/* A malformed filename* falls back to filename; escapes are decoded;
	 * control bytes and bad UTF-8 become '_'. */
	memset(&s, 0, sizeof(s));
	sb_adds(&s, "--" B "\r\nContent-Disposition: form-data; name=\"image\"; "
	    "filename=\"a\\\"b\\\\c\xff\x01.png\"; filename*=UTF-8''%zz\r\n\r\nxx\r\n--" B "--\r\n");
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_STR(r.f[2].filename, "a\"b\\c__.png");
	result_free(&r);
	free(s.p);

	/* A long filename is cut at a character boundary. */
	memset(longname, 0, sizeof(longname));
	for (size_t i = 0; i + 2 < 390; i += 2)
		memcpy(longname + i, "\xC3\xA9", 2);
	memset(&s, 0, sizeof(s));
	sb_part(&s, "image", longname, "x", 1);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_INT(strlen(r.f[2].filename), 254);
	CHECK(memcmp(r.f[2].filename, longname, 254) == 0);
	result_free(&r);
	free(s.p);
}

TEST(header_forms)
{
	struct result r;
	const char *b;

	/* Escaped name, unknown parameters, other headers, a folded line. */
	b = "--" B "\r\nContent-Type: text/x-python\r\nContent-Disposition: form-data;\r\n"
	    "\tname=\"co\\de\"; size=12; x=\"y;z\"\r\nX-Other: 1\r\n\r\nprint(2)\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_STR(r.f[0].value, "print(2)");
	result_free(&r);

	/* No name, no Content-Disposition, not form-data, two names, junk. */
	b = "--" B "\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK_STR(r.err.message, "part 1 has no name");
	result_free(&r);
	b = "--" B "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_STR(r.err.message, "part 1 has no name");
	result_free(&r);
	b = "--" B "\r\n\r\nx\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "no Content-Disposition") != NULL);
	result_free(&r);
	b = "--" B "\r\nContent-Disposition: attachment; name=\"code\"\r\n\r\nx\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "not form-data") != NULL);
	result_free(&r);
	b = "--" B "\r\nContent-Disposition: form-data; name=code; name=params\r\n\r\nx\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	result_free(&r);
	b = "--" B "\r\nContent-Disposition: form-data; name=\"code\r\n\r\nx\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	result_free(&r);
	b = "--" B "\r\nthis is not a header\r\n\r\nx\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	result_free(&r);
	b = "--" B "\r\nContent-Disposition: form-data; name=\"code\"\r\nContent-Disposition: "
	    "form-data; name=\"params\"\r\n\r\nx\r\n--" B "--\r\n";
	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	result_free(&r);
	{
		static const char nul[] = "--" B "\r\nContent-Disposition: form-data; "
		    "name=\"co\0de\"\r\n\r\nx\r\n--" B "--\r\n";

		CHECK(parse_all(form, NFORM, CT, nul, sizeof(nul) - 1, NULL, &r));
		CHECK_INT(r.st, MP_BAD_REQUEST);
		CHECK(strstr(r.err.message, "NUL") != NULL);
		result_free(&r);
	}
}

TEST(lookalikes_do_not_split)
{
	/* Pieces that look like the delimiter but are not one. */
	const char *data =
	    "--" B "\r\n"		/* no CR LF before it: data */
	    "\r\n--" B "x\r\n"		/* a longer boundary */
	    "\r\n--" B "-\r\n"		/* one dash */
	    "\r\n--" B " x\r\n"	/* padding then text */
	    "\r\n--" "----WebKitFormBoundary7MA4YWxkTrZu0g\r\n"	/* a prefix */
	    "\r\n-" B "\r\n\n--" B "\r\r\n" "--\r\n--\r\n";
	struct result r;
	struct sb s = { 0 };

	sb_part(&s, "code", NULL, data, strlen(data));
	sb_part(&s, "params", NULL, "\r\n", 2);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_INT(r.f[0].len, strlen(data));
	CHECK(r.f[0].value != NULL && memcmp(r.f[0].value, data, strlen(data)) == 0);
	CHECK_STR(r.f[1].value, "\r\n");
	result_free(&r);
	free(s.p);
}

TEST(nul_bytes_in_value)
{
	struct result r;
	struct sb s = { 0 };

	sb_part(&s, "code", NULL, "a\0b\0", 4);
	sb_close(&s);
	CHECK(parse_all(form, NFORM, CT, s.p, s.len, NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_INT(r.f[0].len, 4);
	CHECK(memcmp(r.f[0].value, "a\0b\0", 5) == 0);
	result_free(&r);
	free(s.p);
}

TEST(empty_form)
{
	struct result r;
	const char *b = "--" B "--\r\n";

	CHECK(parse_all(form, NFORM, CT, b, strlen(b), NULL, &r));
	CHECK_INT(r.st, MP_OK);
	CHECK_INT(r.f[0].seen, 0);
	result_free(&r);
}

TEST(read_and_write_errors)
{
	struct mp_field f[2] = { { "code", 100, -1, 0, NULL, 0, "" }, { "image", 100000, -1, 0, NULL, 0, "" } };
	struct mem_reader rd = { 0 };
	struct mp_error err;
	struct sb s = { 0 };
	unsigned char img[20000];
	int fd;

	nasty_bytes(img, sizeof(img), 3);
	sb_part(&s, "code", NULL, "print(1)", 8);
	sb_part(&s, "image", "a", img, sizeof(img));
	sb_close(&s);
	rd.data = (const unsigned char *)s.p;
	rd.len = s.len;
	rd.mode = READ_FAIL;
	rd.fail_at = 100;
	CHECK_INT(multipart_parse(CT, mem_read, &rd, f, 2, NULL, &err), MP_IO_ERROR);
	CHECK_INT(err.status, MP_IO_ERROR);
	multipart_fields_free(f, 2);
	CHECK(f[0].value == NULL);

	/* An fd that cannot be written. */
	fd = open("/dev/null", O_RDONLY);
	CHECK(fd >= 0);
	f[1].fd = fd;
	memset(&rd, 0, sizeof(rd));
	rd.data = (const unsigned char *)s.p;
	rd.len = s.len;
	CHECK_INT(multipart_parse(CT, mem_read, &rd, f, 2, NULL, &err), MP_IO_ERROR);
	CHECK_STR(err.field, "image");
	CHECK(strstr(err.message, "could not be saved") != NULL);
	multipart_fields_free(f, 2);
	close(fd);

	/* err may be NULL. */
	memset(&rd, 0, sizeof(rd));
	rd.data = (const unsigned char *)"nothing";
	rd.len = 7;
	f[1].fd = -1;
	CHECK_INT(multipart_parse(CT, mem_read, &rd, f, 2, NULL, NULL), MP_BAD_REQUEST);
	multipart_fields_free(f, 2);
	free(s.p);
}

TEST(same_answer_however_cut)
{
	/* Two cases the fuzzer found where the answer once depended on the
	 * reads: data over a limit just before a malformed delimiter line, and a
	 * header block with a bare LF that is also over its budget. */
	static const struct spec small[] = { { "code", 8, 0 } };
	struct mp_limits lim = { 16, 72 };
	const char *b1 = "--" B "\r\nContent-Disposition: form-data; name=code\r\n\r\n"
	    "0123456789abcdef\r\n--" B "\r\r\n";
	const char *b2 = "--" B "\r\nContent-Disposition: form-data; name=code\r\nX: a\nb"
	    "cccccccccccccccccccccccccccccccccccccccccccccccccc\r\n\r\nv\r\n--" B "--\r\n";
	struct result r;

	CHECK(parse_all(small, 1, CT, b1, strlen(b1), NULL, &r));
	CHECK_INT(r.st, MP_TOO_LARGE);
	result_free(&r);
	CHECK(parse_all(small, 1, CT, b2, strlen(b2), &lim, &r));
	CHECK_INT(r.st, MP_BAD_REQUEST);
	CHECK(strstr(r.err.message, "bare LF") != NULL);
	result_free(&r);
}

int
main(void)
{
	RUN(well_formed);
	RUN(boundary_quoted_unquoted_case);
	RUN(boundary_param);
	RUN(bad_content_type);
	RUN(boundary_split_across_reads);
	RUN(preamble_and_epilogue);
	RUN(transport_padding);
	RUN(lf_only_refused);
	RUN(missing_closing_boundary);
	RUN(body_cut_mid_part);
	RUN(header_too_big);
	RUN(too_many_parts);
	RUN(unknown_and_duplicate_field);
	RUN(field_limits);
	RUN(filenames);
	RUN(header_forms);
	RUN(lookalikes_do_not_split);
	RUN(nul_bytes_in_value);
	RUN(empty_form);
	RUN(read_and_write_errors);
	RUN(same_answer_however_cut);
	return unit_done("multipart");
}
