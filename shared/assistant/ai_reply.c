/*
 * ai_reply.c: the script in a model's reply, and safe words out of any
 * text: fenced blocks found, the longest Python one taken, the notes
 * around it kept; whether a text reads as Python or as prose. See ai.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/ai.h"
#include "base/text.h"

/* ---- The script in a reply ------------------------------------------- */

#define BLOCKS_MAX 64

enum lang { LANG_NONE, LANG_PYTHON, LANG_OTHER };

/* A fenced block of a reply: its content text[start..end), the fence's
 * line text[open..close) whole (for the notes around it). */
struct block {
	size_t open, start, end, close;
	size_t indent;		/* of the opening fence, taken off each line */
	enum lang lang;
	int closed;
};

/* Returns a malloc'd copy of text[0..len) without its <think>...</think>
 * sections (an unclosed one runs to the end), length in *out_len; NULL when
 * memory ran out. */
static char *
drop_thinking(const char *text, size_t len, size_t *out_len)
{
	static const char open[] = "<think>", close[] = "</think>";
	const char *p = text, *end = text + len, *o, *c;
	char *out;
	size_t n = 0;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	while (p < end) {
		if ((o = memmem(p, (size_t)(end - p), open, sizeof(open) - 1)) == NULL)
			o = end;
		memcpy(out + n, p, (size_t)(o - p));
		n += (size_t)(o - p);
		if (o == end)
			break;
		c = memmem(o, (size_t)(end - o), close, sizeof(close) - 1);
		p = c == NULL ? end : c + sizeof(close) - 1;
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

/* The language of a fence's info string s[0..n). */
static enum lang
info_lang(const char *s, size_t n)
{
	static const char *const py[] = { "python", "python3", "py", "py3", "python 3" };
	char word[16];
	size_t i, k;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	for (k = 0; k < n && k < sizeof(word) - 1 && !isspace((unsigned char)s[k]) &&
	    s[k] != '{'; k++)
		word[k] = (char)tolower((unsigned char)s[k]);
	word[k] = '\0';
	if (k == 0)
		return LANG_NONE;
	for (i = 0; i < sizeof(py) / sizeof(py[0]); i++)
		if (strcmp(word, py[i]) == 0)
			return LANG_PYTHON;
	return LANG_OTHER;
}

/* When the line s[0..n) is a fence (any indentation, then 3 or more '`' or
 * '~'), returns its length and sets *ch, *indent and the info string
 * [*info, *info + *ninfo); else 0. */
static size_t
fence_at(const char *s, size_t n, char *ch, size_t *indent, const char **info,
    size_t *ninfo)
{
	size_t i = 0, k;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n || (s[i] != '`' && s[i] != '~'))
		return 0;
	for (k = i; k < n && s[k] == s[i]; k++)
		;
	if (k - i < 3 || (s[i] == '`' && memchr(s + k, '`', n - k) != NULL))
		return 0;
	*ch = s[i];
	*indent = i;
	*info = s + k;
	*ninfo = n - k;
	return k - i;
}

/* Returns 1 when s[0..n) holds nothing but white space. */
static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Finds the fenced blocks of text[0..len) (at most max). Returns how many. */
static size_t
find_blocks(const char *text, size_t len, struct block *b, size_t max)
{
	const char *info = NULL;
	size_t ls = 0, le, next, flen, ind = 0, ninfo = 0, nb = 0, open_len = 0;
	char ch = 0, open_ch = 0;
	int in = 0;

	for (; ls < len; ls = next) {
		le = ls + strcspn(text + ls, "\n");
		if (le > len)
			le = len;
		next = le < len ? le + 1 : len;
		flen = fence_at(text + ls, le - ls, &ch, &ind, &info, &ninfo);
		if (!in && flen > 0 && nb < max) {
			b[nb] = (struct block){ .open = ls, .start = next, .end = len, .close = len,
			    .indent = ind, .lang = info_lang(info, ninfo) };
			in = 1, open_ch = ch, open_len = flen;
		} else if (in && flen >= open_len && ch == open_ch && blank(info, ninfo)) {
			b[nb].end = ls;
			b[nb].close = next;
			b[nb].closed = 1;
			nb++;
			in = 0;
		}
	}
	return in ? nb + 1 : nb;
}

/* A block's content without the fence's indentation on each line and
 * without trailing blank lines, valid UTF-8, ending with one newline.
 * Returns a malloc'd string (length in *n), NULL when memory ran out. */
static char *
block_code(const char *text, const struct block *b, size_t *n)
{
	const char *p = text + b->start, *end = text + b->end, *le;
	char *raw, *out;
	size_t k, r = 0;

	if ((raw = malloc((size_t)(end - p) + 2)) == NULL)
		return NULL;
	while (p < end) {
		for (k = 0; k < b->indent && p < end && (*p == ' ' || *p == '\t'); k++)
			p++;
		if ((le = memchr(p, '\n', (size_t)(end - p))) == NULL)
			le = end;
		else
			le++;
		memcpy(raw + r, p, (size_t)(le - p));
		r += (size_t)(le - p);
		p = le;
	}
	while (r > 0 && isspace((unsigned char)raw[r - 1]))
		r--;
	raw[r++] = '\n';
	out = utf8_sanitize(raw, r);
	free(raw);
	if (out != NULL)
		*n = strlen(out);
	return out;
}

/* s[0..n) without leading and trailing white space: sets *ps, returns the length. */
static size_t
trim(const char *s, size_t n, const char **ps)
{
	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	*ps = s;
	return n;
}

/* The notes: the text before and after b (NULL: none taken out), trimmed,
 * joined by a blank line, valid UTF-8, at most AI_NOTES_MAX - 1 bytes (cut
 * on a character with "..."). Returns a malloc'd string, NULL when memory
 * ran out. */
static char *
make_notes(const char *text, size_t len, const struct block *b, size_t *out_len)
{
	const char *a, *z;
	size_t na, nz, n = 0;
	char *buf, *out;

	na = trim(text, b ? b->open : 0, &a);
	nz = trim(text + (b ? b->close : 0), b ? len - b->close : 0, &z);
	if ((buf = malloc(na + nz + 3)) == NULL)
		return NULL;
	memcpy(buf, a, na);
	n = na;
	if (na > 0 && nz > 0) {
		memcpy(buf + n, "\n\n", 2);
		n += 2;
	}
	memcpy(buf + n, z, nz);
	n += nz;
	/* Valid first (a bad byte becomes 3), then cut. */
	out = utf8_sanitize(buf, n);
	free(buf);
	if (out == NULL)
		return NULL;
	if ((n = strlen(out)) > AI_NOTES_MAX - 1) {
		n = AI_NOTES_MAX - 4;
		while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
			n--;
		memcpy(out + n, "...", 4);
		n += 3;
	}
	*out_len = n;
	return out;
}

/* Picks the block to take: the longest Python one with code in it, else
 * the longest unlabelled one that looks like Python. Returns its index,
 * or -1. */
static int
pick_block(const char *text, const struct block *b, size_t nb)
{
	int best = -1, pass;
	size_t i;

	for (pass = 0; pass < 2 && best < 0; pass++)
		for (i = 0; i < nb; i++) {
			if (b[i].lang != (pass == 0 ? LANG_PYTHON : LANG_NONE) ||
			    blank(text + b[i].start, b[i].end - b[i].start))
				continue;
			if (pass == 1 && !ai_looks_like_python(text + b[i].start,
			    b[i].end - b[i].start))
				continue;
			if (best < 0 || b[i].end - b[i].start > b[best].end - b[best].start)
				best = (int)i;
		}
	return best;
}

int
ai_extract_code(const char *text, size_t len, struct ai_code *out)
{
	struct block b[BLOCKS_MAX], whole;
	const struct block *chosen = NULL;
	size_t n, nb;
	char *t;
	int i, rc = -1;

	memset(out, 0, sizeof(*out));
	if ((t = drop_thinking(text, len, &n)) == NULL)
		return -1;
	nb = find_blocks(t, n, b, BLOCKS_MAX);
	if ((i = pick_block(t, b, nb)) >= 0)
		chosen = &b[i];
	else if (nb == 0 && !blank(t, n) && ai_looks_like_python(t, n)) {
		whole = (struct block){ .open = 0, .start = 0, .end = n, .close = n,
		    .lang = LANG_PYTHON, .closed = 1 };
		chosen = &whole;
	}
	if (chosen == NULL) {
		rc = 0;
		goto out;
	}
	out->unclosed = !chosen->closed;
	if ((out->code = block_code(t, chosen, &out->code_len)) == NULL ||
	    (out->notes = make_notes(t, n, chosen, &out->notes_len)) == NULL) {
		ai_code_free(out);
		goto out;
	}
	rc = 1;
out:
	free(t);
	return rc;
}

void
ai_code_free(struct ai_code *c)
{
	free(c->code);
	free(c->notes);
	memset(c, 0, sizeof(*c));
}

/* ---- Does it read as Python? ----------------------------------------- */

/* Returns 1 when s[0..n) starts with the word w (not followed by a name's
 * character). */
static int
starts_word(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	return n >= k && memcmp(s, w, k) == 0 &&
	    (n == k || !(isalnum((unsigned char)s[k]) || s[k] == '_'));
}

/* Returns 1 when the top-level line s[0..n) (not blank, not a comment)
 * starts as a Python statement: a keyword, a decorator, a string or a
 * closing bracket, or a name (dotted, subscripted) followed by what an
 * assignment, a call or an annotation puts there. */
static int
statement_start(const char *s, size_t n)
{
	static const char *const kw[] = { "import", "from", "def", "class", "if", "elif",
		"else", "for", "while", "with", "try", "except", "finally", "return", "raise",
		"assert", "pass", "break", "continue", "global", "nonlocal", "del", "async",
		"await", "lambda", "match", "case", "print", "yield", "not" };
	size_t i, k;

	for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (starts_word(s, n, kw[i]))
			return 1;
	if (strchr("@)]}'\"", s[0]) != NULL)
		return 1;
	for (k = 0; k < n && (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '.'); k++)
		;
	if (k == 0 || isdigit((unsigned char)s[0]))
		return 0;
	if (k < n && (s[k] == '"' || s[k] == '\'') && k <= 2)	/* f"", rb'' */
		return 1;
	while (k < n && s[k] == ' ')
		k++;
	if (k == n)
		return 1;	/* a bare name */
	if (strchr("=([,:", s[k]) != NULL)
		return 1;
	/* an augmented assignment: +=, -=, **=, //=, >>=, ... */
	for (i = k; i < n && i < k + 3 && strchr("+-*/%&|^<>@", s[i]) != NULL; i++)
		;
	return i > k && i < n && s[i] == '=';
}

/* Returns 1 when s[0..n) is a sentence: three words or more, ending with
 * '.', '!' or '?' (no Python line ends so). */
static int
sentence(const char *s, size_t n)
{
	size_t i, words = 0;
	int in_word = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || strchr(".!?", s[n - 1]) == NULL || (n >= 3 && memcmp(s + n - 3, "...", 3) == 0))
		return 0;
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80) {
			if (!in_word)
				words++;
			in_word = 1;
		} else
			in_word = 0;
	}
	return words >= 3;
}

