/*
 * zygote.h: what the two files of zygote_fork.so (zygote_fork.c, the
 * template's loop and a box's first steps; zygote_learn.c, the pages a box
 * maps ahead) share. zygote.py calls them through ctypes.
 */
#ifndef ZYGOTE_H
#define ZYGOTE_H

#include <sys/types.h>

/* Back into the template's own network, IPC, UTS and PID namespaces
 * (own: their descriptors); ends the process when it cannot. */
void zygote_home(const int own[4]);

/* The trial's child, forked as a box is: returns its pid in the template
 * (-1 when it could not, or the kernel cannot populate), 0 in the child. */
pid_t learn_fork(const int own[4]);
/* In the trial's child: a mount namespace of its own with empty /tmp,
 * /output, /code and /input. Returns 0, or -1. */
int learn_mounts(void);
/* In the trial's child, at its job's end: the ranges to populate, written
 * to out. Returns how many, or -1. */
int learn_scan(int out);
/* In the template: reads the trial's ranges from in (20 s at most), ends
 * and reaps the trial, and keeps them for every box. counts: pages to
 * copy, pages to map. Returns the ranges kept (0: none). */
int learn_take(int in, pid_t trial, long counts[2]);
/* In a box, in its cgroup: populates the kept ranges. */
void prefault_box(void);

#endif
