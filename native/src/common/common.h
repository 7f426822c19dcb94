/* Internal helpers shared by every area: errors, logging, byte buffers, JSON writing, hashing. */
#ifndef SWP_COMMON_H
#define SWP_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "swprof/swprof.h"

#define SWP_HIDDEN __attribute__((visibility("hidden")))
#define SWP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors: set the thread's reason and return -err ---- */
int swp__fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void swp__clear_error(void);

/* ---- logging through the host's callback ---- */
void swp__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define swp_debug(...) swp__log(SWP_LOG_DEBUG, __VA_ARGS__)
#define swp_info(...) swp__log(SWP_LOG_INFO, __VA_ARGS__)
#define swp_warn(...) swp__log(SWP_LOG_WARN, __VA_ARGS__)
#define swp_error(...) swp__log(SWP_LOG_ERROR, __VA_ARGS__)

/* ---- allocation that aborts on exhaustion (the host sees no half-built results) ---- */
void *swp__xmalloc(size_t n);
void *swp__xcalloc(size_t n, size_t sz);
void *swp__xrealloc(void *p, size_t n);
char *swp__xstrdup(const char *s);

/* ---- growable buffer (the public struct swp_buf) ---- */
void swp__buf_reserve(struct swp_buf *b, size_t extra);
void swp__buf_put(struct swp_buf *b, const void *p, size_t n);
void swp__buf_puts(struct swp_buf *b, const char *s);
void swp__buf_putc(struct swp_buf *b, char c);
void swp__buf_printf(struct swp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void swp__buf_reset(struct swp_buf *b);
/* binary little-endian / varint encoding for store values */
void swp__buf_put_u8(struct swp_buf *b, uint8_t v);
void swp__buf_put_u32(struct swp_buf *b, uint32_t v);
void swp__buf_put_u64(struct swp_buf *b, uint64_t v);
void swp__buf_put_uvar(struct swp_buf *b, uint64_t v);
void swp__buf_put_str(struct swp_buf *b, const char *s); /* uvar length + bytes */
void swp__buf_put_be64(struct swp_buf *b, uint64_t v);

/* Reader over an encoded value; any overrun sets `bad` and yields zeros/empty strings. */
struct swp_reader {
	const uint8_t *p, *end;
	bool bad;
};
uint8_t swp__rd_u8(struct swp_reader *r);
uint32_t swp__rd_u32(struct swp_reader *r);
uint64_t swp__rd_u64(struct swp_reader *r);
uint64_t swp__rd_uvar(struct swp_reader *r);
/* returns a malloc'd NUL-terminated copy */
char *swp__rd_str(struct swp_reader *r);
/* returns a pointer into the input and its length, no copy */
const char *swp__rd_strv(struct swp_reader *r, size_t *len);
uint64_t swp__get_be64(const void *p);
void swp__set_be64(void *p, uint64_t v);

/* ---- JSON writing ---- */
void swp__json_str(struct swp_buf *b, const char *s);            /* quoted, escaped; NULL -> null */
void swp__json_strn(struct swp_buf *b, const char *s, size_t n);
void swp__json_key(struct swp_buf *b, bool *first, const char *k); /* ,"k": */
void swp__json_kv_str(struct swp_buf *b, bool *first, const char *k, const char *v);
void swp__json_kv_i64(struct swp_buf *b, bool *first, const char *k, int64_t v);
void swp__json_kv_bool(struct swp_buf *b, bool *first, const char *k, bool v);

/* ---- hashing ---- */
uint64_t swp__hash64(const void *p, size_t n, uint64_t seed);
static inline uint64_t swp__mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* NULL or "": an argument a client left out */
static inline bool swp__empty(const char *s)
{
	return !s || !*s;
}

/* ---- time ---- */
int64_t swp__now_ms(void);
int64_t swp__mono_ms(void);

#endif
