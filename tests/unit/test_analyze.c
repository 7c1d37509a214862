/*
 * test_analyze: shared/analyze. Text facts (SHA-256, tracebacks,
 * categories, the normaliser on real Python messages, imports and diffs,
 * the package list) and the reports over a real SQLite file in a temp dir:
 * the scripted session (missing module, removed Pillow attribute, success).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../shared/analyze.h"
#include "../../shared/log.h"
#include "../../shared/logdb.h"
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

/* ---- SHA-256 ---------------------------------------------------------------- */

TEST(sha256_vectors)
{
	char hex[65], *big;

	analyze_sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	analyze_sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	analyze_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	if ((big = malloc(1000000)) != NULL) {
		memset(big, 'a', 1000000);
		analyze_sha256_hex(big, 1000000, hex);
		CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
		free(big);
	}
}

/* ---- Tracebacks -------------------------------------------------------------- */

static void
check_tb(const char *text, int found, const char *type, const char *msg, int line)
{
	struct tb_facts f;
	char m[512];
	int rc = analyze_parse_traceback(text, strlen(text), &f);

	CHECK_INT(rc, found);
	if (!found || rc != found)
		return;
	CHECK_STR(f.type, type);
	snprintf(m, sizeof(m), "%.*s", (int)f.message_len, f.message);
	CHECK_STR(m, msg);
	CHECK_INT(f.line, line);
}

TEST(traceback_runtime)
{
	check_tb("Traceback (most recent call last):\n"
	    "  File \"/code/main.py\", line 7, in <module>\n"
	    "    main()\n"
	    "  File \"/code/main.py\", line 4, in main\n"
	    "    return d['width']\n"
	    "           ~^^^^^^^^^\n"
	    "KeyError: 'width'\n", 1, "KeyError", "'width'", 4);
}

TEST(traceback_library_frames)
{
	/* The last /code/main.py line, not the library's. */
	check_tb("Traceback (most recent call last):\n"
	    "  File \"/code/main.py\", line 12, in <module>\n"
	    "    img.save('/output/result.jpg')\n"
	    "  File \"/usr/lib/python3/dist-packages/PIL/Image.py\", line 2431, in save\n"
	    "    save_handler(self, fp, filename)\n"
	    "KeyError: 'RGBA'\n"
	    "\n"
	    "The above exception was the direct cause of the following exception:\n"
	    "\n"
	    "Traceback (most recent call last):\n"
	    "  File \"/code/main.py\", line 12, in <module>\n"
	    "    img.save('/output/result.jpg')\n"
	    "  File \"/usr/lib/python3/dist-packages/PIL/JpegImagePlugin.py\", line 643, in _save\n"
	    "    raise OSError(msg) from e\n"
	    "OSError: cannot write mode RGBA as JPEG\n"
	    "\x1eIMGSANDBOX {\"type\": \"OSError\"}\n",
	    1, "OSError", "cannot write mode RGBA as JPEG", 12);
}

TEST(traceback_syntax)
{
	check_tb("  File \"/code/main.py\", line 3\n"
	    "    print(\"x\"\n"
	    "         ^\n"
	    "SyntaxError: '(' was never closed\n", 1, "SyntaxError", "'(' was never closed", 3);
}

TEST(traceback_dotted_and_multiline)
{
	check_tb("Traceback (most recent call last):\n"
	    "  File \"/code/main.py\", line 2, in <module>\n"
	    "    g = cv2.cvtColor(None, cv2.COLOR_BGR2GRAY)\n"
	    "cv2.error: OpenCV(4.6.0) color.cpp:182: error: (-215:Assertion failed)\n"
	    "!_src.empty() in function 'cvtColor'\n"
	    "\n", 1, "error",
	    "OpenCV(4.6.0) color.cpp:182: error: (-215:Assertion failed)\n"
	    "!_src.empty() in function 'cvtColor'", 2);
}

TEST(traceback_bare_and_crlf)
{
	check_tb("Traceback (most recent call last):\r\n"
	    "  File \"/code/main.py\", line 9, in <module>\r\n"
	    "    time.sleep(100)\r\n"
	    "KeyboardInterrupt\r\n", 1, "KeyboardInterrupt", "", 9);
}

