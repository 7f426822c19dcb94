/*
 * The collector: drains the profiler, symbolizes every counted (kernel ips, user ips) pair at
 * flush time, adds the symbolized stack to the stack table and sums counts per (pid, stack).
 * Used by the core's scheduler and by `swprof record`.
 */
#ifndef SWP_COLLECTOR_H
#define SWP_COLLECTOR_H

#include "analyze/stacks.h"
#include "common/u64map.h"
#include "profiler/profiler.h"
#include "symbols/symbols.h"
#include "symbols/unwind.h"

struct swp_collector {
	struct swp_stacks *stacks;
	struct swp_symbolizer *sym;
	struct swp_buf name, scratch;
	uint32_t *frames;
	uint32_t fcap;
	struct swp_u64map counts; /* (pid << 32 | stack idx) -> samples, since the last reset */
	struct swp_u64map lost;   /* pid -> lost samples, since the last reset */
	/* pid -> DWARF/AUTO samples whose user stack was unwound only in part (their frames kept),
	 * since the last reset */
	struct swp_u64map incomplete;
	uint64_t unwound[SWP_UNWOUND_N]; /* DWARF/AUTO samples by enum swp_unwound, since init */
	struct swp_u64map gone;   /* pid -> SWP_GONE_*: targets that left on their own (its reader clears it) */
	uint64_t samples;         /* total drained since the last reset */
	/* off-CPU, since the last reset: (pid << 32 | stack idx) -> switches, and -> blocked ns; pid ->
	 * switches lost */
	struct swp_u64map off_counts, off_ns, off_lost;
	uint64_t off_switches;
	/* Stacks already symbolized, across flushes: hash of (pid, kernel ips, user ips) -> pid << 32 |
	 * stack idx. A process samples the same few thousand stacks every second; symbolizing and
	 * hashing their frames again was nearly all of a flush. Only stacks whose every user frame
	 * resolved are kept (an [unknown] frame may resolve once the process's maps are re-read);
	 * a pid's entries go when the pid is forgotten; the map is emptied past SWP_SEEN_MAX. */
	struct swp_u64map seen;
	uint64_t seen_hits, seen_misses;
};

#define SWP_SEEN_MAX (1u << 17)

void swp__collector_init(struct swp_collector *c, struct swp_stacks *stacks);
void swp__collector_free(struct swp_collector *c);
/* Drains p into the counts. Returns samples drained or -errno. */
int64_t swp__collector_drain(struct swp_collector *c, struct swp_profiler *p);
/* Adds one sample set (ips innermost first, as the profiler gives them). */
void swp__collector_add(struct swp_collector *c, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips,
			uint32_t nu, uint64_t count);
/* Adds off-CPU switches and their blocked time. */
void swp__collector_add_off(struct swp_collector *c, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips,
			    uint32_t nu, uint64_t switches, uint64_t ns);
/* The DWARF/AUTO samples waiting in p's ring buffer, unwound into the counts (between drains). */
int64_t swp__collector_take_ustacks(struct swp_collector *c, struct swp_profiler *p);
/* pid's threads still away, counted up to now (profiler.h, swp__profiler_off_end). */
int64_t swp__collector_off_end(struct swp_collector *c, struct swp_profiler *p, int pid);
void swp__collector_reset(struct swp_collector *c);
/* The process pid is gone (or its run ended): drops its symbolized maps and its seen stacks. */
void swp__collector_forget_pid(struct swp_collector *c, int pid);

static inline uint64_t swp__pid_stack_key(int pid, uint32_t idx)
{
	return (uint64_t)(uint32_t)pid << 32 | idx;
}

#endif
