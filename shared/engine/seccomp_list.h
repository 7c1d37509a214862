/*
 * seccomp_list: the sandbox's system call filter, read from the one list
 * people review (runner_image/seccomp.list), and made into what each
 * engine installs: the Docker profile (JSON, for `docker run
 * --security-opt seccomp=<file>`, which runc applies and runsc applies with
 * --oci-seccomp) and a classic BPF program (libseccomp's, for an engine
 * that installs its filter itself).
 *
 * The list, one rule a line (# starts a comment, blank lines are skipped):
 *
 *   allow NAME [CONDITION...]     the call is allowed (when every condition
 *                                 holds; several lines for one NAME: any)
 *   errno ERRNO NAME              the call fails with ERRNO (e.g. ENOSYS)
 *                                 without reaching the kernel
 *   refuse NAME                   the call fails with EPERM: what every call
 *                                 the list does not allow gets; listed so
 *                                 that people see it and the hostile test
 *                                 tries it
 *
 * CONDITION is `argN OP VALUE` (N 0..5; OP ==, !=, <, <=, >, >=) or
 * `argN & MASK == VALUE`; values are decimal or 0x hexadecimal, 64 bits.
 * Names are x86_64 system call names as libseccomp knows them: the list is
 * for that architecture alone (its 32-bit and x32 ABIs are not allowed at
 * all). Every other call fails with EPERM.
 */
#ifndef SECCOMP_LIST_H
#define SECCOMP_LIST_H

#include <stddef.h>
#include <stdint.h>

#define SECCOMP_LIST_MAX_BYTES	(64 * 1024)	/* the list's file */
#define SECCOMP_LIST_MAX_LINE	256		/* one line, without its newline */
#define SECCOMP_LIST_MAX_RULES	600
#define SECCOMP_LIST_MAX_CONDS	3		/* conditions on one line */
#define SECCOMP_LIST_NAME_MAX	32		/* a call's name */

enum seccomp_action {
	SECCOMP_ALLOW,
	SECCOMP_ERRNO,	/* fails with err */
	SECCOMP_REFUSE	/* fails with EPERM, as every call not allowed */
};

enum seccomp_op { SECCOMP_EQ, SECCOMP_NE, SECCOMP_LT, SECCOMP_LE, SECCOMP_GT, SECCOMP_GE,
	SECCOMP_MASKED_EQ };

struct seccomp_cond {
	unsigned arg;		/* 0..5 */
	enum seccomp_op op;
	uint64_t mask;		/* SECCOMP_MASKED_EQ: arg & mask == value */
	uint64_t value;
};

struct seccomp_rule {
	char name[SECCOMP_LIST_NAME_MAX + 1];
	int nr;				/* its x86_64 number */
	enum seccomp_action action;
	int err;			/* SECCOMP_ERRNO: the errno; REFUSE: EPERM */
	int line;			/* in the list, from 1 */
	int ncond;
	struct seccomp_cond cond[SECCOMP_LIST_MAX_CONDS];
};

struct seccomp_list {
	int n;
	struct seccomp_rule rule[SECCOMP_LIST_MAX_RULES];
};

/* Parses text[0..len) (no NUL needed) into l. Returns 0, or -1 with a
 * sentence in msg naming the line and what is wrong with it (a name
 * libseccomp does not know, a call both allowed and refused, a condition
 * it cannot read...). l is the caller's (it is large: not on a small
 * stack). */
int seccomp_list_parse(const char *text, size_t len, struct seccomp_list *l, char *msg,
    size_t msglen);

/* Reads the list at path (at most SECCOMP_LIST_MAX_BYTES) and parses it.
 * Returns 0, or -1 with a sentence naming the file in msg. */
int seccomp_list_load(const char *path, struct seccomp_list *l, char *msg, size_t msglen);

/* The Docker profile of l for the OCI runtime named (NULL or "" for the
 * engine's, runc): defaultAction SCMP_ACT_ERRNO (EPERM), the x86_64
 * architecture, the allowed calls with their conditions, the errno rules.
 * For "runsc" an `errno ENOSYS` rule is an allow instead: gVisor answers
 * the calls it does not implement ENOSYS itself, while runsc before 2023
 * ignores a rule's errnoRet and answers EPERM (and glibc falls back from
 * clone3 to clone on ENOSYS alone: with EPERM no thread starts); and an
 * allowed call gVisor knows by another name (pselect6: "pselect") is
 * named both ways.
 * Returns a NUL-terminated string the caller frees, or NULL with msg. */
char *seccomp_list_json(const struct seccomp_list *l, const char *runtime, char *msg,
    size_t msglen);

/* Writes that profile to path, whole or not at all (a file beside it,
 * renamed), mode 0644. Returns 0, or -1 with msg. */
int seccomp_list_write_json(const struct seccomp_list *l, const char *runtime, const char *path,
    char *msg, size_t msglen);

/* What a service does at start: reads the list at list_path and writes its
 * Docker profile for runtime to json_path (as seccomp_list_write_json).
 * Returns 0, or -1 with a sentence in msg naming the file and the line. */
int seccomp_profile_write(const char *list_path, const char *runtime, const char *json_path,
    char *msg, size_t msglen);

/* The filter of l as a classic BPF program (struct sock_filter[], as
 * libseccomp exports it) for prctl(PR_SET_SECCOMP) or seccomp(2): *prog
 * (the caller frees it) of *len bytes. Returns 0, or -1 with msg. */
int seccomp_list_bpf(const struct seccomp_list *l, void **prog, size_t *len, char *msg,
    size_t msglen);

/* The name of errno value e as the list writes it ("EPERM"), or NULL. */
const char *seccomp_errno_name(int e);

#endif
