/*
 * image_check: content checks of an uploaded image (see image_check.h).
 *
 * The PNG and JPEG checks are small state machines fed any number of bytes
 * at a time, so a file is walked in bounded chunks and a cut anywhere gives
 * the same answer as the whole buffer.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <magic.h>
#include <zlib.h>

#include "facts/image_check.h"

#define IMG_CHUNK		(64 * 1024)
#define IMG_MAGIC_BYTES		(256 * 1024)	/* libmagic looks at no more */
#define IMG_MAGIC_FLAGS		(MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_TAR | \
    MAGIC_NO_CHECK_ELF | MAGIC_NO_CHECK_CDF | MAGIC_NO_CHECK_APPTYPE)

/* The only global: the libmagic handle, opened once per process. */
static magic_t img_magic;

enum { P_SIG, P_HDR, P_DATA, P_CRC, P_DONE };
enum { J_SOI, J_MARK, J_MARK2, J_LEN, J_SEG, J_ENT, J_ENT_FF, J_DONE };

#define F_IHDR	0x01
#define F_PLTE	0x02
#define F_IDAT	0x04
#define F_SOF	0x08
#define F_SOS	0x10

static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };

/* Writes a message into msg (NULL or msglen 0: nothing); a message cut to
 * fit is still a message, so only a failed vsnprintf matters. */
static void
img_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
img_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (msg == NULL || msglen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
}

/* Writes a human size ("17 bytes", "12.3 KiB", "4.0 MiB") into out. Returns
 * out. */
