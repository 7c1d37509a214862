/*
 * test_image_check: the content checks of an uploaded image. PNGs are built
 * here with zlib (compress + crc32); the two JPEGs below are real files made
 * by Pillow 9.4 (Debian 12's python3-pil) with:
 *
 *   /usr/bin/python3 -c 'from PIL import Image; import sys
 *   im = Image.new("RGB", (16, 8)); px = im.load()
 *   for y in range(8):
 *       for x in range(16): px[x, y] = (x * 16 % 256, y * 32 % 256, 128)
 *   im.save(sys.argv[1], "JPEG", quality=50, progressive=sys.argv[2] == "1")' out.jpg 0|1
 *
 * and dumped as C arrays (baseline: 649 bytes, one scan; progressive: 540
 * bytes, ten scans with DHT segments between them).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "unit.h"

static const unsigned char jpeg_baseline[649] = {
	0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01,
	0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43,
	0x00, 0x10, 0x0b, 0x0c, 0x0e, 0x0c, 0x0a, 0x10, 0x0e, 0x0d, 0x0e, 0x12,
	0x11, 0x10, 0x13, 0x18, 0x28, 0x1a, 0x18, 0x16, 0x16, 0x18, 0x31, 0x23,
	0x25, 0x1d, 0x28, 0x3a, 0x33, 0x3d, 0x3c, 0x39, 0x33, 0x38, 0x37, 0x40,
	0x48, 0x5c, 0x4e, 0x40, 0x44, 0x57, 0x45, 0x37, 0x38, 0x50, 0x6d, 0x51,
	0x57, 0x5f, 0x62, 0x67, 0x68, 0x67, 0x3e, 0x4d, 0x71, 0x79, 0x70, 0x64,
	0x78, 0x5c, 0x65, 0x67, 0x63, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x11, 0x12,
	0x12, 0x18, 0x15, 0x18, 0x2f, 0x1a, 0x1a, 0x2f, 0x63, 0x42, 0x38, 0x42,
	0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
	0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
	0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
	0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
	0x63, 0x63, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x08, 0x00, 0x10, 0x03,
	0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x00,
	0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
	0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00,
	0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00,
	0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21,
	0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81,
	0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24,
	0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
	0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
	0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56,
	0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
	0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86,
	0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
	0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3,
	0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
	0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9,
	0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1,
	0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xc4, 0x00,
	0x1f, 0x01, 0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
	0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x11, 0x00,
	0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00,
	0x01, 0x02, 0x77, 0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31,
	0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08,
	0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15,
	0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
	0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39,
	0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55,
	0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
	0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84,
	0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
	0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4,
	0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
	0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
	0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xda, 0x00,
	0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0xa1,
	0x6f, 0xa1, 0x74, 0xf9, 0x2b, 0x4e, 0xdf, 0x42, 0xe9, 0xf2, 0x51, 0x45,
	0x67, 0x57, 0x13, 0x53, 0xb9, 0xcf, 0x97, 0xe2, 0xea, 0xe9, 0xa9, 0xff,
	0xd9,
};
static const unsigned char jpeg_progressive[540] = {
	0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01,
	0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43,
	0x00, 0x10, 0x0b, 0x0c, 0x0e, 0x0c, 0x0a, 0x10, 0x0e, 0x0d, 0x0e, 0x12,
	0x11, 0x10, 0x13, 0x18, 0x28, 0x1a, 0x18, 0x16, 0x16, 0x18, 0x31, 0x23,
	0x25, 0x1d, 0x28, 0x3a, 0x33, 0x3d, 0x3c, 0x39, 0x33, 0x38, 0x37, 0x40,
	0x48, 0x5c, 0x4e, 0x40, 0x44, 0x57, 0x45, 0x37, 0x38, 0x50, 0x6d, 0x51,
	0x57, 0x5f, 0x62, 0x67, 0x68, 0x67, 0x3e, 0x4d, 0x71, 0x79, 0x70, 0x64,
	0x78, 0x5c, 0x65, 0x67, 0x63, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x11, 0x12,
	0x12, 0x18, 0x15, 0x18, 0x2f, 0x1a, 0x1a, 0x2f, 0x63, 0x42, 0x38, 0x42,
	0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
	0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
	0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
	0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
	0x63, 0x63, 0xff, 0xc2, 0x00, 0x11, 0x08, 0x00, 0x08, 0x00, 0x10, 0x03,
	0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x00,
	0x15, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xff, 0xc4, 0x00, 0x15,
	0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xff, 0xda, 0x00, 0x0c, 0x03,
	0x01, 0x00, 0x02, 0x10, 0x03, 0x10, 0x00, 0x00, 0x01, 0x9e, 0xa0, 0xcf,
	0xff, 0xc4, 0x00, 0x16, 0x10, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03,
	0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x05, 0x02, 0x58, 0x0b,
	0x03, 0xff, 0xc4, 0x00, 0x17, 0x11, 0x00, 0x03, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x03, 0x04, 0xff, 0xda, 0x00, 0x08, 0x01, 0x03, 0x01, 0x01, 0x3f, 0x01,
	0xcf, 0x56, 0x3f, 0xff, 0xc4, 0x00, 0x16, 0x11, 0x01, 0x01, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x03, 0xff, 0xda, 0x00, 0x08, 0x01, 0x02, 0x01, 0x01, 0x3f,
	0x01, 0x5a, 0x2b, 0xff, 0xc4, 0x00, 0x14, 0x10, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x06, 0x3f, 0x02, 0x3f,
	0xff, 0xc4, 0x00, 0x15, 0x10, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0xff,
	0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3f, 0x21, 0x82, 0x0f, 0xff,
	0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x10, 0x83, 0xff, 0xc4, 0x00, 0x15, 0x11, 0x01, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21,
	0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x03, 0x01, 0x01, 0x3f, 0x10, 0x1b,
	0x7f, 0xff, 0xc4, 0x00, 0x15, 0x11, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x51,
	0xff, 0xda, 0x00, 0x08, 0x01, 0x02, 0x01, 0x01, 0x3f, 0x10, 0xb9, 0xff,
	0xc4, 0x00, 0x15, 0x10, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31, 0xff, 0xda,
	0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3f, 0x10, 0x8b, 0x17, 0xff, 0xd9,
};

#include "facts/image_check.h"

#define MAX_PIXELS	40000000ULL

/* A growing byte string; dies on no memory (a test). */
struct sb {
	unsigned char	*p;
	size_t		 len, cap;
};

