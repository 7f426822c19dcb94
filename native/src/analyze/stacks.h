/*
 * The stack table: every distinct symbolized stack seen by a core (or a CLI run), stored once
 * and found by its content hash.
 *
 *   hash (u64, of the encoded frames) --slots--> idx (dense u32)
 *   idx --> off[idx], depth[idx] --> frames[off .. off+depth)   (interned frame ids, root first)
 *
 *   frames arena: [ main work spin | main work do_syscall_64 write ... ]
 *                   ^ off[0], depth 3  ^ off[1], depth 4
 *
 * Samples reference stacks by hash (on disk) or idx (in memory). Adding takes the write lock;
 * analysis holds the read lock while it walks frames.
 */
#ifndef SWP_STACKS_H
#define SWP_STACKS_H

#include "common/stack.h"

struct swp_stacks {
	pthread_rwlock_t lock;
	struct swp_interner in; /* frame ids */
	uint32_t *slots;        /* idx + 1, 0 = empty; keyed by hash */
	uint32_t mask;
	uint64_t *hash;         /* per idx: content hash */
	uint32_t *off;          /* per idx: start in frames */
	uint32_t *depth;        /* per idx: number of frames */
	uint32_t n, cap;
	uint32_t *frames;       /* all stacks' frames back to back */
	size_t frames_len, frames_cap;
	/* The analyzer's merge order, kept across analyses: stacks [0, n_ordered) sorted by the
	 * bytes of their frames. Stacks added since are sorted and merged in by the next analysis.
	 * Guarded by order_mu (analyses hold the read lock, so n does not move meanwhile). */
	pthread_mutex_t order_mu;
	uint32_t *order;
	uint32_t n_ordered;
};

void swp__stacks_init(struct swp_stacks *t);
void swp__stacks_free(struct swp_stacks *t);

/* Content hash of a stack (stable across runs: hashes the encoded symbols). `scratch` is reused. */
uint64_t swp__stack_hash(const struct swp_interner *in, const uint32_t *frames, uint32_t n, struct swp_buf *scratch);

/* Adds (or finds) a stack; *added tells whether it is new. Returns its idx. */
uint32_t swp__stacks_add(struct swp_stacks *t, uint64_t hash, const uint32_t *frames, uint32_t n, bool *added);
/* idx of hash, or UINT32_MAX. Caller holds the read lock (or is the only user). */
uint32_t swp__stacks_find(const struct swp_stacks *t, uint64_t hash);

static inline void swp__stacks_rdlock(struct swp_stacks *t)
{
	pthread_rwlock_rdlock(&t->lock);
}
static inline void swp__stacks_unlock(struct swp_stacks *t)
{
	pthread_rwlock_unlock(&t->lock);
}

#endif
