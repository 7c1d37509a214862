#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "engine/seccomp_list.h"

/* The errno values a rule may name. */
static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "EPERM", EPERM }, { "ENOSYS", ENOSYS }, { "EACCES", EACCES }, { "EINVAL", EINVAL },
	{ "ENOMEM", ENOMEM }, { "EOPNOTSUPP", EOPNOTSUPP }, { "ENOTSUP", ENOTSUP },
};

const char *
seccomp_errno_name(int e)
{
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].value == e)
			return errnos[i].name;
	return NULL;
}

/* One line being read: its words, its number, where errors go. */
struct line {
	char buf[SECCOMP_LIST_MAX_LINE + 1];
	char *w[4 + 4 * SECCOMP_LIST_MAX_CONDS + 1];
	int nw;
	int no;
	char *msg;
	size_t msglen;
};

static int
fail(struct line *ln, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "line N: <fmt>" into the line's msg. Returns -1. */
static int
fail(struct line *ln, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(ln->msg, ln->msglen, "line %d: ", ln->no);
	if (n < 0 || (size_t)n >= ln->msglen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ln->msg + n, ln->msglen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Splits the line (its comment cut off) into words. Returns the number of
 * words, or -1 when there are too many. */
static int
split_words(struct line *ln)
{
	char *p = ln->buf, *hash;

	if ((hash = strchr(p, '#')) != NULL)
		*hash = '\0';
	ln->nw = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return ln->nw;
		if (ln->nw == (int)(sizeof(ln->w) / sizeof(ln->w[0])))
			return fail(ln, "too many words (at most %d conditions on a line)",
			    SECCOMP_LIST_MAX_CONDS);
		ln->w[ln->nw++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* Reads a 64-bit number (decimal or 0x hex, nothing after it). Returns 0,
 * or -1. */
static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || end == s)
		return -1;
	/* "0x" alone, or an octal reading of a leading zero: refuse those. */
	if (s[0] == '0' && s[1] != '\0' && s[1] != 'x' && s[1] != 'X')
		return -1;
	return 0;
}

static const struct {
	const char *word;
	enum seccomp_op op;
} ops[] = {
	{ "==", SECCOMP_EQ }, { "!=", SECCOMP_NE }, { "<", SECCOMP_LT }, { "<=", SECCOMP_LE },
	{ ">", SECCOMP_GT }, { ">=", SECCOMP_GE },
};

/* Reads one condition from the words at *i, moving *i past it. Returns 0,
 * or -1 with the line's message. */
static int
parse_cond(struct line *ln, int *i, struct seccomp_cond *c)
{
	const char *a = ln->w[*i];
	size_t k;
	int left = ln->nw - *i;

	if (strncmp(a, "arg", 3) != 0 || a[3] < '0' || a[3] > '5' || a[4] != '\0')
		return fail(ln, "'%s' is not a condition: it starts with arg0 to arg5", a);
	c->arg = (unsigned)(a[3] - '0');
	c->mask = 0;
	if (left >= 5 && strcmp(ln->w[*i + 1], "&") == 0) {
		if (parse_u64(ln->w[*i + 2], &c->mask) < 0)
			return fail(ln, "the mask '%s' is not a number", ln->w[*i + 2]);
		if (strcmp(ln->w[*i + 3], "==") != 0)
			return fail(ln, "a masked condition is 'argN & MASK == VALUE'");
		if (parse_u64(ln->w[*i + 4], &c->value) < 0)
			return fail(ln, "the value '%s' is not a number", ln->w[*i + 4]);
		c->op = SECCOMP_MASKED_EQ;
		*i += 5;
		return 0;
	}
	if (left < 3)
		return fail(ln, "the condition on %s is cut short: 'argN OP VALUE'", a);
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (strcmp(ln->w[*i + 1], ops[k].word) == 0)
			break;
	if (k == sizeof(ops) / sizeof(ops[0]))
		return fail(ln, "'%s' is not a comparison (==, !=, <, <=, >, >=, or & MASK ==)",
		    ln->w[*i + 1]);
	c->op = ops[k].op;
	if (parse_u64(ln->w[*i + 2], &c->value) < 0)
		return fail(ln, "the value '%s' is not a number", ln->w[*i + 2]);
	*i += 3;
	return 0;
}

/* Checks the name's shape and resolves it on x86_64. Returns 0, or -1. */
static int
set_name(struct line *ln, struct seccomp_rule *r, const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > SECCOMP_LIST_NAME_MAX)
		return fail(ln, "a system call's name has 1 to %d characters", SECCOMP_LIST_NAME_MAX);
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '_')
			return fail(ln, "'%s' is not a system call's name ([a-z0-9_])", name);
	r->nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
	if (r->nr < 0)
		return fail(ln, "'%s' is not a system call of x86_64 (libseccomp does not know it)",
		    name);
	memcpy(r->name, name, n + 1);
	return 0;
}

/* Reads one rule from the line's words. Returns 0, or -1. */
static int
parse_rule(struct line *ln, struct seccomp_rule *r)
{
	const char *verb = ln->w[0];
	int i, k;

	memset(r, 0, sizeof(*r));
	r->line = ln->no;
	if (strcmp(verb, "allow") == 0) {
		if (ln->nw < 2)
			return fail(ln, "'allow' needs a system call's name");
		r->action = SECCOMP_ALLOW;
		if (set_name(ln, r, ln->w[1]) < 0)
			return -1;
		for (i = 2; i < ln->nw; r->ncond++) {
			if (r->ncond == SECCOMP_LIST_MAX_CONDS)
				return fail(ln, "at most %d conditions", SECCOMP_LIST_MAX_CONDS);
			if (parse_cond(ln, &i, &r->cond[r->ncond]) < 0)
				return -1;
			for (k = 0; k < r->ncond; k++)
				if (r->cond[k].arg == r->cond[r->ncond].arg)
					return fail(ln, "arg%u has two conditions: write two lines",
					    r->cond[k].arg);
		}
		return 0;
	}
	if (strcmp(verb, "errno") == 0) {
		if (ln->nw != 3)
			return fail(ln, "'errno' is 'errno ERRNO NAME'");
		r->action = SECCOMP_ERRNO;
		for (k = 0; k < (int)(sizeof(errnos) / sizeof(errnos[0])); k++)
			if (strcmp(errnos[k].name, ln->w[1]) == 0)
				r->err = errnos[k].value;
		if (r->err == 0)
			return fail(ln, "'%s' is not an errno the list knows (ENOSYS, EACCES, ...)",
			    ln->w[1]);
		if (r->err == EPERM)
			return fail(ln, "'errno EPERM %s' is what 'refuse %s' says", ln->w[2],
			    ln->w[2]);
		return set_name(ln, r, ln->w[2]);
	}
	if (strcmp(verb, "refuse") == 0) {
		if (ln->nw != 2)
			return fail(ln, "'refuse' is 'refuse NAME', nothing more");
		r->action = SECCOMP_REFUSE;
		r->err = EPERM;
		return set_name(ln, r, ln->w[1]);
	}
	return fail(ln, "'%s' is not a rule: a line starts with allow, errno or refuse", verb);
}

/* Whether rule r may stand beside the rules before it: one action per
 * call, an unconditional allow alone. Returns 0, or -1. */
static int
check_rule(struct line *ln, const struct seccomp_list *l, const struct seccomp_rule *r)
{
	int i;

	for (i = 0; i < l->n; i++) {
		const struct seccomp_rule *o = &l->rule[i];

		if (strcmp(o->name, r->name) != 0)
			continue;
		if (o->action != r->action)
			return fail(ln, "%s is already given another action on line %d", r->name,
			    o->line);
		if (r->action != SECCOMP_ALLOW)
			return fail(ln, "%s is already listed on line %d", r->name, o->line);
		if (o->ncond == 0 || r->ncond == 0)
			return fail(ln, "%s is already allowed on line %d, and an allow without "
			    "conditions cannot stand beside others", r->name, o->line);
	}
	return 0;
}

/* Copies line number no (from p, at most end) into ln->buf. Returns the
 * start of the next line, or NULL with msg when it is too long or holds a
 * NUL. */
static const char *
take_line(struct line *ln, const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)((nl != NULL ? nl : end) - p);

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > SECCOMP_LIST_MAX_LINE) {
		fail(ln, "longer than %d characters", SECCOMP_LIST_MAX_LINE);
		return NULL;
	}
	if (memchr(p, '\0', n) != NULL) {
		fail(ln, "holds a NUL byte");
		return NULL;
	}
	memcpy(ln->buf, p, n);
	ln->buf[n] = '\0';
	return nl != NULL ? nl + 1 : end;
}