static void
sb_add(struct sb *s, const void *d, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t nc = s->cap ? s->cap : 256;
		while (nc < s->len + n + 1)
			nc *= 2;
		if ((s->p = realloc(s->p, nc)) == NULL) {
			perror("realloc");
			exit(2);
		}
		s->cap = nc;
	}
	if (n > 0)
		memcpy(s->p + s->len, d, n);
	s->len += n;
}

static void
sb_be32(struct sb *s, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

	sb_add(s, b, 4);
}

static void
png_chunk(struct sb *s, const char *type, const void *data, size_t n)
{
	uLong crc = crc32(0L, (const Bytef *)type, 4);

	if (n > 0)
		crc = crc32(crc, data, (uInt)n);
	sb_be32(s, (uint32_t)n);
	sb_add(s, type, 4);
	sb_add(s, data, n);
	sb_be32(s, (uint32_t)crc);
}

static uint32_t
rnd(uint32_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	return *st;
}

/*
 * Builds a real PNG of w x h pixels, colour type ct at 8 bits (ct 3 gets a
 * palette), random pixels when noisy, IDAT split in pieces of idat_piece
 * bytes. claim_w/claim_h (non-zero) replace the size written in IHDR while
 * the data stays small (a "bomb" header).
 */
static void
make_png(struct sb *s, uint32_t w, uint32_t h, int ct, int noisy, size_t idat_piece,
    uint32_t claim_w, uint32_t claim_h)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
	unsigned char ihdr[13], plte[12] = { 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255 };
	int ch = ct == 2 ? 3 : ct == 6 ? 4 : ct == 4 ? 2 : 1;
	size_t row = 1 + (size_t)w * ch, rawlen = row * h, i;
	unsigned char *raw = calloc(1, rawlen);
	uLongf zlen = compressBound(rawlen);
	unsigned char *z = malloc(zlen);
	uint32_t st = 12345;

	if (raw == NULL || z == NULL)
		exit(2);
	for (i = 0; i < rawlen; i++) {
		if (i % row == 0)
			raw[i] = 0;	/* filter type */
		else if (ct == 3)
			raw[i] = (unsigned char)(i % 4);
		else
			raw[i] = noisy ? (unsigned char)rnd(&st) : (unsigned char)(i * 7);
	}
	if (compress(z, &zlen, raw, rawlen) != Z_OK)
		exit(2);
	memset(s, 0, sizeof(*s));
	sb_add(s, sig, 8);
	ihdr[0] = (claim_w ? claim_w : w) >> 24; ihdr[1] = (claim_w ? claim_w : w) >> 16;
	ihdr[2] = (claim_w ? claim_w : w) >> 8; ihdr[3] = (unsigned char)(claim_w ? claim_w : w);
	ihdr[4] = (claim_h ? claim_h : h) >> 24; ihdr[5] = (claim_h ? claim_h : h) >> 16;
	ihdr[6] = (claim_h ? claim_h : h) >> 8; ihdr[7] = (unsigned char)(claim_h ? claim_h : h);
	ihdr[8] = 8;
	ihdr[9] = (unsigned char)ct;
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	png_chunk(s, "IHDR", ihdr, 13);
	png_chunk(s, "tEXt", "Comment\0made by test_image_check", 32);
	if (ct == 3)
		png_chunk(s, "PLTE", plte, sizeof(plte));
	for (i = 0; i < zlen; i += idat_piece)
		png_chunk(s, "IDAT", z + i, zlen - i < idat_piece ? zlen - i : idat_piece);
	png_chunk(s, "IEND", NULL, 0);
	free(raw);
	free(z);
}

