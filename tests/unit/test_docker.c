/* The one docker argv builder, tested as data: every hardening flag is
 * there, nothing of the service's environment reaches the client. */
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "engine/docker.h"
#include "unit.h"

static int
has(const struct argv_buf *a, const char *arg)
{
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->v[i], arg) == 0)
			return 1;
	return 0;
}

static int
index_of(const struct argv_buf *a, const char *arg)
{
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->v[i], arg) == 0)
			return i;
	return -1;
}

static struct docker_job
job(void)
{
	struct docker_job j = {
		.name = "imgsandbox-0123456789abcdef0123456789abcdef",
		.instance = "feedfacecafebeef",
		.deadline_epoch = 1700000000,
		.code_dir = "/data/jobs/x/code",
		.input_dir = "/data/jobs/x/input",
		.user = "10001:10001",
	};
	return j;
}

TEST(every_hardening_flag)
{
	struct argv_buf a = { .n = 0 };
	struct docker_job j = job();
	char err[256];

	unsetenv("IMGSANDBOX_RUNTIME");
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_INT(docker_run_argv(&cfg, &j, &a), 0);
	CHECK_STR(a.v[1], "run");
	CHECK(has(&a, "--network=none"));
	CHECK(has(&a, "--read-only"));
	CHECK(has(&a, "--cap-drop=ALL"));
	CHECK(has(&a, "--security-opt=no-new-privileges"));
	CHECK(has(&a, "--ipc=none"));
	CHECK(has(&a, "--user=10001:10001"));
	CHECK(has(&a, "--cpus=1"));
	CHECK(has(&a, "--memory=1073741824"));
	CHECK(has(&a, "--memory-swap=1073741824"));
	CHECK(has(&a, "--pids-limit=64"));
	CHECK(has(&a, "--ulimit=nofile=256:256"));
	CHECK(has(&a, "--ulimit=fsize=33554432:33554432"));
	CHECK(has(&a, "--ulimit=core=0:0"));
	CHECK(has(&a, "--tmpfs=/tmp:rw,size=67108864,noexec,nosuid,nodev,mode=1777"));
	CHECK(has(&a, "--log-driver=none"));
	CHECK(has(&a, "--pull=never"));
	CHECK(has(&a, "--env=HOME=/tmp"));
	CHECK(has(&a, "--env=MPLCONFIGDIR=/tmp"));
	CHECK(has(&a, "--env=OMP_NUM_THREADS=1"));
	CHECK(has(&a, "--env=OPENBLAS_NUM_THREADS=1"));
	CHECK(has(&a, "--env=USER_PARAMS"));
	CHECK(has(&a, "--name=imgsandbox-0123456789abcdef0123456789abcdef"));
	CHECK(has(&a, "--label=imgsandbox.instance=feedfacecafebeef"));
	/* No label names the job: its id keeps a result private. */
	for (int i = 0; i < a.n; i++)
		CHECK(strncmp(a.v[i], "--label=imgsandbox.job", 22) != 0);
	CHECK(has(&a, "--label=imgsandbox.deadline=1700000000"));
	CHECK(has(&a, "--mount=type=bind,src=/data/jobs/x/code,dst=/code,readonly"));
	CHECK(has(&a, "--mount=type=bind,src=/data/jobs/x/input,dst=/input,readonly"));
	CHECK(has(&a, "--tmpfs=/output:rw,size=33554432,noexec,nosuid,nodev,mode=1777"));
	for (int i = 0; i < a.n; i++)	/* nothing of the host is writable inside */
		CHECK(strncmp(a.v[i], "--mount=", 8) != 0 || strstr(a.v[i], ",readonly") != NULL);
	/* Our own seccomp profile, once, and a sandbox first to go when the
	 * host runs out of memory. */
	CHECK(has(&a, "--security-opt=seccomp=./var/engine/seccomp.json"));
	CHECK(has(&a, "--oom-score-adj=1000"));
	/* No way to weaken the sandbox slipped in. */
	for (int i = 0; i < a.n; i++) {
		CHECK(strstr(a.v[i], "privileged") == NULL);
		CHECK(strstr(a.v[i], "unconfined") == NULL);
		CHECK(strcmp(a.v[i], "--security-opt=seccomp=./var/engine/seccomp.json") == 0 ||
		    strstr(a.v[i], "seccomp") == NULL);
		CHECK(strncmp(a.v[i], "--cgroup-parent", 15) != 0);	/* none unless set */
		CHECK(strstr(a.v[i], "cap-add") == NULL);
		CHECK(strstr(a.v[i], "--rm") == NULL);	/* removed after inspection */
	}
	/* No runtime unless configured. */
	for (int i = 0; i < a.n; i++)
		CHECK(strncmp(a.v[i], "--runtime", 9) != 0);
	/* The image, then the entry point, last. */
	CHECK_INT(index_of(&a, "imgsandbox-runner:proto2"), a.n - 4);
	CHECK_STR(a.v[a.n - 1], "/opt/imgsandbox/entry.py");
	CHECK(a.v[a.n] == NULL);
}

