/* Tasks and schedules: creation with the protocol's validation, queries, persistence. */
#include <inttypes.h>
#include <stdlib.h>

#include "core/core.h"
#include "ids/ids.h"
#include "store/layout.h"

static int load_task(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	swp_core *c = ctx;
	struct swp_task *t = swp__xcalloc(1, sizeof(*t));
	if (swp__task_decode(v, vl, t)) {
		free(t);
		swp_warn("skipping an unreadable task record");
		return 0;
	}
	SWP_VEC_PUSH(c->tasks, t);
	return 0;
}

static int load_schedule(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	swp_core *c = ctx;
	struct swp_schedule *s = swp__xcalloc(1, sizeof(*s));
	if (swp__schedule_decode(v, vl, s)) {
		free(s);
		swp_warn("skipping an unreadable schedule record");
		return 0;
	}
	swp__schedule_add(c, s);
	return 0;
}

int swp__tasks_load(swp_core *c)
{
	uint8_t from = SWP_TAG_TASK, to = SWP_TAG_TASK + 1;
	int r = swp__store_scan(c->store, &from, 1, &to, 1, load_task, c);
	if (r)
		return r;
	from = SWP_TAG_SCHEDULE;
	to = SWP_TAG_SCHEDULE + 1;
	r = swp__store_scan(c->store, &from, 1, &to, 1, load_schedule, c);
	/* ids stay unique even if a sequence update was lost with a failed write */
	for (size_t i = 0; i < c->tasks.n; i++)
		if (c->tasks.v[i]->id >= c->next_task)
			c->next_task = c->tasks.v[i]->id + 1;
	struct swp_batch *b = swp__batch_new();
	for (size_t i = 0; i < c->scheds.n; i++) {
		struct swp_schedule *s = c->scheds.v[i];
		if (s->id >= c->next_sched)
			c->next_sched = s->id + 1;
		if (s->unwritten) {
			/* held back by a write outage when the last swprof died: lost, and said so once */
			char id[SWP_EXT_ID_SIZE];
			swp_warn("schedule %s: %" PRIu64 " samples a write outage held in memory were lost when swprof "
				 "stopped; counted lost", swp__ext_id(s->id, id), s->unwritten);
			s->lost += s->unwritten;
			s->unwritten = 0;
			swp__schedule_put(b, s);
		}
	}
	if (!r && swp__batch_count(b) && swp__batch_commit(c->store, b, false))
		swp_warn("%s", swp_last_error()); /* said again at the next start */
	swp__batch_free(b);
	return r;
}

struct swp_task *swp__task_find(swp_core *c, const char *id)
{
	uint64_t v;
	if (!swp__ext_id_parse(id, &v))
		return NULL;
	for (size_t i = 0; i < c->tasks.n; i++)
		if (c->tasks.v[i]->id == v)
			return swp__caller_owns(c->tasks.v[i]) ? c->tasks.v[i] : NULL; /* another caller's: unknown */
	return NULL;
}

void swp__schedule_add(swp_core *c, struct swp_schedule *s)
{
	*swp__u64map_slot(&c->sched_index, s->id) = c->scheds.n;
	SWP_VEC_PUSH(c->scheds, s);
}

void swp__schedule_forget_last(swp_core *c)
{
	struct swp_schedule *s = c->scheds.v[--c->scheds.n];
	/* the index has no delete: rebuild it (a failed write, rare) */
	swp__u64map_clear(&c->sched_index);
	for (size_t i = 0; i < c->scheds.n; i++)
		*swp__u64map_slot(&c->sched_index, c->scheds.v[i]->id) = i;
	swp__schedule_free(s);
	free(s);
}

struct swp_schedule *swp__schedule_by_id(swp_core *c, uint64_t id)
{
	const uint64_t *i = swp__u64map_get(&c->sched_index, id);
	return i ? c->scheds.v[*i] : NULL;
}

