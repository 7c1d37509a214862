#define _GNU_SOURCE	/* memmem */
#include <stdio.h>
#include <string.h>

#include "facts/classify.h"
#include "base/outbuf.h"
#include "base/pyname.h"

/* ---- Categories ------------------------------------------------------------------- */

static const char *const types_import[] = { "ModuleNotFoundError", "ImportError", NULL };
static const char *const types_syntax[] = { "SyntaxError", "IndentationError", "TabError", NULL };
static const char *const types_name[] = { "NameError", "UnboundLocalError", NULL };
static const char *const types_data[] = { "KeyError", "IndexError", NULL };
static const char *const types_file[] = { "FileNotFoundError", "IsADirectoryError",
	"NotADirectoryError", "PermissionError", "FileExistsError", NULL };
static const char *const types_image[] = { "UnidentifiedImageError", "DecompressionBombError",
	"error", NULL };	/* "error": cv2.error */
static const char *const types_value[] = { "ValueError", "ZeroDivisionError", "OverflowError",
	"FloatingPointError", "UnicodeDecodeError", "UnicodeEncodeError", NULL };
/* Types whose quoted words are names worth keeping in a pattern. */
static const char *const types_keep_names[] = { "ModuleNotFoundError", "ImportError",
	"AttributeError", "NameError", "UnboundLocalError", "TypeError", "error", NULL };
static const char *const types_oserror[] = { "OSError", "IOError", "EnvironmentError", NULL };

/* Paths that are the lesson themselves, kept in patterns. */
static const char *const sandbox_paths[] = { "/input/image.png", "/output/result.png",
	"/code/main.py", "/input", "/output", "/input/", "/output/", NULL };
/* Quoted words kept whatever the type. */
static const char *const kept_words[] = { "USER_PARAMS", NULL };

/* Returns 1 when s[0..n) is one of the NULL-terminated list. */
static int
str_in_n(const char *s, size_t n, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && memcmp(*list, s, n) == 0)
			return 1;
	return 0;
}

/* Returns 1 when s (may be NULL) is one of the NULL-terminated list. */
static int
str_in(const char *s, const char *const *list)
{
	return s != NULL && str_in_n(s, strlen(s), list);
}

/* Returns 1 when needle occurs in s[0..n) (case-sensitive). */
static int
has(const char *s, size_t n, const char *needle)
{
	return s != NULL && memmem(s, n, needle, strlen(needle)) != NULL;
}

/* Returns 1 when an image library's complaint about a mode or format. */
static int
image_message(const char *m, size_t n)
{
	return has(m, n, "cannot write mode") || has(m, n, "wrong mode") ||
	    has(m, n, "image has wrong") || has(m, n, "cannot identify image file") ||
	    has(m, n, "unknown file extension") || has(m, n, "conversion from");
}

/* The category of an outcome the sandbox named (not an exception), NULL
 * for "error". */
