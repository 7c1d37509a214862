/* A settings table with one setting the settings' page (README.md beside
 * the tree, as it has no docs/) does not list. */
#if 0
static const struct setting table[] = {
	{ "IMGSANDBOX_LISTED", INT, I(listed), "1", 0, 9, "listed" },
	{ "IMGSANDBOX_FORGOTTEN", INT, I(forgotten), "2", 0, 9, "not listed" },
};
#endif
