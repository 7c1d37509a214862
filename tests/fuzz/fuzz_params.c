/*
 * fuzz_params: libFuzzer target for params_check and utf8_valid. utf8_valid
 * is compared with a decoder written differently (code point ranges); a
 * params value that passes must parse with cJSON as an object no deeper
 * than PARAMS_MAX_DEPTH.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "facts/params.h"
#include "base/text.h"

/* Reference: decodes each sequence and checks the code point's range. */
static int
ref_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0, k, need;
	uint32_t cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0) {
			need = 1; cp = s[i] & 0x1F; min = 0x80;
		} else if ((s[i] & 0xF0) == 0xE0) {
			need = 2; cp = s[i] & 0x0F; min = 0x800;
		} else if ((s[i] & 0xF8) == 0xF0) {
			need = 3; cp = s[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += need + 1;
	}
	return 1;
}

static int
depth_of(const cJSON *v)
{
	int d = 0, c;

	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		return 0;
	for (const cJSON *e = v->child; e != NULL; e = e->next)
		if ((c = depth_of(e)) > d)
			d = c;
	return d + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[256];
	cJSON *v;
	int r;

	if (utf8_valid((const char *)data, size) != ref_utf8(data, size))
		abort();
	r = params_check((const char *)data, size, msg, sizeof(msg));
	if (r != 0 && r != -1)
		abort();
	if ((r == 0) != (msg[0] == '\0'))
		abort();
	if (r == 0 && size > 0) {
		if (!ref_utf8(data, size) || memchr(data, '\0', size) != NULL)
			abort();
		v = cJSON_ParseWithLength((const char *)data, size);
		if (v == NULL || !cJSON_IsObject(v) || depth_of(v) > PARAMS_MAX_DEPTH)
			abort();
		cJSON_Delete(v);
	}
	/* A short msg buffer is always NUL-terminated. */
	msg[5] = 'x';
	params_check((const char *)data, size, msg, 5);
	if (memchr(msg, '\0', 5) == NULL)
		abort();
	return 0;
}
