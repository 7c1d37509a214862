/*
 * engine_docker: the Docker engine behind engine.h. A sandbox is one
 * container, started attached (`docker run --interactive`, the one argv of
 * docker_run_argv) by a client that is the broker's child: the client's
 * stdin, stdout and stderr are the sandbox's. The container is found again
 * by its name (imgsandbox-<sandbox id>) and labels (instance, deadline).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/files.h"
#include "base/log.h"
#include "base/spawn.h"
#include "engine/docker.h"
#include "engine/docker_api.h"
#include "engine/engine.h"
#include "engine/seccomp_list.h"

/* How long an OOM kill's event may come after the exit (see outcome). */
#define OOM_EVENT_WAIT_MS	2000
#define OOM_PAUSE_MS		100
/* How long a removal waits for a client still making its container. */
#define REMOVE_MS		10000

static const struct config *conf;
static char instance_label[64];

struct docker_box {
	char name[64];
	struct child client;
	int status;		/* the client's wait status, once reaped */
	int reaped;
	int killed;		/* we killed it (a SIGKILL is then not the kernel's) */
	int64_t started_real;	/* unix ms: the engine's events are asked from here */
};

static int
d_open(const struct config *c, const char *instance, const char *state_dir, char *msg,
    size_t msglen)
{
	char ccfg[600];

	conf = c;
	snprintf(instance_label, sizeof(instance_label), "%s", instance);
	if (snprintf(ccfg, sizeof(ccfg), "%s/docker-client", state_dir) >= (int)sizeof(ccfg) ||
	    make_dirs(ccfg, 0700) < 0) {
		snprintf(msg, msglen, "the docker client's folder %s cannot be made", ccfg);
		return -1;
	}
	/* Every sandbox runs under our own profile, made from the list now:
	 * the list is the one source, the file the engine's form of it. */
	if (seccomp_profile_write(c->seccomp_list, c->runtime, c->seccomp_profile, msg,
	    msglen) < 0)
		return -1;
	if (docker_init(c, ccfg) < 0) {
		snprintf(msg, msglen, "the docker client '%s' is not installed: apt-get install "
		    "docker.io, or set IMGSANDBOX_DOCKER", c->docker_bin);
		return -1;
	}
	if (dapi_init(c) == 0)
		log_info("sandboxes through the engine's API (IMGSANDBOX_DOCKER_API=1)");
	return 0;
}

static void
close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

