/*
 * Loader and drain of bpf/oncpu.bpf.c (see profiler.h).
 *
 * Double buffering: the program reads the global `active` (in .bss, mmaped here) once per
 * sample and writes counts, stacks and lost counts of that sample into set `active`. A drain
 * stores the other index, then waits until no program that may have read the old index is
 * still running, and only then reads and empties the old set: no sample is half-written into
 * it and no stack id it refers to is deleted under the kernel's feet. The wait is a kernel RCU
 * grace period: perf_event programs run inside rcu_read_lock() (and with IRQs off), and every
 * update of a map-in-map returns to user space only after synchronize_rcu(), so rewriting the
 * one slot of `sync_gate` is the wait (measured around 10-30 ms here, not a guessed sleep).
 *
 * Lost samples (stack map collision or full, count map full) are counted per pid in the lost
 * map of the same set and drained with it; when even that map is full they go to the global
 * `lost_unattributed`, which the drain takes with an atomic exchange (reported as pid 0).
 */
#define _GNU_SOURCE
#include "profiler/profiler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/u64map.h"
#include "oncpu.h"
#include "oncpu.skel.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, returned by map types without batch ops */
#endif
#define PROC_PID_INIT_INO 0xEFFFFFFCU /* inode of the initial pid namespace */
#define DRAIN_BATCH 1024u

struct swp_profiler {
	struct oncpu_bpf *skel;
	struct bpf_link **links; /* one per online CPU; each owns its perf event fd */
	int nlinks;
	int targets_fd, gone_fd, counts_fd[2], stacks_fd[2], lost_fd[2];
	struct bpf_link *exec_link, *exit_link; /* NULL where the kernel lacks them: exec/exit seen by scans */
	/* off-CPU: the scheduler switch hook, attached while some target wants it */
	int off_counts_fd[2], off_stacks_fd, off_start_fd;
	struct bpf_program *switch_prog;
	struct bpf_link *switch_link;
	struct swp_u64map masks;  /* pid -> SWP_TARGET_* as set here */
	/* DWARF/AUTO samples */
	struct ring_buffer *ustacks;
	uint32_t ustack_bytes;
	bool ustack_modes; /* opened for DWARF/AUTO targets */
	struct drain *cur; /* the drain consuming ustacks */
	uint32_t n_off;           /* pids with SWP_TARGET_OFF_CPU */
	uint8_t *off_seen;        /* off_stacks ids referenced since it was last cleared (a bit each) */
	uint32_t n_off_seen;
	uint32_t max_stacks;
	uint32_t max_targets;
	bool no_batch; /* batch ops unavailable (or disabled): iterate with get_next_key */
	/* drain buffers, allocated once */
	void *keys;     /* DRAIN_BATCH keys of the largest key size */
	void *vals;     /* DRAIN_BATCH values of the largest value size */
	uint64_t kips[SWP_STACK_DEPTH], uips[SWP_STACK_DEPTH];
};

/* an option, or its default when the caller's struct is too old to carry it or it is 0 */
#define OPT(o, f, def)                                                                              \
	((o)->sz >= offsetof(struct swp_profiler_opts, f) + sizeof((o)->f) && (o)->f ? (o)->f : (def))

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n > 0 && (size_t)n < sizeof(msg) && msg[n - 1] == '\n')
		msg[n - 1] = 0;
	swp__log(level == LIBBPF_WARN ? SWP_LOG_WARN : SWP_LOG_DEBUG, "%s", msg);
	return 0;
}

static const char *why(int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		return "needs root or CAP_BPF+CAP_PERFMON";
	case ENOSYS:
		return "the kernel has no bpf()/perf_event_open() (ENOSYS)";
	case EOPNOTSUPP:
	case ENOTSUPP:
		return "not supported by this kernel";
	default:
		return strerror(-err);
	}
}

static int open_cpu_clock(int cpu, int freq)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.freq = 1,
		.sample_freq = (uint64_t)freq,
	};
	int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int on_ustack(void *ctx, void *data, size_t size);

