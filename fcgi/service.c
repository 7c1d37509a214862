/*
 * service: the state every endpoint of a responder shares (svc), and the
 * few helpers that keep it: its folders and names under DATA, the log
 * opened again when it failed. The handlers include this; it includes
 * nothing of theirs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/files.h"
#include "base/log.h"
#include "base/text.h"
#include "store/logdb.h"
#include "service.h"

struct service svc;

/* Why the log is not open, in words anyone may read (the health answer
 * and every run's warning are public): the driver's own text names the
 * server's paths, and a URI's parts, so it goes to the server's log only. */
static const char *
public_words(enum logdb_open_error why)
{
	switch (why) {
	case LOGDB_MISSING:
		return "the log's database does not exist";
	case LOGDB_OLDER:
	case LOGDB_NEWER:
		return "the log was made by another version of the service";
	case LOGDB_CORRUPT:
		return "the log's file is damaged";
	case LOGDB_LOCKED:
		return "the log is locked by another process";
	case LOGDB_UNREACHABLE:
		return "the log's database server does not answer";
	default:
		return "the log cannot be opened";
	}
}

void
log_reopen_if_due(void)
{
	static int64_t next_try;
	enum logdb_open_error why;
	char err[400], where[sizeof(cfg.db_path)];

	if (svc.db != NULL || clock_mono_ms() < next_try)
		return;
	next_try = clock_mono_ms() + 10000;
	logdb_path_safe(cfg.db_path, where, sizeof(where));	/* no password in the log */
	if ((svc.db = logdb_open_why(cfg.db_path, &why, err, sizeof(err))) != NULL) {
		svc.log_problem[0] = '\0';
		log_info("the log %s is open", where);
		return;
	}
	/* Runs go on unlogged; the answer and /api/health say so, in words of
	 * their own; the driver's (scrubbed of any password) go to the log. */
	snprintf(svc.log_problem, sizeof(svc.log_problem), "%s: %s; the server's log says why",
	    logdb_open_error_name(why), public_words(why));
	text_hide_uri_password(err, sizeof(err), cfg.db_path);
	log_warnx("the log %s cannot be opened (%s); runs go on unlogged, trying again in 10 s",
	    where, err);
}

/* DATA/instance names this service's containers for operators and tests
 * (docker ps --filter label=imgsandbox.instance=...). */
static void
write_instance_file(void)
{
	char tmp[600], path[600];
	FILE *fp;

	if (snprintf(tmp, sizeof(tmp), "%s/.instance.%ld", cfg.data_dir, (long)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/instance", cfg.data_dir) >= (int)sizeof(path))
		return;
	if ((fp = fopen(tmp, "we")) == NULL)
		return;
	fprintf(fp, "%s\n", svc.instance);
	if (fclose(fp) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

/* Folders and names under DATA, made once. */
void
service_setup_paths(void)
{
	if (make_dirs(cfg.data_dir, 0750) < 0 || make_dirs(cfg.outputs_dir, 0750) < 0)
		die("cannot create %s or %s: %s", cfg.data_dir, cfg.outputs_dir, strerror(errno));
	if (snprintf(svc.jobs_dir, sizeof(svc.jobs_dir), "%s/jobs", cfg.data_dir) >= (int)sizeof(svc.jobs_dir) ||
	    snprintf(svc.slots_dir, sizeof(svc.slots_dir), "%s/slots", cfg.data_dir) >= (int)sizeof(svc.slots_dir) ||
	    snprintf(svc.broker_socket, sizeof(svc.broker_socket), "%s/engine/broker.sock",
	    cfg.data_dir) >= (int)sizeof(svc.broker_socket))
		die("IMGSANDBOX_DATA is too long");
	if (make_dirs(svc.jobs_dir, 0700) < 0 || make_dirs(svc.slots_dir, 0700) < 0)
		die("cannot create folders under %s: %s", cfg.data_dir, strerror(errno));
	config_instance(svc.instance, sizeof(svc.instance));
	write_instance_file();
}
