/* The seccomp list (shared/engine/seccomp_list.c, seccomp_emit.c): the
 * real list parses and says what it should, every wrong line is named,
 * the Docker profile says it exactly, and the BPF filter, installed in a
 * child, refuses and allows what the list says. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "engine/seccomp_list.h"
#include "unit.h"

static struct seccomp_list l;

static const struct seccomp_rule *
find(const char *name, int nth)
{
	for (int i = 0; i < l.n; i++)
		if (strcmp(l.rule[i].name, name) == 0 && nth-- == 0)
			return &l.rule[i];
	return NULL;
}

static int
parse(const char *text, char *msg, size_t msglen)
{
	return seccomp_list_parse(text, strlen(text), &l, msg, msglen);
}

TEST(the_real_list)
{
	const struct seccomp_rule *r;
	char msg[256];

	CHECK_INT(seccomp_list_load("runner_image/seccomp.list", &l, msg, sizeof(msg)), 0);
	CHECK(l.n > 250);
	CHECK((r = find("io_uring_setup", 0)) != NULL && r->action == SECCOMP_REFUSE);
	CHECK(r != NULL && r->nr == 425 && r->err == EPERM);
	CHECK((r = find("clone3", 0)) != NULL && r->action == SECCOMP_ERRNO && r->err == ENOSYS);
	CHECK((r = find("clone", 0)) != NULL && r->action == SECCOMP_ALLOW && r->ncond == 1);
	CHECK(r != NULL && r->cond[0].op == SECCOMP_MASKED_EQ && r->cond[0].mask == 0x7e020000 &&
	    r->cond[0].value == 0);
	CHECK((r = find("personality", 1)) != NULL && r->cond[0].value == 0xffffffffULL);
	CHECK((r = find("read", 0)) != NULL && r->action == SECCOMP_ALLOW && r->ncond == 0);
	CHECK((r = find("ptrace", 0)) != NULL && r->action == SECCOMP_REFUSE);
}

TEST(every_wrong_line_is_named)
{
	static const struct {
		const char *text, *words;
	} bad[] = {
		{ "allow read\nallow nosuchcall\n", "line 2: 'nosuchcall' is not a system call" },
		{ "allow read\n\n# c\nrefuse read\n", "line 4: read is already given another action on line 1" },
		{ "allow read\nallow read\n", "line 2: read is already allowed on line 1" },
		{ "allow socket arg0 == 1\nallow socket\n", "line 2: socket is already allowed" },
		{ "allow socket arg6 == 1\n", "line 1: 'arg6' is not a condition" },
		{ "allow socket arg0 =~ 1\n", "line 1: '=~' is not a comparison" },
		{ "allow socket arg0 == -1\n", "line 1: the value '-1' is not a number" },
		{ "allow socket arg0 == 0x\n", "line 1: the value '0x' is not a number" },
		{ "allow socket arg0 == 010\n", "line 1: the value '010' is not a number" },
		{ "allow socket arg0 == 18446744073709551616\n", "is not a number" },
		{ "allow socket arg0 & 0xff != 1\n", "line 1: a masked condition is" },
		{ "allow socket arg0 ==\n", "line 1: the condition on arg0 is cut short" },
		{ "allow socket arg0 == 1 arg0 == 2\n", "line 1: arg0 has two conditions" },
		{ "allow socket arg0 == 1 arg1 == 1 arg2 == 1 arg3 == 1\n", "line 1: at most 3 conditions" },
		{ "allow read a b c d e f g h i j k l m n o p q r\n", "line 1: too many words" },
		{ "allow\n", "line 1: 'allow' needs a system call's name" },
		{ "allow Read\n", "line 1: 'Read' is not a system call's name" },
		{ "errno ENOSYS\n", "line 1: 'errno' is 'errno ERRNO NAME'" },
		{ "errno EWHAT clone3\n", "line 1: 'EWHAT' is not an errno" },
		{ "errno EPERM clone3\n", "line 1: 'errno EPERM clone3' is what 'refuse clone3' says" },
		{ "refuse ptrace now\n", "line 1: 'refuse' is 'refuse NAME'" },
		{ "permit read\n", "line 1: 'permit' is not a rule" },
		{ "refuse ptrace\n", "the list allows no system call at all" },
		{ "", "the list allows no system call at all" },
	};
	char msg[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		CHECK_INT(parse(bad[i].text, msg, sizeof(msg)), -1);
		if (strstr(msg, bad[i].words) == NULL)
			fprintf(stderr, "  %s -> %s\n", bad[i].text, msg);
		CHECK(strstr(msg, bad[i].words) != NULL);
	}
}

TEST(lines_and_bytes_are_bounded)
{
	char *big = malloc(SECCOMP_LIST_MAX_BYTES + 2), line[SECCOMP_LIST_MAX_LINE + 16], msg[256];

	memset(big, '#', SECCOMP_LIST_MAX_BYTES + 1);
	CHECK_INT(seccomp_list_parse(big, SECCOMP_LIST_MAX_BYTES + 1, &l, msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "over 65536 bytes") != NULL);
	free(big);
	memset(line, ' ', sizeof(line));
	memcpy(line, "allow read", 10);
	line[sizeof(line) - 1] = '\0';
	CHECK_INT(parse(line, msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "line 1: longer than 256 characters") != NULL);
	CHECK_INT(seccomp_list_parse("allow read\n\0", 12, &l, msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "line 2: holds a NUL byte") != NULL);
	/* CRLF lines and comments are fine. */
	CHECK_INT(parse("allow read\r\n  allow write # why\r\n\r\n", msg, sizeof(msg)), 0);
	CHECK_INT(l.n, 2);
	CHECK_INT(seccomp_list_load("/nonexistent/seccomp.list", &l, msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "/nonexistent/seccomp.list: No such file") != NULL);
}