static const char *
img_human(char *out, size_t outlen, uint64_t n)
{
	int r;

	if (n < 1024)
		r = snprintf(out, outlen, "%llu byte%s", (unsigned long long)n, n == 1 ? "" : "s");
	else if (n < 1024 * 1024)
		r = snprintf(out, outlen, "%.1f KiB", (double)n / 1024.0);
	else
		r = snprintf(out, outlen, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	if (r < 0 || (size_t)r >= outlen)
		snprintf(out, outlen, "?");
	return out;
}

/* Marks the scan damaged with a reason. Returns -1. */
static int
scan_fail(struct image_scan *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
scan_fail(struct image_scan *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	s->failed = 1;
	va_start(ap, fmt);
	n = vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(s->reason, sizeof(s->reason), "damaged");
	return -1;
}

/* Returns the big-endian 32-bit number at p. */
static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Returns the big-endian 16-bit number at p. */
static uint32_t
be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* Moves up to want - s->nhold bytes of buf[*i..len) into s->hold. Returns 1
 * when hold has want bytes, else 0. */
static int
scan_gather(struct image_scan *s, const unsigned char *buf, size_t len, size_t *i, size_t want)
{
	size_t take = want - s->nhold;

	if (take > len - *i)
		take = len - *i;
	memcpy(s->hold + s->nhold, buf + *i, take);
	s->nhold += take;
	*i += take;
	return s->nhold == want;
}

void
image_scan_init(struct image_scan *s, enum image_kind kind)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->state = kind == IMAGE_PNG ? P_SIG : J_SOI;
}

/* Checks the IHDR data gathered in s->ihdr. Returns 0 or -1. */
static int
png_ihdr(struct image_scan *s)
{
	const unsigned char *d = s->ihdr;
	uint32_t w = be32(d), h = be32(d + 4);
	unsigned depth = d[8], ct = d[9];
	int ok;

	if (w == 0 || h == 0 || w > 0x7FFFFFFFu || h > 0x7FFFFFFFu)
		return scan_fail(s, "IHDR gives an invalid size %" PRIu32 " x %" PRIu32, w, h);
	switch (ct) {
	case 0:
		ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
		break;
	case 3:
		ok = depth == 1 || depth == 2 || depth == 4 || depth == 8;
		break;
	case 2: case 4: case 6:
		ok = depth == 8 || depth == 16;
		break;
	default:
		ok = 0;
	}
	if (!ok)
		return scan_fail(s, "IHDR gives an invalid colour type %u with bit depth %u",
		    ct, depth);
	if (d[10] != 0 || d[11] != 0 || d[12] > 1)
		return scan_fail(s, "IHDR gives an unknown compression, filter or interlace method");
	s->width = w;
	s->height = h;
	s->have_dims = 1;
	s->flags |= F_IHDR;
	return 0;
}

/* Deals with the chunk just read whole (its CRC checked). Returns 0, 1 at
 * IEND, or -1. */
static int
png_chunk_done(struct image_scan *s)
{
	const char *t = s->type;
	unsigned ct = s->ihdr[9];

	if (strcmp(t, "IHDR") == 0)
		return png_ihdr(s);
	if (strcmp(t, "PLTE") == 0) {
		if (s->flags & (F_PLTE | F_IDAT))
			return scan_fail(s, "PLTE is repeated or comes after IDAT");
		if (s->seglen == 0 || s->seglen % 3 != 0 || s->seglen > 768 || ct == 0 || ct == 4)
			return scan_fail(s, "the PLTE chunk is invalid");
		s->flags |= F_PLTE;
		return 0;
	}
	if (strcmp(t, "IDAT") == 0) {
		if (ct == 3 && !(s->flags & F_PLTE))
			return scan_fail(s, "a palette image has no PLTE chunk before its IDAT");
		s->flags |= F_IDAT;
		return 0;
	}
	if (strcmp(t, "IEND") == 0) {
		if (!(s->flags & F_IDAT))
			return scan_fail(s, "there is no IDAT chunk before IEND");
		s->state = P_DONE;
		return 1;
	}
	if (t[0] >= 'A' && t[0] <= 'Z')
		return scan_fail(s, "unknown critical chunk %s", t);
	return 0;
}

/* Feeds PNG bytes. Returns as image_scan_feed. */
static int
png_feed(struct image_scan *s, const unsigned char *buf, size_t len)
{
	size_t i = 0, take, k;
	uint32_t clen;
	int r;

	while (i < len) {
		switch (s->state) {
		case P_SIG:
			if (!scan_gather(s, buf, len, &i, 8))
				break;
			if (memcmp(s->hold, png_sig, 8) != 0)
				return scan_fail(s, "the PNG signature is wrong");
			s->nhold = 0;
			s->state = P_HDR;
			break;
		case P_HDR:
			if (!scan_gather(s, buf, len, &i, 8))
				break;
			s->nhold = 0;
			clen = be32(s->hold);
			for (k = 4; k < 8; k++) {
				unsigned char c = s->hold[k];

				if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
					return scan_fail(s, "a chunk has an invalid type");
			}
			memcpy(s->type, s->hold + 4, 4);
			s->type[4] = '\0';
			if (clen > 0x7FFFFFFFu)
				return scan_fail(s, "chunk %s has an invalid length", s->type);
			if (!(s->flags & F_IHDR) && strcmp(s->type, "IHDR") != 0)
				return scan_fail(s, "the first chunk is %s, not IHDR", s->type);
			if ((s->flags & F_IHDR) && strcmp(s->type, "IHDR") == 0)
				return scan_fail(s, "IHDR appears twice");
			if (strcmp(s->type, "IHDR") == 0 && clen != 13)
				return scan_fail(s, "IHDR has the wrong length");
			if (strcmp(s->type, "IEND") == 0 && clen != 0)
				return scan_fail(s, "IEND has the wrong length");
			s->crc = (uint32_t)crc32(0L, s->hold + 4, 4);
			s->need = clen;
			s->seglen = clen;
			s->state = clen > 0 ? P_DATA : P_CRC;
			break;
		case P_DATA:
			take = len - i < s->need ? len - i : s->need;
			s->crc = (uint32_t)crc32(s->crc, buf + i, (uInt)take);
			if (strcmp(s->type, "IHDR") == 0)
				memcpy(s->ihdr + (13 - s->need), buf + i, take);
			s->need -= (uint32_t)take;
			i += take;
			if (s->need == 0)
				s->state = P_CRC;
			break;
		case P_CRC:
			if (!scan_gather(s, buf, len, &i, 4))
				break;
			s->nhold = 0;
			if (be32(s->hold) != s->crc)
				return scan_fail(s, "bad CRC in chunk %s", s->type);
			s->state = P_HDR;
			if ((r = png_chunk_done(s)) != 0)
				return r;
			break;
		default:
			return 1;
		}
	}
	return s->state == P_DONE ? 1 : 0;
}

/* Acts on the marker code c read after 0xFF. Returns 0, 1 at the end of the
 * image, or -1. */
static int
jpeg_marker(struct image_scan *s, unsigned c)
{
	if (c == 0xD8)
		return scan_fail(s, "a second start-of-image marker");
	if (c == 0xD9) {
		if (!(s->flags & F_SOS))
			return scan_fail(s, "the end-of-image marker comes before any image data");
		s->state = J_DONE;
		return 1;
	}
	if (c == 0x01) {	/* TEM: no length */
		s->state = J_MARK;
		return 0;
	}
	if (c >= 0xD0 && c <= 0xD7)
		return scan_fail(s, "a restart marker outside the image data");
	if (c < 0xC0)
		return scan_fail(s, "an invalid marker 0xFF%02X", c);
	s->marker = c;
	s->nhold = 0;
	s->state = J_LEN;
	return 0;
}

/* Returns 1 when marker c is a frame header (SOF0..SOF15 but DHT, JPG, DAC). */
static int
jpeg_is_sof(unsigned c)
{
	return c >= 0xC0 && c <= 0xCF && c != 0xC4 && c != 0xC8 && c != 0xCC;
}

/* Deals with the marker segment just read whole (its first bytes in hold).
 * Returns 0 or -1. */
static int
jpeg_segment_done(struct image_scan *s)
{
	const unsigned char *d = s->hold;
	uint32_t w, h, n;

	if (jpeg_is_sof(s->marker)) {
		if (s->flags & F_SOF)
			return scan_fail(s, "a second frame header (SOF)");
		if (s->seglen < 6)
			return scan_fail(s, "the frame header (SOF) is too short");
		h = be16(d + 1);
		w = be16(d + 3);
		n = d[5];
		if (n == 0 || s->seglen != 6 + 3 * n)
			return scan_fail(s, "the frame header (SOF) has the wrong length");
		if (w == 0 || h == 0)
			return scan_fail(s, "the frame header gives a zero width or height");
		s->width = w;
		s->height = h;
		s->have_dims = 1;
		s->flags |= F_SOF;
		s->state = J_MARK;
		return 0;
	}
	if (s->marker == 0xDA) {
		if (!(s->flags & F_SOF))
			return scan_fail(s, "image data (SOS) before the frame header (SOF)");
		if (s->seglen < 1)
			return scan_fail(s, "the scan header (SOS) is too short");
		n = d[0];
		if (n < 1 || n > 4 || s->seglen != 4 + 2 * n)
			return scan_fail(s, "the scan header (SOS) is malformed");
		s->flags |= F_SOS;
		s->state = J_ENT;
		return 0;
	}
	s->state = J_MARK;
	return 0;
}

/* A segment's length has been gathered. Returns 0, or -1 (failed). */
static int
jpeg_length(struct image_scan *s)
{
	if (be16(s->hold) < 2)
		return scan_fail(s, "the segment of marker 0xFF%02X has an invalid length", s->marker);
	s->seglen = be16(s->hold) - 2;
	s->need = s->seglen;
	s->nhold = 0;
	if (s->need == 0)
		return jpeg_segment_done(s) == -1 ? -1 : 0;
	s->state = J_SEG;
	return 0;
}

/* The bytes of a segment from buf[*i..len): its first ones kept. Returns 0,
 * or -1 (failed). */
static int
jpeg_segment(struct image_scan *s, const unsigned char *buf, size_t len, size_t *i)
{
	size_t take = len - *i < s->need ? len - *i : s->need, keep;

	keep = sizeof(s->hold) - s->nhold;
	if (keep > take)
		keep = take;
	memcpy(s->hold + s->nhold, buf + *i, keep);
	s->nhold += keep;
	s->need -= (uint32_t)take;
	*i += take;
	if (s->need == 0 && jpeg_segment_done(s) == -1)
		return -1;
	return 0;
}

/* Feeds JPEG bytes. Returns as image_scan_feed. */
static int
jpeg_feed(struct image_scan *s, const unsigned char *buf, size_t len)
{
	const unsigned char *ff;
	size_t i = 0;
	unsigned c;
	int r;

	while (i < len) {
		switch (s->state) {
		case J_SOI:
			if (!scan_gather(s, buf, len, &i, 2))
				break;
			if (s->hold[0] != 0xFF || s->hold[1] != 0xD8)
				return scan_fail(s, "there is no start-of-image marker");
			s->nhold = 0;
			s->state = J_MARK;
			break;
		case J_MARK:
			c = buf[i++];
			if (c != 0xFF)
				return scan_fail(s, "a marker was expected at byte %llu",
				    (unsigned long long)(s->offset + i));
			s->state = J_MARK2;
			break;
		case J_MARK2:
		case J_ENT_FF:
			c = buf[i++];
			if (c == 0xFF)
				break;	/* fill byte */
			if (s->state == J_ENT_FF && (c == 0x00 || (c >= 0xD0 && c <= 0xD7))) {
				s->state = J_ENT;	/* stuffed 0xFF, or a restart marker */
				break;
			}
			if (s->state == J_MARK2 && c == 0x00)
				return scan_fail(s, "a stray 0xFF byte at byte %llu",
				    (unsigned long long)(s->offset + i - 1));
			if ((r = jpeg_marker(s, c)) != 0)
				return r;
			break;
		case J_LEN:
			if (scan_gather(s, buf, len, &i, 2) && jpeg_length(s) == -1)
				return -1;
			break;
		case J_SEG:
			if (jpeg_segment(s, buf, len, &i) == -1)
				return -1;
			break;
		case J_ENT:
			ff = memchr(buf + i, 0xFF, len - i);
			if (ff == NULL) {
				i = len;
				break;
			}
			i = (size_t)(ff - buf) + 1;
			s->state = J_ENT_FF;
			break;
		default:
			return 1;
		}
	}
	return s->state == J_DONE ? 1 : 0;
}

int
image_scan_feed(struct image_scan *s, const unsigned char *buf, size_t len)
{
	int r;

	if (s->failed)
		return -1;
	if (s->kind == IMAGE_PNG ? s->state == P_DONE : s->state == J_DONE)
		return 1;
	r = s->kind == IMAGE_PNG ? png_feed(s, buf, len) : jpeg_feed(s, buf, len);
	s->offset += len;
	return r;
}

int
image_scan_finish(struct image_scan *s, uint32_t *w, uint32_t *h)
{
	char sz[32];

	if (s->failed)
		return -1;
	img_human(sz, sizeof(sz), s->offset);
	if (s->kind == IMAGE_PNG) {
		switch (s->state) {
		case P_DONE:
			break;
		case P_SIG:
			return scan_fail(s, "the file is too short to be a PNG");
		case P_HDR:
			if (s->nhold == 0 && (s->flags & F_IHDR))
				return scan_fail(s, "it ends after %s without an IEND chunk", sz);
			return scan_fail(s, "it ends after %s, inside a chunk header", sz);
		default:
			return scan_fail(s, "it ends after %s, inside chunk %s", sz, s->type);
		}
	} else {
		switch (s->state) {
		case J_DONE:
			break;
		case J_SOI:
			return scan_fail(s, "the file is too short to be a JPEG");
		case J_ENT:
		case J_ENT_FF:
			return scan_fail(s, "it ends after %s without an end-of-image marker", sz);
		default:
			return scan_fail(s, "it ends after %s, inside its headers", sz);
		}
	}
	if (w != NULL)
		*w = s->width;
	if (h != NULL)
		*h = s->height;
	return 0;
}

int
image_scan_dims(const struct image_scan *s, uint32_t *w, uint32_t *h)
{
	if (!s->have_dims)
		return 0;
	if (w != NULL)
		*w = s->width;
	if (h != NULL)
		*h = s->height;
	return 1;
}

const char *
image_scan_reason(const struct image_scan *s)
{
	return s->failed ? s->reason : "";
}

/* Runs a whole-buffer check of the given kind. Returns 0 or -1. */
static int
image_buf_check(enum image_kind kind, const unsigned char *buf, size_t len,
    uint32_t *w, uint32_t *h)
{
	struct image_scan s;

	image_scan_init(&s, kind);
	if (image_scan_feed(&s, buf, len) == -1)
		return -1;
	return image_scan_finish(&s, w, h);
}

int
image_png_check(const unsigned char *buf, size_t len, uint32_t *w, uint32_t *h)
{
	return image_buf_check(IMAGE_PNG, buf, len, w, h);
}

int
image_jpeg_check(const unsigned char *buf, size_t len, uint32_t *w, uint32_t *h)
{
	return image_buf_check(IMAGE_JPEG, buf, len, w, h);
}

int
image_check_init(void)
{
	size_t bytes_max = IMG_MAGIC_BYTES;
	magic_t m;

	if (img_magic != NULL)
		return 0;
	if ((m = magic_open(MAGIC_MIME_TYPE | IMG_MAGIC_FLAGS)) == NULL) {
		fprintf(stderr, "image_check: magic_open: %s\n", strerror(errno));
		return -1;
	}
	if (magic_load(m, NULL) == -1) {
		fprintf(stderr, "image_check: cannot load the libmagic database: %s\n",
		    magic_error(m) ? magic_error(m) : "unknown error");
		magic_close(m);
		return -1;
	}
	if (magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes_max) == -1)
		fprintf(stderr, "image_check: cannot bound libmagic's reads: %s\n",
		    magic_error(m) ? magic_error(m) : "unknown error");
	img_magic = m;
	return 0;
}

