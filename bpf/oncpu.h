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

/* User stacks unwound in user space (the targets mask; ON_CPU samples only): instead of being
 * counted, each sample's user registers and the top of its user stack, with its kernel stack and
 * its frame-pointer user stack, go to the `ustacks` ring buffer as one struct swp_ustack. DWARF:
 * user space unwinds every one with the unwind tables; AUTO: only those whose frame-pointer walk
 * crosses code built without frame pointers (user space tells them apart; to BPF both are one). */
#define SWP_TARGET_DWARF 4
#define SWP_TARGET_AUTO 8
#define SWP_TARGET_USTACK (SWP_TARGET_DWARF | SWP_TARGET_AUTO)

#define SWP_USTACK_MAX 65536 /* bytes of user stack a sample can carry */
/* Bytes below the stack pointer copied too (x86-64's red zone): an epilogue's unwind rules still
 * read registers saved there, just popped. */
#define SWP_REDZONE 128
#define SWP_NREGS 17         /* DWARF's x86-64 numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
#define SWP_REG_RBP 6
#define SWP_REG_RSP 7
#define SWP_REG_RIP 16

#define SWP_USTACK_CUT 1 /* the copy ended at ustack_size, not where the stack did */

/* One sample of the ring buffer, cut after len bytes of stack. */
struct swp_ustack {
	__u32 pid;
	__u32 nk;  /* kernel ips in kips (0: the sample hit user mode) */
	__u32 nu;  /* user ips in uips, by the kernel's frame-pointer walk */
	__u32 len; /* bytes of stack copied from regs[SWP_REG_RSP] - below up (0: no user context) */
	__u32 below; /* SWP_REDZONE, or 0 when the red zone's page was not there */
	__u32 flags; /* SWP_USTACK_CUT */
	__u64 regs[SWP_NREGS];
	__u64 kips[SWP_STACK_DEPTH];
	__u64 uips[SWP_STACK_DEPTH];
	__u8 stack[SWP_USTACK_MAX + 4096]; /* the last page: room the verifier asks for, never filled */
};

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
