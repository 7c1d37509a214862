/*
 * ready: the facts a sandbox states in its READY line (see engine.h), read
 * from its own /proc/self before any user code runs, and whether they are a
 * sandbox's.
 */
#ifndef READY_H
#define READY_H

#include <stddef.h>

/* Whether json (len bytes: the READY line's object) says: seccomp mode 2,
 * no_new_privs 1, no effective capability, a uid other than 0, and (when
 * want_apparmor) an AppArmor profile in enforce mode. Returns 0, or -1 with
 * a sentence in msg. */
int ready_facts_ok(const char *json, size_t len, int want_apparmor, char *msg, size_t msglen);

#endif
