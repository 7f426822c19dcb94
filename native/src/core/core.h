/* The core's state, shared by the files of this folder (registry, tasks, analysis, scheduler). */
#ifndef SWP_CORE_H
#define SWP_CORE_H

#include <pthread.h>

#include "analyze/stacks.h"
#include "core/collector.h"
#include "store/store.h"
#include "tasks/discovery.h"
#include "tasks/model.h"

/* A task running on one process: one schedule. */
struct swp_run {
	struct swp_task *task;
	struct swp_process *proc;
	struct swp_schedule *sched;
	int pid;
	int64_t start_ticks;
	bool jvm;            /* a HotSpot JVM: asked for its perf map at the start, then every SWP_JVM_PERFMAP_MS */
	int64_t perfmap_ms;  /* when it was last asked (monotonic) */
};

#define SWP_VEC(T) struct { T *v; size_t n, cap; }
#define SWP_VEC_PUSH(vec, x)                                                                        \
	do {                                                                                        \
		if ((vec).n == (vec).cap) {                                                         \
			(vec).cap = (vec).cap ? (vec).cap * 2 : 16;                                 \
			(vec).v = swp__xrealloc((vec).v, (vec).cap * sizeof(*(vec).v));             \
		}                                                                                   \
		(vec).v[(vec).n++] = (x);                                                           \
	} while (0)

/* Samples of one schedule recorded in one second, not written yet (pending.c). */
struct swp_pending_block {
	uint64_t sched;           /* schedule id */
	uint64_t sec;             /* the second they were recorded in */
	struct swp_u64map counts; /* stack idx -> samples (OFF_CPU: switches) */
	uint64_t samples;         /* their sum */
	int64_t last_ms;          /* when the last of them was added */
	bool off;                 /* an OFF_CPU schedule's: ns holds the blocked time per stack */
	struct swp_u64map ns;     /* stack idx -> blocked ns (off only) */
};

/* Where a core without a store (an agent) sends each flushed block (called with mu held); 0 or
 * -errno (the block stays pending and is offered again at the next flush). */
typedef int (*swp_block_sink)(void *ctx, swp_core *c, const struct swp_pending_block *blk);

struct swp_core {
	char *data_dir;
	int frequency, flush_ms, scan_ms;
	unsigned unwind;       /* SWP_TARGET_DWARF, SWP_TARGET_AUTO or 0 (frame pointers) for ON_CPU runs */
	uint32_t ustack_bytes; /* for them */
	bool profiling;       /* this core runs the scheduler and the profiler */
	bool runs_elsewhere;  /* SWP_PROFILING_ELSEWHERE */
	char *host_ip;
	int64_t expire_ms;  /* an exited process leaves the listings this long after it was last seen */
	int64_t min_age_ms; /* a process found by the rules is registered once it is this old */
	int64_t agent_timeout_ms; /* an agent's process runs while its keep-alives come this often */

	struct swp_store *store;
	struct swp_stacks stacks;
	uint32_t stacks_persisted; /* stacks [0, n) of the table already in the store */

	/* mu guards everything below (and the store writes of bookkeeping) */
	pthread_mutex_t mu;
	struct swp_discovery *disc;
	SWP_VEC(struct swp_process *) procs;
	SWP_VEC(struct swp_task *) tasks;
	SWP_VEC(struct swp_schedule *) scheds;
	struct swp_u64map sched_index; /* schedule id -> index in scheds */
	SWP_VEC(struct swp_run) runs;
	SWP_VEC(struct swp_pending_block) pending; /* samples of every producer, until a flush writes them */
#define SWP_PENDING_MAX_BLOCKS 65536       /* a (schedule, second) each: 18 h of one schedule's outage */
	size_t pending_last;       /* the block the last sample went to */
	uint64_t pending_samples;  /* their total */
	int64_t outage_ms;         /* when flushes began to fail (0: they work) */
	int64_t outage_logged_ms;  /* when that was last said */
	swp_block_sink sink;       /* no store (an agent): where flushed blocks go */
	void *sink_ctx;
	uint64_t next_task, next_sched;
	/* the sequence number of the next sample block key: unique across the store's life, so two
	 * blocks of one schedule recorded in the same second never share a key (store/layout.h) */
	uint64_t next_block;

	/* scheduler thread (profiling only) */
	pthread_t thread;
	bool thread_started, stopping;
	pthread_cond_t cond;
	int64_t last_scan_ms;
	struct swp_profiler *prof;
	int prof_err; /* why the profiler could not open (0 = not tried or fine) */
	struct swp_collector coll;
	uint64_t st_flushes, st_samples, st_lost, st_write_errors;

	/* the heartbeat of this core's own processes to a backend (protocol/agent.c; one thread calls it) */
	struct {
		unsigned beats;
		int64_t next_beat; /* mono ms */
		bool force;        /* the message out is an early report of new processes, not a beat */
	} hb;
};

/* how often the time a running process was last seen is written to the store */
#define SWP_SEEN_SAVE_MS 60000

