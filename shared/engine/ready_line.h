/*
 * ready_line: reading a starting sandbox's stdout for its READY line
 * ("\x1eIMGSANDBOX-READY", then its facts up to a newline: see engine.h).
 * What comes before the line (an import's warning) is dropped.
 */
#ifndef READY_LINE_H
#define READY_LINE_H

#include <stddef.h>

#define READY_LINE_PREFIX "\x1eIMGSANDBOX-READY"
#define READY_LINE_MAX 600

struct ready_line {
	int state;		/* 0: looking for the prefix, 1: reading to the newline */
	size_t match;		/* bytes of the prefix matched so far */
	char facts[READY_LINE_MAX];	/* what follows the prefix, NUL-terminated when whole */
	size_t len;
};

/* Feeds n bytes of the sandbox's stdout. Returns 1 when the line is whole
 * (r->facts holds what followed the prefix, without the newline), 0 when
 * not yet, -1 when it is longer than READY_LINE_MAX (not ours). */
int ready_line_feed(struct ready_line *r, const char *buf, size_t n);

#endif
