/*
 * test_outbuf: shared/outbuf, a fixed buffer filled piece by piece: a
 * piece that does not fit whole is left out, and so is every later one.
 */
#include <string.h>

#include "base/outbuf.h"
#include "unit.h"

TEST(pieces_fit_whole_or_not_at_all)
{
	struct outbuf o;
	char buf[8];

	outbuf_init(&o, buf, sizeof(buf));
	CHECK_STR(buf, "");
	outbuf_puts(&o, "abc");
	outbuf_put(&o, "defgh", 3);
	CHECK_STR(buf, "abcdef");
	CHECK_INT(o.n, 6);
	CHECK_INT(o.full, 0);
	outbuf_puts(&o, "gh");		/* 6 + 2 + NUL > 8 */
	CHECK_STR(buf, "abcdef");
	CHECK_INT(o.full, 1);
	outbuf_puts(&o, "g");		/* it would fit, but the text is cut already */
	CHECK_STR(buf, "abcdef");
	CHECK_INT(o.n, 6);
}

TEST(exact_fit)
{
	struct outbuf o;
	char buf[4];

	outbuf_init(&o, buf, sizeof(buf));
	outbuf_puts(&o, "abc");
	CHECK_STR(buf, "abc");
	CHECK_INT(o.full, 0);
	outbuf_put(&o, "", 0);
	CHECK_INT(o.full, 0);
}

int
main(void)
{
	RUN(pieces_fit_whole_or_not_at_all);
	RUN(exact_fit);
	return unit_done("outbuf");
}
