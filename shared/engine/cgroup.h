/*
 * cgroup: the fork engine's control groups, on cgroup v1 (a hierarchy
 * each for memory, cpu and pids, as on this machine) and v2 (one, as on
 * current Debian) alike.
 *
 * Layout, under the delegated folder IMGSANDBOX_CGROUP (P, made and given
 * to the broker's user by fcgi/engine_setup.sh as root):
 *   P/<instance>/template          the template (v2: where boxes come from)
 *   P/<instance>/box-<deadline>-<id>   one box: memory = memory+swap, a CPU
 *                                  quota, a process count
 * On v1 the broker moves a process it owns (same uid) into any folder it
 * may write; on v2 a move needs the common ancestor's cgroup.procs, so the
 * broker itself must run inside P (fcgi/engine_setup.sh --enter puts it in
 * P/service) and P must have memory, cpu and pids in its
 * cgroup.subtree_control.
 */
#ifndef CGROUP_H
#define CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { CG_MEMORY, CG_CPU, CG_PIDS, CG_N };

struct cgroup_host {
	int v2;			/* 1: one unified hierarchy (mnt[0]) */
	int memsw;		/* v1: memory.memsw.* is there (swap accounted) */
	char mnt[CG_N][128];	/* v1: where memory, cpu and pids are mounted */
	char inst[CG_N][384];	/* mnt/P/<instance>, per hierarchy */
};

struct cgroup_limits {
	int64_t memory_bytes;	/* memory, swap included */
	int64_t cpu_quota_us;	/* per 100 ms period */
	int64_t pids;
};

/* Finds the hierarchies, checks that parent (relative to their roots) is
 * there and this user's, and makes parent/instance. Returns 0, or -1 with
 * a sentence naming the missing piece and its fix in msg. */
int cgroup_open(struct cgroup_host *h, const char *parent, const char *instance,
    char *msg, size_t len);

/* Makes the cgroup name under the instance's folder with limits l (NULL:
 * none). Returns 0, or -1 (logged). */
int cgroup_make(const struct cgroup_host *h, const char *name, const struct cgroup_limits *l);

/* Moves pid (its whole thread group) into name. Returns 0, or -1 (logged). */
int cgroup_attach(const struct cgroup_host *h, const char *name, pid_t pid);

/* How many processes of name the kernel killed for memory. Returns the
 * count, or -1. */
int64_t cgroup_oom_kills(const struct cgroup_host *h, const char *name);

/* SIGKILLs every process in name. Returns how many it found (0: empty), or
 * -1 when it could not read the cgroup. */
int cgroup_kill(const struct cgroup_host *h, const char *name);

/* Removes name (killing what is left, waiting up to wait_ms for it to go).
 * Returns 0 when it is gone (or was), -1 when not. */
int cgroup_remove(const struct cgroup_host *h, const char *name, int64_t wait_ms);

/* Calls fn(name, arg) for each cgroup under the instance's folder. Returns
 * 0, or -1 when the folder cannot be read. */
int cgroup_each(const struct cgroup_host *h, void (*fn)(const char *name, void *arg), void *arg);

#endif
