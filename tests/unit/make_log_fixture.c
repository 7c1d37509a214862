/*
 * make_log_fixture: fills an execution log through the real write path
 * (logdb_insert), for the command-line tool's tests.
 *
 *   make_log_fixture DB scenario     the scripted session "s-demo": a missing
 *                                    module, a removed Pillow attribute, then
 *                                    success; plus an unfixed no_output in
 *                                    "s-lone", a timeout, and a refused request
 *   make_log_fixture DB mixed N      N generated attempts (N <= 100000)
 *   make_log_fixture DB controls     one failure in "s-ctl" whose code, streams,
 *                                    message and prompt hold terminal escapes
 *                                    (C0: ESC, BEL; C1: CSI U+009B, NEL U+0085)
 *   make_log_fixture DB wide SESSION N
 *                                    N failed attempts (N <= 500) in SESSION,
 *                                    each with 8 KiB of control characters in
 *                                    its code and streams: a session whose
 *                                    answer is megabytes of JSON escapes
 *   make_log_fixture DB retain AGE_S BYTES
 *                                    runs logdb_retain() on DB (AGE_S, BYTES: 0
 *                                    for none) and prints "deleted N"
 *
 * Prints one line per attempt made: "log_id session attempt status".
 * Exits 0, 1 when the database could not be written, 2 for bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/logdb.h"

static const char code_fail1[] =
	"import numpy as np\n"
	"from PIL import Image\n"
	"import skimage2\n"
	"img = Image.open(\"/input/image.png\")\n"
	"img = img.resize((100, 100), Image.ANTIALIAS)\n"
	"img.save(\"/output/result.png\")\n";
static const char code_fail2[] =
	"import numpy as np\n"
	"from PIL import Image\n"
	"from skimage import filters\n"
	"img = Image.open(\"/input/image.png\")\n"
	"img = img.resize((100, 100), Image.ANTIALIAS)\n"
	"img.save(\"/output/result.png\")\n";
static const char code_ok[] =
	"import numpy as np\n"
	"from PIL import Image\n"
	"from skimage import filters\n"
	"img = Image.open(\"/input/image.png\")\n"
	"img = img.resize((100, 100), Image.LANCZOS)\n"
	"img.save(\"/output/result.png\")\n";
static const char code_noout[] =
	"from PIL import Image\n"
	"img = Image.open(\"/input/image.png\")\n"
	"img.show()\n";

/* Inserts r (its code length and exit code filled in when left 0) and
 * prints "log_id session attempt status". Returns 0 or -1. */
static int
add(struct logdb *db, struct run_record *r)
{
	int64_t id;
	int attempt;

	if (r->code != NULL && r->code_len == 0)
		r->code_len = strlen(r->code);
	if (r->exit_code == 0 && strcmp(r->status, "success") != 0)
		r->exit_code = 1;
	if (logdb_insert(db, r, &id, &attempt) < 0)
		return -1;
	printf("%lld %s %d %s\n", (long long)id, r->session_id, attempt, r->status);
	return 0;
}

/* The session "s-demo": a missing module, a removed Pillow attribute (its
 * traceback left for the store to parse), then success. Returns 0 or -1. */
