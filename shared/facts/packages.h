/*
 * packages: what is installed in the sandbox. The runner image's package
 * list (runner_image/packages.txt), the one source for "what is installed":
 * "debian-package | import line | what", and what it answers: which
 * installed library a missing module most likely meant, which import line
 * binds a name. And the allow-list (runner_image/allowlist.txt, made from
 * the image by runner_image/make_allowlist.sh): the exception types, module
 * and attribute names the log's lessons may say, so that no text a script
 * chose reaches the AI context or the recommendations.
 */
#ifndef PACKAGES_H
#define PACKAGES_H

#include <stddef.h>

#define PACKAGES_MAX 32
struct package {
	char package[64];
	char import_line[160];
	char about[160];
};
struct package_list {
	size_t n;
	struct package p[PACKAGES_MAX];
};

/* Reads path (at most 64 KiB; '#' lines, blank lines and lines without two
 * '|' skipped) into pk. Returns 0, or -1 with a message in err (pk then
 * holds nothing). */
int packages_load(const char *path, struct package_list *pk, char *err, size_t errlen);

/* Returns the index in pk of the installed library a missing module
 * ("skimage2", "opencv.x") most likely meant (by a known alias, else the
 * nearest module name within 2 edits), or -1. */
int packages_nearest(const struct package_list *pk, const char *missing);

/* Returns the index in pk of the first import line that binds name
 * ("import x as name", "from m import a, name", "import name"), or -1. */
int packages_binding(const struct package_list *pk, const char *name);

/* ---- The allow-list ----------------------------------------------------
 * Lines "exception NAME", "module NAME", "attr MODULE.NAME", "alias NAME
 * MODULE"; '#' lines are comments. */

struct allow_exc {
	const char *full;	/* "cv2.error", "ValueError" */
	const char *last;	/* its last dotted part: "error" */
};
struct allowlist {
	char *text;				/* the file, lines cut by NULs */
	struct allow_exc *exc;			/* by last part */
	const char **mod, **attr, **name;	/* sorted; name: last parts of modules
						 * and attributes, and aliases */
	size_t nexc, nmod, nattr, nname;
};

#define ALLOWLIST_MAX (4L << 20)	/* bytes of the file read */

/* Reads path into al. Returns 0, or -1 with a message in err (al then
 * allows nothing). Either way the caller frees al with allowlist_free(). */
int allowlist_load(const char *path, struct allowlist *al, char *err, size_t errlen);
/* Frees what allowlist_load() allocated; al allows nothing after. */
void allowlist_free(struct allowlist *al);

/* Returns how an exception type (a bare class name as a traceback gives it,
 * "error", or dotted) is shown: the allow-list's own string ("cv2.error"
 * when one installed class has that name, else the bare name), or NULL
 * when it is not on the list. al may be NULL (nothing allowed). */
const char *allowlist_exception(const struct allowlist *al, const char *type);

/* Return 1 when name is on the list as a module ("PIL.Image"), as an
 * attribute ("PIL.Image.LANCZOS"), or as the last part of either or an
 * alias ("LANCZOS", "np"); else 0. al may be NULL. */
int allowlist_module(const struct allowlist *al, const char *name);
int allowlist_attr(const struct allowlist *al, const char *dotted);
int allowlist_name(const struct allowlist *al, const char *name);

/* Returns 1 when a change a fix made (codediff: "+import cv2", "-from PIL
 * import Image as I", "+.LANCZOS") names only what the list holds. */
int allowlist_change(const struct allowlist *al, const char *change);

#endif
