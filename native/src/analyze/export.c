/*
 * Counted stacks in other tools' formats (analyze.h): pprof (profile.proto, gzipped: `go tool
 * pprof` reads it) and speedscope's file format (a "sampled" profile). The stacks and counts are
 * those the tree is built from; kernel frames keep the folded format's "_[k]" suffix.
 */
#include <stdlib.h>
#include <zlib.h>

#include "analyze/analyze.h"
#include "common/u64map.h"

/* ---- protobuf wire format, just what profile.proto needs ---- */

static void pb_varint(struct swp_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		swp__buf_putc(b, (char)(v | 0x80));
		v >>= 7;
	}
	swp__buf_putc(b, (char)v);
}

static void pb_key(struct swp_buf *b, uint32_t field, uint32_t wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

static void pb_uint(struct swp_buf *b, uint32_t field, uint64_t v)
{
	pb_key(b, field, 0);
	pb_varint(b, v);
}

static void pb_bytes(struct swp_buf *b, uint32_t field, const void *p, size_t n)
{
	pb_key(b, field, 2);
	pb_varint(b, n);
	swp__buf_put(b, p, n);
}

/* The string table: index of s, added when new (index 0 is ""). */
struct strings {
	struct swp_buf table; /* the encoded string_table fields */
	struct swp_u64map index; /* interned frame id + 1 -> string index; 0, 1, 2: fixed strings */
	uint64_t n;
};

static uint64_t str_add(struct strings *s, const char *p, size_t n)
{
	pb_bytes(&s->table, 6, p, n);
	return s->n++;
}

static uint64_t frame_string(struct strings *s, const struct swp_interner *in, uint32_t f, struct swp_buf *tmp)
{
	uint64_t *slot = swp__u64map_get(&s->index, (uint64_t)f + 100);
	if (slot)
		return *slot;
	swp__buf_reset(tmp);
	swp__buf_put(tmp, swp__interned_sym(in, f), swp__interned_len(in, f));
	if (swp__interned_type(in, f) == SWP_FRAME_KERNEL)
		swp__buf_puts(tmp, "_[k]");
	uint64_t i = str_add(s, tmp->data, tmp->len);
	*swp__u64map_slot(&s->index, (uint64_t)f + 100) = i;
	return i;
}

static int gzip(const struct swp_buf *in, struct swp_buf *out)
{
	z_stream z = {0};
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return swp__fail(ENOMEM, "pprof: cannot start gzip");
	size_t cap = deflateBound(&z, in->len) + 64;
	swp__buf_reset(out);
	swp__buf_reserve(out, cap);
	z.next_in = (Bytef *)in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = (Bytef *)out->data;
	z.avail_out = (uInt)cap;
	int r = deflate(&z, Z_FINISH);
	out->len = cap - z.avail_out;
	deflateEnd(&z);
	return r == Z_STREAM_END ? 0 : swp__fail(EIO, "pprof: gzip failed (%d)", r);
}

int swp__export_pprof(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *type, const char *unit,
		      struct swp_buf *out)
{
	struct swp_buf p = {0}, msg = {0}, ids = {0}, tmp = {0};
	struct strings s = {0};
	swp__u64map_init(&s.index, 256);
	str_add(&s, "", 0);
	uint64_t type_i = str_add(&s, type, strlen(type)), unit_i = str_add(&s, unit, strlen(unit));
	/* sample_type {type, unit} */
	pb_uint(&msg, 1, type_i);
	pb_uint(&msg, 2, unit_i);
	pb_bytes(&p, 1, msg.data, msg.len);
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	struct swp_u64map seen; /* frame ids used, for their location and function */
	swp__u64map_init(&seen, 256);
	for (uint32_t i = 0; i < n && i < t->n; i++) {
		if (!counts[i])
			continue;
		const uint32_t *f = t->frames + t->off[i];
		swp__buf_reset(&ids);
		for (uint32_t k = t->depth[i]; k-- > 0;) { /* the leaf first */
			pb_varint(&ids, (uint64_t)f[k] + 1);
			*swp__u64map_slot(&seen, f[k]) = 1;
		}
		swp__buf_reset(&msg);
		pb_bytes(&msg, 1, ids.data, ids.len); /* location_id, packed */
		swp__buf_reset(&ids);
		pb_varint(&ids, counts[i]);
		pb_bytes(&msg, 2, ids.data, ids.len); /* value, packed */
		pb_bytes(&p, 2, msg.data, msg.len);
	}
	/* a location per frame (one line: its function), a function per frame */
	for (uint32_t sl = 0; sl <= seen.mask; sl++) {
		if (seen.keys[sl] == UINT64_MAX)
			continue;
		uint32_t f = (uint32_t)seen.keys[sl];
		uint64_t name = frame_string(&s, &t->in, f, &tmp);
		swp__buf_reset(&ids);
		pb_uint(&ids, 1, (uint64_t)f + 1); /* Line.function_id */
		swp__buf_reset(&msg);
		pb_uint(&msg, 1, (uint64_t)f + 1);
		pb_bytes(&msg, 4, ids.data, ids.len);
		pb_bytes(&p, 4, msg.data, msg.len);
		swp__buf_reset(&msg);
		pb_uint(&msg, 1, (uint64_t)f + 1);
		pb_uint(&msg, 2, name);
		pb_uint(&msg, 3, name);
		pb_bytes(&p, 5, msg.data, msg.len);
	}
	swp__interner_unlock(&t->in);
	swp__stacks_unlock(t);
	swp__buf_put(&p, s.table.data, s.table.len);
	int r = gzip(&p, out);
	swp__u64map_free(&seen);
	swp__u64map_free(&s.index);
	swp_buf_free(&s.table);
	swp_buf_free(&p);
	swp_buf_free(&msg);
	swp_buf_free(&ids);
	swp_buf_free(&tmp);
	return r;
}

int swp__export_speedscope(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *name,
			   const char *unit, struct swp_buf *out)
{
	struct swp_buf samples = {0}, weights = {0}, frames = {0}, tmp = {0};
	struct swp_u64map index; /* interned frame id -> index in shared.frames */
	swp__u64map_init(&index, 256);
	uint64_t nframes = 0, total = 0;
	bool fs = true, fw = true, ff = true;
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	for (uint32_t i = 0; i < n && i < t->n; i++) {
		if (!counts[i])
			continue;
		const uint32_t *f = t->frames + t->off[i];
		swp__buf_puts(&samples, fs ? "[" : ",[");
		fs = false;
		for (uint32_t k = 0; k < t->depth[i]; k++) { /* the root first */
			uint64_t *slot = swp__u64map_get(&index, f[k]);
			if (!slot) {
				swp__buf_reset(&tmp);
				swp__buf_put(&tmp, swp__interned_sym(&t->in, f[k]), swp__interned_len(&t->in, f[k]));
				if (swp__interned_type(&t->in, f[k]) == SWP_FRAME_KERNEL)
					swp__buf_puts(&tmp, "_[k]");
				swp__buf_puts(&frames, ff ? "{\"name\":" : ",{\"name\":");
				ff = false;
				swp__json_str(&frames, tmp.data);
				swp__buf_putc(&frames, '}');
				slot = swp__u64map_slot(&index, f[k]);
				*slot = nframes++;
			}
			swp__buf_printf(&samples, k ? ",%llu" : "%llu", (unsigned long long)*slot);
		}
		swp__buf_putc(&samples, ']');
		swp__buf_printf(&weights, fw ? "%llu" : ",%llu", (unsigned long long)counts[i]);
		fw = false;
		total += counts[i];
	}
	swp__interner_unlock(&t->in);
	swp__stacks_unlock(t);
	swp__buf_puts(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"shared\":{\"frames\":[");
	swp__buf_put(out, frames.data, frames.len);
	swp__buf_puts(out, "]},\"profiles\":[{\"type\":\"sampled\",\"name\":");
	swp__json_str(out, name);
	swp__buf_puts(out, ",\"unit\":");
	swp__json_str(out, unit);
	swp__buf_printf(out, ",\"startValue\":0,\"endValue\":%llu,\"samples\":[", (unsigned long long)total);
	swp__buf_put(out, samples.data, samples.len);
	swp__buf_puts(out, "],\"weights\":[");
	swp__buf_put(out, weights.data, weights.len);
	swp__buf_puts(out, "]}],\"name\":");
	swp__json_str(out, name);
	swp__buf_puts(out, ",\"exporter\":\"swprof\"}\n");
	swp__u64map_free(&index);
	swp_buf_free(&samples);
	swp_buf_free(&weights);
	swp_buf_free(&frames);
	swp_buf_free(&tmp);
	return 0;
}

int swp__export(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *format, bool duration,
		const char *name, struct swp_buf *out)
{
	if (!format || !strcmp(format, "json")) {
		swp__analyze_tree(t, counts, n, NULL, out);
		return 0;
	}
	if (!strcmp(format, "folded")) {
		swp__analyze_folded(t, counts, n, out);
		return 0;
	}
	if (!strcmp(format, "pprof"))
		return swp__export_pprof(t, counts, n, duration ? "off_cpu" : "samples", duration ? "nanoseconds" : "count",
					 out);
	if (!strcmp(format, "speedscope"))
		return swp__export_speedscope(t, counts, n, name, duration ? "nanoseconds" : "none", out);
	return swp__fail(EINVAL, "unknown format \"%s\" (json, folded, pprof or speedscope)", format);
}
