/*
 * run_form.c: the form of POST /run, read as a stream against a deadline
 * and bounded as it is read, then every field checked. Each field is
 * declared once in the table below (its name and limit); every refusal is
 * a value (struct refusal) that run.c answers and logs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/files.h"
#include "base/log.h"
#include "base/secret.h"
#include "base/sha256.h"
#include "facts/params.h"
#include "base/text.h"
#include "http.h"
#include "run.h"
#include "service.h"

void
run_refusal(struct refusal *no, int status, const char *code, const char *extra,
    const char *fmt, ...)
{
	va_list ap;

	no->status = status;
	no->code = code;
	no->extra = extra;
	va_start(ap, fmt);
	vsnprintf(no->msg, sizeof(no->msg), fmt, ap);	/* a cut sentence is still one */
	va_end(ap);
}

/* The fields: name, limit (0: the setting's, filled at run time), file. */
static void
declare_fields(struct run_ctx *c)
{
	static const struct { const char *name; int64_t *setting; size_t max; } table[F_COUNT] = {
		[F_CODE] = { "code", &cfg.code_bytes, 0 },
		[F_IMAGE] = { "image", &cfg.image_bytes, 0 },
		[F_USE_SAMPLE] = { "use_sample", NULL, 8 },
		[F_PARAMS] = { "params", &cfg.params_bytes, 0 },
		/* Read past its 64 characters so that a long one gets the
		 * 400 of a bad session_id, not a 413. */
		[F_SESSION] = { "session_id", NULL, 256 },
		[F_PREVIOUS] = { "previous_attempt_id", NULL, 20 },
		[F_PROMPT] = { "user_prompt", &cfg.prompt_bytes, 0 },
		[F_MODEL] = { "ai_model", &cfg.model_bytes, 0 },
		/* 1 or 0: whether the assistant's prompt held the log's lessons
		 * (POST /api/assist says so), for the per-model figures. */
		[F_LESSONS] = { "ai_lessons", NULL, 8 },
		/* What POST /api/assist answered with the code: ai_model and
		 * ai_lessons are kept only with it (check_ai_claim). */
		[F_TOKEN] = { "ai_token", NULL, 64 },
	};
	int i;

	for (i = 0; i < F_COUNT; i++)
		c->f[i] = (struct mp_field){ .name = table[i].name, .fd = -1,
		    .max_len = table[i].setting ? (size_t)*table[i].setting : table[i].max };
}

struct body_reader {
	FCGX_Request *r;
	long long left;
	int64_t deadline;
};

/* mp_read_fn over the FastCGI stdin, never past CONTENT_LENGTH nor the
 * body's deadline. */
static ssize_t
body_read(void *ctx, void *buf, size_t len)
{
	struct body_reader *b = ctx;
	int n;

	if (b->left <= 0)
		return 0;
	if ((long long)len > b->left)
		len = (size_t)b->left;
	if ((n = http_read_body(b->r, buf, len, b->deadline)) < 0)
		return -1;
	b->left -= n;
	return n;
}

/* The request line and headers: method, type, length. */
static int
check_head(struct run_ctx *c, const char **ctype, long long *length, struct refusal *no)
{
	const char *method = FCGX_GetParam("REQUEST_METHOD", c->r->envp);
	const char *clen = FCGX_GetParam("CONTENT_LENGTH", c->r->envp);
	char why[256], sz1[32], sz2[32];

	*ctype = FCGX_GetParam("CONTENT_TYPE", c->r->envp);
	if (method == NULL || strcmp(method, "POST") != 0) {
		run_refusal(no, 405, "method_not_allowed", "Allow: POST\r\n",
		    "/run takes POST with a multipart/form-data body");
		return -1;
	}
	if (*ctype == NULL || multipart_boundary(*ctype, why, sizeof(why)) < 0) {
		run_refusal(no, 400, "bad_request", NULL, "the body must be multipart/form-data "
		    "with a boundary (send the form with FormData or curl -F)");
		return -1;
	}
	if (clen == NULL || parse_int_range(clen, 0, LLONG_MAX, length) < 0) {
		run_refusal(no, 400, "bad_request", NULL, "the request has no valid Content-Length");
		return -1;
	}
	if (*length > cfg.body_bytes) {
		/* Refused before a byte of the body is read. */
		run_refusal(no, 413, "too_large", NULL, "the request is %s; the limit is %s",
		    size_words(sz1, sizeof(sz1), *length), size_words(sz2, sizeof(sz2), cfg.body_bytes));
		return -1;
	}
	return 0;
}

