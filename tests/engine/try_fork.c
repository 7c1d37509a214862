/*
 * try_fork: drives the fork engine (engine_fork()) without the broker, as
 * the broker would: open it, start boxes on folders of its own, read the
 * READY line, write main.py and the job, read both streams until the END
 * records, wait, ask the outcome, remove. Settings come from the
 * environment (IMGSANDBOX_*), as for the service.
 *
 *   try_fork --state DIR [--instance NAME] check
 *   try_fork --state DIR [options] run SCRIPT...
 *       each script in a box of its own, one JSON line per box on stdout:
 *       {"script", "ready", "exit", "oom", "killed", "stdout", "stderr",
 *        "ms_to_end", "ms_start"}
 *       --together    all boxes at once (a thread each)
 *       --mark TEXT   (with --together) box i+1's job is written once box
 *                     i has printed TEXT on its stdout
 *       --params JSON the job's params (default {})
 *       --timeout-ms N  killed N ms after its job is written (default
 *                     IMGSANDBOX_TIMEOUT_MS)
 *       --deadline-s N  the boxes' deadline, N s from their start (3600):
 *                     past it (and a grace) a later broker's reap removes
 *                     what is left of them
 *   try_fork --state DIR bench N CLIENTS
 *       N trivial jobs, CLIENTS at a time, each on a box started ahead;
 *       prints starts/s, runs/s, CPU per box, job-to-END p50/p95
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/files.h"
#include "base/log.h"
#include "base/text.h"
#include "engine/engine.h"

#define CAP (1 << 20)	/* bytes kept of each stream */

static const struct engine_ops *ops;
static char state[256], params[4096] = "{}";
static int64_t timeout_ms, deadline_s = 3600;
static const char *mark;

static const char TRIVIAL[] =
    "from PIL import Image\n"
    "Image.new(\"RGB\", (64, 64), (200, 80, 40)).save(\"/output/result.png\")\n";

struct run {
	const char *script_name;
	const char *script;	/* the text of main.py */
	struct engine_box b;
	char ready[1024];
	char *out, *err;
	size_t nout, nerr;
	int exit_code, oom, killed, started;
	int64_t ms_start, ms_to_end;
	pthread_mutex_t mu;	/* --mark: set when the mark is out */
	pthread_cond_t cv;
	int marked;
	struct run *prev;	/* --mark: wait for this one's */
};

/* A fresh 128-bit hex id into id. */
static void
new_id(char id[ENGINE_ID_LEN + 1])
{
	unsigned char r[16];
	int i;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		die("getrandom");
	for (i = 0; i < 16; i++)
		sprintf(id + 2 * i, "%02x", r[i]);
}

/* Makes the box's folders and starts it; reads its READY line. Returns 0
 * or -1. */
static int
box_up(struct run *r)
{
	struct engine_box *b = &r->b;
	struct pollfd p;
	size_t n = 0;
	ssize_t k;
	int64_t t0 = clock_mono_ms(), until = t0 + 60000;

	memset(b, 0, sizeof(*b));
	new_id(b->id);
	if (snprintf(b->dir, sizeof(b->dir), "%.256s/boxes/%.32s", state, b->id) < 0 ||
	    snprintf(b->code_dir, sizeof(b->code_dir), "%.300s/code", b->dir) < 0 ||
	    snprintf(b->input_dir, sizeof(b->input_dir), "%.300s/input", b->dir) < 0)
		return -1;
	b->deadline_epoch = time(NULL) + deadline_s;
	if (make_dirs(b->code_dir, 0755) < 0 || make_dirs(b->input_dir, 0755) < 0 ||
	    chmod(b->dir, 0755) < 0)
		return -1;
	if (ops->start(b) < 0)
		return -1;
	r->started = 1;
	p.fd = b->out_fd;
	p.events = POLLIN;
	while (n < sizeof(r->ready) - 1 && memchr(r->ready, '\n', n) == NULL) {
		if (poll(&p, 1, (int)(until - clock_mono_ms())) <= 0)
			return -1;
		/* One byte at a time: nothing past the READY line is ours. */
		if ((k = read(b->out_fd, r->ready + n, 1)) <= 0) {
			if (k < 0 && errno == EAGAIN)
				continue;
			return -1;
		}
		n += (size_t)k;
	}
	r->ready[n] = '\0';
	r->ms_start = clock_mono_ms() - t0;
	return strncmp(r->ready, "\x1eIMGSANDBOX-READY {", 19) == 0 ? 0 : -1;
}

