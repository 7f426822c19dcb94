#include "core/core.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <unistd.h>

#include "ids/ids.h"

static char *detect_host_ip(void)
{
	struct ifaddrs *ifa = NULL;
	char ip[INET_ADDRSTRLEN] = "127.0.0.1";
	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
				continue;
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip, sizeof(ip));
			break;
		}
		freeifaddrs(ifa);
	}
	return swp__xstrdup(ip);
}

void swp__seq_put(struct swp_batch *b, const char *name, uint64_t next)
{
	uint8_t key[64];
	size_t kl = strlen(name);
	key[0] = 'N';
	memcpy(key + 1, name, kl);
	uint8_t v[8];
	swp__set_be64(v, next);
	swp__batch_put(b, key, kl + 1, v, 8);
}

uint64_t swp__seq_next(const char *name, uint64_t *next, struct swp_batch *b)
{
	uint64_t id = (*next)++;
	swp__seq_put(b, name, *next);
	return id;
}

static uint64_t seq_load(swp_core *c, const char *name)
{
	uint8_t key[64];
	size_t kl = strlen(name);
	key[0] = 'N';
	memcpy(key + 1, name, kl);
	struct swp_buf v = {0};
	uint64_t next = 1;
	if (swp__store_get(c->store, key, kl + 1, &v) == 0 && v.len == 8)
		next = swp__get_be64(v.data);
	swp_buf_free(&v);
	return next;
}

SWP_API int swp_core_open(const struct swp_config *cfg, swp_core **out)
{
	swp__clear_error();
	if (!out)
		return swp__fail(EINVAL, "out is NULL");
	*out = NULL;
	if (!cfg || !cfg->data_dir)
		return swp__fail(EINVAL, "a configuration with a data directory is required");
	return swp__core_open(cfg, NULL, NULL, out);
}

int swp__core_open(const struct swp_config *cfg, swp_block_sink sink, void *sink_ctx, swp_core **out)
{
	swp__clear_error();
	*out = NULL;
	if (!cfg || cfg->sz < offsetof(struct swp_config, host_name) || (!cfg->data_dir && !sink))
		return swp__fail(EINVAL, "a configuration with a data directory (or a sink) is required");
	int freq = cfg->frequency ? cfg->frequency : 99;
	if (freq < 1 || freq > 1000)
		return swp__fail(EINVAL, "frequency %d Hz is out of range (1 to 1000)", freq);
	int flush = cfg->flush_interval_ms ? cfg->flush_interval_ms : 1000;
	if (flush < 10 || flush > 60000)
		return swp__fail(EINVAL, "flush interval %d ms is out of range (10 to 60000)", flush);
	if (cfg->profiling < SWP_PROFILING_OFF || cfg->profiling > SWP_PROFILING_ELSEWHERE)
		return swp__fail(EINVAL, "profiling mode %d is not one of enum swp_profiling", cfg->profiling);
	bool has_unwind = cfg->sz >= offsetof(struct swp_config, ustack_bytes) + sizeof(cfg->ustack_bytes);
	unsigned unwind = 0;
	int r = swp__unwind_mode(has_unwind ? cfg->unwind : NULL, &unwind);
	if (r)
		return r;
	uint32_t ustack;
	r = swp__ustack_bytes(has_unwind ? cfg->ustack_bytes : 0, &ustack);
	if (r)
		return r;
	r = swp__sha256_selftest();
	if (r)
		return r;

	swp_core *c = swp__xcalloc(1, sizeof(*c));
	c->data_dir = cfg->data_dir ? swp__xstrdup(cfg->data_dir) : NULL;
	c->sink = sink;
	c->sink_ctx = sink_ctx;
	c->frequency = freq;
	c->unwind = unwind;
	c->ustack_bytes = ustack;
	c->flush_ms = flush;
	c->scan_ms = cfg->scan_interval_ms ? cfg->scan_interval_ms : 5000;
	c->profiling = cfg->profiling == SWP_PROFILING_ON;
	c->runs_elsewhere = cfg->profiling == SWP_PROFILING_ELSEWHERE;
	bool has_ages = cfg->sz >= offsetof(struct swp_config, process_min_age_ms) + sizeof(cfg->process_min_age_ms);
	c->expire_ms = has_ages && cfg->process_expire_ms > 0 ? cfg->process_expire_ms : 10 * 60 * 1000;
	c->min_age_ms = !has_ages || !cfg->process_min_age_ms ? 3000 : cfg->process_min_age_ms < 0 ? 0 : cfg->process_min_age_ms;
	bool has_agents = cfg->sz >= offsetof(struct swp_config, agent_timeout_ms) + sizeof(cfg->agent_timeout_ms);
	c->agent_timeout_ms = has_agents && cfg->agent_timeout_ms > 0 ? cfg->agent_timeout_ms : 60000;
	c->host_ip = cfg->host_ip ? swp__xstrdup(cfg->host_ip) : detect_host_ip();
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cond, NULL);
	swp__stacks_init(&c->stacks);
	swp__u64map_init(&c->sched_index, 64);

	r = swp__discovery_new(cfg->rules, cfg->n_rules, cfg->host_name, &c->disc);
	bool has_min_free = cfg->sz >= offsetof(struct swp_config, min_free_bytes) + sizeof(cfg->min_free_bytes);
	if (!r && cfg->data_dir)
		r = swp__store_open(cfg->data_dir, has_min_free ? cfg->min_free_bytes : 0, &c->store);
	if (!r) {
		c->next_task = seq_load(c, "task");
		c->next_sched = seq_load(c, "schedule");
		c->next_block = seq_load(c, "block");
		r = swp__registry_load(c);
	}
	if (!r)
		r = swp__tasks_load(c);
	if (!r)
		r = swp__stacks_load(c);
	/* the scheduler thread flushes what every producer adds (agents' streams too); it profiles
	 * only with profiling on. A core whose directory another process profiles has none. */
	if (!r && !c->runs_elsewhere)
		r = swp__scheduler_start(c);
	if (r) {
		char why[512];
		snprintf(why, sizeof(why), "%s", swp_last_error());
		swp_core_close(c);
		return swp__fail(r, "%s", why);
	}
	if (c->store)
		swp_info("store %s open: %zu processes, %zu tasks, %zu schedules, %u stacks", c->data_dir, c->procs.n,
			 c->tasks.n, c->scheds.n, c->stacks.n);
	*out = c;
	return 0;
}

