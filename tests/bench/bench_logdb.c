/*
 * bench_logdb: the execution log at scale. Generates N attempts (default
 * 1,000,000) through the real write path (logdb_insert_batch, and single
 * logdb_insert for the latency figure), then times the reports the API
 * serves, each next to a plain full-scan SQL baseline over the raw rows in
 * the same run, and prints a markdown table.
 *
 *   bench_logdb [-n ROWS] [-d DB] [-k] [-g] [-w WRITERS]
 *     -n ROWS  attempts to generate (1000..5000000)
 *     -d DB    the log: an SQLite file (default /tmp/bench_logdb.db) or a
 *              PostgreSQL URI (postgresql://user@host:port/dbname); replaced:
 *              the file removed, or the log's tables dropped (-f: the same)
 *     -k       keep and reuse DB when it already has ROWS rows (and do not time
 *              retention, which lets the oldest tenth of the rows go)
 *     -g       generate DB and stop (a log to copy into another store, as
 *              tests/bench/pg_load.py does: faster than PostgreSQL's own fill)
 *     -w N     processes inserting at once for the concurrent figure (default 4)
 *
 * Exits 0, 1 on an error, 2 for bad usage.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/wait.h>

#include "reports/advice.h"
#include "reports/ai_context.h"
#include "base/log.h"
#include "store/logdb.h"
#include "reports/report_rows.h"
#include "reports/reports.h"
#include "store/sqldb.h"
#include "base/text.h"

#define BATCH 1000
#define REPEAT 7		/* timed runs of each operation; the median is shown */
#define SINGLES 1000		/* single-row inserts timed at the end */

/* Milliseconds of the monotonic clock, with their fraction: the bench times
 * operations well under one. */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* xorshift: the same data every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
/* Returns a pseudo-random number below n (0 when n is 0). */
static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (uint32_t)(rng_state % n) : 0;
}

/* The synthetic clock: 90 days for the whole run. */
static int64_t clock_ms, clock_step;
/* The clock logdb stamps rows with while the bench fills the log. */
static int64_t
bench_clock(void *arg)
{
	(void)arg;
	clock_ms += clock_step;
	return clock_ms;
}

/* ---- Generated attempts -------------------------------------------------------- */

static const char *const modules[] = { "skimage2", "cv", "sklearn", "imageio", "matplotlib",
	"torch", "tensorflow", "PIL2", "opencv", "scikit_image", "pillow", "imutils",
	"numba", "pandas", "wand", "pywt", "kornia", "albumentations", "rawpy", "colour" };
static const char *const attrs[] = { "ANTIALIAS", "textsize", "LINEAR", "CUBIC", "ADAPTIVE" };
static const char *const keys[] = { "width", "height", "radius", "sigma", "strength", "mode" };
static const char *const models[] = { "model-a", "model-b", "model-c", "model-d" };

struct gen {
	char code[900];
	char tb[600];
	char msg[300];
	char type[64];
	char sid[24];
	char job[33];
};

