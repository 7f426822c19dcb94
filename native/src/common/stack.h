/*
 * Frames and stacks as every area sees them.
 *
 * A frame is (type, symbol). A symbolized stack is its frames root first: the user frames from
 * the outermost (_start, main) to the innermost, then the kernel frames from the outermost
 * (entry_SYSCALL_64) to the innermost. Inside one process the interner turns each distinct
 * frame into a dense id, so stacks are arrays of u32 and the analyzer never touches strings
 * until it prints.
 *
 *   interner:  "main"/U -> 0   "work"/U -> 1   "do_syscall_64"/K -> 2 ...
 *   stack:     [0, 1, 2]       (root ... leaf)
 */
#ifndef SWP_STACK_H
#define SWP_STACK_H

#include <pthread.h>

#include "common.h"

enum swp_frame_type { SWP_FRAME_USER = 0, SWP_FRAME_KERNEL = 1 };

/* The deepest stack accepted anywhere (the kernel records at most 127 frames per side; imports
 * are held to this so what is stored can always be read back). */
#define SWP_MAX_STACK_DEPTH 10000

struct swp_interner {
	pthread_rwlock_t lock;
	/* open-addressing table of ids (id + 1, 0 = empty), keyed by (type, symbol) */
	uint32_t *slots;
	uint32_t mask;
	/* per id: offset of the symbol in `text`, its length and type */
	uint64_t *off;
	uint32_t *len;
	uint8_t *type;
	uint32_t n, cap;
	char *text;           /* all symbols, NUL-terminated, back to back */
	size_t text_len, text_cap;
};

void swp__interner_init(struct swp_interner *in);
void swp__interner_free(struct swp_interner *in);
/* Thread-safe. Returns the id of (type, sym[0..len)). */
uint32_t swp__intern(struct swp_interner *in, uint8_t type, const char *sym, size_t len);
/* Lock-free readers must hold no expectation across a concurrent intern: callers that read
 * while others intern take the read lock (swp__interner_rdlock). */
static inline const char *swp__interned_sym(const struct swp_interner *in, uint32_t id)
{
	return in->text + in->off[id];
}
static inline uint32_t swp__interned_len(const struct swp_interner *in, uint32_t id)
{
	return in->len[id];
}
static inline uint8_t swp__interned_type(const struct swp_interner *in, uint32_t id)
{
	return in->type[id];
}
void swp__interner_rdlock(struct swp_interner *in);
void swp__interner_unlock(struct swp_interner *in);

/* Encoding of one stack for the store and for content hashing: uvar n, then n x (u8 type,
 * uvar len, bytes). Independent of interner ids, so the hash is stable across runs. */
void swp__stack_encode(const struct swp_interner *in, const uint32_t *frames, uint32_t n, struct swp_buf *out);
/* Decodes into interned ids (appended to *ids, which grows); returns the depth or -EINVAL. */
int swp__stack_decode(struct swp_interner *in, const void *p, size_t n, uint32_t **ids, uint32_t *cap);

#endif
