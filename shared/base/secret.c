#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/files.h"
#include "base/secret.h"
#include "base/sha256.h"

#define KEY_MIN 16
#define KEY_MAX 256
#define KEY_MADE 32

static unsigned char key[KEY_MAX];
static size_t key_len;		/* 0: none loaded */

/* Fills buf with n bytes of the kernel's CSPRNG. Returns 0 or -1. */
static int
random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		if ((k = getrandom(buf + got, n - got, 0)) < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* Makes path with KEY_MADE random bytes, mode 0600, unless it exists: the
 * bytes go to a file of this process's first, linked into place (EEXIST:
 * another process made it first, which is as good). Returns 0 or -1. */
static int
make_key_file(const char *path)
{
	unsigned char fresh[KEY_MADE];
	char tmp[600];
	int fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >= (int)sizeof(tmp) ||
	    random_bytes(fresh, sizeof(fresh)) < 0)
		return -1;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -1;
	if (file_write_all(fd, fresh, sizeof(fresh)) == 0 && fsync(fd) == 0 &&
	    (link(tmp, path) == 0 || errno == EEXIST))
		rc = 0;
	close(fd);
	unlink(tmp);
	memset(fresh, 0, sizeof(fresh));
	return rc;
}

int
secret_load(const char *path, char *err, size_t errlen)
{
	ssize_t n;
	int fd;

	key_len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT &&
	    make_key_file(path) == 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "the key file %s cannot be read or made: %s", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, key, sizeof(key));
	close(fd);
	if (n < KEY_MIN) {
		snprintf(err, errlen, "the key file %s holds %zd bytes; it needs %d or more "
		    "(make one: head -c 32 /dev/urandom > %s)", path, n < 0 ? (ssize_t)0 : n,
		    KEY_MIN, path);
		return -1;
	}
	key_len = (size_t)n;
	return 0;
}

/* The tag of the parts under domain: HMAC over "domain" and each part with
 * its length before it, so that no two lists of parts sign alike. Writes
 * hexlen hex characters and a NUL. Returns 0, or -1 without a key. */
static int
tag(const char *domain, const char *const *parts, size_t n, char *out, size_t hexlen)
{
	char msg[5000], mac[SHA256_HEX_MAX];
	size_t used, i, k;
	int w;

	if (key_len == 0 || hexlen > 64)
		return -1;
	used = (size_t)snprintf(msg, sizeof(msg), "imgsandbox %s", domain);
	for (i = 0; i < n && used < sizeof(msg); i++) {
		k = strlen(parts[i]);
		w = snprintf(msg + used, sizeof(msg) - used, "\n%zu:", k);
		if (w < 0 || used + (size_t)w + k >= sizeof(msg))
			return -1;	/* the parts are short: never met */
		used += (size_t)w;
		memcpy(msg + used, parts[i], k);
		used += k;
	}
	hmac_sha256_hex(key, key_len, msg, used, mac);
	memcpy(out, mac, hexlen);
	out[hexlen] = '\0';
	return 0;
}

/* Whether a and b (n bytes each) are equal, in time that does not depend
 * on where they differ. */
static int
same(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int
session_id_new(char out[SESSION_ID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16];
	const char *part[1];
	int i;

	if (key_len == 0 || random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[32] = '\0';
	part[0] = out;
	return tag("session", part, 1, out + 32, 32);
}

int
session_id_ours(const char *id, size_t len)
{
	char head[33], want[33];
	const char *part[1] = { head };

	if (len != 64 || strspn(id, "0123456789abcdef") < 64)
		return 0;
	memcpy(head, id, 32);
	head[32] = '\0';
	return tag("session", part, 1, want, 32) == 0 && same(want, id + 32, 32);
}

int
ai_token_make(const char *session, const char *model, int lessons,
    const char *code_sha256, char out[AI_TOKEN_LEN + 1])
{
	const char *parts[4] = { session, model, lessons ? "1" : "0", code_sha256 };

	return tag("ai-token", parts, 4, out, AI_TOKEN_LEN);
}

int
ai_token_ok(const char *token, const char *session, const char *model, int lessons,
    const char *code_sha256)
{
	char want[AI_TOKEN_LEN + 1];

	if (token == NULL || session == NULL || model == NULL || code_sha256 == NULL ||
	    strlen(token) != AI_TOKEN_LEN ||
	    ai_token_make(session, model, lessons, code_sha256, want) < 0)
		return 0;
	return same(want, token, AI_TOKEN_LEN);
}
