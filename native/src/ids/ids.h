/*
 * Identifiers that agree with a real SkyWalking OAP for the same names (docs/protocol.md §2):
 *
 *   service id   base64("sqrt") + ".1"                         "c3FydA==.1"
 *   instance id  service id + "_" + base64(instance name)       "c3FydA==.1_aG9zdA=="
 *   process id   hex(sha256(process name + "_" + instance id))  64 lowercase hex digits
 *
 * Base64 is the standard alphabet with '=' padding; names are taken as their UTF-8 bytes.
 * SHA-256 is written here (FIPS 180-4) so the core needs no crypto library.
 */
#ifndef SWP_IDS_H
#define SWP_IDS_H

#include "common/common.h"

#define SWP_SHA256_LEN 32
#define SWP_PROCESS_ID_SIZE (2 * SWP_SHA256_LEN + 1) /* hex digits + NUL */

struct swp_sha256 {
	uint32_t h[8];     /* chaining state */
	uint8_t block[64]; /* pending input, `fill` bytes of it */
	size_t fill;
	uint64_t total;    /* bytes hashed so far */
};

void swp__sha256_init(struct swp_sha256 *s);
void swp__sha256_update(struct swp_sha256 *s, const void *data, size_t n);
void swp__sha256_final(struct swp_sha256 *s, uint8_t out[SWP_SHA256_LEN]);
void swp__sha256(const void *data, size_t n, uint8_t out[SWP_SHA256_LEN]);
/* 0 when the implementation reproduces the FIPS "abc" vector, else -EFAULT with a reason. */
int swp__sha256_selftest(void);

/* Appends base64 of data[0..n) to out. */
void swp__base64(const void *data, size_t n, struct swp_buf *out);
/* Appends the bytes of the base64 text s[0..n) (standard alphabet, '=' padding required) to out,
 * NUL-terminated; -EINVAL for anything else. */
int swp__base64_decode(const char *s, size_t n, struct swp_buf *out);

/* The functions below replace the contents of out and return out->data. */
const char *swp__service_id(const char *service_name, struct swp_buf *out);
const char *swp__instance_id(const char *service_id, const char *instance_name, struct swp_buf *out);

/* Writes the 64 hex digits and a NUL to out; returns out. */
char *swp__process_id(const char *process_name, const char *instance_id, char out[SWP_PROCESS_ID_SIZE]);

/*
 * Task and schedule ids on the wire: the store numbers them 1, 2, 3...; clients see 16 lowercase
 * hex digits, opaque as OAP's, whose first digit is a letter (a-f), so no reader takes one for a
 * number (YAML reads 1, 0x1f and 1e5 as numbers). The text is a bijection of the low 60 bits of
 * the number: parse(format(n)) == n, and any other text is refused.
 */
#define SWP_EXT_ID_SIZE 17 /* 16 digits + NUL */
char *swp__ext_id(uint64_t n, char out[SWP_EXT_ID_SIZE]);
/* true and *n when s is an id swp__ext_id wrote */
bool swp__ext_id_parse(const char *s, uint64_t *n);

#endif
