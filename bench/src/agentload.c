/*
 * agentload — K simulated agents against a backend's gRPC port, for the backend's ingestion
 * benchmark: each agent reports its processes, polls until the backend hands it one task per
 * process, then streams every flush as an agent does (per process: the task's metadata, then one
 * message per distinct stack pair with its count). The stacks are drawn per process from its own
 * set of stacks (Zipf), of kernel and user symbols read from this machine (/proc/kallsyms, and
 * C++-like user names), so a flush carries the distinct stacks a busy process has.
 *
 *   agentload --backend HOST:PORT --agents K --processes M [--seconds T] [--flush-ms 1000]
 *             [--hz 99] [--stacks 300] [--service loadsvc] [--folded FILE]
 *
 * --folded FILE replays a recorded profile instead ("root;...;leaf COUNT" lines, as `swprof
 * record` prints them): each process draws its samples from those stacks by their counts.
 *
 * Prints {"registered": N} when the processes are reported (the bench then creates the task), waits
 * for a line on stdin, and prints one JSON object at the end: streams, messages, stacks and samples
 * sent, bytes, stream latencies, flushes that started late, errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/grpc.h"
#include "common/common.h"
#include "ids/ids.h"

#include "common/Command.pb-c.h"
#include "ebpf/profiling/Process.pb-c.h"
#include "ebpf/profiling/Profile.pb-c.h"

static const char *backend, *service = "loadsvc", *folded;
static int n_agents = 4, n_procs = 10, seconds = 10, flush_ms = 1000, hz = 99, n_stacks = 300;

static char **ksyms, **usyms;
static size_t n_ksyms, n_usyms;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return swp__mix64(*s);
}

static void load_symbols(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	size_t cap = 0;
	while (f && fgets(line, sizeof(line), f) && n_ksyms < 20000) {
		char addr[32], type, name[256];
		if (sscanf(line, "%31s %c %255s", addr, &type, name) == 3 && (type == 'T' || type == 't') && !strchr(name, '[')) {
			if (n_ksyms == cap) {
				cap = cap ? cap * 2 : 1024;
				ksyms = realloc(ksyms, cap * sizeof(char *));
			}
			ksyms[n_ksyms++] = strdup(name);
		}
	}
	if (f)
		fclose(f);
	if (!n_ksyms) { /* not root: kernel-like names */
		ksyms = malloc(64 * sizeof(char *));
		for (n_ksyms = 0; n_ksyms < 64; n_ksyms++)
			asprintf(&ksyms[n_ksyms], "__x64_sys_call_%zu", n_ksyms);
	}
	/* user names as a C++ service has them: namespaces, classes, templates, arguments */
	static const char *ns[] = {"app", "net", "io", "db", "rpc", "json", "util", "std"};
	static const char *cls[] = {"Server", "Handler", "Codec", "Pool", "Buffer", "Parser", "Cache", "Session"};
	static const char *fn[] = {"run", "handle", "decode", "encode", "lookup", "flush", "read", "write", "process"};
	n_usyms = 4000;
	usyms = malloc(n_usyms * sizeof(char *));
	uint64_t s = 7;
	for (size_t i = 0; i < n_usyms; i++)
		asprintf(&usyms[i], "%s::%s%zu::%s<%s::%s>(unsigned long, char const*)", ns[rnd(&s) % 8], cls[rnd(&s) % 8], i,
			 fn[rnd(&s) % 9], ns[rnd(&s) % 8], cls[rnd(&s) % 8]);
}

struct stack {
	char **user, **kern; /* innermost first */
	size_t nu, nk;
};

struct proc {
	char name[32];
	char id[SWP_PROCESS_ID_SIZE];
	char task[80];
	struct stack *stacks;
	double *cdf; /* Zipf over the stacks */
	int64_t start_ms;
};

struct agent {
	int k;
	char id[64], instance[64];
	struct proc *procs;
	struct swp_grpc *g;
	/* results */
	uint64_t streams, messages, stacks, samples, bytes, late, errors;
	double *lat;
	size_t n_lat, cap_lat;
};

/* A recorded profile (--folded FILE: "root;...;leaf COUNT" lines as `swprof record` prints them,
 * kernel frames ending in _[k]) replaces the synthetic stacks: every process draws its samples
 * from the recorded stacks in proportion to their counts. */
