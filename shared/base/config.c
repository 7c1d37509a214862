#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/text.h"

struct config cfg;

enum kind { STR, INT };
/* Flags: PUB settings are shown to the page (GET /api/limits). */
#define PUB 1

/* The one table of settings. Sizes are in bytes, times as named. */
static const struct setting {
	const char *env;
	enum kind kind;
	size_t off;
	size_t size;		/* STR: the field's size */
	const char *def;
	long long min, max;	/* INT: the range */
	const char *help;
	int flags;
} settings[] = {
#define S(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define I(f) offsetof(struct config, f), 0
	{ "IMGSANDBOX_DATA", STR, S(data_dir), "./var", 0, 0,
	  "the service's folder: jobs, slots, state, warm sandboxes, the log (created if missing)", 0 },
	{ "IMGSANDBOX_OUTPUTS", STR, S(outputs_dir), "", 0, 0,
	  "folder of published results, served as /outputs/ (default: DATA/outputs)", 0 },
	{ "IMGSANDBOX_DB", STR, S(db_path), "", 0, 0,
	  "the execution log: an SQLite file, or a PostgreSQL database as postgresql://user@host:port/db (default: DATA/log.db)", 0 },
	{ "IMGSANDBOX_SAMPLE", STR, S(sample_image), "./static/sample.png", 0, 0,
	  "the sample image sent with use_sample=1", 0 },
	{ "IMGSANDBOX_PACKAGES", STR, S(packages_file), "./runner_image/packages.txt", 0, 0,
	  "the runner image's package list (what the sandbox has installed)", 0 },
	{ "IMGSANDBOX_ALLOWLIST", STR, S(allowlist_file), "./runner_image/allowlist.txt", 0, 0,
	  "the names the log's lessons may say (exception types, modules, attributes of the sandbox's libraries)", 0 },
	{ "IMGSANDBOX_ENGINE", STR, S(engine), "docker", 0, 0,
	  "what a sandbox runs on: docker (a container per run) or fork (a child of a template interpreter, in namespaces and a cgroup of its own)", 0 },
	{ "IMGSANDBOX_START_TIMEOUT_MS", INT, I(start_timeout_ms), "60000", 1000, 600000,
	  "how long a run waits for its sandbox to start (it does not count against the run's own limit); past it, 503", 0 },
	{ "IMGSANDBOX_DOCKER", STR, S(docker_bin), "docker", 0, 0,
	  "the docker client (looked up in PATH when it has no slash)", 0 },
	{ "IMGSANDBOX_DOCKER_HOST", STR, S(docker_host), "", 0, 0,
	  "DOCKER_HOST for the client, e.g. unix:///run/user/1000/docker.sock for a rootless engine", 0 },
	{ "IMGSANDBOX_DOCKER_API", INT, I(docker_api), "1", 0, 1,
	  "1: the broker makes, runs and removes sandboxes through the engine's API on its Unix socket, with no network set-up for them (about half the host CPU of a run); 0: a docker client program for each (as before, and for an engine over TCP or SSH)", 0 },
	{ "IMGSANDBOX_IMAGE", STR, S(image), "imgsandbox-runner:proto2", 0, 0,
	  "the runner image (built by runner_image/build.sh)", 0 },
	{ "IMGSANDBOX_RUNTIME", STR, S(runtime), "", 0, 0,
	  "OCI runtime for the sandbox, e.g. runsc for gVisor (default: the engine's)", 0 },
	{ "IMGSANDBOX_SECCOMP_LIST", STR, S(seccomp_list), "./runner_image/seccomp.list", 0, 0,
	  "the system calls a sandbox may make: the list the seccomp profile is made from", 0 },
	{ "IMGSANDBOX_SECCOMP_PROFILE", STR, S(seccomp_profile), "", 0, 0,
	  "the Docker seccomp profile of the sandboxes, written by the broker at its start from the list (default: DATA/engine/seccomp.json)", 0 },
	{ "IMGSANDBOX_CGROUP_PARENT", STR, S(cgroup_parent), "", 0, 0,
	  "the cgroup the sandboxes are placed under (--cgroup-parent), capped by fcgi/cgroup_parent.sh (default: none; fcgi/serve.sh sets one as root)", 0 },
	{ "IMGSANDBOX_INSTANCE", STR, S(instance), "", 0, 0,
	  "the label of this service's containers, [a-z0-9-]{1,31} (default: a hash of DATA's real path)", 0 },
	{ "IMGSANDBOX_ROOTFS", STR, S(rootfs), "/var/cache/imgsandbox/rootfs-current", 0, 0,
	  "the fork engine's root filesystem: the tree the runner image is made of (runner_image/build.sh --print-rootfs)", 0 },
	{ "IMGSANDBOX_FORK_PREFAULT", INT, I(fork_prefault), "1", 0, 1,
	  "the fork engine: 1: each box maps ahead, in a few calls, the pages a trial job wrote and read when the template started, instead of a page fault each (about a third of a trivial run's CPU on a virtual machine); 0: a fault each", 0 },
	{ "IMGSANDBOX_CGROUP", STR, S(cgroup), "imgsandbox", 0, 0,
	  "the fork engine's cgroup, relative to each hierarchy's root, made and given to the service's user by fcgi/engine_setup.sh", 0 },
	{ "IMGSANDBOX_USER", STR, S(sandbox_user), "10001:10001", 0, 0,
	  "uid:gid the script runs as inside the sandbox (never 0)", 0 },
	{ "IMGSANDBOX_TIMEOUT_MS", INT, I(timeout_ms), "10000", 500, 3600000,
	  "wall-clock limit of one run, from the hand-off of its job to a started sandbox, in ms", PUB },
	{ "IMGSANDBOX_MEMORY", INT, I(memory_bytes), "1073741824", 16777216, 68719476736LL,
	  "memory of one sandbox (--memory = --memory-swap), bytes", PUB },
	{ "IMGSANDBOX_CPUS", STR, S(cpus), "1", 0, 0,
	  "CPUs of one sandbox (--cpus); thread counts are pinned to it", 0 },
	{ "IMGSANDBOX_PIDS", INT, I(pids), "64", 8, 4096,
	  "processes and threads in one sandbox (--pids-limit)", 0 },
	{ "IMGSANDBOX_TMP_BYTES", INT, I(tmp_bytes), "67108864", 1048576, 4294967296LL,
	  "size of the sandbox's /tmp (a tmpfs), bytes", 0 },
	{ "IMGSANDBOX_OUTPUT_BYTES", INT, I(output_bytes), "33554432", 65536, 1073741824,
	  "/output in all (a tmpfs of its own), and the largest file the script may write (RLIMIT_FSIZE), bytes", PUB },
	{ "IMGSANDBOX_NOFILE", INT, I(nofile), "256", 32, 65536,
	  "open files in the sandbox (RLIMIT_NOFILE)", 0 },
	{ "IMGSANDBOX_STREAM_BYTES", INT, I(stream_bytes), "65536", 1024, 16777216,
	  "stdout and stderr kept of one run, each, bytes (the rest is counted and dropped)", PUB },
	{ "IMGSANDBOX_STREAM_MAX_BYTES", INT, I(stream_max_bytes), "16777216", 0, 1099511627776LL,
	  "a script that prints more than this (both streams, kept or not) is stopped at once as output_limit, bytes (0: no cap)", 0 },
	{ "IMGSANDBOX_BODY_BYTES", INT, I(body_bytes), "11534336", 4096, 1073741824,
	  "largest POST /run body, bytes (the web servers are set a little above it)", PUB },
	{ "IMGSANDBOX_BODY_TIMEOUT_MS", INT, I(body_timeout_ms), "20000", 1000, 3600000,
	  "the whole POST /run body must arrive within this, ms (a client that trickles it gets 408)", 0 },
	{ "IMGSANDBOX_SEND_TIMEOUT_MS", INT, I(send_timeout_ms), "10000", 100, 600000,
	  "an answer (or one live event) must be taken by the web server within this, ms: a client that does not read holds a responder, and a run's slot, this long at most", 0 },
	{ "IMGSANDBOX_CODE_BYTES", INT, I(code_bytes), "262144", 1, 16777216,
	  "largest code field, bytes", PUB },
	{ "IMGSANDBOX_IMAGE_BYTES", INT, I(image_bytes), "10485760", 1024, 1073741824,
	  "largest image upload, bytes", PUB },
	{ "IMGSANDBOX_IMAGE_PIXELS", INT, I(image_pixels), "40000000", 1, 1000000000,
	  "largest image, pixels (width x height)", PUB },
	{ "IMGSANDBOX_PARAMS_BYTES", INT, I(params_bytes), "16384", 2, 65536,
	  "largest params field, bytes", PUB },
	{ "IMGSANDBOX_PROMPT_BYTES", INT, I(prompt_bytes), "8192", 0, 1048576,
	  "largest user_prompt field, bytes", PUB },
	{ "IMGSANDBOX_MODEL_BYTES", INT, I(model_bytes), "128", 0, 4096,
	  "largest ai_model field, bytes", PUB },
	{ "IMGSANDBOX_SLOTS", INT, I(slots), "0", 0, 1024,
	  "sandboxes at once on this host, shared by every responder (0: the number of CPUs)", 0 },
	{ "IMGSANDBOX_SLOT_WAIT_MS", INT, I(slot_wait_ms), "0", 0, 3600000,
	  "how long a request may wait in line for a sandbox slot (0: three times IMGSANDBOX_TIMEOUT_MS); one the line cannot reach in that time is refused at once with 429", 0 },
	{ "IMGSANDBOX_RETENTION_S", INT, I(retention_s), "86400", 60, 31536000,
	  "published results older than this are removed, seconds", 0 },
	{ "IMGSANDBOX_REAP_INTERVAL_S", INT, I(reap_interval_s), "60", 1, 86400,
	  "how often leftover containers and old results are looked for, seconds", 0 },
	{ "IMGSANDBOX_REAP_GRACE_S", INT, I(reap_grace_s), "30", 0, 3600,
	  "a container this long past its deadline belongs to a dead responder and is removed, seconds", 0 },
	{ "IMGSANDBOX_URL_PREFIX", STR, S(url_prefix), "", 0, 0,
	  "put before /outputs/ in result URLs, e.g. /h1 behind a front for several hosts", 0 },
	{ "IMGSANDBOX_WARM", INT, I(warm), "-1", -1, 64,
	  "warm sandboxes the host keeps started ahead, each handed one job (-1: as many as the slots; 0: every run starts a container)", 0 },
	{ "IMGSANDBOX_WARM_IDLE_S", INT, I(warm_idle_s), "600", 5, 86400,
	  "a warm sandbox unused this long is replaced by a fresh one, seconds", 0 },
	{ "IMGSANDBOX_PRELOAD", STR, S(preload), "numpy,PIL.Image,PIL.ImageFilter,PIL.ImageOps,PIL.ImageDraw", 0, 0,
	  "modules a warm sandbox imports before it is handed its job, comma-separated", 0 },
	{ "IMGSANDBOX_OUTPUTS_MAX_BYTES", INT, I(outputs_max_bytes), "2147483648", 1048576, 1099511627776LL,
	  "published results are kept under this many bytes in all; the oldest go first", 0 },
	{ "IMGSANDBOX_LOG_MAX_AGE_DAYS", INT, I(log_max_age_days), "90", 0, 36500,
	  "log rows older than this are deleted, days; the summaries keep counting them (0: kept)", 0 },
	{ "IMGSANDBOX_LOG_MAX_BYTES", INT, I(log_max_bytes), "1073741824", 0, 1099511627776LL,
	  "the log's oldest rows go when its file is larger than this, bytes (0: no cap)", 0 },
	{ "IMGSANDBOX_LOGS_ACCESS", STR, S(logs_access), "local", 0, 0,
	  "who reads /api/logs and /api/metrics: local (loopback clients naming a local host, in a request no untrusted proxy forwarded), token, open", 0 },
	{ "IMGSANDBOX_LOGS_TOKEN_FILE", STR, S(logs_token_file), "", 0, 0,
	  "for IMGSANDBOX_LOGS_ACCESS=token: a file whose first line is the bearer token", 0 },
	{ "IMGSANDBOX_LOCAL_HOSTS", STR, S(local_hosts), "", 0, 0,
	  "for local access: more Host names (comma-separated) that name this machine", 0 },
	{ "IMGSANDBOX_TRUSTED_PROXIES", STR, S(trusted_proxies), "", 0, 0,
	  "addresses (comma-separated) of proxies whose X-Forwarded-For names the client", 0 },
	{ "IMGSANDBOX_SECRET_FILE", STR, S(secret_file), "", 0, 0,
	  "the host's key (16 to 256 bytes; made, 32 random bytes, when missing) that signs session ids and the assistant's tokens; hosts that share a log share it (default: DATA/secret.key)", 0 },
	{ "IMGSANDBOX_ALLOWED_ORIGINS", STR, S(allowed_origins), "", 0, 0,
	  "origins (comma-separated, as browsers send them: https://app.example.com) whose pages may start runs and assists here besides this service's own", 0 },
	{ "IMGSANDBOX_CLIENT_INFLIGHT", INT, I(client_inflight), "4", 1, 1024,
	  "runs and assists one client may have in progress at once (more: 429)", 0 },
	{ "IMGSANDBOX_CLIENT_RUNS_PER_MIN", INT, I(client_runs_per_min), "60", 1, 1000000,
	  "runs and assists one client may start per minute (more: 429 with Retry-After)", 0 },
	{ "IMGSANDBOX_CLIENT_BURST", INT, I(client_burst), "20", 1, 100000,
	  "how many of those a client may start at once after a quiet while", 0 },
	{ "IMGSANDBOX_CLIENT_READS_PER_MIN", INT, I(client_reads_per_min), "120", 1, 1000000,
	  "pages of sessions (GET /api/logs/session/<id>) one client may read per minute, a quarter of them at once, apart from its runs (more: 429)", 0 },
	{ "IMGSANDBOX_AI_URL", STR, S(ai_url), "", 0, 0,
	  "the assistant's OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (empty: no assistant)", 0 },
	{ "IMGSANDBOX_AI_MODEL", STR, S(ai_model), "", 0, 0,
	  "the model the assistant asks for", 0 },
	{ "IMGSANDBOX_AI_KEY_FILE", STR, S(ai_key_file), "", 0, 0,
	  "a file whose first line is the endpoint's API key (empty: none); it never leaves the server", 0 },
	{ "IMGSANDBOX_AI_TIMEOUT_MS", INT, I(ai_timeout_ms), "60000", 1000, 600000,
	  "how long the assistant waits for the model, ms", 0 },
	{ "IMGSANDBOX_AI_INFLIGHT", INT, I(ai_inflight), "2", 1, 1024,
	  "assists in progress at once on this host, whoever asks (more: 429); each holds a responder of the run pool while the model answers, so keep it below RESPONDERS", 0 },
	{ "IMGSANDBOX_AI_LESSONS", INT, I(ai_lessons), "1", 0, 1,
	  "1: the log's lessons go into the assistant's prompt; 0: only the sandbox's facts (to compare)", 0 },
	{ "IMGSANDBOX_AI_MAX_TOKENS", INT, I(ai_max_tokens), "2048", 64, 65536,
	  "the most tokens the model may answer with", 0 },
#undef S
#undef I
};

