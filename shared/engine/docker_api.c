/*
 * docker_api: see docker_api.h. The HTTP here is the least the engine's
 * API needs: one request per connection (Connection: close), a response
 * read to its end (Content-Length, chunked, or until close), and the
 * attach endpoint's upgraded stream (8-byte frame headers: stream, 0, 0,
 * 0, length big-endian).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "base/files.h"
#include "base/log.h"
#include "base/spawn.h"
#include "engine/docker_api.h"

#define API "/v1.41"
/* A sandbox's client exits with this when the engine refused (docker run's). */
#define ENGINE_ERROR 125

static char sock_path[108];

int
dapi_init(const struct config *c)
{
	const char *h = c->docker_host;

	sock_path[0] = '\0';
	if (!c->docker_api)
		return -1;
	if (h[0] == '\0')
		h = "unix:///var/run/docker.sock";
	if (strncmp(h, "unix://", 7) != 0 || strlen(h + 7) >= sizeof(sock_path) || h[7] != '/')
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s", h + 7);
	return 0;
}

int
dapi_on(void)
{
	return sock_path[0] != '\0';
}

/* --- HTTP on the engine's socket ---------------------------------------- */

static int
connect_engine(int64_t timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if ((timeout_ms > 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends the request line, the headers and body (may be NULL). */
static int
send_request(int fd, const char *method, const char *path, const char *body, const char *conn)
{
	char head[1024];
	size_t blen = body != NULL ? strlen(body) : 0;
	int n;

	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: docker\r\n%s%s"
	    "Content-Length: %zu\r\n\r\n", method, path, conn,
	    body != NULL ? "Content-Type: application/json\r\n" : "", blen);
	if (n < 0 || (size_t)n >= sizeof(head) || file_write_all(fd, head, (size_t)n) < 0)
		return -1;
	return blen > 0 ? file_write_all(fd, body, blen) : 0;
}

/* Reads until the peer closes, into *buf (grown, at most max). Returns the
 * length or -1. */
static ssize_t
read_to_end(int fd, char **buf, size_t max)
{
	size_t cap = 0, n = 0;
	char *grown;
	ssize_t r;

	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= max)
				return -1;
			cap = cap == 0 ? 4096 : cap * 2;
			if ((grown = realloc(*buf, cap)) == NULL)
				return -1;
			*buf = grown;
		}
		r = read(fd, *buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	(*buf)[n] = '\0';
	return (ssize_t)n;
}

/* Whether the headers (from the status line's end to the blank line)
 * have name with a value that contains value. */
static int
header_has(const char *headers, const char *end, const char *name, const char *value)
{
	const char *p = headers;
	size_t nl = strlen(name);

	while (p < end && (p = strstr(p, "\r\n")) != NULL && p < end) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *eol = strstr(p, "\r\n");
			char v[128];
			size_t vl = eol != NULL ? (size_t)(eol - p - nl - 1) : 0;

			if (vl >= sizeof(v))
				vl = sizeof(v) - 1;
			memcpy(v, p + nl + 1, vl);
			v[vl] = '\0';
			return strcasestr(v, value) != NULL;
		}
	}
	return 0;
}

/* Decodes a chunked body in place. Returns its length, or -1. */
static ssize_t
unchunk(char *b, size_t len)
{
	size_t in = 0, out = 0;
	unsigned long size;
	char *end;

	for (;;) {
		size = strtoul(b + in, &end, 16);
		if (end == b + in || (end = strstr(end, "\r\n")) == NULL)
			return -1;
		in = (size_t)(end - b) + 2;
		if (size == 0)
			return (ssize_t)out;
		if (size > len - in)
			return -1;
		memmove(b + out, b + in, size);
		out += size;
		in += size;
		if (in + 2 > len || memcmp(b + in, "\r\n", 2) != 0)
			return -1;
		in += 2;
	}
}

