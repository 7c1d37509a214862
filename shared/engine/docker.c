#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/docker.h"
#include "engine/docker_api.h"
#include "base/log.h"
#include "base/spawn.h"

static char client[256];
static char client_env_config[300];
static char client_env_host[300];
static char seccomp_profile[300];

int
argv_add(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (a->overflow || a->n >= DOCKER_ARGV_MAX) {
		a->overflow = 1;
		return -1;
	}
	room = sizeof(a->buf) - a->used;
	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		a->overflow = 1;
		return -1;
	}
	a->v[a->n++] = a->buf + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)n + 1;
	return 0;
}

int
docker_init(const struct config *c, const char *client_config_dir)
{
	if (snprintf(client_env_config, sizeof(client_env_config), "DOCKER_CONFIG=%s",
	    client_config_dir) >= (int)sizeof(client_env_config))
		return -1;
	client_env_host[0] = '\0';
	snprintf(seccomp_profile, sizeof(seccomp_profile), "%s", c->seccomp_profile);
	if (c->docker_host[0] != '\0' &&
	    snprintf(client_env_host, sizeof(client_env_host), "DOCKER_HOST=%s",
	    c->docker_host) >= (int)sizeof(client_env_host))
		return -1;
	if (spawn_find_program(c->docker_bin, client, sizeof(client)) < 0) {
		log_warnx("the docker client '%s' is not in PATH; install docker.io "
		    "or set IMGSANDBOX_DOCKER", c->docker_bin);
		snprintf(client, sizeof(client), "%s", c->docker_bin);
		return -1;
	}
	return 0;
}

const char *
docker_client(void)
{
	return client;
}