/* The settings whose default comes from others. Returns 0 or -1 (err). */
static int
config_derive(char *err, size_t errlen)
{
	if (cfg.outputs_dir[0] == '\0' &&
	    snprintf(cfg.outputs_dir, sizeof(cfg.outputs_dir), "%s/outputs", cfg.data_dir) >=
	    (int)sizeof(cfg.outputs_dir)) {
		snprintf(err, errlen, "IMGSANDBOX_DATA is too long");
		return -1;
	}
	if (cfg.db_path[0] == '\0' &&
	    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/log.db", cfg.data_dir) >=
	    (int)sizeof(cfg.db_path)) {
		snprintf(err, errlen, "IMGSANDBOX_DATA is too long");
		return -1;
	}
	if (cfg.secret_file[0] == '\0' &&
	    snprintf(cfg.secret_file, sizeof(cfg.secret_file), "%s/secret.key", cfg.data_dir) >=
	    (int)sizeof(cfg.secret_file)) {
		snprintf(err, errlen, "IMGSANDBOX_DATA is too long");
		return -1;
	}
	if (cfg.seccomp_profile[0] == '\0' &&
	    snprintf(cfg.seccomp_profile, sizeof(cfg.seccomp_profile), "%s/engine/seccomp.json",
	    cfg.data_dir) >= (int)sizeof(cfg.seccomp_profile)) {
		snprintf(err, errlen, "IMGSANDBOX_DATA is too long");
		return -1;
	}
	if (cfg.slots == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		cfg.slots = ncpu > 0 ? ncpu : 1;
	}
	if (cfg.warm < 0)
		cfg.warm = cfg.slots;
	/* A client waits in line as long as three runs at the limit: a line
	 * of runs that use their whole limit, one round of the slots after
	 * another, reaches it in that time when it is at most three rounds
	 * long. */
	if (cfg.slot_wait_ms == 0)
		cfg.slot_wait_ms = 3 * cfg.timeout_ms;
	return 0;
}