/* The offset of the first JPEG marker 0xFF m before the entropy data, or 0. */
static size_t
jpeg_find(const unsigned char *d, size_t len, unsigned m)
{
	size_t i = 2;

	while (i + 4 <= len && d[i] == 0xFF) {
		if (d[i + 1] == m)
			return i;
		if (d[i + 1] == 0xDA)
			return 0;
		i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
	}
	return 0;
}

static char tmpdir[64];

/* Writes data to tmpdir/name and runs image_check_fd on it. Returns the
 * status; info and msg filled. */
static enum image_status
check_file(const char *name, const void *data, size_t len, uint64_t max_pixels,
    struct image_info *info, char *msg, size_t msglen)
{
	char path[128];
	enum image_status st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || (len > 0 && write(fd, data, len) != (ssize_t)len)) {
		perror(path);
		exit(2);
	}
	st = image_check_fd(fd, max_pixels, info, msg, msglen);
	close(fd);
	unlink(path);
	return st;
}

/* Runs the pure check of kind on d, then the same fed 1 byte at a time and
 * in random pieces, and checks all agree (result, size, reason). Returns the
 * whole-buffer result. */
static int
check_all_ways(enum image_kind kind, const unsigned char *d, size_t len, uint32_t *w, uint32_t *h)
{
	struct image_scan s;
	uint32_t w1 = 0, h1 = 0, w2, h2, st = 99;
	char reason[96];
	int r, r2, seed;
	size_t i, n;

	r = kind == IMAGE_PNG ? image_png_check(d, len, &w1, &h1) :
	    image_jpeg_check(d, len, &w1, &h1);
	/* The reason of the whole-buffer run. */
	image_scan_init(&s, kind);
	if (image_scan_feed(&s, d, len) == -1 || image_scan_finish(&s, NULL, NULL) == -1)
		snprintf(reason, sizeof(reason), "%s", image_scan_reason(&s));
	else
		reason[0] = '\0';
	for (seed = 0; seed < 4; seed++) {
		image_scan_init(&s, kind);
		r2 = 0;
		for (i = 0; i < len && r2 == 0; i += n) {
			n = seed == 0 ? 1 : 1 + rnd(&st) % (seed == 1 ? 7 : 300);
			if (n > len - i)
				n = len - i;
			r2 = image_scan_feed(&s, d + i, n);
		}
		w2 = h2 = 0;
		r2 = r2 == -1 ? -1 : image_scan_finish(&s, &w2, &h2);
		CHECK_INT(r2, r);
		CHECK_STR(image_scan_reason(&s), reason);
		if (r == 0) {
			CHECK_INT(w2, w1);
			CHECK_INT(h2, h1);
		}
	}
	if (w)
		*w = w1;
	if (h)
		*h = h1;
	return r;
}

TEST(init_is_idempotent)
{
	CHECK_INT(image_check_init(), 0);
	CHECK_INT(image_check_init(), 0);
}