static struct stack *rec_stacks;
static double *rec_cdf;

static int load_folded(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0, n = 0, vcap = 0;
	double sum = 0;
	while (getline(&line, &cap, f) > 0) {
		char *sp = strrchr(line, ' ');
		long count = sp ? strtol(sp + 1, NULL, 10) : 0;
		if (count <= 0)
			continue;
		*sp = 0;
		char *frames[512];
		size_t nf = 0;
		for (char *tok = strtok(line, ";"); tok && nf < 512; tok = strtok(NULL, ";"))
			frames[nf++] = tok;
		if (n == vcap) {
			vcap = vcap ? vcap * 2 : 256;
			rec_stacks = realloc(rec_stacks, vcap * sizeof(*rec_stacks));
			rec_cdf = realloc(rec_cdf, vcap * sizeof(double));
		}
		struct stack *st = &rec_stacks[n];
		st->user = malloc((nf + 1) * sizeof(char *));
		st->kern = malloc((nf + 1) * sizeof(char *));
		st->nu = st->nk = 0;
		for (size_t i = nf; i-- > 0;) { /* innermost first */
			size_t len = strlen(frames[i]);
			if (len > 4 && !strcmp(frames[i] + len - 4, "_[k]"))
				st->kern[st->nk++] = strndup(frames[i], len - 4);
			else
				st->user[st->nu++] = strdup(frames[i]);
		}
		if (!st->nu)
			st->user[st->nu++] = strdup("[unknown]");
		sum += (double)count;
		rec_cdf[n++] = sum;
	}
	free(line);
	fclose(f);
	if (!n)
		return -ENODATA;
	for (size_t i = 0; i < n; i++)
		rec_cdf[i] /= sum;
	n_stacks = (int)n;
	return 0;
}

static void make_proc(struct proc *p, uint64_t seed)
{
	if (rec_stacks) {
		p->stacks = rec_stacks;
		p->cdf = rec_cdf;
		return;
	}
	p->stacks = calloc((size_t)n_stacks, sizeof(*p->stacks));
	p->cdf = calloc((size_t)n_stacks, sizeof(double));
	double sum = 0;
	for (int i = 0; i < n_stacks; i++) {
		struct stack *s = &p->stacks[i];
		s->nu = 8 + rnd(&seed) % 23;
		s->nk = rnd(&seed) % 3 ? 0 : 3 + rnd(&seed) % 12;
		s->user = malloc(s->nu * sizeof(char *));
		s->kern = malloc((s->nk + 1) * sizeof(char *));
		/* a shared root (main, the same few callers) and a varied leaf, as real stacks share prefixes */
		for (size_t f = 0; f < s->nu; f++) {
			size_t depth_from_root = s->nu - 1 - f;
			s->user[f] = usyms[(depth_from_root < 3 ? depth_from_root : rnd(&seed) % n_usyms)];
		}
		for (size_t f = 0; f < s->nk; f++)
			s->kern[f] = ksyms[rnd(&seed) % n_ksyms];
		sum += 1.0 / pow(i + 1, 1.1);
		p->cdf[i] = sum;
	}
	for (int i = 0; i < n_stacks; i++)
		p->cdf[i] /= sum;
}

