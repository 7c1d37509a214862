/*
 * advice: what the execution log teaches whoever writes the next script,
 * in our words only. Recommendations: the rule base (rules.h) applied to
 * the log's failure patterns, one per rule, advice and error type, most
 * frequent first. Lessons: the changes seen in the fixes of each rule's
 * failures ("were fixed by adding `from skimage import filters`"). A
 * script's text never goes into them: error types are shown when the
 * allow-list (packages.h) holds them, else as "another exception"; a
 * change is shown when it names only what the allow-list holds; patterns
 * and messages choose a rule and are not repeated. GET
 * /api/logs/recommendations, the analysis and the AI context show them.
 */
#ifndef ADVICE_H
#define ADVICE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "store/logdb.h"
#include "facts/packages.h"
#include "reports/report_base.h"
#include "reports/rules.h"

#define ADVICE_MAX 1024		/* bytes of one advice with its NUL */
#define ADVICE_LEARNT 3		/* lessons shown per recommendation */
#define ADVICE_CHANGES 4	/* changes of each kind kept per lesson */
#define ADVICE_OTHER_TYPE "another exception"	/* a type not on the allow-list */

/* One recommendation: a rule's advice for the failures of one type it
 * answers. */
struct advice_rec {
	const struct rule *rule;
	char advice[ADVICE_MAX];
	const char *category;			/* of its most frequent pattern */
	const char *type;			/* as shown; "" for a failure without one */
	int64_t count, fixed, example_id;
	const char *example_job;		/* of example_id; "" when none */
	char learnt[ADVICE_LEARNT][ADVICE_MAX];
	size_t nlearnt;
};

/* One lesson: the changes seen in fixes of one rule's failures of one type. */
struct advice_lesson {
	const struct rule *rule;
	const char *category, *type;		/* as in struct advice_rec */
	const char *add[ADVICE_CHANGES], *del[ADVICE_CHANGES];	/* "+x", "-y" */
	int64_t add_n[ADVICE_CHANGES], del_n[ADVICE_CHANGES];
	size_t nadd, ndel;
	int64_t times, fail_id, fix_id;
	char advice[ADVICE_MAX];
};

/* What recommendations and lessons are made of, from one read of the log;
 * every pointer points into it (or into the allow-list). */
struct advice {
	struct package_list pk;			/* n = 0: the list could not be read */
	struct logdb_pattern *pats;
	size_t npats;
	struct logdb_lesson *lessons;
	size_t nlessons;
	struct advice_lesson *groups;		/* most often seen first */
	size_t ngroups;
	struct advice_rec *recs;		/* most frequent first */
	size_t nrecs;
};

/* Returns how an error type is shown: "" for none, the allow-list's name,
 * or ADVICE_OTHER_TYPE. Static or the allow-list's. */
const char *advice_type(const struct allowlist *allow, const char *error_type);

/* Reads the package list and the log's patterns and lessons (inside the
 * caller's logdb_read_begin(), if it wants one snapshot) into a and builds
 * the recommendations and lessons. Returns 0, or -1 (the log could not be
 * read, or memory ran out). Either way the caller frees a with
 * advice_free(). */
int advice_build(struct logdb *db, const struct report_env *env, struct advice *a);

/* Frees what advice_build() allocated and zeroes a. */
void advice_free(struct advice *a);

/* Add to parent, under name, an array of the first limit recommendations
 * or lessons as the API shows them, as many as b has room for (b->cut set
 * when one did not fit). Set *bad when memory ran out. */
void advice_add_recommendations(const struct advice *a, cJSON *parent, const char *name,
    int limit, struct report_budget *b, int *bad);
void advice_add_lessons(const struct advice *a, cJSON *parent, const char *name, int limit,
    struct report_budget *b, int *bad);

/* GET /api/logs/recommendations: {"recommendations": [...], "lessons":
 * [...], "cut": false}, at most limit of each. Returns a new document the caller frees
 * with cJSON_Delete(), or NULL with *st set. */
cJSON *advice_recommendations(struct logdb *db, const struct report_env *env, int limit,
    enum report_status *st);

#endif