void
image_check_fini(void)
{
	if (img_magic != NULL)
		magic_close(img_magic);
	img_magic = NULL;
}

/* Runs libmagic on fd from its start with the given flags, leaving the
 * caller's offset as it was. Copies the answer into out, made printable and
 * cut at the first comma. Returns 0 or -1. */
static int
img_magic_fd(int fd, int flags, char *out, size_t outlen)
{
	const char *r;
	off_t saved;
	size_t i, o = 0;
	int ok = 0;

	if ((saved = lseek(fd, 0, SEEK_CUR)) == -1 || lseek(fd, 0, SEEK_SET) == -1)
		return -1;
	if (magic_setflags(img_magic, flags) == 0 &&
	    (r = magic_descriptor(img_magic, fd)) != NULL) {
		for (i = 0; r[i] != '\0' && r[i] != ',' && o + 1 < outlen; i++)
			out[o++] = (r[i] >= 0x20 && r[i] < 0x7F) ? r[i] : '?';
		out[o] = '\0';
		ok = 1;
	}
	magic_setflags(img_magic, MAGIC_MIME_TYPE | IMG_MAGIC_FLAGS);
	if (lseek(fd, saved, SEEK_SET) == -1 || !ok)
		return -1;
	return 0;
}

/* The type by libmagic: PNG or JPEG into *kind and info->mime. Returns
 * IMG_OK, or the status with msg set. */
