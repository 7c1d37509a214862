#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "sandbox/sbproto.h"
#include "base/text.h"

#define PLEN (sizeof(SBPROTO_PREFIX) - 1)

/* A stream's scanner: the script's text, a record line after the prefix,
 * the bytes of the files (stdout), or nothing more to read. */
enum { S_TEXT, S_LINE, S_FILES, S_DONE };

void
sbproto_init(struct sbproto *p, const struct sbproto_sink *sink, int64_t max_file_bytes)
{
	memset(p, 0, sizeof(*p));
	if (sink != NULL)
		p->sink = *sink;
	p->max_file_bytes = max_file_bytes;
	p->cur = -1;
}

void
sbproto_free(struct sbproto *p)
{
	free(p->out.line);
	free(p->err.line);
	free(p->error_message);
	free(p->error_traceback);
	p->out.line = p->err.line = p->error_message = p->error_traceback = NULL;
}

static void
emit_text(struct sbproto *p, int stream, const char *buf, size_t n)
{
	if (n > 0 && p->sink.text != NULL)
		p->sink.text(p->sink.arg, stream, buf, n);
}

int
sbproto_name_ok(const char *name)
{
	size_t n = strlen(name), i;
	const char *dot;

	if (n == 0 || n > SBPROTO_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	if ((dot = strrchr(name, '.')) == NULL)
		return 0;
	return strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
	    strcasecmp(dot, ".jpeg") == 0;
}

static int
number_in(const cJSON *v, double lo, double hi, double *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return 0;
	*out = v->valuedouble;
	return 1;
}

/* A string field of at most max bytes, copied (malloc'd), or NULL. */
static char *
string_copy(const cJSON *o, const char *name, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t n;
	char *s;

	if (!cJSON_IsString(v))
		return NULL;
	n = strlen(v->valuestring);
	if (n > max)
		n = max;
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	utf8_copy(s, n + 1, v->valuestring, n);
	return s;
}

/* ERROR {"type", "message", "line", "traceback"}. Returns 1 when it is
 * one (kept), 0 when not. */
static int
take_error(struct sbproto *p, const cJSON *o)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
	double line = 0;

	if (!cJSON_IsString(type) || type->valuestring[0] == '\0' ||
	    strlen(type->valuestring) >= SBPROTO_TYPE_MAX)
		return 0;
	free(p->error_message);
	free(p->error_traceback);
	utf8_copy(p->error_type, sizeof(p->error_type), type->valuestring,
	    strlen(type->valuestring));
	p->error_message = string_copy(o, "message", SBPROTO_MESSAGE_MAX);
	p->error_traceback = string_copy(o, "traceback", SBPROTO_TRACEBACK_MAX);
	p->error_line = number_in(cJSON_GetObjectItemCaseSensitive(o, "line"), 1, 1e7, &line) ?
	    (int)line : 0;
	p->has_error = 1;
	return 1;
}

/* END {"start", "end", "exit"} on stderr. Returns 1 when it is one. */
static int
take_end(struct sbproto *p, const cJSON *o)
{
	double start, end, code;

	if (!number_in(cJSON_GetObjectItemCaseSensitive(o, "start"), 0, 1e11, &start) ||
	    !number_in(cJSON_GetObjectItemCaseSensitive(o, "end"), start, 1e11, &end) ||
	    !number_in(cJSON_GetObjectItemCaseSensitive(o, "exit"), 0, 255, &code) ||
	    code != floor(code))
		return 0;
	p->end_start = start;
	p->end_end = end;
	p->exit_code = (int)code;
	p->ended = 1;
	return 1;
}

/* One entry of the file list into f. Returns 1 when it is good. */
static int
file_entry(const cJSON *e, struct sbproto_file *f)
{
	static const char *const kinds[] = { "symlink", "folder", "fifo", "other" };
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(e, "kind");
	double bytes;
	size_t k;

	if (!cJSON_IsObject(e) || !cJSON_IsString(name) || !sbproto_name_ok(name->valuestring))
		return 0;
	snprintf(f->name, sizeof(f->name), "%s", name->valuestring);
	if (cJSON_IsString(kind)) {
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strcmp(kind->valuestring, kinds[k]) == 0)
				break;
		if (k == sizeof(kinds) / sizeof(kinds[0]))
			return 0;
		snprintf(f->kind, sizeof(f->kind), "%s", kinds[k]);
		f->bytes = -1;
		return 1;
	}
	if (!number_in(cJSON_GetObjectItemCaseSensitive(e, "bytes"), 0, 1e15, &bytes) ||
	    bytes != floor(bytes))
		return 0;
	snprintf(f->kind, sizeof(f->kind), "file");
	f->bytes = (int64_t)bytes;
	return 1;
}

