/*
 * text: the service's one home for facts about bytes of text: UTF-8
 * (checked, made valid, cut on a character boundary), sizes in words (one
 * unit system: bytes, KiB, MiB, GiB), text made safe for a terminal, the
 * session-id rule, and a small non-cryptographic hash.
 */
#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (1..4) when it is complete in
 * avail bytes (strict: no overlong forms, no surrogates, nothing above
 * U+10FFFF), else 0. A NUL byte is a valid sequence of 1. */
size_t utf8_seq_len(const unsigned char *s, size_t avail);

/* Returns the index of the first byte of s[0..len) that does not start a
 * valid UTF-8 sequence, or len when all of it is valid. */
size_t utf8_bad_at(const char *s, size_t len);

/* Returns 1 when s[0..len) is valid UTF-8, else 0. U+0000 is valid UTF-8:
 * callers that cannot take NUL bytes check for them. */
int utf8_valid(const char *s, size_t len);

/* Returns a malloc'd NUL-terminated valid-UTF-8 copy of s[0..len), each bad
 * byte and each NUL byte replaced by U+FFFD, or NULL when memory ran out.
 * The caller frees it. */
char *utf8_sanitize(const char *s, size_t len);

/* Copies at most outlen - 1 bytes of s[0..n) into out, never cutting a
 * UTF-8 sequence, and NUL-terminates (outlen > 0). Returns the bytes
 * copied. The bytes are copied as they are (see text_clean_copy). */
size_t utf8_copy(char *out, size_t outlen, const char *s, size_t n);

/* Copies s[0..n) into out (outlen > 0) as printable valid UTF-8: control
 * characters (C0, DEL and C1: U+0080..U+009F) and invalid sequences become
 * bad; the copy is cut on a character boundary to fit and NUL-terminated.
 * Returns the bytes written. */
size_t text_clean_copy(char *out, size_t outlen, const char *s, size_t n, char bad);

/* Returns 1 when the code point at s (a valid sequence of k bytes) is a
 * control character a terminal may act on: C0 but tab and newline, DEL,
 * C1 (U+0080..U+009F). */
int text_is_control(const unsigned char *s, size_t k);

/* Writes bytes in words into out: "512 bytes", "256 KiB", "1.5 MiB",
 * "1 GiB" (IEC units, one decimal when not whole). Returns out. */
char *size_words(char *out, size_t outlen, int64_t bytes);

/* The session-id rule: 1 to 64 of A-Z a-z 0-9 _ - (s[0..len)). */
#define SESSION_ID_MAX 64
int session_id_valid(const char *s, size_t len);

/* Parses a decimal integer in [min, max] (strtonum-style: the whole string,
 * no sign but '-', no spaces). Returns 0 and sets *out, or -1. */
int parse_int_range(const char *s, long long min, long long max, long long *out);

/* 64-bit FNV-1a of s[0..n). */
uint64_t hash_fnv1a64(const void *s, size_t n);

/* Copies uri into out (outlen bytes) with a password in it (user:secret@
 * or ?password=secret) shown as "***", for messages, logs and settings.
 * Anything without "://" is copied as it is. Returns out. */
char *uri_hide_password(const char *uri, char *out, size_t outlen);

/* Replaces, in the message s (NUL-terminated, in a buffer of size bytes),
 * every copy of the password uri carries (see uri_hide_password), as
 * written and %-decoded, by "***": a driver's error may quote the URI's
 * parts (libpq: invalid percent-encoded token: "s%zzecret"). Returns s. */
char *text_hide_uri_password(char *s, size_t size, const char *uri);

/* The value of the hex digit c (either case), or -1. */
int text_hexval(int c);

#endif
