/*
 * test_pyname: shared/pyname, what Python calls a name (ASCII).
 */
#include <string.h>

#include "base/pyname.h"
#include "unit.h"

TEST(characters)
{
	CHECK(pyname_start('a') && pyname_start('Z') && pyname_start('_'));
	CHECK(!pyname_start('1') && !pyname_start('.') && !pyname_start(0xC3));
	CHECK(pyname_char('1') && pyname_char('_') && pyname_char('q'));
	CHECK(!pyname_char('-') && !pyname_char(' ') && !pyname_char(0x80));
}

TEST(dotted)
{
	CHECK(pyname_dotted("PIL.Image", 9));
	CHECK(pyname_dotted("x", 1));
	CHECK(pyname_dotted("a_1.b2.c", 8));
	CHECK(!pyname_dotted("", 0));
	CHECK(!pyname_dotted("PIL.", 4));
	CHECK(!pyname_dotted(".x", 2));
	CHECK(!pyname_dotted("a..b", 4));
	CHECK(!pyname_dotted("a.1b", 4));
	CHECK(!pyname_dotted("photo.jpg x", 11));
	CHECK(pyname_dotted("PIL.Image'", 9));	/* only the length given is read */
}

int
main(void)
{
	RUN(characters);
	RUN(dotted);
	return unit_done("pyname");
}
