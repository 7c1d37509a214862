/* The READY line's facts (shared/engine/ready.c): a sandbox's are taken,
 * anything else is refused with a sentence saying which fact. */
#include <string.h>

#include "engine/ready.h"
#include "unit.h"

static int
ok(const char *json, int want_apparmor, char *msg)
{
	return ready_facts_ok(json, strlen(json), want_apparmor, msg, 256);
}

TEST(a_sandbox_is_taken)
{
	char msg[256];

	CHECK_INT(ok("{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", "
	    "\"uid\": 10001, \"apparmor\": null}", 0, msg), 1);
	CHECK_INT(ok("{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", "
	    "\"uid\": 10001, \"apparmor\": \"docker-default (enforce)\"}", 1, msg), 1);
	/* Without AppArmor on the host, a label is fine too. */
	CHECK_INT(ok("{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", "
	    "\"uid\": 5, \"apparmor\": \"unconfined\"}", 0, msg), 1);
}

TEST(each_wrong_fact_is_named)
{
	static const struct {
		const char *json;
		int apparmor;
		const char *words;
	} bad[] = {
		{ "{\"seccomp\": 0, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 10001}",
		  0, "no seccomp filter" },
		{ "{\"seccomp\": 1, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 10001}",
		  0, "no seccomp filter" },
		{ "{\"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 10001}",
		  0, "no seccomp filter" },
		{ "{\"seccomp\": \"2\", \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 1}",
		  0, "no seccomp filter" },
		{ "{\"seccomp\": 2.5, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 1}",
		  0, "no seccomp filter" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 0, \"cap_eff\": \"0000000000000000\", \"uid\": 10001}",
		  0, "may gain privileges" },
		{ "{\"seccomp\": 2, \"no_new_privs\": null, \"cap_eff\": \"0000000000000000\", \"uid\": 1}",
		  0, "may gain privileges" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"00000000a80425fb\", \"uid\": 10001}",
		  0, "has capabilities" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 1, \"uid\": 10001}", 0, "has capabilities" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 0}",
		  0, "runs as root" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\"}",
		  0, "runs as root" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 1, "
		  "\"apparmor\": null}", 1, "not confined" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 1, "
		  "\"apparmor\": \"unconfined\"}", 1, "not confined" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 1, "
		  "\"apparmor\": \"docker-default (complain)\"}", 1, "not confined" },
		{ "{\"seccomp\": 2, \"no_new_privs\": 1, \"cap_eff\": \"0000000000000000\", \"uid\": 1, "
		  "\"apparmor\": 7}", 0, "neither a label nor null" },
		{ "{\"seccomp\": 2", 0, "not a JSON object" },
		{ "[2]", 0, "not a JSON object" },
		{ "{\"seccomp\": 2} {}", 0, "not a JSON object" },
		{ "", 0, "missing" },
	};
	char msg[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		CHECK_INT(ok(bad[i].json, bad[i].apparmor, msg), 0);
		if (strstr(msg, bad[i].words) == NULL)
			fprintf(stderr, "  %s -> %s\n", bad[i].json, msg);
		CHECK(strstr(msg, bad[i].words) != NULL);
	}
	CHECK_INT(ready_facts_ok("{\"seccomp\": 2}\0", 15, 0, msg, sizeof(msg)), 0);
	CHECK(strstr(msg, "missing or too long") != NULL);
}

TEST(the_facts_of_a_line)
{
	static const char line[] = "\x1eIMGSANDBOX-READY {\"uid\": 1}", bare[] = "\x1eIMGSANDBOX-READY";
	const char *json;
	size_t n;

	CHECK_INT(ready_line_facts(line, sizeof(line) - 1, &json, &n), 0);
	CHECK_INT(n, 10);
	CHECK(memcmp(json, "{\"uid\": 1}", 10) == 0);
	CHECK_INT(ready_line_facts(bare, sizeof(bare) - 1, &json, &n), -1);
	CHECK_INT(ready_line_facts("\x1eIMGSANDBOX-READYX {}", 21, &json, &n), -1);
	/* This host: no AppArmor module, so nothing is asked of it. */
	CHECK(ready_host_apparmor() == 0 || ready_host_apparmor() == 1);
}

int
main(void)
{
	RUN(a_sandbox_is_taken);
	RUN(each_wrong_fact_is_named);
	RUN(the_facts_of_a_line);
	return unit_done("ready");
}
