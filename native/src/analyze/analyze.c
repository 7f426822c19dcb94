#include "analyze/analyze.h"

#include <stdlib.h>

/* One tree node. Index 0 is a virtual super-root whose children are the trees' roots. */
struct node {
	uint32_t frame;        /* interned frame id (symbol + type) */
	uint32_t first_child;  /* 0 = none (0 is never a child) */
	uint32_t next_sibling; /* 0 = last */
	uint32_t nchild;       /* number of children */
	uint64_t count;        /* inclusive: samples through this node */
};

struct builder {
	struct swp_stacks *t;
	uint32_t *sel; /* selected stack idx, sorted */
	uint32_t nsel;
	struct node *nodes;
	uint32_t nn, ncap;
};

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

static uint32_t new_node(struct builder *b, uint32_t parent, uint32_t frame, uint32_t *last_child)
{
	if (b->nn == b->ncap) {
		b->ncap = b->ncap ? b->ncap * 2 : 4096;
		b->nodes = swp__xrealloc(b->nodes, b->ncap * sizeof(struct node));
	}
	uint32_t id = b->nn++;
	b->nodes[id] = (struct node){.frame = frame};
	struct node *p = &b->nodes[parent];
	/* children arrive in sorted frame order: append after the parent's last child */
	if (last_child[0])
		b->nodes[last_child[0]].next_sibling = id;
	else
		p->first_child = id;
	p->nchild++;
	last_child[0] = id;
	return id;
}

/* Builds the trie of the selected stacks (sorted). path[d] = node at depth d of the previous
 * stack; lastc[d] = last child created under path[d-1] (lastc[0] under the super-root). */
static void build(struct builder *b, const uint64_t *counts)
{
	struct swp_stacks *t = b->t;
	uint32_t maxd = 1;
	for (uint32_t i = 0; i < b->nsel; i++)
		if (t->depth[b->sel[i]] > maxd)
			maxd = t->depth[b->sel[i]];
	uint32_t *path = swp__xcalloc(maxd + 1, sizeof(uint32_t));
	uint32_t *lastc = swp__xcalloc(maxd + 1, sizeof(uint32_t));
	b->nn = 0;
	b->nodes[b->nn++] = (struct node){0};
	uint32_t prev = UINT32_MAX;
	for (uint32_t i = 0; i < b->nsel; i++) {
		uint32_t s = b->sel[i];
		const uint32_t *f = t->frames + t->off[s];
		uint32_t d = t->depth[s], common = 0;
		uint64_t c = counts[s];
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
		prev = s;
	}
	free(path);
	free(lastc);
}

static __thread const struct node *ord_nodes;
static __thread const struct swp_interner *ord_in;

