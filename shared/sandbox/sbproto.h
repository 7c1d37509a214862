/*
 * sbproto: the host's half of the sandbox's record protocol; the other half
 * is runner_image/entry.py, which writes it. A sandbox's stdout and stderr
 * carry the script's own output and, around it, records that start with
 * "\x1eIMGSANDBOX-":
 *
 *   stdout  READY                      a warm sandbox is ready for its job
 *   stderr  START {"t"}                the script starts
 *   stderr  ERROR {"type", "message", "line", "traceback"}   it raised
 *   stderr  END {"start", "end", "exit"}   it ended, with this status
 *   stdout  END {"files": [...], "skipped"} and then the files' bytes
 *
 * The parser takes the two streams as they come, in any pieces, and hands
 * the script's text, the START record and the files to a sink; the rest it
 * keeps for the caller. Everything in the streams is the script's to forge,
 * so every record is checked and a broken one only ever describes the
 * script's own run (a record that does not parse is the script's text).
 * Pure: no I/O, no allocation but the record line and the error strings.
 */
#ifndef SBPROTO_H
#define SBPROTO_H

#include <stddef.h>
#include <stdint.h>

#define SBPROTO_PREFIX		"\x1eIMGSANDBOX-"
#define SBPROTO_READY		SBPROTO_PREFIX "READY\n"
#define SBPROTO_MAX_FILES	8
#define SBPROTO_NAME_MAX	64	/* [A-Za-z0-9._-]{1,64} */
#define SBPROTO_LINE_MAX	262144	/* bytes of one record line */
#define SBPROTO_TYPE_MAX	128
#define SBPROTO_MESSAGE_MAX	8192
#define SBPROTO_TRACEBACK_MAX	16384

enum { SBPROTO_STDOUT = 1, SBPROTO_STDERR = 2 };

/* One file the sandbox listed: a regular file with bytes >= 0, or one that
 * is not (bytes -1, kind "symlink", "folder", "fifo" or "other"). */
struct sbproto_file {
	char name[SBPROTO_NAME_MAX + 1];
	char kind[8];		/* "file" for a regular file */
	int64_t bytes;
};

/* Where the parser sends what it finds; any callback may be NULL. A file's
 * callbacks return 0, or -1 to give up on the files (they are then bad). */
struct sbproto_sink {
	void *arg;
	/* The script's own output, in order, as it comes. */
	void (*text)(void *arg, int stream, const char *buf, size_t n);
	/* The START record: the script runs. */
	void (*started)(void *arg);
	int (*file_begin)(void *arg, const struct sbproto_file *f);
	int (*file_data)(void *arg, const char *buf, size_t n);
	int (*file_end)(void *arg, const struct sbproto_file *f);
};

/* The state of one stream's scanner (see sbproto.c). */
struct sbproto_scan {
	int state;
	size_t nmatch;		/* bytes of the prefix matched so far */
	char *line;		/* a record line being gathered (after the prefix) */
	size_t nline;
};

struct sbproto {
	struct sbproto_sink sink;
	int64_t max_file_bytes;		/* all files together */
	struct sbproto_scan out, err;
	/* What the records said (each checked) */
	int started;
	double start_t;			/* START: unix seconds, as the sandbox says */
	int ended;			/* a good stderr END record was read */
	double end_start, end_end;	/* its times, unix seconds */
	int exit_code;			/* its status, 0..255 */
	int has_error;			/* an ERROR record was read (the last one counts) */
	char error_type[SBPROTO_TYPE_MAX];
	char *error_message;		/* malloc'd, NUL-terminated, as sent (may be invalid UTF-8) */
	int error_line;			/* 0: none */
	char *error_traceback;		/* malloc'd or NULL */
	/* The files */
	int listed;			/* the stdout END record was read */
	int files_done;			/* ... and every file's bytes came */
	int files_bad;			/* the list or the bytes were not right */
	char files_why[160];		/* ... why, for a person */
	struct sbproto_file files[SBPROTO_MAX_FILES];
	int nfiles, skipped;
	int cur;			/* the file whose bytes come now */
	int64_t cur_left;
};

/* Starts a parser that sends to sink (copied) and takes at most
 * max_file_bytes of files in all. */
void sbproto_init(struct sbproto *p, const struct sbproto_sink *sink, int64_t max_file_bytes);

/* Feeds n bytes of stream (SBPROTO_STDOUT or SBPROTO_STDERR). Returns 0, or
 * -1 when memory ran out (the record being gathered is lost). */
int sbproto_feed(struct sbproto *p, int stream, const char *buf, size_t n);

/* The stream ended: a partial prefix still held is the script's text. */
void sbproto_eof(struct sbproto *p, int stream);

/* 1 when the script's end is known and its output complete: the stderr END
 * record was read and the stdout END record with every file's bytes (or
 * its list was bad), so the caller may answer without waiting for the
 * container to exit. */
int sbproto_complete(const struct sbproto *p);

void sbproto_free(struct sbproto *p);


/* Whether name is one the protocol allows for a file: [A-Za-z0-9._-]{1,64},
 * not "." or "..", ending .png, .jpg or .jpeg. */
int sbproto_name_ok(const char *name);

#endif
