/*
 * The backend's half of the agent protocol: what the standalone server and the OAP module answer
 * SkyWalking Rover and `swprof agent` (docs/protocol.md §6). The host hands each message over as
 * it came; everything it means is decided here, under the core's lock:
 *
 *   reportProcesses  an agent's processes join the registry, owned by the agent (ebpfAgentID),
 *                    with the ids OAP gives them; the answer echoes each accepted one with its id
 *   keepAlive        keeps them running (swp__process_running: keep-alives within the timeout)
 *   queryTasks       the open tasks on the agent's processes, one command per (task, process),
 *                    newer than the update time the agent has seen
 *   collectProfilingData  each stack pair with its count, into the pending block of the task's
 *                    schedule on the process: the path the local profiler's samples take
 *
 * A message that does not decode or breaks a limit (protocol.h) is refused whole with -EINVAL
 * and the reason; nothing of it is kept. A process another agent (or this host) runs under the
 * same ids is not taken over: the report's answer leaves it out, as OAP leaves out what it did
 * not accept.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <sys/random.h>

#include "ids/ids.h"
#include "protocol/agent.h"
#include "store/layout.h"

#include "common/Command.pb-c.h"
#include "ebpf/profiling/Process.pb-c.h"
#include "ebpf/profiling/Profile.pb-c.h"


static int check_name(const char *what, const char *v, bool required)
{
	if (required && (!v || !*v))
		return swp__fail(EINVAL, "%s is empty", what);
	if (v && strlen(v) > SWP_PROTO_MAX_NAME)
		return swp__fail(EINVAL, "%s is longer than %d bytes", what, SWP_PROTO_MAX_NAME);
	return 0;
}

static int check_entity(const Skywalking__V3__EBPFProcessEntityMetadata *e)
{
	if (!e)
		return swp__fail(EINVAL, "a process has no entity");
	int r = check_name("entity.serviceName", e->servicename, true);
	if (!r)
		r = check_name("entity.instanceName", e->instancename, true);
	if (!r)
		r = check_name("entity.processName", e->processname, true);
	if (!r)
		r = check_name("entity.layer", e->layer, false);
	if (!r && e->n_labels > SWP_PROTO_MAX_LABELS)
		r = swp__fail(EINVAL, "a process has %zu labels (at most %d)", e->n_labels, SWP_PROTO_MAX_LABELS);
	for (size_t i = 0; !r && i < e->n_labels; i++)
		r = check_name("a label", e->labels[i], true);
	return r;
}

static int check_props(Skywalking__V3__KeyStringValuePair **kv, size_t n)
{
	if (n > SWP_PROTO_MAX_PROPS)
		return swp__fail(EINVAL, "a process has %zu properties (at most %d)", n, SWP_PROTO_MAX_PROPS);
	for (size_t i = 0; i < n; i++) {
		int r = check_name("a property key", kv[i]->key, true);
		if (r)
			return r;
		if (kv[i]->value && strlen(kv[i]->value) > SWP_PROTO_MAX_VALUE)
			return swp__fail(EINVAL, "property %s is longer than %d bytes", kv[i]->key, SWP_PROTO_MAX_VALUE);
	}
	return 0;
}

static const char *prop(Skywalking__V3__KeyStringValuePair **kv, size_t n, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i]->key, key) == 0)
			v = kv[i]->value; /* a later duplicate wins, as in OAP */
	return v;
}

static void set_str(char **dst, const char *v, bool *changed)
{
	if (*dst && v && strcmp(*dst, v) == 0)
		return;
	if (!*dst && !v)
		return;
	free(*dst);
	*dst = v ? swp__xstrdup(v) : NULL;
	*changed = true;
}

/* The reported properties but the three kept in fields, merged into p's (new values win). */
static void merge_props(struct swp_process *p, Skywalking__V3__KeyStringValuePair **kv, size_t n, bool *changed)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[i]->key, *v = kv[i]->value ? kv[i]->value : "";
		if (!strcmp(k, "host_ip") || !strcmp(k, "pid") || !strcmp(k, "command_line"))
			continue;
		uint32_t j = 0;
		while (j < p->n_props && strcmp(p->prop_keys[j], k) != 0)
			j++;
		if (j == p->n_props) {
			if (p->n_props >= SWP_PROTO_MAX_PROPS)
				continue;
			p->prop_keys = swp__xrealloc(p->prop_keys, (p->n_props + 2) * sizeof(char *));
			p->prop_vals = swp__xrealloc(p->prop_vals, (p->n_props + 2) * sizeof(char *));
			p->prop_keys[j] = swp__xstrdup(k);
			p->prop_vals[j] = NULL;
			p->n_props++;
			p->prop_keys[p->n_props] = p->prop_vals[p->n_props] = NULL;
		}
		set_str(&p->prop_vals[j], v, changed);
	}
}

