#include "common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- errors ---- */

static __thread char last_error[512];

SWP_API const char *swp_last_error(void)
{
	return last_error;
}

void swp__clear_error(void)
{
	last_error[0] = 0;
}

int swp__fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : err;
}

SWP_API const char *swp_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err == EPROTO)
		return "incompatible store format";
	return strerror(err);
}

/* ---- logging ---- */

static swp_log_fn log_fn;
static void *log_ctx;
static int log_min = SWP_LOG_INFO;

SWP_API void swp_set_log(swp_log_fn fn, void *ctx, int min_level)
{
	log_fn = fn;
	log_ctx = ctx;
	log_min = min_level;
}

void swp__log(int level, const char *fmt, ...)
{
	if (!log_fn || level < log_min)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_ctx);
}

/* ---- allocation ---- */

static void oom(size_t n)
{
	fprintf(stderr, "swprof: out of memory allocating %zu bytes\n", n);
	abort();
}

void *swp__xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *swp__xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		oom(n * sz);
	return p;
}

void *swp__xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *swp__xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = swp__xmalloc(n);
	memcpy(d, s, n);
	return d;
}

/* ---- buffers ---- */

SWP_API void swp_buf_free(struct swp_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void swp__buf_reserve(struct swp_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = swp__xrealloc(b->data, cap);
	b->cap = cap;
}

void swp__buf_put(struct swp_buf *b, const void *p, size_t n)
{
	swp__buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void swp__buf_puts(struct swp_buf *b, const char *s)
{
	swp__buf_put(b, s, strlen(s));
}

void swp__buf_putc(struct swp_buf *b, char c)
{
	swp__buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = 0;
}

void swp__buf_printf(struct swp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		swp__buf_put(b, tmp, (size_t)n);
		return;
	}
	swp__buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void swp__buf_reset(struct swp_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void swp__buf_put_u8(struct swp_buf *b, uint8_t v)
{
	swp__buf_put(b, &v, 1);
}

void swp__buf_put_u32(struct swp_buf *b, uint32_t v)
{
	uint8_t t[4] = {v, v >> 8, v >> 16, v >> 24};
	swp__buf_put(b, t, 4);
}

void swp__buf_put_u64(struct swp_buf *b, uint64_t v)
{
	swp__buf_put_u32(b, (uint32_t)v);
	swp__buf_put_u32(b, (uint32_t)(v >> 32));
}

void swp__buf_put_uvar(struct swp_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	while (v >= 0x80) {
		t[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (uint8_t)v;
	swp__buf_put(b, t, n);
}

void swp__buf_put_str(struct swp_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	swp__buf_put_uvar(b, n);
	if (n)
		swp__buf_put(b, s, n);
}

void swp__buf_put_be64(struct swp_buf *b, uint64_t v)
{
	uint8_t t[8];
	swp__set_be64(t, v);
	swp__buf_put(b, t, 8);
}

uint64_t swp__get_be64(const void *p)
{
	const uint8_t *s = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | s[i];
	return v;
}

void swp__set_be64(void *p, uint64_t v)
{
	uint8_t *d = p;
	for (int i = 7; i >= 0; i--) {
		d[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ---- reader ---- */

static bool rd_need(struct swp_reader *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	return true;
}

uint8_t swp__rd_u8(struct swp_reader *r)
{
	if (!rd_need(r, 1))
		return 0;
	return *r->p++;
}

uint32_t swp__rd_u32(struct swp_reader *r)
{
	if (!rd_need(r, 4))
		return 0;
	uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	return v;
}

uint64_t swp__rd_u64(struct swp_reader *r)
{
	uint64_t lo = swp__rd_u32(r);
	uint64_t hi = swp__rd_u32(r);
	return lo | hi << 32;
}

uint64_t swp__rd_uvar(struct swp_reader *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (!rd_need(r, 1))
			return 0;
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

const char *swp__rd_strv(struct swp_reader *r, size_t *len)
{
	uint64_t n = swp__rd_uvar(r);
	if (!rd_need(r, n)) {
		*len = 0;
		return "";
	}
	const char *s = (const char *)r->p;
	r->p += n;
	*len = n;
	return s;
}

char *swp__rd_str(struct swp_reader *r)
{
	size_t n;
	const char *s = swp__rd_strv(r, &n);
	char *d = swp__xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* ---- JSON ---- */

void swp__json_strn(struct swp_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	swp__buf_reserve(b, n + 2);
	b->data[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			swp__buf_reserve(b, 2);
			b->data[b->len++] = (char)c;
			continue;
		}
		char e[7] = {'\\', 0};
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
		}
		swp__buf_put(b, e, strlen(e));
	}
	swp__buf_putc(b, '"');
}

void swp__json_str(struct swp_buf *b, const char *s)
{
	if (!s)
		swp__buf_puts(b, "null");
	else
		swp__json_strn(b, s, strlen(s));
}

void swp__json_key(struct swp_buf *b, bool *first, const char *k)
{
	if (!*first)
		swp__buf_putc(b, ',');
	*first = false;
	swp__json_str(b, k);
	swp__buf_putc(b, ':');
}

void swp__json_kv_str(struct swp_buf *b, bool *first, const char *k, const char *v)
{
	swp__json_key(b, first, k);
	swp__json_str(b, v);
}

void swp__json_kv_i64(struct swp_buf *b, bool *first, const char *k, int64_t v)
{
	swp__json_key(b, first, k);
	swp__buf_printf(b, "%" PRId64, v);
}

void swp__json_kv_bool(struct swp_buf *b, bool *first, const char *k, bool v)
{
	swp__json_key(b, first, k);
	swp__buf_puts(b, v ? "true" : "false");
}

/* ---- hashing: a 64-bit multiply-mix over 8-byte words ---- */

uint64_t swp__hash64(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *s = p;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = swp__mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)s[i] << (8 * i);
	return swp__mix64(h ^ w ^ ((uint64_t)n << 56));
}

/* ---- time ---- */

int64_t swp__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t swp__mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
