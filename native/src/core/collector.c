#include "core/collector.h"

#include <stdlib.h>

void swp__collector_init(struct swp_collector *c, struct swp_stacks *stacks)
{
	memset(c, 0, sizeof(*c));
	c->stacks = stacks;
	c->sym = swp__symbolizer_new();
	swp__u64map_init(&c->counts, 1024);
	swp__u64map_init(&c->lost, 16);
	swp__u64map_init(&c->incomplete, 16);
	swp__u64map_init(&c->gone, 16);
	swp__u64map_init(&c->seen, 1024);
	swp__u64map_init(&c->off_counts, 64);
	swp__u64map_init(&c->off_ns, 64);
	swp__u64map_init(&c->off_lost, 16);
}

void swp__collector_free(struct swp_collector *c)
{
	swp__symbolizer_free(c->sym);
	swp_buf_free(&c->name);
	swp_buf_free(&c->scratch);
	free(c->frames);
	swp__u64map_free(&c->counts);
	swp__u64map_free(&c->lost);
	swp__u64map_free(&c->incomplete);
	swp__u64map_free(&c->gone);
	swp__u64map_free(&c->seen);
	swp__u64map_free(&c->off_counts);
	swp__u64map_free(&c->off_ns);
	swp__u64map_free(&c->off_lost);
	memset(c, 0, sizeof(*c));
}

void swp__collector_reset(struct swp_collector *c)
{
	swp__u64map_clear(&c->counts);
	swp__u64map_clear(&c->lost);
	swp__u64map_clear(&c->incomplete);
	swp__u64map_clear(&c->off_counts);
	swp__u64map_clear(&c->off_ns);
	swp__u64map_clear(&c->off_lost);
	c->off_switches = 0;
	c->samples = 0; /* gone stays: the scheduler reads and clears it when it ends the runs */
}

void swp__collector_forget_pid(struct swp_collector *c, int pid)
{
	swp__sym_forget_pid(c->sym, pid);
	struct swp_u64map kept;
	swp__u64map_init(&kept, c->seen.n);
	for (uint32_t s = 0; s <= c->seen.mask; s++)
		if (c->seen.keys[s] != UINT64_MAX && (int)(c->seen.vals[s] >> 32) != pid)
			*swp__u64map_slot(&kept, c->seen.keys[s]) = c->seen.vals[s];
	swp__u64map_free(&c->seen);
	c->seen = kept;
}

static void push_frame(struct swp_collector *c, uint32_t *n, uint8_t type)
{
	if (*n == c->fcap) {
		c->fcap = c->fcap ? c->fcap * 2 : 256;
		c->frames = swp__xrealloc(c->frames, c->fcap * sizeof(uint32_t));
	}
	c->frames[(*n)++] = swp__intern(&c->stacks->in, type, c->name.data, c->name.len);
}

/* A return address points after its call: look up ip - 1 for every frame but the innermost, so
 * a call that ends a function is charged to that function. */
static inline uint64_t lookup_ip(const uint64_t *ips, uint32_t i)
{
	return i == 0 ? ips[i] : ips[i] - 1;
}

/* Identity of a sampled stack before symbolization: its addresses, and which perf map of the
 * process names its JIT code (a JIT reuses the addresses of the code it replaced). */
static uint64_t ips_key(int pid, uint32_t jit_gen, const uint64_t *kips, uint32_t nk, const uint64_t *uips, uint32_t nu)
{
	uint64_t h = swp__hash64(uips, nu * sizeof(uint64_t), (uint64_t)(uint32_t)pid << 32 | nu);
	h = swp__hash64(kips, nk * sizeof(uint64_t), h ^ ((uint64_t)nk << 48));
	if (jit_gen) /* a round of its own: no bits shared with the pid's */
		h = swp__hash64(&jit_gen, sizeof(jit_gen), h);
	return h == UINT64_MAX ? h - 1 : h; /* UINT64_MAX marks an empty slot */
}

/* The stack table index of a (kernel ips, user ips) pair of pid, symbolized once. */
static uint32_t stack_index(struct swp_collector *c, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips,
			    uint32_t nu)
{
	uint32_t gen = swp__sym_jit_generation(c->sym, pid);
	uint64_t key = ips_key(pid, gen, kips, nk, uips, nu);
	const uint64_t *seen = swp__u64map_get(&c->seen, key);
	if (seen) {
		c->seen_hits++;
		return (uint32_t)*seen;
	}
	c->seen_misses++;
	uint32_t n = 0;
	bool resolved = true;
	for (uint32_t i = nu; i-- > 0;) {
		swp__buf_reset(&c->name);
		if (uips[i] == SWP_IP_INCOMPLETE)
			swp__buf_puts(&c->name, "[incomplete]");
		else
			swp__sym_user(c->sym, pid, lookup_ip(uips, i), &c->name);
		if (c->name.len == 9 && memcmp(c->name.data, "[unknown]", 9) == 0)
			resolved = false;
		push_frame(c, &n, SWP_FRAME_USER);
	}
	for (uint32_t i = nk; i-- > 0;) {
		swp__buf_reset(&c->name);
		swp__sym_kernel(c->sym, lookup_ip(kips, i), &c->name);
		push_frame(c, &n, SWP_FRAME_KERNEL);
	}
	if (n == 0) {
		swp__buf_reset(&c->name);
		swp__buf_puts(&c->name, "[unknown]");
		push_frame(c, &n, SWP_FRAME_USER);
	}
	uint64_t h = swp__stack_hash(&c->stacks->in, c->frames, n, &c->scratch);
	uint32_t idx = swp__stacks_add(c->stacks, h, c->frames, n, NULL);
	if (resolved) {
		uint32_t now_gen = swp__sym_jit_generation(c->sym, pid); /* the map this stack was named by */
		if (now_gen != gen)
			key = ips_key(pid, now_gen, kips, nk, uips, nu);
		if (c->seen.n >= SWP_SEEN_MAX)
			swp__u64map_clear(&c->seen);
		*swp__u64map_slot(&c->seen, key) = swp__pid_stack_key(pid, idx);
	}
	return idx;
}

