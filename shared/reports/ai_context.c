#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/advice.h"
#include "reports/ai_context.h"
#include "base/log.h"
#include "base/outbuf.h"
#include "base/text.h"

#define LINE_MAX_BYTES 512	/* a line of facts */
#define FAILURES_SHOWN 12
#define FIXES_SHOWN 8

/* Appends one line (cut to max bytes, marked "...") if it fits whole with
 * the newline. Returns 1 when it did, 0 when the text is full. */
static int
ctx_line(struct outbuf *o, size_t max, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
ctx_line(struct outbuf *o, size_t max, const char *fmt, ...)
{
	char line[ADVICE_MAX + 512];
	va_list ap;
	int n;
	size_t len;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (len > max) {
		len = max - 3;
		while (len > 0 && ((unsigned char)line[len] & 0xC0) == 0x80)
			len--;
		memcpy(line + len, "...", 3);
		len += 3;
	}
	if (o->n + len + 2 > o->cap)
		return 0;
	outbuf_put(o, line, len);
	outbuf_put(o, "\n", 1);
	return 1;
}

/* Appends the limits line: "- Limits: 10 s wall clock, 1 GiB of memory,
 * 32 MiB for the images in /output." (what is known of it; nothing when none). */
static void
limits_line(struct outbuf *o, const struct report_limits *lim)
{
	char t[64], m[64], r[64], w[64];

	t[0] = m[0] = r[0] = '\0';
	if (lim->timeout_ms > 0)
		snprintf(t, sizeof(t), "%s wall clock", report_seconds(w, sizeof(w),
		    lim->timeout_ms));
	if (lim->memory_bytes > 0)
		snprintf(m, sizeof(m), "%s of memory", size_words(w, sizeof(w),
		    lim->memory_bytes));
	if (lim->output_bytes > 0)
		snprintf(r, sizeof(r), "%s for the images in /output", size_words(w, sizeof(w),
		    lim->output_bytes));
	if (t[0] || m[0] || r[0])
		ctx_line(o, LINE_MAX_BYTES, "- Limits: %s%s%s%s%s.", t, t[0] && (m[0] || r[0]) ?
		    ", " : "", m, m[0] && r[0] ? ", " : "", r);
}

/* Appends the facts of the sandbox: paths, parameters, limits, libraries. */
static void
facts_add(struct outbuf *o, const struct report_env *env, const struct package_list *pk)
{
	size_t i;

	ctx_line(o, LINE_MAX_BYTES, "# The image sandbox: facts for writing a script");
	ctx_line(o, LINE_MAX_BYTES, "- The script runs as /code/main.py (Python 3, as __main__) "
	    "with no network and no way to install packages; the file system is read-only "
	    "except /output and /tmp.");
	ctx_line(o, LINE_MAX_BYTES, "- Input: the image is /input/image.png (PNG or JPEG by "
	    "content). It is absent when no image was sent: check "
	    "os.path.exists(\"/input/image.png\").");
	ctx_line(o, LINE_MAX_BYTES, "- Output: save the result as PNG to /output/result.png; up "
	    "to 7 more PNG or JPEG images saved directly in /output/ are returned too, with "
	    "stdout and stderr; nothing else is.");
	ctx_line(o, LINE_MAX_BYTES, "- Parameters: a JSON object in the USER_PARAMS environment "
	    "variable: params = json.loads(os.environ.get(\"USER_PARAMS\") or \"{}\").");
	limits_line(o, &env->limits);
	if (pk->n > 0) {
		ctx_line(o, LINE_MAX_BYTES, "- Installed libraries (nothing else; import them "
		    "exactly so):");
		for (i = 0; i < pk->n; i++)
			ctx_line(o, 400, "  - %s  # %s", pk->p[i].import_line, pk->p[i].about);
	} else
		ctx_line(o, LINE_MAX_BYTES, "- Installed libraries: the package list could not "
		    "be read.");
	ctx_line(o, LINE_MAX_BYTES, "- Work on small copies (img.thumbnail) when the image is "
	    "large; use numpy vectorised operations, never Python loops over pixels.");
}

/* Appends what the log teaches: the most frequent failures (refused
 * requests teach a script nothing) with their advice, the fixes that
 * worked. */
static void
lessons_add(struct outbuf *o, const struct logdb_totals *t, const struct advice *a)
{
	const struct advice_rec *rc;
	size_t i, shown;

	if (t->runs <= 0 || !ctx_line(o, LINE_MAX_BYTES, "# Lessons from the execution log "
	    "(%lld runs, %.0f%% succeeded; most frequent failures first)", (long long)t->runs,
	    report_rate(t->successes, t->runs) * 100))
		return;
	for (i = 0, shown = 0; i < a->nrecs && shown < FAILURES_SHOWN; i++) {
		rc = &a->recs[i];
		if (strcmp(rc->category, "rejected") == 0)
			continue;
		if (!ctx_line(o, 700, "- `%s` (%s; %lld times, %.0f%% fixed later): %s",
		    rc->type[0] ? rc->type : rc->category, rc->rule->id, (long long)rc->count,
		    report_rate(rc->fixed, rc->count) * 100, rc->advice))
			break;
		shown++;
	}
	if (a->ngroups > 0 && ctx_line(o, LINE_MAX_BYTES, "# Fixes that worked"))
		for (i = 0; i < a->ngroups && i < FIXES_SHOWN; i++)
			if (!ctx_line(o, 600, "- %s", a->groups[i].advice))
				break;
}

char *
ai_context_facts(const struct report_env *env, size_t *len)
{
	struct package_list pk;
	struct outbuf o;
	char err[256], *text;

	*len = 0;
	if ((text = malloc(AI_CONTEXT_MAX + 1)) == NULL)
		return NULL;
	if (env->packages_file == NULL || packages_load(env->packages_file, &pk, err,
	    sizeof(err)) < 0)
		pk.n = 0;
	outbuf_init(&o, text, AI_CONTEXT_MAX + 1);
	facts_add(&o, env, &pk);
	*len = o.n;
	return text;
}

char *
ai_context(struct logdb *db, const struct report_env *env, size_t *len,
    enum report_status *st)
{
	struct logdb_totals t;
	struct advice a;
	struct outbuf o;
	char *text = NULL;
	int rc = -1;

	*st = REPORT_OK;
	*len = 0;
	memset(&a, 0, sizeof(a));
	if ((text = malloc(AI_CONTEXT_MAX + 1)) == NULL)
		goto out;
	if (logdb_read_begin(db) < 0)
		goto out;
	if (logdb_get_totals(db, &t) < 0 || advice_build(db, env, &a) < 0) {
		logdb_read_end(db);
		log_warnx("ai-context: the log could not be read");
		goto out;
	}
	logdb_read_end(db);
	outbuf_init(&o, text, AI_CONTEXT_MAX + 1);
	facts_add(&o, env, &a.pk);
	lessons_add(&o, &t, &a);
	*len = o.n;
	rc = 0;
out:
	advice_free(&a);
	if (rc < 0) {
		free(text);
		*st = REPORT_FAILED;
		return NULL;
	}
	return text;
}