static int pick(const struct proc *p, uint64_t *s)
{
	double u = (double)(rnd(s) >> 11) / 9007199254740992.0;
	int lo = 0, hi = n_stacks - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (p->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int call(struct agent *a, const char *method, const ProtobufCMessage *m, struct swp_buf *out)
{
	struct swp_buf req = {0};
	size_t n = protobuf_c_message_get_packed_size(m);
	swp__buf_reserve(&req, n);
	req.len = protobuf_c_message_pack(m, (uint8_t *)req.data);
	int r = swp__grpc_unary(a->g, method, req.data, req.len, 30000, out);
	swp_buf_free(&req);
	return r;
}

static int do_report(struct agent *a)
{
	Skywalking__V3__EBPFProcessReportList m = SKYWALKING__V3__EBPFPROCESS_REPORT_LIST__INIT;
	m.ebpfagentid = a->id;
	m.n_processes = (size_t)n_procs;
	m.processes = calloc((size_t)n_procs, sizeof(*m.processes));
	Skywalking__V3__EBPFProcessProperties *pp = calloc((size_t)n_procs, sizeof(*pp));
	Skywalking__V3__EBPFHostProcessMetadata *h = calloc((size_t)n_procs, sizeof(*h));
	Skywalking__V3__EBPFProcessEntityMetadata *e = calloc((size_t)n_procs, sizeof(*e));
	Skywalking__V3__KeyStringValuePair prop = SKYWALKING__V3__KEY_STRING_VALUE_PAIR__INIT, *props[] = {&prop};
	prop.key = "support_ebpf_profiling";
	prop.value = "true";
	static char *labels[] = {"load"};
	for (int i = 0; i < n_procs; i++) {
		e[i] = (Skywalking__V3__EBPFProcessEntityMetadata)SKYWALKING__V3__EBPFPROCESS_ENTITY_METADATA__INIT;
		e[i].layer = "OS_LINUX";
		e[i].servicename = (char *)service;
		e[i].instancename = a->instance;
		e[i].processname = a->procs[i].name;
		e[i].labels = labels;
		e[i].n_labels = 1;
		h[i] = (Skywalking__V3__EBPFHostProcessMetadata)SKYWALKING__V3__EBPFHOST_PROCESS_METADATA__INIT;
		h[i].entity = &e[i];
		h[i].pid = 1000 + i;
		h[i].properties = props;
		h[i].n_properties = 1;
		pp[i] = (Skywalking__V3__EBPFProcessProperties)SKYWALKING__V3__EBPFPROCESS_PROPERTIES__INIT;
		pp[i].metadata_case = SKYWALKING__V3__EBPFPROCESS_PROPERTIES__METADATA_HOST_PROCESS;
		pp[i].hostprocess = &h[i];
		m.processes[i] = &pp[i];
	}
	struct swp_buf out = {0};
	int r = call(a, "/skywalking.v3.EBPFProcessService/reportProcesses", &m.base, &out);
	swp_buf_free(&out);
	free(m.processes);
	free(pp);
	free(h);
	free(e);
	return r;
}

/* Polls until every process has its task. */
static int get_tasks(struct agent *a)
{
	for (int tries = 0; tries < 300; tries++) {
		Skywalking__V3__EBPFProfilingTaskQuery q = SKYWALKING__V3__EBPFPROFILING_TASK_QUERY__INIT;
		q.roverinstanceid = a->id;
		struct swp_buf out = {0};
		int r = call(a, "/skywalking.v3.EBPFProfilingService/queryTasks", &q.base, &out);
		if (r)
			return r;
		Skywalking__V3__Commands *c = skywalking__v3__commands__unpack(NULL, out.len, (uint8_t *)out.data);
		swp_buf_free(&out);
		int have = 0;
		for (size_t i = 0; c && i < c->n_commands; i++) {
			const char *task = NULL, *proc = NULL;
			for (size_t k = 0; k < c->commands[i]->n_args; k++) {
				if (!strcmp(c->commands[i]->args[k]->key, "TaskId"))
					task = c->commands[i]->args[k]->value;
				if (!strcmp(c->commands[i]->args[k]->key, "ProcessId"))
					proc = c->commands[i]->args[k]->value;
			}
			for (int p = 0; task && proc && p < n_procs; p++)
				if (!strcmp(a->procs[p].id, proc))
					snprintf(a->procs[p].task, sizeof(a->procs[p].task), "%s", task);
		}
		if (c)
			skywalking__v3__commands__free_unpacked(c, NULL);
		for (int p = 0; p < n_procs; p++)
			have += a->procs[p].task[0] != 0;
		if (have == n_procs)
			return 0;
		usleep(100000);
	}
	return -ETIMEDOUT;
}

static void add_msg(struct swp_buf **v, size_t *n, size_t *cap, const ProtobufCMessage *m, uint64_t *bytes)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = realloc(*v, *cap * sizeof(**v));
	}
	struct swp_buf *b = &(*v)[(*n)++];
	*b = (struct swp_buf){0};
	size_t sz = protobuf_c_message_get_packed_size(m);
	swp__buf_reserve(b, sz);
	b->len = protobuf_c_message_pack(m, (uint8_t *)b->data);
	*bytes += b->len;
}

