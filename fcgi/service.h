/*
 * service: what every endpoint of the responder shares (service.c), set up
 * once per process by responder.c, and the handlers' entry points.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <sys/types.h>
#include <fcgiapp.h>

#include "store/logdb.h"
#include "sandbox/outputs.h"
#include "sandbox/sandbox.h"
#include "sandbox/share.h"

struct service {
	struct logdb *db;
	char instance[32];	/* labels this service's containers */
	char jobs_dir[512];
	char slots_dir[512];
	char broker_socket[512];	/* the sandbox broker's (fcgi/sandboxd.c) */
	struct share *share;	/* the host's share table (shared/sandbox/share.h) */
	struct share *reads;	/* the same table with the limits of a client's session reads */
	char log_problem[512];	/* why the log is not open, in public words ("" when it is) */
};

extern struct service svc;

/* Makes the folders under DATA and fills svc's paths and instance, once
 * per process (service.c); dies when it cannot. */
void service_setup_paths(void);

/* Opens the log when it is not open and the last try is 10 s old
 * (service.c); svc.log_problem says why when it cannot be opened. */
void log_reopen_if_due(void);

/* Starts the housekeeping thread (housekeeping.c). */
void housekeeping_start(void);

/* A run published o (housekeeping.c): its bytes count against
 * IMGSANDBOX_OUTPUTS_MAX_BYTES at once, and the oldest results (never o)
 * go when they pass it, rather than at the next periodic sweep. */
void housekeeping_published(const struct outputs *o);

#endif
