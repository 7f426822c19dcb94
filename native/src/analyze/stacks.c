#include "analyze/stacks.h"

#include <stdlib.h>

void swp__stacks_init(struct swp_stacks *t)
{
	memset(t, 0, sizeof(*t));
	pthread_rwlock_init(&t->lock, NULL);
	pthread_mutex_init(&t->order_mu, NULL);
	swp__interner_init(&t->in);
	t->mask = 1023;
	t->slots = swp__xcalloc(t->mask + 1, sizeof(uint32_t));
}

void swp__stacks_free(struct swp_stacks *t)
{
	free(t->slots);
	free(t->hash);
	free(t->off);
	free(t->depth);
	free(t->frames);
	free(t->order);
	swp__interner_free(&t->in);
	pthread_mutex_destroy(&t->order_mu);
	pthread_rwlock_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
}

uint64_t swp__stack_hash(const struct swp_interner *in, const uint32_t *frames, uint32_t n, struct swp_buf *scratch)
{
	swp__buf_reset(scratch);
	swp__stack_encode(in, frames, n, scratch);
	return swp__hash64(scratch->data, scratch->len, 0x57ac4ULL);
}

uint32_t swp__stacks_find(const struct swp_stacks *t, uint64_t hash)
{
	uint32_t i = (uint32_t)hash & t->mask;
	for (;;) {
		uint32_t v = t->slots[i];
		if (!v)
			return UINT32_MAX;
		if (t->hash[v - 1] == hash)
			return v - 1;
		i = (i + 1) & t->mask;
	}
}

static void grow(struct swp_stacks *t)
{
	uint32_t nmask = t->mask * 2 + 1;
	uint32_t *ns = swp__xcalloc((size_t)nmask + 1, sizeof(uint32_t));
	for (uint32_t idx = 0; idx < t->n; idx++) {
		uint32_t i = (uint32_t)t->hash[idx] & nmask;
		while (ns[i])
			i = (i + 1) & nmask;
		ns[i] = idx + 1;
	}
	free(t->slots);
	t->slots = ns;
	t->mask = nmask;
}

uint32_t swp__stacks_add(struct swp_stacks *t, uint64_t hash, const uint32_t *frames, uint32_t n, bool *added)
{
	pthread_rwlock_wrlock(&t->lock);
	uint32_t idx = swp__stacks_find(t, hash);
	if (idx != UINT32_MAX) {
		pthread_rwlock_unlock(&t->lock);
		if (added)
			*added = false;
		return idx;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->hash = swp__xrealloc(t->hash, t->cap * sizeof(*t->hash));
		t->off = swp__xrealloc(t->off, t->cap * sizeof(*t->off));
		t->depth = swp__xrealloc(t->depth, t->cap * sizeof(*t->depth));
	}
	if (t->frames_len + n > t->frames_cap) {
		size_t cap = t->frames_cap ? t->frames_cap : 16384;
		while (cap < t->frames_len + n)
			cap *= 2;
		t->frames = swp__xrealloc(t->frames, cap * sizeof(uint32_t));
		t->frames_cap = cap;
	}
	idx = t->n++;
	t->hash[idx] = hash;
	t->off[idx] = (uint32_t)t->frames_len;
	t->depth[idx] = n;
	memcpy(t->frames + t->frames_len, frames, n * sizeof(uint32_t));
	t->frames_len += n;
	uint32_t i = (uint32_t)hash & t->mask;
	while (t->slots[i])
		i = (i + 1) & t->mask;
	t->slots[i] = idx + 1;
	if ((uint64_t)t->n * 2 > t->mask)
		grow(t);
	pthread_rwlock_unlock(&t->lock);
	if (added)
		*added = true;
	return idx;
}
