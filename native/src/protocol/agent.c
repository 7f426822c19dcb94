/*
 * The agent's half of the agent protocol: what `swprof agent` sends a backend (the swprof
 * server, an OAP with or without the swprof module) and how it reads the answers. The agent is a
 * core without a store (core.c): its discovery finds the processes, its scheduler profiles them
 * for the tasks the backend hands out, and each flushed block becomes EBPFProfilingData messages
 * (the sink). Transport, buffering and retries are native/src/agent/'s.
 *
 * What it sends, as SkyWalking Rover sends it (docs/protocol.md §6):
 *   - a host process: entity {layer, serviceName, instanceName, processName, labels}, pid, and the
 *     properties host_ip, pid, command_line, support_ebpf_profiling (true: it symbolizes any ELF),
 *     and swprof_dropped_samples once it has dropped any;
 *   - a block: the first message carries the task {taskId, processId, profilingStartTime (the
 *     schedule's start), currentTime}, then one message per distinct (kernel, user) stack pair
 *     with its count, stacks kernel first, symbols innermost first.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "ids/ids.h"
#include "protocol/agent.h"

#include "common/Command.pb-c.h"
#include "ebpf/profiling/Process.pb-c.h"
#include "ebpf/profiling/Profile.pb-c.h"

static void pack_buf(const ProtobufCMessage *m, struct swp_buf *out)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	swp__buf_reset(out);
	swp__buf_reserve(out, n + 1);
	out->len = protobuf_c_message_pack(m, (uint8_t *)out->data);
	out->data[out->len] = 0;
}

/* The properties of a process, as Rover sends them (strings owned by text). */
struct props {
	Skywalking__V3__KeyStringValuePair kv[5];
	Skywalking__V3__KeyStringValuePair *ptr[5];
	char pid[24], dropped[24];
	size_t n;
};

static void props_of(const struct swp_process *p, struct props *pr, bool full)
{
	pr->n = 0;
	const char *keys[5], *vals[5];
	size_t n = 0;
	snprintf(pr->pid, sizeof(pr->pid), "%d", p->pid);
	snprintf(pr->dropped, sizeof(pr->dropped), "%" PRIu64, p->dropped);
	if (full) {
		keys[n] = "host_ip", vals[n++] = p->host_ip ? p->host_ip : "";
		keys[n] = "pid", vals[n++] = pr->pid;
		keys[n] = "command_line", vals[n++] = p->cmdline ? p->cmdline : "";
	}
	keys[n] = "support_ebpf_profiling", vals[n++] = "true";
	if (p->dropped)
		keys[n] = SWP_DROPPED_PROPERTY, vals[n++] = pr->dropped;
	for (size_t i = 0; i < n; i++) {
		pr->kv[i] = (Skywalking__V3__KeyStringValuePair)SKYWALKING__V3__KEY_STRING_VALUE_PAIR__INIT;
		pr->kv[i].key = (char *)keys[i];
		pr->kv[i].value = (char *)vals[i];
		pr->ptr[i] = &pr->kv[i];
	}
	pr->n = n;
}

static void entity_of(const struct swp_process *p, Skywalking__V3__EBPFProcessEntityMetadata *e)
{
	*e = (Skywalking__V3__EBPFProcessEntityMetadata)SKYWALKING__V3__EBPFPROCESS_ENTITY_METADATA__INIT;
	e->layer = p->layer ? p->layer : "OS_LINUX";
	e->servicename = p->service;
	e->instancename = p->instance;
	e->processname = p->name;
	e->labels = p->labels;
	e->n_labels = p->n_labels;
}

/* Is p one of the agent's to report: found by its discovery and running? */
static bool ours(const struct swp_process *p)
{
	return !p->agent_id && p->pid;
}

