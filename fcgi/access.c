/*
 * access: who a request comes from, and whether it may read what is the
 * operator's. The one place where that is decided, before any report runs.
 *
 * The client is REMOTE_ADDR, or, when that is a proxy named in
 * IMGSANDBOX_TRUSTED_PROXIES (a front nginx), the last address of
 * X-Forwarded-For that is not one.
 *
 * The log holds everyone's code, prompts, params and the job ids that keep
 * result URLs private. IMGSANDBOX_LOGS_ACCESS says who reads it (every
 * /api/logs/ path but session/<id>, and /api/metrics):
 *   local  a loopback client that also names a loopback host (127.0.0.1,
 *          localhost, [::1]) or one of IMGSANDBOX_LOCAL_HOSTS, in a request
 *          no proxy forwarded; the Host check stops a page the operator
 *          visits from reading the log by DNS rebinding. A proxy on the
 *          same host connects from loopback and (nginx's proxy_pass, Apache's
 *          ProxyPass) names a loopback Host, so a request is never local
 *          when it carries a forwarding header (Forwarded, X-Forwarded-*,
 *          X-Real-IP, Via) from a peer not in IMGSANDBOX_TRUSTED_PROXIES,
 *          nor when it speaks HTTP/1.0 without one: what nginx's proxy_pass
 *          speaks by default with no header at all, and no browser does.
 *          A trusted proxy's request is local when the client its
 *          X-Forwarded-For names is.
 *   token  Authorization: Bearer <the first line of IMGSANDBOX_LOGS_TOKEN_FILE>,
 *          compared in constant time
 *   open   everyone (a machine of one's own)
 *
 * A run or an assist started by a browser on another site's page (a plain
 * multipart form is a "simple" request: no preflight asks first) is
 * refused: Sec-Fetch-Site: cross-site, or an Origin that is not the Host
 * the request names, unless IMGSANDBOX_ALLOWED_ORIGINS lists it. The
 * service's own page sends its own origin.
 *
 * A client's share is keyed by its address, an IPv6 one by its /64 (what
 * one subscriber is given: 2^64 addresses are no more clients than one).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "access.h"
#include "http.h"

static char token[256];
static size_t token_len;
static char token_problem[300];	/* why there is no token ("" when there is one) */

