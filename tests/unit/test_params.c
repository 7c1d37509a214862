/*
 * test_params: the check of the `params` field and the strict UTF-8 check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "facts/params.h"

/* params_check on a C string. */
static int
pc(const char *s, char *msg, size_t msglen)
{
	return params_check(s, strlen(s), msg, msglen);
}

TEST(objects_accepted)
{
	char msg[256];

	CHECK_INT(pc("{}", msg, sizeof(msg)), 0);
	CHECK_STR(msg, "");
	CHECK_INT(pc("{\"radius\": 3, \"mode\": \"blur\", \"on\": true, \"x\": null}", msg, sizeof(msg)), 0);
	CHECK_INT(pc(" \t\r\n{\"a\": [1, 2.5, -0.5e-3, 1E+9, {\"b\": []}]}\r\n ", msg, sizeof(msg)), 0);
	CHECK_INT(pc("{\"caf\xC3\xA9\": \"\xF0\x9F\x98\x80\", \"esc\": \"\\u00e9\\n\\\"\\\\\\/\"}", msg, sizeof(msg)), 0);
	CHECK_STR(msg, "");
}

TEST(empty_accepted)
{
	char msg[64] = "junk";

	CHECK_INT(params_check("", 0, msg, sizeof(msg)), 0);
	CHECK_STR(msg, "");
	CHECK_INT(params_check(NULL, 0, msg, sizeof(msg)), 0);
	CHECK_INT(params_check("{}", 0, NULL, 0), 0);	/* len 0 even if bytes follow */
}

