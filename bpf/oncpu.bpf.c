// SPDX-License-Identifier: GPL-2.0
/*
 * On-CPU sampler: attached to one PERF_COUNT_SW_CPU_CLOCK event per CPU. For a sampled task
 * whose process is in `targets`, counts (pid, kernel stack id, user stack id) in the map set
 * selected by `active`. User space flips `active`, waits for a grace period (programs run
 * under RCU), then drains and clears the other set at leisure.
 *
 * Off-CPU (targets with SWP_TARGET_OFF_CPU): on the scheduler switch, a target thread that
 * leaves the CPU blocked (not preempted, not dying) is noted in off_start with the time and its
 * stacks (in off_stacks, one map that is not flipped: a thread may block across many drains);
 * when it is switched back in, one switch and the time it was away are added to (pid, kernel
 * stack, user stack) in the off-CPU count map of the active set. User space ends what is still
 * away when a run ends (counted up to then).
 *
 * DWARF and AUTO targets (SWP_TARGET_USTACK): an on-CPU sample is not counted but copied, with
 * the user registers and up to `ustack_size` bytes of the user stack from its stack pointer up
 * (and the red zone below it)
 * (page by page, so a stack that ends sooner is copied to its end), into the `ustacks` ring
 * buffer; user space unwinds it. A full ring buffer makes a lost sample.
 *
 * A process's identity is its pid only while it runs its program: when a target execs another
 * program, or its last thread exits (from then on its pid may be reused by another process),
 * two raw tracepoints take its pid out of `targets` at that moment and note it in `gone`, so no
 * sample of what comes next is counted as it, and user space ends its run.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/errno.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "oncpu.h"

char LICENSE[] SEC("license") = "GPL"; /* bpf_get_stackid is GPL-only */

/* pid namespace of the loader (0/0: the initial one, use the global tgid) */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

/* bytes of user stack copied per DWARF/AUTO sample (a multiple of 8, at most SWP_USTACK_MAX) */
const volatile __u32 ustack_size = 16384;
/* the kernel has bpf_task_pt_regs (5.15): a sample in kernel mode gets its task's user registers */
const volatile bool has_task_regs = false;

/* the map set the program writes: 0 or 1, flipped by user space through the mmaped .bss */
__u32 active = 0;
/* lost samples that could not even be charged to their pid (lost map full) */
__u64 lost_unattributed = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024); /* set by the loader */
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

#define COUNT_MAP(name)                                                                        \
	struct {                                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                                               \
		__uint(max_entries, 32768);                                                    \
		__type(key, struct swp_count_key);                                             \
		__type(value, __u64);                                                          \
	} name SEC(".maps")
#define STACK_MAP(name)                                                                        \
	struct {                                                                               \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                                        \
		__uint(max_entries, 16384);                                                    \
		__uint(key_size, sizeof(__u32));                                               \
		__uint(value_size, SWP_STACK_DEPTH * sizeof(__u64));                           \
	} name SEC(".maps")
#define LOST_MAP(name)                                                                         \
	struct {                                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                                               \
		__uint(max_entries, 1024);                                                     \
		__type(key, __u32);                                                            \
		__type(value, __u64);                                                          \
	} name SEC(".maps")

/* targets that left on their own (SWP_GONE_*), until user space reads them */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024); /* as targets */
	__type(key, __u32);
	__type(value, __u64);
} gone SEC(".maps");

#define OFF_COUNT_MAP(name)                                                                    \
	struct {                                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                                               \
		__uint(max_entries, 32768);                                                    \
		__type(key, struct swp_count_key);                                             \
		__type(value, struct swp_off_value);                                           \
	} name SEC(".maps")

OFF_COUNT_MAP(off_counts_0);
OFF_COUNT_MAP(off_counts_1);
STACK_MAP(off_stacks);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* threads away at once; set by the loader */
	__type(key, __u32);
	__type(value, struct swp_off_start);
} off_start SEC(".maps");

/* DWARF/AUTO samples for user space; sized by the loader */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} ustacks SEC(".maps");