static void
files_fail(struct sbproto *p, const char *why)
{
	if (!p->files_bad)
		snprintf(p->files_why, sizeof(p->files_why), "%s", why);
	p->files_bad = 1;
}

/* Checks the list of files (names unique, at most SBPROTO_MAX_FILES, their
 * bytes within max_file_bytes). Returns 1 when it is good. */
static int
take_list(struct sbproto *p, const cJSON *o)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files"), *e;
	double skipped = 0;
	int64_t total = 0;
	int i;

	if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) > SBPROTO_MAX_FILES)
		return 0;
	p->nfiles = 0;
	cJSON_ArrayForEach(e, files) {
		struct sbproto_file *f = &p->files[p->nfiles];
		if (!file_entry(e, f))
			return 0;
		for (i = 0; i < p->nfiles; i++)
			if (strcmp(p->files[i].name, f->name) == 0)
				return 0;
		if (f->bytes > 0)
			total += f->bytes;
		if (total > p->max_file_bytes)
			return 0;
		p->nfiles++;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "skipped") != NULL &&
	    !number_in(cJSON_GetObjectItemCaseSensitive(o, "skipped"), 0, 1e6, &skipped))
		return 0;
	p->skipped = (int)skipped;
	return 1;
}

/* Moves to the next regular file whose bytes are to come (after cur), or
 * ends the files. */
static void
next_file(struct sbproto *p, struct sbproto_scan *s)
{
	while (++p->cur < p->nfiles) {
		struct sbproto_file *f = &p->files[p->cur];
		if (f->bytes < 0)
			continue;
		p->cur_left = f->bytes;
		if (!p->files_bad && p->sink.file_begin != NULL &&
		    p->sink.file_begin(p->sink.arg, f) < 0)
			files_fail(p, "the service could not keep the files");
		if (p->cur_left > 0) {
			s->state = S_FILES;
			return;
		}
		if (!p->files_bad && p->sink.file_end != NULL && p->sink.file_end(p->sink.arg, f) < 0)
			files_fail(p, "the service could not keep the files");
	}
	p->files_done = 1;
	s->state = S_DONE;
}

/* A whole record line: "KIND {json}". Returns 1 when it was a record of
 * this stream, 0 when it is the script's text after all. */
static int
take_line(struct sbproto *p, int stream, struct sbproto_scan *s)
{
	const char *json = memchr(s->line, ' ', s->nline);
	size_t kind_len = json ? (size_t)(json - s->line) : s->nline;
	cJSON *o;
	int ok = 0;

	if (json == NULL || (o = cJSON_ParseWithLength(json + 1, s->nline - kind_len - 1)) == NULL)
		return 0;
	if (cJSON_IsObject(o)) {
		if (stream == SBPROTO_STDERR && kind_len == 5 && memcmp(s->line, "START", 5) == 0) {
			double t;
			if ((ok = number_in(cJSON_GetObjectItemCaseSensitive(o, "t"), 0, 1e11, &t))) {
				p->started = 1;
				p->start_t = t;
				if (p->sink.started != NULL)
					p->sink.started(p->sink.arg);
			}
		} else if (stream == SBPROTO_STDERR && kind_len == 5 && memcmp(s->line, "ERROR", 5) == 0) {
			ok = take_error(p, o);
		} else if (stream == SBPROTO_STDERR && kind_len == 3 && memcmp(s->line, "END", 3) == 0) {
			if ((ok = take_end(p, o)))
				s->state = S_DONE;
		} else if (stream == SBPROTO_STDOUT && kind_len == 3 && memcmp(s->line, "END", 3) == 0) {
			ok = 1;
			p->listed = 1;
			if (!take_list(p, o)) {
				files_fail(p, "the sandbox's list of files was damaged");
				p->nfiles = 0;
			}
			next_file(p, s);
		}
	}
	cJSON_Delete(o);
	return ok;
}

/* Gathers a record line from buf; at its newline, takes it. Returns the
 * bytes used, or -1 when memory ran out. */
