/*
 * sandbox_conn: a responder's requests to the broker and its answers, on
 * the connection that holds one sandbox (see sandbox_internal.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "base/clock.h"
#include "sandbox/sandbox_internal.h"

int
sandbox_ask(struct sandbox *sb, enum broker_op op, int32_t value)
{
	struct broker_msg m;

	broker_msg_init(&m, op, value);
	return sb->conn >= 0 ? broker_send(sb->conn, &m, NULL, 0) : -1;
}

int
sandbox_answer(struct sandbox *sb, enum broker_op op, int64_t until_ms, struct broker_msg *m)
{
	struct pollfd p = { .fd = sb->conn, .events = POLLIN };
	int64_t now;
	int fds[3], r;

	while (sb->conn >= 0 && (now = clock_mono_ms()) < until_ms) {
		if (poll(&p, 1, (int)(until_ms - now)) <= 0)
			continue;
		if ((r = broker_recv(sb->conn, 0, m, fds)) == 1 && m->op == op)
			return 1;
		if (r == 1 && m->op == BROKER_BOX)
			for (int i = 0; i < 3; i++)
				close(fds[i]);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
	}
	return 0;
}
