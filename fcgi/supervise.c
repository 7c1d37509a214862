/*
 * supervise: keeps N responders alive on one FastCGI socket.
 *
 *   spawn-fcgi -n -s SOCKET -- supervise -n N RESPONDER [ARGS...]
 *
 * spawn-fcgi makes the socket (its owner, mode, user) and hands it to us on
 * fd 0; we start N responders that share it and start again any that dies
 * (a crash, an OOM kill, a SIGKILL), at most once a second per slot. On
 * SIGTERM or SIGINT we stop them all and exit. Why not lighttpd's own
 * spawning: nginx has none, and one mechanism for both servers is one
 * thing to test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../shared/log.h"
#include "../shared/spawn.h"

#define MAX_CHILDREN 64

extern char **environ;

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

int
main(int argc, char **argv)
{
	struct child kids[MAX_CHILDREN];
	int64_t started[MAX_CHILDREN];
	struct sigaction sa;
	int n = 2, i, status, opt;
	pid_t pid;

	log_init(argv[0]);
	while ((opt = getopt(argc, argv, "+n:")) != -1) {
		if (opt == 'n' && (n = atoi(optarg)) >= 1 && n <= MAX_CHILDREN)
			continue;
		die("usage: supervise -n N(1..%d) RESPONDER [ARGS...]", MAX_CHILDREN);
	}
	if (optind >= argc)
		die("usage: supervise -n N RESPONDER [ARGS...]");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < n; i++)
		kids[i].pid = -1;
	while (!stopping) {
		for (i = 0; i < n && !stopping; i++) {
			if (kids[i].pid > 0)
				continue;
			if (spawn_start(argv[optind], argv + optind, environ, 0, 1, 2, &kids[i]) < 0) {
				log_warn("start %s", argv[optind]);
				kids[i].pid = -1;
				continue;
			}
			close(kids[i].pidfd);	/* waited for with waitpid below */
			kids[i].pidfd = -1;
			started[i] = now_ms();
		}
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno != EINTR)
				sleep(1);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (kids[i].pid != pid)
				continue;
			kids[i].pid = -1;
			if (!stopping)
				log_warnx("responder %ld ended (status %d); starting another",
				    (long)pid, spawn_exit_code(status));
			if (now_ms() - started[i] < 1000)
				sleep(1);	/* a responder that cannot start: do not spin */
		}
	}
	for (i = 0; i < n; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
