/*
 * analyze: traceback facts, categories, patterns, imports and diffs, the
 * package list (this part: pure functions on text), and the reports over
 * the log (analyze_report.c-like second half of this file).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "json_out.h"
#include "log.h"

/* ---- SHA-256 (FIPS 180-4) --------------------------------------------------- */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t fill;
};

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10)) + w[i - 7] +
		    (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 16];
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
		    sha_k[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void
sha256_update(struct sha256 *s, const unsigned char *p, size_t n)
{
	size_t take;

	s->len += n;
	while (n > 0) {
		take = 64 - s->fill < n ? 64 - s->fill : n;
		memcpy(s->buf + s->fill, p, take);
		s->fill += take;
		p += take;
		n -= take;
		if (s->fill == 64) {
			sha256_block(s, s->buf);
			s->fill = 0;
		}
	}
}

void
analyze_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	struct sha256 s = { .h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 } };
	unsigned char pad[72], digest[32];
	uint64_t bits;
	size_t padlen;
	int i;

	sha256_update(&s, data, len);
	bits = s.len * 8;
	padlen = (s.fill < 56 ? 56 : 120) - s.fill;
	memset(pad, 0, sizeof(pad));
	pad[0] = 0x80;
	for (i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(&s, pad, padlen + 8);
	for (i = 0; i < 32; i++)
		digest[i] = (unsigned char)(s.h[i / 4] >> (24 - 8 * (i % 4)));
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[64] = '\0';
}

/* ---- Small text helpers --------------------------------------------------------- */

static int
is_ident_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
is_ident(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Returns 1 when s[0..n) is a dotted identifier ("PIL.Image"). */
static int
is_dotted_ident(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !is_ident_start((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++) {
		if (s[i] == '.') {
			if (i + 1 >= n || !is_ident_start((unsigned char)s[i + 1]))
				return 0;
		} else if (!is_ident((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

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
	if (s == NULL)
		return 0;
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* Returns 1 when needle occurs in s[0..n) (case-sensitive). */
static int
has(const char *s, size_t n, const char *needle)
{
	return s != NULL && memmem(s, n, needle, strlen(needle)) != NULL;
}

/* Copies at most outlen - 1 bytes of s[0..n) into out, never cutting a
 * UTF-8 sequence, and NUL-terminates. Returns the bytes copied. */
static size_t
copy_utf8(char *out, size_t outlen, const char *s, size_t n)
{
	size_t k;

	if (outlen == 0)
		return 0;
	k = n < outlen - 1 ? n : outlen - 1;
	if (k < n)
		while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
	memcpy(out, s, k);
	out[k] = '\0';
	return k;
}

/* ---- Tracebacks ------------------------------------------------------------------ */

static const char code_file[] = "/code/main.py";

int
analyze_parse_traceback(const char *text, size_t len, struct tb_facts *f)
{
	const char *p, *end, *eol, *q, *name_end, *msg_end = NULL;
	int in_tb = 0, prev_indented = 0, msg_open = 0, found = 0;
	long v;

	memset(f, 0, sizeof(*f));
	if (text == NULL)
		return 0;
	end = text + len;
	for (p = text; p < end; p = eol < end ? eol + 1 : end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (*p == '\x1e')	/* the sandbox's record line */
			break;
		if ((size_t)(eol - p) >= 34 &&
		    memcmp(p, "Traceback (most recent call last):", 34) == 0) {
			in_tb = 1;
			prev_indented = msg_open = 0;
			continue;
		}
		if (*p == ' ' || *p == '\t') {
			/* A frame or a source line: File "/code/main.py", line 12, in f */
			for (q = p; q < eol && (*q == ' ' || *q == '\t'); q++)
				;
			if ((size_t)(eol - q) > 6 && memcmp(q, "File \"", 6) == 0) {
				in_tb = 1;
				q += 6;
				if ((size_t)(eol - q) > sizeof(code_file) + 7 &&
				    memcmp(q, code_file, sizeof(code_file) - 1) == 0 &&
				    memcmp(q + sizeof(code_file) - 1, "\", line ", 8) == 0) {
					q += sizeof(code_file) - 1 + 8;
					for (v = 0; q < eol && is_digit((unsigned char)*q) &&
					    v < 10000000; q++)
						v = v * 10 + (*q - '0');
					if (v > 0)
						f->line = (int)v;
				}
			}
			prev_indented = in_tb;
			msg_open = 0;
			continue;
		}
		if (p == eol || (eol - p == 1 && *p == '\r')) {
			prev_indented = msg_open = 0;
			continue;
		}
		if (msg_open) {
			/* The message goes on over several lines. */
			msg_end = eol;
			continue;
		}
		if (!in_tb || !prev_indented || !is_ident_start((unsigned char)*p)) {
			prev_indented = 0;
			continue;
		}
		for (name_end = p; name_end < eol && (is_ident((unsigned char)*name_end) ||
		    *name_end == '.'); name_end++)
			;
		prev_indented = 0;
		if (name_end != eol && *name_end != ':' && *name_end != '\r')
			continue;
		/* The exception line: Name, Name:, Name: message */
		found = 1;
		msg_open = 1;
		for (q = name_end; q > p && q[-1] != '.'; q--)
			;
		copy_utf8(f->type, sizeof(f->type), q, (size_t)(name_end - q));
		q = name_end;
		if (q < eol && *q == ':') {
			q++;
			if (q < eol && *q == ' ')
				q++;
		}
		f->message = q < eol ? q : eol;
		msg_end = eol;
	}
	if (!found || f->type[0] == '\0') {
		f->message = NULL;
		return 0;
	}
	f->message_len = msg_end > f->message ? (size_t)(msg_end - f->message) : 0;
	while (f->message_len > 0 && (f->message[f->message_len - 1] == '\r' ||
	    f->message[f->message_len - 1] == ' '))
		f->message_len--;
	return 1;
}

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

/* Returns 1 when an image library's complaint about a mode or format. */
static int
image_message(const char *m, size_t n)
{
	return has(m, n, "cannot write mode") || has(m, n, "wrong mode") ||
	    has(m, n, "image has wrong") || has(m, n, "cannot identify image file") ||
	    has(m, n, "unknown file extension") || has(m, n, "conversion from");
}

const char *
analyze_category(const char *status, const char *error_type, const char *message)
{
	size_t mlen = message ? strlen(message) : 0;

	if (status == NULL)
		return "other";
	if (strcmp(status, "success") == 0)
		return "";
	if (strcmp(status, "timeout") == 0)
		return "timeout";
	if (strcmp(status, "oom") == 0)
		return "memory";
	if (strcmp(status, "no_output") == 0 || strcmp(status, "bad_output") == 0)
		return "output";
	if (strcmp(status, "rejected") == 0)
		return "rejected";
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
	if (str_in(error_type, types_oserror)) {
		if (image_message(message, mlen))
			return "image";
		if (has(message, mlen, "Errno") || has(message, mlen, "/") ||
		    has(message, mlen, "No such file"))
			return "file";
		return "other";
	}
	if (strcmp(error_type, "ValueError") == 0 && image_message(message, mlen))
		return "image";
	if (strcmp(error_type, "TypeError") == 0)
		return "type";
	if (str_in(error_type, types_value))
		return "value";
	return "other";
}

/* ---- Patterns ------------------------------------------------------------------------ */

/* Paths that are the lesson themselves, kept in patterns. */
static const char *const sandbox_paths[] = { "/input/image.png", "/output/result.png",
	"/code/main.py", "/input", "/output", "/input/", "/output/", NULL };
/* Quoted words kept whatever the type. */
static const char *const kept_words[] = { "USER_PARAMS", NULL };

struct out_buf {
	char *p;
	size_t cap, n;
	int full;
};

/* Appends s[0..n) unless it does not fit whole (then marks full). */
static void
ob_put(struct out_buf *o, const char *s, size_t n)
{
	if (o->full || o->n + n + 1 > o->cap) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
}

static void
ob_puts(struct out_buf *o, const char *s)
{
	ob_put(o, s, strlen(s));
}

/* Length of the number at s[i..n) (digits, .digits groups, exponent), 0 if
 * none. */
static size_t
number_len(const char *s, size_t i, size_t n)
{
	size_t j = i;

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
		size_t k = j + 1;
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
	if (s[i] == '/' && !(i + 1 < n && (is_ident((unsigned char)s[i + 1]) || s[i + 1] == '.')))
		return 0;
	while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' &&
	    s[j] != '\'' && s[j] != '"' && s[j] != ',' && s[j] != ':' && s[j] != ';' &&
	    s[j] != ')' && s[j] != ']' && s[j] != '}' && s[j] != '>')
		j++;
	while (j > i + 1 && s[j - 1] == '.')	/* a sentence's full stop */
		j--;
	return j - i;
}

static int
is_sandbox_path(const char *s, size_t n)
{
	return str_in_n(s, n, sandbox_paths);
}

static int
looks_like_path(const char *s, size_t n)
{
	return n > 0 && (s[0] == '/' || memchr(s, '/', n) != NULL ||
	    (n > 4 && s[n - 4] == '.' && is_ident((unsigned char)s[n - 1]) &&
	    memchr(s, ' ', n) == NULL && !is_dotted_ident(s, n)));
}

size_t
analyze_normalise(const char *error_type, const char *message, size_t len,
    char *out, size_t outlen)
{
	struct out_buf o = { out, outlen, 0, 0 };
	int keep_names = str_in(error_type, types_keep_names);
	int keep_all = str_in(error_type, types_syntax);
	int file_type = str_in(error_type, types_file) || str_in(error_type, types_oserror);
	const char *s = message;
	size_t i = 0, j, k, n = len, seq;
	unsigned char c, prev = ' ';

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (s == NULL)
		return 0;
	while (i < n && !o.full) {
		c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (o.n > 0 && out[o.n - 1] != ' ')
				ob_put(&o, " ", 1);
			prev = ' ';
			i++;
			continue;
		}
		if (c == '\'' || c == '"') {
			const char *close = memchr(s + i + 1, c, n - i - 1 < 256 ? n - i - 1 : 256);
			const char *nl = memchr(s + i + 1, '\n', n - i - 1);
			if (close != NULL && (nl == NULL || nl > close)) {
				const char *w = s + i + 1;
				size_t wl = (size_t)(close - w);
				if (is_sandbox_path(w, wl) || str_in_n(w, wl, kept_words) ||
				    (keep_all && wl <= 24) ||
				    (keep_names && wl <= 64 && is_dotted_ident(w, wl)))
					ob_put(&o, s + i, wl + 2);
				else if (file_type || looks_like_path(w, wl))
					ob_puts(&o, "<path>");
				else
					ob_puts(&o, "<name>");
				i += wl + 2;
				prev = (unsigned char)c;
				continue;
			}
		}
		if (!is_ident(prev) && c == '0' && i + 2 < n && (s[i + 1] == 'x' || s[i + 1] == 'X') &&
		    is_hex((unsigned char)s[i + 2])) {
			for (j = i + 2; j < n && is_hex((unsigned char)s[j]); j++)
				;
			if (j >= n || !is_ident((unsigned char)s[j])) {
				ob_puts(&o, "<id>");
				prev = 'x';
				i = j;
				continue;
			}
		}
		if (!is_ident(prev) && is_hex(c)) {
			/* A long hex run with a digit: a job id, a hash. */
			int digit = 0, letter = 0;
			for (j = i; j < n && (is_hex((unsigned char)s[j]) || s[j] == '-'); j++) {
				if (is_digit((unsigned char)s[j]))
					digit = 1;
				else if (s[j] != '-')
					letter = 1;
			}
			if (j - i >= 8 && digit && letter && (j >= n || !is_ident((unsigned char)s[j]))) {
				ob_puts(&o, "<id>");
				prev = 'x';
				i = j;
				continue;
			}
		}
		if (!is_ident(prev) && prev != '.' && is_digit(c)) {
			j = i + number_len(s, i, n);
			/* 640x480 */
			while (j + 1 < n && (s[j] == 'x' || s[j] == 'X') && is_digit((unsigned char)s[j + 1]))
				j = j + 1 + number_len(s, j + 1, n);
			if (j >= n || !is_ident((unsigned char)s[j])) {
				for (k = i; k < j; ) {
					ob_puts(&o, "<N>");
					k += number_len(s, k, n);
					if (k < j) {
						ob_put(&o, "x", 1);
						k++;
					}
				}
				prev = '0';
				i = j;
				continue;
			}
		}
		if ((c == '/' || c == '.') && (prev == ' ' || prev == '(' || prev == '=' ||
		    prev == '[' || prev == ',' || i == 0) && (k = path_len(s, i, n)) > 1) {
			if (is_sandbox_path(s + i, k))
				ob_put(&o, s + i, k);
			else
				ob_puts(&o, "<path>");
			prev = 'p';
			i += k;
			continue;
		}
		/* One character, or one whole UTF-8 sequence. */
		seq = 1;
		if (c >= 0xC0)
			while (i + seq < n && seq < 4 && ((unsigned char)s[i + seq] & 0xC0) == 0x80)
				seq++;
		if (c < 0x20)
			ob_put(&o, " ", 1);
		else
			ob_put(&o, s + i, seq);
		prev = c;
		i += seq;
	}
	if (o.full) {
		/* Cut: end on a whole character and mark it. */
		k = o.n;
		if (k + 4 > outlen)
			k = outlen > 4 ? outlen - 4 : 0;
		while (k > 0 && ((unsigned char)out[k] & 0xC0) == 0x80)
			k--;
		if (outlen >= 4) {
			memcpy(out + k, "...", 3);
			k += 3;
		}
		o.n = k;
		out[k] = '\0';
	}
	while (o.n > 0 && out[o.n - 1] == ' ')
		out[--o.n] = '\0';
	return o.n;
}

/* What a pattern says when the outcome carried no message. */
static const char *
status_words(const char *status)
{
	if (strcmp(status, "error") == 0)
		return "exited with an error and no traceback";
	if (strcmp(status, "timeout") == 0)
		return "went over the time limit";
	if (strcmp(status, "oom") == 0)
		return "went over the memory limit";
	if (strcmp(status, "no_output") == 0)
		return "wrote no /output/result.png";
	if (strcmp(status, "bad_output") == 0)
		return "/output/result.png is not a PNG within the limits";
	return "";
}

void
analyze_classify(const struct run_record *rec, struct analyze_class *out)
{
	const char *status = rec->status ? rec->status : "error";
	const char *head = NULL, *msg = rec->error_message;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->category, sizeof(out->category), "%s",
	    analyze_category(status, rec->error_type, rec->error_message));
	if (strcmp(status, "success") == 0)
		return;
	/* Outcomes other than an exception start with their status (a refused
	 * request with its reject code), so rules and readers tell them apart. */
	if (strcmp(status, "rejected") == 0) {
		head = rec->reject_code ? rec->reject_code : "rejected";
		msg = rec->reject_message;
	} else if (strcmp(status, "error") != 0)
		head = status;
	if (head != NULL) {
		n = (size_t)snprintf(out->pattern, sizeof(out->pattern), "%.40s", head);
		if (msg != NULL && *msg != '\0') {
			memcpy(out->pattern + n, ": ", 3);
			n += 2;
			analyze_normalise(rec->error_type, msg, strlen(msg), out->pattern + n,
			    sizeof(out->pattern) - n);
		} else if (*status_words(status) != '\0')
			snprintf(out->pattern + n, sizeof(out->pattern) - n, ": %s",
			    status_words(status));
		return;
	}
	if (msg != NULL && *msg != '\0')
		analyze_normalise(rec->error_type, msg, strlen(msg), out->pattern,
		    sizeof(out->pattern));
	else if (rec->error_type == NULL)
		snprintf(out->pattern, sizeof(out->pattern), "%s", status_words(status));
}

/* ---- Imports ------------------------------------------------------------------------- */

/* Adds one normalised import to s unless there or full. */
static void
imports_add(struct import_set *s, const char *line)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->line[i], line) == 0)
			return;
	if (s->n >= ANALYZE_IMPORTS_MAX) {
		s->truncated = 1;
		return;
	}
	snprintf(s->line[s->n++], ANALYZE_IMPORT_LEN, "%s", line);
}

/* Reads a dotted name (leading dots allowed when rel) at *pp; copies it
 * into out. Returns its length, 0 if none. */
static size_t
read_name(const char **pp, const char *end, char *out, size_t outlen, int rel)
{
	const char *p = *pp, *start;
	size_t n;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	start = p;
	if (rel)
		while (p < end && *p == '.')
			p++;
	while (p < end && (is_ident((unsigned char)*p) || (*p == '.' && p > start)))
		p++;
	n = (size_t)(p - start);
	if (n == 0 || n >= outlen || (!rel && !is_ident_start((unsigned char)*start)))
		return 0;
	memcpy(out, start, n);
	out[n] = '\0';
	*pp = p;
	return n;
}

/* Reads ", name [as alias]" items of one statement into s. */
static void
import_items(struct import_set *s, const char *p, const char *end, const char *from)
{
	char name[96], alias[64], line[ANALYZE_IMPORT_LEN];
	const char *q;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '(' || *p == ')' || *p == ','))
			p++;
		if (p >= end)
			break;
		if (*p == '*' && from) {
			snprintf(line, sizeof(line), "from %s import *", from);
			imports_add(s, line);
			p++;
			continue;
		}
		if (read_name(&p, end, name, sizeof(name), 0) == 0)
			return;
		alias[0] = '\0';
		q = p;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q > 3 && q[0] == 'a' && q[1] == 's' && (q[2] == ' ' || q[2] == '\t')) {
			q += 3;
			if (read_name(&q, end, alias, sizeof(alias), 0) == 0)
				return;
			p = q;
		}
		if (from)
			snprintf(line, sizeof(line), "from %s import %s%s%s", from, name,
			    alias[0] ? " as " : "", alias);
		else
			snprintf(line, sizeof(line), "import %s%s%s", name, alias[0] ? " as " : "",
			    alias);
		imports_add(s, line);
		while (p < end && (*p == ' ' || *p == '\t' || *p == ')'))
			p++;
		if (p < end && *p != ',')
			return;
	}
}

