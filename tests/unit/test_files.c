/* files: whole writes and copies, mkdir -p, and the removal of a tree of
 * any shape (deeper than any recursion limit, with folders its owner may
 * not read or write, and links that must not be followed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/files.h"
#include "unit.h"

static char root[256];

static void
fresh_root(void)
{
	snprintf(root, sizeof(root), "/tmp/test_files.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
}

TEST(remove_a_tree_deeper_than_any_stack)
{
	char path[300];
	int fd, i, depth = 0;

	fresh_root();
	/* 3000 levels, built with openat so no path is ever long. */
	fd = open(root, O_RDONLY | O_DIRECTORY);
	for (i = 0; i < 3000 && fd >= 0; i++) {
		int next;
		if (mkdirat(fd, "d", 0755) < 0 || (next = openat(fd, "d", O_RDONLY | O_DIRECTORY)) < 0)
			break;
		close(fd);
		fd = next;
		depth++;
	}
	CHECK_INT(depth, 3000);
	/* A file at the bottom and a folder its owner may not read. */
	if (fd >= 0) {
		int f = openat(fd, "bottom.txt", O_WRONLY | O_CREAT, 0600);
		CHECK(f >= 0);
		if (f >= 0)
			close(f);
		CHECK_INT(mkdirat(fd, "closed", 0755), 0);
		CHECK_INT(mkdirat(fd, "closed/inner", 0755), 0);
		CHECK_INT(fchmodat(fd, "closed", 0, 0), 0);
		close(fd);
	}
	CHECK_INT(remove_tree(root), 0);
	CHECK(access(root, F_OK) < 0 && errno == ENOENT);
	snprintf(path, sizeof(path), "%s", root);
	CHECK_INT(remove_tree(path), 0);	/* a missing path is done already */
}

TEST(remove_does_not_follow_links)
{
	char outside[256], path[600];
	int f;

	fresh_root();
	snprintf(outside, sizeof(outside), "/tmp/test_files_outside.XXXXXX");
	CHECK(mkdtemp(outside) != NULL);
	snprintf(path, sizeof(path), "%s/keep.txt", outside);
	f = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(f >= 0);
	if (f >= 0)
		close(f);
	snprintf(path, sizeof(path), "%s/link", root);
	CHECK_INT(symlink(outside, path), 0);
	CHECK_INT(remove_tree(root), 0);
	snprintf(path, sizeof(path), "%s/keep.txt", outside);
	CHECK_INT(access(path, F_OK), 0);
	CHECK_INT(remove_tree(outside), 0);
}

TEST(write_and_copy)
{
	char path[300], buf[16];
	int p[2], f;

	fresh_root();
	snprintf(path, sizeof(path), "%s/a", root);
	f = open(path, O_RDWR | O_CREAT, 0600);
	CHECK_INT(file_write_all(f, "hello world", 11), 0);
	CHECK(lseek(f, 0, SEEK_SET) == 0);
	CHECK(pipe(p) == 0);
	CHECK_INT(file_copy_fd(f, p[1], 5), 5);		/* bounded */
	CHECK_INT(file_copy_fd(f, p[1], -1), 6);	/* the rest */
	close(p[1]);
	CHECK_INT(read(p[0], buf, sizeof(buf)), 11);
	CHECK(memcmp(buf, "hello world", 11) == 0);
	close(p[0]);
	close(f);
	snprintf(path, sizeof(path), "%s/x/y/z", root);
	CHECK_INT(make_dirs(path, 0700), 0);
	CHECK_INT(make_dirs(path, 0700), 0);		/* there already */
	CHECK_INT(remove_tree(root), 0);
}

/* file_read_all: the whole file up to max bytes (exactly max is read),
 * one byte more is EFBIG, a missing file is NULL with its errno. */