TEST(png_ok)
{
	static const int cts[] = { 0, 2, 3, 4, 6 };
	struct image_info info;
	char msg[256];
	struct sb s;
	uint32_t w, h;
	size_t i;

	for (i = 0; i < sizeof(cts) / sizeof(cts[0]); i++) {
		make_png(&s, 3, 2, cts[i], 0, 1 << 20, 0, 0);
		CHECK_INT(check_all_ways(IMAGE_PNG, s.p, s.len, &w, &h), 0);
		CHECK_INT(w, 3);
		CHECK_INT(h, 2);
		CHECK_INT(check_file("a.png", s.p, s.len, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_OK);
		CHECK_STR(msg, "");
		CHECK_STR(info.mime, "image/png");
		CHECK_INT(info.width, 3);
		CHECK_INT(info.height, 2);
		CHECK_INT(info.bytes, s.len);
		free(s.p);
	}
	/* The pixel limit itself: 6 pixels pass a limit of 6, not of 5. */
	make_png(&s, 3, 2, 2, 0, 1 << 20, 0, 0);
	CHECK_INT(check_file("a.png", s.p, s.len, 6, &info, msg, sizeof(msg)), IMG_OK);
	CHECK_INT(check_file("a.png", s.p, s.len, 5, &info, msg, sizeof(msg)), IMG_TOO_MANY_PIXELS);
	CHECK_STR(msg, "the image is 3 \xC3\x97 2 pixels (0.0 megapixels); the limit is 0.0 megapixels");
	/* Trailing bytes after IEND are ignored. */
	sb_add(&s, "trailing", 8);
	CHECK_INT(check_all_ways(IMAGE_PNG, s.p, s.len, NULL, NULL), 0);
	free(s.p);
}

TEST(png_large_chunked)
{
	struct image_info info;
	char msg[256];
	struct sb s;
	uint32_t w, h;
	size_t at;

	/* 300 x 300 noisy RGB: ~270 KiB in IDATs of 10,000 bytes, so the
	 * 64 KiB reads of image_check_fd cut chunks everywhere. */
	make_png(&s, 300, 300, 2, 1, 10000, 0, 0);
	CHECK(s.len > 256 * 1024);
	CHECK_INT(check_all_ways(IMAGE_PNG, s.p, s.len, &w, &h), 0);
	CHECK_INT(w, 300);
	CHECK_INT(check_file("big.png", s.p, s.len, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_OK);
	CHECK_INT(info.bytes, s.len);
	/* A flipped bit far past the first 64 KiB. */
	at = 200000;
	s.p[at] ^= 0x10;
	CHECK_INT(check_all_ways(IMAGE_PNG, s.p, s.len, NULL, NULL), -1);
	CHECK_INT(check_file("big.png", s.p, s.len, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_DAMAGED);
	CHECK_STR(msg, "the PNG is damaged or truncated (bad CRC in chunk IDAT)");
	free(s.p);
}

TEST(png_too_many_pixels)
{
	struct image_info info;
	char msg[256];
	struct sb s;
	uint32_t w, h;

	make_png(&s, 4, 4, 0, 0, 1 << 20, 50000, 50000);
	CHECK(s.len < 200);
	CHECK_INT(check_all_ways(IMAGE_PNG, s.p, s.len, &w, &h), 0);	/* well formed */
	CHECK_INT(w, 50000);
	CHECK_INT(check_file("bomb.png", s.p, s.len, MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_TOO_MANY_PIXELS);
	CHECK_STR(msg, "the image is 50000 \xC3\x97 50000 pixels (2500.0 megapixels); "
	    "the limit is 40 megapixels");
	CHECK_INT(info.width, 50000);
	CHECK_INT(info.height, 50000);
	/* Said as soon as the header is read, even if the rest is cut off. */
	CHECK_INT(check_file("bomb.png", s.p, 60, MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_TOO_MANY_PIXELS);
	free(s.p);
}

TEST(png_truncated)
{
	struct image_info info;
	char msg[256];
	struct sb s;
	size_t cut;

	make_png(&s, 20, 20, 2, 1, 300, 0, 0);
	for (cut = 0; cut < s.len; cut++)
		CHECK_INT(check_all_ways(IMAGE_PNG, s.p, cut, NULL, NULL), -1);
	CHECK_INT(check_file("cut.png", s.p, s.len / 2, MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_DAMAGED);
	CHECK(strncmp(msg, "the PNG is damaged or truncated (it ends after ", 47) == 0);
	CHECK_INT(check_file("cut.png", s.p, s.len - 12, MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_DAMAGED);
	CHECK(strstr(msg, "without an IEND chunk") != NULL);
	free(s.p);
}

TEST(png_damaged)
{
	struct image_info info;
	char msg[256];
	struct sb s, t;
	unsigned char ihdr[13] = { 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0 };
	size_t idat;

	/* Bad CRC in IDAT. */
	make_png(&s, 8, 8, 2, 0, 1 << 20, 0, 0);
	idat = 8 + 25 + 44;	/* signature, IHDR, tEXt */
	CHECK(memcmp(s.p + idat + 4, "IDAT", 4) == 0);
	s.p[idat + 8] ^= 1;
	CHECK_INT(check_all_ways(IMAGE_PNG, s.p, s.len, NULL, NULL), -1);
	CHECK_INT(check_file("crc.png", s.p, s.len, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_DAMAGED);
	CHECK_STR(msg, "the PNG is damaged or truncated (bad CRC in chunk IDAT)");
	/* A wrong signature byte. */
	s.p[idat + 8] ^= 1;
	s.p[3] = 'X';
	CHECK_INT(check_all_ways(IMAGE_PNG, s.p, s.len, NULL, NULL), -1);
	free(s.p);

	/* Chunk order and content rules, each on its own small file. */
#define PNG_START(t) do { memset(&(t), 0, sizeof(t)); \
	sb_add(&(t), "\x89PNG\r\n\x1a\n", 8); } while (0)
	PNG_START(t);	/* no IHDR first */
	png_chunk(&t, "tEXt", "a\0b", 3);
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "IDAT", "x", 1);
	png_chunk(&t, "IEND", NULL, 0);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
	PNG_START(t);	/* the same in the right order passes */
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "tEXt", "a\0b", 3);
	png_chunk(&t, "IDAT", "x", 1);
	png_chunk(&t, "IEND", NULL, 0);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), 0);
	free(t.p);
	PNG_START(t);	/* no IDAT */
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "IEND", NULL, 0);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
	PNG_START(t);	/* unknown critical chunk */
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "ABCD", "x", 1);
	png_chunk(&t, "IDAT", "x", 1);
	png_chunk(&t, "IEND", NULL, 0);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
	PNG_START(t);	/* two IHDR */
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "IDAT", "x", 1);
	png_chunk(&t, "IEND", NULL, 0);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
	PNG_START(t);	/* a palette image without PLTE */
	ihdr[9] = 3;
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "IDAT", "x", 1);
	png_chunk(&t, "IEND", NULL, 0);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
	PNG_START(t);	/* 16-bit palette: invalid */
	ihdr[8] = 16;
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "PLTE", "abc", 3);
	png_chunk(&t, "IDAT", "x", 1);
	png_chunk(&t, "IEND", NULL, 0);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
	ihdr[8] = 8;
	ihdr[9] = 0;
	PNG_START(t);	/* zero width */
	ihdr[3] = 0;
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "IDAT", "x", 1);
	png_chunk(&t, "IEND", NULL, 0);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
	ihdr[3] = 1;
	PNG_START(t);	/* a length over 2^31 */
	png_chunk(&t, "IHDR", ihdr, 13);
	sb_add(&t, "\xff\xff\xff\xf0IDAT", 8);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
	PNG_START(t);	/* a chunk type that is not letters */
	png_chunk(&t, "IHDR", ihdr, 13);
	png_chunk(&t, "ID1T", "x", 1);
	CHECK_INT(check_all_ways(IMAGE_PNG, t.p, t.len, NULL, NULL), -1);
	free(t.p);