int swp__ustack_bytes(uint32_t requested, uint32_t *out)
{
	*out = requested ? requested : 16384;
	if (*out < 8192 || *out > SWP_USTACK_MAX || *out % 8)
		return swp__fail(EINVAL, "user stack copy of %u bytes (8192 to %u, a multiple of 8)", *out, SWP_USTACK_MAX);
	return 0;
}

int swp__unwind_mode(const char *name, unsigned *bits)
{
	*bits = SWP_TARGET_AUTO; /* the default */
	if (!name || !*name || !strcasecmp(name, "auto"))
		return 0;
	*bits = 0;
	if (!strcasecmp(name, "fp"))
		return 0;
	if (!strcasecmp(name, "dwarf"))
		*bits = SWP_TARGET_DWARF;
	else if (!strcasecmp(name, "auto"))
		*bits = SWP_TARGET_AUTO;
	else
		return swp__fail(EINVAL, "unknown unwinding mode \"%s\" (fp, dwarf or auto)", name);
	return 0;
}

int swp__profiler_open(const struct swp_profiler_opts *opts, struct swp_profiler **out)
{
	struct swp_profiler *p;
	struct stat ns;
	int err, ncpu, freq;

	*out = NULL;
	if (!opts || opts->sz < offsetof(struct swp_profiler_opts, frequency) + sizeof(int))
		return swp__fail(EINVAL, "profiler: options missing");
	freq = opts->frequency;
	if (freq < 1 || freq > 1000)
		return swp__fail(EINVAL, "profiler: frequency %d Hz outside 1..1000", freq);

	libbpf_set_print(libbpf_log);
	p = swp__xcalloc(1, sizeof(*p));
	p->skel = oncpu_bpf__open();
	if (!p->skel) {
		err = swp__fail(errno, "profiler: open BPF object: %s", strerror(errno));
		goto fail;
	}
	struct oncpu_bpf *s = p->skel;
	uint32_t max_stacks = OPT(opts, max_stacks, 16384u), max_counts = OPT(opts, max_counts, 32768u);
	p->max_targets = OPT(opts, max_targets, 1024u);
	p->no_batch = OPT(opts, no_batch, false);
	struct bpf_map *sized[][2] = {
		{ s->maps.counts_0, s->maps.counts_1 },
		{ s->maps.stacks_0, s->maps.stacks_1 },
		{ s->maps.lost_0, s->maps.lost_1 },
		{ s->maps.off_counts_0, s->maps.off_counts_1 },
	};
	uint32_t sizes[] = { max_counts, max_stacks, p->max_targets, max_counts };
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 2; j++)
			bpf_map__set_max_entries(sized[i][j], sizes[i]);
	bpf_map__set_max_entries(s->maps.targets, p->max_targets);
	bpf_map__set_max_entries(s->maps.gone, p->max_targets);
	bpf_map__set_max_entries(s->maps.off_stacks, max_stacks);
	p->max_stacks = max_stacks;
	err = swp__ustack_bytes(OPT(opts, ustack_bytes, 0u), &p->ustack_bytes);
	if (err)
		goto fail;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0) {
		err = swp__fail(ncpu < 0 ? ncpu : EINVAL, "profiler: cannot count possible CPUs");
		goto fail;
	}
	s->rodata->ustack_size = p->ustack_bytes;
	/* the helper wants the kernel's BTF (a BTF task pointer): without it, it stays out of the program */
	s->rodata->has_task_regs = access("/sys/kernel/btf/vmlinux", R_OK) == 0 &&
				   libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_task_pt_regs, NULL) > 0;
	p->ustack_modes = OPT(opts, unwinding, false);
	bpf_map__set_max_entries(s->maps.ustack_buf, p->ustack_modes ? (uint32_t)ncpu : 1);
	/* two drain intervals of samples at the full copy on every online CPU, in 1..64 MiB (a power
	 * of two); one page when no target will be unwound here */
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t want = 2ull * (uint64_t)freq * (uint64_t)(online > 0 ? online : ncpu) *
			(offsetof(struct swp_ustack, stack) + p->ustack_bytes + SWP_REDZONE) *
			(uint64_t)OPT(opts, drain_ms, 1000) / 1000;
	uint32_t ring = p->ustack_modes ? 1u << 20 : (uint32_t)sysconf(_SC_PAGESIZE);
	while (p->ustack_modes && ring < want && ring < (64u << 20))
		ring <<= 1;
	bpf_map__set_max_entries(s->maps.ustacks, ring);
	/* the exit hook reads the kernel's task struct (CO-RE): without the kernel's BTF it stays out,
	 * and the switch hook is the tracepoint rather than the BTF one */
	bool btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (!btf)
		bpf_program__set_autoload(s->progs.on_exit, false);
	bpf_program__set_autoload(btf ? s->progs.on_switch_tp : s->progs.on_switch, false);
	p->switch_prog = btf ? s->progs.on_switch : s->progs.on_switch_tp;
	swp__u64map_init(&p->masks, 64);
	p->off_seen = swp__xcalloc(max_stacks / 8 + 1, 1);
	/* inside a pid namespace the program reports pids of that namespace, as getpid() does here */
	if (stat("/proc/self/ns/pid", &ns) == 0 && ns.st_ino != PROC_PID_INIT_INO) {
		s->rodata->pidns_dev = ns.st_dev;
		s->rodata->pidns_ino = ns.st_ino;
	}

	err = oncpu_bpf__load(s);
	if (err) {
		err = swp__fail(err, "profiler: load BPF program: %s", why(err));
		goto fail;
	}
	p->targets_fd = bpf_map__fd(s->maps.targets);
	p->gone_fd = bpf_map__fd(s->maps.gone);
	p->exec_link = bpf_program__attach(s->progs.on_exec);
	if (!p->exec_link)
		swp_warn("profiler: no exec hook (%s): a target that execs is seen at the next scan", strerror(errno));
	if (bpf_program__autoload(s->progs.on_exit)) {
		p->exit_link = bpf_program__attach(s->progs.on_exit);
		if (!p->exit_link)
			swp_warn("profiler: no exit hook (%s): an exited target is seen at the next flush", strerror(errno));
	}
	for (int j = 0; j < 2; j++) {
		p->counts_fd[j] = bpf_map__fd(sized[0][j]);
		p->stacks_fd[j] = bpf_map__fd(sized[1][j]);
		p->lost_fd[j] = bpf_map__fd(sized[2][j]);
		p->off_counts_fd[j] = bpf_map__fd(sized[3][j]);
	}
	p->off_stacks_fd = bpf_map__fd(s->maps.off_stacks);
	p->off_start_fd = bpf_map__fd(s->maps.off_start);
	p->keys = swp__xcalloc(DRAIN_BATCH, sizeof(struct swp_count_key));
	p->vals = swp__xcalloc(DRAIN_BATCH, sizeof(struct swp_off_value));
	p->ustacks = ring_buffer__new(bpf_map__fd(s->maps.ustacks), on_ustack, p, NULL);
	if (!p->ustacks) {
		err = swp__fail(-errno, "profiler: ring buffer: %s", why(-errno));
		goto fail;
	}
	p->links = swp__xcalloc((size_t)ncpu, sizeof(*p->links));
	for (int cpu = 0; cpu < ncpu; cpu++) {
		int pfd = open_cpu_clock(cpu, freq);
		if (pfd == -ENODEV)
			continue; /* offline CPU */
		if (pfd < 0) {
			err = swp__fail(pfd, "profiler: perf_event_open(cpu-clock, cpu %d, %d Hz): %s%s", cpu, freq,
					why(pfd), pfd == -EINVAL ? " (above kernel.perf_event_max_sample_rate?)" : "");
			goto fail;
		}
		struct bpf_link *l = bpf_program__attach_perf_event(s->progs.oncpu_sample, pfd);
		if (!l) {
			err = -errno;
			close(pfd); /* not owned by a link yet */
			err = swp__fail(err, "profiler: attach to cpu %d: %s", cpu, why(err));
			goto fail;
		}
		p->links[p->nlinks++] = l;
	}
	if (!p->nlinks) {
		err = swp__fail(ENODEV, "profiler: no online CPU");
		goto fail;
	}
	swp_debug("profiler: %d Hz on %d CPUs, %u stacks / %u counts / %u targets per set", freq, p->nlinks,
		  max_stacks, max_counts, p->max_targets);
	*out = p;
	return 0;
