/*
 * The agent loop (agent.h): a core without a store whose flushed blocks land in the outbox, and
 * one thread that talks to the backend: reports and keep-alives every heartbeat, a task query
 * every poll, and whatever the outbox holds as one data stream (or a few) as soon as it holds it.
 *
 * Outages: a call that fails (the backend restarting, the link down) makes every call wait, from
 * one second doubling to 5 s, then try again; the channel reconnects by itself (every 1 to 5 s),
 * and while the outage lasts a call waits for it to connect (up to the call's deadline) rather than
 * failing at once: the agent is back within about 5 s of its backend. The outbox keeps
 * flushed blocks meanwhile, up to buffer_bytes, and drops the oldest whole blocks past that: their
 * samples are added to their process's dropped count, which goes to the backend with the process
 * (the backend charges them to the schedule as lost). A stream that fails is sent again whole; the
 * backend takes a block it already has once (backend.c). Once the backend answers again the agent
 * reports every process again (a backend with its metadata in memory lost them).
 */
#include "agent/agent.h"

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "agent/grpc.h"
#include "profiler/profiler.h"
#include "protocol/agent.h"

#define M_REPORT "/skywalking.v3.EBPFProcessService/reportProcesses"
#define M_KEEP_ALIVE "/skywalking.v3.EBPFProcessService/keepAlive"
#define M_QUERY "/skywalking.v3.EBPFProfilingService/queryTasks"
#define M_COLLECT "/skywalking.v3.EBPFProfilingService/collectProfilingData"

#define CALL_TIMEOUT_MS 10000
#define STREAM_TIMEOUT_MS 30000
#define STREAM_MAX_MESSAGES 20000 /* a larger outbox goes in several streams */
#define BACKOFF_MAX_MS 5000
#define LAST_SEND_MS 3000         /* what it holds at a stop: sent for this long at most */

struct agent {
	const struct swp_agent_config *cfg;
	char *id;
	uint64_t buffer_bytes;
	swp_core *core;
	struct swp_grpc *grpc;
	/* the outbox: flushed blocks, oldest first (the sink adds under the core's lock and this one) */
	pthread_mutex_t mu;
	struct swp_agent_unit *q;
	size_t n, cap;
	uint64_t bytes;
	/* the backend */
	bool up;              /* the last call worked */
	bool ever_up;
	int backoff_ms;
	int64_t retry_at;     /* mono ms */
	int64_t next_poll;
	int64_t latest_update;
	struct swp_agent_stats st;
};

static int64_t mono(void)
{
	return swp__mono_ms();
}

/* Drops the oldest blocks while the outbox is over its size (a and the core's lock held): their
 * samples count as dropped for their process. */
static void trim(struct agent *a, swp_core *c)
{
	while (a->n > 1 && a->bytes > a->buffer_bytes) {
		struct swp_agent_unit *u = &a->q[0];
		struct swp_process *p = swp__registry_find(c, u->process_id);
		if (p)
			p->dropped += u->samples;
		a->st.samples_dropped += u->samples;
		a->bytes -= u->bytes;
		swp_warn("the backend %s is away and the buffer is full: dropped %" PRIu64 " samples of process %s "
			 "(%" PRIu64 " in all)",
			 a->cfg->backend, u->samples, p ? p->name : u->process_id, a->st.samples_dropped);
		swp__agent_unit_free(u);
		memmove(&a->q[0], &a->q[1], (a->n - 1) * sizeof(*a->q));
		a->n--;
	}
}

static void push_unit(struct agent *a, struct swp_agent_unit *u)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->q = swp__xrealloc(a->q, a->cap * sizeof(*a->q));
	}
	a->q[a->n++] = *u;
	a->bytes += u->bytes;
}

