/*
 * test_traceback: shared/traceback on real Python tracebacks: runtime
 * errors, library frames, syntax errors, dotted types, several-line
 * messages, CRLF, text that holds none.
 */
#include <stdio.h>
#include <string.h>

#include "facts/traceback.h"
#include "unit.h"

static void
check_tb(const char *text, int found, const char *type, const char *msg, int line)
{
	struct tb_facts f;
	char m[512];
	int rc = traceback_parse(text, strlen(text), &f);

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

int
main(void)
{
	RUN(traceback_runtime);
	RUN(traceback_library_frames);
	RUN(traceback_syntax);
	RUN(traceback_dotted_and_multiline);
	RUN(traceback_bare_and_crlf);
	RUN(traceback_none);
	return unit_done("traceback");
}