size_t swp__agent_report(swp_core *c, const char *agent_id, bool all, int64_t now, struct swp_buf *out)
{
	pthread_mutex_lock(&c->mu);
	size_t n = 0;
	for (size_t i = 0; i < c->procs.n; i++)
		n += ours(c->procs.v[i]);
	Skywalking__V3__EBPFProcessProperties *pp = swp__xcalloc(n + 1, sizeof(*pp));
	Skywalking__V3__EBPFProcessProperties **ptr = swp__xcalloc(n + 1, sizeof(*ptr));
	Skywalking__V3__EBPFHostProcessMetadata *host = swp__xcalloc(n + 1, sizeof(*host));
	Skywalking__V3__EBPFProcessEntityMetadata *ent = swp__xcalloc(n + 1, sizeof(*ent));
	struct props *pr = swp__xcalloc(n + 1, sizeof(*pr));
	Skywalking__V3__EBPFProcessReportList m = SKYWALKING__V3__EBPFPROCESS_REPORT_LIST__INIT;
	m.ebpfagentid = (char *)agent_id;
	m.processes = ptr;
	size_t k = 0;
	for (size_t i = 0; i < c->procs.n; i++) {
		struct swp_process *p = c->procs.v[i];
		/* everything now and then (as Rover every 10th round); else what the backend has not taken */
		if (!ours(p) || (!all && p->acked))
			continue;
		entity_of(p, &ent[k]);
		props_of(p, &pr[k], true);
		host[k] = (Skywalking__V3__EBPFHostProcessMetadata)SKYWALKING__V3__EBPFHOST_PROCESS_METADATA__INIT;
		host[k].entity = &ent[k];
		host[k].pid = p->pid;
		host[k].properties = pr[k].ptr;
		host[k].n_properties = pr[k].n;
		pp[k] = (Skywalking__V3__EBPFProcessProperties)SKYWALKING__V3__EBPFPROCESS_PROPERTIES__INIT;
		pp[k].metadata_case = SKYWALKING__V3__EBPFPROCESS_PROPERTIES__METADATA_HOST_PROCESS;
		pp[k].hostprocess = &host[k];
		ptr[k] = &pp[k];
		p->reported_ms = now;
		k++;
	}
	m.n_processes = k;
	pack_buf(&m.base, out);
	pthread_mutex_unlock(&c->mu);
	free(pp);
	free(ptr);
	free(host);
	free(ent);
	free(pr);
	return k;
}

int swp__agent_report_answer(swp_core *c, const void *msg, size_t len, size_t *taken)
{
	*taken = 0;
	Skywalking__V3__EBPFReportProcessDownstream *m =
		skywalking__v3__ebpfreport_process_downstream__unpack(NULL, len, msg);
	if (!m)
		return swp__fail(EPROTO, "reportProcesses: the answer is not an EBPFReportProcessDownstream");
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < m->n_processes; i++) {
		/* the backend's id of a process is the one both compute from its names (docs/protocol.md §2) */
		struct swp_process *p = swp__registry_find(c, m->processes[i]->processid);
		if (p && !p->acked) {
			p->acked = true;
			(*taken)++;
		}
	}
	pthread_mutex_unlock(&c->mu);
	skywalking__v3__ebpfreport_process_downstream__free_unpacked(m, NULL);
	return 0;
}

size_t swp__agent_ping(swp_core *c, const char *agent_id, struct swp_buf *out)
{
	pthread_mutex_lock(&c->mu);
	size_t n = 0;
	for (size_t i = 0; i < c->procs.n; i++)
		n += ours(c->procs.v[i]) && c->procs.v[i]->acked;
	Skywalking__V3__EBPFProcessPingPkg *pk = swp__xcalloc(n + 1, sizeof(*pk));
	Skywalking__V3__EBPFProcessPingPkg **ptr = swp__xcalloc(n + 1, sizeof(*ptr));
	Skywalking__V3__EBPFProcessEntityMetadata *ent = swp__xcalloc(n + 1, sizeof(*ent));
	struct props *pr = swp__xcalloc(n + 1, sizeof(*pr));
	Skywalking__V3__EBPFProcessPingPkgList m = SKYWALKING__V3__EBPFPROCESS_PING_PKG_LIST__INIT;
	m.ebpfagentid = (char *)agent_id;
	m.processes = ptr;
	size_t k = 0;
	for (size_t i = 0; i < c->procs.n; i++) {
		const struct swp_process *p = c->procs.v[i];
		if (!ours(p) || !p->acked)
			continue;
		entity_of(p, &ent[k]);
		props_of(p, &pr[k], false);
		pk[k] = (Skywalking__V3__EBPFProcessPingPkg)SKYWALKING__V3__EBPFPROCESS_PING_PKG__INIT;
		pk[k].entitymetadata = &ent[k];
		pk[k].properties = pr[k].ptr;
		pk[k].n_properties = pr[k].n;
		ptr[k] = &pk[k];
		k++;
	}
	m.n_processes = k;
	pack_buf(&m.base, out);
	pthread_mutex_unlock(&c->mu);
	free(pk);
	free(ptr);
	free(ent);
	free(pr);
	return k;
}

bool swp__agent_unreported(swp_core *c)
{
	bool any = false;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->procs.n && !any; i++)
		any = ours(c->procs.v[i]) && !c->procs.v[i]->acked && !c->procs.v[i]->reported_ms;
	pthread_mutex_unlock(&c->mu);
	return any;
}

