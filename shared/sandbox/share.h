/*
 * share: a client's share of the host, decided in one place. Every
 * responder of the host maps one small table (DATA/share.map) and, under
 * its process-shared lock, keeps:
 *
 *  - the requests in progress (runs and assists), by responder and client:
 *    a client may have IMGSANDBOX_CLIENT_INFLIGHT of them at once;
 *  - each client's token bucket: IMGSANDBOX_CLIENT_RUNS_PER_MIN, with
 *    IMGSANDBOX_CLIENT_BURST at once after a quiet while;
 *  - who waits for a sandbox slot, served fairly: a free slot goes to the
 *    waiter whose client holds the fewest slots, then the one that came
 *    first; waiters sleep on a condition of the table, woken when a slot is
 *    freed. The slots themselves stay flock'd files (DATA/slots/slot-N):
 *    the kernel frees one whose responder died. How long a slot is held
 *    lately says how long the line takes.
 *  - the host's counters for the metrics: refusals by reason, runs not
 *    logged; and whether the log took the last run's row (any responder's:
 *    health is answered by one that may not have written for a while).
 *
 * An entry whose responder died is dropped the next time anyone looks.
 */
#ifndef SHARE_H
#define SHARE_H

#include <stddef.h>
#include <stdint.h>

enum share_refusal {
	SHARE_OK = 0,
	SHARE_INFLIGHT,		/* the client has as many requests in progress as it may */
	SHARE_RATE,		/* the client started as many as it may this minute */
	SHARE_BUSY,		/* every slot stayed taken while it waited */
	SHARE_REFUSALS
};

enum share_counter {
	SHARE_REFUSED_INFLIGHT,
	SHARE_REFUSED_RATE,
	SHARE_REFUSED_BUSY,
	SHARE_RUNS_UNLOGGED,	/* runs the log could not take */
	SHARE_COUNTERS
};

struct share_stats {
	int slots_busy, waiting, inflight, clients;
	int64_t hold_ms;	/* how long a slot is held lately (0: not known yet) */
	int log_failing;	/* the log did not take the last run's row */
	uint64_t counter[SHARE_COUNTERS];
};

struct share;

/* Maps DATA/share.map under data_dir (made by the first process), with
 * these limits. Returns a handle, or NULL with errno (logged). */
struct share *share_open(const char *data_dir, int slots, int64_t inflight,
    int64_t per_min, int64_t burst);

/* A request of client (its address) starts: counted against its in-flight
 * cap and its rate. Returns SHARE_OK, or the refusal with *retry_after_s
 * set (seconds). A responder has one request at a time: a second enter
 * without leave replaces the first. */
enum share_refusal share_enter(struct share *s, const char *client, int *retry_after_s);

/* The request of this responder has its answer out: it no longer counts
 * against its client's cap (its slot stays held until released). */
void share_answered(struct share *s);

/* The request of this responder ended (its slot, if any, released first). */
void share_leave(struct share *s);

/* Where a request waiting for a slot stands. */
struct share_place {
	int position;		/* 1: next */
	int waiting;		/* requests waiting in all */
	int64_t expected_ms;	/* until a slot comes to it, from how long a slot is held
				 * lately (0: now, or not known yet) */
};

/* Waits for a slot in line, at most wait_ms: a free slot goes to the
 * waiter whose client holds the fewest, then to the first come. Asks
 * still(arg, place) (when not NULL) whenever its place changes and about
 * every 100 ms whether the request still wants one (-1: no). Returns the
 * locked slot file's descriptor (release it with share_slot_release); -4
 * at once when the line is too long to reach it within wait_ms
 * (*expected_ms: when it would have), -2 when none came in time, -3 when
 * still() said no, -1 on an error. */
int share_slot_wait(struct share *s, const char *slots_dir, int64_t wait_ms,
    int (*still)(void *arg, const struct share_place *at), void *arg, int64_t *expected_ms);
void share_slot_release(struct share *s, int fd);

/* Adds one to a counter. */
void share_count(struct share *s, enum share_counter c);

/* A run's row was logged (1) or not (0): the host's log_failing follows
 * the last one, and a row not logged counts in SHARE_RUNS_UNLOGGED. A
 * logged row is a change of the log (share_log_changes). */
void share_log_outcome(struct share *s, int logged);

/* The log changed other than by a run's row (rows retired). */
void share_log_changed(struct share *s);

/* How many times this host's responders changed the log since the table
 * was made: a reader of an SQLite log (which only this host writes) may
 * keep what it made from it while this stays the same. A read without the
 * lock. Returns it, or -1 when s is NULL. */
int64_t share_log_changes(struct share *s);

/* What the table holds now. */
void share_stats(struct share *s, struct share_stats *out);

#endif