/* Follows brackets and strings over the line s[0..n): updates *depth
 * (open brackets) and *triple (the quote of an open triple-quoted string,
 * or 0). */
static void
scan_line(const char *s, size_t n, int *depth, char *triple)
{
	size_t i = 0;
	char q;

	while (i < n) {
		if (*triple) {
			if (i + 2 < n && s[i] == *triple && s[i + 1] == *triple && s[i + 2] == *triple) {
				*triple = 0;
				i += 3;
			} else
				i += s[i] == '\\' ? 2 : 1;
			continue;
		}
		if (s[i] == '#')
			return;
		if ((s[i] == '"' || s[i] == '\'') && i + 2 < n && s[i + 1] == s[i] && s[i + 2] == s[i]) {
			*triple = s[i];
			i += 3;
			continue;
		}
		if (s[i] == '"' || s[i] == '\'') {
			for (q = s[i++]; i < n && s[i] != q; i++)
				if (s[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (strchr("([{", s[i]) != NULL)
			(*depth)++;
		else if (strchr(")]}", s[i]) != NULL && *depth > 0)
			(*depth)--;
		i++;
	}
}

int
ai_looks_like_python(const char *text, size_t len)
{
	size_t ls, le, next, ind;
	int depth = 0, imports = 0, prose = 0, was_open;
	char triple = 0, was_triple;
	const char *s;

	for (ls = 0; ls < len && !prose; ls = next) {
		if ((s = memchr(text + ls, '\n', len - ls)) == NULL)
			le = len;
		else
			le = (size_t)(s - text);
		next = le < len ? le + 1 : len;
		for (ind = ls; ind < le && (text[ind] == ' ' || text[ind] == '\t'); ind++)
			;
		s = text + ind;
		was_triple = triple;
		was_open = depth > 0;
		scan_line(text + ls, le - ls, &depth, &triple);
		if (was_triple || was_open || ind == le || *s == '#')
			continue;
		if (starts_word(s, le - ind, "import") || (starts_word(s, le - ind, "from") &&
		    memmem(s, le - ind, " import ", 8) != NULL))
			imports++;
		if (sentence(s, le - ind) || (ind == ls && !statement_start(s, le - ind)))
			prose = 1;
	}
	return imports > 0 && !prose;
}

/* ---- Safe words ------------------------------------------------------ */

char *
ai_first_words(const char *text, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	size_t n = 0, k, last_space = 0;
	int space = 0, cut = 0;

	out[0] = '\0';
	if (outlen < 8)
		return out;
	while (p < end && isspace(*p))
		p++;
	for (; p < end; p += k) {
		if ((k = utf8_seq_len(p, (size_t)(end - p))) == 0 || *p == '\0') {
			k = 1;	/* an invalid byte: left out */
			continue;
		}
		if (k == 1 && isspace(*p)) {
			space = 1;
			continue;
		}
		if (text_is_control(p, k))
			continue;
		if (n + (space ? 1 : 0) + k > outlen - 4) {
			cut = 1;
			break;
		}
		if (space && n > 0) {
			last_space = n;
			out[n++] = ' ';
		}
		space = 0;
		memcpy(out + n, p, k);
		n += k;
	}
	if (cut) {
		/* Mid-word: back to the last space, unless that loses half. */
		if (!space && last_space > (outlen - 4) / 2)
			n = last_space;
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}