TEST(traceback_none)
{
	check_tb("", 0, "", "", 0);
	check_tb("hello world\nValueError: printed by the script, not raised\n", 0, "", "", 0);
	check_tb("Traceback (most recent call last):\n", 0, "", "", 0);
}

/* ---- Categories ------------------------------------------------------------------ */

TEST(categories)
{
	CHECK_STR(analyze_category("success", NULL, NULL), "");
	CHECK_STR(analyze_category("error", "ModuleNotFoundError", "No module named 'x'"), "import");
	CHECK_STR(analyze_category("error", "ImportError", "cannot import name 'y'"), "import");
	CHECK_STR(analyze_category("error", "AttributeError", "x"), "attribute");
	CHECK_STR(analyze_category("error", "KeyError", "'w'"), "data_access");
	CHECK_STR(analyze_category("error", "IndexError", "list index out of range"), "data_access");
	CHECK_STR(analyze_category("error", "TypeError", "x"), "type");
	CHECK_STR(analyze_category("error", "ValueError", "x"), "value");
	CHECK_STR(analyze_category("error", "ZeroDivisionError", "division by zero"), "value");
	CHECK_STR(analyze_category("error", "SyntaxError", "x"), "syntax");
	CHECK_STR(analyze_category("error", "IndentationError", "x"), "syntax");
	CHECK_STR(analyze_category("error", "TabError", "x"), "syntax");
	CHECK_STR(analyze_category("error", "NameError", "x"), "name");
	CHECK_STR(analyze_category("error", "FileNotFoundError", "x"), "file");
	CHECK_STR(analyze_category("error", "PermissionError", "x"), "file");
	CHECK_STR(analyze_category("error", "IsADirectoryError", "x"), "file");
	CHECK_STR(analyze_category("error", "OSError", "[Errno 30] Read-only file system: '/x'"),
	    "file");
	CHECK_STR(analyze_category("error", "OSError", "cannot write mode RGBA as JPEG"), "image");
	CHECK_STR(analyze_category("error", "ValueError", "image has wrong mode"), "image");
	CHECK_STR(analyze_category("error", "error", "OpenCV(4.6.0) ..."), "image");
	CHECK_STR(analyze_category("error", "MemoryError", ""), "memory");
	CHECK_STR(analyze_category("oom", NULL, NULL), "memory");
	CHECK_STR(analyze_category("timeout", NULL, NULL), "timeout");
	CHECK_STR(analyze_category("no_output", NULL, NULL), "output");
	CHECK_STR(analyze_category("bad_output", NULL, NULL), "output");
	CHECK_STR(analyze_category("rejected", NULL, NULL), "rejected");
	CHECK_STR(analyze_category("error", NULL, NULL), "other");
	CHECK_STR(analyze_category("error", "RecursionError", "x"), "other");
	CHECK_STR(analyze_category(NULL, NULL, NULL), "other");
}

/* ---- The normaliser ---------------------------------------------------------------- */

static void
check_norm(const char *type, const char *msg, const char *want)
{
	char out[LOGDB_PATTERN_MAX];

	analyze_normalise(type, msg, strlen(msg), out, sizeof(out));
	CHECK_STR(out, want);
}

