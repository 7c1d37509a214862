/*
 * docker: the only code that knows the container engine's command line
 * (the broker, fcgi/sandboxd, is the only program that runs it).
 * docker_run_argv() is the one place every hardening flag of a sandbox is
 * written; the rest kill, inspect, remove and reap containers by name and
 * label, always through spawn.
 */
#ifndef DOCKER_H
#define DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"

#define DOCKER_ARGV_MAX 96

/* An argv and the bytes of its strings, bounded, owned by the struct. */
struct argv_buf {
	char *v[DOCKER_ARGV_MAX + 1];
	int n;
	char buf[8192];
	size_t used;
	int overflow;
};

/* Appends a printf-formatted argument. Returns 0, or -1 (and sets overflow)
 * when the argv or its buffer is full. */
int argv_add(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What one sandbox container needs to know. */
struct docker_job {
	const char *name;		/* container name, imgsandbox-<sandbox id>: never a job's
					 * id, which keeps a result private and cancels a run,
					 * and which a container's name shows to every local
					 * user (ps, docker ps) */
	const char *instance;		/* label value that tells this service's containers */
	int64_t deadline_epoch;		/* label: after this (unix s) the reaper may remove it */
	const char *code_dir;		/* host folders, absolute, read-only inside */
	const char *input_dir;
	const char *user;		/* uid:gid */
	int warm;			/* a warm sandbox: started ahead with stdin open, it
					 * imports c->preload and waits for its job there
					 * (USER_PARAMS comes with the job, not the argv) */
};

/* Fills j for a sandbox named imgsandbox-<id> (the sandbox's own id) (name: its buffer, at least
 * 64 bytes) on the folders code_dir and input_dir, under the settings of c,
 * removable by the reaper after deadline_epoch. warm: started ahead. */
void docker_job_fill(struct docker_job *j, const struct config *c, const char *instance,
    const char *id, const char *code_dir, const char *input_dir, int64_t deadline_epoch,
    int warm, char *name);

/* Builds the whole `docker run` argv for job under the limits of c. The
 * container's environment is only what is listed here (USER_PARAMS comes
 * from the client's environment by name: see docker_envp). Returns 0, or -1
 * when the argv did not fit. */
int docker_run_argv(const struct config *c, const struct docker_job *job, struct argv_buf *a);

/* Appends s itself (not a copy: it must outlive a). Returns 0 or -1. */
int argv_add_ptr(struct argv_buf *a, char *s);

/* The docker client's environment: PATH, DOCKER_CONFIG, DOCKER_HOST when
 * set, and params_env ("USER_PARAMS=...", kept by the caller) when not NULL.
 * Nothing else of the service's own environment. Returns 0 or -1. */
int docker_envp(const struct config *c, char *params_env, struct argv_buf *a);

/* Initialises the module: resolves the client's path. Returns 0 or -1. */
int docker_init(const struct config *c, const char *client_config_dir);

/* The resolved client path. */
const char *docker_client(void);

/* Kills the container by name (SIGKILL). Returns 0, or -1 when the engine
 * did not confirm (it may already be gone). */
int docker_kill(const char *name);

/* Reads the container's state. Returns 0 with *oom_killed and *exit_code,
 * or -1 (no such container, engine unreachable). */
int docker_inspect_state(const char *name, int *oom_killed, int *exit_code);

/* Whether the engine logged event `action` (e.g. "oom") for the container
 * since since_real_ms (unix ms), from the events it keeps. Returns 1 or 0,
 * or -1 when it could not be asked. */
int docker_saw_event(const char *name, const char *action, int64_t since_real_ms);

/* Removes the container by name, forcefully. Returns 0 or -1. */
int docker_rm(const char *name);

/* Starts the removal of the container by name and returns at once: the
 * caller reaps the client c (its status says whether it worked). Returns 0
 * or -1. */
struct child;
int docker_rm_start(const char *name, struct child *c);

/* Removes this instance's containers whose deadline label is past by more
 * than grace_s. Returns how many were removed, or -1 when the engine could
 * not be asked. */
int docker_reap(const char *instance, int64_t grace_s);

/* Asks the engine whether it answers and whether image is present, and
 * whether the seccomp profile docker_init was given can be read. Returns 0
 * when all hold; -1 with a sentence naming the fix in msg. */
int docker_check(const char *image, char *msg, size_t msglen);

#endif
