/*
 * codediff: what changed between two versions of a script. Pure functions
 * on text, no I/O: the imports of a script and what changed in them, how
 * many lines were added and removed (Myers), and the changes a fix made
 * that the log keeps as lessons.
 */
#ifndef CODEDIFF_H
#define CODEDIFF_H

#include <stddef.h>

#include "base/record.h"	/* RECORD_CHANGE_MAX */

/* The import statements of a script, one per bound name, normalised:
 * "import numpy as np", "from PIL import Image". Sorted, unique, bounded. */
#define CODEDIFF_IMPORTS_MAX 64
#define CODEDIFF_IMPORT_LEN 128
struct import_set {
	size_t n;
	int truncated;
	char line[CODEDIFF_IMPORTS_MAX][CODEDIFF_IMPORT_LEN];
};

/* Fills s from code[0..len) (code may be NULL). Never fails; a script with
 * more imports than fit sets truncated. */
void codediff_imports(const char *code, size_t len, struct import_set *s);

#define CODEDIFF_IMPORT_CHANGES 16
struct import_diff {
	size_t n_added, n_removed;
	char added[CODEDIFF_IMPORT_CHANGES][CODEDIFF_IMPORT_LEN];
	char removed[CODEDIFF_IMPORT_CHANGES][CODEDIFF_IMPORT_LEN];
};

/* Fills d with what b has that a lacks (added) and the reverse (removed). */
void codediff_import_diff(const struct import_set *a, const struct import_set *b,
    struct import_diff *d);

/* Lines added and removed from a to b (a Myers diff over whole lines,
 * bounded: past CODEDIFF_LINES lines or CODEDIFF_EDITS edits, or when the
 * work budget runs out, the counts come from a multiset comparison and
 * approximate is set). */
#define CODEDIFF_LINES 20000
#define CODEDIFF_EDITS 2000
#define CODEDIFF_BUDGET (50L * 1000 * 1000)	/* work units of one diff */
struct line_diff {
	long added, removed;
	int approximate;
};

/* Diffs a[0..alen) against b[0..blen) (either may be NULL: empty) into d,
 * spending at most *budget work units and lowering it by the work done, so
 * several diffs can share one budget. Returns 0, or -1 when memory ran out
 * (d then holds the approximation). */
int codediff_lines(const char *a, size_t alen, const char *b, size_t blen,
    struct line_diff *d, long *budget);

/* The changes a fix made, for the log's lessons: imports added and removed
 * ("+import cv2", "-import skimage2"), and for an attribute error the
 * attribute that went away and those that came ("-.ANTIALIAS",
 * "+.LANCZOS", only when few came). Returns how many were written to out
 * (at most max). */
size_t codediff_fix_changes(const char *fail_code, size_t fail_len, const char *fix_code,
    size_t fix_len, const char *category, const char *pattern,
    char out[][RECORD_CHANGE_MAX], size_t max);

#endif
