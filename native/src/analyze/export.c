/*
 * Counted stacks in other tools' formats (analyze.h): pprof (profile.proto, gzipped: `go tool
 * pprof` reads it) and speedscope's file format (a "sampled" profile). The stacks and counts are
 * those the tree is built from; kernel frames keep the folded format's "_[k]" suffix.
 */
#include <math.h>
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

/*
 * The layout of one flame graph, over the analyzer's tree (swp__tree_build): each node is drawn
 * `width[node]` units wide, its children side by side from its left edge. A plain graph's width is
 * the node's count. A differential one (the tree has before counts) is drawn by the after side,
 * red where a frame's share of its side's total grew and blue where it shrank, in proportion to
 * the change; frames gone from the after side keep their before share (scaled to the after total)
 * so that what went away shows, in blue.
 */
struct flame {
	const struct swp_tree *tr;
	const struct swp_interner *in;
	double *width;          /* per node, in units of the after side */
	double total_after;     /* samples of each side */
	double total_before;
	double max_change;      /* the largest |share after - share before| of a frame */
	double per;             /* pixels per unit */
	const char *unit;
};

static double share(uint64_t v, double total)
{
	return total > 0 ? (double)v / total : 0;
}

/* The change of a node's share (after - before); 0 for a plain graph. */
static double change(const struct flame *f, uint32_t at)
{
	if (!f->tr->before)
		return 0;
	return share(f->tr->nodes[at].count, f->total_after) - share(f->tr->before[at], f->total_before);
}

static void flame_layout(struct flame *f)
{
	const struct swp_tree *tr = f->tr;
	f->width = swp__xcalloc(tr->n ? tr->n : 1, sizeof(double));
	f->total_after = (double)tr->nodes[0].count;
	f->total_before = tr->before ? (double)tr->before[0] : 0;
	if (!tr->before) {
		for (uint32_t i = 0; i < tr->n; i++)
			f->width[i] = (double)tr->nodes[i].count;
		return;
	}
	/* extra[i]: the widths of the gone frames below i; children come after their parent */
	uint32_t *parent = swp__xcalloc(tr->n ? tr->n : 1, sizeof(uint32_t));
	double *extra = swp__xcalloc(tr->n ? tr->n : 1, sizeof(double));
	for (uint32_t i = 0; i < tr->n; i++)
		for (uint32_t c = tr->nodes[i].first_child; c; c = tr->nodes[c].next_sibling)
			parent[c] = i;
	double scale = f->total_before > 0 && f->total_after > 0 ? f->total_after / f->total_before : 1;
	for (uint32_t i = tr->n; i-- > 0;) {
		bool gone = !tr->nodes[i].count && tr->before[i];
		f->width[i] = gone ? (double)tr->before[i] * scale : (double)tr->nodes[i].count + extra[i];
		if (i)
			extra[parent[i]] += gone ? f->width[i] : extra[i];
		double d = fabs(change(f, i));
		if (i && d > f->max_change)
			f->max_change = d;
	}
	free(parent);
	free(extra);
}

/* A plain frame's colour: warm for user frames, blues for kernel ones, varied by the name. */
static void plain_colour(const char *sym, size_t len, bool kernel, int rgb[3])
{
	uint64_t h = swp__hash64(sym, len, 7);
	if (kernel) {
		rgb[0] = 80 + (int)(h % 60);
		rgb[1] = 140 + (int)((h >> 8) % 60);
		rgb[2] = 220 + (int)((h >> 16) % 35);
	} else {
		rgb[0] = 220 + (int)(h % 35);
		rgb[1] = 90 + (int)((h >> 8) % 110);
		rgb[2] = 40 + (int)((h >> 16) % 50);
	}
}

/* A differential frame's colour: red (grew) or blue (shrank), the deeper the larger the change
 * against the largest one; near white when it barely moved. */
