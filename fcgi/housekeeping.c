/*
 * housekeeping: a thread in every responder that keeps the host tidy, one
 * process at a time (by flock): every IMGSANDBOX_REAP_INTERVAL_S, job
 * folders left by a dead process, published results past their retention
 * or, oldest first, past their byte budget (IMGSANDBOX_OUTPUTS_MAX_BYTES),
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

static void
sweep(void)
{
	int m, k;

	m = jobs_sweep(cfg.outputs_dir, cfg.retention_s);
	m += jobs_sweep_budget(cfg.outputs_dir, cfg.outputs_max_bytes);
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
