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
 *
 * Signals are blocked and read from a signalfd, so a SIGTERM that arrives
 * while children are being started is not lost. The responders stay in our
 * process group: a kill of the group stops them with us.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/spawn.h"

#define MAX_CHILDREN 64

extern char **environ;

struct slot {
	pid_t pid;		/* -1: to be started */
	int64_t started;	/* ms, monotonic */
	int64_t not_before;	/* ms: a restart waits for this */
};

/* Starts the responders that are missing and due. */
static void
start_missing(struct slot *kids, int n, char **argv)
{
	struct child c;
	int64_t now = clock_mono_ms();
	int i;

	for (i = 0; i < n; i++) {
		if (kids[i].pid > 0 || now < kids[i].not_before)
			continue;
		if (spawn_start_flags(argv[0], argv, environ, 0, 1, 2, SPAWN_SAME_SESSION, &c) < 0) {
			log_warn("start %s", argv[0]);
			kids[i].not_before = now + 1000;
			continue;
		}
		close(c.pidfd);		/* reaped with waitpid below */
		kids[i].pid = c.pid;
		kids[i].started = now;
	}
}

/* Reaps every child that ended; schedules its restart. */
static void
reap(struct slot *kids, int n, int stopping)
{
	int64_t now = clock_mono_ms();
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < n; i++) {
			if (kids[i].pid != pid)
				continue;
			kids[i].pid = -1;
			/* A responder that cannot start must not spin. */
			kids[i].not_before = now - kids[i].started < 1000 ? now + 1000 : now;
			if (!stopping)
				log_warnx("responder %ld ended (status %d); starting another",
				    (long)pid, spawn_exit_code(status));
		}
	}
}

int
main(int argc, char **argv)
{
	struct slot kids[MAX_CHILDREN];
	struct signalfd_siginfo si;
	struct pollfd pfd;
	sigset_t mask;
	int n = 2, i, opt, sfd, stopping = 0, alive;
	int64_t deadline;

	log_init(argv[0]);
	while ((opt = getopt(argc, argv, "+n:")) != -1) {
		if (opt == 'n' && (n = atoi(optarg)) >= 1 && n <= MAX_CHILDREN)
			continue;
		die("usage: supervise -n N(1..%d) RESPONDER [ARGS...]", MAX_CHILDREN);
	}
	if (optind >= argc)
		die("usage: supervise -n N RESPONDER [ARGS...]");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
		die("signalfd failed");
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < n; i++)
		kids[i] = (struct slot){ .pid = -1, .started = 0, .not_before = 0 };
	while (!stopping) {
		start_missing(kids, n, argv + optind);
		pfd = (struct pollfd){ .fd = sfd, .events = POLLIN };
		/* Wake at least once a second for restarts that wait. */
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGCHLD)
			reap(kids, n, 0);
		else
			stopping = 1;
	}
	/* Stop the responders, then wait for them (SIGKILL after 10 s). */
	for (i = 0; i < n; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	deadline = clock_mono_ms() + 10000;
	for (;;) {
		reap(kids, n, 1);
		for (alive = 0, i = 0; i < n; i++)
			alive += kids[i].pid > 0;
		if (alive == 0)
			break;
		if (clock_mono_ms() > deadline) {
			for (i = 0; i < n; i++)
				if (kids[i].pid > 0)
					kill(kids[i].pid, SIGKILL);
			deadline = clock_mono_ms() + 10000;
		}
		pfd = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (poll(&pfd, 1, 200) > 0)
			(void)!read(sfd, &si, sizeof(si));
	}
	return 0;
}