/* where a sample is put together, one slot per CPU (a perf_event program does not nest on a CPU);
 * too large for a per-CPU array, so an array the loader sizes to the CPUs */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swp_ustack);
} ustack_buf SEC(".maps");

COUNT_MAP(counts_0);
COUNT_MAP(counts_1);
STACK_MAP(stacks_0);
STACK_MAP(stacks_1);
LOST_MAP(lost_0);
LOST_MAP(lost_1);

/* Not used by the program: user space rewrites its slot to get a synchronize_rcu() (the kernel
 * waits for running programs after every map-in-map update). */
struct sync_inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sync_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct sync_inner_map);
} sync_gate SEC(".maps");

/* Adds one to *key in a hash map; returns 0 or the failed insert's error (-E2BIG: full). */
static __always_inline long add_one(void *map, const void *key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, key);
	long err;

	if (v) {
		__sync_fetch_and_add(v, 1);
		return 0;
	}
	err = bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
	if (err == -EEXIST) { /* another CPU inserted it first */
		v = bpf_map_lookup_elem(map, key);
		if (v) {
			__sync_fetch_and_add(v, 1);
			return 0;
		}
	}
	return err;
}

static __always_inline void count_sample(void *ctx, __u32 pid, void *counts, void *stacks, void *lost)
{
	struct swp_count_key key = { .pid = pid };
	long k = bpf_get_stackid(ctx, stacks, 0);
	long u = bpf_get_stackid(ctx, stacks, BPF_F_USER_STACK);

	/* -EFAULT: no such stack (user mode for the kernel stack); -EEXIST: hash collision with
	 * another stack; -ENOMEM: map full. The last two are lost samples. */
	if (k < 0 && k != -EFAULT)
		goto lost;
	if (u < 0 && u != -EFAULT)
		goto lost;
	key.kstack = k < 0 ? -1 : k;
	key.ustack = u < 0 ? -1 : u;
	if (!add_one(counts, &key))
		return;
lost:
	if (add_one(lost, &pid))
		__sync_fetch_and_add(&lost_unattributed, 1);
}

struct task_struct;

/* The sample's user registers in DWARF order: the interrupted ones when it hit user mode, else
 * those its task entered the kernel with. False when there are none to be had. */
static __always_inline bool user_regs(struct bpf_perf_event_data *ctx, __u64 *out)
{
	struct pt_regs r;

	if (ctx->regs.cs & 3) {
		r = ctx->regs;
	} else {
		if (!has_task_regs)
			return false;
		void *tr = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());
		if (!tr || bpf_probe_read_kernel(&r, sizeof(r), tr) || !(r.cs & 3))
			return false;
	}
	out[0] = r.rax, out[1] = r.rdx, out[2] = r.rcx, out[3] = r.rbx;
	out[4] = r.rsi, out[5] = r.rdi, out[6] = r.rbp, out[7] = r.rsp;
	out[8] = r.r8, out[9] = r.r9, out[10] = r.r10, out[11] = r.r11;
	out[12] = r.r12, out[13] = r.r13, out[14] = r.r14, out[15] = r.r15;
	out[16] = r.rip;
	return true;
}