static enum image_status
img_type(int fd, struct image_info *info, enum image_kind *kind, char *msg, size_t msglen)
{
	struct stat st;
	char desc[96];

	if (image_check_init() == -1) {
		img_msg(msg, msglen, "the server cannot tell image types (libmagic failed to load)");
		return IMG_IO_ERROR;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size < 0) {
		img_msg(msg, msglen, "the uploaded image could not be read");
		return IMG_IO_ERROR;
	}
	info->bytes = (uint64_t)st.st_size;
	if (st.st_size == 0) {
		img_msg(msg, msglen, "the image file is empty; send a PNG or JPEG");
		return IMG_UNSUPPORTED;
	}
	if (img_magic_fd(fd, MAGIC_MIME_TYPE | IMG_MAGIC_FLAGS, info->mime, sizeof(info->mime)) == -1) {
		img_msg(msg, msglen, "the type of the uploaded image could not be read");
		return IMG_IO_ERROR;
	}
	if (strcmp(info->mime, "image/png") == 0 || strcmp(info->mime, "image/jpeg") == 0) {
		*kind = strcmp(info->mime, "image/png") == 0 ? IMAGE_PNG : IMAGE_JPEG;
		return IMG_OK;
	}
	if (img_magic_fd(fd, IMG_MAGIC_FLAGS, desc, sizeof(desc)) == -1)
		snprintf(desc, sizeof(desc), "of another type");
	img_msg(msg, msglen, "the file is %s (%s), not a PNG or JPEG", desc, info->mime);
	return IMG_UNSUPPORTED;
}

