/*
 * responder: the FastCGI program behind lighttpd or nginx (started by
 * spawn-fcgi, or by lighttpd itself). One request at a time per process;
 * run as many processes as wanted: they share the sandbox slots, the log
 * database and the outputs folder.
 *
 *   POST /run            run.c
 *   GET  /api/logs/...   logs_api.c
 *   GET  /api/health     is the engine there, is the image there
 *
 * A reaper thread removes leftover containers of this service and results
 * past their retention, at start-up and every IMGSANDBOX_REAP_INTERVAL_S.
 *
 * With IMGSANDBOX_WARM=n the process keeps n sandboxes started ahead and
 * starts the next ones between requests. SIGTERM or SIGINT, read by a thread
 * of its own, lets a request in progress finish, removes the warm
 * sandboxes and ends the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "../shared/config.h"
#include "../shared/docker.h"
#include "../shared/image_check.h"
#include "../shared/jobs.h"
#include "../shared/log.h"
#include "../shared/logdb.h"
#include "../shared/sandbox.h"
#include "../shared/text.h"
#include "http.h"
#include "logs_api.h"
#include "service.h"

struct service svc;
static char reaper_lock[600];

/* The request thread and the signal thread: the pool is used under it. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
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

/* A stable label for this service's containers: FNV-1a of the data folder's
 * real path, so two services on one engine leave each other alone. */