#undef PNG_START
}

TEST(jpeg_ok)
{
	struct image_info info;
	char msg[256];
	uint32_t w, h;
	struct sb s = { 0 };

	CHECK_INT(check_all_ways(IMAGE_JPEG, jpeg_baseline, sizeof(jpeg_baseline), &w, &h), 0);
	CHECK_INT(w, 16);
	CHECK_INT(h, 8);
	CHECK_INT(check_all_ways(IMAGE_JPEG, jpeg_progressive, sizeof(jpeg_progressive), &w, &h), 0);
	CHECK_INT(w, 16);
	CHECK_INT(h, 8);
	CHECK_INT(check_file("a.jpg", jpeg_baseline, sizeof(jpeg_baseline), MAX_PIXELS, &info,
	    msg, sizeof(msg)), IMG_OK);
	CHECK_STR(msg, "");
	CHECK_STR(info.mime, "image/jpeg");
	CHECK_INT(info.width, 16);
	CHECK_INT(info.height, 8);
	CHECK_INT(info.bytes, sizeof(jpeg_baseline));
	CHECK_INT(check_file("b.jpeg", jpeg_progressive, sizeof(jpeg_progressive), MAX_PIXELS,
	    &info, msg, sizeof(msg)), IMG_OK);
	/* Bytes after EOI (camera trailers) are ignored. */
	sb_add(&s, jpeg_baseline, sizeof(jpeg_baseline));
	sb_add(&s, "\0\0trailer", 9);
	CHECK_INT(check_all_ways(IMAGE_JPEG, s.p, s.len, NULL, NULL), 0);
	free(s.p);
}