TEST(normalise_real_messages)
{
	/* Module, attribute and type names are the lesson: kept. */
	check_norm("ModuleNotFoundError", "No module named 'skimage2'", "No module named 'skimage2'");
	check_norm("ModuleNotFoundError", "No module named 'sklearn.cluster'",
	    "No module named 'sklearn.cluster'");
	check_norm("AttributeError", "module 'PIL.Image' has no attribute 'ANTIALIAS'",
	    "module 'PIL.Image' has no attribute 'ANTIALIAS'");
	check_norm("AttributeError", "'NoneType' object has no attribute 'shape'",
	    "'NoneType' object has no attribute 'shape'");
	check_norm("ImportError", "cannot import name 'ANTIALIAS' from 'PIL.Image' "
	    "(/usr/lib/python3/dist-packages/PIL/Image.py)",
	    "cannot import name 'ANTIALIAS' from 'PIL.Image' (<path>)");
	check_norm("NameError", "name 'np' is not defined", "name 'np' is not defined");
	check_norm("TypeError", "unsupported operand type(s) for +: 'int' and 'str'",
	    "unsupported operand type(s) for +: 'int' and 'str'");
	/* User data: replaced. */
	check_norm("KeyError", "'width'", "<name>");
	check_norm("KeyError", "'USER_PARAMS'", "'USER_PARAMS'");
	check_norm("ValueError", "invalid literal for int() with base 10: 'abc'",
	    "invalid literal for int() with base <N>: <name>");
	check_norm("IndexError", "index 640 is out of bounds for axis 0 with size 480",
	    "index <N> is out of bounds for axis <N> with size <N>");
	check_norm("ValueError", "operands could not be broadcast together with shapes "
	    "(480,640,3) (480,640) ", "operands could not be broadcast together with shapes "
	    "(<N>,<N>,<N>) (<N>,<N>)");
	check_norm("MemoryError", "Unable to allocate 3.58 GiB for an array with shape "
	    "(20000, 20000, 3) and data type float64", "Unable to allocate <N> GiB for an array "
	    "with shape (<N>, <N>, <N>) and data type float64");
	check_norm("TypeError", "Cannot handle this data type: (1, 1, 3), <f8",
	    "Cannot handle this data type: (<N>, <N>, <N>), <f8");
	/* Paths: the sandbox's kept, others replaced. */
	check_norm("FileNotFoundError", "[Errno 2] No such file or directory: '/input/image.png'",
	    "[Errno <N>] No such file or directory: '/input/image.png'");
	check_norm("FileNotFoundError", "[Errno 2] No such file or directory: 'photo.jpg'",
	    "[Errno <N>] No such file or directory: <path>");
	check_norm("OSError", "[Errno 30] Read-only file system: '/code/out.png'",
	    "[Errno <N>] Read-only file system: <path>");
	check_norm("error", "OpenCV(4.6.0) /tmp/opencv-4.6.0/modules/imgproc/src/color.cpp:182: "
	    "error: (-215:Assertion failed) !_src.empty() in function 'cvtColor'\n",
	    "OpenCV(<N>) <path>:<N>: error: (-<N>:Assertion failed) !_src.empty() in function "
	    "'cvtColor'");
	/* Ids, sizes, kept words. */
	check_norm("ValueError", "<PIL.Image.Image image mode=RGB size=640x480 at 0x7F3A2B1C>",
	    "<PIL.Image.Image image mode=RGB size=<N>x<N> at <id>>");
	check_norm("RuntimeError", "job 9f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b failed",
	    "job <id> failed");
	check_norm("OSError", "cannot write mode RGBA as JPEG", "cannot write mode RGBA as JPEG");
	check_norm("ValueError", "image has wrong mode", "image has wrong mode");
	check_norm("SyntaxError", "'(' was never closed", "'(' was never closed");
	check_norm("SyntaxError", "unterminated string literal (detected at line 3)",
	    "unterminated string literal (detected at line <N>)");
	check_norm("ValueError", "  spaced\t\tout \n text  ", "spaced out text");
}

TEST(normalise_bounds)
{
	char big[2000], out[LOGDB_PATTERN_MAX], tiny[8];
	size_t n;

	memset(big, 'x', sizeof(big));
	memcpy(big + 180, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);	/* é: never cut in two */
	n = analyze_normalise("ValueError", big, sizeof(big), out, sizeof(out));
	CHECK(n < sizeof(out));
	CHECK_INT(strlen(out), n);
	CHECK(n >= 3 && strcmp(out + n - 3, "...") == 0);
	CHECK(((unsigned char)out[n - 4] & 0xC0) != 0xC0);
	n = analyze_normalise("ValueError", "0123456789 0123456789", 21, tiny, sizeof(tiny));
	CHECK(n < sizeof(tiny));
	CHECK_INT(analyze_normalise("ValueError", NULL, 0, out, sizeof(out)), 0);
	CHECK_STR(out, "");
}

