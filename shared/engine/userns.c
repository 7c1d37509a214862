#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "base/log.h"
#include "base/spawn.h"
#include "engine/userns.h"

int
userns_subid_range(const char *file, const char *name, unsigned long id,
    unsigned long *first, unsigned long *count)
{
	char line[512], ids[32], *f1, *f2, *end;
	unsigned long a, n;
	FILE *fp;
	int found = -1;

	if ((fp = fopen(file, "re")) == NULL)
		return -1;
	snprintf(ids, sizeof(ids), "%lu", id);
	while (found < 0 && fgets(line, sizeof(line), fp) != NULL) {
		if ((f1 = strchr(line, ':')) == NULL || (f2 = strchr(f1 + 1, ':')) == NULL)
			continue;
		*f1 = '\0';
		if (strcmp(line, name) != 0 && strcmp(line, ids) != 0)
			continue;
		errno = 0;
		a = strtoul(f1 + 1, &end, 10);
		if (errno != 0 || end != f2)
			continue;
		n = strtoul(f2 + 1, &end, 10);
		if (errno != 0 || n == 0 || a == 0 || a > 0xfffffffeUL - n)
			continue;
		*first = a;
		*count = n;
		found = 0;
	}
	fclose(fp);
	return found;
}

/* The setuid helper prog (newuidmap or newgidmap) into out. Returns 0, or
 * -1 when it is missing or not setuid root. */
static int
find_helper(const char *prog, char *out, size_t outlen)
{
	struct stat st;

	if (spawn_find_program(prog, out, outlen) < 0) {
		char sbin[64];

		snprintf(sbin, sizeof(sbin), "/usr/bin/%s", prog);
		if (spawn_find_program(sbin, out, outlen) < 0)
			return -1;
	}
	if (stat(out, &st) < 0 || st.st_uid != 0 || !(st.st_mode & S_ISUID))
		return -1;
	return 0;
}

int
userns_plan(uid_t sandbox_uid, gid_t sandbox_gid, struct idmap *m, char *msg, size_t len)
{
	struct passwd pw, *p = NULL;
	char buf[4096];
	unsigned long su, sg, n;

	memset(m, 0, sizeof(*m));
	m->host_uid = geteuid();
	m->host_gid = getegid();
	m->sandbox_uid = sandbox_uid;
	m->sandbox_gid = sandbox_gid;
	m->direct = m->host_uid == 0;
	if (getpwuid_r(m->host_uid, &pw, buf, sizeof(buf), &p) == 0 && p != NULL)
		snprintf(m->user, sizeof(m->user), "%s", p->pw_name);
	else
		snprintf(m->user, sizeof(m->user), "%lu", (unsigned long)m->host_uid);
	if (sandbox_uid == 0 || sandbox_gid == 0) {
		snprintf(msg, len, "the fork engine runs scripts as IMGSANDBOX_USER, never as 0");
		return -1;
	}
	if (userns_subid_range("/etc/subuid", m->user, m->host_uid, &su, &n) < 0 ||
	    userns_subid_range("/etc/subgid", m->user, m->host_uid, &sg, &n) < 0) {
		snprintf(msg, len, "the fork engine needs a range of subordinate ids for the user %s "
		    "(scripts run as one of them, never as %s itself): none in /etc/subuid and "
		    "/etc/subgid; run 'fcgi/engine_setup.sh %s' as root (or usermod "
		    "--add-subuids 100000-165535 --add-subgids 100000-165535 %s)",
		    m->user, m->user, m->user, m->user);
		return -1;
	}
	m->sub_uid = (uid_t)su;
	m->sub_gid = (gid_t)sg;
	if (!m->direct && (find_helper("newuidmap", m->newuidmap, sizeof(m->newuidmap)) < 0 ||
	    find_helper("newgidmap", m->newgidmap, sizeof(m->newgidmap)) < 0)) {
		snprintf(msg, len, "the fork engine needs newuidmap and newgidmap (setuid root) to "
		    "map the user %s's subordinate ids: apt-get install uidmap", m->user);
		return -1;
	}
	return 0;
}

