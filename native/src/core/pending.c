/*
 * Samples on their way to the store: the one path every producer takes. The local profiler's
 * runs (scheduler.c), agents' data streams (protocol/) and imports (analysis.c) all add their
 * symbolized samples here, per (schedule, second); a flush turns each pending block into one
 * sample block of the store (store/layout.h), or hands it to the core's sink when it has no
 * store (an agent). A flush that fails keeps the blocks, with their seconds, for the next one, up
 * to SWP_PENDING_MAX_BLOCKS (then the oldest go, counted lost).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "store/layout.h"

/* The oldest n blocks are given up (a write outage went on too long): their samples count as lost
 * in their schedules, no longer as held back. */
static void drop_oldest(swp_core *c, size_t n)
{
	uint64_t dropped = 0;
	for (size_t i = 0; i < n; i++) {
		struct swp_pending_block *blk = &c->pending.v[i];
		struct swp_schedule *s = swp__schedule_by_id(c, blk->sched);
		if (s) {
			s->lost += blk->samples;
			s->unwritten -= s->unwritten < blk->samples ? s->unwritten : blk->samples;
		}
		dropped += blk->samples;
		c->pending_samples -= blk->samples;
		swp__u64map_free(&blk->counts);
	}
	memmove(c->pending.v, c->pending.v + n, (c->pending.n - n) * sizeof(*c->pending.v));
	c->pending.n -= n;
	c->pending_last = 0;
	c->st_lost += dropped;
	swp_warn("a write outage holds %d blocks of samples: the oldest %zu (%" PRIu64 " samples) given up, counted lost",
		 SWP_PENDING_MAX_BLOCKS, n, dropped);
}

void swp__pending_add(swp_core *c, const struct swp_schedule *s, uint64_t sec, uint32_t idx, uint64_t count)
{
	if (!count)
		return;
	struct swp_pending_block *blk = NULL;
	/* producers add a schedule's samples in a row: look at the last block first */
	if (c->pending.n && c->pending.v[c->pending_last].sched == s->id && c->pending.v[c->pending_last].sec == sec)
		blk = &c->pending.v[c->pending_last];
	for (size_t i = 0; !blk && i < c->pending.n; i++)
		if (c->pending.v[i].sched == s->id && c->pending.v[i].sec == sec) {
			blk = &c->pending.v[i];
			c->pending_last = i;
		}
	if (!blk) {
		if (c->pending.n >= SWP_PENDING_MAX_BLOCKS)
			drop_oldest(c, SWP_PENDING_MAX_BLOCKS / 16);
		struct swp_pending_block nb = {.sched = s->id, .sec = sec};
		swp__u64map_init(&nb.counts, 64);
		SWP_VEC_PUSH(c->pending, nb);
		c->pending_last = c->pending.n - 1;
		blk = &c->pending.v[c->pending_last];
	}
	*swp__u64map_slot(&blk->counts, idx) += count;
	blk->samples += count;
	blk->last_ms = swp__now_ms();
	c->pending_samples += count;
}

void swp__pending_clear(swp_core *c)
{
	for (size_t i = 0; i < c->pending.n; i++)
		swp__u64map_free(&c->pending.v[i].counts);
	c->pending.n = 0;
	c->pending_last = 0;
	c->pending_samples = 0;
}

uint64_t swp__block_encode(const struct swp_stacks *t, const struct swp_pending_block *blk, struct swp_buf *out)
{
	const struct swp_u64map *counts = &blk->counts;
	uint64_t total = 0;
	swp__buf_reset(out);
	swp__buf_put_uvar(out, counts->n);
	for (uint32_t s = 0; s <= counts->mask; s++) {
		if (counts->keys[s] == UINT64_MAX)
			continue;
		swp__buf_put_u64(out, t->hash[(uint32_t)counts->keys[s]]);
		swp__buf_put_uvar(out, counts->vals[s]);
		total += counts->vals[s];
	}
	return total;
}

void swp__block_put(swp_core *c, const struct swp_schedule *s, const struct swp_pending_block *blk, struct swp_batch *b,
		    struct swp_buf *scratch)
{
	swp__block_encode(&c->stacks, blk, scratch);
	uint8_t k[SWP_RECORD_KEY_LEN];
	swp__block_key(c, s, blk->sec, k);
	swp__batch_put(b, k, sizeof(k), scratch->data, scratch->len);
	swp__schedule_put(b, s);
}