/* Writes main.py and the job line. Returns 0 or -1. */
static int
give_job(struct run *r)
{
	char path[600], line[4200];
	int fd, n;

	snprintf(path, sizeof(path), "%s/main.py", r->b.code_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    file_write_all(fd, r->script, strlen(r->script)) < 0 || close(fd) < 0)
		return -1;
	n = snprintf(line, sizeof(line), "{\"params\": \"%s\"}\n", params);
	if (file_write_all(r->b.in_fd, line, (size_t)n) < 0)
		return -1;
	close(r->b.in_fd);
	r->b.in_fd = -1;
	return 0;
}

/* Appends what fd has to buf. Returns 1 at its end, 0 otherwise. */
static int
drain(int fd, char *buf, size_t *n)
{
	char tmp[65536];
	ssize_t k;

	for (;;) {
		k = read(fd, tmp, sizeof(tmp));
		if (k == 0)
			return 1;
		if (k < 0)
			return errno == EAGAIN ? 0 : 1;
		if (*n + (size_t)k < CAP) {
			memcpy(buf + *n, tmp, (size_t)k);
			*n += (size_t)k;
			buf[*n] = '\0';
		}
	}
}

/* Whether both END records are in. */
static int
ended(const struct run *r)
{
	return memmem(r->out, r->nout, "\x1eIMGSANDBOX-END ", 16) != NULL &&
	    memmem(r->err, r->nerr, "\x1eIMGSANDBOX-END ", 16) != NULL;
}

/* Reads both streams until they end or the deadline (then kills the
 * box). */
static void
collect(struct run *r, int64_t t_job)
{
	struct pollfd p[2] = { { .fd = r->b.out_fd, .events = POLLIN },
		{ .fd = r->b.err_fd, .events = POLLIN } };
	int64_t deadline = t_job + timeout_ms, left;
	int done[2] = { 0, 0 };

	while (!done[0] || !done[1]) {
		left = deadline - clock_mono_ms();
		if (left <= 0) {
			r->killed = 1;
			ops->kill(&r->b);
			deadline = clock_mono_ms() + 5000;
			left = 5000;
		}
		p[0].fd = done[0] ? -1 : r->b.out_fd;
		p[1].fd = done[1] ? -1 : r->b.err_fd;
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (!done[0] && p[0].revents)
			done[0] = drain(r->b.out_fd, r->out, &r->nout);
		if (!done[1] && p[1].revents)
			done[1] = drain(r->b.err_fd, r->err, &r->nerr);
		if (r->ms_to_end < 0 && ended(r))
			r->ms_to_end = clock_mono_ms() - t_job;
		if (mark != NULL && !r->marked && memmem(r->out, r->nout, mark, strlen(mark))) {
			pthread_mutex_lock(&r->mu);
			r->marked = 1;
			pthread_cond_broadcast(&r->cv);
			pthread_mutex_unlock(&r->mu);
		}
		if (r->killed && clock_mono_ms() > deadline)
			break;
	}
}