TEST(read_all_within_a_limit)
{
	char path[] = "/tmp/imgsandbox-unit-readall-XXXXXX", *buf;
	size_t len = 99;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_INT(file_write_all(fd, "0123456789", 10), 0);
	close(fd);
	buf = file_read_all(path, 10, &len);
	CHECK(buf != NULL);
	CHECK_INT(len, 10);
	CHECK_STR(buf, "0123456789");
	free(buf);
	errno = 0;
	CHECK(file_read_all(path, 9, &len) == NULL);
	CHECK_INT(errno, EFBIG);
	unlink(path);
	CHECK(file_read_all(path, 10, &len) == NULL);
	CHECK_INT(errno, ENOENT);
}

/* n places: taken one after the other, none when all are held (by any
 * process: a child holds one here), each back when its holder closes it. */
TEST(places_of_the_host)
{
	char dir[] = "/tmp/unit-places-XXXXXX";
	int a, b, c;
	pid_t kid;
	int pipefd[2];
	char byte;

	CHECK(mkdtemp(dir) != NULL);
	CHECK((a = lock_one_of(dir, 2, 0)) >= 0);
	CHECK(pipe(pipefd) == 0);
	if ((kid = fork()) == 0) {	/* another process takes the second */
		int fd;
		close(a);		/* (a child keeps what it inherits) */
		fd = lock_one_of(dir, 2, 0);
		byte = fd >= 0 ? 'y' : 'n';
		(void)write(pipefd[1], &byte, 1);
		pause();
		_exit(0);
	}
	CHECK(read(pipefd[0], &byte, 1) == 1 && byte == 'y');
	b = lock_one_of(dir, 2, 0);
	CHECK(b < 0 && errno == EWOULDBLOCK);
	close(a);
	CHECK((c = lock_one_of(dir, 2, 0)) >= 0);	/* the first, given back */
	CHECK(lock_one_of(dir, 2, 0) < 0);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	CHECK((b = lock_one_of(dir, 2, 0)) >= 0);	/* the dead child's */
	close(b);
	close(c);
	close(pipefd[0]);
	close(pipefd[1]);
	CHECK(lock_one_of("/nonexistent/dir", 1, 0) < 0 && errno == ENOENT);
	CHECK(remove_tree(dir) == 0);
}

/* Which slot a descriptor holds: the digit after "slot-" of its path. */
static int
slot_of(int fd)
{
	char link[64], path[600];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return -1;
	path[n] = '\0';
	return strstr(path, "slot-") != NULL ? atoi(strstr(path, "slot-") + 5) : -1;
}

/* A start place: the look begins there and goes round (the share's
 * responders each begin at their pid); file_put writes a file that is
 * there, and makes none. */
TEST(places_from_a_start_and_files_put)
{
	char dir[] = "/tmp/unit-places-XXXXXX", path[600];
	int a, b, c;

	CHECK(mkdtemp(dir) != NULL);
	CHECK((a = lock_one_of(dir, 3, 7)) >= 0 && slot_of(a) == 1);	/* 7 % 3 */
	CHECK((b = lock_one_of(dir, 3, 7)) >= 0 && slot_of(b) == 2);
	CHECK((c = lock_one_of(dir, 3, 7)) >= 0 && slot_of(c) == 0);	/* round */
	CHECK(lock_one_of(dir, 3, 7) < 0 && errno == EWOULDBLOCK);
	close(a);
	close(b);
	close(c);
	snprintf(path, sizeof(path), "%s/slot-0", dir);
	CHECK(file_put(path, "max\n") == 0);
	CHECK(file_put(path, "12") == 0);	/* in place, as a cgroup file takes it */
	{
		char buf[16] = { 0 };
		int fd = open(path, O_RDONLY);
		CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 4);
		CHECK_STR(buf, "12x\n");
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/none", dir);
	CHECK(file_put(path, "x") < 0 && errno == ENOENT);
	CHECK(remove_tree(dir) == 0);
}

int
main(void)
{
	RUN(remove_a_tree_deeper_than_any_stack);
	RUN(places_from_a_start_and_files_put);
	RUN(remove_does_not_follow_links);
	RUN(write_and_copy);
	RUN(places_of_the_host);
	RUN(read_all_within_a_limit);
	return unit_done("files");
}