struct swp_schedule *swp__schedule_find(swp_core *c, const char *id)
{
	uint64_t v;
	struct swp_schedule *s = swp__ext_id_parse(id, &v) ? swp__schedule_by_id(c, v) : NULL;
	if (s && swp__caller() >= 0) {
		const struct swp_task *t = NULL;
		for (size_t i = 0; i < c->tasks.n && !t; i++)
			t = c->tasks.v[i]->id == s->task_id ? c->tasks.v[i] : NULL;
		if (!t || !swp__caller_owns(t))
			return NULL;
	}
	return s;
}

void swp__schedule_put(struct swp_batch *b, const struct swp_schedule *s)
{
	uint8_t k[9];
	struct swp_buf v = {0};
	swp__schedule_encode(s, &v);
	swp__batch_put(b, k, swp__key_u64(k, SWP_TAG_SCHEDULE, s->id), v.data, v.len);
	swp_buf_free(&v);
}

struct swp_schedule *swp__schedule_for(swp_core *c, const struct swp_task *t, const struct swp_process *p, int pid,
				       int64_t now, struct swp_batch *b)
{
	const char *process_id = p ? p->id : (t->process_id ? t->process_id : "");
	for (size_t i = 0; i < c->scheds.n; i++) {
		struct swp_schedule *s = c->scheds.v[i];
		if (s->task_id == t->id && strcmp(s->process_id, process_id) == 0) {
			if (s->pid != pid) {
				s->pid = pid;
				swp__schedule_put(b, s);
			}
			return s;
		}
	}
	struct swp_schedule *s = swp__xcalloc(1, sizeof(*s));
	s->id = swp__seq_next("schedule", &c->next_sched, b);
	s->task_id = t->id;
	s->process_id = swp__xstrdup(process_id);
	s->pid = pid;
	s->start_ms = now;
	s->end_ms = now;
	swp__schedule_put(b, s);
	swp__schedule_add(c, s);
	return s;
}

void swp__block_key(swp_core *c, const struct swp_schedule *s, uint64_t sec, uint8_t *key)
{
	swp__key_record(key, s->id, sec, (uint32_t)(c->next_block++ & 0x7fffffff)); /* top bit: layout.h */
}

/* Does task t profile process p? */
bool swp__task_targets(const struct swp_task *t, const struct swp_process *p)
{
	if (t->process_id)
		return strcmp(t->process_id, p->id) == 0;
	if (!t->service_id || strcmp(t->service_id, p->service_id) != 0)
		return false;
	for (uint32_t i = 0; i < t->n_labels; i++)
		if (!swp__strv_has(p->labels, p->n_labels, t->labels[i]))
			return false;
	return true;
}

static void creation_result(struct swp_buf *out, bool ok, const char *reason, uint64_t id)
{
	bool f = true;
	swp__buf_putc(out, '{');
	swp__json_kv_bool(out, &f, "status", ok);
	swp__json_kv_str(out, &f, "errorReason", reason);
	char text[SWP_EXT_ID_SIZE];
	swp__json_kv_str(out, &f, "id", ok ? swp__ext_id(id, text) : NULL);
	swp__buf_putc(out, '}');
}

/* a start time more than this before now is noted in the answer */
#define PAST_START_NOTE_MS 5000

/* OAP refuses labels whose JSON text is longer than this (EBPFProfilingTaskRecord) */
#define LABELS_JSON_MAX 500

/* Appends to why the labels no process of the service carries, and returns whether there are any. */
static bool missing_labels(swp_core *c, const char *service_id, const char *const *labels, struct swp_buf *why)
{
	bool missing = false;
	for (size_t i = 0; labels && labels[i]; i++) {
		bool have = false;
		for (size_t k = 0; k < c->procs.n && !have; k++) {
			const struct swp_process *p = c->procs.v[k];
			have = strcmp(p->service_id, service_id) == 0 && swp__strv_has(p->labels, p->n_labels, labels[i]);
		}
		if (!have) {
			swp__buf_puts(why, missing ? ", " : "The service doesn't have processes with label(s) ");
			swp__buf_puts(why, labels[i]);
			missing = true;
		}
	}
	if (missing)
		swp__buf_putc(why, '.');
	return missing;
}

