/* Two metrics; docs/api.md lists one. */
static void
metrics(struct text *t)
{
	head(t, "imgsandbox_ok", "gauge", "Listed.");
	head(t, "imgsandbox_forgotten", "counter", "Not listed.");
}
