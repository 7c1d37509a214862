/* What reaches JSON: UTF-8 made valid, streams capped with head and tail,
 * query strings and numbers parsed with ranges. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../fcgi/http.h"
#include "base/json_out.h"
#include "base/clock.h"
#include "base/capture.h"
#include "base/text.h"
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

TEST(stream_fits_whole)
{
	struct stream_capture s;
	char *t;
	size_t len;
	int trunc;

	CHECK_INT(stream_init(&s, 16), 0);
	stream_add(&s, "hello, ", 7);
	stream_add(&s, "world!\n", 7);
	t = stream_text(&s, &len, &trunc);
	CHECK_STR(t, "hello, world!\n");
	CHECK_INT(len, 14);
	CHECK(!trunc);
	free(t);
	stream_free(&s);
}

TEST(stream_keeps_head_and_tail)
{
	struct stream_capture s;
	char *t, buf[3];
	size_t len;
	int trunc, i;

	/* 16 bytes kept: the first 8 and the last 8 of 1000 bytes fed in
	 * pieces of 3, so the ring wraps many times. */
	CHECK_INT(stream_init(&s, 16), 0);
	for (i = 0; i < 1000; i += 3) {
		int n = 1000 - i < 3 ? 1000 - i : 3;
		for (int k = 0; k < n; k++)
			buf[k] = (char)('a' + (i + k) % 26);
		stream_add(&s, buf, (size_t)n);
	}
	CHECK_INT(s.total, 1000);
	t = stream_text(&s, &len, &trunc);
	CHECK(trunc);
	/* bytes 0..7 are a..h; bytes 992..999 are (992 % 26 = 4) e..l */
	CHECK_STR(t, "abcdefgh\n[... 984 bytes not kept ...]\nefghijkl");
	free(t);
	stream_free(&s);
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

TEST(sizes_in_one_unit_system)
{
	char b[32];

	CHECK_STR(size_words(b, sizeof(b), 0), "0 bytes");
	CHECK_STR(size_words(b, sizeof(b), 1023), "1023 bytes");
	CHECK_STR(size_words(b, sizeof(b), 1024), "1 KiB");
	CHECK_STR(size_words(b, sizeof(b), 262144), "256 KiB");
	CHECK_STR(size_words(b, sizeof(b), 11534336), "11 MiB");
	CHECK_STR(size_words(b, sizeof(b), 1572864), "1.5 MiB");
	CHECK_STR(size_words(b, sizeof(b), 1073741824), "1 GiB");
}

TEST(terminal_text_has_no_controls)
{
	char out[64];

	/* ESC, BEL, CSI as C1 (U+009B), DEL; tab and newline too (one line). */
	text_clean_copy(out, sizeof(out), "a\x1b[31mb\x07" "c\xc2\x9b" "2Jd\x7f\te\nf", 19, '?');
	CHECK_STR(out, "a?[31mb?c?2Jd??e?f");
	/* Invalid bytes, and a cut on a character boundary. */
	text_clean_copy(out, 5, "\xff\xc3\xa9\xc3\xa9", 5, '?');
	CHECK_STR(out, "?\xc3\xa9");
	CHECK(text_is_control((const unsigned char *)"\xc2\x85", 2));
	CHECK(!text_is_control((const unsigned char *)"\xc2\xa0", 2));
}

TEST(session_ids_and_utf8_checks)
{
	CHECK(session_id_valid("abc_DEF-019", 11));
	CHECK(!session_id_valid("", 0));
	CHECK(!session_id_valid("a/b", 3));
	CHECK(session_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64));
	CHECK(!session_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 65));
	CHECK_INT(utf8_bad_at("ab\xc3\xa9\xff", 5), 4);
	CHECK(utf8_valid("caf\xc3\xa9", 5));
	CHECK(!utf8_valid("\xed\xa0\x80", 3));	/* a surrogate */
	CHECK(hash_fnv1a64("", 0) == 14695981039346656037ULL);
	CHECK(hash_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
}

TEST(clock_iso8601)
{
	char t[CLOCK_ISO_MAX];

	clock_iso8601(0, t);
	CHECK_STR(t, "1970-01-01T00:00:00.000Z");
	clock_iso8601(1738367999999LL, t);
	CHECK_STR(t, "2025-01-31T23:59:59.999Z");
	CHECK(clock_real_ms() > 1738367999999LL);
	CHECK(clock_mono_ms() > 0);
}

