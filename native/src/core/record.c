/* swp_record: profile one process for a while and print, with no store (`swprof record`). */
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "core/collector.h"
#include "symbols/perfmap.h"
#include "symbols/unwind.h"
#include "tasks/discovery.h"

SWP_API int swp_record(const struct swp_record_req *q, struct swp_buf *out)
{
	swp__clear_error();
	if (!q || !out || q->sz < offsetof(struct swp_record_req, unwind))
		return swp__fail(EINVAL, "request and out are required");
	bool has_unwind = q->sz >= offsetof(struct swp_record_req, ustack_bytes) + sizeof(q->ustack_bytes);
	uint32_t ustack = has_unwind ? q->ustack_bytes : 0;
	int freq = q->frequency ? q->frequency : 99;
	if (freq < 1 || freq > 1000)
		return swp__fail(EINVAL, "frequency %d Hz is out of range (1 to 1000)", freq);
	if (q->duration_s < 1)
		return swp__fail(EINVAL, "duration must be at least 1 second");
	static const char *const formats[] = {"folded", "json", "pprof", "speedscope", "svg", "html"};
	bool known = !q->format;
	for (size_t i = 0; i < SWP_ARRAY_SIZE(formats) && !known; i++)
		known = !strcmp(q->format, formats[i]);
	if (!known)
		return swp__fail(EINVAL, "unknown format \"%s\" (folded, json, pprof, speedscope, svg or html)", q->format);
	bool off = q->target && strcmp(q->target, "OFF_CPU") == 0;
	if (q->target && !off && strcmp(q->target, "ON_CPU") != 0)
		return swp__fail(EINVAL, "unknown target \"%s\" (ON_CPU or OFF_CPU)", q->target);
	if (q->aggregate != SWP_AGG_COUNT && q->aggregate != SWP_AGG_DURATION)
		return swp__fail(EINVAL, "unknown aggregate type %d", q->aggregate);
	unsigned unwind;
	int ru = swp__unwind_mode(has_unwind ? q->unwind : NULL, &unwind);
	if (ru)
		return ru;
	if (off && unwind && has_unwind && q->unwind && *q->unwind)
		return swp__fail(EINVAL, "--unwind is for ON_CPU: OFF_CPU stacks are walked by frame pointers");
	if (off)
		unwind = 0;
	struct swp_discovered d = {0};
	if (q->pid <= 0 || swp__proc_read(q->pid, &d) != 0) {
		swp__discovered_clear(&d);
		return swp__fail(ESRCH, "no process with pid %d", q->pid);
	}
	int64_t ticks = d.start_ticks;
	swp__discovered_clear(&d);

	struct swp_profiler_opts o = {.sz = sizeof(o), .frequency = freq, .ustack_bytes = ustack, .unwinding = unwind != 0,
				      .drain_ms = 200};
	struct swp_profiler *p = NULL;
	int r = swp__profiler_open(&o, &p);
	if (r)
		return r;
	r = swp__profiler_set_targets(p, q->pid, off ? SWP_TARGET_OFF_CPU : SWP_TARGET_ON_CPU | unwind);
	if (r) {
		swp__profiler_close(p);
		return r;
	}
	/* a JVM names its compiled code in a perf map when asked: now, and as the recording goes */
	bool jvm = swp__is_jvm(q->pid);
	int64_t asked = 0;
	if (jvm) {
		if (swp__jvm_perfmap(q->pid, 3000))
			swp_warn("%s: its JIT-compiled frames stay [unknown]", swp_last_error());
		asked = swp__mono_ms();
	}
	struct swp_stacks t;
	swp__stacks_init(&t);
	struct swp_collector co;
	swp__collector_init(&co, &t);
	int64_t end = swp__mono_ms() + (int64_t)q->duration_s * 1000;
	uint64_t lost = 0;
	for (;;) {
		int64_t left = end - swp__mono_ms();
		bool last = left <= 0 || (q->stop && *q->stop);
		/* a second to the next drain; DWARF/AUTO samples read every 200 ms meanwhile (a small ring) */
		for (int64_t until = swp__mono_ms() + (left < 1000 ? left : 1000); !last;) {
			int64_t ms = until - swp__mono_ms();
			if (ms <= 0 || (q->stop && *q->stop))
				break;
			ms = unwind && ms > 200 ? 200 : ms;
			struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
			while (nanosleep(&ts, &ts) && errno == EINTR && !(q->stop && *q->stop))
				;
			if (unwind && swp__collector_take_ustacks(&co, p) < 0)
				swp_warn("%s", swp_last_error());
		}
		if (jvm && (last || swp__mono_ms() - asked >= SWP_JVM_PERFMAP_MS)) {
			swp__jvm_perfmap(q->pid, 3000); /* code compiled since: named before these samples are */
			asked = swp__mono_ms();
		}
		int64_t n = swp__collector_drain(&co, p);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (q->progress) {
			uint64_t lost_now = 0;
			const struct swp_u64map *l = off ? &co.off_lost : &co.lost;
			for (uint32_t k = 0; k <= l->mask; k++)
				if (l->keys[k] != UINT64_MAX)
					lost_now += l->vals[k];
			int64_t left_ms = end - swp__mono_ms();
			q->progress(q->progress_ctx, left_ms > 0 ? left_ms : 0, off ? co.off_switches : co.samples, lost_now);
		}
		if (last) {
			if (off) /* threads still blocked: counted up to the end */
				swp__collector_off_end(&co, p, q->pid);
			break;
		}
		struct swp_discovered now = {0};
		bool alive = swp__proc_read(q->pid, &now) == 0 && now.start_ticks == ticks && now.cmdline && *now.cmdline;
		swp__discovered_clear(&now);
		if (!alive) {
			swp_info("pid %d exited; recording ends", q->pid);
			n = swp__collector_drain(&co, p);
			break;
		}
	}
	swp__profiler_close(p);
	if (!r) {
		uint64_t *counts = swp__xcalloc(t.n + 1, sizeof(uint64_t));
		/* ON_CPU: samples; OFF_CPU: switches or their blocked ns */
		const struct swp_u64map *m = !off ? &co.counts : q->aggregate == SWP_AGG_DURATION ? &co.off_ns : &co.off_counts;
		for (uint32_t s = 0; s <= m->mask; s++)
			if (m->keys[s] != UINT64_MAX)
				counts[(uint32_t)m->keys[s]] += m->vals[s];
		const struct swp_u64map *l = off ? &co.off_lost : &co.lost;
		for (uint32_t s = 0; s <= l->mask; s++)
			if (l->keys[s] != UINT64_MAX)
				lost += l->vals[s];
		if (lost)
			swp_warn("%llu %s were lost in the kernel (stack or count map full)", (unsigned long long)lost,
				 off ? "switches" : "samples");
		if (unwind)
			swp_info("unwinding: %llu samples by frame pointers, %llu by frame pointers then DWARF, %llu by DWARF, "
				 "%llu incomplete (%llu where the stack copy ended: a larger --ustack-bytes; %llu failed)",
				 (unsigned long long)co.unwound[SWP_UNWOUND_FP], (unsigned long long)co.unwound[SWP_UNWOUND_FP_DWARF],
				 (unsigned long long)co.unwound[SWP_UNWOUND_DWARF],
				 (unsigned long long)(co.unwound[SWP_UNWOUND_CUT] + co.unwound[SWP_UNWOUND_FAILED]),
				 (unsigned long long)co.unwound[SWP_UNWOUND_CUT], (unsigned long long)co.unwound[SWP_UNWOUND_FAILED]);
		char name[64];
		snprintf(name, sizeof(name), "pid %d, %s", q->pid, off ? "off-CPU" : "on-CPU");
		r = swp__export(&t, counts, t.n, q->format, off && q->aggregate == SWP_AGG_DURATION, name, out);
		free(counts);
	}
	swp__collector_free(&co);
	swp__stacks_free(&t);
	return r;
}