static int
demo_session(struct logdb *db)
{
	struct run_record r;

	memset(&r, 0, sizeof(r));
	r.job_id = "00000000000000000000000000000001";
	r.session_id = "s-demo";
	r.code = code_fail1;
	r.status = "error";
	r.http_status = 200;
	r.duration_ms = 310;
	r.ai_model = "test-model";
	r.ai_lessons = 1;
	r.user_prompt = "blur the image";
	r.stderr_text = "Traceback (most recent call last):\n"
	    "  File \"/code/main.py\", line 3, in <module>\n"
	    "    import skimage2\n"
	    "ModuleNotFoundError: No module named 'skimage2'\n";
	r.error_type = "ModuleNotFoundError";
	r.error_message = "No module named 'skimage2'";
	r.error_line = 3;
	r.traceback = r.stderr_text;
	if (add(db, &r) < 0)
		return -1;

	memset(&r, 0, sizeof(r));
	r.job_id = "00000000000000000000000000000002";
	r.session_id = "s-demo";
	r.code = code_fail2;
	r.status = "error";
	r.http_status = 200;
	r.duration_ms = 420;
	r.ai_model = "test-model";
	r.ai_lessons = 1;
	/* No structured record: the store parses the traceback. */
	r.stderr_text = "Traceback (most recent call last):\n"
	    "  File \"/code/main.py\", line 5, in <module>\n"
	    "    img = img.resize((100, 100), Image.ANTIALIAS)\n"
	    "                                 ^^^^^^^^^^^^^^^\n"
	    "AttributeError: module 'PIL.Image' has no attribute 'ANTIALIAS'\n";
	if (add(db, &r) < 0)
		return -1;

	memset(&r, 0, sizeof(r));
	r.job_id = "00000000000000000000000000000003";
	r.session_id = "s-demo";
	r.code = code_ok;
	r.status = "success";
	r.http_status = 200;
	r.duration_ms = 512;
	r.ai_model = "test-model";
	r.ai_lessons = 1;
	r.image_type = "image/png";
	r.image_bytes = 12345;
	r.image_width = 640;
	r.image_height = 480;
	r.timings_json = "{\"run_ms\":500}";
	return add(db, &r);
}

/* Returns a script of 3000 bytes: a line, then comments. */
static const char *
refused_code(void)
{
	static char code[3001];

	memset(code, '#', sizeof(code) - 1);
	memcpy(code, "print('refused')\n", 17);
	return code;
}

/* Three other outcomes, each its own session: an unfixed no_output, a
 * timeout and a refused request. Returns 0 or -1. */
static int
other_outcomes(struct logdb *db)
{
	struct run_record r;

	memset(&r, 0, sizeof(r));
	r.job_id = "00000000000000000000000000000004";
	r.session_id = "s-lone";
	r.code = code_noout;
	r.status = "no_output";
	r.http_status = 200;
	r.duration_ms = 150;
	if (add(db, &r) < 0)
		return -1;

	memset(&r, 0, sizeof(r));
	r.job_id = "00000000000000000000000000000005";
	r.session_id = "s-slow";
	r.code = "while True:\n    pass\n";
	r.status = "timeout";
	r.http_status = 200;
	r.duration_ms = 10000;
	if (add(db, &r) < 0)
		return -1;

	/* A refused request keeps the head of its code, not the code. */
	memset(&r, 0, sizeof(r));
	r.session_id = "s-refused";
	r.status = "rejected";
	r.http_status = 415;
	r.exit_code = -1;
	r.reject_code = "unsupported_image";
	r.reject_message = "the image is not PNG or JPEG";
	r.code = refused_code();
	return add(db, &r);
}

/* The scripted scenario. Returns 0 or -1. */
static int
scenario(struct logdb *db)
{
	return demo_session(db) < 0 || other_outcomes(db) < 0 ? -1 : 0;
}

/* A script that writes terminal escapes: what the tool prints must not
 * carry them to the terminal. */
static int
controls(struct logdb *db)
{
	struct run_record r;

	memset(&r, 0, sizeof(r));
	r.session_id = "s-ctl";
	r.code = "print('\x1b[31mred\xc2\x9b" "2J\xc2\x85 x\x07')\n";
	r.status = "error";
	r.http_status = 200;
	r.duration_ms = 5;
	r.error_type = "ValueError";
	r.error_message = "bad \x1b]0;title\x07 \xc2\x9b" "31m value";
	r.stdout_text = "out\xc2\x9b" "1m";
	r.stderr_text = "err\x1b[2J\xc2\x90q\n";
	r.user_prompt = "make \xc2\x9b" "1m it";
	return add(db, &r);
}

/* n generated attempts, three per session: two failures of five kinds,
 * then a success. Returns 0 or -1. */