/* A password in a URI never reaches a log line or --settings. */
TEST(uri_passwords_hidden)
{
	char out[128];

	CHECK_STR(uri_hide_password("postgresql://u:s3cret@db:5432/log", out, sizeof(out)),
	    "postgresql://u:***@db:5432/log");
	CHECK_STR(uri_hide_password("postgresql://db/log?sslmode=require&password=x&a=b", out,
	    sizeof(out)), "postgresql://db/log?sslmode=require&password=***&a=b");
	CHECK_STR(uri_hide_password("postgresql://u@db/log", out, sizeof(out)),
	    "postgresql://u@db/log");
	/* A ':' after the host part is a port, an '@' after a '/' no user. */
	CHECK_STR(uri_hide_password("http://h:8080/v1/a@b", out, sizeof(out)),
	    "http://h:8080/v1/a@b");
	CHECK_STR(uri_hide_password("./var/log.db", out, sizeof(out)), "./var/log.db");
	CHECK_STR(uri_hide_password("postgresql://u:pw@h/db", out, 12), "postgresql:");
}

/* A driver's error that quotes a URI's password shows "***" for it. */
TEST(uri_passwords_hidden_in_messages)
{
	char m[128];

	snprintf(m, sizeof(m), "invalid percent-encoded token: \"s%%zzecret\"");
	CHECK_STR(text_hide_uri_password(m, sizeof(m), "postgresql://u:s%zzecret@h/db"),
	    "invalid percent-encoded token: \"***\"");
	/* As written and %-decoded, every copy; the query's password too. */
	snprintf(m, sizeof(m), "p%%41ss and pAss and pAss");
	CHECK_STR(text_hide_uri_password(m, sizeof(m), "postgresql://u:p%41ss@h/db"),
	    "*** and *** and ***");
	snprintf(m, sizeof(m), "bad token \"q%%zzq\" in q%%zzq");
	CHECK_STR(text_hide_uri_password(m, sizeof(m), "postgresql://h/db?sslmode=x&password=q%zzq"),
	    "bad token \"***\" in ***");
	/* No password, or an SQLite path: the message as it was. */
	snprintf(m, sizeof(m), "u@h: refused");
	CHECK_STR(text_hide_uri_password(m, sizeof(m), "postgresql://u@h/db"), "u@h: refused");
	CHECK_STR(text_hide_uri_password(m, sizeof(m), "./var/log.db"), "u@h: refused");
	/* A short password grows into "***": cut at the buffer's end. */
	snprintf(m, 8, "abxab");
	CHECK_STR(text_hide_uri_password(m, 8, "postgresql://u:x@h/db"), "ab***ab");
	snprintf(m, 6, "abxab");
	CHECK_STR(text_hide_uri_password(m, 6, "postgresql://u:x@h/db"), "ab***");
	snprintf(m, 5, "abcx");
	CHECK_STR(text_hide_uri_password(m, 5, "postgresql://u:x@h/db"), "abc");
}

/* One reader of hex digits for the query strings, the multipart
 * headers' RFC 5987 values and the URIs' passwords. */
TEST(hex_digits)
{
	CHECK_INT(text_hexval('0'), 0);
	CHECK_INT(text_hexval('9'), 9);
	CHECK_INT(text_hexval('a'), 10);
	CHECK_INT(text_hexval('F'), 15);
	CHECK_INT(text_hexval('g'), -1);
	CHECK_INT(text_hexval('/'), -1);
	CHECK_INT(text_hexval(':'), -1);
	CHECK_INT(text_hexval(0xc3), -1);
}

int
main(void)
{
	RUN(sizes_in_one_unit_system);
	RUN(terminal_text_has_no_controls);
	RUN(session_ids_and_utf8_checks);
	RUN(clock_iso8601);
	RUN(utf8_sanitize);
	RUN(json_stays_valid_with_hostile_bytes);
	RUN(stream_fits_whole);
	RUN(stream_keeps_head_and_tail);
	RUN(query_strings);
	RUN(uri_passwords_hidden);
	RUN(uri_passwords_hidden_in_messages);
	RUN(hex_digits);
	return unit_done("text");
}
