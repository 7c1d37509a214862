/*
 * spawn: the only place that starts processes. Every child gets an explicit
 * argv and envp (no shell), an empty signal mask, default signal actions,
 * stdin/stdout/stderr as given (or /dev/null), and no other descriptor.
 * Waiting is done on a pidfd with a deadline.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct child {
	pid_t pid;
	int pidfd;	/* readable when the child has exited */
};

/* Starts path with argv/envp; in/out/err are descriptors for the child's
 * 0/1/2, or -1 for /dev/null. The child gets a session of its own (a
 * terminal's Ctrl-C or a group kill aimed at us does not reach it).
 * Returns 0 and fills *c, or -1 with errno. The caller waits with
 * spawn_wait() (which closes pidfd). */
int spawn_start(const char *path, char *const argv[], char *const envp[],
    int in, int out, int err, struct child *c);

/* The same, with flags: SPAWN_SAME_SESSION keeps the child in our session
 * and process group (a supervisor's children, stopped with it). */
#define SPAWN_SAME_SESSION 1
int spawn_start_flags(const char *path, char *const argv[], char *const envp[],
    int in, int out, int err, int flags, struct child *c);

/* Waits until the child exits or the monotonic clock passes deadline_ms
 * (see clock_mono_ms; -1: no deadline). Returns 0 with *status filled and the
 * child reaped, 1 on timeout (the child still runs), -1 on error. */
int spawn_wait(struct child *c, int64_t deadline_ms, int *status);

/* Sends sig to the child (if it still runs) and reaps it. */
void spawn_kill(struct child *c, int sig);

/* A wait status as a shell would report it: the exit status, or 128+n for
 * a child killed by signal n. */
int spawn_exit_code(int status);

/* Runs path to completion, with stdout captured into out[0..outlen) (NUL-
 * terminated, the rest dropped) and stderr dropped, killing it at timeout.
 * Returns 0 with *exit_code set, 1 on timeout, -1 on error. */
int spawn_capture(const char *path, char *const argv[], char *const envp[],
    int64_t timeout_ms, char *out, size_t outlen, int *exit_code);

/* Finds name in the PATH directories (name with a slash is taken as is).
 * Returns 0 and the absolute path in out, or -1. */
int spawn_find_program(const char *name, char *out, size_t outlen);

/* A start in namespaces of its own (spawn_ns.c), for the fork engine's
 * template: clone3 with flags (CLONE_NEWUSER, CLONE_NEWNS, ...), the
 * descriptors keep[0..nkeep) given to the child as 3, 4, ..., then in the
 * parent parent(pid, arg) (its uid and gid maps: the child waits for it),
 * then in the child child(arg) (system calls only: the parent may have
 * threads) before the exec. Either returning -1 (errno) fails the start. */
#define SPAWN_NS_KEEP_MAX 4
struct spawn_ns {
	uint64_t flags;
	const int *keep;
	int nkeep;
	int (*parent)(pid_t pid, void *arg);
	int (*child)(void *arg);
	void *arg;
};

/* Starts path as spawn_start does (explicit argv and envp, empty signal
 * mask, default actions, a session of its own, 0-2 as given or /dev/null)
 * in the namespaces of ns. Returns 0 and fills *c (pid as this process
 * sees it, and a pidfd), or -1 with errno. */
int spawn_start_ns(const char *path, char *const argv[], char *const envp[],
    int in, int out, int err, const struct spawn_ns *ns, struct child *c);

#endif
