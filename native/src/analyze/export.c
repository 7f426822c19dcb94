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

/* ---- a flame graph: SVG, or the same SVG in an HTML page with a search box ---- */

struct fnode {
	uint32_t frame;   /* interned frame id */
	uint64_t count;   /* inclusive */
	uint32_t child;   /* first child + 1, 0 = none */
	uint32_t next;    /* next sibling + 1 */
};

struct fgraph {
	struct fnode *v;
	uint32_t n, cap;
	uint32_t depth;
};

static uint32_t fnode_new(struct fgraph *g, uint32_t frame)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1024;
		g->v = swp__xrealloc(g->v, g->cap * sizeof(*g->v));
	}
	g->v[g->n] = (struct fnode){.frame = frame};
	return g->n++;
}

/* The merged tree of the counted stacks: node 0 is the root (all samples). */
static void fgraph_build(struct fgraph *g, const struct swp_stacks *t, const uint64_t *counts, uint32_t n)
{
	fnode_new(g, UINT32_MAX);
	for (uint32_t i = 0; i < n && i < t->n; i++) {
		if (!counts[i])
			continue;
		const uint32_t *f = t->frames + t->off[i];
		uint32_t at = 0;
		g->v[0].count += counts[i];
		if (t->depth[i] > g->depth)
			g->depth = t->depth[i];
		for (uint32_t k = 0; k < t->depth[i]; k++) {
			uint32_t c = g->v[at].child;
			while (c && g->v[c - 1].frame != f[k])
				c = g->v[c - 1].next;
			if (!c) {
				uint32_t x = fnode_new(g, f[k]); /* may move g->v */
				g->v[x].next = g->v[at].child;
				g->v[at].child = x + 1;
				c = x + 1;
			}
			at = c - 1;
			g->v[at].count += counts[i];
		}
	}
}

static void xml_text(struct swp_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '<')
			swp__buf_puts(out, "&lt;");
		else if (ch == '>')
			swp__buf_puts(out, "&gt;");
		else if (ch == '&')
			swp__buf_puts(out, "&amp;");
		else if (ch == '"')
			swp__buf_puts(out, "&quot;");
		else if ((unsigned char)ch >= 0x20 || ch == '\t')
			swp__buf_putc(out, ch);
	}
}

#define FG_WIDTH 1200.0
#define FG_ROW 17
#define FG_TOP 40

static void fg_node(struct swp_buf *out, const struct fgraph *g, const struct swp_interner *in, uint32_t at,
		    double x, uint32_t level, double per, uint64_t total, const char *unit)
{
	const struct fnode *nd = &g->v[at];
	double w = (double)nd->count * per;
	if (w < 0.3)
		return; /* too narrow to see */
	if (at) {
		const char *sym = swp__interned_sym(in, nd->frame);
		size_t len = swp__interned_len(in, nd->frame);
		bool kernel = swp__interned_type(in, nd->frame) == SWP_FRAME_KERNEL;
		uint64_t h = swp__hash64(sym, len, 7);
		int r, gg, b;
		if (kernel) { /* kernel frames in blues, apart from the warm user frames */
			r = 80 + (int)(h % 60);
			gg = 140 + (int)((h >> 8) % 60);
			b = 220 + (int)((h >> 16) % 35);
		} else {
			r = 220 + (int)(h % 35);
			gg = 90 + (int)((h >> 8) % 110);
			b = 40 + (int)((h >> 16) % 50);
		}
		double y = FG_TOP + (double)(g->depth - level) * FG_ROW;
		swp__buf_puts(out, "<g class=\"f\"><title>");
		xml_text(out, sym, len);
		if (kernel)
			swp__buf_puts(out, " [kernel]");
		swp__buf_printf(out, " (%llu %s, %.2f%%)</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
				"fill=\"rgb(%d,%d,%d)\" rx=\"2\"/>", (unsigned long long)nd->count, unit,
				100.0 * (double)nd->count / (double)total, x, y, w, FG_ROW - 1, r, gg, b);
		size_t fit = (size_t)(w / 7.0);
		if (fit >= 3) {
			swp__buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + FG_ROW - 5);
			xml_text(out, sym, len < fit ? len : fit - 2);
			if (len >= fit)
				swp__buf_puts(out, "..");
			swp__buf_puts(out, "</text>");
		}
		swp__buf_puts(out, "</g>\n");
	}
	for (uint32_t c = nd->child; c; c = g->v[c - 1].next) {
		fg_node(out, g, in, c - 1, x, level + 1, per, total, unit);
		x += (double)g->v[c - 1].count * per;
	}
}

static void flame_svg(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *title, const char *unit,
		      struct swp_buf *out)
{
	struct fgraph g = {0};
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	fgraph_build(&g, t, counts, n);
	uint64_t total = g.v[0].count;
	int height = FG_TOP + (int)(g.depth + 1) * FG_ROW + 20;
	swp__buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
			"font-family=\"Verdana, sans-serif\" font-size=\"11\">\n", (int)FG_WIDTH + 20, height,
			(int)FG_WIDTH + 20, height);
	swp__buf_puts(out, "<style>.f text{pointer-events:none;fill:#000}.f:hover rect{stroke:#000;stroke-width:.5}"
			   ".f.hit rect{fill:rgb(230,0,230)}</style>\n<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>\n"
			   "<text x=\"10\" y=\"22\" font-size=\"15\">");
	xml_text(out, title, strlen(title));
	swp__buf_printf(out, " (%llu %s)</text>\n", (unsigned long long)total, unit);
	if (total)
		fg_node(out, &g, &t->in, 0, 10, 0, FG_WIDTH / (double)total, total, unit);
	swp__buf_puts(out, "</svg>\n");
	swp__interner_unlock(&t->in);
	swp__stacks_unlock(t);
	free(g.v);
}

static void flame_html(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *title, const char *unit,
		       struct swp_buf *out)
{
	swp__buf_puts(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
	xml_text(out, title, strlen(title));
	swp__buf_puts(out, "</title></head>\n<body style=\"margin:8px\">\n<p><input id=\"q\" placeholder=\"search (regex)\" "
			   "size=\"40\"> <span id=\"m\"></span></p>\n");
	flame_svg(t, counts, n, title, unit, out);
	/* search: frames whose name matches turn magenta; the share of the matching samples is shown */
	swp__buf_puts(out, "<script>\n"
			   "const q = document.getElementById('q'), m = document.getElementById('m');\n"
			   "q.addEventListener('input', () => {\n"
			   "  let re; try { re = q.value ? new RegExp(q.value) : null; } catch (e) { m.textContent = 'bad regex'; return; }\n"
			   "  let hits = 0;\n"
			   "  for (const g of document.querySelectorAll('g.f')) {\n"
			   "    const name = g.querySelector('title').textContent.replace(/ \\(\\d+ .*$/, '');\n"
			   "    const hit = !!re && re.test(name);\n"
			   "    g.classList.toggle('hit', hit);\n"
			   "    if (hit) hits++;\n"
			   "  }\n"
			   "  m.textContent = re ? hits + ' frame(s) match' : '';\n"
			   "});\n"
			   "</script>\n</body></html>\n");
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
	if (!strcmp(format, "svg") || !strcmp(format, "html")) {
		(format[0] == 's' ? flame_svg : flame_html)(t, counts, n, name, duration ? "ns" : "samples", out);
		return 0;
	}
	return swp__fail(EINVAL, "unknown format \"%s\" (json, folded, pprof, speedscope, svg or html)", format);
}

