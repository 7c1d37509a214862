/*
 * service: what every endpoint of the responder shares, set up once per
 * process by responder.c.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <sys/types.h>
#include <fcgiapp.h>

#include "store/logdb.h"
#include "sandbox/sandbox.h"
#include "sandbox/share.h"

struct service {
	struct logdb *db;
	char instance[32];	/* labels this service's containers */
	char jobs_dir[512];
	char slots_dir[512];
	char pool_socket[512];	/* the host's warm pool keeper (fcgi/warmpool.c) */
	struct share *share;	/* the host's share table (shared/share.h) */
	char log_problem[512];	/* why the log is not open ("" when it is) */
};

extern struct service svc;

/* What a request leaves to do after its answer is out: a sandbox to
 * remove, the slot it holds until then, the job folder. */
struct after_answer {
	struct sandbox *sb;
	int slot;		/* -1: none */
	char job_dir[512];	/* "": none */
};

/* POST /run (run.c). Always writes a whole answer, and fills after with
 * what is left to do once the answer is out. Returns 0, or -1 when the
 * client went away (the run is logged all the same). */
int run_handle(FCGX_Request *r, struct after_answer *after);

/* Removes the sandbox, frees the slot and removes the job folder that
 * run_handle left in after, and clears it. */
void run_after_answer(struct after_answer *after);

/* GET /api/health, GET /api/limits, DELETE /api/jobs/<id> (status_api.c);
 * rest is the path after "/api/". Returns 0, or -1 if the client left. */
int status_api_handle(FCGX_Request *r, const char *method, const char *rest);

/* POST /api/assist (assist_api.c): a script written or fixed by the
 * configured model. Always writes a whole answer. Returns 0, or -1 if the
 * client went away. */
int assist_handle(FCGX_Request *r, const char *method);

/* Reads the model's key (IMGSANDBOX_AI_KEY_FILE) and readies libcurl, once
 * per process; assist_handle calls it at its first request, start-up may
 * call it sooner. */
void assist_init(void);

/* For `make bench`: prints the docker run argv of a job folder (code/,
 * input/), NUL-separated, so the baseline runs exactly our flags. */
int status_print_docker_argv(const char *instance, const char *job_id, const char *dir);

/* GET /api/metrics (metrics_api.c). */
int metrics_handle(FCGX_Request *r, const char *method);

/* Opens the log when it is not open and the last try is 10 s old
 * (responder.c); svc.log_problem says why when it cannot be opened. */
void log_reopen_if_due(void);

/* Starts the housekeeping thread (housekeeping.c). */
void housekeeping_start(void);

#endif
