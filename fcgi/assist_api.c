/*
 * assist_api: POST /api/assist, a script written or fixed by a language
 * model (any OpenAI-compatible chat-completions endpoint) with what the
 * log has learnt in its prompt.
 *
 *   {"prompt": "...", "code": "...", "log_id": 12, "session_id": "..."}
 *   200 {"code": "...", "model": "...", "notes": "...", "lessons": true}
 *
 * "lessons" is true when the prompt held the log's lessons: the setting
 * IMGSANDBOX_AI_LESSONS is 1, the log could be read and had some.
 *
 * The request is read whole (bounded, against a deadline), checked field by
 * field, and the failed attempt of a fix is read from the log (it must be
 * of the session named). The prompt is shared/prompt's; the call and the
 * script taken out of the reply are shared/ai's. The key is read once per
 * process and goes nowhere but into the call's Authorization header.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "assistant/ai.h"
#include "reports/ai_context.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/files.h"
#include "base/json_out.h"
#include "base/log.h"
#include "base/secret.h"
#include "base/sha256.h"
#include "assistant/prompt.h"
#include "base/text.h"
#include "http.h"
#include "logs_api.h"
#include "handlers.h"
#include "service.h"

#define BODY_SLACK (64 * 1024)	/* JSON's quotes and escapes around the fields */

/* A refusal: the API's status, code, extra header lines and a sentence. */
struct refusal {
	int status;
	const char *code;
	const char *extra;
	char msg[512];
};

/* A request, checked. The strings belong to doc. */
struct assist_req {
	cJSON *doc;
	const char *prompt;	/* "" when absent */
	const char *code;	/* NULL when absent */
	size_t code_len;
	int64_t log_id;		/* 0: no fix */
	const char *session_id;	/* NULL when absent */
	char session[SESSION_ID_MAX + 1];	/* the answer's: session_id when ours, else new */
};

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static char ai_key[AI_KEY_MAX];
static int key_failed;

