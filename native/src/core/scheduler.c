/*
 * The scheduler thread: every flush interval it rescans processes (every scan interval), starts
 * a run for each running local target of each open task (going on in the task's schedule of that
 * process), drains the profiler into the pending blocks (pending.c), writes every pending block
 * (the local runs' and what agents sent since the last flush), and ends the runs whose task
 * closed or whose process exited. A write that fails (a full disk) keeps the pending blocks, with
 * their seconds, and retries them at the next flush.
 */
#include <inttypes.h>
#include <stdlib.h>

#include <pthread.h>

#include "core/core.h"
#include "ids/ids.h"
#include "store/layout.h"
#include "symbols/perfmap.h"

static int run_index(swp_core *c, const struct swp_task *t, const struct swp_process *p, int pid)
{
	for (size_t i = 0; i < c->runs.n; i++)
		if (c->runs.v[i].task == t && c->runs.v[i].proc == p && c->runs.v[i].pid == pid)
			return (int)i;
	return -1;
}

/* Does another run feed this run's schedule? (a process entity over several pids) */
static bool schedule_shared(swp_core *c, const struct swp_schedule *s, size_t except)
{
	for (size_t i = 0; i < c->runs.n; i++)
		if (i != except && c->runs.v[i].sched == s)
			return true;
	return false;
}

/* A JVM asked for its perf map off the scheduler's thread (it answers within a second or two). */
static void *ask_jvm(void *arg)
{
	int pid = (int)(intptr_t)arg;
	if (swp__jvm_perfmap(pid, 5000))
		swp_debug("%s: its JIT-compiled frames stay [unknown] until it answers", swp_last_error());
	return NULL;
}

static void ask_jvms(swp_core *c)
{
	int64_t now = swp__mono_ms();
	for (size_t i = 0; i < c->runs.n; i++) {
		struct swp_run *r = &c->runs.v[i];
		if (!r->jvm || (r->perfmap_ms && now - r->perfmap_ms < SWP_JVM_PERFMAP_MS))
			continue;
		bool asked = false; /* once per pid, whatever runs share it */
		for (size_t k = 0; k < i && !asked; k++)
			asked = c->runs.v[k].pid == r->pid && c->runs.v[k].perfmap_ms == now;
		r->perfmap_ms = now;
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (!asked && pthread_create(&t, &at, ask_jvm, (void *)(intptr_t)r->pid))
			swp_warn("cannot ask pid %d for its perf map: %s", r->pid, strerror(errno));
		pthread_attr_destroy(&at);
	}
}

/* How often DWARF/AUTO samples are read from their ring buffer between flushes. */
#define USTACK_READ_MS 200

/* What a task profiles, as the profiler's target bits. */
static unsigned target_bit(const struct swp_task *t)
{
	return strcmp(t->target, "OFF_CPU") == 0 ? SWP_TARGET_OFF_CPU
	       : strcmp(t->target, "ON_CPU") == 0 ? SWP_TARGET_ON_CPU : 0;
}

/* The profiler's bits for target bits m: ON_CPU with the configured unwinding. */
static unsigned profile_bits(const swp_core *c, unsigned m)
{
	return m & SWP_TARGET_ON_CPU ? m | c->unwind : m;
}

/* What the runs on pid (but run `except`) profile it for. */
static unsigned pid_targets(swp_core *c, int pid, size_t except)
{
	unsigned m = 0;
	for (size_t i = 0; i < c->runs.n; i++)
		if (i != except && c->runs.v[i].pid == pid)
			m |= target_bit(c->runs.v[i].task);
	return m;
}

/* Does run i end now: its task's window closed, or its pid exited, exec'd another program (the
 * BPF side saw both as they happened: c->coll.gone) or is no longer its entity's? why: the reason;
 * left (may be NULL): its pid left the entity (exited or exec'd). */
static bool run_ends(swp_core *c, const struct swp_run *run, int64_t now, const char **why, bool *left_entity)
{
	uint64_t *left = swp__u64map_get(&c->coll.gone, (uint64_t)(uint32_t)run->pid);
	bool execd = left && *left == SWP_GONE_EXEC;
	bool gone = (left && *left == SWP_GONE_EXIT) || !swp__process_alive(run->pid, run->start_ticks);
	bool moved = !gone && !execd && !swp__process_has_pid(run->proc, run->pid);
	bool closed = now > swp__task_end_ms(run->task) || c->stopping;
	*why = gone ? "the process exited"
	       : execd ? "the process runs another program now"
	       : moved ? "the rules no longer match the process"
	       : c->stopping ? "server stopping" : closed ? "task finished" : NULL;
	if (left_entity)
		*left_entity = gone || execd;
	return *why != NULL;
}

