/*
 * zygote_fork.so: the fork engine template's loop and a box's first steps,
 * in C, called by zygote.py through ctypes (see zygote.py and
 * shared/engine/fork.h for the protocol).
 *
 * Why C: after each fork every page of the template and of the box is
 * shared copy-on-write, and each one either writes first costs a fault (25
 * us on this machine's hypervisor). Python's loop touched about 260 pages
 * of the template per box, and a box's setup in Python about 330 more;
 * this loop touches a few dozen and the setup a few.
 *
 * zygote_serve() never returns in the template: it serves start requests
 * on the control socket, forks each box into new PID, network, IPC and UTS
 * namespaces (its host name set and loopback up there), reaps the boxes
 * and reports their ends, and ends the template at the end of its input.
 * It returns 0 in a new box, with the box's request. box_setup() then
 * takes the box from the template's namespaces to the job's, short of the
 * job itself: its descriptors, "hello", its mount namespace and mounts,
 * the wait for "go", its cgroup namespace and limits, the drop to the
 * sandbox user, the seccomp filter, the READY line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zygote.h"

#define MAX_BOXES 1024

struct box_req {
	char id[40];
	char host[16];
	char code[512];
	char input[512];
	int fd[4];		/* stdin, stdout, stderr, the box socket */
};

struct box_settings {
	unsigned uid, gid;
	long long output_bytes, tmp_bytes, nofile;
	char boxes[256];	/* where the state folder is, in the template's root */
};

/* Where the template's random generators keep their state (NULL: the box
 * reseeds them itself): NumPy's global MT19937 and Python's random. */
struct seeds {
	unsigned char *np_key;	/* uint32_t[624] */
	int *np_pos;
	unsigned char *py_state;	/* uint32_t[624] */
	int *py_index;
};

static struct {
	int pidfd, sock;
} live[MAX_BOXES];
static int nlive;

/* Sends text on a box socket (the broker may have let it go). */
static void
tell(int sock, const char *text)
{
	(void)!send(sock, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Whether s is a path relative to the state folder, without "..". */
static int
rel_ok(const char *s)
{
	const char *p;

	if (s[0] == '\0' || s[0] == '/' || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/+-") != strlen(s))
		return 0;
	for (p = s; p != NULL; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			return 0;
	return 1;
}

/* Reads one request ("id host code input" and four descriptors) into r.
 * Returns 1, 0 for a bad one (closed), -1 at the end of the input. */
static int
read_request(int ctl, struct box_req *r)
{
	char buf[1400], cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		.msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;
	int nfd = 0, i;

	if ((n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC)) <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	buf[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfd > 4) {
				for (i = 0; i < nfd; i++)
					close(((int *)CMSG_DATA(cm))[i]);
				return 0;
			}
			memcpy(r->fd, CMSG_DATA(cm), (size_t)nfd * sizeof(int));
		}
	if (nfd != 4 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    sscanf(buf, "%32s %12s %511s %511s", r->id, r->host, r->code, r->input) != 4 ||
	    strspn(r->id, "0123456789abcdef") != strlen(r->id) ||
	    strspn(r->host, "0123456789abcdef") != strlen(r->host) ||
	    !rel_ok(r->code) || !rel_ok(r->input)) {
		if (nfd == 4)
			tell(r->fd[3], "error a bad request");
		for (i = 0; i < nfd; i++)
			close(r->fd[i]);
		return 0;
	}
	return 1;
}

/* Brings lo up in the current network namespace. Returns 0, or -1. */
static int
loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
}

/* Gives the generators a fresh state from the kernel's entropy, here in
 * the template before the fork: the box inherits it without writing a page
 * (each box its own; none learns another's). Returns 0, or -1. */
static int
reseed(const struct seeds *g)
{
	if (g == NULL || g->np_key == NULL)
		return 0;
	if (getrandom(g->np_key, 624 * 4, 0) != 624 * 4 ||
	    getrandom(g->py_state, 624 * 4, 0) != 624 * 4)
		return -1;
	*g->np_pos = 624;	/* the next draw makes the next 624 words */
	*g->py_index = 624;
	return 0;
}

void
zygote_home(const int own[4])
{
	static const int flag[4] = { CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWPID };
	int i;

	for (i = 0; i < 4; i++)
		if (setns(own[i], flag[i]) < 0)
			_exit(70);	/* a template in a box's namespaces must not go on */
}

/* Forks the box of r into namespaces of its own. Returns its pid here, 0
 * in the box, -1 (told) when it could not. */
static pid_t
fork_box(const struct box_req *r, const int own[4], const struct seeds *g)
{
	pid_t pid;

	if (unshare(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0) {
		tell(r->fd[3], "error unshare failed");
		return -1;
	}
	if (sethostname(r->host, strlen(r->host)) < 0 || loopback_up() < 0 || reseed(g) < 0) {
		zygote_home(own);
		tell(r->fd[3], "error the box's host name, loopback or random state");
		return -1;
	}
	pid = fork();
	if (pid == 0)
		return 0;
	zygote_home(own);
	if (pid < 0)
		tell(r->fd[3], "error fork failed");
	return pid;
}

/* Reaps the box of live[i] and tells the broker how it ended. */
static void
reap(int i)
{
	siginfo_t si;
	char msg[32];
	int code = -1;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)live[i].pidfd, &si, WEXITED) == 0)
		code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	snprintf(msg, sizeof(msg), "exit %d", code);
	tell(live[i].sock, msg);
	close(live[i].pidfd);
	close(live[i].sock);
	live[i] = live[--nlive];
}