static void *run_agent(void *arg)
{
	struct agent *a = arg;
	uint64_t seed = 1000 + (uint64_t)a->k;
	int per_flush = (int)((int64_t)hz * flush_ms / 1000);
	int *counts = calloc((size_t)n_stacks, sizeof(int));
	double t0 = now_s(), next = t0;
	while (now_s() < t0 + seconds) {
		double wait = next - now_s();
		if (wait > 0)
			usleep((useconds_t)(wait * 1e6));
		else if (next > t0)
			a->late++;
		next += flush_ms / 1000.0;
		int64_t current = swp__now_ms();
		struct swp_buf *msgs = NULL;
		size_t n = 0, cap = 0;
		uint64_t bytes = 0;
		for (int p = 0; p < n_procs; p++) {
			struct proc *pr = &a->procs[p];
			memset(counts, 0, (size_t)n_stacks * sizeof(int));
			for (int i = 0; i < per_flush; i++)
				counts[pick(pr, &seed)]++;
			Skywalking__V3__EBPFProfilingTaskMetadata meta = SKYWALKING__V3__EBPFPROFILING_TASK_METADATA__INIT;
			meta.taskid = pr->task;
			meta.processid = pr->id;
			meta.profilingstarttime = pr->start_ms;
			meta.currenttime = current;
			bool first = true;
			for (int s = 0; s < n_stacks; s++) {
				if (!counts[s])
					continue;
				struct stack *st = &pr->stacks[s];
				Skywalking__V3__EBPFProfilingStackMetadata ks = SKYWALKING__V3__EBPFPROFILING_STACK_METADATA__INIT;
				Skywalking__V3__EBPFProfilingStackMetadata us = SKYWALKING__V3__EBPFPROFILING_STACK_METADATA__INIT;
				Skywalking__V3__EBPFProfilingStackMetadata *sv[2];
				size_t ns = 0;
				if (st->nk) {
					ks.stacktype = SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_KERNEL_SPACE;
					ks.stackid = s * 2 + 1;
					ks.stacksymbols = st->kern;
					ks.n_stacksymbols = st->nk;
					sv[ns++] = &ks;
				}
				us.stacktype = SKYWALKING__V3__EBPFPROFILING_STACK_TYPE__PROCESS_USER_SPACE;
				us.stackid = s * 2 + 2;
				us.stacksymbols = st->user;
				us.n_stacksymbols = st->nu;
				sv[ns++] = &us;
				Skywalking__V3__EBPFOnCPUProfiling on = SKYWALKING__V3__EBPFON_CPUPROFILING__INIT;
				on.stacks = sv;
				on.n_stacks = ns;
				on.dumpcount = counts[s];
				Skywalking__V3__EBPFProfilingData d = SKYWALKING__V3__EBPFPROFILING_DATA__INIT;
				d.task = first ? &meta : NULL;
				d.profiling_case = SKYWALKING__V3__EBPFPROFILING_DATA__PROFILING_ON_CPU;
				d.oncpu = &on;
				add_msg(&msgs, &n, &cap, &d.base, &bytes);
				first = false;
				a->stacks++;
			}
			a->samples += (uint64_t)per_flush;
		}
		struct swp_buf out = {0};
		double s0 = now_s();
		int r = swp__grpc_stream(a->g, "/skywalking.v3.EBPFProfilingService/collectProfilingData", msgs, n, 30000, &out);
		double lat = now_s() - s0;
		swp_buf_free(&out);
		if (r) {
			a->errors++;
			fprintf(stderr, "agentload: %s\n", swp_last_error());
		} else {
			a->streams++;
			a->messages += n;
			a->bytes += bytes;
		}
		if (a->n_lat == a->cap_lat) {
			a->cap_lat = a->cap_lat ? a->cap_lat * 2 : 256;
			a->lat = realloc(a->lat, a->cap_lat * sizeof(double));
		}
		a->lat[a->n_lat++] = lat;
		for (size_t i = 0; i < n; i++)
			swp_buf_free(&msgs[i]);
		free(msgs);
	}
	free(counts);
	return NULL;
}