SWP_API void swp_core_close(swp_core *c)
{
	if (!c)
		return;
	swp__scheduler_stop(c);
	swp__store_close(c->store);
	swp__discovery_free(c->disc);
	for (size_t i = 0; i < c->procs.n; i++) {
		swp__process_free(c->procs.v[i]);
		free(c->procs.v[i]);
	}
	for (size_t i = 0; i < c->tasks.n; i++) {
		swp__task_free(c->tasks.v[i]);
		free(c->tasks.v[i]);
	}
	for (size_t i = 0; i < c->scheds.n; i++) {
		swp__schedule_free(c->scheds.v[i]);
		free(c->scheds.v[i]);
	}
	free(c->procs.v);
	free(c->tasks.v);
	free(c->scheds.v);
	swp__u64map_free(&c->sched_index);
	swp__pending_clear(c);
	free(c->pending.v);
	free(c->runs.v);
	swp__stacks_free(&c->stacks);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
	free(c->host_ip);
	free(c->data_dir);
	free(c);
}

SWP_API int swp_core_stats_json(swp_core *c, struct swp_buf *out)
{
	if (!c || !out)
		return swp__fail(EINVAL, "core and out are required");
	pthread_mutex_lock(&c->mu);
	bool f = true;
	swp__buf_putc(out, '{');
	swp__json_kv_i64(out, &f, "flushes", (int64_t)c->st_flushes);
	swp__json_kv_i64(out, &f, "samples", (int64_t)c->st_samples);
	swp__json_kv_i64(out, &f, "lostSamples", (int64_t)c->st_lost);
	swp__json_kv_i64(out, &f, "writeErrors", (int64_t)c->st_write_errors);
	swp__json_kv_i64(out, &f, "runningSchedules", (int64_t)c->runs.n);
	swp__json_kv_i64(out, &f, "processes", (int64_t)c->procs.n);
	swp__json_kv_i64(out, &f, "tasks", (int64_t)c->tasks.n);
	swp__json_kv_i64(out, &f, "stacks", (int64_t)c->stacks.n);
	swp__json_kv_str(out, &f, "profilerError", c->prof_err ? swp_strerror(c->prof_err) : NULL);
	swp__buf_putc(out, '}');
	pthread_mutex_unlock(&c->mu);
	return 0;
}
