#include "analyze/analyze.h"

#include <stdlib.h>
#include <sys/mman.h>

struct builder {
	struct swp_stacks *t;
	uint32_t *sel; /* selected stack idx, sorted */
	uint32_t nsel;
	struct swp_tree_node *nodes;
	uint64_t *before; /* per node: the before side's inclusive count (a diff), else NULL */
	uint32_t nn, ncap;
	uint32_t depth; /* the deepest selected stack */
};

/* Frame order (frame ids, then depth): the order of `swprof record --format folded` lines. */
static int cmp_frames(const struct swp_stacks *t, uint32_t a, uint32_t b)
{
	const uint32_t *fa = t->frames + t->off[a], *fb = t->frames + t->off[b];
	uint32_t da = t->depth[a], db = t->depth[b];
	uint32_t n = da < db ? da : db;
	for (uint32_t i = 0; i < n; i++)
		if (fa[i] != fb[i])
			return fa[i] < fb[i] ? -1 : 1;
	return da < db ? -1 : da > db;
}

static __thread const struct swp_stacks *sort_t;

static int cmp_sel(const void *a, const void *b)
{
	return cmp_frames(sort_t, *(const uint32_t *)a, *(const uint32_t *)b);
}

/* Byte order of the frame arrays. The trie needs only that stacks sharing a frame prefix are
 * adjacent (children are ordered when the tree is written), and every lexicographic order keeps
 * a common prefix together: with frames of 4 bytes, a frame prefix is a byte prefix. memcmp
 * compares them several times faster than a loop over frame ids. */
static int cmp_sel_bytes(const void *a, const void *b)
{
	const struct swp_stacks *t = sort_t;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint32_t dx = t->depth[x], dy = t->depth[y];
	int c = memcmp(t->frames + t->off[x], t->frames + t->off[y], (size_t)(dx < dy ? dx : dy) * sizeof(uint32_t));
	if (c)
		return c;
	return dx < dy ? -1 : dx > dy;
}

static uint32_t new_node(struct builder *b, uint32_t parent, uint32_t frame, uint32_t *last_child)
{
	if (b->nn == b->ncap) {
		b->ncap = b->ncap ? b->ncap * 2 : 4096;
		b->nodes = swp__xrealloc(b->nodes, b->ncap * sizeof(struct swp_tree_node));
		if (b->before)
			b->before = swp__xrealloc(b->before, b->ncap * sizeof(uint64_t));
	}
	uint32_t id = b->nn++;
	b->nodes[id] = (struct swp_tree_node){.frame = frame};
	if (b->before)
		b->before[id] = 0;
	struct swp_tree_node *p = &b->nodes[parent];
	/* a prefix's stacks are adjacent: a new child is never followed by an older sibling's stacks */
	if (last_child[0])
		b->nodes[last_child[0]].next_sibling = id;
	else
		p->first_child = id;
	p->nchild++;
	last_child[0] = id;
	return id;
}

/* Builds the trie of the selected stacks (sorted), with the before side's counts too when
 * `before` is not NULL. path[d] = node at depth d of the previous stack; lastc[d] = last child
 * created under path[d-1] (lastc[0] under the super-root). */
