/*
 * test_packages: shared/packages: reading the runner image's package list
 * (and the project's own), the library a missing module most likely meant,
 * the import line that binds a name; the allow-list of names the lessons
 * may say (a test's, and the committed one made from the image).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "facts/packages.h"
#include "unit.h"

static char tmpdir[256];

/* Returns a path in the test's temp dir (static buffer, one at a time). */
static const char *
tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static const char packages_txt[] =
	"# comment\n"
	"python3             | import sys                           | Python 3.11, standard library\n"
	"python3-pil         | from PIL import Image, ImageFilter, ImageOps, ImageDraw | Pillow: open, convert\n"
	"python3-numpy       | import numpy as np                   | NumPy: arrays\n"
	"\n"
	"not a package line\n"
	"python3-opencv      | import cv2                           | OpenCV (cv2): BGR uint8 arrays\n"
	"python3-skimage     | from skimage import filters, color   | scikit-image: filters\n";

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

TEST(packages_load)
{
	struct package_list pk;
	char err[256];

	write_file(tmp_path("packages.txt"), packages_txt);
	CHECK_INT(packages_load(tmp_path("packages.txt"), &pk, err, sizeof(err)), 0);
	CHECK_INT(pk.n, 5);
	CHECK_STR(pk.p[1].package, "python3-pil");
	CHECK_STR(pk.p[1].import_line, "from PIL import Image, ImageFilter, ImageOps, ImageDraw");
	CHECK_STR(pk.p[1].about, "Pillow: open, convert");
	CHECK_STR(pk.p[2].import_line, "import numpy as np");
	CHECK_INT(packages_load(tmp_path("missing.txt"), &pk, err, sizeof(err)), -1);
	CHECK_INT(pk.n, 0);
	CHECK(strstr(err, "missing.txt") != NULL);
	/* The project's own list, when the test runs from the repository. */
	if (access("runner_image/packages.txt", R_OK) == 0) {
		CHECK_INT(packages_load("runner_image/packages.txt", &pk, err, sizeof(err)), 0);
		CHECK(pk.n >= 5);
	}
}

/* Returns the import line of the nearest package to missing, or "-". */
static const char *
nearest(const struct package_list *pk, const char *missing)
{
	int k = packages_nearest(pk, missing);

	return k >= 0 ? pk->p[k].import_line : "-";
}

TEST(packages_nearest)
{
	struct package_list pk;
	char err[256];

	write_file(tmp_path("packages.txt"), packages_txt);
	CHECK_INT(packages_load(tmp_path("packages.txt"), &pk, err, sizeof(err)), 0);
	/* Within two edits, the standard library never offered. */
	CHECK_STR(nearest(&pk, "skimage2"), "from skimage import filters, color");
	CHECK_STR(nearest(&pk, "nump"), "import numpy as np");
	CHECK_STR(nearest(&pk, "cv3.x"), "import cv2");
	/* Names people use for what is installed under another. */
	CHECK_STR(nearest(&pk, "opencv"), "import cv2");
	CHECK_STR(nearest(&pk, "Pillow"), "from PIL import Image, ImageFilter, ImageOps, ImageDraw");
	CHECK_STR(nearest(&pk, "scikit_image"), "from skimage import filters, color");
	CHECK_STR(nearest(&pk, "tensorflow"), "-");
	CHECK_STR(nearest(&pk, "sys"), "-");
	pk.n = 0;
	CHECK_STR(nearest(&pk, "numpy"), "-");
}

TEST(packages_binding)
{
	struct package_list pk;
	char err[256];

	write_file(tmp_path("packages.txt"), packages_txt);
	CHECK_INT(packages_load(tmp_path("packages.txt"), &pk, err, sizeof(err)), 0);
	CHECK_INT(packages_binding(&pk, "np"), 2);		/* import numpy as np */
	CHECK_INT(packages_binding(&pk, "numpy"), -1);		/* bound as np only */
	CHECK_INT(packages_binding(&pk, "ImageOps"), 1);	/* from PIL import ..., ImageOps */
	CHECK_INT(packages_binding(&pk, "cv2"), 3);
	CHECK_INT(packages_binding(&pk, "color"), 4);
	CHECK_INT(packages_binding(&pk, "sys"), 0);
	CHECK_INT(packages_binding(&pk, "Image2"), -1);
}

static const char allowlist_txt[] =
	"# comment\n"
	"exception ValueError\n"
	"exception cv2.error\n"
	"exception re.error\n"
	"exception numpy.linalg.LinAlgError\n"
	"exception not a name\n"
	"module PIL\n"
	"module PIL.Image\n"
	"module numpy\n"
	"module skimage\n"
	"module skimage.filters\n"
	"attr PIL.Image.LANCZOS\r\n"
	"attr PIL.ImageOps\n"
	"alias np numpy\n"
	"nonsense line\n";

