/*
 * engine: one interface over the engines a sandbox can run on (Docker, the
 * fork-server). Only the broker (fcgi/sandboxd.c) uses it: the process that
 * holds the engine's keys, and parses nothing a client or a script sends
 * but its own short requests and a sandbox's READY line.
 *
 * A sandbox ("box") takes one job, always. Its life:
 *
 *   start     the broker made its folders (code/, input/: read-only at
 *             /code and /input inside); the engine starts entry.py --warm
 *             on them with stdin open, in the background. entry.py imports
 *             IMGSANDBOX_PRELOAD, then writes on stdout the READY line
 *                 \x1eIMGSANDBOX-READY {"seccomp": 2, "no_new_privs": 1,
 *                     "cap_eff": "0000000000000000", "uid": 10001,
 *                     "apparmor": "docker-default (enforce)" | null}\n
 *             (the facts of its own process, read before any user code
 *             runs: the broker refuses a box whose facts are not those of a
 *             sandbox) and waits for one job line on stdin.
 *   (handed)  the broker gives the three pipe ends to a responder, which
 *             moves the job's files into the folders and writes the job.
 *   wait      until every process of the box has ended;
 *   kill      at its deadline, a cancel, or a client gone: all of it, now;
 *   outcome   how it ended: its PID 1's exit status, and whether the
 *             kernel killed it for memory;
 *   remove    nothing of it left in the engine (the folders are the
 *             broker's, removed by it).
 *
 * Every call may block (the broker calls them from a thread per sandbox or
 * per client), each for a bounded time.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"

#define ENGINE_ID_LEN 32	/* hex characters of 128 random bits */

struct engine_box {
	char id[ENGINE_ID_LEN + 1];	/* the sandbox's own name, never a job's */
	char dir[512];			/* its folder, the broker's */
	char code_dir[512];		/* dir/code: read-only at /code */
	char input_dir[512];		/* dir/input: read-only at /input */
	int64_t deadline_epoch;		/* unix s: past this (and a grace) the reaper may
					 * remove it, its broker having died */
	int in_fd, out_fd, err_fd;	/* the broker's ends of its stdin, stdout and stderr,
					 * non-blocking, close-on-exec (-1: none) */
	void *priv;			/* the engine's own state of it */
};

struct engine_ops {
	const char *name;	/* "docker" or "fork": answers say "<name>-warm" or "-cold" */

	/* Readies the engine under the settings c, for sandboxes labelled
	 * instance, with state_dir a folder of the broker's own. Returns 0,
	 * or -1 with a sentence in msg saying what the host lacks and how to
	 * give it (the broker then answers every request with it). */
	int (*open)(const struct config *c, const char *instance, const char *state_dir,
	    char *msg, size_t msglen);

	/* Starts a sandbox on b's folders (made by the caller, with b's id,
	 * dir, code_dir, input_dir and deadline_epoch set). Returns at once:
	 * 0 with b's pipe ends set, or -1 (logged). */
	int (*start)(struct engine_box *b);

	/* Waits until every process of b has ended, or the monotonic clock
	 * passes until_ms (0: does not wait). Returns 1 when it has ended, 0
	 * when not yet, -1 on an error. */
	int (*wait)(struct engine_box *b, int64_t until_ms);

	/* Kills every process of b. Returns 0 when the engine confirmed it,
	 * -1 when it did not (it may be gone already, or still being made:
	 * call again). */
	int (*kill)(struct engine_box *b);

	/* After wait said it ended: *exit_code is its PID 1's (128+n for
	 * signal n; -1 when unknown), *oom 1 when the kernel killed a process
	 * of it for memory. At most a few seconds. Returns 0, or -1 when the
	 * engine could not say. */
	int (*outcome)(struct engine_box *b, int *exit_code, int *oom);

	/* Removes whatever is left of b in the engine (killing it first if
	 * it still runs) and frees b->priv; b's pipe ends are the caller's.
	 * At most a few seconds. Returns 0 when it is gone, -1 when the
	 * reaper must finish it. */
	int (*remove)(struct engine_box *b);

	/* Removes the sandboxes of this instance that an earlier broker left,
	 * past their deadline by grace_s. Returns how many, or -1. */
	int (*reap)(int64_t grace_s);

	/* Whether sandboxes can start now (the engine answers, its image or
	 * root filesystem is there). Returns 0, or -1 with a sentence naming
	 * the fix in msg. */
	int (*check)(char *msg, size_t msglen);

	/* At the broker's stop, once its sandboxes are removed: lets go of
	 * what open made on the host (the fork engine's template and its
	 * instance's cgroup). NULL when there is nothing to let go of. */
	void (*close)(void);
};

/* The engines; NULL when this build has no such engine. */
const struct engine_ops *engine_docker(void);
const struct engine_ops *engine_fork(void);

#endif