/* A request in: its box forked and kept, or refused. Returns 1 in the new
 * box, 0 here. */
static int
take_request(int ctl, const int own[4], const struct seeds *g, struct box_req *r)
{
	pid_t pid;
	int i, rc = read_request(ctl, r), pidfd;

	if (rc < 0)
		_exit(0);	/* the broker is gone: so are its boxes, with us */
	if (rc == 0)
		return 0;
	if (nlive >= MAX_BOXES) {
		tell(r->fd[3], "error too many boxes");
		pid = -1;
	} else if ((pid = fork_box(r, own, g)) == 0)
		return 1;
	for (i = 0; i < 3; i++)
		close(r->fd[i]);
	if (pid > 0 && (pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) >= 0) {
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
		live[nlive].pidfd = pidfd;
		live[nlive++].sock = r->fd[3];
		return 0;
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		tell(r->fd[3], "error pidfd_open failed");
	}
	close(r->fd[3]);
	return 0;
}

int
zygote_serve(int ctl, const int own[4], const struct seeds *g, struct box_req *r)
{
	static struct pollfd p[MAX_BOXES + 1];
	int i, n;

	for (;;) {
		p[0].fd = ctl;
		p[0].events = POLLIN;
		for (i = 0; i < nlive; i++) {
			p[i + 1].fd = live[i].pidfd;
			p[i + 1].events = POLLIN;
		}
		n = nlive;
		if (poll(p, (nfds_t)n + 1, -1) < 0)
			continue;
		for (i = n; i >= 1; i--)	/* from the end: reap() moves the last into i */
			if (p[i].revents)
				reap(i - 1);
		if (p[0].revents && take_request(ctl, own, g, r))
			return 0;
	}
}

/* Says on stderr (the box's) which step failed, and returns -1. */
static int
fail(const char *step)
{
	char msg[300];
	int e = errno;

	snprintf(msg, sizeof(msg), "imgsandbox: the sandbox did not start: %s: %s\n", step,
	    strerror(e));
	(void)!write(2, msg, strlen(msg));
	errno = e;
	return -1;
}

/* The box's descriptors: 0-2 its streams, 3 its socket, nothing else of
 * the template's. Returns 0, or -1. */
static int
own_descriptors(const struct box_req *r)
{
	int i;

	for (i = 0; i < 3; i++)
		if (dup2(r->fd[i], i) < 0)
			return -1;
	if (dup2(r->fd[3], 3) < 0)
		return -1;
	return (int)syscall(SYS_close_range, 4, ~0U, 0);
}

/* The box's own /proc, /output, /tmp, /dev/shm, what Docker masks of
 * /proc, its code/ and input/ (read-only, nosuid, nodev, noexec as the
 * state folder is bound), and the state folder gone. Returns 0, or -1. */
static int
box_mounts(const struct box_req *r, const struct box_settings *s)
{
	static const char *const masked[] = { "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", NULL };
	static const char *const masked_dirs[] = { "/proc/acpi", "/proc/asound", "/proc/scsi",
		NULL };
	const unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char data[64], src[800];
	int i;

	if (mount("proc", "/proc", "proc", safe, NULL) < 0)
		return fail("mount /proc");
	for (i = 0; masked[i] != NULL; i++)
		if (access(masked[i], F_OK) == 0 && mount("/dev/null", masked[i], NULL, MS_BIND, NULL) < 0)
			return fail(masked[i]);
	for (i = 0; masked_dirs[i] != NULL; i++)
		if (access(masked_dirs[i], F_OK) == 0 &&
		    mount("tmpfs", masked_dirs[i], "tmpfs", MS_RDONLY | safe, "size=0") < 0)
			return fail(masked_dirs[i]);
	snprintf(data, sizeof(data), "size=%lld,mode=1777", s->output_bytes);
	if (mount("tmpfs", "/output", "tmpfs", safe, data) < 0)
		return fail("mount /output");
	snprintf(data, sizeof(data), "size=%lld,mode=1777", s->tmp_bytes);
	if (mount("tmpfs", "/tmp", "tmpfs", safe, data) < 0 ||
	    mount("tmpfs", "/dev/shm", "tmpfs", safe, data) < 0)
		return fail("mount /tmp");
	snprintf(src, sizeof(src), "%s/%s", s->boxes, r->code);
	if (mount(src, "/code", NULL, MS_BIND, NULL) < 0)
		return fail("bind /code");
	snprintf(src, sizeof(src), "%s/%s", s->boxes, r->input);
	if (mount(src, "/input", NULL, MS_BIND, NULL) < 0)
		return fail("bind /input");
	if (umount2(s->boxes, MNT_DETACH) < 0)
		return fail("umount the state folder");
	return 0;
}