/* Whether the dimensions the scan found are over max_pixels (msg set). */
static int
too_many_pixels(uint32_t w, uint32_t h, uint64_t max_pixels, char *msg, size_t msglen)
{
	uint64_t pixels = (uint64_t)w * h;
	char lim[32];

	if (pixels <= max_pixels)
		return 0;
	if (max_pixels % 1000000 == 0)
		snprintf(lim, sizeof(lim), "%llu", (unsigned long long)(max_pixels / 1000000));
	else
		snprintf(lim, sizeof(lim), "%.1f", (double)max_pixels / 1e6);
	img_msg(msg, msglen, "the image is %" PRIu32 " \xC3\x97 %" PRIu32 " pixels (%.1f megapixels); "
	    "the limit is %s megapixels", w, h, (double)pixels / 1e6, lim);
	return 1;
}

/* Walks the file's structure (PNG chunks, JPEG segments) from its start,
 * stopping as soon as the dimensions are over max_pixels. */
static enum image_status
img_walk(int fd, enum image_kind kind, uint64_t max_pixels, struct image_info *info,
    unsigned char *buf, char *msg, size_t msglen)
{
	struct image_scan sc;
	uint64_t off = 0, size = info->bytes;
	uint32_t w, h;
	ssize_t n;
	int r = 0;

	image_scan_init(&sc, kind);
	while (off < size) {
		n = pread(fd, buf, size - off < IMG_CHUNK ? (size_t)(size - off) : IMG_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			img_msg(msg, msglen, "the uploaded image could not be read: %s", strerror(errno));
			return IMG_IO_ERROR;
		}
		if (n == 0)
			break;	/* shorter than fstat said: the walk will say truncated */
		off += (uint64_t)n;
		r = image_scan_feed(&sc, buf, (size_t)n);
		if (image_scan_dims(&sc, &w, &h)) {
			info->width = w;
			info->height = h;
			if (too_many_pixels(w, h, max_pixels, msg, msglen))
				return IMG_TOO_MANY_PIXELS;
		}
		if (r != 0)
			break;
	}
	if (r == -1 || image_scan_finish(&sc, NULL, NULL) == -1) {
		img_msg(msg, msglen, "the %s is damaged or truncated (%s)",
		    kind == IMAGE_PNG ? "PNG" : "JPEG", image_scan_reason(&sc));
		return IMG_DAMAGED;
	}
	return IMG_OK;
}

enum image_status
image_check_fd(int fd, uint64_t max_pixels, struct image_info *info, char *msg, size_t msglen)
{
	struct image_info dummy;
	enum image_status rc;
	enum image_kind kind = IMAGE_PNG;
	unsigned char *buf;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	img_msg(msg, msglen, "%s", "");
	if ((rc = img_type(fd, info, &kind, msg, msglen)) != IMG_OK)
		return rc;
	if ((buf = malloc(IMG_CHUNK)) == NULL) {
		img_msg(msg, msglen, "the server ran out of memory checking the image");
		return IMG_IO_ERROR;
	}
	rc = img_walk(fd, kind, max_pixels, info, buf, msg, msglen);
	free(buf);
	return rc;
}
