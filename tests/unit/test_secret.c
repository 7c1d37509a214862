/*
 * test_secret: the host's key (made once, read again), the session ids it
 * issues and takes back, and the assistant's tokens.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "base/secret.h"
#include "base/sha256.h"
#include "unit.h"

static char dir[] = "/tmp/unit-secret-XXXXXX";

TEST(the_key_is_made_once)
{
	char path[600], err[300], id[SESSION_ID_MAX + 1];
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/secret.key", dir);
	CHECK(session_id_new(id) < 0);			/* no key yet */
	CHECK_INT(secret_load(path, err, sizeof(err)), 0);
	CHECK(stat(path, &st) == 0 && st.st_size == 32 && (st.st_mode & 0777) == 0600);
	CHECK_INT(session_id_new(id), 0);
	CHECK_INT(secret_load(path, err, sizeof(err)), 0);	/* read again: the same key */
	CHECK_INT(session_id_ours(id, strlen(id)), 1);
}

TEST(sessions_are_ours_or_not)
{
	char a[SESSION_ID_MAX + 1], b[SESSION_ID_MAX + 1], forged[SESSION_ID_MAX + 1];

	CHECK_INT(session_id_new(a), 0);
	CHECK_INT(session_id_new(b), 0);
	CHECK_INT((int)strlen(a), 64);
	CHECK(session_id_valid(a, strlen(a)));
	CHECK(strcmp(a, b) != 0);
	CHECK_INT(session_id_ours(a, 64), 1);
	memcpy(forged, a, sizeof(forged));
	forged[5] = forged[5] == 'a' ? 'b' : 'a';		/* its random half changed */
	CHECK_INT(session_id_ours(forged, 64), 0);
	memcpy(forged, a, sizeof(forged));
	forged[63] = forged[63] == '0' ? '1' : '0';		/* its tag changed */
	CHECK_INT(session_id_ours(forged, 64), 0);
	CHECK_INT(session_id_ours(a, 63), 0);
	CHECK_INT(session_id_ours("s-demo", 6), 0);
	CHECK_INT(session_id_ours("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
	    64), 0);
}

TEST(tokens_bind_everything)
{
	char sid[SESSION_ID_MAX + 1], other[SESSION_ID_MAX + 1], sha[SHA256_HEX_MAX],
	    sha2[SHA256_HEX_MAX], t[AI_TOKEN_LEN + 1];

	CHECK_INT(session_id_new(sid), 0);
	CHECK_INT(session_id_new(other), 0);
	sha256_hex("print(1)\n", 9, sha);
	sha256_hex("print(2)\n", 9, sha2);
	CHECK_INT(ai_token_make(sid, "coder-7b", 1, sha, t), 0);
	CHECK_INT((int)strlen(t), AI_TOKEN_LEN);
	CHECK_INT(ai_token_ok(t, sid, "coder-7b", 1, sha), 1);
	CHECK_INT(ai_token_ok(t, other, "coder-7b", 1, sha), 0);	/* another session */
	CHECK_INT(ai_token_ok(t, sid, "coder-70b", 1, sha), 0);	/* another model */
	CHECK_INT(ai_token_ok(t, sid, "coder-7b", 0, sha), 0);	/* no lessons */
	CHECK_INT(ai_token_ok(t, sid, "coder-7b", 1, sha2), 0);	/* other code */
	CHECK_INT(ai_token_ok("", sid, "coder-7b", 1, sha), 0);
	CHECK_INT(ai_token_ok(NULL, sid, "coder-7b", 1, sha), 0);
	/* Parts are length-prefixed: moving bytes between them is another token. */
	CHECK_INT(ai_token_make(sid, "coder-7b1", 0, sha, t), 0);
	CHECK_INT(ai_token_ok(t, sid, "coder-7b", 1, sha), 0);
}

TEST(another_key_knows_nothing)
{
	char path[600], err[300], sid[SESSION_ID_MAX + 1];
	int fd;

	CHECK_INT(session_id_new(sid), 0);
	snprintf(path, sizeof(path), "%s/other.key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(write(fd, "0123456789abcdef0123", 20) == 20);
	close(fd);
	CHECK_INT(secret_load(path, err, sizeof(err)), 0);
	CHECK_INT(session_id_ours(sid, 64), 0);
	/* A key file too short is refused, saying how to make one. */
	snprintf(path, sizeof(path), "%s/short.key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(write(fd, "short", 5) == 5);
	close(fd);
	CHECK_INT(secret_load(path, err, sizeof(err)), -1);
	CHECK(strstr(err, "16 or more") != NULL && strstr(err, "/dev/urandom") != NULL);
	CHECK(session_id_new(sid) < 0);
	CHECK_INT(remove_tree(dir), 0);
}

int
main(void)
{
	RUN(the_key_is_made_once);
	RUN(sessions_are_ours_or_not);
	RUN(tokens_bind_everything);
	RUN(another_key_knows_nothing);
	return unit_done("secret");
}
