/* The engine's API, tested as data: the create request carries every flag
 * of docker_run_argv (the one place they are written), a flag it does not
 * know sends the sandbox to the client program, and the engine's answers
 * are read whether chunked or not. (tests/integration/test_docker_api.py
 * compares what the engine made of both ways.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "engine/docker.h"
#include "engine/docker_api.h"
#include "unit.h"

static const char PROFILE[] = "/tmp/imgsandbox-unit-seccomp.json";

static struct docker_job
job(int warm)
{
	struct docker_job j = {
		.name = "imgsandbox-0123456789abcdef0123456789abcdef",
		.instance = "feedfacecafebeef",
		.deadline_epoch = 1700000000,
		.code_dir = "/data/jobs/x/code",
		.input_dir = "/data/jobs/x/input",
		.user = "10001:10001",
		.warm = warm,
	};
	return j;
}

static cJSON *
at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

	return b == NULL ? (cJSON *)x : cJSON_GetObjectItemCaseSensitive(x, b);
}

static int
has_string(const cJSON *arr, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr)
		if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
			return 1;
	return 0;
}

static cJSON *
body_of(int warm, char *name)
{
	struct argv_buf a = { .n = 0 };
	struct docker_job j = job(warm);
	char err[256], *body;
	cJSON *o;
	FILE *f = fopen(PROFILE, "w");

	fputs("{ \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [] }\n", f);
	fclose(f);
	setenv("IMGSANDBOX_SECCOMP_PROFILE", PROFILE, 1);
	setenv("IMGSANDBOX_CGROUP_PARENT", "/imgsandbox-feedface", 1);
	setenv("IMGSANDBOX_RUNTIME", "runsc", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_INT(docker_run_argv(&cfg, &j, &a), 0);
	body = dapi_create_body(a.v, name, 64, err, sizeof(err));
	CHECK(body != NULL);
	if (body == NULL)
		fprintf(stderr, "  %s\n", err);
	o = cJSON_Parse(body ? body : "{}");
	free(body);
	return o;
}

TEST(every_flag_is_in_the_create_request)
{
	char name[64];
	cJSON *o = body_of(1, name), *h = at(o, "HostConfig", NULL), *u, *m;

	CHECK_STR(name, "imgsandbox-0123456789abcdef0123456789abcdef");
	/* No network, and none of the engine's set-up for it. */
	CHECK(cJSON_IsTrue(at(o, "NetworkDisabled", NULL)));
	CHECK_STR(at(h, "NetworkMode", NULL)->valuestring, "none");
	CHECK(cJSON_IsTrue(at(h, "ReadonlyRootfs", NULL)));
	CHECK(has_string(at(h, "CapDrop", NULL), "ALL"));
	CHECK(has_string(at(h, "SecurityOpt", NULL), "no-new-privileges"));
	/* The profile itself, compacted, as the client sends it. */
	CHECK(has_string(at(h, "SecurityOpt", NULL),
	    "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}"));
	CHECK_STR(at(h, "IpcMode", NULL)->valuestring, "none");
	CHECK_STR(at(h, "Runtime", NULL)->valuestring, "runsc");
	CHECK_STR(at(h, "CgroupParent", NULL)->valuestring, "/imgsandbox-feedface");
	CHECK_INT(at(h, "OomScoreAdj", NULL)->valuedouble, 1000);
	CHECK_INT(at(h, "NanoCpus", NULL)->valuedouble, 1000000000LL);
	CHECK_INT(at(h, "Memory", NULL)->valuedouble, 1073741824LL);
	CHECK_INT(at(h, "MemorySwap", NULL)->valuedouble, 1073741824LL);
	CHECK_INT(at(h, "PidsLimit", NULL)->valuedouble, 64);
	CHECK_INT(cJSON_GetArraySize(at(h, "Ulimits", NULL)), 3);
	u = cJSON_GetArrayItem(at(h, "Ulimits", NULL), 0);
	CHECK_STR(at(u, "Name", NULL)->valuestring, "nofile");
	CHECK_INT(at(u, "Soft", NULL)->valuedouble, 256);
	CHECK_INT(at(u, "Hard", NULL)->valuedouble, 256);
	CHECK_STR(at(at(h, "Tmpfs", NULL), "/tmp", NULL)->valuestring,
	    "rw,size=67108864,noexec,nosuid,nodev,mode=1777");
	CHECK_STR(at(at(h, "Tmpfs", NULL), "/output", NULL)->valuestring,
	    "rw,size=33554432,noexec,nosuid,nodev,mode=1777");
	CHECK_STR(at(h, "LogConfig", "Type")->valuestring, "none");
	CHECK_INT(cJSON_GetArraySize(at(h, "Mounts", NULL)), 2);
	cJSON_ArrayForEach(m, at(h, "Mounts", NULL)) {
		CHECK_STR(at(m, "Type", NULL)->valuestring, "bind");
		CHECK(cJSON_IsTrue(at(m, "ReadOnly", NULL)));
	}
	m = cJSON_GetArrayItem(at(h, "Mounts", NULL), 0);
	CHECK_STR(at(m, "Source", NULL)->valuestring, "/data/jobs/x/code");
	CHECK_STR(at(m, "Target", NULL)->valuestring, "/code");
	CHECK_STR(at(o, "User", NULL)->valuestring, "10001:10001");
	CHECK_STR(at(o, "WorkingDir", NULL)->valuestring, "/tmp");
	CHECK(has_string(at(o, "Env", NULL), "HOME=/tmp"));
	CHECK(has_string(at(o, "Env", NULL), "OMP_NUM_THREADS=1"));
	CHECK_STR(at(o, "Labels", "imgsandbox.instance")->valuestring, "feedfacecafebeef");
	CHECK_STR(at(o, "Labels", "imgsandbox.deadline")->valuestring, "1700000000");
	/* A warm sandbox's job comes on its stdin, which closes after it. */
	CHECK(cJSON_IsTrue(at(o, "OpenStdin", NULL)));
	CHECK(cJSON_IsTrue(at(o, "StdinOnce", NULL)));
	CHECK(cJSON_IsTrue(at(o, "AttachStdin", NULL)));
	CHECK(cJSON_IsFalse(at(o, "Tty", NULL)));
	CHECK_STR(at(o, "Image", NULL)->valuestring, "imgsandbox-runner:proto2");
	CHECK_INT(cJSON_GetArraySize(at(o, "Cmd", NULL)), 4);
	CHECK_STR(cJSON_GetArrayItem(at(o, "Cmd", NULL), 3)->valuestring, "--warm");
	cJSON_Delete(o);
}

