#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "docker.h"
#include "jobs.h"
#include "log.h"
#include "sandbox.h"
#include "clock.h"
#include "spawn.h"

/* After a kill, how long the client gets to notice before it is killed. */
#define KILL_GRACE_MS 10000
/* ... and how often the kill is sent again meanwhile. */
#define KILL_RETRY_MS 1000
/* How long a job waits for a warm sandbox still starting (or the limit,
 * when that is longer). */
#define WARM_START_MS 30000
/* The tail of stderr is at least this big: the error record lives there. */
#define MIN_TAIL 65536

struct sandbox_backend {
	const char *name;
	int (*run)(struct sandbox *, const struct sandbox_job *, struct sandbox_result *);
	void (*release)(struct sandbox *);
};

struct sandbox {
	const struct sandbox_backend *backend;
	const struct config *cfg;
	char instance[64];
	char name[64];		/* the container's name, once it has one */
	int used;		/* a sandbox takes one job */
	int started;		/* a container may exist */
	/* docker-warm: started ahead on folders of its own */
	struct job dirs;
	struct child child;	/* the attached client */
	int in_fd, out_fd, err_fd;	/* our ends of its stdin, stdout, stderr */
	int64_t created_ms;
	int ready;		/* its ready line has been read */
	int released;		/* container, client and folders are gone */
	char seen[64];		/* the last bytes it printed before that */
	size_t seen_len;
};

void
stream_add(struct stream_capture *s, const char *buf, size_t n)
{
	size_t take, i;

	s->total += n;
	take = s->head_cap - s->head_len;
	if (take > n)
		take = n;
	memcpy(s->head + s->head_len, buf, take);
	s->head_len += take;
	buf += take;
	n -= take;
	/* Only what overflows the head goes to the tail ring. */
	if (n > s->tail_cap) {
		buf += n - s->tail_cap;
		n = s->tail_cap;
	}
	for (i = 0; i < n; i++) {
		s->tail[s->tail_pos % s->tail_cap] = buf[i];
		s->tail_pos++;
	}
}

int
stream_init(struct stream_capture *s, size_t cap, size_t min_tail)
{
	memset(s, 0, sizeof(*s));
	s->head_cap = cap / 2;
	s->tail_cap = cap - cap / 2;
	if (s->tail_cap < min_tail)
		s->tail_cap = min_tail;
	s->head = malloc(s->head_cap);
	s->tail = malloc(s->tail_cap);
	if (s->head == NULL || s->tail == NULL) {
		free(s->head);
		free(s->tail);
		s->head = s->tail = NULL;
		return -1;
	}
	return 0;
}

char *
stream_text(const struct stream_capture *s, size_t *len, int *truncated)
{
	size_t tail_len = s->tail_pos < s->tail_cap ? s->tail_pos : s->tail_cap;
	size_t show = tail_len, start, i, o = 0;
	char note[128];
	int nn = 0;
	char *out;

	/* Show no more of the tail than the head's size (the rest of the
	 * ring is kept for the error record only). */
	if (show > s->head_cap)
		show = s->head_cap;
	*truncated = s->total > (uint64_t)(s->head_len + show);
	if (*truncated)
		nn = snprintf(note, sizeof(note), "\n[... %llu bytes not kept ...]\n",
		    (unsigned long long)(s->total - s->head_len - show));
	if (nn < 0)
		nn = 0;
	if ((out = malloc(s->head_len + (size_t)nn + show + 1)) == NULL)
		return NULL;
	memcpy(out, s->head, s->head_len);
	o = s->head_len;
	memcpy(out + o, note, (size_t)nn);
	o += (size_t)nn;
	start = s->tail_pos - show;
	for (i = 0; i < show; i++)
		out[o++] = s->tail[(start + i) % s->tail_cap];
	out[o] = '\0';
	*len = o;
	return out;
}

void
stream_free(struct stream_capture *s)
{
	free(s->head);
	free(s->tail);
	s->head = s->tail = NULL;
}