void swp__collector_add(struct swp_collector *c, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips,
			uint32_t nu, uint64_t count)
{
	uint32_t idx = stack_index(c, pid, kips, nk, uips, nu);
	*swp__u64map_slot(&c->counts, swp__pid_stack_key(pid, idx)) += count;
	c->samples += count;
}

/* An off-CPU kernel stack is taken inside the switch tracepoint: its innermost frames are the
 * tracing machinery (the BPF program, bpf_trace_run, __traceiter_sched_switch). They go: the stack
 * starts at __schedule, where the thread left the CPU. */
static uint32_t tracing_frames(struct swp_collector *c, const uint64_t *kips, uint32_t nk)
{
	for (uint32_t i = 0; i < nk && i < 8; i++) {
		swp__buf_reset(&c->name);
		swp__sym_kernel(c->sym, lookup_ip(kips, i), &c->name);
		if (c->name.len == 10 && memcmp(c->name.data, "__schedule", 10) == 0)
			return i;
	}
	return 0; /* not found: kept whole */
}

void swp__collector_add_off(struct swp_collector *c, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips,
			    uint32_t nu, uint64_t switches, uint64_t ns)
{
	uint32_t skip = tracing_frames(c, kips, nk);
	kips += skip;
	nk -= skip;
	uint64_t k = swp__pid_stack_key(pid, stack_index(c, pid, kips, nk, uips, nu));
	*swp__u64map_slot(&c->off_counts, k) += switches;
	*swp__u64map_slot(&c->off_ns, k) += ns;
	c->off_switches += switches;
}

static void on_sample(void *ctx, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips, uint32_t nu,
		      uint64_t count)
{
	swp__collector_add(ctx, pid, kips, nk, uips, nu, count);
}

static void on_lost(void *ctx, int pid, uint64_t lost)
{
	struct swp_collector *c = ctx;
	*swp__u64map_slot(&c->lost, (uint64_t)(uint32_t)pid) += lost;
}

static void on_gone(void *ctx, int pid, int why)
{
	struct swp_collector *c = ctx;
	*swp__u64map_slot(&c->gone, (uint64_t)(uint32_t)pid) = (uint64_t)why;
}

static void on_off(void *ctx, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips, uint32_t nu,
		   uint64_t switches, uint64_t ns)
{
	swp__collector_add_off(ctx, pid, kips, nk, uips, nu, switches, ns);
}

static void on_off_lost(void *ctx, int pid, uint64_t lost)
{
	struct swp_collector *c = ctx;
	*swp__u64map_slot(&c->off_lost, (uint64_t)(uint32_t)pid) += lost;
}

static void on_ustack(void *ctx, const struct swp_ustack_sample *x)
{
	struct swp_collector *c = ctx;
	uint64_t uips[SWP_STACK_DEPTH];
	uint32_t nu;
	enum swp_unwound how = swp__unwind(c->sym, x, uips, SWP_STACK_DEPTH, &nu);
	c->unwound[how]++;
	if (how == SWP_UNWOUND_CUT || how == SWP_UNWOUND_FAILED) {
		*swp__u64map_slot(&c->incomplete, (uint64_t)(uint32_t)x->pid) += 1;
		if (nu < SWP_STACK_DEPTH)
			uips[nu++] = SWP_IP_INCOMPLETE;
	}
	swp__collector_add(c, x->pid, x->kips, x->nk, uips, nu, 1);
}

static const struct swp_sample_sink *sink_of(struct swp_collector *c, struct swp_sample_sink *s)
{
	*s = (struct swp_sample_sink){.sample = on_sample, .lost = on_lost, .gone = on_gone, .off = on_off,
				      .off_lost = on_off_lost, .ustack = on_ustack, .ctx = c};
	return s;
}

int64_t swp__collector_drain(struct swp_collector *c, struct swp_profiler *p)
{
	struct swp_sample_sink sink;
	return swp__profiler_drain(p, sink_of(c, &sink));
}

int64_t swp__collector_take_ustacks(struct swp_collector *c, struct swp_profiler *p)
{
	struct swp_sample_sink sink;
	return swp__profiler_read_ustacks(p, sink_of(c, &sink));
}

int64_t swp__collector_off_end(struct swp_collector *c, struct swp_profiler *p, int pid)
{
	struct swp_sample_sink sink;
	return swp__profiler_off_end(p, pid, sink_of(c, &sink));
}