static size_t labels_json_len(const char *const *labels)
{
	struct swp_buf j = {0};
	swp__buf_putc(&j, '[');
	for (size_t i = 0; labels && labels[i]; i++) {
		if (i)
			swp__buf_putc(&j, ',');
		swp__json_str(&j, labels[i]);
	}
	swp__buf_putc(&j, ']');
	size_t n = j.len;
	swp_buf_free(&j);
	return n;
}

/* Does a task of the same target overlap [start, end] on the same process (seed) or service? */
static bool overlaps(swp_core *c, const struct swp_task_create *q, int64_t start, int64_t end, bool seed)
{
	for (size_t i = 0; i < c->tasks.n; i++) {
		const struct swp_task *t = c->tasks.v[i];
		if (strcmp(t->target, q->target_type) != 0 || t->start_ms > end || swp__task_end_ms(t) < start)
			continue;
		if (seed ? t->process_id && strcmp(t->process_id, q->process_id) == 0
			 : t->service_id && strcmp(t->service_id, q->service_id) == 0)
			return true;
	}
	return false;
}

/* Will anything run the task q asks for? This core's profiler or the process profiling for its
 * data directory (local processes, now or later), or the agent of a process it targets. */
static bool runnable(swp_core *c, const struct swp_task_create *q, bool seed, int64_t now, bool *no_profiler)
{
	*no_profiler = false;
	if (c->runs_elsewhere)
		return true;
	struct swp_task t = {.process_id = seed ? (char *)q->process_id : NULL, .service_id = (char *)q->service_id,
			     .labels = (char **)q->labels};
	while (q->labels && q->labels[t.n_labels])
		t.n_labels++;
	for (size_t i = 0; i < c->procs.n; i++) {
		const struct swp_process *p = c->procs.v[i];
		if (p->agent_id && swp__process_running(c, p, now) && swp__task_targets(&t, p))
			return true;
	}
	/* this host's processes: the profiler must be able to run here, which is known now, not when
	 * the task starts */
	if (c->profiling && !swp__scheduler_profiler(c))
		*no_profiler = true;
	return c->profiling && !*no_profiler;
}

/*
 * The protocol's checks, in the order and with the texts of the generation the request is shaped
 * as (docs/protocol.md §3 for the seed shape, OAP 10.1 for the current one); then swprof's own: the
 * target it supports, a window that is already over, a task nothing would run. Returns NULL when
 * the request is valid, else the reason (static text, or written to why).
 */
static const char *validate(swp_core *c, const struct swp_task_create *q, int64_t now, int64_t start, bool seed,
			    struct swp_buf *why)
{
	if (seed) {
		if (!q->finder_type || strcmp(q->finder_type, "PROCESS_ID") != 0)
			return "The process find type could not be null";
		if (swp__empty(q->process_id))
			return "process id could not be empty";
	} else {
		if (swp__empty(q->service_id))
			return "service could not be empty";
		if (q->labels && q->labels[0]) {
			if (missing_labels(c, q->service_id, q->labels, why))
				return why->data;
			if (labels_json_len(q->labels) > LABELS_JSON_MAX) {
				swp__buf_printf(why, "The labels length is bigger than %d, please reduce the labels count",
						LABELS_JSON_MAX);
				return why->data;
			}
		}
	}
	if (!q->target_type)
		return "the profiling target could not be null";
	if (q->duration_s < 60)
		return "the fixed time duration must be greater than or equals 60s";
	int64_t end = start + q->duration_s * 1000;
	if (overlaps(c, q, start, end, seed))
		return seed ? "already have profiling task at this time" : "Task's time range overlaps with other tasks";
	if (seed && (!swp__registry_find(c, q->process_id) || !swp__caller_may_profile(c, q->process_id, NULL)))
		return "could not found process"; /* another user's is as unknown to this caller */
	if (!seed && !swp__caller_may_profile(c, NULL, q->service_id)) {
		swp__buf_printf(why, "no process of this service is yours to profile (uid %d): a caller on the Unix socket "
				"profiles the processes it could ptrace", swp__caller());
		return why->data;
	}
	if (strcmp(q->target_type, "ON_CPU") != 0 && strcmp(q->target_type, "OFF_CPU") != 0)
		return "only the ON_CPU and OFF_CPU profiling targets are supported by swprof";
	if (end < now) {
		swp__buf_printf(why,
				"the task's time window is already over (it would have ended %" PRId64
				" s ago), so nothing would run it: leave the start time out, or give one that is not that far "
				"in the past",
				(now - end) / 1000);
		return why->data;
	}
	bool no_profiler;
	if (!runnable(c, q, seed, now, &no_profiler)) {
		if (no_profiler) {
			swp__buf_printf(why,
					"this host cannot run the eBPF profiler (%s): the process serving swprof (the server, "
					"or OAP with the module) needs root, or the capabilities CAP_BPF and CAP_PERFMON, to "
					"profile",
					swp_strerror(c->prof_err));
			return why->data;
		}
		return seed ? "nothing can run this task: profiling is off on this server (profiling.enabled: false) and no "
			      "agent reports this process"
			    : "nothing can run this task: profiling is off on this server (profiling.enabled: false) and no "
			      "agent reports processes of this service";
	}
	return NULL;
}

