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
	uint32_t seq; /* next record key sequence of this schedule */
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

struct swp_core {
	char *data_dir;
	int frequency, flush_ms, scan_ms;
	bool profiling;
	char *host_ip;

	struct swp_store *store;
	struct swp_stacks stacks;
	uint32_t stacks_persisted; /* stacks [0, n) of the table already in the store */

	/* mu guards everything below (and the store writes of bookkeeping) */
	pthread_mutex_t mu;
	struct swp_discovery *disc;
	SWP_VEC(struct swp_process *) procs;
	SWP_VEC(struct swp_task *) tasks;
	SWP_VEC(struct swp_schedule *) scheds;
	SWP_VEC(struct swp_run) runs;
	uint64_t next_task, next_sched;

	/* scheduler thread (profiling only) */
	pthread_t thread;
	bool thread_started, stopping;
	pthread_cond_t cond;
	int64_t last_scan_ms;
	struct swp_profiler *prof;
	int prof_err; /* why the profiler could not open (0 = not tried or fine) */
	struct swp_collector coll;
	uint64_t st_flushes, st_samples, st_lost, st_write_errors;
};

/* registry.c */
int swp__registry_load(swp_core *c);
int swp__registry_rescan(swp_core *c);
struct swp_process *swp__registry_find(swp_core *c, const char *id);
bool swp__registry_service_known(swp_core *c, const char *service_id);
/* still the same process? (pid alive with the same start time) */
bool swp__process_alive(int pid, int64_t start_ticks);

/* tasks.c */
int swp__tasks_load(swp_core *c);
struct swp_task *swp__task_find(swp_core *c, const char *id);
struct swp_schedule *swp__schedule_find(swp_core *c, const char *id);
/* a new schedule persisted in batch b */
struct swp_schedule *swp__schedule_new(swp_core *c, const struct swp_task *t, const struct swp_process *p, int pid,
				       int64_t now, struct swp_batch *b);
void swp__schedule_put(struct swp_batch *b, const struct swp_schedule *s);
bool swp__task_targets(const struct swp_task *t, const struct swp_process *p);

/* analysis.c */
/* puts the stacks added since the last call into b (call with mu held) */
void swp__stacks_persist(swp_core *c, struct swp_batch *b, uint32_t *upto);
int swp__stacks_load(swp_core *c);

/* The sample block (store/layout.h) of pid's entries in counts (keys swp__pid_stack_key): written
 * to out (reset first); returns the samples it holds, 0 (and out empty) when pid has none. The
 * caller holds the stacks' read lock. */
uint64_t swp__block_encode(const struct swp_stacks *t, const struct swp_u64map *counts, int pid, struct swp_buf *out);

/* scheduler.c */
int swp__scheduler_start(swp_core *c);
void swp__scheduler_stop(swp_core *c);
/* writes what the collector holds: new stacks + one block per run, one commit (mu held) */
int swp__scheduler_flush(swp_core *c, int64_t now, struct swp_batch *b);

/* the next id of a sequence; its new value is put in b */
uint64_t swp__seq_next(const char *name, uint64_t *next, struct swp_batch *b);

#endif
