/*
 * jobs: job ids, job folders and their removal, and the retention of
 * published results.
 *
 * A job folder DATA/jobs/<id>/ holds code/main.py, input/image.png and
 * output/ (the only folder the sandbox may write). It lives for one request.
 * A published result lives in OUTPUTS/<id>/result.png until retention ends.
 */
#ifndef JOBS_H
#define JOBS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "files.h"	/* remove_tree, make_dirs */

#define JOB_ID_LEN 32	/* hex characters of 128 random bits */

struct job {
	char id[JOB_ID_LEN + 1];
	char dir[512];		/* DATA/jobs/<id> */
	char code_dir[512];
	char input_dir[512];
	char output_dir[512];
	char image_path[512];	/* input/image.png */
};

/* Writes 32 hex characters of 128 bits from the kernel's CSPRNG (getrandom)
 * and a NUL into out. Returns 0, or -1 when the kernel gave too few bytes. */
int job_new_id(char out[JOB_ID_LEN + 1]);

/* Makes a new id and its folder under jobs_root, with output/ owned by
 * uid:gid (when the caller may chown) or world-writable otherwise.
 * Returns 0 and fills j, or -1 with errno. */
int job_create(const char *jobs_root, uid_t uid, gid_t gid, struct job *j);

/* Writes code[0..len) to code/main.py (0444). Returns 0 or -1. */
int job_write_code(const struct job *j, const char *code, size_t len);

/* Removes entries of dir (job folders or published results) whose mtime is
 * older than max_age_s. Returns how many were removed. */
int jobs_sweep(const char *dir, int64_t max_age_s);

#endif
