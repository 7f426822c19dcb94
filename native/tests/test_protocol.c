/*
 * The agent protocol at both ends, through the messages themselves (protobuf-c, built from the
 * apm-network .proto files): a backend core answers reports, keep-alives, task queries and data
 * streams as OAP does (ids, downstream echo, command arguments, kernel and user stacks into one
 * tree), refuses what is malformed or too big, does not let one agent take another's process,
 * counts a block sent twice once and a partial block not at all; and what an agent core writes
 * (its reports, its blocks) reads back through the backend into the same tree.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/core.h"
#include "ids/ids.h"
#include "protocol/agent.h"
#include "swprof/swprof.h"
#include "test_json.h"

#include "common/Command.pb-c.h"
#include "ebpf/profiling/Process.pb-c.h"
#include "ebpf/profiling/Profile.pb-c.h"

static char dir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- building messages ---- */

static Skywalking__V3__KeyStringValuePair *kv(const char *k, const char *v)
{
	Skywalking__V3__KeyStringValuePair *p = calloc(1, sizeof(*p));
	*p = (Skywalking__V3__KeyStringValuePair)SKYWALKING__V3__KEY_STRING_VALUE_PAIR__INIT;
	p->key = (char *)k;
	p->value = (char *)v;
	return p;
}

static Skywalking__V3__EBPFProcessEntityMetadata *entity(const char *svc, const char *inst, const char *proc,
							    char **labels, size_t nl)
{
	Skywalking__V3__EBPFProcessEntityMetadata *e = calloc(1, sizeof(*e));
	*e = (Skywalking__V3__EBPFProcessEntityMetadata)SKYWALKING__V3__EBPFPROCESS_ENTITY_METADATA__INIT;
	e->layer = "OS_LINUX";
	e->servicename = (char *)svc;
	e->instancename = (char *)inst;
	e->processname = (char *)proc;
	e->labels = labels;
	e->n_labels = nl;
	return e;
}

/* A report of n processes "p<i>" of svc on inst, as Rover sends it. */
/* Agent's report of n processes p1..pn (pids 100..) of svc on inst, from the host at host_ip. */
static void report_from(const char *agent, const char *host_ip, const char *svc, const char *inst, int n,
			struct swp_buf *out)
{
	static char *labels[] = {"l1"};
	Skywalking__V3__EBPFProcessReportList m = SKYWALKING__V3__EBPFPROCESS_REPORT_LIST__INIT;
	m.ebpfagentid = (char *)agent;
	m.processes = calloc((size_t)n, sizeof(*m.processes));
	char names[8][16], pids[8][16];
	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "p%d", i + 1);
		snprintf(pids[i], sizeof(pids[i]), "%d", 100 + i);
		Skywalking__V3__EBPFHostProcessMetadata *h = calloc(1, sizeof(*h));
		*h = (Skywalking__V3__EBPFHostProcessMetadata)SKYWALKING__V3__EBPFHOST_PROCESS_METADATA__INIT;
		h->entity = entity(svc, inst, names[i], labels, 1);
		h->pid = 100 + i;
		h->n_properties = 4;
		h->properties = calloc(4, sizeof(*h->properties));
		h->properties[0] = kv("host_ip", host_ip);
		h->properties[1] = kv("pid", pids[i]);
		h->properties[2] = kv("command_line", "/opt/app --serve");
		h->properties[3] = kv("support_ebpf_profiling", "true");
		Skywalking__V3__EBPFProcessProperties *pp = calloc(1, sizeof(*pp));
		*pp = (Skywalking__V3__EBPFProcessProperties)SKYWALKING__V3__EBPFPROCESS_PROPERTIES__INIT;
		pp->metadata_case = SKYWALKING__V3__EBPFPROCESS_PROPERTIES__METADATA_HOST_PROCESS;
		pp->hostprocess = h;
		m.processes[m.n_processes++] = pp;
	}
	swp__buf_reset(out);
	size_t sz = skywalking__v3__ebpfprocess_report_list__get_packed_size(&m);
	swp__buf_reserve(out, sz);
	out->len = skywalking__v3__ebpfprocess_report_list__pack(&m, (uint8_t *)out->data);
	for (size_t i = 0; i < m.n_processes; i++) {
		Skywalking__V3__EBPFHostProcessMetadata *h = m.processes[i]->hostprocess;
		for (size_t k = 0; k < h->n_properties; k++)
			free(h->properties[k]);
		free(h->properties);
		free(h->entity);
		free(h);
		free(m.processes[i]);
	}
	free(m.processes);
}

static void report(const char *agent, const char *svc, const char *inst, int n, struct swp_buf *out)
{
	report_from(agent, "10.9.0.1", svc, inst, n, out);
}

