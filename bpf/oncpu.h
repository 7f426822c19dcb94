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

/* What a target is profiled for (the targets map's value, a mask). */
#define SWP_TARGET_ON_CPU 1
#define SWP_TARGET_OFF_CPU 2

/* Lost entries of the off-CPU side are charged to (pid | this) in the lost maps. */
#define SWP_LOST_OFF_CPU 0x80000000u

/* A target thread that left the CPU blocked (the off_start map's value, keyed by its global
 * tid): when, its process, its stacks in off_stacks. */
struct swp_off_start {
	__u64 ts; /* bpf_ktime_get_ns */
	__u32 pid;
	__s32 kstack;
	__s32 ustack;
	__u32 pad;
};

/* Value of the off-CPU count maps (key: struct swp_count_key, ids in off_stacks). */
struct swp_off_value {
	__u64 switches; /* times it blocked there and came back */
	__u64 ns;       /* the time it was away */
};

#endif