fail:
	swp__profiler_close(p);
	return err;
}

void swp__profiler_close(struct swp_profiler *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]); /* detaches and closes the perf fd */
	bpf_link__destroy(p->exec_link);
	bpf_link__destroy(p->exit_link);
	bpf_link__destroy(p->switch_link);
	ring_buffer__free(p->ustacks);
	oncpu_bpf__destroy(p->skel);
	swp__u64map_free(&p->masks);
	free(p->off_seen);
	free(p->links);
	free(p->keys);
	free(p->vals);
	free(p);
}

int swp__profiler_set_targets(struct swp_profiler *p, int pid, unsigned targets)
{
	__u32 key = (__u32)pid;
	__u8 mask = (__u8)(targets & (SWP_TARGET_ON_CPU | SWP_TARGET_OFF_CPU | SWP_TARGET_USTACK));
	int err;

	if (pid <= 0)
		return swp__fail(EINVAL, "profiler: bad pid %d", pid);
	if ((mask & SWP_TARGET_USTACK) == SWP_TARGET_USTACK)
		return swp__fail(EINVAL, "profiler: pid %d: DWARF or AUTO, not both", pid);
	if ((mask & SWP_TARGET_USTACK) && !p->ustack_modes)
		return swp__fail(EINVAL, "profiler: pid %d: DWARF or AUTO on a profiler opened without unwinding", pid);
	if (!(mask & (SWP_TARGET_ON_CPU | SWP_TARGET_OFF_CPU)))
		mask = 0; /* an unwinding mode alone profiles nothing */
	uint64_t *was = swp__u64map_get(&p->masks, (uint64_t)pid);
	if (was && !*was)
		was = NULL; /* 0: not a target any more */
	bool off_before = was && (*was & SWP_TARGET_OFF_CPU), off_now = mask & SWP_TARGET_OFF_CPU;
	if (off_now && !off_before && !p->switch_link) {
		/* the switch hook runs on every context switch of the host: attached only while wanted */
		p->switch_link = bpf_program__attach(p->switch_prog);
		if (!p->switch_link) {
			err = -errno;
			return swp__fail(err, "profiler: attach the scheduler switch hook: %s", why(err));
		}
	}
	if (mask)
		err = bpf_map_update_elem(p->targets_fd, &key, &mask, BPF_ANY);
	else
		err = bpf_map_delete_elem(p->targets_fd, &key);
	if (!mask && err == -ENOENT && was)
		err = 0; /* it left on its own (exec, exit): the BPF side took it out already */
	if (err == -E2BIG)
		err = swp__fail(err, "profiler: already %u target processes (max_targets)", p->max_targets);
	else if (err)
		err = swp__fail(err, "profiler: %s pid %d: %s", mask ? "add" : "remove", pid,
				err == -ENOENT ? "not a target" : strerror(-err));
	if (err && !(mask && was)) {
		if (off_now && !off_before && !p->n_off) {
			bpf_link__destroy(p->switch_link);
			p->switch_link = NULL;
		}
		return err;
	}
	p->n_off += (uint32_t)off_now - (uint32_t)off_before;
	*swp__u64map_slot(&p->masks, (uint64_t)pid) = mask;
	if (!p->n_off && p->switch_link) {
		bpf_link__destroy(p->switch_link);
		p->switch_link = NULL;
	}
	return err;
}

