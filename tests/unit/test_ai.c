/*
 * test_ai: shared/ai (the key, the request's JSON, the answer's body, the
 * call's failures that need no server, the script taken out of a reply,
 * safe words) and shared/prompt (the facts, the system and user messages,
 * fences).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "assistant/ai.h"
#include "reports/ai_context.h"
#include "base/log.h"
#include "store/logdb.h"
#include "assistant/prompt.h"
#include "base/text.h"
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

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* Extracts from s; returns found (1/0/-1), code and notes in c. */
static int
extract(const char *s, struct ai_code *c)
{
	return ai_extract_code(s, strlen(s), c);
}

/* ---- The script in a reply ------------------------------------------- */

TEST(extract_python_block)
{
	struct ai_code c;

	CHECK_INT(extract("Here is the script:\n\n```python\nimport numpy as np\nprint(1)\n```\n\n"
	    "It prints one.  \n", &c), 1);
	CHECK_STR(c.code, "import numpy as np\nprint(1)\n");
	CHECK_STR(c.notes, "Here is the script:\n\nIt prints one.");
	CHECK_INT(c.code_len, strlen(c.code));
	CHECK_INT(c.unclosed, 0);
	ai_code_free(&c);
	/* No text around: no notes; no final newline inside: one is added. */
	CHECK_INT(extract("```py\nimport os\nx = 1```\n```", &c), 1);
	CHECK_STR(c.code, "import os\nx = 1```\n");
	CHECK_STR(c.notes, "");
	ai_code_free(&c);
}

TEST(extract_longest_python_block)
{
	struct ai_code c;

	CHECK_INT(extract("First try:\n```python\nimport a\n```\nBetter:\n```Python3\n"
	    "import numpy as np\nx = np.zeros(3)\n```\n```bash\npython3 main.py and more text here\n```\n",
	    &c), 1);
	CHECK_STR(c.code, "import numpy as np\nx = np.zeros(3)\n");
	/* The notes keep the text around the block taken, the others included. */
	CHECK(strstr(c.notes, "First try:") == c.notes);
	CHECK(strstr(c.notes, "```bash") != NULL);
	ai_code_free(&c);
	/* A labelled python block wins over a longer unlabelled one. */
	CHECK_INT(extract("```\nimport os\nimport sys\nimport json\nx = 1\n```\n"
	    "```python\nimport os\n```\n", &c), 1);
	CHECK_STR(c.code, "import os\n");
	ai_code_free(&c);
	/* An empty python block is skipped. */
	CHECK_INT(extract("```python\n\n```\n```\nimport os\nos.getcwd()\n```\n", &c), 1);
	CHECK_STR(c.code, "import os\nos.getcwd()\n");
	ai_code_free(&c);
}

TEST(extract_unlabelled_and_other_blocks)
{
	struct ai_code c;

	CHECK_INT(extract("```\nfrom PIL import Image\nim = Image.open('/input/image.png')\n```", &c), 1);
	CHECK_STR(c.code, "from PIL import Image\nim = Image.open('/input/image.png')\n");
	ai_code_free(&c);
	/* Shell and text blocks are not the script. */
	CHECK_INT(extract("Run this:\n```bash\npip install numpy\n```\n", &c), 0);
	CHECK(c.code == NULL && c.notes == NULL);
	CHECK_INT(extract("```\npip install numpy\n```\n", &c), 0);
	CHECK_INT(extract("```text\nimport numpy\n```\n", &c), 0);
}

TEST(extract_without_fences)
{
	struct ai_code c;

	CHECK_INT(extract("import numpy as np\nfrom PIL import Image\n\nim = Image.open("
	    "\"/input/image.png\")\nim.save('/output/result.png')\n", &c), 1);
	CHECK(strncmp(c.code, "import numpy as np\n", 19) == 0);
	CHECK_STR(c.notes, "");
	ai_code_free(&c);
	/* Prose is not code, nor code with prose around it. */
	CHECK_INT(extract("I cannot help with that request.", &c), 0);
	CHECK_INT(extract("Here is the script:\nimport numpy as np\nprint(np.pi)\n", &c), 0);
	CHECK_INT(extract("import numpy as np\nprint(np.pi)\nThis prints pi to the screen.\n", &c), 0);
	CHECK_INT(extract("", &c), 0);
	CHECK_INT(extract("   \n\n", &c), 0);
	/* Fences but none usable: not code, even if the rest looks like it. */
	CHECK_INT(extract("import os\n```bash\nls\n```\n", &c), 0);
}

