/*
 * secret: what the service signs with a key of the host's (HMAC-SHA256):
 *
 *  - session ids: the server issues them (128 random bits and their tag),
 *    and takes back only one it issued, so a session is never a name a
 *    client chose (one another client could guess, or share), and its id
 *    stays the 128-bit key that reads it (GET /api/logs/session/<id>);
 *  - the assistant's tokens: POST /api/assist answers a script with a token
 *    that binds the session, the model's name, whether the prompt had the
 *    log's lessons, and the script's SHA-256; POST /run keeps ai_model and
 *    ai_lessons only with a token for that very code in that session, so
 *    the per-model figures count what a model of this service wrote.
 *
 * The key is IMGSANDBOX_SECRET_FILE's bytes (16 to 256), made (32 random
 * bytes, 0600) when the file does not exist. Hosts that share a log (and a
 * front) must share the file: a session begun on one goes on on another.
 */
#ifndef SECRET_H
#define SECRET_H

#include <stddef.h>

#include "base/text.h"	/* SESSION_ID_MAX */

#define AI_TOKEN_LEN 32	/* hex characters */

/* Loads the key from path, making the file when it does not exist (several
 * processes may race: one file wins). Returns 0, or -1 with a sentence in
 * err. */
int secret_load(const char *path, char *err, size_t errlen);

/* Writes a new session id (64 characters of the session-id rule) and a
 * NUL into out. Returns 0, or -1 when there is no key or no randomness. */
int session_id_new(char out[SESSION_ID_MAX + 1]);

/* Returns 1 when id[0..len) is a session id this key issued, else 0. */
int session_id_ours(const char *id, size_t len);

/* The token for code_sha256 (64 hex) written by model, with lessons (1, 0)
 * in its prompt, for session: AI_TOKEN_LEN hex characters and a NUL in
 * out. Returns 0, or -1 when there is no key. */
int ai_token_make(const char *session, const char *model, int lessons,
    const char *code_sha256, char out[AI_TOKEN_LEN + 1]);

/* Returns 1 when token is ai_token_make's for these, else 0 (compared in
 * constant time). */
int ai_token_ok(const char *token, const char *session, const char *model, int lessons,
    const char *code_sha256);

#endif
