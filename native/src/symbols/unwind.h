/*
 * DWARF unwinding of copied user stacks (DWARF and AUTO samples of the profiler) with libunwind:
 * a remote address space per process whose accessors read the sample's registers, its copy of
 * the stack, and the unwind tables (.eh_frame_hdr, .eh_frame) of the files mapped where the
 * frames are, which the symbolizer reads once per file identity and keeps with its symbols.
 * libunwind caches what it decoded per address (the process's address space, flushed when its
 * mappings change).
 *
 * AUTO: the frame-pointer walk is taken as long as its frames lie in code built with frame
 * pointers (decided per file from its unwind tables) or in JIT code (which has no tables and is
 * walkable by frame pointers only); from the first return address into code without them (libc's
 * __libc_start_call_main under every main, a qsort under a callback) DWARF goes on; a sample that
 * hit code without frame pointers is unwound by DWARF from the start.
 *
 * Used by the thread that uses the symbolizer.
 */
#ifndef SWP_UNWIND_H
#define SWP_UNWIND_H

#include "profiler/profiler.h"
#include "symbols/symbols.h"

enum swp_unwound {
	SWP_UNWOUND_FP,        /* AUTO: the frame-pointer walk was right to the end */
	SWP_UNWOUND_FP_DWARF,  /* AUTO: frame pointers down to the first caller without them, DWARF on */
	SWP_UNWOUND_DWARF,     /* DWARF to the outermost frame */
	SWP_UNWOUND_CUT,       /* stopped where the stack copy ended: the frames found are kept */
	SWP_UNWOUND_FAILED,    /* stopped early for another reason (no tables, bad data): the same */
	SWP_UNWOUND_N
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
