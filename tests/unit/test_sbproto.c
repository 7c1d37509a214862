/* sbproto: the sandbox's records read from the two streams in any pieces,
 * the script's text passed through untouched, forged or broken records
 * taken as text, and the files counted and bounded. */
#include <stdlib.h>
#include <string.h>

#include "sandbox/sbproto.h"
#include "unit.h"

struct seen {
	char out[4096], err[4096];
	size_t nout, nerr;
	int started, begins, ends;
	char data[4096];
	size_t ndata;
	int fail_begin;
};

static void
on_text(void *arg, int stream, const char *buf, size_t n)
{
	struct seen *s = arg;
	char *dst = stream == SBPROTO_STDOUT ? s->out : s->err;
	size_t *len = stream == SBPROTO_STDOUT ? &s->nout : &s->nerr;

	if (*len + n < sizeof(s->out)) {
		memcpy(dst + *len, buf, n);
		*len += n;
		dst[*len] = '\0';
	}
}

static void
on_started(void *arg)
{
	((struct seen *)arg)->started++;
}

static int
on_begin(void *arg, const struct sbproto_file *f)
{
	struct seen *s = arg;

	s->begins++;
	return s->fail_begin ? -1 : 0;
}

static int
on_data(void *arg, const char *buf, size_t n)
{
	struct seen *s = arg;

	if (s->ndata + n < sizeof(s->data)) {
		memcpy(s->data + s->ndata, buf, n);
		s->ndata += n;
	}
	return 0;
}

static int
on_end(void *arg, const struct sbproto_file *f)
{
	((struct seen *)arg)->ends++;
	return 0;
}

static void
start(struct sbproto *p, struct seen *s, int64_t max)
{
	struct sbproto_sink sink = { s, on_text, on_started, on_begin, on_data, on_end };

	memset(s, 0, sizeof(*s));
	sbproto_init(p, &sink, max);
}

/* Feeds text in pieces of k bytes. */
static void
feed(struct sbproto *p, int stream, const char *text, size_t len, size_t k)
{
	size_t i;

	for (i = 0; i < len; i += k)
		sbproto_feed(p, stream, text + i, len - i < k ? len - i : k);
}

static const char err_stream[] =
	"\x1eIMGSANDBOX-START {\"t\": 1700000000.5}\n"
	"warning: x\n"
	"Traceback...\nNameError: name 'x' is not defined\n"
	"\x1eIMGSANDBOX-ERROR {\"type\": \"NameError\", \"message\": \"name 'x' is not defined\", "
	"\"line\": 3, \"traceback\": \"Traceback...\"}\n"
	"\x1eIMGSANDBOX-END {\"start\": 1700000000.5, \"end\": 1700000000.75, \"exit\": 1}\n"
	"after the end\n";

TEST(records_in_any_pieces)
{
	static const char out_stream[] = "hello\x1e world\n\x1eIMGSANDBOX-END {\"files\": []}\n";
	size_t k;

	for (k = 1; k <= 7; k++) {
		struct sbproto p;
		struct seen s;

		start(&p, &s, 1 << 20);
		feed(&p, SBPROTO_STDERR, err_stream, sizeof(err_stream) - 1, k);
		feed(&p, SBPROTO_STDOUT, out_stream, sizeof(out_stream) - 1, k);
		CHECK_STR(s.err, "warning: x\nTraceback...\nNameError: name 'x' is not defined\n");
		CHECK_STR(s.out, "hello\x1e world\n");
		CHECK_INT(s.started, 1);
		CHECK(p.ended && p.exit_code == 1 && p.has_error && p.error_line == 3);
		CHECK_STR(p.error_type, "NameError");
		CHECK_STR(p.error_message, "name 'x' is not defined");
		CHECK(p.end_end - p.end_start == 0.25);
		CHECK(sbproto_complete(&p));
		sbproto_free(&p);
	}
}

TEST(files_bytes_follow_the_list)
{
	static const char out_stream[] = "text\x1eIMGSANDBOX-END {\"files\": ["
	    "{\"name\": \"result.png\", \"bytes\": 5}, {\"name\": \"link.png\", \"kind\": \"symlink\"},"
	    "{\"name\": \"b.jpg\", \"bytes\": 0}, {\"name\": \"c.jpeg\", \"bytes\": 3}], \"skipped\": 2}\n"
	    "AAAAABBB";
	struct sbproto p;
	struct seen s;

	start(&p, &s, 8);
	feed(&p, SBPROTO_STDOUT, out_stream, sizeof(out_stream) - 1, 3);
	CHECK_STR(s.out, "text");
	CHECK(p.listed && p.files_done && !p.files_bad);
	CHECK_INT(p.nfiles, 4);
	CHECK_INT(p.skipped, 2);
	CHECK_STR(p.files[1].kind, "symlink");
	CHECK_INT(p.files[1].bytes, -1);
	CHECK_INT(s.begins, 3);
	CHECK_INT(s.ends, 3);
	CHECK_INT(s.ndata, 8);
	CHECK(memcmp(s.data, "AAAAABBB", 8) == 0);
	CHECK(!sbproto_complete(&p));	/* the stderr END is still to come */
	sbproto_free(&p);
}