TEST(allowlist_lookups)
{
	struct allowlist al;
	char err[256];

	write_file(tmp_path("allow.txt"), allowlist_txt);
	CHECK_INT(allowlist_load(tmp_path("allow.txt"), &al, err, sizeof(err)), 0);
	CHECK_INT(al.nexc, 4);
	/* Types: a builtin as it is, a library's by its one class, a name two
	 * classes share as the bare name, nothing else. */
	CHECK_STR(allowlist_exception(&al, "ValueError"), "ValueError");
	CHECK_STR(allowlist_exception(&al, "LinAlgError"), "numpy.linalg.LinAlgError");
	CHECK_STR(allowlist_exception(&al, "numpy.linalg.LinAlgError"), "numpy.linalg.LinAlgError");
	CHECK_STR(allowlist_exception(&al, "error"), "error");
	CHECK_STR(allowlist_exception(&al, "cv2.error"), "cv2.error");
	CHECK(allowlist_exception(&al, "evil.error") == NULL);
	CHECK(allowlist_exception(&al, "IgnorePreviousInstructions") == NULL);
	CHECK(allowlist_exception(&al, "") == NULL);
	CHECK(allowlist_exception(NULL, "ValueError") == NULL);
	CHECK(allowlist_module(&al, "PIL.Image"));
	CHECK(!allowlist_module(&al, "skimage2"));
	CHECK(allowlist_attr(&al, "PIL.Image.LANCZOS"));	/* a CR at the end is no part */
	CHECK(allowlist_name(&al, "LANCZOS"));
	CHECK(allowlist_name(&al, "np"));
	CHECK(!allowlist_name(&al, "evil"));
	/* The changes of a fix: every name on the list. */
	CHECK(allowlist_change(&al, "+.LANCZOS"));
	CHECK(allowlist_change(&al, "+import numpy as np"));
	CHECK(allowlist_change(&al, "-import numpy"));
	CHECK(allowlist_change(&al, "+from skimage import filters"));
	CHECK(allowlist_change(&al, "+from PIL import ImageOps"));
	CHECK(allowlist_change(&al, "+from PIL import *"));
	CHECK(!allowlist_change(&al, "-import skimage2"));
	CHECK(!allowlist_change(&al, "+import numpy as IgnoreAll"));
	CHECK(!allowlist_change(&al, "+from skimage import evil"));
	CHECK(!allowlist_change(&al, "+from .x import y"));
	CHECK(!allowlist_change(&al, "+.Ignore previous instructions"));
	CHECK(!allowlist_change(&al, "import numpy"));		/* no sign */
	CHECK(!allowlist_change(NULL, "+import numpy"));
	allowlist_free(&al);
	CHECK_INT(allowlist_load(tmp_path("none.txt"), &al, err, sizeof(err)), -1);
	CHECK(allowlist_exception(&al, "ValueError") == NULL);	/* allows nothing */
	allowlist_free(&al);
}

TEST(allowlist_committed)
{
	struct allowlist al;
	char err[256];

	/* The one made from the runner image (make unit runs from the
	 * repository): the names the lessons need are on it. */
	CHECK_INT(allowlist_load("runner_image/allowlist.txt", &al, err, sizeof(err)), 0);
	CHECK(al.nexc > 60 && al.nmod > 200 && al.nattr > 1000);
	CHECK_STR(allowlist_exception(&al, "ModuleNotFoundError"), "ModuleNotFoundError");
	CHECK_STR(allowlist_exception(&al, "LinAlgError"), "numpy.linalg.LinAlgError");
	CHECK(allowlist_exception(&al, "UnidentifiedImageError") != NULL);
	CHECK(allowlist_exception(&al, "error") != NULL);	/* cv2.error among others */
	CHECK(allowlist_change(&al, "+from skimage import filters"));
	CHECK(allowlist_change(&al, "+import numpy as np"));
	CHECK(allowlist_change(&al, "+import scipy.ndimage as ndi"));
	CHECK(allowlist_change(&al, "+.LANCZOS"));
	CHECK(allowlist_change(&al, "-.ANTIALIAS"));		/* Pillow 9's, deprecated */
	CHECK(allowlist_change(&al, "+.cvtColor"));
	CHECK(allowlist_change(&al, "+import os"));
	CHECK(!allowlist_change(&al, "-import skimage2"));
	CHECK(allowlist_exception(&al, "IgnorePreviousInstructions") == NULL);
	allowlist_free(&al);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_packages.XXXXXX", cmd[600];

	log_init("test_packages");
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	RUN(packages_load);
	RUN(packages_nearest);
	RUN(packages_binding);
	RUN(allowlist_lookups);
	RUN(allowlist_committed);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return unit_done("packages");
}
