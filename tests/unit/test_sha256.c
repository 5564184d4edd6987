/* test_sha256.c - FIPS 180-4 SHA-256 against the NIST example vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sha256.h"

/* The one-shot helper: the NIST vectors below test it and the
 * incremental functions it is made of. */
static void hash_hex(const void *data, size_t len, char hex[65])
{
	fp_sha256_hex_of(data, len, hex);
}

static const struct {
	const char *msg;
	const char *hex;
} vectors[] = {
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
	 "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static void test_nist_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		char hex[65];
		hash_hex(vectors[i].msg, strlen(vectors[i].msg), hex);
		assert_string_equal(hex, vectors[i].hex);
	}
}

/* One million 'a', fed in uneven pieces so every buffering path runs. */
static void test_million_a(void **state)
{
	(void)state;
	size_t total = 1000000;
	char *a = malloc(total);
	assert_non_null(a);
	memset(a, 'a', total);
	struct fp_sha256 s;
	unsigned char d[32];
	char hex[65];
	fp_sha256_init(&s);
	for (size_t off = 0, step = 1; off < total; step = step % 131 + 7) {
		size_t n = total - off < step ? total - off : step;
		fp_sha256_update(&s, a + off, n);
		off += n;
	}
	fp_sha256_final(&s, d);
	fp_sha256_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	hash_hex(a, total, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* Lengths around the 55/56/64-byte padding edges: chunked == one shot. */
static void test_padding_edges(void **state)
{
	(void)state;
	unsigned char buf[200];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 50; len < 140; len++) {
		char one[65], two[65];
		hash_hex(buf, len, one);
		struct fp_sha256 s;
		unsigned char d[32];
		fp_sha256_init(&s);
		for (size_t i = 0; i < len; i++)
			fp_sha256_update(&s, buf + i, 1);
		fp_sha256_final(&s, d);
		fp_sha256_hex(d, two);
		assert_string_equal(one, two);
	}
	/* 56 bytes of "a" from a known value (python hashlib). */
	char hex[65];
	hash_hex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56, hex);
	assert_string_equal(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