/* count desc, then symbol, then type (user before kernel) */
static int cmp_child(const void *pa, const void *pb)
{
	const struct node *a = &ord_nodes[*(const uint32_t *)pa], *b = &ord_nodes[*(const uint32_t *)pb];
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
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

/* Fills out[0..n) with the children of node, ordered. */
static uint32_t sorted_children(const struct builder *b, uint32_t node, uint32_t *out)
{
	uint32_t n = 0;
	for (uint32_t c = b->nodes[node].first_child; c; c = b->nodes[c].next_sibling)
		out[n++] = c;
	if (n > 1)
		qsort(out, n, sizeof(uint32_t), cmp_child);
	return n;
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

static void emit_element(struct swp_buf *out, const struct swp_interner *in, const struct node *nd, uint64_t id,
			 uint64_t parent, bool first)
{
	swp__buf_reserve(out, 128);
	char *p = out->data + out->len;
	if (!first)
		*p++ = ',';
	memcpy(p, "{\"id\":\"", 7);
	p = put_u64(p + 7, id);
	memcpy(p, "\",\"parentId\":\"", 14);
	p = put_u64(p + 14, parent);
	memcpy(p, "\",\"symbol\":", 11);
	p += 11;
	out->len = (size_t)(p - out->data);
	swp__json_strn(out, swp__interned_sym(in, nd->frame), swp__interned_len(in, nd->frame));
	swp__buf_reserve(out, 64);
	p = out->data + out->len;
	const char *ty = swp__interned_type(in, nd->frame) == SWP_FRAME_KERNEL ? ",\"stackType\":\"KERNEL_SPACE\",\"dumpCount\":"
									    : ",\"stackType\":\"USER_SPACE\",\"dumpCount\":";
	size_t tl = strlen(ty);
	memcpy(p, ty, tl);
	p = put_u64(p + tl, nd->count);
	*p++ = '}';
	*p = 0;
	out->len = (size_t)(p - out->data);
}

static uint32_t select_stacks(struct builder *b, const uint64_t *counts, uint32_t n_counts)
{
	uint32_t n = n_counts < b->t->n ? n_counts : b->t->n;
	b->sel = swp__xmalloc((size_t)(n ? n : 1) * sizeof(uint32_t));
	b->nsel = 0;
	for (uint32_t i = 0; i < n; i++)
		if (counts[i] && b->t->depth[i])
			b->sel[b->nsel++] = i;
	sort_t = b->t;
	qsort(b->sel, b->nsel, sizeof(uint32_t), cmp_sel);
	return b->nsel;
}

void swp__analyze_tree(struct swp_stacks *t, const uint64_t *counts, uint32_t n_counts, const char *tip,
		       struct swp_buf *out)
{
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	struct builder b = {.t = t};
	select_stacks(&b, counts, n_counts);
	b.ncap = 4096;
	b.nodes = swp__xmalloc(b.ncap * sizeof(struct node));
	build(&b, counts);

	swp__buf_puts(out, "{\"tip\":");
	swp__json_str(out, tip);
	swp__buf_puts(out, ",\"trees\":[");
	/* queue of (node, parent element id); the children scratch holds one node's children */
	uint32_t *queue = swp__xmalloc((size_t)b.nn * sizeof(uint32_t));
	uint64_t *qparent = swp__xmalloc((size_t)b.nn * sizeof(uint64_t));
	uint32_t *kids = swp__xmalloc((size_t)b.nn * sizeof(uint32_t));
	uint32_t *roots = swp__xmalloc((size_t)b.nn * sizeof(uint32_t));
	ord_nodes = b.nodes;
	ord_in = &t->in;
	uint32_t nroots = sorted_children(&b, 0, roots);
	for (uint32_t r = 0; r < nroots; r++) {
		swp__buf_puts(out, r ? ",{\"elements\":[" : "{\"elements\":[");
		uint32_t head = 0, tail = 0;
		uint64_t next_id = 1;
		queue[tail] = roots[r];
		qparent[tail++] = 0;
		while (head < tail) {
			uint32_t nd = queue[head];
			uint64_t id = next_id++;
			emit_element(out, &t->in, &b.nodes[nd], id, qparent[head], head == 0);
			head++;
			uint32_t nk = sorted_children(&b, nd, kids);
			for (uint32_t k = 0; k < nk; k++) {
				queue[tail] = kids[k];
				qparent[tail++] = id;
			}
		}
		swp__buf_puts(out, "]}");
	}
	swp__buf_puts(out, "]}");
	swp__interner_unlock(&t->in);
	swp__stacks_unlock(t);
	free(queue);
	free(qparent);
	free(kids);
	free(roots);
	free(b.nodes);
	free(b.sel);
}

static void put_frame_folded(struct swp_buf *out, const struct swp_interner *in, uint32_t f)
{
	swp__buf_put(out, swp__interned_sym(in, f), swp__interned_len(in, f));
	if (swp__interned_type(in, f) == SWP_FRAME_KERNEL)
		swp__buf_puts(out, "_[k]");
}

void swp__analyze_folded(struct swp_stacks *t, const uint64_t *counts, uint32_t n_counts, struct swp_buf *out)
{
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	struct builder b = {.t = t};
	select_stacks(&b, counts, n_counts);
	for (uint32_t i = 0; i < b.nsel; i++) {
		uint32_t s = b.sel[i];
		const uint32_t *f = t->frames + t->off[s];
		for (uint32_t k = 0; k < t->depth[s]; k++) {
			if (k)
				swp__buf_putc(out, ';');
			put_frame_folded(out, &t->in, f[k]);
		}
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
