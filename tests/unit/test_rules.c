/*
 * test_rules: shared/rules, the rule base without a log: which rule a
 * pattern meets, and its advice filled from the package list, the
 * allow-list and the limits (sizes in IEC units; what is said when a limit
 * or the list is not known); never a name a script made up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/rules.h"
#include "unit.h"

static struct allowlist allow;	/* "module tkinter" */

/* A package list as packages_load() would make it. */
static void
packages_fill(struct package_list *pk)
{
	static const char *const rows[][3] = {
		{ "python3", "import sys", "Python 3.11, standard library" },
		{ "python3-pil", "from PIL import Image, ImageDraw", "Pillow: open, convert" },
		{ "python3-numpy", "import numpy as np", "NumPy: arrays" },
		{ "python3-skimage", "from skimage import filters, color", "scikit-image: filters" },
	};
	size_t i;

	memset(pk, 0, sizeof(*pk));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(pk->p[i].package, sizeof(pk->p[i].package), "%s", rows[i][0]);
		snprintf(pk->p[i].import_line, sizeof(pk->p[i].import_line), "%s", rows[i][1]);
		snprintf(pk->p[i].about, sizeof(pk->p[i].about), "%s", rows[i][2]);
	}
	pk->n = i;
}

/* The advice for a pattern, into a static buffer. */
static const char *
advice(const char *category, const char *type, const char *pattern,
    const struct package_list *pk, const struct report_limits *lim)
{
	static char out[1024];
	struct rules_ctx c = { pk, lim, pattern, &allow };

	rules_advice(out, sizeof(out), rules_match(category, type, pattern), &c);
	return out;
}

TEST(rules_match_first)
{
	CHECK_STR(rules_match("import", "ModuleNotFoundError", "No module named 'x'")->id,
	    "missing_module");
	CHECK_STR(rules_match("attribute", "AttributeError",
	    "module 'PIL.Image' has no attribute 'ANTIALIAS'")->id, "pillow_antialias");
	CHECK_STR(rules_match("attribute", "AttributeError", "'Foo' object has no attribute 'x'")->id,
	    "attribute_api");
	CHECK_STR(rules_match("image", "error", "OpenCV(<N>) !_src.empty()")->id, "opencv_empty");
	CHECK_STR(rules_match("image", "OSError", "cannot write mode RGBA as JPEG")->id,
	    "pillow_jpeg_alpha");
	CHECK_STR(rules_match("rejected", "", "busy: every sandbox is busy")->id, "busy");
	/* Nothing else matches: the last rule answers. */
	CHECK_STR(rules_match("other", "RecursionError", "maximum recursion depth")->id, "other");
	CHECK_STR(rules_match("nonsense", "", "")->id, "other");
}

TEST(rules_advice_filled)
{
	struct report_limits lim = { 10000, 1073741824LL, 33554432LL };
	struct package_list pk;
	const char *a;

	packages_fill(&pk);
	a = advice("import", "ModuleNotFoundError", "No module named 'skimage2'", &pk, &lim);
	CHECK(strstr(a, "That module is not installed in the sandbox; the nearest installed "
	    "library is imported with `from skimage import filters, color`.") != NULL);
	CHECK(strstr(a, "skimage2") == NULL);	/* a name the script made up */
	/* A standard module the sandbox lacks is one of ours: named. */
	a = advice("import", "ModuleNotFoundError", "No module named 'tkinter'", &pk, &lim);
	CHECK(strncmp(a, "`tkinter` is not installed in the sandbox", 41) == 0);
	CHECK(strstr(a, "`import numpy as np`") != NULL);
	CHECK(strstr(a, "`import sys`") == NULL);	/* the standard library is not offered */
	a = advice("timeout", "", "timeout: went over the time limit", &pk, &lim);
	CHECK(strstr(a, "A run is stopped after 10 s:") != NULL);
	a = advice("memory", "", "oom: went over the memory limit", &pk, &lim);
	CHECK(strstr(a, "A run has 1 GiB of memory") != NULL);
	a = advice("output", "", "bad_output: /output/result.png is not a PNG", &pk, &lim);
	CHECK(strstr(a, "a real PNG of at most 32 MiB:") != NULL);
	lim.memory_bytes = 1610612736LL;
	lim.timeout_ms = 2500;
	CHECK(strstr(advice("memory", "", "oom", &pk, &lim), "1.5 GiB of memory") != NULL);
	CHECK(strstr(advice("timeout", "", "timeout", &pk, &lim), "stopped after 2.5 s") != NULL);
	a = advice("attribute", "AttributeError", "'Foo' object has no attribute 'x'", &pk, &lim);
	CHECK(strstr(a, "(Pillow, NumPy, scikit-image)") != NULL);
}

TEST(rules_advice_names)
{
	struct report_limits lim = { 0, 0, 0 };
	struct package_list pk;

	packages_fill(&pk);
	CHECK(strstr(advice("name", "NameError", "name 'np' is not defined", &pk, &lim),
	    "before using it: `np` comes from `import numpy as np`.") != NULL);
	CHECK(strstr(advice("name", "NameError", "name 'json' is not defined", &pk, &lim),
	    "before using it: add `import json`.") != NULL);
	CHECK(strstr(advice("name", "NameError", "name 'foo' is not defined", &pk, &lim),
	    "before using it.") != NULL);
}

TEST(rules_advice_unknowns)
{
	struct report_limits lim = { 0, 0, 0 };
	struct package_list pk;
	const char *a;

	memset(&pk, 0, sizeof(pk));
	/* No limits known: no figures claimed. */
	CHECK(strstr(advice("timeout", "", "timeout", &pk, &lim), "stopped after its time limit:")
	    != NULL);
	CHECK(strstr(advice("memory", "", "oom", &pk, &lim), "A run has a bounded amount of memory")
	    != NULL);
	CHECK(strstr(advice("output", "", "bad_output", &pk, &lim), "at most the output limit:")
	    != NULL);
	/* No package list: it is named, not listed. */
	a = advice("import", "ModuleNotFoundError", "No module named 'x'", &pk, &lim);
	CHECK(strstr(a, "That module is not installed in the sandbox. Import only what is "
	    "installed: the libraries of the sandbox's package list.") != NULL);
	a = advice("import", "ModuleNotFoundError", "No module named", &pk, &lim);
	CHECK(strncmp(a, "That module is not installed", 28) == 0);
}

TEST(rules_advice_bounded)
{
	struct report_limits lim = { 10000, 1073741824LL, 33554432LL };
	struct rules_ctx c;
	struct package_list pk;
	char out[40];

	packages_fill(&pk);
	c = (struct rules_ctx){ &pk, &lim, "No module named 'tkinter'", &allow };
	memset(out, 'x', sizeof(out));
	rules_advice(out, sizeof(out), rules_match("import", "ModuleNotFoundError", c.pattern), &c);
	CHECK(strlen(out) < sizeof(out));
	CHECK(strncmp(out, "`tkinter` is not installed", 26) == 0);
}

int
main(void)
{
	char path[] = "/tmp/test_rules.XXXXXX", err[256];
	FILE *fp;
	int fd, rc;

	if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		return 1;
	}
	fputs("# an allow-list\nmodule tkinter\n", fp);
	fclose(fp);
	rc = allowlist_load(path, &allow, err, sizeof(err));
	unlink(path);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	RUN(rules_match_first);
	RUN(rules_advice_filled);
	RUN(rules_advice_names);
	RUN(rules_advice_unknowns);
	RUN(rules_advice_bounded);
	allowlist_free(&allow);
	return unit_done("rules");
}