/* The entry of "syscalls" whose names start with name. */
static const cJSON *
entry(const cJSON *doc, const char *name, int nth)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "syscalls")) {
		const cJSON *n = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "names"), 0);

		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0 && nth-- == 0)
			return e;
	}
	return NULL;
}

TEST(the_docker_profile)
{
	const cJSON *e, *a;
	char msg[256], *s;
	cJSON *doc;

	CHECK_INT(parse("allow read\nallow write\nallow clone arg0 & 0x7e020000 == 0\n"
	    "errno ENOSYS clone3\nrefuse io_uring_setup\n"
	    "allow personality arg0 == 0xffffffffffffffff\n", msg, sizeof(msg)), 0);
	CHECK((s = seccomp_list_json(&l, NULL, msg, sizeof(msg))) != NULL);
	CHECK(strstr(s, "18446744073709551615") != NULL);	/* exactly, not a double */
	CHECK(strstr(s, "io_uring") == NULL);			/* refused: the default */
	CHECK((doc = cJSON_Parse(s)) != NULL);
	CHECK_STR(cJSON_GetObjectItem(doc, "defaultAction")->valuestring, "SCMP_ACT_ERRNO");
	CHECK_INT(cJSON_GetObjectItem(doc, "defaultErrnoRet")->valueint, EPERM);
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "architectures"), 0)->valuestring,
	    "SCMP_ARCH_X86_64");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "architectures")), 1);
	CHECK((e = entry(doc, "read", 0)) != NULL);
	CHECK(e != NULL && cJSON_GetArraySize(cJSON_GetObjectItem(e, "names")) == 2);
	CHECK((e = entry(doc, "clone", 0)) != NULL);
	a = e ? cJSON_GetArrayItem(cJSON_GetObjectItem(e, "args"), 0) : NULL;
	CHECK(a != NULL && cJSON_GetObjectItem(a, "value")->valuedouble == 0x7e020000);
	CHECK(a != NULL && cJSON_GetObjectItem(a, "valueTwo")->valuedouble == 0);
	CHECK(a != NULL && strcmp(cJSON_GetObjectItem(a, "op")->valuestring, "SCMP_CMP_MASKED_EQ") == 0);
	CHECK((e = entry(doc, "clone3", 0)) != NULL);
	CHECK(e != NULL && strcmp(cJSON_GetObjectItem(e, "action")->valuestring, "SCMP_ACT_ERRNO") == 0);
	CHECK(e != NULL && cJSON_GetObjectItem(e, "errnoRet")->valueint == ENOSYS);
	cJSON_Delete(doc);
	free(s);
	/* For gVisor, which answers clone3 ENOSYS itself, and old runsc
	 * answers an errnoRet rule EPERM: allowed. */
	CHECK((s = seccomp_list_json(&l, "runsc", msg, sizeof(msg))) != NULL);
	CHECK((doc = cJSON_Parse(s)) != NULL);
	CHECK((e = entry(doc, "clone3", 0)) != NULL);
	CHECK(e != NULL && strcmp(cJSON_GetObjectItem(e, "action")->valuestring, "SCMP_ACT_ALLOW") == 0);
	CHECK(e != NULL && cJSON_GetObjectItem(e, "errnoRet") == NULL);
	CHECK((e = entry(doc, "clone", 0)) != NULL);	/* the rest is the same */
	cJSON_Delete(doc);
	free(s);
	/* gVisor's own name for pselect6, for runsc alone. */
	CHECK_INT(parse("allow read\nallow pselect6\n", msg, sizeof(msg)), 0);
	CHECK((s = seccomp_list_json(&l, "runsc", msg, sizeof(msg))) != NULL);
	CHECK(strstr(s, "\"pselect6\", \"pselect\"") != NULL);
	free(s);
	CHECK((s = seccomp_list_json(&l, NULL, msg, sizeof(msg))) != NULL);
	CHECK(strstr(s, "\"pselect\"") == NULL);
	free(s);
}

