/*
 * fork_seccomp: the fork engine's seccomp filter: the same list as the
 * Docker engine's profile (runner_image/seccomp.list, read by seccomp_list),
 * built once by the broker as BPF and handed to the template in a memfd;
 * each box installs it on itself after dropping to the sandbox's uid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/files.h"
#include "engine/fork.h"
#include "engine/seccomp_list.h"

int
fork_seccomp_memfd(const char *list_path, char *msg, size_t len)
{
	struct seccomp_list *l;
	void *prog = NULL;
	size_t n = 0;
	int fd = -1;

	/* The list is large: not on the stack. */
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(msg, len, "out of memory for the seccomp list");
		return -1;
	}
	if (seccomp_list_load(list_path, l, msg, len) < 0 ||
	    seccomp_list_bpf(l, &prog, &n, msg, len) < 0)
		goto out;
	if ((fd = memfd_create("imgsandbox-seccomp", MFD_CLOEXEC)) < 0 ||
	    file_write_all(fd, prog, n) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		snprintf(msg, len, "the sandbox's filter could not be handed on: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	free(prog);
	free(l);
	return fd;
}