TEST(classify_outcomes)
{
	struct run_record r;
	struct analyze_class c;

	memset(&r, 0, sizeof(r));
	r.status = "success";
	analyze_classify(&r, &c);
	CHECK_STR(c.category, "");
	CHECK_STR(c.pattern, "");
	r.status = "timeout";
	analyze_classify(&r, &c);
	CHECK_STR(c.category, "timeout");
	CHECK_STR(c.pattern, "timeout: went over the time limit");
	r.status = "no_output";
	analyze_classify(&r, &c);
	CHECK_STR(c.category, "output");
	CHECK_STR(c.pattern, "no_output: wrote no /output/result.png");
	r.status = "oom";
	r.error_message = "killed after 1073741824 bytes";
	analyze_classify(&r, &c);
	CHECK_STR(c.category, "memory");
	CHECK_STR(c.pattern, "oom: killed after <N> bytes");
	memset(&r, 0, sizeof(r));
	r.status = "rejected";
	r.reject_code = "too_large";
	r.reject_message = "code is over 262144 bytes";
	analyze_classify(&r, &c);
	CHECK_STR(c.category, "rejected");
	CHECK_STR(c.pattern, "too_large: code is over <N> bytes");
	memset(&r, 0, sizeof(r));
	r.status = "error";
	r.error_type = "MemoryError";
	analyze_classify(&r, &c);
	CHECK_STR(c.category, "memory");
	CHECK_STR(c.pattern, "");
	r.error_type = NULL;
	analyze_classify(&r, &c);
	CHECK_STR(c.category, "other");
	CHECK_STR(c.pattern, "exited with an error and no traceback");
}

/* ---- Imports and diffs ------------------------------------------------------------------ */

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

	analyze_imports(code, strlen(code), &s);
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

	analyze_imports(ca, strlen(ca), &a);
	analyze_imports(cb, strlen(cb), &b);
	analyze_import_diff(&a, &b, &d);
	CHECK_INT(d.n_added, 1);
	CHECK_INT(d.n_removed, 1);
	CHECK_STR(d.added[0], "from skimage import filters");
	CHECK_STR(d.removed[0], "import skimage2");
	analyze_import_diff(&a, &a, &d);
	CHECK_INT(d.n_added + d.n_removed, 0);
}

TEST(line_diff)
{
	struct line_diff d;
	char *a, *b;
	size_t i, n;

	CHECK_INT(analyze_line_diff("a\nb\nc\n", 6, "a\nb\nc\n", 6, &d), 0);
	CHECK_INT(d.added, 0);
	CHECK_INT(d.removed, 0);
	analyze_line_diff("a\nb\nc\n", 6, "a\nB\nc\n", 6, &d);
	CHECK_INT(d.added, 1);
	CHECK_INT(d.removed, 1);
	analyze_line_diff("a\nc\n", 4, "a\nx\ny\nz\nc\n", 10, &d);
	CHECK_INT(d.added, 3);
	CHECK_INT(d.removed, 0);
	analyze_line_diff(NULL, 0, "a\nb\n", 4, &d);
	CHECK_INT(d.added, 2);
	CHECK_INT(d.removed, 0);
	analyze_line_diff("x\ny\nz\n", 6, "y\nz\nx\n", 6, &d);	/* a moved line */
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
		analyze_line_diff(a, la, b, lb, &d);
		CHECK_INT(d.added, (long)n);
		CHECK_INT(d.removed, (long)n);
		CHECK_INT(d.approximate, 1);
	}
	free(a);
	free(b);
}

TEST(fix_changes)
{
	char out[8][LOGDB_CHANGE_MAX];
	const char *fail = "from PIL import Image\nimg = img.resize((9, 9), Image.ANTIALIAS)\n";
	const char *fix = "from PIL import Image\nimg = img.resize((9, 9), Image.LANCZOS)\n";
	const char *rewrite = "import cv2\na.b\na.c\na.d\na.e\nImage.LANCZOS\n";
	size_t n;

	n = analyze_fix_changes(fail, strlen(fail), fix, strlen(fix), "attribute",
	    "module 'PIL.Image' has no attribute 'ANTIALIAS'", out, 8);
	CHECK_INT(n, 2);
	CHECK_STR(out[0], "-.ANTIALIAS");
	CHECK_STR(out[1], "+.LANCZOS");
	/* Too many new attributes: a rewrite, only the removal and imports. */
	n = analyze_fix_changes(fail, strlen(fail), rewrite, strlen(rewrite), "attribute",
	    "module 'PIL.Image' has no attribute 'ANTIALIAS'", out, 8);
	CHECK_INT(n, 3);
	CHECK_STR(out[0], "-.ANTIALIAS");
	CHECK_STR(out[1], "+import cv2");
	CHECK_STR(out[2], "-from PIL import Image");
	CHECK_INT(analyze_fix_changes(fail, strlen(fail), fail, strlen(fail), "import",
	    "x", out, 8), 0);
}

