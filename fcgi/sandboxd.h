/*
 * sandboxd: the broker, the one process of the service that holds the
 * engine's keys (the docker group, or the fork-server's namespaces and
 * cgroups). What its files share: the pool of sandboxes started ahead
 * (sandboxd_pool.c) and the state every thread reads.
 */
#ifndef SANDBOXD_H
#define SANDBOXD_H

#include <pthread.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/ready_line.h"

#define POOL_MAX 128		/* sandboxes starting or ready at once */

/* A sandbox the broker made. */
struct box {
	struct engine_box eb;
	int64_t created_ms;	/* monotonic */
	int64_t ready_ms;	/* its READY line came and its facts held; 0: starting */
	struct ready_line ready;	/* its READY line as it comes */
	char err[512];		/* the start of what it printed on stderr (the engine's
				 * complaint when it ends before it is ready) */
	size_t err_len;
};

/* What the pool holds and says. Every field under mu. */
struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a box became ready, a start failed, or stopping */
	struct box *box[POOL_MAX];	/* starting or ready, not handed out */
	int n;
	int64_t next_ticket, serving;	/* askers are served in the order they came */
	int waiting;		/* askers waiting for a box */
	int wanted;		/* starts asked by askers and not yet made */
	int wake_fd;		/* eventfd: the pool thread has something to do */
	int engine_ok;		/* the last check, start or READY said the engine works */
	char problem[400];	/* why not, for the askers and health */
	int64_t retry_at;	/* no start before this (a start failed) */
	int stopping;
	long long started, handed_out, failed, retired, refused;
};

extern struct pool pool;
extern const struct engine_ops *eng;
extern char boxes_root[600];
extern char state_path[600];

/* Makes a box: its id, folders (code/ and input/ writable by the service's
 * group, readable by the sandbox) and the engine's start. Returns it, or
 * NULL (logged). */
struct box *box_new(void);

/* Removes what is left of b (engine, folders) and frees it. Blocking. */
void box_destroy(struct box *b);

/* The pool's thread: starts boxes ahead, reads their READY lines, retires
 * idle ones, and starts one at once for each asker that found none. */
void *pool_main(void *arg);

/* Wakes the pool's thread. */
void pool_wake(void);

/* Takes the oldest ready box for an asker, waiting for one until
 * until_ms while still(arg) says the asker is there. Returns it (*warm 1
 * when it was ready when asked), or NULL with a sentence in msg
 * (*unavailable 1 when the engine cannot start sandboxes). */
struct box *pool_take(int64_t until_ms, int (*still)(void *), void *arg, int *warm,
    int *unavailable, char *msg, size_t msglen);

/* When a box last became ready (monotonic ms; 0: never). */
int64_t pool_last_ready(void);

/* Removes every box of the pool (stopping). */
void pool_drain(void);

/* Writes DATA/engine/state.json (state_path): the engine, whether it
 * works, the pool. The pool writes it itself when what it says changes. */
void pool_write_state(void);

#endif