/* Writes an error (type, message, traceback) of kind k into g. */
static void
make_error(struct gen *g, int line)
{
	switch (rnd(15)) {
	case 14:
		/* The long tail: names seen once or twice (about 3000 patterns). */
		snprintf(g->type, sizeof(g->type), rnd(2) ? "ModuleNotFoundError" : "AttributeError");
		if (g->type[0] == 'M')
			snprintf(g->msg, sizeof(g->msg), "No module named 'lib%u'", rnd(1500));
		else
			snprintf(g->msg, sizeof(g->msg), "'Image' object has no attribute 'm%u'",
			    rnd(1500));
		break;
	case 0: case 1: case 2:
		snprintf(g->type, sizeof(g->type), "ModuleNotFoundError");
		snprintf(g->msg, sizeof(g->msg), "No module named '%s'", modules[rnd(20)]);
		break;
	case 3: case 4:
		snprintf(g->type, sizeof(g->type), "AttributeError");
		snprintf(g->msg, sizeof(g->msg), "module 'PIL.Image' has no attribute '%s'",
		    attrs[rnd(5)]);
		break;
	case 5:
		snprintf(g->type, sizeof(g->type), "AttributeError");
		snprintf(g->msg, sizeof(g->msg), "'NoneType' object has no attribute 'shape'");
		break;
	case 6:
		snprintf(g->type, sizeof(g->type), "KeyError");
		snprintf(g->msg, sizeof(g->msg), "'%s'", keys[rnd(6)]);
		break;
	case 7:
		snprintf(g->type, sizeof(g->type), "IndexError");
		snprintf(g->msg, sizeof(g->msg), "index %u is out of bounds for axis %u with size %u",
		    rnd(4000), rnd(3), rnd(4000));
		break;
	case 8:
		snprintf(g->type, sizeof(g->type), "ValueError");
		snprintf(g->msg, sizeof(g->msg), "operands could not be broadcast together with "
		    "shapes (%u,%u,3) (%u,%u)", rnd(3000), rnd(3000), rnd(3000), rnd(3000));
		break;
	case 9:
		snprintf(g->type, sizeof(g->type), "OSError");
		snprintf(g->msg, sizeof(g->msg), "cannot write mode RGBA as JPEG");
		break;
	case 10:
		snprintf(g->type, sizeof(g->type), "TypeError");
		snprintf(g->msg, sizeof(g->msg), "Cannot handle this data type: (1, 1, %u), <f8",
		    1 + rnd(4));
		break;
	case 11:
		snprintf(g->type, sizeof(g->type), "FileNotFoundError");
		snprintf(g->msg, sizeof(g->msg), "[Errno 2] No such file or directory: '%s'",
		    rnd(2) ? "/input/image.png" : "photo.jpg");
		break;
	case 12:
		snprintf(g->type, sizeof(g->type), "NameError");
		snprintf(g->msg, sizeof(g->msg), "name '%s' is not defined",
		    rnd(2) ? "np" : "cv2");
		break;
	default:
		snprintf(g->type, sizeof(g->type), "error");
		snprintf(g->msg, sizeof(g->msg), "OpenCV(4.6.0) /tmp/opencv-4.6.0/modules/imgproc/"
		    "src/color.cpp:%u: error: (-215:Assertion failed) !_src.empty() in function "
		    "'cvtColor'", 100 + rnd(200));
		break;
	}
	snprintf(g->tb, sizeof(g->tb), "Traceback (most recent call last):\n"
	    "  File \"/code/main.py\", line %d, in <module>\n"
	    "    result = process(img, params)\n"
	    "  File \"/code/main.py\", line %d, in process\n"
	    "    out = step(img)\n"
	    "%s: %s\n", line + 10, line, g->type, g->msg);
}

/* Writes a script into g: a few imports (one perhaps wrong) and a body. */
static void
make_code(struct gen *g, int wrong_import, uint32_t variant)
{
	snprintf(g->code, sizeof(g->code),
	    "import os\nimport json\nimport numpy as np\nfrom PIL import Image, ImageFilter\n"
	    "%s"
	    "params = json.loads(os.environ.get(\"USER_PARAMS\") or \"{}\")\n"
	    "img = Image.open(\"/input/image.png\").convert(\"RGB\")\n"
	    "radius = float(params.get(\"radius\", %u))\n"
	    "def process(img, params):\n"
	    "    arr = np.asarray(img, dtype=np.float32)\n"
	    "    arr = arr * %u.0 / 100.0\n"
	    "    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))\n"
	    "    return out.filter(ImageFilter.GaussianBlur(radius))\n"
	    "result = process(img, params)\n"
	    "result.save(\"/output/result.png\")\n",
	    wrong_import ? "import skimage2\n" : (variant % 3 == 0 ? "import cv2\n" : ""),
	    variant % 10, 50 + variant % 100);
}

/* Sessions: a ring of recent ones that may go on. */
#define OPEN 2000
static struct { uint32_t id; int done; } open_s[OPEN];
static uint32_t next_session = 1;

