#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "facts/image_check.h"
#include "base/log.h"
#include "sandbox/outputs.h"

int
outputs_init(struct outputs *o, const char *outputs_dir, const char *job_id)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (snprintf(o->stage, sizeof(o->stage), "%s/.%s.part", outputs_dir, job_id) >=
	    (int)sizeof(o->stage) ||
	    snprintf(o->final, sizeof(o->final), "%s/%s", outputs_dir, job_id) >= (int)sizeof(o->final))
		return -1;
	return 0;
}

int
outputs_file_begin(void *arg, const struct sbproto_file *f)
{
	struct outputs *o = arg;
	char path[700];

	if (o->n >= SBPROTO_MAX_FILES || !sbproto_name_ok(f->name))
		return -1;
	if (o->n == 0 && mkdir(o->stage, 0750) < 0 && errno != EEXIST) {
		log_warn("mkdir %s", o->stage);
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s", o->stage, f->name) >= (int)sizeof(path))
		return -1;
	o->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (o->fd < 0) {
		log_warn("open %s", path);
		return -1;
	}
	memset(&o->files[o->n], 0, sizeof(o->files[o->n]));
	snprintf(o->files[o->n].name, sizeof(o->files[o->n].name), "%s", f->name);
	o->got = 0;
	return 0;
}

int
outputs_file_data(void *arg, const char *buf, size_t n)
{
	struct outputs *o = arg;

	if (o->fd < 0 || file_write_all(o->fd, buf, n) < 0)
		return -1;
	o->got += (int64_t)n;
	return 0;
}

/* Checks the received file open on fd, named f->name, into out. */
static void
check_file(int fd, struct output_file *out)
{
	struct image_info img;
	char why[128];
	const char *dot = strrchr(out->name, '.');
	int is_png_name = dot != NULL && strcasecmp(dot, ".png") == 0;

	if (lseek(fd, 0, SEEK_SET) < 0 || out->bytes == 0) {
		snprintf(out->why, sizeof(out->why), "it is empty");
		return;
	}
	if (image_check_fd(fd, OUTPUTS_MAX_PIXELS, &img, why, sizeof(why)) != IMG_OK) {
		snprintf(out->why, sizeof(out->why), "it is not a valid %s: %s",
		    is_png_name ? "PNG" : "JPEG", why);
		return;
	}
	if (strcmp(img.mime, is_png_name ? "image/png" : "image/jpeg") != 0) {
		snprintf(out->why, sizeof(out->why), "it is %s, not %s as its name says", img.mime,
		    is_png_name ? "PNG" : "JPEG");
		return;
	}
	snprintf(out->type, sizeof(out->type), "%.15s", img.mime);
	out->width = img.width;
	out->height = img.height;
	out->published = 1;
}

int
outputs_file_end(void *arg, const struct sbproto_file *f)
{
	struct outputs *o = arg;
	struct output_file *out = &o->files[o->n];

	if (o->fd < 0)
		return -1;
	out->bytes = o->got;
	check_file(o->fd, out);
	close(o->fd);
	o->fd = -1;
	o->n++;
	return 0;
}

/* Notes the files the sandbox listed that are not regular files. */
static void
note_non_files(struct outputs *o, const struct sbproto *proto)
{
	static const struct { const char *kind, *words; } kinds[] = {
		{ "symlink", "a symbolic link; save the image itself" },
		{ "folder", "a folder, not an image file" },
		{ "fifo", "a FIFO, not an image file" },
		{ "other", "not a regular file" },
	};
	int i;
	size_t k;

	for (i = 0; i < proto->nfiles && o->n < SBPROTO_MAX_FILES; i++) {
		if (proto->files[i].bytes >= 0)
			continue;
		struct output_file *out = &o->files[o->n++];
		memset(out, 0, sizeof(*out));
		snprintf(out->name, sizeof(out->name), "%s", proto->files[i].name);
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strcmp(proto->files[i].kind, kinds[k].kind) == 0)
				snprintf(out->why, sizeof(out->why), "it is %s", kinds[k].words);
	}
}

/* Removes the staged files that did not pass, then moves the folder into
 * place. Returns 0 or -1. */
static int
publish_stage(struct outputs *o)
{
	char path[700];
	int i;

	for (i = 0; i < o->n; i++)
		if (!o->files[i].published &&
		    snprintf(path, sizeof(path), "%s/%s", o->stage, o->files[i].name) < (int)sizeof(path))
			unlink(path);
	if (chmod(o->stage, 0750) < 0 || rename(o->stage, o->final) < 0) {
		log_warn("publish %s", o->final);
		return -1;
	}
	return 0;
}

enum result_status
outputs_publish(struct outputs *o, const struct sbproto *proto, char *msg, size_t msglen)
{
	struct output_file *res = NULL;
	int i;

	msg[0] = '\0';
	if (proto->files_bad) {
		snprintf(msg, msglen, "the images could not be taken from the sandbox: %s",
		    proto->files_why);
		o->n = 0;
		return RESULT_BAD;
	}
	note_non_files(o, proto);
	for (i = 0; i < o->n; i++)
		if (strcmp(o->files[i].name, "result.png") == 0)
			res = &o->files[i];
	/* Without a publishable result.png nothing is published: the list
	 * is emptied, and the staged files go with outputs_discard. */
	if (res == NULL) {
		o->n = 0;
		return RESULT_MISSING;
	}
	if (!res->published) {
		snprintf(msg, msglen, "/output/result.png: %s", res->why);
		o->n = 0;
		return RESULT_BAD;
	}
	if (publish_stage(o) < 0) {
		snprintf(msg, msglen, "the result could not be stored: %s", strerror(errno));
		for (i = 0; i < o->n; i++)
			o->files[i].published = 0;
		return RESULT_ERROR;
	}
	return RESULT_OK;
}

void
outputs_discard(struct outputs *o)
{
	if (o->fd >= 0) {
		close(o->fd);
		o->fd = -1;
	}
	if (access(o->stage, F_OK) == 0)
		remove_tree(o->stage);
}