bool swp__scheduler_profiler(swp_core *c)
{
	if (c->prof)
		return true;
	if (c->prof_err)
		return false;
	struct swp_profiler_opts o = {.sz = sizeof(o), .frequency = c->frequency, .ustack_bytes = c->ustack_bytes,
				      .unwinding = c->unwind != 0, .drain_ms = USTACK_READ_MS};
	int r = swp__profiler_open(&o, &c->prof);
	if (r) {
		c->prof_err = r;
		swp_error("the eBPF profiler cannot start: %s", swp_last_error());
		return false;
	}
	swp_info("eBPF profiler attached at %d Hz", c->frequency);
	return true;
}

/* Starts the runs of open tasks on running processes. */
static void start_runs(swp_core *c, int64_t now, struct swp_batch *b)
{
	for (size_t i = 0; i < c->tasks.n; i++) {
		struct swp_task *t = c->tasks.v[i];
		if (now < t->start_ms || now > swp__task_end_ms(t) || !target_bit(t))
			continue;
		for (size_t k = 0; k < c->procs.n; k++) {
			struct swp_process *p = c->procs.v[k];
			if (p->agent_id || !swp__task_targets(t, p))
				continue;
			/* every pid of the entity, into its one schedule */
			for (uint32_t j = 0; j < p->n_pids; j++) {
				const struct swp_pidref *pr = &p->pids[j];
				if (run_index(c, t, p, pr->pid) >= 0 || !swp__uid_may_trace(t->owner_uid, pr->pid))
					continue;
				if (!swp__scheduler_profiler(c))
					return;
				unsigned had = pid_targets(c, pr->pid, SIZE_MAX), want = had | target_bit(t);
				if (want != had) {
					int r = swp__profiler_set_targets(c->prof, pr->pid, profile_bits(c, want));
					if (r) {
						swp_warn("cannot profile pid %d: %s", pr->pid, swp_last_error());
						continue;
					}
				}
				struct swp_run run = {.task = t, .proc = p, .pid = pr->pid, .start_ticks = pr->start_ticks,
						      .jvm = swp__is_jvm(pr->pid)};
				run.sched = swp__schedule_for(c, t, p, pr->pid, now, b);
				bool first = !schedule_shared(c, run.sched, SIZE_MAX);
				SWP_VEC_PUSH(c->runs, run);
				char tid[SWP_EXT_ID_SIZE], sid[SWP_EXT_ID_SIZE];
				/* the first pid of a schedule is news; the others of its entity (workers) routine */
				swp__log(first ? SWP_LOG_INFO : SWP_LOG_DEBUG, "task %s: schedule %s %s on %s (pid %d)",
					 swp__ext_id(t->id, tid), swp__ext_id(run.sched->id, sid),
					 first ? "started" : "goes on", p->name, pr->pid);
			}
		}
	}
}

/* The local profiler's samples of this flush, drained and symbolized per pid by the collector,
 * to the pending blocks of the schedules running on their pids (every run of a pid gets them:
 * tasks of both generations, or of two targets, may profile one process at once). */
void swp__scheduler_take_samples(swp_core *c, int64_t now)
{
	struct swp_collector *co = &c->coll;
	uint64_t sec = (uint64_t)(now / 1000);
	for (size_t i = 0; i < c->runs.n; i++) {
		struct swp_run *run = &c->runs.v[i];
		bool off = target_bit(run->task) == SWP_TARGET_OFF_CPU;
		uint64_t *lost = swp__u64map_get(off ? &co->off_lost : &co->lost, (uint64_t)(uint32_t)run->pid);
		if (lost)
			run->sched->lost += *lost;
		uint64_t *part = off ? NULL : swp__u64map_get(&co->incomplete, (uint64_t)(uint32_t)run->pid);
		if (part)
			run->sched->incomplete += *part;
		run->sched->end_ms = now;
	}
	/* ON_CPU samples to the ON_CPU runs of their pid, OFF_CPU switches to the OFF_CPU ones */
	for (uint32_t s = 0; s <= co->counts.mask; s++) {
		uint64_t key = co->counts.keys[s];
		if (key == UINT64_MAX)
			continue;
		int pid = (int)(key >> 32);
		for (size_t i = 0; i < c->runs.n; i++)
			if (c->runs.v[i].pid == pid && target_bit(c->runs.v[i].task) == SWP_TARGET_ON_CPU)
				swp__pending_add(c, c->runs.v[i].sched, sec, (uint32_t)key, co->counts.vals[s]);
	}
	for (uint32_t s = 0; s <= co->off_counts.mask; s++) {
		uint64_t key = co->off_counts.keys[s];
		if (key == UINT64_MAX)
			continue;
		int pid = (int)(key >> 32);
		const uint64_t *ns = swp__u64map_get(&co->off_ns, key);
		for (size_t i = 0; i < c->runs.n; i++)
			if (c->runs.v[i].pid == pid && target_bit(c->runs.v[i].task) == SWP_TARGET_OFF_CPU)
				swp__pending_add_off(c, c->runs.v[i].sched, sec, (uint32_t)key, co->off_counts.vals[s],
						     ns ? *ns : 0);
	}
	c->st_samples += co->samples + co->off_switches;
	for (uint32_t s = 0; s <= co->lost.mask; s++)
		if (co->lost.keys[s] != UINT64_MAX)
			c->st_lost += co->lost.vals[s];
	for (uint32_t s = 0; s <= co->off_lost.mask; s++)
		if (co->off_lost.keys[s] != UINT64_MAX)
			c->st_lost += co->off_lost.vals[s];
	swp__collector_reset(co);
}

