/*
 * outbuf: a caller's fixed buffer filled piece by piece, always
 * NUL-terminated. A piece that does not fit whole is left out and marks the
 * buffer full; later pieces are left out too, so a cut text never ends in
 * half a word or half a UTF-8 sequence.
 */
#ifndef OUTBUF_H
#define OUTBUF_H

#include <stddef.h>

struct outbuf {
	char *p;	/* the caller's buffer, cap bytes */
	size_t cap, n;	/* n: bytes written, without the NUL */
	int full;	/* a piece did not fit */
};

/* Starts o over p[0..cap) (cap > 0), empty. */
void outbuf_init(struct outbuf *o, char *p, size_t cap);

/* Appends s[0..n) when it fits whole with the NUL, else marks o full. */
void outbuf_put(struct outbuf *o, const char *s, size_t n);

/* Appends the string s, as outbuf_put. */
void outbuf_puts(struct outbuf *o, const char *s);

#endif