TEST(jpeg_large_chunked)
{
	/* The baseline file with 3 big COM segments before its frame header and
	 * 200 KiB more entropy-coded bytes (stuffed 0xFF 0x00 and restart
	 * markers) after its scan header: not decodable any more, but every
	 * structure the check walks, cut by the 64 KiB reads. */
	struct image_info info;
	char msg[256];
	unsigned char com[65535];
	unsigned char *ent;
	size_t sof = jpeg_find(jpeg_baseline, sizeof(jpeg_baseline), 0xC0);
	size_t sos = jpeg_find(jpeg_baseline, sizeof(jpeg_baseline), 0xDA), i, sos_end, n = 200 * 1024;
	uint32_t st = 777, w, h;
	struct sb s = { 0 };
	int k;

	CHECK(sof > 0 && sos > sof);
	ent = malloc(n);
	CHECK(ent != NULL);
	for (i = 0; i < n; i++) {
		ent[i] = (unsigned char)rnd(&st);
		if (ent[i] == 0xFF && i + 1 < n) {
			ent[++i] = (rnd(&st) & 1) ? 0x00 : (unsigned char)(0xD0 + (st >> 8) % 8);
		}
	}
	if (ent[n - 1] == 0xFF)
		ent[n - 1] = 0;
	com[0] = 0xFF;
	com[1] = 0xFE;
	com[2] = 0xFF;
	com[3] = 0xFF;	/* length 65535 */
	memset(com + 4, 'c', sizeof(com) - 4);
	sb_add(&s, jpeg_baseline, sof);
	for (k = 0; k < 3; k++) {
		sb_add(&s, com, sizeof(com));
		sb_add(&s, com + 4, 2);	/* marker + 65535 bytes of length and data */
	}
	sos_end = sos + 2 + ((size_t)jpeg_baseline[sos + 2] << 8 | jpeg_baseline[sos + 3]);
	sb_add(&s, jpeg_baseline + sof, sos_end - sof);
	sb_add(&s, ent, n);
	sb_add(&s, jpeg_baseline + sos_end, sizeof(jpeg_baseline) - sos_end);
	CHECK(s.len > 3 * 65536 + n);
	CHECK_INT(check_all_ways(IMAGE_JPEG, s.p, s.len, &w, &h), 0);
	CHECK_INT(w, 16);
	CHECK_INT(check_file("big.jpg", s.p, s.len, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_OK);
	CHECK_STR(msg, "");
	/* Without its EOI: damaged. */
	CHECK_INT(check_file("big.jpg", s.p, s.len - 2, MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_DAMAGED);
	CHECK(strstr(msg, "without an end-of-image marker") != NULL);
	free(s.p);
	free(ent);
}

TEST(jpeg_too_many_pixels)
{
	struct image_info info;
	char msg[256];
	unsigned char d[sizeof(jpeg_baseline)];
	size_t sof = jpeg_find(jpeg_baseline, sizeof(jpeg_baseline), 0xC0);

	memcpy(d, jpeg_baseline, sizeof(d));
	d[sof + 5] = d[sof + 6] = 0xFF;	/* height 65535 */
	d[sof + 7] = d[sof + 8] = 0xFF;	/* width 65535 */
	CHECK_INT(check_file("huge.jpg", d, sizeof(d), MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_TOO_MANY_PIXELS);
	CHECK_STR(msg, "the image is 65535 \xC3\x97 65535 pixels (4294.8 megapixels); "
	    "the limit is 40 megapixels");
	CHECK_INT(check_file("huge.jpg", d, sizeof(d), 4300000000ULL, &info, msg, sizeof(msg)),
	    IMG_OK);
	CHECK_INT(check_file("huge.jpg", d, sizeof(d), 1500000, &info, msg, sizeof(msg)),
	    IMG_TOO_MANY_PIXELS);
	CHECK(strstr(msg, "the limit is 1.5 megapixels") != NULL);
}

TEST(jpeg_truncated)
{
	struct image_info info;
	char msg[256];
	size_t cut;

	for (cut = 0; cut < sizeof(jpeg_baseline); cut++)
		CHECK_INT(check_all_ways(IMAGE_JPEG, jpeg_baseline, cut, NULL, NULL), -1);
	for (cut = 0; cut < sizeof(jpeg_progressive); cut++)
		CHECK_INT(check_all_ways(IMAGE_JPEG, jpeg_progressive, cut, NULL, NULL), -1);
	CHECK_INT(check_file("cut.jpg", jpeg_baseline, sizeof(jpeg_baseline) - 100, MAX_PIXELS,
	    &info, msg, sizeof(msg)), IMG_DAMAGED);
	CHECK(strncmp(msg, "the JPEG is damaged or truncated (it ends after ", 48) == 0);
	CHECK_INT(check_file("cut.jpg", jpeg_progressive, 200, MAX_PIXELS, &info, msg,
	    sizeof(msg)), IMG_DAMAGED);
}

TEST(jpeg_damaged)
{
	unsigned char d[sizeof(jpeg_baseline) + 16];
	size_t len = sizeof(jpeg_baseline);
	size_t sof = jpeg_find(jpeg_baseline, len, 0xC0);
	size_t dqt = jpeg_find(jpeg_baseline, len, 0xDB);
	size_t sos = jpeg_find(jpeg_baseline, len, 0xDA);
	size_t soflen = 2 + ((size_t)jpeg_baseline[sof + 2] << 8 | jpeg_baseline[sof + 3]);
	struct image_info info;
	char msg[256];

	CHECK(sof > 0 && dqt > 0 && sos > 0);
	/* Zero width. */
	memcpy(d, jpeg_baseline, len);
	d[sof + 7] = d[sof + 8] = 0;
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len, NULL, NULL), -1);
	CHECK_INT(check_file("zero.jpg", d, len, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_DAMAGED);
	CHECK_STR(msg, "the JPEG is damaged or truncated (the frame header gives a zero width or height)");
	/* A segment length below 2. */
	memcpy(d, jpeg_baseline, len);
	d[dqt + 2] = 0;
	d[dqt + 3] = 1;
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len, NULL, NULL), -1);
	/* A segment length running past the scan. */
	memcpy(d, jpeg_baseline, len);
	d[dqt + 2] = 0x7F;
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len, NULL, NULL), -1);
	/* No frame header at all: the scan comes first. */
	memcpy(d, jpeg_baseline, sof);
	memcpy(d + sof, jpeg_baseline + sof + soflen, len - sof - soflen);
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len - soflen, NULL, NULL), -1);
	/* A wrong frame header length. */
	memcpy(d, jpeg_baseline, len);
	d[sof + 9] = 4;	/* 4 components in a 3-component segment */
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len, NULL, NULL), -1);
	/* Junk between two segments. */
	memcpy(d, jpeg_baseline, sof);
	d[sof] = 0x00;
	memcpy(d + sof + 1, jpeg_baseline + sof, len - sof);
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len + 1, NULL, NULL), -1);
	/* A second SOI, and EOI before any scan. */
	memcpy(d, jpeg_baseline, len);
	d[sof + 1] = 0xD8;
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len, NULL, NULL), -1);
	d[sof + 1] = 0xD9;
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len, NULL, NULL), -1);
	/* A malformed scan header. */
	memcpy(d, jpeg_baseline, len);
	d[sos + 4] = 9;
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len, NULL, NULL), -1);
	/* No SOI. */
	memcpy(d, jpeg_baseline, len);
	d[1] = 0xD9;
	CHECK_INT(check_all_ways(IMAGE_JPEG, d, len, NULL, NULL), -1);
	CHECK_INT(check_all_ways(IMAGE_JPEG, (const unsigned char *)"", 0, NULL, NULL), -1);
}

