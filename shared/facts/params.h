/*
 * params: the check of the `params` form field (a JSON object passed
 * verbatim to the script).
 */
#ifndef PARAMS_H
#define PARAMS_H

#include <stddef.h>

#define PARAMS_MAX_DEPTH	32

/*
 * Checks the params field s[0..len) (need not be NUL-terminated): valid
 * UTF-8, no NUL byte, strict JSON (RFC 8259: no raw control characters in
 * strings, no leading zeros or bare "1." numbers, nothing but white space
 * after the value) parsed by cJSON, a JSON object, nested at most
 * PARAMS_MAX_DEPTH levels (the depth is measured before cJSON sees it, so
 * 100,000 '[' are a clean refusal). len 0 is accepted as "{}". Returns 0
 * (msg set to ""), or -1 with a sentence for a person in msg (may be NULL).
 */
int params_check(const char *s, size_t len, char *msg, size_t msglen);

#endif
