/* A small open-addressing map from u64 keys to u64 values; UINT64_MAX marks an empty slot and is
 * never a key. */
#ifndef SWP_U64MAP_H
#define SWP_U64MAP_H

#include "common/common.h"

struct swp_u64map {
	uint64_t *keys; /* UINT64_MAX = empty */
	uint64_t *vals;
	uint32_t mask;
	uint32_t n;
};

void swp__u64map_init(struct swp_u64map *m, uint32_t expect);
void swp__u64map_free(struct swp_u64map *m);
void swp__u64map_clear(struct swp_u64map *m);
/* Returns the value slot of key, inserting 0 when absent. */
uint64_t *swp__u64map_slot(struct swp_u64map *m, uint64_t key);
/* NULL when absent */
uint64_t *swp__u64map_get(const struct swp_u64map *m, uint64_t key);
/* iteration: for (i = 0; i <= m->mask; i++) if (m->keys[i] != UINT64_MAX) ... */

#endif