void swp__agent_forget_acks(swp_core *c)
{
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->procs.n; i++) {
		c->procs.v[i]->acked = false;
		c->procs.v[i]->reported_ms = 0;
	}
	pthread_mutex_unlock(&c->mu);
}

#define REPORT_ALL_EVERY 10 /* every 10th heartbeat reports everything, as Rover */

int swp__heartbeat(swp_core *c, const char *agent_id, int64_t mono_now, int beat_ms, struct swp_buf *out, size_t *n)
{
	*n = 0;
	bool due = mono_now >= c->hb.next_beat, fresh = swp__agent_unreported(c);
	if (!due && !fresh)
		return SWP_HEARTBEAT_NONE;
	bool force = fresh && !due;
	bool all = c->hb.beats % REPORT_ALL_EVERY == 0;
	bool report = all || force;
	*n = report ? swp__agent_report(c, agent_id, all, swp__now_ms(), out) : swp__agent_ping(c, agent_id, out);
	if (due)
		c->hb.next_beat = mono_now + (beat_ms > 0 ? beat_ms : 20000);
	c->hb.force = force;
	if (!*n) {
		c->hb.beats += !force;
		return SWP_HEARTBEAT_NONE;
	}
	return report ? SWP_HEARTBEAT_REPORT : SWP_HEARTBEAT_KEEP_ALIVE;
}

int swp__heartbeat_answered(swp_core *c, int kind, bool ok, const void *answer, size_t len)
{
	if (!ok || kind == SWP_HEARTBEAT_NONE)
		return 0;
	c->hb.beats += !c->hb.force;
	if (kind != SWP_HEARTBEAT_REPORT)
		return 0;
	size_t taken = 0;
	int r = swp__agent_report_answer(c, answer, len, &taken);
	return r ? r : (int)taken;
}

void swp__heartbeat_reset(swp_core *c)
{
	swp__agent_forget_acks(c);
	c->hb.next_beat = 0;
}

SWP_API int swp_heartbeat(swp_core *c, const char *agent_id, int beat_ms, struct swp_buf *out)
{
	swp__clear_error();
	if (!c || !agent_id || !*agent_id || !out)
		return swp__fail(EINVAL, "core, agent id and out are required");
	size_t n;
	return swp__heartbeat(c, agent_id, swp__mono_ms(), beat_ms, out, &n);
}

SWP_API int swp_heartbeat_answered(swp_core *c, int kind, int ok, const void *answer, size_t len)
{
	swp__clear_error();
	if (!c || (kind != SWP_HEARTBEAT_NONE && kind != SWP_HEARTBEAT_REPORT && kind != SWP_HEARTBEAT_KEEP_ALIVE))
		return swp__fail(EINVAL, "core and a heartbeat kind are required");
	return swp__heartbeat_answered(c, kind, ok != 0, answer ? answer : "", answer ? len : 0);
}

void swp__agent_query(const char *agent_id, int64_t latest_update_ms, struct swp_buf *out)
{
	Skywalking__V3__EBPFProfilingTaskQuery m = SKYWALKING__V3__EBPFPROFILING_TASK_QUERY__INIT;
	m.roverinstanceid = (char *)agent_id;
	m.latestupdatetime = latest_update_ms;
	pack_buf(&m.base, out);
}

/* ---- tasks from commands ---- */

static const char *arg_of(const Skywalking__V3__Command *cmd, const char *key)
{
	for (size_t i = 0; i < cmd->n_args; i++)
		if (strcmp(cmd->args[i]->key, key) == 0)
			return cmd->args[i]->value;
	return NULL;
}

