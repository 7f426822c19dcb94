/*
 * The eBPF on-CPU profiler: one PERF_COUNT_SW_CPU_CLOCK perf event per online CPU, a BPF
 * program that counts samples of target processes in a hash map keyed by (pid, kernel stack
 * id, user stack id), and a drain that hands each counted (pid, kernel ips, user ips, count)
 * to a sink. Two sets of maps alternate: the drain flips the active set, then reads and clears
 * the other one, so no stack id is deleted while the kernel may still count against it.
 *
 * One profiler serves every target at once; targets are added and removed by pid. Off-CPU:
 * a scheduler switch hook counts, per (pid, kernel stack, user stack), how often target threads
 * blocked there and for how long (bpf/oncpu.bpf.c), drained with the same flip.
 */
#ifndef SWP_PROFILER_H
#define SWP_PROFILER_H

#include "common/common.h"
#include "oncpu.h" /* SWP_GONE_* */

struct swp_profiler;
struct swp_sample_sink;

/* An on-CPU sample of a DWARF/AUTO target, one at a time: its user stack is to be unwound from
 * regs over the copy of the stack. */
struct swp_ustack_sample {
	int pid;
	unsigned mode; /* SWP_TARGET_DWARF or SWP_TARGET_AUTO */
	const uint64_t *kips, *fp; /* kernel ips; user ips of the kernel's frame-pointer walk */
	uint32_t nk, nfp;
	const uint64_t *regs;  /* SWP_NREGS, DWARF order */
	const uint8_t *stack;  /* len bytes from stack_at up */
	uint32_t len;
	uint64_t stack_at;     /* regs[SWP_REG_RSP], or below it: the red zone */
	bool cut; /* the copy ended at the configured size, not at the stack's end */
};

struct swp_profiler_opts {
	size_t sz;
	int frequency;        /* Hz, 1..1000 */
	uint32_t max_stacks;  /* stack map entries per set; 0 = 16384 */
	uint32_t max_counts;  /* count map entries per set; 0 = 32768 */
	uint32_t max_targets; /* 0 = 1024 */
	/* Drain with get_next_key/lookup/delete even when the kernel has batch ops (tests use it
	 * to cover the fallback path). */
	bool no_batch;
	/* bytes of user stack copied per DWARF/AUTO sample, 8192..65536 (a multiple of 8); 0 = 16384 */
	uint32_t ustack_bytes;
	/* DWARF/AUTO targets will come (their ring buffer is sized for them; without, one page) */
	bool unwinding;
	/* how often the caller drains, ms (the ring buffer holds two intervals); 0 = 1000 */
	int drain_ms;
};

/* An unwinding mode by name into SWP_TARGET_* bits: "fp" (0), "dwarf", "auto" or NULL; -EINVAL
 * with the reason otherwise. */
int swp__unwind_mode(const char *name, unsigned *bits);

/* The user stack bytes copied per DWARF/AUTO sample for a requested size (0: the default, 16384)
 * into *out; -EINVAL with the reason unless 8192..SWP_USTACK_MAX and a multiple of 8. */
int swp__ustack_bytes(uint32_t requested, uint32_t *out);

/* Opens, loads and attaches. Fails with -EPERM/-ENOSYS/... and a reason when the kernel or
 * the privileges do not allow BPF. */
int swp__profiler_open(const struct swp_profiler_opts *opts, struct swp_profiler **out);
void swp__profiler_close(struct swp_profiler *p);

/* Pids are tgids as this process sees them (its own pid namespace). add: -E2BIG when
 * max_targets are already targets; remove: -ENOENT when pid was not a target. Samples already
 * counted for a removed pid still come out of the next drains. */
int swp__profiler_add_pid(struct swp_profiler *p, int pid);
int swp__profiler_remove_pid(struct swp_profiler *p, int pid);
/* What pid is profiled for: SWP_TARGET_ON_CPU, SWP_TARGET_OFF_CPU, both, or 0 (no longer a
 * target; not an error when it left on its own); with SWP_TARGET_DWARF or SWP_TARGET_AUTO its
 * on-CPU samples come to the sink's ustack to be unwound. The scheduler switch hook is attached while
 * some pid wants OFF_CPU. */
int swp__profiler_set_targets(struct swp_profiler *p, int pid, unsigned targets);
/* pid's threads still away (blocked) now: each counted as one switch up to now, to the sink's
 * off; for a run that ends. Returns the switches handed over. */
int64_t swp__profiler_off_end(struct swp_profiler *p, int pid, const struct swp_sample_sink *sink);

/* ips are innermost first, as the kernel records them; nk or nu may be 0 (no kernel stack:
 * the sample hit user mode). */
struct swp_sample_sink {
	void (*sample)(void *ctx, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips, uint32_t nu,
		       uint64_t count);
	/* samples of pid that could not be recorded (stack map full or collision, count map full);
	 * pid 0: lost samples whose pid could not be recorded either (lost map full) */
	void (*lost)(void *ctx, int pid, uint64_t lost);
	/* a target that left on its own (SWP_GONE_EXEC: it runs another program now; SWP_GONE_EXIT: it
	 * ended, its pid may be reused): the BPF side stopped counting it at that moment; its samples
	 * until then came in this drain or before */
	void (*gone)(void *ctx, int pid, int why);
	/* off-CPU: pid's threads blocked `switches` times at these stacks, for ns in all */
	void (*off)(void *ctx, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips, uint32_t nu,
		    uint64_t switches, uint64_t ns);
	/* off-CPU switches of pid that could not be recorded */
	void (*off_lost)(void *ctx, int pid, uint64_t lost);
	/* a DWARF/AUTO sample (count 1) */
	void (*ustack)(void *ctx, const struct swp_ustack_sample *s);
	void *ctx;
};

/* Flips the active map set and hands everything counted in the other one to the sink. Safe
 * to call from one thread at a time. Returns the number of samples drained or -errno. The
 * pointers given to the sink are valid during the call only. */
int64_t swp__profiler_drain(struct swp_profiler *p, const struct swp_sample_sink *sink);
/* Only the DWARF/AUTO samples waiting in the ring buffer, to the sink's ustack (a drain reads them
 * too): between drains, so that the ring can stay small. Returns the samples or -errno. */
int64_t swp__profiler_read_ustacks(struct swp_profiler *p, const struct swp_sample_sink *sink);

#endif