/* The settings a range does not check. Returns 0 or -1 (err). */
static int
config_check(char *err, size_t errlen)
{
	char extra;

	if (cfg.url_prefix[0] != '\0' && (cfg.url_prefix[0] != '/' ||
	    strspn(cfg.url_prefix, "/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	    strlen(cfg.url_prefix) || cfg.url_prefix[strlen(cfg.url_prefix) - 1] == '/')) {
		snprintf(err, errlen, "IMGSANDBOX_URL_PREFIX=%s: expected a path such as /h1", cfg.url_prefix);
		return -1;
	}
	if (sscanf(cfg.sandbox_user, "%u:%u%c", &cfg.sandbox_uid, &cfg.sandbox_gid, &extra) != 2 ||
	    strspn(cfg.sandbox_user, "0123456789:") != strlen(cfg.sandbox_user) ||
	    cfg.sandbox_uid == 0 || cfg.sandbox_gid == 0) {
		snprintf(err, errlen, "IMGSANDBOX_USER=%s: expected uid:gid in numbers, never root",
		    cfg.sandbox_user);
		return -1;
	}
	if (strcmp(cfg.engine, "docker") != 0 && strcmp(cfg.engine, "fork") != 0) {
		snprintf(err, errlen, "IMGSANDBOX_ENGINE=%s: expected docker or fork", cfg.engine);
		return -1;
	}
	if (strcmp(cfg.logs_access, "local") != 0 && strcmp(cfg.logs_access, "token") != 0 &&
	    strcmp(cfg.logs_access, "open") != 0) {
		snprintf(err, errlen, "IMGSANDBOX_LOGS_ACCESS=%s: expected local, token or open",
		    cfg.logs_access);
		return -1;
	}
	if (strcmp(cfg.logs_access, "token") == 0 && cfg.logs_token_file[0] == '\0') {
		snprintf(err, errlen, "IMGSANDBOX_LOGS_ACCESS=token needs IMGSANDBOX_LOGS_TOKEN_FILE");
		return -1;
	}
	if (strspn(cfg.instance, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(cfg.instance)) {
		snprintf(err, errlen, "IMGSANDBOX_INSTANCE=%s: expected lower-case letters, digits and '-'",
		    cfg.instance);
		return -1;
	}
	if (cfg.cgroup_parent[0] != '\0' && (cfg.cgroup_parent[0] != '/' ||
	    strspn(cfg.cgroup_parent, "/abcdefghijklmnopqrstuvwxyz0123456789_.-") !=
	    strlen(cfg.cgroup_parent) || strstr(cfg.cgroup_parent, "..") != NULL)) {
		snprintf(err, errlen, "IMGSANDBOX_CGROUP_PARENT=%s: expected a cgroup path such as "
		    "/imgsandbox-<instance>", cfg.cgroup_parent);
		return -1;
	}
	if (strspn(cfg.cpus, "0123456789.") != strlen(cfg.cpus) || cfg.cpus[0] == '\0') {
		snprintf(err, errlen, "IMGSANDBOX_CPUS=%s: expected a number such as 1 or 0.5", cfg.cpus);
		return -1;
	}
	if (strspn(cfg.preload, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,") !=
	    strlen(cfg.preload)) {
		snprintf(err, errlen, "IMGSANDBOX_PRELOAD: expected module names separated by commas");
		return -1;
	}
	return 0;
}

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))
#define CONFIG_FILE_MAX (1 << 20)

/* What the settings file said: each setting's value (a pointer into the
 * file's text) and its line, for the messages. */
struct conf_file {
	const char *path;
	char *text;
	const char *value[NSETTINGS];
	int line[NSETTINGS];
};

/* Where each setting's value came from at the last config_load: 0 its
 * default, 'e' the environment, 'f' the settings file. */
static char setting_from[NSETTINGS];
static char conf_path_used[4096];

static int
setting_index(const char *name)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].env, name) == 0)
			return (int)i;
	return -1;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A value as the file writes it: bare, or in double quotes (nothing after
 * the closing one, no quote inside). Returns it, or NULL with err. */
