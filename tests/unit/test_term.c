/*
 * test_term: shared/term, what reaches a terminal from text a script
 * wrote: control characters (C0, DEL and C1) made harmless, tables of
 * one-line cells aligned by characters, wrapped paragraphs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/term.h"
#include "unit.h"

/* The output of a printing call, through a memory stream. */
static char *out_buf;
static size_t out_len;

static FILE *
out_open(void)
{
	free(out_buf);
	out_buf = NULL;
	return open_memstream(&out_buf, &out_len);
}

static const char *
out_close(FILE *fp)
{
	fclose(fp);
	return out_buf;
}

TEST(put_controls)
{
	FILE *fp;

	/* C0 (ESC, BEL), DEL and C1 (CSI U+009B, NEL U+0085) become '?'. */
	fp = out_open();
	term_put(fp, "a\x1b[31mb\x07" "c\xc2\x9b" "2Jd\x7f" "e\xc2\x85" "f", 0);
	CHECK_STR(out_close(fp), "a?[31mb?c?2Jd?e?f");
	/* Printable text beyond them is kept: é, U+00A0, €. */
	fp = out_open();
	term_put(fp, "\xc3\xa9\xc2\xa0\xe2\x82\xac", 0);
	CHECK_STR(out_close(fp), "\xc3\xa9\xc2\xa0\xe2\x82\xac");
	/* Lines: kept or joined; a carriage return is a space either way. */
	fp = out_open();
	term_put(fp, "x\r\ny\tz", 1);
	CHECK_STR(out_close(fp), "x \ny\tz");
	fp = out_open();
	term_put(fp, "x\r\ny\tz", 0);
	CHECK_STR(out_close(fp), "x  y z");
	/* Invalid bytes, a cut sequence. */
	fp = out_open();
	term_put_n(fp, "\xff" "a\xe2\x82", 4, 0);
	CHECK_STR(out_close(fp), "?a??");
}

TEST(table_cells)
{
	static const char *const heads[] = { "A", "N>", "TEXT" };
	struct term_table t;
	char long_cell[200];
	FILE *fp;

	memset(long_cell, 'z', sizeof(long_cell) - 1);
	long_cell[sizeof(long_cell) - 1] = '\0';
	term_table_init(&t, 3, heads);
	{
		const char *row[] = { "\xc3\xa9t\xc3\xa9", "7", "x\x1b[2Jy\xc2\x9bz\n" };
		CHECK_INT(term_table_row(&t, row), 0);
	}
	{
		const char *row[] = { NULL, "12345", long_cell };
		CHECK_INT(term_table_row(&t, row), 0);
	}
	fp = out_open();
	term_table_print(&t, fp);
	out_close(fp);
	/* Widths by characters ("été" is 3), numbers right-aligned, controls as
	 * spaces, a long cell cut to TERM_CELL_MAX characters and "…". */
	CHECK(strncmp(out_buf, "A        N  TEXT\n", 17) == 0);
	CHECK(strstr(out_buf, "\xc3\xa9t\xc3\xa9      7  x [2Jy z \n") != NULL);
	CHECK(strstr(out_buf, "\n     12345  zzzz") != NULL);
	CHECK(strstr(out_buf, "zzz\xe2\x80\xa6\n") != NULL);
	CHECK(strchr(out_buf, '\x1b') == NULL);
	CHECK(strstr(out_buf, "\xc2\x9b") == NULL);
	CHECK_INT(t.nrows, 0);		/* printed and freed */
}

TEST(wrapped)
{
	char text[400];
	const char *p, *nl;
	FILE *fp;
	size_t i;

	text[0] = '\0';
	for (i = 0; i < 30; i++)
		strcat(text, "word\xc2\x9b ");
	fp = out_open();
	term_wrapped(fp, "  - ", text, 4);
	out_close(fp);
	CHECK(strncmp(out_buf, "  - word? word?", 15) == 0);
	for (p = out_buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		CHECK((size_t)(nl - p) <= TERM_WRAP);
		if (p != out_buf)
			CHECK(strncmp(p, "    word", 8) == 0);
	}
	CHECK_INT(term_width("\xc3\xa9t\xc3\xa9"), 3);
}

TEST(printf_and_json)
{
	static char long_arg[TERM_LINE_MAX + 100];
	const char *o;
	FILE *fp;

	/* What is formatted goes through the same filter; lines are kept. */
	fp = out_open();
	term_printf(fp, "%s: %d\n", "db\x1b]0;x\x07", 3);
	CHECK_STR(out_close(fp), "db?]0;x?: 3\n");
	/* A long text is cut on a whole character. */
	memset(long_arg, 'a', sizeof(long_arg) - 1);
	memcpy(long_arg + TERM_LINE_MAX - 2, "\xc3\xa9", 2);
	fp = out_open();
	term_printf(fp, "%s", long_arg);
	o = out_close(fp);
	CHECK_INT(strlen(o), TERM_LINE_MAX - 2);
	CHECK(strchr(o, '?') == NULL);
	/* JSON: C1 and DEL as \u escapes (the same value), the rest as it is. */
	fp = out_open();
	term_put_json(fp, "{\"a\":\"x\xc2\x9b" "2J\x7fy\xc3\xa9\\u001b\xff\"}");
	CHECK_STR(out_close(fp), "{\"a\":\"x\\u009b2J\\u007fy\xc3\xa9\\u001b\\ufffd\"}");
}

int
main(void)
{
	RUN(put_controls);
	RUN(table_cells);
	RUN(wrapped);
	RUN(printf_and_json);
	free(out_buf);
	return unit_done("term");
}