TEST(the_profile_is_written_whole)
{
	char dir[] = "/tmp/test_seccomp_XXXXXX", path[256], msg[256];
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/seccomp.json", dir);
	CHECK_INT(seccomp_profile_write("runner_image/seccomp.list", NULL, path, msg, sizeof(msg)), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644 && st.st_size > 1000);
	CHECK_INT(seccomp_profile_write("runner_image/seccomp.list", NULL, "/nonexistent/x.json", msg,
	    sizeof(msg)), -1);
	CHECK(strstr(msg, "/nonexistent/x.json") != NULL);
	/* A wrong list writes nothing. */
	unlink(path);
	CHECK_INT(seccomp_profile_write("/nonexistent.list", NULL, path, msg, sizeof(msg)), -1);
	CHECK(stat(path, &st) < 0);
	rmdir(dir);
}

/* In a child: installs prog, then makes each call; exits with a bit per
 * expectation that failed. */
static int
child_checks(void *prog, size_t len)
{
	struct sock_fprog fp = { .len = (unsigned short)(len / sizeof(struct sock_filter)),
	    .filter = prog };
	int bad = 0, fd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0)
		_exit(100);
	errno = 0;
	if (syscall(425, 4, NULL) != -1 || errno != EPERM)	/* io_uring_setup */
		bad |= 1;
	errno = 0;
	if (syscall(435, NULL, 0) != -1 || errno != ENOSYS)	/* clone3 */
		bad |= 2;
	if (syscall(SYS_getpid) <= 0)
		bad |= 4;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		bad |= 8;
	errno = 0;
	if (socket(AF_NETLINK, SOCK_RAW, 0) != -1 || errno != EPERM)
		bad |= 16;
	errno = 0;
	if (syscall(SYS_personality, 0x20000) != -1 || errno != EPERM)	/* UNAME26 */
		bad |= 32;
	if (syscall(SYS_personality, 0xffffffffUL) == -1)
		bad |= 64;
	errno = 0;
	if (syscall(SYS_unshare, 0x10000000) != -1 || errno != EPERM)	/* CLONE_NEWUSER */
		bad |= 128;
	_exit(bad);
}

TEST(the_bpf_filter_does_what_the_list_says)
{
	char msg[256];
	void *prog;
	size_t len;
	pid_t pid;
	int status;

	CHECK_INT(seccomp_list_load("runner_image/seccomp.list", &l, msg, sizeof(msg)), 0);
	CHECK_INT(seccomp_list_bpf(&l, &prog, &len, msg, sizeof(msg)), 0);
	CHECK(len > 0 && len % sizeof(struct sock_filter) == 0);
	if ((pid = fork()) == 0)
		child_checks(prog, len);
	status = -1;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fprintf(stderr, "  the child's failed checks: %d\n", WEXITSTATUS(status));
	CHECK_INT(WEXITSTATUS(status), 0);
	free(prog);
}

int
main(void)
{
	RUN(the_real_list);
	RUN(every_wrong_line_is_named);
	RUN(lines_and_bytes_are_bounded);
	RUN(the_docker_profile);
	RUN(the_profile_is_written_whole);
	RUN(the_bpf_filter_does_what_the_list_says);
	return unit_done("seccomp_list");
}
