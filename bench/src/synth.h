/*
 * Synthetic but realistic profiles for the benchmarks.
 *
 * A vocabulary of function names (C, C++ and Java style, 12 to 90 characters, plus real kernel
 * function names), a call graph over it, and K distinct stacks of depth 10..60 shaped like a
 * real program's: a few thread entry chains at the root, long shared prefixes, and stacks that
 * differ from an older stack in their last frames (each new stack copies a prefix of an
 * existing one and walks the call graph from there), a quarter of them ending in a kernel
 * chain. Stack popularity is Zipf (s = 1) over a random permutation.
 *
 *   stack 0   _start;__libc_start_main;main;app_run;...;ns3::Handler41::process(...)
 *   stack 1   _start;__libc_start_main;main;app_run;...;ns3::Handler41::parse(...);memcpy
 *                       (shares all but the last frames of stack 0)
 */
#ifndef SWPBENCH_SYNTH_H
#define SWPBENCH_SYNTH_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

static inline double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

struct synth {
	/* vocabulary: user functions [0, n_user), kernel functions [n_user, n_sym) */
	uint32_t n_sym, n_user;
	char **sym;
	uint8_t *kernel;
	uint32_t **callees; /* per user function: n_callee[i] callee ids */
	uint32_t *n_callee;
	/* stacks, root first: frames[off[i] .. off[i] + depth[i]) */
	uint32_t n_stacks;
	uint32_t *off, *depth;
	uint32_t *frames;
	size_t n_frames;
	/* Zipf: cdf over ranks, rank -> stack */
	double *cdf;
	uint32_t *rank_stack;
};

static const char *const synth_kernel_names[] = {
    "entry_SYSCALL_64_after_hwframe",
    "do_syscall_64",
    "__x64_sys_read",
    "ksys_read",
    "vfs_read",
    "new_sync_read",
    "sock_read_iter",
    "sock_recvmsg",
    "tcp_recvmsg",
    "tcp_recvmsg_locked",
    "skb_copy_datagram_iter",
    "__skb_datagram_iter",
    "_copy_to_iter",
    "copy_user_enhanced_fast_string",
    "__x64_sys_write",
    "ksys_write",
    "vfs_write",
    "new_sync_write",
    "sock_write_iter",
    "sock_sendmsg",
    "tcp_sendmsg",
    "tcp_sendmsg_locked",
    "tcp_push",
    "__tcp_push_pending_frames",
    "tcp_write_xmit",
    "__tcp_transmit_skb",
    "ip_queue_xmit",
    "__ip_queue_xmit",
    "ip_finish_output2",
    "__dev_queue_xmit",
    "__x64_sys_futex",
    "do_futex",
    "futex_wait",
    "futex_wait_queue",
    "schedule",
    "__schedule",
    "__x64_sys_epoll_wait",
    "do_epoll_wait",
    "ep_poll",
    "schedule_hrtimeout_range",
    "asm_exc_page_fault",
    "exc_page_fault",
    "do_user_addr_fault",
    "handle_mm_fault",
    "__handle_mm_fault",
    "do_anonymous_page",
    "alloc_pages",
    "__alloc_pages",
    "get_page_from_freelist",
    "clear_page_erms",
    "asm_sysvec_apic_timer_interrupt",
    "sysvec_apic_timer_interrupt",
    "__sysvec_apic_timer_interrupt",
    "hrtimer_interrupt",
    "__hrtimer_run_queues",
    "tick_sched_timer",
    "update_process_times",
    "scheduler_tick",
    "task_tick_fair",
    "update_curr",
    "__x64_sys_openat",
    "do_sys_openat2",
    "do_filp_open",
    "path_openat",
    "link_path_walk",
    "__x64_sys_mmap",
    "ksys_mmap_pgoff",
    "vm_mmap_pgoff",
    "do_mmap",
    "mmap_region",
};

static const char *const synth_roots[][5] = {
    {"_start", "__libc_start_main", "main", "app_run", NULL},
    {"clone3", "start_thread", "worker_main", "worker_loop", NULL},
    {"clone3", "start_thread", "io_thread_main", "event_loop_run", NULL},
    {"clone3", "start_thread", "java_start", "thread_native_entry", "JavaThread::run()"},
    {"clone3", "start_thread", "gc_worker", "GCTaskThread::run()", NULL},
    {"_start", "__libc_start_main", "main", "bg_flush_main", NULL},
};

