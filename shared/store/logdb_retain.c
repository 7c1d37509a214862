/*
 * logdb_retain: retention. The oldest rows go, by age and by the file's
 * size, a batch per transaction, so writers of other processes (and of this
 * one: the handle's lock is given back between batches) go in between;
 * then the free pages are given back to the file system. The aggregates
 * are left as they are: they counted the rows at insert, and nothing
 * recounts them. What retention must remember of a row it lets go is the
 * facts of an unfixed failure (retired_unfixed), so that its session's
 * later success still marks it fixed everywhere it was counted. On
 * PostgreSQL the size is an estimate (logdb_used_bytes) and autovacuum,
 * not this, makes the space of the rows let go reusable.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/log.h"
#include "store/logdb_internal.h"

#define RETAIN_BATCH 500		/* rows per transaction */
#define VACUUM_STEPS 256		/* of 1024 pages each, per call (1 GiB of 4 KiB pages) */

/* How many of the oldest rows one batch may take: by age, those older than
 * cutoff (NULL: none), then by size, about those that take the excess
 * (excess > 0). */
struct batch_plan {
	const char *cutoff;
	int64_t excess, row_bytes;
};

/* Reads the oldest rows and picks the longest run of them the plan lets
 * go: *last the newest id of it, *at its created_at; counts by cause into
 * st. Returns how many, or -1. */
static int64_t
batch_pick(struct logdb *db, const struct batch_plan *plan, int64_t *last, char *at,
    size_t atlen, struct logdb_retain_stats *st)
{
	struct sqldb_stmt *q;
	int64_t n = 0, age = 0, size = 0, size_max;
	const char *created;
	int rc;

	if ((q = logdb_stmt(db, S_RETAIN_HEAD)) == NULL)
		return -1;
	size_max = plan->excess > 0 ? plan->excess / (plan->row_bytes > 0 ? plan->row_bytes : 1)
	    + 1 : 0;
	sqldb_bind_int64(q, 1, RETAIN_BATCH);
	while ((rc = sqldb_step(q)) == SQLDB_ROW) {
		created = (const char *)sqldb_column_text(q, 1);
		if (plan->cutoff != NULL && created != NULL && strcmp(created, plan->cutoff) < 0)
			age++;
		else if (size < size_max)
			size++;
		else
			break;
		*last = sqldb_column_int64(q, 0);
		logdb_col_copy(q, 1, at, atlen);
		n++;
	}
	sqldb_reset(q);
	if (rc != SQLDB_ROW && rc != SQLDB_DONE) {
		logdb_warn(db, "retention");
		return -1;
	}
	st->by_age += age;
	st->by_size += size;
	return n;
}

/* Runs a statement of one id parameter to its end. Returns 0 or -1. */
static int
exec_id(struct logdb *db, enum stmt_id id, int64_t v, const char *what)
{
	struct sqldb_stmt *st;

	if ((st = logdb_stmt(db, id)) == NULL)
		return -1;
	sqldb_bind_int64(st, 1, v);
	return logdb_step_done(db, st, what);
}

/* One batch, in its own transaction: picks the rows, keeps the facts of
 * their unfixed failures, deletes them, counts them in the totals. Returns
 * the rows let go (0: none left to go), or -1. */