int
seccomp_list_parse(const char *text, size_t len, struct seccomp_list *l, char *msg,
    size_t msglen)
{
	struct line ln = { .msg = msg, .msglen = msglen };
	const char *p = text, *end = text + len;

	l->n = 0;
	if (len > SECCOMP_LIST_MAX_BYTES) {
		snprintf(msg, msglen, "the list is over %d bytes", SECCOMP_LIST_MAX_BYTES);
		return -1;
	}
	while (p < end) {
		ln.no++;
		if ((p = take_line(&ln, p, end)) == NULL || split_words(&ln) < 0)
			return -1;
		if (ln.nw == 0)
			continue;
		if (l->n == SECCOMP_LIST_MAX_RULES)
			return fail(&ln, "more than %d rules", SECCOMP_LIST_MAX_RULES);
		if (parse_rule(&ln, &l->rule[l->n]) < 0 || check_rule(&ln, l, &l->rule[l->n]) < 0)
			return -1;
		l->n++;
	}
	for (int i = 0; i < l->n; i++)
		if (l->rule[i].action == SECCOMP_ALLOW)
			return 0;
	snprintf(msg, msglen, "the list allows no system call at all");
	return -1;
}

int
seccomp_list_load(const char *path, struct seccomp_list *l, char *msg, size_t msglen)
{
	char *buf, sub[200];
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(SECCOMP_LIST_MAX_BYTES + 1)) == NULL) {
		close(fd);
		snprintf(msg, msglen, "%s: out of memory", path);
		return -1;
	}
	while (len <= SECCOMP_LIST_MAX_BYTES &&
	    (n = read(fd, buf + len, SECCOMP_LIST_MAX_BYTES + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, msglen, "%s: %s", path, strerror(errno));
			close(fd);
			free(buf);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	rc = seccomp_list_parse(buf, len, l, sub, sizeof(sub));
	free(buf);
	if (rc < 0)
		snprintf(msg, msglen, "%s: %s", path, sub);
	return rc;
}
