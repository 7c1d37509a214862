/*
 * responder: the FastCGI program behind Apache, nginx or lighttpd (started
 * by spawn-fcgi under supervise). One request at a time per process; run
 * as many processes as wanted: they share the sandbox slots, the log, the
 * outputs folder and the host's sandboxes, which the broker (fcgi/sandboxd.c)
 * alone starts: a responder holds no key to the engine.
 *
 *   POST   /run               run.c
 *   GET    /api/logs/...      logs_api.c
 *   GET    /api/health        status_api.c (from state kept fresh by housekeeping)
 *   GET    /api/limits        status_api.c
 *   DELETE /api/jobs/<id>     status_api.c
 *   GET    /api/metrics       metrics_api.c (operator)
 *
 * Who may use which path is decided in one place, the table of routes
 * below: the operator's endpoints by access.c, runs within a client's
 * share of the host by shared/share.
 *
 * A housekeeping thread (housekeeping.c) removes leftovers. SIGTERM or
 * SIGINT, read by a thread of its own, lets a request in progress finish
 * (its container removed) and ends the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "base/config.h"
#include "base/files.h"
#include "facts/image_check.h"
#include "base/log.h"
#include "base/secret.h"
#include "store/logdb.h"
#include "sandbox/sandbox.h"
#include "base/clock.h"
#include "sandbox/share.h"
#include "access.h"
#include "http.h"
#include "logs_api.h"
#include "handlers.h"
#include "service.h"

/* The request thread and the signal thread. */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static int in_request, stopping;

/* fds 0-2 must be open, or a later open() would take their place. Under
 * spawn-fcgi, 0 is the listening socket and stays. */
static void
std_fds_open(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* Waits for SIGTERM or SIGINT (blocked in every thread). Between requests
 * it ends the process at once; during one, the request thread ends it
 * when the request and its cleanup are done. */
static void *
signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig;

	while (sigwait(set, &sig) != 0)
		;
	pthread_mutex_lock(&stop_lock);
	stopping = 1;
	if (!in_request)
		_exit(0);
	pthread_mutex_unlock(&stop_lock);
	return NULL;
}

/* The request path without its query string, in path. Returns 0, or -1
 * when it is too long. */
static int
request_path(FCGX_Request *r, char *path, size_t len)
{
	const char *uri = FCGX_GetParam("REQUEST_URI", r->envp);
	size_t n;

	if (uri == NULL)
		uri = FCGX_GetParam("SCRIPT_NAME", r->envp);
	if (uri == NULL)
		uri = "/";
	n = strcspn(uri, "?");
	if (n >= len)
		return -1;
	memcpy(path, uri, n);
	path[n] = '\0';
	return 0;
}

/* A client's share of runs and assists (shared/share): refused with 429
 * and Retry-After past it. Such refusals are counted, not logged (a flood
 * must not become the log's). Returns 0 when it may go on. */
static int
within_share(FCGX_Request *r)
{
	char client[64], extra[64];
	int retry = 0;

	access_client_key(r, client, sizeof(client));
	switch (share_enter(svc.share, client, &retry)) {
	case SHARE_OK:
		return 0;
	case SHARE_INFLIGHT:
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry);
		http_error_with(r, 429, "busy", extra, "you have %lld runs in progress already; "
		    "wait for one to end", (long long)cfg.client_inflight);
		return -1;
	default:
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry);
		http_error_with(r, 429, "busy", extra, "you started %lld runs in the last minute, "
		    "the most this service takes; try again in %d s", (long long)cfg.client_runs_per_min,
		    retry);
		return -1;
	}
}

/* A client's reads of sessions (GET /api/logs/session/<id>: answers of up
 * to 4 MiB, a diff of up to 20M steps, each ?after= a new answer that no
 * kept one serves): IMGSANDBOX_CLIENT_INFLIGHT in progress at once and
 * IMGSANDBOX_CLIENT_READS_PER_MIN (a quarter of them at once), counted
 * apart from its runs in the host's share table (svc.reads: the same
 * table, a key of their own, these limits). Refused with 429 and
 * Retry-After past them. Returns 0 when it may go on. */