TEST(limits_follow_the_settings)
{
	struct argv_buf a = { .n = 0 };
	struct docker_job j = job();
	char err[256];

	setenv("IMGSANDBOX_MEMORY", "268435456", 1);
	setenv("IMGSANDBOX_PIDS", "32", 1);
	setenv("IMGSANDBOX_RUNTIME", "runsc", 1);
	setenv("IMGSANDBOX_CPUS", "0.5", 1);
	setenv("IMGSANDBOX_SECCOMP_PROFILE", "/srv/x/seccomp.json", 1);
	setenv("IMGSANDBOX_CGROUP_PARENT", "/imgsandbox-feedface", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_INT(docker_run_argv(&cfg, &j, &a), 0);
	CHECK(has(&a, "--security-opt=seccomp=/srv/x/seccomp.json"));
	CHECK(has(&a, "--cgroup-parent=/imgsandbox-feedface"));
	unsetenv("IMGSANDBOX_SECCOMP_PROFILE");
	unsetenv("IMGSANDBOX_CGROUP_PARENT");
	CHECK(has(&a, "--memory=268435456"));
	CHECK(has(&a, "--memory-swap=268435456"));
	CHECK(has(&a, "--pids-limit=32"));
	CHECK(has(&a, "--runtime=runsc"));
	CHECK(has(&a, "--cpus=0.5"));
	CHECK(has(&a, "--env=OMP_NUM_THREADS=1"));
	unsetenv("IMGSANDBOX_MEMORY");
	unsetenv("IMGSANDBOX_PIDS");
	unsetenv("IMGSANDBOX_RUNTIME");
	unsetenv("IMGSANDBOX_CPUS");
}

TEST(bad_settings_are_refused)
{
	char err[256];

	setenv("IMGSANDBOX_TIMEOUT_MS", "12abc", 1);
	CHECK_INT(config_load(err, sizeof(err)), -1);
	CHECK(strstr(err, "IMGSANDBOX_TIMEOUT_MS") != NULL);
	setenv("IMGSANDBOX_TIMEOUT_MS", "1", 1);
	CHECK_INT(config_load(err, sizeof(err)), -1);
	unsetenv("IMGSANDBOX_TIMEOUT_MS");
	setenv("IMGSANDBOX_USER", "0:0", 1);
	CHECK_INT(config_load(err, sizeof(err)), -1);
	unsetenv("IMGSANDBOX_USER");
	setenv("IMGSANDBOX_CPUS", "1; rm -rf /", 1);
	CHECK_INT(config_load(err, sizeof(err)), -1);
	unsetenv("IMGSANDBOX_CPUS");
	setenv("IMGSANDBOX_CGROUP_PARENT", "/imgsandbox/../system.slice", 1);
	CHECK_INT(config_load(err, sizeof(err)), -1);
	CHECK(strstr(err, "IMGSANDBOX_CGROUP_PARENT") != NULL);
	setenv("IMGSANDBOX_CGROUP_PARENT", "imgsandbox", 1);
	CHECK_INT(config_load(err, sizeof(err)), -1);
	unsetenv("IMGSANDBOX_CGROUP_PARENT");
	CHECK_INT(config_load(err, sizeof(err)), 0);
}

TEST(client_environment_is_only_ours)
{
	struct argv_buf e = { .n = 0 };
	char err[256], params[] = "USER_PARAMS={\"a\": 1}";

	setenv("SECRET_TOKEN", "hunter2", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	(void)docker_init(&cfg, "/tmp/imgsandbox-docker-config");
	CHECK_INT(docker_envp(&cfg, params, &e), 0);
	CHECK(e.n >= 3 && e.n <= 4);
	for (int i = 0; i < e.n; i++)
		CHECK(strstr(e.v[i], "hunter2") == NULL);
	CHECK(has(&e, "USER_PARAMS={\"a\": 1}"));
	CHECK(has(&e, "DOCKER_CONFIG=/tmp/imgsandbox-docker-config"));
}

TEST(argv_overflow_is_an_error)
{
	struct argv_buf a = { .n = 0 };
	int i, rc = 0;

	for (i = 0; i < DOCKER_ARGV_MAX + 5; i++)
		rc |= argv_add(&a, "x%d", i);
	CHECK_INT(rc, -1);
	CHECK(a.overflow);
	CHECK_INT(a.n, DOCKER_ARGV_MAX);
	CHECK(a.v[a.n] == NULL);
}

/* A warm sandbox's argv: every flag of a cold one, the same order, plus
 * stdin and the preload list; the params come with the job, not the argv. */
TEST(warm_argv_is_the_cold_one_with_stdin)
{
	struct argv_buf cold = { .n = 0 }, warm = { .n = 0 };
	struct docker_job j = job();
	char err[256];
	int i, k = 0;

	setenv("IMGSANDBOX_PRELOAD", "numpy,cv2", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_INT(docker_run_argv(&cfg, &j, &cold), 0);
	j.warm = 1;
	CHECK_INT(docker_run_argv(&cfg, &j, &warm), 0);
	unsetenv("IMGSANDBOX_PRELOAD");
	CHECK(has(&warm, "--interactive"));
	CHECK(has(&warm, "--env=IMGSANDBOX_PRELOAD=numpy,cv2"));
	CHECK(!has(&warm, "--env=USER_PARAMS"));
	CHECK(!has(&cold, "--interactive"));
	CHECK_STR(warm.v[warm.n - 1], "--warm");
	/* Every cold argument but USER_PARAMS is in the warm argv, in order. */
	for (i = 0; i < cold.n; i++) {
		if (strcmp(cold.v[i], "--env=USER_PARAMS") == 0)
			continue;
		while (k < warm.n && strcmp(warm.v[k], cold.v[i]) != 0)
			k++;
		CHECK(k < warm.n);
	}
	CHECK(index_of(&warm, "--interactive") < index_of(&warm, cfg.image));
}

int
main(void)
{
	RUN(every_hardening_flag);
	RUN(limits_follow_the_settings);
	RUN(bad_settings_are_refused);
	RUN(client_environment_is_only_ours);
	RUN(argv_overflow_is_an_error);
	RUN(warm_argv_is_the_cold_one_with_stdin);
	return unit_done("docker");
}