/* The pending blocks into b (a store) or to the sink (no store); the schedules they and the
 * running ones belong to into b. Returns 0 or the sink's error. */
static int write_pending(swp_core *c, struct swp_batch *b)
{
	struct swp_buf blk = {0};
	int r = 0;
	swp__stacks_rdlock(&c->stacks);
	for (size_t i = 0; i < c->pending.n && !r; i++) {
		const struct swp_pending_block *p = &c->pending.v[i];
		struct swp_schedule *s = swp__schedule_by_id(c, p->sched);
		if (!s)
			continue; /* cannot happen: schedules are never forgotten */
		if (c->sink) {
			r = c->sink(c->sink_ctx, c, p);
			continue;
		}
		swp__block_put(c, s, p, b, &blk);
	}
	swp__stacks_unlock(&c->stacks);
	for (size_t i = 0; i < c->runs.n; i++)
		swp__schedule_put(b, c->runs.v[i].sched);
	swp__seq_put(b, "block", c->next_block);
	swp_buf_free(&blk);
	return r;
}

/* sign 1: the pending samples into their schedules' counts (the write that follows stores them);
 * -1: taken back, and held back instead (unwritten) */
static void count_pending(swp_core *c, int sign)
{
	for (size_t i = 0; i < c->pending.n; i++) {
		struct swp_schedule *s = swp__schedule_by_id(c, c->pending.v[i].sched);
		if (!s)
			continue;
		s->samples += (uint64_t)sign * c->pending.v[i].samples;
		s->unwritten = sign > 0 ? 0 : s->unwritten + c->pending.v[i].samples;
	}
}

/* A flush failed: the schedules holding samples back are written as a note (their unwritten
 * counts; small, allowed into the free-space reserve), so a swprof killed during the outage
 * counts them lost at its restart instead of losing them without a word. */
static void note_outage(swp_core *c, int64_t now)
{
	struct swp_batch *note = swp__batch_new();
	for (size_t i = 0; i < c->scheds.n; i++)
		if (c->scheds.v[i]->unwritten)
			swp__schedule_put(note, c->scheds.v[i]);
	int r = swp__batch_count(note) ? swp__batch_commit_note(c->store, note) : 0;
	swp__batch_free(note);
	if (!c->outage_ms)
		c->outage_ms = now;
	/* said at once, then once a minute */
	if (!c->outage_logged_ms || now - c->outage_logged_ms >= 60000) {
		swp_error("samples cannot be written (%s); %" PRIu64 " kept in memory%s, written once the store "
			  "takes them", swp_last_error(), c->pending_samples,
			  r ? " (and not even the note of them: a kill now loses them unsaid)" : "");
		c->outage_logged_ms = now;
	}
}

int swp__scheduler_flush(swp_core *c, struct swp_batch *b, bool sync)
{
	uint32_t upto;
	/* the schedules written with their blocks carry the samples of this flush too (taken back when
	 * the write fails: the blocks stay pending and come again) */
	count_pending(c, 1);
	swp__stacks_persist(c, b, &upto);
	int r = write_pending(c, b);
	if (!r)
		r = swp__batch_commit(c->store, b, sync);
	if (r) {
		count_pending(c, -1);
		return r;
	}
	if (c->outage_ms) {
		swp_info("samples are written again after a write outage of %" PRId64 " s", (swp__now_ms() - c->outage_ms) / 1000);
		c->outage_ms = c->outage_logged_ms = 0;
	}
	c->stacks_persisted = upto;
	c->st_flushes++;
	swp__pending_clear(c);
	return 0;
}

