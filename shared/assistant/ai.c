/*
 * ai.c: the key, the model client (libcurl's easy interface, one
 * chat-completions call) and the answer's body read (the reply's text, the
 * model). The script in the reply: ai_reply.c. See ai.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "assistant/ai.h"
#include "base/log.h"
#include "base/text.h"

/* ---- The key --------------------------------------------------------- */

int
ai_key_load(const char *path, char *key, size_t keylen, char *err, size_t errlen)
{
	char buf[AI_KEY_MAX + 64];
	size_t i, n = 0, start, end;
	ssize_t got;
	int fd, rc = -1;

	key[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errlen, "cannot open the key file %s: %s", path, strerror(errno));
		return -1;
	}
	while (n < sizeof(buf) - 1 && (got = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)got;
	close(fd);
	buf[n] = '\0';
	end = strcspn(buf, "\n");
	for (start = 0; start < end && isspace((unsigned char)buf[start]); start++)
		;
	while (end > start && isspace((unsigned char)buf[end - 1]))
		end--;
	if (end == start) {
		snprintf(err, errlen, "the key file %s has no key on its first line", path);
		goto out;
	}
	if (end - start >= keylen || end - start >= AI_KEY_MAX) {
		snprintf(err, errlen, "the key in %s is longer than %d bytes", path, AI_KEY_MAX - 1);
		goto out;
	}
	for (i = start; i < end; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			snprintf(err, errlen, "the key in %s holds a byte that cannot go into an "
			    "HTTP header (printable ASCII without spaces only)", path);
			goto out;
		}
	memcpy(key, buf + start, end - start);
	key[end - start] = '\0';
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

void
ai_scrub(char *s, const char *key)
{
	size_t klen;
	char *p;

	if (s == NULL || key == NULL || (klen = strlen(key)) == 0)
		return;
	while ((p = strstr(s, key)) != NULL)
		memset(p, '*', klen);
}

/* ---- The request and the answer's body ------------------------------- */

char *
ai_request_json(const char *model, const char *system, const char *user,
    int64_t max_tokens)
{
	cJSON *root, *msgs, *m;
	char *out = NULL;
	int bad = 0;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	if (model != NULL && model[0] != '\0' && cJSON_AddStringToObject(root, "model", model) == NULL)
		bad = 1;
	if ((msgs = cJSON_AddArrayToObject(root, "messages")) == NULL)
		bad = 1;
	if (!bad && ((m = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(msgs, m) ||
	    cJSON_AddStringToObject(m, "role", "system") == NULL ||
	    cJSON_AddStringToObject(m, "content", system) == NULL))
		bad = 1;
	if (!bad && ((m = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(msgs, m) ||
	    cJSON_AddStringToObject(m, "role", "user") == NULL ||
	    cJSON_AddStringToObject(m, "content", user) == NULL))
		bad = 1;
	if (cJSON_AddNumberToObject(root, "max_tokens", (double)max_tokens) == NULL ||
	    cJSON_AddFalseToObject(root, "stream") == NULL)
		bad = 1;
	if (!bad)
		out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

/* Sets res's status and message (printf). Returns -1. */
static int
fail(struct ai_result *res, enum ai_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct ai_result *res, enum ai_status st, const char *fmt, ...)
{
	va_list ap;

	res->status = st;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* The text of a message's content: a string, or the "text" of each part
 * of an array of parts. Returns a malloc'd string (may be ""), or NULL when
 * there is none or memory ran out (*oom set). */
static char *
content_text(const cJSON *content, int *oom)
{
	const cJSON *part, *t;
	size_t n = 0, k;
	char *out;

	*oom = 0;
	if (cJSON_IsString(content))
		return (out = strdup(content->valuestring)) == NULL ? (*oom = 1, NULL) : out;
	if (!cJSON_IsArray(content))
		return NULL;
	cJSON_ArrayForEach(part, content)
		if (cJSON_IsString(t = cJSON_GetObjectItemCaseSensitive(part, "text")))
			n += strlen(t->valuestring);
	if ((out = malloc(n + 1)) == NULL) {
		*oom = 1;
		return NULL;
	}
	n = 0;
	cJSON_ArrayForEach(part, content)
		if (cJSON_IsString(t = cJSON_GetObjectItemCaseSensitive(part, "text"))) {
			k = strlen(t->valuestring);
			memcpy(out + n, t->valuestring, k);
			n += k;
		}
	out[n] = '\0';
	return out;
}

int
ai_parse_reply(const char *body, size_t len, struct ai_result *res)
{
	const cJSON *choice, *msg, *fin, *model;
	cJSON *root;
	char *text = NULL;
	int oom = 0;

	if ((root = cJSON_ParseWithLength(body, len)) == NULL)
		return fail(res, AI_BAD_REPLY, "its answer is not JSON");
	choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
	msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
	text = content_text(cJSON_GetObjectItemCaseSensitive(msg, "content"), &oom);
	if (text == NULL && !oom)	/* the older completions shape */
		text = content_text(cJSON_GetObjectItemCaseSensitive(choice, "text"), &oom);
	fin = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	res->cut = cJSON_IsString(fin) && strcmp(fin->valuestring, "length") == 0;
	if (cJSON_IsString(model))
		text_clean_copy(res->model, sizeof(res->model), model->valuestring,
		    strlen(model->valuestring), '?');
	cJSON_Delete(root);
	if (oom)
		return fail(res, AI_NO_MEMORY, "out of memory");
	if (text == NULL)
		return fail(res, AI_BAD_REPLY, "its answer is not a chat completion "
		    "(no choices[0].message.content)");
	if (text[strspn(text, " \t\r\n")] == '\0') {
		free(text);
		return fail(res, AI_BAD_REPLY, res->cut ? "it answered with no text before "
		    "reaching max_tokens" : "it answered with no text");
	}
	res->content = text;
	res->content_len = strlen(text);
	return 0;
}

/* ---- The call -------------------------------------------------------- */

struct sink {
	char *buf;
	size_t n, cap;
	int too_large;
};

/* CURLOPT_WRITEFUNCTION: keeps at most AI_REPLY_MAX bytes; past that, or
 * out of memory, returns 0 so that libcurl stops. */
static size_t
sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t len = size * nmemb, cap;
	char *nb;

	if (len > AI_REPLY_MAX - s->n) {
		s->too_large = 1;
		return 0;
	}
	if (s->n + len + 1 > s->cap) {
		for (cap = s->cap ? s->cap : 16384; cap < s->n + len + 1; cap *= 2)
			;
		if (cap > AI_REPLY_MAX + 1)
			cap = AI_REPLY_MAX + 1;
		if ((nb = realloc(s->buf, cap)) == NULL)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->n, p, len);
	s->n += len;
	s->buf[s->n] = '\0';
	return len;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

/*
 * libcurl is loaded when the assistant is first used, not linked: it brings
 * TLS and more (about 6 MiB resident), which a responder that never calls a
 * model (the API pool's) should not carry.
 */
static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
	void (*url_cleanup)(CURLU *);
	void (*free)(void *);
} lib;

/* Looks up one symbol of handle into *slot. Returns 0 or -1. */
static int
sym(void *handle, const char *name, void *slot)
{
	void *f = dlsym(handle, name);

	if (f == NULL)
		return -1;
	memcpy(slot, &f, sizeof(f));
	return 0;
}

static void
init_curl(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL || sym(h, "curl_global_init", &lib.global_init) < 0 ||
	    sym(h, "curl_easy_init", &lib.easy_init) < 0 ||
	    sym(h, "curl_easy_setopt", &lib.easy_setopt) < 0 ||
	    sym(h, "curl_easy_perform", &lib.easy_perform) < 0 ||
	    sym(h, "curl_easy_getinfo", &lib.easy_getinfo) < 0 ||
	    sym(h, "curl_easy_cleanup", &lib.easy_cleanup) < 0 ||
	    sym(h, "curl_easy_strerror", &lib.easy_strerror) < 0 ||
	    sym(h, "curl_slist_append", &lib.slist_append) < 0 ||
	    sym(h, "curl_slist_free_all", &lib.slist_free_all) < 0 ||
	    sym(h, "curl_url", &lib.url) < 0 || sym(h, "curl_url_set", &lib.url_set) < 0 ||
	    sym(h, "curl_url_get", &lib.url_get) < 0 ||
	    sym(h, "curl_url_cleanup", &lib.url_cleanup) < 0 || sym(h, "curl_free", &lib.free) < 0) {
		log_warnx("libcurl (libcurl4) could not be loaded: %s", h ? "a symbol is missing" : dlerror());
		return;
	}
	init_rc = lib.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int
ai_init(void)
{
	pthread_once(&init_once, init_curl);
	return init_rc;
}

/* Writes the endpoint as "host:port" into where (no user, password, path
 * or query: the URL may carry secrets). */
static void
endpoint_where(const char *url, char *where, size_t len)
{
	char *host = NULL, *port = NULL;
	CURLU *u;

	snprintf(where, len, "the configured address");
	if (ai_init() < 0 || (u = lib.url()) == NULL)
		return;
	if (lib.url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    lib.url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    lib.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(where, len, "%s:%s", host, port);
	lib.free(host);
	lib.free(port);
	lib.url_cleanup(u);
}

/* A short reason out of an error answer's body: its error.message (or
 * error, or message) when it is JSON, else its first words. */
static void
http_error_reason(const char *body, size_t len, char *out, size_t outlen)
{
	const cJSON *e, *m;
	cJSON *root;

	out[0] = '\0';
	if (body == NULL || len == 0)
		return;
	if ((root = cJSON_ParseWithLength(body, len)) != NULL) {
		e = cJSON_GetObjectItemCaseSensitive(root, "error");
		m = cJSON_GetObjectItemCaseSensitive(e, "message");
		if (!cJSON_IsString(m))
			m = cJSON_IsString(e) ? e : cJSON_GetObjectItemCaseSensitive(root, "message");
		if (cJSON_IsString(m))
			ai_first_words(m->valuestring, strlen(m->valuestring), out, outlen);
		cJSON_Delete(root);
		if (out[0] != '\0')
			return;
	}
	ai_first_words(body, len, out, outlen);
}

/* Says why libcurl failed, in res. Returns -1. */
static int
curl_failure(struct ai_result *res, CURLcode rc, const struct sink *s, int64_t timeout_ms)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return fail(res, AI_TIMEOUT, "the model at %s did not answer within %.0f s "
		    "(IMGSANDBOX_AI_TIMEOUT_MS)", res->where, timeout_ms / 1000.0);
	case CURLE_COULDNT_CONNECT:
		return fail(res, AI_UNREACHABLE, "the model at %s could not be reached "
		    "(connection refused): is it running?", res->where);
	case CURLE_COULDNT_RESOLVE_HOST:
		return fail(res, AI_UNREACHABLE, "the model's host %s could not be resolved",
		    res->where);
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return fail(res, AI_BAD_URL, "IMGSANDBOX_AI_URL is not a usable http:// or "
		    "https:// URL");
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (s->too_large || rc == CURLE_FILESIZE_EXCEEDED)
			return fail(res, AI_BAD_REPLY, "the model at %s answered with more than "
			    "%d KiB", res->where, AI_REPLY_MAX / 1024);
		return fail(res, AI_NO_MEMORY, "out of memory reading the model's answer");
	case CURLE_OUT_OF_MEMORY:
		return fail(res, AI_NO_MEMORY, "out of memory");
	default:
		return fail(res, AI_UNREACHABLE, "the model at %s could not be asked: %s",
		    res->where, lib.easy_strerror(rc));
	}
}

/* Says what an answer other than 2xx means, in res. Returns -1. */
static int
status_failure(struct ai_result *res, const struct sink *s)
{
	char why[200];

	http_error_reason(s->buf, s->n, why, sizeof(why));
	if (res->http_status >= 300 && res->http_status < 400)
		return fail(res, AI_HTTP_ERROR, "the model at %s answered HTTP %ld, a redirect "
		    "(not followed: set IMGSANDBOX_AI_URL to the final address)", res->where,
		    res->http_status);
	return fail(res, AI_HTTP_ERROR, "the model at %s answered HTTP %ld%s%s%s", res->where,
	    res->http_status, why[0] ? " (" : "", why, why[0] ? ")" : "");
}

/* Sets the options of one call on c. Returns 0, or -1 when one was refused. */
static int
set_options(CURL *c, const char *url, const char *body, struct curl_slist *hdr,
    struct sink *s, int64_t timeout_ms)
{
	int bad = 0;

	bad |= lib.easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;	/* never the environment's */
	bad |= lib.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_WRITEDATA, s) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)AI_REPLY_MAX) != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
	bad |= lib.easy_setopt(c, CURLOPT_USERAGENT, "imgsandbox-assist") != CURLE_OK;
	return bad ? -1 : 0;
}

