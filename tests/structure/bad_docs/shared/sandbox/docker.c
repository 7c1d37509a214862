/* Two options; the sandbox's table names one, with another value. */
int
docker_run_argv(const struct config *c, const struct docker_job *j, struct argv_buf *a)
{
	argv_add(a, "--network=none");
	argv_add(a, "--read-only");
	argv_add(a, "%s", c->image);
	argv_add(a, "--warm");
	return 0;
}