static const char *
status_category(const char *status)
{
	static const char *const map[][2] = { { "success", "" }, { "timeout", "timeout" },
		{ "oom", "memory" }, { "no_output", "output" }, { "bad_output", "output" },
		{ "output_limit", "output" },
		{ "rejected", "rejected" } };
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(status, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/* The category of an OSError and its kin, by what the message says. */
static const char *
oserror_category(const char *message, size_t mlen)
{
	if (image_message(message, mlen))
		return "image";
	if (has(message, mlen, "Errno") || has(message, mlen, "/") ||
	    has(message, mlen, "No such file"))
		return "file";
	return "other";
}

const char *
classify_category(const char *status, const char *error_type, const char *message)
{
	size_t mlen = message ? strlen(message) : 0;
	const char *c;

	if (status == NULL)
		return "other";
	if ((c = status_category(status)) != NULL)
		return c;
	if (error_type == NULL || *error_type == '\0')
		return "other";
	if (str_in(error_type, types_import))
		return "import";
	if (strcmp(error_type, "AttributeError") == 0)
		return "attribute";
	if (str_in(error_type, types_data))
		return "data_access";
	if (str_in(error_type, types_syntax))
		return "syntax";
	if (str_in(error_type, types_name))
		return "name";
	if (str_in(error_type, types_file))
		return "file";
	if (strcmp(error_type, "MemoryError") == 0)
		return "memory";
	if (strcmp(error_type, "TimeoutError") == 0)
		return "timeout";
	if (str_in(error_type, types_image))
		return "image";
	if (str_in(error_type, types_oserror))
		return oserror_category(message, mlen);
	if (strcmp(error_type, "ValueError") == 0 && image_message(message, mlen))
		return "image";
	if (strcmp(error_type, "TypeError") == 0)
		return "type";
	if (str_in(error_type, types_value))
		return "value";
	return "other";
}

/* ---- Patterns ------------------------------------------------------------------------ */

/* Returns 1 when c is an ASCII digit. */
static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Returns 1 when c is an ASCII hex digit. */
static int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the number at s[i..n) (digits, .digits groups, exponent), 0 if
 * none. */
static size_t
number_len(const char *s, size_t i, size_t n)
{
	size_t j = i, k;

	while (j < n && is_digit((unsigned char)s[j]))
		j++;
	if (j == i)
		return 0;
	while (j + 1 < n && s[j] == '.' && is_digit((unsigned char)s[j + 1])) {
		j++;
		while (j < n && is_digit((unsigned char)s[j]))
			j++;
	}
	if (j + 1 < n && (s[j] == 'e' || s[j] == 'E')) {
		k = j + 1;
		if (k < n && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k < n && is_digit((unsigned char)s[k])) {
			while (k < n && is_digit((unsigned char)s[k]))
				k++;
			j = k;
		}
	}
	return j - i;
}

/* Length of a path starting at s[i] ('/' or "./" or "../"), up to a space,
 * a quote or punctuation that ends it; 0 if none. */
static size_t
path_len(const char *s, size_t i, size_t n)
{
	size_t j = i;

	if (s[i] == '.' && !(i + 1 < n && (s[i + 1] == '/' || (s[i + 1] == '.' && i + 2 < n &&
	    s[i + 2] == '/'))))
		return 0;
	if (s[i] == '/' && !(i + 1 < n && (pyname_char((unsigned char)s[i + 1]) ||
	    s[i + 1] == '.')))
		return 0;
	while (j < n && (s[j] == '\0' || strchr(" \t\n\r'\",:;)]}>", s[j]) == NULL))
		j++;
	while (j > i + 1 && s[j - 1] == '.')	/* a sentence's full stop */
		j--;
	return j - i;
}

/* Returns 1 when the quoted word s[0..n) looks like a file name or path. */
static int
looks_like_path(const char *s, size_t n)
{
	return n > 0 && (s[0] == '/' || memchr(s, '/', n) != NULL ||
	    (n > 4 && s[n - 4] == '.' && pyname_char((unsigned char)s[n - 1]) &&
	    memchr(s, ' ', n) == NULL && !pyname_dotted(s, n)));
}

/* The normaliser's state: the message, where it stands, and the output. */
struct norm {
	struct outbuf o;
	const char *s;
	size_t n, i;
	unsigned char prev;	/* the last character read, or a class mark */
	int keep_names;		/* quoted dotted names are kept (module, attribute...) */
	int keep_all;		/* short quoted words are kept (syntax errors) */
	int file_type;		/* quoted words are paths */
};

/* Each step below reads one token at z->i when it is its kind, writes its
 * normalised form and returns 1; else returns 0 and reads nothing. */

/* Runs of white space: one space, none at the start. */
static int
norm_space(struct norm *z)
{
	unsigned char c = (unsigned char)z->s[z->i];

	if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
		return 0;
	if (z->o.n > 0 && z->o.p[z->o.n - 1] != ' ')
		outbuf_put(&z->o, " ", 1);
	z->prev = ' ';
	z->i++;
	return 1;
}

/* A quoted word on one line (at most 256 bytes): kept when it is the
 * lesson, else <path> or <name>. */
static int
norm_quoted(struct norm *z)
{
	const char *s = z->s, *close, *nl, *w;
	size_t i = z->i, n = z->n, wl;
	char c = s[i];

	if (c != '\'' && c != '"')
		return 0;
	close = memchr(s + i + 1, c, n - i - 1 < 256 ? n - i - 1 : 256);
	nl = memchr(s + i + 1, '\n', n - i - 1);
	if (close == NULL || (nl != NULL && nl < close))
		return 0;
	w = s + i + 1;
	wl = (size_t)(close - w);
	if (str_in_n(w, wl, sandbox_paths) || str_in_n(w, wl, kept_words) ||
	    (z->keep_all && wl <= 24) || (z->keep_names && wl <= 64 && pyname_dotted(w, wl)))
		outbuf_put(&z->o, s + i, wl + 2);
	else if (z->file_type || looks_like_path(w, wl))
		outbuf_puts(&z->o, "<path>");
	else
		outbuf_puts(&z->o, "<name>");
	z->i += wl + 2;
	z->prev = (unsigned char)c;
	return 1;
}

/* A hex id: 0x7F3A2B1C, or a run of 8 or more hex digits (and '-') with a
 * digit and a letter (a job id, a hash): <id>. */
static int
norm_hex(struct norm *z)
{
	const char *s = z->s;
	size_t i = z->i, n = z->n, j;
	int digit = 0, letter = 0;

	if (pyname_char(z->prev))
		return 0;
	if (s[i] == '0' && i + 2 < n && (s[i + 1] == 'x' || s[i + 1] == 'X') &&
	    is_hex((unsigned char)s[i + 2])) {
		for (j = i + 2; j < n && is_hex((unsigned char)s[j]); j++)
			;
		if (j >= n || !pyname_char((unsigned char)s[j]))
			goto id;
	}
	if (!is_hex((unsigned char)s[i]))
		return 0;
	for (j = i; j < n && (is_hex((unsigned char)s[j]) || s[j] == '-'); j++) {
		if (is_digit((unsigned char)s[j]))
			digit = 1;
		else if (s[j] != '-')
			letter = 1;
	}
	if (j - i < 8 || !digit || !letter || (j < n && pyname_char((unsigned char)s[j])))
		return 0;
id:
	outbuf_puts(&z->o, "<id>");
	z->prev = 'x';
	z->i = j;
	return 1;
}

/* A number, or numbers joined by 'x' (640x480): <N>, <N>x<N>. */
static int
norm_number(struct norm *z)
{
	const char *s = z->s;
	size_t i = z->i, n = z->n, j, k;

	if (pyname_char(z->prev) || z->prev == '.' || !is_digit((unsigned char)s[i]))
		return 0;
	j = i + number_len(s, i, n);
	while (j + 1 < n && (s[j] == 'x' || s[j] == 'X') && is_digit((unsigned char)s[j + 1]))
		j = j + 1 + number_len(s, j + 1, n);
	if (j < n && pyname_char((unsigned char)s[j]))
		return 0;
	for (k = i; k < j; ) {
		outbuf_puts(&z->o, "<N>");
		k += number_len(s, k, n);
		if (k < j) {
			outbuf_put(&z->o, "x", 1);
			k++;
		}
	}
	z->prev = '0';
	z->i = j;
	return 1;
}

/* A path after a space, a bracket, '=' or ',': kept when the sandbox's,
 * else <path>. */
static int
norm_path(struct norm *z)
{
	const char *s = z->s;
	size_t i = z->i, k;
	unsigned char p = z->prev;

	if ((s[i] != '/' && s[i] != '.') || !(p == ' ' || p == '(' || p == '=' || p == '[' ||
	    p == ',' || i == 0) || (k = path_len(s, i, z->n)) <= 1)
		return 0;
	if (str_in_n(s + i, k, sandbox_paths))
		outbuf_put(&z->o, s + i, k);
	else
		outbuf_puts(&z->o, "<path>");
	z->prev = 'p';
	z->i += k;
	return 1;
}

/* One character, or one whole UTF-8 sequence; a control character becomes
 * a space. */
static void
norm_char(struct norm *z)
{
	unsigned char c = (unsigned char)z->s[z->i];
	size_t seq = 1;

	if (c >= 0xC0)
		while (z->i + seq < z->n && seq < 4 &&
		    ((unsigned char)z->s[z->i + seq] & 0xC0) == 0x80)
			seq++;
	if (c < 0x20)
		outbuf_put(&z->o, " ", 1);
	else
		outbuf_put(&z->o, z->s + z->i, seq);
	z->prev = c;
	z->i += seq;
}

/* Ends the output: a cut one on a whole character with "...", no trailing
 * space. Returns its length. */
static size_t
norm_finish(struct norm *z)
{
	struct outbuf *o = &z->o;
	size_t k;

	if (o->full) {
		k = o->n;
		if (k + 4 > o->cap)
			k = o->cap > 4 ? o->cap - 4 : 0;
		while (k > 0 && ((unsigned char)o->p[k] & 0xC0) == 0x80)
			k--;
		if (o->cap >= 4) {
			memcpy(o->p + k, "...", 3);
			k += 3;
		}
		o->n = k;
		o->p[k] = '\0';
	}
	while (o->n > 0 && o->p[o->n - 1] == ' ')
		o->p[--o->n] = '\0';
	return o->n;
}

size_t
classify_normalise(const char *error_type, const char *message, size_t len,
    char *out, size_t outlen)
{
	struct norm z;

	if (outlen == 0)
		return 0;
	outbuf_init(&z.o, out, outlen);
	if (message == NULL)
		return 0;
	z.s = message;
	z.n = len;
	z.i = 0;
	z.prev = ' ';
	z.keep_names = str_in(error_type, types_keep_names);
	z.keep_all = str_in(error_type, types_syntax);
	z.file_type = str_in(error_type, types_file) || str_in(error_type, types_oserror);
	while (z.i < z.n && !z.o.full) {
		if (norm_space(&z) || norm_quoted(&z) || norm_hex(&z) || norm_number(&z) ||
		    norm_path(&z))
			continue;
		norm_char(&z);
	}
	return norm_finish(&z);
}

/* ---- One record ----------------------------------------------------------------------- */

/* What a pattern says when the outcome carried no message. */
static const char *
status_words(const char *status)
{
	static const char *const words[][2] = {
		{ "error", "exited with an error and no traceback" },
		{ "timeout", "went over the time limit" },
		{ "oom", "went over the memory limit" },
		{ "no_output", "wrote no /output/result.png" },
		{ "bad_output", "/output/result.png is not a PNG within the limits" },
		{ "output_limit", "printed more than a run may" },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(status, words[i][0]) == 0)
			return words[i][1];
	return "";
}

/* The pattern of an outcome other than an exception: its head (the status,
 * or a refusal's code) and the normalised message or the status's words. */
static void
headed_pattern(const char *head, const char *status, const char *type, const char *msg,
    struct record_class *out)
{
	size_t n;

	n = (size_t)snprintf(out->pattern, sizeof(out->pattern), "%.40s", head);
	if (msg != NULL && *msg != '\0') {
		memcpy(out->pattern + n, ": ", 3);
		n += 2;
		classify_normalise(type, msg, strlen(msg), out->pattern + n,
		    sizeof(out->pattern) - n);
	} else if (*status_words(status) != '\0')
		snprintf(out->pattern + n, sizeof(out->pattern) - n, ": %s", status_words(status));
}

void
classify_record(const struct run_record *rec, struct record_class *out)
{
	const char *status = rec->status ? rec->status : "error";
	const char *msg = rec->error_message;

	memset(out, 0, sizeof(*out));
	snprintf(out->category, sizeof(out->category), "%s",
	    classify_category(status, rec->error_type, rec->error_message));
	if (strcmp(status, "success") == 0)
		return;
	/* Outcomes other than an exception start with their status (a refused
	 * request with its reject code), so rules and readers tell them apart. */
	if (strcmp(status, "rejected") == 0) {
		headed_pattern(rec->reject_code ? rec->reject_code : "rejected", status,
		    rec->error_type, rec->reject_message, out);
		return;
	}
	if (strcmp(status, "error") != 0) {
		headed_pattern(status, status, rec->error_type, msg, out);
		return;
	}
	if (msg != NULL && *msg != '\0')
		classify_normalise(rec->error_type, msg, strlen(msg), out->pattern,
		    sizeof(out->pattern));
	else if (rec->error_type == NULL)
		snprintf(out->pattern, sizeof(out->pattern), "%s", status_words(status));
}