static int
within_reads(FCGX_Request *r)
{
	char client[64], key[80], extra[64];
	int retry = 0;
	enum share_refusal why;

	access_client_key(r, client, sizeof(client));
	snprintf(key, sizeof(key), "read %s", client);
	if ((why = share_enter(svc.reads, key, &retry)) == SHARE_OK)
		return 0;
	snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry);
	if (why == SHARE_INFLIGHT)
		http_error_with(r, 429, "busy", extra, "you are reading %lld pages of sessions "
		    "already; wait for one to come", (long long)cfg.client_inflight);
	else
		http_error_with(r, 429, "busy", extra, "you read %lld pages of sessions in the "
		    "last minute, the most this service answers; try again in %d s",
		    (long long)cfg.client_reads_per_min, retry);
	return -1;
}

static void
route_run(FCGX_Request *r, const char *method, const char *rest, struct after_answer *after)
{
	run_handle(r, after);
}

static void
route_logs(FCGX_Request *r, const char *method, const char *rest, struct after_answer *after)
{
	const char *query = FCGX_GetParam("QUERY_STRING", r->envp);

	log_reopen_if_due();
	if (svc.db == NULL) {
		http_error_with(r, 503, "log_unavailable", "Retry-After: 10\r\n",
		    "the execution log cannot be read (%s); runs go on unlogged", svc.log_problem);
		return;
	}
	logs_api_handle(r, svc.db, method, rest, query ? query : "", cfg.packages_file);
}

static void
route_assist(FCGX_Request *r, const char *method, const char *rest, struct after_answer *after)
{
	assist_handle(r, method);
}

static void
route_metrics(FCGX_Request *r, const char *method, const char *rest, struct after_answer *after)
{
	metrics_handle(r, method);
}

static void
route_status(FCGX_Request *r, const char *method, const char *rest, struct after_answer *after)
{
	status_api_handle(r, method, rest);
}

/* Who may use a path: anyone, the operator (access.c), anyone within
 * their share of the host (share.c) from a page of this site (access.c),
 * or anyone within their share of reads. */
enum who { ANYONE, OPERATOR, SHARED, READER };

static const struct route {
	const char *path;	/* ending '/': a prefix */
	size_t skip;		/* bytes of the path the handler does not see */
	enum who who;
	void (*fn)(FCGX_Request *, const char *, const char *, struct after_answer *);
} routes[] = {
	{ "/run", 4, SHARED, route_run },
	{ "/api/assist", 11, SHARED, route_assist },
	{ "/api/logs/session/", 10, READER, route_logs },	/* its id is its key */
	{ "/api/logs/", 10, OPERATOR, route_logs },
	{ "/api/metrics", 12, OPERATOR, route_metrics },
	{ "/api/", 5, ANYONE, route_status },
};

static void
handle(FCGX_Request *r, struct after_answer *after)
{
	const char *method = FCGX_GetParam("REQUEST_METHOD", r->envp);
	const struct route *rt;
	char path[1024];
	size_t i, n;

	if (request_path(r, path, sizeof(path)) < 0) {
		http_error(r, 404, "not_found", "no such path");
		return;
	}
	if (method == NULL)
		method = "GET";
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		rt = &routes[i];
		n = strlen(rt->path);
		if (rt->path[n - 1] == '/' ? strncmp(path, rt->path, n) != 0 : strcmp(path, rt->path) != 0)
			continue;
		if (rt->who == OPERATOR && access_operator(r) < 0)
			return;
		if (rt->who == SHARED && (access_same_site(r) < 0 || within_share(r) < 0))
			return;
		if (rt->who == READER && within_reads(r) < 0)
			return;
		rt->fn(r, method, path + rt->skip, after);
		return;
	}
	http_error(r, 404, "not_found", "no such path: the service answers /run and /api/...");
}

