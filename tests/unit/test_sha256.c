/*
 * test_sha256: shared/sha256 against the FIPS 180-4 example vectors.
 */
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "unit.h"

TEST(sha256_vectors)
{
	char hex[65], *big;

	sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	if ((big = malloc(1000000)) != NULL) {
		memset(big, 'a', 1000000);
		sha256_hex(big, 1000000, hex);
		CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
		free(big);
	}
}

int
main(void)
{
	RUN(sha256_vectors);
	return unit_done("sha256");
}
