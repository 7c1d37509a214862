/* The settings file (shared/base/config.c): NAME=value lines read before
 * the environment, which wins; every bad line is refused with the file's
 * name and the line's number, an unknown name too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "unit.h"

static char path[] = "/tmp/imgsandbox-unit-conf-XXXXXX";

static void
write_conf(const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
	setenv("IMGSANDBOX_CONFIG_FILE", path, 1);
}

/* config_load over text; the message in err. */
static int
load(const char *text, char *err, size_t len)
{
	err[0] = '\0';
	write_conf(text);
	return config_load(err, len);
}

TEST(values_comments_and_quotes)
{
	char err[512];

	CHECK_INT(load("# a comment\n\n  IMGSANDBOX_WARM=3  \n"
	    "IMGSANDBOX_DATA=\"/var/lib/with space\"\r\n"
	    "\t# indented comment\nIMGSANDBOX_AI_MODEL = small model\n"
	    "IMGSANDBOX_PRELOAD=\"\"\n", err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(cfg.warm, 3);
	CHECK_STR(cfg.data_dir, "/var/lib/with space");
	CHECK_STR(cfg.outputs_dir, "/var/lib/with space/outputs");
	CHECK_STR(cfg.ai_model, "small model");
	/* empty: the default, as in the environment */
	CHECK_STR(cfg.preload, "numpy,PIL.Image,PIL.ImageFilter,PIL.ImageOps,PIL.ImageDraw");
	CHECK_STR(config_file_used(), path);
}

TEST(the_environment_wins)
{
	char err[512];

	setenv("IMGSANDBOX_WARM", "5", 1);
	CHECK_INT(load("IMGSANDBOX_WARM=3\nIMGSANDBOX_PIDS=99\n", err, sizeof(err)), 0);
	CHECK_INT(cfg.warm, 5);
	CHECK_INT(cfg.pids, 99);
	/* an empty variable says nothing: the file's value */
	setenv("IMGSANDBOX_WARM", "", 1);
	CHECK_INT(load("IMGSANDBOX_WARM=3\n", err, sizeof(err)), 0);
	CHECK_INT(cfg.warm, 3);
	unsetenv("IMGSANDBOX_WARM");
	/* the environment's value does not hide a bad one in the file: every
	 * line is checked */
	setenv("IMGSANDBOX_PIDS", "70", 1);
	CHECK_INT(load("IMGSANDBOX_PIDS=lots\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "line 1: IMGSANDBOX_PIDS=lots: expected a whole number") != NULL);
	CHECK_INT(load("IMGSANDBOX_PIDS=80\n", err, sizeof(err)), 0);
	CHECK_INT(cfg.pids, 70);
	unsetenv("IMGSANDBOX_PIDS");
}

/* Each bad file: refused, with the file and the line in the message. */
TEST(bad_lines_name_file_and_line)
{
	static const struct { const char *text, *says; } bad[] = {
		{ "# ok\nIMGSANDBOX_WARM\n", "line 2: expected NAME=value" },
		{ "IMGSANDBOX_WRAM=2\n", "line 1: no setting is named \"IMGSANDBOX_WRAM\"" },
		{ "\n\nWARM=2\n", "line 3: no setting is named \"WARM\"" },
		{ "IMGSANDBOX_WARM=2\nIMGSANDBOX_WARM=3\n", "line 2: IMGSANDBOX_WARM is set already on line 1" },
		{ "IMGSANDBOX_DATA=\"/x\n", "line 1: expected one value in double quotes" },
		{ "IMGSANDBOX_DATA=\"/x\" y\n", "line 1: expected one value in double quotes" },
		{ "IMGSANDBOX_DATA=/x\"y\n", "line 1: a quote inside a bare value" },
		{ "IMGSANDBOX_DATA='/x'\n", "line 1: single quotes are not taken" },
		{ "IMGSANDBOX_WARM=2 # two\n", "line 1: IMGSANDBOX_WARM=2 # two: expected a whole number" },
		{ "IMGSANDBOX_PIDS=1\n", "line 1: IMGSANDBOX_PIDS=1: expected a whole number from 8 to 4096" },
		{ "#\nIMGSANDBOX_ENGINE=forkk\n", "IMGSANDBOX_ENGINE=forkk: expected docker or fork (" },
		{ "IMGSANDBOX_CONFIG_FILE=/etc/x\n", "line 1: IMGSANDBOX_CONFIG_FILE is set in the environment only" },
	};
	char err[512], want[600];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(load(bad[i].text, err, sizeof(err)), -1);
		CHECK(strstr(err, path) != NULL);
		if (strstr(err, bad[i].says) == NULL)
			fprintf(stderr, "case %zu: \"%s\" does not say \"%s\"\n", i, err, bad[i].says);
		CHECK(strstr(err, bad[i].says) != NULL);
	}
	/* a check after the ranges says the line too */
	CHECK_INT(load("#\nIMGSANDBOX_ENGINE=forkk\n", err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "(%s line 2)", path);
	CHECK(strstr(err, want) != NULL);
}

TEST(which_file)
{
	char err[512];

	/* a file named and missing is an error; named empty, none is read */
	setenv("IMGSANDBOX_CONFIG_FILE", "/nonexistent/imgsandbox.conf", 1);
	CHECK_INT(config_load(err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/imgsandbox.conf: No such file") != NULL);
	setenv("IMGSANDBOX_CONFIG_FILE", "", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	CHECK_STR(config_file_used(), "");
	CHECK_INT(cfg.pids, 64);
	/* text only */
	CHECK_INT(load("IMGSANDBOX_WARM=1\n", err, sizeof(err)), 0);
	{
		FILE *fp = fopen(path, "w");

		fwrite("IMGSANDBOX_WARM=1\n\0\n", 1, 20, fp);
		fclose(fp);
	}
	CHECK_INT(config_load(err, sizeof(err)), -1);
	CHECK(strstr(err, "is not text") != NULL);
}

/* What --print-conf writes reads back as the same settings, and says
 * every setting: the ones set uncommented, the others at their default. */
TEST(print_file_reads_back)
{
	char err[512], *printed = NULL, *again = NULL;
	size_t n1 = 0, n2 = 0;
	FILE *fp;

	setenv("IMGSANDBOX_CONFIG_FILE", "", 1);
	setenv("IMGSANDBOX_DATA", "/var/lib/imgsandbox test", 1);
	setenv("IMGSANDBOX_WARM", "2", 1);
	CHECK_INT(config_load(err, sizeof(err)), 0);
	fp = open_memstream(&printed, &n1);
	config_print_file(fp);
	fclose(fp);
	CHECK(strstr(printed, "\nIMGSANDBOX_DATA=\"/var/lib/imgsandbox test\"\n") != NULL);
	CHECK(strstr(printed, "\nIMGSANDBOX_WARM=2\n") != NULL);
	CHECK(strstr(printed, "\n#IMGSANDBOX_PIDS=64\n") != NULL);
	CHECK(strstr(printed, "\n#IMGSANDBOX_AI_MAX_TOKENS=2048\n") != NULL);
	unsetenv("IMGSANDBOX_DATA");
	unsetenv("IMGSANDBOX_WARM");
	CHECK_INT(load(printed, err, sizeof(err)), 0);
	CHECK_STR(cfg.data_dir, "/var/lib/imgsandbox test");
	CHECK_INT(cfg.warm, 2);
	fp = open_memstream(&again, &n2);
	config_print_file(fp);
	fclose(fp);
	CHECK_STR(again, printed);
	free(printed);
	free(again);
}

int
main(void)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	RUN(values_comments_and_quotes);
	RUN(the_environment_wins);
	RUN(bad_lines_name_file_and_line);
	RUN(which_file);
	RUN(print_file_reads_back);
	unlink(path);
	unsetenv("IMGSANDBOX_CONFIG_FILE");
	return unit_done("config");
}
