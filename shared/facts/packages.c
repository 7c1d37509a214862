#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "facts/packages.h"
#include "base/pyname.h"
#include "base/record.h"	/* RECORD_CHANGE_MAX */
#include "base/text.h"

#define LIST_MAX 65536	/* bytes of the list read */

/* Trims s[0..n) of blanks and copies it into out. */
static void
copy_trimmed(char *out, size_t outlen, const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	utf8_copy(out, outlen, s, n);
}

/* Adds the package line p (NUL-terminated, no newline) to pk when it is
 * one: "package | import line | what". */
static void
package_line(struct package_list *pk, char *p)
{
	struct package *e = &pk->p[pk->n];
	char *bar1, *bar2;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == '\0' || *p == '\r')
		return;
	if ((bar1 = strchr(p, '|')) == NULL || (bar2 = strchr(bar1 + 1, '|')) == NULL)
		return;	/* not a package line */
	copy_trimmed(e->package, sizeof(e->package), p, (size_t)(bar1 - p));
	copy_trimmed(e->import_line, sizeof(e->import_line), bar1 + 1, (size_t)(bar2 - bar1 - 1));
	copy_trimmed(e->about, sizeof(e->about), bar2 + 1, strlen(bar2 + 1));
	if (e->package[0] != '\0' && e->import_line[0] != '\0')
		pk->n++;
	else
		memset(e, 0, sizeof(*e));
}

int
packages_load(const char *path, struct package_list *pk, char *err, size_t errlen)
{
	char *buf = NULL, *p, *eol;
	size_t len = 0, got;
	FILE *fp = NULL;
	int rc = -1;

	memset(pk, 0, sizeof(*pk));
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no package list configured");
		return -1;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(LIST_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (len < LIST_MAX && (got = fread(buf + len, 1, LIST_MAX - len, fp)) > 0)
		len += got;
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	buf[len] = '\0';
	for (p = buf; p < buf + len && pk->n < PACKAGES_MAX; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			eol = buf + len;
		*eol = '\0';
		package_line(pk, p);
	}
	rc = 0;
out:
	if (rc < 0)
		memset(pk, 0, sizeof(*pk));
	free(buf);
	fclose(fp);
	return rc;
}

/* The top-level module an import line brings in ("from PIL import x" ->
 * "PIL", "import scipy.ndimage as ndi" -> "scipy"), into out. */
static void
import_module(const char *line, char *out, size_t outlen)
{
	const char *p = line;
	size_t n = 0;

	if (strncmp(p, "from ", 5) == 0)
		p += 5;
	else if (strncmp(p, "import ", 7) == 0)
		p += 7;
	while (*p == ' ')
		p++;
	while (pyname_char((unsigned char)p[n]))
		n++;
	utf8_copy(out, outlen, p, n);
}

/* Returns 1 when the import line binds name, else 0. */
static int
import_binds(const char *line, const char *name)
{
	const char *p, *q;
	size_t n = strlen(name);

	if ((p = strstr(line, " as ")) != NULL)
		return strcmp(p + 4, name) == 0;
	if (strncmp(line, "from ", 5) == 0) {
		if ((p = strstr(line, " import ")) == NULL)
			return 0;
		for (p += 8; *p != '\0'; p = q) {
			while (*p == ' ' || *p == ',')
				p++;
			for (q = p; pyname_char((unsigned char)*q); q++)
				;
			if ((size_t)(q - p) == n && memcmp(p, name, n) == 0)
				return 1;
			if (q == p)
				break;
		}
		return 0;
	}
	if (strncmp(line, "import ", 7) == 0) {
		p = line + 7;
		q = p + strcspn(p, " ,.");
		return (size_t)(q - p) == n && memcmp(p, name, n) == 0;
	}
	return 0;
}

int
packages_binding(const struct package_list *pk, const char *name)
{
	size_t i;

	for (i = 0; i < pk->n; i++)
		if (import_binds(pk->p[i].import_line, name))
			return (int)i;
	return -1;
}

/* Levenshtein distance of a and b (each at most 63 bytes, letters compared
 * without case), capped at 9. */
static int
edit_distance(const char *a, const char *b)
{
	int row[64], prev, tmp, i, j, la = (int)strlen(a), lb = (int)strlen(b);

	if (la > 63 || lb > 63)
		return 9;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb] > 9 ? 9 : row[lb];
}