/* Fills rec (pointing into g) with one plausible attempt. */
static void
generate(struct run_record *rec, struct gen *g, uint64_t i)
{
	uint32_t slot = rnd(OPEN), r = rnd(1000);
	const char *status;

	if (open_s[slot].id == 0 || open_s[slot].done || rnd(100) < 35) {
		open_s[slot].id = next_session++;
		open_s[slot].done = 0;
	}
	snprintf(g->sid, sizeof(g->sid), "s%u", open_s[slot].id);
	snprintf(g->job, sizeof(g->job), "%016llx%016llx", (unsigned long long)i,
	    (unsigned long long)rng_state);
	memset(rec, 0, sizeof(*rec));
	rec->session_id = g->sid;
	rec->job_id = g->job;
	rec->http_status = 200;
	rec->ai_model = models[rnd(4)];
	rec->ai_lessons = (int)rnd(3) - 1;
	rec->user_prompt = "blur the picture and make it warmer";
	rec->params = "{\"radius\":3}";
	rec->image_type = "image/png";
	rec->image_bytes = 100000 + rnd(900000);
	rec->image_width = 640 + (int)rnd(2000);
	rec->image_height = 480 + (int)rnd(2000);
	rec->duration_ms = 150 + rnd(400) + rnd(4) * rnd(1500);
	rec->stdout_text = "";
	rec->timings_json = "{\"run_ms\":300}";
	if (r < 550)
		status = "success";
	else if (r < 900)
		status = "error";
	else if (r < 940)
		status = "timeout";
	else if (r < 955)
		status = "oom";
	else if (r < 985)
		status = "no_output";
	else if (r < 990)
		status = "bad_output";
	else
		status = "rejected";
	rec->status = status;
	make_code(g, strcmp(status, "error") == 0 && rnd(4) == 0, rnd(1000));
	rec->code = g->code;
	rec->code_len = strlen(g->code);
	if (strcmp(status, "success") == 0) {
		rec->exit_code = 0;
		if (rnd(100) < 80)
			open_s[slot].done = 1;
	} else if (strcmp(status, "error") == 0) {
		rec->exit_code = 1;
		make_error(g, 5 + (int)rnd(10));
		rec->error_type = g->type;
		rec->error_message = g->msg;
		rec->error_line = 5;
		rec->traceback = g->tb;
		rec->stderr_text = g->tb;
	} else if (strcmp(status, "timeout") == 0) {
		rec->exit_code = 137;
		rec->duration_ms = 10000;
	} else if (strcmp(status, "oom") == 0) {
		rec->exit_code = 137;
	} else if (strcmp(status, "rejected") == 0) {
		rec->exit_code = -1;
		rec->duration_ms = 0;
		rec->code = NULL;
		rec->reject_code = rnd(2) ? "busy" : "too_large";
		rec->reject_message = "every sandbox slot is taken";
		rec->http_status = 429;
	}
}

/* ---- Timing ----------------------------------------------------------------------- */

/* qsort order of timings. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Times one operation REPEAT times after a warm-up; sets median and max. */
struct timing {
	double median, max;
	int failed;
};

/* The operations. */
enum op {
	OP_SUMMARY, OP_ANALYSIS, OP_PATTERNS, OP_RECOMMENDATIONS, OP_PAGE, OP_PAGE_DEEP,
	OP_UNFIXED, OP_SESSION, OP_CONTEXT, OP_MODELS, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"summary", "full analysis", "error-patterns", "recommendations",
	"page of failures (newest 50)", "page of failures (deep, before=id at 10%)",
	"page of unfixed failures", "one session", "ai-context", "models (per AI model)",
};

/* Baselines: plain SQL over the raw rows, no aggregate tables, no indexes
 * but the session one a plain schema would have (SQLite is told so with
 * NOT INDEXED; PostgreSQL's planner scans for these without being told,
 * and may scan in parallel). */