void
sandbox_result_free(struct sandbox_result *res)
{
	stream_free(&res->out);
	stream_free(&res->err);
}

/* Reads what is there on fd into s. Returns 0 at EOF, 1 for more, -1 on
 * error. */
static int
drain(int fd, struct stream_capture *s)
{
	char buf[65536];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	stream_add(s, buf, (size_t)n);
	return 1;
}

/* The engine's own complaint (exit status 125) in words. */
static enum sandbox_outcome
engine_failure(const struct sandbox *sb, const struct stream_capture *err, char *msg, size_t len)
{
	char text[1024];
	size_t n = err->head_len < sizeof(text) - 1 ? err->head_len : sizeof(text) - 1;

	memcpy(text, err->head, n);
	text[n] = '\0';
	/* The client's own words (docker 20 and 28 alike); anything else is
	 * reported as it is, not guessed at. */
	if (strstr(text, "Cannot connect to the Docker daemon") != NULL) {
		snprintf(msg, len, "the container engine does not answer; start it "
		    "(e.g. 'dockerd &' or 'systemctl start docker')");
		return SANDBOX_UNAVAILABLE;
	}
	if (strstr(text, "No such image") != NULL) {
		snprintf(msg, len, "the runner image %s is missing; build it with "
		    "'make runner-image' (runner_image/build.sh)", sb->cfg->image);
		return SANDBOX_UNAVAILABLE;
	}
	text[strcspn(text, "\n")] = '\0';
	snprintf(msg, len, "the container engine refused the run: %.400s", text);
	return SANDBOX_FAILED;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A running sandbox: the client, our ends of its pipes, what is left to
 * write to its stdin. */
struct watch {
	struct child *child;
	int out, err;		/* -1 once at EOF */
	int in;			/* -1: nothing (more) to write */
	const char *in_buf;
	size_t in_len;
};

/* Reads the client's stdout and stderr into res, writes what is left of
 * w->in_buf to its stdin, until the client exits and both streams end. At
 * deadline the container (not the client: its death would leave the
 * container running) is killed. Sets res->exit_code and the outcome. */
static void
watch_run(struct sandbox *sb, struct watch *w, int64_t deadline, struct sandbox_result *res)
{
	struct pollfd pfd[4];
	int64_t now, next_kill = 0, wake;
	int exited = 0, timed_out = 0, status = 0, oom = 0, code, n;
	ssize_t k;

	while (!exited || w->out >= 0 || w->err >= 0) {
		now = clock_mono_ms();
		if (!timed_out && now >= deadline) {
			timed_out = 1;
			deadline = now + KILL_GRACE_MS;
		}
		if (timed_out && now >= deadline) {
			log_warnx("container %s: the client did not end after the kill", sb->name);
			break;
		}
		/* Again each second until the client ends: a container still
		 * being created when the first kill came (a loaded engine)
		 * would otherwise start and run on. */
		if (timed_out && !exited && now >= next_kill) {
			docker_kill(sb->name);
			next_kill = clock_mono_ms() + KILL_RETRY_MS;
			continue;
		}
		wake = timed_out && !exited && next_kill < deadline ? next_kill : deadline;
		n = 0;
		if (w->out >= 0)
			pfd[n++] = (struct pollfd){ .fd = w->out, .events = POLLIN };
		if (w->err >= 0)
			pfd[n++] = (struct pollfd){ .fd = w->err, .events = POLLIN };
		if (w->in >= 0)
			pfd[n++] = (struct pollfd){ .fd = w->in, .events = POLLOUT };
		if (!exited)
			pfd[n++] = (struct pollfd){ .fd = w->child->pidfd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, (int)(wake > now ? wake - now : 0)) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == w->out) {
				if (drain(w->out, &res->out) <= 0)
					close_fd(&w->out);
			} else if (pfd[i].fd == w->err) {
				if (drain(w->err, &res->err) <= 0)
					close_fd(&w->err);
			} else if (pfd[i].fd == w->in) {
				k = write(w->in, w->in_buf, w->in_len);
				if (k > 0) {
					w->in_buf += k;
					w->in_len -= (size_t)k;
				}
				/* All written (stdin then ends), or the reader is gone. */
				if (w->in_len == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
					close_fd(&w->in);
			} else if (pfd[i].fd == w->child->pidfd && spawn_wait(w->child, 0, &status) == 0) {
				exited = 1;
			}
		}
	}
	if (!exited) {
		spawn_kill(w->child, SIGKILL);
		status = 0;
	}
	res->end_ms = clock_mono_ms();
	res->end_real_ms = clock_real_ms();
	res->exit_code = exited ? spawn_exit_code(status) : -1;
	if (timed_out) {
		res->outcome = SANDBOX_TIMEOUT;
	} else if (res->exit_code == 125) {
		res->outcome = engine_failure(sb, &res->err, res->message, sizeof(res->message));
	} else if (res->exit_code == 137 &&
	    docker_inspect_state(sb->name, &oom, &code) == 0 && oom) {
		res->outcome = SANDBOX_OOM;
	} else {
		res->outcome = SANDBOX_EXITED;
	}
}

