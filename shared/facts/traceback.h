/*
 * traceback: what a raw Python traceback says. Pure functions on text, no
 * I/O: the last exception's type, its message and the last line of
 * /code/main.py it passed through.
 */
#ifndef TRACEBACK_H
#define TRACEBACK_H

#include <stddef.h>

#include "base/record.h"	/* RECORD_TYPE_MAX */

/* What a raw Python traceback says. message points into the parsed text. */
struct tb_facts {
	char type[RECORD_TYPE_MAX];	/* last dotted part: "cv2.error" -> "error" */
	const char *message;		/* may span lines; not NUL-terminated */
	size_t message_len;
	int line;			/* last line in /code/main.py; 0: none */
};

/* Parses the last exception of a traceback text (stderr), stopping at the
 * sandbox's record line (0x1E). Returns 1 and fills f when one was found,
 * 0 when the text holds none (f then holds no type and no message). */
int traceback_parse(const char *text, size_t len, struct tb_facts *f);

#endif