static int cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--backend"))
			backend = v;
		else if (!strcmp(k, "--agents"))
			n_agents = atoi(v);
		else if (!strcmp(k, "--processes"))
			n_procs = atoi(v);
		else if (!strcmp(k, "--seconds"))
			seconds = atoi(v);
		else if (!strcmp(k, "--flush-ms"))
			flush_ms = atoi(v);
		else if (!strcmp(k, "--hz"))
			hz = atoi(v);
		else if (!strcmp(k, "--stacks"))
			n_stacks = atoi(v);
		else if (!strcmp(k, "--service"))
			service = v;
		else if (!strcmp(k, "--folded"))
			folded = v;
		else {
			fprintf(stderr, "agentload: unknown option %s\n", k);
			return 2;
		}
	}
	if (!backend || n_agents < 1 || n_procs < 1) {
		fprintf(stderr, "usage: agentload --backend HOST:PORT --agents K --processes M [--seconds T] [--flush-ms MS]\n"
				"                 [--hz HZ] [--stacks N] [--service NAME] [--folded FILE]\n");
		return 2;
	}
	if (folded) {
		int r = load_folded(folded);
		if (r) {
			fprintf(stderr, "agentload: %s: %s\n", folded, strerror(-r));
			return 2;
		}
	} else {
		load_symbols();
	}
	struct agent *ag = calloc((size_t)n_agents, sizeof(*ag));
	for (int k = 0; k < n_agents; k++) {
		struct agent *a = &ag[k];
		a->k = k;
		snprintf(a->id, sizeof(a->id), "%s-agent-%d", service, k);
		snprintf(a->instance, sizeof(a->instance), "%s-host-%d", service, k);
		a->procs = calloc((size_t)n_procs, sizeof(*a->procs));
		struct swp_buf sid = {0}, iid = {0};
		swp__service_id(service, &sid);
		swp__instance_id(sid.data, a->instance, &iid);
		for (int p = 0; p < n_procs; p++) {
			snprintf(a->procs[p].name, sizeof(a->procs[p].name), "proc-%d", p);
			swp__process_id(a->procs[p].name, iid.data, a->procs[p].id);
			make_proc(&a->procs[p], (uint64_t)k * 7919 + (uint64_t)p);
			a->procs[p].start_ms = swp__now_ms();
		}
		swp_buf_free(&sid);
		swp_buf_free(&iid);
		if (swp__grpc_open(backend, NULL, &a->g) || do_report(a)) {
			fprintf(stderr, "agentload: agent %d: %s\n", k, swp_last_error());
			return 1;
		}
	}
	printf("{\"registered\":%d}\n", n_agents * n_procs);
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (int k = 0; k < n_agents; k++)
		if (get_tasks(&ag[k])) {
			fprintf(stderr, "agentload: agent %d got no task for every process: %s\n", k, swp_last_error());
			return 1;
		}
	pthread_t *th = calloc((size_t)n_agents, sizeof(pthread_t));
	double t0 = now_s();
	for (int k = 0; k < n_agents; k++)
		pthread_create(&th[k], NULL, run_agent, &ag[k]);
	for (int k = 0; k < n_agents; k++)
		pthread_join(th[k], NULL);
	double el = now_s() - t0;
	uint64_t streams = 0, messages = 0, stacks = 0, samples = 0, bytes = 0, late = 0, errors = 0;
	size_t nl = 0;
	for (int k = 0; k < n_agents; k++)
		nl += ag[k].n_lat;
	double *lat = malloc((nl + 1) * sizeof(double));
	nl = 0;
	for (int k = 0; k < n_agents; k++) {
		struct agent *a = &ag[k];
		streams += a->streams;
		messages += a->messages;
		stacks += a->stacks;
		samples += a->samples;
		bytes += a->bytes;
		late += a->late;
		errors += a->errors;
		memcpy(lat + nl, a->lat, a->n_lat * sizeof(double));
		nl += a->n_lat;
	}
	qsort(lat, nl, sizeof(double), cmp_d);
	printf("{\"agents\":%d,\"processes\":%d,\"elapsed_s\":%.3f,\"streams\":%" PRIu64 ",\"messages\":%" PRIu64
	       ",\"stacks\":%" PRIu64 ",\"samples\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"late_flushes\":%" PRIu64
	       ",\"errors\":%" PRIu64 ",\"latency_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f}}\n",
	       n_agents, n_agents * n_procs, el, streams, messages, stacks, samples, bytes, late, errors,
	       nl ? lat[nl / 2] * 1000 : 0, nl ? lat[(size_t)(nl * 0.99)] * 1000 : 0, nl ? lat[nl - 1] * 1000 : 0);
	return 0;
}