TEST(extract_unclosed_and_thinking)
{
	struct ai_code c;

	CHECK_INT(extract("Sure.\n```python\nimport os\nfor i in range(3):\n    print(i", &c), 1);
	CHECK_STR(c.code, "import os\nfor i in range(3):\n    print(i\n");
	CHECK_INT(c.unclosed, 1);
	CHECK_STR(c.notes, "Sure.");
	ai_code_free(&c);
	/* A block inside <think> is not the answer. */
	CHECK_INT(extract("<think>maybe ```python\nimport wrong_and_much_longer_than_the_other\n"
	    "x = 1\n```\n</think>\n```python\nimport right\n```\nDone.", &c), 1);
	CHECK_STR(c.code, "import right\n");
	CHECK_STR(c.notes, "Done.");
	ai_code_free(&c);
	/* Thinking that never ends leaves nothing. */
	CHECK_INT(extract("<think>```python\nimport os\n```", &c), 0);
}

TEST(extract_fences_of_all_kinds)
{
	struct ai_code c;

	/* A longer fence holds a shorter one. */
	CHECK_INT(extract("````python\nimport os\ns = '''\n```\n'''\n````\n", &c), 1);
	CHECK_STR(c.code, "import os\ns = '''\n```\n'''\n");
	ai_code_free(&c);
	CHECK_INT(extract("~~~python\nimport os\n~~~\n", &c), 1);
	CHECK_STR(c.code, "import os\n");
	ai_code_free(&c);
	/* An indented fence (in a list): its indentation comes off each line. */
	CHECK_INT(extract("1. The script:\n   ```python\n   import os\n   if os:\n       pass\n"
	    "   ```\n", &c), 1);
	CHECK_STR(c.code, "import os\nif os:\n    pass\n");
	ai_code_free(&c);
	/* Invalid UTF-8 in the code is made valid. */
	CHECK_INT(extract("```python\nimport os\nx = '\xff'\n```", &c), 1);
	CHECK_STR(c.code, "import os\nx = '\xef\xbf\xbd'\n");
	ai_code_free(&c);
}

TEST(extract_notes_bounded)
{
	struct ai_code c;
	char *s = malloc(3 * AI_NOTES_MAX + 64);
	size_t i;

	if (s == NULL)
		return;
	strcpy(s, "```python\nimport os\n```\n");
	for (i = strlen(s); i < 3 * AI_NOTES_MAX; i += 2)
		memcpy(s + i, "\xc3\xa9", 2);	/* é, so a cut could split one */
	s[i] = '\0';
	CHECK_INT(extract(s, &c), 1);
	CHECK(c.notes_len <= AI_NOTES_MAX - 1);
	CHECK(c.notes_len > AI_NOTES_MAX - 8);
	CHECK(strcmp(c.notes + c.notes_len - 3, "...") == 0);
	CHECK(utf8_valid(c.notes, c.notes_len));
	ai_code_free(&c);
	/* Bad bytes grow threefold when made valid: the cut comes after. */
	memset(s + 24, 0xff, AI_NOTES_MAX);
	s[24 + AI_NOTES_MAX] = '\0';
	CHECK_INT(extract(s, &c), 1);
	CHECK(c.notes_len <= AI_NOTES_MAX - 1 && c.notes_len == strlen(c.notes));
	CHECK(utf8_valid(c.notes, c.notes_len));
	ai_code_free(&c);
	free(s);
}

#define PY(s) ai_looks_like_python(s, strlen(s))

