/*
 * broker: the requests a responder may make of the broker (fcgi/sandboxd),
 * the one process that holds the engine's keys, and its answers: both
 * sides of one unix socket (SOCK_SEQPACKET, one message a datagram, the
 * peer checked with SO_PEERCRED). The list is short and fixed, and no
 * request carries an argv, a path or a name for the engine:
 *
 *   TAKE wait_ms      a sandbox, ready (its READY line read and its facts
 *                     checked), within wait_ms:
 *                       BOX id engine warm code_dir input_dir, with the
 *                       three pipe ends of its stdin, stdout and stderr; or
 *                       NONE sentence (value 1: the engine is unavailable)
 *   KILL              kill all of it:       KILLED (value 1: confirmed)
 *   OUTCOME wait_ms   how it ended:         ENDED exit_code oom, or
 *                                           ENDED with flag BROKER_NOT_YET
 *   DONE              remove it:            GONE (value 1: removed)
 *
 * One connection holds one sandbox, from TAKE to DONE; a connection that
 * closes says DONE (the responder died). Every message is a struct
 * broker_msg; broker_recv() checks each field (a fuzz target feeds it any
 * bytes).
 */
#ifndef BROKER_H
#define BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define BROKER_MAGIC	0x31425349u	/* "ISB1" */
#define BROKER_WAIT_MAX	600000		/* the longest wait a request may ask, ms */

enum broker_op {
	/* requests */
	BROKER_TAKE = 1, BROKER_KILL, BROKER_OUTCOME, BROKER_DONE,
	/* answers */
	BROKER_BOX = 16, BROKER_NONE, BROKER_KILLED, BROKER_ENDED, BROKER_GONE,
};

#define BROKER_WARM	0x1	/* BOX: it was ready when asked for */
#define BROKER_NOT_YET	0x2	/* ENDED: it has not ended within the wait */

struct broker_msg {
	uint32_t magic;
	uint16_t op;
	uint16_t flags;
	int32_t value;		/* TAKE, OUTCOME: the wait, ms; ENDED: the exit code
				 * (-1: unknown); KILLED, GONE: 1 confirmed, 0 not;
				 * NONE: 1 the engine is unavailable */
	int32_t value2;		/* ENDED: 1 killed for memory, 0 not, -1 unknown */
	char id[ENGINE_ID_LEN + 1];	/* BOX */
	char engine[15];	/* BOX: "docker" or "fork" */
	char code_dir[512];	/* BOX */
	char input_dir[512];	/* BOX */
	char text[400];		/* NONE: a sentence for the client */
};

/* A message of op with value, the rest zero. */
void broker_msg_init(struct broker_msg *m, enum broker_op op, int32_t value);

/* Checks a received message: its size, magic, op (a request when
 * want_request, else an answer), the range of its values, that its strings
 * end within their fields and that a BOX's id is 32 hex and its folders
 * absolute. Returns 0, or -1. */
int broker_check(const void *buf, size_t len, int want_request, struct broker_msg *out);

/* Sends m on sock with nfds descriptors (0 or 3). Returns 0, or -1 with
 * errno. */
int broker_send(int sock, const struct broker_msg *m, const int *fds, int nfds);

/* Receives one message on sock into m (checked as broker_check), and the
 * descriptors that came with it: a BOX's three into fds[0..2] (else they
 * are closed). Returns 1, 0 at the end of the connection, or -1 (errno:
 * EPROTO for a message that does not check, EAGAIN on a timeout). */
int broker_recv(int sock, int want_request, struct broker_msg *m, int fds[3]);

#endif
