/*
 * fuzz_sbproto: libFuzzer target for the sandbox's record protocol. The
 * input is cut into pieces (each piece's first byte says which stream and
 * how long), fed to one parser, and checked: the text passed through plus
 * the records' bytes never exceed what went in, the files' bytes stay
 * within the cap and match the list, and the same input fed whole to a
 * second parser says the same things (pieces never change the meaning).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sbproto.h"

struct count {
	size_t text[3];
	int64_t data;
	int open;
};

static void
on_text(void *arg, int stream, const char *buf, size_t n)
{
	((struct count *)arg)->text[stream] += n;
}

static int
on_begin(void *arg, const struct sbproto_file *f)
{
	struct count *c = arg;

	if (c->open || f->bytes < 0)
		abort();
	c->open = 1;
	return 0;
}

static int
on_data(void *arg, const char *buf, size_t n)
{
	struct count *c = arg;

	if (!c->open)
		abort();
	c->data += (int64_t)n;
	return 0;
}

static int
on_end(void *arg, const struct sbproto_file *f)
{
	((struct count *)arg)->open = 0;
	return 0;
}

#define CAP 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct count c1 = { { 0 }, 0, 0 }, c2 = { { 0 }, 0, 0 };
	struct sbproto_sink s1 = { &c1, on_text, NULL, on_begin, on_data, on_end };
	struct sbproto_sink s2 = { &c2, on_text, NULL, on_begin, on_data, on_end };
	struct sbproto a, b;
	size_t i = 0, n, fed[3] = { 0, 0, 0 };
	int stream;
	/* The whole of each stream, for the second parser. */
	char *whole[3] = { NULL, malloc(size + 1), malloc(size + 1) };

	if (whole[1] == NULL || whole[2] == NULL)
		abort();
	sbproto_init(&a, &s1, CAP);
	sbproto_init(&b, &s2, CAP);
	while (i < size) {
		stream = (data[i] & 1) ? SBPROTO_STDERR : SBPROTO_STDOUT;
		n = (size_t)(data[i] >> 1) + 1;
		i++;
		if (n > size - i)
			n = size - i;
		sbproto_feed(&a, stream, (const char *)data + i, n);
		memcpy(whole[stream] + fed[stream], data + i, n);
		fed[stream] += n;
		i += n;
	}
	sbproto_feed(&b, SBPROTO_STDOUT, whole[1], fed[1]);
	sbproto_feed(&b, SBPROTO_STDERR, whole[2], fed[2]);
	sbproto_eof(&a, SBPROTO_STDOUT);
	sbproto_eof(&a, SBPROTO_STDERR);
	sbproto_eof(&b, SBPROTO_STDOUT);
	sbproto_eof(&b, SBPROTO_STDERR);
	if (c1.text[1] > fed[1] || c1.text[2] > fed[2] || c1.data > CAP)
		abort();
	if (c1.text[1] != c2.text[1] || c1.text[2] != c2.text[2] || c1.data != c2.data ||
	    a.ended != b.ended || a.exit_code != b.exit_code || a.nfiles != b.nfiles ||
	    a.files_bad != b.files_bad || a.has_error != b.has_error)
		abort();
	if (a.listed && !a.files_bad) {
		int64_t want = 0;
		for (int k = 0; k < a.nfiles; k++)
			if (a.files[k].bytes > 0)
				want += a.files[k].bytes;
		if (want != c1.data)
			abort();
	}
	sbproto_free(&a);
	sbproto_free(&b);
	free(whole[1]);
	free(whole[2]);
	return 0;
}
