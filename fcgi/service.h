/*
 * service: what every endpoint of the responder shares, set up once per
 * process by responder.c.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <sys/types.h>
#include <fcgiapp.h>

#include "../shared/logdb.h"
#include "../shared/sandbox.h"

struct service {
	struct logdb *db;
	char instance[32];	/* labels this service's containers */
	char jobs_dir[512];
	char slots_dir[512];
	char sandboxes_dir[512];	/* folders of warm sandboxes */
	struct sandbox_pool *pool;	/* this process's warm sandboxes */
	uid_t sandbox_uid;
	gid_t sandbox_gid;
};

extern struct service svc;

/* POST /run (run.c). Always writes a whole answer. Returns 0, or -1 when
 * the client went away (the run is logged all the same). */
int run_handle(FCGX_Request *r);

#endif