static void diff_colour(double d, double max, int rgb[3])
{
	double ratio = max > 0 ? fabs(d) / max : 0;
	if (ratio < 0.01) {
		rgb[0] = rgb[1] = rgb[2] = 235;
		return;
	}
	int fade = (int)(220 * (1 - ratio));
	rgb[0] = d > 0 ? 255 : fade;
	rgb[1] = fade;
	rgb[2] = d > 0 ? fade : 255;
}

static void fg_node(struct swp_buf *out, struct flame *f, uint32_t at, double x, uint32_t level)
{
	const struct swp_tree *tr = f->tr;
	const struct swp_tree_node *nd = &tr->nodes[at];
	double w = f->width[at] * f->per;
	if (w < 0.3)
		return; /* too narrow to see */
	if (at) {
		const char *sym = swp__interned_sym(f->in, nd->frame);
		size_t len = swp__interned_len(f->in, nd->frame);
		bool kernel = swp__interned_type(f->in, nd->frame) == SWP_FRAME_KERNEL;
		int rgb[3];
		const char *mark = "";
		if (tr->before) {
			diff_colour(change(f, at), f->max_change, rgb);
			mark = !tr->before[at] ? " new" : !nd->count ? " gone" : "";
		} else {
			plain_colour(sym, len, kernel, rgb);
		}
		double y = FG_TOP + (double)(tr->depth - level) * FG_ROW;
		swp__buf_printf(out, "<g class=\"f%s\"><title>", mark);
		xml_text(out, sym, len);
		if (kernel)
			swp__buf_puts(out, " [kernel]");
		if (tr->before) {
			double sb = 100.0 * share(tr->before[at], f->total_before);
			double sa = 100.0 * share(nd->count, f->total_after);
			swp__buf_printf(out, " (%llu -> %llu %s, %.2f%% -> %.2f%%, %+.2f%%%s)</title>",
					(unsigned long long)tr->before[at], (unsigned long long)nd->count, f->unit, sb,
					sa, sa - sb, *mark ? (mark[1] == 'n' ? ", new" : ", gone") : "");
		} else {
			swp__buf_printf(out, " (%llu %s, %.2f%%)</title>", (unsigned long long)nd->count, f->unit,
					100.0 * share(nd->count, f->total_after));
		}
		/* new frames outlined, gone ones dashed */
		const char *stroke = !*mark ? "" : mark[1] == 'n' ? " stroke=\"#000\" stroke-width=\"1\""
								  : " stroke=\"#000\" stroke-dasharray=\"3,2\"";
		swp__buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" "
				"rx=\"2\"%s/>", x, y, w, FG_ROW - 1, rgb[0], rgb[1], rgb[2], stroke);
		size_t fit = (size_t)(w / 7.0);
		if (fit >= 3) {
			/* white on the deep reds and blues of a diff */
			swp__buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\"%s>", x + 3, y + FG_ROW - 5,
					tr->before && rgb[0] + rgb[1] + rgb[2] < 400 ? " style=\"fill:#fff\"" : "");
			xml_text(out, sym, len < fit ? len : fit - 2);
			if (len >= fit)
				swp__buf_puts(out, "..");
			swp__buf_puts(out, "</text>");
		}
		swp__buf_puts(out, "</g>\n");
	}
	uint32_t nk = 0;
	for (uint32_t c = nd->first_child; c; c = tr->nodes[c].next_sibling)
		nk++;
	if (!nk)
		return;
	uint32_t *order = swp__xmalloc(nk * sizeof(uint32_t));
	swp__tree_children(tr, f->in, at, order);
	for (uint32_t k = 0; k < nk; k++) {
		fg_node(out, f, order[k], x, level + 1);
		x += f->width[order[k]] * f->per;
	}
	free(order);
}