/* ---- The package list -------------------------------------------------------------------- */

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
	struct analyze_packages pk;
	char err[256];

	write_file(tmp_path("packages.txt"), packages_txt);
	CHECK_INT(analyze_packages_load(tmp_path("packages.txt"), &pk, err, sizeof(err)), 0);
	CHECK_INT(pk.n, 5);
	CHECK_STR(pk.p[1].package, "python3-pil");
	CHECK_STR(pk.p[1].import_line, "from PIL import Image, ImageFilter, ImageOps, ImageDraw");
	CHECK_STR(pk.p[1].about, "Pillow: open, convert");
	CHECK_STR(pk.p[2].import_line, "import numpy as np");
	CHECK_INT(analyze_packages_load(tmp_path("missing.txt"), &pk, err, sizeof(err)), -1);
	CHECK_INT(pk.n, 0);
	CHECK(strstr(err, "missing.txt") != NULL);
	/* The project's own list, when the test runs from the repository. */
	if (access("runner_image/packages.txt", R_OK) == 0) {
		CHECK_INT(analyze_packages_load("runner_image/packages.txt", &pk, err, sizeof(err)), 0);
		CHECK(pk.n >= 5);
	}
}

TEST(session_ids)
{
	CHECK_INT(analyze_valid_session_id("s-demo_1"), 1);
	CHECK_INT(analyze_valid_session_id(""), 0);
	CHECK_INT(analyze_valid_session_id("a b"), 0);
	CHECK_INT(analyze_valid_session_id("../x"), 0);
	CHECK_INT(analyze_valid_session_id(
	    "0123456789012345678901234567890123456789012345678901234567890123"), 1);
	CHECK_INT(analyze_valid_session_id(
	    "01234567890123456789012345678901234567890123456789012345678901234"), 0);
}

/* ---- The scripted session, through the reports ------------------------------------------- */

static const char code_fail1[] =
	"import numpy as np\nfrom PIL import Image\nimport skimage2\n"
	"img = Image.open(\"/input/image.png\")\n"
	"img = img.resize((100, 100), Image.ANTIALIAS)\nimg.save(\"/output/result.png\")\n";
static const char code_fail2[] =
	"import numpy as np\nfrom PIL import Image\nfrom skimage import filters\n"
	"img = Image.open(\"/input/image.png\")\n"
	"img = img.resize((100, 100), Image.ANTIALIAS)\nimg.save(\"/output/result.png\")\n";
static const char code_ok[] =
	"import numpy as np\nfrom PIL import Image\nfrom skimage import filters\n"
	"img = Image.open(\"/input/image.png\")\n"
	"img = img.resize((100, 100), Image.LANCZOS)\nimg.save(\"/output/result.png\")\n";

static int64_t ids[4];