/* A DWARF/AUTO sample into the ring buffer; false when it could not be recorded. */
static __always_inline bool copy_ustack(struct bpf_perf_event_data *ctx, __u32 pid)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct swp_ustack *r = bpf_map_lookup_elem(&ustack_buf, &cpu);

	if (!r)
		return false;
	r->pid = pid;
	r->len = 0;
	r->below = 0;
	r->flags = 0;
	if (user_regs(ctx, r->regs)) {
		/* from the red zone below the stack pointer, or from the stack pointer when the red
		 * zone's page is not there */
		__u64 sp = r->regs[SWP_REG_RSP] - SWP_REDZONE;
		__u32 want = ustack_size + SWP_REDZONE;
		/* to the end of the first page, then whole pages: a stack ends at a page's end */
		__u32 off = (__u32)(-sp) & 4095;
		if (!off)
			off = 4096; /* on a page boundary */
		r->below = SWP_REDZONE;
		if (bpf_probe_read_user(r->stack, off, (void *)sp)) {
			sp = r->regs[SWP_REG_RSP];
			want = ustack_size;
			r->below = 0;
			off = (__u32)(-sp) & 4095;
			if (!off)
				off = 4096;
			if (bpf_probe_read_user(r->stack, off, (void *)sp))
				off = 0;
		}
		for (int i = 0; off && i < SWP_USTACK_MAX / 4096; i++) {
			if (off >= want || off > SWP_USTACK_MAX - 4096) {
				r->flags = SWP_USTACK_CUT;
				break;
			}
			asm volatile("%0 &= 0xffff" : "+r"(off)); /* a bound the verifier sees */
			if (bpf_probe_read_user(&r->stack[off], 4096, (void *)(sp + off)))
				break;
			off += 4096;
		}
		r->len = off < want ? off : want;
	}
	long k = bpf_get_stack(ctx, r->kips, sizeof(r->kips), 0);
	long u = bpf_get_stack(ctx, r->uips, sizeof(r->uips), BPF_F_USER_STACK);
	r->nk = k > 0 ? (__u32)k / 8 : 0;
	r->nu = u > 0 ? (__u32)u / 8 : 0;
	__u64 size = __builtin_offsetof(struct swp_ustack, stack) + r->len;
	if (size > sizeof(*r))
		size = sizeof(*r);
	/* no wakeup: the drain reads the ring when it comes, nobody waits on it */
	return bpf_ringbuf_output(&ustacks, r, size, BPF_RB_NO_WAKEUP) == 0;
}

/* The current task's process as the loader sees it; 0 outside the loader's pid namespace. */
static __always_inline __u32 current_pid(void)
{
	if (pidns_ino) {
		struct bpf_pidns_info ns;

		if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
			return 0; /* not a task of our namespace */
		return ns.tgid;
	}
	return bpf_get_current_pid_tgid() >> 32;
}

SEC("perf_event")
int oncpu_sample(struct bpf_perf_event_data *ctx)
{
	__u32 pid = current_pid();

	__u8 *mask = pid ? bpf_map_lookup_elem(&targets, &pid) : NULL;

	if (!mask || !(*mask & SWP_TARGET_ON_CPU))
		return 0;
	if (*mask & SWP_TARGET_USTACK) {
		if (!copy_ustack(ctx, pid) &&
		    add_one(*(volatile __u32 *)&active & 1 ? (void *)&lost_1 : (void *)&lost_0, &pid))
			__sync_fetch_and_add(&lost_unattributed, 1);
		return 0;
	}
	if (*(volatile __u32 *)&active & 1)
		count_sample(ctx, pid, &counts_1, &stacks_1, &lost_1);
	else
		count_sample(ctx, pid, &counts_0, &stacks_0, &lost_0);
	return 0;
}

static __always_inline void leave(__u32 pid, __u64 why)
{
	if (!pid || bpf_map_delete_elem(&targets, &pid))
		return; /* not a target */
	bpf_map_update_elem(&gone, &pid, &why, BPF_ANY);
}

/* the task that calls exec runs another program from now on, under the same pid */
SEC("raw_tp/sched_process_exec")
int on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	leave(current_pid(), SWP_GONE_EXEC);
	return 0;
}

/* Just enough of the kernel's types for CO-RE (relocated against the running kernel's BTF). */
struct signal_struct {
	struct {
		int counter;
	} live; /* threads of the group still alive: 0 once the last one is in do_exit */
} __attribute__((preserve_access_index));
struct task_struct {
	struct signal_struct *signal;
	int pid;                /* the thread's global id */
	unsigned int __state;   /* 5.14 and later */
} __attribute__((preserve_access_index));
struct task_struct___old {
	long state;             /* before 5.14 */
} __attribute__((preserve_access_index));

#define TASK_RUNNING 0
#define TASK_DEAD 0x80

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

