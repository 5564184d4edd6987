/* sha256.h - FIPS 180-4 SHA-256 (so no crypto library is needed for
 * content hashes of candidates). */
#ifndef FP_SHA256_H
#define FP_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct fp_sha256 {
	uint32_t h[8];
	uint64_t total;
	unsigned char block[64];
	size_t used;
};
void fp_sha256_init(struct fp_sha256 *s);
void fp_sha256_update(struct fp_sha256 *s, const void *data, size_t len);
void fp_sha256_final(struct fp_sha256 *s, unsigned char out[32]);
void fp_sha256_hex(const unsigned char digest[32], char hex[65]);
/* One shot: the hex digest of |len| bytes at |data|. */
void fp_sha256_hex_of(const void *data, size_t len, char hex[65]);

#endif