/* The running schedule of process p to charge what its agent dropped to: the newest one whose
 * task is open. */
static struct swp_schedule *current_schedule(swp_core *c, const struct swp_process *p, int64_t now)
{
	for (size_t i = c->scheds.n; i-- > 0;) {
		struct swp_schedule *s = c->scheds.v[i];
		if (strcmp(s->process_id, p->id) != 0)
			continue;
		for (size_t k = 0; k < c->tasks.n; k++)
			if (c->tasks.v[k]->id == s->task_id && now <= swp__task_end_ms(c->tasks.v[k]) + 60000)
				return s;
	}
	return NULL;
}

/* What an agent says it dropped (its buffer was full while the backend was away): the increase
 * since its last report goes to the process's current schedule as lost samples. */
static void account_dropped(swp_core *c, struct swp_process *p, const char *now_text, int64_t now,
			    struct swp_batch *b)
{
	const char *before = NULL;
	for (uint32_t i = 0; i < p->n_props; i++)
		if (!strcmp(p->prop_keys[i], SWP_DROPPED_PROPERTY))
			before = p->prop_vals[i];
	uint64_t was = before ? strtoull(before, NULL, 10) : 0, is = strtoull(now_text, NULL, 10);
	if (is <= was)
		return;
	struct swp_schedule *s = current_schedule(c, p, now);
	if (s) {
		s->lost += is - was;
		swp__schedule_put(b, s);
	}
	c->st_lost += is - was;
}

/* The registry entry of a process an agent reports, or NULL when another agent (or this host)
 * runs a process under the same ids. */
static struct swp_process *register_remote(swp_core *c, const char *agent, const Skywalking__V3__EBPFProcessEntityMetadata *e,
					   int pid, Skywalking__V3__KeyStringValuePair **kv, size_t n_kv,
					   const char *detect, int64_t now, struct swp_batch *b)
{
	struct swp_buf sid = {0}, iid = {0};
	swp__service_id(e->servicename, &sid);
	swp__instance_id(sid.data, e->instancename, &iid);
	char id[SWP_PROCESS_ID_SIZE];
	swp__process_id(e->processname, iid.data, id);
	struct swp_process *p = swp__registry_find(c, id);
	const char *host_ip = prop(kv, n_kv, "host_ip"), *cmd = prop(kv, n_kv, "command_line");
	/* the same pid on the same host under another agent id: its agent restarted (Rover picks a new
	 * random id at each start) and takes its process back */
	bool restarted = p && p->agent_id && host_ip && p->host_ip && !strcmp(host_ip, p->host_ip) && pid > 0 &&
			 p->pid == pid;
	if (p && (!p->agent_id || strcmp(p->agent_id, agent) != 0) && !restarted && swp__process_running(c, p, now)) {
		swp_warn("agent %s reports process %s (%s) that %s%s runs: left out", agent, e->processname,
			 e->servicename, p->agent_id ? "agent " : "this host", p->agent_id ? p->agent_id : "");
		swp_buf_free(&sid);
		swp_buf_free(&iid);
		return NULL;
	}
	bool changed = false;
	if (!p) {
		p = swp__xcalloc(1, sizeof(*p));
		p->id = swp__xstrdup(id);
		p->name = swp__xstrdup(e->processname);
		p->service = swp__xstrdup(e->servicename);
		p->service_id = swp__xstrdup(sid.data);
		p->instance = swp__xstrdup(e->instancename);
		p->instance_id = swp__xstrdup(iid.data);
		p->labels = swp__xcalloc(1, sizeof(char *));
		p->first_seen_ms = now;
		SWP_VEC_PUSH(c->procs, p);
		changed = true;
	}
	swp_buf_free(&sid);
	swp_buf_free(&iid);
	if (!p->agent_id || strcmp(p->agent_id, agent) != 0) {
		/* a process that moved (an agent restarted with another id, or discovery gave it up) */
		if (p->agent_id && restarted)
			swp_info("agent %s takes process %s (%s) from agent %s: the same pid on the same host", agent,
				 e->processname, e->servicename, p->agent_id);
		set_str(&p->agent_id, agent, &changed);
		p->start_ticks = 0;
	}
	set_str(&p->layer, *e->layer ? e->layer : "OS_LINUX", &changed);
	set_str(&p->detect_type, detect, &changed);
	if (pid >= 0 && p->pid != pid) {
		p->pid = pid;
		changed = true;
	}
	if (host_ip)
		set_str(&p->host_ip, host_ip, &changed);
	if (cmd)
		set_str(&p->cmdline, cmd, &changed);
	const char *dropped = prop(kv, n_kv, SWP_DROPPED_PROPERTY);
	if (dropped)
		account_dropped(c, p, dropped, now, b);
	merge_props(p, kv, n_kv, &changed);
	/* the UI profiles labelled processes only: no labels, one, the process name (as discovery) */
	const char *const name_only[] = {p->name, NULL};
	const char *const *labels = e->n_labels ? (const char *const *)e->labels : name_only;
	size_t nl = e->n_labels ? e->n_labels : 1;
	bool same = nl == p->n_labels;
	for (size_t i = 0; same && i < nl; i++)
		same = strcmp(p->labels[i], labels[i]) == 0;
	if (!same) {
		swp__strv_free(p->labels, p->n_labels);
		p->labels = swp__strv_dupn(labels, nl, &p->n_labels);
		changed = true;
	}
	p->seen_ms = now;
	if (changed || now - p->saved_seen_ms >= SWP_SEEN_SAVE_MS)
		swp__registry_put(b, p);
	return p;
}