static int
docker_cold_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res)
{
	const struct config *c = sb->cfg;
	struct argv_buf argv = { .n = 0 }, envp = { .n = 0 };
	struct docker_job dj;
	struct child child = { .pid = -1, .pidfd = -1 };
	struct watch w;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	char *params_env = NULL;
	int rc = -1;

	if (snprintf(sb->name, sizeof(sb->name), "imgsandbox-%s", job->id) >= (int)sizeof(sb->name))
		return -1;
	memset(&dj, 0, sizeof(dj));
	dj.name = sb->name;
	dj.job_id = job->id;
	dj.instance = sb->instance;
	dj.deadline_epoch = (int64_t)time(NULL) + (job->timeout_ms + 999) / 1000;
	dj.code_dir = job->code_dir;
	dj.input_dir = job->input_dir;
	dj.output_dir = job->output_dir;
	dj.user = c->sandbox_user;
	/* USER_PARAMS reaches the container by name from the client's
	 * environment: not on a command line anyone can read in ps. */
	if (asprintf(&params_env, "USER_PARAMS=%.*s", job->params ? (int)job->params_len : 2,
	    job->params ? job->params : "{}") < 0) {
		params_env = NULL;
		return -1;
	}
	if (docker_run_argv(c, &dj, &argv) < 0 || docker_envp(c, params_env, &envp) < 0) {
		snprintf(res->message, sizeof(res->message), "the sandbox's command line is too long");
		res->outcome = SANDBOX_FAILED;
		free(params_env);
		return 0;
	}
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	res->start_ms = clock_mono_ms();
	res->start_real_ms = clock_real_ms();
	if (spawn_start(argv.v[0], argv.v, envp.v, -1, out[1], err[1], &child) < 0) {
		log_warn("spawn %s", argv.v[0]);
		snprintf(res->message, sizeof(res->message), "the docker client %s could not "
		    "be started: %s", argv.v[0], strerror(errno));
		res->outcome = SANDBOX_UNAVAILABLE;
		rc = 0;
		goto out;
	}
	sb->started = 1;
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	w = (struct watch){ .child = &child, .out = out[0], .err = err[0], .in = -1 };
	out[0] = err[0] = -1;	/* watch_run closes them */
	watch_run(sb, &w, res->start_ms + job->timeout_ms, res);
	close_fd(&w.out);
	close_fd(&w.err);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free(params_env);
	return rc;
}

static void
docker_cold_release(struct sandbox *sb)
{
	if (sb->started && docker_rm(sb->name) < 0)
		log_warnx("container %s could not be removed now; the reaper will", sb->name);
}

static const struct sandbox_backend docker_cold = {
	"docker-cold", docker_cold_run, docker_cold_release,
};

/*
 * docker-warm: the container is started ahead (warm_start) on folders of
 * its own, with stdin open; entry.py --warm imports the preloaded modules
 * and waits there. Handing it a job moves the job's files into its folders
 * (a rename on the same filesystem), writes one JSON line to its stdin and
 * closes it; its output folder is moved back to the job's afterwards. One
 * job per container, removed after it like a cold one.
 */