/* Makes the scripted session in a new database. Returns the handle. */
static struct logdb *
scripted_session(const char *name)
{
	struct run_record r;
	struct logdb *db;
	char err[256];
	int attempt;

	unlink(tmp_path(name));
	if ((db = logdb_open(tmp_path(name), err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	memset(&r, 0, sizeof(r));
	r.session_id = "s-demo";
	r.job_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
	r.code = code_fail1;
	r.code_len = strlen(code_fail1);
	r.status = "error";
	r.http_status = 200;
	r.exit_code = 1;
	r.duration_ms = 300;
	r.error_type = "ModuleNotFoundError";
	r.error_message = "No module named 'skimage2'";
	r.error_line = 3;
	logdb_insert(db, &r, &ids[0], &attempt);
	CHECK_INT(attempt, 1);
	memset(&r, 0, sizeof(r));
	r.session_id = "s-demo";
	r.job_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2";
	r.previous_attempt_id = ids[0];
	r.code = code_fail2;
	r.code_len = strlen(code_fail2);
	r.status = "error";
	r.http_status = 200;
	r.exit_code = 1;
	r.duration_ms = 400;
	r.traceback = "Traceback (most recent call last):\n"
	    "  File \"/code/main.py\", line 5, in <module>\n"
	    "    img = img.resize((100, 100), Image.ANTIALIAS)\n"
	    "AttributeError: module 'PIL.Image' has no attribute 'ANTIALIAS'\n";
	logdb_insert(db, &r, &ids[1], &attempt);
	CHECK_INT(attempt, 2);
	memset(&r, 0, sizeof(r));
	r.session_id = "s-demo";
	r.job_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3";
	r.previous_attempt_id = ids[1];
	r.code = code_ok;
	r.code_len = strlen(code_ok);
	r.status = "success";
	r.http_status = 200;
	r.duration_ms = 500;
	logdb_insert(db, &r, &ids[2], &attempt);
	CHECK_INT(attempt, 3);
	return db;
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *
gs(const cJSON *o, const char *k)
{
	const cJSON *x = get(o, k);

	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double
gn(const cJSON *o, const char *k)
{
	const cJSON *x = get(o, k);

	return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

/* Returns 1 when the string array a holds s. */
static int
holds(const cJSON *a, const char *s)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, a)
		if (cJSON_IsString(x) && strcmp(x->valuestring, s) == 0)
			return 1;
	return 0;
}

TEST(scripted_session_reports)
{
	struct analyze_env env = { NULL, { 10000, 1073741824LL, 33554432LL } };
	enum analyze_status st;
	struct logdb *db;
	cJSON *doc;
	const cJSON *a, *x, *fix, *c;
	char *text, pkpath[512];
	size_t len;
	int found;

	snprintf(pkpath, sizeof(pkpath), "%s", tmp_path("packages.txt"));
	write_file(pkpath, packages_txt);
	env.packages_file = pkpath;
	if ((db = scripted_session("scripted.db")) == NULL) {
		CHECK(0);
		return;
	}

	/* Summary. */
	doc = analyze_summary(db, &st);
	CHECK(doc != NULL);
	CHECK_INT(gn(doc, "total"), 3);
	CHECK_INT(gn(doc, "failures"), 2);
	CHECK_INT(gn(doc, "failures_fixed"), 2);
	CHECK_INT(gn(get(doc, "sessions"), "fixed"), 1);
	CHECK_INT(gn(get(doc, "sessions"), "unfixed"), 0);
	CHECK_INT(gn(get(doc, "by_status"), "error"), 2);
	CHECK_INT(gn(get(doc, "duration_ms"), "max"), 500);
	cJSON_Delete(doc);

	/* Categories and patterns. */
	doc = analyze_error_patterns(db, 50, &st);
	CHECK(doc != NULL);
	found = 0;
	cJSON_ArrayForEach(x, get(doc, "categories")) {
		if (strcmp(gs(x, "category"), "import") == 0 ||
		    strcmp(gs(x, "category"), "attribute") == 0) {
			found++;
			CHECK_INT(gn(x, "fix_rate") * 100, 100);
		}
	}
	CHECK_INT(found, 2);
	found = 0;
	cJSON_ArrayForEach(x, get(doc, "patterns")) {
		if (strcmp(gs(x, "pattern"), "No module named 'skimage2'") == 0) {
			CHECK_STR(gs(x, "type"), "ModuleNotFoundError");
			CHECK_INT(gn(x, "example_log_id"), ids[0]);
			found++;
		}
		if (strcmp(gs(x, "pattern"), "module 'PIL.Image' has no attribute 'ANTIALIAS'") == 0) {
			CHECK_STR(gs(x, "type"), "AttributeError");	/* parsed from the traceback */
			found++;
		}
	}
	CHECK_INT(found, 2);
	cJSON_Delete(doc);

	/* The session: the fixes and what they changed. */
	doc = analyze_session(db, "s-demo", &st);
	CHECK(doc != NULL);
	CHECK_INT(gn(doc, "attempt_count"), 3);
	CHECK_INT(cJSON_GetArraySize(get(doc, "fixes")), 2);
	fix = cJSON_GetArrayItem(get(doc, "fixes"), 0);
	CHECK_INT(gn(fix, "failure_log_id"), ids[0]);
	CHECK_INT(gn(fix, "fixed_by_log_id"), ids[2]);
	CHECK_STR(gs(fix, "category"), "import");
	c = get(fix, "changes");
	CHECK(holds(get(c, "imports_added"), "from skimage import filters"));
	CHECK(holds(get(c, "imports_removed"), "import skimage2"));
	CHECK_INT(gn(c, "lines_added"), 2);
	CHECK_INT(gn(c, "lines_removed"), 2);
	fix = cJSON_GetArrayItem(get(doc, "fixes"), 1);
	CHECK_STR(gs(fix, "category"), "attribute");
	CHECK_INT(gn(get(fix, "changes"), "lines_added"), 1);
	CHECK_INT(cJSON_GetArraySize(get(doc, "unfixed")), 0);
	a = get(doc, "attempts");
	CHECK(cJSON_IsNull(get(cJSON_GetArrayItem(a, 0), "changes")));
	c = get(cJSON_GetArrayItem(a, 1), "changes");
	CHECK(holds(get(c, "imports_added"), "from skimage import filters"));
	CHECK_INT(gn(get(cJSON_GetArrayItem(a, 1), "error"), "line"), 5);
	cJSON_Delete(doc);
	CHECK(analyze_session(db, "s-none", &st) == NULL);
	CHECK_INT(st, ANALYZE_NOT_FOUND);
	CHECK(analyze_log(db, 999, &st) == NULL);
	CHECK_INT(st, ANALYZE_NOT_FOUND);
	doc = analyze_log(db, ids[1], &st);
	CHECK(doc != NULL);
	CHECK_STR(gs(get(doc, "error"), "type"), "AttributeError");
	cJSON_Delete(doc);

	/* Recommendations: the rule's advice and the lesson from the fix. */
	doc = analyze_recommendations(db, &env, 50, &st);
	CHECK(doc != NULL);
	found = 0;
	cJSON_ArrayForEach(x, get(doc, "recommendations")) {
		if (strcmp(gs(x, "rule"), "missing_module") == 0) {
			found++;
			CHECK(strstr(gs(x, "advice"), "`skimage2` is not installed") != NULL);
			CHECK(strstr(gs(x, "advice"), "from skimage import filters, color") != NULL);
			CHECK(strstr(gs(x, "advice"), "import numpy as np") != NULL);
			CHECK_INT(gn(x, "example_log_id"), ids[0]);
			CHECK_INT(gn(x, "count"), 1);
			CHECK_INT(gn(x, "fix_rate") * 100, 100);
			CHECK(cJSON_GetArraySize(get(x, "learnt")) == 1);
			CHECK(strstr(cJSON_GetArrayItem(get(x, "learnt"), 0)->valuestring,
			    "adding `from skimage import filters`") != NULL);
		}
		if (strcmp(gs(x, "rule"), "pillow_antialias") == 0) {
			found++;
			CHECK(strstr(gs(x, "advice"), "Image.LANCZOS") != NULL);
			CHECK(strstr(cJSON_GetArrayItem(get(x, "learnt"), 0)->valuestring,
			    "using `.LANCZOS` instead of `.ANTIALIAS`") != NULL);
		}
	}
	CHECK_INT(found, 2);
	CHECK_INT(cJSON_GetArraySize(get(doc, "lessons")), 2);
	cJSON_Delete(doc);

	/* The whole analysis holds the same figures. */
	doc = analyze_analysis(db, &env, 50, &st);
	CHECK(doc != NULL);
	CHECK_INT(gn(get(doc, "summary"), "failures_fixed"), 2);
	CHECK_INT(cJSON_GetArraySize(get(doc, "trend")), 1);
	CHECK_INT(cJSON_GetArraySize(get(doc, "recommendations")), 2);
	cJSON_Delete(doc);

	/* The AI context: facts, limits, libraries, lessons; bounded. */
	text = analyze_context(db, &env, &len, &st);
	CHECK(text != NULL);
	if (text != NULL) {
		CHECK_INT(strlen(text), len);
		CHECK(len <= ANALYZE_CONTEXT_MAX);
		CHECK(strstr(text, "/code/main.py") != NULL);
		CHECK(strstr(text, "/input/image.png") != NULL);
		CHECK(strstr(text, "/output/result.png") != NULL);
		CHECK(strstr(text, "USER_PARAMS") != NULL);
		CHECK(strstr(text, "10 s wall clock") != NULL);
		CHECK(strstr(text, "1024 MB of memory") != NULL);
		CHECK(strstr(text, "32 MB for the result file") != NULL);
		CHECK(strstr(text, "import cv2") != NULL);
		CHECK(strstr(text, "No module named 'skimage2'") != NULL);
		CHECK(strstr(text, "Fixes that worked") != NULL);
		free(text);
	}
	logdb_close(db);
}

TEST(pages_and_paging)
{
	enum analyze_status st;
	struct logdb *db;
	cJSON *doc;

	if ((db = scripted_session("paging.db")) == NULL) {
		CHECK(0);
		return;
	}
	doc = analyze_page(db, LOGDB_FAILURES, 0, 1, &st);
	CHECK_INT(gn(doc, "count"), 1);
	CHECK_INT(gn(cJSON_GetArrayItem(get(doc, "items"), 0), "log_id"), ids[1]);
	CHECK_INT(gn(doc, "next_before"), ids[1]);
	cJSON_Delete(doc);
	doc = analyze_page(db, LOGDB_FAILURES, ids[1], 1, &st);
	CHECK_INT(gn(cJSON_GetArrayItem(get(doc, "items"), 0), "log_id"), ids[0]);
	CHECK_STR(gs(cJSON_GetArrayItem(get(doc, "items"), 0), "code"), code_fail1);
	cJSON_Delete(doc);
	doc = analyze_page(db, LOGDB_UNFIXED, 0, 50, &st);
	CHECK_INT(gn(doc, "count"), 0);
	CHECK(cJSON_IsNull(get(doc, "next_before")));
	cJSON_Delete(doc);
	doc = analyze_page(db, LOGDB_SUCCESSES, 0, 50, &st);
	CHECK_INT(gn(doc, "count"), 1);
	cJSON_Delete(doc);
	logdb_close(db);
}

TEST(context_bounded_and_without_limits)
{
	struct analyze_env env = { NULL, { 0, 0, 0 } };
	struct run_record r;
	enum analyze_status st;
	struct logdb *db;
	char err[256], msg[300], sid[16];
	size_t len;
	char *text;
	int i;

	unlink(tmp_path("many.db"));
	if ((db = logdb_open(tmp_path("many.db"), err, sizeof(err))) == NULL) {
		CHECK(0);
		return;
	}
	/* Many distinct, long patterns: the context stays within its bound. */
	for (i = 0; i < 300; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(sid, sizeof(sid), "s%d", i);
		snprintf(msg, sizeof(msg), "module 'mod%c%c' has no attribute 'a_very_long_attribute"
		    "_name_to_fill_the_context_%c%c'", 'a' + i % 26, 'a' + i / 26, 'a' + i % 26,
		    'a' + i / 26);
		r.session_id = sid;
		r.status = "error";
		r.error_type = "AttributeError";
		r.error_message = msg;
		logdb_insert(db, &r, NULL, NULL);
	}
	text = analyze_context(db, &env, &len, &st);
	CHECK(text != NULL);
	if (text) {
		CHECK(len <= ANALYZE_CONTEXT_MAX);
		CHECK(strstr(text, "Limits:") == NULL);	/* none configured: none claimed */
		CHECK(strstr(text, "could not be read") != NULL);
		free(text);
	}
	logdb_close(db);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_analyze.XXXXXX";

	log_init("test_analyze");
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	RUN(sha256_vectors);
	RUN(traceback_runtime);
	RUN(traceback_library_frames);
	RUN(traceback_syntax);
	RUN(traceback_dotted_and_multiline);
	RUN(traceback_bare_and_crlf);
	RUN(traceback_none);
	RUN(categories);
	RUN(normalise_real_messages);
	RUN(normalise_bounds);
	RUN(classify_outcomes);
	RUN(imports_parse);
	RUN(imports_diff);
	RUN(line_diff);
	RUN(fix_changes);
	RUN(packages_load);
	RUN(session_ids);
	RUN(scripted_session_reports);
	RUN(pages_and_paging);
	RUN(context_bounded_and_without_limits);
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return unit_done("analyze");
}
