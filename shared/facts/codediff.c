#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/codediff.h"
#include "base/pyname.h"
#include "base/text.h"	/* hash_fnv1a64 */

/* ---- Imports ------------------------------------------------------------------------- */

/* Adds one normalised import to s unless there or full. */
static void
imports_add(struct import_set *s, const char *line)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->line[i], line) == 0)
			return;
	if (s->n >= CODEDIFF_IMPORTS_MAX) {
		s->truncated = 1;
		return;
	}
	snprintf(s->line[s->n++], CODEDIFF_IMPORT_LEN, "%s", line);
}

/* Reads a dotted name (leading dots allowed when rel) at *pp; copies it
 * into out and moves *pp past it. Returns its length, 0 if none. */
static size_t
read_name(const char **pp, const char *end, char *out, size_t outlen, int rel)
{
	const char *p = *pp, *start;
	size_t n;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	start = p;
	if (rel)
		while (p < end && *p == '.')
			p++;
	while (p < end && (pyname_char((unsigned char)*p) || (*p == '.' && p > start)))
		p++;
	n = (size_t)(p - start);
	if (n == 0 || n >= outlen || (!rel && !pyname_start((unsigned char)*start)))
		return 0;
	memcpy(out, start, n);
	out[n] = '\0';
	*pp = p;
	return n;
}

/* Reads ", name [as alias]" items of one statement into s; from is the
 * module of a "from" statement, NULL for "import". */
static void
import_items(struct import_set *s, const char *p, const char *end, const char *from)
{
	char name[96], alias[64], line[CODEDIFF_IMPORT_LEN];
	const char *q;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '(' || *p == ')' || *p == ','))
			p++;
		if (p >= end)
			break;
		if (*p == '*' && from) {
			snprintf(line, sizeof(line), "from %s import *", from);
			imports_add(s, line);
			p++;
			continue;
		}
		if (read_name(&p, end, name, sizeof(name), 0) == 0)
			return;
		alias[0] = '\0';
		for (q = p; q < end && (*q == ' ' || *q == '\t'); q++)
			;
		if (end - q > 3 && q[0] == 'a' && q[1] == 's' && (q[2] == ' ' || q[2] == '\t')) {
			q += 3;
			if (read_name(&q, end, alias, sizeof(alias), 0) == 0)
				return;
			p = q;
		}
		if (from)
			snprintf(line, sizeof(line), "from %s import %s%s%s", from, name,
			    alias[0] ? " as " : "", alias);
		else
			snprintf(line, sizeof(line), "import %s%s%s", name, alias[0] ? " as " : "",
			    alias);
		imports_add(s, line);
		while (p < end && (*p == ' ' || *p == '\t' || *p == ')'))
			p++;
		if (p < end && *p != ',')
			return;
	}
}

/* Parses one statement (no newline, no comment) into s. */
static void
import_statement(struct import_set *s, const char *p, const char *end)
{
	char from[96];
	const char *q;

	if (end - p > 7 && memcmp(p, "import", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
		import_items(s, p + 7, end, NULL);
		return;
	}
	if (end - p > 5 && memcmp(p, "from", 4) == 0 && (p[4] == ' ' || p[4] == '\t')) {
		q = p + 5;
		if (read_name(&q, end, from, sizeof(from), 1) == 0)
			return;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q > 7 && memcmp(q, "import", 6) == 0 && (q[6] == ' ' || q[6] == '\t' ||
		    q[6] == '('))
			import_items(s, q + 6, end, from);
	}
}

/* Follows the triple quotes of one line (q..eol): inside a triple-quoted
 * string, lines are not code. */
static void
triple_quotes(const char *q, const char *eol, int *in_triple, char *triple)
{
	size_t t;

	for (t = 0; q + t + 2 < eol; t++) {
		if ((q[t] == '"' || q[t] == '\'') && q[t + 1] == q[t] && q[t + 2] == q[t] &&
		    (!*in_triple || *triple == q[t])) {
			*in_triple = !*in_triple;
			*triple = q[t];
			t += 2;
		}
	}
}

/* Gathers the statement that starts at q (its line ends at *eolp) into
 * stmt (cap bytes): comments and trailing blanks dropped, lines joined
 * while a parenthesis is open or a line ends in a backslash (at most 20
 * more). Moves *eolp to the end of the last line read. Returns the length. */
