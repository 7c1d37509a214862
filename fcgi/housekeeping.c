/*
 * housekeeping: a thread in every responder that keeps the host tidy, one
 * process at a time (by flock): every IMGSANDBOX_REAP_INTERVAL_S, job
 * folders left by a dead process, published results past their retention
 * or, oldest first, past their byte budget (IMGSANDBOX_OUTPUTS_MAX_BYTES;
 * also as soon as a run's result passes it: housekeeping_published),
 * and the log's rows past their age or its size (the summaries keep
 * counting them). Sandboxes are the broker's (fcgi/sandboxd.c): it reaps
 * its own leftovers and says how the engine is, for GET /api/health.
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
	int m, k;

	m = jobs_sweep(cfg.outputs_dir, cfg.retention_s);
	m += budget_sweep(0, NULL);
	/* A job folder lives for one request; one much older than any run
	 * (its start, its limit) belongs to a responder that died. */
	k = jobs_sweep(svc.jobs_dir, (cfg.start_timeout_ms + cfg.timeout_ms) / 1000 + 600);
	if (m > 0 || k > 0)
		log_info("housekeeping: %d results, %d job folders removed", m, k);
	retain_log();
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
		sleep(1);
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
