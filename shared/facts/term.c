/*
 * term: what the command-line tool writes to a terminal goes through
 * term_put_n(), which shows control characters (C0, DEL, C1) and invalid
 * bytes as '?', or for JSON through term_put_json(), which escapes them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "facts/term.h"
#include "base/text.h"

void
term_put_n(FILE *fp, const char *s, size_t n, int keep_lines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq_len(p + i, n - i);
		if (k == 0)
			fputc('?', fp);
		else if (p[i] == '\n' || p[i] == '\t')
			fputc(keep_lines ? p[i] : ' ', fp);
		else if (p[i] == '\r')
			fputc(' ', fp);
		else if (text_is_control(p + i, k))
			fputc('?', fp);
		else
			fwrite(p + i, 1, k, fp);
		i += k == 0 ? 1 : k;
	}
}

void
term_put(FILE *fp, const char *s, int keep_lines)
{
	term_put_n(fp, s, strlen(s), keep_lines);
}

void
term_printf(FILE *fp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	term_vprintf(fp, fmt, ap);
	va_end(ap);
}

void
term_vprintf(FILE *fp, const char *fmt, va_list ap)
{
	char buf[TERM_LINE_MAX];
	size_t len, k;
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	/* A cut text ends on a whole character. */
	if ((len = (size_t)n) >= sizeof(buf)) {
		len = sizeof(buf) - 1;
		for (k = len; k > 0 && ((unsigned char)buf[k - 1] & 0xC0) == 0x80; k--)
			;
		if (k > 0 && (unsigned char)buf[k - 1] >= 0xC0 &&
		    utf8_seq_len((const unsigned char *)buf + k - 1, len - (k - 1)) == 0)
			len = k - 1;
	}
	term_put_n(fp, buf, len, 1);
}

void
term_put_json(FILE *fp, const char *json)
{
	const unsigned char *p = (const unsigned char *)json;
	size_t n = strlen(json), i = 0, k;

	while (i < n) {
		k = utf8_seq_len(p + i, n - i);
		if (k == 0) {
			fputs("\\ufffd", fp);
			i++;
			continue;
		}
		if (p[i] == 0x7f)
			fputs("\\u007f", fp);
		else if (k == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0)
			fprintf(fp, "\\u%04x", p[i + 1]);
		else
			fwrite(p + i, 1, k, fp);
		i += k;
	}
}

size_t
term_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

void
term_wrapped(FILE *fp, const char *first, const char *text, size_t indent)
{
	size_t col, wl, i, fw = term_width(first);
	const char *p = text, *w;

	term_put(fp, first, 0);
	col = fw;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *w != '\0' && *w != ' '; w++)
			;
		for (wl = 0, i = 0; p + i < w; i++)
			if (((unsigned char)p[i] & 0xC0) != 0x80)
				wl++;
		if (col > indent && col + 1 + wl > TERM_WRAP) {
			fputc('\n', fp);
			for (col = 0; col < indent; col++)
				fputc(' ', fp);
		} else if (col > indent || (col == indent && p != text && col > fw)) {
			fputc(' ', fp);
			col++;
		}
		term_put_n(fp, p, (size_t)(w - p), 0);
		col += wl;
		p = w;
	}
	fputc('\n', fp);
}

void
term_table_init(struct term_table *t, size_t ncol, const char *const *heads)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->ncol = ncol < TERM_COLS_MAX ? ncol : TERM_COLS_MAX;
	for (i = 0; i < t->ncol; i++) {
		t->head[i] = heads[i];
		t->right[i] = heads[i][0] != '\0' && heads[i][strlen(heads[i]) - 1] == '>';
	}
}

/* Returns a malloc'd copy of s as a cell (the caller frees it): one line
 * of at most TERM_CELL_MAX characters ("…" when cut), control characters
 * and invalid bytes as spaces; NULL when memory ran out. */
static char *
cell_dup(const char *s)
{
	const unsigned char *p;
	size_t n = 0, chars = 0, i = 0, k, len;
	char *c;

	if (s == NULL)
		s = "";
	p = (const unsigned char *)s;
	len = strlen(s);
	if ((c = malloc(len + 4)) == NULL)
		return NULL;
	while (i < len) {
		if (++chars > TERM_CELL_MAX) {
			memcpy(c + n, "\xe2\x80\xa6", 3);	/* … */
			n += 3;
			break;
		}
		k = utf8_seq_len(p + i, len - i);
		if (k == 0 || text_is_control(p + i, k) || p[i] == '\t' || p[i] == '\n') {
			c[n++] = ' ';
			i += k == 0 ? 1 : k;
			continue;
		}
		memcpy(c + n, p + i, k);
		n += k;
		i += k;
	}
	c[n] = '\0';
	return c;
}

int
term_table_row(struct term_table *t, const char *const *cells)
{
	size_t i;
	char **v;

	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		if ((v = realloc(t->cell, ncap * t->ncol * sizeof(*v))) == NULL)
			return -1;
		t->cell = v;
		t->cap = ncap;
	}
	for (i = 0; i < t->ncol; i++)
		if ((t->cell[t->nrows * t->ncol + i] = cell_dup(cells[i])) == NULL) {
			while (i-- > 0)
				free(t->cell[t->nrows * t->ncol + i]);
			return -1;
		}
	t->nrows++;
	return 0;
}

/* Writes s and the spaces that take it from width w to column width cw;
 * right-aligned: the spaces first. last: no spaces after. */
static void
put_cell(FILE *fp, const char *s, size_t w, size_t cw, int right, int last)
{
	size_t k;

	if (right)
		for (k = w; k < cw; k++)
			fputc(' ', fp);
	fputs(s, fp);
	if (!last)
		for (k = right ? cw : w; k < cw + 2; k++)
			fputc(' ', fp);
}

void
term_table_print(struct term_table *t, FILE *fp)
{
	size_t w[TERM_COLS_MAX], i, j, cw;
	char head[128];

	for (j = 0; j < t->ncol; j++) {
		w[j] = term_width(t->head[j]) - (size_t)t->right[j];
		for (i = 0; i < t->nrows; i++)
			if ((cw = term_width(t->cell[i * t->ncol + j])) > w[j])
				w[j] = cw;
	}
	for (j = 0; j < t->ncol; j++) {
		snprintf(head, sizeof(head), "%.*s", (int)(strlen(t->head[j]) -
		    (size_t)t->right[j]), t->head[j]);
		put_cell(fp, head, term_width(head), w[j], t->right[j], j + 1 == t->ncol);
	}
	fputc('\n', fp);
	for (i = 0; i < t->nrows; i++) {
		for (j = 0; j < t->ncol; j++)
			put_cell(fp, t->cell[i * t->ncol + j], term_width(t->cell[i * t->ncol + j]),
			    w[j], t->right[j], j + 1 == t->ncol);
		fputc('\n', fp);
	}
	for (i = 0; i < t->nrows * t->ncol; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof(*t));
}