/* The name in a service id (base64 of the name + ".1"), for a task on a service no process of which
 * is known yet; NULL when the id is not of that form. */
static char *service_name_of(const char *service_id)
{
	size_t n = strlen(service_id);
	if (n < 3 || strcmp(service_id + n - 2, ".1") != 0)
		return NULL;
	struct swp_buf name = {0};
	if (swp__base64_decode(service_id, n - 2, &name) || !name.data || memchr(name.data, 0, name.len)) {
		swp_buf_free(&name);
		return NULL;
	}
	return name.data;
}

SWP_API int swp_task_create(swp_core *c, const struct swp_task_create *q, struct swp_buf *out)
{
	swp__clear_error();
	if (!c || !q || !out || q->sz < sizeof(*q))
		return swp__fail(EINVAL, "core, request and out are required");
	int64_t now = q->now_ms > 0 ? q->now_ms : swp__now_ms();
	int64_t start = q->start_time_ms <= 0 ? now : q->start_time_ms;
	if (!q->has_finder && !q->service_id) {
		creation_result(out, false, "The process finder could not be null", 0);
		return 0;
	}
	bool seed = q->has_finder;
	if (q->duration_s > 366LL * 24 * 3600 || start > INT64_MAX / 4) {
		creation_result(out, false, "the fixed time duration or start time is out of range", 0);
		return 0;
	}
	pthread_mutex_lock(&c->mu);
	struct swp_buf why = {0};
	const char *reason = validate(c, q, now, start, seed, &why);
	if (reason) {
		pthread_mutex_unlock(&c->mu);
		creation_result(out, false, reason, 0);
		swp_buf_free(&why);
		return 0;
	}
	swp_buf_free(&why);
	struct swp_task *t = swp__xcalloc(1, sizeof(*t));
	struct swp_batch *b = swp__batch_new();
	uint64_t next = c->next_task;
	t->owner_uid = swp__caller();
	t->id = swp__seq_next("task", &c->next_task, b);
	t->create_ms = now;
	t->start_ms = start;
	t->duration_s = q->duration_s;
	t->target = swp__xstrdup(q->target_type);
	if (seed) {
		const struct swp_process *p = swp__registry_find(c, q->process_id);
		t->process_id = swp__xstrdup(p->id);
		t->process_name = swp__xstrdup(p->name);
		t->service_id = swp__xstrdup(p->service_id);
		t->service = swp__xstrdup(p->service);
		t->instance_id = swp__xstrdup(p->instance_id);
		t->instance = swp__xstrdup(p->instance);
		t->labels = swp__xcalloc(1, sizeof(char *));
	} else {
		t->service_id = swp__xstrdup(q->service_id);
		for (size_t i = 0; i < c->procs.n && !t->service; i++)
			if (strcmp(c->procs.v[i]->service_id, q->service_id) == 0)
				t->service = swp__xstrdup(c->procs.v[i]->service);
		if (!t->service)
			t->service = service_name_of(q->service_id);
		t->labels = swp__strv_dup(q->labels, &t->n_labels);
	}
	struct swp_buf v = {0};
	swp__task_encode(t, &v);
	uint8_t k[9];
	swp__batch_put(b, k, swp__key_u64(k, SWP_TAG_TASK, t->id), v.data, v.len);
	swp_buf_free(&v);
	int r = swp__batch_commit(c->store, b, true);
	swp__batch_free(b);
	if (r) {
		c->next_task = next;
		swp__task_free(t);
		free(t);
		pthread_mutex_unlock(&c->mu);
		return r;
	}
	SWP_VEC_PUSH(c->tasks, t);
	pthread_cond_signal(&c->cond); /* the scheduler starts it at once when due */
	pthread_mutex_unlock(&c->mu);
	char text[SWP_EXT_ID_SIZE];
	swp__ext_id(t->id, text);
	/* a task that started in the past runs for what is left of it, and the answer says so (clients show
	 * errorReason only when status is false; the CLI prints it). A start a few seconds back is a client's
	 * "now" on another clock, not a choice. */
	struct swp_buf note = {0};
	if (start < now - PAST_START_NOTE_MS)
		swp__buf_printf(&note, "the task started %" PRId64 " s ago: it runs for the %" PRId64 " s left of its %" PRId64
				" s", (now - start) / 1000, (swp__task_end_ms(t) - now) / 1000, t->duration_s);
	swp_info("task %s created: %s %s for %" PRId64 " s%s%s", text, t->target,
		 t->process_id ? t->process_id : t->service, t->duration_s, note.len ? "; " : "", note.len ? note.data : "");
	creation_result(out, true, note.data, t->id);
	swp_buf_free(&note);
	return 0;
}