static void
make_instance(const char *data_dir, char *out, size_t len)
{
	char real[4096];

	if (realpath(data_dir, real) == NULL)
		snprintf(real, sizeof(real), "%s", data_dir);
	snprintf(out, len, "%016llx", (unsigned long long)hash_fnv1a64(real, strlen(real)));
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

/* One pass of housekeeping, by one process at a time. */
static void
housekeeping(void)
{
	int fd, n, m, k;

	if ((fd = open(reaper_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		n = sandbox_reap(svc.instance, cfg.reap_grace_s);
		m = jobs_sweep(cfg.outputs_dir, cfg.retention_s);
		/* A job folder lives for one request; one much older than
		 * the time limit belongs to a responder that died. */
		k = jobs_sweep(svc.jobs_dir, cfg.timeout_ms / 1000 + 600);
		/* A warm sandbox's folder lives until its job is done, or
		 * its container is replaced or reaped. */
		k += jobs_sweep(svc.sandboxes_dir, cfg.warm_idle_s + cfg.reap_grace_s +
		    cfg.timeout_ms / 1000 + 600);
		if (n > 0 || m > 0 || k > 0)
			log_info("housekeeping: %d containers, %d results, %d job folders removed",
			    n > 0 ? n : 0, m, k);
	}
	close(fd);
}

/* Waits for SIGTERM or SIGINT (blocked in every thread). Between requests
 * it ends the process at once; during one, the request thread ends it when
 * the request is done. Either way the warm sandboxes are removed first. */
static void *
signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig;

	while (sigwait(set, &sig) != 0)
		;
	pthread_mutex_lock(&pool_lock);
	stopping = 1;
	if (!in_request) {
		sandbox_pool_drain(svc.pool);
		_exit(0);
	}
	pthread_mutex_unlock(&pool_lock);
	return NULL;
}

static void *
reaper_main(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		housekeeping();
		sleep((unsigned)cfg.reap_interval_s);
	}
	return NULL;
}

/* For `make bench`: prints the docker run argv the sandbox would use for a
 * job folder (code/, input/, output/), NUL-separated, so the baseline runs
 * exactly our flags without a second copy of them. */
static int
print_docker_argv(const char *instance, const char *job_id, const char *dir)
{
	struct argv_buf a = { .n = 0 };
	struct docker_job j;
	char name[128], code[1024], input[1024], output[1024];
	int i;

	if (docker_init(&cfg, "/nonexistent") < 0 && cfg.docker_bin[0] == '\0')
		return 1;
	if (snprintf(name, sizeof(name), "imgsandbox-%s", job_id) >= (int)sizeof(name) ||
	    snprintf(code, sizeof(code), "%s/code", dir) >= (int)sizeof(code) ||
	    snprintf(input, sizeof(input), "%s/input", dir) >= (int)sizeof(input) ||
	    snprintf(output, sizeof(output), "%s/output", dir) >= (int)sizeof(output))
		die("arguments too long");
	j = (struct docker_job){ .name = name, .job_id = job_id, .instance = instance,
	    .deadline_epoch = (int64_t)time(NULL) + (cfg.timeout_ms + 999) / 1000,
	    .code_dir = code, .input_dir = input, .output_dir = output,
	    .user = cfg.sandbox_user };
	if (docker_run_argv(&cfg, &j, &a) < 0)
		die("the argv did not fit");
	for (i = 0; i < a.n; i++)
		fwrite(a.v[i], 1, strlen(a.v[i]) + 1, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
health(FCGX_Request *r)
{
	char msg[512];
	cJSON *root;
	int rc, ok;

	ok = sandbox_check(&cfg, msg, sizeof(msg)) == 0;
	if ((root = cJSON_CreateObject()) == NULL)
		return http_error(r, 500, "internal", "out of memory");
	cJSON_AddBoolToObject(root, "ok", ok);
	cJSON_AddStringToObject(root, "image", cfg.image);
	cJSON_AddNumberToObject(root, "slots", (double)cfg.slots);
	cJSON_AddNumberToObject(root, "timeout_ms", (double)cfg.timeout_ms);
	if (!ok)
		cJSON_AddStringToObject(root, "message", msg);
	rc = http_json(r, ok ? 200 : 503, root, NULL);
	cJSON_Delete(root);
	return rc;
}

static void
add_limit(const char *key, int64_t value, void *arg)
{
	cJSON_AddNumberToObject(arg, key, (double)value);
}

/* GET /api/limits: the limits of a request and of a run, from the one
 * table of settings, for the page (which checks before it sends). */
static int
limits(FCGX_Request *r)
{
	cJSON *root;
	int rc;

	if ((root = cJSON_CreateObject()) == NULL)
		return http_error(r, 500, "internal", "out of memory");
	config_foreach_public(add_limit, root);
	rc = http_json(r, 200, root, NULL);
	cJSON_Delete(root);
	return rc;
}

static void
handle(FCGX_Request *r)
{
	const char *uri = FCGX_GetParam("REQUEST_URI", r->envp);
	const char *method = FCGX_GetParam("REQUEST_METHOD", r->envp);
	const char *query = FCGX_GetParam("QUERY_STRING", r->envp);
	char path[1024];
	size_t n;

	if (uri == NULL)
		uri = FCGX_GetParam("SCRIPT_NAME", r->envp);
	if (uri == NULL)
		uri = "/";
	n = strcspn(uri, "?");
	if (n >= sizeof(path)) {
		http_error(r, 404, "not_found", "no such path");
		return;
	}
	memcpy(path, uri, n);
	path[n] = '\0';
	if (method == NULL)
		method = "GET";
	if (query == NULL)
		query = "";
	if (strcmp(path, "/run") == 0)
		run_handle(r);
	else if (strncmp(path, "/api/logs/", 10) == 0)
		logs_api_handle(r, svc.db, method, path + 10, query, cfg.packages_file);
	else if (strcmp(path, "/api/health") == 0)
		health(r);
	else if (strcmp(path, "/api/limits") == 0)
		limits(r);
	else
		http_error(r, 404, "not_found", "no such path: the service answers /run "
		    "and /api/logs/...");
}

int
main(int argc, char **argv)
{
	FCGX_Request req;
	struct analyze_limits lim;
	pthread_t reaper, sigthread;
	sigset_t stop_set;
	char err[512], ccfg[600];
	unsigned long uid, gid;
	char *end;

	std_fds_open();
	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN);	/* a client that hangs up must not kill us */
	if (config_load(err, sizeof(err)) < 0)
		die("%s", err);
	if (argc > 1 && strcmp(argv[1], "--settings") == 0) {
		config_print(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--check") == 0) {
		if (docker_init(&cfg, "/nonexistent") < 0 || sandbox_check(&cfg, err, sizeof(err)) < 0)
			die("%s", err);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "--docker-argv") == 0)
		return print_docker_argv(argv[2], argv[3], argv[4]);
	if (argc > 1)
		die("usage: responder [--settings | --check | --docker-argv INSTANCE JOB_ID JOB_DIR]"
		    " (run under spawn-fcgi)");

	if (make_dirs(cfg.data_dir, 0755) < 0 || make_dirs(cfg.outputs_dir, 0755) < 0)
		die("cannot create %s or %s: %s", cfg.data_dir, cfg.outputs_dir, strerror(errno));
	if (snprintf(svc.jobs_dir, sizeof(svc.jobs_dir), "%s/jobs", cfg.data_dir) >= (int)sizeof(svc.jobs_dir) ||
	    snprintf(svc.slots_dir, sizeof(svc.slots_dir), "%s/slots", cfg.data_dir) >= (int)sizeof(svc.slots_dir) ||
	    snprintf(svc.sandboxes_dir, sizeof(svc.sandboxes_dir), "%s/sandboxes", cfg.data_dir) >=
	    (int)sizeof(svc.sandboxes_dir) ||
	    snprintf(ccfg, sizeof(ccfg), "%s/docker-client", cfg.data_dir) >= (int)sizeof(ccfg) ||
	    snprintf(reaper_lock, sizeof(reaper_lock), "%s/housekeeping.lock", cfg.data_dir) >= (int)sizeof(reaper_lock))
		die("IMGSANDBOX_DATA is too long");
	if (make_dirs(svc.jobs_dir, 0711) < 0 || make_dirs(svc.slots_dir, 0700) < 0 ||
	    make_dirs(svc.sandboxes_dir, 0711) < 0 ||
	    make_dirs(ccfg, 0700) < 0)
		die("cannot create folders under %s: %s", cfg.data_dir, strerror(errno));
	make_instance(cfg.data_dir, svc.instance, sizeof(svc.instance));
	write_instance_file();

	/* The sandbox's user. Not root: the job's output/ cannot be given to
	 * another user, and what the script leaves there must stay removable,
	 * so the sandbox runs as our own (non-root) uid unless told. */
	if (geteuid() != 0 && getenv("IMGSANDBOX_USER") == NULL)
		snprintf(cfg.sandbox_user, sizeof(cfg.sandbox_user), "%lu:%lu",
		    (unsigned long)geteuid(), (unsigned long)getegid());
	uid = strtoul(cfg.sandbox_user, &end, 10);
	if (*end != ':' || (gid = strtoul(end + 1, &end, 10), *end != '\0') || uid == 0)
		die("IMGSANDBOX_USER=%s: expected uid:gid in numbers, not root", cfg.sandbox_user);
	svc.sandbox_uid = (uid_t)uid;
	svc.sandbox_gid = (gid_t)gid;

	if (docker_init(&cfg, ccfg) < 0)
		log_warnx("runs will answer 503 until the docker client is installed");
	if (image_check_init() < 0)
		die("libmagic's database could not be loaded (apt-get install libmagic1)");
	if ((svc.db = logdb_open(cfg.db_path, err, sizeof(err))) == NULL)
		die("the log database %s: %s", cfg.db_path, err);
	lim.timeout_ms = cfg.timeout_ms;
	lim.memory_bytes = cfg.memory_bytes;
	lim.output_bytes = cfg.output_bytes;
	logs_api_set_limits(&lim);	/* before any thread */
	if ((svc.pool = sandbox_pool_new(&cfg, svc.instance, svc.sandboxes_dir,
	    svc.sandbox_uid, svc.sandbox_gid)) == NULL)
		die("out of memory");
	/* SIGTERM and SIGINT go to signal_main only; children get an empty
	 * mask from spawn. */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0 ||
	    pthread_create(&sigthread, NULL, signal_main, &stop_set) != 0)
		die("cannot start the signal thread");
	pthread_detach(sigthread);
	if (pthread_create(&reaper, NULL, reaper_main, NULL) != 0)
		die("cannot start the reaper thread");
	pthread_detach(reaper);

	if (FCGX_Init() != 0)
		die("FCGX_Init failed");
	if (FCGX_InitRequest(&req, 0, 0) != 0)
		die("FCGX_InitRequest failed");
	log_info("ready: instance %s, %lld slots, sandbox user %s, image %s",
	    svc.instance, (long long)cfg.slots, cfg.sandbox_user, cfg.image);
	pthread_mutex_lock(&pool_lock);		/* the signal thread runs already */
	sandbox_pool_fill(svc.pool);
	pthread_mutex_unlock(&pool_lock);
	while (FCGX_Accept_r(&req) >= 0) {
		pthread_mutex_lock(&pool_lock);
		in_request = 1;
		pthread_mutex_unlock(&pool_lock);
		handle(&req);
		FCGX_Finish_r(&req);
		pthread_mutex_lock(&pool_lock);
		in_request = 0;
		if (stopping) {
			sandbox_pool_drain(svc.pool);
			_exit(0);
		}
		/* The next warm sandbox starts now, between requests. */
		sandbox_pool_fill(svc.pool);
		pthread_mutex_unlock(&pool_lock);
	}
	pthread_mutex_lock(&pool_lock);
	sandbox_pool_drain(svc.pool);
	logdb_close(svc.db);
	return 0;
}