static char *synth_name(struct rng *r, uint32_t i)
{
	static const char *const verbs[] = {"process",     "handle",   "parse",    "encode",   "decode",
	                                    "read",        "write",    "flush",    "lookup",   "insert",
	                                    "update",      "dispatch", "schedule", "compute",  "serialize",
	                                    "deserialize", "visit",    "apply",    "validate", "merge"};
	static const char *const nouns[] = {"Request", "Buffer",  "Frame",  "Record",  "Table", "Index",  "Session",
	                                    "Message", "Channel", "Block",  "Segment", "Cache", "Query",  "Plan",
	                                    "Node",    "Token",   "Stream", "Batch",   "Event", "Handler"};
	char buf[256];
	const char *v = verbs[rng_below(r, 20)], *n = nouns[rng_below(r, 20)];
	switch (rng_below(r, 4)) {
	case 0: /* C */
		snprintf(buf, sizeof(buf), "%s_%s_%u", v, n, i);
		for (char *p = buf; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		break;
	case 1: /* C++, demangled */
		snprintf(buf, sizeof(buf), "app::ns%u::%s%u::%s(%s const&, unsigned long)", i % 37, n, i % 101, v,
		         rng_below(r, 2) ? "std::basic_string<char, std::char_traits<char>, std::allocator<char> >"
		                         : "std::vector<unsigned char, std::allocator<unsigned char> >");
		break;
	case 2: /* Java */
		snprintf(buf, sizeof(buf), "org.example.service%u.%s%s%u.%s%s", i % 23, n,
		         rng_below(r, 2) ? "Impl" : "", i % 89, v, n);
		break;
	default: /* C++ short */
		snprintf(buf, sizeof(buf), "%s%u::%s()", n, i % 211, v);
		break;
	}
	size_t len = strlen(buf);
	char *s = malloc(len + 1);
	memcpy(s, buf, len + 1);
	return s;
}

static uint64_t synth_stack_key(const uint32_t *f, uint32_t n)
{
	uint64_t h = 0x12345678ULL ^ n;
	for (uint32_t i = 0; i < n; i++) {
		h ^= f[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
		h *= 0xff51afd7ed558ccdULL;
	}
	return h | 1;
}

/* Builds n_stacks distinct stacks over n_user user functions. */
static void synth_build(struct synth *s, uint32_t n_stacks, uint32_t n_user, uint64_t seed)
{
	struct rng r = {seed};
	memset(s, 0, sizeof(*s));
	uint32_t n_roots_syms = 0;
	const uint32_t nk = (uint32_t)(sizeof(synth_kernel_names) / sizeof(synth_kernel_names[0]));
	s->n_user = n_user + 32; /* + root chain names */
	s->n_sym = s->n_user + nk;
	s->sym = calloc(s->n_sym, sizeof(char *));
	s->kernel = calloc(s->n_sym, 1);
	for (uint32_t i = 0; i < n_user; i++)
		s->sym[i] = synth_name(&r, i);
	/* root chain names get ids n_user.. (deduplicated) */
	uint32_t nrc = (uint32_t)(sizeof(synth_roots) / sizeof(synth_roots[0]));
	uint32_t root_ids[8][5];
	uint32_t root_len[8];
	for (uint32_t k = 0; k < nrc; k++) {
		root_len[k] = 0;
		for (int j = 0; j < 5 && synth_roots[k][j]; j++) {
			uint32_t id = UINT32_MAX;
			for (uint32_t q = 0; q < n_roots_syms; q++)
				if (strcmp(s->sym[n_user + q], synth_roots[k][j]) == 0)
					id = n_user + q;
			if (id == UINT32_MAX) {
				id = n_user + n_roots_syms++;
				s->sym[id] = strdup(synth_roots[k][j]);
			}
			root_ids[k][root_len[k]++] = id;
		}
	}
	for (uint32_t q = n_roots_syms; q < 32; q++) {
		char b[32];
		snprintf(b, sizeof(b), "thread_entry_%u", q);
		s->sym[n_user + q] = strdup(b);
	}
	for (uint32_t i = 0; i < nk; i++) {
		s->sym[s->n_user + i] = strdup(synth_kernel_names[i]);
		s->kernel[s->n_user + i] = 1;
	}
	/* call graph: every user function calls 2..8 others; callee 0 is its usual one */
	s->callees = calloc(s->n_user, sizeof(uint32_t *));
	s->n_callee = calloc(s->n_user, sizeof(uint32_t));
	for (uint32_t i = 0; i < s->n_user; i++) {
		uint32_t n = 2 + rng_below(&r, 7);
		s->n_callee[i] = n;
		s->callees[i] = malloc(n * sizeof(uint32_t));
		for (uint32_t k = 0; k < n; k++)
			s->callees[i][k] = rng_below(&r, n_user);
	}
	/* stacks */
	size_t cap = (size_t)n_stacks * 40;
	s->frames = malloc(cap * sizeof(uint32_t));
	s->off = malloc(n_stacks * sizeof(uint32_t));
	s->depth = malloc(n_stacks * sizeof(uint32_t));
	uint32_t set_mask = 1;
	while (set_mask < n_stacks * 4)
		set_mask <<= 1;
	set_mask -= 1;
	uint64_t *set = calloc((size_t)set_mask + 1, sizeof(uint64_t));
	uint32_t f[64];
	uint32_t n_base = n_stacks < 64 ? n_stacks : 64;
	while (s->n_stacks < n_stacks) {
		uint32_t d, keep;
		if (s->n_stacks < n_base) {
			uint32_t k = rng_below(&r, nrc);
			keep = root_len[k];
			memcpy(f, root_ids[k], keep * sizeof(uint32_t));
			d = 10 + rng_below(&r, 51);
		} else {
			/* copy a prefix of an older stack: it differs in its last few frames */
			uint32_t j = rng_below(&r, s->n_stacks);
			uint32_t pd = s->depth[j];
			uint32_t tail = 1 + (uint32_t)(-log(1.0 - rng_unit(&r)) * 5.0);
			keep = pd > tail + 4 ? pd - tail : 4;
			memcpy(f, s->frames + s->off[j], keep * sizeof(uint32_t));
			/* the user part of the copied prefix only */
			while (keep > 4 && s->kernel[f[keep - 1]])
				keep--;
			int spread = (int)rng_below(&r, 9) - 4;
			int dd = (int)pd + spread;
			d = (uint32_t)(dd < 10 ? 10 : dd > 60 ? 60 : dd);
			if (d <= keep)
				d = keep + 1 > 60 ? 60 : keep + 1;
		}
		/* kernel tail for a quarter of the stacks */
		uint32_t kt = 0;
		if (rng_below(&r, 4) == 0)
			kt = 2 + rng_below(&r, 7);
		if (kt + keep >= d)
			kt = d > keep + 1 ? d - keep - 1 : 0;
		uint32_t n = keep;
		while (n < d - kt) {
			uint32_t cur = f[n - 1];
			uint32_t nc = s->n_callee[cur];
			uint32_t pick = rng_below(&r, 10) < 6 ? 0 : rng_below(&r, nc);
			f[n++] = s->callees[cur][pick];
		}
		if (kt) {
			uint32_t start = rng_below(&r, nk - kt);
			f[n++] = s->n_user + 0; /* entry_SYSCALL_64_after_hwframe */
			for (uint32_t k = 1; k < kt; k++)
				f[n++] = s->n_user + start + k;
		}
		uint64_t key = synth_stack_key(f, n);
		uint32_t slot = (uint32_t)key & set_mask;
		bool dup = false;
		while (set[slot]) {
			if (set[slot] == key) {
				dup = true;
				break;
			}
			slot = (slot + 1) & set_mask;
		}
		if (dup)
			continue;
		set[slot] = key;
		if (s->n_frames + n > cap) {
			cap *= 2;
			s->frames = realloc(s->frames, cap * sizeof(uint32_t));
		}
		s->off[s->n_stacks] = (uint32_t)s->n_frames;
		s->depth[s->n_stacks] = n;
		memcpy(s->frames + s->n_frames, f, n * sizeof(uint32_t));
		s->n_frames += n;
		s->n_stacks++;
	}
	free(set);
	/* Zipf over a random permutation */
	s->cdf = malloc(n_stacks * sizeof(double));
	s->rank_stack = malloc(n_stacks * sizeof(uint32_t));
	for (uint32_t i = 0; i < n_stacks; i++)
		s->rank_stack[i] = i;
	for (uint32_t i = n_stacks; i > 1; i--) {
		uint32_t j = rng_below(&r, i);
		uint32_t t = s->rank_stack[i - 1];
		s->rank_stack[i - 1] = s->rank_stack[j];
		s->rank_stack[j] = t;
	}
	double acc = 0;
	for (uint32_t i = 0; i < n_stacks; i++) {
		acc += 1.0 / (double)(i + 1);
		s->cdf[i] = acc;
	}
	for (uint32_t i = 0; i < n_stacks; i++)
		s->cdf[i] /= acc;
}

/* A stack drawn by popularity. */
static inline uint32_t synth_draw(const struct synth *s, struct rng *r)
{
	double u = rng_unit(r);
	uint32_t lo = 0, hi = s->n_stacks - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (s->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return s->rank_stack[lo];
}

/*
 * One second of samples: draws until `records` distinct stacks are counted (as one flush of a
 * busy multi-threaded process would hold them). out_idx/out_cnt receive the stacks and their
 * counts; mark is a per-stack scratch array (n_stacks entries, all 0 on the first call).
 */
static inline uint32_t synth_second(const struct synth *s, struct rng *r, uint32_t records, uint32_t *mark,
                                    uint32_t stamp, uint32_t *slot_of, uint32_t *out_idx, uint64_t *out_cnt)
{
	uint32_t n = 0;
	if (records > s->n_stacks)
		records = s->n_stacks;
	while (n < records) {
		uint32_t k = synth_draw(s, r);
		if (mark[k] != stamp) {
			mark[k] = stamp;
			slot_of[k] = n;
			out_idx[n] = k;
			out_cnt[n] = 0;
			n++;
		}
		out_cnt[slot_of[k]]++;
	}
	return n;
}

static void synth_free(struct synth *s)
{
	for (uint32_t i = 0; i < s->n_sym; i++)
		free(s->sym[i]);
	for (uint32_t i = 0; i < s->n_user; i++)
		free(s->callees[i]);
	free(s->sym);
	free(s->kernel);
	free(s->callees);
	free(s->n_callee);
	free(s->frames);
	free(s->off);
	free(s->depth);
	free(s->cdf);
	free(s->rank_stack);
	memset(s, 0, sizeof(*s));
}

#endif
