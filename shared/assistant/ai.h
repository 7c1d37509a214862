/*
 * ai: the assistant's model client. One call to an OpenAI-compatible
 * chat-completions endpoint (llama.cpp's server, Ollama, a hosted API)
 * with libcurl's easy interface: http and https only, no redirect
 * followed, no proxy, a deadline on the connection and on the whole, the
 * answer bounded; and what comes back, taken apart: the reply's text, the
 * model that wrote it, and the Python script in it.
 *
 * The key is the caller's (read once with ai_key_load); it goes into the
 * Authorization header of the one request and nowhere else, and every
 * message this module writes has it scrubbed out.
 *
 * Knows nothing of HTTP answers, the log or the prompt's contents.
 */
#ifndef AI_H
#define AI_H

#include <stddef.h>
#include <stdint.h>

#define AI_REPLY_MAX	(1024 * 1024)	/* bytes of the endpoint's answer */
#define AI_KEY_MAX	1024		/* bytes of a key */
#define AI_MODEL_MAX	128		/* bytes of a model's name, NUL included */
#define AI_NOTES_MAX	2048		/* bytes of the notes kept */
#define AI_WORDS_MAX	160		/* bytes of a reply's first words, shown */

/* Where to ask and how. */
struct ai_endpoint {
	const char *url;		/* base URL, e.g. http://127.0.0.1:8080/v1 ("": none) */
	const char *model;		/* sent as "model" when not "" */
	const char *key;		/* "Authorization: Bearer key" when not NULL or "" */
	int64_t timeout_ms;		/* the connection, and the whole call */
	int64_t max_tokens;
};

enum ai_status {
	AI_OK = 0,
	AI_UNCONFIGURED,	/* no URL */
	AI_BAD_URL,		/* not an http:// or https:// URL */
	AI_UNREACHABLE,		/* refused, unresolved, closed, TLS failed */
	AI_TIMEOUT,		/* no whole answer within timeout_ms */
	AI_HTTP_ERROR,		/* it answered with an HTTP status other than 2xx */
	AI_BAD_REPLY,		/* 2xx, but not a chat completion, empty, or too large */
	AI_NO_MEMORY
};

/* What a call gave. content and message never hold the key. */
struct ai_result {
	enum ai_status status;
	long http_status;		/* 0: no answer */
	char where[160];		/* the endpoint as "host:port", for messages */
	char message[400];		/* why, when status is not AI_OK */
	char *content;			/* AI_OK: the reply's text (malloc'd, NUL-terminated) */
	size_t content_len;
	char model[AI_MODEL_MAX];	/* the model the endpoint named ("": none) */
	int cut;			/* finish_reason was "length" */
};

/* Initialises libcurl for the process. Call once, before ai_chat (ai_chat
 * calls it too, at its first use). Returns 0 or -1. */
int ai_init(void);

/* Reads the first line of path as a key (surrounding white space
 * dropped; 1 to AI_KEY_MAX - 1 printable ASCII bytes without spaces) into
 * key. Returns 0, or -1 with a message in err that never holds the key. */
int ai_key_load(const char *path, char *key, size_t keylen, char *err, size_t errlen);

/* Returns a malloc'd NUL-terminated chat-completions request body (JSON)
 * the caller frees: model (left out when "" or NULL), a system and a user
 * message, max_tokens, stream false. NULL when memory ran out. */
char *ai_request_json(const char *model, const char *system, const char *user,
    int64_t max_tokens);

/* Reads a chat-completions answer body[0..len) into res: the first
 * choice's message content (a string, or an array of text parts), the
 * model, whether it was cut at max_tokens. Returns 0, or -1 with
 * res->status AI_BAD_REPLY (or AI_NO_MEMORY) and res->message. */
int ai_parse_reply(const char *body, size_t len, struct ai_result *res);

/* Asks ep with the two messages. Returns 0 with res filled (free it with
 * ai_result_free), or -1 with res->status and res->message saying why.
 * Never blocks past ep->timeout_ms (plus the time to clean up). */
int ai_chat(const struct ai_endpoint *ep, const char *system, const char *user,
    struct ai_result *res);

/* Frees what res holds (not res). */
void ai_result_free(struct ai_result *res);

/* The script taken out of a reply. */
struct ai_code {
	char *code;		/* malloc'd, valid UTF-8, ends with a newline */
	size_t code_len;
	char *notes;		/* malloc'd, valid UTF-8, the text around it, trimmed,
				 * at most AI_NOTES_MAX bytes ("" when none) */
	size_t notes_len;
	int unclosed;		/* its block had no closing fence (cut short?) */
};

/* Takes the Python script out of text[0..len): <think> sections dropped,
 * then the longest ```python block (also py, python3), else the longest
 * unlabelled block that looks like Python, else, when there is no block at
 * all, the whole text if it looks like Python. Returns 1 with out filled
 * (free with ai_code_free), 0 when the reply holds no script, -1 when
 * memory ran out. */
int ai_extract_code(const char *text, size_t len, struct ai_code *out);

/* Frees what c holds (not c). */
void ai_code_free(struct ai_code *c);

/* Returns 1 when text[0..len) reads as a Python script rather than prose:
 * at least one import, and no top-level line that is a sentence. */
int ai_looks_like_python(const char *text, size_t len);

/* Copies the first words of text[0..len) into out (outlen > 0): white
 * space runs made one space, control characters dropped, cut on a word or
 * character boundary with "..." when longer. Returns out. */
char *ai_first_words(const char *text, size_t len, char *out, size_t outlen);

/* Replaces each occurrence of key (when not NULL or "") in the string s by
 * as many '*', in place. */
void ai_scrub(char *s, const char *key);

#endif