int swp__profiler_add_pid(struct swp_profiler *p, int pid)
{
	return swp__profiler_set_targets(p, pid, SWP_TARGET_ON_CPU);
}

int swp__profiler_remove_pid(struct swp_profiler *p, int pid)
{
	__u32 key = (__u32)pid;
	__u8 mask;
	bool present = bpf_map_lookup_elem(p->targets_fd, &key, &mask) == 0;
	int err = swp__profiler_set_targets(p, pid, 0);
	return present || err ? err : swp__fail(ENOENT, "profiler: remove pid %d: not a target", pid);
}

/* ---- drain ---- */

struct drain {
	struct swp_profiler *p;
	const struct swp_sample_sink *sink;
	int set;       /* the set being drained */
	int64_t total; /* samples handed to the sink */
};

static void report_lost(struct drain *d, int pid, uint64_t n)
{
	if (n && d->sink->lost)
		d->sink->lost(d->sink->ctx, pid, n);
}

/* ips of a stack id of map fd, innermost first, up to the first 0 */
static int read_stack(int fd, int32_t id, uint64_t *ips, uint32_t *n)
{
	*n = 0;
	if (id < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &id, ips))
		return -1;
	while (*n < SWP_STACK_DEPTH && ips[*n])
		(*n)++;
	return 0;
}

