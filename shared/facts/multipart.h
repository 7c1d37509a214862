/*
 * multipart: a streaming multipart/form-data parser (RFC 7578, RFC 2046).
 *
 * The body is pulled through a read callback into one bounded window. Each
 * part's body goes to its field as soon as it cannot be the start of a
 * delimiter: straight to an fd (file parts), or into a memory copy bounded by
 * the field's max_len. Preamble and epilogue are read and dropped, never kept.
 * Every refusal comes back as a status plus a sentence a person can act on.
 *
 * Status choices: a part over its max_len and part headers over their budget
 * are MP_TOO_LARGE (a size limit: 413); more parts than max_parts is
 * MP_BAD_REQUEST (no honest client sends more parts than the form has fields,
 * so it is a malformed form, and "make it smaller" would be the wrong advice).
 */
#ifndef MULTIPART_H
#define MULTIPART_H

#include <stddef.h>
#include <sys/types.h>

enum mp_status { MP_OK = 0, MP_BAD_REQUEST, MP_TOO_LARGE, MP_IO_ERROR, MP_NO_MEMORY };

/* Reads up to len bytes of the body: returns >0 bytes read, 0 at end of body,
 * -1 on error. May return fewer bytes than asked, even 1. */
typedef ssize_t (*mp_read_fn)(void *ctx, void *buf, size_t len);

struct mp_field {
	const char *name;	/* form field name (in) */
	size_t max_len;		/* bytes allowed for its body (in) */
	int fd;			/* in: >= 0: the body is written straight to this fd as it streams (file parts); -1: kept in memory */
	int seen;		/* out: 1 when the part was present */
	char *value;		/* out: memory fields: malloc'd, NUL-terminated copy of the body (may contain NULs; use len) */
	size_t len;		/* out: bytes of the body received */
	char filename[256];	/* out: the filename / filename* parameter if any, informational only, truncated safely */
};

struct mp_limits {
	size_t max_parts;		/* e.g. 16: more parts: MP_BAD_REQUEST (0: 16) */
	size_t max_header_bytes;	/* per part, all its header lines together, e.g. 8192 (0: 8192; above 64 KiB: 64 KiB) */
};

struct mp_error {
	enum mp_status status;
	char field[64];		/* the field concerned, "" if none */
	char message[256];	/* a sentence a person can act on */
};

/*
 * Parses the whole body. fields: the table of accepted fields (names compared
 * exactly); the out members are reset first, so call multipart_fields_free
 * before reusing a table. A part whose name is not in the table, a duplicate,
 * or a part without a name: MP_BAD_REQUEST; a part over its max_len:
 * MP_TOO_LARGE (reading stops right there; at most max_len bytes were written
 * to its fd). lim NULL: defaults. err may be NULL. Holds one window of at most
 * max_header_bytes + a few KiB, plus the memory fields' bounded values.
 * Returns the status, also in err. On error memory fields may have been
 * filled: the caller calls multipart_fields_free either way.
 */
enum mp_status multipart_parse(const char *content_type, mp_read_fn rd, void *ctx,
    struct mp_field *fields, size_t nfields, const struct mp_limits *lim, struct mp_error *err);

/* Frees the values of memory fields and sets them to NULL (len and seen are
 * left as they are). Never closes fds. */
void multipart_fields_free(struct mp_field *fields, size_t nfields);

/* Extracts the boundary parameter (quoted or not) from a Content-Type value
 * into out (NUL-terminated); checks the type is multipart/form-data and the
 * boundary is 1..70 RFC 2046 bchars not ending in a space. Returns 0, or -1
 * (also when out is too small). */
int multipart_boundary(const char *content_type, char *out, size_t outlen);

#endif
