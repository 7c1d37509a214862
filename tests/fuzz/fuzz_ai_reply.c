/*
 * fuzz_ai_reply: libFuzzer target for what a model's answer goes through:
 * ai_parse_reply (the answer's JSON), ai_extract_code (the script in the
 * reply's text), ai_first_words. Checks what the answer relies on: a
 * script found is non-empty valid UTF-8 ending with a newline, no longer
 * than the text it came from plus that newline; the notes are valid UTF-8
 * within AI_NOTES_MAX; the first words fit and hold no control character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/ai.h"
#include "base/text.h"

static void
check_words(const char *s, size_t n)
{
	char out[AI_WORDS_MAX];
	size_t i, k, len;

	ai_first_words(s, n, out, sizeof(out));
	len = strlen(out);
	if (len >= sizeof(out) || !utf8_valid(out, len))
		abort();
	for (i = 0; i < len; i += k)
		if ((k = utf8_seq_len((const unsigned char *)out + i, len - i)) == 0 ||
		    text_is_control((const unsigned char *)out + i, k) || out[i] == '\n')
			abort();
}

static void
check_extract(const char *s, size_t n)
{
	struct ai_code c;
	int rc = ai_extract_code(s, n, &c);

	if (rc < 0)
		return;
	if (rc == 0) {
		if (c.code != NULL || c.notes != NULL)
			abort();
		return;
	}
	if (c.code_len == 0 || c.code_len != strlen(c.code) || c.code[c.code_len - 1] != '\n' ||
	    !utf8_valid(c.code, c.code_len) || c.code_len > 3 * n + 1)
		abort();
	if (c.notes_len != strlen(c.notes) || c.notes_len >= AI_NOTES_MAX ||
	    !utf8_valid(c.notes, c.notes_len))
		abort();
	ai_code_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ai_result res;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* The reply's text is a C string (from cJSON): up to the first NUL. */
	check_extract(s, strlen(s));
	check_words(s, size);
	memset(&res, 0, sizeof(res));
	if (ai_parse_reply(s, size, &res) == 0) {
		if (res.content == NULL || res.content_len != strlen(res.content) ||
		    strlen(res.model) >= sizeof(res.model))
			abort();
		check_extract(res.content, res.content_len);
		ai_result_free(&res);
	} else if (res.content != NULL || res.message[0] == '\0')
		abort();
	free(s);
	return 0;
}