static uint64_t u64_of(const void *v)
{
	uint64_t n;
	memcpy(&n, v, sizeof(n));
	return n;
}

static void on_count(struct drain *d, const void *k, const void *v)
{
	const struct swp_count_key *key = k;
	struct swp_profiler *p = d->p;
	uint32_t nk, nu;
	uint64_t n = u64_of(v);
	int fd = p->stacks_fd[d->set];

	if (read_stack(fd, key->kstack, p->kips, &nk) || read_stack(fd, key->ustack, p->uips, &nu)) {
		/* cannot happen while the set is quiet; count it rather than invent a stack */
		swp_debug("profiler: stack %d/%d of pid %u vanished", key->kstack, key->ustack, key->pid);
		report_lost(d, (int)key->pid, n);
		return;
	}
	if (d->sink->sample)
		d->sink->sample(d->sink->ctx, (int)key->pid, p->kips, nk, p->uips, nu, n);
	d->total += (int64_t)n;
}

static void on_lost(struct drain *d, const void *k, const void *v)
{
	__u32 pid = *(const __u32 *)k;
	if (pid & SWP_LOST_OFF_CPU) {
		if (d->sink->off_lost)
			d->sink->off_lost(d->sink->ctx, (int)(pid & ~SWP_LOST_OFF_CPU), u64_of(v));
		return;
	}
	report_lost(d, (int)pid, u64_of(v));
}

static void on_gone(struct drain *d, const void *k, const void *v)
{
	if (d->sink->gone)
		d->sink->gone(d->sink->ctx, (int)*(const __u32 *)k, (int)u64_of(v));
}

/* An off-CPU stack id came out of a drain: noted, so the map is cleared before it fills. */
static void off_seen(struct swp_profiler *p, int32_t id)
{
	if (id < 0 || (uint32_t)id >= p->max_stacks || (p->off_seen[id / 8] & (1u << (id % 8))))
		return;
	p->off_seen[id / 8] |= (uint8_t)(1u << (id % 8));
	p->n_off_seen++;
}

/* (pid, kernel stack, user stack) blocked `switches` times for `ns`: to the sink. A stack that is
 * gone (off_stacks was cleared while the thread was away) makes them lost. */
static void off_to_sink(struct drain *d, const struct swp_count_key *key, uint64_t switches, uint64_t ns)
{
	struct swp_profiler *p = d->p;
	uint32_t nk, nu;

	if (read_stack(p->off_stacks_fd, key->kstack, p->kips, &nk) ||
	    read_stack(p->off_stacks_fd, key->ustack, p->uips, &nu)) {
		if (d->sink->off_lost)
			d->sink->off_lost(d->sink->ctx, (int)key->pid, switches);
		return;
	}
	off_seen(p, key->kstack);
	off_seen(p, key->ustack);
	if (d->sink->off)
		d->sink->off(d->sink->ctx, (int)key->pid, p->kips, nk, p->uips, nu, switches, ns);
	d->total += (int64_t)switches;
}

