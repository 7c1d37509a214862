/*
 * classify: the category and the normalised pattern of a failure. Pure
 * functions on text, no I/O. A pattern is the message with what varies from
 * run to run (numbers, quoted user data, paths, ids) replaced, and what is
 * the lesson (module, attribute and type names, the sandbox's own paths)
 * kept, so failures group by their cause.
 */
#ifndef CLASSIFY_H
#define CLASSIFY_H

#include <stddef.h>

#include "base/record.h"

/* Returns the category of an outcome: "import", "attribute", "data_access",
 * "type", "value", "syntax", "name", "file", "image", "memory", "timeout",
 * "output", "rejected", "other"; "" for a success. A static string. */
const char *classify_category(const char *status, const char *error_type, const char *message);

/* Writes the normalised form of message[0..len) (numbers <N>, quoted names
 * <name>, paths <path>, hex ids <id>; module, attribute and type names kept
 * where they are the lesson; sandbox paths kept) into out, at most outlen
 * bytes with the NUL, cut on a UTF-8 boundary and marked "...". Returns the
 * length. */
size_t classify_normalise(const char *error_type, const char *message, size_t len,
    char *out, size_t outlen);

/* The category and pattern of one record (rejected: the reject code and its
 * message; timeout and the like: the status when there is no message). */
struct record_class {
	char category[RECORD_CATEGORY_MAX];
	char pattern[RECORD_PATTERN_MAX];
};

/* Fills out for rec (its status NULL counts as "error"). */
void classify_record(const struct run_record *rec, struct record_class *out);

#endif