static Skywalking__V3__EBPFProcessEntityMetadata *entity_copy(const Skywalking__V3__EBPFProcessEntityMetadata *e)
{
	Skywalking__V3__EBPFProcessEntityMetadata *m = swp__xmalloc(sizeof(*m));
	*m = *e; /* the strings stay the request's: the reply is packed before the request is freed */
	return m;
}

int swp__proto_report(swp_core *c, const uint8_t *req, size_t len, struct swp_buf *out)
{
	Skywalking__V3__EBPFProcessReportList *m = skywalking__v3__ebpfprocess_report_list__unpack(NULL, len, req);
	if (!m)
		return swp__fail(EINVAL, "reportProcesses: the request is not an EBPFProcessReportList");
	int r = check_name("ebpfAgentID", m->ebpfagentid, true);
	if (!r && m->n_processes > SWP_PROTO_MAX_PROCESSES)
		r = swp__fail(E2BIG, "reportProcesses: %zu processes in one report (at most %d)", m->n_processes,
			      SWP_PROTO_MAX_PROCESSES);
	for (size_t i = 0; !r && i < m->n_processes; i++) {
		const Skywalking__V3__EBPFProcessProperties *pp = m->processes[i];
		if (pp->metadata_case == SKYWALKING__V3__EBPFPROCESS_PROPERTIES__METADATA_HOST_PROCESS) {
			r = check_entity(pp->hostprocess->entity);
			if (!r)
				r = check_props(pp->hostprocess->properties, pp->hostprocess->n_properties);
		} else if (pp->metadata_case == SKYWALKING__V3__EBPFPROCESS_PROPERTIES__METADATA_K8S_PROCESS) {
			r = check_entity(pp->k8sprocess->entity);
			if (!r)
				r = check_props(pp->k8sprocess->properties, pp->k8sprocess->n_properties);
		}
		if (r) {
			char why[512];
			snprintf(why, sizeof(why), "%s", swp_last_error());
			r = swp__fail(-r, "reportProcesses: processes[%zu]: %s", i, why);
		}
	}
	if (r) {
		skywalking__v3__ebpfprocess_report_list__free_unpacked(m, NULL);
		return r;
	}

	Skywalking__V3__EBPFReportProcessDownstream reply = SKYWALKING__V3__EBPFREPORT_PROCESS_DOWNSTREAM__INIT;
	reply.processes = swp__xcalloc(m->n_processes + 1, sizeof(*reply.processes));
	int64_t now = swp__now_ms();
	struct swp_batch *b = swp__batch_new();
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < m->n_processes; i++) {
		const Skywalking__V3__EBPFProcessProperties *pp = m->processes[i];
		bool host = pp->metadata_case == SKYWALKING__V3__EBPFPROCESS_PROPERTIES__METADATA_HOST_PROCESS;
		if (!host && pp->metadata_case != SKYWALKING__V3__EBPFPROCESS_PROPERTIES__METADATA_K8S_PROCESS)
			continue; /* neither kind: skipped, as OAP skips it */
		const Skywalking__V3__EBPFProcessEntityMetadata *e = host ? pp->hostprocess->entity : pp->k8sprocess->entity;
		int pid = host ? pp->hostprocess->pid : pp->k8sprocess->pid;
		Skywalking__V3__KeyStringValuePair **kv = host ? pp->hostprocess->properties : pp->k8sprocess->properties;
		size_t nkv = host ? pp->hostprocess->n_properties : pp->k8sprocess->n_properties;
		struct swp_process *p = register_remote(c, m->ebpfagentid, e, pid, kv, nkv, host ? NULL : "KUBERNETES", now, b);
		if (!p)
			continue;
		Skywalking__V3__EBPFProcessDownstream *d = swp__xmalloc(sizeof(*d));
		*d = (Skywalking__V3__EBPFProcessDownstream)SKYWALKING__V3__EBPFPROCESS_DOWNSTREAM__INIT;
		d->processid = swp__xstrdup(p->id);
		if (host) {
			Skywalking__V3__EBPFHostProcessDownstream *h = swp__xmalloc(sizeof(*h));
			*h = (Skywalking__V3__EBPFHostProcessDownstream)SKYWALKING__V3__EBPFHOST_PROCESS_DOWNSTREAM__INIT;
			h->pid = pid;
			h->entitymetadata = entity_copy(e);
			d->process_case = SKYWALKING__V3__EBPFPROCESS_DOWNSTREAM__PROCESS_HOST_PROCESS;
			d->hostprocess = h;
		} else {
			Skywalking__V3__EBPFKubernetesProcessDownstream *k = swp__xmalloc(sizeof(*k));
			*k = (Skywalking__V3__EBPFKubernetesProcessDownstream)SKYWALKING__V3__EBPFKUBERNETES_PROCESS_DOWNSTREAM__INIT;
			k->pid = pid;
			k->entitymetadata = entity_copy(e);
			d->process_case = SKYWALKING__V3__EBPFPROCESS_DOWNSTREAM__PROCESS_K8S_PROCESS;
			d->k8sprocess = k;
		}
		reply.processes[reply.n_processes++] = d;
	}
	r = swp__batch_count(b) ? swp__batch_commit(c->store, b, false) : 0;
	pthread_mutex_unlock(&c->mu);
	swp__batch_free(b);
	if (!r) {
		size_t n = skywalking__v3__ebpfreport_process_downstream__get_packed_size(&reply);
		swp__buf_reserve(out, n + 1);
		out->len = skywalking__v3__ebpfreport_process_downstream__pack(&reply, (uint8_t *)out->data);
		out->data[out->len] = 0;
	}
	for (size_t i = 0; i < reply.n_processes; i++) {
		Skywalking__V3__EBPFProcessDownstream *d = reply.processes[i];
		free(d->processid);
		if (d->process_case == SKYWALKING__V3__EBPFPROCESS_DOWNSTREAM__PROCESS_HOST_PROCESS) {
			free(d->hostprocess->entitymetadata);
			free(d->hostprocess);
		} else {
			free(d->k8sprocess->entitymetadata);
			free(d->k8sprocess);
		}
		free(d);
	}
	free(reply.processes);
	skywalking__v3__ebpfprocess_report_list__free_unpacked(m, NULL);
	return r;
}

