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

static void block_free(struct swp_pending_block *blk);

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
		block_free(blk);
	}
	memmove(c->pending.v, c->pending.v + n, (c->pending.n - n) * sizeof(*c->pending.v));
	c->pending.n -= n;
	c->pending_last = 0;
	c->st_lost += dropped;
	swp_warn("a write outage holds %d blocks of samples: the oldest %zu (%" PRIu64 " samples) given up, counted lost",
		 SWP_PENDING_MAX_BLOCKS, n, dropped);
}

static struct swp_pending_block *block_of(swp_core *c, const struct swp_schedule *s, uint64_t sec, bool off)
{
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
		struct swp_pending_block nb = {.sched = s->id, .sec = sec, .off = off};
		swp__u64map_init(&nb.counts, 64);
		if (off)
			swp__u64map_init(&nb.ns, 64);
		SWP_VEC_PUSH(c->pending, nb);
		c->pending_last = c->pending.n - 1;
		blk = &c->pending.v[c->pending_last];
	}
	return blk;
}

static void add_to(swp_core *c, struct swp_pending_block *blk, uint32_t idx, uint64_t count)
{
	*swp__u64map_slot(&blk->counts, idx) += count;
	blk->samples += count;
	blk->last_ms = swp__now_ms();
	c->pending_samples += count;
}

void swp__pending_add(swp_core *c, const struct swp_schedule *s, uint64_t sec, uint32_t idx, uint64_t count)
{
	if (count)
		add_to(c, block_of(c, s, sec, false), idx, count);
}

void swp__pending_add_off(swp_core *c, const struct swp_schedule *s, uint64_t sec, uint32_t idx, uint64_t switches,
			  uint64_t ns)
{
	if (!switches)
		return;
	struct swp_pending_block *blk = block_of(c, s, sec, true);
	add_to(c, blk, idx, switches);
	*swp__u64map_slot(&blk->ns, idx) += ns;
}

static void block_free(struct swp_pending_block *blk)
{
	swp__u64map_free(&blk->counts);
	if (blk->off)
		swp__u64map_free(&blk->ns);
}

void swp__pending_clear(swp_core *c)
{
	for (size_t i = 0; i < c->pending.n; i++)
		block_free(&c->pending.v[i]);
	c->pending.n = 0;
	c->pending_last = 0;
	c->pending_samples = 0;
}

/* One map of a block (its counts, or its blocked ns) as a sample block's entries. */
static uint64_t encode_map(const struct swp_stacks *t, const struct swp_u64map *counts, struct swp_buf *out)
{
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

uint64_t swp__block_encode(const struct swp_stacks *t, const struct swp_pending_block *blk, struct swp_buf *out)
{
	return encode_map(t, &blk->counts, out);
}

void swp__block_put(swp_core *c, const struct swp_schedule *s, const struct swp_pending_block *blk, struct swp_batch *b,
		    struct swp_buf *scratch)
{
	swp__block_encode(&c->stacks, blk, scratch);
	uint8_t k[SWP_RECORD_KEY_LEN];
	swp__block_key(c, s, blk->sec, k);
	swp__batch_put(b, k, sizeof(k), scratch->data, scratch->len);
	if (blk->off) {
		/* its blocked time: the same key with the duration bit (store/layout.h) */
		encode_map(&c->stacks, &blk->ns, scratch);
		k[17] |= SWP_RECORD_DURATION;
		swp__batch_put(b, k, sizeof(k), scratch->data, scratch->len);
	}
	swp__schedule_put(b, s);
}