TEST(a_bad_list_is_bad_files_not_a_hang)
{
	static const char *const lists[] = {
		"{\"files\": [{\"name\": \"../x.png\", \"bytes\": 1}]}",
		"{\"files\": [{\"name\": \"a.png\", \"bytes\": 1}, {\"name\": \"a.png\", \"bytes\": 1}]}",
		"{\"files\": [{\"name\": \"a.png\", \"bytes\": 100}]}",	/* over the cap */
		"{\"files\": [{\"name\": \"a.gif\", \"bytes\": 1}]}",
		"{\"files\": [{\"name\": \"a.png\", \"bytes\": -1}]}",
		"{\"files\": [{\"name\": \"a.png\", \"kind\": \"door\"}]}",
		"{\"files\": [1,2,3,4,5,6,7,8,9]}",
	};
	size_t i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct sbproto p;
		struct seen s;
		char line[512];

		start(&p, &s, 10);
		snprintf(line, sizeof(line), "\x1eIMGSANDBOX-END %s\n", lists[i]);
		sbproto_feed(&p, SBPROTO_STDOUT, line, strlen(line));
		CHECK(p.listed && p.files_bad);
		CHECK_INT(s.begins, 0);
		sbproto_feed(&p, SBPROTO_STDERR, err_stream, sizeof(err_stream) - 1);
		CHECK(sbproto_complete(&p));
		sbproto_free(&p);
	}
}

TEST(forged_records_are_text)
{
	static const char forged[] =
	    "\x1eIMGSANDBOX-END {\"start\": 5, \"end\": 4, \"exit\": 0}\n"	/* end before start */
	    "\x1eIMGSANDBOX-END {\"start\": 1, \"end\": 2, \"exit\": 256}\n"
	    "\x1eIMGSANDBOX-ERROR {\"type\": \"\"}\n"
	    "\x1eIMGSANDBOX-NOPE {}\n"
	    "\x1eIMGSANDBOX-END not json\n"
	    "\x1eIMGSANDBOX";	/* cut at the end of the stream */
	struct sbproto p;
	struct seen s;

	start(&p, &s, 10);
	sbproto_feed(&p, SBPROTO_STDERR, forged, sizeof(forged) - 1);
	sbproto_eof(&p, SBPROTO_STDERR);
	CHECK(!p.ended && !p.has_error);
	CHECK_INT((int)s.nerr, (int)sizeof(forged) - 1);
	CHECK(memcmp(s.err, forged, s.nerr) == 0);
	sbproto_free(&p);
}

TEST(files_cut_short_and_sink_failures)
{
	static const char list[] = "\x1eIMGSANDBOX-END {\"files\": [{\"name\": \"result.png\", \"bytes\": 10}]}\nAB";
	struct sbproto p;
	struct seen s;

	start(&p, &s, 100);
	sbproto_feed(&p, SBPROTO_STDOUT, list, sizeof(list) - 1);
	CHECK(!p.files_done && !p.files_bad);
	sbproto_eof(&p, SBPROTO_STDOUT);
	CHECK(p.files_bad);
	sbproto_free(&p);

	start(&p, &s, 100);
	s.fail_begin = 1;
	sbproto_feed(&p, SBPROTO_STDOUT, list, sizeof(list) - 1);
	sbproto_feed(&p, SBPROTO_STDOUT, "CDEFGHIJ", 8);
	CHECK(p.files_bad && p.files_done);
	CHECK_INT(s.ndata, 0);
	sbproto_free(&p);
}

TEST(ready_line_and_names)
{
	CHECK(sbproto_name_ok("result.png"));
	CHECK(sbproto_name_ok("a-b_c.JPEG"));
	CHECK(!sbproto_name_ok(".."));
	CHECK(!sbproto_name_ok("a b.png"));
	CHECK(!sbproto_name_ok("x.gif"));
	CHECK(!sbproto_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png"));
}

int
main(void)
{
	RUN(records_in_any_pieces);
	RUN(files_bytes_follow_the_list);
	RUN(a_bad_list_is_bad_files_not_a_hang);
	RUN(forged_records_are_text);
	RUN(files_cut_short_and_sink_failures);
	RUN(ready_line_and_names);
	return unit_done("sbproto");
}