/* Everything a responder needs before its first request. */
static void
start_up(void)
{
	struct report_limits lim = { cfg.timeout_ms, cfg.memory_bytes, cfg.output_bytes };
	char err[512];

	service_setup_paths();
	if (cfg.sandbox_uid == geteuid())
		die("IMGSANDBOX_USER=%s is this responder's own uid; the sandbox must run as "
		    "a user of its own", cfg.sandbox_user);
	if (image_check_init() < 0)
		die("libmagic's database could not be loaded (apt-get install libmagic1)");
	if (secret_load(cfg.secret_file, err, sizeof(err)) < 0)	/* session ids, tokens */
		die("IMGSANDBOX_SECRET_FILE: %s", err);
	/* A token that cannot be read closes the operator's endpoints (503,
	 * saying why), not the service: runs go on. */
	if (access_init(err, sizeof(err)) < 0)
		log_warnx("%s; /api/logs and /api/metrics answer 503 until it is fixed", err);
	if ((svc.share = share_open(cfg.data_dir, (int)cfg.slots, cfg.client_inflight,
	    cfg.client_runs_per_min, cfg.client_burst)) == NULL ||
	    (svc.reads = share_open(cfg.data_dir, (int)cfg.slots, cfg.client_inflight,
	    cfg.client_reads_per_min,
	    cfg.client_reads_per_min / 4 > 0 ? cfg.client_reads_per_min / 4 : 1)) == NULL)
		die("the share table under %s could not be made", cfg.data_dir);
	log_reopen_if_due();	/* a log that cannot be opened does not stop runs */
	assist_init();		/* the model's key, read once */
	logs_api_set_limits(&lim);	/* before any thread */
	housekeeping_start();
}

/* The accept loop: each answer out first (FCGX_Finish_r), then what the
 * request left (its container removed, its slot freed). */
static void
serve(void)
{
	struct after_answer after = { .sb = NULL, .slot = -1, .job_dir = "" };
	FCGX_Request req;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		die("FCGX_Init failed");
	/* libfcgi puts a handler on SIGPIPE; ignored it is, again (a client
	 * that hangs up must not kill us, nor interrupt a read). */
	signal(SIGPIPE, SIG_IGN);
	log_info("ready: instance %s, %lld slots, the %s engine through %s",
	    svc.instance, (long long)cfg.slots, cfg.engine, svc.broker_socket);
	while (FCGX_Accept_r(&req) >= 0) {
		pthread_mutex_lock(&stop_lock);
		in_request = 1;
		pthread_mutex_unlock(&stop_lock);
		http_answer_begin();
		handle(&req, &after);
		/* No longer in flight for its client before the client can
		 * see the answer (and send its next request). */
		share_answered(svc.share);
		http_answer_end(&req);	/* a client that does not read: bounded */
		FCGX_Finish_r(&req);
		run_after_answer(&after);
		share_leave(svc.share);
		pthread_mutex_lock(&stop_lock);
		in_request = 0;
		if (stopping)
			_exit(0);
		pthread_mutex_unlock(&stop_lock);
	}
}

int
main(int argc, char **argv)
{
	pthread_t sigthread;
	sigset_t stop_set;
	char err[512];

	std_fds_open();
	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN);	/* a client that hangs up must not kill us */
	if (config_load(err, sizeof(err)) < 0)
		die("%s", err);
	if (argc > 1 && strcmp(argv[1], "--settings") == 0) {
		config_print(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--print-conf") == 0) {	/* for make install */
		config_print_file(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--instance") == 0) {	/* for serve.sh */
		config_instance(svc.instance, sizeof(svc.instance));
		printf("%s\n", svc.instance);
		return 0;
	}
	if (argc > 1)
		die("usage: responder [--settings | --print-conf | --instance] (run under spawn-fcgi)");
	start_up();
	/* SIGTERM and SIGINT go to signal_main only; children get an empty
	 * mask from spawn. */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0 ||
	    pthread_create(&sigthread, NULL, signal_main, &stop_set) != 0)
		die("cannot start the signal thread");
	pthread_detach(sigthread);
	serve();
	if (svc.db != NULL)
		logdb_close(svc.db);
	return 0;
}
