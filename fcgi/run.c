/*
 * run.c: POST /run. Reads the form (streaming, bounded), checks every field,
 * makes the job folder, takes a sandbox slot, runs the script in a sandbox,
 * checks and publishes the result, logs one row, answers JSON.
 *
 * Every refusal is the API's JSON error, leaves nothing on disk, and is
 * logged as "rejected".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../shared/clock.h"
#include "../shared/config.h"
#include "../shared/files.h"
#include "../shared/image_check.h"
#include "../shared/jobs.h"
#include "../shared/json_out.h"
#include "../shared/log.h"
#include "../shared/multipart.h"
#include "../shared/params.h"
#include "../shared/result_check.h"
#include "../shared/sandbox.h"
#include "../shared/slots.h"
#include "../shared/spawn.h"
#include "../shared/text.h"
#include "http.h"
#include "service.h"

/* The sandbox's records on stderr (runner_image/entry.py): the error, and
 * when the script started and ended. Both untrusted. */
#define RECORD_PREFIX "\x1eIMGSANDBOX"
#define RECORD_MARK "\x1eIMGSANDBOX "
#define TIME_MARK "\x1eIMGSANDBOX-TIME "

/* The fields of the form, in the order of the table below. */
enum { F_CODE, F_IMAGE, F_USE_SAMPLE, F_PARAMS, F_SESSION, F_PREVIOUS, F_PROMPT,
	F_MODEL, F_COUNT };

/* Timestamps of one request, ms of the monotonic clock. */
enum { T_START, T_JOB, T_PARSED, T_CHECKED, T_SLOT, T_SANDBOX_START, T_SANDBOX_END,
	T_REMOVED, T_RESULT, T_LOGGED, T_COUNT };
/* Each is the time from the step before: job (the job folder made), parse
 * (the form read, the image written), checks (fields, image, code
 * written), slot_wait, prepare (the sandbox made ready), sandbox (container
 * start, script and exit; split by the script's own record into
 * container_start_ms, script_ms and container_exit_ms), remove (the
 * container removed), result (checked and published), log (the row). */
static const char *const timing_names[T_COUNT] = {
	NULL, "job_ms", "parse_ms", "checks_ms", "slot_wait_ms", "prepare_ms",
	"sandbox_ms", "remove_ms", "result_ms", "log_ms",
};

struct run_ctx {
	FCGX_Request *r;
	struct mp_field f[F_COUNT];
	struct job job;
	int have_job;
	int image_fd;
	int use_sample;
	int have_image;
	struct image_info img;
	char session_id[65];
	long long previous;
	int64_t t[T_COUNT];
	int64_t script_start_ms, script_ms, script_exit_ms;	/* from the time record */
	struct run_record rec;
	const char *sandbox_kind;	/* the backend that ran it */
};

struct body_reader {
	FCGX_Stream *in;
	long long left;
};

/* mp_read_fn over the FastCGI stdin, never past CONTENT_LENGTH. */
static ssize_t
body_read(void *ctx, void *buf, size_t len)
{
	struct body_reader *b = ctx;
	int n;

	if (b->left <= 0)
		return 0;
	if ((long long)len > b->left)
		len = (size_t)b->left;
	if (len > INT_MAX)
		len = INT_MAX;
	n = FCGX_GetStr(buf, (int)len, b->in);
	if (n < 0)
		return -1;
	b->left -= n;
	return n;
}

/* A person's size: "12.3 MB", "256 KiB". */
static char *
timings_json(const struct run_ctx *c)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;
	int i;

	if (o == NULL)
		return NULL;
	/* The sandbox's time split by the script's own record: the container's
	 * start (engine and interpreter), the script, the container's exit. */
	if (c->script_start_ms > 0) {
		cJSON_AddNumberToObject(o, "container_start_ms", (double)c->script_start_ms);
		cJSON_AddNumberToObject(o, "script_ms", (double)c->script_ms);
		cJSON_AddNumberToObject(o, "container_exit_ms", (double)c->script_exit_ms);
	}
	for (i = 1; i < T_COUNT; i++) {
		if (c->t[i] == 0 || c->t[i - 1] == 0)
			continue;
		cJSON_AddNumberToObject(o, timing_names[i], (double)(c->t[i] - c->t[i - 1]));
	}
	if (c->t[T_LOGGED] != 0)
		cJSON_AddNumberToObject(o, "total_ms", (double)(c->t[T_LOGGED] - c->t[T_START]));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Fills the request part of the log record from what was read so far. */
