/*
 * docker_api_body: the engine API's create request for a `docker run`
 * argv (docker_api.h: dapi_create_body), flag by flag, as the docker
 * client would send it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/files.h"
#include "engine/docker_api.h"

static int
add_kv(cJSON *obj, const char *kv, const char *what, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	char key[256];

	if (eq == NULL || (size_t)(eq - kv) >= sizeof(key)) {
		snprintf(err, errlen, "a %s without '=': %.60s", what, kv);
		return -1;
	}
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	cJSON_AddStringToObject(obj, key, eq + 1);
	return 0;
}

/* --env=K=V, or --env=K: its value from our environment (left out when we
 * have none), as the client does. */
static void
add_env(cJSON *env, const char *v)
{
	char line[4096];
	const char *val;

	if (strchr(v, '=') != NULL) {
		cJSON_AddItemToArray(env, cJSON_CreateString(v));
		return;
	}
	if ((val = getenv(v)) == NULL)
		return;
	if (snprintf(line, sizeof(line), "%s=%s", v, val) < (int)sizeof(line))
		cJSON_AddItemToArray(env, cJSON_CreateString(line));
}

/* --security-opt=seccomp=FILE: the file's JSON itself (compacted). */
static int
add_security_opt(cJSON *opts, const char *v, char *err, size_t errlen)
{
	char *text, *compact, *opt;
	cJSON *profile;
	size_t len, n;

	if (strncmp(v, "seccomp=", 8) != 0 || strcmp(v + 8, "unconfined") == 0) {
		cJSON_AddItemToArray(opts, cJSON_CreateString(v));
		return 0;
	}
	if ((text = file_read_all(v + 8, 4 << 20, &len)) == NULL) {
		snprintf(err, errlen, "the seccomp profile %.200s cannot be read", v + 8);
		return -1;
	}
	profile = cJSON_ParseWithLength(text, len);
	free(text);
	if (profile == NULL || (compact = cJSON_PrintUnformatted(profile)) == NULL) {
		cJSON_Delete(profile);
		snprintf(err, errlen, "the seccomp profile %.200s is not JSON", v + 8);
		return -1;
	}
	cJSON_Delete(profile);
	n = strlen(compact) + 9;
	if ((opt = malloc(n)) != NULL) {
		snprintf(opt, n, "seccomp=%s", compact);
		cJSON_AddItemToArray(opts, cJSON_CreateString(opt));
		free(opt);
	}
	free(compact);
	return opt == NULL ? -1 : 0;
}

/* --ulimit=NAME=SOFT:HARD */
static int
add_ulimit(cJSON *list, const char *v, char *err, size_t errlen)
{
	char name[64];
	long long soft, hard;
	cJSON *u;

	if (sscanf(v, "%63[a-z]=%lld:%lld", name, &soft, &hard) != 3) {
		snprintf(err, errlen, "an --ulimit this does not read: %.60s", v);
		return -1;
	}
	u = cJSON_CreateObject();
	cJSON_AddStringToObject(u, "Name", name);
	cJSON_AddNumberToObject(u, "Soft", (double)soft);
	cJSON_AddNumberToObject(u, "Hard", (double)hard);
	cJSON_AddItemToArray(list, u);
	return 0;
}

/* --mount=type=bind,src=S,dst=D[,readonly] */
static int
add_mount(cJSON *list, const char *v, char *err, size_t errlen)
{
	char buf[1200], *tok, *save;
	const char *src = NULL, *dst = NULL;
	int ro = 0, bind = 0;
	cJSON *m;

	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		goto bad;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "type=bind") == 0)
			bind = 1;
		else if (strncmp(tok, "src=", 4) == 0)
			src = tok + 4;
		else if (strncmp(tok, "dst=", 4) == 0)
			dst = tok + 4;
		else if (strcmp(tok, "readonly") == 0)
			ro = 1;
		else
			goto bad;
	}
	if (!bind || src == NULL || dst == NULL)
		goto bad;
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "Type", "bind");
	cJSON_AddStringToObject(m, "Source", src);
	cJSON_AddStringToObject(m, "Target", dst);
	cJSON_AddBoolToObject(m, "ReadOnly", ro);
	cJSON_AddItemToArray(list, m);
	return 0;
bad:
	snprintf(err, errlen, "a --mount this does not read: %.100s", v);
	return -1;
}

/* --tmpfs=PATH:OPTIONS */
static int
add_tmpfs(cJSON *map, const char *v, char *err, size_t errlen)
{
	const char *colon = strchr(v, ':');
	char path[256];

	if (colon == NULL || (size_t)(colon - v) >= sizeof(path)) {
		snprintf(err, errlen, "a --tmpfs this does not read: %.60s", v);
		return -1;
	}
	memcpy(path, v, (size_t)(colon - v));
	path[colon - v] = '\0';
	cJSON_AddStringToObject(map, path, colon + 1);
	return 0;
}

struct create {
	cJSON *root, *host, *labels, *env, *secopt, *ulimits, *tmpfs, *mounts;
	char *name;
	size_t namelen;
};

#define VAL(flag) (strncmp(a, flag "=", sizeof(flag)) == 0 ? a + sizeof(flag) : NULL)

