/*
 * test_codediff: shared/codediff: the imports of a script and what changed
 * in them, the line diff (exact, and its bound), the changes a fix made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/codediff.h"
#include "unit.h"

TEST(imports_parse)
{
	static const char code[] =
	    "import os, sys\n"
	    "import numpy as np  # arrays\n"
	    "from PIL import Image, ImageFilter as IF\n"
	    "from skimage import (filters,\n"
	    "    color)\n"
	    "from . import local\n"
	    "import scipy.ndimage as ndi; import json\n"
	    "def f():\n"
	    "    import cv2\n"
	    "s = \"\"\"\n"
	    "import notreal\n"
	    "\"\"\"\n"
	    "from x import \\\n"
	    "    y\n"
	    "important = 1\n"
	    "fromage = 2\n";
	struct import_set s;
	size_t i;
	const char *want[] = { "from . import local", "from PIL import Image",
		"from PIL import ImageFilter as IF", "from skimage import color",
		"from skimage import filters", "from x import y", "import cv2", "import json",
		"import numpy as np", "import os", "import scipy.ndimage as ndi", "import sys" };

	codediff_imports(code, strlen(code), &s);
	CHECK_INT(s.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < s.n && i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_STR(s.line[i], want[i]);
	CHECK_INT(s.truncated, 0);
}

TEST(imports_diff)
{
	struct import_set a, b;
	struct import_diff d;
	const char *ca = "import numpy as np\nimport skimage2\nfrom PIL import Image\n";
	const char *cb = "import numpy as np\nfrom skimage import filters\nfrom PIL import Image\n";

	codediff_imports(ca, strlen(ca), &a);
	codediff_imports(cb, strlen(cb), &b);
	codediff_import_diff(&a, &b, &d);
	CHECK_INT(d.n_added, 1);
	CHECK_INT(d.n_removed, 1);
	CHECK_STR(d.added[0], "from skimage import filters");
	CHECK_STR(d.removed[0], "import skimage2");
	codediff_import_diff(&a, &a, &d);
	CHECK_INT(d.n_added + d.n_removed, 0);
}

/* Diffs with a budget of its own. */
static int
line_diff(const char *a, size_t alen, const char *b, size_t blen, struct line_diff *d)
{
	long budget = CODEDIFF_BUDGET;

	return codediff_lines(a, alen, b, blen, d, &budget);
}

TEST(line_diff)
{
	struct line_diff d;
	char *a, *b;
	size_t i, n;

	CHECK_INT(line_diff("a\nb\nc\n", 6, "a\nb\nc\n", 6, &d), 0);
	CHECK_INT(d.added, 0);
	CHECK_INT(d.removed, 0);
	line_diff("a\nb\nc\n", 6, "a\nB\nc\n", 6, &d);
	CHECK_INT(d.added, 1);
	CHECK_INT(d.removed, 1);
	line_diff("a\nc\n", 4, "a\nx\ny\nz\nc\n", 10, &d);
	CHECK_INT(d.added, 3);
	CHECK_INT(d.removed, 0);
	line_diff(NULL, 0, "a\nb\n", 4, &d);
	CHECK_INT(d.added, 2);
	CHECK_INT(d.removed, 0);
	line_diff("x\ny\nz\n", 6, "y\nz\nx\n", 6, &d);	/* a moved line */
	CHECK_INT(d.added, 1);
	CHECK_INT(d.removed, 1);
	CHECK_INT(d.approximate, 0);
	/* Past the bound on edits: counted as a multiset, said so. */
	n = 6000;
	a = malloc(n * 8);
	b = malloc(n * 8);
	if (a && b) {
		size_t la = 0, lb = 0;
		for (i = 0; i < n; i++) {
			la += (size_t)sprintf(a + la, "a%zu\n", i);
			lb += (size_t)sprintf(b + lb, "b%zu\n", i);
		}
		line_diff(a, la, b, lb, &d);
		CHECK_INT(d.added, (long)n);
		CHECK_INT(d.removed, (long)n);
		CHECK_INT(d.approximate, 1);
	}
	free(a);
	free(b);
}

TEST(line_diff_budget)
{
	static const char a[] = "a\nb\nc\nd\n", b[] = "a\nx\nc\ny\n";
	struct line_diff d;
	long budget = CODEDIFF_BUDGET, spent;

	/* The work is taken from the caller's budget, so diffs can share one. */
	CHECK_INT(codediff_lines(a, strlen(a), b, strlen(b), &d, &budget), 0);
	CHECK_INT(d.added, 2);
	CHECK_INT(d.removed, 2);
	CHECK_INT(d.approximate, 0);
	spent = CODEDIFF_BUDGET - budget;
	CHECK(spent > 0);
	/* With no budget left the counts are the multiset's, and said to be. */
	budget = 0;
	CHECK_INT(codediff_lines(a, strlen(a), b, strlen(b), &d, &budget), 0);
	CHECK_INT(d.approximate, 1);
	CHECK_INT(d.added, 2);
	CHECK_INT(d.removed, 2);
	/* Equal or empty sides need no budget and are exact. */
	budget = 0;
	CHECK_INT(codediff_lines(a, strlen(a), a, strlen(a), &d, &budget), 0);
	CHECK_INT(d.added + d.removed, 0);
	CHECK_INT(d.approximate, 0);
}

TEST(fix_changes)
{
	char out[8][RECORD_CHANGE_MAX];
	const char *fail = "from PIL import Image\nimg = img.resize((9, 9), Image.ANTIALIAS)\n";
	const char *fix = "from PIL import Image\nimg = img.resize((9, 9), Image.LANCZOS)\n";
	const char *rewrite = "import cv2\na.b\na.c\na.d\na.e\nImage.LANCZOS\n";
	size_t n;

	n = codediff_fix_changes(fail, strlen(fail), fix, strlen(fix), "attribute",
	    "module 'PIL.Image' has no attribute 'ANTIALIAS'", out, 8);
	CHECK_INT(n, 2);
	CHECK_STR(out[0], "-.ANTIALIAS");
	CHECK_STR(out[1], "+.LANCZOS");
	/* Too many new attributes: a rewrite, only the removal and imports. */
	n = codediff_fix_changes(fail, strlen(fail), rewrite, strlen(rewrite), "attribute",
	    "module 'PIL.Image' has no attribute 'ANTIALIAS'", out, 8);
	CHECK_INT(n, 3);
	CHECK_STR(out[0], "-.ANTIALIAS");
	CHECK_STR(out[1], "+import cv2");
	CHECK_STR(out[2], "-from PIL import Image");
	CHECK_INT(codediff_fix_changes(fail, strlen(fail), fail, strlen(fail), "import",
	    "x", out, 8), 0);
}

int
main(void)
{
	RUN(imports_parse);
	RUN(imports_diff);
	RUN(line_diff);
	RUN(line_diff_budget);
	RUN(fix_changes);
	return unit_done("codediff");
}
