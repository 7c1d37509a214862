#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_out.h"
#include "base/text.h"

cJSON *
json_add_text(cJSON *obj, const char *name, const char *s, size_t len)
{
	cJSON *item;
	char *clean;

	if (s == NULL)
		return cJSON_AddNullToObject(obj, name);
	if ((clean = utf8_sanitize(s, len)) == NULL)
		return NULL;
	item = cJSON_AddStringToObject(obj, name, clean);
	free(clean);
	return item;
}

cJSON *
json_add_str_or_null(cJSON *obj, const char *name, const char *s)
{
	if (s == NULL)
		return cJSON_AddNullToObject(obj, name);
	return json_add_text(obj, name, s, strlen(s));
}

char *
json_render(const cJSON *obj)
{
	return cJSON_PrintUnformatted(obj);
}

cJSON *
json_error_body(const char *code, const char *message)
{
	cJSON *root, *err;

	if ((root = cJSON_CreateObject()) == NULL ||
	    (err = cJSON_AddObjectToObject(root, "error")) == NULL ||
	    cJSON_AddStringToObject(err, "code", code) == NULL ||
	    json_add_text(err, "message", message, strlen(message)) == NULL) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}
