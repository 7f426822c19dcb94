/*
 * DWARF unwinding of copied user stacks (DWARF and AUTO samples of the profiler) with libunwind:
 * a remote address space per process whose accessors read the sample's registers, its copy of
 * the stack, and the unwind tables (.eh_frame_hdr, .eh_frame) of the files mapped where the
 * frames are, which the symbolizer reads once per file identity and keeps with its symbols.
 * libunwind caches what it decoded per address (the process's address space, flushed when its
 * mappings change).
 *
 * AUTO: the kernel's frame-pointer walk is kept when every frame of it lies in code built with
 * frame pointers (decided per file from its unwind tables) or in JIT code (which has no tables
 * and is walkable by frame pointers only); otherwise the sample is unwound as DWARF.
 *
 * Used by the thread that uses the symbolizer.
 */
#ifndef SWP_UNWIND_H
#define SWP_UNWIND_H

#include "profiler/profiler.h"
#include "symbols/symbols.h"

enum swp_unwound {
	SWP_UNWOUND_FP,        /* AUTO: the frame-pointer walk was right */
	SWP_UNWOUND_DWARF,     /* unwound to the outermost frame */
	SWP_UNWOUND_CUT,       /* stopped where the stack copy ended: the frames found are kept */
	SWP_UNWOUND_FAILED,    /* stopped early for another reason (no tables, bad data): the same */
};

/* The outermost "ip" of a stack unwound only in part: named [incomplete] (its frames hang under
 * it in a flame graph, not among the whole stacks' roots). */
#define SWP_IP_INCOMPLETE (UINT64_MAX - 1)

/* The user ips of sample x, innermost first (at most max, at least the sampled ip when there is
 * one) into ips and *n; returns how they came. */
enum swp_unwound swp__unwind(struct swp_symbolizer *s, const struct swp_ustack_sample *x, uint64_t *ips, uint32_t max,
			     uint32_t *n);

void swp__unwind_state_free(void *state);
void swp__unwind_state_flush(void *state);

#endif
