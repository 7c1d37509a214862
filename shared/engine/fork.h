/*
 * fork: the fork-server engine (engine_fork() in engine.h), and the pieces
 * its files share.
 *
 *   fork.c           the engine's calls: start, wait, kill, outcome, remove,
 *                    reap, check
 *   fork_template.c  the template: its host checks, its start in namespaces
 *                    of its own, its small root (built by fork_root.c)
 *   fork_root.c      the steps that build that root, run in the child
 *   fork_seccomp.c   the sandbox's seccomp filter
 *   cgroup.c, userns.c
 *
 * The template is /usr/bin/python3 -I /opt/imgsandbox/zygote.py of the
 * root filesystem (IMGSANDBOX_ROOTFS), in new user, mount, PID, network,
 * IPC and UTS namespaces, pivot_root'ed into a small read-only root of its
 * own. It imports IMGSANDBOX_PRELOAD once, then serves in C
 * (zygote_fork.so, built from runner_image/zygote_fork.c beside the
 * broker's program): per box it forks a child into new PID, network, IPC
 * and UTS namespaces; the child enters a new mount (and cgroup) namespace,
 * mounts its /proc, /tmp, /output, /dev/shm, binds the box's code/ and
 * input/ read-only, waits to be moved into the box's cgroup, maps ahead
 * the pages the template learned from a trial job (zygote_learn.c,
 * IMGSANDBOX_FORK_PREFAULT), drops to the sandbox user with no capability
 * and no new privileges, installs the filter, prints the READY line and
 * takes its one job as entry.py does.
 *
 * The broker and the template talk over a SOCK_SEQPACKET pair (the
 * template's fd 3): the settings (JSON) and "ready", then per box the
 * request "<id> <host> <code> <input>" (the folders relative to the state
 * folder) with the box's stdin, stdout, stderr and the template's end of a
 * box socket. On the box socket the box says "hello" (its host pid comes
 * with it, as SCM_CREDENTIALS), the broker answers "go" once it is in its
 * cgroup, and the template says "exit <code>" once it has reaped it (or
 * "error <why>" when it made none).
 */
#ifndef FORK_H
#define FORK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/config.h"
#include "base/spawn.h"
#include "engine/cgroup.h"
#include "engine/userns.h"

#define FORK_BOXES_AT "/run/boxes"	/* the state folder, in the template's root */
#define FORK_STEPS_MAX 96
#define FORK_LIB "zygote_fork.so"	/* built beside the broker's program */

/* One step of building the template's root (fork_root.c). */
enum root_op { R_MOUNT, R_MKDIR, R_SYMLINK, R_FILE, R_COPY, R_REMOUNT, R_PIVOT,
	R_UMOUNT, R_RMDIR, R_WRITE, R_HOSTNAME, R_CHDIR };
struct root_step {
	enum root_op op;
	const char *a, *b, *c, *d;	/* paths, fstype, data: see fork_root.c */
	unsigned long flags;
	int optional;		/* its failure does not fail the start */
};

/* What the template's child does between clone and exec: the steps, then
 * setgroups([]), no new privileges, no transparent huge pages. */
struct root_plan {
	struct root_step step[FORK_STEPS_MAX];
	int n;
	char text[16384];	/* the strings the steps point into */
	size_t used;
	int overflow;
};

/* The template as the engine keeps it. */
struct fork_template {
	struct child c;		/* its pid and pidfd (host) */
	int ctl;		/* the broker's end of the control socket */
};

/* fork_root.c: runs plan's steps (in the child: system calls only).
 * Returns 0, or -1 with errno. */
int fork_root_run(void *plan);

/* fork_root.c: fills plan with the steps that build the template's root
 * from rootfs (its top-level folders), runner (entry.py, zygote.py and
 * packages.txt copied to /opt/imgsandbox), lib (zygote_fork.so, copied
 * there too) and boxes (bound at FORK_BOXES_AT). Returns 0, or -1 with
 * msg. */
int fork_root_plan(struct root_plan *plan, const char *rootfs, const char *runner,
    const char *lib, const char *boxes, char *msg, size_t len);

/* fork_template.c: checks what the host offers (the root filesystem and
 * the runner's files, user namespaces, the id maps, the delegated cgroup,
 * seccomp). Fills *m and *h. Returns 0, or -1 with a sentence naming the
 * missing piece and its fix in msg. */
int fork_host_check(const struct config *c, const char *instance, struct idmap *m,
    struct cgroup_host *h, char *msg, size_t len);

/* fork_template.c: the same checks for a caller that only asks (the
 * broker's start-up, a --check of the service): returns 0, or -1 with the
 * sentence in msg. */
int engine_fork_host_check(const struct config *c, const char *instance, char *msg,
    size_t len);

/* fork_template.c: starts the template and waits (at most timeout_ms) for
 * it to say it is ready. Returns 0, or -1 with msg. */
int fork_template_start(const struct config *c, const struct idmap *m,
    const struct cgroup_host *h, const char *boxes, struct fork_template *t,
    char *msg, size_t len);

/* fork_template.c: ends the template (every box with it). */
void fork_template_stop(struct fork_template *t);

/* fork_seccomp.c: the sandbox's filter, the BPF of the list at list_path
 * (IMGSANDBOX_SECCOMP_LIST, the Docker engine's too), in a memfd. Returns
 * the memfd, or -1 with a sentence in msg. */
int fork_seccomp_memfd(const char *list_path, char *msg, size_t len);

#endif
