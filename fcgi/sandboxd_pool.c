/*
 * sandboxd_pool: the broker's sandboxes before they are handed out. One
 * thread keeps IMGSANDBOX_WARM of them started ahead (a few at a time),
 * reads each one's READY line and checks its facts, retires those idle for
 * IMGSANDBOX_WARM_IDLE_S, and starts one at once for each asker that found
 * none ready: an asker takes whichever is ready first, the one it caused or
 * one that was already starting, never one wait and then another. Askers
 * are served in the order they came.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/files.h"
#include "base/log.h"
#include "engine/ready.h"
#include "sandboxd.h"

#define WARM_STARTING_MAX 2	/* refills of the warm pool starting at once */
#define RETRY_MS 5000		/* after a failed start, before the next */

struct pool pool = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
    .wake_fd = -1 };
const struct engine_ops *eng;
char boxes_root[600];
char state_path[600];
static char state_said[400];	/* what the state file says, but its time */
static int64_t last_ready_ms;	/* when a box last became ready (monotonic) */

int64_t
pool_last_ready(void)
{
	int64_t t;

	pthread_mutex_lock(&pool.mu);
	t = last_ready_ms;
	pthread_mutex_unlock(&pool.mu);
	return t;
}

/* An asker waiting in line (on its own thread's stack). */
struct waiter {
	struct box *given;
	struct waiter *next;
};
static struct waiter *queue_head, **queue_tail = &queue_head;
static int queue_len;

