/*
 * config: every setting of the service, its default and its meaning, in one
 * table (config.c). Settings come from the settings file
 * (/etc/imgsandbox/imgsandbox.conf, or IMGSANDBOX_CONFIG_FILE's; NAME=value
 * lines) and the environment (IMGSANDBOX_*), which wins, are parsed with a
 * range once at start-up, and are read through the global `cfg` afterwards. `responder --settings` prints the table (docs/settings.md
 * lists it, and tests/structure/check.py keeps the two the same).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config {
	/* Paths */
	char data_dir[256];		/* jobs/, outputs/, slots/ live here */
	char outputs_dir[256];		/* published results (served as /outputs/) */
	char db_path[1024];		/* the execution log: an SQLite file or a postgresql:// URI */
	char sample_image[256];		/* the bundled sample image */
	char packages_file[256];	/* runner_image/packages.txt */
	char allowlist_file[256];	/* runner_image/allowlist.txt */
	/* The engine */
	char engine[8];			/* docker | fork */
	int64_t start_timeout_ms;	/* a run waits this long for its sandbox to start */
	char docker_bin[256];		/* the docker client */
	char docker_host[256];		/* DOCKER_HOST for the client; "" = its default */
	int64_t docker_api;		/* 1: sandboxes through the engine's socket (docker_api.h) */
	char image[128];		/* the runner image */
	char runtime[64];		/* --runtime (e.g. runsc for gVisor); "" = the engine's default */
	char sandbox_user[32];		/* uid:gid inside the sandbox */
	unsigned sandbox_uid, sandbox_gid;	/* ... parsed */
	char seccomp_list[256];		/* runner_image/seccomp.list */
	char seccomp_profile[300];	/* the Docker profile made from it (DATA/seccomp.json) */
	char cgroup_parent[128];	/* --cgroup-parent ("": the engine's) */
	char instance[32];		/* labels this service's containers ("": from DATA) */
	char rootfs[256];		/* the fork engine: the root filesystem its sandboxes run on */
	int64_t fork_prefault;		/* the fork engine: 1: boxes map the learned pages ahead */
	char cgroup[128];		/* the fork engine: the delegated cgroup, relative to the roots */
	/* Limits of one run */
	int64_t timeout_ms;		/* wall clock, from the hand-off of the job */
	int64_t memory_bytes;		/* --memory and --memory-swap */
	char cpus[16];			/* --cpus */
	int64_t pids;			/* --pids-limit */
	int64_t tmp_bytes;		/* --tmpfs /tmp size */
	int64_t output_bytes;		/* the result's cap, and RLIMIT_FSIZE in the sandbox */
	int64_t nofile;			/* RLIMIT_NOFILE in the sandbox */
	int64_t stream_bytes;		/* stdout and stderr kept, each */
	int64_t stream_max_bytes;	/* printed in all past this: the run is stopped */
	/* Limits of a request */
	int64_t body_bytes;		/* the whole POST body */
	int64_t body_timeout_ms;	/* the whole body must arrive within this */
	int64_t send_timeout_ms;	/* an answer must be taken within this */
	int64_t code_bytes;
	int64_t image_bytes;
	int64_t image_pixels;
	int64_t params_bytes;
	int64_t prompt_bytes;
	int64_t model_bytes;
	/* Service */
	int64_t slots;			/* concurrent sandboxes on this host */
	int64_t slot_wait_ms;		/* how long a request may wait in line for a slot */
	int64_t retention_s;		/* published results older than this are removed */
	int64_t reap_interval_s;	/* how often leftovers are looked for */
	int64_t reap_grace_s;		/* a container this long past its deadline is a leftover */
	char url_prefix[64];		/* before /outputs/ in result URLs ("" or "/h1") */
	/* Warm sandboxes */
	int64_t warm;			/* kept started ahead on this host (-1: as many as the slots) */
	int64_t warm_idle_s;		/* a warm sandbox older than this is replaced, not used */
	char preload[256];		/* modules a warm sandbox imports before its job */
	/* What is kept */
	int64_t outputs_max_bytes;	/* published results in all; the oldest go first */
	int64_t log_max_age_days;	/* log rows older than this are deleted (0: kept) */
	int64_t log_max_bytes;		/* the log's file is kept under this (0: no cap) */
	/* Who may read the log */
	char logs_access[8];		/* local | token | open */
	char logs_token_file[256];	/* for token: the bearer token, one line */
	char local_hosts[256];		/* local: more Host names that mean this machine */
	char trusted_proxies[256];	/* addresses whose X-Forwarded-For is believed */
	char secret_file[512];		/* the host's key: session ids, the assistant's tokens */
	char allowed_origins[512];	/* other sites' pages that may POST /run and /api/assist */
	/* A client's share */
	int64_t client_inflight;	/* requests of one client at once (runs, assists) */
	int64_t client_runs_per_min;	/* runs and assists of one client per minute */
	int64_t client_burst;		/* ... of which this many at once */
	int64_t client_reads_per_min;	/* pages of sessions one client reads per minute */
	/* The assistant */
	char ai_url[256];		/* an OpenAI-compatible base URL ("": none) */
	char ai_model[128];
	char ai_key_file[256];
	int64_t ai_timeout_ms;
	int64_t ai_inflight;		/* assists at once on the host */
	int64_t ai_lessons;		/* 1: the log's lessons go into the prompt */
	int64_t ai_max_tokens;
};

extern struct config cfg;

#define CONFIG_FILE_DEFAULT "/etc/imgsandbox/imgsandbox.conf"

/* Fills cfg from the defaults, the settings file and the environment.
 * Returns 0, or -1 with a message naming the bad variable (and the file's
 * line, when the file gave it) in err. */
int config_load(char *err, size_t errlen);
/* Calls fn for each setting a page may know (the limits of a request and of
 * a run), keyed by its name without the prefix in lower case
 * ("code_bytes", "timeout_ms"). */
void config_foreach_public(void (*fn)(const char *key, int64_t value, void *arg), void *arg);
/* The label of this service's containers: IMGSANDBOX_INSTANCE, else a
 * hash of the data folder's real path (two services on one engine leave
 * each other alone). */
void config_instance(char *out, size_t len);

/* Prints every setting: variable, value, meaning (for --settings). */
void config_print(FILE *fp);
/* Prints a settings file: every setting with its meaning, commented out at
 * its default unless the file or the environment set it (for --print-conf;
 * make install writes /etc/imgsandbox/imgsandbox.conf with it). */
void config_print_file(FILE *fp);
/* The settings file the last config_load read ("" when none). */
const char *config_file_used(void);

#endif
