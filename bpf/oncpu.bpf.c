// SPDX-License-Identifier: GPL-2.0
/*
 * On-CPU sampler: attached to one PERF_COUNT_SW_CPU_CLOCK event per CPU. For a sampled task
 * whose process is in `targets`, counts (pid, kernel stack id, user stack id) in the map set
 * selected by `active`. User space flips `active`, waits for a grace period (programs run
 * under RCU), then drains and clears the other set at leisure.
 *
 * A process's identity is its pid only while it runs its program: when a target execs another
 * program, or its last thread exits (from then on its pid may be reused by another process),
 * two raw tracepoints take its pid out of `targets` at that moment and note it in `gone`, so no
 * sample of what comes next is counted as it, and user space ends its run.
 */
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

	if (!pid || !bpf_map_lookup_elem(&targets, &pid))
		return 0;
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
} __attribute__((preserve_access_index));

/* a thread exits; when it is the group's last one, the process is gone */
SEC("raw_tp/sched_process_exit")
int on_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(t, signal, live.counter) == 0)
		leave(current_pid(), SWP_GONE_EXIT);
	return 0;
}