static void build(struct builder *b, const uint64_t *counts, const uint64_t *before, uint64_t *frames_out)
{
	struct swp_stacks *t = b->t;
	uint32_t maxd = 1;
	uint64_t frames = 0;
	for (uint32_t i = 0; i < b->nsel; i++) {
		uint32_t d = t->depth[b->sel[i]];
		frames += d;
		if (d > maxd)
			maxd = d;
	}
	*frames_out = frames;
	b->depth = b->nsel ? maxd : 0;
	uint32_t *path = swp__xcalloc(maxd + 1, sizeof(uint32_t));
	uint32_t *lastc = swp__xcalloc(maxd + 1, sizeof(uint32_t));
	b->nn = 0;
	b->nodes[b->nn++] = (struct swp_tree_node){0};
	if (before)
		b->before[0] = 0;
	uint32_t prev = UINT32_MAX;
	for (uint32_t i = 0; i < b->nsel; i++) {
		uint32_t s = b->sel[i];
		const uint32_t *f = t->frames + t->off[s];
		if (i + 4 < b->nsel) /* the frames of a stack a few steps ahead (a random place) */
			__builtin_prefetch(t->frames + t->off[b->sel[i + 4]]);
		uint32_t d = t->depth[s], common = 0;
		uint64_t c = counts[s], bc = before ? before[s] : 0;
		if (prev != UINT32_MAX) {
			const uint32_t *pf = t->frames + t->off[prev];
			uint32_t pd = t->depth[prev];
			while (common < d && common < pd && pf[common] == f[common])
				common++;
		}
		for (uint32_t k = 0; k < common; k++)
			b->nodes[path[k]].count += c;
		for (uint32_t k = common; k < d; k++) {
			uint32_t parent = k ? path[k - 1] : 0;
			lastc[k + 1] = 0;
			path[k] = new_node(b, parent, f[k], &lastc[k]);
			b->nodes[path[k]].count = c;
		}
		b->nodes[0].count += c;
		if (before) {
			for (uint32_t k = 0; k < d; k++)
				b->before[path[k]] += bc;
			b->before[0] += bc;
		}
		prev = s;
	}
	free(path);
	free(lastc);
}

static __thread const struct swp_tree_node *ord_nodes;
static __thread const uint64_t *ord_before;
static __thread const struct swp_interner *ord_in;

/* count desc (a diff: the after side's, then the before side's), then symbol, then type (user
 * before kernel) */