/* Waits (30 s) for the broker's "go": it has moved the box into its
 * cgroup. Returns 0, or -1. */
static int
await_go(void)
{
	struct pollfd p = { .fd = 3, .events = POLLIN };
	char buf[8];

	if (poll(&p, 1, 30000) <= 0 || recv(3, buf, sizeof(buf), 0) != 2 ||
	    memcmp(buf, "go", 2) != 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}

/* To the sandbox's uid and gid, with no capability left to gain or keep
 * and no new privileges, no descriptor but 0-2, and the filter on.
 * Returns 0, or -1. */
static int
drop(const struct box_settings *s, const void *bpf, size_t len)
{
	struct sock_fprog prog = { (unsigned short)(len / 8), (struct sock_filter *)bpf };
	struct rlimit nofile = { (rlim_t)s->nofile, (rlim_t)s->nofile };
	int cap;

	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || chdir("/tmp") < 0)
		return fail("limits");
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail("capability bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    setgroups(0, NULL) < 0 || setresgid(s->gid, s->gid, s->gid) < 0 ||
	    setresuid(s->uid, s->uid, s->uid) < 0)
		return fail("user");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail("no_new_privs");
	close(3);
	if (len == 0 || len % 8 != 0 || len / 8 > 0xffff ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return fail("seccomp");
	return 0;
}

/* The value of the field key ("Seccomp:") of /proc/self/status in text,
 * or "". */
static const char *
status_field(const char *text, const char *key, char *out, size_t len)
{
	const char *p = strstr(text, key);

	out[0] = '\0';
	if (p != NULL && (p == text || p[-1] == '\n'))
		sscanf(p + strlen(key), " %31s", out);
	(void)len;
	return out;
}

/* The AppArmor label of this process as JSON (a string, or null when
 * unconfined or without AppArmor) into out. */
static void
apparmor_json(char *out, size_t len)
{
	static const char *const paths[] = { "/proc/self/attr/apparmor/current",
		"/proc/self/attr/current", NULL };
	char label[256];
	size_t i, o = 0;
	ssize_t n = -1;
	int fd, k;

	for (k = 0; paths[k] != NULL && n < 0; k++)
		if ((fd = open(paths[k], O_RDONLY | O_CLOEXEC)) >= 0) {
			n = read(fd, label, sizeof(label) - 1);
			close(fd);
		}
	while (n > 0 && (label[n - 1] == '\n' || label[n - 1] == '\0' || label[n - 1] == ' '))
		n--;
	if (n <= 0 || (n == 10 && memcmp(label, "unconfined", 10) == 0)) {
		snprintf(out, len, "null");
		return;
	}
	out[o++] = '"';
	for (i = 0; i < (size_t)n && o < len - 8; i++)
		if (label[i] == '"' || label[i] == '\\' || (unsigned char)label[i] < 0x20)
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", (unsigned char)label[i]);
		else
			out[o++] = label[i];
	out[o++] = '"';
	out[o] = '\0';
}

/* Writes the READY line with the facts of this process, read from the
 * kernel after the filter is on (shared/engine/engine.h; the same line
 * entry.ready_line() makes). Returns 0, or -1. */
static int
ready(void)
{
	char text[4096], line[600], sc[32], nnp[32], cap[32], uid[32], aa[300];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC), n;
	ssize_t k;

	if (fd < 0 || (k = read(fd, text, sizeof(text) - 1)) <= 0)
		return fail("/proc/self/status");
	close(fd);
	text[k] = '\0';
	status_field(text, "Seccomp:", sc, sizeof(sc));
	status_field(text, "NoNewPrivs:", nnp, sizeof(nnp));
	status_field(text, "CapEff:", cap, sizeof(cap));
	status_field(text, "Uid:", uid, sizeof(uid));
	apparmor_json(aa, sizeof(aa));
	n = snprintf(line, sizeof(line), "\x1eIMGSANDBOX-READY {\"seccomp\": %s, \"no_new_privs\": "
	    "%s, \"cap_eff\": \"%s\", \"uid\": %s, \"apparmor\": %s}\n", sc[0] ? sc : "null",
	    nnp[0] ? nnp : "null", cap, uid[0] ? uid : "null", aa);
	if (n <= 0 || write(1, line, (size_t)n) != n)
		return fail("READY");
	return 0;
}

int
box_setup(const struct box_req *r, const struct box_settings *s, const void *bpf, size_t len)
{
	if (own_descriptors(r) < 0)
		return fail("descriptors");
	if (send(3, "hello", 5, MSG_NOSIGNAL) != 5)	/* the kernel adds our host pid */
		return fail("hello");
	if (unshare(CLONE_NEWNS) < 0)
		return fail("unshare");
	if (box_mounts(r, s) < 0)
		return -1;
	if (await_go() < 0)
		return fail("go");
	prefault_box();		/* in its cgroup: the pages are charged to it */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return fail("cgroup namespace");
	if (drop(s, bpf, len) < 0)
		return -1;
	return ready();
}