/* The headers of the call, the key's among them. Returns a list for
 * curl_slist_free_all, or NULL when memory ran out. */
static struct curl_slist *
call_headers(const char *key)
{
	struct curl_slist *h = NULL, *t;
	char auth[AI_KEY_MAX + 32];

	if ((t = lib.slist_append(h, "Content-Type: application/json")) == NULL)
		goto oom;
	h = t;
	if ((t = lib.slist_append(h, "Accept: application/json")) == NULL)
		goto oom;
	h = t;
	if ((t = lib.slist_append(h, "Expect:")) == NULL)	/* no 100-continue wait */
		goto oom;
	h = t;
	if (key != NULL && key[0] != '\0') {
		if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key) >= (int)sizeof(auth))
			goto oom;
		t = lib.slist_append(h, auth);
		explicit_bzero(auth, sizeof(auth));
		if (t == NULL)
			goto oom;
		h = t;
	}
	return h;
oom:
	lib.slist_free_all(h);
	return NULL;
}

/* Checks ep and makes the full URL ({url}/chat/completions, malloc'd into
 * *full). Returns 0, or -1 with res saying why. */
static int
call_url(const struct ai_endpoint *ep, struct ai_result *res, char **full)
{
	size_t n;

	*full = NULL;
	if (ep->url == NULL || ep->url[0] == '\0')
		return fail(res, AI_UNCONFIGURED, "no model is configured: set IMGSANDBOX_AI_URL "
		    "to an OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1) and "
		    "IMGSANDBOX_AI_MODEL");
	endpoint_where(ep->url, res->where, sizeof(res->where));
	if (strncasecmp(ep->url, "http://", 7) != 0 && strncasecmp(ep->url, "https://", 8) != 0)
		return fail(res, AI_BAD_URL, "IMGSANDBOX_AI_URL must start with http:// or https://");
	n = strlen(ep->url);
	while (n > 0 && ep->url[n - 1] == '/')
		n--;
	if (asprintf(full, "%.*s/chat/completions", (int)n, ep->url) < 0) {
		*full = NULL;
		return fail(res, AI_NO_MEMORY, "out of memory");
	}
	return 0;
}