static size_t
gather_statement(const char *q, const char **eolp, const char *end, char *stmt, size_t cap)
{
	const char *eol = *eolp, *stop;
	size_t sn = 0, t, lines = 0;

	for (;;) {
		if ((stop = memchr(q, '#', (size_t)(eol - q))) == NULL)
			stop = eol;
		while (stop > q && (stop[-1] == '\r' || stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		t = (size_t)(stop - q);
		if (t >= cap - sn - 1)
			break;
		memcpy(stmt + sn, q, t);
		sn += t;
		stmt[sn] = '\0';
		if (sn > 0 && stmt[sn - 1] == '\\')
			stmt[sn - 1] = ' ';
		else if (memchr(stmt, '(', sn) == NULL || memchr(stmt, ')', sn) != NULL)
			break;
		else
			stmt[sn++] = ' ';
		if (eol >= end || ++lines > 20)
			break;
		q = eol + 1;
		if ((eol = memchr(q, '\n', (size_t)(end - q))) == NULL)
			eol = end;
	}
	stmt[sn] = '\0';
	*eolp = eol;
	return sn;
}

/* qsort order of import lines: by bytes. */
static int
cmp_line(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

void
codediff_imports(const char *code, size_t len, struct import_set *s)
{
	const char *p = code, *end = code + len, *eol, *q, *stop;
	char stmt[1024], triple = 0;
	int in_triple = 0;
	size_t sn;

	memset(s, 0, sizeof(*s));
	if (code == NULL)
		return;
	for (; p < end; p = eol < end ? eol + 1 : end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		for (q = p; q < eol && (*q == ' ' || *q == '\t'); q++)
			;
		triple_quotes(q, eol, &in_triple, &triple);
		if (in_triple || q >= eol || (*q != 'i' && *q != 'f'))
			continue;
		sn = gather_statement(q, &eol, end, stmt, sizeof(stmt));
		/* Statements separated by ';'. */
		for (q = stmt; q < stmt + sn; q = stop + 1) {
			while (*q == ' ' || *q == '\t')
				q++;
			if ((stop = memchr(q, ';', (size_t)(stmt + sn - q))) == NULL)
				stop = stmt + sn;
			import_statement(s, q, stop);
			if (stop >= stmt + sn)
				break;
		}
	}
	qsort(s->line, s->n, sizeof(s->line[0]), cmp_line);
}

void
codediff_import_diff(const struct import_set *a, const struct import_set *b,
    struct import_diff *d)
{
	size_t i = 0, j = 0;
	int c;

	memset(d, 0, sizeof(*d));
	while (i < a->n || j < b->n) {
		c = i >= a->n ? 1 : j >= b->n ? -1 : strcmp(a->line[i], b->line[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			if (d->n_removed < CODEDIFF_IMPORT_CHANGES)
				memcpy(d->removed[d->n_removed++], a->line[i], CODEDIFF_IMPORT_LEN);
			i++;
		} else {
			if (d->n_added < CODEDIFF_IMPORT_CHANGES)
				memcpy(d->added[d->n_added++], b->line[j], CODEDIFF_IMPORT_LEN);
			j++;
		}
	}
}

/* ---- Attribute names in code --------------------------------------------------------- */

#define TOKSET_CAP 4096		/* slots; at most 3/4 used */

/* A set of ".name" tokens of a text, pointing into it. */
struct tokset {
	const char *p[TOKSET_CAP];
	unsigned short len[TOKSET_CAP];
	size_t n;
	int overflow;
};

/* Returns the slot of s[0..n) in t: its own, or the empty one it would take. */
static size_t
tokset_slot(const struct tokset *t, const char *s, size_t n)
{
	size_t i = (size_t)(hash_fnv1a64(s, n) & (TOKSET_CAP - 1));

	while (t->p[i] != NULL && !(t->len[i] == n && memcmp(t->p[i], s, n) == 0))
		i = (i + 1) & (TOKSET_CAP - 1);
	return i;
}

/* Fills t with the attribute names (".name") of code[0..len). */
static void
tokset_fill(struct tokset *t, const char *code, size_t len)
{
	size_t i, j, k;

	memset(t, 0, sizeof(*t));
	for (i = 0; i + 1 < len; i++) {
		if (code[i] != '.' || !pyname_start((unsigned char)code[i + 1]))
			continue;
		for (j = i + 1; j < len && pyname_char((unsigned char)code[j]) && j - i < 64; j++)
			;
		k = tokset_slot(t, code + i + 1, j - i - 1);
		if (t->p[k] == NULL) {
			if (t->n >= TOKSET_CAP * 3 / 4) {
				t->overflow = 1;
				return;
			}
			t->p[k] = code + i + 1;
			t->len[k] = (unsigned short)(j - i - 1);
			t->n++;
		}
		i = j - 1;
	}
}

/* Returns 1 when t holds s[0..n). */
static int
tokset_has(const struct tokset *t, const char *s, size_t n)
{
	return t->p[tokset_slot(t, s, n)] != NULL;
}

/* The attribute changes of a fix of "has no attribute 'x'": "-.x" when the
 * fix no longer uses it, then "+.y" for each name the fix brought in, when
 * at most 3 came. Writes at most max into out; returns how many. */
static size_t
attr_changes(const char *fail_code, size_t fail_len, const char *fix_code, size_t fix_len,
    const char *pattern, char out[][RECORD_CHANGE_MAX], size_t max)
{
	struct tokset *ta = NULL, *tb = NULL;
	const char *attr, *q, *fresh[4];
	size_t n = 0, alen, k, nfresh = 0, flen[4];

	if ((attr = strstr(pattern, "has no attribute '")) == NULL ||
	    (ta = malloc(sizeof(*ta))) == NULL || (tb = malloc(sizeof(*tb))) == NULL)
		goto out;
	attr += strlen("has no attribute '");
	q = strchr(attr, '\'');
	alen = q ? (size_t)(q - attr) : 0;
	tokset_fill(ta, fail_code, fail_len);
	tokset_fill(tb, fix_code, fix_len);
	if (alen == 0 || alen >= 64 || ta->overflow || tb->overflow ||
	    !tokset_has(ta, attr, alen) || tokset_has(tb, attr, alen))
		goto out;
	snprintf(out[n++], RECORD_CHANGE_MAX, "-.%.*s", (int)alen, attr);
	for (k = 0; k < TOKSET_CAP && nfresh <= 3; k++)
		if (tb->p[k] != NULL && !tokset_has(ta, tb->p[k], tb->len[k])) {
			if (nfresh < 4) {
				fresh[nfresh] = tb->p[k];
				flen[nfresh] = tb->len[k];
			}
			nfresh++;
		}
	for (k = 0; k < nfresh && nfresh <= 3 && n < max; k++)
		snprintf(out[n++], RECORD_CHANGE_MAX, "+.%.*s", (int)flen[k], fresh[k]);
out:
	free(ta);
	free(tb);
	return n;
}

size_t
codediff_fix_changes(const char *fail_code, size_t fail_len, const char *fix_code,
    size_t fix_len, const char *category, const char *pattern,
    char out[][RECORD_CHANGE_MAX], size_t max)
{
	struct import_set *a = NULL, *b = NULL;
	struct import_diff *d = NULL;
	size_t n = 0, i;

	if (fail_code == NULL || fix_code == NULL || max == 0)
		return 0;
	if (category != NULL && strcmp(category, "attribute") == 0 && pattern != NULL)
		n = attr_changes(fail_code, fail_len, fix_code, fix_len, pattern, out, max);
	if ((a = malloc(sizeof(*a))) == NULL || (b = malloc(sizeof(*b))) == NULL ||
	    (d = malloc(sizeof(*d))) == NULL)
		goto out;
	codediff_imports(fail_code, fail_len, a);
	codediff_imports(fix_code, fix_len, b);
	codediff_import_diff(a, b, d);
	for (i = 0; i < d->n_added && n < max; i++)
		snprintf(out[n++], RECORD_CHANGE_MAX, "+%s", d->added[i]);
	for (i = 0; i < d->n_removed && n < max; i++)
		snprintf(out[n++], RECORD_CHANGE_MAX, "-%s", d->removed[i]);
out:
	free(a);
	free(b);
	free(d);
	return n;
}

/* ---- Line diff ---------------------------------------------------------------------------- */

struct line {
	const char *p;
	uint32_t len;
	uint64_t hash;
};

/* Splits s[0..n) into lines (a malloc'd array in *out the caller frees,
 * NULL when none). Returns the count, or (size_t)-1 when memory ran out. */
static size_t
split_lines(const char *s, size_t n, struct line **out)
{
	struct line *v = NULL, *t;
	const char *p = s, *end = s + n, *eol;
	size_t k = 0, cap = 0;

	*out = NULL;
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (k == cap) {
			cap = cap ? cap * 2 : 64;
			if ((t = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				return (size_t)-1;
			}
			v = t;
		}
		v[k].p = p;
		v[k].len = (uint32_t)(eol - p);
		v[k].hash = hash_fnv1a64(p, (size_t)(eol - p));
		k++;
		p = eol + 1;
	}
	*out = v;
	return k;
}

/* Returns 1 when lines a and b are the same bytes. */
static int
line_eq(const struct line *a, const struct line *b)
{
	return a->hash == b->hash && a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* qsort order of line hashes. */
static int
cmp_hash(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The multiset count: lines (by hash) common to both count as kept.
 * Returns 0, or -1 when memory ran out (d then says every line changed). */
static int
diff_approx(const struct line *a, size_t n, const struct line *b, size_t m, struct line_diff *d)
{
	uint64_t *ha = NULL, *hb = NULL;
	size_t i, j, common = 0;
	int rc = -1;

	d->approximate = 1;
	d->added = (long)m;
	d->removed = (long)n;
	if ((ha = malloc((n + 1) * sizeof(*ha))) == NULL ||
	    (hb = malloc((m + 1) * sizeof(*hb))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		ha[i] = a[i].hash;
	for (j = 0; j < m; j++)
		hb[j] = b[j].hash;
	qsort(ha, n, sizeof(*ha), cmp_hash);
	qsort(hb, m, sizeof(*hb), cmp_hash);
	for (i = j = 0; i < n && j < m; ) {
		if (ha[i] == hb[j]) {
			common++;
			i++;
			j++;
		} else if (ha[i] < hb[j])
			i++;
		else
			j++;
	}
	d->added = (long)(m - common);
	d->removed = (long)(n - common);
	rc = 0;
out:
	free(ha);
	free(hb);
	return rc;
}

/* Myers' O(ND) difference of a[0..N) and b[0..M), counting only. Returns
 * 1 with d filled, 0 when D passed CODEDIFF_EDITS or the budget ran out
 * (d untouched), -1 when memory ran out. */
static int
myers(const struct line *a, long N, const struct line *b, long M, struct line_diff *d,
    long *budget)
{
	const long off = CODEDIFF_EDITS + 1;
	long x, y, k, dd, *V;

	if ((V = calloc((size_t)(2 * off + 1), sizeof(*V))) == NULL)
		return -1;
	for (dd = 0; dd <= CODEDIFF_EDITS && dd <= N + M; dd++) {
		for (k = -dd; k <= dd; k += 2) {
			if (k == -dd || (k != dd && V[off + k - 1] < V[off + k + 1]))
				x = V[off + k + 1];
			else
				x = V[off + k - 1] + 1;
			y = x - k;
			while (x < N && y < M && line_eq(&a[x], &b[y])) {
				x++;
				y++;
				(*budget)--;
			}
			(*budget)--;
			V[off + k] = x;
			if (x >= N && y >= M) {
				/* dd = N + M - 2 * common */
				d->added = (dd + (M - N)) / 2;
				d->removed = (dd - (M - N)) / 2;
				free(V);
				return 1;
			}
			if (*budget <= 0)
				goto over;
		}
	}
over:
	free(V);
	return 0;
}

int
codediff_lines(const char *as, size_t alen, const char *bs, size_t blen, struct line_diff *d,
    long *budget)
{
	struct line *a = NULL, *b = NULL;
	size_t n, m, pre = 0, suf = 0;
	long N, M;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	n = split_lines(as ? as : "", as ? alen : 0, &a);
	m = split_lines(bs ? bs : "", bs ? blen : 0, &b);
	if (n == (size_t)-1 || m == (size_t)-1) {
		d->approximate = 1;
		goto out;
	}
	while (pre < n && pre < m && line_eq(&a[pre], &b[pre]))
		pre++;
	while (suf < n - pre && suf < m - pre && line_eq(&a[n - 1 - suf], &b[m - 1 - suf]))
		suf++;
	N = (long)(n - pre - suf);
	M = (long)(m - pre - suf);
	if (N == 0 || M == 0) {
		d->added = M;
		d->removed = N;
		rc = 0;
		goto out;
	}
	/* A failed allocation of Myers' vector falls back to the count too. */
	if (N <= CODEDIFF_LINES && M <= CODEDIFF_LINES && *budget > 0 &&
	    myers(a + pre, N, b + pre, M, d, budget) == 1) {
		rc = 0;
		goto out;
	}
	rc = diff_approx(a + pre, (size_t)N, b + pre, (size_t)M, d);
out:
	free(a);
	free(b);
	return rc;
}
