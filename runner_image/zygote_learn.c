/*
 * zygote_learn: a box maps ahead the pages its job will touch, in a few
 * calls, instead of taking a page fault for each (part of zygote_fork.so;
 * zygote.py says when it is used: IMGSANDBOX_FORK_PREFAULT).
 *
 * Why: a box is a fork of the template, so every page of the template that
 * the box's Python writes is copied at its first write, and every page of
 * code it runs is mapped at its first read (fork does not copy the page
 * tables of files' mappings). Each is a fault, and on the virtual machines
 * this project runs on a fault costs 13 to 25 us: a trivial run took about
 * 700 of them, about 40 % of its CPU. madvise(MADV_POPULATE_WRITE) copies,
 * and MADV_POPULATE_READ maps, a whole range in one call (Linux 5.14): a
 * page copied so costs about 7 us here, one mapped about 1.
 *
 * Which pages: learned once, when the template starts, from a trial job (our
 * own script, zygote.py's TRIAL, on our own image) run as a box runs one,
 * in a child forked as a box is (learn_fork). At the trial's end the child
 * reads its own page map (learn_scan): in a writable private mapping, the
 * pages it holds alone (PM_MMAP_EXCLUSIVE: it wrote them, so they were
 * copied); in a read-only one, the pages it has mapped (it read them); in
 * both, only pages of the mappings the template had when the child was
 * forked (a later box has those, at the same addresses). It sends the
 * ranges on a pipe; the template keeps them (learn_take), and each box
 * populates them (prefault_box) once it is in its own cgroup, so the pages
 * are charged to it. A page the trial wrote and a job does not costs the
 * job a copy it did not need; a page the job touches and the trial did not
 * costs the fault it always cost. Measured with a script that makes and
 * saves a 64x64 PNG through NumPy: 54 faults in its own work, against 323.
 *
 * Nothing of the trial reaches a box but these addresses: the trial is a
 * child that exits, and the ranges are numbers the template made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zygote.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE 4096UL
#define MAX_RANGES 8192
#define MAX_MAPS 4096
#define MAPS_BYTES (1 << 20)
#define PM_PRESENT (1ULL << 63)
#define PM_EXCLUSIVE (1ULL << 56)
#define TRIAL_MS 20000	/* the trial's end, at most (its imports are the template's) */

struct range {
	uintptr_t start, end;
	int write;		/* MADV_POPULATE_WRITE, else _READ */
};

/* The template's: the learned ranges (read by every box). */
static struct range learned[MAX_RANGES];
static int nlearned;

/* The trial child's: the template's mappings when it was forked, and a
 * buffer for /proc/self/maps, both in mappings of their own (mmap), so that
 * what the scan writes is not taken for what the job wrote. */
static struct {
	uintptr_t start, end;
} *first;
static int nfirst;
static char *maps;