static int
mixed(struct logdb *db, long n)
{
	static const char *const types[] = { "ModuleNotFoundError", "AttributeError", "KeyError",
		"ValueError", "TypeError" };
	static const char *const msgs[] = { "No module named 'cv3'",
		"module 'PIL.Image' has no attribute 'ANTIALIAS'", "'width'",
		"image has wrong mode", "Cannot handle this data type: (1, 1, 3), <f8" };
	struct run_record r;
	char sid[32], code[256];
	long i;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(sid, sizeof(sid), "m-%ld", i / 3);
		snprintf(code, sizeof(code), "from PIL import Image\nprint(%ld)\n", i);
		r.session_id = sid;
		r.code = code;
		r.http_status = 200;
		r.duration_ms = 100 + (i * 37) % 900;
		r.ai_model = (i / 3) % 2 ? "model-x" : "model-y";
		r.ai_lessons = (int)((i / 3) % 3) - 1;
		if (i % 3 == 2) {
			r.status = "success";
		} else {
			r.status = "error";
			r.error_type = types[i % 5];
			r.error_message = msgs[i % 5];
		}
		if (add(db, &r) < 0)
			return -1;
	}
	return 0;
}

/* Retention on db. Returns 0 or -1. */
static int
retain(struct logdb *db, long age_s, long bytes)
{
	struct logdb_retain_stats st;

	if (logdb_retain(db, age_s, bytes, &st) < 0)
		return -1;
	printf("deleted %lld\n", (long long)st.deleted);
	return 0;
}

/* N failed attempts in session sid whose code and streams are control
 * characters (\x01: six bytes each in JSON). Returns 0 or -1. */
static int
wide(struct logdb *db, const char *sid, long n)
{
	static char code[8192 + 16], text[8192 + 1];
	struct run_record r;
	long i;

	memset(text, 0x01, sizeof(text) - 1);
	snprintf(code, sizeof(code), "# %s\nraise X\n", text);
	for (i = 0; i < n; i++) {
		record_init(&r);
		r.session_id = sid;
		r.code = code;
		r.status = "error";
		r.stdout_text = text;
		r.stderr_text = text;
		r.error_type = "NameError";
		r.error_message = "name 'X' is not defined";
		if (add(db, &r) < 0)
			return -1;
	}
	return 0;
}

/* Returns 1 when the arguments are one of the usages. */
static int
usage_ok(int argc, char **argv)
{
	if (argc == 3 && (strcmp(argv[2], "scenario") == 0 || strcmp(argv[2], "controls") == 0))
		return 1;
	if (argc == 4 && strcmp(argv[2], "mixed") == 0)
		return strtol(argv[3], NULL, 10) >= 1 && strtol(argv[3], NULL, 10) <= 100000;
	if (argc == 5 && strcmp(argv[2], "wide") == 0)
		return strtol(argv[4], NULL, 10) >= 1 && strtol(argv[4], NULL, 10) <= 500;
	return argc == 5 && strcmp(argv[2], "retain") == 0;
}

int
main(int argc, char **argv)
{
	struct logdb *db;
	char err[512];
	int rc;

	log_init(argv[0]);
	if (!usage_ok(argc, argv)) {
		fprintf(stderr, "usage: make_log_fixture DB scenario | make_log_fixture DB mixed N | "
		    "make_log_fixture DB controls | make_log_fixture DB wide SESSION N | "
		    "make_log_fixture DB retain AGE_S BYTES\n");
		return 2;
	}
	if ((db = logdb_open(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "make_log_fixture: %s\n", err);
		return 1;
	}
	if (strcmp(argv[2], "scenario") == 0)
		rc = scenario(db);
	else if (strcmp(argv[2], "controls") == 0)
		rc = controls(db);
	else if (strcmp(argv[2], "retain") == 0)
		rc = retain(db, strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	else if (strcmp(argv[2], "wide") == 0)
		rc = wide(db, argv[3], strtol(argv[4], NULL, 10));
	else
		rc = mixed(db, strtol(argv[3], NULL, 10));
	logdb_close(db);
	return rc < 0 ? 1 : 0;
}