/* Three pipes, our ends non-blocking. Returns 0 or -1. */
static int
make_pipes(int in[2], int out[2], int err[2])
{
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    fcntl(in[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(out[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(err[0], F_SETFL, O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/* The sandbox's client: a child of ours that speaks the engine's API
 * (docker_api.h), or the docker client program. Returns 0 or -1 (logged). */
static int
start_client(const char *id, struct argv_buf *argv, struct argv_buf *envp, int in, int out,
    int err, struct child *client)
{
	char name[64], why[200];
	char *body;
	int rc;

	if (dapi_on()) {
		if ((body = dapi_create_body(argv->v, name, sizeof(name), why, sizeof(why))) != NULL) {
			rc = dapi_run_start(name, body, in, out, err, client);
			free(body);
			if (rc < 0)
				log_warn("sandbox %s: its client", id);
			return rc;
		}
		log_warnx("sandbox %s: %s; the docker client program runs it", id, why);
	}
	if (spawn_start(argv->v[0], argv->v, envp->v, in, out, err, client) < 0) {
		log_warn("sandbox %s: spawn %s", id, argv->v[0]);
		return -1;
	}
	return 0;
}

static int
d_start(struct engine_box *b)
{
	struct argv_buf argv = { .n = 0 }, envp = { .n = 0 };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct docker_box *d;
	struct docker_job dj;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	d->client = (struct child){ .pid = -1, .pidfd = -1 };
	docker_job_fill(&dj, conf, instance_label, b->id, b->code_dir, b->input_dir,
	    b->deadline_epoch, 1, d->name);
	if (docker_run_argv(conf, &dj, &argv) < 0 || docker_envp(conf, NULL, &envp) < 0) {
		log_warnx("sandbox %s: the command line is too long", b->id);
		goto fail;
	}
	if (make_pipes(in, out, err) < 0) {
		log_warn("sandbox %s: pipes", b->id);
		goto fail;
	}
	d->started_real = clock_real_ms();
	if (start_client(b->id, &argv, &envp, in[0], out[1], err[1], &d->client) < 0)
		goto fail;
	close(in[0]);
	close(out[1]);
	close(err[1]);
	b->in_fd = in[1];
	b->out_fd = out[0];
	b->err_fd = err[0];
	b->priv = d;
	return 0;
fail:
	close_pair(in);
	close_pair(out);
	close_pair(err);
	free(d);
	return -1;
}

static int
d_wait(struct engine_box *b, int64_t until_ms)
{
	struct docker_box *d = b->priv;
	int rc;

	if (d == NULL)
		return -1;
	if (d->reaped)
		return 1;
	rc = spawn_wait(&d->client, until_ms, &d->status);
	if (rc == 0) {
		d->reaped = 1;
		return 1;
	}
	return rc == 1 ? 0 : -1;
}

static int
d_kill(struct engine_box *b)
{
	struct docker_box *d = b->priv;

	if (d == NULL)
		return -1;
	d->killed = 1;
	return docker_kill(d->name);
}

/* The engine's word on how a container ended: OOMKilled and the exit
 * code. The engine learns of an OOM kill by an event of its own, which may
 * come after the exit (under runsc beside three busy loops: 4 runs in 30,
 * 33-131 ms late), and then its OOMKilled stays false for good (docker
 * 20.10: asked again 4 times over 400 ms, it stayed false). So one killed by
 * SIGKILL that we did not kill is looked for in the engine's events, for
 * up to OOM_EVENT_WAIT_MS after the exit. PID 1 of a container cannot be
 * SIGKILLed from inside it under runc (gVisor allows it), so the wait is
 * rarely paid without an OOM. */
static int
d_outcome(struct engine_box *b, int *exit_code, int *oom)
{
	struct docker_box *d = b->priv;
	int64_t until = clock_mono_ms() + OOM_EVENT_WAIT_MS;
	int saw;

	*exit_code = -1;
	*oom = -1;
	if (d == NULL)
		return -1;
	if (d->reaped)
		*exit_code = spawn_exit_code(d->status);
	if (docker_inspect_state(d->name, oom, exit_code) < 0)
		return d->reaped ? 0 : -1;
	if (*oom || *exit_code != 128 + 9 || d->killed)
		return 0;
	for (;;) {
		if ((saw = docker_saw_event(d->name, "oom", d->started_real - 1000)) != 0) {
			*oom = saw > 0;
			return 0;
		}
		if (clock_mono_ms() >= until)
			return 0;
		usleep(OOM_PAUSE_MS * 1000);
	}
}

/* `docker rm --force` says nothing of a container still being created,
 * which would come up after the removal. So the removal is repeated while
 * the client runs, and done once more after it ended: then the container
 * exists or never will. Returns 0 when the last removal was confirmed. */
static int
d_remove(struct engine_box *b)
{
	struct docker_box *d = b->priv;
	int64_t give_up = clock_mono_ms() + REMOVE_MS;
	int removed;

	if (d == NULL)
		return 0;
	removed = docker_rm(d->name) == 0;
	while (!d->reaped && clock_mono_ms() < give_up) {
		if (spawn_wait(&d->client, clock_mono_ms() + 200, &d->status) == 0) {
			d->reaped = 1;
			removed = docker_rm(d->name) == 0;
			break;
		}
		removed = docker_rm(d->name) == 0;
	}
	if (!d->reaped)
		spawn_kill(&d->client, SIGKILL);
	if (!removed)
		log_warnx("container %s could not be removed now; the reaper will", d->name);
	free(d);
	b->priv = NULL;
	return removed ? 0 : -1;
}

static int
d_reap(int64_t grace_s)
{
	return docker_reap(instance_label, grace_s);
}

static int
d_check(char *msg, size_t msglen)
{
	return docker_check(conf->image, msg, msglen);
}

static const struct engine_ops docker_ops = {
	.name = "docker",
	.open = d_open,
	.start = d_start,
	.wait = d_wait,
	.kill = d_kill,
	.outcome = d_outcome,
	.remove = d_remove,
	.reap = d_reap,
	.check = d_check,
};

const struct engine_ops *
engine_docker(void)
{
	return &docker_ops;
}
