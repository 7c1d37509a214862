#include <string.h>

#include "base/outbuf.h"

void
outbuf_init(struct outbuf *o, char *p, size_t cap)
{
	o->p = p;
	o->cap = cap;
	o->n = 0;
	o->full = 0;
	if (cap > 0)
		p[0] = '\0';
}

void
outbuf_put(struct outbuf *o, const char *s, size_t n)
{
	if (o->full || o->n + n + 1 > o->cap) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
}

void
outbuf_puts(struct outbuf *o, const char *s)
{
	outbuf_put(o, s, strlen(s));
}
