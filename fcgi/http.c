#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/json_out.h"
#include "base/text.h"
#include "http.h"

/* Bytes handed to libfcgi at a time: its output buffer (8 KiB), so that
 * each write it makes to the web server starts with the time left. */
#define PIECE 8000

/* When the answer being written must be out (monotonic ms; 0: no write
 * yet). Every answer has one (IMGSANDBOX_SEND_TIMEOUT_MS from its first
 * write; each live event its own): a client that does not read, behind a
 * server that does not buffer, holds the responder until then at most,
 * and with it a run's slot and sandbox. One request at a time. */
static int64_t send_deadline;

void
http_answer_begin(void)
{
	send_deadline = 0;
}

/* Sets the connection's send timeout to what is left of the deadline (set
 * now when there is none). Returns 0, or -1 when it has passed. */
static int
send_window(FCGX_Request *r)
{
	struct timeval tv;
	int64_t left;

	if (send_deadline == 0)
		send_deadline = clock_mono_ms() + cfg.send_timeout_ms;
	if ((left = send_deadline - clock_mono_ms()) <= 0)
		return -1;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	return setsockopt(r->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 ? 0 : -1;
}

/* Writes buf[0..len) to r's answer, piece by piece, each within what is
 * left of the deadline; flushes it when flush is set. With a send timeout
 * a write is never restarted after a signal handler runs: no signal is
 * taken meanwhile (they wait). Returns 0, or -1 when the client is gone or
 * the deadline passed (libfcgi then writes nothing more of the answer). */
static int
put(FCGX_Request *r, const char *buf, size_t len, int flush)
{
	sigset_t all, old;
	size_t n;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; len > 0 && rc == 0; buf += n, len -= n) {
		n = len < PIECE ? len : PIECE;
		if (send_window(r) < 0 || FCGX_PutStr(buf, (int)n, r->out) != (int)n)
			rc = -1;
	}
	if (rc == 0 && flush && (send_window(r) < 0 || FCGX_FFlush(r->out) != 0))
		rc = -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void
http_answer_end(FCGX_Request *r)
{
	struct timeval tv = { 0, 1000 };	/* the deadline passed: 1 ms */

	if (send_window(r) < 0)
		(void)setsockopt(r->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 403: return "Forbidden";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* Writes the header block. libfcgi's own printf knows no %zu, so the text
 * is made with snprintf. Returns 0 or -1. */
static int
put_head(FCGX_Request *r, int status, const char *ctype, size_t len, const char *extra)
{
	char head[1024];
	int n;

	n = snprintf(head, sizeof(head), "Status: %d %s\r\nContent-Type: %s\r\n"
	    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	    "Content-Length: %zu\r\n%s\r\n", status, reason(status), ctype, len,
	    extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return put(r, head, (size_t)n, 0);
}

int
http_body(FCGX_Request *r, int status, const char *ctype, const char *body, size_t len)
{
	if (put_head(r, status, ctype, len, NULL) < 0)
		return -1;
	return put(r, body, len, 0);
}

int
http_json(FCGX_Request *r, int status, const cJSON *body, const char *extra)
{
	char *text;
	int rc = -1;

	if ((text = cJSON_PrintUnformatted(body)) == NULL) {
		/* Out of memory: still answer, with a body that needs none. */
		static const char oom[] = "Status: 500 Internal Server Error\r\n"
		    "Content-Type: application/json\r\n\r\n{\"error\":{\"code\":\"internal\","
		    "\"message\":\"the server ran out of memory; try again\"}}";
		put(r, oom, sizeof(oom) - 1, 0);
		return -1;
	}
	if (put_head(r, status, "application/json", strlen(text), extra) == 0 &&
	    put(r, text, strlen(text), 0) == 0)
		rc = 0;
	free(text);
	return rc;
}

static int
http_verror(FCGX_Request *r, int status, const char *code, const char *extra,
    const char *fmt, va_list ap)
{
	char msg[512];
	cJSON *root;
	int rc = -1;

	vsnprintf(msg, sizeof(msg), fmt, ap);	/* a cut message is still a message */
	if ((root = json_error_body(code, msg)) != NULL)
		rc = http_json(r, status, root, extra);
	cJSON_Delete(root);
	return rc;
}

int
http_error(FCGX_Request *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = http_verror(r, status, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
http_error_with(FCGX_Request *r, int status, const char *code, const char *extra,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = http_verror(r, status, code, extra, fmt, ap);
	va_end(ap);
	return rc;
}

int
http_query_get(const char *query, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name), o;
	const char *p = query, *end;
	int hi, lo;

	if (query == NULL || outlen == 0)
		return 0;
	while (*p != '\0') {
		end = p + strcspn(p, "&");
		if ((size_t)(end - p) >= nlen && strncmp(p, name, nlen) == 0 &&
		    (p[nlen] == '=' || p + nlen == end)) {
			p += nlen;
			if (*p == '=')
				p++;
			for (o = 0; p < end; p++) {
				int c = (unsigned char)*p;
				if (c == '+')
					c = ' ';
				else if (c == '%') {
					if (end - p < 3 || (hi = text_hexval(p[1])) < 0 ||
					    (lo = text_hexval(p[2])) < 0)
						return -1;
					c = hi * 16 + lo;
					p += 2;
				}
				if (c == 0 || o + 1 >= outlen)
					return -1;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

int
http_sse_begin(FCGX_Request *r)
{
	static const char head[] = "Status: 200 OK\r\nContent-Type: text/event-stream\r\n"
	    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	    "X-Accel-Buffering: no\r\n\r\n";

	send_deadline = 0;	/* each part of a stream has a deadline of its own */
	return put(r, head, sizeof(head) - 1, 1);
}

int
http_sse_event(FCGX_Request *r, const char *event, const cJSON *data)
{
	char head[64], *text;
	int n, rc = -1;

	/* Compact JSON has no newline: one data line. */
	if ((text = cJSON_PrintUnformatted(data)) == NULL)
		return -1;
	n = snprintf(head, sizeof(head), "event: %s\ndata: ", event);
	send_deadline = 0;
	if (n > 0 && (size_t)n < sizeof(head) && put(r, head, (size_t)n, 0) == 0 &&
	    put(r, text, strlen(text), 0) == 0 && put(r, "\n\n", 2, 1) == 0)
		rc = 0;
	free(text);
	return rc;
}

int
http_sse_ping(FCGX_Request *r)
{
	send_deadline = 0;
	return put(r, ": ping\n\n", 8, 1);
}

int
http_read_body(FCGX_Request *r, char *buf, size_t len, int64_t deadline_ms)
{
	int64_t left_ms = deadline_ms - clock_mono_ms();
	struct timeval tv;
	sigset_t all, old;
	int n;

	if (left_ms <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	tv.tv_sec = (time_t)(left_ms / 1000);
	tv.tv_usec = (suseconds_t)(left_ms % 1000) * 1000;
	(void)setsockopt(r->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* With a receive timeout a read is never restarted after a signal
	 * handler runs: no signal is taken meanwhile (they wait). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	n = FCGX_GetStr(buf, (int)len, r->in);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (n <= 0) {
		errno = clock_mono_ms() >= deadline_ms ? ETIMEDOUT : EIO;
		return -1;
	}
	return n;
}