/* A flag with a number: --cpus (as nano-CPUs), --memory, ... */
static int
add_number(struct create *k, const char *a)
{
	const char *v;

	if ((v = VAL("--cpus")) != NULL)
		cJSON_AddNumberToObject(k->host, "NanoCpus", (double)(long long)(strtod(v, NULL) * 1e9));
	else if ((v = VAL("--memory")) != NULL)
		cJSON_AddNumberToObject(k->host, "Memory", (double)strtoll(v, NULL, 10));
	else if ((v = VAL("--memory-swap")) != NULL)
		cJSON_AddNumberToObject(k->host, "MemorySwap", (double)strtoll(v, NULL, 10));
	else if ((v = VAL("--pids-limit")) != NULL)
		cJSON_AddNumberToObject(k->host, "PidsLimit", (double)strtoll(v, NULL, 10));
	else if ((v = VAL("--oom-score-adj")) != NULL)
		cJSON_AddNumberToObject(k->host, "OomScoreAdj", (double)strtol(v, NULL, 10));
	else
		return 1;
	return 0;
}

/* One flag into k. Returns 0, or -1 with err. */
static int
add_flag(struct create *k, const char *a, char *err, size_t errlen)
{
	const char *v;

	if (add_number(k, a) == 0)
		return 0;
	if ((v = VAL("--name")) != NULL)
		snprintf(k->name, k->namelen, "%s", v);
	else if ((v = VAL("--label")) != NULL)
		return add_kv(k->labels, v, "label", err, errlen);
	else if ((v = VAL("--env")) != NULL)
		add_env(k->env, v);
	else if (strcmp(a, "--network=none") == 0) {
		cJSON_AddStringToObject(k->host, "NetworkMode", "none");
		cJSON_AddBoolToObject(k->root, "NetworkDisabled", 1);
	} else if (strcmp(a, "--read-only") == 0)
		cJSON_AddBoolToObject(k->host, "ReadonlyRootfs", 1);
	else if ((v = VAL("--cap-drop")) != NULL)
		cJSON_AddItemToObject(k->host, "CapDrop", cJSON_CreateStringArray(&v, 1));
	else if ((v = VAL("--security-opt")) != NULL)
		return add_security_opt(k->secopt, v, err, errlen);
	else if ((v = VAL("--ipc")) != NULL)
		cJSON_AddStringToObject(k->host, "IpcMode", v);
	else if ((v = VAL("--user")) != NULL)
		cJSON_AddStringToObject(k->root, "User", v);
	else if ((v = VAL("--workdir")) != NULL)
		cJSON_AddStringToObject(k->root, "WorkingDir", v);
	else if ((v = VAL("--runtime")) != NULL)
		cJSON_AddStringToObject(k->host, "Runtime", v);
	else if ((v = VAL("--cgroup-parent")) != NULL)
		cJSON_AddStringToObject(k->host, "CgroupParent", v);
	else if ((v = VAL("--ulimit")) != NULL)
		return add_ulimit(k->ulimits, v, err, errlen);
	else if ((v = VAL("--tmpfs")) != NULL)
		return add_tmpfs(k->tmpfs, v, err, errlen);
	else if ((v = VAL("--mount")) != NULL)
		return add_mount(k->mounts, v, err, errlen);
	else if ((v = VAL("--log-driver")) != NULL) {
		cJSON *lc = cJSON_AddObjectToObject(k->host, "LogConfig");
		cJSON_AddStringToObject(lc, "Type", v);
		cJSON_AddObjectToObject(lc, "Config");
	} else if (strcmp(a, "--interactive") == 0) {
		cJSON_AddBoolToObject(k->root, "AttachStdin", 1);
		cJSON_AddBoolToObject(k->root, "OpenStdin", 1);
		cJSON_AddBoolToObject(k->root, "StdinOnce", 1);
	} else if (strcmp(a, "--pull=never") != 0) {	/* a create never pulls */
		snprintf(err, errlen, "a flag the engine's API is not given here: %.60s", a);
		return -1;
	}
	return 0;
}

char *
dapi_create_body(char *const argv[], char *name, size_t namelen, char *err, size_t errlen)
{
	struct create k = { .name = name, .namelen = namelen };
	char *out = NULL;
	cJSON *cmd;
	int i;

	name[0] = '\0';
	if (argv[0] == NULL || argv[1] == NULL || strcmp(argv[1], "run") != 0) {
		snprintf(err, errlen, "not a docker run command line");
		return NULL;
	}
	k.root = cJSON_CreateObject();
	k.host = cJSON_AddObjectToObject(k.root, "HostConfig");
	k.labels = cJSON_AddObjectToObject(k.root, "Labels");
	k.env = cJSON_AddArrayToObject(k.root, "Env");
	k.secopt = cJSON_AddArrayToObject(k.host, "SecurityOpt");
	k.ulimits = cJSON_AddArrayToObject(k.host, "Ulimits");
	k.tmpfs = cJSON_AddObjectToObject(k.host, "Tmpfs");
	k.mounts = cJSON_AddArrayToObject(k.host, "Mounts");
	cJSON_AddBoolToObject(k.root, "AttachStdout", 1);
	cJSON_AddBoolToObject(k.root, "AttachStderr", 1);
	cJSON_AddBoolToObject(k.root, "Tty", 0);
	for (i = 2; argv[i] != NULL && argv[i][0] == '-'; i++)
		if (add_flag(&k, argv[i], err, errlen) < 0)
			goto done;
	if (argv[i] == NULL || name[0] == '\0') {
		snprintf(err, errlen, "the command line names no image or no container");
		goto done;
	}
	cJSON_AddStringToObject(k.root, "Image", argv[i++]);
	cmd = cJSON_AddArrayToObject(k.root, "Cmd");
	for (; argv[i] != NULL; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	if ((out = cJSON_PrintUnformatted(k.root)) == NULL)
		snprintf(err, errlen, "out of memory");
done:
	cJSON_Delete(k.root);
	return out;
}

