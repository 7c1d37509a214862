/*
 * ready: the facts a sandbox states on its READY line (engine.h), checked
 * before the broker hands it a job: a box whose facts are not those of a
 * sandbox (no seccomp filter, privileges it could gain, a capability, root,
 * AppArmor not enforcing where the host has it) is refused, not used.
 */
#ifndef READY_H
#define READY_H

#include <stddef.h>

#define READY_FACTS_MAX 1024	/* bytes of the facts' JSON */

/* Checks the READY line's facts, json[0..len) (the JSON object after
 * "READY "): "seccomp" 2 (a filter), "no_new_privs" 1, "cap_eff" sixteen
 * zeros, "uid" a number above 0, and, when want_apparmor, "apparmor" a
 * label in enforce mode (not "unconfined", not null). Returns 1 when they
 * are a sandbox's; 0 with a sentence saying which fact is wrong in msg;
 * never -1 (bad JSON is 0 too). */
int ready_facts_ok(const char *json, size_t len, int want_apparmor, char *msg, size_t msglen);

/* Whether the host has AppArmor enabled (/sys/module/apparmor/parameters/
 * enabled says Y): then every sandbox must be confined by it. Returns 1 or
 * 0. */
int ready_host_apparmor(void);

/* The facts of a READY line: line[0..len) is what the sandbox wrote, from
 * its \x1eIMGSANDBOX-READY to before its newline. Returns 0 with *json and
 * *jlen (a part of line), or -1 when it carries none (a bare READY, from an
 * image older than the facts). */
int ready_line_facts(const char *line, size_t len, const char **json, size_t *jlen);

#endif
