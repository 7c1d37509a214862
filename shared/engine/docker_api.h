/*
 * docker_api: the Docker engine spoken to on its Unix socket (its HTTP
 * API, version 1.41), instead of a `docker` client program per call.
 *
 * Why: on the machines this runs on, a sandbox's `docker run` cost about a
 * second of host CPU, and a third of it was not the sandbox. The client
 * programs (`docker run`, `docker inspect`, `docker rm`: a 40 MB Go program
 * each) and, above all, the engine's network set-up for `--network=none`:
 * dockerd runs itself twice per container (libnetwork-setkey as runc's
 * hook, set-ipv6 for the namespace) to configure a namespace that has no
 * interface. A container created with NetworkDisabled gets a network
 * namespace of its own all the same (the runtime's default spec has one),
 * with only a loopback that is down, and none of that set-up.
 *
 * The argv of docker_run_argv stays the one place a sandbox's flags are
 * written: dapi_create_body translates it, flag by flag, into the create
 * request the client would have sent, and refuses an argv with a flag it
 * does not know (the broker then runs the client program, as before).
 */
#ifndef DOCKER_API_H
#define DOCKER_API_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"

struct child;

/* The engine's socket from the settings: "" when IMGSANDBOX_DOCKER_API is
 * 0 or IMGSANDBOX_DOCKER_HOST names no Unix socket (tcp://, ssh://: the
 * client program speaks those). Returns 0 when the API is to be used. */
int dapi_init(const struct config *c);

/* Whether dapi_init chose the API. */
int dapi_on(void);

/* The create request's JSON for a `docker run` argv (as docker_run_argv
 * writes it: argv[1] is "run"), and the container's name. The seccomp
 * profile a --security-opt names is read and put in whole, as the client
 * does. Returns a malloc'd string, or NULL with a sentence in err when the
 * argv has a flag this does not know or a file cannot be read. */
char *dapi_create_body(char *const argv[], char *name, size_t namelen, char *err,
    size_t errlen);

/* Parses a whole HTTP/1.1 response (headers and body, chunked or not) in
 * place. Returns the status, with *body and *bodylen the body (decoded,
 * NUL-terminated), or -1 when it is not one. */
int dapi_parse_response(char *buf, size_t len, char **body, size_t *bodylen);

/* One request on a connection of its own (Connection: close). Returns the
 * status, with the body (NUL-terminated, cut to outlen - 1) in out, or -1
 * when the engine could not be reached or did not answer in timeout_ms. */
int dapi_call(const char *method, const char *path, const char *body, char *out,
    size_t outlen, int64_t timeout_ms);

/* Starts a sandbox's client: a child of ours (no program run) that creates
 * the container from body (dapi_create_body), attaches to its streams,
 * starts it, relays in to its stdin and its stdout and stderr to out and
 * err (the 0, 1 and 2 of a `docker run --interactive`), and exits with its
 * exit code, or 125 (its error on err) when the engine refused. Returns 0
 * and fills *c as spawn_start does, or -1. */
int dapi_run_start(const char *name, const char *body, int in, int out, int err,
    struct child *c);

/* The engine's word on a container, by name: SIGKILL it, its state, its
 * removal (forced, with its anonymous volumes). Each returns 0, or -1 when
 * the engine refused or could not be asked (no such container, among
 * others). */
int dapi_kill(const char *name);
int dapi_inspect_state(const char *name, int *oom_killed, int *exit_code);
int dapi_rm(const char *name);

/* The broker's housekeeping, asked as the client programs would
 * (`docker version`, `docker image inspect`, `docker ps`, `docker events`)
 * without starting one each time (50-60 ms of CPU a client).
 * dapi_version: 0 when the engine answers. dapi_image: 0 when it has the
 * image. dapi_list: calls each(name, its imgsandbox.deadline label or "",
 * arg) for every container (running or not) labelled label (key=value);
 * the count, or -1 when the engine could not be asked. dapi_saw_event: 1
 * when the engine recorded action for the container between since and
 * until (ms of the real clock, both past: it answers at once), 0 when
 * not, -1 when it could not be asked. */
int dapi_version(void);
int dapi_image(const char *image);
int dapi_list(const char *label, void (*each)(const char *name, const char *deadline, void *arg),
    void *arg);
int dapi_saw_event(const char *name, const char *action, int64_t since_ms, int64_t until_ms);

#endif
