/*
 * fuzz_multipart: libFuzzer target for the streaming multipart parser.
 *
 * Input: byte 0 picks the limits, byte 1 seeds the read sizes, the rest is
 * the body (boundary "XyZ"). The body is parsed whole, one byte per read and
 * in random read sizes; all three must agree (status, message, fields, and
 * the values and file contents when the parse succeeded). The input is also
 * tried as a Content-Type value for multipart_boundary.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts/multipart.h"

#define CT	"multipart/form-data; boundary=XyZ"
#define NF	4

enum mode { WHOLE, ONE, RANDOM };

struct reader {
	const uint8_t	*d;
	size_t		 len, pos;
	enum mode	 mode;
	uint32_t	 rng;
};

static ssize_t
rd(void *ctx, void *buf, size_t len)
{
	struct reader *r = ctx;
	size_t n = r->len - r->pos;

	if (n > len)
		n = len;
	if (r->mode == ONE && n > 1)
		n = 1;
	if (r->mode == RANDOM && n > 1) {
		r->rng = r->rng * 1103515245u + 12345u;
		if (n > 1 + (r->rng >> 16) % 13)
			n = 1 + (r->rng >> 16) % 13;
	}
	memcpy(buf, r->d + r->pos, n);
	r->pos += n;
	return (ssize_t)n;
}

struct run {
	enum mp_status	 st;
	struct mp_error	 err;
	struct mp_field	 f[NF];
	char		*file;
	size_t		 file_len;
};

static int file_fd = -1;	/* harness only: one memfd reused */

static void
run_once(const uint8_t *d, size_t len, enum mode mode, uint32_t seed,
    const struct mp_limits *lim, struct run *out)
{
	struct reader r = { d, len, 0, mode, seed };
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->f[0] = (struct mp_field){ .name = "code", .max_len = 64, .fd = -1 };
	out->f[1] = (struct mp_field){ .name = "params", .max_len = 16, .fd = -1 };
	out->f[2] = (struct mp_field){ .name = "image", .max_len = 128, .fd = file_fd };
	out->f[3] = (struct mp_field){ .name = "empty", .max_len = 0, .fd = -1 };
	if (ftruncate(file_fd, 0) == -1 || lseek(file_fd, 0, SEEK_SET) == -1)
		abort();
	out->st = multipart_parse(CT, rd, &r, out->f, NF, lim, &out->err);
	if ((out->file = malloc(256)) == NULL)
		abort();
	n = pread(file_fd, out->file, 256, 0);
	if (n < 0)
		abort();
	out->file_len = (size_t)n;

	/* Invariants of any run. */
	if (out->st != out->err.status)
		abort();
	if (out->st != MP_OK && out->err.message[0] == '\0')
		abort();
	if (memchr(out->err.message, '\0', sizeof(out->err.message)) == NULL ||
	    memchr(out->err.field, '\0', sizeof(out->err.field)) == NULL)
		abort();
	for (int i = 0; i < NF; i++) {
		if (out->f[i].len > out->f[i].max_len)
			abort();
		if (out->f[i].value != NULL && out->f[i].value[out->f[i].len] != '\0')
			abort();
		if (memchr(out->f[i].filename, '\0', sizeof(out->f[i].filename)) == NULL)
			abort();
	}
	if (out->file_len > 128 || (out->st == MP_OK && out->file_len != out->f[2].len))
		abort();
}

static void
run_free(struct run *r)
{
	multipart_fields_free(r->f, NF);
	free(r->file);
}

static void
same(const struct run *a, const struct run *b)
{
	if (a->st != b->st || strcmp(a->err.message, b->err.message) != 0 ||
	    strcmp(a->err.field, b->err.field) != 0) {
		fprintf(stderr, "differ: '%s' vs '%s'\n", a->err.message, b->err.message);
		abort();
	}
	for (int i = 0; i < NF; i++) {
		if (a->f[i].seen != b->f[i].seen)
			abort();
		if (a->st != MP_OK)
			continue;
		if (a->f[i].len != b->f[i].len || strcmp(a->f[i].filename, b->f[i].filename) != 0)
			abort();
		if (a->f[i].value && memcmp(a->f[i].value, b->f[i].value, a->f[i].len) != 0)
			abort();
	}
	if (a->st == MP_OK && (a->file_len != b->file_len ||
	    memcmp(a->file, b->file, a->file_len) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_limits lim;
	struct run a, b;
	char ct[256], out[80];
	size_t n;

	if (file_fd == -1 && (file_fd = memfd_create("fuzz_multipart", MFD_CLOEXEC)) == -1)
		abort();
	/* The input as a Content-Type value. */
	n = size < sizeof(ct) - 1 ? size : sizeof(ct) - 1;
	memcpy(ct, data, n);
	ct[n] = '\0';
	if (multipart_boundary(ct, out, sizeof(out)) == 0 && (strlen(out) < 1 || strlen(out) > 70))
		abort();

	if (size < 2)
		return 0;
	lim.max_parts = data[0] & 7;		/* 0: default */
	lim.max_header_bytes = (data[0] >> 3) * 8;	/* 0: default */
	run_once(data + 2, size - 2, WHOLE, 0, &lim, &a);
	run_once(data + 2, size - 2, ONE, 0, &lim, &b);
	same(&a, &b);
	run_free(&b);
	run_once(data + 2, size - 2, RANDOM, data[1] * 2654435761u, &lim, &b);
	same(&a, &b);
	run_free(&b);
	run_free(&a);
	return 0;
}
