/* Sorted symbol tables shared by the ELF and kallsyms readers (see symtab.h). */
#include <stdlib.h>
#include <string.h>

#include "symbols/symbols.h"
#include "symbols/symtab.h"

static int cand_cmp(const void *a, const void *b)
{
	const struct swp__cand *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name); /* a stable choice between equals */
}

/* End of the segment holding link-time address addr, or 0. */
static uint64_t seg_end(const struct swp__symtab *t, uint64_t addr)
{
	for (size_t i = 0; i < t->nsegs; i++)
		if (addr >= t->segs[i].vaddr && addr - t->segs[i].vaddr < t->segs[i].memsz)
			return t->segs[i].vaddr + t->segs[i].memsz;
	return 0;
}

void swp__symtab_build(struct swp__symtab *t, struct swp__cand *c, size_t n, struct swp_buf *arena)
{
	if (arena) { /* the names are in arena already: it becomes the table's (no copy) */
		t->names = *arena;
		*arena = (struct swp_buf){ 0 };
	}
	if (!n) {
		free(c);
		return;
	}
	qsort(c, n, sizeof(*c), cand_cmp);
	/* the symbols are written over the candidates they come from (smaller, and never ahead of the
	 * one being read): one array at a time, for the kernel's 100,000 symbols too */
	_Static_assert(sizeof(struct swp__sym) <= sizeof(struct swp__cand), "symbols overwrite candidates");
	char *out = (char *)c;
	struct swp__sym last = {0};
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct swp__cand x;
		memcpy(&x, &c[i], sizeof(x));
		if (k && last.addr == x.addr) {
			/* an alias: the first (best) name stays, the largest size wins */
			if (x.size > last.size) {
				last.size = x.size;
				memcpy(out + (k - 1) * sizeof(last), &last, sizeof(last));
			}
			continue;
		}
		size_t len = strlen(x.name) + 1, at;
		if (arena) {
			at = (size_t)(x.name - t->names.data);
		} else {
			at = t->names.len;
			swp__buf_put(&t->names, x.name, len);
		}
		if (at + len >= UINT32_MAX)
			break; /* absurd table: keep what fits in 32-bit offsets */
		last = (struct swp__sym){ .addr = x.addr, .size = x.size, .name = (uint32_t)at };
		memcpy(out + k * sizeof(last), &last, sizeof(last));
		k++;
	}
	t->syms = (struct swp__sym *)out;
	t->nsyms = k;
	/* tables live long: give back what the candidates, duplicates and doubling left unused */
	t->syms = swp__xrealloc(t->syms, (k ? k : 1) * sizeof(*t->syms));
	t->names.data = swp__xrealloc(t->names.data, t->names.len + 1);
	t->names.cap = t->names.len + 1;
	t->names.data[t->names.len] = 0;
	for (size_t i = 0; i < k; i++) {
		struct swp__sym *s = &t->syms[i];
		if (s->size)
			continue;
		uint64_t end = seg_end(t, s->addr);
		if (i + 1 < k && (!end || t->syms[i + 1].addr < end))
			end = t->syms[i + 1].addr;
		s->size = end > s->addr ? end - s->addr : 0;
	}
}

struct swp__sym *swp__symtab_find(struct swp__symtab *t, uint64_t addr, bool nearest)
{
	size_t lo = 0, hi = t->nsyms; /* first symbol above addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	if (nearest)
		return &t->syms[lo - 1];
	/* the nearest symbol usually contains addr; a few steps back find an enclosing one */
	for (size_t i = lo, steps = 0; i > 0 && steps < 4; i--, steps++)
		if (addr - t->syms[i - 1].addr < t->syms[i - 1].size)
			return &t->syms[i - 1];
	return NULL;
}

const char *swp__symtab_name(struct swp__symtab *t, struct swp__sym *sym, struct swp_buf *scratch)
{
	if (!sym->ready) {
		sym->ready = 1;
		swp__buf_reset(scratch);
		if (swp__demangle(t->names.data + sym->name, scratch) && t->names.len + scratch->len + 1 < UINT32_MAX) {
			sym->name = (uint32_t)t->names.len;
			swp__buf_put(&t->names, scratch->data, scratch->len + 1);
		}
	}
	return t->names.data + sym->name;
}

void swp__symtab_free(struct swp__symtab *t)
{
	free(t->syms);
	free(t->segs);
	swp_buf_free(&t->names);
	memset(t, 0, sizeof(*t));
}