static void
record_request(struct run_ctx *c)
{
	struct run_record *rec = &c->rec;

	rec->job_id = c->have_job ? c->job.id : NULL;
	rec->session_id = c->session_id;
	rec->previous_attempt_id = c->previous;
	if (c->f[F_CODE].seen && utf8_valid(c->f[F_CODE].value, c->f[F_CODE].len)) {
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
	if (c->f[F_MODEL].seen && utf8_valid(c->f[F_MODEL].value, c->f[F_MODEL].len))
		rec->ai_model = c->f[F_MODEL].value;
}

/* Removes the job folder (and its published result when publish failed). */
static void
drop_job(struct run_ctx *c)
{
	if (c->image_fd >= 0) {
		close(c->image_fd);
		c->image_fd = -1;
	}
	if (c->have_job) {
		remove_tree(c->job.dir);
		c->have_job = 0;
	}
}

/* Refuses the request: the API's JSON error, nothing left on disk, one log
 * row with status "rejected". Returns what http_error returns. */
static int
reject(struct run_ctx *c, int status, const char *code, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
reject(struct run_ctx *c, int status, const char *code, const char *extra, const char *fmt, ...)
{
	char msg[512];
	cJSON *root = NULL, *err;
	int64_t log_id = 0;
	int attempt = 0, rc = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A refusal belongs to the client's session when it sent a good one. */
	if (c->f[F_SESSION].seen && c->f[F_SESSION].value != NULL &&
	    session_id_valid(c->f[F_SESSION].value, c->f[F_SESSION].len))
		memcpy(c->session_id, c->f[F_SESSION].value, c->f[F_SESSION].len + 1);
	record_request(c);
	c->rec.job_id = NULL;
	c->rec.status = "rejected";
	c->rec.http_status = status;
	c->rec.exit_code = -1;
	c->rec.reject_code = code;
	c->rec.reject_message = msg;
	drop_job(c);
	if (svc.db != NULL && logdb_insert(svc.db, &c->rec, &log_id, &attempt) < 0)
		log_warnx("a refused request could not be logged");
	if ((root = cJSON_CreateObject()) == NULL ||
	    (err = cJSON_AddObjectToObject(root, "error")) == NULL ||
	    cJSON_AddStringToObject(err, "code", code) == NULL ||
	    json_add_str_or_null(err, "message", msg) == NULL)
		goto out;
	if (log_id > 0)
		cJSON_AddNumberToObject(root, "log_id", (double)log_id);
	cJSON_AddStringToObject(root, "session_id", c->session_id);
	rc = http_json(c->r, status, root, extra);
out:
	cJSON_Delete(root);
	return rc;
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

/* Finds the last record line with mark in buf and parses its JSON. Returns
 * the object (the caller deletes it), or NULL when there is none. */
static cJSON *
last_record(const char *buf, size_t len, const char *mark)
{
	const char *found = NULL, *p, *end;
	size_t mlen = strlen(mark);

	for (p = buf; p + mlen <= buf + len; p++) {
		p = memmem(p, (size_t)(buf + len - p), mark, mlen);
		if (p == NULL)
			break;
		found = p;
	}
	if (found == NULL)
		return NULL;
	p = found + mlen;
	end = memchr(p, '\n', (size_t)(buf + len - p));
	return cJSON_ParseWithLength(p, (size_t)((end ? end : buf + len) - p));
}

/* The error object of a failed run: from the sandbox's record when there
 * is one (untrusted: every field checked), else from the exit status. */
static cJSON *
error_from_record(const char *tail, size_t tail_len, int exit_code)
{
	cJSON *rec, *err, *v;

	if ((err = cJSON_CreateObject()) == NULL)
		return NULL;
	rec = last_record(tail, tail_len, RECORD_MARK);
	if (rec != NULL && cJSON_IsObject(rec) &&
	    cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(rec, "type")) &&
	    strlen(v->valuestring) > 0 && strlen(v->valuestring) < 128) {
		json_add_str_or_null(err, "type", v->valuestring);
		v = cJSON_GetObjectItemCaseSensitive(rec, "message");
		json_add_text(err, "message", cJSON_IsString(v) ? v->valuestring : "",
		    cJSON_IsString(v) ? strnlen(v->valuestring, 8192) : 0);
		v = cJSON_GetObjectItemCaseSensitive(rec, "line");
		if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e7)
			cJSON_AddNumberToObject(err, "line", (int)v->valuedouble);
		else
			cJSON_AddNullToObject(err, "line");
		v = cJSON_GetObjectItemCaseSensitive(rec, "traceback");
		if (cJSON_IsString(v))
			json_add_text(err, "traceback", v->valuestring, strnlen(v->valuestring, 16384));
		else
			cJSON_AddNullToObject(err, "traceback");
	} else {
		char msg[160];
		if (exit_code >= 128) {
			snprintf(msg, sizeof(msg), "the script was killed by signal %d%s",
			    exit_code - 128, exit_code == 137 ? " (SIGKILL)" : "");
			cJSON_AddStringToObject(err, "type", "Killed");
		} else {
			snprintf(msg, sizeof(msg), "the script exited with status %d", exit_code);
			cJSON_AddStringToObject(err, "type", "SystemExit");
		}
		cJSON_AddStringToObject(err, "message", msg);
		cJSON_AddNullToObject(err, "line");
		cJSON_AddNullToObject(err, "traceback");
	}
	cJSON_Delete(rec);
	return err;
}

/* Removes the record lines (and the newline put before each) from the
 * stderr shown to people. */
static void
strip_record(char *s, size_t *len)
{
	size_t mlen = strlen(RECORD_PREFIX);
	char *p, *end;

	while ((p = memmem(s, *len, RECORD_PREFIX, mlen)) != NULL) {
		end = memchr(p, '\n', (size_t)(s + *len - p));
		end = end ? end + 1 : s + *len;
		if (p > s && p[-1] == '\n')
			p--;
		memmove(p, end, (size_t)(s + *len - end));
		*len -= (size_t)(end - p);
		s[*len] = '\0';
	}
}

/* Splits the sandbox's time with its time record: the record's clock is
 * the host's real-time clock (one kernel), but its values come from the
 * script, so they are used only when they fall inside the run. */
static void
split_sandbox_time(struct run_ctx *c, const struct sandbox_result *res, const char *tail,
    size_t len)
{
	cJSON *rec = last_record(tail, len, TIME_MARK), *a, *b;
	double start, end;

	if (rec != NULL && cJSON_IsNumber(a = cJSON_GetObjectItemCaseSensitive(rec, "start")) &&
	    cJSON_IsNumber(b = cJSON_GetObjectItemCaseSensitive(rec, "end"))) {
		start = a->valuedouble * 1000.0;
		end = b->valuedouble * 1000.0;
		if (start >= (double)res->start_real_ms && start <= end &&
		    end <= (double)res->end_real_ms) {
			c->script_start_ms = (int64_t)(start - (double)res->start_real_ms);
			if (c->script_start_ms < 1)
				c->script_start_ms = 1;
			c->script_ms = (int64_t)(end - start);
			c->script_exit_ms = res->end_real_ms - (int64_t)end;
		}
	}
	cJSON_Delete(rec);
}

static cJSON *
outcome_error(const char *type, const char *msg)
{
	cJSON *e = cJSON_CreateObject();

	if (e == NULL)
		return NULL;
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddNullToObject(e, "line");
	cJSON_AddNullToObject(e, "traceback");
	return e;
}

static const char *
json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Runs the checked request in a sandbox and answers. */
static int
run_job(struct run_ctx *c)
{
	struct sandbox_job sj;
	struct sandbox_result res;
	struct sandbox *sb;
	struct result_info ri;
	enum result_status rs = RESULT_MISSING;
	const char *status;
	char msg[512] = "", url[128], *out_text = NULL, *err_text = NULL, *tail = NULL;
	char *timings = NULL;
	size_t out_len = 0, err_len = 0, tail_len = 0;
	int out_trunc = 0, err_trunc = 0, slot, rc = -1, http_status = 200;
	int64_t log_id = 0;
	int attempt = 0;
	cJSON *root = NULL, *error = NULL, *v;

	slot = slot_acquire(svc.slots_dir, (int)cfg.slots, cfg.slot_wait_ms);
	if (slot == -2)
		return reject(c, 429, "busy", "Retry-After: 2\r\n", "every sandbox is busy "
		    "(%lld at once); try again in a few seconds", (long long)cfg.slots);
	if (slot < 0) {
		log_warn("slot_acquire");
		return reject(c, 503, "sandbox_unavailable", NULL,
		    "the service cannot take sandbox slots in %s", svc.slots_dir);
	}
	c->t[T_SLOT] = clock_mono_ms();

	memset(&sj, 0, sizeof(sj));
	sj.id = c->job.id;
	sj.code_dir = c->job.code_dir;
	sj.input_dir = c->job.input_dir;
	sj.output_dir = c->job.output_dir;
	if (c->f[F_PARAMS].seen && c->f[F_PARAMS].len > 0) {
		sj.params = c->f[F_PARAMS].value;
		sj.params_len = c->f[F_PARAMS].len;
	}
	sj.timeout_ms = cfg.timeout_ms;
	if ((sb = sandbox_pool_take(svc.pool)) == NULL) {
		slot_release(slot);
		return reject(c, 503, "sandbox_unavailable", NULL, "the server is out of memory");
	}
	if (sandbox_run(sb, &sj, &res) < 0) {
		log_warn("sandbox_run");
		sandbox_release(sb);
		slot_release(slot);
		return reject(c, 503, "sandbox_unavailable", NULL,
		    "the sandbox could not be started on this server");
	}
	c->sandbox_kind = sandbox_kind(sb);
	c->t[T_SANDBOX_START] = res.start_ms;
	c->t[T_SANDBOX_END] = res.end_ms;
	/* The container must be gone before the answer: remove it now. */
	sandbox_release(sb);
	slot_release(slot);
	c->t[T_REMOVED] = clock_mono_ms();

	if (res.outcome == SANDBOX_UNAVAILABLE || res.outcome == SANDBOX_FAILED) {
		log_warnx("job %s: %s", c->job.id, res.message);
		sandbox_result_free(&res);
		return reject(c, 503, "sandbox_unavailable", "Retry-After: 30\r\n", "%s",
		    res.message);
	}

	out_text = stream_text(&res.out, &out_len, &out_trunc);
	err_text = stream_text(&res.err, &err_len, &err_trunc);
	tail = stream_tail(&res.err, &tail_len);
	if (out_text == NULL || err_text == NULL || tail == NULL)
		goto oom;
	split_sandbox_time(c, &res, tail, tail_len);
	strip_record(err_text, &err_len);

	switch (res.outcome) {
	case SANDBOX_TIMEOUT:
		status = "timeout";
		snprintf(msg, sizeof(msg), "the script ran longer than the limit of %.1f s "
		    "and was stopped", cfg.timeout_ms / 1000.0);
		error = outcome_error("Timeout", msg);
		break;
	case SANDBOX_OOM:
		status = "oom";
		snprintf(msg, sizeof(msg), "the script used more than the memory limit of "
		    "%lld MiB and was stopped", (long long)(cfg.memory_bytes / 1048576));
		error = outcome_error("OutOfMemory", msg);
		break;
	default:
		if (res.exit_code != 0) {
			status = "error";
			error = error_from_record(tail, tail_len, res.exit_code);
			break;
		}
		rs = result_publish(c->job.output_dir, cfg.outputs_dir, c->job.id,
		    (uint64_t)cfg.output_bytes, &ri, msg, sizeof(msg));
		if (rs == RESULT_OK) {
			status = "success";
		} else if (rs == RESULT_MISSING) {
			status = "no_output";
			error = outcome_error("NoOutput", "the script finished without saving "
			    "/output/result.png");
		} else if (rs == RESULT_BAD) {
			status = "bad_output";
			error = outcome_error("BadOutput", msg);
		} else {
			log_warnx("job %s: %s", c->job.id, msg);
			status = "bad_output";
			error = outcome_error("BadOutput", msg);
		}
		break;
	}
	c->t[T_RESULT] = clock_mono_ms();

	record_request(c);
	c->rec.status = status;
	c->rec.http_status = http_status;
	c->rec.exit_code = res.exit_code;
	c->rec.duration_ms = res.end_ms - res.start_ms;
	c->rec.stdout_text = out_text;
	c->rec.stderr_text = err_text;
	c->rec.truncated = out_trunc || err_trunc;
	if (error != NULL) {
		c->rec.error_type = json_str(error, "type");
		c->rec.error_message = json_str(error, "message");
		v = cJSON_GetObjectItemCaseSensitive(error, "line");
		c->rec.error_line = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
		c->rec.traceback = json_str(error, "traceback");
	}
	/* Sanitised copies for the log: the streams may hold any bytes. */
	timings = timings_json(c);
	c->rec.timings_json = timings;
	{
		char *so = utf8_sanitize(out_text, out_len), *se = utf8_sanitize(err_text, err_len);
		c->rec.stdout_text = so;
		c->rec.stderr_text = se;
		if (logdb_insert(svc.db, &c->rec, &log_id, &attempt) < 0)
			log_warnx("job %s could not be logged", c->job.id);
		free(so);
		free(se);
	}
	c->t[T_LOGGED] = clock_mono_ms();
	free(timings);
	timings = timings_json(c);

	if ((root = cJSON_CreateObject()) == NULL)
		goto oom;
	cJSON_AddStringToObject(root, "job_id", c->job.id);
	if (log_id > 0)
		cJSON_AddNumberToObject(root, "log_id", (double)log_id);
	else
		cJSON_AddNullToObject(root, "log_id");
	cJSON_AddStringToObject(root, "session_id", c->session_id);
	cJSON_AddNumberToObject(root, "attempt", attempt);
	cJSON_AddStringToObject(root, "status", status);
	cJSON_AddNumberToObject(root, "exit_code", res.exit_code);
	cJSON_AddNumberToObject(root, "duration_ms", (double)(res.end_ms - res.start_ms));
	if (rs == RESULT_OK && strcmp(status, "success") == 0) {
		cJSON *o;
		snprintf(url, sizeof(url), "/outputs/%s/result.png", c->job.id);
		cJSON_AddStringToObject(root, "url", url);
		if ((o = cJSON_AddObjectToObject(root, "output")) != NULL) {
			cJSON_AddNumberToObject(o, "width", ri.width);
			cJSON_AddNumberToObject(o, "height", ri.height);
			cJSON_AddNumberToObject(o, "bytes", (double)ri.bytes);
		}
	} else {
		cJSON_AddNullToObject(root, "url");
	}
	json_add_text(root, "stdout", out_text, out_len);
	json_add_text(root, "stderr", err_text, err_len);
	cJSON_AddBoolToObject(root, "truncated", out_trunc || err_trunc);
	if (error != NULL) {
		cJSON_AddItemToObject(root, "error", error);
		error = NULL;
	} else {
		cJSON_AddNullToObject(root, "error");
	}
	if (c->have_image) {
		cJSON *in = cJSON_AddObjectToObject(root, "input");
		if (in != NULL) {
			cJSON_AddStringToObject(in, "type", c->img.mime);
			cJSON_AddNumberToObject(in, "width", c->img.width);
			cJSON_AddNumberToObject(in, "height", c->img.height);
			cJSON_AddNumberToObject(in, "bytes", (double)c->img.bytes);
			cJSON_AddBoolToObject(in, "sample", c->use_sample);
		}
	}
	if (timings != NULL)
		cJSON_AddRawToObject(root, "timings", timings);
	cJSON_AddStringToObject(root, "sandbox", c->sandbox_kind);
	rc = http_json(c->r, 200, root, NULL);
	goto out;
oom:
	rc = http_error(c->r, 500, "internal", "the server ran out of memory; try again");
out:
	drop_job(c);
	cJSON_Delete(root);
	cJSON_Delete(error);
	free(timings);
	free(out_text);
	free(err_text);
	free(tail);
	sandbox_result_free(&res);
	return rc;
}

int
run_handle(FCGX_Request *r)
{
	struct run_ctx c;
	struct mp_limits lim = { .max_parts = 16, .max_header_bytes = 8192 };
	struct mp_error perr;
	struct body_reader br;
	const char *method, *ctype, *clen;
	char sz1[32], sz2[32], why[256];
	long long length;
	int rc;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.image_fd = -1;
	c.t[T_START] = clock_mono_ms();
	c.rec.exit_code = -1;
	if (job_new_id(c.session_id) < 0) {
		snprintf(c.session_id, sizeof(c.session_id), "s%lld", (long long)clock_mono_ms());
	}
	c.f[F_CODE] = (struct mp_field){ .name = "code", .max_len = (size_t)cfg.code_bytes, .fd = -1 };
	c.f[F_IMAGE] = (struct mp_field){ .name = "image", .max_len = (size_t)cfg.image_bytes, .fd = -1 };
	c.f[F_USE_SAMPLE] = (struct mp_field){ .name = "use_sample", .max_len = 8, .fd = -1 };
	c.f[F_PARAMS] = (struct mp_field){ .name = "params", .max_len = (size_t)cfg.params_bytes, .fd = -1 };
	/* Read past its 64 characters so that a long one gets the 400 of a
	 * bad session_id, not a 413. */
	c.f[F_SESSION] = (struct mp_field){ .name = "session_id", .max_len = 256, .fd = -1 };
	c.f[F_PREVIOUS] = (struct mp_field){ .name = "previous_attempt_id", .max_len = 20, .fd = -1 };
	c.f[F_PROMPT] = (struct mp_field){ .name = "user_prompt", .max_len = (size_t)cfg.prompt_bytes, .fd = -1 };
	c.f[F_MODEL] = (struct mp_field){ .name = "ai_model", .max_len = (size_t)cfg.model_bytes, .fd = -1 };

	method = FCGX_GetParam("REQUEST_METHOD", r->envp);
	if (method == NULL || strcmp(method, "POST") != 0) {
		rc = reject(&c, 405, "method_not_allowed", "Allow: POST\r\n",
		    "/run takes POST with a multipart/form-data body");
		goto out;
	}
	ctype = FCGX_GetParam("CONTENT_TYPE", r->envp);
	clen = FCGX_GetParam("CONTENT_LENGTH", r->envp);
	if (ctype == NULL || multipart_boundary(ctype, why, sizeof(why)) < 0) {
		rc = reject(&c, 400, "bad_request", NULL, "the body must be multipart/form-data "
		    "with a boundary (send the form with FormData or curl -F)");
		goto out;
	}
	if (clen == NULL || parse_int_range(clen, 0, LLONG_MAX, &length) < 0) {
		rc = reject(&c, 400, "bad_request", NULL, "the request has no valid Content-Length");
		goto out;
	}
	if (length > cfg.body_bytes) {
		/* Refused before a byte of the body is read. */
		rc = reject(&c, 413, "too_large", NULL, "the request is %s; the limit is %s",
		    size_words(sz1, sizeof(sz1), length), size_words(sz2, sizeof(sz2), cfg.body_bytes));
		goto out;
	}

	/* The job folder first: the image streams straight into it. */
	if (job_create(svc.jobs_dir, svc.sandbox_uid, svc.sandbox_gid, &c.job) < 0) {
		log_warn("job_create in %s", svc.jobs_dir);
		rc = reject(&c, 503, "sandbox_unavailable", NULL,
		    "the server cannot create job folders; its disk may be full");
		goto out;
	}
	c.have_job = 1;
	c.t[T_JOB] = clock_mono_ms();
	c.image_fd = open(c.job.image_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (c.image_fd < 0) {
		log_warn("open %s", c.job.image_path);
		rc = reject(&c, 503, "sandbox_unavailable", NULL, "the server cannot write job files");
		goto out;
	}
	c.f[F_IMAGE].fd = c.image_fd;
	br.in = r->in;
	br.left = length;
	if (multipart_parse(ctype, body_read, &br, c.f, F_COUNT, &lim, &perr) != MP_OK) {
		if (perr.status == MP_TOO_LARGE)
			rc = reject(&c, 413, "too_large", NULL, "%s", perr.message);
		else if (perr.status == MP_IO_ERROR)
			rc = reject(&c, 503, "sandbox_unavailable", NULL,
			    "the server could not store the upload: %s", perr.message);
		else if (perr.status == MP_NO_MEMORY)
			rc = reject(&c, 503, "sandbox_unavailable", NULL, "the server is out of memory");
		else
			rc = reject(&c, 400, "bad_request", NULL, "%s", perr.message);
		goto out;
	}
	c.t[T_PARSED] = clock_mono_ms();

	/* session_id first, so that every later refusal is in its session. */
	if (c.f[F_SESSION].seen) {
		if (!session_id_valid(c.f[F_SESSION].value, c.f[F_SESSION].len)) {
			rc = reject(&c, 400, "bad_request", NULL, "session_id must be 1 to 64 "
			    "characters of A-Z, a-z, 0-9, '_' and '-'");
			goto out;
		}
		memcpy(c.session_id, c.f[F_SESSION].value, c.f[F_SESSION].len + 1);
	}
	if (c.f[F_PREVIOUS].seen && c.f[F_PREVIOUS].len > 0 &&
	    parse_int_range(c.f[F_PREVIOUS].value, 1, LLONG_MAX, &c.previous) < 0) {
		rc = reject(&c, 400, "bad_request", NULL,
		    "previous_attempt_id must be the log_id of an earlier attempt (a positive number)");
		goto out;
	}
	if (!c.f[F_CODE].seen || c.f[F_CODE].len == 0) {
		rc = reject(&c, 400, "bad_request", NULL, "the field 'code' is missing or empty; "
		    "send the Python source in it");
		goto out;
	}
	if (!utf8_valid(c.f[F_CODE].value, c.f[F_CODE].len) ||
	    memchr(c.f[F_CODE].value, '\0', c.f[F_CODE].len) != NULL) {
		rc = reject(&c, 400, "bad_request", NULL, "the field 'code' is not valid UTF-8 "
		    "text; save the script as UTF-8");
		goto out;
	}
	if ((c.f[F_PROMPT].seen && !utf8_valid(c.f[F_PROMPT].value, c.f[F_PROMPT].len)) ||
	    (c.f[F_MODEL].seen && !utf8_valid(c.f[F_MODEL].value, c.f[F_MODEL].len))) {
		rc = reject(&c, 400, "bad_request", NULL,
		    "user_prompt and ai_model must be UTF-8 text");
		goto out;
	}
	if (c.f[F_PARAMS].seen && params_check(c.f[F_PARAMS].value, c.f[F_PARAMS].len,
	    why, sizeof(why)) < 0) {
		rc = reject(&c, 422, "bad_params", NULL, "%s", why);
		goto out;
	}
	if (c.f[F_USE_SAMPLE].seen && c.f[F_USE_SAMPLE].len > 0 &&
	    strcmp(c.f[F_USE_SAMPLE].value, "0") != 0 &&
	    strcmp(c.f[F_USE_SAMPLE].value, "false") != 0)
		c.use_sample = 1;

	if (c.f[F_IMAGE].seen && c.f[F_IMAGE].len > 0) {
		c.use_sample = 0;	/* an image sent wins over the sample */
		switch (image_check_fd(c.image_fd, (uint64_t)cfg.image_pixels, &c.img, why, sizeof(why))) {
		case IMG_OK:
			c.have_image = 1;
			break;
		case IMG_TOO_MANY_PIXELS:
			rc = reject(&c, 413, "too_large", NULL, "%s", why);
			goto out;
		case IMG_IO_ERROR:
			rc = reject(&c, 503, "sandbox_unavailable", NULL,
			    "the server could not read the upload back");
			goto out;
		default:
			rc = reject(&c, 415, "unsupported_image", NULL, "%s", why);
			goto out;
		}
	} else if (c.use_sample) {
		if (use_sample_image(&c) < 0) {
			rc = reject(&c, 503, "sandbox_unavailable", NULL,
			    "the sample image is missing on this server (%s)", cfg.sample_image);
			goto out;
		}
		if (image_check_fd(c.image_fd, (uint64_t)cfg.image_pixels, &c.img, why,
		    sizeof(why)) == IMG_OK)
			c.have_image = 1;
	} else {
		/* No image: /input is empty; the script may not need one. */
		close(c.image_fd);
		c.image_fd = -1;
		unlink(c.job.image_path);
	}
	if (c.image_fd >= 0) {
		close(c.image_fd);
		c.image_fd = -1;
	}
	if (job_write_code(&c.job, c.f[F_CODE].value, c.f[F_CODE].len) < 0) {
		log_warn("write code of job %s", c.job.id);
		rc = reject(&c, 503, "sandbox_unavailable", NULL, "the server cannot write job files");
		goto out;
	}
	c.t[T_CHECKED] = clock_mono_ms();
	rc = run_job(&c);
out:
	drop_job(&c);
	multipart_fields_free(c.f, F_COUNT);
	return rc;
}
