/*
 * capture: what is kept of a stream a script prints (stdout or stderr):
 * its head and its tail, at most a cap in all, and how many bytes it had.
 * Whatever the script prints, the service holds a bounded amount of it.
 */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct stream_capture {
	char *head;		/* first bytes */
	size_t head_len, head_cap;
	char *tail;		/* a ring of the last bytes */
	size_t tail_cap, tail_pos;
	uint64_t total;		/* bytes the stream carried */
};

/* A capture of at most cap bytes (half head, half tail). Returns 0, or -1
 * when memory ran out. */
int stream_init(struct stream_capture *s, size_t cap);

/* Counts n more bytes of the stream and keeps what the head and tail hold. */
void stream_add(struct stream_capture *s, const char *buf, size_t n);

void stream_free(struct stream_capture *s);

/* Returns a malloc'd copy of what the stream kept: everything when it fit,
 * else its head, a line saying how much was left out, and its tail. *len
 * gets the length; *truncated is set when bytes were left out. NULL when
 * memory ran out. */
char *stream_text(const struct stream_capture *s, size_t *len, int *truncated);

#endif
