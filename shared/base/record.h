/*
 * record: the log's one record type. struct run_record is one attempt as
 * the responder saw it; the sizes below bound the facts worked out about
 * it (its category, error type, normalised pattern, and a fix's changes).
 * The text facts read it, the store keeps it, the reports show it; this
 * header includes nothing of theirs.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RECORD_CATEGORY_MAX	16	/* "data_access" and its NUL */
#define RECORD_TYPE_MAX		64	/* an exception's type name */
#define RECORD_PATTERN_MAX	192	/* a normalised message, bytes with NUL */
#define RECORD_CHANGE_MAX	136	/* "+from x import y", "-.ANTIALIAS" */

/* One attempt, as the responder saw it. Every pointer may be NULL (stored as
 * NULL); text is stored as given when it is valid UTF-8, else made valid
 * (each bad byte U+FFFD) by the store. */
struct run_record {
	/* The request */
	const char *job_id;		/* 32 hex chars, NULL when refused before one was made */
	const char *session_id;		/* always set (issued when the client sent none) */
	int64_t previous_attempt_id;	/* 0: none */
	const char *code;
	size_t code_len;
	const char *params;
	const char *image_type;		/* "image/png", "image/jpeg", NULL */
	int64_t image_bytes;
	int image_width, image_height;
	int use_sample;
	const char *user_prompt;
	const char *ai_model;
	int ai_lessons;			/* the prompt that wrote the code had the log's lessons:
					 * 1 yes, 0 no, -1 not known (stored as -1 without ai_model) */
	/* The outcome */
	const char *status;		/* success error timeout oom no_output bad_output output_limit cancelled rejected */
	int http_status;
	int exit_code;			/* -1: none */
	int64_t duration_ms;
	const char *stdout_text;	/* the kept part of each stream */
	const char *stderr_text;
	int truncated;
	const char *error_type;		/* from the traceback, or the sandbox's outcome */
	const char *error_message;
	int error_line;			/* 0: unknown */
	const char *traceback;
	const char *reject_code;	/* for status "rejected": the API's error code */
	const char *reject_message;
	const char *timings_json;	/* {"parse_ms":..,...} or NULL */
};

/* Sets r to an empty record: every pointer NULL, no exit code, ai_lessons
 * not known. */
static inline void
record_init(struct run_record *r)
{
	*r = (struct run_record){ .exit_code = -1, .ai_lessons = -1 };
}

#endif
