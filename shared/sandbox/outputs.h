/*
 * outputs: the images a script leaves in /output, checked and published.
 * They leave the sandbox as bytes after the script's end (shared/sbproto)
 * and are written into a staging folder, OUTPUTS/.<job>.part/, files the
 * service creates. After the run each is checked by content (libmagic,
 * then the PNG or JPEG structure, within the pixel limit): result.png must
 * be a PNG, the others PNG or JPEG. The folder then becomes OUTPUTS/<job>/
 * with a rename, so a result is either whole or not there. Nothing a
 * script wrote is trusted: names, kinds and sizes are checked again here.
 */
#ifndef OUTPUTS_H
#define OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox/sbproto.h"

#define OUTPUTS_MAX_PIXELS 400000000ULL	/* of one published image */

enum result_status {
	RESULT_OK,		/* result.png (and the others that passed) published */
	RESULT_MISSING,		/* no result.png */
	RESULT_BAD,		/* result.png there, but not a publishable PNG (msg says why) */
	RESULT_ERROR,		/* the service could not publish it (disk, permissions) */
};

struct output_file {
	char name[SBPROTO_NAME_MAX + 1];
	char type[16];		/* "image/png" or "image/jpeg" */
	uint32_t width, height;
	int64_t bytes;
	int published;		/* else why says why not */
	char why[160];
};

struct outputs {
	char stage[600];	/* OUTPUTS/.<job>.part */
	char final[600];	/* OUTPUTS/<job> */
	int fd;			/* the file being received; -1 */
	int64_t got;		/* its bytes so far */
	struct output_file files[SBPROTO_MAX_FILES];
	int n;
};

/* Prepares to receive the files of job_id under outputs_dir (nothing is
 * made before the first file). Returns 0, or -1 when the paths are too
 * long. */
int outputs_init(struct outputs *o, const char *outputs_dir, const char *job_id);

/* The sandbox_events file callbacks: arg is the struct outputs. */
int outputs_file_begin(void *arg, const struct sbproto_file *f);
int outputs_file_data(void *arg, const char *buf, size_t n);
int outputs_file_end(void *arg, const struct sbproto_file *f);

/* Checks what came (proto: the run's records) and publishes it. Returns
 * the status of result.png; msg gets a sentence for RESULT_BAD and
 * RESULT_ERROR. o->files then lists every image, published or not. */
enum result_status outputs_publish(struct outputs *o, const struct sbproto *proto,
    char *msg, size_t msglen);

/* Removes what was received and not published (call it always, last). */
void outputs_discard(struct outputs *o);

#endif
