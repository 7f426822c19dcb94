#include "ids/ids.h"

/* ---- SHA-256 (FIPS 180-4) ---- */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void swp__sha256_init(struct swp_sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof(iv));
	s->fill = 0;
	s->total = 0;
}

void swp__sha256_update(struct swp_sha256 *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	s->total += n;
	while (n) {
		size_t take = 64 - s->fill < n ? 64 - s->fill : n;
		memcpy(s->block + s->fill, p, take);
		s->fill += take;
		p += take;
		n -= take;
		if (s->fill == 64) {
			sha256_block(s->h, s->block);
			s->fill = 0;
		}
	}
}

void swp__sha256_final(struct swp_sha256 *s, uint8_t out[SWP_SHA256_LEN])
{
	/* 0x80, zeros up to 56 mod 64, then the bit length big-endian */
	uint64_t bits = s->total * 8;
	uint8_t pad[72] = {0x80};
	size_t npad = (s->fill < 56 ? 56 : 120) - s->fill;
	swp__set_be64(pad + npad, bits);
	swp__sha256_update(s, pad, npad + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void swp__sha256(const void *data, size_t n, uint8_t out[SWP_SHA256_LEN])
{
	struct swp_sha256 s;
	swp__sha256_init(&s);
	swp__sha256_update(&s, data, n);
	swp__sha256_final(&s, out);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

int swp__sha256_selftest(void)
{
	static const char want[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	uint8_t d[SWP_SHA256_LEN];
	char got[SWP_PROCESS_ID_SIZE];
	swp__sha256("abc", 3, d);
	hex(d, sizeof(d), got);
	if (strcmp(got, want) != 0)
		return swp__fail(EFAULT, "sha256 self-test failed: sha256(\"abc\") = %s", got);
	return 0;
}

/* ---- base64 (RFC 4648, standard alphabet, '=' padding) ---- */

void swp__base64(const void *data, size_t n, struct swp_buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = data;
	swp__buf_reserve(out, (n + 2) / 3 * 4);
	for (size_t i = 0; i < n; i += 3) {
		size_t left = n - i;
		uint32_t v = (uint32_t)p[i] << 16 | (left > 1 ? (uint32_t)p[i + 1] << 8 : 0) | (left > 2 ? p[i + 2] : 0);
		char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], left > 1 ? tab[(v >> 6) & 63] : '=',
			     left > 2 ? tab[v & 63] : '='};
		swp__buf_put(out, q, 4);
	}
}

int swp__base64_decode(const char *s, size_t n, struct swp_buf *out)
{
	if (n % 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			char ch = s[i + k];
			int d = ch >= 'A' && ch <= 'Z' ? ch - 'A'
				: ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
				: ch >= '0' && ch <= '9' ? ch - '0' + 52
				: ch == '+' ? 62 : ch == '/' ? 63 : -1;
			if (ch == '=' && i + 4 == n && k >= 2 && (k == 3 || s[i + 3] == '='))
				pad++, d = 0;
			else if (d < 0 || pad)
				return -EINVAL;
			v = v << 6 | (uint32_t)d;
		}
		uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
		swp__buf_put(out, b, (size_t)(3 - pad));
	}
	swp__buf_reserve(out, 1);
	out->data[out->len] = 0;
	return 0;
}

/* ---- ids ---- */

const char *swp__service_id(const char *service_name, struct swp_buf *out)
{
	swp__buf_reset(out);
	swp__base64(service_name, strlen(service_name), out);
	swp__buf_puts(out, ".1");
	return out->data;
}

const char *swp__instance_id(const char *service_id, const char *instance_name, struct swp_buf *out)
{
	swp__buf_reset(out);
	swp__buf_puts(out, service_id);
	swp__buf_putc(out, '_');
	swp__base64(instance_name, strlen(instance_name), out);
	return out->data;
}

char *swp__process_id(const char *process_name, const char *instance_id, char out[SWP_PROCESS_ID_SIZE])
{
	struct swp_sha256 s;
	uint8_t d[SWP_SHA256_LEN];
	swp__sha256_init(&s);
	swp__sha256_update(&s, process_name, strlen(process_name));
	swp__sha256_update(&s, "_", 1);
	swp__sha256_update(&s, instance_id, strlen(instance_id));
	swp__sha256_final(&s, d);
	hex(d, sizeof(d), out);
	return out;
}

/* ---- task and schedule ids ---- */

#define EXT_BITS 60
#define EXT_MASK ((1ULL << EXT_BITS) - 1)
#define EXT_M1 0x9e3779b97f4a7c15ULL /* odd: invertible modulo 2^60 */
#define EXT_M2 0xbf58476d1ce4e5b9ULL

/* x * m (mod 2^60) is undone by x * m^-1; m^-1 by Newton's iteration (each step doubles the bits) */
static uint64_t inverse_of(uint64_t m)
{
	uint64_t x = m;
	for (int i = 0; i < 6; i++)
		x *= 2 - m * x;
	return x;
}

/* x ^= x >> k (on 60 bits) is undone by folding the shifted copies back in */
static uint64_t unshift(uint64_t y, int k)
{
	uint64_t x = y;
	for (int s = k; s < EXT_BITS; s += k)
		x ^= y >> s;
	return x & EXT_MASK;
}

static uint64_t ext_mix(uint64_t x)
{
	x = (x * EXT_M1) & EXT_MASK;
	x ^= x >> 29;
	x = (x * EXT_M2) & EXT_MASK;
	x ^= x >> 31;
	return x;
}

static uint64_t ext_unmix(uint64_t x)
{
	x = unshift(x, 31);
	x = (x * inverse_of(EXT_M2)) & EXT_MASK;
	x = unshift(x, 29);
	return (x * inverse_of(EXT_M1)) & EXT_MASK;
}

char *swp__ext_id(uint64_t n, char out[SWP_EXT_ID_SIZE])
{
	uint64_t m = ext_mix(n & EXT_MASK);
	/* the leading digit, a to f, is derived from the rest: it adds no information, only a letter */
	uint64_t v = (uint64_t)(0xa + m % 6) << EXT_BITS | m;
	snprintf(out, SWP_EXT_ID_SIZE, "%016llx", (unsigned long long)v);
	return out;
}

bool swp__ext_id_parse(const char *s, uint64_t *n)
{
	if (!s || strlen(s) != SWP_EXT_ID_SIZE - 1)
		return false;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	uint64_t m = v & EXT_MASK;
	if (v >> EXT_BITS != 0xa + m % 6)
		return false;
	*n = ext_unmix(m);
	return true;
}
