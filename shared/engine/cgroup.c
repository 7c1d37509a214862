#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/files.h"
#include "base/log.h"
#include "engine/cgroup.h"

static const char *const controller[CG_N] = { "memory", "cpu", "pids" };

/* Whether the comma-separated list opts holds the word w. */
static int
has_word(const char *opts, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = opts; (p = strstr(p, w)) != NULL; p += n)
		if ((p == opts || p[-1] == ',' || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\n'))
			return 1;
	return 0;
}

/* Reads a small file whole into out (NUL-terminated). Returns its length,
 * or -1. */
static ssize_t
read_small(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (used < len - 1 && (n = read(fd, out + used, len - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		used += (size_t)n;
	}
	close(fd);
	out[used] = '\0';
	return (ssize_t)used;
}

/* Writes text into dir/name. Returns 0, or -1 with errno. */
static int
write_at(const char *dir, const char *name, const char *text)
{
	char path[512];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return file_put(path, text);
}

/* Finds the v1 hierarchies of memory, cpu and pids, else a v2 one, in
 * /proc/self/mountinfo. Returns 0, or -1 when there is neither. */
static int
find_mounts(struct cgroup_host *h)
{
	char line[2048], *sep, *f[6], *save, opts[512];
	char v2[128] = "";
	FILE *fp;
	int i, n;

	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		*sep = '\0';
		for (n = 0, f[0] = strtok_r(line, " ", &save); f[n] != NULL && n < 5;)
			f[++n] = strtok_r(NULL, " ", &save);
		if (n < 5 || strcmp(f[3], "/") != 0 || strchr(f[4], '\\') != NULL ||
		    strlen(f[4]) >= sizeof(h->mnt[0]))
			continue;
		if (sscanf(sep + 3, "%*s %*s %511s", opts) != 1)
			continue;
		if (strncmp(sep + 3, "cgroup2 ", 8) == 0 && v2[0] == '\0')
			snprintf(v2, sizeof(v2), "%s", f[4]);
		else if (strncmp(sep + 3, "cgroup ", 7) == 0)
			for (i = 0; i < CG_N; i++)
				if (h->mnt[i][0] == '\0' && has_word(opts, controller[i]))
					snprintf(h->mnt[i], sizeof(h->mnt[i]), "%s", f[4]);
	}
	fclose(fp);
	if (h->mnt[CG_MEMORY][0] != '\0' && h->mnt[CG_CPU][0] != '\0' &&
	    h->mnt[CG_PIDS][0] != '\0')
		return 0;
	if (v2[0] == '\0')
		return -1;
	h->v2 = 1;
	for (i = 0; i < CG_N; i++)
		snprintf(h->mnt[i], sizeof(h->mnt[i]), "%s", v2);
	return 0;
}

/* The v2 checks: the broker inside parent, the controllers given to it,
 * its cgroup.procs ours. Returns 0, or -1 with msg. */
static int
check_v2(const struct cgroup_host *h, const char *parent, const char *base, char *msg,
    size_t len)
{
	char text[1024], path[600], want[300];

	snprintf(want, sizeof(want), "0::/%s/", parent);
	if (read_small("/proc/self/cgroup", text, sizeof(text)) < 0 || strstr(text, want) == NULL) {
		snprintf(msg, len, "on cgroup v2 the broker must run inside %s (it moves its "
		    "sandboxes' processes between cgroups below it): fcgi/serve.sh puts it there; by "
		    "hand, as root: fcgi/engine_setup.sh --enter <broker pid>", base);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
	if (read_small(path, text, sizeof(text)) < 0 || !has_word(text, "memory") ||
	    !has_word(text, "cpu") || !has_word(text, "pids")) {
		snprintf(msg, len, "the cgroup %s does not give memory, cpu and pids to its "
		    "children: run fcgi/engine_setup.sh <user> as root", base);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", base);
	if (access(path, W_OK) < 0) {
		snprintf(msg, len, "%s is not writable by this user: run fcgi/engine_setup.sh "
		    "<user> as root", path);
		return -1;
	}
	(void)h;
	return 0;
}

/* Whether s is a relative cgroup path without "." or ".." parts. */
static int
path_ok(const char *s)
{
	const char *p;

	if (s[0] == '\0' || s[0] == '/' || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") != strlen(s))
		return 0;
	for (p = s; p != NULL; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
		if (p[0] == '/' || p[0] == '\0' || strncmp(p, "./", 2) == 0 ||
		    strncmp(p, "../", 3) == 0 || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
			return 0;
	return 1;
}

int
cgroup_open(struct cgroup_host *h, const char *parent, const char *instance, char *msg,
    size_t len)
{
	char base[512];
	int i;

	memset(h, 0, sizeof(*h));
	if (!path_ok(parent) || !path_ok(instance)) {
		snprintf(msg, len, "IMGSANDBOX_CGROUP=%s: expected a cgroup path such as imgsandbox "
		    "(relative, no . or .. parts)", parent);
		return -1;
	}
	if (find_mounts(h) < 0) {
		snprintf(msg, len, "the fork engine needs the memory, cpu and pids cgroup "
		    "controllers (v1 or v2), and this host mounts none: mount /sys/fs/cgroup");
		return -1;
	}
	for (i = 0; i < CG_N; i++) {
		snprintf(base, sizeof(base), "%s/%s", h->mnt[i], parent);
		if (access(base, W_OK | X_OK) < 0) {
			snprintf(msg, len, "the fork engine's cgroup %s is %s: run "
			    "'fcgi/engine_setup.sh <the broker's user>' as root (it makes it and "
			    "gives it to that user), or set IMGSANDBOX_CGROUP", base,
			    errno == ENOENT ? "missing" : "not writable by this user");
			return -1;
		}
		if (h->v2 && check_v2(h, parent, base, msg, len) < 0)
			return -1;
		if (snprintf(h->inst[i], sizeof(h->inst[i]), "%s/%s", base, instance) >=
		    (int)sizeof(h->inst[i]) || (mkdir(h->inst[i], 0755) < 0 && errno != EEXIST)) {
			snprintf(msg, len, "cannot make the cgroup %s/%s: %s", base, instance,
			    strerror(errno));
			return -1;
		}
		if (h->v2 && write_at(h->inst[i], "cgroup.subtree_control", "+memory +cpu +pids") < 0) {
			snprintf(msg, len, "cannot give memory, cpu and pids to %s: %s", h->inst[i],
			    strerror(errno));
			return -1;
		}
		if (h->v2)
			break;
	}
	snprintf(base, sizeof(base), "%s/memory.memsw.limit_in_bytes", h->inst[CG_MEMORY]);
	h->memsw = !h->v2 && access(base, F_OK) == 0;
	return 0;
}

/* The folder of cgroup name in hierarchy i. Returns 0, or -1. */
static int
box_dir(const struct cgroup_host *h, int i, const char *name, char *out, size_t len)
{
	return snprintf(out, len, "%s/%s", h->inst[h->v2 ? 0 : i], name) >= (int)len ? -1 : 0;
}

/* Writes the limits of l into the folder(s) of name. Returns 0, or -1. */
static int
write_limits(const struct cgroup_host *h, const char *name, const struct cgroup_limits *l)
{
	char d[CG_N][512], v[64];
	int i, rc = 0;

	for (i = 0; i < CG_N; i++)
		if (box_dir(h, i, name, d[i], sizeof(d[i])) < 0)
			return -1;
	snprintf(v, sizeof(v), "%lld", (long long)l->memory_bytes);
	if (h->v2) {
		rc |= write_at(d[0], "memory.max", v);
		rc |= write_at(d[0], "memory.swap.max", "0");
		snprintf(v, sizeof(v), "%lld", (long long)l->pids);
		rc |= write_at(d[0], "pids.max", v);
		snprintf(v, sizeof(v), "%lld 100000", (long long)l->cpu_quota_us);
		rc |= write_at(d[0], "cpu.max", v);
		return rc;
	}
	rc |= write_at(d[CG_MEMORY], "memory.limit_in_bytes", v);
	if (h->memsw)
		rc |= write_at(d[CG_MEMORY], "memory.memsw.limit_in_bytes", v);
	rc |= write_at(d[CG_CPU], "cpu.cfs_period_us", "100000");
	snprintf(v, sizeof(v), "%lld", (long long)l->cpu_quota_us);
	rc |= write_at(d[CG_CPU], "cpu.cfs_quota_us", v);
	snprintf(v, sizeof(v), "%lld", (long long)l->pids);
	rc |= write_at(d[CG_PIDS], "pids.max", v);
	return rc;
}

int
cgroup_make(const struct cgroup_host *h, const char *name, const struct cgroup_limits *l)
{
	char d[512];
	int i;

	for (i = 0; i < (h->v2 ? 1 : CG_N); i++) {
		if (box_dir(h, i, name, d, sizeof(d)) < 0 || (mkdir(d, 0755) < 0 && errno != EEXIST)) {
			log_warn("fork engine: mkdir %s", d);
			return -1;
		}
	}
	if (l != NULL && write_limits(h, name, l) < 0) {
		log_warn("fork engine: the limits of the cgroup %s", name);
		return -1;
	}
	return 0;
}

int
cgroup_attach(const struct cgroup_host *h, const char *name, pid_t pid)
{
	char d[512], v[32];
	int i;

	snprintf(v, sizeof(v), "%ld", (long)pid);
	for (i = 0; i < (h->v2 ? 1 : CG_N); i++) {
		if (box_dir(h, i, name, d, sizeof(d)) < 0 || write_at(d, "cgroup.procs", v) < 0) {
			log_warn("fork engine: moving %ld into %s", (long)pid, d);
			return -1;
		}
	}
	return 0;
}

int64_t
cgroup_oom_kills(const struct cgroup_host *h, const char *name)
{
	char d[512], path[600], text[2048], *p;

	if (box_dir(h, CG_MEMORY, name, d, sizeof(d)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", d, h->v2 ? "memory.events" : "memory.oom_control");
	if (read_small(path, text, sizeof(text)) < 0)
		return -1;
	for (p = text; (p = strstr(p, "oom_kill ")) != NULL; p++)
		if (p == text || p[-1] == '\n')
			return strtoll(p + 9, NULL, 10);
	return -1;
}

/* Whether pid is (still) in the cgroup folder rel of the pids hierarchy. */
static int
pid_in(pid_t pid, const char *rel)
{
	char path[64], text[2048], *p;
	size_t n = strlen(rel);

	snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pid);
	if (read_small(path, text, sizeof(text)) < 0)
		return 0;
	for (p = text; (p = strstr(p, rel)) != NULL; p += n)
		if (p[n] == '\n' || p[n] == '\0')
			return 1;
	return 0;
}

int
cgroup_kill(const struct cgroup_host *h, const char *name)
{
	char d[512], path[600], text[8192], *line, *save;
	const char *rel;
	int found = 0, pidfd;
	long pid;

	if (box_dir(h, CG_PIDS, name, d, sizeof(d)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", d);
	if (read_small(path, text, sizeof(text)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (h->v2 && text[0] != '\0' && write_at(d, "cgroup.kill", "1") == 0)
		return 1;
	rel = d + strlen(h->mnt[CG_PIDS]);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		pid = strtol(line, NULL, 10);
		if (pid <= 0 || (pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0)
			continue;
		found++;
		/* The pidfd holds the pid: it is this cgroup's process, not a new one. */
		if (pid_in((pid_t)pid, rel))
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
	}
	return found;
}

int
cgroup_remove(const struct cgroup_host *h, const char *name, int64_t wait_ms)
{
	int64_t until = clock_mono_ms() + wait_ms;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	char d[512];
	int i, left;

	for (;;) {
		left = 0;
		for (i = 0; i < (h->v2 ? 1 : CG_N); i++)
			if (box_dir(h, i, name, d, sizeof(d)) == 0 && rmdir(d) < 0 && errno != ENOENT)
				left++;
		if (left == 0)
			return 0;
		if (clock_mono_ms() >= until) {
			log_warn("fork engine: the cgroup %s is still there", name);
			return -1;
		}
		cgroup_kill(h, name);
		nanosleep(&nap, NULL);
	}
}

static void
remove_one(const char *name, void *arg)
{
	(void)cgroup_remove(arg, name, 2000);
}

void
cgroup_close(const struct cgroup_host *h)
{
	(void)cgroup_each(h, remove_one, (void *)h);
	for (int i = 0; i < (h->v2 ? 1 : CG_N); i++)
		if (h->inst[i][0] != '\0' && rmdir(h->inst[i]) < 0 && errno != ENOENT)
			log_warn("fork engine: removing the cgroup %s", h->inst[i]);
}

int
cgroup_each(const struct cgroup_host *h, void (*fn)(const char *name, void *arg), void *arg)
{
	struct dirent *e;
	DIR *dir;

	if ((dir = opendir(h->inst[CG_MEMORY])) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL)
		if (e->d_type == DT_DIR && e->d_name[0] != '.')
			fn(e->d_name, arg);
	closedir(dir);
	return 0;
}
