/*
 * files: the service's file helpers: writing and copying whole files, mkdir
 * -p, removing a tree of any shape without following a link, and places
 * the host has n of (flock'd files).
 */
#ifndef FILES_H
#define FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes buf[0..len) to fd, retrying short writes and EINTR. Returns 0, or
 * -1 with errno. */
int file_write_all(int fd, const void *buf, size_t len);

/* Copies from the current offset of in to out until EOF, or at most max
 * bytes (max < 0: no bound). Returns the bytes copied, or -1 with errno. */
int64_t file_copy_fd(int in, int out, int64_t max);

/* mkdir -p, mode for the last component (0755 for the ones made above it).
 * Returns 0, or -1 with errno. */
int make_dirs(const char *path, mode_t mode);

/* Removes path and everything below it, whatever its depth, never
 * following a symbolic link, making folders it may not read its own first.
 * It walks down and up through the folders (no recursion, one descriptor
 * open at a time), so a tree of any shape is removed; it is meant for trees
 * nothing writes to any more. Returns 0, or -1 when something could not be
 * removed (logged). A missing path is 0. */
int remove_tree(const char *path);

/* Takes one of n places of something the host allows n of at once: the
 * first of dir/slot-0 .. dir/slot-<n-1> (made when missing, 0600), looking
 * from slot start % n on, whose flock it gets without waiting. Returns its
 * descriptor (close it to give the place back; the kernel does when the
 * process dies), or -1 with errno EWOULDBLOCK when all n are taken, another
 * errno when dir cannot be used. */
int lock_one_of(const char *dir, int n, int start);

/* Writes text into the file at path, which must be there (a cgroup's or
 * /proc's file). Returns 0, or -1 with errno. */
int file_put(const char *path, const char *text);

/* The whole file at path, NUL-terminated (its length in *len), at most max
 * bytes. Returns a malloc'd buffer, or NULL with errno (EFBIG: larger). */
char *file_read_all(const char *path, size_t max, size_t *len);

#endif
