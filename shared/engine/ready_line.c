/*
 * ready_line: a starting sandbox's READY line (see ready_line.h).
 */
#include "engine/ready_line.h"

int
ready_line_feed(struct ready_line *r, const char *buf, size_t n)
{
	static const char prefix[] = READY_LINE_PREFIX;

	for (size_t i = 0; i < n; i++) {
		if (r->state == 0) {
			/* Only the prefix's first byte can start it again: it
			 * appears nowhere else in it. */
			if (buf[i] == prefix[r->match])
				r->match++;
			else
				r->match = buf[i] == prefix[0];
			if (r->match == sizeof(prefix) - 1)
				r->state = 1;
			continue;
		}
		if (buf[i] == '\n') {
			r->facts[r->len] = '\0';
			return 1;
		}
		if (r->len + 1 >= sizeof(r->facts))
			return -1;
		r->facts[r->len++] = buf[i];
	}
	return 0;
}
