/*
 * test_classify: shared/classify: the categories of outcomes, the
 * normaliser on real Python messages and at its bounds, the category and
 * pattern of whole records.
 */
#include <stdio.h>
#include <string.h>

#include "facts/classify.h"
#include "unit.h"

TEST(categories)
{
	CHECK_STR(classify_category("success", NULL, NULL), "");
	CHECK_STR(classify_category("error", "ModuleNotFoundError", "No module named 'x'"), "import");
	CHECK_STR(classify_category("error", "ImportError", "cannot import name 'y'"), "import");
	CHECK_STR(classify_category("error", "AttributeError", "x"), "attribute");
	CHECK_STR(classify_category("error", "KeyError", "'w'"), "data_access");
	CHECK_STR(classify_category("error", "IndexError", "list index out of range"), "data_access");
	CHECK_STR(classify_category("error", "TypeError", "x"), "type");
	CHECK_STR(classify_category("error", "ValueError", "x"), "value");
	CHECK_STR(classify_category("error", "ZeroDivisionError", "division by zero"), "value");
	CHECK_STR(classify_category("error", "SyntaxError", "x"), "syntax");
	CHECK_STR(classify_category("error", "IndentationError", "x"), "syntax");
	CHECK_STR(classify_category("error", "TabError", "x"), "syntax");
	CHECK_STR(classify_category("error", "NameError", "x"), "name");
	CHECK_STR(classify_category("error", "FileNotFoundError", "x"), "file");
	CHECK_STR(classify_category("error", "PermissionError", "x"), "file");
	CHECK_STR(classify_category("error", "IsADirectoryError", "x"), "file");
	CHECK_STR(classify_category("error", "OSError", "[Errno 30] Read-only file system: '/x'"),
	    "file");
	CHECK_STR(classify_category("error", "OSError", "cannot write mode RGBA as JPEG"), "image");
	CHECK_STR(classify_category("error", "ValueError", "image has wrong mode"), "image");
	CHECK_STR(classify_category("error", "error", "OpenCV(4.6.0) ..."), "image");
	CHECK_STR(classify_category("error", "MemoryError", ""), "memory");
	CHECK_STR(classify_category("oom", NULL, NULL), "memory");
	CHECK_STR(classify_category("timeout", NULL, NULL), "timeout");
	CHECK_STR(classify_category("no_output", NULL, NULL), "output");
	CHECK_STR(classify_category("bad_output", NULL, NULL), "output");
	CHECK_STR(classify_category("rejected", NULL, NULL), "rejected");
	CHECK_STR(classify_category("error", NULL, NULL), "other");
	CHECK_STR(classify_category("error", "RecursionError", "x"), "other");
	CHECK_STR(classify_category(NULL, NULL, NULL), "other");
}

/* ---- The normaliser ---------------------------------------------------------------- */

static void
check_norm(const char *type, const char *msg, const char *want)
{
	char out[RECORD_PATTERN_MAX];

	classify_normalise(type, msg, strlen(msg), out, sizeof(out));
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
	char big[2000], out[RECORD_PATTERN_MAX], tiny[8];
	size_t n;

	memset(big, 'x', sizeof(big));
	memcpy(big + 180, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);	/* é: never cut in two */
	n = classify_normalise("ValueError", big, sizeof(big), out, sizeof(out));
	CHECK(n < sizeof(out));
	CHECK_INT(strlen(out), n);
	CHECK(n >= 3 && strcmp(out + n - 3, "...") == 0);
	CHECK(((unsigned char)out[n - 4] & 0xC0) != 0xC0);
	n = classify_normalise("ValueError", "0123456789 0123456789", 21, tiny, sizeof(tiny));
	CHECK(n < sizeof(tiny));
	CHECK_INT(classify_normalise("ValueError", NULL, 0, out, sizeof(out)), 0);
	CHECK_STR(out, "");
}

TEST(classify_outcomes)
{
	struct run_record r;
	struct record_class c;

	memset(&r, 0, sizeof(r));
	r.status = "success";
	classify_record(&r, &c);
	CHECK_STR(c.category, "");
	CHECK_STR(c.pattern, "");
	r.status = "timeout";
	classify_record(&r, &c);
	CHECK_STR(c.category, "timeout");
	CHECK_STR(c.pattern, "timeout: went over the time limit");
	r.status = "no_output";
	classify_record(&r, &c);
	CHECK_STR(c.category, "output");
	CHECK_STR(c.pattern, "no_output: wrote no /output/result.png");
	r.status = "oom";
	r.error_message = "killed after 1073741824 bytes";
	classify_record(&r, &c);
	CHECK_STR(c.category, "memory");
	CHECK_STR(c.pattern, "oom: killed after <N> bytes");
	memset(&r, 0, sizeof(r));
	r.status = "rejected";
	r.reject_code = "too_large";
	r.reject_message = "code is over 262144 bytes";
	classify_record(&r, &c);
	CHECK_STR(c.category, "rejected");
	CHECK_STR(c.pattern, "too_large: code is over <N> bytes");
	memset(&r, 0, sizeof(r));
	r.status = "error";
	r.error_type = "MemoryError";
	classify_record(&r, &c);
	CHECK_STR(c.category, "memory");
	CHECK_STR(c.pattern, "");
	r.error_type = NULL;
	classify_record(&r, &c);
	CHECK_STR(c.category, "other");
	CHECK_STR(c.pattern, "exited with an error and no traceback");
}

int
main(void)
{
	RUN(categories);
	RUN(normalise_real_messages);
	RUN(normalise_bounds);
	RUN(classify_outcomes);
	return unit_done("classify");
}