static int cmp_task_newest(const void *a, const void *b)
{
	const struct swp_task *x = *(struct swp_task *const *)a, *y = *(struct swp_task *const *)b;
	if (x->create_ms != y->create_ms)
		return x->create_ms > y->create_ms ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;
}

SWP_API int swp_tasks_json(swp_core *c, const struct swp_task_query *q, struct swp_buf *out)
{
	swp__clear_error();
	if (!c || !q || !out)
		return swp__fail(EINVAL, "core, query and out are required");
	bool any_target = q->targets && q->targets[0];
	if (swp__empty(q->service_id) && swp__empty(q->instance_id) && swp__empty(q->process_id) &&
	    swp__empty(q->finder_type) && !any_target && swp__empty(q->trigger_type))
		return swp__fail(EINVAL, "please provide the task condition");
	pthread_mutex_lock(&c->mu);
	struct swp_task **sorted = swp__xmalloc((c->tasks.n + 1) * sizeof(*sorted));
	memcpy(sorted, c->tasks.v, c->tasks.n * sizeof(*sorted));
	qsort(sorted, c->tasks.n, sizeof(*sorted), cmp_task_newest);
	swp__buf_putc(out, '[');
	bool first = true;
	for (size_t i = 0; i < c->tasks.n; i++) {
		const struct swp_task *t = sorted[i];
		if (!swp__caller_owns(t))
			continue;
		if (!swp__empty(q->service_id) && (!t->service_id || strcmp(q->service_id, t->service_id) != 0))
			continue;
		if (!swp__empty(q->instance_id) && (!t->instance_id || strcmp(q->instance_id, t->instance_id) != 0))
			continue;
		if (!swp__empty(q->process_id) && (!t->process_id || strcmp(q->process_id, t->process_id) != 0))
			continue;
		if (!swp__empty(q->finder_type) && strcmp(q->finder_type, "PROCESS_ID") != 0)
			continue;
		if (!swp__empty(q->trigger_type) && strcmp(q->trigger_type, "FIXED_TIME") != 0)
			continue;
		if (any_target) {
			bool hit = false;
			for (size_t k = 0; q->targets[k]; k++)
				hit |= strcmp(q->targets[k], t->target) == 0;
			if (!hit)
				continue;
		}
		if ((q->start_ms || q->end_ms) && (t->create_ms < q->start_ms || t->create_ms > q->end_ms))
			continue;
		if (!first)
			swp__buf_putc(out, ',');
		first = false;
		swp__task_json(t, out);
	}
	swp__buf_putc(out, ']');
	pthread_mutex_unlock(&c->mu);
	free(sorted);
	return 0;
}