/* The SVG of counts (before NULL) or of a diff of before and after. */
static void flame_svg_of(struct swp_stacks *t, const uint64_t *counts, const uint64_t *before, uint32_t n,
			 const char *title, const char *unit, struct swp_buf *out)
{
	struct swp_tree tr;
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	swp__tree_build(t, counts, before, n, &tr);
	struct flame f = {.tr = &tr, .in = &t->in, .unit = unit};
	flame_layout(&f);
	uint64_t total = tr.nodes[0].count;
	int height = FG_TOP + (int)(tr.depth + 1) * FG_ROW + 20;
	swp__buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
			"font-family=\"Verdana, sans-serif\" font-size=\"11\">\n", (int)FG_WIDTH + 20, height,
			(int)FG_WIDTH + 20, height);
	swp__buf_puts(out, "<style>.f text{pointer-events:none;fill:#000}.f:hover rect{stroke:#000;stroke-width:.5}"
			   ".f.hit rect{fill:rgb(230,0,230)}</style>\n<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>\n"
			   "<text x=\"10\" y=\"22\" font-size=\"15\">");
	xml_text(out, title, strlen(title));
	if (before)
		swp__buf_printf(out, " (%llu -> %llu %s; widths: after, red: grew, blue: shrank, shares of each side's "
				"total)</text>\n", (unsigned long long)tr.before[0], (unsigned long long)total, unit);
	else
		swp__buf_printf(out, " (%llu %s)</text>\n", (unsigned long long)total, unit);
	if (f.width[0] > 0) {
		f.per = FG_WIDTH / f.width[0];
		fg_node(out, &f, 0, 10, 0);
	}
	swp__buf_puts(out, "</svg>\n");
	swp__interner_unlock(&t->in);
	swp__stacks_unlock(t);
	free(f.width);
	swp__tree_free(&tr);
}

static void flame_svg(struct swp_stacks *t, const uint64_t *counts, uint32_t n, const char *title, const char *unit,
		      struct swp_buf *out)
{
	flame_svg_of(t, counts, NULL, n, title, unit, out);
}

/* The same SVG in a page with a search box. */
static void flame_html(struct swp_stacks *t, const uint64_t *counts, const uint64_t *before, uint32_t n,
		       const char *title, const char *unit, struct swp_buf *out)
{
	swp__buf_puts(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
	xml_text(out, title, strlen(title));
	swp__buf_puts(out, "</title></head>\n<body style=\"margin:8px\">\n<p><input id=\"q\" placeholder=\"search (regex)\" "
			   "size=\"40\"> <span id=\"m\"></span></p>\n");
	flame_svg_of(t, counts, before, n, title, unit, out);
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
	if (!strcmp(format, "svg")) {
		flame_svg(t, counts, n, name, duration ? "ns" : "samples", out);
		return 0;
	}
	if (!strcmp(format, "html")) {
		flame_html(t, counts, NULL, n, name, duration ? "ns" : "samples", out);
		return 0;
	}
	return swp__fail(EINVAL, "unknown format \"%s\" (json, folded, pprof, speedscope, svg or html)", format);
}

int swp__export_diff(struct swp_stacks *t, const uint64_t *after, const uint64_t *before, uint32_t n,
		     const char *format, bool duration, const char *name, struct swp_buf *out,
		     struct swp_analysis_info *info)
{
	if (!format || !strcmp(format, "json")) {
		swp__analyze_diff(t, after, before, n, NULL, out, info);
		return 0;
	}
	if (!strcmp(format, "folded")) {
		swp__analyze_difffolded(t, after, before, n, out);
		return 0;
	}
	if (!strcmp(format, "svg")) {
		flame_svg_of(t, after, before, n, name, duration ? "ns" : "samples", out);
		return 0;
	}
	if (!strcmp(format, "html")) {
		flame_html(t, after, before, n, name, duration ? "ns" : "samples", out);
		return 0;
	}
	return swp__fail(EINVAL, "unknown format \"%s\" for a diff (json, folded, svg or html)", format);
}