int
ai_chat(const struct ai_endpoint *ep, const char *system, const char *user,
    struct ai_result *res)
{
	struct sink s = { NULL, 0, 0, 0 };
	struct curl_slist *hdr = NULL;
	char *url = NULL, *body = NULL;
	CURL *c = NULL;
	CURLcode rc;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (call_url(ep, res, &url) < 0)
		goto out;
	if (ai_init() < 0 || (c = lib.easy_init()) == NULL) {
		fail(res, AI_NO_MEMORY, "libcurl could not be initialised");
		goto out;
	}
	if ((body = ai_request_json(ep->model, system, user, ep->max_tokens)) == NULL ||
	    (hdr = call_headers(ep->key)) == NULL) {
		fail(res, AI_NO_MEMORY, "out of memory");
		goto out;
	}
	if (set_options(c, url, body, hdr, &s, ep->timeout_ms) < 0) {
		fail(res, AI_UNREACHABLE, "libcurl refused an option (is it 7.85 or later?)");
		goto out;
	}
	rc = lib.easy_perform(c);
	lib.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->http_status);
	if (rc != CURLE_OK)
		curl_failure(res, rc, &s, ep->timeout_ms);
	else if (res->http_status < 200 || res->http_status > 299)
		status_failure(res, &s);
	else if (ai_parse_reply(s.buf ? s.buf : "", s.n, res) == 0)
		ret = 0;
out:
	ai_scrub(res->message, ep->key);
	ai_scrub(res->content, ep->key);
	if (hdr != NULL)
		lib.slist_free_all(hdr);	/* the key's copy in it: see call_headers */
	if (c != NULL)
		lib.easy_cleanup(c);
	free(s.buf);
	free(body);
	free(url);
	return ret;
}

void
ai_result_free(struct ai_result *res)
{
	free(res->content);
	res->content = NULL;
	res->content_len = 0;
}
