/*
 * prompt.c: the assistant's two messages. See prompt.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/ai_context.h"
#include "base/outbuf.h"
#include "facts/packages.h"
#include "assistant/prompt.h"
#include "base/text.h"

/* ---- The facts: ai_context's own ------------------------------------ */

char *
prompt_facts(const struct report_env *env, size_t *len)
{
	return ai_context_facts(env, len);
}

/* ---- The messages ---------------------------------------------------- */

static const char task[] =
	"\n# Your task\n"
	"Write one complete Python script for /code/main.py that does what the user asks:\n"
	"- read the input image from /input/image.png (check that it exists);\n"
	"- save the result as PNG to /output/result.png;\n"
	"- read parameters from the USER_PARAMS environment variable (a JSON object), "
	"with a default for each one that is missing;\n"
	"- use only the installed libraries listed above, imported as shown;\n"
	"- be complete: every import, no placeholders, no input(), no network.\n"
	"Answer with the whole script in one ```python code block. Say anything else in "
	"at most three sentences after the block.\n";

char *
prompt_system(const char *context, size_t ctx_len)
{
	char *out;

	if ((out = malloc(ctx_len + sizeof(task))) == NULL)
		return NULL;
	memcpy(out, context, ctx_len);
	memcpy(out + ctx_len, task, sizeof(task));	/* with its NUL */
	return out;
}

char *
prompt_fence(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, run = 0, longest = 0, k;

	for (i = 0; i < n; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	k = longest + 1 < 3 ? 3 : longest + 1;
	if (k > outlen - 1)
		k = outlen - 1;
	memset(out, '`', k);
	out[k] = '\0';
	return out;
}

/* Appends s[0..n) in a fenced block labelled lang. */
static void
put_fenced(struct outbuf *o, const char *lang, const char *s, size_t n)
{
	char fence[64];

	prompt_fence(s, n, fence, sizeof(fence));
	outbuf_puts(o, fence);
	outbuf_puts(o, lang);
	outbuf_puts(o, "\n");
	outbuf_put(o, s, n);
	if (n > 0 && s[n - 1] != '\n')
		outbuf_puts(o, "\n");
	outbuf_puts(o, fence);
	outbuf_puts(o, "\n");
}

/* The last max bytes of s (NULL: ""), starting on a character; *n its length. */
static const char *
tail_of(const char *s, size_t max, size_t *n)
{
	size_t len = s ? strlen(s) : 0, off = 0;

	if (len > max)
		for (off = len - max; off < len && ((unsigned char)s[off] & 0xC0) == 0x80; off++)
			;
	*n = len - off;
	return s ? s + off : "";
}

/* What a status other than "error" means, for the model. */
static const char *
status_words(const char *status)
{
	static const struct { const char *status, *words; } w[] = {
		{ "timeout", "it was stopped at the time limit (too slow, or it never ended)" },
		{ "oom", "it ran out of memory and was killed" },
		{ "no_output", "it ended without writing /output/result.png" },
		{ "bad_output", "/output/result.png was not a PNG image within the limits" },
		{ "output_limit", "it printed more than a run may and was stopped (print less: a "
		  "summary, not every pixel)" },
		{ "cancelled", "it was cancelled before it ended" },
		{ "success", "it ran and wrote a result, but the user wants it changed" },
	};
	size_t i;

	for (i = 0; status != NULL && i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(status, w[i].status) == 0)
			return w[i].words;
	return NULL;
}

/* Appends the failed attempt: outcome, error, traceback (or stderr's end), code. */
static void
put_attempt(struct outbuf *o, const struct prompt_attempt *f)
{
	char line[PROMPT_ERROR_MAX + 256], msg[PROMPT_ERROR_MAX];
	const char *words = status_words(f->status), *t;
	size_t n;

	snprintf(line, sizeof(line), "\nThe script below (attempt %lld) failed in the sandbox "
	    "with status \"%s\"%s%s.\n", (long long)f->log_id, f->status ? f->status : "unknown",
	    words ? ": " : "", words ? words : "");
	outbuf_puts(o, line);
	if (f->error_type != NULL && f->error_type[0] != '\0') {
		utf8_copy(msg, sizeof(msg), f->error_message ? f->error_message : "",
		    f->error_message ? strlen(f->error_message) : 0);
		snprintf(line, sizeof(line), "Error: %s%s%s", f->error_type, msg[0] ? ": " : "", msg);
		outbuf_puts(o, line);
		if (f->error_line > 0) {
			snprintf(line, sizeof(line), " (line %d of main.py)", f->error_line);
			outbuf_puts(o, line);
		}
		outbuf_puts(o, "\n");
	}
	if (f->traceback != NULL && f->traceback[0] != '\0') {
		t = tail_of(f->traceback, PROMPT_TRACE_MAX, &n);
		outbuf_puts(o, "Traceback:\n");
		put_fenced(o, "text", t, n);
	} else if (f->stderr_text != NULL && f->stderr_text[0] != '\0') {
		t = tail_of(f->stderr_text, PROMPT_STDERR_MAX, &n);
		outbuf_puts(o, "The end of its standard error:\n");
		put_fenced(o, "text", t, n);
	}
	if (f->code != NULL) {
		outbuf_puts(o, "The failed script:\n");
		put_fenced(o, "python", f->code, f->code_len);
	}
	outbuf_puts(o, "Fix it: answer with the whole corrected script.\n");
}

char *
prompt_user(const char *words, const char *code, size_t code_len,
    const struct prompt_attempt *failed)
{
	struct outbuf o;
	size_t cap = strlen(words) + code_len + 4096;
	char *text;

	if (failed != NULL)
		cap += failed->code_len + PROMPT_ERROR_MAX + PROMPT_TRACE_MAX + PROMPT_STDERR_MAX +
		    1024;
	if ((text = malloc(cap)) == NULL)
		return NULL;
	outbuf_init(&o, text, cap);
	outbuf_puts(&o, words[0] ? words : "Fix the script.");
	outbuf_puts(&o, "\n");
	if (code != NULL && code_len > 0 && (failed == NULL || failed->code == NULL ||
	    failed->code_len != code_len || memcmp(failed->code, code, code_len) != 0)) {
		outbuf_puts(&o, failed ? "\nThe script as it stands now:\n" :
		    "\nThe script as it stands (change it):\n");
		put_fenced(&o, "python", code, code_len);
	}
	if (failed != NULL)
		put_attempt(&o, failed);
	if (o.full) {	/* cannot happen: cap counts every piece */
		free(text);
		return NULL;
	}
	return text;
}
