/* Two commands; docs/log.md shows one. */
const struct report report_table[REPORT_COUNT] = {
	{ REPORT_SUMMARY, "summary", "summary", "summary" },
	{ REPORT_ERRORS, "error-patterns", "errors", "errors" },
};
