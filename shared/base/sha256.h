/*
 * sha256: SHA-256 (FIPS 180-4) of a buffer, as lowercase hex. The log keys
 * a script's code by it (code_sha256: "same code" between attempts); the
 * ids and tokens the service signs are its HMAC (base/secret).
 */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>

#define SHA256_HEX_MAX 65	/* 64 hex digits and the NUL */

/* Writes the SHA-256 of data[0..len) as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_MAX]);

/* Writes the HMAC-SHA256 (RFC 2104) of msg[0..len) under key[0..keylen)
 * as 64 lowercase hex digits and a NUL. */
void hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len,
    char out[SHA256_HEX_MAX]);

#endif