/* An empty Commands message: what keepAlive, and a stream's end, answer. */
static void empty_commands(struct swp_buf *out)
{
	Skywalking__V3__Commands none = SKYWALKING__V3__COMMANDS__INIT;
	size_t n = skywalking__v3__commands__get_packed_size(&none);
	swp__buf_reserve(out, n + 1);
	out->len = skywalking__v3__commands__pack(&none, (uint8_t *)out->data);
	out->data[out->len] = 0;
}

int swp__proto_keep_alive(swp_core *c, const uint8_t *req, size_t len, struct swp_buf *out)
{
	Skywalking__V3__EBPFProcessPingPkgList *m = skywalking__v3__ebpfprocess_ping_pkg_list__unpack(NULL, len, req);
	if (!m)
		return swp__fail(EINVAL, "keepAlive: the request is not an EBPFProcessPingPkgList");
	int r = check_name("ebpfAgentID", m->ebpfagentid, true);
	if (!r && m->n_processes > SWP_PROTO_MAX_PROCESSES)
		r = swp__fail(E2BIG, "keepAlive: %zu processes in one message (at most %d)", m->n_processes,
			      SWP_PROTO_MAX_PROCESSES);
	for (size_t i = 0; !r && i < m->n_processes; i++) {
		r = check_entity(m->processes[i]->entitymetadata);
		if (!r)
			r = check_props(m->processes[i]->properties, m->processes[i]->n_properties);
		if (r) {
			char why[512];
			snprintf(why, sizeof(why), "%s", swp_last_error());
			r = swp__fail(-r, "keepAlive: processes[%zu]: %s", i, why);
		}
	}
	if (r) {
		skywalking__v3__ebpfprocess_ping_pkg_list__free_unpacked(m, NULL);
		return r;
	}
	int64_t now = swp__now_ms();
	struct swp_batch *b = swp__batch_new();
	pthread_mutex_lock(&c->mu);
	/* a ping of a process the backend does not know (yet) registers it, as OAP does */
	for (size_t i = 0; i < m->n_processes; i++)
		register_remote(c, m->ebpfagentid, m->processes[i]->entitymetadata, -1, m->processes[i]->properties,
				m->processes[i]->n_properties, NULL, now, b);
	r = swp__batch_count(b) ? swp__batch_commit(c->store, b, false) : 0;
	pthread_mutex_unlock(&c->mu);
	swp__batch_free(b);
	skywalking__v3__ebpfprocess_ping_pkg_list__free_unpacked(m, NULL);
	if (!r)
		empty_commands(out);
	return r;
}

