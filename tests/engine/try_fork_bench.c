/*
 * try_fork's bench (included by try_fork.c): the trivial job through the
 * fork engine, one at a time and then CLIENTS at a time on boxes started
 * ahead, as the broker's pool would. The CPU per box is what this process
 * and the template (with every box it reaped) used, and, beside it, the
 * whole machine's (other work included).
 */

/* CPU ms of this process (the broker's part), of the template itself and
 * of the boxes it reaped, into cpu[0..3). */
static void
cpu_ms(double cpu[3])
{
	char path[300], text[1024], *p;
	unsigned long long ut, st, cut, cst;
	double tick = (double)sysconf(_SC_CLK_TCK);
	struct rusage ru;
	struct dirent *e;
	DIR *d;
	long ppid;
	int fd;
	ssize_t n;

	getrusage(RUSAGE_SELF, &ru);
	cpu[0] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
	cpu[1] = cpu[2] = 0;
	if ((d = opendir("/proc")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (n <= 0)
			continue;
		text[n] = '\0';
		if ((p = strrchr(text, ')')) == NULL)
			continue;
		if (sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
		    &ppid, &ut, &st, &cut, &cst) == 5 && ppid == (long)getpid()) {
			cpu[1] += (double)(ut + st) * 1000.0 / tick;
			cpu[2] += (double)(cut + cst) * 1000.0 / tick;
		}
	}
	closedir(d);
}

