#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/capture.h"

void
stream_add(struct stream_capture *s, const char *buf, size_t n)
{
	size_t take, i;

	s->total += n;
	take = s->head_cap - s->head_len;
	if (take > n)
		take = n;
	memcpy(s->head + s->head_len, buf, take);
	s->head_len += take;
	buf += take;
	n -= take;
	/* Only what overflows the head goes to the tail ring. */
	if (n > s->tail_cap) {
		buf += n - s->tail_cap;
		n = s->tail_cap;
	}
	for (i = 0; i < n; i++) {
		s->tail[s->tail_pos % s->tail_cap] = buf[i];
		s->tail_pos++;
	}
}

int
stream_init(struct stream_capture *s, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->head_cap = cap / 2;
	s->tail_cap = cap - cap / 2;
	s->head = malloc(s->head_cap);
	s->tail = malloc(s->tail_cap);
	if (s->head == NULL || s->tail == NULL) {
		free(s->head);
		free(s->tail);
		s->head = s->tail = NULL;
		return -1;
	}
	return 0;
}

char *
stream_text(const struct stream_capture *s, size_t *len, int *truncated)
{
	size_t tail_len = s->tail_pos < s->tail_cap ? s->tail_pos : s->tail_cap;
	size_t show = tail_len, start, i, o = 0;
	char note[128];
	int nn = 0;
	char *out;

	*truncated = s->total > (uint64_t)(s->head_len + show);
	if (*truncated)
		nn = snprintf(note, sizeof(note), "\n[... %llu bytes not kept ...]\n",
		    (unsigned long long)(s->total - s->head_len - show));
	if (nn < 0)
		nn = 0;
	if ((out = malloc(s->head_len + (size_t)nn + show + 1)) == NULL)
		return NULL;
	memcpy(out, s->head, s->head_len);
	o = s->head_len;
	memcpy(out + o, note, (size_t)nn);
	o += (size_t)nn;
	start = s->tail_pos - show;
	for (i = 0; i < show; i++)
		out[o++] = s->tail[(start + i) % s->tail_cap];
	out[o] = '\0';
	*len = o;
	return out;
}

void
stream_free(struct stream_capture *s)
{
	free(s->head);
	free(s->tail);
	s->head = s->tail = NULL;
}
