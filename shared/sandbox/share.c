#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/files.h"
#include "base/log.h"
#include "sandbox/share.h"
#include "base/text.h"

#define SHARE_MAGIC	0x53484152u
#define SHARE_VERSION	6
#define MAX_REQ		256	/* responders of the host */
#define MAX_CLIENTS	512	/* buckets kept; the least recent one is reused */
#define MAX_WAIT	256
#define LOOK_MS		100	/* a waiter looks again at least this often (a slot
				 * whose responder died is freed by the kernel,
				 * which wakes nobody) */
#define EWMA_WEIGHT	0.2	/* of the latest slot's hold in the typical one */

struct req {
	pid_t pid;		/* 0: free */
	uint64_t key;		/* the client */
	int client;		/* its bucket in client[] (its key's while it is there) */
	int has_slot;
	int answered;		/* its answer is out: no longer in flight for its client */
	int64_t slot_at_ms;	/* monotonic: when it took its slot */
};

struct client {
	uint64_t key;		/* 0: free */
	double tokens;
	int64_t at_ms;		/* real time of the last refill */
	int64_t served_ms;	/* monotonic: when it last took a slot (0: not lately) */
};

struct waiter {
	pid_t pid;		/* 0: free */
	uint64_t key;
	int client;		/* as its request's */
	int64_t ticket;
};

struct table {
	uint32_t magic, version;
	pthread_mutex_t lock;
	int64_t next_ticket;
	struct req req[MAX_REQ];
	struct client client[MAX_CLIENTS];
	struct waiter wait[MAX_WAIT];
	uint64_t counter[SHARE_COUNTERS];
	int log_failing;	/* the log did not take the last run's row */
	int64_t log_changes;	/* rows logged and retirements, atomically */
	double hold_ms;		/* how long a slot is held lately (0: not known yet) */
	pthread_cond_t freed;	/* a slot came free, or the line changed */
};

struct share {
	struct table *t;
	int slots;
	int64_t inflight, per_min, burst;
};

/* Makes a fresh table in the file fd (held under flock). */
static int
table_init(int fd)
{
	pthread_mutexattr_t a;
	pthread_condattr_t ca;
	struct table *t;

	if (ftruncate(fd, 0) < 0 || ftruncate(fd, sizeof(*t)) < 0)
		return -1;
	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED)
		return -1;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&t->lock, &a);
	pthread_mutexattr_destroy(&a);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->freed, &ca);
	pthread_condattr_destroy(&ca);
	t->version = SHARE_VERSION;
	__atomic_store_n(&t->magic, SHARE_MAGIC, __ATOMIC_RELEASE);
	munmap(t, sizeof(*t));
	return 0;
}