static int
refuse(struct refusal *no, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills no. Returns -1. */
static int
refuse(struct refusal *no, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	no->status = status;
	no->code = code;
	no->extra = NULL;
	va_start(ap, fmt);
	vsnprintf(no->msg, sizeof(no->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void
load_key(void)
{
	char err[512];

	if (cfg.ai_key_file[0] == '\0')
		return;
	if (ai_key_load(cfg.ai_key_file, ai_key, sizeof(ai_key), err, sizeof(err)) < 0) {
		key_failed = 1;
		log_warnx("assist: IMGSANDBOX_AI_KEY_FILE: %s; the assistant answers 503", err);
	}
}

void
assist_init(void)
{
	pthread_once(&key_once, load_key);
}

/* Reads the whole body (CONTENT_LENGTH bytes, at most max) within
 * cfg.body_timeout_ms into a malloc'd *out (NUL-terminated, length *len).
 * Returns 0, or -1 with the refusal in no. */
static int
read_body(FCGX_Request *r, size_t max, char **out, size_t *len, struct refusal *no)
{
	const char *clen = FCGX_GetParam("CONTENT_LENGTH", r->envp);
	int64_t deadline = clock_mono_ms() + cfg.body_timeout_ms;
	char sz1[32], sz2[32], *buf;
	long long want;
	size_t n = 0;
	int got;

	*out = NULL;
	if (clen == NULL || parse_int_range(clen, 0, LLONG_MAX, &want) < 0)
		return refuse(no, 400, "bad_request", "the request has no valid Content-Length");
	if ((unsigned long long)want > max)
		return refuse(no, 413, "too_large", "the request is %s; the limit is %s",
		    size_words(sz1, sizeof(sz1), want), size_words(sz2, sizeof(sz2), (int64_t)max));
	if ((buf = malloc((size_t)want + 1)) == NULL)
		return refuse(no, 500, "internal", "the server is out of memory");
	while (n < (size_t)want && (got = http_read_body(r, buf + n, (size_t)want - n,
	    deadline)) > 0)
		n += (size_t)got;
	if (n < (size_t)want) {
		free(buf);
		if (clock_mono_ms() >= deadline)
			return refuse(no, 408, "timeout", "the request's body did not arrive within "
			    "%.0f s; send it at once", cfg.body_timeout_ms / 1000.0);
		return refuse(no, 400, "bad_request", "the request's body ended early");
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Checks the string field name of doc: absent or null (*s NULL), else a
 * string of valid UTF-8 of at most max bytes. Returns 0, or -1 with no. */
static int
text_field(const cJSON *doc, const char *name, int64_t max, const char **s, size_t *len,
    struct refusal *no)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, name);
	char sz[32];

	*s = NULL;
	*len = 0;
	if (f == NULL || cJSON_IsNull(f))
		return 0;
	if (!cJSON_IsString(f))
		return refuse(no, 400, "bad_request", "%s must be a string", name);
	*len = strlen(f->valuestring);
	if ((int64_t)*len > max)
		return refuse(no, 413, "too_large", "%s is %zu bytes; the limit is %lld bytes (%s)",
		    name, *len, (long long)max, size_words(sz, sizeof(sz), max));
	if (!utf8_valid(f->valuestring, *len))
		return refuse(no, 400, "bad_request", "%s must be valid UTF-8", name);
	*s = f->valuestring;
	return 0;
}

/* Parses and checks body[0..len) into q. Returns 0, or -1 with no. */
static int
parse_request(const char *body, size_t len, struct assist_req *q, struct refusal *no)
{
	const cJSON *id;
	size_t n;

	memset(q, 0, sizeof(*q));
	if ((q->doc = cJSON_ParseWithLength(body, len)) == NULL)
		return refuse(no, 400, "bad_request", "the body is not JSON: send "
		    "{\"prompt\": \"...\"} with Content-Type: application/json");
	if (!cJSON_IsObject(q->doc))
		return refuse(no, 400, "bad_request", "the body must be a JSON object");
	if (text_field(q->doc, "prompt", cfg.prompt_bytes, &q->prompt, &n, no) < 0 ||
	    text_field(q->doc, "code", cfg.code_bytes, &q->code, &q->code_len, no) < 0 ||
	    text_field(q->doc, "session_id", 256, &q->session_id, &n, no) < 0)
		return -1;
	if (q->session_id != NULL && !session_id_valid(q->session_id, strlen(q->session_id)))
		return refuse(no, 400, "bad_request", "session_id must be 1 to 64 characters of "
		    "A-Z, a-z, 0-9, '_' and '-'");
	id = cJSON_GetObjectItemCaseSensitive(q->doc, "log_id");
	if (id != NULL && !cJSON_IsNull(id)) {
		if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9007199254740991.0 ||
		    id->valuedouble != (double)(int64_t)id->valuedouble)
			return refuse(no, 400, "bad_request", "log_id must be a whole number from 1");
		q->log_id = (int64_t)id->valuedouble;
		if (q->session_id == NULL)
			return refuse(no, 400, "bad_request", "a fix by log_id needs the session_id "
			    "of that attempt");
	}
	/* The session of the answer (and of the run it leads to): the one sent
	 * when this service issued it, else a new one. */
	if (q->session_id != NULL && session_id_ours(q->session_id, strlen(q->session_id)))
		snprintf(q->session, sizeof(q->session), "%s", q->session_id);
	else if (session_id_new(q->session) < 0)
		return refuse(no, 500, "internal", "the server could not make a session id");
	if (q->prompt == NULL)
		q->prompt = "";
	if (q->log_id == 0 && q->prompt[strspn(q->prompt, " \t\r\n")] == '\0')
		return refuse(no, 400, "bad_request", "prompt is empty: say what the script "
		    "should do");
	return 0;
}

/* Reads the attempt q->log_id of q->session_id into run. Returns 0, or
 * -1 with no. */
static int
load_attempt(const struct assist_req *q, struct logdb_run *run, struct refusal *no)
{
	if (svc.db == NULL) {
		memset(run, 0, sizeof(*run));
		return refuse(no, 503, "log_unavailable", "the execution log cannot be read, so "
		    "attempt %lld cannot be fetched; send the failed script as \"code\" (and its "
		    "error in \"prompt\") instead of log_id", (long long)q->log_id);
	}
	switch (logdb_get_run(svc.db, q->log_id, run)) {
	case 1:
		break;
	case 0:
		return refuse(no, 404, "not_found", "no attempt of this session has log_id %lld",
		    (long long)q->log_id);
	default:
		return refuse(no, 500, "internal", "the log could not be read");
	}
	if (run->rec.session_id == NULL || strcmp(run->rec.session_id, q->session_id) != 0) {
		logdb_run_free(run);
		return refuse(no, 404, "not_found", "no attempt of this session has log_id %lld",
		    (long long)q->log_id);
	}
	if (run->rec.code == NULL) {
		logdb_run_free(run);
		return refuse(no, 400, "bad_request", "attempt %lld has no script (it was refused "
		    "before it ran)", (long long)q->log_id);
	}
	return 0;
}

/* The context of the system message: the log's AI context when
 * cfg.ai_lessons is 1 and the log is open and can be read, else the
 * sandbox's facts alone. *lessons says whether it holds lessons (the AI context of a log
 * with none is the facts alone). Returns a malloc'd text, or NULL. */
static char *
build_context(size_t *len, int *lessons)
{
	struct report_env env = { cfg.packages_file,
	    { cfg.timeout_ms, cfg.memory_bytes, cfg.output_bytes }, logs_api_allowlist() };
	enum report_status st;
	char *facts, *text;
	size_t flen;

	*lessons = 0;
	if ((facts = prompt_facts(&env, &flen)) == NULL)
		return NULL;
	if (!cfg.ai_lessons || svc.db == NULL) {	/* no log: no lessons, still a prompt */
		*len = flen;
		return facts;
	}
	if ((text = ai_context(svc.db, &env, len, &st)) == NULL) {
		log_warnx("assist: the log's AI context could not be made; the prompt has the "
		    "sandbox's facts alone");
		*len = flen;
		return facts;
	}
	*lessons = *len > flen;
	free(facts);
	return text;
}

/* Builds the two messages of q into *sys and *user (malloc'd). Returns 0,
 * or -1 with no. */
static int
build_prompt(const struct assist_req *q, int *lessons, char **sys, char **user,
    struct refusal *no)
{
	struct prompt_attempt fa, *failed = NULL;
	struct logdb_run run;
	size_t clen;
	char *ctx;

	*sys = *user = NULL;
	if (q->log_id > 0) {
		if (load_attempt(q, &run, no) < 0)
			return -1;
		fa = (struct prompt_attempt){ q->log_id, run.rec.status, run.rec.code,
		    run.rec.code_len, run.rec.error_type, run.rec.error_message,
		    run.rec.error_line, run.rec.traceback, run.rec.stderr_text };
		failed = &fa;
	}
	if ((ctx = build_context(&clen, lessons)) != NULL) {
		*sys = prompt_system(ctx, clen);
		*user = prompt_user(q->prompt, q->code, q->code_len, failed);
	}
	free(ctx);
	if (failed != NULL)
		logdb_run_free(&run);
	if (*sys == NULL || *user == NULL) {
		free(*sys);
		free(*user);
		*sys = *user = NULL;
		return refuse(no, 500, "internal", "the server is out of memory");
	}
	return 0;
}

/* The refusal for a call that failed. */
static void
call_refusal(const struct ai_result *res, struct refusal *no)
{
	switch (res->status) {
	case AI_HTTP_ERROR:
		if (res->http_status == 429 || res->http_status >= 500)
			refuse(no, 503, "ai_unavailable", "%s", res->message);
		else if (res->http_status == 401 || res->http_status == 403)
			refuse(no, 502, "ai_error", "%s: check IMGSANDBOX_AI_KEY_FILE", res->message);
		else
			refuse(no, 502, "ai_error", "%s", res->message);
		break;
	case AI_BAD_REPLY:
		refuse(no, 502, "ai_bad_reply", "the model at %s: %s", res->where, res->message);
		break;
	case AI_NO_MEMORY:
		refuse(no, 500, "internal", "%s", res->message);
		break;
	default:	/* unconfigured, bad URL, unreachable, timeout */
		refuse(no, 503, "ai_unavailable", "%s", res->message);
	}
}

/* The model's name for the answer: the endpoint's, else the configured one,
 * cut to what POST /run takes as ai_model. */
static void
answer_model(const struct ai_result *res, char *out, size_t outlen)
{
	const char *m = res->model[0] ? res->model : cfg.ai_model;
	size_t max = (size_t)cfg.model_bytes + 1 < outlen ? (size_t)cfg.model_bytes + 1 : outlen;

	text_clean_copy(out, max, m, strlen(m), '?');
}

/* Adds the script (its CRLFs made LF, as POST /run keeps a script), the
 * session and the token that lets POST /run keep model and lessons for
 * this script in this session (base/secret.h) to root. Returns 0, or -1
 * when memory ran out. */
static int
add_script(cJSON *root, const struct ai_code *c, const char *model, int lessons,
    const char *session)
{
	char sha[SHA256_HEX_MAX], token[AI_TOKEN_LEN + 1], *lf;
	size_t i, n = 0;
	int rc = -1;

	if ((lf = malloc(c->code_len + 1)) == NULL)
		return -1;
	for (i = 0; i < c->code_len; i++)
		if (!(c->code[i] == '\r' && i + 1 < c->code_len && c->code[i + 1] == '\n'))
			lf[n++] = c->code[i];
	lf[n] = '\0';
	sha256_hex(lf, n, sha);
	if (json_add_text(root, "code", lf, n) != NULL &&
	    cJSON_AddStringToObject(root, "session_id", session) != NULL &&
	    ai_token_make(session, model, lessons, sha, token) == 0 &&
	    cJSON_AddStringToObject(root, "ai_token", token) != NULL)
		rc = 0;
	free(lf);
	return rc;
}

/* The 200 answer of a reply, or a refusal when it holds no script. */
static int
answer(FCGX_Request *r, const struct ai_result *res, int lessons, const char *session,
    struct refusal *no)
{
	char model[AI_MODEL_MAX], words[AI_WORDS_MAX], sz1[32], sz2[32], *notes = NULL;
	struct ai_code c;
	cJSON *root;
	int rc = -1, found;

	if ((found = ai_extract_code(res->content, res->content_len, &c)) <= 0) {
		if (found < 0)
			return refuse(no, 500, "internal", "the server is out of memory");
		ai_first_words(res->content, res->content_len, words, sizeof(words));
		return refuse(no, 502, "ai_bad_reply", "the model's answer holds no Python "
		    "script; it began: \"%s\"", words);
	}
	if ((int64_t)c.code_len > cfg.code_bytes) {
		refuse(no, 502, "ai_bad_reply", "the model's script is %s, over the limit of a "
		    "script (%s)", size_words(sz1, sizeof(sz1), (int64_t)c.code_len),
		    size_words(sz2, sizeof(sz2), cfg.code_bytes));
		ai_code_free(&c);
		return -1;
	}
	if ((res->cut || c.unclosed) && asprintf(&notes, "The model's answer was cut short "
	    "(IMGSANDBOX_AI_MAX_TOKENS=%lld): the script may be incomplete.%s%s",
	    (long long)cfg.ai_max_tokens, c.notes_len ? "\n\n" : "", c.notes) < 0)
		notes = NULL;
	answer_model(res, model, sizeof(model));
	if ((root = cJSON_CreateObject()) != NULL &&
	    add_script(root, &c, model, lessons, session) == 0 &&
	    cJSON_AddStringToObject(root, "model", model) != NULL &&
	    json_add_text(root, "notes", notes ? notes : c.notes,
	    notes ? strlen(notes) : c.notes_len) != NULL &&
	    cJSON_AddBoolToObject(root, "lessons", lessons) != NULL)
		rc = 0;
	if (rc == 0)
		http_json(r, 200, root, NULL);
	else
		refuse(no, 500, "internal", "the server is out of memory");
	cJSON_Delete(root);
	free(notes);
	ai_code_free(&c);
	return rc;
}

/* Asks the model for q and answers. Returns 0 (answered), or -1 with no. */
static int
assist(FCGX_Request *r, const struct assist_req *q, struct refusal *no)
{
	struct ai_endpoint ep = { cfg.ai_url, cfg.ai_model, ai_key, cfg.ai_timeout_ms,
	    cfg.ai_max_tokens };
	struct ai_result res;
	char *sys = NULL, *user = NULL;
	int64_t t0 = clock_mono_ms();
	int lessons, rc = -1;

	log_reopen_if_due();
	if (build_prompt(q, &lessons, &sys, &user, no) < 0)
		return -1;
	if (ai_chat(&ep, sys, user, &res) < 0) {
		call_refusal(&res, no);
		log_warnx("assist: %s", res.message);
	} else if ((rc = answer(r, &res, lessons, q->session, no)) == 0)
		log_info("assist: %s answered in %lld ms (%s%s)", res.where,
		    (long long)(clock_mono_ms() - t0), q->log_id ? "a fix" : "a script",
		    lessons ? ", with the log's lessons" : "");
	else
		log_warnx("assist: %s", no->msg);
	ai_result_free(&res);
	free(sys);
	free(user);
	return rc;
}

/* One of the host's IMGSANDBOX_AI_INFLIGHT places for an assist (flock'd
 * files under DATA/assists): a call holds a run-pool responder for up to
 * the model's time limit, so without a cap for the whole host two clients
 * (each within its own share) filled the run pool with assists. Returns
 * its descriptor (closed when the assist is answered), or -1 with no. */
static int
assist_place(struct refusal *no)
{
	char dir[600];
	int fd;

	if (snprintf(dir, sizeof(dir), "%s/assists", cfg.data_dir) >= (int)sizeof(dir) ||
	    (make_dirs(dir, 0700) < 0 && errno != EEXIST))
		return refuse(no, 503, "ai_unavailable", "the server cannot keep count of the "
		    "assistant's calls (%s)", strerror(errno));
	if ((fd = lock_one_of(dir, (int)cfg.ai_inflight, 0)) >= 0)
		return fd;
	if (errno != EWOULDBLOCK)
		return refuse(no, 503, "ai_unavailable", "the server cannot keep count of the "
		    "assistant's calls (%s)", strerror(errno));
	refuse(no, 429, "busy", "the assistant is answering %lld requests already, the most "
	    "this server asks the model at once; try again in a few seconds",
	    (long long)cfg.ai_inflight);
	no->extra = "Retry-After: 5\r\n";
	return -1;
}

int
assist_handle(FCGX_Request *r, const char *method)
{
	const char *ctype = FCGX_GetParam("CONTENT_TYPE", r->envp);
	struct assist_req q = { NULL, "", NULL, 0, 0, NULL, "" };
	struct refusal no = { 0, NULL, NULL, "" };
	size_t len = 0, max = (size_t)(2 * (cfg.prompt_bytes + cfg.code_bytes) + BODY_SLACK);
	char *body = NULL;
	int rc, place = -1;

	assist_init();
	if (method == NULL || strcmp(method, "POST") != 0)
		return http_error_with(r, 405, "method_not_allowed", "Allow: POST\r\n",
		    "/api/assist takes POST with a JSON body");
	if (cfg.ai_url[0] == '\0')
		refuse(&no, 503, "ai_unavailable", "no model is configured: set IMGSANDBOX_AI_URL "
		    "to an OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1 for "
		    "llama.cpp's server) and IMGSANDBOX_AI_MODEL");
	else if (key_failed)
		refuse(&no, 503, "ai_unavailable", "the model's API key could not be read "
		    "(IMGSANDBOX_AI_KEY_FILE); the service's log says why");
	else if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0 ||
	    (ctype[16] != '\0' && ctype[16] != ';' && ctype[16] != ' '))
		refuse(&no, 400, "bad_request", "send the body as Content-Type: application/json");
	else if (read_body(r, max, &body, &len, &no) == 0 &&
	    parse_request(body, len, &q, &no) == 0 && (place = assist_place(&no)) >= 0 &&
	    assist(r, &q, &no) == 0) {
		rc = 0;
		goto out;
	}
	rc = http_error_with(r, no.status, no.code, no.extra, "%s", no.msg);
out:
	if (place >= 0)
		close(place);
	cJSON_Delete(q.doc);
	free(body);
	return rc;
}
