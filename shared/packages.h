/*
 * packages: the runner image's package list (runner_image/packages.txt),
 * the one source for "what is installed": "debian-package | import line |
 * what", and what it answers: which installed library a missing module most
 * likely meant, which import line binds a name.
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

#endif