static const char *const baseline_sql[OP_COUNT][3] = {
	[OP_SUMMARY] = {
	    "SELECT status, COUNT(*), SUM(duration_ms), MAX(duration_ms) FROM runs NOT INDEXED"
	    " GROUP BY status",
	    "SELECT COUNT(DISTINCT session_id) FROM runs", NULL },
	[OP_ANALYSIS] = {
	    "SELECT category, error_type, pattern, COUNT(*), SUM(CASE WHEN fixed_by IS NOT NULL THEN 1 ELSE 0 END), MAX(id)"
	    " FROM runs NOT INDEXED WHERE status <> 'success' GROUP BY 1, 2, 3"
	    " ORDER BY 4 DESC LIMIT 50",
	    "SELECT substr(created_at, 1, 10), COUNT(*), SUM(CASE WHEN status <> 'success' THEN 1 ELSE 0 END) FROM runs"
	    " NOT INDEXED GROUP BY 1 ORDER BY 1 DESC LIMIT 30",
	    "SELECT status, COUNT(*), SUM(duration_ms), MAX(duration_ms) FROM runs NOT INDEXED"
	    " GROUP BY status" },
	[OP_PATTERNS] = {
	    "SELECT category, COUNT(*), SUM(CASE WHEN fixed_by IS NOT NULL THEN 1 ELSE 0 END), MAX(id) FROM runs NOT INDEXED"
	    " WHERE status <> 'success' GROUP BY 1 ORDER BY 2 DESC",
	    "SELECT category, error_type, pattern, COUNT(*), SUM(CASE WHEN fixed_by IS NOT NULL THEN 1 ELSE 0 END), MAX(id)"
	    " FROM runs NOT INDEXED WHERE status <> 'success' GROUP BY 1, 2, 3"
	    " ORDER BY 4 DESC LIMIT 50", NULL },
	[OP_RECOMMENDATIONS] = {
	    "SELECT category, error_type, pattern, COUNT(*), SUM(CASE WHEN fixed_by IS NOT NULL THEN 1 ELSE 0 END), MAX(id)"
	    " FROM runs NOT INDEXED WHERE status <> 'success' GROUP BY 1, 2, 3"
	    " ORDER BY 4 DESC LIMIT 500", NULL, NULL },
	[OP_PAGE] = {
	    "SELECT * FROM runs NOT INDEXED WHERE status <> 'success' ORDER BY created_at DESC"
	    " LIMIT 50", NULL, NULL },
	[OP_PAGE_DEEP] = {
	    "SELECT * FROM runs NOT INDEXED WHERE status <> 'success' AND id < $1"
	    " ORDER BY created_at DESC LIMIT 50", NULL, NULL },
	/* Fix state computed on the fly: a later success in the session. */
	[OP_UNFIXED] = {
	    "SELECT * FROM runs f NOT INDEXED WHERE f.status <> 'success' AND NOT EXISTS"
	    " (SELECT 1 FROM runs s WHERE s.session_id = f.session_id AND s.attempt > f.attempt"
	    " AND s.status = 'success') ORDER BY f.created_at DESC LIMIT 50", NULL, NULL },
	[OP_SESSION] = { NULL, NULL, NULL },
	[OP_CONTEXT] = { NULL, NULL, NULL },
	/* The figures from the rows: per model, and per session's first attempt
	 * and first success. */
	[OP_MODELS] = {
	    "SELECT ai_model, ai_lessons, COUNT(*), SUM(CASE WHEN status <> 'success' THEN 1 ELSE 0 END),"
	    " SUM(CASE WHEN fixed_by IS NOT NULL THEN 1 ELSE 0 END) FROM runs NOT INDEXED WHERE ai_model IS NOT NULL"
	    " GROUP BY 1, 2",
	    "SELECT f.ai_model, COUNT(*), SUM(CASE WHEN f.status = 'success' THEN 1 ELSE 0 END) FROM runs f NOT INDEXED"
	    " WHERE f.attempt = 1 AND f.ai_model IS NOT NULL GROUP BY 1",
	    "SELECT session_id, MIN(attempt) FROM runs NOT INDEXED WHERE status = 'success'"
	    " GROUP BY 1" },
};

static const char *const targets[OP_COUNT] = {
	"< 50 ms", "< 1 s", "", "", "< 50 ms", "< 50 ms", "< 50 ms", "", "", "< 50 ms",
};

struct ctx {
	struct logdb *db;
	struct sqldb *raw;
	struct report_env env;
	int64_t deep_before;
	char session[24];
};

/* Runs op once through the reports. Returns 0 or -1. */
static int
run_ours(struct ctx *c, enum op op)
{
	enum report_status st;
	cJSON *doc = NULL;
	char *text = NULL, *s;
	size_t len;

	switch (op) {
	case OP_SUMMARY:
		doc = report_summary(c->db, &st);
		break;
	case OP_ANALYSIS:
		doc = report_analysis(c->db, &c->env, 50, &st);
		break;
	case OP_PATTERNS:
		doc = report_error_patterns(c->db, 50, &st);
		break;
	case OP_RECOMMENDATIONS:
		doc = advice_recommendations(c->db, &c->env, 50, &st);
		break;
	case OP_PAGE:
		doc = report_page(c->db, LOGDB_FAILURES, 0, 50, &st);
		break;
	case OP_PAGE_DEEP:
		doc = report_page(c->db, LOGDB_FAILURES, c->deep_before, 50, &st);
		break;
	case OP_UNFIXED:
		doc = report_page(c->db, LOGDB_UNFIXED, 0, 50, &st);
		break;
	case OP_SESSION:
		doc = report_session(c->db, c->session, 0, &st);
		break;
	case OP_CONTEXT:
		text = ai_context(c->db, &c->env, &len, &st);
		free(text);
		return text ? 0 : -1;
	case OP_MODELS:
		doc = report_models(c->db, 50, &st);
		break;
	default:
		return -1;
	}
	if (doc == NULL)
		return -1;
	/* Rendering is part of serving it. */
	s = cJSON_PrintUnformatted(doc);
	free(s);
	cJSON_Delete(doc);
	return s ? 0 : -1;
}

