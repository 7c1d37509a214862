/*
 * metrics_api: GET /api/metrics, the Prometheus text format (version
 * 0.0.4). Operator access (access.c). Every figure is read from state kept
 * anyway, so a scrape is cheap: the log's totals and histogram (kept at
 * insert), the host's share table, the warm pool's state file.
 *
 *   imgsandbox_runs_total{status}                 the log's rows by status
 *   imgsandbox_run_duration_seconds (histogram)   of runs that reached a sandbox
 *   imgsandbox_log_rows                           rows in the log
 *   imgsandbox_runs_unlogged_total                runs the log could not take
 *   imgsandbox_slots, imgsandbox_slots_busy, imgsandbox_slot_waiters
 *   imgsandbox_requests_in_flight, imgsandbox_clients_in_flight
 *   imgsandbox_refused_total{reason}              429s: in_flight, rate, busy
 *   imgsandbox_warm_ready, imgsandbox_warm_starting, imgsandbox_warm_size
 *   imgsandbox_warm_started_total, imgsandbox_warm_failed_starts_total
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "store/logdb.h"
#include "sandbox/share.h"
#include "http.h"
#include "handlers.h"
#include "service.h"

/* A growing text. */
struct text {
	char *buf;
	size_t len, cap;
	int failed;
};

static void
put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *grown;
	int n;

	for (;;) {
		if (t->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		if (n < 0 || (grown = realloc(t->buf, t->cap * 2 + (size_t)n)) == NULL) {
			t->failed = 1;
			return;
		}
		t->buf = grown;
		t->cap = t->cap * 2 + (size_t)n;
	}
}

static void
head(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The log's figures: rows by status, the duration histogram. */
static void
log_metrics(struct text *t)
{
	struct logdb_count c[LOGDB_DURATION_BUCKETS];
	struct logdb_totals tot;
	int64_t cum = 0, b;
	size_t n = 0, i;

	if (svc.db == NULL || logdb_get_totals(svc.db, &tot) < 0)
		return;
	head(t, "imgsandbox_log_rows", "gauge", "Rows in the execution log.");
	put(t, "imgsandbox_log_rows %lld\n", (long long)tot.runs);
	head(t, "imgsandbox_runs_total", "counter", "Runs and refused requests, by status.");
	if (logdb_get_counts(svc.db, LOGDB_BY_STATUS, c, LOGDB_DURATION_BUCKETS, &n) == 0)
		for (i = 0; i < n; i++)
			put(t, "imgsandbox_runs_total{status=\"%s\"} %lld\n", c[i].key,
			    (long long)c[i].n);
	head(t, "imgsandbox_run_duration_seconds", "histogram",
	    "How long runs that reached a sandbox took.");
	if (logdb_get_counts(svc.db, LOGDB_BY_DURATION, c, LOGDB_DURATION_BUCKETS, &n) < 0)
		return;
	/* The store gives each bucket's own count, keyed by its bound (only
	 * buckets with runs); every bound is printed, cumulative. */
	for (b = 0; b < LOGDB_DURATION_BUCKETS - 1; b++) {
		for (i = 0; i < n; i++)
			if (strtoll(c[i].key, NULL, 10) == logdb_duration_bound((int)b))
				cum += c[i].n;
		put(t, "imgsandbox_run_duration_seconds_bucket{le=\"%g\"} %lld\n",
		    logdb_duration_bound((int)b) / 1000.0, (long long)cum);
	}
	put(t, "imgsandbox_run_duration_seconds_bucket{le=\"+Inf\"} %lld\n", (long long)tot.ran);
	put(t, "imgsandbox_run_duration_seconds_sum %.3f\n", tot.dur_sum / 1000.0);
	put(t, "imgsandbox_run_duration_seconds_count %lld\n", (long long)tot.ran);
}

static void
share_metrics(struct text *t)
{
	static const char *const why[] = { "in_flight", "rate", "busy" };
	struct share_stats st;
	int i;

	if (svc.share == NULL)
		return;
	share_stats(svc.share, &st);
	head(t, "imgsandbox_slots", "gauge", "Sandboxes that may run at once on this host.");
	put(t, "imgsandbox_slots %lld\n", (long long)cfg.slots);
	head(t, "imgsandbox_slots_busy", "gauge", "Slots held by a run (until nothing of its sandbox runs).");
	put(t, "imgsandbox_slots_busy %d\n", st.slots_busy);
	head(t, "imgsandbox_slot_waiters", "gauge", "Requests waiting for a slot.");
	put(t, "imgsandbox_slot_waiters %d\n", st.waiting);
	head(t, "imgsandbox_requests_in_flight", "gauge", "Runs and assists in progress.");
	put(t, "imgsandbox_requests_in_flight %d\n", st.inflight);
	head(t, "imgsandbox_clients_in_flight", "gauge", "Clients with a run or assist in progress.");
	put(t, "imgsandbox_clients_in_flight %d\n", st.clients);
	head(t, "imgsandbox_refused_total", "counter", "Requests refused with 429, by reason.");
	for (i = 0; i < 3; i++)
		put(t, "imgsandbox_refused_total{reason=\"%s\"} %llu\n", why[i],
		    (unsigned long long)st.counter[SHARE_REFUSED_INFLIGHT + i]);
	head(t, "imgsandbox_runs_unlogged_total", "counter", "Runs the log could not take.");
	put(t, "imgsandbox_runs_unlogged_total %llu\n",
	    (unsigned long long)st.counter[SHARE_RUNS_UNLOGGED]);
}

/* The pool of the broker's state (DATA/engine/state.json, written by fcgi/sandboxd.c each second). */
static void
warm_metrics(struct text *t)
{
	static const struct { const char *key, *name, *type, *help; } m[] = {
		{ "size", "imgsandbox_warm_size", "gauge", "Warm sandboxes the host keeps." },
		{ "ready", "imgsandbox_warm_ready", "gauge", "Warm sandboxes ready for a job." },
		{ "starting", "imgsandbox_warm_starting", "gauge", "Warm sandboxes starting." },
		{ "started", "imgsandbox_warm_started_total", "counter", "Warm sandboxes started." },
		{ "failed_starts", "imgsandbox_warm_failed_starts_total", "counter",
		  "Warm sandboxes that failed to start." },
	};
	char path[700], buf[2048];
	const cJSON *v;
	cJSON *o;
	ssize_t n;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/engine/state.json", cfg.data_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if ((o = cJSON_Parse(buf)) == NULL)
		return;
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (!cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, m[i].key)))
			continue;
		head(t, m[i].name, m[i].type, m[i].help);
		put(t, "%s %lld\n", m[i].name, (long long)v->valuedouble);
	}
	cJSON_Delete(o);
}

int
metrics_handle(FCGX_Request *r, const char *method)
{
	struct text t = { NULL, 0, 8192, 0 };
	int rc;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return http_error_with(r, 405, "method_not_allowed", "Allow: GET, HEAD\r\n", "use GET");
	if ((t.buf = malloc(t.cap)) == NULL)
		return http_error(r, 500, "internal", "out of memory");
	t.buf[0] = '\0';
	log_metrics(&t);
	share_metrics(&t);
	warm_metrics(&t);
	if (t.failed)
		rc = http_error(r, 500, "internal", "out of memory");
	else
		rc = http_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", t.buf, t.len);
	free(t.buf);
	return rc;
}
