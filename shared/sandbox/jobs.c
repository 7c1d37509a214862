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

#include "base/files.h"
#include "sandbox/jobs.h"
#include "base/log.h"

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
job_create(const char *jobs_root, struct job *j)
{
	if (job_new_id(j->id) < 0)
		return -1;
	if (path_join(j->dir, sizeof(j->dir), jobs_root, j->id) < 0 ||
	    path_join(j->code_dir, sizeof(j->code_dir), j->dir, "code") < 0 ||
	    path_join(j->input_dir, sizeof(j->input_dir), j->dir, "input") < 0 ||
	    path_join(j->cancel_path, sizeof(j->cancel_path), j->dir, "cancel") < 0 ||
	    path_join(j->image_path, sizeof(j->image_path), j->input_dir, "image.png") < 0)
		return -1;
	/* The sandbox sees code/ and input/ through bind mounts (it needs
	 * no way through the folders above), read-only; nothing of the host
	 * is writable inside. A new id that already exists means the CSPRNG
	 * failed: refuse. */
	if (mkdir(j->dir, 0700) < 0)
		return -1;
	if (mkdir(j->code_dir, 0755) < 0 || mkdir(j->input_dir, 0755) < 0)
		goto fail;
	return 0;
fail:
	remove_tree(j->dir);
	return -1;
}

int
job_write_code(const struct job *j, const char *code, size_t len)
{
	char path[600];
	int fd;

	if (path_join(path, sizeof(path), j->code_dir, "main.py") < 0)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444)) < 0)
		return -1;
	if (file_write_all(fd, code, len) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
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
		/* Dot entries are ours in progress (".<id>.part"): swept only
		 * when a dead responder left them. */
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (de->d_name[0] == '.' && strstr(de->d_name, ".part") == NULL))
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

int
job_cancel_listen(const struct job *j)
{
	if (mkfifo(j->cancel_path, 0600) < 0)
		return -1;
	return open(j->cancel_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

int
job_cancel(const char *jobs_root, const char *id)
{
	char path[600];
	struct stat st;
	int fd;

	if (strlen(id) != JOB_ID_LEN || strspn(id, "0123456789abcdef") != JOB_ID_LEN ||
	    snprintf(path, sizeof(path), "%s/%s/cancel", jobs_root, id) >= (int)sizeof(path))
		return 0;
	/* O_NONBLOCK: ENXIO when nobody listens (the run is over). */
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT || errno == ENXIO ? 0 : -1;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || write(fd, "x", 1) != 1) {
		close(fd);
		return 0;
	}
	close(fd);
	return 1;
}

/* One published result: its name, age (ns: several are published in one
 * second) and bytes. */
struct entry {
	char name[64];
	int64_t mtime_ns;
	int64_t bytes;
};

/* The bytes of the files directly in folder name of dirfd. */
static int64_t
folder_bytes(int dirfd_, const char *name)
{
	struct dirent *de;
	struct stat st;
	int64_t total = 0;
	DIR *d;
	int fd;

	if ((fd = openat(dirfd_, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			total += (int64_t)st.st_blocks * 512;
	closedir(d);
	return total;
}

static int
older_first(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

/* Lists the result folders of dir (malloc'd *out, *n) and their total. */
static int64_t
list_results(DIR *d, struct entry **out, size_t *n)
{
	struct dirent *de;
	struct stat st;
	struct entry *v = NULL, *grown;
	size_t cap = 0;
	int64_t total = 0;

	*n = 0;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != JOB_ID_LEN ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((grown = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = grown;
		}
		snprintf(v[*n].name, sizeof(v[*n].name), "%s", de->d_name);
		v[*n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		v[*n].bytes = folder_bytes(dirfd(d), de->d_name);
		total += v[*n].bytes;
		(*n)++;
	}
	*out = v;
	return total;
}

int
jobs_sweep_budget(const char *dir, int64_t max_bytes, const char *keep, int64_t *left)
{
	struct entry *v = NULL;
	char path[1024];
	int64_t total;
	size_t n = 0, i;
	int removed = 0;
	DIR *d;

	if (left != NULL)
		*left = 0;
	if ((d = opendir(dir)) == NULL)
		return 0;
	total = list_results(d, &v, &n);
	closedir(d);
	if (total > max_bytes && v != NULL) {
		qsort(v, n, sizeof(*v), older_first);
		for (i = 0; i < n && total > max_bytes; i++) {
			if ((keep != NULL && strcmp(v[i].name, keep) == 0) ||
			    path_join(path, sizeof(path), dir, v[i].name) < 0 || remove_tree(path) < 0)
				continue;
			total -= v[i].bytes;
			removed++;
		}
	}
	free(v);
	if (left != NULL)
		*left = total;
	return removed;
}
