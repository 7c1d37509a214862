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

/* RFC 4231's test cases 1, 2 and 6 (a key longer than a block). */
TEST(hmac_vectors)
{
	char out[SHA256_HEX_MAX], key[131];

	memset(key, 0x0b, 20);
	hmac_sha256_hex(key, 20, "Hi There", 8, out);
	CHECK_STR(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out);
	CHECK_STR(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, sizeof(key));
	hmac_sha256_hex(key, sizeof(key), "Test Using Larger Than Block-Size Key - Hash Key First",
	    54, out);
	CHECK_STR(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int
main(void)
{
	RUN(sha256_vectors);
	RUN(hmac_vectors);
	return unit_done("sha256");
}
