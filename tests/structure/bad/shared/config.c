/* A settings table with one setting README.md (beside it) does not list. */
static const struct setting table[] = {
	{ "IMGSANDBOX_LISTED", INT, I(listed), "1", 0, 9, "listed" },
	{ "IMGSANDBOX_FORGOTTEN", INT, I(forgotten), "2", 0, 9, "not listed" },
};
