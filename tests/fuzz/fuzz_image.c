/*
 * fuzz_image: libFuzzer target for the PNG and JPEG checks.
 *
 * Each input goes through image_png_check and image_jpeg_check whole, then
 * through the incremental scan in random pieces (the answers, sizes and
 * reasons must agree), and through image_check_fd (libmagic included) from
 * a memfd, whose answer must agree with the pure check of the type it found.
 * A PNG input is also tried with its chunk CRCs recomputed, so that the
 * fuzzer gets past the CRCs into the chunk rules.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "facts/image_check.h"

static int mem_fd = -1;	/* harness only: one memfd reused */

/* Checks d as kind whole and in pieces cut by seed; aborts if they differ.
 * Returns the whole-buffer answer. */
static int
check_kind(enum image_kind kind, const uint8_t *d, size_t len, uint32_t seed)
{
	struct image_scan s;
	uint32_t w = 0, h = 0, w2 = 0, h2 = 0;
	char reason[96];
	size_t i, n;
	int r, r2;

	r = kind == IMAGE_PNG ? image_png_check(d, len, &w, &h) : image_jpeg_check(d, len, &w, &h);
	image_scan_init(&s, kind);
	r2 = image_scan_feed(&s, d, len);
	r2 = r2 == -1 ? -1 : image_scan_finish(&s, NULL, NULL);
	if (r2 != r)
		abort();
	snprintf(reason, sizeof(reason), "%s", image_scan_reason(&s));
	if ((r == -1) != (reason[0] != '\0'))
		abort();
	if (r == 0 && (w == 0 || h == 0))
		abort();

	image_scan_init(&s, kind);
	r2 = 0;
	for (i = 0; i < len && r2 == 0; i += n) {
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 17;
		if (n > len - i)
			n = len - i;
		r2 = image_scan_feed(&s, d + i, n);
	}
	r2 = r2 == -1 ? -1 : image_scan_finish(&s, &w2, &h2);
	if (r2 != r || strcmp(reason, image_scan_reason(&s)) != 0) {
		fprintf(stderr, "pieces differ: '%s' vs '%s'\n", reason, image_scan_reason(&s));
		abort();
	}
	if (r == 0 && (w2 != w || h2 != h))
		abort();
	return r;
}

/* Recomputes the CRC of every whole chunk of a PNG in place. */
static void
png_fix_crcs(uint8_t *d, size_t len)
{
	size_t i = 8;
	uint32_t n, crc;

	while (i + 12 <= len) {
		n = (uint32_t)d[i] << 24 | (uint32_t)d[i + 1] << 16 | (uint32_t)d[i + 2] << 8 | d[i + 3];
		if (n > len - i - 12)
			break;
		crc = (uint32_t)crc32(0L, d + i + 4, (uInt)n + 4);
		d[i + 8 + n] = (uint8_t)(crc >> 24);
		d[i + 9 + n] = (uint8_t)(crc >> 16);
		d[i + 10 + n] = (uint8_t)(crc >> 8);
		d[i + 11 + n] = (uint8_t)crc;
		i += 12 + n;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (image_check_init() == -1)
		abort();
	if ((mem_fd = memfd_create("fuzz_image", MFD_CLOEXEC)) == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_info info;
	enum image_status st;
	char msg[256];
	uint32_t seed = (uint32_t)size * 2654435761u;
	uint8_t *copy;
	int png, jpg;

	png = check_kind(IMAGE_PNG, data, size, seed);
	jpg = check_kind(IMAGE_JPEG, data, size, seed + 1);
	if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) {
		if ((copy = malloc(size)) == NULL)
			abort();
		memcpy(copy, data, size);
		png_fix_crcs(copy, size);
		check_kind(IMAGE_PNG, copy, size, seed + 2);
		free(copy);
	}

	/* The whole path, libmagic included (slow: for inputs that start like
	 * a PNG or JPEG, and one in eight of the others). */
	if (!(size > 0 && (data[0] == 0x89 || data[0] == 0xFF)) && size % 8 != 0)
		return 0;
	if (ftruncate(mem_fd, 0) == -1 || pwrite(mem_fd, data, size, 0) != (ssize_t)size)
		abort();
	st = image_check_fd(mem_fd, 1000000, &info, msg, sizeof(msg));
	if ((st == IMG_OK) != (msg[0] == '\0') || info.bytes != size)
		abort();
	if (memchr(info.mime, '\0', sizeof(info.mime)) == NULL)
		abort();
	if (st == IMG_OK || st == IMG_DAMAGED) {
		int want = strcmp(info.mime, "image/png") == 0 ? png : jpg;

		if (strcmp(info.mime, "image/png") != 0 && strcmp(info.mime, "image/jpeg") != 0)
			abort();
		if ((st == IMG_OK) != (want == 0))
			abort();
		if (st == IMG_OK && (uint64_t)info.width * info.height > 1000000)
			abort();
	}
	return 0;
}
