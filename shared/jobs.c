#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "log.h"

int
job_new_id(char out[JOB_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[JOB_ID_LEN / 2];
	size_t got = 0;
	ssize_t n;
	int i;

	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	for (i = 0; i < (int)sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[JOB_ID_LEN] = '\0';
	return 0;
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

static int
path_join(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
job_create(const char *jobs_root, uid_t uid, gid_t gid, struct job *j)
{
	if (job_new_id(j->id) < 0)
		return -1;
	if (path_join(j->dir, sizeof(j->dir), jobs_root, j->id) < 0 ||
	    path_join(j->code_dir, sizeof(j->code_dir), j->dir, "code") < 0 ||
	    path_join(j->input_dir, sizeof(j->input_dir), j->dir, "input") < 0 ||
	    path_join(j->output_dir, sizeof(j->output_dir), j->dir, "output") < 0 ||
	    path_join(j->image_path, sizeof(j->image_path), j->input_dir, "image.png") < 0)
		return -1;
	/* 0711: the sandbox's user may pass through, not list. A new id
	 * that already exists means the CSPRNG failed: refuse. */
	if (mkdir(j->dir, 0711) < 0)
		return -1;
	if (mkdir(j->code_dir, 0755) < 0 || mkdir(j->input_dir, 0755) < 0 ||
	    mkdir(j->output_dir, 0700) < 0)
		goto fail;
	if (chown(j->output_dir, uid, gid) < 0) {
		/* Not root: the sandbox's user cannot own it, so it must be
		 * writable by anyone (the job folder above is not listable). */
		if (chmod(j->output_dir, 0777) < 0)
			goto fail;
	}
	return 0;
fail:
	remove_tree(j->dir);
	return -1;
}

int
job_write_code(const struct job *j, const char *code, size_t len)
{
	char path[600];
	size_t off = 0;
	ssize_t n;
	int fd;

	if (path_join(path, sizeof(path), j->code_dir, "main.py") < 0)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444)) < 0)
		return -1;
	while (off < len) {
		n = write(fd, code + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	return close(fd);
}

/* Removes everything below the open folder dfd (which it closes). */
static int
remove_below(int dfd, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (depth > 64 || (d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = -1;
			continue;
		}
		/* A folder: make it ours to empty (we may own it but not have
		 * rights in it), then empty and remove it. */
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			(void)!fchmodat(dirfd(d), de->d_name, 0700, 0);
			fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0 || remove_below(fd, depth + 1) < 0)
			rc = -1;
		if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
remove_tree(const char *path)
{
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (unlink(path) == 0)
			return 0;
		log_warn("remove %s", path);
		return -1;
	}
	if (remove_below(fd, 0) < 0 || rmdir(path) < 0) {
		log_warn("remove %s", path);
		return -1;
	}
	return 0;
}

int
jobs_sweep(const char *dir, int64_t max_age_s)
{
	struct dirent *de;
	struct stat st;
	char path[1024];
	time_t now = time(NULL);
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((int64_t)(now - st.st_mtime) <= max_age_s)
			continue;
		if (path_join(path, sizeof(path), dir, de->d_name) < 0)
			continue;
		if (remove_tree(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}