/* ---- tasks as commands ---- */

struct args {
	Skywalking__V3__KeyStringValuePair kv[9];
	Skywalking__V3__KeyStringValuePair *ptr[9];
	char text[9][80];
	size_t n;
};

static void arg(struct args *a, const char *key, const char *value)
{
	Skywalking__V3__KeyStringValuePair *p = &a->kv[a->n];
	*p = (Skywalking__V3__KeyStringValuePair)SKYWALKING__V3__KEY_STRING_VALUE_PAIR__INIT;
	p->key = (char *)key;
	p->value = (char *)value;
	a->ptr[a->n++] = p;
}

static const char *num(struct args *a, int64_t v)
{
	snprintf(a->text[a->n], sizeof(a->text[0]), "%" PRId64, v);
	return a->text[a->n];
}

/* A random UUID text: each command's SerialNumber. */
static void serial(char out[37])
{
	uint8_t r[16] = {0};
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t x = (uint64_t)swp__now_ms() ^ (uint64_t)(uintptr_t)out;
		for (int i = 0; i < 16; i++)
			r[i] = (uint8_t)(swp__mix64(x + (uint64_t)i) >> 24);
	}
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		 r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

int swp__proto_query_tasks(swp_core *c, const uint8_t *req, size_t len, struct swp_buf *out)
{
	Skywalking__V3__EBPFProfilingTaskQuery *m = skywalking__v3__ebpfprofiling_task_query__unpack(NULL, len, req);
	if (!m)
		return swp__fail(EINVAL, "queryTasks: the request is not an EBPFProfilingTaskQuery");
	int r = check_name("roverInstanceId", m->roverinstanceid, true);
	if (r) {
		skywalking__v3__ebpfprofiling_task_query__free_unpacked(m, NULL);
		return r;
	}
	Skywalking__V3__Commands reply = SKYWALKING__V3__COMMANDS__INIT;
	struct cmd {
		Skywalking__V3__Command cmd;
		struct args a;
		char task[SWP_EXT_ID_SIZE], serial[37];
		char *process;
	};
	SWP_VEC(struct cmd *) cmds = {0};
	int64_t now = swp__now_ms();
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->tasks.n; i++) {
		const struct swp_task *t = c->tasks.v[i];
		if (now > swp__task_end_ms(t) || (strcmp(t->target, "ON_CPU") != 0 && strcmp(t->target, "OFF_CPU") != 0))
			continue;
		for (size_t k = 0; k < c->procs.n; k++) {
			const struct swp_process *p = c->procs.v[k];
			if (!p->agent_id || strcmp(p->agent_id, m->roverinstanceid) != 0 || !swp__task_targets(t, p))
				continue;
			/* a process the agent reports after the task was created gets it too: the command's
			 * update time is the later of the two */
			int64_t updated = t->create_ms > p->first_seen_ms ? t->create_ms : p->first_seen_ms;
			if (updated <= m->latestupdatetime)
				continue;
			struct cmd *x = swp__xcalloc(1, sizeof(*x));
			x->cmd = (Skywalking__V3__Command)SKYWALKING__V3__COMMAND__INIT;
			x->cmd.command = SWP_TASK_COMMAND;
			x->process = swp__xstrdup(p->id);
			swp__ext_id(t->id, x->task);
			serial(x->serial);
			arg(&x->a, "SerialNumber", x->serial);
			arg(&x->a, "TaskId", x->task);
			arg(&x->a, "ProcessId", x->process);
			arg(&x->a, "TaskUpdateTime", num(&x->a, updated));
			arg(&x->a, "TriggerType", "FIXED_TIME");
			arg(&x->a, "TargetType", t->target);
			arg(&x->a, "TaskStartTime", num(&x->a, t->start_ms));
			arg(&x->a, "ExtensionConfigJSON", "null");
			arg(&x->a, "FixedTriggerDuration", num(&x->a, t->duration_s));
			x->cmd.args = x->a.ptr;
			x->cmd.n_args = x->a.n;
			SWP_VEC_PUSH(cmds, x);
		}
	}
	pthread_mutex_unlock(&c->mu);
	reply.commands = swp__xcalloc(cmds.n + 1, sizeof(*reply.commands));
	for (size_t i = 0; i < cmds.n; i++)
		reply.commands[reply.n_commands++] = &cmds.v[i]->cmd;
	size_t n = skywalking__v3__commands__get_packed_size(&reply);
	swp__buf_reserve(out, n + 1);
	out->len = skywalking__v3__commands__pack(&reply, (uint8_t *)out->data);
	out->data[out->len] = 0;
	for (size_t i = 0; i < cmds.n; i++) {
		free(cmds.v[i]->process);
		free(cmds.v[i]);
	}
	free(cmds.v);
	free(reply.commands);
	skywalking__v3__ebpfprofiling_task_query__free_unpacked(m, NULL);
	return 0;
}