/* Ends the runs that end now (run_ends). */
static void end_runs(swp_core *c, int64_t now)
{
	for (size_t i = 0; i < c->runs.n;) {
		struct swp_run *run = &c->runs.v[i];
		const char *why;
		bool left;
		if (!run_ends(c, run, now, &why, &left)) {
			i++;
			continue;
		}
		char tid[SWP_EXT_ID_SIZE], sid[SWP_EXT_ID_SIZE];
		/* the last pid of a schedule is news; one of several (a worker of a pool) routine */
		bool last = !schedule_shared(c, run->sched, i);
		swp__log(last ? SWP_LOG_INFO : SWP_LOG_DEBUG,
			 "task %s: schedule %s on %s (pid %d) %s: %s, %" PRIu64 " samples, %" PRIu64 " lost",
			 swp__ext_id(run->task->id, tid), swp__ext_id(run->sched->id, sid), run->proc->name, run->pid,
			 last ? "ended" : "stops for this pid", why, run->sched->samples, run->sched->lost);
		unsigned rest = pid_targets(c, run->pid, i);
		if (c->prof && rest != (rest | target_bit(run->task))) {
			if (swp__profiler_set_targets(c->prof, run->pid, profile_bits(c, rest))) /* 0: it left on its own already */
				swp_warn("%s", swp_last_error());
			if (!rest)
				swp__collector_forget_pid(&c->coll, run->pid);
		}
		if (left)
			swp__process_pid_drop(run->proc, run->pid);
		if (left && run->proc->pid == run->pid)
			run->proc->pid = run->proc->n_pids ? run->proc->pids[0].pid : 0; /* not waiting for the next scan */
		c->runs.v[i] = c->runs.v[--c->runs.n];
	}
	swp__u64map_clear(&c->coll.gone);
}

/* One flush: call with mu held. */
static void tick(swp_core *c, bool final)
{
	int64_t now = swp__now_ms();
	/* scan at the first tick, then every scan interval (a negative interval: only at the start) */
	bool scan_due = !c->last_scan_ms || (c->scan_ms > 0 && swp__mono_ms() - c->last_scan_ms >= c->scan_ms);
	if (!final && scan_due) {
		int r = swp__registry_rescan(c);
		if (r)
			swp_warn("process scan failed: %s", swp_last_error());
		c->last_scan_ms = swp__mono_ms();
	}
	struct swp_batch *b = swp__batch_new();
	if (!final && c->profiling) {
		start_runs(c, now, b);
		ask_jvms(c);
	}
	if (c->prof) {
		int64_t n = swp__collector_drain(&c->coll, c->prof);
		if (n < 0)
			swp_warn("profiler drain failed: %s", swp_last_error());
		/* an OFF_CPU run that ends now: its threads still away are counted up to now, in this flush */
		for (size_t i = 0; i < c->runs.n; i++) {
			const char *why;
			if (target_bit(c->runs.v[i].task) == SWP_TARGET_OFF_CPU && run_ends(c, &c->runs.v[i], now, &why, NULL))
				swp__collector_off_end(&c->coll, c->prof, c->runs.v[i].pid);
		}
		swp__scheduler_take_samples(c, now);
	}
	int r = swp__scheduler_flush(c, b, false);
	swp__batch_free(b);
	if (r) {
		c->st_write_errors++;
		note_outage(c, now);
		return;
	}
	end_runs(c, now);
}

static void *loop(void *arg)
{
	swp_core *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stopping) {
		tick(c, false);
		/* until the next flush, or a signal; DWARF/AUTO samples are read every USTACK_READ_MS meanwhile,
		 * so that their ring buffer holds that long, not a flush interval (its pages are resident) */
		int64_t next = swp__mono_ms() + c->flush_ms;
		for (;;) {
			int64_t left = next - swp__mono_ms();
			if (c->stopping || left <= 0)
				break;
			bool read = c->prof && c->unwind;
			int64_t wait = read && left > USTACK_READ_MS ? USTACK_READ_MS : left;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t ns = ts.tv_nsec + wait * 1000000;
			ts.tv_sec += ns / 1000000000;
			ts.tv_nsec = ns % 1000000000;
			if (pthread_cond_timedwait(&c->cond, &c->mu, &ts) == 0)
				break; /* signalled: a tick now, as before */
			if (read && swp__collector_take_ustacks(&c->coll, c->prof) < 0)
				swp_warn("%s", swp_last_error());
		}
	}
	/* last flush, then every run ends */
	tick(c, true);
	end_runs(c, swp__now_ms());
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int swp__scheduler_start(swp_core *c)
{
	swp__collector_init(&c->coll, &c->stacks);
	int r = pthread_create(&c->thread, NULL, loop, c);
	if (r) {
		swp__collector_free(&c->coll);
		return swp__fail(r, "cannot start the scheduler thread: %s", strerror(r));
	}
	c->thread_started = true;
	return 0;
}

void swp__scheduler_stop(swp_core *c)
{
	if (!c->thread_started)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	c->thread_started = false;
	swp__profiler_close(c->prof);
	c->prof = NULL;
	swp__collector_free(&c->coll);
}
