/* The one spawn function: exit codes, signals as 128+n, deadlines, no
 * descriptor leaks into the child, explicit environment. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/spawn.h"
#include "unit.h"

static char *const env_empty[] = { "PATH=/usr/bin:/bin", NULL };

TEST(exit_codes)
{
	char out[64];
	int code = -1;
	char *const t[] = { "/bin/sh", "-c", "exit 7", NULL };
	char *const k[] = { "/bin/sh", "-c", "kill -9 $$", NULL };

	CHECK_INT(spawn_capture("/bin/sh", t, env_empty, 5000, out, sizeof(out), &code), 0);
	CHECK_INT(code, 7);
	CHECK_INT(spawn_capture("/bin/sh", k, env_empty, 5000, out, sizeof(out), &code), 0);
	CHECK_INT(code, 128 + SIGKILL);
}

TEST(deadline_kills)
{
	char out[64];
	int code = -1;
	int64_t t0 = clock_mono_ms();
	char *const s[] = { "/bin/sleep", "30", NULL };

	CHECK_INT(spawn_capture("/bin/sleep", s, env_empty, 300, out, sizeof(out), &code), 1);
	CHECK(clock_mono_ms() - t0 < 5000);
}

TEST(no_descriptor_leaks_and_explicit_env)
{
	char out[4096];
	int code = -1, fd;
	char *const ls[] = { "/bin/sh", "-c", "ls /proc/self/fd | tr '\\n' ' '; echo; env", NULL };

	fd = open("/dev/null", O_RDONLY);	/* not CLOEXEC on purpose */
	CHECK(fd > 2);
	CHECK_INT(spawn_capture("/bin/sh", ls, env_empty, 5000, out, sizeof(out), &code), 0);
	CHECK_INT(code, 0);
	/* 0, 1, 2 and the one ls opens for /proc/self/fd itself. */
	CHECK(strncmp(out, "0 1 2 3 \n", 9) == 0);
	CHECK(strstr(out, "PATH=/usr/bin:/bin") != NULL);
	CHECK(strstr(out, "HOME=") == NULL);
	close(fd);
}

TEST(capture_is_bounded)
{
	char out[16];
	int code = -1;
	char *const y[] = { "/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' a", NULL };

	CHECK_INT(spawn_capture("/bin/sh", y, env_empty, 10000, out, sizeof(out), &code), 0);
	CHECK_INT(strlen(out), 15);
	CHECK_INT(code, 0);
}

TEST(signal_mask_and_sigpipe_reset)
{
	char out[256];
	int code = -1;
	char *const s[] = { "/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL };

	signal(SIGPIPE, SIG_IGN);
	CHECK_INT(spawn_capture("/bin/sh", s, env_empty, 5000, out, sizeof(out), &code), 0);
	CHECK(strstr(out, "SigBlk:\t0000000000000000") != NULL);
	/* SIGPIPE (signal 13: bit 12 of the mask) is not ignored in the
	 * child, nor any classic signal (glibc's own 32 and 33 may be). */
	{
		const char *ign = strstr(out, "SigIgn:\t");
		unsigned long long mask = ign ? strtoull(ign + 8, NULL, 16) : ~0ULL;
		CHECK((mask & (1ULL << (SIGPIPE - 1))) == 0);
		CHECK((mask & 0x7fffffffULL) == 0);
	}
}

TEST(find_program)
{
	char p[256];

	CHECK_INT(spawn_find_program("sh", p, sizeof(p)), 0);
	CHECK(p[0] == '/');
	CHECK_INT(spawn_find_program("no-such-program-imgsandbox", p, sizeof(p)), -1);
}

int
main(void)
{
	RUN(exit_codes);
	RUN(deadline_kills);
	RUN(no_descriptor_leaks_and_explicit_env);
	RUN(capture_is_bounded);
	RUN(signal_mask_and_sigpipe_reset);
	RUN(find_program);
	return unit_done("spawn");
}