struct share *
share_open(const char *data_dir, int slots, int64_t inflight, int64_t per_min, int64_t burst)
{
	char path[600];
	struct share *s;
	struct stat st;
	uint32_t head[2] = { 0, 0 };
	int fd;

	if (snprintf(path, sizeof(path), "%s/share.map", data_dir) >= (int)sizeof(path) ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		goto fail;
	/* One process makes it; the others find it made. */
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
		goto fail;
	if ((st.st_size != (off_t)sizeof(struct table) || pread(fd, head, sizeof(head), 0) !=
	    (ssize_t)sizeof(head) || head[0] != SHARE_MAGIC || head[1] != SHARE_VERSION) &&
	    table_init(fd) < 0)
		goto fail;
	s->t = mmap(NULL, sizeof(*s->t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	flock(fd, LOCK_UN);
	if (s->t == MAP_FAILED)
		goto fail;
	close(fd);
	s->slots = slots;
	s->inflight = inflight;
	s->per_min = per_min;
	s->burst = burst;
	return s;
fail:
	log_warn("the share table %s", path);
	if (fd >= 0)
		close(fd);
	free(s);
	return NULL;
}

static void
lock(struct share *s)
{
	if (pthread_mutex_lock(&s->t->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&s->t->lock);	/* a responder died holding it */
}

static void
unlock(struct share *s)
{
	pthread_mutex_unlock(&s->t->lock);
}

/* Wakes the waiters: a slot came free, or the order of the line changed. */
static void
wake(struct share *s)
{
	pthread_cond_broadcast(&s->t->freed);
}

static int
gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Drops the requests and waiters of responders that died. */
static void
clean(struct table *t)
{
	int i;

	for (i = 0; i < MAX_REQ; i++)
		if (t->req[i].pid != 0 && gone(t->req[i].pid))
			memset(&t->req[i], 0, sizeof(t->req[i]));
	for (i = 0; i < MAX_WAIT; i++)
		if (t->wait[i].pid != 0 && gone(t->wait[i].pid))
			memset(&t->wait[i], 0, sizeof(t->wait[i]));
}

/* This responder's request entry, or a free one (NULL: none left). */
static struct req *
my_req(struct table *t, int take)
{
	pid_t me = getpid();
	int i, free_at = -1;

	for (i = 0; i < MAX_REQ; i++) {
		if (t->req[i].pid == me)
			return &t->req[i];
		if (t->req[i].pid == 0 && free_at < 0)
			free_at = i;
	}
	if (!take || free_at < 0)
		return NULL;
	t->req[free_at] = (struct req){ .pid = me };
	return &t->req[free_at];
}

/* key's bucket, refilled to now: found, or the least recent one reused. */
static struct client *
bucket(struct share *s, uint64_t key)
{
	struct table *t = s->t;
	int64_t now = clock_real_ms();
	struct client *c = NULL, *oldest = &t->client[0];
	int i;

	for (i = 0; i < MAX_CLIENTS && c == NULL; i++) {
		if (t->client[i].key == key)
			c = &t->client[i];
		else if (t->client[i].at_ms < oldest->at_ms)
			oldest = &t->client[i];
	}
	if (c == NULL) {
		c = oldest;
		*c = (struct client){ .key = key, .tokens = (double)s->burst, .at_ms = now };
	}
	c->tokens += (double)(now - c->at_ms) * (double)s->per_min / 60000.0;
	if (c->tokens > (double)s->burst)
		c->tokens = (double)s->burst;
	c->at_ms = now;
	return c;
}

enum share_refusal
share_enter(struct share *s, const char *client, int *retry_after_s)
{
	uint64_t key = hash_fnv1a64(client, strlen(client)) | 1;	/* never 0 */
	struct table *t = s->t;
	struct client *b;
	struct req *me;
	int i, n = 0;

	*retry_after_s = 0;
	lock(s);
	clean(t);
	if ((me = my_req(t, 1)) != NULL)
		*me = (struct req){ .pid = getpid() };	/* a request left over: replaced */
	for (i = 0; i < MAX_REQ; i++)
		n += t->req[i].pid != 0 && t->req[i].key == key && !t->req[i].answered;
	if (n >= s->inflight) {
		t->counter[SHARE_REFUSED_INFLIGHT]++;
		*retry_after_s = 2;
		unlock(s);
		return SHARE_INFLIGHT;
	}
	b = bucket(s, key);
	if (b->tokens < 1.0) {
		t->counter[SHARE_REFUSED_RATE]++;
		*retry_after_s = (int)ceil((1.0 - b->tokens) * 60.0 / (double)s->per_min);
		unlock(s);
		return SHARE_RATE;
	}
	b->tokens -= 1.0;
	if (me != NULL) {
		me->key = key;
		me->client = (int)(b - t->client);
	}
	unlock(s);
	return SHARE_OK;
}

void
share_answered(struct share *s)
{
	struct req *me;

	lock(s);
	if ((me = my_req(s->t, 0)) != NULL)
		me->answered = 1;
	unlock(s);
}

void
share_leave(struct share *s)
{
	struct req *me;

	lock(s);
	if ((me = my_req(s->t, 0)) != NULL)
		memset(me, 0, sizeof(*me));
	unlock(s);
	wake(s);	/* its client holds one fewer: the order may change */
}

/* Slots held by key's requests. */
static int
held(const struct table *t, uint64_t key)
{
	int i, n = 0;

	for (i = 0; i < MAX_REQ; i++)
		n += t->req[i].pid != 0 && t->req[i].key == key && t->req[i].has_slot;
	return n;
}

/* Client key's bucket, at index ix: NULL when it went to another client
 * since (or there is none). */
static struct client *
bucket_at(const struct table *t, int ix, uint64_t key)
{
	if (key == 0 || ix < 0 || ix >= MAX_CLIENTS || t->client[ix].key != key)
		return NULL;
	return (struct client *)&t->client[ix];
}

/* When w's client last took a slot (0: not since its bucket was made). */
static int64_t
served(const struct table *t, const struct waiter *w)
{
	const struct client *c = bucket_at(t, w->client, w->key);

	return c != NULL ? c->served_ms : 0;
}

/* Whether waiter v, whose client holds hv slots and last took one at sv,
 * goes before w (hw, sw): its client holds fewer slots; or as many, and
 * took its last one longer ago; or then it came first. Not by holdings
 * alone: when a client's run ends, it holds one fewer at that moment, and
 * with one slot (a host of one CPU) its next run, in line before the
 * other client's, took the slot back every time. */
static int
goes_before(const struct waiter *v, int hv, int64_t sv, const struct waiter *w, int hw,
    int64_t sw)
{
	if (hv != hw)
		return hv < hw;
	if (v->key != w->key && sv != sw)
		return sv < sw;
	return v->ticket < w->ticket;
}

/* Whether waiter w goes first: no live waiter goes before it. */
static int
my_turn(const struct table *t, const struct waiter *w)
{
	int mine = held(t, w->key), i, h;
	int64_t at = served(t, w);

	for (i = 0; i < MAX_WAIT; i++) {
		const struct waiter *v = &t->wait[i];
		if (v->pid == 0 || v == w)
			continue;
		h = v->key == w->key ? mine : held(t, v->key);
		if (goes_before(v, h, served(t, v), w, mine, at))
			return 0;
	}
	return 1;
}

/* Takes a waiter entry for this responder. NULL when the table is full. */
static struct waiter *
queue(struct share *s)
{
	struct table *t = s->t;
	struct req *me = my_req(t, 0);
	int i;

	for (i = 0; i < MAX_WAIT; i++)
		if (t->wait[i].pid == 0) {
			t->wait[i] = (struct waiter){ getpid(), me ? me->key : 0, me ? me->client : -1,
			    t->next_ticket++ };
			return &t->wait[i];
		}
	return NULL;
}

/* Drops this responder's waiter entry w (under the lock). */
static void
unqueue(struct waiter *w)
{
	if (w != NULL)
		memset(w, 0, sizeof(*w));
}

/* How many slots are held, and for how long the longest-held one has
 * been (ms). */
static int
slots_busy(const struct table *t, int64_t *longest_ms)
{
	int64_t now = clock_mono_ms();
	int i, n = 0;

	*longest_ms = 0;
	for (i = 0; i < MAX_REQ; i++) {
		if (t->req[i].pid == 0 || !t->req[i].has_slot)
			continue;
		n++;
		if (now - t->req[i].slot_at_ms > *longest_ms)
			*longest_ms = now - t->req[i].slot_at_ms;
	}
	return n;
}

/* Where w stands in line (under the lock): the waiters that go before it,
 * and, from how long a slot is held lately, when a slot would come to it:
 * the slot held longest frees first (what is left of its typical hold),
 * and each round of the slots after it frees as many as there are. */
static void
place_of(struct share *s, const struct waiter *w, struct share_place *at)
{
	const struct table *t = s->t;
	int mine = w != NULL ? held(t, w->key) : 0, i, h, free_now, rounds;
	int64_t longest, first, last = w != NULL ? served(t, w) : 0;

	memset(at, 0, sizeof(*at));
	for (i = 0; i < MAX_WAIT; i++) {
		const struct waiter *v = &t->wait[i];
		if (v->pid == 0)
			continue;
		at->waiting++;
		if (w == NULL || v == w)
			continue;
		h = v->key == w->key ? mine : held(t, v->key);
		at->position += goes_before(v, h, served(t, v), w, mine, last);
	}
	at->position++;
	free_now = s->slots - slots_busy(t, &longest);
	if (at->position <= free_now || t->hold_ms <= 0)
		return;
	first = (int64_t)t->hold_ms - longest;
	rounds = (at->position - (free_now > 0 ? free_now : 0) - 1) / s->slots;
	at->expected_ms = (first > 0 ? first : 0) + (int64_t)(rounds * t->hold_ms);
}

/* Waits on the table's condition until woken or until_ms (monotonic), at
 * most LOOK_MS. Under the lock. */
static void
doze(struct share *s, int64_t until_ms)
{
	int64_t now = clock_mono_ms(), ms = until_ms - now;
	struct timespec ts;

	if (ms > LOOK_MS)
		ms = LOOK_MS;
	if (ms <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_cond_timedwait(&s->t->freed, &s->t->lock, &ts) == EOWNERDEAD)
		pthread_mutex_consistent(&s->t->lock);
}

/* The slot fd is this responder's now (under the lock). */
static void
took_slot(struct share *s, struct waiter *w)
{
	struct req *me = my_req(s->t, 1);
	struct client *c;

	if (me != NULL) {
		me->has_slot = 1;
		me->slot_at_ms = clock_mono_ms();
		if ((c = bucket_at(s->t, me->client, me->key)) != NULL)
			c->served_ms = me->slot_at_ms;
	}
	unqueue(w);
}

/* Asks still() where the waiter stands (off the lock). Returns -1 when the
 * request no longer wants a slot. */
static int
ask_still(struct share *s, int (*still)(void *, const struct share_place *), void *arg,
    const struct share_place *at)
{
	int rc;

	if (still == NULL)
		return 0;
	unlock(s);
	rc = still(arg, at);
	lock(s);
	return rc;
}

int
share_slot_wait(struct share *s, const char *slots_dir, int64_t wait_ms,
    int (*still)(void *arg, const struct share_place *at), void *arg, int64_t *expected_ms)
{
	int64_t deadline = clock_mono_ms() + wait_ms, next_ask = 0;
	struct share_place at, said = { -1, -1, -1 };
	struct waiter *w;
	int fd;

	*expected_ms = 0;
	lock(s);
	clean(s->t);
	w = queue(s);
	place_of(s, w, &at);
	/* A line that cannot reach this request in time: refused now, with
	 * when to come back, rather than after the whole wait. */
	if (at.expected_ms > wait_ms) {
		*expected_ms = at.expected_ms;
		unqueue(w);
		s->t->counter[SHARE_REFUSED_BUSY]++;
		unlock(s);
		wake(s);
		return -4;
	}
	for (;;) {
		/* Each responder looks from a place of its own (its pid). */
		if ((w == NULL || my_turn(s->t, w)) &&
		    (fd = lock_one_of(slots_dir, s->slots, (int)getpid())) >= 0) {
			took_slot(s, w);
			unlock(s);
			wake(s);	/* the next in line may be first now */
			return fd;
		}
		if (clock_mono_ms() >= deadline) {
			unqueue(w);
			s->t->counter[SHARE_REFUSED_BUSY]++;
			unlock(s);
			wake(s);
			return -2;
		}
		place_of(s, w, &at);
		if (memcmp(&at, &said, sizeof(at)) != 0 || clock_mono_ms() >= next_ask) {
			said = at;
			next_ask = clock_mono_ms() + LOOK_MS;
			if (ask_still(s, still, arg, &at) < 0) {
				unqueue(w);
				unlock(s);
				wake(s);
				return -3;
			}
			continue;
		}
		doze(s, deadline);
	}
}

void
share_slot_release(struct share *s, int fd)
{
	struct req *me;
	double held_ms;

	if (fd < 0)
		return;
	lock(s);
	if ((me = my_req(s->t, 0)) != NULL && me->has_slot) {
		me->has_slot = 0;
		held_ms = (double)(clock_mono_ms() - me->slot_at_ms);
		s->t->hold_ms = s->t->hold_ms <= 0 ? held_ms :
		    (1 - EWMA_WEIGHT) * s->t->hold_ms + EWMA_WEIGHT * held_ms;
	}
	unlock(s);
	close(fd);	/* the only descriptor: the lock goes with it */
	wake(s);
}

void
share_count(struct share *s, enum share_counter c)
{
	if (s == NULL)
		return;
	lock(s);
	s->t->counter[c]++;
	unlock(s);
}

void
share_log_outcome(struct share *s, int logged)
{
	if (s == NULL)
		return;
	lock(s);
	s->t->log_failing = !logged;
	if (!logged)
		s->t->counter[SHARE_RUNS_UNLOGGED]++;
	unlock(s);
	if (logged)
		share_log_changed(s);
}

void
share_log_changed(struct share *s)
{
	if (s != NULL)
		__atomic_add_fetch(&s->t->log_changes, 1, __ATOMIC_RELEASE);
}

int64_t
share_log_changes(struct share *s)
{
	return s != NULL ? __atomic_load_n(&s->t->log_changes, __ATOMIC_ACQUIRE) : -1;
}

void
share_stats(struct share *s, struct share_stats *out)
{
	uint64_t keys[MAX_REQ];
	int i, k, nkeys = 0;

	memset(out, 0, sizeof(*out));
	lock(s);
	clean(s->t);
	for (i = 0; i < MAX_REQ; i++) {
		const struct req *r = &s->t->req[i];
		if (r->pid == 0)
			continue;
		out->slots_busy += r->has_slot;
		out->hold_ms = (int64_t)s->t->hold_ms;
		if (r->key == 0 || r->answered)
			continue;
		out->inflight++;
		for (k = 0; k < nkeys && keys[k] != r->key; k++)
			;
		if (k == nkeys)
			keys[nkeys++] = r->key;
	}
	out->clients = nkeys;
	for (i = 0; i < MAX_WAIT; i++)
		out->waiting += s->t->wait[i].pid != 0;
	memcpy(out->counter, s->t->counter, sizeof(out->counter));
	out->log_failing = s->t->log_failing;
	unlock(s);
}