/* ---- data streams ----
 *
 * A stream holds blocks: a message with task metadata opens one (the task, the process, the
 * report time), the messages after it add its stack pairs, and the next block's first message or
 * the stream's successful end closes it. Only a whole block is taken in (into the pending blocks,
 * where the local profiler's samples go): a stream that breaks loses its last, partial block,
 * which the agent sends again, whole. A block whose schedule and report time were taken in before
 * is a block sent twice (the agent did not hear the answer) and is left out.
 */

struct sample {
	uint32_t idx;
	uint64_t count; /* OFF_CPU: switches */
	uint64_t ns;    /* OFF_CPU: their blocked time */
};

struct swp_data_stream {
	bool have_task;     /* a message with task metadata came */
	bool off;           /* its task is OFF_CPU: its messages carry offCPU data */
	char *task_id, *process_id;
	int64_t start_ms, current_ms;
	/* the open block: its stack pairs (stack idx, count) */
	SWP_VEC(struct sample) block;
	uint64_t messages, samples, blocks, duplicates;
	struct swp_buf name;  /* scratch */
	uint32_t *frames;
	uint32_t fcap;
};

SWP_API swp_data_stream *swp_data_stream_open(void)
{
	return swp__xcalloc(1, sizeof(swp_data_stream));
}

static bool seen(struct swp_schedule *s, int64_t current)
{
	uint32_t n = s->n_recent < SWP_ARRAY_SIZE(s->recent) ? s->n_recent : (uint32_t)SWP_ARRAY_SIZE(s->recent);
	for (uint32_t i = 0; i < n; i++)
		if (s->recent[i] == current)
			return true;
	s->recent[s->n_recent++ % SWP_ARRAY_SIZE(s->recent)] = current;
	return false;
}

/* The open block into the pending blocks of its schedule (mu held). */
static int take_block(swp_core *c, swp_data_stream *s, struct swp_batch *b)
{
	if (!s->have_task || !s->block.n)
		return 0;
	struct swp_task *t = swp__task_find(c, s->task_id);
	struct swp_process *p = swp__registry_find(c, s->process_id);
	if (!t || !p) /* checked when the block opened; gone since only if it was forgotten */
		return swp__fail(ENOENT, "task %s or process %s is gone", s->task_id, s->process_id);
	struct swp_schedule *sc = swp__schedule_for(c, t, p, p->pid, s->start_ms > 0 ? s->start_ms : s->current_ms, b);
	s->blocks++;
	if (seen(sc, s->current_ms)) {
		s->duplicates++;
		s->block.n = 0;
		return 0;
	}
	if (s->start_ms > 0 && s->start_ms < sc->start_ms)
		sc->start_ms = s->start_ms;
	if (s->current_ms > sc->end_ms)
		sc->end_ms = s->current_ms;
	swp__schedule_put(b, sc);
	for (size_t i = 0; i < s->block.n; i++) {
		if (s->off)
			swp__pending_add_off(c, sc, (uint64_t)(s->current_ms / 1000), s->block.v[i].idx, s->block.v[i].count,
					     s->block.v[i].ns);
		else
			swp__pending_add(c, sc, (uint64_t)(s->current_ms / 1000), s->block.v[i].idx, s->block.v[i].count);
		s->samples += s->block.v[i].count;
		c->st_samples += s->block.v[i].count;
	}
	s->block.n = 0;
	return 0;
}

static void stream_free(swp_data_stream *s)
{
	free(s->task_id);
	free(s->process_id);
	free(s->frames);
	free(s->block.v);
	swp_buf_free(&s->name);
	free(s);
}