static bool int_arg(const Skywalking__V3__Command *cmd, const char *key, int64_t *v)
{
	const char *s = arg_of(cmd, key);
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

/* The core's task for (task id, process id) of a command, made when new (mu held). */
static int task_from_command(swp_core *c, const Skywalking__V3__Command *cmd, int64_t now, int64_t *update)
{
	const char *task_id = arg_of(cmd, "TaskId"), *procs = arg_of(cmd, "ProcessId");
	const char *trigger = arg_of(cmd, "TriggerType"), *target = arg_of(cmd, "TargetType");
	int64_t start, duration;
	if (!task_id || !*task_id || !procs || !*procs || !target || !int_arg(cmd, "TaskUpdateTime", update) ||
	    !int_arg(cmd, "TaskStartTime", &start) || !int_arg(cmd, "FixedTriggerDuration", &duration))
		return swp__fail(EPROTO, "a task command without TaskId, ProcessId, TargetType, TaskUpdateTime, "
					  "TaskStartTime or FixedTriggerDuration");
	if (!trigger || strcmp(trigger, "FIXED_TIME") != 0)
		return swp__fail(ENOTSUP, "task %s: trigger %s (swprof runs FIXED_TIME tasks)", task_id,
				 trigger ? trigger : "(none)");
	if (strcmp(target, "ON_CPU") != 0 && strcmp(target, "OFF_CPU") != 0)
		return swp__fail(ENOTSUP, "task %s: target %s (swprof profiles ON_CPU and OFF_CPU)", task_id, target);
	if (now > start + duration * 1000)
		return 0; /* over: nothing to run */
	/* ON_CPU commands name one process; a list is split, each runs on its own */
	char *list = swp__xstrdup(procs), *save = NULL;
	for (char *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < c->tasks.n && !known; i++) {
			struct swp_task *t = c->tasks.v[i];
			if (t->ext_id && !strcmp(t->ext_id, task_id) && t->process_id && !strcmp(t->process_id, id)) {
				known = true;
				t->start_ms = start; /* a renewed task: its window as the backend says now */
				t->duration_s = duration;
				t->update_ms = *update;
			}
		}
		const struct swp_process *p = swp__registry_find(c, id);
		if (known || !p) {
			if (!p)
				swp_warn("task %s names process %s, which this agent does not have", task_id, id);
			continue;
		}
		struct swp_task *t = swp__xcalloc(1, sizeof(*t));
		t->id = c->next_task++;
		t->ext_id = swp__xstrdup(task_id);
		t->create_ms = now;
		t->update_ms = *update;
		t->start_ms = start;
		t->duration_s = duration;
		t->target = swp__xstrdup(target);
		t->process_id = swp__xstrdup(p->id);
		t->process_name = swp__xstrdup(p->name);
		t->service_id = swp__xstrdup(p->service_id);
		t->service = swp__xstrdup(p->service);
		t->instance_id = swp__xstrdup(p->instance_id);
		t->instance = swp__xstrdup(p->instance);
		t->labels = swp__xcalloc(1, sizeof(char *));
		SWP_VEC_PUSH(c->tasks, t);
		swp_info("task %s from the backend: %s on %s (pid %d) for %" PRId64 " s", task_id, target, p->name, p->pid,
			 duration);
	}
	free(list);
	pthread_cond_signal(&c->cond); /* the scheduler starts it at once */
	return 0;
}

int swp__agent_commands(swp_core *c, const void *msg, size_t len, int64_t *latest_update_ms, size_t *tasks)
{
	*tasks = 0;
	Skywalking__V3__Commands *m = skywalking__v3__commands__unpack(NULL, len, msg);
	if (!m)
		return swp__fail(EPROTO, "queryTasks: the answer is not a Commands message");
	int64_t now = swp__now_ms();
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < m->n_commands; i++) {
		const Skywalking__V3__Command *cmd = m->commands[i];
		if (strcmp(cmd->command, SWP_TASK_COMMAND) != 0)
			continue;
		int64_t update = 0;
		int r = task_from_command(c, cmd, now, &update);
		if (r == -ENOTSUP)
			swp_debug("%s", swp_last_error());
		else if (r)
			swp_warn("%s", swp_last_error());
		else
			(*tasks)++;
		/* a command read (run or not runnable here) is not asked for again */
		if (r != -EPROTO && update > *latest_update_ms)
			*latest_update_ms = update;
	}
	pthread_mutex_unlock(&c->mu);
	skywalking__v3__commands__free_unpacked(m, NULL);
	return 0;
}

/* ---- flushed blocks as data messages ---- */

void swp__agent_unit_free(struct swp_agent_unit *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->msgs[i].data);
	free(u->msgs);
	free(u->process_id);
	memset(u, 0, sizeof(*u));
}

static void unit_add(struct swp_agent_unit *u, const ProtobufCMessage *m)
{
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 16;
		u->msgs = swp__xrealloc(u->msgs, u->cap * sizeof(*u->msgs));
	}
	struct swp_buf *b = &u->msgs[u->n++];
	*b = (struct swp_buf){0};
	pack_buf(m, b);
	u->bytes += b->len;
}

/* The symbols of frames [from, to) of a stack, innermost first (the caller holds the stacks'
 * and the interner's read locks). */
static char **symbols(const struct swp_interner *in, const uint32_t *f, uint32_t from, uint32_t to, char **v)
{
	size_t k = 0;
	for (uint32_t i = to; i-- > from;)
		v[k++] = (char *)swp__interned_sym(in, f[i]);
	return v;
}

