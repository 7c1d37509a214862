/*
 * http: writing answers to a FastCGI request, and reading its query string.
 * Every JSON answer of the service goes through http_json() or http_error().
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <fcgiapp.h>
#include <cjson/cJSON.h>

#include "base/text.h"	/* parse_int_range */

/* Every answer must be out within IMGSANDBOX_SEND_TIMEOUT_MS of its first
 * write (each live event within it of its own): a client that does not
 * read holds the responder that long at most. http_answer_begin() starts a
 * request (no deadline yet); http_answer_end() gives libfcgi's last writes
 * (FCGX_Finish_r) what is left of it, 1 ms when it passed. */
void http_answer_begin(void);
void http_answer_end(FCGX_Request *r);

/* Writes a whole answer: status line, Content-Type application/json,
 * Cache-Control no-store, extra (NULL, or header lines each ending "\r\n"),
 * and body rendered compactly. Returns 0, or -1 if the client is gone. */
int http_json(FCGX_Request *r, int status, const cJSON *body, const char *extra);

/* Writes {"error":{"code":code,"message":<printf>}} with status. Returns as
 * http_json. */
int http_error(FCGX_Request *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same with extra header lines (NULL, or lines each ending "\r\n"),
 * such as Allow or Retry-After. */
int http_error_with(FCGX_Request *r, int status, const char *code, const char *extra,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Writes status, Content-Type ctype and body[0..len). Returns as http_json. */
int http_body(FCGX_Request *r, int status, const char *ctype, const char *body, size_t len);

/* Reads len bytes of the request's body (fewer only at its end) before
 * the monotonic deadline_ms: a client that trickles its body holds a
 * responder until then at most. Returns the bytes read, or -1 with errno
 * ETIMEDOUT (the deadline passed) or EIO (the body ended or broke). */
int http_read_body(FCGX_Request *r, char *buf, size_t len, int64_t deadline_ms);

/* An event stream (text/event-stream): the head, unbuffered through every
 * server (X-Accel-Buffering: no for nginx; the others are configured).
 * Returns 0, or -1 if the client is gone. */
int http_sse_begin(FCGX_Request *r);

/* One event, "event: name" and "data: <data as compact JSON>", flushed.
 * Returns 0, or -1 if the client is gone. */
int http_sse_event(FCGX_Request *r, const char *event, const cJSON *data);

/* A comment line, flushed: keeps the stream alive and finds a client that
 * left. Returns 0, or -1 if the client is gone. */
int http_sse_ping(FCGX_Request *r);

/* Finds name in a query string (a=1&b=2) and copies its %-decoded value to
 * out. Returns 1 when found, 0 when absent, -1 when the value is malformed
 * or does not fit in outlen (NUL included). */
int http_query_get(const char *query, const char *name, char *out, size_t outlen);

#endif