TEST(looks_like_python)
{
	CHECK(PY("import os\n"));
	CHECK(PY("#!/usr/bin/env python3\n\"\"\"Blur.\n\nThis blurs the image. It is nice.\n\"\"\"\n"
	    "from PIL import Image, ImageFilter\n@decorator\ndef f(x):\n    return x\n"
	    "params = json.loads(os.environ.get('USER_PARAMS') or '{}')\nim.thumbnail((10, 10))\n"
	    "x += 1\ny **= 2\nz: int = 3\na, b = 1, 2\nvalues = [\n    'a',\n    'b',\n]\n"
	    "f\"{x}\"\nif __name__ == '__main__':\n    main()\n"));
	CHECK(!PY("x = 1\n"));				/* no import */
	CHECK(!PY("Sure! Here it is.\nimport os\n"));
	CHECK(!PY("import os\nThe script above opens the image.\n"));
	CHECK(!PY("import os\nNote: this uses numpy.\n"));
	CHECK(!PY("import os\nHere is why it works\n"));
	CHECK(!PY(""));
	/* A sentence inside a string or a comment is fine. */
	CHECK(PY("import os\n# This line explains the code.\ns = (\n    \"This is a sentence.\"\n)\n"));
}

/* ---- Words, scrub ---------------------------------------------------- */

TEST(first_words)
{
	char out[AI_WORDS_MAX], small[24];

	CHECK_STR(ai_first_words("  Hello\n\n  world\t!  ", 20, out, sizeof(out)), "Hello world !");
	CHECK_STR(ai_first_words("one two three fourfivesix", 25, small, sizeof(small)),
	    "one two three...");
	/* Control characters go (an escape sequence leaves its printable tail). */
	CHECK_STR(ai_first_words("a\x1b[31mb\x7f\xc2\x9b", 10, out, sizeof(out)), "a[31mb");
	CHECK_STR(ai_first_words("ok\xff\xfe!", 5, out, sizeof(out)), "ok!");
	/* Cut at a word with "..." */
	CHECK_STR(ai_first_words("one two three four five six", 27, small, sizeof(small)),
	    "one two three four...");
	CHECK(strlen(small) < sizeof(small));
	CHECK_STR(ai_first_words("", 0, out, sizeof(out)), "");
}

TEST(scrub)
{
	char s[] = "key sk-123 in sk-123sk-123 end";

	ai_scrub(s, "sk-123");
	CHECK_STR(s, "key ****** in ************ end");
	ai_scrub(s, "");
	ai_scrub(s, NULL);
	CHECK_STR(s, "key ****** in ************ end");
}

/* ---- The key --------------------------------------------------------- */

TEST(key_load)
{
	char key[AI_KEY_MAX], err[512];

	write_file(tmp_path("key"), "  sk-secret-123 \r\nsecond line\n");
	CHECK_INT(ai_key_load(tmp_path("key"), key, sizeof(key), err, sizeof(err)), 0);
	CHECK_STR(key, "sk-secret-123");
	write_file(tmp_path("key"), "sk-abc");	/* no newline */
	CHECK_INT(ai_key_load(tmp_path("key"), key, sizeof(key), err, sizeof(err)), 0);
	CHECK_STR(key, "sk-abc");
	write_file(tmp_path("key"), "\nsk-on-line-two\n");
	CHECK_INT(ai_key_load(tmp_path("key"), key, sizeof(key), err, sizeof(err)), -1);
	CHECK(strstr(err, "first line") != NULL);
	write_file(tmp_path("key"), "sk-with space-secret\n");
	CHECK_INT(ai_key_load(tmp_path("key"), key, sizeof(key), err, sizeof(err)), -1);
	CHECK(strstr(err, "secret") == NULL || strstr(err, tmp_path("key")) != NULL);
	CHECK(strstr(err, "sk-with") == NULL);
	CHECK_STR(key, "");
	CHECK_INT(ai_key_load(tmp_path("no-such-key"), key, sizeof(key), err, sizeof(err)), -1);
	CHECK(strstr(err, "no-such-key") != NULL);
	CHECK_INT(ai_key_load(tmp_path("key"), key, 8, err, sizeof(err)), -1);	/* too long */
}

/* ---- The request and the answer -------------------------------------- */

