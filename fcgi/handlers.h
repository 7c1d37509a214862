/*
 * handlers: the responder's endpoints, one file each, as the table of
 * routes in responder.c calls them. Each reads what it shares from
 * service.h; none calls another's.
 */
#ifndef HANDLERS_H
#define HANDLERS_H

#include <fcgiapp.h>

#include "sandbox/sandbox.h"

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

/* GET /api/metrics (metrics_api.c). */
int metrics_handle(FCGX_Request *r, const char *method);

#endif