void
pool_wake(void)
{
	uint64_t one = 1;

	/* Full (it never is: the thread reads it each round) or gone: either
	 * way the thread wakes within a second. */
	if (pool.wake_fd >= 0 && write(pool.wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* ---- A box --------------------------------------------------------------- */

static int
new_id(char out[ENGINE_ID_LEN + 1])
{
	unsigned char raw[ENGINE_ID_LEN / 2];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[ENGINE_ID_LEN] = '\0';
	return 0;
}

/* The box's folders: dir (the broker's; the service's group may pass),
 * code/ and input/ (the service's group writes the job's files into them;
 * others, the sandbox's user among them, read). The set-group-id bit of
 * the boxes' root gives them the service's group. Returns 0 or -1. */
static int
box_folders(struct engine_box *eb)
{
	if (snprintf(eb->dir, sizeof(eb->dir), "%s/%s", boxes_root, eb->id) >= (int)sizeof(eb->dir) ||
	    snprintf(eb->code_dir, sizeof(eb->code_dir), "%s/code", eb->dir) >=
	    (int)sizeof(eb->code_dir) ||
	    snprintf(eb->input_dir, sizeof(eb->input_dir), "%s/input", eb->dir) >=
	    (int)sizeof(eb->input_dir))
		return -1;
	if (mkdir(eb->dir, 0750) < 0 || mkdir(eb->code_dir, 0775) < 0 ||
	    mkdir(eb->input_dir, 0775) < 0 || chmod(eb->code_dir, 02775) < 0 ||
	    chmod(eb->input_dir, 02775) < 0) {
		remove_tree(eb->dir);
		return -1;
	}
	return 0;
}

struct box *
box_new(void)
{
	struct box *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->eb.in_fd = b->eb.out_fd = b->eb.err_fd = -1;
	/* Past this the reaper of a later broker may remove it. */
	b->eb.deadline_epoch = (int64_t)time(NULL) + cfg.warm_idle_s +
	    (cfg.start_timeout_ms + cfg.timeout_ms) / 1000 + 60;
	if (new_id(b->eb.id) < 0 || box_folders(&b->eb) < 0) {
		log_warn("a sandbox's folders under %s", boxes_root);
		free(b);
		return NULL;
	}
	if (eng->start(&b->eb) < 0) {
		remove_tree(b->eb.dir);
		free(b);
		return NULL;
	}
	b->created_ms = clock_mono_ms();
	return b;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void
box_destroy(struct box *b)
{
	if (b == NULL)
		return;
	close_fd(&b->eb.in_fd);		/* a ready one's entry.py then ends */
	close_fd(&b->eb.out_fd);
	close_fd(&b->eb.err_fd);
	(void)eng->remove(&b->eb);
	remove_tree(b->eb.dir);
	free(b);
}

/* Destroys boxes off the pool's thread (a removal takes the engine's
 * time): the array v of n is freed too. */
static void *
destroy_main(void *arg)
{
	struct box **v = arg;

	for (int i = 0; v[i] != NULL; i++)
		box_destroy(v[i]);
	free(v);
	return NULL;
}

static void
destroy_later(struct box **v, int n)
{
	struct box **copy;
	pthread_attr_t at;
	pthread_t t;

	if (n == 0)
		return;
	if ((copy = calloc((size_t)n + 1, sizeof(*copy))) == NULL) {
		for (int i = 0; i < n; i++)
			box_destroy(v[i]);
		return;
	}
	memcpy(copy, v, (size_t)n * sizeof(*copy));
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, destroy_main, copy) != 0)
		destroy_main(copy);
	pthread_attr_destroy(&at);
}

/* ---- The READY line ------------------------------------------------------ */

/* Whether the facts of b's READY line are a sandbox's. Returns 0, or -1
 * with why in msg. */
static int
facts_hold(const struct box *b, char *msg, size_t msglen)
{
	const char *json = b->ready.facts;

	while (*json == ' ')
		json++;
	if (*json == '\0') {
		snprintf(msg, msglen, "a sandbox said READY without its facts (an image older "
		    "than this service: rebuild it with 'make runner-image')");
		return -1;
	}
	/* The Docker engine's own AppArmor profile applies where the host has
	 * AppArmor; the fork-server has no profile of its own. */
	return ready_facts_ok(json, strlen(json), strcmp(eng->name, "docker") == 0 &&
	    ready_host_apparmor(), msg, msglen) == 1 ? 0 : -1;
}

/* The engine's complaint, from what a box printed on stderr before it
 * ended, in words that name the fix. */
static void
start_failure(const struct box *b, char *msg, size_t msglen)
{
	char text[sizeof(b->err) + 1];

	memcpy(text, b->err, b->err_len);
	text[b->err_len] = '\0';
	if (strstr(text, "Cannot connect to the Docker daemon") != NULL)
		snprintf(msg, msglen, "the container engine does not answer; start it "
		    "(e.g. 'dockerd &' or 'systemctl start docker')");
	else if (strstr(text, "No such image") != NULL)
		snprintf(msg, msglen, "the runner image %s is missing; build it with "
		    "'make runner-image' (runner_image/build.sh)", cfg.image);
	else {
		text[strcspn(text, "\n")] = '\0';
		snprintf(msg, msglen, "a sandbox ended before it was ready: %.300s",
		    text[0] != '\0' ? text : "(it said nothing)");
	}
}

/* Reads what a starting box printed. Returns 1 when it is ready now, 0
 * when not yet, -1 when it must go (msg says why). */
static int
read_starting(struct box *b, char *msg, size_t msglen)
{
	char buf[4096];
	ssize_t n;
	int r = 0;

	while (b->eb.err_fd >= 0 && (n = read(b->eb.err_fd, buf, sizeof(buf))) > 0) {
		size_t k = sizeof(b->err) - b->err_len < (size_t)n ?
		    sizeof(b->err) - b->err_len : (size_t)n;
		memcpy(b->err + b->err_len, buf, k);
		b->err_len += k;
	}
	while (r == 0 && (n = read(b->eb.out_fd, buf, sizeof(buf))) > 0)
		r = ready_line_feed(&b->ready, buf, (size_t)n);
	if (r < 0) {
		snprintf(msg, msglen, "a sandbox's READY line was not ours (too long)");
		return -1;
	}
	if (r == 1)
		return facts_hold(b, msg, msglen) == 0 ? 1 : -1;
	if (eng->wait(&b->eb, 0) == 1 || n == 0) {
		start_failure(b, msg, msglen);
		return -1;
	}
	return 0;
}

/* ---- The pool's thread -------------------------------------------------- */

static void pool_state_changed(void);

static void
drop_at(int i)
{
	memmove(pool.box + i, pool.box + i + 1, (size_t)(pool.n - i - 1) * sizeof(pool.box[0]));
	pool.n--;
}

static int
count_ready(void)
{
	int k = 0;

	for (int i = 0; i < pool.n; i++)
		k += pool.box[i]->ready_ms != 0;
	return k;
}

/* Gives the oldest ready boxes to the askers in line, first come first.
 * Under mu. */
static void
assign(void)
{
	struct waiter *w;
	int i;

	while (queue_head != NULL) {
		/* The oldest ready one whose processes still run. */
		for (i = 0; i < pool.n && (pool.box[i]->ready_ms == 0 ||
		    eng->wait(&pool.box[i]->eb, 0) == 1); i++)
			;
		if (i == pool.n)
			return;
		w = queue_head;
		if ((queue_head = w->next) == NULL)
			queue_tail = &queue_head;
		queue_len--;
		w->given = pool.box[i];
		drop_at(i);
		pool.handed_out++;
	}
}

/* Looks at every starting box (under mu): ready now, or gone. Those that
 * go are put in out (at most POOL_MAX); returns how many. */
static int
tend_starting(struct box **out)
{
	char msg[400];
	int i, r, k = 0;

	for (i = pool.n - 1; i >= 0; i--) {
		struct box *b = pool.box[i];
		if (b->ready_ms != 0)
			continue;
		if ((r = read_starting(b, msg, sizeof(msg))) == 1) {
			b->ready_ms = clock_mono_ms();
			last_ready_ms = b->ready_ms;
			pool.engine_ok = 1;
			pool.problem[0] = '\0';
			continue;
		}
		if (r == 0)
			continue;
		log_warnx("sandbox %s: %s", b->eb.id, msg);
		snprintf(pool.problem, sizeof(pool.problem), "%s", msg);
		pool.engine_ok = 0;
		pool.failed++;
		pool.retry_at = clock_mono_ms() + RETRY_MS;
		drop_at(i);
		out[k++] = b;
	}
	return k;
}

/* Lets go of ready boxes that died (killed from outside, the engine gone),
 * have been idle for IMGSANDBOX_WARM_IDLE_S since they were ready, or are
 * beyond what the pool keeps with nobody waiting. Returns how many it put
 * in out (which has room for POOL_MAX - k0). */
static int
tend_ready(struct box **out, int k0)
{
	int64_t now = clock_mono_ms();
	int i, k = k0, extra = count_ready() - (int)cfg.warm;

	for (i = 0; i < pool.n; i++) {
		struct box *b = pool.box[i];
		if (b->ready_ms == 0)
			continue;
		if (eng->wait(&b->eb, 0) == 1) {
			log_warnx("sandbox %s ended while it waited for a job", b->eb.id);
			pool.failed++;
		} else if (now - b->ready_ms >= cfg.warm_idle_s * 1000 || extra > 0) {
			extra--;
			pool.retired++;
		} else {
			continue;
		}
		drop_at(i--);
		out[k++] = b;
	}
	return k;
}

/* How many boxes to start now (under mu): one for each new asker, and
 * refills of the warm pool a few at a time. */
static int
starts_due(void)
{
	int starting = pool.n - count_ready(), refill = 0, n;

	if (pool.stopping)
		return 0;
	if (clock_mono_ms() >= pool.retry_at) {
		refill = (int)cfg.warm - pool.n;
		if (refill > WARM_STARTING_MAX - starting)
			refill = WARM_STARTING_MAX - starting;
		if (refill < 0)
			refill = 0;
	}
	n = pool.wanted + refill;
	pool.wanted = 0;
	if (n > POOL_MAX - pool.n)
		n = POOL_MAX - pool.n;
	return n;
}

/* Starts n boxes (off the lock: a start forks a client) and adds them. */
static void
start_boxes(int n)
{
	struct box *b;

	for (int i = 0; i < n; i++) {
		b = box_new();
		pthread_mutex_lock(&pool.mu);
		if (b == NULL) {
			pool.failed++;
			pool.retry_at = clock_mono_ms() + RETRY_MS;
		} else if (pool.n < POOL_MAX && !pool.stopping) {
			pool.box[pool.n++] = b;
			pool.started++;
			b = NULL;
		}
		pthread_mutex_unlock(&pool.mu);
		if (b != NULL)
			box_destroy(b);
	}
}

/* Waits for a starting box's output, a wake-up or a second. */
static void
wait_round(void)
{
	struct pollfd p[1 + 2 * POOL_MAX];
	uint64_t v;
	int n = 0;

	p[n++] = (struct pollfd){ .fd = pool.wake_fd, .events = POLLIN };
	pthread_mutex_lock(&pool.mu);
	for (int i = 0; i < pool.n; i++) {
		if (pool.box[i]->ready_ms != 0) {
			/* A ready one prints nothing: its end (a hang-up) is news. */
			p[n++] = (struct pollfd){ .fd = pool.box[i]->eb.out_fd, .events = 0 };
			continue;
		}
		p[n++] = (struct pollfd){ .fd = pool.box[i]->eb.out_fd, .events = POLLIN };
		if (pool.box[i]->eb.err_fd >= 0)
			p[n++] = (struct pollfd){ .fd = pool.box[i]->eb.err_fd, .events = POLLIN };
	}
	pthread_mutex_unlock(&pool.mu);
	/* Fds of boxes handed out meanwhile are the askers' now: poll only
	 * reads readiness, and the round looks again under the lock. */
	if (poll(p, (nfds_t)n, 1000) > 0 && (p[0].revents & POLLIN) &&
	    read(pool.wake_fd, &v, sizeof(v)) < 0)
		return;		/* nothing to read: another round will look */
}

void *
pool_main(void *arg)
{
	struct box *gone[POOL_MAX];
	int k, due;

	(void)arg;
	for (;;) {
		wait_round();
		pthread_mutex_lock(&pool.mu);
		k = tend_starting(gone);
		assign();
		k = tend_ready(gone, k);
		due = starts_due();
		pthread_cond_broadcast(&pool.cv);
		pool_state_changed();
		if (pool.stopping) {
			pthread_mutex_unlock(&pool.mu);
			destroy_later(gone, k);
			return NULL;
		}
		pthread_mutex_unlock(&pool.mu);
		destroy_later(gone, k);
		start_boxes(due);
	}
}

/* ---- Askers -------------------------------------------------------------- */

/* Leaves the line (under mu). */
static void
leave_queue(struct waiter *me)
{
	struct waiter **pp;

	for (pp = &queue_head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp != me)
			continue;
		*pp = me->next;
		if (*pp == NULL)
			queue_tail = pp;
		queue_len--;
		return;
	}
}

/* Why an asker gets nothing now (under mu): "" when it may wait on. */
static const char *
give_up_why(int64_t until_ms, int (*still)(void *), void *arg, int *unavailable)
{
	if (pool.stopping)
		return "the sandbox broker is stopping";
	if (!pool.engine_ok && pool.problem[0] != '\0' && pool.n == 0) {
		*unavailable = 1;
		return pool.problem;
	}
	if (clock_mono_ms() >= until_ms)
		return "late";		/* said with its limit by pool_take */
	if (still != NULL && !still(arg))
		return "the asker left";
	return "";
}

struct box *
pool_take(int64_t until_ms, int (*still)(void *), void *arg, int *warm, int *unavailable,
    char *msg, size_t msglen)
{
	struct waiter me = { NULL, NULL };
	int64_t asked = clock_mono_ms();
	const char *why;
	struct timespec ts;

	*warm = 0;
	*unavailable = 0;
	pthread_mutex_lock(&pool.mu);
	assign();
	if (queue_head == NULL && count_ready() > 0) {
		*warm = 1;
		*queue_tail = &me;
		queue_tail = &me.next;
		queue_len++;
		assign();
	} else {
		*queue_tail = &me;
		queue_tail = &me.next;
		queue_len++;
		pool.wanted++;
		pool_wake();
	}
	pool_state_changed();
	while (me.given == NULL) {
		if (*(why = give_up_why(until_ms, still, arg, unavailable)) != '\0') {
			leave_queue(&me);
			if (strcmp(why, "late") == 0)
				snprintf(msg, msglen, "no sandbox was ready within %lld s (the start's "
				    "limit, IMGSANDBOX_START_TIMEOUT_MS); the engine may be overloaded "
				    "or failing", (long long)((until_ms - asked + 500) / 1000));
			else
				snprintf(msg, msglen, "%s", why);
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&pool.cv, &pool.mu, &ts);
	}
	pool_state_changed();
	pthread_mutex_unlock(&pool.mu);
	return me.given;
}

void
pool_drain(void)
{
	struct box *v[POOL_MAX];
	int n;

	pthread_mutex_lock(&pool.mu);
	pool.stopping = 1;
	n = pool.n;
	memcpy(v, pool.box, (size_t)n * sizeof(v[0]));
	pool.n = 0;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	pool_wake();
	for (int i = 0; i < n; i++)
		close_fd(&v[i]->eb.in_fd);	/* all at once: each ready one ends */
	for (int i = 0; i < n; i++)
		box_destroy(v[i]);
}

/* What the pool says, for DATA/engine/state.json (under mu). Returns it
 * (cJSON_Delete it), or NULL. */
static cJSON *
state_json(void)
{
	cJSON *o = cJSON_CreateObject();
	int ready = count_ready();

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "engine", eng->name);
	cJSON_AddBoolToObject(o, "ok", pool.engine_ok);
	if (!pool.engine_ok)
		cJSON_AddStringToObject(o, "message", pool.problem);
	cJSON_AddNumberToObject(o, "size", (double)cfg.warm);
	cJSON_AddNumberToObject(o, "ready", ready);
	cJSON_AddNumberToObject(o, "starting", pool.n - ready);
	cJSON_AddNumberToObject(o, "waiting", queue_len);
	cJSON_AddNumberToObject(o, "started", (double)pool.started);
	cJSON_AddNumberToObject(o, "handed_out", (double)pool.handed_out);
	cJSON_AddNumberToObject(o, "failed_starts", (double)pool.failed);
	cJSON_AddNumberToObject(o, "retired", (double)pool.retired);
	return o;
}

