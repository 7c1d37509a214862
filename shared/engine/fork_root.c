/*
 * fork_root: the template's small root. The broker plans it (paths made
 * here, before the clone); the template's child runs the plan between its
 * clone and its exec, with system calls only (the broker has threads, so
 * the child may take no lock of libc: no malloc, no stdio, no set*id
 * wrapper of libc).
 *
 * The root is a tmpfs: the root filesystem's folders bound read-only (usr,
 * etc, var on a merged-/usr Debian; its symbolic links copied), a /dev of
 * null, zero, full, random and urandom, its own /proc and a read-only
 * /sys, /opt/imgsandbox with copies of entry.py, zygote.py,
 * packages.txt and zygote_fork.so, the broker's state folder read-only at /run/boxes (each box
 * binds its own code/ and input/ from there, then unmounts it), empty
 * /code, /input, /output and /tmp for the boxes' mounts; then read-only
 * itself. The host's tree is unmounted: nothing else of it is reachable.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/fork.h"

#define OLD "/.old"	/* the host's tree, while the root is built */

/* Copies the file a to b (a new file, mode 0644). Returns 0, or -1. */
static int
copy_file(const char *a, const char *b)
{
	char buf[8192];
	ssize_t n, w, off;
	int in, out, rc = 0;

	if ((in = open(a, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((out = open(b, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		close(in);
		return -1;
	}
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			rc = errno == EINTR ? 0 : -1;
			continue;
		}
		for (off = 0; rc == 0 && off < n; off += w)
			if ((w = write(out, buf + off, (size_t)(n - off))) < 0)
				rc = -1;
	}
	close(in);
	close(out);
	return rc;
}

/* Remounts the bind mount at a with flags, keeping the flags the kernel
 * locks in a user namespace (nosuid, nodev, noexec, the atime ones).
 * Returns 0, or -1. */
static int
remount(const char *a, unsigned long flags)
{
	struct statfs sf;

	if (statfs(a, &sf) < 0)
		return -1;
	if (sf.f_flags & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sf.f_flags & ST_NODEV)
		flags |= MS_NODEV;
	if (sf.f_flags & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sf.f_flags & ST_NOATIME)
		flags |= MS_NOATIME;
	if (sf.f_flags & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (sf.f_flags & ST_RELATIME)
		flags |= MS_RELATIME;
	return mount(NULL, a, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
}

/* Writes the text b into the file a. Returns 0, or -1. */
static int
write_text(const char *a, const char *b)
{
	int fd = open(a, O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = write(fd, b, strlen(b)) == (ssize_t)strlen(b) ? 0 : -1;
	close(fd);
	return rc;
}

/* Runs one step. Returns 0, or -1 with errno. */
static int
run_step(const struct root_step *s)
{
	int fd;

	switch (s->op) {
	case R_MOUNT:
		return mount(s->a, s->b, s->c, s->flags, s->d);
	case R_MKDIR:
		if (mkdir(s->a, (mode_t)s->flags) < 0 && errno != EEXIST)
			return -1;
		return chmod(s->a, (mode_t)s->flags);
	case R_SYMLINK:
		return symlink(s->a, s->b);
	case R_FILE:
		if ((fd = open(s->a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
			return -1;
		return close(fd);
	case R_COPY:
		return copy_file(s->a, s->b);
	case R_REMOUNT:
		return remount(s->a, s->flags);
	case R_PIVOT:
		if (chdir(s->a) < 0 || syscall(SYS_pivot_root, ".", s->b) < 0)
			return -1;
		return chdir("/");
	case R_UMOUNT:
		return umount2(s->a, MNT_DETACH);
	case R_RMDIR:
		return rmdir(s->a);
	case R_WRITE:
		return write_text(s->a, s->b);
	case R_HOSTNAME:
		return sethostname(s->a, strlen(s->a));
	case R_CHDIR:
		return chdir(s->a);
	}
	errno = EINVAL;
	return -1;
}

/* Says on stderr which step failed, with its errno (by hand: no stdio). */
static void
say_failed(const struct root_step *s, int i, int e)
{
	char buf[512], num[16];
	size_t n = 0, k;
	const char *part[7] = { "fork engine: the template's root, step ", num, " (", s->a ?
	    s->a : "", s->b ? " -> " : "", s->b ? s->b : "", "): errno " };
	int j, v;

	for (j = 0; j < 2; j++) {
		v = j == 0 ? i : e;
		k = sizeof(num) - 1;
		num[k] = '\0';
		do {
			num[--k] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0 && k > 0);
		memmove(num, num + k, sizeof(num) - k);
		part[1] = num;
		if (j == 1) {
			memcpy(buf + n, num, strlen(num));
			n += strlen(num);
			break;
		}
		for (v = 0; v < 7; v++) {
			k = strlen(part[v]);
			if (n + k >= sizeof(buf) - 16)
				k = sizeof(buf) - 16 - n;
			memcpy(buf + n, part[v], k);
			n += k;
		}
	}
	buf[n++] = '\n';
	(void)!write(2, buf, n);
}

int
fork_root_run(void *arg)
{
	const struct root_plan *plan = arg;
	int i, e;

	for (i = 0; i < plan->n; i++)
		if (run_step(&plan->step[i]) < 0 && !plan->step[i].optional) {
			e = errno;
			say_failed(&plan->step[i], i, e);
			errno = e;
			return -1;
		}
	/* The broker's supplementary groups stay outside (the raw call: libc's
	 * would signal threads this child does not have). */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	/* A box copies the pages it writes: 4 KiB ones, never 2 MiB. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	return 0;
}

/* Keeps the concatenation of a, b, c and d (NULL: nothing) in plan's text.
 * Returns it, or NULL (plan->overflow set). */
static const char *
keep(struct root_plan *plan, const char *a, const char *b, const char *c, const char *d)
{
	const char *part[4] = { a, b, c, d };
	char *p = plan->text + plan->used;
	size_t n = 0, k;
	int i;

	for (i = 0; i < 4; i++) {
		if (part[i] == NULL)
			continue;
		k = strlen(part[i]);
		if (plan->used + n + k + 1 > sizeof(plan->text)) {
			plan->overflow = 1;
			return NULL;
		}
		memcpy(p + n, part[i], k);
		n += k;
	}
	p[n] = '\0';
	plan->used += n + 1;
	return p;
}

/* Adds a step. */
static void
add(struct root_plan *plan, enum root_op op, const char *a, const char *b, const char *c,
    const char *d, unsigned long flags)
{
	struct root_step *s;

	if (plan->n >= FORK_STEPS_MAX) {
		plan->overflow = 1;
		return;
	}
	s = &plan->step[plan->n++];
	memset(s, 0, sizeof(*s));
	s->op = op;
	s->a = a;
	s->b = b;
	s->c = c;
	s->d = d;
	s->flags = flags;
}

/* A folder of the root filesystem bound read-only at /name. */
static void
add_bind_ro(struct root_plan *plan, const char *host, const char *at, unsigned long extra)
{
	const char *dst = at;

	add(plan, R_MKDIR, dst, NULL, NULL, NULL, 0755);
	add(plan, R_MOUNT, keep(plan, OLD, host, NULL, NULL), dst, NULL, NULL, MS_BIND | MS_REC);
	add(plan, R_REMOUNT, dst, NULL, NULL, NULL, MS_RDONLY | MS_NOSUID | MS_NODEV | extra);
}

/* The root filesystem's top-level entries: its folders of files bound,
 * its links copied, the rest made empty. Returns 0, or -1 with msg. */
static int
plan_top(struct root_plan *plan, const char *rootfs, char *msg, size_t len)
{
	static const char *const own[] = { "proc", "sys", "dev", "tmp", "run", "opt", "home",
		"root", "srv", "mnt", "media", "boot", NULL };
	char path[4096], target[4096];
	struct dirent *e;
	struct stat st;
	ssize_t n;
	DIR *dir;
	int i;

	if ((dir = opendir(rootfs)) == NULL) {
		snprintf(msg, len, "cannot read the root filesystem %s: %s", rootfs, strerror(errno));
		return -1;
	}
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", rootfs, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode) && (n = readlink(path, target, sizeof(target) - 1)) > 0) {
			target[n] = '\0';
			add(plan, R_SYMLINK, keep(plan, target, NULL, NULL, NULL),
			    keep(plan, "/", e->d_name, NULL, NULL), NULL, NULL, 0);
			continue;
		}
		for (i = 0; own[i] != NULL && strcmp(own[i], e->d_name) != 0; i++)
			;
		if (S_ISDIR(st.st_mode) && own[i] == NULL)
			add_bind_ro(plan, path, keep(plan, "/", e->d_name, NULL, NULL), 0);
	}
	closedir(dir);
	return 0;
}

/* /dev: a small read-only tmpfs of the host's harmless devices. */
static void
plan_dev(struct root_plan *plan)
{
	static const char *const dev[] = { "null", "zero", "full", "random", "urandom", NULL };
	static const char *const links[][2] = { { "/proc/self/fd", "/dev/fd" },
		{ "/proc/self/fd/0", "/dev/stdin" }, { "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" } };
	const char *at;
	size_t i;

	add(plan, R_MOUNT, "tmpfs", "/dev", "tmpfs", "mode=0755,size=64k",
	    MS_NOSUID | MS_NOEXEC);
	for (i = 0; dev[i] != NULL; i++) {
		at = keep(plan, "/dev/", dev[i], NULL, NULL);
		add(plan, R_FILE, at, NULL, NULL, NULL, 0);
		add(plan, R_MOUNT, keep(plan, OLD "/dev/", dev[i], NULL, NULL), at, NULL, NULL, MS_BIND);
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		add(plan, R_SYMLINK, links[i][0], links[i][1], NULL, NULL, 0);
	add(plan, R_MKDIR, "/dev/shm", NULL, NULL, NULL, 01777);
	add(plan, R_REMOUNT, "/dev", NULL, NULL, NULL, MS_RDONLY | MS_NOSUID | MS_NOEXEC);
}

int
fork_root_plan(struct root_plan *plan, const char *rootfs, const char *runner,
    const char *lib, const char *boxes, char *msg, size_t len)
{
	static const char *const dirs[][2] = { { "/proc", "0555" }, { "/sys", "0555" }, { "/dev", "0755" },
		{ "/tmp", "1777" }, { "/run", "0755" }, { "/opt", "0755" },
		{ "/opt/imgsandbox", "0755" }, { "/code", "0755" }, { "/input", "0755" },
		{ "/output", "0755" }, { "/home", "0755" }, { "/root", "0700" },
		{ "/srv", "0755" }, { "/mnt", "0755" }, { "/media", "0755" }, { "/boot", "0755" },
		{ "/run/boxes", "0755" } };
	static const char *const files[] = { "entry.py", "zygote.py", "packages.txt", NULL };
	size_t i;

	memset(plan, 0, sizeof(*plan));
	add(plan, R_MOUNT, NULL, "/", NULL, NULL, MS_REC | MS_PRIVATE);
	add(plan, R_MOUNT, "tmpfs", "/tmp", "tmpfs", "mode=0755,size=4m", MS_NOSUID | MS_NODEV);
	add(plan, R_MKDIR, "/tmp" OLD, NULL, NULL, NULL, 0700);
	add(plan, R_PIVOT, "/tmp", "." OLD, NULL, NULL, 0);
	if (plan_top(plan, rootfs, msg, len) < 0)
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		add(plan, R_MKDIR, dirs[i][0], NULL, NULL, NULL, strtoul(dirs[i][1], NULL, 8));
	plan_dev(plan);
	add(plan, R_MOUNT, "proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	add(plan, R_MOUNT, "sysfs", "/sys", "sysfs", NULL,
	    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	plan->step[plan->n - 1].optional = 1;	/* else an empty /sys */
	add(plan, R_MOUNT, "tmpfs", "/sys/firmware", "tmpfs", "size=0",
	    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	plan->step[plan->n - 1].optional = 1;	/* as Docker: no firmware tables */
	add(plan, R_MOUNT, keep(plan, OLD, boxes, NULL, NULL), FORK_BOXES_AT, NULL, NULL, MS_BIND);
	add(plan, R_REMOUNT, FORK_BOXES_AT, NULL, NULL, NULL,
	    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	for (i = 0; files[i] != NULL; i++)
		add(plan, R_COPY, keep(plan, OLD, runner, "/", files[i]),
		    keep(plan, "/opt/imgsandbox/", files[i], NULL, NULL), NULL, NULL, 0);
	add(plan, R_COPY, keep(plan, OLD, lib, NULL, NULL), "/opt/imgsandbox/" FORK_LIB, NULL,
	    NULL, 0);
	add(plan, R_UMOUNT, OLD, NULL, NULL, NULL, 0);
	add(plan, R_RMDIR, OLD, NULL, NULL, NULL, 0);
	/* No user namespace below this one: a script has no use for one. */
	add(plan, R_WRITE, "/proc/sys/user/max_user_namespaces", "0", NULL, NULL, 0);
	plan->step[plan->n - 1].optional = 1;
	add(plan, R_HOSTNAME, "imgsandbox", NULL, NULL, NULL, 0);
	add(plan, R_REMOUNT, "/", NULL, NULL, NULL, MS_RDONLY | MS_NOSUID | MS_NODEV);
	add(plan, R_CHDIR, "/", NULL, NULL, NULL, 0);
	if (plan->overflow) {
		snprintf(msg, len, "the template's root needs more steps or text than planned for");
		return -1;
	}
	return 0;
}