int
access_init(char *err, size_t errlen)
{
	ssize_t n;
	int fd;

	if (strcmp(cfg.logs_access, "token") != 0)
		return 0;
	if ((fd = open(cfg.logs_token_file, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (n = read(fd, token, sizeof(token) - 1)) <= 0) {
		snprintf(err, errlen, "IMGSANDBOX_LOGS_TOKEN_FILE=%s cannot be read by this service's "
		    "user", cfg.logs_token_file);
		snprintf(token_problem, sizeof(token_problem), "%s", err);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	token[n] = '\0';
	token_len = strcspn(token, "\r\n");
	token[token_len] = '\0';
	if (token_len < 16) {
		snprintf(err, errlen, "the token in %s is shorter than 16 characters",
		    cfg.logs_token_file);
		snprintf(token_problem, sizeof(token_problem), "%s", err);
		token_len = 0;
		return -1;
	}
	return 0;
}

/* Whether word (n bytes) is one of list's comma-separated words. */
static int
in_list(const char *list, const char *word, size_t n)
{
	const char *p = list, *end;
	size_t k;

	while (*p != '\0') {
		while (*p == ',' || *p == ' ')
			p++;
		end = p + strcspn(p, ",");
		k = (size_t)(end - p);
		while (k > 0 && p[k - 1] == ' ')
			k--;
		if (k == n && n > 0 && strncasecmp(p, word, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

int
access_loopback_address(const char *a)
{
	if (a == NULL)
		return 0;
	if (strncmp(a, "::ffff:", 7) == 0)
		a += 7;
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

void
access_client(FCGX_Request *r, char *out, size_t len)
{
	const char *remote = FCGX_GetParam("REMOTE_ADDR", r->envp);
	const char *xff = FCGX_GetParam("HTTP_X_FORWARDED_FOR", r->envp);
	const char *p, *start;
	size_t n;

	snprintf(out, len, "%s", remote ? remote : "unknown");
	if (remote == NULL || xff == NULL || !in_list(cfg.trusted_proxies, remote, strlen(remote)))
		return;
	/* From the right: the first hop that is not one of ours. */
	p = xff + strlen(xff);
	while (p > xff) {
		start = p;
		while (start > xff && start[-1] != ',')
			start--;
		while (*start == ' ')
			start++;
		n = (size_t)(p - start);
		while (n > 0 && start[n - 1] == ' ')
			n--;
		if (n > 0 && n < len && !in_list(cfg.trusted_proxies, start, n)) {
			memcpy(out, start, n);
			out[n] = '\0';
			return;
		}
		p = start > xff ? start - 1 : xff;
	}
}

/* The Host the request names, without its port, in out. */
static void
host_of(FCGX_Request *r, char *out, size_t len)
{
	const char *h = FCGX_GetParam("HTTP_HOST", r->envp);
	size_t n;

	if (h == NULL)
		h = "";
	if (h[0] == '[')		/* [::1]:8000 */
		n = strcspn(h, "]") + (strchr(h, ']') ? 1 : 0);
	else
		n = strcspn(h, ":");
	if (n >= len)
		n = len - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

/* localhost, [::1], a 127.x.y.z literal, or a name the operator listed. */
static int
local_host(const char *host)
{
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return 1;
	if (strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host))
		return 1;
	return in_list(cfg.local_hosts, host, strlen(host));
}

/* Whether r carries a header a proxy adds to what it forwards. */
static int
forwarded(FCGX_Request *r)
{
	static const char *const headers[] = { "HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR",
		"HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_SERVER",
		"HTTP_X_REAL_IP", "HTTP_X_HOST", "HTTP_VIA" };
	size_t i;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (FCGX_GetParam(headers[i], r->envp) != NULL)
			return 1;
	return 0;
}

/* Whether r comes from this machine and no proxy that cannot say who its
 * client is: see "local" above. */
static int
local_request(FCGX_Request *r)
{
	const char *remote = FCGX_GetParam("REMOTE_ADDR", r->envp);
	const char *proto = FCGX_GetParam("SERVER_PROTOCOL", r->envp);
	char client[64], host[256];

	host_of(r, host, sizeof(host));
	if (!local_host(host))
		return 0;
	if (forwarded(r)) {
		/* Only a trusted proxy that names its client is believed. */
		if (remote == NULL || !in_list(cfg.trusted_proxies, remote, strlen(remote)) ||
		    FCGX_GetParam("HTTP_X_FORWARDED_FOR", r->envp) == NULL)
			return 0;
		access_client(r, client, sizeof(client));
		return access_loopback_address(client);
	}
	if (proto == NULL || strncmp(proto, "HTTP/", 5) != 0 || strcmp(proto, "HTTP/1.0") == 0 ||
	    strcmp(proto, "HTTP/0.9") == 0)
		return 0;
	return access_loopback_address(remote);
}

/* Constant-time comparison of the bearer token. */
static int
token_ok(FCGX_Request *r)
{
	const char *a = FCGX_GetParam("HTTP_AUTHORIZATION", r->envp);
	unsigned char diff = 0;
	size_t i, n;

	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	n = strlen(a);
	diff = (unsigned char)(n != token_len);
	for (i = 0; i < token_len; i++)
		diff |= (unsigned char)(token[i] ^ (i < n ? a[i] : 0));
	return diff == 0;
}

int
access_operator(FCGX_Request *r)
{
	if (strcmp(cfg.logs_access, "open") == 0)
		return 0;
	if (strcmp(cfg.logs_access, "token") == 0) {
		if (token_len == 0) {
			http_error(r, 503, "log_unavailable", "the operator's endpoints are closed: %s",
			    token_problem);
			return -1;
		}
		if (token_ok(r))
			return 0;
		http_error_with(r, 403, "forbidden", "WWW-Authenticate: Bearer\r\n",
		    "the execution log is the operator's: send Authorization: Bearer <token> "
		    "(the token is in the file IMGSANDBOX_LOGS_TOKEN_FILE names on the server)");
		return -1;
	}
	const char *port = FCGX_GetParam("SERVER_PORT", r->envp);

	if (local_request(r))
		return 0;
	if (port == NULL || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5)
		port = "<port>";
	http_error(r, 403, "forbidden", "the execution log is the operator's and is read from "
	    "the server itself: open http://127.0.0.1:%s/dashboard.html there (or through an SSH "
	    "tunnel: ssh -L 8000:127.0.0.1:%s the-server, then http://127.0.0.1:8000/dashboard.html), "
	    "or set IMGSANDBOX_LOGS_ACCESS=token%s", port, port, forwarded(r) ? "; a request a proxy "
	    "forwarded is never local" : "");
	return -1;
}

/* The request's origin check: whether origin (scheme://host[:port]) is
 * the Host the request names (a trusted proxy's X-Forwarded-Host too),
 * its scheme's default port left out or not. */
static int
origin_is_ours(FCGX_Request *r, const char *origin)
{
	const char *remote = FCGX_GetParam("REMOTE_ADDR", r->envp);
	const char *hosts[2] = { FCGX_GetParam("HTTP_HOST", r->envp), NULL };
	const char *auth = strstr(origin, "://"), *def;
	size_t n, i;

	if (auth == NULL)
		return 0;
	def = strncasecmp(origin, "https://", 8) == 0 ? ":443" : ":80";
	auth += 3;
	n = strlen(auth);
	if (remote != NULL && in_list(cfg.trusted_proxies, remote, strlen(remote)))
		hosts[1] = FCGX_GetParam("HTTP_X_FORWARDED_HOST", r->envp);
	for (i = 0; i < 2; i++) {
		const char *h = hosts[i];
		if (h == NULL)
			continue;
		if (strcasecmp(h, auth) == 0)
			return 1;
		/* Host example.com:443 and Origin https://example.com */
		if (strlen(h) == n + strlen(def) && strncasecmp(h, auth, n) == 0 &&
		    strcmp(h + n, def) == 0)
			return 1;
	}
	return 0;
}

int
access_same_site(FCGX_Request *r)
{
	const char *origin = FCGX_GetParam("HTTP_ORIGIN", r->envp);
	const char *site = FCGX_GetParam("HTTP_SEC_FETCH_SITE", r->envp);
	int listed = origin != NULL && in_list(cfg.allowed_origins, origin, strlen(origin));

	if (listed || ((site == NULL || strcasecmp(site, "cross-site") != 0) &&
	    (origin == NULL || origin_is_ours(r, origin))))
		return 0;
	http_error(r, 403, "forbidden", "runs are started from this service's own page, and "
	    "this request came from another site's (Origin: %.100s); the operator may allow "
	    "that site with IMGSANDBOX_ALLOWED_ORIGINS", origin ? origin : "none, and "
	    "Sec-Fetch-Site: cross-site");
	return -1;
}

void
access_client_key(FCGX_Request *r, char *out, size_t len)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	access_client(r, out, len);
	if (strchr(out, ':') == NULL || inet_pton(AF_INET6, out, a) != 1)
		return;
	if (strncmp(out, "::ffff:", 7) == 0 && strchr(out, '.') != NULL) {
		memmove(out, out + 7, strlen(out + 7) + 1);	/* IPv4, mapped */
		return;
	}
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, text, sizeof(text)) != NULL)
		snprintf(out, len, "%s/64", text);
}
