/*
 * jobs: job ids, job folders and their removal, and the retention of
 * published results.
 *
 * A job folder DATA/jobs/<id>/ holds code/main.py and input/image.png (both
 * read-only in the sandbox, which writes nothing of the host's) and, while
 * the run goes on, the FIFO cancel. It lives for one request. Published
 * results live in OUTPUTS/<id>/ until retention ends.
 */
#ifndef JOBS_H
#define JOBS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/files.h"	/* remove_tree, make_dirs */

#define JOB_ID_LEN 32	/* hex characters of 128 random bits */

struct job {
	char id[JOB_ID_LEN + 1];
	char dir[512];		/* DATA/jobs/<id> */
	char code_dir[512];
	char input_dir[512];
	char image_path[512];	/* input/image.png */
	char cancel_path[512];	/* cancel: a FIFO while the run goes on */
};

/* Writes 32 hex characters of 128 bits from the kernel's CSPRNG (getrandom)
 * and a NUL into out. Returns 0, or -1 when the kernel gave too few bytes. */
int job_new_id(char out[JOB_ID_LEN + 1]);

/* Makes a new id and its folder under jobs_root with code/ and input/.
 * Returns 0 and fills j, or -1 with errno. */
int job_create(const char *jobs_root, struct job *j);

/* Writes code[0..len) to code/main.py (0444). Returns 0 or -1. */
int job_write_code(const struct job *j, const char *code, size_t len);

/* Makes the job's cancel FIFO and opens it for reading (non-blocking): it
 * becomes readable when job_cancel() is called for the job. Returns the
 * descriptor, or -1 with errno. */
int job_cancel_listen(const struct job *j);

/* Asks the run of job id under jobs_root to stop (DELETE /api/jobs/<id>).
 * Returns 1 when a run in progress was told, 0 when there is none (a bad
 * id, unknown, or over), -1 on an error. */
int job_cancel(const char *jobs_root, const char *id);

/* Removes entries of dir (job folders or published results) whose mtime is
 * older than max_age_s. Returns how many were removed. */
int jobs_sweep(const char *dir, int64_t max_age_s);

/* Removes the oldest published results of dir (folders named by a job id)
 * until the files they hold take at most max_bytes (on disk), never the
 * one named keep (NULL: none). *left (when not NULL) gets the bytes they
 * take after. Returns how many were removed. */
int jobs_sweep_budget(const char *dir, int64_t max_bytes, const char *keep, int64_t *left);

#endif