static void ping(const char *agent, const char *svc, const char *inst, const char *proc, struct swp_buf *out)
{
	Skywalking__V3__EBPFProcessPingPkg pk = SKYWALKING__V3__EBPFPROCESS_PING_PKG__INIT;
	static char *labels[] = {"l1"};
	pk.entitymetadata = entity(svc, inst, proc, labels, 1);
	Skywalking__V3__EBPFProcessPingPkg *ptr[] = {&pk};
	Skywalking__V3__EBPFProcessPingPkgList m = SKYWALKING__V3__EBPFPROCESS_PING_PKG_LIST__INIT;
	m.ebpfagentid = (char *)agent;
	m.processes = ptr;
	m.n_processes = 1;
	swp__buf_reset(out);
	swp__buf_reserve(out, skywalking__v3__ebpfprocess_ping_pkg_list__get_packed_size(&m));
	out->len = skywalking__v3__ebpfprocess_ping_pkg_list__pack(&m, (uint8_t *)out->data);
	free(pk.entitymetadata);
}

static void query(const char *agent, int64_t latest, struct swp_buf *out)
{
	swp__buf_reset(out);
	swp__agent_query(agent, latest, out);
}

/* One data message: task metadata when task != NULL; user then kernel symbols, innermost first. */
/* One EBPFProfilingData message: onCPU with count samples, or (off_ns >= 0) offCPU with count
 * switches blocked for off_ns. */
static void data_as(struct swp_buf *out, const char *task, const char *process, int64_t start, int64_t current,
		    char **user, size_t nu, char **kern, size_t nk, int count, int64_t off_ns)
{
	Skywalking__V3__EBPFProfilingTaskMetadata meta = SKYWALKING__V3__EBPFPROFILING_TASK_METADATA__INIT;
	meta.taskid = (char *)task;
	meta.processid = (char *)process;
	meta.profilingstarttime = start;
	meta.currenttime = current;
	Skywalking__V3__EBPFProfilingStackMetadata us = SKYWALKING__V3__EBPFPROFILING_STACK_METADATA__INIT;
	Skywalking__V3__EBPFProfilingStackMetadata ks = SKYWALKING__V3__EBPFPROFILING_STACK_METADATA__INIT;
	us.stacktype = SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_USER_SPACE;
	us.stacksymbols = user;
	us.n_stacksymbols = nu;
	ks.stacktype = SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_KERNEL_SPACE;
	ks.stacksymbols = kern;
	ks.n_stacksymbols = nk;
	/* kernel first, as Rover and the stack map give them */
	Skywalking__V3__EBPFProfilingStackMetadata *st[2];
	size_t ns = 0;
	if (nk)
		st[ns++] = &ks;
	if (nu)
		st[ns++] = &us;
	Skywalking__V3__EBPFOnCPUProfiling on = SKYWALKING__V3__EBPFON_CPUPROFILING__INIT;
	Skywalking__V3__EBPFOffCPUProfiling off = SKYWALKING__V3__EBPFOFF_CPUPROFILING__INIT;
	Skywalking__V3__EBPFProfilingData d = SKYWALKING__V3__EBPFPROFILING_DATA__INIT;
	d.task = task ? &meta : NULL;
	if (off_ns >= 0) {
		off.stacks = st;
		off.n_stacks = ns;
		off.switchcount = count;
		off.duration = off_ns;
		d.profiling_case = SKYWALKING__V3__EBPFPROFILING_DATA__PROFILING_OFF_CPU;
		d.offcpu = &off;
	} else {
		on.stacks = st;
		on.n_stacks = ns;
		on.dumpcount = count;
		d.profiling_case = SKYWALKING__V3__EBPFPROFILING_DATA__PROFILING_ON_CPU;
		d.oncpu = &on;
	}
	swp__buf_reset(out);
	swp__buf_reserve(out, skywalking__v3__ebpfprofiling_data__get_packed_size(&d));
	out->len = skywalking__v3__ebpfprofiling_data__pack(&d, (uint8_t *)out->data);
}

static void data(struct swp_buf *out, const char *task, const char *process, int64_t start, int64_t current,
		 char **user, size_t nu, char **kern, size_t nk, int count)
{
	data_as(out, task, process, start, current, user, nu, kern, nk, count, -1);
}

/* Feeds msgs[0..n) and ends the stream (end) or drops it; returns the feed's result. */
static int stream(swp_core *c, struct swp_buf *msgs, size_t n, bool end)
{
	const void *v[16];
	size_t lens[16];
	for (size_t i = 0; i < n; i++) {
		v[i] = msgs[i].data;
		lens[i] = msgs[i].len;
	}
	swp_data_stream *s = swp_data_stream_open();
	int r = swp_data_stream_feed(c, s, v, lens, n);
	if (!r && end) {
		struct swp_buf ans = {0};
		r = swp_data_stream_end(c, s, &ans);
		Skywalking__V3__Commands *cmds = skywalking__v3__commands__unpack(NULL, ans.len, (uint8_t *)ans.data);
		CHECK(cmds != NULL && cmds->n_commands == 0);
		if (cmds)
			skywalking__v3__commands__free_unpacked(cmds, NULL);
		swp_buf_free(&ans);
	}
	swp_data_stream_free(s);
	return r;
}