/* A refusal for what the multipart parser said. */
static void
parse_refusal(const struct mp_error *e, struct refusal *no)
{
	if (e->status == MP_TOO_LARGE)
		run_refusal(no, 413, "too_large", NULL, "%s", e->message);
	else if (e->status == MP_IO_ERROR && errno == ETIMEDOUT)
		run_refusal(no, 408, "timeout", NULL, "the request's body did not arrive within "
		    "%.0f s; send it at once", cfg.body_timeout_ms / 1000.0);
	else if (e->status == MP_IO_ERROR)
		run_refusal(no, 400, "bad_request", NULL,
		    "the request's body could not be read: %s", e->message);
	else if (e->status == MP_NO_MEMORY)
		run_refusal(no, 503, "sandbox_unavailable", NULL, "the server is out of memory");
	else
		run_refusal(no, 400, "bad_request", NULL, "%s", e->message);
}

int
run_form_read(struct run_ctx *c, struct refusal *no)
{
	struct mp_limits lim = { .max_parts = 16, .max_header_bytes = 8192 };
	struct mp_error perr;
	struct body_reader br;
	const char *ctype;
	long long length;

	declare_fields(c);
	if (check_head(c, &ctype, &length, no) < 0)
		return -1;
	/* The job folder first: the image streams straight into it. */
	if (job_create(svc.jobs_dir, &c->job) < 0) {
		log_warn("job_create in %s", svc.jobs_dir);
		run_refusal(no, 503, "sandbox_unavailable", NULL,
		    "the server cannot create job folders; its disk may be full");
		return -1;
	}
	c->have_job = 1;
	c->t[T_JOB] = clock_mono_ms();
	c->image_fd = open(c->job.image_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (c->image_fd < 0) {
		log_warn("open %s", c->job.image_path);
		run_refusal(no, 503, "sandbox_unavailable", NULL, "the server cannot write job files");
		return -1;
	}
	c->f[F_IMAGE].fd = c->image_fd;
	br = (struct body_reader){ c->r, length, clock_mono_ms() + cfg.body_timeout_ms };
	if (multipart_parse(ctype, body_read, &br, c->f, F_COUNT, &lim, &perr) != MP_OK) {
		parse_refusal(&perr, no);
		return -1;
	}
	c->t[T_PARSED] = clock_mono_ms();
	return 0;
}

/* Turns CRLF into LF in f's value, in place: a browser's form sends a
 * textarea's lines with CRLF, and the script, its hash and the log should
 * not depend on which client sent it. */
static void
lf_only(struct mp_field *f)
{
	size_t i, o = 0;

	for (i = 0; i < f->len; i++)
		if (!(f->value[i] == '\r' && i + 1 < f->len && f->value[i + 1] == '\n'))
			f->value[o++] = f->value[i];
	f->len = o;
	f->value[o] = '\0';
}

/* Adds a sentence to c's answer's notes. */
static void
add_note(struct run_ctx *c, const char *text)
{
	if (c->nnotes < (int)(sizeof(c->notes) / sizeof(c->notes[0])))
		c->notes[c->nnotes++] = text;
}

/* ai_model and ai_lessons feed the per-model figures: a model is kept only
 * with the token POST /api/assist answered for this very code (after its
 * CRLFs), model, lessons and session (base/secret.h), so that the figures
 * count what a model of this service wrote; ai_lessons, when sent, must be
 * the token's (not sent: the run counts as "not said"). Else the run goes
 * on without them, and its answer says so. */
static void
check_ai_claim(struct run_ctx *c)
{
	const struct mp_field *m = &c->f[F_MODEL], *t = &c->f[F_TOKEN];
	const char *tok = t->seen ? t->value : NULL;
	char sha[SHA256_HEX_MAX];

	if (!(m->seen && m->len > 0))
		return;		/* lessons alone are stored as not said (record.h) */
	sha256_hex(c->f[F_CODE].value, c->f[F_CODE].len, sha);
	if (c->ai_lessons >= 0 ? ai_token_ok(tok, c->session_id, m->value, c->ai_lessons, sha) :
	    ai_token_ok(tok, c->session_id, m->value, 1, sha) ||
	    ai_token_ok(tok, c->session_id, m->value, 0, sha))
		return;
	c->ai_unproven = 1;
	c->ai_lessons = -1;
	add_note(c, "ai_model and ai_lessons were not kept: they are taken only with the "
	    "ai_token POST /api/assist answered for this very code, in this session");
}

/* The text fields: session, previous attempt, code, prompt, model, params. */
static int
check_text(struct run_ctx *c, struct refusal *no)
{
	char why[256];

	/* session_id first, so that every later refusal is in its session: one
	 * this service issued (base/secret.h); any other goes on in the new
	 * one issued for this run, as the answer says. */
	if (c->f[F_SESSION].seen) {
		if (!session_id_valid(c->f[F_SESSION].value, c->f[F_SESSION].len)) {
			run_refusal(no, 400, "bad_request", NULL, "session_id must be 1 to 64 "
			    "characters of A-Z, a-z, 0-9, '_' and '-'");
			return -1;
		}
		if (session_id_ours(c->f[F_SESSION].value, c->f[F_SESSION].len))
			memcpy(c->session_id, c->f[F_SESSION].value, c->f[F_SESSION].len + 1);
		else
			add_note(c, "the session_id sent is not one this service issued: this "
			    "run begins the session named in session_id");
	}
	if (c->f[F_PREVIOUS].seen && c->f[F_PREVIOUS].len > 0 &&
	    parse_int_range(c->f[F_PREVIOUS].value, 1, LLONG_MAX, &c->previous) < 0) {
		run_refusal(no, 400, "bad_request", NULL, "previous_attempt_id must be the log_id "
		    "of an earlier attempt (a positive number)");
		return -1;
	}
	if (!c->f[F_CODE].seen || c->f[F_CODE].len == 0) {
		run_refusal(no, 400, "bad_request", NULL, "the field 'code' is missing or empty; "
		    "send the Python source in it");
		return -1;
	}
	lf_only(&c->f[F_CODE]);
	if (!utf8_valid(c->f[F_CODE].value, c->f[F_CODE].len) ||
	    memchr(c->f[F_CODE].value, '\0', c->f[F_CODE].len) != NULL) {
		run_refusal(no, 400, "bad_request", NULL, "the field 'code' is not valid UTF-8 "
		    "text; save the script as UTF-8");
		return -1;
	}
	if ((c->f[F_PROMPT].seen && !utf8_valid(c->f[F_PROMPT].value, c->f[F_PROMPT].len)) ||
	    (c->f[F_MODEL].seen && !utf8_valid(c->f[F_MODEL].value, c->f[F_MODEL].len))) {
		run_refusal(no, 400, "bad_request", NULL, "user_prompt and ai_model must be UTF-8 text");
		return -1;
	}
	if (c->f[F_LESSONS].seen && c->f[F_LESSONS].len > 0) {
		if (strcmp(c->f[F_LESSONS].value, "0") != 0 && strcmp(c->f[F_LESSONS].value, "1") != 0) {
			run_refusal(no, 400, "bad_request", NULL, "ai_lessons must be 1 or 0 "
			    "(whether the assistant's prompt held the log's lessons)");
			return -1;
		}
		c->ai_lessons = c->f[F_LESSONS].value[0] - '0';
	}
	check_ai_claim(c);
	if (c->f[F_PARAMS].seen && params_check(c->f[F_PARAMS].value, c->f[F_PARAMS].len,
	    why, sizeof(why)) < 0) {
		run_refusal(no, 422, "bad_params", NULL, "%s", why);
		return -1;
	}
	return 0;
}

/* Copies the bundled sample image into the job's input. Returns 0 or -1. */
static int
use_sample_image(struct run_ctx *c)
{
	int in, rc;

	if ((in = open(cfg.sample_image, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("open %s", cfg.sample_image);
		return -1;
	}
	rc = file_copy_fd(in, c->image_fd, -1) < 0 ? -1 : 0;
	close(in);
	return rc;
}

/* The image: the upload checked by content, else the sample, else none. */
static int
check_image(struct run_ctx *c, struct refusal *no)
{
	const struct mp_field *u = &c->f[F_USE_SAMPLE];
	char why[256];

	c->use_sample = u->seen && u->len > 0 && strcmp(u->value, "0") != 0 &&
	    strcmp(u->value, "false") != 0;
	if (c->f[F_IMAGE].seen && c->f[F_IMAGE].len > 0) {
		c->use_sample = 0;	/* an image sent wins over the sample */
		switch (image_check_fd(c->image_fd, (uint64_t)cfg.image_pixels, &c->img, why,
		    sizeof(why))) {
		case IMG_OK:
			c->have_image = 1;
			return 0;
		case IMG_TOO_MANY_PIXELS:
			run_refusal(no, 413, "too_large", NULL, "%s", why);
			return -1;
		case IMG_IO_ERROR:
			run_refusal(no, 503, "sandbox_unavailable", NULL,
			    "the server could not read the upload back");
			return -1;
		default:
			run_refusal(no, 415, "unsupported_image", NULL, "%s", why);
			return -1;
		}
	}
	if (!c->use_sample) {
		/* No image: /input is empty; the script may not need one. */
		unlink(c->job.image_path);
		return 0;
	}
	if (use_sample_image(c) < 0) {
		run_refusal(no, 503, "sandbox_unavailable", NULL,
		    "the sample image is missing on this server (%s)", cfg.sample_image);
		return -1;
	}
	c->have_image = image_check_fd(c->image_fd, (uint64_t)cfg.image_pixels, &c->img, why,
	    sizeof(why)) == IMG_OK;
	return 0;
}

int
run_form_check(struct run_ctx *c, struct refusal *no)
{
	int rc = check_text(c, no) == 0 && check_image(c, no) == 0 ? 0 : -1;

	if (c->image_fd >= 0) {
		close(c->image_fd);
		c->image_fd = -1;
	}
	if (rc < 0)
		return -1;
	if (job_write_code(&c->job, c->f[F_CODE].value, c->f[F_CODE].len) < 0) {
		log_warn("write code of job %s", c->job.id);
		run_refusal(no, 503, "sandbox_unavailable", NULL, "the server cannot write job files");
		return -1;
	}
	c->t[T_CHECKED] = clock_mono_ms();
	return 0;
}

void
run_record_request(struct run_ctx *c)
{
	struct run_record *rec = &c->rec;

	rec->job_id = c->have_job ? c->job.id : NULL;
	rec->ai_lessons = c->ai_lessons;
	rec->session_id = c->session_id;
	rec->previous_attempt_id = c->previous;
	/* As sent, even when it is not UTF-8 (a refusal): the store keeps
	 * its hash, size and a head made valid, never the whole of it. */
	if (c->f[F_CODE].seen) {
		rec->code = c->f[F_CODE].value;
		rec->code_len = c->f[F_CODE].len;
	}
	if (c->f[F_PARAMS].seen && utf8_valid(c->f[F_PARAMS].value, c->f[F_PARAMS].len))
		rec->params = c->f[F_PARAMS].value;
	if (c->have_image) {
		rec->image_type = c->img.mime;
		rec->image_bytes = (int64_t)c->img.bytes;
		rec->image_width = (int)c->img.width;
		rec->image_height = (int)c->img.height;
	}
	rec->use_sample = c->use_sample;
	if (c->f[F_PROMPT].seen && utf8_valid(c->f[F_PROMPT].value, c->f[F_PROMPT].len))
		rec->user_prompt = c->f[F_PROMPT].value;
	if (c->f[F_MODEL].seen && !c->ai_unproven &&
	    utf8_valid(c->f[F_MODEL].value, c->f[F_MODEL].len))
		rec->ai_model = c->f[F_MODEL].value;
}