/* Returns sql for the raw connection's dialect (PostgreSQL: without
 * SQLite's NOT INDEXED) in buf. */
static const char *
dialect_sql(struct ctx *c, const char *sql, char *buf, size_t len)
{
	const char *p;
	size_t n;

	if (sqldb_dialect(c->raw) == SQLDB_SQLITE || (p = strstr(sql, " NOT INDEXED")) == NULL)
		return sql;
	n = (size_t)(p - sql);
	snprintf(buf, len, "%.*s%s", (int)n, sql, p + strlen(" NOT INDEXED"));
	return buf;
}

/* Runs op's baseline statements once. Returns 0, 1 when it has none, -1. */
static int
run_baseline(struct ctx *c, enum op op)
{
	struct sqldb_stmt *st;
	char buf[1024];
	int i, rc;

	if (baseline_sql[op][0] == NULL)
		return 1;
	for (i = 0; i < 3 && baseline_sql[op][i] != NULL; i++) {
		if ((st = sqldb_prepare(c->raw, dialect_sql(c, baseline_sql[op][i], buf,
		    sizeof(buf)))) == NULL) {
			fprintf(stderr, "baseline: %s\n", sqldb_errmsg(c->raw));
			return -1;
		}
		if (strstr(baseline_sql[op][i], "$1") != NULL)
			sqldb_bind_int64(st, 1, c->deep_before);
		while ((rc = sqldb_step(st)) == SQLDB_ROW)
			(void)sqldb_column_text(st, 0);
		if (rc < 0)
			fprintf(stderr, "baseline: %s\n", sqldb_errmsg(c->raw));
		sqldb_finalize(st);
		if (rc != SQLDB_DONE)
			return -1;
	}
	return 0;
}

/* Times op (ours, or its baseline): a warm-up, then REPEAT runs. Returns the
 * median and the max, or failed set (1: no baseline). */
static struct timing
time_it(struct ctx *c, enum op op, int baseline)
{
	struct timing t = { 0, 0, 0 };
	double v[REPEAT], t0;
	int i, rc;

	rc = baseline ? run_baseline(c, op) : run_ours(c, op);	/* warm-up */
	if (rc != 0) {
		t.failed = rc < 0 ? -1 : 1;
		return t;
	}
	for (i = 0; i < REPEAT; i++) {
		t0 = now_ms();
		if ((baseline ? run_baseline(c, op) : run_ours(c, op)) != 0) {
			t.failed = -1;
			return t;
		}
		v[i] = now_ms() - t0;
	}
	qsort(v, REPEAT, sizeof(v[0]), cmp_double);
	t.median = v[REPEAT / 2];
	t.max = v[REPEAT - 1];
	return t;
}

/* Returns the first column of sql's first row on raw, or -1. */
static int64_t
raw_int(struct sqldb *raw, const char *sql)
{
	struct sqldb_stmt *st;
	int64_t v = -1;

	if ((st = sqldb_prepare(raw, sql)) != NULL && sqldb_step(st) == SQLDB_ROW)
		v = sqldb_column_int64(st, 0);
	sqldb_finalize(st);
	return v;
}

/* Reads the options. Returns 0, or 2 after saying what is wrong. */
static int
parse_args(int argc, char **argv, long long *rows, const char **path, int *keep,
    int *gen_only, int *writers)
{
	int ch;

	while ((ch = getopt(argc, argv, "n:d:f:kgw:")) != -1) {
		switch (ch) {
		case 'n':
			*rows = strtoll(optarg, NULL, 10);
			break;
		case 'd':
		case 'f':
			*path = optarg;
			break;
		case 'k':
			*keep = 1;
			break;
		case 'g':
			*gen_only = 1;
			break;
		case 'w':
			*writers = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: bench_logdb [-n ROWS] [-d DB] [-k] [-g] [-w WRITERS]\n");
			return 2;
		}
	}
	if (*rows < 1000 || *rows > 5000000 || *writers < 1 || *writers > 64) {
		fprintf(stderr, "bench_logdb: -n must be from 1000 to 5000000, -w from 1 to 64\n");
		return 2;
	}
	return 0;
}