static ssize_t
scan_line(struct sbproto *p, int stream, struct sbproto_scan *s, const char *buf, size_t n)
{
	const char *nl = memchr(buf, '\n', n);
	size_t len = nl ? (size_t)(nl - buf) : n;
	char *grown;

	if (s->nline + len > SBPROTO_LINE_MAX) {
		/* Too long for a record: the script's text. */
		emit_text(p, stream, SBPROTO_PREFIX, PLEN);
		emit_text(p, stream, s->line, s->nline);
		s->nline = 0;
		s->state = S_TEXT;
		return 0;
	}
	if ((grown = realloc(s->line, s->nline + len + 1)) == NULL)
		return -1;
	s->line = grown;
	memcpy(s->line + s->nline, buf, len);
	s->nline += len;
	s->line[s->nline] = '\0';
	if (nl == NULL)
		return (ssize_t)len;
	s->state = S_TEXT;
	if (!take_line(p, stream, s)) {
		emit_text(p, stream, SBPROTO_PREFIX, PLEN);
		emit_text(p, stream, s->line, s->nline);
		emit_text(p, stream, "\n", 1);
	}
	s->nline = 0;
	return (ssize_t)len + 1;
}

/* The script's text up to the next possible record. Returns bytes used. */
static size_t
scan_text(struct sbproto *p, int stream, struct sbproto_scan *s, const char *buf, size_t n)
{
	const char *rs;

	if (s->nmatch > 0) {
		if (buf[0] == SBPROTO_PREFIX[s->nmatch]) {
			if (++s->nmatch == PLEN) {
				s->nmatch = 0;
				s->nline = 0;
				s->state = S_LINE;
			}
			return 1;
		}
		/* Not a record: what matched was text. */
		emit_text(p, stream, SBPROTO_PREFIX, s->nmatch);
		s->nmatch = 0;
		return 0;
	}
	if ((rs = memchr(buf, SBPROTO_PREFIX[0], n)) == NULL) {
		emit_text(p, stream, buf, n);
		return n;
	}
	emit_text(p, stream, buf, (size_t)(rs - buf));
	s->nmatch = 1;
	return (size_t)(rs - buf) + 1;
}

/* The bytes of the current file. Returns bytes used. */
static size_t
scan_files(struct sbproto *p, struct sbproto_scan *s, const char *buf, size_t n)
{
	struct sbproto_file *f = &p->files[p->cur];
	size_t take = (int64_t)n < p->cur_left ? n : (size_t)p->cur_left;

	if (!p->files_bad && p->sink.file_data != NULL && p->sink.file_data(p->sink.arg, buf, take) < 0)
		files_fail(p, "the service could not keep the files");
	p->cur_left -= (int64_t)take;
	if (p->cur_left == 0) {
		if (!p->files_bad && p->sink.file_end != NULL && p->sink.file_end(p->sink.arg, f) < 0)
			files_fail(p, "the service could not keep the files");
		next_file(p, s);
	}
	return take;
}

int
sbproto_feed(struct sbproto *p, int stream, const char *buf, size_t n)
{
	struct sbproto_scan *s = stream == SBPROTO_STDOUT ? &p->out : &p->err;
	ssize_t used;

	while (n > 0 && s->state != S_DONE) {
		switch (s->state) {
		case S_TEXT:
			used = (ssize_t)scan_text(p, stream, s, buf, n);
			break;
		case S_LINE:
			if ((used = scan_line(p, stream, s, buf, n)) < 0) {
				s->nline = 0;
				s->state = S_TEXT;
				return -1;
			}
			break;
		default:
			used = (ssize_t)scan_files(p, s, buf, n);
			break;
		}
		buf += used;
		n -= (size_t)used;
	}
	return 0;
}

void
sbproto_eof(struct sbproto *p, int stream)
{
	struct sbproto_scan *s = stream == SBPROTO_STDOUT ? &p->out : &p->err;

	if (s->state == S_TEXT && s->nmatch > 0)
		emit_text(p, stream, SBPROTO_PREFIX, s->nmatch);
	else if (s->state == S_LINE) {
		emit_text(p, stream, SBPROTO_PREFIX, PLEN);
		emit_text(p, stream, s->line, s->nline);
	} else if (s->state == S_FILES)
		files_fail(p, "the sandbox ended before its files were sent");
	s->nmatch = 0;
	s->nline = 0;
	s->state = S_DONE;
}

int
sbproto_complete(const struct sbproto *p)
{
	return p->ended && p->listed && (p->files_done || p->files_bad);
}