static void on_off(struct drain *d, const void *k, const void *v)
{
	struct swp_off_value o;
	memcpy(&o, v, sizeof(o));
	off_to_sink(d, k, o.switches, o.ns);
}

/* A DWARF/AUTO sample from the ring buffer, to the sink. */
static int on_ustack(void *ctx, void *data, size_t size)
{
	struct swp_profiler *p = ctx;
	struct drain *d = p->cur;
	const struct swp_ustack *r = data;
	size_t head = offsetof(struct swp_ustack, stack);

	if (!d || size < head || r->nk > SWP_STACK_DEPTH || r->nu > SWP_STACK_DEPTH || r->len > size - head ||
	    r->below > SWP_REDZONE || r->below > r->len)
		return 0; /* not one of ours: cannot happen */
	uint64_t *mask = swp__u64map_get(&p->masks, r->pid);
	if (!mask || !(*mask & SWP_TARGET_USTACK))
		return 0; /* its run ended since (no run would take it): unwinding it would only bring
			   * back the state its end dropped */
	struct swp_ustack_sample s = {
		.pid = (int)r->pid, .mode = *mask & SWP_TARGET_AUTO ? SWP_TARGET_AUTO : SWP_TARGET_DWARF,
		.kips = (const uint64_t *)r->kips, .nk = r->nk, .fp = (const uint64_t *)r->uips, .nfp = r->nu,
		.regs = (const uint64_t *)r->regs, .stack = r->stack,
		.len = r->len, .stack_at = r->regs[SWP_REG_RSP] - r->below, .cut = (r->flags & SWP_USTACK_CUT) != 0};
	if (d->sink->ustack)
		d->sink->ustack(d->sink->ctx, &s);
	d->total++;
	return 0;
}

/* Hands every (key, value) of a quiet hash map to `each` and empties the map. */
static int drain_hash(struct drain *d, int fd, size_t ksz, size_t vsz,
		      void (*each)(struct drain *, const void *, const void *))
{
	struct swp_profiler *p = d->p;
	char *keys = p->keys, *vals = p->vals;
	struct swp_off_value v; /* the largest value */
	int err;

	if (!p->no_batch) {
		/* the batch token: a bucket index (u32) for hash maps */
		uint64_t in[2] = { 0 }, outb[2] = { 0 };
		for (bool first = true;; first = false) {
			__u32 n = DRAIN_BATCH;
			err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : in, outb, keys, vals, &n, NULL);
			if (err && err != -ENOENT) {
				if (first && (err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP)) {
					swp_debug("profiler: no batch map ops (%d), iterating", err);
					p->no_batch = true;
					break;
				}
				return swp__fail(err, "profiler: drain map: %s", strerror(-err));
			}
			for (__u32 i = 0; i < n; i++)
				each(d, keys + i * ksz, vals + i * vsz);
			if (err == -ENOENT)
				return 0;
			memcpy(in, outb, sizeof(in));
		}
	}
	/* fallback: find the next key before deleting the current one, so the walk stays linear */
	char *cur = keys, *next = keys + sizeof(struct swp_count_key);
	err = bpf_map_get_next_key(fd, NULL, cur);
	while (!err) {
		int nerr = bpf_map_get_next_key(fd, cur, next);
		if (!bpf_map_lookup_elem(fd, cur, &v)) {
			bpf_map_delete_elem(fd, cur);
			each(d, cur, &v);
		}
		char *t = cur;
		cur = next;
		next = t;
		err = nerr;
	}
	return err == -ENOENT ? 0 : swp__fail(err, "profiler: iterate map: %s", strerror(-err));
}

/* Deletes every stack of a quiet stack map (no batch ops for this map type). */
static void clear_stacks(int fd)
{
	__u32 cur, next;
	int err = bpf_map_get_next_key(fd, NULL, &cur);

	while (!err) {
		err = bpf_map_get_next_key(fd, &cur, &next);
		bpf_map_delete_elem(fd, &cur);
		cur = next;
	}
}