/* Generates rows attempts through logdb_insert_batch, BATCH per
 * transaction, on a clock spanning 90 days. Returns the time it took in
 * ms, or -1. */
static double
generate_rows(struct logdb *db, long long rows)
{
	static struct run_record recs[BATCH];
	static struct gen gens[BATCH];
	uint64_t done;
	double t0;
	int i, k;

	clock_ms = (int64_t)time(NULL) * 1000 - 90LL * 86400 * 1000;
	clock_step = 90LL * 86400 * 1000 / rows;
	logdb_set_clock(db, bench_clock, NULL);
	t0 = now_ms();
	for (done = 0; done < (uint64_t)rows; ) {
		k = (uint64_t)rows - done < BATCH ? (int)((uint64_t)rows - done) : BATCH;
		for (i = 0; i < k; i++)
			generate(&recs[i], &gens[i], done + (uint64_t)i);
		if (logdb_insert_batch(db, recs, (size_t)k, NULL, NULL) < 0) {
			fprintf(stderr, "bench_logdb: insert failed at row %llu\n",
			    (unsigned long long)done);
			return -1;
		}
		done += (uint64_t)k;
		if (done % 100000 == 0)
			fprintf(stderr, "  %llu rows, %.0f s\n", (unsigned long long)done,
			    (now_ms() - t0) / 1000);
	}
	logdb_set_clock(db, NULL, NULL);
	return now_ms() - t0;
}

/* Removes the log at path: the SQLite file, or the log's tables in the
 * PostgreSQL database. Returns 0, or -1 after saying why. */
