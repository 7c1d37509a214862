#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "base/log.h"

int
file_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int64_t
file_copy_fd(int in, int out, int64_t max)
{
	char buf[65536];
	int64_t done = 0;
	size_t want;
	ssize_t n;

	for (;;) {
		want = sizeof(buf);
		if (max >= 0 && (int64_t)want > max - done)
			want = (size_t)(max - done);
		if (want == 0)
			return done;
		n = read(in, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return done;
		if (file_write_all(out, buf, (size_t)n) < 0)
			return -1;
		done += n;
	}
}

int
make_dirs(const char *path, mode_t mode)
{
	char tmp[1024], *p;
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Opens the folder name in dfd without following a link, making it ours to
 * read first when it is not. Returns the descriptor, or -1. */
static int
open_dir_at(int dfd, const char *name)
{
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		(void)!fchmodat(dfd, name, 0700, 0);
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return fd;
}

/* Removes what it can of the entries of the folder fd: files and links at
 * once, empty folders too. Returns the descriptor of a folder below that
 * is not empty (to go down into), -1 when there is none, or -2 on a
 * failure that leaves something behind (*failed is set). */
static int
clear_level(int fd, int *failed)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int dup_fd, down = -1;

	/* A folder of ours we may not write in: make it writable first. */
	if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
		(void)!fchmod(fd, 0700);
	if ((dup_fd = dup(fd)) < 0 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		*failed = 1;
		return -2;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			*failed = 1;
			continue;
		}
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0)
			continue;
		if (errno != ENOTEMPTY && errno != EEXIST && errno != EACCES) {
			*failed = 1;
			continue;
		}
		if ((down = open_dir_at(fd, de->d_name)) >= 0)
			break;
		*failed = 1;
	}
	closedir(d);
	return down;
}

int
remove_tree(const char *path)
{
	int fd, down, depth = 0, failed = 0, up;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || unlink(path) == 0)
			return 0;
		log_warn("remove %s", path);
		return -1;
	}
	/* Down into the first folder that is not empty; when a level is
	 * empty, back up through ".." (nothing writes here any more, so ".."
	 * is the folder we came from) and clear that level again, which now
	 * removes the emptied folder. A level that fails stops the walk. */
	for (;;) {
		down = clear_level(fd, &failed);
		if (failed) {
			if (down >= 0)
				close(down);
			break;
		}
		if (down >= 0) {
			close(fd);
			fd = down;
			depth++;
			continue;
		}
		if (depth == 0)
			break;
		up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		if (up < 0) {
			failed = 1;
			fd = -1;
			break;
		}
		fd = up;
		depth--;
	}
	if (fd >= 0)
		close(fd);
	if (failed || rmdir(path) < 0) {
		log_warn("remove %s", path);
		return -1;
	}
	return 0;
}

int
lock_one_of(const char *dir, int n, int start)
{
	char path[600];
	int i, fd;

	for (i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/slot-%d", dir,
		    (int)(((unsigned)start + (unsigned)i) % (unsigned)n)) >= (int)sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		close(fd);
	}
	errno = EWOULDBLOCK;
	return -1;
}

int
file_put(const char *path, const char *text)
{
	int fd, rc, saved;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = file_write_all(fd, text, strlen(text));
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

char *
file_read_all(const char *path, size_t max, size_t *len)
{
	size_t cap = 0, n = 0, want;
	char *buf = NULL, *grown;
	int fd, saved;
	ssize_t r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	for (;;) {
		if (n > max) {		/* one byte past max was read */
			errno = EFBIG;
			goto fail;
		}
		if (n + 1 >= cap) {	/* room for max + 1 bytes and the NUL */
			want = cap == 0 ? 8192 : cap * 2;
			if (want > max + 2)
				want = max + 2;
			if ((grown = realloc(buf, want)) == NULL)
				goto fail;
			buf = grown;
			cap = want;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	saved = errno;
	close(fd);
	free(buf);
	errno = saved;
	return NULL;
}
