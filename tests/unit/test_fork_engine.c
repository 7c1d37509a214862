/* The fork engine's parts that are data: the subordinate id ranges, the
 * template's root as a plan of steps, the seccomp filter, the cgroup
 * setting's refusals. (Its processes are driven by build/try_fork in
 * tests/integration/test_fork_engine.py.) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "engine/cgroup.h"
#include "engine/fork.h"
#include "engine/userns.h"
#include "unit.h"

static char dir[] = "/tmp/imgsandbox-unit-fork-XXXXXX";

TEST(subid_ranges)
{
	char path[128];
	unsigned long first = 0, count = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/subuid", dir);
	fp = fopen(path, "w");
	fputs("bob:x:y\nzero:300000:0\nalice:100000:65536\n1000:200000:10\n", fp);
	fclose(fp);
	CHECK_INT(userns_subid_range(path, "alice", 5, &first, &count), 0);
	CHECK_INT(first, 100000);
	CHECK_INT(count, 65536);
	CHECK_INT(userns_subid_range(path, "carol", 1000, &first, &count), 0);
	CHECK_INT(first, 200000);
	CHECK_INT(userns_subid_range(path, "bob", 7, &first, &count), -1);
	CHECK_INT(userns_subid_range(path, "zero", 7, &first, &count), -1);
	CHECK_INT(userns_subid_range("/nonexistent", "alice", 5, &first, &count), -1);
}

/* The index of the first step with op whose a and b are as given (NULL:
 * any), from i on; -1 when none. */
static int
find(const struct root_plan *p, int from, enum root_op op, const char *a, const char *b)
{
	int i;

	for (i = from; i < p->n; i++)
		if (p->step[i].op == op && (a == NULL || (p->step[i].a && strcmp(p->step[i].a, a) == 0)) &&
		    (b == NULL || (p->step[i].b && strcmp(p->step[i].b, b) == 0)))
			return i;
	return -1;
}

TEST(template_root_plan)
{
	struct root_plan *p = malloc(sizeof(*p));
	char rootfs[128], path[256], msg[256];
	int pivot, umount_old, i, bind;
	static const char *const dirs[] = { "usr", "etc", "var", "proc", "tmp", "dev", "home" };

	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	for (i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "%s/%s", rootfs, dirs[i]);
		CHECK_INT(make_dirs(path, 0755), 0);
	}
	snprintf(path, sizeof(path), "%s/bin", rootfs);
	CHECK_INT(symlink("usr/bin", path), 0);
	CHECK_INT(fork_root_plan(p, rootfs, "/srv/runner", "/srv/build/zygote_fork.so",
	    "/srv/state", msg, sizeof(msg)), 0);
	/* Nothing of it reaches the host's mounts; the host's tree is left
	 * behind the pivot and unmounted after the last use of it. */
	CHECK(p->step[0].op == R_MOUNT && p->step[0].a == NULL && strcmp(p->step[0].b, "/") == 0 &&
	    p->step[0].flags == (MS_REC | MS_PRIVATE));
	pivot = find(p, 0, R_PIVOT, NULL, NULL);
	umount_old = find(p, 0, R_UMOUNT, "/.old", NULL);
	CHECK(pivot > 0 && umount_old > pivot);
	CHECK_INT(find(p, umount_old, R_RMDIR, "/.old", NULL), umount_old + 1);
	for (i = umount_old + 2; i < p->n; i++)
		CHECK(p->step[i].a == NULL || strncmp(p->step[i].a, "/.old", 5) != 0);
	/* The root filesystem's folders of files, read-only; its links copied;
	 * the rest of its folders (proc, tmp, dev, home) never bound. */
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/.old%s/%s", rootfs, dirs[i]);
		bind = find(p, pivot, R_MOUNT, path, NULL);
		CHECK(bind > pivot);
		CHECK(bind > 0 && p->step[bind + 1].op == R_REMOUNT &&
		    (p->step[bind + 1].flags & (MS_RDONLY | MS_NOSUID | MS_NODEV)) ==
		    (MS_RDONLY | MS_NOSUID | MS_NODEV));
	}
	for (i = 3; i < 7; i++) {
		snprintf(path, sizeof(path), "/.old%s/%s", rootfs, dirs[i]);
		CHECK_INT(find(p, 0, R_MOUNT, path, NULL), -1);
	}
	CHECK(find(p, pivot, R_SYMLINK, "usr/bin", "/bin") > 0);
	/* The state folder read-only and noexec; the runner's files copied. */
	bind = find(p, pivot, R_MOUNT, "/.old/srv/state", FORK_BOXES_AT);
	CHECK(bind > 0 && p->step[bind + 1].op == R_REMOUNT &&
	    (p->step[bind + 1].flags & (MS_RDONLY | MS_NOEXEC)) == (MS_RDONLY | MS_NOEXEC));
	CHECK(find(p, pivot, R_COPY, "/.old/srv/runner/entry.py", "/opt/imgsandbox/entry.py") > 0);
	CHECK(find(p, pivot, R_COPY, "/.old/srv/runner/zygote.py", NULL) > 0);
	CHECK(find(p, pivot, R_COPY, "/.old/srv/build/zygote_fork.so",
	    "/opt/imgsandbox/zygote_fork.so") > 0);
	CHECK(find(p, pivot, R_MOUNT, "/.old/dev/null", "/dev/null") > 0);
	CHECK_INT(find(p, pivot, R_MOUNT, "/.old/dev/mem", NULL), -1);
	/* And then the whole root read-only. */
	CHECK(find(p, umount_old, R_REMOUNT, "/", NULL) > umount_old);
	free(p);
}

TEST(template_root_plan_refuses_a_missing_rootfs)
{
	struct root_plan *p = malloc(sizeof(*p));
	char msg[256] = "";

	CHECK_INT(fork_root_plan(p, "/nonexistent/rootfs", "/r", "/l", "/s", msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "/nonexistent/rootfs") != NULL);
	free(p);
}

TEST(seccomp_filter_is_bpf)
{
	char msg[256] = "";
	struct stat st;
	int fd = fork_seccomp_memfd("runner_image/seccomp.list", msg, sizeof(msg));

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(fstat(fd, &st), 0);
	CHECK(st.st_size > 8 * 20 && st.st_size % 8 == 0);
	close(fd);
	/* A list that does not read is said, with its name. */
	CHECK_INT(fork_seccomp_memfd("/nonexistent/seccomp.list", msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "/nonexistent/seccomp.list") != NULL);
}

TEST(cgroup_setting_refusals)
{
	struct cgroup_host h;
	char msg[512] = "";

	CHECK_INT(cgroup_open(&h, "../escape", "x", msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "IMGSANDBOX_CGROUP") != NULL);
	CHECK_INT(cgroup_open(&h, "/abs", "x", msg, sizeof(msg)), -1);
	CHECK_INT(cgroup_open(&h, "a//b", "x", msg, sizeof(msg)), -1);
	msg[0] = '\0';
	CHECK_INT(cgroup_open(&h, "imgsandbox-unit-never-made", "x", msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "engine_setup.sh") != NULL || strstr(msg, "controllers") != NULL);
}

int
main(void)
{
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(subid_ranges);
	RUN(template_root_plan);
	RUN(template_root_plan_refuses_a_missing_rootfs);
	RUN(seccomp_filter_is_bpf);
	RUN(cgroup_setting_refusals);
	rc = unit_done("fork_engine");
	return remove_tree(dir) == 0 ? rc : 1;
}