/* Parses one statement (no newline, no comment) into s. */
static void
import_statement(struct import_set *s, const char *p, const char *end)
{
	char from[96];
	const char *q;

	if (end - p > 7 && memcmp(p, "import", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
		import_items(s, p + 7, end, NULL);
		return;
	}
	if (end - p > 5 && memcmp(p, "from", 4) == 0 && (p[4] == ' ' || p[4] == '\t')) {
		q = p + 5;
		if (read_name(&q, end, from, sizeof(from), 1) == 0)
			return;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q > 7 && memcmp(q, "import", 6) == 0 && (q[6] == ' ' || q[6] == '\t' ||
		    q[6] == '('))
			import_items(s, q + 6, end, from);
	}
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

void
analyze_imports(const char *code, size_t len, struct import_set *s)
{
	const char *p = code, *end = code + len, *eol, *q, *stop;
	char stmt[1024];
	size_t sn, t, lines;
	int in_triple = 0;
	char triple = 0;

	memset(s, 0, sizeof(*s));
	if (code == NULL)
		return;
	for (; p < end; p = eol < end ? eol + 1 : end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		for (q = p; q < eol && (*q == ' ' || *q == '\t'); q++)
			;
		/* Lines inside a triple-quoted string are not code. */
		for (t = 0; q + t + 2 < eol + 0 && t < (size_t)(eol - q); t++) {
			if ((q[t] == '"' || q[t] == '\'') && q + t + 2 < eol &&
			    q[t + 1] == q[t] && q[t + 2] == q[t] && (!in_triple || triple == q[t])) {
				in_triple = !in_triple;
				triple = q[t];
				t += 2;
			}
		}
		if (in_triple || q >= eol || (*q != 'i' && *q != 'f'))
			continue;
		/* Gather the statement: parentheses and backslashes go on. */
		sn = 0;
		lines = 0;
		for (;;) {
			stop = memchr(q, '#', (size_t)(eol - q));
			if (stop == NULL)
				stop = eol;
			while (stop > q && (stop[-1] == '\r' || stop[-1] == ' ' || stop[-1] == '\t'))
				stop--;
			t = (size_t)(stop - q);
			if (t >= sizeof(stmt) - sn - 1)
				break;
			memcpy(stmt + sn, q, t);
			sn += t;
			stmt[sn] = '\0';
			if (sn > 0 && stmt[sn - 1] == '\\') {
				stmt[--sn] = ' ';
				sn++;
			} else if (memchr(stmt, '(', sn) == NULL || memchr(stmt, ')', sn) != NULL)
				break;
			else
				stmt[sn++] = ' ';
			if (eol >= end || ++lines > 20)
				break;
			q = eol + 1;
			if ((eol = memchr(q, '\n', (size_t)(end - q))) == NULL)
				eol = end;
		}
		stmt[sn] = '\0';
		/* Statements separated by ';'. */
		for (q = stmt; q < stmt + sn; q = stop + 1) {
			while (*q == ' ' || *q == '\t')
				q++;
			if ((stop = memchr(q, ';', (size_t)(stmt + sn - q))) == NULL)
				stop = stmt + sn;
			import_statement(s, q, stop);
			if (stop >= stmt + sn)
				break;
		}
	}
	qsort(s->line, s->n, sizeof(s->line[0]), cmp_line);
}

void
analyze_import_diff(const struct import_set *a, const struct import_set *b,
    struct import_diff *d)
{
	size_t i = 0, j = 0;
	int c;

	memset(d, 0, sizeof(*d));
	while (i < a->n || j < b->n) {
		c = i >= a->n ? 1 : j >= b->n ? -1 : strcmp(a->line[i], b->line[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			if (d->n_removed < ANALYZE_DIFF_MAX)
				memcpy(d->removed[d->n_removed++], a->line[i], ANALYZE_IMPORT_LEN);
			i++;
		} else {
			if (d->n_added < ANALYZE_DIFF_MAX)
				memcpy(d->added[d->n_added++], b->line[j], ANALYZE_IMPORT_LEN);
			j++;
		}
	}
}

/* ---- Attribute names in code --------------------------------------------------------- */

#define TOKSET_CAP 4096		/* slots; at most 3/4 used */

/* A set of ".name" tokens of a text, pointing into it. */
struct tokset {
	const char *p[TOKSET_CAP];
	unsigned short len[TOKSET_CAP];
	size_t n;
	int overflow;
};

static uint32_t
fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Returns the slot of s[0..n) in t: its own, or the empty one it would take. */
static size_t
tokset_slot(const struct tokset *t, const char *s, size_t n)
{
	size_t i = fnv1a(s, n) & (TOKSET_CAP - 1);

	while (t->p[i] != NULL && !(t->len[i] == n && memcmp(t->p[i], s, n) == 0))
		i = (i + 1) & (TOKSET_CAP - 1);
	return i;
}

/* Fills t with the attribute names (".name") of code[0..len). */
static void
tokset_fill(struct tokset *t, const char *code, size_t len)
{
	size_t i, j, k;

	memset(t, 0, sizeof(*t));
	for (i = 0; i + 1 < len; i++) {
		if (code[i] != '.' || !is_ident_start((unsigned char)code[i + 1]))
			continue;
		for (j = i + 1; j < len && is_ident((unsigned char)code[j]) && j - i < 64; j++)
			;
		k = tokset_slot(t, code + i + 1, j - i - 1);
		if (t->p[k] == NULL) {
			if (t->n >= TOKSET_CAP * 3 / 4) {
				t->overflow = 1;
				return;
			}
			t->p[k] = code + i + 1;
			t->len[k] = (unsigned short)(j - i - 1);
			t->n++;
		}
		i = j - 1;
	}
}

static int
tokset_has(const struct tokset *t, const char *s, size_t n)
{
	return t->p[tokset_slot(t, s, n)] != NULL;
}

size_t
analyze_fix_changes(const char *fail_code, size_t fail_len, const char *fix_code,
    size_t fix_len, const char *category, const char *pattern,
    char out[][LOGDB_CHANGE_MAX], size_t max)
{
	struct import_set *a = NULL, *b = NULL;
	struct import_diff *d = NULL;
	struct tokset *ta = NULL, *tb = NULL;
	const char *attr, *q, *fresh[4];
	size_t n = 0, i, alen, k, nfresh = 0, flen[4];

	if (fail_code == NULL || fix_code == NULL || max == 0)
		return 0;
	/* An attribute error's name gone, and the few names that came. */
	if (category != NULL && strcmp(category, "attribute") == 0 && pattern != NULL &&
	    (attr = strstr(pattern, "has no attribute '")) != NULL &&
	    (ta = malloc(sizeof(*ta))) != NULL && (tb = malloc(sizeof(*tb))) != NULL) {
		attr += strlen("has no attribute '");
		q = strchr(attr, '\'');
		alen = q ? (size_t)(q - attr) : 0;
		tokset_fill(ta, fail_code, fail_len);
		tokset_fill(tb, fix_code, fix_len);
		if (alen > 0 && alen < 64 && !ta->overflow && !tb->overflow &&
		    tokset_has(ta, attr, alen) && !tokset_has(tb, attr, alen)) {
			snprintf(out[n++], LOGDB_CHANGE_MAX, "-.%.*s", (int)alen, attr);
			for (k = 0; k < TOKSET_CAP && nfresh <= 3; k++)
				if (tb->p[k] != NULL && !tokset_has(ta, tb->p[k], tb->len[k])) {
					if (nfresh < 4) {
						fresh[nfresh] = tb->p[k];
						flen[nfresh] = tb->len[k];
					}
					nfresh++;
				}
			for (k = 0; k < nfresh && nfresh <= 3 && n < max; k++)
				snprintf(out[n++], LOGDB_CHANGE_MAX, "+.%.*s", (int)flen[k], fresh[k]);
		}
	}
	if ((a = malloc(sizeof(*a))) == NULL || (b = malloc(sizeof(*b))) == NULL ||
	    (d = malloc(sizeof(*d))) == NULL)
		goto out;
	analyze_imports(fail_code, fail_len, a);
	analyze_imports(fix_code, fix_len, b);
	analyze_import_diff(a, b, d);
	for (i = 0; i < d->n_added && n < max; i++)
		snprintf(out[n++], LOGDB_CHANGE_MAX, "+%s", d->added[i]);
	for (i = 0; i < d->n_removed && n < max; i++)
		snprintf(out[n++], LOGDB_CHANGE_MAX, "-%s", d->removed[i]);
out:
	free(ta);
	free(tb);
	free(a);
	free(b);
	free(d);
	return n;
}

/* ---- Line diff ---------------------------------------------------------------------------- */

struct line {
	const char *p;
	uint32_t len, hash;
};

/* Splits s[0..n) into lines (a malloc'd array in *out, NULL when none).
 * Returns the count, or (size_t)-1 when memory ran out. */
static size_t
split_lines(const char *s, size_t n, struct line **out)
{
	struct line *v = NULL, *t;
	const char *p = s, *end = s + n, *eol;
	size_t k = 0, cap = 0;

	*out = NULL;
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (k == cap) {
			cap = cap ? cap * 2 : 64;
			if ((t = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				return (size_t)-1;
			}
			v = t;
		}
		v[k].p = p;
		v[k].len = (uint32_t)(eol - p);
		v[k].hash = fnv1a(p, (size_t)(eol - p));
		k++;
		p = eol + 1;
	}
	*out = v;
	return k;
}

static int
line_eq(const struct line *a, const struct line *b)
{
	return a->hash == b->hash && a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static int
cmp_hash(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The multiset count: lines (by hash) common to both count as kept.
 * Returns 0, or -1 when memory ran out (d then says every line changed). */
static int
diff_approx(const struct line *a, size_t n, const struct line *b, size_t m, struct line_diff *d)
{
	uint32_t *ha = NULL, *hb = NULL;
	size_t i, j, common = 0;
	int rc = -1;

	d->approximate = 1;
	d->added = (long)m;
	d->removed = (long)n;
	if ((ha = malloc((n + 1) * sizeof(*ha))) == NULL ||
	    (hb = malloc((m + 1) * sizeof(*hb))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		ha[i] = a[i].hash;
	for (j = 0; j < m; j++)
		hb[j] = b[j].hash;
	qsort(ha, n, sizeof(*ha), cmp_hash);
	qsort(hb, m, sizeof(*hb), cmp_hash);
	for (i = j = 0; i < n && j < m; ) {
		if (ha[i] == hb[j]) {
			common++;
			i++;
			j++;
		} else if (ha[i] < hb[j])
			i++;
		else
			j++;
	}
	d->added = (long)(m - common);
	d->removed = (long)(n - common);
	rc = 0;
out:
	free(ha);
	free(hb);
	return rc;
}

/* Myers' O(ND) difference, counting only. *budget is lowered by the work
 * done; when it runs out, when D passes ANALYZE_DIFF_D or a side has more
 * than ANALYZE_DIFF_LINES lines, the multiset count is used. Returns 0, or
 * -1 when memory ran out. */
static int
diff_lines(const char *as, size_t alen, const char *bs, size_t blen, struct line_diff *d,
    long *budget)
{
	struct line *a = NULL, *b = NULL;
	size_t n, m, pre = 0, suf = 0;
	long x, y, k, dd, off, N, M, *V = NULL;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	n = split_lines(as ? as : "", as ? alen : 0, &a);
	m = split_lines(bs ? bs : "", bs ? blen : 0, &b);
	if (n == (size_t)-1 || m == (size_t)-1) {
		d->approximate = 1;
		goto out;
	}
	while (pre < n && pre < m && line_eq(&a[pre], &b[pre]))
		pre++;
	while (suf < n - pre && suf < m - pre && line_eq(&a[n - 1 - suf], &b[m - 1 - suf]))
		suf++;
	N = (long)(n - pre - suf);
	M = (long)(m - pre - suf);
	if (N == 0 || M == 0) {
		d->added = M;
		d->removed = N;
		rc = 0;
		goto out;
	}
	if (N > ANALYZE_DIFF_LINES || M > ANALYZE_DIFF_LINES || *budget <= 0)
		goto approx;
	off = ANALYZE_DIFF_D + 1;
	if ((V = calloc((size_t)(2 * off + 1), sizeof(*V))) == NULL)
		goto approx;
	for (dd = 0; dd <= ANALYZE_DIFF_D && dd <= N + M; dd++) {
		for (k = -dd; k <= dd; k += 2) {
			if (k == -dd || (k != dd && V[off + k - 1] < V[off + k + 1]))
				x = V[off + k + 1];
			else
				x = V[off + k - 1] + 1;
			y = x - k;
			while (x < N && y < M && line_eq(&a[pre + (size_t)x], &b[pre + (size_t)y])) {
				x++;
				y++;
				(*budget)--;
			}
			(*budget)--;
			V[off + k] = x;
			if (x >= N && y >= M) {
				/* dd = N + M - 2 * common */
				d->added = (dd + (M - N)) / 2;
				d->removed = (dd - (M - N)) / 2;
				rc = 0;
				goto out;
			}
			if (*budget <= 0)
				goto approx;
		}
	}
approx:
	rc = diff_approx(a + pre, (size_t)N, b + pre, (size_t)M, d);
out:
	free(V);
	free(a);
	free(b);
	return rc;
}

int
analyze_line_diff(const char *a, size_t alen, const char *b, size_t blen, struct line_diff *d)
{
	long budget = 50L * 1000 * 1000;

	return diff_lines(a, alen, b, blen, d, &budget);
}

/* ---- The package list ------------------------------------------------------------------ */

/* Trims s[0..n) of spaces and copies it into out. */
static void
copy_trimmed(char *out, size_t outlen, const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	copy_utf8(out, outlen, s, n);
}

int
analyze_packages_load(const char *path, struct analyze_packages *pk, char *err, size_t errlen)
{
	char *buf = NULL, *p, *eol, *bar1, *bar2;
	struct analyze_package *e;
	size_t len = 0, got;
	FILE *fp = NULL;
	int rc = -1;

	memset(pk, 0, sizeof(*pk));
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no package list configured");
		return -1;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(65536 + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (len < 65536 && (got = fread(buf + len, 1, 65536 - len, fp)) > 0)
		len += got;
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	buf[len] = '\0';
	for (p = buf; p < buf + len && pk->n < ANALYZE_PACKAGES_MAX; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			eol = buf + len;
		*eol = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\0' || *p == '\r')
			continue;
		if ((bar1 = strchr(p, '|')) == NULL || (bar2 = strchr(bar1 + 1, '|')) == NULL)
			continue;	/* not a package line */
		e = &pk->p[pk->n];
		copy_trimmed(e->package, sizeof(e->package), p, (size_t)(bar1 - p));
		copy_trimmed(e->import_line, sizeof(e->import_line), bar1 + 1,
		    (size_t)(bar2 - bar1 - 1));
		copy_trimmed(e->about, sizeof(e->about), bar2 + 1, strlen(bar2 + 1));
		if (e->package[0] != '\0' && e->import_line[0] != '\0')
			pk->n++;
	}
	rc = 0;
out:
	if (rc < 0)
		memset(pk, 0, sizeof(*pk));
	free(buf);
	fclose(fp);
	return rc;
}

/* The top-level module an import line brings in ("from PIL import x" ->
 * "PIL", "import scipy.ndimage as ndi" -> "scipy"). */
static void
import_module(const char *line, char *out, size_t outlen)
{
	const char *p = line;
	size_t n = 0;

	if (strncmp(p, "from ", 5) == 0)
		p += 5;
	else if (strncmp(p, "import ", 7) == 0)
		p += 7;
	while (*p == ' ')
		p++;
	while (is_ident((unsigned char)p[n]))
		n++;
	copy_utf8(out, outlen, p, n);
}

/* Returns 1 when the import line binds name (import x as name, from m
 * import a, name, ..., import name). */
static int
import_binds(const char *line, const char *name)
{
	const char *p, *q;
	size_t n = strlen(name);

	if ((p = strstr(line, " as ")) != NULL)
		return strcmp(p + 4, name) == 0;
	if (strncmp(line, "from ", 5) == 0) {
		if ((p = strstr(line, " import ")) == NULL)
			return 0;
		for (p += 8; *p != '\0'; p = q) {
			while (*p == ' ' || *p == ',')
				p++;
			for (q = p; is_ident((unsigned char)*q); q++)
				;
			if ((size_t)(q - p) == n && memcmp(p, name, n) == 0)
				return 1;
			if (q == p)
				break;
		}
		return 0;
	}
	if (strncmp(line, "import ", 7) == 0) {
		p = line + 7;
		q = p + strcspn(p, " ,.");
		return (size_t)(q - p) == n && memcmp(p, name, n) == 0;
	}
	return 0;
}

/* Levenshtein distance of a and b (each at most 63 bytes), capped at 9. */
static int
edit_distance(const char *a, const char *b)
{
	int row[64], prev, tmp, i, j, la = (int)strlen(a), lb = (int)strlen(b);

	if (la > 63 || lb > 63)
		return 9;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb] > 9 ? 9 : row[lb];
}

/* Names people (and models) use for what is installed under another name. */
static const struct {
	const char *wrong, *module;
} module_aliases[] = {
	{ "pillow", "PIL" }, { "Image", "PIL" }, { "opencv", "cv2" }, { "cv", "cv2" },
	{ "opencv_python", "cv2" }, { "scikit_image", "skimage" }, { "scikit", "skimage" },
	{ "ndimage", "scipy" }, { "imageio", "PIL" }, { "matplotlib", "PIL" },
};

/* Finds the installed package a missing module most likely meant. Returns
 * its index in pk, or -1. */
static int
nearest_package(const struct analyze_packages *pk, const char *missing)
{
	char top[64], mod[64];
	size_t i, n;
	int best = -1, bestd = 3, dist;

	n = strcspn(missing, ".");
	copy_utf8(top, sizeof(top), missing, n);
	for (i = 0; i < sizeof(module_aliases) / sizeof(module_aliases[0]); i++)
		if (strcasecmp(top, module_aliases[i].wrong) == 0) {
			snprintf(top, sizeof(top), "%s", module_aliases[i].module);
			break;
		}
	for (i = 0; i < pk->n; i++) {
		import_module(pk->p[i].import_line, mod, sizeof(mod));
		if (strcmp(mod, "sys") == 0)
			continue;
		dist = edit_distance(top, mod);
		if (dist < bestd || (dist == 0 && bestd > 0)) {
			bestd = dist;
			best = (int)i;
		}
	}
	return best;
}

/* ---- Reports: JSON helpers ------------------------------------------------------------ */

/* Each adds to o and marks *bad when memory ran out (o NULL counts too). */
static cJSON *
jnum(int *bad, cJSON *o, const char *name, double v)
{
	cJSON *x = cJSON_AddNumberToObject(o, name, v);

	if (x == NULL)
		*bad = 1;
	return x;
}

static cJSON *
jstr(int *bad, cJSON *o, const char *name, const char *s)
{
	cJSON *x = o ? json_add_str_or_null(o, name, s) : NULL;

	if (x == NULL)
		*bad = 1;
	return x;
}

/* A string, or null when s is NULL or empty. */
static cJSON *
jstr_ne(int *bad, cJSON *o, const char *name, const char *s)
{
	return jstr(bad, o, name, s && *s ? s : NULL);
}

static cJSON *
jtext(int *bad, cJSON *o, const char *name, const char *s, size_t len)
{
	cJSON *x = o ? json_add_text(o, name, s, len) : NULL;

	if (x == NULL)
		*bad = 1;
	return x;
}

/* An id, or null when 0. */
static cJSON *
jid(int *bad, cJSON *o, const char *name, int64_t id)
{
	cJSON *x = id > 0 ? cJSON_AddNumberToObject(o, name, (double)id) :
	    cJSON_AddNullToObject(o, name);

	if (x == NULL)
		*bad = 1;
	return x;
}

static cJSON *
jbool(int *bad, cJSON *o, const char *name, int v)
{
	cJSON *x = cJSON_AddBoolToObject(o, name, v != 0);

	if (x == NULL)
		*bad = 1;
	return x;
}

static cJSON *
jnull(int *bad, cJSON *o, const char *name)
{
	cJSON *x = cJSON_AddNullToObject(o, name);

	if (x == NULL)
		*bad = 1;
	return x;
}

static cJSON *
jobj(int *bad, cJSON *o, const char *name)
{
	cJSON *x = cJSON_AddObjectToObject(o, name);

	if (x == NULL)
		*bad = 1;
	return x;
}

static cJSON *
jarr(int *bad, cJSON *o, const char *name)
{
	cJSON *x = cJSON_AddArrayToObject(o, name);

	if (x == NULL)
		*bad = 1;
	return x;
}

/* Appends a new object to array a. Returns it, or NULL (marks *bad). */
static cJSON *
jpush_obj(int *bad, cJSON *a)
{
	cJSON *x;

	if (a == NULL || (x = cJSON_CreateObject()) == NULL) {
		*bad = 1;
		return NULL;
	}
	cJSON_AddItemToArray(a, x);
	return x;
}

/* Appends a string (made valid UTF-8) to array a. */
static void
jpush_str(int *bad, cJSON *a, const char *s)
{
	char *clean;
	cJSON *x;

	if (a == NULL || (clean = utf8_sanitize(s, strlen(s))) == NULL) {
		*bad = 1;
		return;
	}
	x = cJSON_CreateString(clean);
	free(clean);
	if (x == NULL)
		*bad = 1;
	else
		cJSON_AddItemToArray(a, x);
}

static void
jpush_num(int *bad, cJSON *a, double v)
{
	cJSON *x;

	if (a == NULL || (x = cJSON_CreateNumber(v)) == NULL) {
		*bad = 1;
		return;
	}
	cJSON_AddItemToArray(a, x);
}

/* num / den rounded to 4 places; 0 when den is 0. */
static double
rate(int64_t num, int64_t den)
{
	double r;

	if (den <= 0)
		return 0;
	r = (double)num / (double)den;
	return (double)(int64_t)(r * 10000 + 0.5) / 10000;
}

/* Ends a report: the document, or NULL with *st (the cause logged). */
static cJSON *
finish(cJSON *doc, int bad, enum analyze_status *st, const char *what)
{
	if (bad || doc == NULL) {
		if (*st == ANALYZE_OK)
			*st = ANALYZE_FAILED;
		if (*st == ANALYZE_FAILED)
			log_warnx("analyze: %s: the log could not be read or memory ran out", what);
		cJSON_Delete(doc);
		return NULL;
	}
	*st = ANALYZE_OK;
	return doc;
}

/* ---- Reports: one run --------------------------------------------------------------------- */

#define RUN_STREAMS 1	/* stdout, stderr */
#define RUN_EXTRAS 2	/* params, timings */

static cJSON *
run_json(const struct logdb_run *run, int flags, int *bad)
{
	const struct run_record *r = &run->rec;
	cJSON *o, *e, *t;

	if ((o = cJSON_CreateObject()) == NULL) {
		*bad = 1;
		return NULL;
	}
	jnum(bad, o, "log_id", (double)run->id);
	jstr(bad, o, "job_id", r->job_id);
	jstr(bad, o, "session_id", r->session_id);
	jnum(bad, o, "attempt", run->attempt);
	jid(bad, o, "previous_attempt_id", r->previous_attempt_id);
	jstr(bad, o, "created_at", run->created_at);
	jstr(bad, o, "status", r->status);
	jnum(bad, o, "http_status", r->http_status);
	if (r->exit_code >= 0)
		jnum(bad, o, "exit_code", r->exit_code);
	else
		jnull(bad, o, "exit_code");
	jnum(bad, o, "duration_ms", (double)r->duration_ms);
	jstr_ne(bad, o, "category", run->category);
	jstr_ne(bad, o, "pattern", run->category[0] ? run->pattern : NULL);
	jid(bad, o, "fixed_by", run->fixed_by);
	if (r->error_type != NULL || r->error_message != NULL || r->traceback != NULL) {
		e = jobj(bad, o, "error");
		jstr(bad, e, "type", r->error_type);
		jstr(bad, e, "message", r->error_message);
		if (r->error_line > 0)
			jnum(bad, e, "line", r->error_line);
		else
			jnull(bad, e, "line");
		jstr(bad, e, "traceback", r->traceback);
	} else
		jnull(bad, o, "error");
	if (r->reject_code != NULL || r->reject_message != NULL) {
		e = jobj(bad, o, "reject");
		jstr(bad, e, "code", r->reject_code);
		jstr(bad, e, "message", r->reject_message);
	} else
		jnull(bad, o, "reject");
	jtext(bad, o, "code", r->code, r->code_len);
	jstr_ne(bad, o, "code_sha256", run->code_sha256);
	jnum(bad, o, "code_bytes", (double)(r->code ? r->code_len : 0));
	if (r->image_type != NULL || r->image_bytes > 0) {
		e = jobj(bad, o, "image");
		jstr(bad, e, "type", r->image_type);
		jnum(bad, e, "bytes", (double)r->image_bytes);
		jnum(bad, e, "width", r->image_width);
		jnum(bad, e, "height", r->image_height);
	} else
		jnull(bad, o, "image");
	jbool(bad, o, "use_sample", r->use_sample);
	jstr(bad, o, "ai_model", r->ai_model);
	jstr(bad, o, "user_prompt", r->user_prompt);
	jbool(bad, o, "truncated", r->truncated);
	if (flags & RUN_EXTRAS) {
		jstr(bad, o, "params", r->params);
		/* timings_json is the responder's own JSON: shown as an object. */
		if (r->timings_json != NULL && (t = cJSON_Parse(r->timings_json)) != NULL &&
		    cJSON_IsObject(t))
			cJSON_AddItemToObject(o, "timings", t);
		else {
			if (r->timings_json != NULL)
				cJSON_Delete(t);
			jnull(bad, o, "timings");
		}
	}
	if (flags & RUN_STREAMS) {
		jstr(bad, o, "stdout", r->stdout_text);
		jstr(bad, o, "stderr", r->stderr_text);
	}
	return o;
}

cJSON *
analyze_run_json(const struct logdb_run *run, int whole)
{
	int bad = 0;
	cJSON *o = run_json(run, whole ? RUN_STREAMS | RUN_EXTRAS : 0, &bad);

	if (bad) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- Reports: summary -------------------------------------------------------------------- */

static const char *const statuses[] = { "success", "error", "timeout", "oom", "no_output",
	"bad_output", "rejected", NULL };

/* The duration at quantile q, interpolated inside its histogram bucket. */
static int64_t
percentile(const int64_t hist[LOGDB_DURATION_BUCKETS], int64_t total, double q, int64_t max)
{
	double target = q * (double)total, cum = 0, lo, hi, v;
	int i;

	if (total <= 0)
		return 0;
	for (i = 0; i < LOGDB_DURATION_BUCKETS; i++) {
		if (hist[i] > 0 && cum + (double)hist[i] >= target) {
			lo = i > 0 ? (double)logdb_duration_bound(i - 1) : 0;
			hi = i < LOGDB_DURATION_BUCKETS - 1 ? (double)logdb_duration_bound(i) :
			    (double)max;
			if (hi > (double)max)
				hi = (double)max;
			if (lo > hi)
				lo = hi;
			v = lo + (target - cum) / (double)hist[i] * (hi - lo);
			return (int64_t)(v + 0.5);
		}
		cum += (double)hist[i];
	}
	return max;
}

static cJSON *
summary_json(struct logdb *db, int *bad)
{
	struct logdb_count c[LOGDB_DURATION_BUCKETS + 16];
	int64_t hist[LOGDB_DURATION_BUCKETS] = { 0 }, bound;
	struct logdb_totals t;
	cJSON *o, *by, *s, *d, *h, *x;
	size_t n, i;
	int b;

	if ((o = cJSON_CreateObject()) == NULL || logdb_get_totals(db, &t) < 0) {
		*bad = 1;
		return o;
	}
	jnum(bad, o, "total", (double)t.runs);
	jnum(bad, o, "successes", (double)t.successes);
	jnum(bad, o, "failures", (double)t.failures);
	jnum(bad, o, "success_rate", rate(t.successes, t.runs));
	by = jobj(bad, o, "by_status");
	for (i = 0; statuses[i] != NULL; i++)
		jnum(bad, by, statuses[i], 0);
	if (logdb_get_counts(db, LOGDB_BY_STATUS, c, sizeof(c) / sizeof(c[0]), &n) < 0)
		*bad = 1;
	for (i = 0; i < n && by != NULL; i++) {
		if ((x = cJSON_GetObjectItemCaseSensitive(by, c[i].key)) != NULL)
			cJSON_SetNumberValue(x, (double)c[i].n);
		else
			jnum(bad, by, c[i].key, (double)c[i].n);
	}
	jnum(bad, o, "failures_fixed", (double)t.fixed);
	jnum(bad, o, "failures_unfixed", (double)(t.failures - t.fixed));
	jnum(bad, o, "fix_rate", rate(t.fixed, t.failures));
	s = jobj(bad, o, "sessions");
	jnum(bad, s, "total", (double)t.sessions);
	jnum(bad, s, "with_failures", (double)t.sessions_failed);
	jnum(bad, s, "fixed", (double)(t.sessions_failed - t.sessions_unfixed));
	jnum(bad, s, "unfixed", (double)t.sessions_unfixed);
	jnum(bad, s, "fix_rate", rate(t.sessions_failed - t.sessions_unfixed, t.sessions_failed));
	if (logdb_get_counts(db, LOGDB_BY_DURATION, c, sizeof(c) / sizeof(c[0]), &n) < 0)
		*bad = 1;
	for (i = 0; i < n; i++) {
		if (strcmp(c[i].key, "inf") == 0) {
			hist[LOGDB_DURATION_BUCKETS - 1] += c[i].n;
			continue;
		}
		bound = strtoll(c[i].key, NULL, 10);
		for (b = 0; b < LOGDB_DURATION_BUCKETS - 1; b++)
			if (logdb_duration_bound(b) == bound)
				hist[b] += c[i].n;
	}
	d = jobj(bad, o, "duration_ms");
	jnum(bad, d, "runs", (double)t.ran);
	jnum(bad, d, "avg", t.ran > 0 ? (double)(t.dur_sum / t.ran) : 0);
	jnum(bad, d, "p50", (double)percentile(hist, t.ran, 0.50, t.dur_max));
	jnum(bad, d, "p95", (double)percentile(hist, t.ran, 0.95, t.dur_max));
	jnum(bad, d, "max", (double)t.dur_max);
	h = jarr(bad, d, "histogram");
	for (b = 0; b < LOGDB_DURATION_BUCKETS; b++) {
		if (hist[b] == 0)
			continue;
		x = jpush_obj(bad, h);
		if (b < LOGDB_DURATION_BUCKETS - 1)
			jnum(bad, x, "le", (double)logdb_duration_bound(b));
		else
			jnull(bad, x, "le");
		jnum(bad, x, "count", (double)hist[b]);
	}
	jnum(bad, o, "distinct_patterns", (double)t.patterns);
	jstr_ne(bad, o, "first_at", t.first_at);
	jstr_ne(bad, o, "last_at", t.last_at);
	return o;
}

cJSON *
analyze_summary(struct logdb *db, enum analyze_status *st)
{
	cJSON *doc;
	int bad = 0;

	*st = ANALYZE_OK;
	if (logdb_read_begin(db) < 0)
		return finish(NULL, 1, st, "summary");
	doc = summary_json(db, &bad);
	logdb_read_end(db);
	return finish(doc, bad, st, "summary");
}

/* ---- Reports: categories and patterns -------------------------------------------------- */

static void
categories_add(struct logdb *db, cJSON *parent, const char *name, int64_t failures, int *bad)
{
	struct logdb_count c[32];
	cJSON *a, *x;
	size_t n, i;

	a = jarr(bad, parent, name);
	if (logdb_get_counts(db, LOGDB_BY_CATEGORY, c, 32, &n) < 0) {
		*bad = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		x = jpush_obj(bad, a);
		jstr(bad, x, "category", c[i].key);
		jnum(bad, x, "count", (double)c[i].n);
		jnum(bad, x, "share", rate(c[i].n, failures));
		jnum(bad, x, "fixed", (double)c[i].fixed);
		jnum(bad, x, "fix_rate", rate(c[i].fixed, c[i].n));
		jid(bad, x, "example_log_id", c[i].last_id);
		jstr_ne(bad, x, "last_seen", c[i].last_at);
	}
}

static void
pattern_fields(cJSON *x, const struct logdb_pattern *p, int *bad)
{
	jstr(bad, x, "category", p->category);
	jstr_ne(bad, x, "type", p->error_type);
	jstr(bad, x, "pattern", p->pattern);
	jnum(bad, x, "count", (double)p->n);
	jnum(bad, x, "fixed", (double)p->fixed);
	jnum(bad, x, "fix_rate", rate(p->fixed, p->n));
	jid(bad, x, "example_log_id", p->last_id);
	jstr_ne(bad, x, "example_job_id", p->last_job);
	jid(bad, x, "first_log_id", p->first_id);
	jstr_ne(bad, x, "last_seen", p->last_at);
}

static void
patterns_add(struct logdb *db, cJSON *parent, const char *name, int limit, int *bad)
{
	struct logdb_pattern *p;
	cJSON *a, *x;
	size_t n, i;

	a = jarr(bad, parent, name);
	if ((p = calloc((size_t)limit, sizeof(*p))) == NULL ||
	    logdb_get_patterns(db, p, (size_t)limit, &n) < 0) {
		*bad = 1;
		free(p);
		return;
	}
	for (i = 0; i < n; i++) {
		x = jpush_obj(bad, a);
		pattern_fields(x, &p[i], bad);
	}
	free(p);
}

static int
clamp_limit(int limit)
{
	if (limit <= 0)
		return ANALYZE_LIMIT_DEFAULT;
	return limit > ANALYZE_LIMIT_MAX ? ANALYZE_LIMIT_MAX : limit;
}

cJSON *
analyze_error_patterns(struct logdb *db, int limit, enum analyze_status *st)
{
	struct logdb_totals t;
	cJSON *doc;
	int bad = 0;

	*st = ANALYZE_OK;
	limit = clamp_limit(limit);
	if (logdb_read_begin(db) < 0)
		return finish(NULL, 1, st, "error patterns");
	if ((doc = cJSON_CreateObject()) == NULL || logdb_get_totals(db, &t) < 0)
		bad = 1;
	else {
		jnum(&bad, doc, "failures", (double)t.failures);
		jnum(&bad, doc, "distinct_patterns", (double)t.patterns);
		categories_add(db, doc, "categories", t.failures, &bad);
		patterns_add(db, doc, "patterns", limit, &bad);
	}
	logdb_read_end(db);
	return finish(doc, bad, st, "error patterns");
}

/* ---- Reports: recommendations ----------------------------------------------------------- */

/*
 * The rule base: the first rule whose category, type and needle (a
 * substring of the pattern) match a pattern gives its advice. Advice is a
 * template: {module} {suggest} {imports} {libs} {name} {timeout} {memory}
 * {output} are filled from the pattern, the package list and the limits.
 */
static const struct rule {
	const char *id;
	const char *category;	/* NULL: any */
	const char *type;	/* NULL: any */
	const char *needle;	/* NULL: any */
	const char *advice;
} rules[] = {
	{ "missing_module", "import", NULL, "No module named",
	  "`{module}` is not installed in the sandbox{suggest}. Import only what is installed: "
	  "{imports}." },
	{ "cannot_import_name", "import", NULL, "cannot import name",
	  "That name does not exist in the installed version of the library; use these import "
	  "lines, which work here: {imports}." },
	{ "pillow_antialias", "attribute", NULL, "'ANTIALIAS'",
	  "Image.ANTIALIAS is gone from Pillow 10 (deprecated before): use Image.LANCZOS "
	  "(likewise Image.BILINEAR, Image.BICUBIC, Image.NEAREST), which works in every version." },
	{ "pillow_textsize", "attribute", NULL, "'textsize'",
	  "ImageDraw.textsize is gone from Pillow 10: measure text with "
	  "draw.textbbox((0, 0), text, font=font)." },
	{ "none_value", "attribute", NULL, "'NoneType' object has no attribute",
	  "A call returned None: cv2.imread returns None when the file is missing or unreadable "
	  "(check `if img is None`), and in-place methods such as Image.thumbnail or list.sort "
	  "return None; do not chain on them." },
	{ "array_not_image", "attribute", NULL, "'numpy.ndarray' object has no attribute",
	  "A numpy array is not a PIL Image: wrap it with Image.fromarray(arr.astype(np.uint8)) "
	  "before using Image methods such as save or convert." },
	{ "image_not_array", "attribute", NULL, "'Image' object has no attribute",
	  "A PIL Image is not a numpy array: use np.asarray(img) for .shape and arithmetic, "
	  "and img.size for (width, height)." },
	{ "attribute_api", "attribute", NULL, NULL,
	  "The attribute does not exist in the installed version; stick to long-standing APIs "
	  "of the installed libraries ({libs})." },
	{ "input_missing", "file", NULL, "/input/image.png",
	  "No image was sent with that run: send an image (or use the sample), and in the "
	  "script check os.path.exists(\"/input/image.png\") and exit with a clear message." },
	{ "output_path", "file", NULL, "/output",
	  "Write only /output/result.png (create nothing else there); the rest of the file "
	  "system is read-only, scratch files go to /tmp." },
	{ "paths", "file", NULL, NULL,
	  "Only two files exist for a script: read /input/image.png and write "
	  "/output/result.png; everything else is read-only (scratch space: /tmp)." },
	{ "save_result", "output", NULL, "no_output",
	  "Save the result as PNG to /output/result.png (img.save(\"/output/result.png\") or "
	  "cv2.imwrite(\"/output/result.png\", arr)); showing or printing an image returns "
	  "nothing." },
	{ "bad_result", "output", NULL, "bad_output",
	  "/output/result.png must be a real PNG of at most {output}: save with a .png name "
	  "(or format=\"PNG\") from an 8-bit image (mode RGB, RGBA or L), downscaled if huge." },
	{ "time_limit", "timeout", NULL, NULL,
	  "A run is stopped after {timeout}: downscale large images first "
	  "(img.thumbnail((2048, 2048))), never loop over pixels in Python, use numpy "
	  "vectorised operations and library filters instead." },
	{ "memory_limit", "memory", NULL, NULL,
	  "A run has {memory} of memory: downscale before processing, keep arrays uint8 "
	  "(float64 takes 8 times the room), avoid copies of full-size arrays." },
	{ "pillow_jpeg_alpha", "image", NULL, "as JPEG",
	  "JPEG has no alpha channel: img.convert(\"RGB\") before saving as JPEG, or better, "
	  "save PNG to /output/result.png." },
	{ "pillow_mode", "image", NULL, "mode",
	  "Convert to the mode the operation needs first: img.convert(\"RGB\") for colour "
	  "work, img.convert(\"L\") for single-channel filters; check img.mode." },
	{ "not_an_image", "image", NULL, "cannot identify image file",
	  "The input could not be read as an image: open /input/image.png with Image.open "
	  "and make sure an image (PNG or JPEG) was sent." },
	{ "opencv_empty", "image", "error", "empty()",
	  "OpenCV got an empty image: cv2.imread returns None for a missing or unreadable "
	  "file; check `if img is None` before processing." },
	{ "opencv_arrays", "image", "error", NULL,
	  "OpenCV wants numpy uint8 arrays in BGR order: arr = cv2.cvtColor(np.asarray("
	  "img.convert(\"RGB\")), cv2.COLOR_RGB2BGR), and COLOR_BGR2RGB back before "
	  "Image.fromarray." },
	{ "opencv_type", "type", NULL, "cv::UMat",
	  "OpenCV wants numpy uint8 arrays (BGR order), not PIL Images: "
	  "cv2.cvtColor(np.asarray(img.convert(\"RGB\")), cv2.COLOR_RGB2BGR)." },
	{ "fromarray_dtype", "type", NULL, "Cannot handle this data type",
	  "Image.fromarray wants uint8 arrays shaped (h, w), (h, w, 3) or (h, w, 4): "
	  "np.clip(arr, 0, 255).astype(np.uint8)." },
	{ "none_type", "type", NULL, "'NoneType'",
	  "A value is None where an object was expected: cv2.imread returns None for a missing "
	  "file, and in-place methods return None." },
	{ "user_params", "data_access", "KeyError", NULL,
	  "Do not assume keys exist: read parameters with params = json.loads("
	  "os.environ.get(\"USER_PARAMS\") or \"{}\") and params.get(\"name\", default)." },
	{ "array_shape", "data_access", "IndexError", NULL,
	  "Check shapes before indexing: greyscale arrays are (h, w), colour (h, w, 3 or 4); "
	  "img.convert(\"RGB\") first to be sure of three channels." },
	{ "syntax", "syntax", NULL, NULL,
	  "Send plain, complete Python 3 source: no Markdown fences (```), no prose around "
	  "the code, consistent indentation with spaces." },
	{ "undefined_name", "name", NULL, NULL,
	  "Import or define every name before using it{name}." },
	{ "values", "value", NULL, NULL,
	  "Validate values before use (parameters from USER_PARAMS, sizes that may be 0, "
	  "divisions) and convert types explicitly (int(), float())." },
	{ "types", "type", NULL, NULL,
	  "Check the types passed to library calls: Pillow wants Image objects and int sizes, "
	  "numpy and OpenCV want uint8 arrays." },
	{ "busy", "rejected", NULL, "busy",
	  "Every sandbox was busy: retry after the Retry-After seconds." },
	{ "rejected", "rejected", NULL, NULL,
	  "The request was refused before running: send the code as UTF-8 within the size "
	  "limits, images as PNG or JPEG, params as a JSON object." },
	{ "other", NULL, NULL, NULL,
	  "Read the traceback of the example attempt; catch the case in the script and print "
	  "a clear message." },
};

/* Python modules worth suggesting for a NameError. */
static const char *const stdlib_names[] = { "os", "sys", "json", "math", "random", "time",
	"re", "io", "glob", "shutil", "struct", "itertools", "functools", "collections", NULL };

/* What a rule's template needs. */
struct render_ctx {
	const struct analyze_env *env;
	const struct analyze_packages *pk;	/* n = 0: not known */
	const char *pattern;
};

/* Copies the text between the first "'" after marker in pattern into out. */
static int
quoted_after(const char *pattern, const char *marker, char *out, size_t outlen)
{
	const char *p, *q;

	if ((p = strstr(pattern, marker)) == NULL || (p = strchr(p + strlen(marker) - 1, '\'')) == NULL)
		return 0;
	p++;
	if ((q = strchr(p, '\'')) == NULL || q == p)
		return 0;
	copy_utf8(out, outlen, p, (size_t)(q - p));
	return 1;
}

/* Writes a limit in words ("10 s", "1024 MB") or what to say without it. */
static void
limit_words(char *out, size_t outlen, int64_t v, int64_t unit, const char *suffix,
    const char *unknown)
{
	if (v <= 0)
		snprintf(out, outlen, "%s", unknown);
	else if (v % unit == 0)
		snprintf(out, outlen, "%lld %s", (long long)(v / unit), suffix);
	else
		snprintf(out, outlen, "%.1f %s", (double)v / (double)unit, suffix);
}

/* Appends the library list (import lines) to o. */
static void
put_imports(struct out_buf *o, const struct analyze_packages *pk)
{
	size_t i, k = 0;

	if (pk->n == 0) {
		ob_puts(o, "the libraries of the sandbox's package list");
		return;
	}
	for (i = 0; i < pk->n; i++) {
		if (strcmp(pk->p[i].import_line, "import sys") == 0)
			continue;
		if (k++ > 0)
			ob_puts(o, ", ");
		ob_puts(o, "`");
		ob_puts(o, pk->p[i].import_line);
		ob_puts(o, "`");
	}
}

/* Appends the libraries' short names ("Pillow, NumPy") to o. */
static void
put_libs(struct out_buf *o, const struct analyze_packages *pk)
{
	size_t i, k = 0, n;

	if (pk->n == 0) {
		ob_puts(o, "see the package list");
		return;
	}
	for (i = 0; i < pk->n; i++) {
		if (strcmp(pk->p[i].import_line, "import sys") == 0)
			continue;
		n = strcspn(pk->p[i].about, ":");
		if (k++ > 0)
			ob_puts(o, ", ");
		ob_put(o, pk->p[i].about, n);
	}
}

/* Writes a rule's advice for one pattern into out. */
static void
render(char *out, size_t outlen, const char *tmpl, const struct render_ctx *c)
{
	struct out_buf o = { out, outlen, 0, 0 };
	const struct analyze_limits *lim = &c->env->limits;
	const char *p, *close;
	char word[128], buf[160];
	size_t i;
	int k;

	out[0] = '\0';
	for (p = tmpl; *p != '\0' && !o.full; p++) {
		if (*p != '{' || (close = strchr(p, '}')) == NULL || close - p > 16) {
			ob_put(&o, p, 1);
			continue;
		}
		copy_utf8(word, sizeof(word), p + 1, (size_t)(close - p - 1));
		p = close;
		if (strcmp(word, "module") == 0) {
			if (quoted_after(c->pattern, "No module named", buf, sizeof(buf)))
				ob_puts(&o, buf);
			else
				ob_puts(&o, "That module");
		} else if (strcmp(word, "suggest") == 0) {
			if (quoted_after(c->pattern, "No module named", buf, sizeof(buf)) &&
			    (k = nearest_package(c->pk, buf)) >= 0) {
				ob_puts(&o, "; the nearest installed library is imported with `");
				ob_puts(&o, c->pk->p[k].import_line);
				ob_puts(&o, "`");
			}
		} else if (strcmp(word, "imports") == 0)
			put_imports(&o, c->pk);
		else if (strcmp(word, "libs") == 0)
			put_libs(&o, c->pk);
		else if (strcmp(word, "timeout") == 0) {
			limit_words(buf, sizeof(buf), lim->timeout_ms, 1000, "s", "its time limit");
			ob_puts(&o, buf);
		} else if (strcmp(word, "memory") == 0) {
			limit_words(buf, sizeof(buf), lim->memory_bytes, 1024 * 1024, "MB",
			    "a bounded amount");
			ob_puts(&o, buf);
		} else if (strcmp(word, "output") == 0) {
			limit_words(buf, sizeof(buf), lim->output_bytes, 1024 * 1024, "MB",
			    "the output limit");
			ob_puts(&o, buf);
		} else if (strcmp(word, "name") == 0) {
			if (!quoted_after(c->pattern, "name ", buf, sizeof(buf)))
				continue;
			for (i = 0; i < c->pk->n; i++)
				if (import_binds(c->pk->p[i].import_line, buf)) {
					ob_puts(&o, ": `");
					ob_puts(&o, buf);
					ob_puts(&o, "` comes from `");
					ob_puts(&o, c->pk->p[i].import_line);
					ob_puts(&o, "`");
					break;
				}
			if (i == c->pk->n && str_in(buf, stdlib_names)) {
				ob_puts(&o, ": add `import ");
				ob_puts(&o, buf);
				ob_puts(&o, "`");
			}
		} else {
			ob_puts(&o, "{");
			ob_puts(&o, word);
			ob_puts(&o, "}");
		}
	}
}

/* Returns the first rule matching a pattern (the last rule matches all). */
static const struct rule *
rule_for(const struct logdb_pattern *p)
{
	const struct rule *r;
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		r = &rules[i];
		if (r->category != NULL && strcmp(r->category, p->category) != 0)
			continue;
		if (r->type != NULL && strcmp(r->type, p->error_type) != 0)
			continue;
		if (r->needle != NULL && strstr(p->pattern, r->needle) == NULL)
			continue;
		return r;
	}
	return &rules[sizeof(rules) / sizeof(rules[0]) - 1];
}

#define PATTERN_SCAN 500	/* patterns the recommendations look at */
#define LESSON_SCAN 400		/* lesson rows the lessons look at */
#define REC_PATTERNS 3		/* patterns shown per recommendation */
#define REC_LEARNT 3		/* lessons shown per recommendation */
#define ADVICE_MAX 1024

/* One recommendation: a rule's advice and the patterns it answers. */
struct rec {
	const struct rule *rule;
	char advice[ADVICE_MAX];
	const struct logdb_pattern *pat[REC_PATTERNS];	/* the most frequent */
	size_t npat;
	int64_t count, fixed, example_id, ids[32];
	const char *example_job;		/* of example_id; "" when none */
	size_t nids;
	char learnt[REC_LEARNT][ADVICE_MAX];
	size_t nlearnt;
};

/* The changes seen in fixes of one pattern. */
#define GROUP_CHANGES 4
struct lesson_group {
	const struct logdb_pattern *p;
	const char *add[GROUP_CHANGES], *del[GROUP_CHANGES];
	int64_t add_n[GROUP_CHANGES], del_n[GROUP_CHANGES];
	size_t nadd, ndel;
	int64_t times, fail_id, fix_id;
	char advice[ADVICE_MAX];
};

/* What recommendations and lessons are made of; one read of the log. */
struct knowledge {
	struct analyze_packages pk;
	struct logdb_pattern *pats;
	size_t npats;
	struct logdb_lesson *lessons;
	size_t nlessons;
	struct lesson_group *groups;
	size_t ngroups;
	struct rec *recs;
	size_t nrecs;
};

static void
knowledge_free(struct knowledge *k)
{
	free(k->pats);
	free(k->lessons);
	free(k->groups);
	free(k->recs);
	memset(k, 0, sizeof(*k));
}

static int
cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->example_id > y->example_id ? -1 : x->example_id < y->example_id;
}

static int
cmp_group(const void *a, const void *b)
{
	const struct lesson_group *x = a, *y = b;

	if (x->times != y->times)
		return x->times > y->times ? -1 : 1;
	return x->fix_id > y->fix_id ? -1 : x->fix_id < y->fix_id;
}

/* Writes "`x` (3×)" or "`x`" for a change (its leading +/- dropped). */
static void
put_change(struct out_buf *o, const char *change, int64_t n)
{
	char buf[32];

	ob_puts(o, "`");
	ob_puts(o, change + 1);
	ob_puts(o, "`");
	if (n > 1) {
		snprintf(buf, sizeof(buf), " (%lld\xc3\x97)", (long long)n);
		ob_puts(o, buf);
	}
}

/* Writes the advice a lesson group teaches. */
static void
group_advice(struct lesson_group *g)
{
	struct out_buf o = { g->advice, sizeof(g->advice), 0, 0 };
	size_t i;
	int attr_swap = g->ndel > 0 && g->del[0][1] == '.' && g->nadd > 0 && g->add[0][1] == '.';

	ob_puts(&o, "Failures with `");
	if (g->p->error_type[0]) {
		ob_puts(&o, g->p->error_type);
		ob_puts(&o, ": ");
	}
	ob_puts(&o, g->p->pattern);
	ob_puts(&o, "` were fixed by ");
	if (attr_swap) {
		ob_puts(&o, "using ");
		put_change(&o, g->add[0], g->add_n[0]);
		ob_puts(&o, " instead of ");
		put_change(&o, g->del[0], g->del_n[0]);
		i = 1;
	} else
		i = 0;
	if (!attr_swap && g->nadd > 0) {
		ob_puts(&o, "adding ");
		for (; i < g->nadd; i++) {
			if (i > 0)
				ob_puts(&o, ", ");
			put_change(&o, g->add[i], g->add_n[i]);
		}
	}
	for (i = attr_swap ? 1 : 0; i < g->ndel; i++) {
		if (i == (attr_swap ? 1u : 0u))
			ob_puts(&o, attr_swap || g->nadd > 0 ? "; removing " : "removing ");
		else
			ob_puts(&o, ", ");
		put_change(&o, g->del[i], g->del_n[i]);
	}
	ob_puts(&o, ".");
	if (o.full)
		memcpy(g->advice + sizeof(g->advice) - 4, "...", 4);
}

/* Reads the patterns and lessons and builds recommendations and lesson
 * groups. Returns 0, or -1 (read error or memory). */
static int
knowledge_build(struct logdb *db, const struct analyze_env *env, struct knowledge *k)
{
	struct render_ctx ctx;
	struct lesson_group *g;
	const struct rule *r;
	struct rec *rc;
	char advice[ADVICE_MAX], err[256];
	size_t i, j;

	memset(k, 0, sizeof(*k));
	if (env->packages_file != NULL &&
	    analyze_packages_load(env->packages_file, &k->pk, err, sizeof(err)) < 0)
		log_warnx("analyze: package list: %s", err);
	if ((k->pats = calloc(PATTERN_SCAN, sizeof(*k->pats))) == NULL ||
	    (k->lessons = calloc(LESSON_SCAN, sizeof(*k->lessons))) == NULL ||
	    (k->groups = calloc(LESSON_SCAN, sizeof(*k->groups))) == NULL ||
	    (k->recs = calloc(PATTERN_SCAN, sizeof(*k->recs))) == NULL ||
	    logdb_get_patterns(db, k->pats, PATTERN_SCAN, &k->npats) < 0 ||
	    logdb_get_lessons(db, k->lessons, LESSON_SCAN, &k->nlessons) < 0)
		return -1;

	/* Recommendations: one per distinct advice. */
	ctx.env = env;
	ctx.pk = &k->pk;
	for (i = 0; i < k->npats; i++) {
		r = rule_for(&k->pats[i]);
		ctx.pattern = k->pats[i].pattern;
		render(advice, sizeof(advice), r->advice, &ctx);
		for (j = 0; j < k->nrecs; j++)
			if (k->recs[j].rule == r && strcmp(k->recs[j].advice, advice) == 0)
				break;
		rc = &k->recs[j];
		if (j == k->nrecs) {
			k->nrecs++;
			rc->rule = r;
			memcpy(rc->advice, advice, sizeof(advice));
		}
		if (rc->npat < REC_PATTERNS)
			rc->pat[rc->npat++] = &k->pats[i];
		if (rc->nids < sizeof(rc->ids) / sizeof(rc->ids[0]))
			rc->ids[rc->nids++] = k->pats[i].id;
		rc->count += k->pats[i].n;
		rc->fixed += k->pats[i].fixed;
		if (k->pats[i].last_id > rc->example_id) {
			rc->example_id = k->pats[i].last_id;
			rc->example_job = k->pats[i].last_job;
		}
	}

	/* Lessons: changes grouped by the pattern they fixed. */
	for (i = 0; i < k->nlessons; i++) {
		struct logdb_lesson *l = &k->lessons[i];
		for (j = 0; j < k->ngroups; j++)
			if (k->groups[j].p->id == l->pattern.id)
				break;
		g = &k->groups[j];
		if (j == k->ngroups) {
			k->ngroups++;
			g->p = &l->pattern;
			g->fail_id = l->example_fail_id;
			g->fix_id = l->example_fix_id;
		}
		if (l->n > g->times)
			g->times = l->n;
		if (l->change[0] == '+' && g->nadd < GROUP_CHANGES) {
			g->add[g->nadd] = l->change;
			g->add_n[g->nadd++] = l->n;
		} else if (l->change[0] == '-' && g->ndel < GROUP_CHANGES) {
			g->del[g->ndel] = l->change;
			g->del_n[g->ndel++] = l->n;
		}
	}
	for (j = 0; j < k->ngroups; j++)
		group_advice(&k->groups[j]);
	qsort(k->groups, k->ngroups, sizeof(*k->groups), cmp_group);

	/* Each recommendation gets the lessons of its patterns. */
	for (i = 0; i < k->nrecs; i++) {
		rc = &k->recs[i];
		for (j = 0; j < k->ngroups && rc->nlearnt < REC_LEARNT; j++) {
			size_t m;
			for (m = 0; m < rc->nids; m++)
				if (rc->ids[m] == k->groups[j].p->id)
					break;
			if (m < rc->nids)
				snprintf(rc->learnt[rc->nlearnt++], ADVICE_MAX, "%s",
				    k->groups[j].advice);
		}
	}
	qsort(k->recs, k->nrecs, sizeof(*k->recs), cmp_rec);
	return 0;
}

static void
recs_add(const struct knowledge *k, cJSON *parent, const char *name, int limit, int *bad)
{
	const struct rec *rc;
	cJSON *a, *x, *p;
	size_t i, j;

	a = jarr(bad, parent, name);
	for (i = 0; i < k->nrecs && i < (size_t)limit; i++) {
		rc = &k->recs[i];
		x = jpush_obj(bad, a);
		jstr(bad, x, "rule", rc->rule->id);
		jstr(bad, x, "category", rc->pat[0]->category);
		jstr_ne(bad, x, "error_type", rc->pat[0]->error_type);
		p = jarr(bad, x, "patterns");
		for (j = 0; j < rc->npat; j++)
			jpush_str(bad, p, rc->pat[j]->pattern);
		jstr(bad, x, "advice", rc->advice);
		jnum(bad, x, "count", (double)rc->count);
		jnum(bad, x, "fixed", (double)rc->fixed);
		jnum(bad, x, "fix_rate", rate(rc->fixed, rc->count));
		jid(bad, x, "example_log_id", rc->example_id);
		jstr_ne(bad, x, "example_job_id", rc->example_job);
		p = jarr(bad, x, "learnt");
		for (j = 0; j < rc->nlearnt; j++)
			jpush_str(bad, p, rc->learnt[j]);
	}
}

static void
lessons_add_json(const struct knowledge *k, cJSON *parent, const char *name, int limit, int *bad)
{
	const struct lesson_group *g;
	cJSON *a, *x, *c, *y;
	size_t i, j;

	a = jarr(bad, parent, name);
	for (i = 0; i < k->ngroups && i < (size_t)limit; i++) {
		g = &k->groups[i];
		x = jpush_obj(bad, a);
		jstr(bad, x, "category", g->p->category);
		jstr_ne(bad, x, "type", g->p->error_type);
		jstr(bad, x, "pattern", g->p->pattern);
		jnum(bad, x, "times", (double)g->times);
		c = jarr(bad, x, "added");
		for (j = 0; j < g->nadd; j++) {
			y = jpush_obj(bad, c);
			jstr(bad, y, "change", g->add[j] + 1);
			jnum(bad, y, "times", (double)g->add_n[j]);
		}
		c = jarr(bad, x, "removed");
		for (j = 0; j < g->ndel; j++) {
			y = jpush_obj(bad, c);
			jstr(bad, y, "change", g->del[j] + 1);
			jnum(bad, y, "times", (double)g->del_n[j]);
		}
		jstr(bad, x, "advice", g->advice);
		jid(bad, x, "example_fail_log_id", g->fail_id);
		jid(bad, x, "example_fix_log_id", g->fix_id);
	}
}

cJSON *
analyze_recommendations(struct logdb *db, const struct analyze_env *env, int limit,
    enum analyze_status *st)
{
	struct knowledge k;
	cJSON *doc = NULL;
	int bad = 0;

	*st = ANALYZE_OK;
	limit = clamp_limit(limit);
	if (logdb_read_begin(db) < 0)
		return finish(NULL, 1, st, "recommendations");
	if (knowledge_build(db, env, &k) < 0 || (doc = cJSON_CreateObject()) == NULL)
		bad = 1;
	else {
		recs_add(&k, doc, "recommendations", limit, &bad);
		lessons_add_json(&k, doc, "lessons", limit, &bad);
	}
	knowledge_free(&k);
	logdb_read_end(db);
	return finish(doc, bad, st, "recommendations");
}

/* ---- Reports: the analysis ---------------------------------------------------------------- */

cJSON *
analyze_analysis(struct logdb *db, const struct analyze_env *env, int limit,
    enum analyze_status *st)
{
	struct logdb_count c[ANALYZE_TREND_DAYS > 20 ? ANALYZE_TREND_DAYS : 20];
	struct logdb_totals t;
	struct knowledge k;
	cJSON *doc = NULL, *a, *x;
	size_t n, i;
	int bad = 0;

	*st = ANALYZE_OK;
	limit = clamp_limit(limit);
	memset(&k, 0, sizeof(k));
	if (logdb_read_begin(db) < 0)
		return finish(NULL, 1, st, "analysis");
	if ((doc = cJSON_CreateObject()) == NULL || logdb_get_totals(db, &t) < 0 ||
	    knowledge_build(db, env, &k) < 0) {
		bad = 1;
		goto out;
	}
	cJSON_AddItemToObject(doc, "summary", summary_json(db, &bad));
	categories_add(db, doc, "categories", t.failures, &bad);
	patterns_add(db, doc, "error_patterns", limit, &bad);
	jnum(&bad, doc, "distinct_patterns", (double)t.patterns);
	recs_add(&k, doc, "recommendations", limit, &bad);
	lessons_add_json(&k, doc, "lessons", limit, &bad);
	/* The trend, oldest day first. */
	a = jarr(&bad, doc, "trend");
	if (logdb_get_counts(db, LOGDB_BY_DAY, c, ANALYZE_TREND_DAYS, &n) < 0)
		bad = 1;
	for (i = n; i-- > 0; ) {
		x = jpush_obj(&bad, a);
		jstr(&bad, x, "day", c[i].key);
		jnum(&bad, x, "runs", (double)c[i].n);
		jnum(&bad, x, "failures", (double)c[i].failures);
		jnum(&bad, x, "fixed", (double)c[i].fixed);
		jnum(&bad, x, "success_rate", rate(c[i].n - c[i].failures, c[i].n));
	}
	a = jarr(&bad, doc, "models");
	if (logdb_get_counts(db, LOGDB_BY_MODEL, c, 20, &n) < 0)
		bad = 1;
	for (i = 0; i < n; i++) {
		x = jpush_obj(&bad, a);
		jstr_ne(&bad, x, "ai_model", c[i].key);
		jnum(&bad, x, "runs", (double)c[i].n);
		jnum(&bad, x, "failures", (double)c[i].failures);
		jnum(&bad, x, "fixed", (double)c[i].fixed);
		jnum(&bad, x, "success_rate", rate(c[i].n - c[i].failures, c[i].n));
	}
out:
	knowledge_free(&k);
	logdb_read_end(db);
	return finish(doc, bad, st, "analysis");
}

/* ---- Reports: pages, sessions, one log ------------------------------------------------------ */

cJSON *
analyze_page(struct logdb *db, enum logdb_filter f, int64_t before, int limit,
    enum analyze_status *st)
{
	static const char *const names[] = { [LOGDB_FAILURES] = "failures",
		[LOGDB_UNFIXED] = "unfixed", [LOGDB_SUCCESSES] = "successes", [LOGDB_ALL] = "all" };
	struct logdb_run *runs = NULL;
	cJSON *doc, *a, *x;
	size_t n = 0, i;
	int bad = 0;

	*st = ANALYZE_OK;
	limit = clamp_limit(limit);
	if ((unsigned)f > LOGDB_ALL)
		return finish(NULL, 1, st, "page");
	if ((doc = cJSON_CreateObject()) == NULL ||
	    logdb_get_page(db, f, before, (size_t)limit, &runs, &n) < 0)
		return finish(doc, 1, st, "page");
	jstr(&bad, doc, "filter", names[f]);
	jnum(&bad, doc, "limit", limit);
	jid(&bad, doc, "before", before);
	jnum(&bad, doc, "count", (double)n);
	a = jarr(&bad, doc, "items");
	for (i = 0; i < n && a != NULL; i++) {
		if ((x = run_json(&runs[i], 0, &bad)) != NULL)
			cJSON_AddItemToArray(a, x);
	}
	/* The next page starts below the oldest row of this one. */
	jid(&bad, doc, "next_before", n == (size_t)limit && n > 0 ? runs[n - 1].id : 0);
	logdb_runs_free(runs, n);
	return finish(doc, bad, st, "page");
}

/* Adds what changed from run a to run b: lines, imports, same code. */
static void
changes_add(cJSON *o, const struct logdb_run *a, const struct logdb_run *b, long *budget,
    int *bad)
{
	struct import_set *ia = NULL, *ib = NULL;
	struct import_diff *d = NULL;
	struct line_diff ld;
	cJSON *x;
	size_t i;

	jid(bad, o, "from_log_id", a->id);
	jbool(bad, o, "same_code", a->code_sha256[0] && strcmp(a->code_sha256, b->code_sha256) == 0);
	if (diff_lines(a->rec.code, a->rec.code_len, b->rec.code, b->rec.code_len, &ld, budget) < 0)
		ld.approximate = 1;
	jnum(bad, o, "lines_added", (double)ld.added);
	jnum(bad, o, "lines_removed", (double)ld.removed);
	jbool(bad, o, "approximate", ld.approximate);
	if ((ia = malloc(sizeof(*ia))) == NULL || (ib = malloc(sizeof(*ib))) == NULL ||
	    (d = malloc(sizeof(*d))) == NULL) {
		*bad = 1;
		goto out;
	}
	analyze_imports(a->rec.code, a->rec.code ? a->rec.code_len : 0, ia);
	analyze_imports(b->rec.code, b->rec.code ? b->rec.code_len : 0, ib);
	analyze_import_diff(ia, ib, d);
	x = jarr(bad, o, "imports_added");
	for (i = 0; i < d->n_added; i++)
		jpush_str(bad, x, d->added[i]);
	x = jarr(bad, o, "imports_removed");
	for (i = 0; i < d->n_removed; i++)
		jpush_str(bad, x, d->removed[i]);
out:
	free(ia);
	free(ib);
	free(d);
}

int
analyze_valid_session_id(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= 64 || !(is_ident((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return i > 0;
}

cJSON *
analyze_session(struct logdb *db, const char *session_id, enum analyze_status *st)
{
	struct logdb_run *runs = NULL;
	int64_t total = 0, nfixed = 0, nunfixed = 0;
	long budget = 20L * 1000 * 1000;
	cJSON *doc = NULL, *a, *fx, *un, *x, *c;
	size_t n = 0, i, j;
	int bad = 0;

	*st = ANALYZE_OK;
	if (!analyze_valid_session_id(session_id)) {
		*st = ANALYZE_NOT_FOUND;
		return NULL;
	}
	if (logdb_read_begin(db) < 0)
		return finish(NULL, 1, st, "session");
	if (logdb_get_session(db, session_id, ANALYZE_SESSION_MAX, &runs, &n, &total) < 0) {
		bad = 1;
		goto out;
	}
	if (n == 0) {
		*st = ANALYZE_NOT_FOUND;
		goto out;
	}
	if ((doc = cJSON_CreateObject()) == NULL) {
		bad = 1;
		goto out;
	}
	jstr(&bad, doc, "session_id", session_id);
	jnum(&bad, doc, "attempt_count", (double)total);
	jnum(&bad, doc, "shown", (double)n);
	jbool(&bad, doc, "truncated", (size_t)total > n);
	jstr(&bad, doc, "last_status", runs[n - 1].rec.status);
	a = jarr(&bad, doc, "attempts");
	fx = cJSON_CreateArray();
	un = cJSON_CreateArray();
	if (fx == NULL || un == NULL)
		bad = 1;
	for (i = 0; i < n && !bad; i++) {
		if ((x = run_json(&runs[i], RUN_EXTRAS, &bad)) == NULL)
			break;
		cJSON_AddItemToArray(a, x);
		if (i == 0)
			jnull(&bad, x, "changes");
		else
			changes_add(jobj(&bad, x, "changes"), &runs[i - 1], &runs[i], &budget, &bad);
		if (runs[i].category[0] == '\0')
			continue;
		if (runs[i].fixed_by == 0) {
			nunfixed++;
			jpush_num(&bad, un, (double)runs[i].id);
			continue;
		}
		nfixed++;
		c = jpush_obj(&bad, fx);
		jnum(&bad, c, "failure_log_id", (double)runs[i].id);
		jnum(&bad, c, "failure_attempt", runs[i].attempt);
		jnum(&bad, c, "fixed_by_log_id", (double)runs[i].fixed_by);
		jstr(&bad, c, "category", runs[i].category);
		jstr(&bad, c, "type", runs[i].rec.error_type);
		jstr(&bad, c, "pattern", runs[i].pattern);
		for (j = i + 1; j < n && runs[j].id != runs[i].fixed_by; j++)
			;
		if (j < n) {
			jnum(&bad, c, "fixed_by_attempt", runs[j].attempt);
			changes_add(jobj(&bad, c, "changes"), &runs[i], &runs[j], &budget, &bad);
		} else {
			jnull(&bad, c, "fixed_by_attempt");
			jnull(&bad, c, "changes");
		}
	}
	jnum(&bad, doc, "failures_fixed", (double)nfixed);
	jnum(&bad, doc, "failures_unfixed", (double)nunfixed);
	if (fx != NULL)
		cJSON_AddItemToObject(doc, "fixes", fx);
	if (un != NULL)
		cJSON_AddItemToObject(doc, "unfixed", un);
out:
	logdb_runs_free(runs, n);
	logdb_read_end(db);
	if (*st == ANALYZE_NOT_FOUND)
		return NULL;
	return finish(doc, bad, st, "session");
}

cJSON *
analyze_log(struct logdb *db, int64_t id, enum analyze_status *st)
{
	struct logdb_run run;
	cJSON *doc;
	int rc, bad = 0;

	*st = ANALYZE_OK;
	if ((rc = logdb_get_run(db, id, &run)) < 0)
		return finish(NULL, 1, st, "log");
	if (rc == 0) {
		*st = ANALYZE_NOT_FOUND;
		return NULL;
	}
	doc = run_json(&run, RUN_STREAMS | RUN_EXTRAS, &bad);
	logdb_run_free(&run);
	return finish(doc, bad, st, "log");
}

/* ---- Reports: the AI context ------------------------------------------------------------------ */

/* Appends one line (cut to max bytes) if it fits whole with the newline.
 * Returns 1 when it did. */
static int
ctx_line(struct out_buf *o, size_t max, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
ctx_line(struct out_buf *o, size_t max, const char *fmt, ...)
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
	ob_put(o, line, len);
	ob_put(o, "\n", 1);
	return 1;
}

char *
analyze_context(struct logdb *db, const struct analyze_env *env, size_t *len,
    enum analyze_status *st)
{
	struct logdb_totals t;
	struct knowledge k;
	struct out_buf o;
	char tbuf[64], mbuf[64], obuf[64], *text;
	size_t i, shown;

	*st = ANALYZE_OK;
	*len = 0;
	if ((text = malloc(ANALYZE_CONTEXT_MAX + 1)) == NULL) {
		*st = ANALYZE_FAILED;
		return NULL;
	}
	o = (struct out_buf){ text, ANALYZE_CONTEXT_MAX + 1, 0, 0 };
	text[0] = '\0';
	memset(&k, 0, sizeof(k));
	if (logdb_read_begin(db) < 0) {
		free(text);
		*st = ANALYZE_FAILED;
		return NULL;
	}
	if (logdb_get_totals(db, &t) < 0 || knowledge_build(db, env, &k) < 0) {
		knowledge_free(&k);
		logdb_read_end(db);
		free(text);
		*st = ANALYZE_FAILED;
		log_warnx("analyze: ai-context: the log could not be read");
		return NULL;
	}
	logdb_read_end(db);

	ctx_line(&o, 512, "# The image sandbox: facts for writing a script");
	ctx_line(&o, 512, "- The script runs as /code/main.py (Python 3, as __main__) with no "
	    "network and no way to install packages; the file system is read-only except "
	    "/output and /tmp.");
	ctx_line(&o, 512, "- Input: the image is /input/image.png (PNG or JPEG by content). It "
	    "is absent when no image was sent: check os.path.exists(\"/input/image.png\").");
	ctx_line(&o, 512, "- Output: save the result as PNG to /output/result.png; it is the "
	    "only file returned (with stdout and stderr).");
	ctx_line(&o, 512, "- Parameters: a JSON object in the USER_PARAMS environment variable: "
	    "params = json.loads(os.environ.get(\"USER_PARAMS\") or \"{}\").");
	limit_words(tbuf, sizeof(tbuf), env->limits.timeout_ms, 1000, "s wall clock", "");
	limit_words(mbuf, sizeof(mbuf), env->limits.memory_bytes, 1024 * 1024, "MB of memory", "");
	limit_words(obuf, sizeof(obuf), env->limits.output_bytes, 1024 * 1024,
	    "MB for the result file", "");
	if (tbuf[0] || mbuf[0] || obuf[0])
		ctx_line(&o, 512, "- Limits: %s%s%s%s%s.", tbuf, tbuf[0] && (mbuf[0] || obuf[0]) ?
		    ", " : "", mbuf, mbuf[0] && obuf[0] ? ", " : "", obuf);
	if (k.pk.n > 0) {
		ctx_line(&o, 512, "- Installed libraries (nothing else; import them exactly so):");
		for (i = 0; i < k.pk.n; i++)
			ctx_line(&o, 400, "  - %s  # %s", k.pk.p[i].import_line, k.pk.p[i].about);
	} else
		ctx_line(&o, 512, "- Installed libraries: the package list could not be read.");
	ctx_line(&o, 512, "- Work on small copies (img.thumbnail) when the image is large; use "
	    "numpy vectorised operations, never Python loops over pixels.");

	if (t.runs > 0 && ctx_line(&o, 512, "# Lessons from the execution log (%lld runs, %.0f%% "
	    "succeeded; most frequent failures first)", (long long)t.runs,
	    rate(t.successes, t.runs) * 100)) {
		for (i = 0, shown = 0; i < k.nrecs && shown < 12; i++) {
			const struct rec *rc = &k.recs[i];
			if (strcmp(rc->pat[0]->category, "rejected") == 0)
				continue;	/* refused requests teach a script nothing */
			if (!ctx_line(&o, 700, "- %s%s%s (%lld times, %.0f%% fixed later): %s",
			    rc->pat[0]->error_type, rc->pat[0]->error_type[0] ? ": " : "",
			    rc->pat[0]->pattern, (long long)rc->count,
			    rate(rc->fixed, rc->count) * 100, rc->advice))
				break;
			shown++;
		}
		if (k.ngroups > 0 && ctx_line(&o, 512, "# Fixes that worked"))
			for (i = 0; i < k.ngroups && i < 8; i++)
				if (!ctx_line(&o, 600, "- %s", k.groups[i].advice))
					break;
	}
	knowledge_free(&k);
	*len = o.n;
	return text;
}

/* ---- Export --------------------------------------------------------------------------------- */

struct export_ctx {
	FILE *fp;
	int as_array;
	size_t n;
};

static int
export_row(const struct logdb_run *run, void *arg)
{
	struct export_ctx *e = arg;
	cJSON *o;
	char *s;
	int rc = 0;

	if ((o = analyze_run_json(run, 1)) == NULL || (s = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		log_warnx("analyze: export: out of memory");
		return -1;
	}
	if (e->as_array && fputs(e->n == 0 ? "[\n" : ",\n", e->fp) == EOF)
		rc = -1;
	if (rc == 0 && (fputs(s, e->fp) == EOF || (!e->as_array && fputc('\n', e->fp) == EOF)))
		rc = -1;
	e->n++;
	free(s);
	cJSON_Delete(o);
	return rc;
}

int
analyze_export(struct logdb *db, FILE *fp, int as_array)
{
	struct export_ctx e = { fp, as_array, 0 };
	int rc;

	rc = logdb_foreach(db, export_row, &e);
	if (rc == 0 && as_array && fputs(e.n == 0 ? "[]\n" : "\n]\n", fp) == EOF)
		rc = -1;
	if (fflush(fp) == EOF || ferror(fp))
		rc = -1;
	return rc < 0 || rc > 0 ? -1 : 0;
}