TEST(other_types_refused)
{
	char msg[256];

	CHECK_INT(pc("[1, 2]", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params must be a JSON object, not an array");
	CHECK_INT(pc("\"text\"", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params must be a JSON object, not a string");
	CHECK_INT(pc("42", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params must be a JSON object, not a number");
	CHECK_INT(pc("true", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params must be a JSON object, not a boolean");
	CHECK_INT(pc("null", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params must be a JSON object, not null");
}

TEST(not_json)
{
	char msg[256];

	CHECK_INT(pc("{radius: 3}", msg, sizeof(msg)), -1);
	CHECK(strncmp(msg, "params is not valid JSON near byte ", 35) == 0);
	CHECK_INT(pc("{\"radius\": 3, \"mode\": blur}", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params is not valid JSON near byte 23");
	CHECK_INT(pc("{\"a\": 1,}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\" 1}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": 1", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": \"unterminated}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{'a': 1}", msg, sizeof(msg)), -1);
	CHECK_INT(pc(" ", msg, sizeof(msg)), -1);
	CHECK_INT(pc("hello", msg, sizeof(msg)), -1);
	/* What Python's json.loads refuses, refused here too. */
	CHECK_INT(pc("{\"a\": 01}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": 1.}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": .5}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": +1}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": -}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": 1e}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": 0x10}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": NaN}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": \"tab\there\"}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": \"\\x41\"}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": \"\\u12\"}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": tru}", msg, sizeof(msg)), -1);
}

TEST(trailing_garbage)
{
	char msg[256];

	CHECK_INT(pc("{} x", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params has text after the end of the JSON value (at byte 4)");
	CHECK_INT(pc("{}{}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{},", msg, sizeof(msg)), -1);
	CHECK_INT(params_check("{}\0garbage", 10, msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "NUL") != NULL);
	CHECK_INT(params_check("{\"a\":\"b\0c\"}", 11, msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "NUL") != NULL);
	/* Not NUL-terminated: only len bytes are looked at. */
	CHECK_INT(params_check("{}xyz", 2, msg, sizeof(msg)), 0);
}

TEST(deep_nesting)
{
	char msg[256];
	size_t n = 100000, i;
	char *s = malloc(2 * n + 1);

	CHECK(s != NULL);
	memset(s, '[', n);
	CHECK_INT(params_check(s, n, msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params nests deeper than 32 levels");
	/* Balanced, 100,000 deep. */
	memset(s + n, ']', n);
	CHECK_INT(params_check(s, 2 * n, msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params nests deeper than 32 levels");
	/* Objects: 33 levels refused, 32 accepted. */
	for (size_t depth = 32; depth <= 33; depth++) {
		size_t o = 0;

		for (i = 0; i < depth; i++) {
			memcpy(s + o, i + 1 < depth ? "{\"a\":" : "{", i + 1 < depth ? 5 : 1);
			o += i + 1 < depth ? 5 : 1;
		}
		for (i = 0; i < depth; i++)
			s[o++] = '}';
		CHECK_INT(params_check(s, o, msg, sizeof(msg)), depth == 32 ? 0 : -1);
	}
	CHECK_STR(msg, "params nests deeper than 32 levels");
	/* Brackets inside strings do not count. */
	memset(s, 0, 2 * n + 1);
	strcpy(s, "{\"a\": \"");
	memset(s + 7, '[', 1000);
	strcpy(s + 1007, "\\\"[[\"}");
	CHECK_INT(pc(s, msg, sizeof(msg)), 0);
	free(s);
}

TEST(invalid_utf8)
{
	char msg[256];

	CHECK_INT(pc("{\"a\": \"\xC3\x28\"}", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "params is not valid UTF-8 (at byte 8)");
	CHECK_INT(pc("{\"a\": \"\xC0\xAF\"}", msg, sizeof(msg)), -1);	/* overlong '/' */
	CHECK_INT(pc("{\"a\": \"\xED\xA0\x80\"}", msg, sizeof(msg)), -1);	/* surrogate */
	CHECK_INT(pc("{\"a\": \"\xF4\x90\x80\x80\"}", msg, sizeof(msg)), -1);	/* > U+10FFFF */
	CHECK_INT(pc("{\"a\": \"\xFF\"}", msg, sizeof(msg)), -1);
	CHECK_INT(pc("{\"a\": \"\xE2\x82\"}", msg, sizeof(msg)), -1);	/* truncated */
}

TEST(utf8_valid_cases)
{
	CHECK_INT(utf8_valid("", 0), 1);
	CHECK_INT(utf8_valid(NULL, 0), 1);
	CHECK_INT(utf8_valid("plain ascii", 11), 1);
	CHECK_INT(utf8_valid("a\0b", 3), 1);	/* U+0000 is valid UTF-8 */
	CHECK_INT(utf8_valid("\xC2\x80", 2), 1);	/* U+0080 */
	CHECK_INT(utf8_valid("\xDF\xBF", 2), 1);	/* U+07FF */
	CHECK_INT(utf8_valid("\xE0\xA0\x80", 3), 1);	/* U+0800 */
	CHECK_INT(utf8_valid("\xED\x9F\xBF", 3), 1);	/* U+D7FF */
	CHECK_INT(utf8_valid("\xEE\x80\x80", 3), 1);	/* U+E000 */
	CHECK_INT(utf8_valid("\xEF\xBF\xBF", 3), 1);	/* U+FFFF */
	CHECK_INT(utf8_valid("\xF0\x90\x80\x80", 4), 1);	/* U+10000 */
	CHECK_INT(utf8_valid("\xF4\x8F\xBF\xBF", 4), 1);	/* U+10FFFF */
	CHECK_INT(utf8_valid("\x80", 1), 0);	/* lone continuation */
	CHECK_INT(utf8_valid("\xC0\x80", 2), 0);	/* overlong NUL */
	CHECK_INT(utf8_valid("\xC1\xBF", 2), 0);	/* overlong */
	CHECK_INT(utf8_valid("\xE0\x9F\xBF", 3), 0);	/* overlong */
	CHECK_INT(utf8_valid("\xF0\x8F\xBF\xBF", 4), 0);	/* overlong */
	CHECK_INT(utf8_valid("\xED\xA0\x80", 3), 0);	/* U+D800 */
	CHECK_INT(utf8_valid("\xED\xBF\xBF", 3), 0);	/* U+DFFF */
	CHECK_INT(utf8_valid("\xF4\x90\x80\x80", 4), 0);	/* U+110000 */
	CHECK_INT(utf8_valid("\xF5\x80\x80\x80", 4), 0);
	CHECK_INT(utf8_valid("\xFE", 1), 0);
	CHECK_INT(utf8_valid("\xE2\x82\xAC", 2), 0);	/* cut by len */
	CHECK_INT(utf8_valid("\xE2\x28\xAC", 3), 0);
	CHECK_INT(utf8_valid("\xF0\x9F\x98", 3), 0);
}

int
main(void)
{
	RUN(objects_accepted);
	RUN(empty_accepted);
	RUN(other_types_refused);
	RUN(not_json);
	RUN(trailing_garbage);
	RUN(deep_nesting);
	RUN(invalid_utf8);
	RUN(utf8_valid_cases);
	return unit_done("params");
}
