#include "common/u64map.h"

#include <stdlib.h>

static void alloc_table(struct swp_u64map *m, uint32_t slots)
{
	m->mask = slots - 1;
	m->keys = swp__xmalloc((size_t)slots * sizeof(uint64_t));
	m->vals = swp__xmalloc((size_t)slots * sizeof(uint64_t));
	memset(m->keys, 0xff, (size_t)slots * sizeof(uint64_t));
	m->n = 0;
}

void swp__u64map_init(struct swp_u64map *m, uint32_t expect)
{
	uint32_t slots = 64;
	while (slots < expect * 2)
		slots *= 2;
	alloc_table(m, slots);
}

void swp__u64map_free(struct swp_u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void swp__u64map_clear(struct swp_u64map *m)
{
	memset(m->keys, 0xff, ((size_t)m->mask + 1) * sizeof(uint64_t));
	m->n = 0;
}

uint64_t *swp__u64map_get(const struct swp_u64map *m, uint64_t key)
{
	uint32_t i = (uint32_t)swp__mix64(key) & m->mask;
	for (;;) {
		if (m->keys[i] == key)
			return &m->vals[i];
		if (m->keys[i] == UINT64_MAX)
			return NULL;
		i = (i + 1) & m->mask;
	}
}

uint64_t *swp__u64map_slot(struct swp_u64map *m, uint64_t key)
{
	if ((m->n + 1) * 2 > m->mask + 1) {
		struct swp_u64map old = *m;
		alloc_table(m, (old.mask + 1) * 2);
		for (uint32_t i = 0; i <= old.mask; i++)
			if (old.keys[i] != UINT64_MAX)
				*swp__u64map_slot(m, old.keys[i]) = old.vals[i];
		free(old.keys);
		free(old.vals);
	}
	uint32_t i = (uint32_t)swp__mix64(key) & m->mask;
	for (;;) {
		if (m->keys[i] == key)
			return &m->vals[i];
		if (m->keys[i] == UINT64_MAX) {
			m->keys[i] = key;
			m->vals[i] = 0;
			m->n++;
			return &m->vals[i];
		}
		i = (i + 1) & m->mask;
	}
}
