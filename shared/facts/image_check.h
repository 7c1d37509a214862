/*
 * image_check: content checks of an uploaded image. The type comes from
 * libmagic (never the name or the declared type); only PNG and JPEG pass.
 * Their structure is walked in bounded chunks (PNG: every chunk's length and
 * CRC up to IEND; JPEG: every marker segment up to the scans, then the
 * entropy data up to EOI), and the pixel count is checked against a limit.
 * Pixel data is never decoded.
 *
 * The libmagic handle is the module's only global: not thread-safe, one per
 * process (call image_check_init at start-up, image_check_fini at exit).
 */
#ifndef IMAGE_CHECK_H
#define IMAGE_CHECK_H

#include <stdint.h>
#include <stddef.h>

enum image_status { IMG_OK = 0, IMG_UNSUPPORTED, IMG_DAMAGED, IMG_TOO_MANY_PIXELS, IMG_IO_ERROR };

struct image_info { char mime[32]; uint32_t width, height; uint64_t bytes; };

/* Opens the libmagic database once per process (MAGIC_MIME_TYPE). Returns 0,
 * or -1 with a reason logged to stderr. Safe to call again (no-op). */
int image_check_init(void);
/* Closes the database (image_check_fd opens it again if called later). */
void image_check_fini(void);

/*
 * Decides the type of the open regular file fd by content, accepts only
 * image/png and image/jpeg, reads width and height from the header, refuses
 * width*height > max_pixels (said as soon as the header is read), and refuses
 * a truncated or damaged file. The caller's file offset does not matter and
 * is left as it was. Fills info (mime: the detected type even when refused;
 * width and height once known; bytes: the file size). msg (may be NULL) gets
 * a sentence a person can act on, "" when IMG_OK. Reads 64 KiB at a time.
 * Returns the status.
 */
enum image_status image_check_fd(int fd, uint64_t max_pixels, struct image_info *info,
    char *msg, size_t msglen);

/* Pure header parsers over a buffer (fuzzable, no libmagic): 0 and the
 * dimensions (w, h may be NULL), or -1 when damaged/truncated. */
int image_png_check(const unsigned char *buf, size_t len, uint32_t *w, uint32_t *h);
int image_jpeg_check(const unsigned char *buf, size_t len, uint32_t *w, uint32_t *h);

/*
 * The same checks fed piece by piece (image_check_fd and the two functions
 * above are built on them; the fuzzer feeds random cuts and compares). The
 * struct lives where the caller wants it; its members are private.
 */
enum image_kind { IMAGE_PNG, IMAGE_JPEG };

struct image_scan {
	int		 kind;
	int		 state;
	int		 failed;
	int		 have_dims;
	uint32_t	 width, height;
	uint64_t	 offset;	/* bytes fed so far */
	unsigned char	 hold[16];	/* a header being gathered */
	size_t		 nhold;
	uint32_t	 need;		/* bytes left in the current chunk or segment */
	uint32_t	 seglen;
	uint32_t	 crc;
	unsigned	 flags;
	unsigned	 marker;
	char		 type[5];	/* PNG: the current chunk's type */
	unsigned char	 ihdr[13];
	char		 reason[96];
};

/* Starts a check of the given kind. */
void image_scan_init(struct image_scan *s, enum image_kind kind);
/* Feeds the next len bytes. Returns 0 (go on), 1 (the image is complete:
 * IEND or EOI seen; later bytes are ignored) or -1 (damaged; the reason is
 * in image_scan_reason). */
int image_scan_feed(struct image_scan *s, const unsigned char *buf, size_t len);
/* Ends the check at the end of the file. Returns 0 and the dimensions (w, h
 * may be NULL), or -1 (damaged or truncated). */
int image_scan_finish(struct image_scan *s, uint32_t *w, uint32_t *h);
/* Returns 1 and the dimensions once the header gave them (even if the file
 * later turns out damaged), else 0. */
int image_scan_dims(const struct image_scan *s, uint32_t *w, uint32_t *h);
/* Returns why the image was refused ("bad CRC in chunk IDAT"), "" if not.
 * The string lives in s. */
const char *image_scan_reason(const struct image_scan *s);

#endif