TEST(other_types_unsupported)
{
	static const unsigned char gif[] = {
		'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF,
		0x21, 0xF9, 4, 1, 0, 0, 0, 0, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3B
	};
	static const char svg[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">"
	    "<rect width=\"10\" height=\"10\"/></svg>\n";
	static const char text[] = "this is not an image, just some text\n";
	struct image_info info;
	char msg[256];

	CHECK_INT(check_file("a.gif", gif, sizeof(gif), MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_UNSUPPORTED);
	CHECK_STR(msg, "the file is GIF image data (image/gif), not a PNG or JPEG");
	CHECK_STR(info.mime, "image/gif");
	/* The name does not matter. */
	CHECK_INT(check_file("a.png", gif, sizeof(gif), MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_UNSUPPORTED);
	CHECK_INT(check_file("a.svg", svg, sizeof(svg) - 1, MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_UNSUPPORTED);
	CHECK(strstr(msg, "(image/svg+xml), not a PNG or JPEG") != NULL);
	CHECK_INT(check_file("a.jpg", text, sizeof(text) - 1, MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_UNSUPPORTED);
	CHECK(strstr(msg, "(text/plain), not a PNG or JPEG") != NULL);
	CHECK_INT(check_file("empty.png", "", 0, MAX_PIXELS, &info, msg, sizeof(msg)),
	    IMG_UNSUPPORTED);
	CHECK_STR(msg, "the image file is empty; send a PNG or JPEG");
	/* A PNG signature alone is not enough for anyone. */
	CHECK_INT(check_file("sig.png", "\x89PNG\r\n\x1a\n", 8, MAX_PIXELS, &info, msg,
	    sizeof(msg)) == IMG_OK, 0);
}

TEST(png_renamed_jpg)
{
	struct image_info info;
	char msg[256];
	struct sb s;

	make_png(&s, 5, 4, 6, 0, 1 << 20, 0, 0);
	CHECK_INT(check_file("photo.jpg", s.p, s.len, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_OK);
	CHECK_STR(info.mime, "image/png");
	CHECK_INT(info.width, 5);
	CHECK_INT(info.height, 4);
	free(s.p);
	/* And a JPEG named .png is a JPEG. */
	CHECK_INT(check_file("photo.png", jpeg_baseline, sizeof(jpeg_baseline), MAX_PIXELS, &info,
	    msg, sizeof(msg)), IMG_OK);
	CHECK_STR(info.mime, "image/jpeg");
}

TEST(offset_and_errors)
{
	struct image_info info;
	char path[128], msg[256];
	struct sb s;
	int fd, p[2];

	make_png(&s, 7, 7, 2, 0, 1 << 20, 0, 0);
	snprintf(path, sizeof(path), "%s/off.png", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, s.p, s.len) == (ssize_t)s.len);
	/* The caller's offset (here: the end, and then 10) does not matter and
	 * is left alone. */
	CHECK_INT(image_check_fd(fd, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_OK);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), s.len);
	CHECK_INT(lseek(fd, 10, SEEK_SET), 10);
	CHECK_INT(image_check_fd(fd, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_OK);
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 10);
	CHECK_INT(info.width, 7);
	/* info and msg may be NULL. */
	CHECK_INT(image_check_fd(fd, MAX_PIXELS, NULL, NULL, 0), IMG_OK);
	close(fd);
	unlink(path);
	free(s.p);

	CHECK_INT(image_check_fd(-1, MAX_PIXELS, &info, msg, sizeof(msg)), IMG_IO_ERROR);
	CHECK(msg[0] != '\0');
	CHECK(pipe(p) == 0);
	CHECK_INT(image_check_fd(p[0], MAX_PIXELS, &info, msg, sizeof(msg)), IMG_IO_ERROR);
	close(p[0]);
	close(p[1]);

	/* After fini, the next check opens the database again. */
	image_check_fini();
	image_check_fini();
	CHECK_INT(check_file("x.jpg", jpeg_baseline, sizeof(jpeg_baseline), MAX_PIXELS, &info,
	    msg, sizeof(msg)), IMG_OK);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_image_check.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	RUN(init_is_idempotent);
	RUN(png_ok);
	RUN(png_large_chunked);
	RUN(png_too_many_pixels);
	RUN(png_truncated);
	RUN(png_damaged);
	RUN(jpeg_ok);
	RUN(jpeg_large_chunked);
	RUN(jpeg_too_many_pixels);
	RUN(jpeg_truncated);
	RUN(jpeg_damaged);
	RUN(other_types_unsupported);
	RUN(png_renamed_jpg);
	RUN(offset_and_errors);
	image_check_fini();
	rmdir(tmpdir);
	return unit_done("image_check");
}
