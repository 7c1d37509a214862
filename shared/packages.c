#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "packages.h"
#include "pyname.h"
#include "text.h"

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
