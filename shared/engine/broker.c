/*
 * broker: the requests a responder may make of the broker and its answers
 * (see broker.h). Both sides link this file; neither trusts the other's
 * bytes before broker_check has read them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/broker.h"

void
broker_msg_init(struct broker_msg *m, enum broker_op op, int32_t value)
{
	memset(m, 0, sizeof(*m));
	m->magic = BROKER_MAGIC;
	m->op = (uint16_t)op;
	m->value = value;
}

/* Whether s ends within its n bytes. */
static int
terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static int
hex_id(const char *s)
{
	size_t i;

	for (i = 0; i < ENGINE_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[ENGINE_ID_LEN] == '\0';
}

static int
check_request(const struct broker_msg *m)
{
	switch (m->op) {
	case BROKER_TAKE:
	case BROKER_OUTCOME:
		return m->value >= 0 && m->value <= BROKER_WAIT_MAX ? 0 : -1;
	case BROKER_KILL:
	case BROKER_DONE:
		return 0;
	default:
		return -1;
	}
}

static int
check_answer(const struct broker_msg *m)
{
	switch (m->op) {
	case BROKER_BOX:
		if (!hex_id(m->id) || !terminated(m->engine, sizeof(m->engine)) ||
		    m->engine[0] == '\0' || !terminated(m->code_dir, sizeof(m->code_dir)) ||
		    !terminated(m->input_dir, sizeof(m->input_dir)) || m->code_dir[0] != '/' ||
		    m->input_dir[0] != '/')
			return -1;
		return 0;
	case BROKER_NONE:
		return terminated(m->text, sizeof(m->text)) ? 0 : -1;
	case BROKER_KILLED:
	case BROKER_GONE:
		return m->value == 0 || m->value == 1 ? 0 : -1;
	case BROKER_ENDED:
		return m->value >= -1 && m->value <= 255 && m->value2 >= -1 && m->value2 <= 1 ?
		    0 : -1;
	default:
		return -1;
	}
}

int
broker_check(const void *buf, size_t len, int want_request, struct broker_msg *out)
{
	if (len != sizeof(*out))
		return -1;
	memcpy(out, buf, sizeof(*out));
	if (out->magic != BROKER_MAGIC)
		return -1;
	return want_request ? check_request(out) : check_answer(out);
}

int
broker_send(int sock, const struct broker_msg *m, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (nfds < 0 || nfds > 3) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

/* Takes the descriptors of mh's SCM_RIGHTS into fds (up to 3, the rest
 * closed). Returns how many were taken. */
static int
take_fds(struct msghdr *mh, int fds[3])
{
	struct cmsghdr *cm;
	int k = 0, n, i, fd;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + (size_t)i * sizeof(int), sizeof(int));
			if (fds != NULL && k < 3)
				fds[k++] = fd;
			else
				close(fd);
		}
	}
	return k;
}

int
broker_recv(int sock, int want_request, struct broker_msg *m, int fds[3])
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char buf[sizeof(*m) + 1];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf) };
	int got[3] = { -1, -1, -1 }, k, i;
	ssize_t n;

	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	k = take_fds(&mh, got);
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    broker_check(buf, (size_t)n, want_request, m) < 0 ||
	    (m->op == BROKER_BOX ? k != 3 : k != 0)) {
		for (i = 0; i < k; i++)
			close(got[i]);
		errno = EPROTO;
		return -1;
	}
	if (fds != NULL)
		for (i = 0; i < 3; i++)
			fds[i] = got[i];
	return 1;
}
