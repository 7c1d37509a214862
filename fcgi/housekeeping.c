/*
 * housekeeping: a thread in every responder that keeps the host tidy and
 * the health state fresh, one process at a time (by flock):
 *
 *  - every IMGSANDBOX_REAP_INTERVAL_S: this service's containers whose
 *    deadline is long past (a responder died mid-run), job folders and
 *    warm-sandbox folders left by a dead process, published results past
 *    their retention or, oldest first, past their byte budget
 *    (IMGSANDBOX_OUTPUTS_MAX_BYTES; also as soon as a run's result passes
 *    it: housekeeping_published); the log's rows past their age or its
 *    size (the summaries keep counting them);
 *  - every HEALTH_EVERY_S: whether the engine answers and the image is
 *    there, written to DATA/state/health.json, which GET /api/health reads
 *    (so a request never starts a process).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/files.h"
#include "sandbox/jobs.h"
#include "base/log.h"
#include "sandbox/sandbox.h"
#include "handlers.h"
#include "service.h"

#define HEALTH_EVERY_S 3

/* Runs fn when this process gets lock (a file under DATA) without waiting. */
static void
exclusively(const char *lock, void (*fn)(void))
{
	char path[600];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", cfg.data_dir, lock) >= (int)sizeof(path) ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		fn();
	close(fd);
}

/* The log's retention (IMGSANDBOX_LOG_MAX_AGE_DAYS, _MAX_BYTES): bounded
 * batches; a few calls at most each pass. */
static void
retain_log(void)
{
	struct logdb_retain_stats st;
	int64_t deleted = 0;
	int i;

	if (svc.db == NULL || (cfg.log_max_age_days == 0 && cfg.log_max_bytes == 0))
		return;
	for (i = 0; i < 5; i++) {
		if (logdb_retain(svc.db, cfg.log_max_age_days * 86400, cfg.log_max_bytes, &st) < 0)
			break;
		deleted += st.deleted;
		if (!st.more)
			break;
	}
	if (deleted > 0) {
		share_log_changed(svc.share);
		log_info("housekeeping: %lld log rows past their retention let go",
		    (long long)deleted);
	}
}

/* The published results' bytes as last counted, and what was published
 * since: DATA/outputs.bytes (8 bytes), read and written under its flock,
 * which also keeps two sweeps of the budget apart. With add (a result's
 * bytes, keep its name) the results are swept only when the count passes
 * IMGSANDBOX_OUTPUTS_MAX_BYTES, down to 90 % of it (so that a host at its
 * budget sweeps once per tenth of it, not at each result), never keep;
 * without (the periodic sweep), always, down to the budget. Returns how
 * many results were removed. */
static int
budget_sweep(int64_t add, const char *keep)
{
	int64_t count = 0, left;
	char path[600];
	int fd, removed = 0;

	if (snprintf(path, sizeof(path), "%s/outputs.bytes", cfg.data_dir) >= (int)sizeof(path) ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return 0;
	if (flock(fd, LOCK_EX) == 0) {
		if (pread(fd, &count, sizeof(count), 0) != (ssize_t)sizeof(count) || count < 0)
			count = 0;
		count += add;
		if (add == 0 || count > cfg.outputs_max_bytes) {
			removed = jobs_sweep_budget(cfg.outputs_dir, add == 0 ? cfg.outputs_max_bytes :
			    cfg.outputs_max_bytes / 10 * 9, keep, &left);
			count = left;
		}
		(void)!pwrite(fd, &count, sizeof(count), 0);
	}
	close(fd);	/* the lock with it */
	return removed;
}

void
housekeeping_published(const struct outputs *o)
{
	const char *job = strrchr(o->final, '/');
	int64_t bytes = 0;
	int i, removed;

	for (i = 0; i < o->n; i++)
		if (o->files[i].published)
			bytes += o->files[i].bytes;
	if (bytes > 0 && job != NULL && (removed = budget_sweep(bytes, job + 1)) > 0)
		log_info("housekeeping: %d results removed, the oldest, to keep the published "
		    "results under IMGSANDBOX_OUTPUTS_MAX_BYTES", removed);
}

static void
sweep(void)
{
	char sandboxes[600];
	int n, m, k;

	n = sandbox_reap(svc.instance, cfg.reap_grace_s);
	m = jobs_sweep(cfg.outputs_dir, cfg.retention_s);
	m += budget_sweep(0, NULL);
	/* A job folder lives for one request; one much older than the time
	 * limit belongs to a responder that died. */
	k = jobs_sweep(svc.jobs_dir, cfg.timeout_ms / 1000 + 600);
	/* A warm sandbox's folder lives until its container is used or
	 * replaced; one past its container's deadline was left behind. */
	snprintf(sandboxes, sizeof(sandboxes), "%s/sandboxes", cfg.data_dir);
	k += jobs_sweep(sandboxes, cfg.warm_idle_s + cfg.reap_grace_s + cfg.timeout_ms / 1000 + 600);
	if (n > 0 || m > 0 || k > 0)
		log_info("housekeeping: %d containers, %d results, %d job folders removed",
		    n > 0 ? n : 0, m, k);
	retain_log();
}

/* Writes text to DATA/state/name atomically. */
static void
write_state(const char *name, const char *text)
{
	char dir[600], tmp[700], path[700];
	int fd;

	snprintf(dir, sizeof(dir), "%s/state", cfg.data_dir);
	if (make_dirs(dir, 0750) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", dir, name, (long)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		return;
	if (file_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

/* Whether DATA/state/name was written less than age_s ago. */
static int
state_fresh(const char *name, int age_s)
{
	char path[700];
	struct stat st;

	snprintf(path, sizeof(path), "%s/state/%s", cfg.data_dir, name);
	return stat(path, &st) == 0 && time(NULL) - st.st_mtime < age_s;
}

static void
check_health(void)
{
	char msg[512], *text;
	cJSON *o;
	int ok;

	/* Every responder comes here; the first one each round checks. */
	if (state_fresh("health.json", HEALTH_EVERY_S))
		return;
	ok = sandbox_check(&cfg, msg, sizeof(msg)) == 0;
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddBoolToObject(o, "engine_ok", ok);
	cJSON_AddNumberToObject(o, "checked_at_ms", (double)clock_real_ms());
	if (!ok)
		cJSON_AddStringToObject(o, "message", msg);
	if ((text = cJSON_PrintUnformatted(o)) != NULL)
		write_state("health.json", text);
	cJSON_free(text);
	cJSON_Delete(o);
}

static void *
housekeeping_main(void *arg)
{
	sigset_t all;
	int64_t next_sweep = 0, now;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		now = clock_mono_ms();
		if (now >= next_sweep) {
			exclusively("housekeeping.lock", sweep);
			next_sweep = now + cfg.reap_interval_s * 1000;
		}
		exclusively("health.lock", check_health);
		sleep(HEALTH_EVERY_S);
	}
	return NULL;
}

void
housekeeping_start(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, housekeeping_main, NULL) != 0)
		die("cannot start the housekeeping thread");
	pthread_detach(t);
}