TEST(request_json)
{
	const cJSON *msgs, *m;
	cJSON *doc;
	char *s;

	s = ai_request_json("qwen2.5-coder", "sys \"quoted\"", "user\nwords", 2048);
	CHECK(s != NULL);
	doc = cJSON_Parse(s);
	CHECK(doc != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "model")), "qwen2.5-coder");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "max_tokens")), 2048);
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(doc, "stream")));
	msgs = cJSON_GetObjectItem(doc, "messages");
	CHECK_INT(cJSON_GetArraySize(msgs), 2);
	m = cJSON_GetArrayItem(msgs, 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "role")), "system");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "content")), "sys \"quoted\"");
	m = cJSON_GetArrayItem(msgs, 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "role")), "user");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "content")), "user\nwords");
	cJSON_Delete(doc);
	free(s);
	/* No model configured: none sent (llama.cpp's server takes that). */
	s = ai_request_json("", "s", "u", 64);
	doc = cJSON_Parse(s);
	CHECK(doc != NULL && cJSON_GetObjectItem(doc, "model") == NULL);
	cJSON_Delete(doc);
	free(s);
}

/* Parses body into res. */
static int
parse(const char *body, struct ai_result *res)
{
	memset(res, 0, sizeof(*res));
	return ai_parse_reply(body, strlen(body), res);
}

TEST(parse_reply)
{
	struct ai_result r;

	CHECK_INT(parse("{\"model\":\"m-1\",\"choices\":[{\"message\":{\"role\":\"assistant\","
	    "\"content\":\"hi there\"},\"finish_reason\":\"stop\"}]}", &r), 0);
	CHECK_STR(r.content, "hi there");
	CHECK_INT(r.content_len, 8);
	CHECK_STR(r.model, "m-1");
	CHECK_INT(r.cut, 0);
	ai_result_free(&r);
	/* Content as parts; cut at max_tokens; a model name with a control byte. */
	CHECK_INT(parse("{\"model\":\"a\\u001bb\",\"choices\":[{\"message\":{\"content\":[{\"type\":"
	    "\"text\",\"text\":\"one \"},{\"type\":\"image\"},{\"type\":\"text\",\"text\":\"two\"}]},"
	    "\"finish_reason\":\"length\"}]}", &r), 0);
	CHECK_STR(r.content, "one two");
	CHECK_STR(r.model, "a?b");
	CHECK_INT(r.cut, 1);
	ai_result_free(&r);
	CHECK_INT(parse("{\"choices\":[{\"text\":\"legacy\"}]}", &r), 0);
	CHECK_STR(r.content, "legacy");
	CHECK_STR(r.model, "");
	ai_result_free(&r);
	CHECK_INT(parse("<html>502</html>", &r), -1);
	CHECK_INT(r.status, AI_BAD_REPLY);
	CHECK(strstr(r.message, "not JSON") != NULL);
	CHECK_INT(parse("{\"choices\":[]}", &r), -1);
	CHECK(strstr(r.message, "not a chat completion") != NULL);
	CHECK_INT(parse("{\"choices\":[{\"message\":{\"content\":\"  \\n\"}}]}", &r), -1);
	CHECK(strstr(r.message, "no text") != NULL);
	CHECK(r.content == NULL);
}

/* ---- The call's failures that need no server ------------------------- */

/* A loopback port nothing listens on (bound, then closed); 0 on failure. */
static int
closed_port(int keep_listening, int *fd_out)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0 ||
	    (keep_listening && listen(fd, 8) < 0)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (keep_listening)
		*fd_out = fd;
	else
		close(fd);
	return ntohs(a.sin_port);
}

