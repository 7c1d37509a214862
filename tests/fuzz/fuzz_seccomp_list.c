/*
 * fuzz_seccomp_list: libFuzzer target for the seccomp list's parser
 * (shared/engine/seccomp_list.c). Whatever the bytes, it parses or says
 * which line is wrong; a list that parses makes a Docker profile that is
 * a JSON object (and then makes it again identically), and its message
 * names a line when it does not. Every few inputs that parse, the BPF
 * filter is made too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine/seccomp_list.h"

static struct seccomp_list list;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned parsed;
	char msg[256], *a, *b;
	void *prog;
	size_t len;
	cJSON *doc;

	if (seccomp_list_parse((const char *)data, size, &list, msg, sizeof(msg)) < 0) {
		if (strncmp(msg, "line ", 5) != 0 && strstr(msg, "bytes") == NULL &&
		    strstr(msg, "no system call") == NULL)
			abort();
		return 0;
	}
	if (list.n < 1 || list.n > SECCOMP_LIST_MAX_RULES)
		abort();
	if ((a = seccomp_list_json(&list, NULL, msg, sizeof(msg))) == NULL)
		abort();
	if ((doc = cJSON_Parse(a)) == NULL || !cJSON_IsObject(doc))
		abort();
	cJSON_Delete(doc);
	b = seccomp_list_json(&list, NULL, msg, sizeof(msg));
	if (b == NULL || strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	if ((a = seccomp_list_json(&list, "runsc", msg, sizeof(msg))) == NULL)
		abort();
	free(a);
	if (parsed++ % 16 == 0) {
		if (seccomp_list_bpf(&list, &prog, &len, msg, sizeof(msg)) < 0)
			abort();
		if (len == 0 || len % 8 != 0)
			abort();
		free(prog);
	}
	return 0;
}
