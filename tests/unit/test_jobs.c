/* Job ids, job folders, removal that follows no link. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/jobs.h"
#include "unit.h"

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

TEST(ids_are_128_bit_hex_and_distinct)
{
	enum { N = 20000 };
	static char ids[N][JOB_ID_LEN + 1];
	int i, dup = 0, hex = 1;

	for (i = 0; i < N; i++) {
		CHECK_INT(job_new_id(ids[i]), 0);
		CHECK_INT(strlen(ids[i]), 32);
		hex &= strspn(ids[i], "0123456789abcdef") == 32;
	}
	CHECK(hex);
	qsort(ids, N, sizeof(ids[0]), cmp);
	for (i = 1; i < N; i++)
		dup |= strcmp(ids[i - 1], ids[i]) == 0;
	CHECK(!dup);
}

TEST(job_folder_and_removal)
{
	char root[] = "/tmp/imgsandbox-unit-XXXXXX", path[1200];
	struct job j;
	struct stat st;
	int fd;

	CHECK(mkdtemp(root) != NULL);
	/* A file outside the job that a link inside points at. */
	snprintf(path, sizeof(path), "%s/precious", root);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT(job_create(root, &j), 0);
	CHECK_INT(stat(j.dir, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0700);
	CHECK_INT(stat(j.code_dir, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT(job_write_code(&j, "print(1)\n", 9), 0);
	snprintf(path, sizeof(path), "%s/main.py", j.code_dir);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0444);
	snprintf(path, sizeof(path), "%s/link", j.input_dir);
	CHECK_INT(symlink(root, path), 0);
	CHECK_INT(remove_tree(j.dir), 0);
	CHECK(access(j.dir, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/precious", root);
	CHECK_INT(access(path, F_OK), 0);
	CHECK_INT(remove_tree(root), 0);
	CHECK(access(root, F_OK) != 0);
}

TEST(cancel_reaches_a_run_in_progress_only)
{
	char root[] = "/tmp/imgsandbox-unit-XXXXXX", buf[4];
	struct job j;
	int fd;

	CHECK(mkdtemp(root) != NULL);
	CHECK_INT(job_create(root, &j), 0);
	CHECK_INT(job_cancel(root, j.id), 0);		/* nothing listens yet */
	fd = job_cancel_listen(&j);
	CHECK(fd >= 0);
	CHECK(read(fd, buf, 1) <= 0);			/* nothing to read */
	CHECK_INT(job_cancel(root, j.id), 1);
	CHECK_INT(read(fd, buf, 1), 1);
	CHECK_INT(job_cancel(root, "../../etc/passwd"), 0);	/* not an id */
	CHECK_INT(job_cancel(root, "0123456789abcdef0123456789abcdef"), 0);	/* unknown */
	close(fd);
	CHECK_INT(job_cancel(root, j.id), 0);		/* the run is over */
	CHECK_INT(remove_tree(root), 0);
}

TEST(sweep_removes_only_old_entries)
{
	char root[] = "/tmp/imgsandbox-unit-XXXXXX", a[600], b[600];
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };

	CHECK(mkdtemp(root) != NULL);
	snprintf(a, sizeof(a), "%s/old", root);
	snprintf(b, sizeof(b), "%s/new", root);
	CHECK_INT(mkdir(a, 0755), 0);
	CHECK_INT(mkdir(b, 0755), 0);
	CHECK_INT(utimensat(AT_FDCWD, a, old, 0), 0);
	CHECK_INT(jobs_sweep(root, 3600), 1);
	CHECK(access(a, F_OK) != 0);
	CHECK_INT(access(b, F_OK), 0);
	remove_tree(root);
}

/* Makes root/name/result.png of bytes bytes, mtime age_s ago. */
static void
result_of(const char *root, const char *name, int bytes, int age_s)
{
	char path[600];
	struct timespec t[2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/%s/result.png", root, name);
	fd = open(path, O_WRONLY | O_CREAT, 0640);
	for (int i = 0; i < bytes / 4096; i++)
		(void)!write(fd, (char[4096]){ 1 }, 4096);
	close(fd);
	snprintf(path, sizeof(path), "%s/%s", root, name);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age_s;
	t[1] = t[0];
	utimensat(AT_FDCWD, path, t, 0);
}

TEST(results_past_the_budget_go_oldest_first)
{
	char root[] = "/tmp/imgsandbox-unit-XXXXXX", path[600];
	int64_t left = -1;

	CHECK(mkdtemp(root) != NULL);
	result_of(root, "00000000000000000000000000000001", 64 * 1024, 300);
	result_of(root, "00000000000000000000000000000002", 64 * 1024, 200);
	result_of(root, "00000000000000000000000000000003", 64 * 1024, 100);
	CHECK_INT(jobs_sweep_budget(root, 10 << 20, NULL, &left), 0);	/* all fit */
	CHECK_INT(left, 3 * 64 * 1024);
	CHECK_INT(jobs_sweep_budget(root, 140 * 1024, NULL, &left), 1);	/* the oldest goes */
	CHECK_INT(left, 2 * 64 * 1024);
	snprintf(path, sizeof(path), "%s/00000000000000000000000000000001", root);
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/00000000000000000000000000000003", root);
	CHECK_INT(access(path, F_OK), 0);
	/* The one being published stays, whatever its age. */
	CHECK_INT(jobs_sweep_budget(root, 0, "00000000000000000000000000000002", &left), 1);
	CHECK_INT(left, 64 * 1024);
	CHECK_INT(jobs_sweep_budget(root, 0, NULL, NULL), 1);
	/* Results of one second go in the order they were made (ns). */
	result_of(root, "00000000000000000000000000000004", 64 * 1024, 0);
	result_of(root, "00000000000000000000000000000005", 64 * 1024, 0);
	CHECK_INT(jobs_sweep_budget(root, 64 * 1024, NULL, NULL), 1);
	snprintf(path, sizeof(path), "%s/00000000000000000000000000000005", root);
	CHECK_INT(access(path, F_OK), 0);
	CHECK_INT(remove_tree(root), 0);
}

int
main(void)
{
	RUN(ids_are_128_bit_hex_and_distinct);
	RUN(job_folder_and_removal);
	RUN(cancel_reaches_a_run_in_progress_only);
	RUN(results_past_the_budget_go_oldest_first);
	RUN(sweep_removes_only_old_entries);
	return unit_done("jobs");
}