static int64_t
retain_batch(struct logdb *db, const struct batch_plan *plan, struct logdb_retain_stats *st)
{
	char at[CLOCK_ISO_MAX] = "";
	int64_t last = 0, n = -1;
	struct sqldb_stmt *q;

	logdb_lock(db);
	if (logdb_begin(db, SQLDB_WRITE) < 0)
		goto out;
	if ((n = batch_pick(db, plan, &last, at, sizeof(at), st)) <= 0)
		goto end;
	if (exec_id(db, S_RETAIN_STUBS, last, "retention: unfixed failures") < 0 ||
	    exec_id(db, S_RETAIN_DELETE, last, "retention: delete") < 0 ||
	    exec_id(db, S_STUBS_CAP, LOGDB_RETIRED_UNFIXED, "retention: cap") < 0 ||
	    (q = logdb_stmt(db, S_RETAIN_TOTALS)) == NULL)
		goto fail;
	sqldb_bind_int64(q, 1, n);
	sqldb_bind_text(q, 2, at);
	if (logdb_step_done(db, q, "retention: totals") < 0)
		goto fail;
end:
	if (logdb_commit(db) < 0) {
		n = -1;
		goto out;
	}
	if (n > 0)
		st->deleted += n;
	goto out;
fail:
	logdb_rollback(db);
	n = -1;
out:
	logdb_unlock(db);
	return n;
}

/* Gives free pages back, VACUUM_STEPS steps at most (each its own write
 * transaction), then checkpoints without waiting so the file shrinks.
 * Returns 0, or 1 when free pages are left. PostgreSQL: nothing to do
 * (autovacuum makes the space of the rows let go reusable; the tables do
 * not shrink). */
static int
give_back(struct logdb *db, struct logdb_retain_stats *st)
{
	int64_t before, now = 0;
	int k, more = 0;

	if (logdb_is_pg(db))
		return 0;
	logdb_lock(db);
	before = logdb_int(db, S_FREELIST_COUNT);
	logdb_unlock(db);
	for (k = 0; before > 0 && k < VACUUM_STEPS; k++) {
		logdb_lock(db);
		if (logdb_exec(db, S_VACUUM_STEP) < 0 || (now = logdb_int(db, S_FREELIST_COUNT)) < 0)
			now = -1;
		logdb_unlock(db);
		if (now <= 0)
			break;
	}
	if (before > 0 && now >= 0) {
		st->pages_vacuumed = before - now;
		more = now > 0;
	}
	logdb_lock(db);
	logdb_exec(db, S_CHECKPOINT);
	logdb_unlock(db);
	return more;
}

int
logdb_retain(struct logdb *db, int64_t max_age_s, int64_t max_bytes,
    struct logdb_retain_stats *st)
{
	char cutoff[CLOCK_ISO_MAX];
	struct logdb_totals t;
	struct batch_plan plan = { NULL, 0, 0 };
	int64_t n = 1, used, rows;

	memset(st, 0, sizeof(*st));
	if (db == NULL || db->readonly)
		return -1;
	if (max_age_s > 0) {
		clock_iso8601(logdb_now_ms(db) - max_age_s * 1000, cutoff);
		plan.cutoff = cutoff;
	}
	logdb_lock(db);
	st->bytes_before = used = logdb_used_bytes(db);
	logdb_unlock(db);
	while (n > 0 && used >= 0) {
		if (st->deleted >= LOGDB_RETAIN_ROWS) {
			st->more = 1;
			break;
		}
		plan.excess = max_bytes > 0 && used > max_bytes ? used - max_bytes : 0;
		if (plan.excess > 0 && logdb_get_totals(db, &t) == 0) {
			rows = t.runs - t.rows_retired;
			plan.row_bytes = rows > 0 ? used / rows : used;
		}
		if ((n = retain_batch(db, &plan, st)) > 0)
			usleep(1000);	/* a writer waiting for the lock goes first */
		logdb_lock(db);
		used = logdb_used_bytes(db);
		logdb_unlock(db);
	}
	if (give_back(db, st))
		st->more = 1;
	logdb_lock(db);
	st->bytes_after = logdb_used_bytes(db);
	logdb_unlock(db);
	if (st->deleted > 0)
		log_info("logdb: retention let %lld rows go (%lld by age, %lld by size); "
		    "%lld free pages given back", (long long)st->deleted, (long long)st->by_age,
		    (long long)st->by_size, (long long)st->pages_vacuumed);
	return n < 0 || used < 0 ? -1 : 0;
}