/* Names people (and models) use for what is installed under another name. */
static const struct {
	const char *wrong, *module;
} module_aliases[] = {
	{ "pillow", "PIL" }, { "Image", "PIL" }, { "opencv", "cv2" }, { "cv", "cv2" },
	{ "opencv_python", "cv2" }, { "scikit_image", "skimage" }, { "scikit", "skimage" },
	{ "ndimage", "scipy" }, { "imageio", "PIL" }, { "matplotlib", "PIL" },
};

int
packages_nearest(const struct package_list *pk, const char *missing)
{
	char top[64], mod[64];
	size_t i, n;
	int best = -1, bestd = 3, dist;

	n = strcspn(missing, ".");
	utf8_copy(top, sizeof(top), missing, n);
	for (i = 0; i < sizeof(module_aliases) / sizeof(module_aliases[0]); i++)
		if (strcasecmp(top, module_aliases[i].wrong) == 0) {
			snprintf(top, sizeof(top), "%s", module_aliases[i].module);
			break;
		}
	for (i = 0; i < pk->n; i++) {
		import_module(pk->p[i].import_line, mod, sizeof(mod));
		if (strcmp(mod, "sys") == 0)
			continue;
		dist = edit_distance(top, mod);
		if (dist < bestd || (dist == 0 && bestd > 0)) {
			bestd = dist;
			best = (int)i;
		}
	}
	return best;
}

/* ---- The allow-list ------------------------------------------------------------------ */

/* qsort and bsearch order of string pointers. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* qsort order of exceptions: by last part, then full name. */
static int
cmp_exc(const void *a, const void *b)
{
	const struct allow_exc *x = a, *y = b;
	int c = strcmp(x->last, y->last);

	return c != 0 ? c : strcmp(x->full, y->full);
}

void
allowlist_free(struct allowlist *al)
{
	free(al->text);
	free(al->exc);
	free(al->mod);
	free(al->attr);
	free(al->name);
	memset(al, 0, sizeof(*al));
}

/* Returns the part of s after its last '.'. */
static const char *
last_part(const char *s)
{
	const char *dot = strrchr(s, '.');

	return dot ? dot + 1 : s;
}

/* Adds one line (NUL-terminated, in al->text) to the arrays, which have
 * room. */
static void
allow_line(struct allowlist *al, char *line)
{
	char *sp;

	if (strncmp(line, "exception ", 10) == 0 && pyname_dotted(line + 10, strlen(line + 10))) {
		al->exc[al->nexc].full = line + 10;
		al->exc[al->nexc++].last = last_part(line + 10);
	} else if (strncmp(line, "module ", 7) == 0 && pyname_dotted(line + 7, strlen(line + 7))) {
		al->mod[al->nmod++] = line + 7;
		al->name[al->nname++] = last_part(line + 7);
	} else if (strncmp(line, "attr ", 5) == 0 && pyname_dotted(line + 5, strlen(line + 5))) {
		al->attr[al->nattr++] = line + 5;
		al->name[al->nname++] = last_part(line + 5);
	} else if (strncmp(line, "alias ", 6) == 0 && (sp = strchr(line + 6, ' ')) != NULL) {
		*sp = '\0';
		if (pyname_dotted(line + 6, strlen(line + 6)))
			al->name[al->nname++] = line + 6;
	}
}

/* Reads the whole file at path (at most ALLOWLIST_MAX bytes) into a malloc'd
 * NUL-terminated buffer. Returns it and its length, or NULL with err. */
static char *
read_text(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *fp;
	char *buf;
	size_t got;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no allow-list configured");
		return NULL;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(ALLOWLIST_MAX + 1)) == NULL)
		snprintf(err, errlen, "out of memory");
	for (*len = 0; buf != NULL && *len < ALLOWLIST_MAX &&
	    (got = fread(buf + *len, 1, ALLOWLIST_MAX - *len, fp)) > 0; )
		*len += got;
	if (buf != NULL && ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	if (buf != NULL)
		buf[*len] = '\0';
	return buf;
}