int
dapi_parse_response(char *buf, size_t len, char **body, size_t *bodylen)
{
	char *head_end;
	ssize_t n;
	int status;

	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || sscanf(buf + 9, "%3d", &status) != 1 ||
	    (head_end = strstr(buf, "\r\n\r\n")) == NULL)
		return -1;
	*body = head_end + 4;
	*bodylen = len - (size_t)(*body - buf);
	if (header_has(buf, head_end + 2, "Transfer-Encoding", "chunked")) {
		if ((n = unchunk(*body, *bodylen)) < 0)
			return -1;
		*bodylen = (size_t)n;
	}
	(*body)[*bodylen] = '\0';
	return status;
}

/* One exchange on a new connection; the response in *resp (malloc'd). */
static int
exchange(const char *method, const char *path, const char *body, int64_t timeout_ms,
    char **resp, char **rbody, size_t *rlen)
{
	ssize_t n;
	int fd, status = -1;

	*resp = NULL;
	if ((fd = connect_engine(timeout_ms)) < 0)
		return -1;
	if (send_request(fd, method, path, body, "Connection: close\r\n") == 0 &&
	    (n = read_to_end(fd, resp, 64 << 20)) > 0)
		status = dapi_parse_response(*resp, (size_t)n, rbody, rlen);
	close(fd);
	return status;
}

int
dapi_call(const char *method, const char *path, const char *body, char *out, size_t outlen,
    int64_t timeout_ms)
{
	char *resp, *rbody;
	size_t rlen;
	int status;

	status = exchange(method, path, body, timeout_ms, &resp, &rbody, &rlen);
	if (out != NULL && outlen > 0) {
		out[0] = '\0';
		if (status >= 0)
			snprintf(out, outlen, "%s", rbody);
	}
	free(resp);
	return status;
}

int
dapi_kill(const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), API "/containers/%s/kill?signal=KILL", name);
	return dapi_call("POST", path, NULL, NULL, 0, 10000) == 204 ? 0 : -1;
}

int
dapi_rm(const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), API "/containers/%s?force=1&v=1", name);
	return dapi_call("DELETE", path, NULL, NULL, 0, 20000) == 204 ? 0 : -1;
}

int
dapi_inspect_state(const char *name, int *oom_killed, int *exit_code)
{
	char path[160], *resp, *rbody;
	const cJSON *state, *oom, *code;
	cJSON *j = NULL;
	size_t rlen;
	int rc = -1;

	snprintf(path, sizeof(path), API "/containers/%s/json", name);
	if (exchange("GET", path, NULL, 10000, &resp, &rbody, &rlen) == 200 &&
	    (j = cJSON_ParseWithLength(rbody, rlen)) != NULL &&
	    (state = cJSON_GetObjectItemCaseSensitive(j, "State")) != NULL &&
	    cJSON_IsBool(oom = cJSON_GetObjectItemCaseSensitive(state, "OOMKilled")) &&
	    cJSON_IsNumber(code = cJSON_GetObjectItemCaseSensitive(state, "ExitCode"))) {
		*oom_killed = cJSON_IsTrue(oom);
		*exit_code = code->valueint;
		rc = 0;
	}
	cJSON_Delete(j);
	free(resp);
	return rc;
}

/* --- the broker's housekeeping ------------------------------------------- */

int
dapi_version(void)
{
	char out[2048];

	return dapi_call("GET", API "/version", NULL, out, sizeof(out), 10000) == 200 &&
	    strstr(out, "\"Version\"") != NULL ? 0 : -1;
}

/* s with every byte but [A-Za-z0-9._-] as %XX; -1 when it does not fit. */
static int
url_escape(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (n + 4 > outlen)
			return -1;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-')
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, outlen - n, "%%%02X", ch);
	}
	out[n] = '\0';
	return 0;
}

