#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_check.h"
#include "log.h"
#include "files.h"
#include "result_check.h"

/* The result may be a large image; its byte cap is what bounds it. */
#define RESULT_MAX_PIXELS 400000000ULL

static const char *
file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a folder";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

/* Copies the open file in to a new file at path. Returns 0 or -1. */
static int
copy_to_new(int in, const char *path, uint64_t size)
{
	int out;

	if ((out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return -1;
	if (lseek(in, 0, SEEK_SET) < 0 || file_copy_fd(in, out, (int64_t)size) != (int64_t)size) {
		close(out);
		unlink(path);
		return -1;
	}
	if (close(out) < 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

enum result_status
result_publish(const char *output_dir, const char *outputs_dir, const char *job_id,
    uint64_t max_bytes, struct result_info *info, char *msg, size_t msglen)
{
	struct image_info img;
	struct stat st;
	char dir[1024], tmp[1100], final[1100], why[256];
	int dfd = -1, fd = -1;
	enum result_status rs = RESULT_ERROR;

	memset(info, 0, sizeof(*info));
	msg[0] = '\0';
	if ((dfd = open(output_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(msg, msglen, "the job's output folder cannot be read: %s", strerror(errno));
		goto out;
	}
	/* O_NOFOLLOW refuses a link; O_NONBLOCK keeps a FIFO from blocking. */
	fd = openat(dfd, "result.png", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			rs = RESULT_MISSING;
		} else if (errno == ELOOP) {
			snprintf(msg, msglen, "/output/result.png is a symbolic link; save the image itself");
			rs = RESULT_BAD;
		} else if (fstatat(dfd, "result.png", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISREG(st.st_mode)) {
			snprintf(msg, msglen, "/output/result.png is %s, not an image file",
			    file_kind(st.st_mode));
			rs = RESULT_BAD;
		} else {
			snprintf(msg, msglen, "/output/result.png cannot be read: %s", strerror(errno));
			rs = RESULT_BAD;
		}
		goto out;
	}
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "/output/result.png is %s, not an image file",
		    file_kind(st.st_mode));
		rs = RESULT_BAD;
		goto out;
	}
	if ((uint64_t)st.st_size > max_bytes) {
		snprintf(msg, msglen, "/output/result.png is %.1f MB; the limit is %.1f MB",
		    st.st_size / 1e6, max_bytes / 1e6);
		rs = RESULT_BAD;
		goto out;
	}
	if (st.st_size == 0) {
		snprintf(msg, msglen, "/output/result.png is empty");
		rs = RESULT_BAD;
		goto out;
	}
	switch (image_check_fd(fd, RESULT_MAX_PIXELS, &img, why, sizeof(why))) {
	case IMG_OK:
		break;
	case IMG_IO_ERROR:
		snprintf(msg, msglen, "/output/result.png cannot be read");
		rs = RESULT_BAD;
		goto out;
	default:
		snprintf(msg, msglen, "/output/result.png is not a valid PNG: %s", why);
		rs = RESULT_BAD;
		goto out;
	}
	if (strcmp(img.mime, "image/png") != 0) {
		snprintf(msg, msglen, "/output/result.png is %s, not PNG; save with "
		    "format \"PNG\" (Pillow: img.save(\"/output/result.png\"), "
		    "OpenCV: cv2.imwrite(\"/output/result.png\", img))", img.mime);
		rs = RESULT_BAD;
		goto out;
	}
	if (snprintf(dir, sizeof(dir), "%s/%s", outputs_dir, job_id) >= (int)sizeof(dir) ||
	    snprintf(tmp, sizeof(tmp), "%s/.result.png.tmp", dir) >= (int)sizeof(tmp) ||
	    snprintf(final, sizeof(final), "%s/result.png", dir) >= (int)sizeof(final))
		goto out;
	if (mkdir(dir, 0755) < 0) {
		log_warn("mkdir %s", dir);
		snprintf(msg, msglen, "the result could not be stored: %s", strerror(errno));
		goto out;
	}
	if (copy_to_new(fd, tmp, (uint64_t)st.st_size) < 0 || rename(tmp, final) < 0) {
		log_warn("publish %s", final);
		snprintf(msg, msglen, "the result could not be stored: %s", strerror(errno));
		unlink(tmp);
		rmdir(dir);
		goto out;
	}
	info->width = img.width;
	info->height = img.height;
	info->bytes = (uint64_t)st.st_size;
	rs = RESULT_OK;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return rs;
}
