/*
 * fuzz_broker: the broker's reader of requests and answers
 * (broker_check) on any bytes: it must refuse what is not a message of the
 * list, never read past its buffer, and hand a BOX's strings on only when
 * they end within their fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/broker.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_msg m;

	for (int want = 0; want < 2; want++) {
		if (broker_check(data, size, want, &m) < 0)
			continue;
		/* Accepted: its strings are strings, its id 32 hex. */
		if (m.op == BROKER_BOX && (strlen(m.id) != ENGINE_ID_LEN ||
		    strlen(m.code_dir) >= sizeof(m.code_dir) || m.code_dir[0] != '/'))
			__builtin_trap();
		if (m.op == BROKER_NONE && strlen(m.text) >= sizeof(m.text))
			__builtin_trap();
	}
	return 0;
}