/* Writes o, with the time, to the state file (atomically). */
static void
write_state(cJSON *o)
{
	char tmp[700], *text;
	FILE *fp;

	cJSON_AddNumberToObject(o, "written_at_ms", (double)clock_real_ms());
	if ((text = cJSON_PrintUnformatted(o)) == NULL)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", state_path) < (int)sizeof(tmp) &&
	    (fp = fopen(tmp, "we")) != NULL) {
		fputs(text, fp);
		if (fclose(fp) != 0 || rename(tmp, state_path) != 0)
			unlink(tmp);
	}
	cJSON_free(text);
}

/* Under mu: writes the state file when what it says changed (a reader
 * sees a hand-out or a ready box at once, not up to a second late). */
static void
pool_state_changed(void)
{
	cJSON *o = state_json();
	char *text = o != NULL ? cJSON_PrintUnformatted(o) : NULL;

	if (text != NULL && strcmp(text, state_said) != 0) {
		snprintf(state_said, sizeof(state_said), "%s", text);
		write_state(o);
	}
	cJSON_free(text);
	cJSON_Delete(o);
}

void
pool_write_state(void)
{
	cJSON *o;

	pthread_mutex_lock(&pool.mu);
	if ((o = state_json()) != NULL)
		write_state(o);
	pthread_mutex_unlock(&pool.mu);
	cJSON_Delete(o);
}