/* Busy CPU ms of the whole machine (/proc/stat). */
static double
machine_ms(void)
{
	unsigned long long v[8] = { 0 };
	FILE *fp = fopen("/proc/stat", "re");

	if (fp == NULL || fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1000.0 /
	    (double)sysconf(_SC_CLK_TCK);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-th quantile of v[0..n) (sorted here). */
static int64_t
quantile(int64_t *v, int n, double q)
{
	int i;

	if (n <= 0)
		return -1;
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	i = (int)(q * (n - 1) + 0.5);
	return v[i];
}

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct run **ready;	/* boxes started ahead */
	int nready, cap, to_start, to_run, failed;
	int64_t *lat, *start;
	int nlat, nstart;
} Q = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* A fresh run of the trivial job (freed by finish). */
static struct run *
new_run(void)
{
	struct run *r = calloc(1, sizeof(*r));

	r->script_name = "trivial";
	r->script = TRIVIAL;
	r->exit_code = -2;
	r->ms_to_end = -1;
	r->out = calloc(1, CAP + 1);
	r->err = calloc(1, CAP + 1);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	return r;
}

/* Ends r's box and frees it. */
static void
finish(struct run *r)
{
	if (r->started) {
		if (r->b.in_fd >= 0)
			close(r->b.in_fd);
		close(r->b.out_fd);
		close(r->b.err_fd);
		ops->remove(&r->b);
	}
	remove_tree(r->b.dir);
	free(r->out);
	free(r->err);
	free(r);
}

/* Keeps boxes started ahead while jobs are left to start. */
static void *
starter(void *arg)
{
	struct run *r;

	for (;;) {
		pthread_mutex_lock(&Q.mu);
		while (Q.to_start > 0 && Q.nready >= Q.cap)
			pthread_cond_wait(&Q.cv, &Q.mu);
		if (Q.to_start <= 0) {
			pthread_mutex_unlock(&Q.mu);
			return arg;
		}
		Q.to_start--;
		pthread_mutex_unlock(&Q.mu);
		r = new_run();
		if (box_up(r) < 0) {
			pthread_mutex_lock(&Q.mu);
			Q.failed++;
			Q.to_run--;
			pthread_cond_broadcast(&Q.cv);
			pthread_mutex_unlock(&Q.mu);
			finish(r);
			continue;
		}
		pthread_mutex_lock(&Q.mu);
		Q.ready[Q.nready++] = r;
		Q.start[Q.nstart++] = r->ms_start;
		pthread_cond_broadcast(&Q.cv);
		pthread_mutex_unlock(&Q.mu);
	}
}

/* Takes boxes as they are ready and runs the job on each. */
static void *
client(void *arg)
{
	struct run *r;
	int64_t t;

	for (;;) {
		pthread_mutex_lock(&Q.mu);
		while (Q.to_run > 0 && Q.nready == 0)
			pthread_cond_wait(&Q.cv, &Q.mu);
		if (Q.to_run <= 0) {
			pthread_mutex_unlock(&Q.mu);
			return arg;
		}
		Q.to_run--;
		r = Q.ready[--Q.nready];
		pthread_cond_broadcast(&Q.cv);
		pthread_mutex_unlock(&Q.mu);
		t = clock_mono_ms();
		if (give_job(r) == 0)
			collect(r, t);
		if (ops->wait(&r->b, clock_mono_ms() + 10000) == 1)
			ops->outcome(&r->b, &r->exit_code, &r->oom);
		pthread_mutex_lock(&Q.mu);
		if (r->exit_code != 0 || r->ms_to_end < 0)
			Q.failed++;
		else
			Q.lat[Q.nlat++] = r->ms_to_end;
		pthread_mutex_unlock(&Q.mu);
		finish(r);
	}
}

/* n runs, clients at a time. Prints one line of figures. */
static void
bench_round(int n, int clients)
{
	pthread_t th[128];
	double c0[3], c1[3], m0 = machine_ms(), secs;
	int64_t t0 = clock_mono_ms();
	int i;

	cpu_ms(c0);
	Q.cap = clients;
	Q.to_start = Q.to_run = n;
	Q.nready = Q.nlat = Q.nstart = Q.failed = 0;
	Q.ready = calloc((size_t)clients + 1, sizeof(*Q.ready));
	Q.lat = calloc((size_t)n, sizeof(*Q.lat));
	Q.start = calloc((size_t)n, sizeof(*Q.start));
	for (i = 0; i < clients; i++) {
		pthread_create(&th[2 * i], NULL, starter, NULL);
		pthread_create(&th[2 * i + 1], NULL, client, NULL);
	}
	for (i = 0; i < 2 * clients; i++)
		pthread_join(th[i], NULL);
	secs = (double)(clock_mono_ms() - t0) / 1000.0;
	cpu_ms(c1);
	printf("clients=%d runs=%d failed=%d wall=%.2fs runs/s=%.1f cpu/box=%.1fms (broker %.1f, "
	    "template %.1f, box %.1f) machine-cpu/box=%.1fms start+READY p50=%lldms p95=%lldms "
	    "job-to-END p50=%lldms p95=%lldms\n", clients, n, Q.failed, secs,
	    (double)Q.nlat / secs, (c1[0] + c1[1] + c1[2] - c0[0] - c0[1] - c0[2]) / n,
	    (c1[0] - c0[0]) / n, (c1[1] - c0[1]) / n, (c1[2] - c0[2]) / n,
	    (machine_ms() - m0) / n,
	    (long long)quantile(Q.start, Q.nstart, 0.5), (long long)quantile(Q.start, Q.nstart, 0.95),
	    (long long)quantile(Q.lat, Q.nlat, 0.5), (long long)quantile(Q.lat, Q.nlat, 0.95));
	fflush(stdout);
	free(Q.ready);
	free(Q.lat);
	free(Q.start);
}

/* n boxes started back to back, one thread, each to its READY line (as a
 * pool fills), then all removed. Prints one line of figures. */
static void
bench_starts(int n)
{
	struct run **r = calloc((size_t)n, sizeof(*r));
	double c0[3], c1[3], secs;
	int64_t t0;
	int i, ok = 0;

	cpu_ms(c0);
	t0 = clock_mono_ms();
	for (i = 0; i < n; i++) {
		r[i] = new_run();
		ok += box_up(r[i]) == 0;
	}
	secs = (double)(clock_mono_ms() - t0) / 1000.0;
	cpu_ms(c1);
	for (i = 0; i < n; i++)
		finish(r[i]);
	free(r);
	printf("starts=%d ready=%d wall=%.2fs starts/s=%.1f cpu/start=%.1fms (broker %.1f, "
	    "template %.1f)\n", n, ok, secs, (double)ok / secs,
	    (c1[0] + c1[1] - c0[0] - c0[1]) / n, (c1[0] - c0[0]) / n, (c1[1] - c0[1]) / n);
	fflush(stdout);
}

static int
cmd_bench(int n, int clients)
{
	if (n < 1 || clients < 1 || clients > 64)
		die("bench: N >= 1, 1 <= CLIENTS <= 64");
	bench_starts(n < 32 ? n : 32);
	bench_round(n, 1);
	if (clients > 1)
		bench_round(n, clients);
	return Q.failed ? 1 : 0;
}
