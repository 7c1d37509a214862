/*
 * userns: the fork engine's user namespace: who is who inside it, whether
 * the host lets this user make one, and its uid and gid maps.
 *
 * Inside, uid and gid 0 are the broker's own (so the template can mount in
 * the namespaces it owns; it holds no capability outside them), and the
 * sandbox's uid and gid (IMGSANDBOX_USER, 10001:10001) are the first of the
 * broker's user's subordinate ranges (/etc/subuid, /etc/subgid): a script
 * never runs as the broker's host uid. Nothing else is mapped. An
 * unprivileged broker writes the maps through Debian's setuid newuidmap
 * and newgidmap (package uidmap); root writes them itself. Without a range
 * the engine refuses to start (it does not fall back to running scripts
 * as the broker's uid with its capabilities dropped).
 */
#ifndef USERNS_H
#define USERNS_H

#include <stddef.h>
#include <sys/types.h>

struct idmap {
	uid_t host_uid;		/* ns 0: the broker's */
	gid_t host_gid;
	uid_t sandbox_uid;	/* the script's, inside */
	gid_t sandbox_gid;
	uid_t sub_uid;		/* ... and on the host: the first subordinate id */
	gid_t sub_gid;
	int direct;		/* root: writes /proc/<pid>/{uid,gid}_map itself */
	char user[64];		/* the broker's user name (for the messages) */
	char newuidmap[256];
	char newgidmap[256];
};

/* Plans the maps of this process's user for the sandbox ids given.
 * Returns 0, or -1 with a sentence naming the missing piece and its fix in
 * msg. */
int userns_plan(uid_t sandbox_uid, gid_t sandbox_gid, struct idmap *m, char *msg, size_t len);

/* Whether the host lets this process make a user namespace (the sysctls
 * kernel.unprivileged_userns_clone and user.max_user_namespaces). Returns
 * 0, or -1 with the sentence in msg. */
int userns_allowed(char *msg, size_t len);

/* Writes the uid and gid maps of pid (a child just made in a new user
 * namespace). Returns 0, or -1 with errno (logged). */
int userns_write_maps(pid_t pid, const struct idmap *m);

/* Finds name's first range in an /etc/subuid-style file (lines
 * "name-or-uid:first:count"). Returns 0 with *first, *count, or -1. */
int userns_subid_range(const char *file, const char *name, unsigned long id,
    unsigned long *first, unsigned long *count);

#endif