int
allowlist_load(const char *path, struct allowlist *al, char *err, size_t errlen)
{
	size_t len, lines = 1, i;
	char *p, *eol;

	memset(al, 0, sizeof(*al));
	if ((al->text = read_text(path, &len, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		lines += al->text[i] == '\n';
	if ((al->exc = calloc(lines, sizeof(*al->exc))) == NULL ||
	    (al->mod = calloc(lines, sizeof(*al->mod))) == NULL ||
	    (al->attr = calloc(lines, sizeof(*al->attr))) == NULL ||
	    (al->name = calloc(lines, sizeof(*al->name))) == NULL) {
		snprintf(err, errlen, "out of memory");
		allowlist_free(al);
		return -1;
	}
	for (p = al->text; p < al->text + len; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(al->text + len - p))) == NULL)
			eol = al->text + len;
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		allow_line(al, p);
	}
	qsort(al->exc, al->nexc, sizeof(*al->exc), cmp_exc);
	qsort(al->mod, al->nmod, sizeof(*al->mod), cmp_str);
	qsort(al->attr, al->nattr, sizeof(*al->attr), cmp_str);
	qsort(al->name, al->nname, sizeof(*al->name), cmp_str);
	return 0;
}

/* Returns 1 when s is in the sorted array v of n strings. */
static int
in_sorted(const char *const *v, size_t n, const char *s)
{
	return v != NULL && bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

int
allowlist_module(const struct allowlist *al, const char *name)
{
	return al != NULL && in_sorted(al->mod, al->nmod, name);
}

int
allowlist_attr(const struct allowlist *al, const char *dotted)
{
	return al != NULL && in_sorted(al->attr, al->nattr, dotted);
}

int
allowlist_name(const struct allowlist *al, const char *name)
{
	return al != NULL && in_sorted(al->name, al->nname, name);
}

const char *
allowlist_exception(const struct allowlist *al, const char *type)
{
	const char *last, *found = NULL;
	size_t lo = 0, hi, mid;

	if (al == NULL || type == NULL || *type == '\0')
		return NULL;
	last = last_part(type);
	/* The first entry whose last part is `last`, then its equals. */
	for (hi = al->nexc; lo < hi; ) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(al->exc[mid].last, last) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < al->nexc && strcmp(al->exc[lo].last, last) == 0; lo++) {
		if (strcmp(al->exc[lo].full, type) == 0 || strcmp(al->exc[lo].full, last) == 0)
			return al->exc[lo].full;	/* named as listed, or a builtin */
		if (type != last)
			continue;	/* a dotted type must be listed as it is */
		if (found != NULL && strcmp(found, al->exc[lo].full) != 0)
			return al->exc[lo].last;	/* several classes of that name */
		found = al->exc[lo].full;
	}
	return type == last ? found : NULL;
}

/* Checks "import A[ as B]" and "from A import X[ as B]" (s after the sign).
 * Returns 1 when every name is on the list. */
static int
import_allowed(const struct allowlist *al, const char *s)
{
	char buf[RECORD_CHANGE_MAX], full[2 * RECORD_CHANGE_MAX + 2];
	char *mod, *item = NULL, *alias = NULL, *p;

	snprintf(buf, sizeof(buf), "%s", s);
	if (strncmp(buf, "import ", 7) == 0)
		mod = buf + 7;
	else if (strncmp(buf, "from ", 5) == 0 && (p = strstr(buf, " import ")) != NULL) {
		*p = '\0';
		mod = buf + 5;
		item = p + 8;
	} else
		return 0;
	if ((p = strstr(item ? item : mod, " as ")) != NULL) {
		*p = '\0';
		alias = p + 4;
	}
	if (!allowlist_module(al, mod) || (alias != NULL && !allowlist_name(al, alias)))
		return 0;
	if (item == NULL || strcmp(item, "*") == 0)
		return 1;
	snprintf(full, sizeof(full), "%s.%s", mod, item);
	return pyname_dotted(item, strlen(item)) && (allowlist_module(al, full) ||
	    allowlist_attr(al, full));
}

int
allowlist_change(const struct allowlist *al, const char *change)
{
	if (al == NULL || change == NULL || (change[0] != '+' && change[0] != '-'))
		return 0;
	if (change[1] == '.')
		return pyname_dotted(change + 2, strlen(change + 2)) &&
		    allowlist_name(al, change + 2);
	return import_allowed(al, change + 1);
}