static const char *process_id(const char *svc, const char *inst, const char *proc)
{
	static char id[SWP_PROCESS_ID_SIZE];
	struct swp_buf s = {0}, i = {0};
	swp__service_id(svc, &s);
	swp__instance_id(s.data, inst, &i);
	swp__process_id(proc, i.data, id);
	swp_buf_free(&s);
	swp_buf_free(&i);
	return id;
}

/* The task's tree over all time, by aggregate (SWP_AGG_*); the caller frees it. */
static char *analyze_as(swp_core *c, const char *task, int aggregate)
{
	struct swp_time_range r = {0, now_ms() + 3600000};
	struct swp_analyze_req q = {.sz = sizeof(q), .task_id = task, .ranges = &r, .n_ranges = 1, .aggregate = aggregate};
	struct swp_buf out = {0};
	CHECK_EQ_INT(swp_analyze(c, &q, &out), 0);
	return out.data;
}

static char *analyze(swp_core *c, const char *task)
{
	return analyze_as(c, task, SWP_AGG_COUNT);
}

/* Waits for the scheduler's flush (every 50 ms) to have written what was taken in. */
static void flushed(swp_core *c)
{
	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&c->mu);
		bool empty = c->pending.n == 0;
		pthread_mutex_unlock(&c->mu);
		if (empty)
			return;
		msleep(20);
	}
	CHECK(!"the flush did not come");
}

static const char *arg_of(const Skywalking__V3__Command *cmd, const char *key)
{
	for (size_t i = 0; i < cmd->n_args; i++)
		if (!strcmp(cmd->args[i]->key, key))
			return cmd->args[i]->value;
	return NULL;
}