int
argv_add_ptr(struct argv_buf *a, char *s)
{
	if (a->overflow || a->n >= DOCKER_ARGV_MAX) {
		a->overflow = 1;
		return -1;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

int
docker_envp(const struct config *c, char *params_env, struct argv_buf *a)
{
	(void)c;
	argv_add(a, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	argv_add(a, "%s", client_env_config);
	if (client_env_host[0] != '\0')
		argv_add(a, "%s", client_env_host);
	if (params_env != NULL)
		argv_add_ptr(a, params_env);
	return a->overflow ? -1 : 0;
}

void
docker_job_fill(struct docker_job *j, const struct config *c, const char *instance,
    const char *id, const char *code_dir, const char *input_dir, int64_t deadline_epoch,
    int warm, char *name)
{
	snprintf(name, 64, "imgsandbox-%.32s", id);
	memset(j, 0, sizeof(*j));
	j->name = name;
	j->instance = instance;
	j->deadline_epoch = deadline_epoch;
	j->code_dir = code_dir;
	j->input_dir = input_dir;
	j->user = c->sandbox_user;
	j->warm = warm;
}

/* The flags that shut the sandbox in: no network, nothing writable of the
 * image, no privileges, our seccomp profile, its own user; first to go
 * when the host runs out of memory, under the service's capped cgroup. */
static void
add_isolation(const struct config *c, const struct docker_job *j, struct argv_buf *a)
{
	argv_add(a, "--network=none");
	argv_add(a, "--read-only");
	argv_add(a, "--cap-drop=ALL");
	argv_add(a, "--security-opt=no-new-privileges");
	argv_add(a, "--ipc=none");
	argv_add(a, "--user=%s", j->user);
	if (c->runtime[0] != '\0')
		argv_add(a, "--runtime=%s", c->runtime);
	/* Our own seccomp profile (made from runner_image/seccomp.list at
	 * start: Docker's default less io_uring, ptrace, splice and the rest
	 * the list names), the same under runc and runsc (--oci-seccomp). */
	argv_add(a, "--security-opt=seccomp=%s", c->seccomp_profile);
	/* When the host runs short of memory, a sandbox goes first: never
	 * dockerd, the log's database or the responders. */
	argv_add(a, "--oom-score-adj=1000");
	/* Under the service's own capped cgroup (fcgi/cgroup_parent.sh), so
	 * that all the sandboxes together stay within slots x memory. */
	if (c->cgroup_parent[0] != '\0')
		argv_add(a, "--cgroup-parent=%s", c->cgroup_parent);
}

int
docker_run_argv(const struct config *c, const struct docker_job *j, struct argv_buf *a)
{
	int threads;

	argv_add(a, "%s", client);
	argv_add(a, "run");
	argv_add(a, "--name=%s", j->name);
	argv_add(a, "--label=imgsandbox.instance=%s", j->instance);
	argv_add(a, "--label=imgsandbox.deadline=%lld", (long long)j->deadline_epoch);
	add_isolation(c, j, a);
	/* Limits */
	argv_add(a, "--cpus=%s", c->cpus);
	argv_add(a, "--memory=%lld", (long long)c->memory_bytes);
	argv_add(a, "--memory-swap=%lld", (long long)c->memory_bytes);
	argv_add(a, "--pids-limit=%lld", (long long)c->pids);
	argv_add(a, "--ulimit=nofile=%lld:%lld", (long long)c->nofile, (long long)c->nofile);
	argv_add(a, "--ulimit=fsize=%lld:%lld", (long long)c->output_bytes,
	    (long long)c->output_bytes);
	argv_add(a, "--ulimit=core=0:0");
	argv_add(a, "--tmpfs=/tmp:rw,size=%lld,noexec,nosuid,nodev,mode=1777",
	    (long long)c->tmp_bytes);
	/* The engine keeps no copy of what the script prints (the client
	 * streams it to us; json-file logs would fill the host's disk). */
	argv_add(a, "--log-driver=none");
	argv_add(a, "--pull=never");
	/* Files */
	argv_add(a, "--mount=type=bind,src=%s,dst=/code,readonly", j->code_dir);
	argv_add(a, "--mount=type=bind,src=%s,dst=/input,readonly", j->input_dir);
	/* The only place the script may write that outlives it: a tmpfs of
	 * the container's own, capped in total by the kernel (ENOSPC past
	 * it), never executable; its images leave through the record
	 * protocol at the script's end, and it is gone with the container. */
	argv_add(a, "--tmpfs=/output:rw,size=%lld,noexec,nosuid,nodev,mode=1777",
	    (long long)c->output_bytes);
	argv_add(a, "--workdir=/tmp");
	/* Environment: only this. */
	argv_add(a, "--env=HOME=/tmp");
	argv_add(a, "--env=MPLCONFIGDIR=/tmp");
	argv_add(a, "--env=PYTHONDONTWRITEBYTECODE=1");
	/* Thread pools sized to the CPU limit (a whole number, at least 1),
	 * not to the host's cores. */
	threads = (int)ceil(strtod(c->cpus, NULL));
	if (threads < 1)
		threads = 1;
	argv_add(a, "--env=OMP_NUM_THREADS=%d", threads);
	argv_add(a, "--env=OPENBLAS_NUM_THREADS=%d", threads);
	argv_add(a, "--env=MKL_NUM_THREADS=%d", threads);
	argv_add(a, "--env=NUMEXPR_NUM_THREADS=%d", threads);
	argv_add(a, "--env=OPENCV_FOR_THREADS_NUM=%d", threads);
	if (j->warm) {
		argv_add(a, "--env=IMGSANDBOX_PRELOAD=%s", c->preload);
		argv_add(a, "--interactive");	/* the job comes on stdin */
	} else {
		argv_add(a, "--env=USER_PARAMS");	/* value from the client's environment */
	}
	argv_add(a, "%s", c->image);
	argv_add(a, "/usr/bin/python3");
	argv_add(a, "-I");
	argv_add(a, "/opt/imgsandbox/entry.py");
	if (j->warm)
		argv_add(a, "--warm");
	return a->overflow ? -1 : 0;
}

/* Runs `docker <args...>` with a short timeout; stdout into out. Returns the
 * client's exit code, or -1 when it could not run or timed out. */
static int
docker_cmd(char *out, size_t outlen, int64_t timeout_ms, ...)
{
	struct argv_buf a = { .n = 0 }, env = { .n = 0 };
	const char *arg;
	va_list ap;
	int code, rc;

	argv_add(&a, "%s", client);
	va_start(ap, timeout_ms);
	while ((arg = va_arg(ap, const char *)) != NULL)
		argv_add(&a, "%s", arg);
	va_end(ap);
	if (a.overflow || docker_envp(NULL, NULL, &env) < 0)
		return -1;
	rc = spawn_capture(client, a.v, env.v, timeout_ms, out, outlen, &code);
	if (rc != 0)
		return -1;
	return code;
}

int
docker_kill(const char *name)
{
	char out[256];

	if (dapi_on())
		return dapi_kill(name);
	return docker_cmd(out, sizeof(out), 10000, "kill", "--signal=KILL", name, NULL) == 0 ? 0 : -1;
}

int
docker_inspect_state(const char *name, int *oom_killed, int *exit_code)
{
	char out[256];
	char oom[16];
	int code;

	if (dapi_on())
		return dapi_inspect_state(name, oom_killed, exit_code);
	if (docker_cmd(out, sizeof(out), 10000, "inspect", "--type=container",
	    "--format={{.State.OOMKilled}} {{.State.ExitCode}}", name, NULL) != 0)
		return -1;
	if (sscanf(out, "%15s %d", oom, &code) != 2)
		return -1;
	*oom_killed = strcmp(oom, "true") == 0;
	*exit_code = code;
	return 0;
}

int
docker_saw_event(const char *name, const char *action, int64_t since_real_ms)
{
	char out[512], since[64], until[64], filter_c[160], filter_e[64];
	int64_t now = clock_real_ms();

	if (dapi_on())
		return dapi_saw_event(name, action, since_real_ms, now);
	/* Both ends in the past: the engine answers from the events it keeps
	 * (its last 256: seconds of them under load, and an OOM event comes
	 * within about 150 ms of the exit) and closes at once, instead of
	 * waiting for new ones. */
	snprintf(since, sizeof(since), "--since=%lld.%03lld", (long long)(since_real_ms / 1000),
	    (long long)(since_real_ms % 1000));
	snprintf(until, sizeof(until), "--until=%lld.%03lld", (long long)(now / 1000),
	    (long long)(now % 1000));
	snprintf(filter_c, sizeof(filter_c), "--filter=container=%s", name);
	snprintf(filter_e, sizeof(filter_e), "--filter=event=%s", action);
	if (docker_cmd(out, sizeof(out), 10000, "events", since, until, filter_c, filter_e,
	    "--format={{.Action}}", NULL) != 0)
		return -1;
	return strstr(out, action) != NULL;
}

int
docker_rm(const char *name)
{
	char out[256];

	if (dapi_on())
		return dapi_rm(name);
	return docker_cmd(out, sizeof(out), 20000, "rm", "--force", "--volumes", name, NULL) == 0 ? 0 : -1;
}

int
docker_rm_start(const char *name, struct child *c)
{
	struct argv_buf a = { .n = 0 }, env = { .n = 0 };

	argv_add(&a, "%s", client);
	argv_add(&a, "rm");
	argv_add(&a, "--force");
	argv_add(&a, "--volumes");
	argv_add(&a, "%s", name);
	if (a.overflow || docker_envp(NULL, NULL, &env) < 0)
		return -1;
	return spawn_start(client, a.v, env.v, -1, -1, -1, c);
}

struct reap {
	int64_t now, grace_s;
	int removed;
};

static void
reap_one(const char *name, const char *deadline, void *arg)
{
	struct reap *r = arg;

	if (strtoll(deadline, NULL, 10) + r->grace_s > r->now)
		return;		/* may still be running for a live request */
	if (strncmp(name, "imgsandbox-", 11) != 0)
		return;
	if (docker_rm(name) == 0) {
		log_info("reaped leftover container %s", name);
		r->removed++;
	}
}

int
docker_reap(const char *instance, int64_t grace_s)
{
	char label[256], filter[300], out[16384], *line, *save, *tab;
	struct reap r = { .now = (int64_t)time(NULL), .grace_s = grace_s };

	if (snprintf(label, sizeof(label), "imgsandbox.instance=%s", instance) >=
	    (int)sizeof(label))
		return -1;
	if (dapi_on())
		return dapi_list(label, reap_one, &r) < 0 ? -1 : r.removed;
	snprintf(filter, sizeof(filter), "label=%s", label);
	if (docker_cmd(out, sizeof(out), 15000, "ps", "--all", "--no-trunc",
	    "--filter", filter, "--format", "{{.Names}}\t{{.Label \"imgsandbox.deadline\"}}",
	    NULL) != 0)
		return -1;
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if ((tab = strchr(line, '\t')) == NULL)
			continue;
		*tab = '\0';
		reap_one(line, tab + 1, &r);
	}
	return r.removed;
}

int
docker_check(const char *image, char *msg, size_t msglen)
{
	char out[512];
	int rc;

	if (dapi_on())
		rc = dapi_version();
	else if ((rc = docker_cmd(out, sizeof(out), 10000, "version",
	    "--format={{.Server.Version}}", NULL)) == 0 && out[0] == '\0')
		rc = -1;
	if (rc != 0) {
		snprintf(msg, msglen, "the container engine does not answer; start it "
		    "(e.g. 'dockerd &' or 'systemctl start docker') and check that the "
		    "service's user may use it (the docker group)");
		return -1;
	}
	/* No sandbox starts without our seccomp profile (docker run would
	 * refuse it): say so here, with the fix. */
	if (seccomp_profile[0] != '\0' && access(seccomp_profile, R_OK) < 0) {
		snprintf(msg, msglen, "the sandboxes' seccomp profile %s cannot be read (%s); "
		    "the broker writes it at its start, or run 'build/seccomp_profile --json %s'",
		    seccomp_profile, strerror(errno), seccomp_profile);
		return -1;
	}
	rc = dapi_on() ? dapi_image(image) :
	    docker_cmd(out, sizeof(out), 10000, "image", "inspect", "--format={{.Id}}", image, NULL);
	if (rc != 0) {
		snprintf(msg, msglen, "the runner image %s is missing; build it with "
		    "'make runner-image' (runner_image/build.sh)", image);
		return -1;
	}
	return 0;
}