/* The first line of a small file into out. Returns 0, or -1. */
static int
read_line(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

int
userns_allowed(char *msg, size_t len)
{
	char v[32];

	if (geteuid() != 0 && read_line("/proc/sys/kernel/unprivileged_userns_clone", v,
	    sizeof(v)) == 0 && strcmp(v, "1") != 0) {
		snprintf(msg, len, "this kernel lets no unprivileged user make a user namespace "
		    "(kernel.unprivileged_userns_clone = %s), which the fork engine needs: as root, "
		    "sysctl -w kernel.unprivileged_userns_clone=1 (and keep it in /etc/sysctl.d/)", v);
		return -1;
	}
	if (read_line("/proc/sys/user/max_user_namespaces", v, sizeof(v)) == 0 &&
	    strtol(v, NULL, 10) <= 0) {
		snprintf(msg, len, "this kernel allows no user namespace (user.max_user_namespaces = "
		    "%s), which the fork engine needs: as root, sysctl -w "
		    "user.max_user_namespaces=15000 (and keep it in /etc/sysctl.d/)", v);
		return -1;
	}
	if (access("/proc/self/ns/user", F_OK) < 0) {
		snprintf(msg, len, "this kernel has no user namespaces (CONFIG_USER_NS), which the "
		    "fork engine needs: use the Docker engine");
		return -1;
	}
	return 0;
}

/* Writes text into /proc/<pid>/<name>. Returns 0 or -1 with errno. */
static int
write_proc(pid_t pid, const char *name, const char *text)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	return file_put(path, text);
}

/* Runs a map helper: prog pid 0 host 1 sandbox sub 1. Returns 0 or -1. */
static int
run_helper(const char *prog, pid_t pid, unsigned long host, unsigned long sandbox,
    unsigned long sub)
{
	char a[5][24], out[512];
	char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	int code = -1;

	snprintf(a[0], sizeof(a[0]), "%ld", (long)pid);
	snprintf(a[1], sizeof(a[1]), "%lu", host);
	snprintf(a[2], sizeof(a[2]), "%lu", sandbox);
	snprintf(a[3], sizeof(a[3]), "%lu", sub);
	{
		char *const argv[] = { (char *)prog, a[0], "0", a[1], "1", a[2], a[3], "1", NULL };

		if (spawn_capture(prog, argv, env, 10000, out, sizeof(out), &code) != 0 ||
		    code != 0) {
			log_warnx("fork engine: %s %s 0 %s 1 %s %s 1 failed (exit %d)", prog, a[0],
			    a[1], a[2], a[3], code);
			errno = EPERM;
			return -1;
		}
	}
	return 0;
}

int
userns_write_maps(pid_t pid, const struct idmap *m)
{
	char map[128];

	if (!m->direct) {
		if (run_helper(m->newuidmap, pid, m->host_uid, m->sandbox_uid, m->sub_uid) < 0 ||
		    run_helper(m->newgidmap, pid, m->host_gid, m->sandbox_gid, m->sub_gid) < 0)
			return -1;
		return 0;
	}
	snprintf(map, sizeof(map), "0 %lu 1\n%lu %lu 1\n", (unsigned long)m->host_uid,
	    (unsigned long)m->sandbox_uid, (unsigned long)m->sub_uid);
	if (write_proc(pid, "uid_map", map) < 0) {
		log_warn("fork engine: writing the uid map of %ld", (long)pid);
		return -1;
	}
	snprintf(map, sizeof(map), "0 %lu 1\n%lu %lu 1\n", (unsigned long)m->host_gid,
	    (unsigned long)m->sandbox_gid, (unsigned long)m->sub_gid);
	if (write_proc(pid, "gid_map", map) < 0) {
		log_warn("fork engine: writing the gid map of %ld", (long)pid);
		return -1;
	}
	return 0;
}
