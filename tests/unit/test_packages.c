/*
 * test_packages: shared/packages: reading the runner image's package list
 * (and the project's own), the library a missing module most likely meant,
 * the import line that binds a name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../shared/log.h"
#include "../../shared/packages.h"
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
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return unit_done("packages");
}
