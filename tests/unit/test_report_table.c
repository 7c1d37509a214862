/*
 * test_report_table: the one table of reports, as the API and the tool
 * read it: every row well formed, paths and commands found, the query
 * values and the ids checked with the messages both give, and the API's
 * list of paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "reports/report_table.h"
#include "unit.h"

TEST(rows_well_formed)
{
	const struct report *r;
	size_t i;
	int makers;

	for (i = 0; i < REPORT_COUNT; i++) {
		r = &report_table[i];
		CHECK_INT(r->id, i);			/* the tool's printers go by id */
		CHECK(r->api != NULL || r->command != NULL);
		CHECK(r->what != NULL && *r->what != '\0');
		makers = (r->json != NULL) + (r->text != NULL) + (r->stream != NULL);
		CHECK_INT(makers, 1);
		if (r->command != NULL)
			CHECK(r->usage != NULL && r->about != NULL);
		if (r->api != NULL && r->api[strlen(r->api) - 1] == '/')
			CHECK(r->arg == RA_SESSION || r->arg == RA_LOG);
		if (r->stream != NULL)
			CHECK(r->api == NULL);		/* the API serves no file */
	}
}

TEST(lookups)
{
	const struct report *r;
	const char *arg = NULL;

	r = report_by_api("summary", &arg);
	CHECK(r != NULL && r->id == REPORT_SUMMARY);
	CHECK_STR(arg, "");
	r = report_by_api("session/s-demo", &arg);
	CHECK(r != NULL && r->id == REPORT_SESSION);
	CHECK_STR(arg, "s-demo");
	r = report_by_api("log/", &arg);
	CHECK(r != NULL && r->id == REPORT_LOG);
	CHECK_STR(arg, "");
	CHECK(report_by_api("session", &arg) == NULL);	/* needs its id segment */
	CHECK(report_by_api("summary/x", &arg) == NULL);
	CHECK(report_by_api("", &arg) == NULL);
	CHECK(report_by_api("unfixed", &arg) == NULL);	/* a command, not a path */
	r = report_by_command("errors");
	CHECK(r != NULL && r->id == REPORT_ERRORS);
	CHECK(report_by_command("error-patterns") == NULL);
	CHECK(report_by_command("migrate") == NULL);	/* the tool's own, not a report */
	r = report_by_command("export");
	CHECK(r != NULL && r->stream != NULL && r->arg == RA_FILE);
	r = report_by_command("context");
	CHECK(r != NULL && r->text != NULL);
}

TEST(api_list)
{
	char out[512];

	CHECK_STR(report_api_list(out, sizeof(out)), "summary, analysis, error-patterns, "
	    "recommendations, models, failures, successes, session/<id>, log/<id>, ai-context");
	report_api_list(out, 20);
	CHECK(strlen(out) < 20);
}

TEST(query_values)
{
	struct report_query q;
	char msg[160];

	report_query_init(&q);
	CHECK_INT(q.limit, REPORT_LIMIT_DEFAULT);
	CHECK_INT(q.before, 0);
	CHECK_INT(q.unfixed_only, 0);
	CHECK_INT(report_query_set(&q, RQ_LIMIT, "500", msg, sizeof(msg)), 0);
	CHECK_INT(q.limit, 500);
	CHECK_INT(report_query_set(&q, RQ_LIMIT, "501", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "limit must be a whole number from 1 to 500");
	CHECK_INT(report_query_set(&q, RQ_LIMIT, "0", msg, sizeof(msg)), -1);
	CHECK_INT(report_query_set(&q, RQ_LIMIT, "ten", msg, sizeof(msg)), -1);
	CHECK_INT(report_query_set(&q, RQ_LIMIT, NULL, msg, sizeof(msg)), -1);	/* unreadable */
	CHECK_INT(q.limit, 500);
	CHECK_INT(report_query_set(&q, RQ_BEFORE, "9223372036854775807", msg, sizeof(msg)), 0);
	CHECK_INT(q.before, INT64_MAX);
	CHECK_INT(report_query_set(&q, RQ_BEFORE, "-1", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "before must be a log id (a whole number from 1)");
	CHECK_INT(report_query_set(&q, RQ_UNFIXED, "true", msg, sizeof(msg)), 0);
	CHECK_INT(q.unfixed_only, 1);
	CHECK_INT(report_query_set(&q, RQ_UNFIXED, "false", msg, sizeof(msg)), 0);
	CHECK_INT(q.unfixed_only, 0);
	CHECK_INT(report_query_set(&q, RQ_UNFIXED, "maybe", msg, sizeof(msg)), -1);
	CHECK_STR(msg, "unfixed_only must be true or false");
	CHECK_STR(report_query_name(RQ_UNFIXED), "unfixed_only");
}

TEST(ids)
{
	const struct report *s = &report_table[REPORT_SESSION], *l = &report_table[REPORT_LOG];
	struct report_query q;
	char msg[160];

	report_query_init(&q);
	CHECK_INT(report_query_arg(s, "s-demo_1", &q, msg, sizeof(msg)), 0);
	CHECK_STR(q.session_id, "s-demo_1");
	CHECK_INT(report_query_arg(s,
	    "0123456789012345678901234567890123456789012345678901234567890123", &q, msg,
	    sizeof(msg)), 0);
	CHECK_INT(report_query_arg(s,
	    "01234567890123456789012345678901234567890123456789012345678901234", &q, msg,
	    sizeof(msg)), -1);
	CHECK_STR(msg, "a session id is 1 to 64 of A-Z a-z 0-9 _ -");
	CHECK_INT(report_query_arg(s, "", &q, msg, sizeof(msg)), -1);
	CHECK_INT(report_query_arg(s, "a b", &q, msg, sizeof(msg)), -1);
	CHECK_INT(report_query_arg(s, "../x", &q, msg, sizeof(msg)), -1);
	CHECK_INT(report_query_arg(s, NULL, &q, msg, sizeof(msg)), -1);
	CHECK_INT(report_query_arg(l, "42", &q, msg, sizeof(msg)), 0);
	CHECK_INT(q.log_id, 42);
	CHECK_INT(report_query_arg(l, "x1", &q, msg, sizeof(msg)), -1);
	CHECK_STR(msg, "a log id is a whole number from 1");
	CHECK_INT(report_query_arg(l, "0", &q, msg, sizeof(msg)), -1);
	/* Rows about nothing take nothing. */
	CHECK_INT(report_query_arg(&report_table[REPORT_SUMMARY], NULL, &q, msg, sizeof(msg)), 0);
}

int
main(void)
{
	RUN(rows_well_formed);
	RUN(lookups);
	RUN(api_list);
	RUN(query_values);
	RUN(ids);
	return unit_done("report_table");
}