/* Moves every entry of folder from into folder to (same filesystem).
 * Returns 0, or -1 with errno. */
static int
move_entries(const char *from, const char *to)
{
	char a[1024], b[1024];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(from)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(a, sizeof(a), "%s/%s", from, de->d_name) >= (int)sizeof(a) ||
		    snprintf(b, sizeof(b), "%s/%s", to, de->d_name) >= (int)sizeof(b) ||
		    rename(a, b) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* The job line: {"params": "..."} and a newline. malloc'd, or NULL. */
static char *
job_line(const struct sandbox_job *job, size_t *len)
{
	cJSON *o = cJSON_CreateObject();
	char *params, *text = NULL, *line = NULL;

	params = strndup(job->params ? job->params : "{}", job->params ? job->params_len : 2);
	if (o != NULL && params != NULL && cJSON_AddStringToObject(o, "params", params) != NULL)
		text = cJSON_PrintUnformatted(o);
	if (text != NULL && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	if (line != NULL)
		*len = strlen(line);
	cJSON_free(text);
	cJSON_Delete(o);
	free(params);
	return line;
}

#define READY_LINE "\x1eIMGSANDBOX-READY\n"

/* Reads what a warm sandbox printed before its job (nothing, or an
 * import's warning) until its ready line, waiting until deadline_ms at
 * most (-1: only what is there now). Returns 1 when it is ready, 0 when
 * not yet, -1 when its client ended. */
static int
warm_ready(struct sandbox *sb, int64_t deadline_ms)
{
	struct pollfd p[2];
	char buf[512];
	int64_t left;
	size_t keep, take;
	ssize_t n;
	int r;

	while (!sb->ready) {
		left = deadline_ms < 0 ? 0 : deadline_ms - clock_mono_ms();
		p[0] = (struct pollfd){ .fd = sb->out_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sb->child.pidfd, .events = POLLIN };
		r = poll(p, 2, left > 0 ? (int)left : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		if (p[0].revents != 0) {
			n = read(sb->out_fd, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				return -1;
			/* Keep the last bytes: the line may come in pieces. */
			take = (size_t)n < sizeof(sb->seen) - 1 ? (size_t)n : sizeof(sb->seen) - 1;
			keep = sb->seen_len + take < sizeof(sb->seen) - 1 ? sb->seen_len :
			    sizeof(sb->seen) - 1 - take;
			memmove(sb->seen, sb->seen + sb->seen_len - keep, keep);
			memcpy(sb->seen + keep, buf + (size_t)n - take, take);
			sb->seen_len = keep + take;
			sb->seen[sb->seen_len] = '\0';
			if (memmem(sb->seen, sb->seen_len, READY_LINE, strlen(READY_LINE)) != NULL)
				sb->ready = 1;
		} else if (p[1].revents != 0) {
			return -1;
		}
	}
	return 1;
}

static int
docker_warm_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res)
{
	struct watch w;
	char *line;
	size_t len = 0;
	int64_t wait_ms;
	int r, status;

	/* The limit is the script's: counted from the hand-off to a ready
	 * sandbox. Waiting for one still starting (a loaded engine) is
	 * bounded too, and counts as preparing it. */
	wait_ms = job->timeout_ms > WARM_START_MS ? job->timeout_ms : WARM_START_MS;
	r = warm_ready(sb, clock_mono_ms() + wait_ms);
	res->start_ms = clock_mono_ms();
	res->start_real_ms = clock_real_ms();
	if (r != 1) {
		res->end_ms = res->start_ms;
		res->end_real_ms = res->start_real_ms;
		if (r < 0 && spawn_wait(&sb->child, clock_mono_ms() + 2000, &status) == 0 &&
		    spawn_exit_code(status) == 125) {
			for (int k = 0; k < 64 && drain(sb->err_fd, &res->err) > 0; k++)
				;
			res->outcome = engine_failure(sb, &res->err, res->message, sizeof(res->message));
			return 0;
		}
		snprintf(res->message, sizeof(res->message), r < 0 ?
		    "the warm sandbox ended before its job; try again" :
		    "the sandbox did not start within %.1f s: the container engine is "
		    "overloaded; try again", wait_ms / 1000.0);
		res->outcome = SANDBOX_FAILED;
		return 0;
	}
	if (move_entries(job->code_dir, sb->dirs.code_dir) < 0 ||
	    move_entries(job->input_dir, sb->dirs.input_dir) < 0) {
		log_warn("moving job %s into sandbox %s", job->id, sb->dirs.id);
		snprintf(res->message, sizeof(res->message), "the job's files could not be "
		    "handed to the sandbox: %s", strerror(errno));
		res->outcome = SANDBOX_FAILED;
		return 0;
	}
	if ((line = job_line(job, &len)) == NULL)
		return -1;
	w = (struct watch){ .child = &sb->child, .out = sb->out_fd, .err = sb->err_fd,
	    .in = sb->in_fd, .in_buf = line, .in_len = len };
	sb->out_fd = sb->err_fd = sb->in_fd = -1;	/* watch_run owns them now */
	watch_run(sb, &w, clock_mono_ms() + job->timeout_ms, res);
	close_fd(&w.out);
	close_fd(&w.err);
	close_fd(&w.in);
	free(line);
	/* What the script left in /output, where the caller looks for it. */
	if (rename(sb->dirs.output_dir, job->output_dir) < 0)
		log_warn("moving the output of sandbox %s to job %s", sb->dirs.id, job->id);
	return 0;
}

/* Removes warm sandboxes: their containers, clients and folders, all at
 * once, by deadline_ms. Closing stdin ends an unused sandbox's script,
 * but only once its imports are done; a removal ends a container at once,
 * but only one that exists already (and `docker rm --force` says nothing
 * of one that does not). So the removal is repeated while the client
 * runs (a container still being created is removed as soon as it exists;
 * the client then ends), and done once more after the client has ended.
 * A used sandbox's client is gone already: one removal. */
static void
warm_release_all(struct sandbox **v, int n, int64_t deadline_ms)
{
	int left, status, i;

	for (i = 0; i < n; i++)
		close_fd(&v[i]->in_fd);
	for (;;) {
		left = 0;
		for (i = 0; i < n; i++) {
			if (v[i]->released)
				continue;
			if (v[i]->child.pid > 0)
				spawn_wait(&v[i]->child, 0, &status);
			if (v[i]->child.pid > 0) {
				(void)docker_rm(v[i]->name);
				left++;
				continue;
			}
			/* The client has ended: the container exists now or
			 * never will. One removal; what fails (the engine is
			 * gone) is the reaper's. */
			if (docker_rm(v[i]->name) < 0)
				log_warnx("container %s could not be removed now; the reaper will",
				    v[i]->name);
			v[i]->released = 1;
		}
		if (left == 0 || clock_mono_ms() >= deadline_ms)
			break;
		usleep(100000);
	}
	for (i = 0; i < n; i++) {
		if (!v[i]->released) {
			spawn_kill(&v[i]->child, SIGKILL);
			if (docker_rm(v[i]->name) < 0)
				log_warnx("container %s could not be removed now; the reaper will",
				    v[i]->name);
			v[i]->released = 1;
		}
		close_fd(&v[i]->out_fd);
		close_fd(&v[i]->err_fd);
		remove_tree(v[i]->dirs.dir);
	}
}

static void
docker_warm_release(struct sandbox *sb)
{
	if (!sb->released)
		warm_release_all(&sb, 1, clock_mono_ms() + KILL_GRACE_MS);
}

static const struct sandbox_backend docker_warm = {
	"docker-warm", docker_warm_run, docker_warm_release,
};

/* Starts a warm sandbox under root (its folders) and returns it; the
 * container starts in the background. NULL when it could not be started
 * (logged). */
static struct sandbox *
warm_start(const struct config *c, const char *instance, const char *root, uid_t uid, gid_t gid)
{
	struct argv_buf argv = { .n = 0 }, envp = { .n = 0 };
	struct docker_job dj;
	struct sandbox *sb;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return NULL;
	sb->backend = &docker_warm;
	sb->cfg = c;
	sb->in_fd = sb->out_fd = sb->err_fd = -1;
	sb->child = (struct child){ .pid = -1, .pidfd = -1 };
	snprintf(sb->instance, sizeof(sb->instance), "%s", instance);
	if (job_create(root, uid, gid, &sb->dirs) < 0) {
		log_warn("warm sandbox: folders in %s", root);
		free(sb);
		return NULL;
	}
	snprintf(sb->name, sizeof(sb->name), "imgsandbox-%s", sb->dirs.id);
	memset(&dj, 0, sizeof(dj));
	dj.name = sb->name;
	dj.job_id = sb->dirs.id;
	dj.instance = sb->instance;
	/* Past this the reaper may remove it: the pool replaces it at
	 * warm_idle_s, and a job handed at the last moment has its time. */
	dj.deadline_epoch = (int64_t)time(NULL) + c->warm_idle_s + (c->timeout_ms + 999) / 1000;
	dj.code_dir = sb->dirs.code_dir;
	dj.input_dir = sb->dirs.input_dir;
	dj.output_dir = sb->dirs.output_dir;
	dj.user = c->sandbox_user;
	dj.warm = 1;
	if (docker_run_argv(c, &dj, &argv) < 0 || docker_envp(c, NULL, &envp) < 0) {
		log_warnx("warm sandbox: the command line is too long");
		goto fail;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		goto fail;
	/* Our ends do not block; the client's are ordinary. */
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(out[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(err[0], F_SETFL, O_NONBLOCK) < 0)
		goto fail;
	if (spawn_start(argv.v[0], argv.v, envp.v, in[0], out[1], err[1], &sb->child) < 0) {
		log_warn("warm sandbox: spawn %s", argv.v[0]);
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	sb->in_fd = in[1];
	sb->out_fd = out[0];
	sb->err_fd = err[0];
	sb->started = 1;
	sb->created_ms = clock_mono_ms();
	return sb;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	remove_tree(sb->dirs.dir);
	free(sb);
	return NULL;
}

/* Whether the warm sandbox's client still runs (it has not failed to start
 * or been reaped). */
static int
warm_alive(struct sandbox *sb)
{
	struct pollfd p = { .fd = sb->child.pidfd, .events = POLLIN };

	return sb->child.pidfd >= 0 && poll(&p, 1, 0) == 0;
}

struct sandbox_pool {
	const struct config *cfg;
	char instance[64];
	char root[512];
	uid_t uid;
	gid_t gid;
	int size, n;
	struct sandbox *ready[16];
	struct sandbox *retired[16];	/* to be released between requests */
	int nretired;
	int64_t retry_ms;	/* after a failed start, no new one before this */
};

struct sandbox_pool *
sandbox_pool_new(const struct config *c, const char *instance, const char *root,
    uid_t uid, gid_t gid)
{
	struct sandbox_pool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->cfg = c;
	p->size = c->warm < 16 ? (int)c->warm : 16;
	p->uid = uid;
	p->gid = gid;
	snprintf(p->instance, sizeof(p->instance), "%s", instance);
	if (snprintf(p->root, sizeof(p->root), "%s", root) >= (int)sizeof(p->root)) {
		free(p);
		return NULL;
	}
	return p;
}

int
sandbox_pool_fill(struct sandbox_pool *p)
{
	struct sandbox *sb;
	int started = 0;

	if (p == NULL)
		return 0;
	if (p->nretired > 0) {
		warm_release_all(p->retired, p->nretired, clock_mono_ms() + KILL_GRACE_MS);
		while (p->nretired > 0)
			sandbox_release(p->retired[--p->nretired]);
	}
	if (clock_mono_ms() < p->retry_ms)
		return 0;
	while (p->n < p->size) {
		if ((sb = warm_start(p->cfg, p->instance, p->root, p->uid, p->gid)) == NULL) {
			p->retry_ms = clock_mono_ms() + 5000;
			break;
		}
		p->ready[p->n++] = sb;
		started++;
	}
	return started;
}

struct sandbox *
sandbox_pool_take(struct sandbox_pool *p)
{
	struct sandbox *sb;
	int i;

	while (p->n > 0) {
		/* A ready one if there is one, else the oldest: it has had
		 * the most time to get ready. */
		for (i = 0; i < p->n - 1 && warm_ready(p->ready[i], -1) != 1; i++)
			;
		if (warm_ready(p->ready[i], -1) != 1)
			i = 0;
		sb = p->ready[i];
		memmove(p->ready + i, p->ready + i + 1, (size_t)(p->n - i - 1) * sizeof(p->ready[0]));
		p->n--;
		if (warm_alive(sb) && clock_mono_ms() - sb->created_ms < p->cfg->warm_idle_s * 1000)
			return sb;
		/* Failed to start, reaped, or idle too long: released after
		 * this request, not during it. */
		if (p->nretired < (int)(sizeof(p->retired) / sizeof(p->retired[0])))
			p->retired[p->nretired++] = sb;
		else
			sandbox_release(sb);
	}
	return sandbox_prepare(p->cfg, p->instance);
}

void
sandbox_pool_drain(struct sandbox_pool *p)
{
	struct sandbox *all[32];
	int n = 0, i;

	if (p == NULL)
		return;
	while (p->n > 0)
		all[n++] = p->ready[--p->n];
	while (p->nretired > 0)
		all[n++] = p->retired[--p->nretired];
	/* All at once: a stopping responder has supervise's 10 s. */
	for (i = 0; i < n; i += 16)
		warm_release_all(all + i, n - i < 16 ? n - i : 16, clock_mono_ms() + 8000);
	for (i = 0; i < n; i++)
		sandbox_release(all[i]);
}

struct sandbox *
sandbox_prepare(const struct config *c, const char *instance)
{
	struct sandbox *sb;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return NULL;
	sb->backend = &docker_cold;
	sb->cfg = c;
	snprintf(sb->instance, sizeof(sb->instance), "%s", instance);
	return sb;
}

const char *
sandbox_kind(const struct sandbox *sb)
{
	return sb->backend->name;
}

int
sandbox_run(struct sandbox *sb, const struct sandbox_job *job, struct sandbox_result *res)
{
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (sb->used) {
		errno = EBUSY;
		return -1;
	}
	sb->used = 1;
	if (stream_init(&res->out, (size_t)sb->cfg->stream_bytes, 0) < 0 ||
	    stream_init(&res->err, (size_t)sb->cfg->stream_bytes, MIN_TAIL) < 0) {
		sandbox_result_free(res);
		return -1;
	}
	if (sb->backend->run(sb, job, res) < 0) {
		sandbox_result_free(res);
		return -1;
	}
	return 0;
}

void
sandbox_release(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	sb->backend->release(sb);
	free(sb);
}

int
sandbox_reap(const char *instance, int64_t grace_s)
{
	return docker_reap(instance, grace_s);
}

int
sandbox_check(const struct config *c, char *msg, size_t msglen)
{
	return docker_check(c->image, msg, msglen);
}

char *
stream_tail(const struct stream_capture *s, size_t *len)
{
	size_t n, start, i;
	char *out;

	if (s->tail_pos == 0) {
		if ((out = malloc(s->head_len + 1)) == NULL)
			return NULL;
		memcpy(out, s->head, s->head_len);
		out[s->head_len] = '\0';
		*len = s->head_len;
		return out;
	}
	n = s->tail_pos < s->tail_cap ? s->tail_pos : s->tail_cap;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	start = s->tail_pos - n;
	for (i = 0; i < n; i++)
		out[i] = s->tail[(start + i) % s->tail_cap];
	out[n] = '\0';
	*len = n;
	return out;
}