/* core.c: a core; without cfg->data_dir, one with no store whose flushed blocks go to the sink
 * (an agent's: nothing it keeps is written anywhere) */
int swp__core_open(const struct swp_config *cfg, swp_block_sink sink, void *sink_ctx, swp_core **out);

/* registry.c */
int swp__registry_load(swp_core *c);
/* the process record into b (a registry change) */
void swp__registry_put(struct swp_batch *b, struct swp_process *p);
int swp__registry_rescan(swp_core *c);
struct swp_process *swp__registry_find(swp_core *c, const char *id);
/* Does p run now? A local one while its pid lives; an agent's while its keep-alives come. */
bool swp__process_running(const swp_core *c, const struct swp_process *p, int64_t now);
/* Is p in the listings for [from, to] (both 0: now)? */
bool swp__registry_listed(const swp_core *c, const struct swp_process *p, int64_t now, int64_t from, int64_t to);
/* still the same process? (pid alive with the same start time) */
bool swp__process_alive(int pid, int64_t start_ticks);

/* tasks.c */
int swp__tasks_load(swp_core *c);
struct swp_task *swp__task_find(swp_core *c, const char *id);
struct swp_schedule *swp__schedule_find(swp_core *c, const char *id);
struct swp_schedule *swp__schedule_by_id(swp_core *c, uint64_t id);
/* adds a schedule to c->scheds and its index; forget_last takes the last one back (a failed write) */
void swp__schedule_add(swp_core *c, struct swp_schedule *s);
void swp__schedule_forget_last(swp_core *c);
/* The schedule of task t on process p (p NULL: the task's own process): the existing one, which a
 * new run of the process goes on in, or a new one starting at now. Persisted in batch b. */
struct swp_schedule *swp__schedule_for(swp_core *c, const struct swp_task *t, const struct swp_process *p, int pid,
				       int64_t now, struct swp_batch *b);
/* The key of a new sample block of s recorded in second sec. A batch holding such keys puts the
 * sequence too (swp__seq_put(b, "block", c->next_block)), so it never goes back after a restart. */
void swp__block_key(swp_core *c, const struct swp_schedule *s, uint64_t sec, uint8_t *key);
void swp__schedule_put(struct swp_batch *b, const struct swp_schedule *s);
bool swp__task_targets(const struct swp_task *t, const struct swp_process *p);

/* caller.c: the caller of this thread's request (swp_caller_set): -1 = unrestricted */
int swp__caller(void);
bool swp__uid_may_trace(int uid, int pid);
bool swp__caller_may_see(const struct swp_process *p);
bool swp__caller_owns(const struct swp_task *t);
bool swp__caller_may_profile(swp_core *c, const char *process_id, const char *service_id);

/* analysis.c */
/* puts the stacks added since the last call into b (call with mu held) */
void swp__stacks_persist(swp_core *c, struct swp_batch *b, uint32_t *upto);
int swp__stacks_load(swp_core *c);

/* pending.c: the one path of samples into the store. Adds count samples of stack idx to schedule
 * s in second sec (mu held). */
void swp__pending_add(swp_core *c, const struct swp_schedule *s, uint64_t sec, uint32_t idx, uint64_t count);
/* The same for an OFF_CPU schedule: switches (its sample count) and their blocked time. */
void swp__pending_add_off(swp_core *c, const struct swp_schedule *s, uint64_t sec, uint32_t idx, uint64_t switches,
			  uint64_t ns);
void swp__pending_clear(swp_core *c);
/* The sample block (store/layout.h) of a pending block, written to out (reset first); returns the
 * samples it holds. The caller holds the stacks' read lock. */
uint64_t swp__block_encode(const struct swp_stacks *t, const struct swp_pending_block *blk, struct swp_buf *out);
/* The block and its schedule into b (the caller holds the stacks' read lock; the batch also
 * needs the "block" sequence). */
void swp__block_put(swp_core *c, const struct swp_schedule *s, const struct swp_pending_block *blk, struct swp_batch *b,
		    struct swp_buf *scratch);

/* scheduler.c */
int swp__scheduler_start(swp_core *c);
void swp__scheduler_stop(swp_core *c);
/* Writes what is pending: the new stacks, one block per pending (schedule, second), the schedules
 * in b, one commit, synced when asked (mu held). On success the pending blocks are cleared. */
int swp__scheduler_flush(swp_core *c, struct swp_batch *b, bool sync);
/* The eBPF profiler, opened on first use (mu held); false when it cannot run here (c->prof_err
 * says why, and stays: a task that needs it is refused from then on). */
bool swp__scheduler_profiler(swp_core *c);
/* The profiler's samples drained into the collector go to the pending blocks of the runs of
 * their pids, in the second of now (mu held); the collector is reset. */
void swp__scheduler_take_samples(swp_core *c, int64_t now);

/* the next id of a sequence; its new value is put in b */
uint64_t swp__seq_next(const char *name, uint64_t *next, struct swp_batch *b);
/* puts a sequence's next value in b */
void swp__seq_put(struct swp_batch *b, const char *name, uint64_t next);

#endif