int
dapi_image(const char *image)
{
	char path[600];

	/* A reference's '/' and ':' stay as they are: the engine's route takes
	 * the rest of the path as the name. */
	if (strspn(image, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@") !=
	    strlen(image) || snprintf(path, sizeof(path), API "/images/%s/json", image) >=
	    (int)sizeof(path))
		return -1;
	return dapi_call("GET", path, NULL, NULL, 0, 10000) == 200 ? 0 : -1;
}

/* ?filters= of a JSON object {key: [value], ...} (pairs of strings, NULL
 * ended), escaped. */
static int
filters_query(char *out, size_t outlen, ...)
{
	cJSON *f = cJSON_CreateObject();
	const char *k, *v;
	char *text;
	va_list ap;
	int rc = -1;

	va_start(ap, outlen);
	while (f != NULL && (k = va_arg(ap, const char *)) != NULL) {
		cJSON *a = cJSON_AddArrayToObject(f, k);

		v = va_arg(ap, const char *);
		if (a != NULL)
			cJSON_AddItemToArray(a, cJSON_CreateString(v));
	}
	va_end(ap);
	if (f != NULL && (text = cJSON_PrintUnformatted(f)) != NULL) {
		rc = url_escape(text, out, outlen);
		free(text);
	}
	cJSON_Delete(f);
	return rc;
}

int
dapi_list(const char *label, void (*each)(const char *name, const char *deadline, void *arg),
    void *arg)
{
	char q[1024], path[1200], *resp, *rbody;
	const cJSON *c, *names, *labels, *deadline;
	cJSON *j = NULL;
	size_t rlen;
	int n = -1;

	if (filters_query(q, sizeof(q), "label", label, NULL) < 0)
		return -1;
	snprintf(path, sizeof(path), API "/containers/json?all=1&filters=%s", q);
	if (exchange("GET", path, NULL, 15000, &resp, &rbody, &rlen) == 200 &&
	    cJSON_IsArray(j = cJSON_ParseWithLength(rbody, rlen))) {
		n = 0;
		cJSON_ArrayForEach(c, j) {
			names = cJSON_GetObjectItemCaseSensitive(c, "Names");
			labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
			deadline = cJSON_GetObjectItemCaseSensitive(labels, "imgsandbox.deadline");
			if (!cJSON_IsArray(names) || !cJSON_IsString(cJSON_GetArrayItem(names, 0)))
				continue;
			each(cJSON_GetArrayItem(names, 0)->valuestring + 1,
			    cJSON_IsString(deadline) ? deadline->valuestring : "", arg);
			n++;
		}
	}
	cJSON_Delete(j);
	free(resp);
	return n;
}

int
dapi_saw_event(const char *name, const char *action, int64_t since_ms, int64_t until_ms)
{
	char q[600], path[900], want[80], *resp, *rbody;
	size_t rlen;
	int status, saw;

	if (filters_query(q, sizeof(q), "container", name, "event", action, NULL) < 0)
		return -1;
	snprintf(path, sizeof(path), API "/events?since=%lld.%03lld000000&until=%lld.%03lld000000"
	    "&filters=%s", (long long)(since_ms / 1000), (long long)(since_ms % 1000),
	    (long long)(until_ms / 1000), (long long)(until_ms % 1000), q);
	snprintf(want, sizeof(want), "\"Action\":\"%s\"", action);
	status = exchange("GET", path, NULL, 10000, &resp, &rbody, &rlen);
	saw = status == 200 ? strstr(rbody, want) != NULL : -1;
	free(resp);
	return saw;
}

/* --- a sandbox's client: a child of ours -------------------------------- */
/* What runs in the child uses no allocation and no lock (the broker has
 * threads): the create request is made before the fork, the rest is
 * written into buffers on the stack. */

/* A line to fd, formatted on the stack and written whole (dprintf may
 * allocate, and this runs in a child of a process with threads). */
static void __attribute__((format(printf, 2, 3)))
say(int fd, const char *fmt, ...)
{
	char line[1400];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		file_write_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void __attribute__((noreturn))
refused(const char *body)
{
	const char *m = strstr(body, "\"message\":\"");
	char line[1200];
	size_t n = 0;

	if (m != NULL)
		for (m += 11; *m != '\0' && *m != '"' && n < 1000; m++)
			if (*m != '\\')
				line[n++] = *m;
	line[n] = '\0';
	say(2, "docker: Error response from daemon: %s.\n", n > 0 ? line : "the engine did not answer");
	_exit(ENGINE_ERROR);
}

/* A request on a new connection, the response read into buf (cut to cap).
 * Returns the status, with *body in buf, -2 when the engine's socket could
 * not be reached, or -1. */
static int
child_call(const char *method, const char *path, const char *req, size_t reqlen, char *buf,
    size_t cap, char **body)
{
	size_t n = 0, blen;
	ssize_t r;
	int fd, status = -1;

	buf[0] = '\0';
	*body = buf;
	if ((fd = connect_engine(0)) < 0)
		return -2;
	if ((req != NULL ? file_write_all(fd, req, reqlen) :
	    send_request(fd, method, path, NULL, "Connection: close\r\n")) == 0) {
		while (n + 1 < cap && ((r = read(fd, buf + n, cap - 1 - n)) > 0 ||
		    (r < 0 && errno == EINTR)))
			n += r > 0 ? (size_t)r : 0;
		buf[n] = '\0';
		status = dapi_parse_response(buf, n, body, &blen);
	}
	close(fd);
	return status;
}

/* Attaches to the container's streams: returns the upgraded connection,
 * with what came after the response's headers in buf[0..*extra). */
static int
attach(const char *name, char *buf, size_t cap, size_t *extra)
{
	char path[200], *end;
	size_t n = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), API "/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1",
	    name);
	if ((fd = connect_engine(0)) < 0 ||
	    send_request(fd, "POST", path, NULL, "Connection: Upgrade\r\nUpgrade: tcp\r\n") < 0)
		return -1;
	while ((end = memmem(buf, n, "\r\n\r\n", 4)) == NULL) {
		if (n + 1 >= cap || (r = read(fd, buf + n, cap - 1 - n)) <= 0) {
			close(fd);
			return -1;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (strncmp(buf, "HTTP/1.1 101", 12) != 0 && strncmp(buf, "HTTP/1.1 200", 12) != 0) {
		close(fd);
		return -1;
	}
	*extra = n - (size_t)(end + 4 - buf);
	memmove(buf, end + 4, *extra);
	return fd;
}

/* The attach stream's frames: 8 bytes (stream, 0, 0, 0, length) then the
 * length's bytes, to 1 (stdout) or 2 (everything else). */
struct demux {
	unsigned char head[8];
	size_t have;		/* bytes of head read */
	size_t left;		/* bytes of the frame's payload to come */
	int to;
};

static int
demux(struct demux *d, const char *p, size_t n)
{
	size_t k;

	while (n > 0) {
		if (d->left == 0) {
			d->head[d->have++] = (unsigned char)*p++;
			n--;
			if (d->have == 8) {
				d->to = d->head[0] == 1 ? 1 : 2;
				d->left = (size_t)d->head[4] << 24 | (size_t)d->head[5] << 16 |
				    (size_t)d->head[6] << 8 | d->head[7];
				d->have = 0;
			}
			continue;
		}
		k = n < d->left ? n : d->left;
		if (file_write_all(d->to, p, k) < 0)
			return -1;
		p += k;
		n -= k;
		d->left -= k;
	}
	return 0;
}

/* stdin to the stream (then its write side shut), the stream to 1 and 2,
 * until the engine closes it (the container ended). */
static void
relay(int s, char *buf, size_t cap, size_t extra)
{
	struct demux d = { .have = 0 };
	char in[16384];
	size_t ilen = 0, ioff = 0;
	int in_open = 1;
	ssize_t r;

	if (demux(&d, buf, extra) < 0)
		return;
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd p[2] = { { .fd = s, .events = POLLIN | (ilen > ioff ? POLLOUT : 0) },
			{ .fd = in_open && ilen == ioff ? 0 : -1, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[1].revents != 0) {
			r = read(0, in, sizeof(in));
			if (r > 0) {
				ilen = (size_t)r;
				ioff = 0;
			} else if (r == 0 || errno != EINTR) {
				in_open = 0;
				shutdown(s, SHUT_WR);
			}
		}
		if ((p[0].revents & POLLOUT) && ilen > ioff &&
		    (r = write(s, in + ioff, ilen - ioff)) > 0)
			ioff += (size_t)r;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(s, buf, cap);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				return;
			if (r > 0 && demux(&d, buf, (size_t)r) < 0)
				return;
		}
	}
}

static void __attribute__((noreturn))
run_child(const char *name, const char *req, size_t reqlen)
{
	char buf[65536], path[200], *body, *code;
	size_t extra = 0;
	int s, status;

	status = child_call(NULL, NULL, req, reqlen, buf, sizeof(buf), &body);
	if (status == -2) {	/* the client's words, which the broker reads */
		say(2, "Cannot connect to the Docker daemon at unix://%s. Is the docker daemon "
		    "running?\n", sock_path);
		_exit(ENGINE_ERROR);
	}
	if (status != 201)
		refused(body);
	if ((s = attach(name, buf, sizeof(buf), &extra)) < 0)
		refused("{\"message\":\"the container's streams could not be attached\"}");
	snprintf(path, sizeof(path), API "/containers/%s/start", name);
	status = child_call("POST", path, NULL, 0, buf + extra, sizeof(buf) - extra, &body);
	if (status != 204 && status != 304)
		refused(body);
	relay(s, buf, sizeof(buf), extra);
	close(s);
	close(1);
	close(2);
	snprintf(path, sizeof(path), API "/containers/%s/wait", name);
	status = child_call("POST", path, NULL, 0, buf, sizeof(buf), &body);
	if (status != 200 || (code = strstr(body, "\"StatusCode\":")) == NULL)
		_exit(ENGINE_ERROR);
	_exit((int)strtol(code + 13, NULL, 10) & 0xff);
}

/* The child's 0, 1 and 2, nothing else open, every signal at its default
 * and unblocked, a session of its own (as spawn_start gives a program). */
static void
child_setup(int in, int out, int err)
{
	int fds[3] = { in, out, err }, hi[3], i;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (i = 0; i < 3; i++)
		if ((hi[i] = fcntl(fds[i], F_DUPFD, 10)) < 0)
			_exit(ENGINE_ERROR);
	for (i = 0; i < 3; i++)
		if (dup2(hi[i], i) < 0)
			_exit(ENGINE_ERROR);
	syscall(SYS_close_range, 3, ~0U, 0);
	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			sigaction(i, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
}

int
dapi_run_start(const char *name, const char *body, int in, int out, int err, struct child *c)
{
	char head[512];
	size_t blen = strlen(body), hlen;
	char *req;
	pid_t pid;
	int n, saved;

	c->pid = -1;
	c->pidfd = -1;
	n = snprintf(head, sizeof(head), "POST " API "/containers/create?name=%s HTTP/1.1\r\n"
	    "Host: docker\r\nConnection: close\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", name, blen);
	if (n < 0 || (size_t)n >= sizeof(head) || (req = malloc((size_t)n + blen)) == NULL)
		return -1;
	hlen = (size_t)n;
	memcpy(req, head, hlen);
	memcpy(req + hlen, body, blen);
	if ((pid = fork()) == 0) {
		child_setup(in, out, err);
		run_child(name, req, hlen + blen);
	}
	saved = errno;
	free(req);
	if (pid < 0) {
		errno = saved;
		return -1;
	}
	c->pid = pid;
	if ((c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
		saved = errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
		errno = saved;
		return -1;
	}
	return 0;
}