/* One box's whole life. */
static void *
run_one(void *arg)
{
	struct run *r = arg;

	r->exit_code = -2;
	r->ms_to_end = -1;
	r->out = calloc(1, CAP + 1);
	r->err = calloc(1, CAP + 1);
	if (r->out == NULL || r->err == NULL || box_up(r) < 0) {
		snprintf(r->ready, sizeof(r->ready), "(the box did not start)");
		goto out;
	}
	if (r->prev != NULL) {
		pthread_mutex_lock(&r->prev->mu);
		while (!r->prev->marked)
			pthread_cond_wait(&r->prev->cv, &r->prev->mu);
		pthread_mutex_unlock(&r->prev->mu);
	}
	if (give_job(r) < 0)
		goto out;
	collect(r, clock_mono_ms());
	if (ops->wait(&r->b, clock_mono_ms() + 10000) == 1)
		ops->outcome(&r->b, &r->exit_code, &r->oom);
out:
	if (r->started) {
		if (r->b.in_fd >= 0)
			close(r->b.in_fd);
		close(r->b.out_fd);
		close(r->b.err_fd);
		if (ops->remove(&r->b) < 0)
			fprintf(stderr, "try_fork: the box %s was not removed\n", r->b.id);
	}
	if (r->started || r->b.dir[0] != '\0')
		remove_tree(r->b.dir);
	pthread_mutex_lock(&r->mu);
	r->marked = 1;	/* a box that ended without its mark lets the next go */
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Prints r as one JSON line. */
static void
print_run(const struct run *r)
{
	cJSON *o = cJSON_CreateObject();
	char *s, *out = utf8_sanitize(r->out ? r->out : "", r->nout),
	    *err = utf8_sanitize(r->err ? r->err : "", r->nerr);

	cJSON_AddStringToObject(o, "script", r->script_name);
	cJSON_AddStringToObject(o, "ready", r->ready);
	cJSON_AddNumberToObject(o, "exit", r->exit_code);
	cJSON_AddBoolToObject(o, "oom", r->oom);
	cJSON_AddBoolToObject(o, "killed", r->killed);
	/* Made valid UTF-8 (an image's bytes follow the END record). */
	cJSON_AddStringToObject(o, "stdout", out ? out : "");
	cJSON_AddStringToObject(o, "stderr", err ? err : "");
	cJSON_AddNumberToObject(o, "ms_to_end", (double)r->ms_to_end);
	cJSON_AddNumberToObject(o, "ms_start", (double)r->ms_start);
	s = cJSON_PrintUnformatted(o);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	free(out);
	free(err);
	cJSON_Delete(o);
}

/* Reads a whole script file. Returns it (the caller's), or NULL. */
static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "re");
	char *buf = calloc(1, CAP + 1);
	size_t n;

	if (fp == NULL || buf == NULL)
		die("cannot read %s", path);
	n = fread(buf, 1, CAP, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int
cmd_run(int argc, char **argv, int together)
{
	struct run *runs = calloc((size_t)argc, sizeof(*runs));
	pthread_t *th = calloc((size_t)argc, sizeof(*th));
	int i;

	for (i = 0; i < argc; i++) {
		runs[i].script_name = argv[i];
		runs[i].script = strcmp(argv[i], "trivial") == 0 ? TRIVIAL : slurp(argv[i]);
		pthread_mutex_init(&runs[i].mu, NULL);
		pthread_cond_init(&runs[i].cv, NULL);
		runs[i].prev = (together && mark != NULL && i > 0) ? &runs[i - 1] : NULL;
	}
	for (i = 0; i < argc; i++) {
		if (!together)
			run_one(&runs[i]);
		else if (pthread_create(&th[i], NULL, run_one, &runs[i]) != 0)
			die("pthread_create");
	}
	for (i = 0; together && i < argc; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < argc; i++) {
		print_run(&runs[i]);
		free(runs[i].out);
		free(runs[i].err);
		if (runs[i].script != TRIVIAL)
			free((char *)runs[i].script);
	}
	free(runs);
	free(th);
	return 0;
}

#include "try_fork_bench.c"

int
main(int argc, char **argv)
{
	char err[1024], instance[64] = "tryfork";
	int i, together = 0;

	log_init("try_fork");
	signal(SIGPIPE, SIG_IGN);
	if (config_load(err, sizeof(err)) < 0)
		die("%s", err);
	timeout_ms = cfg.timeout_ms;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (i + 1 >= argc && strcmp(argv[i], "--together") != 0)
			die("%s needs a value", argv[i]);
		if (strcmp(argv[i], "--state") == 0)
			snprintf(state, sizeof(state), "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--instance") == 0)
			snprintf(instance, sizeof(instance), "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--params") == 0)
			snprintf(params, sizeof(params), "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--timeout-ms") == 0)
			timeout_ms = strtoll(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--deadline-s") == 0)
			deadline_s = strtoll(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--mark") == 0)
			mark = argv[i + 1];
		else if (strcmp(argv[i], "--together") == 0) {
			together = 1;
			i--;
		} else
			die("unknown option %s", argv[i]);
	}
	if (state[0] == '\0' || i >= argc)
		die("usage: try_fork --state DIR [--instance NAME] check | run SCRIPT... | "
		    "bench N CLIENTS");
	if ((ops = engine_fork()) == NULL)
		die("no fork engine in this build");
	if (ops->open(&cfg, instance, state, err, sizeof(err)) < 0) {
		printf("%s\n", err);
		return 3;
	}
	if (ops->reap(0) > 0)
		fprintf(stderr, "try_fork: removed what an earlier run left\n");
	if (strcmp(argv[i], "check") == 0)
		return ops->check(err, sizeof(err)) < 0 ? (printf("%s\n", err), 3) : 0;
	if (strcmp(argv[i], "run") == 0)
		return cmd_run(argc - i - 1, argv + i + 1, together);
	if (strcmp(argv[i], "bench") == 0 && i + 2 < argc)
		return cmd_bench(atoi(argv[i + 1]), atoi(argv[i + 2]));
	die("unknown command %s", argv[i]);
}
