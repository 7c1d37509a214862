/*
 * seccomp_profile: the sandbox's seccomp list (runner_image/seccomp.list)
 * made into what the engines install, from the command line.
 *
 *   seccomp_profile --json OUT [LIST]   writes the Docker profile to OUT
 *                                       (whole or not at all), for the
 *                                       runtime IMGSANDBOX_RUNTIME names:
 *                                       what fcgi/serve.sh does at start
 *   seccomp_profile --check [LIST]      reads the list; says how many rules
 *   seccomp_profile --names [LIST]      the allowed calls, one a line
 *   seccomp_profile --refused [LIST]    "name number errno" of each call the
 *                                       list refuses or answers with an errno
 *   seccomp_profile --bpf OUT [LIST]    the BPF program, for inspection
 *
 * LIST defaults to IMGSANDBOX_SECCOMP_LIST (./runner_image/seccomp.list).
 * Exit status 0, or 1 with a sentence naming the file and the line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/files.h"
#include "engine/seccomp_list.h"

static struct seccomp_list list;

static int
usage(void)
{
	fprintf(stderr, "usage: seccomp_profile --json OUT | --check | --names | --refused | "
	    "--bpf OUT [LIST]\n");
	return 2;
}

/* Prints what the list says of each call, as asked. */
static void
print_calls(int refused)
{
	int i;

	for (i = 0; i < list.n; i++) {
		const struct seccomp_rule *r = &list.rule[i];

		if (!refused && r->action == SECCOMP_ALLOW &&
		    (i == 0 || strcmp(list.rule[i - 1].name, r->name) != 0))
			printf("%s\n", r->name);
		if (refused && r->action != SECCOMP_ALLOW)
			printf("%s %d %s\n", r->name, r->nr, seccomp_errno_name(r->err));
	}
}

/* Writes the BPF program to path. Returns 0, or -1 with msg. */
static int
write_bpf(const char *path, char *msg, size_t msglen)
{
	void *prog;
	size_t len;
	FILE *f;
	int rc = 0;

	if (seccomp_list_bpf(&list, &prog, &len, msg, msglen) < 0)
		return -1;
	if ((f = fopen(path, "wb")) == NULL || fwrite(prog, 1, len, f) != len ||
	    fclose(f) != 0) {
		snprintf(msg, msglen, "%s: could not be written", path);
		rc = -1;
	}
	free(prog);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *mode, *out = NULL, *path;
	char msg[512];
	int i = 1, rc = 0;

	if (config_load(msg, sizeof(msg)) < 0) {
		fprintf(stderr, "seccomp_profile: %s\n", msg);
		return 1;
	}
	if (argc < 2)
		return usage();
	mode = argv[i++];
	if (strcmp(mode, "--json") == 0 || strcmp(mode, "--bpf") == 0) {
		if (i >= argc)
			return usage();
		out = argv[i++];
	} else if (strcmp(mode, "--check") != 0 && strcmp(mode, "--names") != 0 &&
	    strcmp(mode, "--refused") != 0)
		return usage();
	if (argc - i > 1)
		return usage();
	path = i < argc ? argv[i] : cfg.seccomp_list;
	if (seccomp_list_load(path, &list, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "seccomp_profile: %s\n", msg);
		return 1;
	}
	if (strcmp(mode, "--json") == 0)
		rc = seccomp_list_write_json(&list, cfg.runtime, out, msg, sizeof(msg));
	else if (strcmp(mode, "--bpf") == 0)
		rc = write_bpf(out, msg, sizeof(msg));
	else if (strcmp(mode, "--check") == 0)
		printf("%s: %d rules\n", path, list.n);
	else
		print_calls(strcmp(mode, "--refused") == 0);
	if (rc < 0) {
		fprintf(stderr, "seccomp_profile: %s\n", msg);
		return 1;
	}
	return 0;
}
