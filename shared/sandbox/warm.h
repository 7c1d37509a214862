/*
 * warm: warm sandboxes, the host's and not one responder's. The pool
 * keeper (fcgi/warmpool.c, one per host) starts containers ahead with the
 * same argv as a cold run plus stdin (docker_run_argv), on folders of their
 * own, and waits for each one's ready line (entry.py --warm has imported
 * NumPy and Pillow by then). A responder asks the keeper's socket for one
 * and is handed the container's name, its folders and the three ends of
 * its client's pipes (SCM_RIGHTS): it then owns that sandbox for one job
 * and removes it after (shared/sandbox/sandbox.c). The keeper only reaps the
 * client. One job per container, always.
 */
#ifndef WARM_H
#define WARM_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "sandbox/jobs.h"
#include "base/spawn.h"

struct warm_box {
	char id[JOB_ID_LEN + 1];
	char name[64];		/* the container: imgsandbox-<id> */
	struct job dirs;	/* DATA/sandboxes/<id>/{code,input} */
	struct child child;	/* the attached docker client (the keeper's) */
	int in_fd, out_fd, err_fd;	/* our ends of its stdin, stdout, stderr */
	int64_t created_ms;	/* monotonic */
	int64_t ready_ms;	/* when its ready line came; 0: not yet */
	size_t ready_match;
	int keeper_fd;		/* a responder's: the connection to the keeper, held while
				 * the sandbox is in use (closing it says "done with it";
				 * the keeper removes the container of one that died) */
};

/* Starts a warm sandbox on new folders under root, labelled for instance;
 * the container starts in the background. Returns 0 and fills b, or -1
 * (logged). */
int warm_start(const struct config *c, const char *instance, const char *root,
    struct warm_box *b);

/* Reads what the sandbox printed so far, looking for its ready line.
 * Returns 1 when it is ready, 0 when not yet, -1 when it ended (its client
 * exited or its stdout closed). */
int warm_poll_ready(struct warm_box *b);

/* Removes warm sandboxes that were never handed out: closes their stdin,
 * removes their containers, waits for their clients (at most until
 * deadline_ms, then kills them), removes their folders. All at once. A
 * removal is repeated while a client runs: `docker rm --force` says
 * nothing of a container still being created, which would come up after
 * it. */
void warm_discard(struct warm_box **v, int n, int64_t deadline_ms);

/* The keeper's side of the hand-off: sends b (its name, folders and the
 * three pipe ends) on sock, or that there is none (b NULL). Returns 0 or
 * -1. The keeper closes its copies of the ends afterwards. */
int warm_send(int sock, const struct warm_box *b);

/* A responder's side: asks the keeper at socket_path for a ready sandbox,
 * waiting at most timeout_ms. Returns 1 and fills b (the pipe ends are now
 * ours; child.pid is -1: the client is the keeper's; keeper_fd is held
 * until the sandbox is removed), 0 when there is none or no keeper answers
 * (run cold), -1 on a local failure. */
int warm_take(const char *socket_path, int64_t timeout_ms, struct warm_box *b);

/* Marks a sandbox taken: its folder becomes <dir>.in-use (the container's
 * mounts follow the folder), so that what waits in DATA/sandboxes/ and
 * what runs a job are told apart at a glance. Returns 0, or -1 with errno. */
int warm_claim(struct warm_box *b);

#endif