static int
db_remove(const char *path)
{
	enum sqldb_fail f;
	struct sqldb *s;
	char p[600], err[512];
	int rc;

	if (!sqldb_is_pg(path)) {
		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
		return 0;
	}
	if ((s = sqldb_open(path, 0, &f, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_logdb: %s\n", err);
		return -1;
	}
	if ((rc = sqldb_exec(s, "DROP TABLE IF EXISTS runs, totals, counts, sessions, patterns,"
	    " fix_lessons, model_stats, model_attempts, retired_unfixed, logdb_schema CASCADE")) < 0)
		fprintf(stderr, "bench_logdb: %s\n", sqldb_errmsg(s));
	sqldb_close(s);
	return rc;
}

/* Opens the database at path with rows attempts: reused when keep and it
 * has them, else made anew. Sets *gen_ms (0 when reused). Returns the
 * handle, or NULL after saying why. */
static struct logdb *
db_prepare(const char *path, long long rows, int keep, double *gen_ms)
{
	struct logdb_totals tot;
	struct logdb *db;
	char err[512];
	int have = -1;

	*gen_ms = 0;
	if (keep)
		have = logdb_file_version(path) == LOGDB_SCHEMA_VERSION ? 0 : -1;
	if (have < 0 && db_remove(path) < 0)
		return NULL;
	if ((db = logdb_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_logdb: %s\n", err);
		return NULL;
	}
	if (have == 0 && logdb_get_totals(db, &tot) == 0 && tot.runs == rows) {
		printf("reusing %s (%lld rows)\n", path, rows);
		return db;
	}
	if (have == 0)
		fprintf(stderr, "bench_logdb: %s has other rows; run without -k\n", path);
	else if ((*gen_ms = generate_rows(db, rows)) >= 0)
		return db;
	logdb_close(db);
	return NULL;
}

/* Opens the raw connection of the baselines and sets what the reports are
 * asked: the package list and limits as the service has them by default,
 * a page deep in the log, the longest session. Returns 0, or -1. */
static int
ctx_setup(struct ctx *c, const char *path)
{
	struct sqldb_stmt *st;
	enum sqldb_fail f;
	char err[512];
	FILE *pk;

	/* PostgreSQL plans from statistics that its autovacuum gathers a while
	 * after a large fill: gathered now, as a service running for a while
	 * has them (SQLite plans from its indexes alone). */
	if (sqldb_is_pg(path) && (c->raw = sqldb_open(path, 0, &f, err, sizeof(err))) != NULL) {
		if (sqldb_exec(c->raw, "ANALYZE") != 0)
			fprintf(stderr, "bench_logdb: ANALYZE: %s\n", sqldb_errmsg(c->raw));
		sqldb_close(c->raw);
	}
	if ((c->raw = sqldb_open(path, SQLDB_READONLY, &f, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_logdb: %s\n", err);
		return -1;
	}
	/* The baselines scan a million rows: more than a session's timeout. */
	if (sqldb_dialect(c->raw) == SQLDB_PG)
		sqldb_exec(c->raw, "SET statement_timeout = 0");
	c->env.packages_file = "runner_image/packages.txt";
	if ((pk = fopen(c->env.packages_file, "r")) == NULL)
		c->env.packages_file = NULL;
	else
		fclose(pk);
	c->env.limits.timeout_ms = 10000;
	c->env.limits.memory_bytes = 1073741824LL;
	c->env.limits.output_bytes = 33554432LL;
	c->deep_before = raw_int(c->raw, "SELECT MIN(id) + (MAX(id) - MIN(id)) / 10 FROM runs");
	snprintf(c->session, sizeof(c->session), "%s", "s1");
	if ((st = sqldb_prepare(c->raw, "SELECT session_id FROM sessions ORDER BY attempts DESC,"
	    " session_id LIMIT 1")) != NULL && sqldb_step(st) == SQLDB_ROW)
		snprintf(c->session, sizeof(c->session), "%s", sqldb_column_text(st, 0));
	sqldb_finalize(st);
	return 0;
}

/* Prints the table: each report next to its full-scan baseline. */
static void
print_reports(struct ctx *c)
{
	struct timing ours, base;
	int i;

	printf("| operation | ours: median ms | ours: max ms | baseline (full scan): median ms "
	    "| speed-up | target |\n|---|---:|---:|---:|---:|---|\n");
	for (i = 0; i < OP_COUNT; i++) {
		ours = time_it(c, (enum op)i, 0);
		base = time_it(c, (enum op)i, 1);
		if (ours.failed) {
			printf("| %s | failed | | | | %s |\n", op_names[i], targets[i]);
			continue;
		}
		if (base.failed)
			printf("| %s | %.2f | %.2f | - | - | %s |\n", op_names[i], ours.median,
			    ours.max, targets[i]);
		else
			printf("| %s | %.2f | %.2f | %.1f | %.0fx | %s |\n", op_names[i], ours.median,
			    ours.max, base.median, base.median / (ours.median > 0.001 ? ours.median :
			    0.001), targets[i]);
		fflush(stdout);
	}
}

/* Times SINGLES single-row inserts, as the responder makes them, and
 * prints p50 and p99. Returns 0, or -1. */
static int
print_singles(struct ctx *c, long long rows)
{
	static struct run_record rec;
	static struct gen g;
	double t0, single[SINGLES];
	int i;

	for (i = 0; i < SINGLES; i++) {
		generate(&rec, &g, (uint64_t)rows + (uint64_t)i);
		t0 = now_ms();
		if (logdb_insert(c->db, &rec, NULL, NULL) < 0) {
			fprintf(stderr, "bench_logdb: single insert failed\n");
			return -1;
		}
		single[i] = now_ms() - t0;
	}
	qsort(single, SINGLES, sizeof(single[0]), cmp_double);
	printf("| logdb_insert, one row per transaction (%d rows) | p50 %.3f | p99 %.3f | | | |\n",
	    SINGLES, single[SINGLES / 2], single[SINGLES * 99 / 100]);
	return 0;
}

/* Times writers processes inserting SINGLES / 2 rows each at once, one
 * row per transaction, each on a handle of its own, and prints the rows
 * per second of all together. Returns 0, or -1. */
static int
print_concurrent(const char *path, int writers, long long rows)
{
	pid_t pid[64];
	double t0, ms;
	int i, status, ok = 1;

	t0 = now_ms();
	for (i = 0; i < writers; i++)
		if ((pid[i] = fork()) == 0) {
			static struct run_record rec;
			static struct gen g;
			char err[512];
			struct logdb *db = logdb_open(path, err, sizeof(err));
			int k, bad = db == NULL;
			rng_state ^= (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL;
			for (k = 0; k < SINGLES / 2 && !bad; k++) {
				generate(&rec, &g, (uint64_t)rows + (uint64_t)(i * SINGLES + k));
				bad = logdb_insert(db, &rec, NULL, NULL) < 0;
			}
			logdb_close(db);
			_exit(bad);
		}
	for (i = 0; i < writers; i++)
		if (pid[i] < 0 || waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			ok = 0;
	ms = now_ms() - t0;
	if (!ok) {
		fprintf(stderr, "bench_logdb: a concurrent writer failed\n");
		return -1;
	}
	printf("| logdb_insert from %d processes at once, %d rows each | %.0f rows/s | | | | |\n",
	    writers, SINGLES / 2, (double)(writers * (SINGLES / 2)) / (ms / 1000));
	return 0;
}

/* Times retention of the oldest tenth of the rows (by age: the clock spans
 * 90 days) and prints it with the file's size before and after. Returns 0,
 * or -1. */
static int
print_retention(struct ctx *c)
{
	struct logdb_retain_stats st;
	char before[32], after[32];
	int64_t deleted = 0, used = -1, pages = 0;
	double t0, ms;
	int calls = 0;

	t0 = now_ms();
	do {
		if (logdb_retain(c->db, 81LL * 86400, 0, &st) < 0) {
			fprintf(stderr, "bench_logdb: retention failed\n");
			return -1;
		}
		if (used < 0)
			used = st.bytes_before;
		deleted += st.deleted;
		pages += st.pages_vacuumed;
		calls++;
	} while (st.more && calls < 100);
	ms = now_ms() - t0;
	printf("| logdb_retain: the oldest tenth by age, %lld rows in %d calls | %.0f ms "
	    "(%.0f rows/s) | | | | |\n", (long long)deleted, calls, ms,
	    ms > 0 ? (double)deleted / (ms / 1000) : 0);
	printf("\nRetention: %s %s before, %s after (%lld pages given back).\n",
	    sqldb_dialect(c->raw) == SQLDB_PG ? "the rows' bytes (estimated)" :
	    "the file's pages in use", size_words(before, sizeof(before), used),
	    size_words(after, sizeof(after), st.bytes_after), (long long)pages);
	return 0;
}

/* Prints whether the aggregates agree with the rows, and the log's size. */
static void
print_check(struct ctx *c)
{
	struct logdb_totals tot;
	char size[32];

	if (logdb_get_totals(c->db, &tot) < 0)
		memset(&tot, 0, sizeof(tot));
	else
		printf("\nCheck: totals say %lld runs, %lld failures, %lld fixed; the rows say %lld, "
		    "%lld, %lld.\n", (long long)tot.runs, (long long)tot.failures,
		    (long long)tot.fixed, (long long)raw_int(c->raw, "SELECT COUNT(*) FROM runs"),
		    (long long)raw_int(c->raw, "SELECT COUNT(*) FROM runs WHERE status <> 'success'"),
		    (long long)raw_int(c->raw, "SELECT COUNT(*) FROM runs WHERE fixed_by IS NOT NULL"));
	printf("Distinct patterns: %lld; sessions: %lld; %s: %s.\n", (long long)tot.patterns,
	    (long long)tot.sessions, sqldb_dialect(c->raw) == SQLDB_PG ? "database" : "file",
	    size_words(size, sizeof(size), raw_int(c->raw, sqldb_dialect(c->raw) == SQLDB_PG ?
	    "SELECT pg_database_size(current_database())" :
	    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")));
}

int
main(int argc, char **argv)
{
	const char *path = "/tmp/bench_logdb.db";
	long long rows = 1000000;
	double gen_ms;
	int keep = 0, gen_only = 0, rc = 1, writers = 4;
	struct ctx c;

	log_init("bench_logdb");
	if (parse_args(argc, argv, &rows, &path, &keep, &gen_only, &writers) != 0)
		return 2;
	memset(&c, 0, sizeof(c));
	if ((c.db = db_prepare(path, rows, keep, &gen_ms)) == NULL)
		goto out;
	if (gen_only) {
		printf("generated %lld rows in %.1f s\n", rows, gen_ms / 1000);
		rc = 0;
		goto out;
	}
	if (ctx_setup(&c, path) < 0)
		goto out;
	{
		char safe[300];
		printf("\n## logdb at %lld attempts (%s)\n\n", rows,
		    sqldb_safe_target(path, safe, sizeof(safe)));
	}
	if (gen_ms > 0)
		printf("Generated through logdb_insert_batch (%d per transaction) in %.1f s: "
		    "%.0f rows/s.\n\n", BATCH, gen_ms / 1000, (double)rows / (gen_ms / 1000));
	print_reports(&c);
	if (print_singles(&c, rows) < 0 || print_concurrent(path, writers, rows) < 0)
		goto out;
	print_check(&c);
	if (!keep && print_retention(&c) < 0)
		goto out;
	rc = 0;
out:
	sqldb_close(c.raw);
	logdb_close(c.db);
	return rc;
}