static const Skywalking__V3__EBPFProfilingStackMetadata *last_of(Skywalking__V3__EBPFProfilingStackMetadata **st, size_t n,
								   Skywalking__V3__EBPFProfilingStackType type)
{
	const Skywalking__V3__EBPFProfilingStackMetadata *found = NULL;
	for (size_t i = 0; i < n; i++)
		if (st[i]->stacktype == type)
			found = st[i]; /* the last of each type, as OAP keeps it */
	return found;
}

static int check_stacks(Skywalking__V3__EBPFProfilingStackMetadata **st, size_t n)
{
	if (n > 16)
		return swp__fail(EINVAL, "a message has %zu stacks (one kernel and one user stack)", n);
	for (size_t i = 0; i < n; i++) {
		if (st[i]->stacktype != SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_KERNEL_SPACE &&
		    st[i]->stacktype != SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_USER_SPACE)
			return swp__fail(EINVAL, "a stack of unknown type %d", (int)st[i]->stacktype);
		if (st[i]->n_stacksymbols > SWP_PROTO_MAX_SYMBOLS)
			return swp__fail(EINVAL, "a stack of %zu frames (at most %d)", st[i]->n_stacksymbols,
					 SWP_PROTO_MAX_SYMBOLS);
		for (size_t k = 0; k < st[i]->n_stacksymbols; k++)
			if (strlen(st[i]->stacksymbols[k]) > SWP_PROTO_MAX_SYMBOL)
				return swp__fail(EINVAL, "a symbol longer than %d bytes", SWP_PROTO_MAX_SYMBOL);
	}
	return 0;
}

static void push(swp_core *c, swp_data_stream *s, uint32_t *n, uint8_t type, const char *sym)
{
	if (*n == s->fcap) {
		s->fcap = s->fcap ? s->fcap * 2 : 256;
		s->frames = swp__xrealloc(s->frames, s->fcap * sizeof(uint32_t));
	}
	s->frames[(*n)++] = swp__intern(&c->stacks.in, type, sym, strlen(sym));
}

/* One EBPFProfilingData message (mu held). */
static int ingest(swp_core *c, swp_data_stream *s, const Skywalking__V3__EBPFProfilingData *d, struct swp_batch *b)
{
	if (d->task) {
		int r = check_name("task.taskId", d->task->taskid, true);
		if (!r)
			r = check_name("task.processId", d->task->processid, true);
		if (!r)
			r = take_block(c, s, b); /* the block before is whole */
		if (r)
			return r;
		struct swp_task *t = swp__task_find(c, d->task->taskid);
		if (!t)
			return swp__fail(ENOENT, "unknown task %s", d->task->taskid);
		struct swp_process *p = swp__registry_find(c, d->task->processid);
		if (!p)
			return swp__fail(ENOENT, "unknown process %s", d->task->processid);
		if (!swp__task_targets(t, p))
			return swp__fail(EINVAL, "task %s does not profile process %s", d->task->taskid, d->task->processid);
		if (!s->task_id || strcmp(s->task_id, d->task->taskid)) {
			free(s->task_id);
			s->task_id = swp__xstrdup(d->task->taskid);
		}
		if (!s->process_id || strcmp(s->process_id, d->task->processid)) {
			free(s->process_id);
			s->process_id = swp__xstrdup(d->task->processid);
		}
		s->start_ms = d->task->profilingstarttime;
		s->current_ms = d->task->currenttime;
		s->off = strcmp(t->target, "OFF_CPU") == 0;
		s->have_task = true;
	}
	if (!s->have_task)
		return swp__fail(EINVAL, "the first message of a stream carries no task");
	Skywalking__V3__EBPFProfilingStackMetadata **st;
	size_t nst;
	uint64_t count, ns = 0;
	if (d->profiling_case == SKYWALKING__V3__EBPFPROFILING_DATA__PROFILING_ON_CPU) {
		if (s->off)
			return swp__fail(EINVAL, "onCPU data for OFF_CPU task %s", s->task_id);
		st = d->oncpu->stacks;
		nst = d->oncpu->n_stacks;
		if (d->oncpu->dumpcount < 0)
			return swp__fail(EINVAL, "a negative dumpCount (%d)", d->oncpu->dumpcount);
		count = (uint64_t)d->oncpu->dumpcount;
	} else if (d->profiling_case == SKYWALKING__V3__EBPFPROFILING_DATA__PROFILING_OFF_CPU) {
		if (!s->off)
			return swp__fail(EINVAL, "offCPU data for ON_CPU task %s", s->task_id);
		st = d->offcpu->stacks;
		nst = d->offcpu->n_stacks;
		if (d->offcpu->switchcount < 0 || d->offcpu->duration < 0)
			return swp__fail(EINVAL, "a negative switchCount or duration (%d, %" PRId64 ")",
					 d->offcpu->switchcount, d->offcpu->duration);
		count = (uint64_t)d->offcpu->switchcount;
		ns = (uint64_t)d->offcpu->duration;
	} else {
		return swp__fail(EINVAL, "a message with neither onCPU nor offCPU data");
	}
	int r = check_stacks(st, nst);
	if (r)
		return r;
	const Skywalking__V3__EBPFProfilingStackMetadata *user = last_of(st, nst,
		SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_USER_SPACE);
	const Skywalking__V3__EBPFProfilingStackMetadata *kern = last_of(st, nst,
		SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_KERNEL_SPACE);
	/* symbols come innermost first; a stack is its user frames from the outermost, then its
	 * kernel frames from the outermost (docs/protocol.md §3) */
	uint32_t n = 0;
	for (size_t i = user ? user->n_stacksymbols : 0; i-- > 0;)
		push(c, s, &n, SWP_FRAME_USER, user->stacksymbols[i]);
	for (size_t i = kern ? kern->n_stacksymbols : 0; i-- > 0;)
		push(c, s, &n, SWP_FRAME_KERNEL, kern->stacksymbols[i]);
	s->messages++;
	if (!n || !count)
		return 0; /* nothing to count (OAP drops empty stacks too) */
	uint64_t h = swp__stack_hash(&c->stacks.in, s->frames, n, &s->name);
	struct sample x = {.idx = swp__stacks_add(&c->stacks, h, s->frames, n, NULL), .count = count, .ns = ns};
	SWP_VEC_PUSH(s->block, x);
	return 0;
}

