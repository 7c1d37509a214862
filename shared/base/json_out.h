/*
 * json_out: cJSON helpers. Every string that came from a script or a client
 * goes through json_add_text(), which makes it valid UTF-8 first (invalid
 * bytes become U+FFFD; NUL bytes become U+FFFD too, so the text survives
 * C strings and the JSON stays valid).
 */
#ifndef JSON_OUT_H
#define JSON_OUT_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "base/text.h"	/* utf8_sanitize */

/* Adds s[0..len) to obj under name as a string made valid UTF-8; s NULL adds
 * null. Returns the item or NULL when memory ran out. */
cJSON *json_add_text(cJSON *obj, const char *name, const char *s, size_t len);

/* Adds a string only if s is not NULL, else null. Returns the item or NULL. */
cJSON *json_add_str_or_null(cJSON *obj, const char *name, const char *s);

/* The API's refusal: {"error": {"code": code, "message": message}}, the
 * message made valid UTF-8. Returns a new document for cJSON_Delete(), or
 * NULL when memory ran out. The one builder of that body. */
cJSON *json_error_body(const char *code, const char *message);

/* Returns a malloc'd compact rendering of obj (cJSON_PrintUnformatted), or
 * NULL. The caller frees it with free(). */
char *json_render(const cJSON *obj);

#endif
