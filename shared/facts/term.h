/*
 * term: text for a terminal, from strings a script or a client may have
 * written: control characters (C0, DEL, C1) made harmless, aligned tables
 * of one-line cells, paragraphs wrapped at a width. Widths count code
 * points (the text is valid UTF-8: it comes from the reports' JSON).
 */
#ifndef TERM_H
#define TERM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define TERM_WRAP 96		/* columns of a wrapped paragraph */
#define TERM_CELL_MAX 60	/* characters shown of one table cell */
#define TERM_COLS_MAX 10

/* Writes s[0..n) to fp with control characters (terminal escapes: C0, DEL,
 * C1) and invalid bytes shown as '?'; a carriage return becomes a space,
 * and so do newlines and tabs unless keep_lines. */
void term_put_n(FILE *fp, const char *s, size_t n, int keep_lines);

/* The same for the string s. */
void term_put(FILE *fp, const char *s, int keep_lines);

/* Formats like fprintf (at most TERM_LINE_MAX bytes, cut on a character)
 * and writes the text as term_put(fp, text, 1) does: the one way the tool
 * prints formatted text. */
#define TERM_LINE_MAX 4096
void term_printf(FILE *fp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a va_list. */
void term_vprintf(FILE *fp, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Writes a JSON text (cJSON's rendering: C0 characters already escaped in
 * its strings) to fp with DEL and the C1 characters (U+0080..U+009F) also
 * written as \u escapes, and invalid bytes as U+FFFD: the same JSON value,
 * nothing a terminal acts on. */
void term_put_json(FILE *fp, const char *json);

/* Returns the characters (code points) of the UTF-8 string s. */
size_t term_width(const char *s);

/* Writes first, then text's words wrapped at TERM_WRAP columns, each line
 * after the first indented by indent, and a newline. first is written as
 * it is; text as term_put does. */
void term_wrapped(FILE *fp, const char *first, const char *text, size_t indent);

/* A table being filled: heads ending in '>' are right-aligned (the '>' is
 * not shown). */
struct term_table {
	size_t ncol, nrows, cap;
	const char *head[TERM_COLS_MAX];
	int right[TERM_COLS_MAX];
	char **cell;		/* nrows * ncol strings, owned */
};

/* Starts t with ncol (at most TERM_COLS_MAX) columns named by heads (not
 * copied: they must outlive t). */
void term_table_init(struct term_table *t, size_t ncol, const char *const *heads);

/* Adds a row of ncol strings (NULL: ""), each cut to one line of at most
 * TERM_CELL_MAX characters with control characters as spaces. Returns 0,
 * or -1 when memory ran out (the row is left out). */
int term_table_row(struct term_table *t, const char *const *cells);

/* Prints t with aligned columns to fp and frees its cells. */
void term_table_print(struct term_table *t, FILE *fp);

#endif
