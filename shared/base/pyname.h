/*
 * pyname: what Python calls a name, in ASCII: the characters of an
 * identifier and dotted names ("PIL.Image"). Pure functions; the text
 * facts (tracebacks, patterns, imports, the package list) share them.
 */
#ifndef PYNAME_H
#define PYNAME_H

#include <stddef.h>

/* Returns 1 when c may start an identifier (A-Z a-z _), else 0. */
int pyname_start(int c);

/* Returns 1 when c may go on an identifier (A-Z a-z _ 0-9), else 0. */
int pyname_char(int c);

/* Returns 1 when s[0..n) is a dotted identifier ("PIL.Image"), else 0. */
int pyname_dotted(const char *s, size_t n);

#endif
