/* Shared between oncpu.bpf.c and its loader (native/src/profiler/profiler.c). */
#ifndef SWP_ONCPU_H
#define SWP_ONCPU_H

#include <linux/types.h>

/* Frames per stack (PERF_MAX_STACK_DEPTH): the stack maps' value is this many __u64 ips,
 * innermost first, zero-filled after the last one. */
#define SWP_STACK_DEPTH 127

/* Key of the count maps (value: __u64 samples). A stack id is -1 when there is no such stack:
 * kstack -1 means the sample hit user mode. */
struct swp_count_key {
	__u32 pid;    /* tgid, in the pid namespace the loader asked for */
	__s32 kstack; /* id in the stack map of the same set, or -1 */
	__s32 ustack; /* id in the stack map of the same set, or -1 */
};

/* Why a target left the targets map on its own (the `gone` map's value): the program it ran was
 * replaced (exec), or its last thread exited (its pid may be reused from now on). */
#define SWP_GONE_EXEC 1
#define SWP_GONE_EXIT 2

#endif