static const char *
conf_value(char *v, const char *where, char *err, size_t errlen)
{
	size_t n = strlen(v);

	if (v[0] == '\'') {
		snprintf(err, errlen, "%s: single quotes are not taken; write the value bare or in "
		    "double quotes", where);
		return NULL;
	}
	if (v[0] != '"') {
		if (strchr(v, '"') == NULL)
			return v;
		snprintf(err, errlen, "%s: a quote inside a bare value", where);
		return NULL;
	}
	if (n < 2 || v[n - 1] != '"' || memchr(v + 1, '"', n - 2) != NULL) {
		snprintf(err, errlen, "%s: expected one value in double quotes, \"like this\"", where);
		return NULL;
	}
	v[n - 1] = '\0';
	return v + 1;
}

/* One line of the file: blank, a # comment, or NAME=value with a NAME of
 * the table, once. Returns 0 or -1 (err names the file and the line). */
static int
conf_line(struct conf_file *f, char *raw, int lineno, char *err, size_t errlen)
{
	char where[4200], *line = trim(raw), *eq, *name;
	const char *v;
	int i;

	snprintf(where, sizeof(where), "%s line %d", f->path, lineno);
	if (*line == '\0' || *line == '#')
		return 0;
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, errlen, "%s: expected NAME=value, got \"%.60s\"", where, line);
		return -1;
	}
	*eq = '\0';
	name = trim(line);
	if (strcmp(name, "IMGSANDBOX_CONFIG_FILE") == 0) {
		snprintf(err, errlen, "%s: IMGSANDBOX_CONFIG_FILE is set in the environment only", where);
		return -1;
	}
	if ((i = setting_index(name)) < 0) {
		snprintf(err, errlen, "%s: no setting is named \"%.60s\" (`responder --settings` "
		    "lists them)", where, name);
		return -1;
	}
	if (f->value[i] != NULL) {
		snprintf(err, errlen, "%s: %s is set already on line %d", where, name, f->line[i]);
		return -1;
	}
	if ((v = conf_value(trim(eq + 1), where, err, errlen)) == NULL)
		return -1;
	f->value[i] = v;
	f->line[i] = lineno;
	return 0;
}