int swp__agent_block(swp_core *c, const struct swp_pending_block *blk, struct swp_agent_unit *u)
{
	const struct swp_schedule *s = swp__schedule_by_id(c, blk->sched);
	const struct swp_task *t = NULL;
	for (size_t i = 0; s && i < c->tasks.n && !t; i++)
		if (c->tasks.v[i]->id == s->task_id)
			t = c->tasks.v[i];
	if (!s || !t || !t->ext_id)
		return swp__fail(ENOENT, "a block of a schedule or task the agent does not have");
	memset(u, 0, sizeof(*u));
	u->process_id = swp__xstrdup(s->process_id);
	u->samples = blk->samples;
	char tid[SWP_EXT_ID_SIZE];
	Skywalking__V3__EBPFProfilingTaskMetadata meta = SKYWALKING__V3__EBPFPROFILING_TASK_METADATA__INIT;
	meta.taskid = t->ext_id ? t->ext_id : swp__ext_id(t->id, tid);
	meta.processid = s->process_id;
	meta.profilingstarttime = s->start_ms;
	/* the block's time: a new one every flush (OAP keys what it stores by it) */
	meta.currenttime = blk->last_ms ? blk->last_ms : (int64_t)blk->sec * 1000;
	const struct swp_stacks *st = &c->stacks;
	swp__interner_rdlock((struct swp_interner *)&st->in);
	char **syms = NULL;
	size_t cap = 0;
	bool first = true;
	for (uint32_t k = 0; k <= blk->counts.mask; k++) {
		if (blk->counts.keys[k] == UINT64_MAX)
			continue;
		uint32_t idx = (uint32_t)blk->counts.keys[k];
		const uint32_t *f = st->frames + st->off[idx];
		uint32_t depth = st->depth[idx], nu = 0;
		while (nu < depth && swp__interned_type(&st->in, f[nu]) == SWP_FRAME_USER)
			nu++;
		if (depth > cap) {
			cap = depth;
			syms = swp__xrealloc(syms, cap * sizeof(char *));
		}
		Skywalking__V3__EBPFProfilingStackMetadata ks = SKYWALKING__V3__EBPFPROFILING_STACK_METADATA__INIT;
		Skywalking__V3__EBPFProfilingStackMetadata us = SKYWALKING__V3__EBPFPROFILING_STACK_METADATA__INIT;
		Skywalking__V3__EBPFProfilingStackMetadata *stacks[2];
		size_t ns = 0;
		/* stack ids: the stack's own index, unique in the agent, for kernel and user alike */
		if (depth > nu) {
			ks.stacktype = SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_KERNEL_SPACE;
			ks.stackid = (int32_t)(idx + 1);
			ks.stacksymbols = symbols(&st->in, f, nu, depth, syms);
			ks.n_stacksymbols = depth - nu;
			stacks[ns++] = &ks;
		}
		char **usyms = syms + (depth - nu);
		if (nu) {
			us.stacktype = SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_USER_SPACE;
			us.stackid = (int32_t)(idx + 1);
			us.stacksymbols = symbols(&st->in, f, 0, nu, usyms);
			us.n_stacksymbols = nu;
			stacks[ns++] = &us;
		}
		Skywalking__V3__EBPFOnCPUProfiling on = SKYWALKING__V3__EBPFON_CPUPROFILING__INIT;
		Skywalking__V3__EBPFOffCPUProfiling off = SKYWALKING__V3__EBPFOFF_CPUPROFILING__INIT;
		int32_t count = blk->counts.vals[k] > INT32_MAX ? INT32_MAX : (int32_t)blk->counts.vals[k];
		Skywalking__V3__EBPFProfilingData d = SKYWALKING__V3__EBPFPROFILING_DATA__INIT;
		d.task = first ? &meta : NULL;
		if (blk->off) { /* an OFF_CPU block: switches and their blocked ns */
			const uint64_t *blocked = swp__u64map_get(&blk->ns, blk->counts.keys[k]);
			off.stacks = stacks;
			off.n_stacks = ns;
			off.switchcount = count;
			off.duration = blocked ? (int64_t)*blocked : 0;
			d.profiling_case = SKYWALKING__V3__EBPFPROFILING_DATA__PROFILING_OFF_CPU;
			d.offcpu = &off;
		} else {
			on.stacks = stacks;
			on.n_stacks = ns;
			on.dumpcount = count;
			d.profiling_case = SKYWALKING__V3__EBPFPROFILING_DATA__PROFILING_ON_CPU;
			d.oncpu = &on;
		}
		unit_add(u, &d.base);
		first = false;
	}
	swp__interner_unlock((struct swp_interner *)&st->in);
	free(syms);
	return 0;
}