/* Feeds msgs, then takes the open block in when the stream ended well (end): then everything
 * pending is written before the agent hears its answer, so an answered stream survives a killed
 * backend (the WAL, as every flush). */
static int feed(swp_core *c, swp_data_stream *s, const void *const *msgs, const size_t *lens, size_t n, bool end)
{
	struct swp_batch *b = swp__batch_new();
	int r = 0;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < n && !r; i++) {
		Skywalking__V3__EBPFProfilingData *d = skywalking__v3__ebpfprofiling_data__unpack(NULL, lens[i], msgs[i]);
		if (!d) {
			r = swp__fail(EINVAL, "collectProfilingData: message %" PRIu64 " is not an EBPFProfilingData",
				      s->messages + 1);
			break;
		}
		r = ingest(c, s, d, b);
		skywalking__v3__ebpfprofiling_data__free_unpacked(d, NULL);
		if (r) {
			char why[512];
			snprintf(why, sizeof(why), "%s", swp_last_error());
			r = swp__fail(-r, "collectProfilingData: message %" PRIu64 ": %s", s->messages + 1, why);
		}
	}
	if (!r && end)
		r = take_block(c, s, b);
	/* new schedules and their bounds now; the samples with the next flush, or now at the end */
	int w = end && !r ? swp__scheduler_flush(c, b, false)
			  : swp__batch_count(b) ? swp__batch_commit(c->store, b, false) : 0;
	pthread_mutex_unlock(&c->mu);
	swp__batch_free(b);
	return r ? r : w;
}

SWP_API int swp_data_stream_feed(swp_core *c, swp_data_stream *s, const void *const *msgs, const size_t *lens, size_t n)
{
	swp__clear_error();
	if (!c || !s || (n && (!msgs || !lens)))
		return swp__fail(EINVAL, "core, stream and messages are required");
	return feed(c, s, msgs, lens, n, false);
}

SWP_API int swp_data_stream_end(swp_core *c, swp_data_stream *s, struct swp_buf *out)
{
	swp__clear_error();
	if (!c || !s)
		return swp__fail(EINVAL, "core and stream are required");
	int r = feed(c, s, NULL, NULL, 0, true);
	if (!r && out)
		empty_commands(out);
	if (!r && s->duplicates)
		swp_debug("a data stream brought %" PRIu64 " block(s) sent before: left out", s->duplicates);
	return r;
}

SWP_API void swp_data_stream_free(swp_data_stream *s)
{
	if (s)
		stream_free(s);
}

SWP_API int swp_agent_call(swp_core *c, int call, const void *req, size_t len, struct swp_buf *out)
{
	swp__clear_error();
	if (!c || !out || (len && !req))
		return swp__fail(EINVAL, "core, request and out are required");
	switch (call) {
	case SWP_AGENT_REPORT_PROCESSES:
		return swp__proto_report(c, req, len, out);
	case SWP_AGENT_KEEP_ALIVE:
		return swp__proto_keep_alive(c, req, len, out);
	case SWP_AGENT_QUERY_TASKS:
		return swp__proto_query_tasks(c, req, len, out);
	default:
		return swp__fail(EINVAL, "unknown agent call %d", call);
	}
}
