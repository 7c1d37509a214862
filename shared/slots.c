#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "slots.h"
#include "clock.h"
#include "spawn.h"

int
slot_acquire(const char *dir, int n, int64_t wait_ms)
{
	int64_t deadline = clock_mono_ms() + wait_ms;
	struct timespec pause = { 0, 25 * 1000 * 1000 };
	char path[512];
	int i, fd, start;

	/* Start at a different slot in each process so they do not all
	 * contend for slot 0 first. */
	start = (int)(getpid() % (n > 0 ? n : 1));
	for (;;) {
		for (i = 0; i < n; i++) {
			if (snprintf(path, sizeof(path), "%s/slot-%d", dir, (start + i) % n) >=
			    (int)sizeof(path))
				return -1;
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (fd < 0)
				return -1;
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				return fd;
			close(fd);
			if (errno != EWOULDBLOCK)
				return -1;
		}
		if (clock_mono_ms() >= deadline)
			return -2;
		nanosleep(&pause, NULL);
	}
}

void
slot_release(int fd)
{
	if (fd >= 0)
		close(fd);	/* closing the only descriptor drops the lock */
}
