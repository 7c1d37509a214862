/*
 * sandbox_internal: what sandbox.c (taking a sandbox from the broker,
 * handing it the job, letting it go) and sandbox_watch.c (reading the run)
 * share, and nothing else includes.
 */
#ifndef SANDBOX_INTERNAL_H
#define SANDBOX_INTERNAL_H

#include "engine/broker.h"
#include "sandbox/sandbox.h"

struct sandbox {
	const struct config *cfg;
	int conn;		/* to the broker; -1: none (see problem) */
	char problem[300];	/* why there is no connection */
	int used;		/* a sandbox takes one job */
	int have_box;		/* the broker handed one over */
	int warm;		/* it was ready when asked for */
	char kind[32];		/* "docker-warm", "fork-cold", ... */
	struct broker_msg box;	/* the broker's BOX: its id and folders */
	int in_fd, out_fd, err_fd;	/* its pipe ends, until the run takes them */
};

/* One run being read: the sandbox, its job, the result, the streams. */
struct run {
	struct sandbox *sb;
	const struct sandbox_job *job;
	const struct sandbox_events *ev;
	struct sandbox_result *res;
	int out, err, in;	/* our ends; -1 once closed */
	const char *in_buf;	/* the job line still to write */
	size_t in_len;
	int stopping;		/* the sandbox was told to die (timeout, cancel, flood) */
	int killed;		/* ... and the broker confirmed it */
	int broker_gone;	/* the broker's connection ended */
	enum sandbox_outcome stop_as;
	int64_t deadline, next_kill, next_tick;
};

/* Reads the run until its end is known (both END records and the files),
 * its streams end, or a stop's grace is over; then says what happened in
 * r->res. */
void sandbox_watch(struct run *r);

/* Readies r for sb's job (res zeroed, its captures made). Returns 0, or -1
 * when memory ran out. */
int sandbox_run_init(struct run *r, struct sandbox *sb, const struct sandbox_job *job,
    struct sandbox_result *res);

/* Sends a request without descriptors to the broker. Returns 0 or -1. */
int sandbox_ask(struct sandbox *sb, enum broker_op op, int32_t value);

/* Waits for the broker's answer of kind op (others are dropped) until
 * until_ms. Returns 1 with m filled, 0 on a timeout, -1 when the broker's
 * connection ended or broke. */
int sandbox_answer(struct sandbox *sb, enum broker_op op, int64_t until_ms,
    struct broker_msg *m);

#endif