TEST(chat_failures)
{
	struct ai_endpoint ep = { "", "m", "sk-secret-key", 1000, 64 };
	struct ai_result r;
	char url[64];
	int port, fd = -1;

	CHECK_INT(ai_chat(&ep, "s", "u", &r), -1);
	CHECK_INT(r.status, AI_UNCONFIGURED);
	CHECK(strstr(r.message, "IMGSANDBOX_AI_URL") != NULL);
	ep.url = "ftp://127.0.0.1/v1";
	CHECK_INT(ai_chat(&ep, "s", "u", &r), -1);
	CHECK_INT(r.status, AI_BAD_URL);
	ep.url = "file:///etc/passwd";
	CHECK_INT(ai_chat(&ep, "s", "u", &r), -1);
	CHECK_INT(r.status, AI_BAD_URL);
	/* Refused: named by host and port, never by user or password. */
	port = closed_port(0, NULL);
	snprintf(url, sizeof(url), "http://user:pw@127.0.0.1:%d/v1/", port);
	ep.url = url;
	CHECK_INT(ai_chat(&ep, "s", "u", &r), -1);
	CHECK_INT(r.status, AI_UNREACHABLE);
	snprintf(url, sizeof(url), "127.0.0.1:%d", port);
	CHECK(strstr(r.message, url) != NULL);
	CHECK(strstr(r.message, "pw") == NULL);
	CHECK(strstr(r.message, "refused") != NULL);
	/* A listener that never answers: the deadline. */
	port = closed_port(1, &fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	ep.url = url;
	CHECK_INT(ai_chat(&ep, "s", "u", &r), -1);
	CHECK_INT(r.status, AI_TIMEOUT);
	CHECK(strstr(r.message, "did not answer within 1 s") != NULL);
	CHECK(strstr(r.message, "sk-secret-key") == NULL);
	if (fd >= 0)
		close(fd);
}

/* ---- The prompt ------------------------------------------------------ */

static const char packages_txt[] =
	"python3        | import sys            | Python 3.11, standard library\n"
	"python3-numpy  | import numpy as np    | NumPy: arrays\n";

TEST(facts_as_ai_context_writes_them)
{
	struct report_env env = { NULL, { 10000, 1073741824LL, 33554432LL } };
	enum report_status st;
	struct logdb *db;
	char err[256], *facts, *ctx;
	size_t flen, clen;

	write_file(tmp_path("packages.txt"), packages_txt);
	env.packages_file = tmp_path("packages.txt");
	/* ai_context of an empty log is its facts alone: ours must be the same
	 * text, so that IMGSANDBOX_AI_LESSONS=0 differs by the lessons only. */
	if ((db = logdb_open(tmp_path("empty.db"), err, sizeof(err))) == NULL) {
		CHECK(!"logdb_open");
		return;
	}
	env.packages_file = tmp_path("packages.txt");
	ctx = ai_context(db, &env, &clen, &st);
	facts = prompt_facts(&env, &flen);
	CHECK(ctx != NULL && facts != NULL);
	if (ctx != NULL && facts != NULL) {
		CHECK_STR(facts, ctx);
		CHECK_INT(flen, clen);
	}
	CHECK(facts != NULL && strstr(facts, "  - import numpy as np  # NumPy: arrays\n") != NULL);
	CHECK(facts != NULL && strstr(facts, "- Limits: 10 s wall clock, 1 GiB of memory, "
	    "32 MiB for the images in /output.\n") != NULL);
	free(ctx);
	free(facts);
	/* No package list: the facts say so, as ai_context does. */
	env.packages_file = tmp_path("missing.txt");
	ctx = ai_context(db, &env, &clen, &st);
	facts = prompt_facts(&env, &flen);
	CHECK(ctx != NULL && facts != NULL && strcmp(ctx, facts) == 0);
	CHECK(facts != NULL && strstr(facts, "could not be read") != NULL);
	free(ctx);
	free(facts);
	logdb_close(db);
}

TEST(system_message)
{
	char *s = prompt_system("# Facts\n- a\n", 12);

	CHECK(s != NULL && strncmp(s, "# Facts\n- a\n", 12) == 0);
	CHECK(s != NULL && strstr(s, "/code/main.py") != NULL);
	CHECK(s != NULL && strstr(s, "/input/image.png") != NULL);
	CHECK(s != NULL && strstr(s, "/output/result.png") != NULL);
	CHECK(s != NULL && strstr(s, "USER_PARAMS") != NULL);
	CHECK(s != NULL && strstr(s, "one ```python code block") != NULL);
	free(s);
}

TEST(fence)
{
	char f[8];

	CHECK_STR(prompt_fence("x", 1, f, sizeof(f)), "```");
	CHECK_STR(prompt_fence("a ``` b", 7, f, sizeof(f)), "````");
	CHECK_STR(prompt_fence("``````````", 10, f, sizeof(f)), "```````");	/* cut to fit */
}

TEST(user_message_new_script)
{
	char *u = prompt_user("make it blue", NULL, 0, NULL);

	CHECK_STR(u, "make it blue\n");
	free(u);
	u = prompt_user("sharper", "s = '```'\n", 10, NULL);
	CHECK(u != NULL && strstr(u, "The script as it stands (change it):\n````python\n"
	    "s = '```'\n````\n") != NULL);
	free(u);
}

TEST(user_message_fix)
{
	struct prompt_attempt f = { 42, "error", "import os\nprint(x)\n", 19, "NameError",
	    "name 'x' is not defined", 2, "Traceback (most recent call last):\n  File "
	    "\"/code/main.py\", line 2, in <module>\nNameError: name 'x' is not defined\n",
	    "ignored when there is a traceback" };
	char *u, *big;

	u = prompt_user("", "import os\nprint(x)\n", 19, &f);
	CHECK(u != NULL && strncmp(u, "Fix the script.\n", 16) == 0);
	CHECK(u != NULL && strstr(u, "(attempt 42) failed in the sandbox with status \"error\"") != NULL);
	CHECK(u != NULL && strstr(u, "Error: NameError: name 'x' is not defined (line 2 of main.py)\n") != NULL);
	CHECK(u != NULL && strstr(u, "Traceback:\n```text\nTraceback (most recent call last):\n") != NULL);
	CHECK(u != NULL && strstr(u, "The failed script:\n```python\nimport os\nprint(x)\n```\n") != NULL);
	/* The code sent is the failed one: not twice. */
	CHECK(u != NULL && strstr(u, "as it stands") == NULL);
	CHECK(u != NULL && strstr(u, "ignored") == NULL);
	free(u);
	/* A timeout: no error type, stderr's end instead of a traceback, the
	 * script as it stands now when it differs. */
	f = (struct prompt_attempt){ 7, "timeout", "while True: pass\n", 17, NULL, NULL, 0, NULL,
	    NULL };
	big = malloc(PROMPT_STDERR_MAX * 2 + 16);
	if (big == NULL)
		return;
	memset(big, 'e', PROMPT_STDERR_MAX * 2);
	strcpy(big + PROMPT_STDERR_MAX * 2, "THE END\n");
	f.stderr_text = big;
	u = prompt_user("faster please", "import os\n", 10, &f);
	CHECK(u != NULL && strstr(u, "status \"timeout\": it was stopped at the time limit") != NULL);
	CHECK(u != NULL && strstr(u, "Error:") == NULL);
	CHECK(u != NULL && strstr(u, "The end of its standard error:\n```text\n") != NULL);
	CHECK(u != NULL && strstr(u, "THE END\n") != NULL);
	CHECK(u != NULL && strlen(u) < PROMPT_STDERR_MAX + 600);
	CHECK(u != NULL && strstr(u, "The script as it stands now:\n```python\nimport os\n```\n") != NULL);
	free(u);
	free(big);
}

int
main(void)
{
	char tmpl[] = "/tmp/test_ai.XXXXXX";

	log_init("test_ai");
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	RUN(extract_python_block);
	RUN(extract_longest_python_block);
	RUN(extract_unlabelled_and_other_blocks);
	RUN(extract_without_fences);
	RUN(extract_unclosed_and_thinking);
	RUN(extract_fences_of_all_kinds);
	RUN(extract_notes_bounded);
	RUN(looks_like_python);
	RUN(first_words);
	RUN(scrub);
	RUN(key_load);
	RUN(request_json);
	RUN(parse_reply);
	RUN(chat_failures);
	RUN(facts_as_ai_context_writes_them);
	RUN(system_message);
	RUN(fence);
	RUN(user_message_new_script);
	RUN(user_message_fix);
	unlink(tmp_path("key"));
	unlink(tmp_path("packages.txt"));
	unlink(tmp_path("empty.db"));
	unlink(tmp_path("empty.db-wal"));
	unlink(tmp_path("empty.db-shm"));
	rmdir(tmpdir);
	return unit_done("ai");
}
