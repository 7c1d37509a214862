/*
 * test_broker: the broker's requests and answers (shared/engine/broker.c)
 * over a real socketpair, each field checked; and a starting sandbox's
 * READY line (shared/engine/ready_line.c).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "engine/broker.h"
#include "engine/ready_line.h"

static void
pair(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
}

TEST(request_round_trip)
{
	struct broker_msg m, got;
	int sv[2];

	pair(sv);
	broker_msg_init(&m, BROKER_TAKE, 60000);
	CHECK(broker_send(sv[0], &m, NULL, 0) == 0);
	CHECK_INT(broker_recv(sv[1], 1, &got, NULL), 1);
	CHECK_INT(got.op, BROKER_TAKE);
	CHECK_INT(got.value, 60000);
	/* An answer where a request is wanted is refused. */
	broker_msg_init(&m, BROKER_GONE, 1);
	CHECK(broker_send(sv[0], &m, NULL, 0) == 0);
	CHECK_INT(broker_recv(sv[1], 1, &got, NULL), -1);
	close(sv[0]);
	CHECK_INT(broker_recv(sv[1], 1, &got, NULL), 0);	/* the end */
	close(sv[1]);
}

/* How many descriptors this process has open. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

TEST(box_carries_three_descriptors)
{
	struct broker_msg m, got;
	int sv[2], p[2], fds[3] = { -1, -1, -1 }, mine[3];

	pair(sv);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	mine[0] = mine[1] = mine[2] = p[0];
	broker_msg_init(&m, BROKER_BOX, 0);
	memset(m.id, 'a', ENGINE_ID_LEN);
	strcpy(m.engine, "docker");
	strcpy(m.code_dir, "/data/engine/boxes/x/code");
	strcpy(m.input_dir, "/data/engine/boxes/x/input");
	CHECK(broker_send(sv[0], &m, mine, 3) == 0);
	CHECK_INT(broker_recv(sv[1], 0, &got, fds), 1);
	CHECK(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
	CHECK(write(p[1], "x", 1) == 1);
	char c;
	CHECK(read(fds[1], &c, 1) == 1 && c == 'x');	/* the same pipe */
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	/* A BOX without its descriptors is refused (and nothing leaks). */
	int open_before = open_fds();
	CHECK(broker_send(sv[0], &m, NULL, 0) == 0);
	CHECK_INT(broker_recv(sv[1], 0, &got, fds), -1);
	/* Descriptors with a message that takes none: closed, refused. */
	broker_msg_init(&m, BROKER_GONE, 1);
	CHECK(broker_send(sv[0], &m, mine, 3) == 0);
	CHECK_INT(broker_recv(sv[1], 0, &got, fds), -1);
	/* A malformed message with descriptors: the same. */
	broker_msg_init(&m, 99, 0);
	CHECK(broker_send(sv[0], &m, mine, 3) == 0);
	CHECK_INT(broker_recv(sv[1], 0, &got, fds), -1);
	CHECK_INT(open_fds(), open_before);		/* none of the six kept */
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

TEST(fields_are_checked)
{
	struct broker_msg m, got;

	broker_msg_init(&m, BROKER_TAKE, BROKER_WAIT_MAX + 1);
	CHECK(broker_check(&m, sizeof(m), 1, &got) < 0);		/* a wait too long */
	broker_msg_init(&m, BROKER_TAKE, -1);
	CHECK(broker_check(&m, sizeof(m), 1, &got) < 0);
	broker_msg_init(&m, 99, 0);
	CHECK(broker_check(&m, sizeof(m), 1, &got) < 0);		/* no such request */
	broker_msg_init(&m, BROKER_KILL, 0);
	CHECK(broker_check(&m, sizeof(m) - 1, 1, &got) < 0);		/* short */
	m.magic ^= 1;
	CHECK(broker_check(&m, sizeof(m), 1, &got) < 0);
	broker_msg_init(&m, BROKER_BOX, 0);
	memset(m.id, 'a', ENGINE_ID_LEN);
	strcpy(m.engine, "docker");
	strcpy(m.code_dir, "/c");
	strcpy(m.input_dir, "/i");
	CHECK(broker_check(&m, sizeof(m), 0, &got) == 0);
	m.id[3] = 'G';							/* not hex */
	CHECK(broker_check(&m, sizeof(m), 0, &got) < 0);
	m.id[3] = 'a';
	strcpy(m.code_dir, "relative");
	CHECK(broker_check(&m, sizeof(m), 0, &got) < 0);
	strcpy(m.code_dir, "/c");
	memset(m.input_dir, 'x', sizeof(m.input_dir));			/* no end */
	CHECK(broker_check(&m, sizeof(m), 0, &got) < 0);
	broker_msg_init(&m, BROKER_ENDED, 256);
	CHECK(broker_check(&m, sizeof(m), 0, &got) < 0);
	broker_msg_init(&m, BROKER_ENDED, 137);
	m.value2 = 2;
	CHECK(broker_check(&m, sizeof(m), 0, &got) < 0);
	m.value2 = 1;
	CHECK(broker_check(&m, sizeof(m), 0, &got) == 0);
}

TEST(ready_line)
{
	struct ready_line r;

	memset(&r, 0, sizeof(r));
	CHECK_INT(ready_line_feed(&r, "numpy warning\n\x1eIMGSAND", 22), 0);
	CHECK_INT(ready_line_feed(&r, "BOX-READY {\"seccomp\": 2}", 25), 0);
	CHECK_INT(ready_line_feed(&r, "\n", 1), 1);
	CHECK_STR(r.facts, " {\"seccomp\": 2}");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ready_line_feed(&r, "\x1e\x1eIMGSANDBOX-READ", 17), 0);
	CHECK_INT(ready_line_feed(&r, "Y\n", 2), 1);
	CHECK_STR(r.facts, "");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ready_line_feed(&r, "\x1eIMGSANDBOX-READY", 17), 0);
	char big[READY_LINE_MAX + 8];
	memset(big, 'x', sizeof(big));
	CHECK_INT(ready_line_feed(&r, big, sizeof(big)), -1);		/* not ours */
}

int
main(void)
{
	RUN(request_round_trip);
	RUN(box_carries_three_descriptors);
	RUN(fields_are_checked);
	RUN(ready_line);
	return unit_done("broker");
}
