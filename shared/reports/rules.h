/*
 * rules: the rule base. Each rule answers the failures whose category,
 * error type and pattern it matches with advice for writing the script;
 * the advice is a template filled from our own texts: the runner image's
 * package list, the allow-list of installed names, the sandbox's limits. A
 * pattern (a script's text) only chooses: the rule, the nearest installed
 * library, the import line of an undefined name; a name from it is said
 * only when the allow-list or the package list holds it. Reads no log:
 * advice.c applies the rules to the log's patterns.
 */
#ifndef RULES_H
#define RULES_H

#include <stddef.h>

#include "facts/packages.h"
#include "reports/report_base.h"	/* struct report_limits */

struct rule {
	const char *id;		/* "missing_module", ... */
	const char *category;	/* NULL: any */
	const char *type;	/* NULL: any */
	const char *needle;	/* a substring of the pattern; NULL: any */
	const char *advice;	/* the template: {module} {suggest} {imports} {libs}
				 * {name} {timeout} {memory} {output} */
};

/* Returns the first rule matching a failure pattern (the last rule, "other",
 * matches all). Static; never NULL. */
const struct rule *rules_match(const char *category, const char *error_type,
    const char *pattern);

/* What a rule's template is filled from. */
struct rules_ctx {
	const struct package_list *pk;		/* n = 0: not known */
	const struct report_limits *limits;
	const char *pattern;			/* the failure pattern answered */
	const struct allowlist *allow;		/* NULL: no name of the pattern said */
};

/* Writes the advice of r for c->pattern into out (at most outlen bytes
 * with the NUL; a text that does not fit is cut between pieces). */
void rules_advice(char *out, size_t outlen, const struct rule *r, const struct rules_ctx *c);

#endif