static void backend(void)
{
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = dir, .profiling = SWP_PROFILING_OFF,
				 .flush_interval_ms = 50, .scan_interval_ms = -1, .agent_timeout_ms = 600};
	swp_core *c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (!c)
		return;
	struct swp_buf req = {0}, out = {0};

	/* 1. a report: both processes taken, with OAP's ids, the entity echoed with each pid */
	report("agent-a", "remote-svc", "host-a", 2, &req);
	CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_REPORT_PROCESSES, req.data, req.len, &out), 0);
	Skywalking__V3__EBPFReportProcessDownstream *down =
		skywalking__v3__ebpfreport_process_downstream__unpack(NULL, out.len, (uint8_t *)out.data);
	CHECK(down && down->n_processes == 2);
	char p1[SWP_PROCESS_ID_SIZE], p2[SWP_PROCESS_ID_SIZE];
	snprintf(p1, sizeof(p1), "%s", process_id("remote-svc", "host-a", "p1"));
	snprintf(p2, sizeof(p2), "%s", process_id("remote-svc", "host-a", "p2"));
	if (down && down->n_processes == 2) {
		CHECK_EQ_STR(down->processes[0]->processid, p1);
		CHECK_EQ_STR(down->processes[1]->processid, p2);
		CHECK_EQ_INT(down->processes[0]->process_case, SKYWALKING__V3__EBPFPROCESS_DOWNSTREAM__PROCESS_HOST_PROCESS);
		CHECK_EQ_INT(down->processes[1]->hostprocess->pid, 101);
		CHECK_EQ_STR(down->processes[1]->hostprocess->entitymetadata->processname, "p2");
		CHECK_EQ_STR(down->processes[1]->hostprocess->entitymetadata->instancename, "host-a");
	}
	if (down)
		skywalking__v3__ebpfreport_process_downstream__free_unpacked(down, NULL);
	struct swp_buf pj = {0};
	CHECK_EQ_INT(swp_processes_json(c, "cmVtb3RlLXN2Yw==.1", NULL, NULL, 0, 0, &pj), 0);
	CHECK_EQ_INT(count_of(pj.data, "\"agentId\":\"agent-a\""), 2);
	CHECK_CONTAINS(pj.data, "\"attributes\":[{\"name\":\"host_ip\",\"value\":\"10.9.0.1\"},{\"name\":\"pid\",\"value\":"
				"\"100\"},{\"name\":\"command_line\",\"value\":\"/opt/app --serve\"},{\"name\":"
				"\"support_ebpf_profiling\",\"value\":\"true\"}]");
	CHECK_CONTAINS(pj.data, "\"labels\":[\"l1\"]");
	swp_buf_free(&pj);

	/* 2. another agent (another host) reporting the same process does not take it while agent-a
	 * keeps it alive */
	report_from("agent-b", "10.9.0.2", "remote-svc", "host-a", 1, &req);
	CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_REPORT_PROCESSES, req.data, req.len, &out), 0);
	down = skywalking__v3__ebpfreport_process_downstream__unpack(NULL, out.len, (uint8_t *)out.data);
	CHECK(down && down->n_processes == 0);
	if (down)
		skywalking__v3__ebpfreport_process_downstream__free_unpacked(down, NULL);
	CHECK_EQ_INT(swp_process_json(c, p1, &pj), 0);
	CHECK_CONTAINS(pj.data, "\"agentId\":\"agent-a\"");
	swp_buf_free(&pj);
	/* 2b. but agent-a restarted under a new id (as Rover does) reports the same pid on the same host:
	 * it is the same process and its agent takes it back at once; and again */
	const char *again[] = {"agent-a-restarted", "agent-a"};
	for (int i = 0; i < 2; i++) {
		report(again[i], "remote-svc", "host-a", 2, &req);
		CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_REPORT_PROCESSES, req.data, req.len, &out), 0);
		down = skywalking__v3__ebpfreport_process_downstream__unpack(NULL, out.len, (uint8_t *)out.data);
		CHECK(down && down->n_processes == 2);
		if (down)
			skywalking__v3__ebpfreport_process_downstream__free_unpacked(down, NULL);
		CHECK_EQ_INT(swp_processes_json(c, "cmVtb3RlLXN2Yw==.1", NULL, NULL, 0, 0, &pj), 0);
		char owner[64];
		snprintf(owner, sizeof(owner), "\"agentId\":\"%s\"", again[i]);
		CHECK_EQ_INT(count_of(pj.data, owner), 2);
		swp_buf_free(&pj);
	}

	/* 3. a task for the service: runnable, since an agent reports its processes */
	struct swp_task_create tq = {.sz = sizeof(tq), .service_id = "cmVtb3RlLXN2Yw==.1", .target_type = "ON_CPU",
				     .duration_s = 60};
	CHECK_EQ_INT(swp_task_create(c, &tq, &out), 0);
	CHECK_CONTAINS(out.data, "\"status\":true");
	char task[32];
	json_get(out.data, "id", task, sizeof(task));

	/* 4. the agent's query: one command per (task, process), OAP's keys; then nothing newer */
	query("agent-a", 0, &req);
	CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_QUERY_TASKS, req.data, req.len, &out), 0);
	Skywalking__V3__Commands *cmds = skywalking__v3__commands__unpack(NULL, out.len, (uint8_t *)out.data);
	CHECK(cmds && cmds->n_commands == 2);
	int64_t latest = 0;
	if (cmds && cmds->n_commands == 2) {
		const Skywalking__V3__Command *k = cmds->commands[0];
		CHECK_EQ_STR(k->command, "EBPFProfilingTaskQuery");
		const char *keys[] = {"SerialNumber", "TaskId", "ProcessId", "TaskUpdateTime", "TriggerType", "TargetType",
				      "TaskStartTime", "ExtensionConfigJSON", "FixedTriggerDuration"};
		CHECK_EQ_INT(k->n_args, 9);
		for (size_t i = 0; i < 9 && i < k->n_args; i++)
			CHECK_EQ_STR(k->args[i]->key, keys[i]);
		CHECK_EQ_STR(arg_of(k, "TaskId"), task);
		CHECK_EQ_STR(arg_of(k, "TriggerType"), "FIXED_TIME");
		CHECK_EQ_STR(arg_of(k, "TargetType"), "ON_CPU");
		CHECK_EQ_STR(arg_of(k, "ExtensionConfigJSON"), "null");
		CHECK_EQ_STR(arg_of(k, "FixedTriggerDuration"), "60");
		CHECK_EQ_INT(strlen(arg_of(k, "SerialNumber")), 36);
		CHECK(strcmp(arg_of(cmds->commands[0], "ProcessId"), arg_of(cmds->commands[1], "ProcessId")) != 0);
		latest = atoll(arg_of(k, "TaskUpdateTime"));
		CHECK(latest > 0);
	}
	if (cmds)
		skywalking__v3__commands__free_unpacked(cmds, NULL);
	query("agent-a", latest, &req);
	CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_QUERY_TASKS, req.data, req.len, &out), 0);
	cmds = skywalking__v3__commands__unpack(NULL, out.len, (uint8_t *)out.data);
	CHECK(cmds && cmds->n_commands == 0);
	if (cmds)
		skywalking__v3__commands__free_unpacked(cmds, NULL);
	query("agent-b", 0, &req);
	CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_QUERY_TASKS, req.data, req.len, &out), 0);
	cmds = skywalking__v3__commands__unpack(NULL, out.len, (uint8_t *)out.data);
	CHECK(cmds && cmds->n_commands == 0);
	if (cmds)
		skywalking__v3__commands__free_unpacked(cmds, NULL);

	/* 5. a data stream: a block of two stack pairs, symbols innermost first; one tree, user outermost
	 * first then kernel outermost first */
	int64_t t0 = now_ms(), start = t0 - 5000;
	char *u1[] = {"u_inner", "u_mid", "u_outer"}, *k1[] = {"k_inner", "k_outer"}, *u2[] = {"u_leaf", "u_outer"};
	struct swp_buf m[4] = {0};
	data(&m[0], task, p1, start, t0, u1, 3, k1, 2, 5);
	data(&m[1], NULL, NULL, 0, 0, u2, 2, NULL, 0, 3);
	CHECK_EQ_INT(stream(c, m, 2, true), 0);
	flushed(c);
	char *tree = analyze(c, task);
	CHECK_EQ_STR(tree, "{\"tip\":null,\"trees\":[{\"elements\":["
			   "{\"id\":\"1\",\"parentId\":\"0\",\"symbol\":\"u_outer\",\"stackType\":\"USER_SPACE\",\"dumpCount\":8},"
			   "{\"id\":\"2\",\"parentId\":\"1\",\"symbol\":\"u_mid\",\"stackType\":\"USER_SPACE\",\"dumpCount\":5},"
			   "{\"id\":\"3\",\"parentId\":\"1\",\"symbol\":\"u_leaf\",\"stackType\":\"USER_SPACE\",\"dumpCount\":3},"
			   "{\"id\":\"4\",\"parentId\":\"2\",\"symbol\":\"u_inner\",\"stackType\":\"USER_SPACE\",\"dumpCount\":5},"
			   "{\"id\":\"5\",\"parentId\":\"4\",\"symbol\":\"k_outer\",\"stackType\":\"KERNEL_SPACE\",\"dumpCount\":5},"
			   "{\"id\":\"6\",\"parentId\":\"5\",\"symbol\":\"k_inner\",\"stackType\":\"KERNEL_SPACE\",\"dumpCount\":5}]}]}");
	free(tree);
	/* the schedule spans the agent's profiling start to its report time */
	CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &out), 0);
	char want[64];
	snprintf(want, sizeof(want), "\"startTime\":%lld,\"endTime\":%lld", (long long)start, (long long)t0);
	CHECK_CONTAINS(out.data, want);
	CHECK_EQ_INT(count_of(out.data, "\"scheduleId\""), 1);

	/* 6. the same stream again (the agent did not hear the answer): counted once */
	CHECK_EQ_INT(stream(c, m, 2, true), 0);
	flushed(c);
	tree = analyze(c, task);
	CHECK_CONTAINS(tree, "\"symbol\":\"u_outer\",\"stackType\":\"USER_SPACE\",\"dumpCount\":8}");
	free(tree);

	/* 7. a stream that breaks: its partial last block is not taken; the whole one before it is */
	data(&m[0], task, p1, start, t0 + 1000, u2, 2, NULL, 0, 4);
	data(&m[1], task, p2, start, t0 + 1000, u2, 2, NULL, 0, 100);
	CHECK_EQ_INT(stream(c, m, 2, false), 0);
	flushed(c);
	tree = analyze(c, task);
	CHECK_CONTAINS(tree, "\"symbol\":\"u_outer\",\"stackType\":\"USER_SPACE\",\"dumpCount\":12}");
	free(tree);

	/* 7b. an OFF_CPU task on the same processes at the same time: its own schedules, its offCPU
	 * data analysed by switches or by blocked time; onCPU data for it is refused */
	{
		struct swp_task_create oq = tq;
		oq.target_type = "OFF_CPU";
		swp__buf_reset(&out);
		CHECK_EQ_INT(swp_task_create(c, &oq, &out), 0);
		CHECK_CONTAINS(out.data, "\"status\":true");
		char otask[32];
		json_get(out.data, "id", otask, sizeof(otask));
		data_as(&m[0], otask, p1, start, t0 + 2000, u2, 2, k1, 2, 3, 30000000);
		data_as(&m[1], NULL, NULL, 0, 0, u1, 3, NULL, 0, 1, 5000000);
		CHECK_EQ_INT(stream(c, m, 2, true), 0);
		flushed(c);
		tree = analyze_as(c, otask, SWP_AGG_COUNT);
		CHECK_CONTAINS(tree, "\"symbol\":\"u_outer\",\"stackType\":\"USER_SPACE\",\"dumpCount\":4}");
		free(tree);
		tree = analyze_as(c, otask, SWP_AGG_DURATION);
		CHECK_CONTAINS(tree, "\"symbol\":\"u_outer\",\"stackType\":\"USER_SPACE\",\"dumpCount\":35000000}");
		CHECK_CONTAINS(tree, "\"symbol\":\"k_inner\",\"stackType\":\"KERNEL_SPACE\",\"dumpCount\":30000000}");
		free(tree);
		data(&m[0], otask, p1, start, t0 + 3000, u2, 2, NULL, 0, 1);
		CHECK_EQ_INT(stream(c, m, 1, true), -EINVAL);
		CHECK_CONTAINS(swp_last_error(), "onCPU data for OFF_CPU task");
		/* the ON_CPU task's tree is as it was */
		tree = analyze(c, task);
		CHECK_CONTAINS(tree, "\"symbol\":\"u_outer\",\"stackType\":\"USER_SPACE\",\"dumpCount\":12}");
		free(tree);
	}

	/* 8. refused whole, with a reason: garbage, no task first, an unknown task, a bad stack type */
	CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_REPORT_PROCESSES, "\xff\xff\xff", 3, &out), -EINVAL);
	CHECK_CONTAINS(swp_last_error(), "not an EBPFProcessReportList");
	report("agent-a", "", "host-a", 1, &req);
	CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_REPORT_PROCESSES, req.data, req.len, &out), -EINVAL);
	CHECK_CONTAINS(swp_last_error(), "processes[0]: entity.serviceName is empty");
	CHECK_EQ_INT(swp_agent_call(c, 99, req.data, req.len, &out), -EINVAL);
	data(&m[0], NULL, NULL, 0, 0, u2, 2, NULL, 0, 1);
	CHECK_EQ_INT(stream(c, m, 1, true), -EINVAL);
	CHECK_CONTAINS(swp_last_error(), "carries no task");
	data(&m[0], "f000000000000000", p1, start, t0, u2, 2, NULL, 0, 1);
	CHECK_EQ_INT(stream(c, m, 1, true), -ENOENT);
	CHECK_CONTAINS(swp_last_error(), "unknown task");
	const char junk[] = "\x0a\x02\x08\x01";
	const void *jv[] = {junk};
	size_t jl[] = {4};
	swp_data_stream *s = swp_data_stream_open();
	CHECK(swp_data_stream_feed(c, s, jv, jl, 1) < 0);
	swp_data_stream_free(s);
	/* too many processes in one report */
	{
		Skywalking__V3__EBPFProcessReportList big = SKYWALKING__V3__EBPFPROCESS_REPORT_LIST__INIT;
		big.ebpfagentid = "agent-z";
		big.n_processes = SWP_PROTO_MAX_PROCESSES + 1;
		big.processes = calloc(big.n_processes, sizeof(*big.processes));
		Skywalking__V3__EBPFProcessProperties empty = SKYWALKING__V3__EBPFPROCESS_PROPERTIES__INIT;
		for (size_t i = 0; i < big.n_processes; i++)
			big.processes[i] = &empty;
		swp__buf_reset(&req);
		swp__buf_reserve(&req, skywalking__v3__ebpfprocess_report_list__get_packed_size(&big));
		req.len = skywalking__v3__ebpfprocess_report_list__pack(&big, (uint8_t *)req.data);
		free(big.processes);
		CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_REPORT_PROCESSES, req.data, req.len, &out), -E2BIG);
	}
	/* nothing of the refused messages was kept */
	tree = analyze(c, task);
	CHECK_CONTAINS(tree, "\"symbol\":\"u_outer\",\"stackType\":\"USER_SPACE\",\"dumpCount\":12}");
	free(tree);

	/* 9. keep-alives keep an agent's processes running; without them they stop, and a task on them
	 * is refused; then agent-b may take one over */
	for (int i = 0; i < 4; i++) {
		msleep(300);
		ping("agent-a", "remote-svc", "host-a", "p1", &req);
		CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_KEEP_ALIVE, req.data, req.len, &out), 0);
	}
	pthread_mutex_lock(&c->mu);
	const struct swp_process *pp1 = swp__registry_find(c, p1), *pp2 = swp__registry_find(c, p2);
	CHECK(pp1 && swp__process_running(c, pp1, now_ms()));
	CHECK(pp2 && !swp__process_running(c, pp2, now_ms()));
	pthread_mutex_unlock(&c->mu);
	msleep(700);
	struct swp_task_create seed = {.sz = sizeof(seed), .has_finder = 1, .finder_type = "PROCESS_ID", .process_id = p1,
				       .target_type = "ON_CPU", .duration_s = 60, .start_time_ms = now_ms() + 3600000};
	CHECK_EQ_INT(swp_task_create(c, &seed, &out), 0);
	CHECK_CONTAINS(out.data, "nothing can run this task");
	report("agent-b", "remote-svc", "host-a", 1, &req);
	CHECK_EQ_INT(swp_agent_call(c, SWP_AGENT_REPORT_PROCESSES, req.data, req.len, &out), 0);
	down = skywalking__v3__ebpfreport_process_downstream__unpack(NULL, out.len, (uint8_t *)out.data);
	CHECK(down && down->n_processes == 1);
	if (down)
		skywalking__v3__ebpfreport_process_downstream__free_unpacked(down, NULL);
	CHECK_EQ_INT(swp_process_json(c, p1, &pj), 0);
	CHECK_CONTAINS(pj.data, "\"agentId\":\"agent-b\"");
	swp_buf_free(&pj);
	CHECK_EQ_INT(swp_task_create(c, &seed, &out), 0);
	CHECK_CONTAINS(out.data, "\"status\":true");

	/* 10. everything is still there after a restart */
	swp_core_close(c);
	c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (c) {
		tree = analyze(c, task);
		CHECK_CONTAINS(tree, "\"symbol\":\"u_outer\",\"stackType\":\"USER_SPACE\",\"dumpCount\":12}");
		free(tree);
		CHECK_EQ_INT(swp_process_json(c, p2, &pj), 0);
		CHECK_CONTAINS(pj.data, "\"agentId\":\"agent-a\"");
		swp_buf_free(&pj);
		swp_core_close(c);
	}
	for (int i = 0; i < 4; i++)
		swp_buf_free(&m[i]);
	swp_buf_free(&req);
	swp_buf_free(&out);
}

