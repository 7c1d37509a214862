/* What reaches JSON: UTF-8 made valid, streams capped with head and tail,
 * query strings and numbers parsed with ranges. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../fcgi/http.h"
#include "../../shared/json_out.h"
#include "../../shared/sandbox.h"
#include "unit.h"

TEST(utf8_sanitize)
{
	char *s;

	s = utf8_sanitize("caf\xc3\xa9", 5);
	CHECK_STR(s, "caf\xc3\xa9");
	free(s);
	s = utf8_sanitize("a\xff" "b\0c", 5);
	CHECK_STR(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c");
	free(s);
	s = utf8_sanitize("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", 9);	/* overlong, surrogate, > 10FFFF */
	CHECK(strstr(s, "\xc0") == NULL && strstr(s, "\xed\xa0") == NULL && strstr(s, "\xf4\x90") == NULL);
	free(s);
	s = utf8_sanitize("\xe2\x82", 2);	/* cut sequence */
	CHECK_STR(s, "\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}

TEST(json_stays_valid_with_hostile_bytes)
{
	cJSON *o = cJSON_CreateObject(), *back;
	char raw[256], *text;
	int i;

	for (i = 0; i < 256; i++)
		raw[i] = (char)i;
	json_add_text(o, "stdout", raw, sizeof(raw));
	text = cJSON_PrintUnformatted(o);
	back = cJSON_Parse(text);
	CHECK(back != NULL);
	CHECK(cJSON_IsString(cJSON_GetObjectItem(back, "stdout")));
	cJSON_Delete(back);
	cJSON_Delete(o);
	free(text);
}

static struct stream_capture
capture(size_t cap, size_t min_tail)
{
	struct stream_capture s;

	memset(&s, 0, sizeof(s));
	s.head_cap = cap / 2;
	s.tail_cap = cap - cap / 2 > min_tail ? cap - cap / 2 : min_tail;
	s.head = malloc(s.head_cap);
	s.tail = malloc(s.tail_cap);
	return s;
}

TEST(stream_keeps_head_and_tail)
{
	/* The sandbox's own capture, driven through sandbox_result. */
	struct stream_capture s = capture(16, 0);
	char *t;
	size_t len;
	int trunc;

	/* Mimic stream_add through the public text functions: fill by hand. */
	memcpy(s.head, "ABCDEFGH", 8);
	s.head_len = 8;
	memcpy(s.tail, "stuvwxyz", 8);
	s.tail_pos = 8 + 100;	/* the ring wrapped: its start is at 108 % 8 = 4 */
	s.total = 8 + 100 + 8;
	t = stream_text(&s, &len, &trunc);
	CHECK(trunc);
	CHECK(strncmp(t, "ABCDEFGH\n[... 100 bytes not kept ...]\n", 38) == 0);
	CHECK_INT(len, 8 + strlen("\n[... 100 bytes not kept ...]\n") + 8);
	free(t);
	free(s.head);
	free(s.tail);
}

TEST(query_strings)
{
	char v[16];
	long long n;

	CHECK_INT(http_query_get("limit=20&before=5", "before", v, sizeof(v)), 1);
	CHECK_STR(v, "5");
	CHECK_INT(http_query_get("limit=20&before=5", "after", v, sizeof(v)), 0);
	CHECK_INT(http_query_get("a=%41%42+c", "a", v, sizeof(v)), 1);
	CHECK_STR(v, "AB c");
	CHECK_INT(http_query_get("a=%4", "a", v, sizeof(v)), -1);
	CHECK_INT(http_query_get("a=%00", "a", v, sizeof(v)), -1);
	CHECK_INT(http_query_get("a=0123456789abcdefXYZ", "a", v, sizeof(v)), -1);
	CHECK_INT(http_query_get("ab=1&a=2", "a", v, sizeof(v)), 1);
	CHECK_STR(v, "2");
	CHECK_INT(parse_int_range("500", 1, 500, &n), 0);
	CHECK_INT(n, 500);
	CHECK_INT(parse_int_range("501", 1, 500, &n), -1);
	CHECK_INT(parse_int_range("0", 1, 500, &n), -1);
	CHECK_INT(parse_int_range("12x", 1, 500, &n), -1);
	CHECK_INT(parse_int_range("", 1, 500, &n), -1);
	CHECK_INT(parse_int_range(" 5", 1, 500, &n), -1);
	CHECK_INT(parse_int_range("99999999999999999999", 1, 500, &n), -1);
}

int
main(void)
{
	RUN(utf8_sanitize);
	RUN(json_stays_valid_with_hostile_bytes);
	RUN(stream_keeps_head_and_tail);
	RUN(query_strings);
	return unit_done("text");
}