static void *
fresh(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* /proc/self/maps into maps. Returns 0, or -1. */
static int
read_maps(void)
{
	ssize_t n, t = 0;
	int fd;

	if (maps == NULL && (maps = fresh(MAPS_BYTES)) == NULL)
		return -1;
	if ((fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (t < MAPS_BYTES - 1 && (n = read(fd, maps + t, (size_t)(MAPS_BYTES - 1 - t))) > 0)
		t += n;
	close(fd);
	maps[t] = '\0';
	return t < MAPS_BYTES - 1 ? 0 : -1;
}

static char *
next_line(char *line)
{
	char *nl = strchr(line, '\n');

	return nl != NULL ? nl + 1 : line + strlen(line);
}

pid_t
learn_fork(const int own[4])
{
	pid_t pid;
	char *line;
	unsigned long a, b;

	/* No trial where the kernel cannot populate (MADV_POPULATE_*, 5.14). */
	if (madvise((void *)((uintptr_t)learned & ~(PAGE - 1)), PAGE, MADV_POPULATE_READ) < 0 &&
	    errno == EINVAL)
		return -1;
	/* A box's PID namespace (entry.py's end kills every other process it
	 * can), network, IPC and UTS. */
	if (unshare(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return -1;
	if ((pid = fork()) != 0) {
		zygote_home(own);
		return pid;
	}
	if (read_maps() < 0 || (first = fresh(MAX_MAPS * sizeof(*first))) == NULL)
		_exit(71);
	for (line = maps; *line != '\0' && nfirst < MAX_MAPS; line = next_line(line))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2) {
			first[nfirst].start = a;
			first[nfirst++].end = b;
		}
	return 0;
}

int
learn_mounts(void)
{
	static const char *const at[] = { "/tmp", "/output", "/code", "/input", NULL };
	int i;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	for (i = 0; at[i] != NULL; i++)
		if (mount("tmpfs", at[i], "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777") < 0)
			return -1;
	return 0;
}

static int
was_mapped(uintptr_t page)
{
	int i;

	for (i = 0; i < nfirst; i++)
		if (page >= first[i].start && page < first[i].end)
			return 1;
	return 0;
}

/* Adds a page to the ranges r (n of them, merged when adjacent). */
static void
add_page(struct range *r, int *n, uintptr_t page, int write)
{
	if (*n > 0 && r[*n - 1].end == page && r[*n - 1].write == write)
		r[*n - 1].end = page + PAGE;
	else if (*n < MAX_RANGES) {
		r[*n].start = page;
		r[*n].end = page + PAGE;
		r[(*n)++].write = write;
	}
}

/* The pages of one mapping to populate, into r. Returns 0, or -1. */
static int
scan_mapping(int pagemap, uintptr_t a, uintptr_t b, int write, uint64_t *ent,
    struct range *r, int *n)
{
	uintptr_t p = a;
	size_t k, i;

	while (p < b) {
		k = (b - p) / PAGE < 512 ? (b - p) / PAGE : 512;
		if (pread(pagemap, ent, k * 8, (off_t)(p / PAGE) * 8) != (ssize_t)(k * 8))
			return -1;
		for (i = 0; i < k; i++, p += PAGE)
			if ((ent[i] & PM_PRESENT) && (!write || (ent[i] & PM_EXCLUSIVE)) &&
			    was_mapped(p))
				add_page(r, n, p, write);
	}
	return 0;
}

int
learn_scan(int out)
{
	struct range *r = fresh(MAX_RANGES * sizeof(*r));
	uint64_t *ent = fresh(512 * sizeof(*ent));
	char perms[8], name[64], *line;
	unsigned long a, b;
	int pagemap, n = 0, f;

	if (r == NULL || ent == NULL || read_maps() < 0 ||
	    (pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	for (line = maps; *line != '\0'; line = next_line(line)) {
		name[0] = '\0';
		f = sscanf(line, "%lx-%lx %7s %*s %*s %*s %63s", &a, &b, perms, name);
		/* Readable, private, and not the kernel's own ([vdso], [vvar]...). */
		if (f < 3 || perms[0] != 'r' || perms[3] != 'p' ||
		    (name[0] == '[' && strcmp(name, "[heap]") != 0 && strcmp(name, "[stack]") != 0))
			continue;
		if (scan_mapping(pagemap, a, b, perms[1] == 'w', ent, r, &n) < 0)
			break;
	}
	close(pagemap);
	return write(out, r, (size_t)n * sizeof(*r)) == (ssize_t)((size_t)n * sizeof(*r)) ? n : -1;
}

int
learn_take(int in, pid_t trial, long counts[2])
{
	struct pollfd p = { .fd = in, .events = POLLIN };
	size_t got = 0, cap = sizeof(learned);
	ssize_t n;
	int i, status;

	counts[0] = counts[1] = 0;
	while (got < cap && poll(&p, 1, TRIAL_MS) > 0 &&
	    (n = read(in, (char *)learned + got, cap - got)) > 0)
		got += (size_t)n;
	kill(trial, SIGKILL);	/* past its time, or done: nothing is left to it */
	while (waitpid(trial, &status, 0) < 0 && errno == EINTR)
		;
	nlearned = (int)(got / sizeof(learned[0]));
	for (i = 0; i < nlearned; i++)
		counts[learned[i].write ? 0 : 1] += (long)((learned[i].end - learned[i].start) / PAGE);
	return nlearned;
}

void
prefault_box(void)
{
	int i;

	for (i = 0; i < nlearned; i++)
		(void)madvise((void *)learned[i].start, learned[i].end - learned[i].start,
		    learned[i].write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}