/* Reads the settings file: IMGSANDBOX_CONFIG_FILE, else CONFIG_FILE_DEFAULT
 * when it exists; set to the empty string, none. Returns 0 or -1 (err). */
static int
conf_read(struct conf_file *f, char *err, size_t errlen)
{
	const char *named = getenv("IMGSANDBOX_CONFIG_FILE");
	char *line, *next;
	FILE *fp;
	size_t n;
	int lineno = 0;

	memset(f, 0, sizeof(*f));
	conf_path_used[0] = '\0';
	f->path = named != NULL ? named : CONFIG_FILE_DEFAULT;
	if (*f->path == '\0')
		return 0;
	if ((fp = fopen(f->path, "r")) == NULL) {
		if (errno == ENOENT && named == NULL)
			return 0;
		snprintf(err, errlen, "the settings file %s: %s", f->path, strerror(errno));
		return -1;
	}
	f->text = malloc(CONFIG_FILE_MAX + 1);
	n = f->text != NULL ? fread(f->text, 1, CONFIG_FILE_MAX + 1, fp) : 0;
	if (f->text == NULL || ferror(fp) || n > CONFIG_FILE_MAX || memchr(f->text, '\0', n)) {
		snprintf(err, errlen, "the settings file %s: cannot be read, or is not text of at "
		    "most 1 MiB", f->path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	f->text[n] = '\0';
	snprintf(conf_path_used, sizeof(conf_path_used), "%s", f->path);
	for (line = f->text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (conf_line(f, line, ++lineno, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* One setting from its value. Returns 0 or -1 (err). */
static int
setting_set(const struct setting *s, const char *v, const char *where, char *err, size_t errlen)
{
	char *end;
	long long n;

	if (s->kind == STR) {
		if (strlen(v) >= s->size) {
			snprintf(err, errlen, "%s%s is longer than %zu bytes", where, s->env, s->size - 1);
			return -1;
		}
		memcpy((char *)&cfg + s->off, v, strlen(v) + 1);
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < s->min || n > s->max) {
		snprintf(err, errlen, "%s%s=%s: expected a whole number from %lld to %lld",
		    where, s->env, v, s->min, s->max);
		return -1;
	}
	*(int64_t *)(void *)((char *)&cfg + s->off) = n;
	return 0;
}

/* A message of config_check about a setting the file gave: says where. */
static void
conf_say_where(const struct conf_file *f, char *err, size_t errlen)
{
	size_t i, len = strlen(err), n;

	for (i = 0; i < NSETTINGS; i++) {
		n = strlen(settings[i].env);
		if (setting_from[i] == 'f' && strncmp(err, settings[i].env, n) == 0 &&
		    (err[n] == '=' || err[n] == ' ')) {
			snprintf(err + len, errlen - len, " (%s line %d)", f->path, f->line[i]);
			return;
		}
	}
}

/* The defaults, then the settings file, then the environment: the last
 * that says a value (not empty) wins. */
int
config_load(char *err, size_t errlen)
{
	struct conf_file f;
	char where[4200];
	const char *v;
	size_t i;
	int rc = -1;

	memset(&cfg, 0, sizeof(cfg));
	memset(setting_from, 0, sizeof(setting_from));
	if (conf_read(&f, err, errlen) < 0)
		goto out;
	/* Every value of the file is checked, even one the environment hides. */
	for (i = 0; i < NSETTINGS; i++) {
		v = settings[i].def;
		if (f.value[i] != NULL && *f.value[i] != '\0') {
			v = f.value[i];
			setting_from[i] = 'f';
		}
		snprintf(where, sizeof(where), "%s line %d: ", f.path, f.line[i]);
		if (setting_set(&settings[i], v, setting_from[i] ? where : "", err, errlen) < 0)
			goto out;
		if ((v = getenv(settings[i].env)) != NULL && *v != '\0') {
			setting_from[i] = 'e';
			if (setting_set(&settings[i], v, "", err, errlen) < 0)
				goto out;
		}
	}
	if (config_derive(err, errlen) < 0 || config_check(err, errlen) < 0) {
		conf_say_where(&f, err, errlen);
		goto out;
	}
	rc = 0;
out:
	free(f.text);
	return rc;
}

void
config_foreach_public(void (*fn)(const char *key, int64_t value, void *arg), void *arg)
{
	const struct setting *s;
	char key[64];
	size_t i, k;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		s = &settings[i];
		if (!(s->flags & PUB) || s->kind != INT)
			continue;
		/* IMGSANDBOX_CODE_BYTES -> code_bytes */
		for (k = 0; s->env[11 + k] != '\0' && k < sizeof(key) - 1; k++)
			key[k] = (char)(s->env[11 + k] >= 'A' && s->env[11 + k] <= 'Z' ?
			    s->env[11 + k] - 'A' + 'a' : s->env[11 + k]);
		key[k] = '\0';
		fn(key, *(const int64_t *)(const void *)((const char *)&cfg + s->off), arg);
	}
}

void
config_instance(char *out, size_t len)
{
	char real[4096];

	if (cfg.instance[0] != '\0') {
		snprintf(out, len, "%s", cfg.instance);
		return;
	}
	if (realpath(cfg.data_dir, real) == NULL)
		snprintf(real, sizeof(real), "%s", cfg.data_dir);
	snprintf(out, len, "%016llx", (unsigned long long)hash_fnv1a64(real, strlen(real)));
}

void
config_print(FILE *fp)
{
	char safe[sizeof(cfg.db_path)];
	const struct setting *s;
	size_t i;

	fprintf(fp, "IMGSANDBOX_CONFIG_FILE=%s\n    the settings file read before the environment "
	    "(empty: none; default: %s when it exists)\n", conf_path_used, CONFIG_FILE_DEFAULT);
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		s = &settings[i];
		if (s->kind == STR)	/* a password in a URI is not printed */
			fprintf(fp, "%s=%s\n", s->env, uri_hide_password((const char *)&cfg + s->off,
			    safe, sizeof(safe)));
		else
			fprintf(fp, "%s=%lld\n", s->env,
			    (long long)*(const int64_t *)(const void *)((const char *)&cfg + s->off));
		if (strstr(s->help, "default") != NULL)
			fprintf(fp, "    %s\n", s->help);
		else
			fprintf(fp, "    %s (default: %s)\n", s->help, s->def);
	}
}

const char *
config_file_used(void)
{
	return conf_path_used;
}

void
config_print_file(FILE *fp)
{
	const struct setting *s;
	const char *v;
	char num[32];
	size_t i;

	fprintf(fp, "# imgsandbox's settings (%s, or the file IMGSANDBOX_CONFIG_FILE names).\n"
	    "# NAME=value lines, the value bare or in double quotes; # starts a comment\n"
	    "# line. A setting commented out has its default; one set in the\n"
	    "# environment wins over this file. A wrong line stops the service with a\n"
	    "# message naming this file and the line. docs/settings.md says more.\n",
	    CONFIG_FILE_DEFAULT);
	for (i = 0; i < NSETTINGS; i++) {
		s = &settings[i];
		fprintf(fp, "\n# %s\n", s->help);
		if (setting_from[i] == 0) {
			fprintf(fp, "#%s=%s\n", s->env, s->def);
			continue;
		}
		v = (const char *)&cfg + s->off;
		if (s->kind == INT) {
			snprintf(num, sizeof(num), "%lld",
			    (long long)*(const int64_t *)(const void *)v);
			v = num;
		}
		fprintf(fp, strpbrk(v, " \t#") != NULL || *v == '\0' ? "%s=\"%s\"\n" : "%s=%s\n",
		    s->env, v);
	}
}