static int cmp_child(const void *pa, const void *pb)
{
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	const struct swp_tree_node *a = &ord_nodes[ia], *b = &ord_nodes[ib];
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (ord_before && ord_before[ia] != ord_before[ib])
		return ord_before[ia] > ord_before[ib] ? -1 : 1;
	if (a->frame == b->frame)
		return 0;
	/* symbols may hold NUL bytes (imported text): compare bytes, then lengths */
	uint32_t la = swp__interned_len(ord_in, a->frame), lb = swp__interned_len(ord_in, b->frame);
	int c = memcmp(swp__interned_sym(ord_in, a->frame), swp__interned_sym(ord_in, b->frame), la < lb ? la : lb);
	if (c)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return (int)swp__interned_type(ord_in, a->frame) - (int)swp__interned_type(ord_in, b->frame);
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* Well-formed UTF-8 of the Basic Multilingual Plane (shortest forms, no surrogates, nothing above
 * U+FFFF) without a control character that swp__json_strn writes as \u00XX: a JSON reader decodes
 * such a string, and a writer with the short escapes (\" \\ \n \r \t) and raw UTF-8 writes the
 * same bytes back. (Jackson, the shim's writer, escapes characters above U+FFFF as \uD83D\uDE00
 * pairs, so those are not canonical.) */
static bool canonical(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
				return false;
			i++;
			continue;
		}
		size_t k;
		unsigned char lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else {
			return false; /* 4-byte forms (above U+FFFF) and bytes that start no character */
		}
		if (n - i <= k || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}

/*
 * The JSON of one element is
 *   {"id":"<id>","parentId":"<parent>","symbol":"<symbol>","stackType":"<type>","dumpCount":<count>}
 * and everything from `","symbol"` to `"dumpCount":` depends on the frame only. Each distinct
 * frame's segment is written once per analysis (escaped as swp__json_strn does) and copied for
 * every element of that frame.
 */
struct segments {
	uint32_t *at;        /* per frame id: offset + 1 of its segment in text, 0 = not written yet */
	uint32_t *len;       /* per frame id: segment length */
	struct swp_buf text; /* the segments */
	bool canonical;      /* no \u escape and well-formed UTF-8 in every segment so far */
	bool diff;           /* a diff's elements: the segment ends in "beforeCount": */
};

static const char *segment(struct segments *sg, const struct swp_interner *in, uint32_t frame, uint32_t *len)
{
	if (!sg->at[frame]) {
		const char *sym = swp__interned_sym(in, frame);
		uint32_t n = swp__interned_len(in, frame);
		size_t start = sg->text.len;
		swp__buf_put(&sg->text, "\",\"symbol\":", 11);
		swp__json_strn(&sg->text, sym, n);
		if (sg->canonical && !canonical((const unsigned char *)sym, n))
			sg->canonical = false;
		swp__buf_puts(&sg->text, swp__interned_type(in, frame) == SWP_FRAME_KERNEL
						 ? ",\"stackType\":\"KERNEL_SPACE\""
						 : ",\"stackType\":\"USER_SPACE\"");
		swp__buf_puts(&sg->text, sg->diff ? ",\"beforeCount\":" : ",\"dumpCount\":");
		sg->at[frame] = (uint32_t)start + 1;
		sg->len[frame] = (uint32_t)(sg->text.len - start);
	}
	*len = sg->len[frame];
	return sg->text.data + sg->at[frame] - 1;
}

/* Sorts the stacks added since the last analysis and merges them into t->order (order_mu held). */
static void update_order(struct swp_stacks *t)
{
	uint32_t old = t->n_ordered, n = t->n, k = n - old;
	if (!k)
		return;
	uint32_t *fresh = swp__xmalloc((size_t)k * sizeof(uint32_t));
	for (uint32_t i = 0; i < k; i++)
		fresh[i] = old + i;
	sort_t = t;
	qsort(fresh, k, sizeof(uint32_t), cmp_sel_bytes);
	uint32_t *merged = swp__xmalloc((size_t)n * sizeof(uint32_t));
	uint32_t i = 0, j = 0, m = 0;
	while (i < old && j < k)
		merged[m++] = cmp_sel_bytes(&t->order[i], &fresh[j]) <= 0 ? t->order[i++] : fresh[j++];
	while (i < old)
		merged[m++] = t->order[i++];
	while (j < k)
		merged[m++] = fresh[j++];
	free(t->order);
	free(fresh);
	t->order = merged;
	t->n_ordered = n;
}

/* The stacks with a count (on either side), in merge order (the table's read lock held). */
static void select_ordered(struct builder *b, const uint64_t *counts, const uint64_t *before, uint32_t n_counts)
{
	struct swp_stacks *t = b->t;
	uint32_t lim = n_counts < t->n ? n_counts : t->n;
	b->sel = swp__xmalloc((size_t)(lim ? lim : 1) * sizeof(uint32_t));
	b->nsel = 0;
	pthread_mutex_lock(&t->order_mu);
	update_order(t);
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t s = t->order[i];
		if (s < lim && (counts[s] || (before && before[s])) && t->depth[s])
			b->sel[b->nsel++] = s;
	}
	pthread_mutex_unlock(&t->order_mu);
}

static uint32_t select_stacks(struct builder *b, const uint64_t *counts, const uint64_t *before, uint32_t n_counts,
			      int (*cmp)(const void *, const void *))
{
	uint32_t n = n_counts < b->t->n ? n_counts : b->t->n;
	b->sel = swp__xmalloc((size_t)(n ? n : 1) * sizeof(uint32_t));
	b->nsel = 0;
	for (uint32_t i = 0; i < n; i++)
		if ((counts[i] || (before && before[i])) && b->t->depth[i])
			b->sel[b->nsel++] = i;
	sort_t = b->t;
	qsort(b->sel, b->nsel, sizeof(uint32_t), cmp);
	return b->nsel;
}

/* Makes room for `extra` more bytes in out. A large answer (tens of MB) is written once into
 * fresh memory: backing it with transparent huge pages takes one page fault per 2 MiB instead of
 * one per 4 KiB, which in a VM was a sixth of the analysis. The memory is still free()d. */
static void reserve_large(struct swp_buf *out, size_t extra)
{
	const size_t huge = 2u << 20;
	size_t need = out->len + extra + 1;
	if (need <= out->cap || need < 4 * huge) {
		swp__buf_reserve(out, extra);
		return;
	}
	size_t cap = (need + huge - 1) & ~(huge - 1);
	void *p = NULL;
	if (posix_memalign(&p, huge, cap)) {
		swp__buf_reserve(out, extra);
		return;
	}
#ifdef MADV_HUGEPAGE
	madvise(p, cap, MADV_HUGEPAGE);
#endif
	if (out->len)
		memcpy(p, out->data, out->len);
	((char *)p)[out->len] = 0;
	free(out->data);
	out->data = p;
	out->cap = cap;
}

void swp__tree_build(struct swp_stacks *t, const uint64_t *counts, const uint64_t *before, uint32_t n_counts,
		     struct swp_tree *out)
{
	struct builder b = {.t = t};
	select_ordered(&b, counts, before, n_counts);
	b.ncap = 4096;
	b.nodes = swp__xmalloc(b.ncap * sizeof(struct swp_tree_node));
	if (before)
		b.before = swp__xmalloc(b.ncap * sizeof(uint64_t));
	*out = (struct swp_tree){0};
	build(&b, counts, before, &out->frames);
	free(b.sel);
	out->nodes = b.nodes;
	out->before = b.before;
	out->n = b.nn;
	out->stacks = b.nsel;
	out->depth = b.depth;
}

void swp__tree_free(struct swp_tree *tr)
{
	free(tr->nodes);
	free(tr->before);
	*tr = (struct swp_tree){0};
}

uint32_t swp__tree_children(const struct swp_tree *tr, const struct swp_interner *in, uint32_t node, uint32_t *out)
{
	ord_nodes = tr->nodes;
	ord_before = tr->before;
	ord_in = in;
	uint32_t n = 0;
	for (uint32_t c = tr->nodes[node].first_child; c; c = tr->nodes[c].next_sibling)
		out[n++] = c;
	if (n > 1)
		qsort(out, n, sizeof(uint32_t), cmp_child);
	return n;
}

/* Writes the trees of tr ({"tip":..,"trees":[..]}); a diff tree's elements carry beforeCount and
 * afterCount instead of dumpCount. Read locks held. */
static void write_trees(struct swp_stacks *t, const struct swp_tree *tr, const char *tip, struct swp_buf *out,
			struct swp_analysis_info *info)
{
	/* breadth first, every tree: order[] holds the nodes as they are written, parent[] their
	 * parent's element id, frame[] and count[] a copy of theirs (so that writing reads memory in
	 * order); tree r is order[tree_at[r] .. tree_at[r + 1]) */
	bool diff = tr->before != NULL;
	uint32_t *order = swp__xmalloc((size_t)tr->n * sizeof(uint32_t));
	uint32_t *parent = swp__xmalloc((size_t)tr->n * sizeof(uint32_t));
	uint32_t *frame = swp__xmalloc((size_t)tr->n * sizeof(uint32_t));
	uint64_t *count = swp__xmalloc((size_t)tr->n * sizeof(uint64_t));
	uint64_t *bcount = diff ? swp__xmalloc((size_t)tr->n * sizeof(uint64_t)) : NULL;
	uint32_t *kids = swp__xmalloc((size_t)tr->n * sizeof(uint32_t));
	uint32_t *roots = swp__xmalloc((size_t)tr->n * sizeof(uint32_t));
	uint32_t nroots = swp__tree_children(tr, &t->in, 0, roots);
	uint32_t *tree_at = swp__xmalloc(((size_t)nroots + 1) * sizeof(uint32_t));
	struct segments sg = {.canonical = true, .diff = diff};
	sg.at = swp__xcalloc(t->in.n ? t->in.n : 1, sizeof(uint32_t));
	sg.len = swp__xmalloc((t->in.n ? t->in.n : 1) * sizeof(uint32_t));
	size_t bound = 64;
	uint32_t tail = 0;
	for (uint32_t r = 0; r < nroots; r++) {
		uint32_t head = tail, id = 0;
		tree_at[r] = head;
		order[tail] = roots[r];
		parent[tail++] = 0;
		for (; head < tail; head++) {
			const struct swp_tree_node *nd = &tr->nodes[order[head]];
			if (head + 8 < tail) /* nodes are laid out depth first and read breadth first */
				__builtin_prefetch(&tr->nodes[order[head + 8]]);
			uint32_t sl;
			id++;
			frame[head] = nd->frame;
			count[head] = nd->count;
			if (diff)
				bcount[head] = tr->before[order[head]];
			segment(&sg, &t->in, nd->frame, &sl);
			bound += sl + (diff ? 128 : 96); /* braces, keys, three (four) numbers */
			uint32_t nk = swp__tree_children(tr, &t->in, order[head], kids);
			for (uint32_t k = 0; k < nk; k++) {
				order[tail] = kids[k];
				parent[tail++] = id;
			}
		}
		bound += 32;
	}
	tree_at[nroots] = tail;

	swp__buf_puts(out, "{\"tip\":");
	swp__json_str(out, tip);
	swp__buf_puts(out, ",\"trees\":[");
	reserve_large(out, bound);
	char *p = out->data + out->len;
	for (uint32_t r = 0; r < nroots; r++) {
		if (r)
			*p++ = ',';
		memcpy(p, "{\"elements\":[", 13);
		p += 13;
		for (uint32_t i = tree_at[r]; i < tree_at[r + 1]; i++) {
			uint32_t sl;
			const char *seg = segment(&sg, &t->in, frame[i], &sl);
			if (i > tree_at[r])
				*p++ = ',';
			memcpy(p, "{\"id\":\"", 7);
			p = put_u64(p + 7, i - tree_at[r] + 1);
			memcpy(p, "\",\"parentId\":\"", 14);
			p = put_u64(p + 14, parent[i]);
			memcpy(p, seg, sl);
			if (diff) {
				p = put_u64(p + sl, bcount[i]);
				memcpy(p, ",\"afterCount\":", 14);
				p = put_u64(p + 14, count[i]);
			} else {
				p = put_u64(p + sl, count[i]);
			}
			*p++ = '}';
		}
		*p++ = ']';
		*p++ = '}';
	}
	out->len = (size_t)(p - out->data);
	swp__buf_puts(out, "]}");
	if (info && info->sz >= sizeof(*info)) {
		info->samples = tr->nodes[0].count;
		info->stacks = tr->stacks;
		info->frames = tr->frames;
		info->elements = tail;
		info->canonical_json = sg.canonical && (!tip || canonical((const unsigned char *)tip, strlen(tip)));
	}
	free(sg.at);
	free(sg.len);
	swp_buf_free(&sg.text);
	free(tree_at);
	free(order);
	free(parent);
	free(frame);
	free(count);
	free(bcount);
	free(kids);
	free(roots);
}

void swp__analyze_tree(struct swp_stacks *t, const uint64_t *counts, uint32_t n_counts, const char *tip,
		       struct swp_buf *out)
{
	swp__analyze_tree_ex(t, counts, n_counts, tip, out, NULL);
}

void swp__analyze_tree_ex(struct swp_stacks *t, const uint64_t *counts, uint32_t n_counts, const char *tip,
			  struct swp_buf *out, struct swp_analysis_info *info)
{
	swp__analyze_diff(t, counts, NULL, n_counts, tip, out, info);
}

void swp__analyze_diff(struct swp_stacks *t, const uint64_t *after, const uint64_t *before, uint32_t n_counts,
		       const char *tip, struct swp_buf *out, struct swp_analysis_info *info)
{
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	struct swp_tree tr;
	swp__tree_build(t, after, before, n_counts, &tr);
	write_trees(t, &tr, tip, out, info);
	swp__interner_unlock(&t->in);
	swp__stacks_unlock(t);
	swp__tree_free(&tr);
}

static void put_frame_folded(struct swp_buf *out, const struct swp_interner *in, uint32_t f)
{
	swp__buf_put(out, swp__interned_sym(in, f), swp__interned_len(in, f));
	if (swp__interned_type(in, f) == SWP_FRAME_KERNEL)
		swp__buf_puts(out, "_[k]");
}

void swp__analyze_folded(struct swp_stacks *t, const uint64_t *counts, uint32_t n_counts, struct swp_buf *out)
{
	swp__analyze_difffolded(t, counts, NULL, n_counts, out);
}

void swp__analyze_difffolded(struct swp_stacks *t, const uint64_t *after, const uint64_t *before, uint32_t n_counts,
			     struct swp_buf *out)
{
	const uint64_t *counts = after;
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	struct builder b = {.t = t};
	select_stacks(&b, counts, before, n_counts, cmp_sel);
	for (uint32_t i = 0; i < b.nsel; i++) {
		uint32_t s = b.sel[i];
		const uint32_t *f = t->frames + t->off[s];
		for (uint32_t k = 0; k < t->depth[s]; k++) {
			if (k)
				swp__buf_putc(out, ';');
			put_frame_folded(out, &t->in, f[k]);
		}
		if (before)
			swp__buf_printf(out, " %llu", (unsigned long long)before[s]);
		swp__buf_printf(out, " %llu\n", (unsigned long long)counts[s]);
	}
	swp__interner_unlock(&t->in);
	swp__stacks_unlock(t);
	free(b.sel);
}

int64_t swp__parse_folded(struct swp_stacks *t, const char *text, size_t len,
			  void (*add)(void *ctx, uint32_t idx, uint64_t count), void *ctx)
{
	struct swp_buf scratch = {0};
	uint32_t *frames = NULL;
	size_t fcap = 0;
	int64_t lines = 0, lineno = 0;
	const char *p = text, *end = text + len;
	int err = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		lineno++;
		const char *e = eol;
		while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		const char *s = p;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		p = eol + 1;
		if (s == e || *s == '#')
			continue;
		/* the count is the last space-separated token */
		const char *sp = e;
		while (sp > s && sp[-1] != ' ' && sp[-1] != '\t')
			sp--;
		uint64_t count = 0;
		bool ok = sp > s && sp < e;
		for (const char *c = sp; ok && c < e; c++) {
			if (*c < '0' || *c > '9' || count > UINT64_MAX / 10 - 10)
				ok = false;
			else
				count = count * 10 + (uint64_t)(*c - '0');
		}
		const char *se = sp;
		while (se > s && (se[-1] == ' ' || se[-1] == '\t'))
			se--;
		if (!ok || se == s) {
			err = swp__fail(EINVAL, "line %lld: expected \"frame;frame;... COUNT\"", (long long)lineno);
			break;
		}
		size_t n = 0;
		for (const char *f = s; f <= se;) {
			const char *fe = memchr(f, ';', (size_t)(se - f));
			if (!fe)
				fe = se;
			size_t fl = (size_t)(fe - f);
			uint8_t type = SWP_FRAME_USER;
			if (fl >= 4 && memcmp(fe - 4, "_[k]", 4) == 0) {
				type = SWP_FRAME_KERNEL;
				fl -= 4;
			}
			if (n == SWP_MAX_STACK_DEPTH) {
				err = swp__fail(EINVAL, "line %lld: a stack deeper than %d frames", (long long)lineno,
						SWP_MAX_STACK_DEPTH);
				break;
			}
			if (n == fcap) {
				fcap = fcap ? fcap * 2 : 64;
				frames = swp__xrealloc(frames, fcap * sizeof(uint32_t));
			}
			frames[n++] = swp__intern(&t->in, type, f, fl);
			f = fe + 1;
		}
		if (err)
			break;
		if (count == 0)
			continue;
		uint64_t h = swp__stack_hash(&t->in, frames, (uint32_t)n, &scratch);
		uint32_t idx = swp__stacks_add(t, h, frames, (uint32_t)n, NULL);
		add(ctx, idx, count);
		lines++;
	}
	free(frames);
	swp_buf_free(&scratch);
	return err ? err : lines;
}

void swp__dense_add(void *ctx, uint32_t idx, uint64_t count)
{
	struct swp_dense_counts *d = ctx;
	if (idx >= d->cap) {
		uint32_t cap = d->cap ? d->cap : 1024;
		while (cap <= idx)
			cap *= 2;
		d->counts = swp__xrealloc(d->counts, cap * sizeof(uint64_t));
		memset(d->counts + d->cap, 0, (cap - d->cap) * sizeof(uint64_t));
		d->cap = cap;
	}
	d->counts[idx] += count;
}
