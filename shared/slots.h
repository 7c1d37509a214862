/*
 * slots: a fixed number of sandboxes at once on this host, shared by every
 * responder process. Slot i is an flock(2) on DIR/slot-i: the kernel frees
 * it when its holder exits, however it dies, so a crash never leaks one.
 */
#ifndef SLOTS_H
#define SLOTS_H

#include <stdint.h>

/* Takes a free slot among n, waiting up to wait_ms. Returns the lock's fd
 * (pass it to slot_release), -2 when every slot stayed taken, -1 on error. */
int slot_acquire(const char *dir, int n, int64_t wait_ms);
void slot_release(int fd);

#endif
