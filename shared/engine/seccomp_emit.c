/*
 * seccomp_emit: what the engines install, made from a parsed list
 * (seccomp_list.h): the Docker profile (JSON) and libseccomp's BPF.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <seccomp.h>

#include "base/files.h"
#include "base/json_out.h"
#include "engine/seccomp_list.h"

static const char *const oci_ops[] = {
	[SECCOMP_EQ] = "SCMP_CMP_EQ", [SECCOMP_NE] = "SCMP_CMP_NE", [SECCOMP_LT] = "SCMP_CMP_LT",
	[SECCOMP_LE] = "SCMP_CMP_LE", [SECCOMP_GT] = "SCMP_CMP_GT", [SECCOMP_GE] = "SCMP_CMP_GE",
	[SECCOMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

/* Names gVisor's runsc of Debian 12 (20221219) knows a call by where they
 * differ from libseccomp's: its OCI converter drops a name it does not
 * know, and the call then gets EPERM (select.select failed so). A later
 * runsc that knows the list's name drops the alias instead. */
static const struct {
	const char *name, *gvisor;
} gvisor_alias[] = {
	{ "pselect6", "pselect" },
};

/* Adds a 64-bit number to obj under name, written exactly (cJSON keeps
 * numbers as doubles, which would round those above 2^53). Returns 0 or
 * -1. */
static int
add_u64(cJSON *obj, const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, num) != NULL ? 0 : -1;
}

/* The "args" of rule r, as the OCI spec writes them: for a masked
 * comparison "value" is the mask and "valueTwo" what it must equal.
 * Returns the array, or NULL. */
