/*
 * result_check: decides whether what the script left at /output/result.png
 * may be published, and publishes it. The output folder is written by the
 * sandbox, so nothing in it is trusted: result.png must be a regular file
 * (not a link, FIFO, device or folder), at most the output cap, and PNG by
 * content (libmagic, then the PNG structure). It is copied, never moved or
 * linked, into OUTPUTS/<job>/result.png, a file the service creates.
 */
#ifndef RESULT_CHECK_H
#define RESULT_CHECK_H

#include <stddef.h>
#include <stdint.h>

enum result_status {
	RESULT_OK,		/* published */
	RESULT_MISSING,		/* no result.png */
	RESULT_BAD,		/* there, but not a publishable PNG (msg says why) */
	RESULT_ERROR,		/* the service could not publish it (disk, permissions) */
};

struct result_info {
	uint32_t width, height;
	uint64_t bytes;
};

/* Checks output_dir/result.png and copies it to outputs_dir/job_id/
 * result.png. Returns the status; msg gets a sentence for RESULT_BAD and
 * RESULT_ERROR. */
enum result_status result_publish(const char *output_dir, const char *outputs_dir,
    const char *job_id, uint64_t max_bytes, struct result_info *info, char *msg, size_t msglen);

#endif