static int cmp_sched_newest(const void *a, const void *b)
{
	const struct swp_schedule *x = *(struct swp_schedule *const *)a, *y = *(struct swp_schedule *const *)b;
	if (x->start_ms != y->start_ms)
		return x->start_ms > y->start_ms ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;
}

SWP_API int swp_schedules_json(swp_core *c, const char *task_id, int64_t start_ms, int64_t end_ms, struct swp_buf *out)
{
	swp__clear_error();
	if (!c || !out)
		return swp__fail(EINVAL, "core and out are required");
	pthread_mutex_lock(&c->mu);
	const struct swp_task *t = swp__task_find(c, task_id);
	swp__buf_putc(out, '[');
	if (t) {
		struct swp_schedule **v = swp__xmalloc((c->scheds.n + 1) * sizeof(*v));
		size_t n = 0;
		for (size_t i = 0; i < c->scheds.n; i++) {
			const struct swp_schedule *s = c->scheds.v[i];
			/* a run is listed from its first flush on, as an OAP lists it once an agent reported:
			 * before, its [start, end] is empty and a client's analysis of it would be refused */
			if (s->task_id != t->id || s->end_ms <= s->start_ms)
				continue;
			if (!(start_ms || end_ms) || (s->start_ms >= start_ms && s->start_ms <= end_ms))
				v[n++] = c->scheds.v[i];
		}
		qsort(v, n, sizeof(*v), cmp_sched_newest);
		for (size_t i = 0; i < n; i++) {
			if (i)
				swp__buf_putc(out, ',');
			swp__schedule_json(v[i], swp__registry_find(c, v[i]->process_id), out);
		}
		free(v);
	}
	swp__buf_putc(out, ']');
	pthread_mutex_unlock(&c->mu);
	return 0;
}

SWP_API int swp_task_prepare_json(swp_core *c, const char *service_id, struct swp_buf *out)
{
	if (!c || !out)
		return swp__fail(EINVAL, "core and out are required");
	pthread_mutex_lock(&c->mu);
	/* the distinct labels of the service's processes, in first-seen order */
	char **labels = NULL;
	size_t nl = 0, cap = 0;
	bool any = false;
	for (size_t i = 0; i < c->procs.n; i++) {
		const struct swp_process *p = c->procs.v[i];
		if (swp__empty(service_id) || strcmp(p->service_id, service_id) != 0)
			continue;
		any = true;
		for (uint32_t k = 0; k < p->n_labels; k++) {
			if (swp__strv_has(labels, (uint32_t)nl, p->labels[k]))
				continue;
			if (nl == cap) {
				cap = cap ? cap * 2 : 8;
				labels = swp__xrealloc(labels, cap * sizeof(char *));
			}
			labels[nl++] = p->labels[k];
		}
	}
	bool f = true;
	swp__buf_putc(out, '{');
	swp__json_kv_bool(out, &f, "couldProfiling", any);
	swp__json_key(out, &f, "processLabels");
	swp__buf_putc(out, '[');
	for (size_t i = 0; i < nl; i++) {
		if (i)
			swp__buf_putc(out, ',');
		swp__json_str(out, labels[i]);
	}
	swp__buf_puts(out, "]}");
	pthread_mutex_unlock(&c->mu);
	free(labels);
	return 0;
}