static cJSON *
json_args(const struct seccomp_rule *r)
{
	cJSON *args = cJSON_CreateArray(), *a;
	int i;

	for (i = 0; args != NULL && i < r->ncond; i++) {
		const struct seccomp_cond *c = &r->cond[i];
		int masked = c->op == SECCOMP_MASKED_EQ;

		if ((a = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(args, a) ||
		    cJSON_AddNumberToObject(a, "index", c->arg) == NULL ||
		    add_u64(a, "value", masked ? c->mask : c->value) < 0 ||
		    add_u64(a, "valueTwo", masked ? c->value : 0) < 0 ||
		    cJSON_AddStringToObject(a, "op", oci_ops[c->op]) == NULL) {
			cJSON_Delete(args);
			return NULL;
		}
	}
	return args;
}

/* One entry of "syscalls" for rule r (names: a single name); for gVisor
 * (gvisor_enosys) an ENOSYS rule allows the call, which gVisor answers
 * ENOSYS itself. Returns it, or NULL. */
static cJSON *
json_rule(const struct seccomp_rule *r, int gvisor_enosys)
{
	cJSON *o = cJSON_CreateObject(), *names, *args;
	char comment[160];
	int allow = r->action == SECCOMP_ALLOW || gvisor_enosys;

	if (o == NULL)
		return NULL;
	snprintf(comment, sizeof(comment), gvisor_enosys ? "seccomp.list line %d: ENOSYS from "
	    "gVisor itself (runsc before 2023 answers errnoRet rules EPERM)" :
	    "seccomp.list line %d", r->line);
	if ((names = cJSON_AddArrayToObject(o, "names")) == NULL ||
	    !cJSON_AddItemToArray(names, cJSON_CreateString(r->name)) ||
	    cJSON_AddStringToObject(o, "action", allow ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO") == NULL ||
	    (!allow && cJSON_AddNumberToObject(o, "errnoRet", r->err) == NULL) ||
	    (args = json_args(r)) == NULL || !cJSON_AddItemToObject(o, "args", args) ||
	    cJSON_AddStringToObject(o, "comment", comment) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Adds to names gVisor's own name for the call name, if it has another.
 * Returns 0 or -1. */
static int
add_gvisor_alias(cJSON *names, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(gvisor_alias) / sizeof(gvisor_alias[0]); i++)
		if (strcmp(gvisor_alias[i].name, name) == 0 &&
		    !cJSON_AddItemToArray(names, cJSON_CreateString(gvisor_alias[i].gvisor)))
			return -1;
	return 0;
}

/* The profile's document: the unconditional allows in one entry, then an
 * entry per other rule (refusals are the default action: none). Returns
 * it, or NULL when memory ran out. */
static cJSON *
json_profile(const struct seccomp_list *l, int gvisor)
{
	cJSON *doc = cJSON_CreateObject(), *arch, *calls, *plain, *names, *e;
	int i;

	if (doc == NULL || cJSON_AddStringToObject(doc, "defaultAction", "SCMP_ACT_ERRNO") == NULL ||
	    cJSON_AddNumberToObject(doc, "defaultErrnoRet", EPERM) == NULL ||
	    (arch = cJSON_AddArrayToObject(doc, "architectures")) == NULL ||
	    !cJSON_AddItemToArray(arch, cJSON_CreateString("SCMP_ARCH_X86_64")) ||
	    (calls = cJSON_AddArrayToObject(doc, "syscalls")) == NULL ||
	    (plain = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(calls, plain) ||
	    (names = cJSON_AddArrayToObject(plain, "names")) == NULL ||
	    cJSON_AddStringToObject(plain, "action", "SCMP_ACT_ALLOW") == NULL ||
	    cJSON_AddArrayToObject(plain, "args") == NULL ||
	    cJSON_AddStringToObject(plain, "comment", "allowed without conditions") == NULL)
		goto err;
	for (i = 0; i < l->n; i++) {
		const struct seccomp_rule *r = &l->rule[i];

		if (r->action == SECCOMP_REFUSE)
			continue;
		if (r->action == SECCOMP_ALLOW && r->ncond == 0) {
			if (!cJSON_AddItemToArray(names, cJSON_CreateString(r->name)) ||
			    (gvisor && add_gvisor_alias(names, r->name) < 0))
				goto err;
			continue;
		}
		e = json_rule(r, gvisor && r->action == SECCOMP_ERRNO && r->err == ENOSYS);
		if (e == NULL || !cJSON_AddItemToArray(calls, e)) {
			cJSON_Delete(e);
			goto err;
		}
	}
	return doc;
err:
	cJSON_Delete(doc);
	return NULL;
}

char *
seccomp_list_json(const struct seccomp_list *l, const char *runtime, char *msg, size_t msglen)
{
	cJSON *doc = json_profile(l, runtime != NULL && strcmp(runtime, "runsc") == 0);
	char *s;

	if (doc == NULL || (s = cJSON_Print(doc)) == NULL) {
		cJSON_Delete(doc);
		snprintf(msg, msglen, "out of memory making the seccomp profile");
		return NULL;
	}
	cJSON_Delete(doc);
	return s;
}

int
seccomp_list_write_json(const struct seccomp_list *l, const char *runtime, const char *path,
    char *msg, size_t msglen)
{
	char tmp[4096], *s;
	int fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(msg, msglen, "the profile's path is too long");
		return -1;
	}
	if ((s = seccomp_list_json(l, runtime, msg, msglen)) == NULL)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(msg, msglen, "%s: %s", tmp, strerror(errno));
		free(s);
		return -1;
	}
	if (file_write_all(fd, s, strlen(s)) < 0 || file_write_all(fd, "\n", 1) < 0 ||
	    fchmod(fd, 0644) < 0 || fsync(fd) < 0)
		snprintf(msg, msglen, "%s: %s", tmp, strerror(errno));
	else if (close(fd) < 0 || (fd = -1, rename(tmp, path) < 0))
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(s);
	return rc;
}

/* Adds rule r to ctx. Returns libseccomp's 0 or -errno. */
static int
bpf_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r)
{
	static const enum scmp_compare cmp[] = {
		[SECCOMP_EQ] = SCMP_CMP_EQ, [SECCOMP_NE] = SCMP_CMP_NE, [SECCOMP_LT] = SCMP_CMP_LT,
		[SECCOMP_LE] = SCMP_CMP_LE, [SECCOMP_GT] = SCMP_CMP_GT, [SECCOMP_GE] = SCMP_CMP_GE,
		[SECCOMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};
	struct scmp_arg_cmp a[SECCOMP_LIST_MAX_CONDS];
	int i, nr;

	/* By name, as the list says it (the number was resolved for x86_64,
	 * which is the filter's architecture). */
	if ((nr = seccomp_syscall_resolve_name(r->name)) == __NR_SCMP_ERROR)
		return -ENOENT;
	for (i = 0; i < r->ncond; i++) {
		const struct seccomp_cond *c = &r->cond[i];

		a[i].arg = c->arg;
		a[i].op = cmp[c->op];
		a[i].datum_a = c->op == SECCOMP_MASKED_EQ ? c->mask : c->value;
		a[i].datum_b = c->op == SECCOMP_MASKED_EQ ? c->value : 0;
	}
	return seccomp_rule_add_exact_array(ctx,
	    r->action == SECCOMP_ALLOW ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO((uint32_t)r->err), nr,
	    (unsigned)r->ncond, a);
}

/* Reads the whole of fd (from its start) into a new buffer. Returns 0 with
 * *out (the caller frees it) and *len, or -1 with errno. */
static int
read_back(int fd, void **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	if (st.st_size <= 0 || st.st_size > (1 << 20) || (buf = malloc((size_t)st.st_size)) == NULL) {
		errno = st.st_size <= 0 ? EIO : ENOMEM;
		return -1;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			errno = n == 0 ? EIO : errno;
			return -1;
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	return 0;
}

int
seccomp_list_bpf(const struct seccomp_list *l, void **prog, size_t *len, char *msg,
    size_t msglen)
{
	scmp_filter_ctx ctx;
	int i, rc, fd = -1;

	*prog = NULL;
	*len = 0;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
		snprintf(msg, msglen, "the seccomp list is for x86_64, and this is not x86_64");
		return -1;
	}
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		snprintf(msg, msglen, "seccomp_init failed");
		return -1;
	}
	for (i = 0; i < l->n; i++) {
		if (l->rule[i].action == SECCOMP_REFUSE)
			continue;
		if ((rc = bpf_rule(ctx, &l->rule[i])) < 0) {
			snprintf(msg, msglen, "line %d: libseccomp refused the rule for %s: %s",
			    l->rule[i].line, l->rule[i].name, strerror(-rc));
			goto err;
		}
	}
	if ((fd = memfd_create("seccomp-bpf", MFD_CLOEXEC)) < 0) {
		snprintf(msg, msglen, "memfd_create: %s", strerror(errno));
		goto err;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		snprintf(msg, msglen, "seccomp_export_bpf: %s", strerror(-rc));
		goto err;
	}
	if (read_back(fd, prog, len) < 0) {
		snprintf(msg, msglen, "reading the exported filter back: %s", strerror(errno));
		goto err;
	}
	close(fd);
	seccomp_release(ctx);
	return 0;
err:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return -1;
}

int
seccomp_profile_write(const char *list_path, const char *runtime, const char *json_path,
    char *msg, size_t msglen)
{
	struct seccomp_list *l = malloc(sizeof(*l));
	int rc;

	if (l == NULL) {
		snprintf(msg, msglen, "out of memory reading %s", list_path);
		return -1;
	}
	rc = seccomp_list_load(list_path, l, msg, msglen);
	if (rc == 0)
		rc = seccomp_list_write_json(l, runtime, json_path, msg, msglen);
	free(l);
	return rc;
}