/* The core's sink: a flushed block, encoded, into the outbox (the core's lock held). */
static int sink(void *ctx, swp_core *c, const struct swp_pending_block *blk)
{
	struct agent *a = ctx;
	struct swp_agent_unit u;
	int r = swp__agent_block(c, blk, &u);
	if (r) {
		swp_warn("a flushed block cannot be sent: %s", swp_last_error());
		return 0; /* dropping it is all there is to do; do not hold up the flush */
	}
	if (!u.n) {
		swp__agent_unit_free(&u);
		return 0;
	}
	pthread_mutex_lock(&a->mu);
	push_unit(a, &u);
	trim(a, c);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/* A call failed: wait before the next (doubling), say so once. */
static void failed(struct agent *a, const char *what)
{
	a->st.failures++;
	a->backoff_ms = a->backoff_ms ? (a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2) : 1000;
	a->retry_at = mono() + a->backoff_ms;
	if (a->up || !a->ever_up)
		swp_warn("backend %s: %s: %s; trying again in %d s (and then less often), the data is kept meanwhile",
			 a->cfg->backend, what, swp_last_error(), a->backoff_ms / 1000);
	a->up = false;
	swp__grpc_wait_for_ready(a->grpc, a->ever_up);
}

static void worked(struct agent *a)
{
	if (!a->up) {
		if (a->ever_up && a->core) {
			swp_info("backend %s answers again: reporting every process again", a->cfg->backend);
			swp__heartbeat_reset(a->core);
		} else {
			swp_info("backend %s answers", a->cfg->backend);
		}
	}
	a->up = a->ever_up = true;
	a->backoff_ms = 0;
	swp__grpc_wait_for_ready(a->grpc, false);
}

static int call(struct agent *a, const char *method, const struct swp_buf *req, struct swp_buf *out)
{
	return swp__grpc_unary(a->grpc, method, req->data ? req->data : "", req->len, CALL_TIMEOUT_MS, out);
}

/* The heartbeat due now (protocol/agent.c decides what): a report or a keep-alive. */
static void heartbeat(struct agent *a, int beat_ms)
{
	struct swp_buf req = {0}, out = {0};
	size_t n;
	int kind = swp__heartbeat(a->core, a->id, mono(), beat_ms, &req, &n);
	if (kind == SWP_HEARTBEAT_NONE) {
		swp_buf_free(&req);
		return;
	}
	bool report = kind == SWP_HEARTBEAT_REPORT;
	int r = call(a, report ? M_REPORT : M_KEEP_ALIVE, &req, &out);
	if (r) {
		failed(a, report ? "reportProcesses" : "keepAlive");
		swp__heartbeat_answered(a->core, kind, false, NULL, 0);
	} else {
		worked(a);
		int taken = swp__heartbeat_answered(a->core, kind, true, out.data, out.len);
		if (report)
			a->st.reports++;
		else
			a->st.keep_alives++;
		if (taken < 0) {
			swp_warn("%s", swp_last_error());
		} else if (taken) {
			swp_info("the backend took %d process(es) of %zu reported", taken, n);
			/* tasks made before a process came must reach it too: ask for every task */
			a->latest_update = 0;
			a->next_poll = 0;
		}
	}
	swp_buf_free(&req);
	swp_buf_free(&out);
}

static void poll_tasks(struct agent *a)
{
	struct swp_buf req = {0}, out = {0};
	swp__agent_query(a->id, a->latest_update, &req);
	if (call(a, M_QUERY, &req, &out)) {
		failed(a, "queryTasks");
	} else {
		worked(a);
		a->st.queries++;
		size_t tasks = 0;
		if (swp__agent_commands(a->core, out.data, out.len, &a->latest_update, &tasks))
			swp_warn("%s", swp_last_error());
		a->st.tasks += tasks;
	}
	swp_buf_free(&req);
	swp_buf_free(&out);
}

/* Sends what the outbox holds, in streams of at most STREAM_MAX_MESSAGES; a stream that fails goes
 * back to the front of the outbox. Returns whether everything went. */
static bool send_outbox(struct agent *a, int timeout_ms)
{
	for (;;) {
		pthread_mutex_lock(&a->mu);
		size_t k = 0, msgs = 0;
		while (k < a->n && (k == 0 || msgs + a->q[k].n <= STREAM_MAX_MESSAGES))
			msgs += a->q[k++].n;
		struct swp_agent_unit *units = k ? swp__xmalloc(k * sizeof(*units)) : NULL;
		uint64_t bytes = 0;
		for (size_t i = 0; i < k; i++)
			bytes += a->q[i].bytes;
		if (k)
			memcpy(units, a->q, k * sizeof(*units));
		memmove(a->q, a->q + k, (a->n - k) * sizeof(*a->q));
		a->n -= k;
		a->bytes -= bytes;
		pthread_mutex_unlock(&a->mu);
		if (!k)
			return true;

		struct swp_buf *all = swp__xmalloc(msgs * sizeof(*all)), out = {0};
		size_t m = 0;
		uint64_t samples = 0;
		for (size_t i = 0; i < k; i++) {
			memcpy(all + m, units[i].msgs, units[i].n * sizeof(*all));
			m += units[i].n;
			samples += units[i].samples;
		}
		int r = swp__grpc_stream(a->grpc, M_COLLECT, all, m, timeout_ms, &out);
		free(all);
		swp_buf_free(&out);
		if (r) {
			pthread_mutex_lock(&a->mu);
			/* back in front, in order; the sink may have added behind meanwhile */
			if (a->n + k > a->cap) {
				a->cap = a->n + k;
				a->q = swp__xrealloc(a->q, a->cap * sizeof(*a->q));
			}
			memmove(a->q + k, a->q, a->n * sizeof(*a->q));
			memcpy(a->q, units, k * sizeof(*units));
			a->n += k;
			a->bytes += bytes;
			pthread_mutex_unlock(&a->mu);
			free(units);
			failed(a, "collectProfilingData");
			return false;
		}
		worked(a);
		a->st.streams++;
		a->st.messages += m;
		a->st.bytes_sent += bytes;
		a->st.samples_sent += samples;
		for (size_t i = 0; i < k; i++)
			swp__agent_unit_free(&units[i]);
		free(units);
	}
}

static bool outbox_empty(struct agent *a)
{
	pthread_mutex_lock(&a->mu);
	bool empty = a->n == 0;
	pthread_mutex_unlock(&a->mu);
	return empty;
}

/* The profiler must work here, or nothing the backend asks can run: found out at once. */
static int check_profiler(int freq)
{
	struct swp_profiler_opts o = {.sz = sizeof(o), .frequency = freq ? freq : 99};
	struct swp_profiler *p = NULL;
	int r = swp__profiler_open(&o, &p);
	swp__profiler_close(p);
	return r;
}

int swp_agent_run(const struct swp_agent_config *cfg, volatile int *stop, struct swp_agent_stats *stats)
{
	swp__clear_error();
	if (!cfg || cfg->sz < sizeof(*cfg) || !cfg->backend || !*cfg->backend)
		return swp__fail(EINVAL, "the agent needs a backend (host:port)");
	int r = check_profiler(cfg->frequency);
	if (r)
		return r;
	struct agent a = {.cfg = cfg};
	pthread_mutex_init(&a.mu, NULL);
	a.buffer_bytes = cfg->buffer_bytes ? cfg->buffer_bytes : 32ULL << 20;
	if (cfg->agent_id && *cfg->agent_id) {
		a.id = swp__xstrdup(cfg->agent_id);
	} else {
		char host[256] = "localhost";
		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = 0;
		struct swp_buf id = {0};
		swp__buf_printf(&id, "swprof-agent@%s", cfg->host_name ? cfg->host_name : host);
		a.id = id.data;
	}
	struct swp_config cc = {.sz = sizeof(cc), .profiling = SWP_PROFILING_ON, .frequency = cfg->frequency,
				.flush_interval_ms = cfg->flush_ms, .scan_interval_ms = cfg->scan_ms, .rules = cfg->rules,
				.n_rules = cfg->n_rules, .host_ip = cfg->host_ip, .host_name = cfg->host_name,
				.process_min_age_ms = cfg->min_age_ms, .unwind = cfg->unwind, .ustack_bytes = cfg->ustack_bytes};
	bool has_token = cfg->sz >= offsetof(struct swp_agent_config, token) + sizeof(cfg->token);
	r = swp__grpc_open(cfg->backend, has_token ? cfg->token : NULL, &a.grpc);
	if (!r)
		r = swp__core_open(&cc, sink, &a, &a.core);
	if (r) {
		swp__grpc_close(a.grpc);
		free(a.id);
		pthread_mutex_destroy(&a.mu);
		return r;
	}
	int beat = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 20000, poll = cfg->poll_ms > 0 ? cfg->poll_ms : 10000;
	swp_info("agent %s: backend %s, heartbeat %d ms, task poll %d ms, buffer %" PRIu64 " MiB", a.id, cfg->backend, beat,
		 poll, a.buffer_bytes >> 20);
	while (!*stop) {
		int64_t now = mono();
		if (now >= a.retry_at) {
			heartbeat(&a, beat);
			if (a.up && mono() >= a.next_poll) {
				poll_tasks(&a);
				a.next_poll = mono() + poll;
			}
			if (a.up)
				send_outbox(&a, STREAM_TIMEOUT_MS);
		}
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	/* the last flush (the core's close), then what the outbox holds, for a few seconds at most */
	swp_core_close(a.core);
	a.core = NULL;
	int64_t until = mono() + LAST_SEND_MS;
	swp__grpc_wait_for_ready(a.grpc, false); /* a backend away now is not waited for */
	while (!outbox_empty(&a) && mono() < until) {
		if (mono() >= a.retry_at && send_outbox(&a, (int)(until - mono()) + 1))
			break;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	uint64_t left = 0;
	for (size_t i = 0; i < a.n; i++) {
		left += a.q[i].samples;
		swp__agent_unit_free(&a.q[i]);
	}
	if (left) {
		a.st.samples_dropped += left;
		swp_warn("stopping with the backend away: %" PRIu64 " samples not sent", left);
	}
	swp_info("agent %s stopped: %" PRIu64 " samples sent in %" PRIu64 " streams (%" PRIu64 " bytes), %" PRIu64
		 " dropped, %" PRIu64 " tasks run",
		 a.id, a.st.samples_sent, a.st.streams, a.st.bytes_sent, a.st.samples_dropped, a.st.tasks);
	if (stats)
		*stats = a.st;
	free(a.q);
	swp__grpc_close(a.grpc);
	free(a.id);
	pthread_mutex_destroy(&a.mu);
	return 0;
}