TEST(a_name_only_variable_comes_from_our_environment)
{
	char name[64];
	cJSON *o;

	setenv("USER_PARAMS", "{\"k\": 1}", 1);
	o = body_of(0, name);
	CHECK(has_string(at(o, "Env", NULL), "USER_PARAMS={\"k\": 1}"));
	CHECK(at(o, "OpenStdin", NULL) == NULL);
	cJSON_Delete(o);
	unsetenv("USER_PARAMS");
	o = body_of(0, name);	/* not set: not sent, as the client does */
	CHECK(!has_string(at(o, "Env", NULL), "USER_PARAMS"));
	CHECK(!has_string(at(o, "Env", NULL), "USER_PARAMS="));
	cJSON_Delete(o);
}

TEST(what_it_does_not_know_is_refused)
{
	char *argv[] = { "docker", "run", "--name=imgsandbox-x", "--privileged", "img", "true", NULL };
	char *nosec[] = { "docker", "run", "--name=imgsandbox-x",
		"--security-opt=seccomp=/nonexistent/p.json", "img", "true", NULL };
	char *noimage[] = { "docker", "run", "--name=imgsandbox-x", NULL };
	char *notrun[] = { "docker", "create", "--name=imgsandbox-x", "img", NULL };
	char name[64], err[200];

	CHECK(dapi_create_body(argv, name, sizeof(name), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "--privileged") != NULL);
	CHECK(dapi_create_body(nosec, name, sizeof(name), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "cannot be read") != NULL);
	CHECK(dapi_create_body(noimage, name, sizeof(name), err, sizeof(err)) == NULL);
	CHECK(dapi_create_body(notrun, name, sizeof(name), err, sizeof(err)) == NULL);
}

TEST(answers_are_read_chunked_or_not)
{
	char plain[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	    "Content-Length: 11\r\n\r\n{\"Id\":\"ab\"}";
	char chunked[] = "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
	    "5\r\n{\"Sta\r\n10\r\ntusCode\":137}\n  \r\n0\r\n\r\n";
	char empty[] = "HTTP/1.1 204 No Content\r\nServer: Docker\r\n\r\n";
	char cut[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\nshort";
	char junk[] = "SSH-2.0-OpenSSH\r\n\r\n";
	char *body;
	size_t len;

	CHECK_INT(dapi_parse_response(plain, strlen(plain), &body, &len), 201);
	CHECK_STR(body, "{\"Id\":\"ab\"}");
	CHECK_INT(dapi_parse_response(chunked, strlen(chunked), &body, &len), 200);
	CHECK_STR(body, "{\"StatusCode\":137}\n  ");
	CHECK_INT(len, 21);
	CHECK_INT(dapi_parse_response(empty, strlen(empty), &body, &len), 204);
	CHECK_INT(len, 0);
	CHECK_INT(dapi_parse_response(cut, strlen(cut), &body, &len), -1);
	CHECK_INT(dapi_parse_response(junk, strlen(junk), &body, &len), -1);
}

TEST(the_socket_comes_from_the_settings)
{
	char err[256];

	setenv("IMGSANDBOX_DOCKER_HOST", "", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_INT(dapi_init(&cfg), 0);
	CHECK(dapi_on());
	setenv("IMGSANDBOX_DOCKER_HOST", "unix:///run/user/1000/docker.sock", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_INT(dapi_init(&cfg), 0);
	setenv("IMGSANDBOX_DOCKER_HOST", "tcp://10.0.0.2:2376", 1);	/* the client's */
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_INT(dapi_init(&cfg), -1);
	CHECK(!dapi_on());
	setenv("IMGSANDBOX_DOCKER_HOST", "", 1);
	setenv("IMGSANDBOX_DOCKER_API", "0", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_INT(dapi_init(&cfg), -1);
	CHECK(!dapi_on());
	unsetenv("IMGSANDBOX_DOCKER_API");
}

int
main(void)
{
	RUN(every_flag_is_in_the_create_request);
	RUN(a_name_only_variable_comes_from_our_environment);
	RUN(what_it_does_not_know_is_refused);
	RUN(answers_are_read_chunked_or_not);
	RUN(the_socket_comes_from_the_settings);
	unlink(PROFILE);
	return unit_done("docker_api");
}