/* Returns once no program that may have read the old `active` is still running. */
static void wait_programs(struct swp_profiler *p)
{
	__u32 zero = 0;
	int inner = bpf_map__fd(p->skel->maps.sync_inner);

	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.sync_gate), &zero, &inner, BPF_ANY) == 0)
		return; /* the kernel ran synchronize_rcu() before returning */
	usleep(5000); /* programs run for microseconds: a sleep is all but always enough */
}

int64_t swp__profiler_drain(struct swp_profiler *p, const struct swp_sample_sink *sink)
{
	struct oncpu_bpf__bss *bss = p->skel->bss;
	int old = (int)(__atomic_load_n(&bss->active, __ATOMIC_RELAXED) & 1);
	struct drain d = { .p = p, .sink = sink, .set = old };
	int err;

	__atomic_store_n(&bss->active, (__u32)(old ^ 1), __ATOMIC_SEQ_CST);
	wait_programs(p);
	/* On an error the rest stays in the old set, which the next drain makes active again and
	 * the one after drains: nothing is lost, stack ids stay valid (stacks are cleared last). */
	err = drain_hash(&d, p->counts_fd[old], sizeof(struct swp_count_key), sizeof(uint64_t), on_count);
	if (err)
		return err;
	clear_stacks(p->stacks_fd[old]);
	err = drain_hash(&d, p->off_counts_fd[old], sizeof(struct swp_count_key), sizeof(struct swp_off_value), on_off);
	if (err)
		return err;
	/* off_stacks is not flipped (a thread is away across drains): cleared when it fills up, the
	 * stacks of threads away then lost (counted) */
	if (p->n_off_seen > p->max_stacks / 4 * 3) {
		clear_stacks(p->off_stacks_fd);
		memset(p->off_seen, 0, p->max_stacks / 8 + 1);
		p->n_off_seen = 0;
	}
	/* DWARF/AUTO samples: all those in the ring buffer now (of either set: they carry their stacks) */
	int64_t u = swp__profiler_read_ustacks(p, sink);
	if (u < 0)
		return u;
	d.total += u;
	err = drain_hash(&d, p->lost_fd[old], sizeof(__u32), sizeof(uint64_t), on_lost);
	if (err)
		return err;
	report_lost(&d, 0, __atomic_exchange_n(&bss->lost_unattributed, 0, __ATOMIC_SEQ_CST));
	/* after the samples: what a target counted before it left is in them */
	err = drain_hash(&d, p->gone_fd, sizeof(__u32), sizeof(uint64_t), on_gone);
	if (err)
		return err;
	return d.total;
}

int64_t swp__profiler_read_ustacks(struct swp_profiler *p, const struct swp_sample_sink *sink)
{
	struct drain d = {.p = p, .sink = sink};
	p->cur = &d;
	int err = ring_buffer__consume(p->ustacks);
	p->cur = NULL;
	if (err < 0)
		return swp__fail(err, "profiler: read the ring buffer: %s", strerror(-err));
	return d.total;
}

int64_t swp__profiler_off_end(struct swp_profiler *p, int pid, const struct swp_sample_sink *sink)
{
	struct drain d = {.p = p, .sink = sink};
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns's clock */
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	__u32 cur, next;
	struct swp_off_start s;
	int err = bpf_map_get_next_key(p->off_start_fd, NULL, &cur);
	while (!err) {
		err = bpf_map_get_next_key(p->off_start_fd, &cur, &next);
		if (!bpf_map_lookup_elem(p->off_start_fd, &cur, &s) && (int)s.pid == pid &&
		    !bpf_map_delete_elem(p->off_start_fd, &cur)) {
			struct swp_count_key key = {.pid = s.pid, .kstack = s.kstack, .ustack = s.ustack};
			off_to_sink(&d, &key, 1, now > s.ts ? now - s.ts : 0);
		}
		cur = next;
	}
	return d.total;
}