static __always_inline void add_off(void *counts, const struct swp_count_key *key, __u64 ns)
{
	struct swp_off_value one = {.switches = 1, .ns = ns}, *v = bpf_map_lookup_elem(counts, key);

	if (!v && bpf_map_update_elem(counts, key, &one, BPF_NOEXIST) == 0)
		return;
	if (!v)
		v = bpf_map_lookup_elem(counts, key); /* another CPU inserted it first */
	if (v) {
		__sync_fetch_and_add(&v->switches, 1);
		__sync_fetch_and_add(&v->ns, ns);
		return;
	}
	__u32 lost = key->pid | SWP_LOST_OFF_CPU;
	if (add_one(*(volatile __u32 *)&active & 1 ? (void *)&lost_1 : (void *)&lost_0, &lost))
		__sync_fetch_and_add(&lost_unattributed, 1);
}

/* The current task (prev, leaving the CPU in state) blocks: noted with its stacks. */
static __always_inline void switch_out(void *ctx, __u32 tid, long state, __u64 now)
{
	if (state == TASK_RUNNING || (state & TASK_DEAD))
		return; /* preempted (it waits for a CPU, not for something), or exiting */
	__u32 pid = current_pid();
	__u8 *mask = pid ? bpf_map_lookup_elem(&targets, &pid) : NULL;

	if (!mask || !(*mask & SWP_TARGET_OFF_CPU))
		return;
	long k = bpf_get_stackid(ctx, &off_stacks, 0);
	long u = bpf_get_stackid(ctx, &off_stacks, BPF_F_USER_STACK);
	if ((k < 0 && k != -EFAULT) || (u < 0 && u != -EFAULT)) {
		__u32 lost = pid | SWP_LOST_OFF_CPU;
		if (add_one(*(volatile __u32 *)&active & 1 ? (void *)&lost_1 : (void *)&lost_0, &lost))
			__sync_fetch_and_add(&lost_unattributed, 1);
		return;
	}
	struct swp_off_start s = {.ts = now, .pid = pid, .kstack = k < 0 ? -1 : k, .ustack = u < 0 ? -1 : u};
	bpf_map_update_elem(&off_start, &tid, &s, BPF_ANY);
}

/* Thread tid comes back: the time it was away, to its stacks. */
static __always_inline void switch_in(__u32 tid, __u64 now)
{
	struct swp_off_start *s = bpf_map_lookup_elem(&off_start, &tid);

	if (!s)
		return;
	struct swp_count_key key = {.pid = s->pid, .kstack = s->kstack, .ustack = s->ustack};
	__u64 ns = now - s->ts;
	bpf_map_delete_elem(&off_start, &tid);
	add_off(*(volatile __u32 *)&active & 1 ? (void *)&off_counts_1 : (void *)&off_counts_0, &key, ns);
}

/* the scheduler switch, where the kernel has BTF: prev leaves, next comes in */
SEC("tp_btf/sched_switch")
int on_switch(__u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1], *next = (struct task_struct *)ctx[2];
	__u64 now = bpf_ktime_get_ns();

	/* ctx[0]: preempted (it still wants the CPU, whatever its state says) */
	switch_out(ctx, BPF_CORE_READ(prev, pid), ctx[0] ? TASK_RUNNING : task_state(prev), now);
	switch_in(BPF_CORE_READ(next, pid), now);
	return 0;
}

/* the same through the tracepoint, where the kernel has no BTF (kernels before 5.18 report the
 * state as a long; they are the ones without BTF) */
struct sched_switch_args {
	__u64 common;
	char prev_comm[16];
	int prev_pid;
	int prev_prio;
	long prev_state;
	char next_comm[16];
	int next_pid;
	int next_prio;
};

SEC("tracepoint/sched/sched_switch")
int on_switch_tp(struct sched_switch_args *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	switch_out(ctx, ctx->prev_pid, ctx->prev_state, now);
	switch_in(ctx->next_pid, now);
	return 0;
}

/* a thread exits; when it is the group's last one, the process is gone */
SEC("raw_tp/sched_process_exit")
int on_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&off_start, &tid); /* it will not come back */
	if (BPF_CORE_READ(t, signal, live.counter) == 0)
		leave(current_pid(), SWP_GONE_EXIT);
	return 0;
}