/* What an agent core writes reads back through a backend into the same tree. */
struct collect {
	struct swp_agent_unit units[8];
	int n;
};

static int collect_sink(void *ctx, swp_core *c, const struct swp_pending_block *blk)
{
	struct collect *k = ctx;
	if (k->n < 8)
		CHECK_EQ_INT(swp__agent_block(c, blk, &k->units[k->n++]), 0);
	return 0;
}

static void agent_to_backend(void)
{
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/backend", dir);
	struct swp_config bc = {.sz = sizeof(bc), .data_dir = sub, .flush_interval_ms = 50, .scan_interval_ms = -1};
	swp_core *back = NULL;
	CHECK_EQ_INT(swp_core_open(&bc, &back), 0);
	struct collect k = {0};
	struct swp_config ac = {.sz = sizeof(ac), .flush_interval_ms = 50, .scan_interval_ms = -1, .host_name = "host-c",
				.host_ip = "10.9.0.3"};
	swp_core *agent = NULL;
	CHECK_EQ_INT(swp__core_open(&ac, collect_sink, &k, &agent), 0);
	if (!back || !agent)
		return;
	/* the agent's process: this test, registered as discovery would */
	struct swp_process_spec ps = {.sz = sizeof(ps), .pid = getpid(), .service = "agent-svc"};
	CHECK_EQ_INT(swp_process_register(agent, &ps, NULL), 0);
	struct swp_buf req = {0}, out = {0};
	CHECK_EQ_INT(swp__agent_report(agent, "agent-c", true, now_ms(), &req), 1);
	CHECK_EQ_INT(swp_agent_call(back, SWP_AGENT_REPORT_PROCESSES, req.data, req.len, &out), 0);
	size_t taken = 0;
	CHECK_EQ_INT(swp__agent_report_answer(agent, out.data, out.len, &taken), 0);
	CHECK_EQ_INT(taken, 1);
	CHECK_EQ_INT(swp__agent_ping(agent, "agent-c", &req), 1);
	CHECK_EQ_INT(swp_agent_call(back, SWP_AGENT_KEEP_ALIVE, req.data, req.len, &out), 0);
	struct swp_task_create tq = {.sz = sizeof(tq), .service_id = "YWdlbnQtc3Zj.1", .target_type = "ON_CPU",
				     .duration_s = 60};
	CHECK_EQ_INT(swp_task_create(back, &tq, &out), 0);
	char task[32];
	json_get(out.data, "id", task, sizeof(task));
	query("agent-c", 0, &req);
	CHECK_EQ_INT(swp_agent_call(back, SWP_AGENT_QUERY_TASKS, req.data, req.len, &out), 0);
	int64_t latest = 0;
	size_t tasks = 0;
	CHECK_EQ_INT(swp__agent_commands(agent, out.data, out.len, &latest, &tasks), 0);
	CHECK_EQ_INT(tasks, 1);
	CHECK(latest > 0);
	/* the agent samples (by hand here): two stacks, user and kernel frames, into its pending block */
	pthread_mutex_lock(&agent->mu);
	struct swp_task *t = agent->tasks.n ? agent->tasks.v[agent->tasks.n - 1] : NULL;
	CHECK(t && t->ext_id && !strcmp(t->ext_id, task));
	struct swp_process *p = agent->procs.v[0];
	struct swp_batch *b = swp__batch_new();
	struct swp_schedule *sc = t ? swp__schedule_for(agent, t, p, p->pid, now_ms() - 1000, b) : NULL;
	swp__batch_free(b);
	const char *syms[][2] = {{"main", "U"}, {"work", "U"}, {"do_syscall_64", "K"}};
	uint32_t f[3];
	for (int i = 0; i < 3; i++)
		f[i] = swp__intern(&agent->stacks.in, syms[i][1][0] == 'K' ? SWP_FRAME_KERNEL : SWP_FRAME_USER, syms[i][0],
				   strlen(syms[i][0]));
	struct swp_buf scratch = {0};
	uint32_t a3 = swp__stacks_add(&agent->stacks, swp__stack_hash(&agent->stacks.in, f, 3, &scratch), f, 3, NULL);
	uint32_t a2 = swp__stacks_add(&agent->stacks, swp__stack_hash(&agent->stacks.in, f, 2, &scratch), f, 2, NULL);
	swp_buf_free(&scratch);
	if (sc) {
		swp__pending_add(agent, sc, (uint64_t)(now_ms() / 1000), a3, 7);
		swp__pending_add(agent, sc, (uint64_t)(now_ms() / 1000), a2, 2);
	}
	pthread_mutex_unlock(&agent->mu);
	for (int i = 0; i < 100 && !k.n; i++)
		msleep(20);
	CHECK_EQ_INT(k.n, 1);
	if (k.n) {
		/* its messages: the task first, then one per stack pair */
		CHECK_EQ_INT(k.units[0].n, 2);
		CHECK_EQ_INT(k.units[0].samples, 9);
		struct swp_buf msgs[2] = {k.units[0].msgs[0], k.units[0].msgs[1]};
		CHECK_EQ_INT(stream(back, msgs, 2, true), 0);
		flushed(back);
		char *tree = analyze(back, task);
		CHECK_EQ_STR(tree, "{\"tip\":null,\"trees\":[{\"elements\":["
				   "{\"id\":\"1\",\"parentId\":\"0\",\"symbol\":\"main\",\"stackType\":\"USER_SPACE\",\"dumpCount\":9},"
				   "{\"id\":\"2\",\"parentId\":\"1\",\"symbol\":\"work\",\"stackType\":\"USER_SPACE\",\"dumpCount\":9},"
				   "{\"id\":\"3\",\"parentId\":\"2\",\"symbol\":\"do_syscall_64\",\"stackType\":\"KERNEL_SPACE\",\"dumpCount\":7}]}]}");
		free(tree);
		swp__agent_unit_free(&k.units[0]);
	}
	/* an OFF_CPU task the same way: the agent's block goes as offCPU messages (switches and blocked
	 * ns), the backend's tree counts either */
	struct swp_task_create oq = tq;
	oq.target_type = "OFF_CPU";
	swp__buf_reset(&out);
	CHECK_EQ_INT(swp_task_create(back, &oq, &out), 0);
	char otask[32];
	json_get(out.data, "id", otask, sizeof(otask));
	query("agent-c", latest, &req);
	CHECK_EQ_INT(swp_agent_call(back, SWP_AGENT_QUERY_TASKS, req.data, req.len, &out), 0);
	tasks = 0;
	CHECK_EQ_INT(swp__agent_commands(agent, out.data, out.len, &latest, &tasks), 0);
	CHECK_EQ_INT(tasks, 1);
	pthread_mutex_lock(&agent->mu);
	t = agent->tasks.n ? agent->tasks.v[agent->tasks.n - 1] : NULL;
	CHECK(t && t->ext_id && !strcmp(t->ext_id, otask) && !strcmp(t->target, "OFF_CPU"));
	b = swp__batch_new();
	sc = t ? swp__schedule_for(agent, t, p, p->pid, now_ms() - 1000, b) : NULL;
	swp__batch_free(b);
	if (sc)
		swp__pending_add_off(agent, sc, (uint64_t)(now_ms() / 1000), a3, 4, 4000000);
	pthread_mutex_unlock(&agent->mu);
	for (int i = 0; i < 100 && k.n < 2; i++)
		msleep(20);
	CHECK_EQ_INT(k.n, 2);
	if (k.n == 2) {
		CHECK_EQ_INT(k.units[1].n, 1);
		CHECK_EQ_INT(stream(back, k.units[1].msgs, 1, true), 0);
		flushed(back);
		char *tree = analyze_as(back, otask, SWP_AGG_DURATION);
		CHECK_CONTAINS(tree, "\"symbol\":\"do_syscall_64\",\"stackType\":\"KERNEL_SPACE\",\"dumpCount\":4000000}");
		free(tree);
		tree = analyze_as(back, otask, SWP_AGG_COUNT);
		CHECK_CONTAINS(tree, "\"symbol\":\"do_syscall_64\",\"stackType\":\"KERNEL_SPACE\",\"dumpCount\":4}");
		free(tree);
		swp__agent_unit_free(&k.units[1]);
	}
	swp_core_close(agent);
	swp_core_close(back);
	swp_buf_free(&req);
	swp_buf_free(&out);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/swprof-proto-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	backend();
	agent_to_backend();
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_DONE();
}
