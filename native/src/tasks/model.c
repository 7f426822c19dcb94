#include "tasks/model.h"

#include <inttypes.h>
#include <stdlib.h>

#include "ids/ids.h"

/* Every record starts with a version byte, so fields can be appended later. */
#define REC_V1 1

char **swp__strv_dupn(const char *const *v, size_t k, uint32_t *n)
{
	*n = (uint32_t)k;
	char **d = swp__xcalloc(k + 1, sizeof(char *));
	for (size_t i = 0; i < k; i++)
		d[i] = swp__xstrdup(v[i]);
	return d;
}

char **swp__strv_dup(const char *const *v, uint32_t *n)
{
	size_t k = 0;
	while (v && v[k])
		k++;
	return swp__strv_dupn(v, k, n);
}

void swp__strv_free(char **v, uint32_t n)
{
	if (!v)
		return;
	for (uint32_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

bool swp__strv_has(char *const *v, uint32_t n, const char *s)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static void put_strv(struct swp_buf *b, char *const *v, uint32_t n)
{
	swp__buf_put_uvar(b, n);
	for (uint32_t i = 0; i < n; i++)
		swp__buf_put_str(b, v[i]);
}

static char **rd_strv(struct swp_reader *r, uint32_t *n)
{
	uint64_t k = swp__rd_uvar(r);
	if (k > 4096) {
		r->bad = true;
		k = 0;
	}
	*n = (uint32_t)k;
	char **v = swp__xcalloc(k + 1, sizeof(char *));
	for (uint64_t i = 0; i < k; i++)
		v[i] = swp__rd_str(r);
	return v;
}

/* optional string: empty on disk = NULL */
static char *rd_opt(struct swp_reader *r)
{
	char *s = swp__rd_str(r);
	if (!*s) {
		free(s);
		return NULL;
	}
	return s;
}

static void json_strv(struct swp_buf *b, char *const *v, uint32_t n)
{
	swp__buf_putc(b, '[');
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			swp__buf_putc(b, ',');
		swp__json_str(b, v[i]);
	}
	swp__buf_putc(b, ']');
}

/* ---- process ---- */

void swp__process_encode(const struct swp_process *p, struct swp_buf *out)
{
	swp__buf_put_u8(out, REC_V1);
	swp__buf_put_str(out, p->id);
	swp__buf_put_str(out, p->name);
	swp__buf_put_str(out, p->service);
	swp__buf_put_str(out, p->service_id);
	swp__buf_put_str(out, p->instance);
	swp__buf_put_str(out, p->instance_id);
	swp__buf_put_str(out, p->layer);
	swp__buf_put_str(out, p->host_ip);
	swp__buf_put_str(out, p->cmdline);
	put_strv(out, p->labels, p->n_labels);
	swp__buf_put_uvar(out, (uint64_t)p->pid);
	swp__buf_put_uvar(out, (uint64_t)p->start_ticks);
	swp__buf_put_uvar(out, (uint64_t)p->seen_ms);
	swp__buf_put_uvar(out, (uint64_t)p->first_seen_ms);
	swp__buf_put_str(out, p->agent_id);
	swp__buf_put_str(out, p->detect_type);
	put_strv(out, p->prop_keys, p->n_props);
	put_strv(out, p->prop_vals, p->n_props);
}

int swp__process_decode(const uint8_t *v, size_t n, struct swp_process *p)
{
	struct swp_reader r = {v, v + n, false};
	memset(p, 0, sizeof(*p));
	if (swp__rd_u8(&r) != REC_V1)
		return -EINVAL;
	p->id = swp__rd_str(&r);
	p->name = swp__rd_str(&r);
	p->service = swp__rd_str(&r);
	p->service_id = swp__rd_str(&r);
	p->instance = swp__rd_str(&r);
	p->instance_id = swp__rd_str(&r);
	p->layer = swp__rd_str(&r);
	p->host_ip = swp__rd_str(&r);
	p->cmdline = swp__rd_str(&r);
	p->labels = rd_strv(&r, &p->n_labels);
	p->pid = (int)swp__rd_uvar(&r);
	p->start_ticks = (int64_t)swp__rd_uvar(&r);
	p->seen_ms = (int64_t)swp__rd_uvar(&r);
	if (r.p < r.end) /* fields appended later */
		p->first_seen_ms = (int64_t)swp__rd_uvar(&r);
	if (r.p < r.end) {
		p->agent_id = rd_opt(&r);
		p->detect_type = rd_opt(&r);
		uint32_t nv = 0;
		p->prop_keys = rd_strv(&r, &p->n_props);
		p->prop_vals = rd_strv(&r, &nv);
		if (nv != p->n_props)
			r.bad = true;
	}
	p->saved_seen_ms = p->seen_ms;
	if (r.bad) {
		swp__process_free(p);
		return -EINVAL;
	}
	return 0;
}

void swp__process_free(struct swp_process *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->name);
	free(p->service);
	free(p->service_id);
	free(p->instance);
	free(p->instance_id);
	free(p->layer);
	free(p->host_ip);
	free(p->cmdline);
	swp__strv_free(p->labels, p->n_labels);
	free(p->agent_id);
	free(p->detect_type);
	swp__strv_free(p->prop_keys, p->n_props);
	swp__strv_free(p->prop_vals, p->n_props);
	free(p->pids);
	memset(p, 0, sizeof(*p));
}

void swp__process_pid_seen(struct swp_process *p, int pid, int64_t start_ticks, int64_t now)
{
	for (uint32_t i = 0; i < p->n_pids; i++) {
		if (p->pids[i].pid == pid) {
			p->pids[i].start_ticks = start_ticks; /* the same, or a reused pid: the process there now */
			p->pids[i].seen_ms = now;
			return;
		}
	}
	if (p->n_pids == p->cap_pids) {
		p->cap_pids = p->cap_pids ? p->cap_pids * 2 : 4;
		p->pids = swp__xrealloc(p->pids, p->cap_pids * sizeof(*p->pids));
	}
	p->pids[p->n_pids++] = (struct swp_pidref){.pid = pid, .start_ticks = start_ticks, .seen_ms = now};
}

bool swp__process_pid_drop(struct swp_process *p, int pid)
{
	for (uint32_t i = 0; i < p->n_pids; i++) {
		if (p->pids[i].pid == pid) {
			p->pids[i] = p->pids[--p->n_pids];
			return true;
		}
	}
	return false;
}

bool swp__process_has_pid(const struct swp_process *p, int pid)
{
	for (uint32_t i = 0; i < p->n_pids; i++)
		if (p->pids[i].pid == pid)
			return true;
	return false;
}

void swp__process_json(const struct swp_process *p, struct swp_buf *out)
{
	bool f = true;
	swp__buf_putc(out, '{');
	swp__json_kv_str(out, &f, "id", p->id);
	swp__json_kv_str(out, &f, "name", p->name);
	swp__json_kv_str(out, &f, "serviceId", p->service_id);
	swp__json_kv_str(out, &f, "serviceName", p->service);
	swp__json_kv_str(out, &f, "instanceId", p->instance_id);
	swp__json_kv_str(out, &f, "instanceName", p->instance);
	swp__json_kv_str(out, &f, "layer", p->layer);
	/* a local process's agent is this host's swprof: its instance id names it */
	swp__json_kv_str(out, &f, "agentId", p->agent_id ? p->agent_id : p->instance_id);
	swp__json_kv_str(out, &f, "detectType", p->detect_type ? p->detect_type : "VM");
	swp__json_key(out, &f, "attributes");
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", p->pid);
	swp__buf_puts(out, "[{\"name\":\"host_ip\",\"value\":");
	swp__json_str(out, p->host_ip ? p->host_ip : "");
	swp__buf_puts(out, "},{\"name\":\"pid\",\"value\":");
	swp__json_str(out, pid);
	swp__buf_puts(out, "},{\"name\":\"command_line\",\"value\":");
	swp__json_str(out, p->cmdline ? p->cmdline : "");
	swp__buf_putc(out, '}');
	/* what else an agent reported, in its order */
	for (uint32_t i = 0; i < p->n_props; i++) {
		swp__buf_puts(out, ",{\"name\":");
		swp__json_str(out, p->prop_keys[i]);
		swp__buf_puts(out, ",\"value\":");
		swp__json_str(out, p->prop_vals[i]);
		swp__buf_putc(out, '}');
	}
	swp__buf_putc(out, ']');
	swp__json_key(out, &f, "labels");
	json_strv(out, p->labels, p->n_labels);
	swp__buf_putc(out, '}');
}

/* ---- task ---- */

void swp__task_encode(const struct swp_task *t, struct swp_buf *out)
{
	swp__buf_put_u8(out, REC_V1);
	swp__buf_put_uvar(out, t->id);
	swp__buf_put_uvar(out, (uint64_t)t->create_ms);
	swp__buf_put_uvar(out, (uint64_t)t->start_ms);
	swp__buf_put_uvar(out, (uint64_t)t->duration_s);
	swp__buf_put_str(out, t->target);
	swp__buf_put_str(out, t->process_id);
	swp__buf_put_str(out, t->service_id);
	swp__buf_put_str(out, t->service);
	swp__buf_put_str(out, t->instance_id);
	swp__buf_put_str(out, t->instance);
	swp__buf_put_str(out, t->process_name);
	put_strv(out, t->labels, t->n_labels);
	swp__buf_put_uvar(out, (uint64_t)(t->owner_uid + 1)); /* absent in older records: -1 */
}

int swp__task_decode(const uint8_t *v, size_t n, struct swp_task *t)
{
	struct swp_reader r = {v, v + n, false};
	memset(t, 0, sizeof(*t));
	if (swp__rd_u8(&r) != REC_V1)
		return -EINVAL;
	t->id = swp__rd_uvar(&r);
	t->create_ms = (int64_t)swp__rd_uvar(&r);
	t->start_ms = (int64_t)swp__rd_uvar(&r);
	t->duration_s = (int64_t)swp__rd_uvar(&r);
	t->target = swp__rd_str(&r);
	t->process_id = rd_opt(&r);
	t->service_id = rd_opt(&r);
	t->service = rd_opt(&r);
	t->instance_id = rd_opt(&r);
	t->instance = rd_opt(&r);
	t->process_name = rd_opt(&r);
	t->labels = rd_strv(&r, &t->n_labels);
	t->owner_uid = r.p < r.end ? (int)swp__rd_uvar(&r) - 1 : -1;
	if (r.bad) {
		swp__task_free(t);
		return -EINVAL;
	}
	return 0;
}

void swp__task_free(struct swp_task *t)
{
	if (!t)
		return;
	free(t->ext_id);
	free(t->target);
	free(t->process_id);
	free(t->service_id);
	free(t->service);
	free(t->instance_id);
	free(t->instance);
	free(t->process_name);
	swp__strv_free(t->labels, t->n_labels);
	memset(t, 0, sizeof(*t));
}

int64_t swp__task_end_ms(const struct swp_task *t)
{
	return t->start_ms + t->duration_s * 1000;
}

void swp__task_json(const struct swp_task *t, struct swp_buf *out)
{
	bool f = true;
	char id[SWP_EXT_ID_SIZE];
	swp__buf_putc(out, '{');
	swp__json_kv_str(out, &f, "taskId", t->ext_id ? t->ext_id : swp__ext_id(t->id, id));
	swp__json_kv_str(out, &f, "processFinderType", "PROCESS_ID");
	swp__json_kv_str(out, &f, "serviceId", t->service_id);
	swp__json_kv_str(out, &f, "serviceName", t->service);
	swp__json_kv_str(out, &f, "instanceId", t->instance_id);
	swp__json_kv_str(out, &f, "instanceName", t->instance);
	swp__json_kv_str(out, &f, "serviceInstanceId", t->instance_id);
	swp__json_kv_str(out, &f, "serviceInstanceName", t->instance);
	swp__json_kv_str(out, &f, "processId", t->process_id);
	swp__json_kv_str(out, &f, "processName", t->process_name);
	swp__json_key(out, &f, "processLabels");
	json_strv(out, t->labels, t->n_labels);
	swp__json_kv_i64(out, &f, "taskStartTime", t->start_ms);
	swp__json_kv_str(out, &f, "triggerType", "FIXED_TIME");
	swp__json_kv_i64(out, &f, "fixedTriggerDuration", t->duration_s);
	swp__json_kv_str(out, &f, "targetType", t->target);
	swp__json_kv_i64(out, &f, "createTime", t->create_ms);
	swp__json_key(out, &f, "continuousProfilingCauses");
	swp__buf_puts(out, "[]");
	swp__buf_putc(out, '}');
}

/* ---- schedule ---- */

void swp__schedule_encode(const struct swp_schedule *s, struct swp_buf *out)
{
	swp__buf_put_u8(out, REC_V1);
	swp__buf_put_uvar(out, s->id);
	swp__buf_put_uvar(out, s->task_id);
	swp__buf_put_str(out, s->process_id);
	swp__buf_put_uvar(out, (uint64_t)s->pid);
	swp__buf_put_uvar(out, (uint64_t)s->start_ms);
	swp__buf_put_uvar(out, (uint64_t)s->end_ms);
	swp__buf_put_uvar(out, s->samples);
	swp__buf_put_uvar(out, s->lost);
	swp__buf_put_uvar(out, s->unwritten); /* absent in older records: 0 */
	swp__buf_put_uvar(out, s->incomplete); /* the same */
}

int swp__schedule_decode(const uint8_t *v, size_t n, struct swp_schedule *s)
{
	struct swp_reader r = {v, v + n, false};
	memset(s, 0, sizeof(*s));
	if (swp__rd_u8(&r) != REC_V1)
		return -EINVAL;
	s->id = swp__rd_uvar(&r);
	s->task_id = swp__rd_uvar(&r);
	s->process_id = swp__rd_str(&r);
	s->pid = (int)swp__rd_uvar(&r);
	s->start_ms = (int64_t)swp__rd_uvar(&r);
	s->end_ms = (int64_t)swp__rd_uvar(&r);
	s->samples = swp__rd_uvar(&r);
	s->lost = swp__rd_uvar(&r);
	s->unwritten = r.p < r.end ? swp__rd_uvar(&r) : 0;
	s->incomplete = r.p < r.end ? swp__rd_uvar(&r) : 0;
	if (r.bad) {
		swp__schedule_free(s);
		return -EINVAL;
	}
	return 0;
}

void swp__schedule_free(struct swp_schedule *s)
{
	if (!s)
		return;
	free(s->process_id);
	memset(s, 0, sizeof(*s));
}

void swp__schedule_json(const struct swp_schedule *s, const struct swp_process *process, struct swp_buf *out)
{
	bool f = true;
	char id[SWP_EXT_ID_SIZE], task[SWP_EXT_ID_SIZE];
	swp__buf_putc(out, '{');
	swp__json_kv_str(out, &f, "scheduleId", swp__ext_id(s->id, id));
	swp__json_kv_str(out, &f, "taskId", swp__ext_id(s->task_id, task));
	swp__json_kv_str(out, &f, "processId", s->process_id);
	swp__json_kv_i64(out, &f, "startTime", s->start_ms);
	swp__json_kv_i64(out, &f, "endTime", s->end_ms);
	swp__json_kv_i64(out, &f, "samples", (int64_t)s->samples);
	swp__json_kv_i64(out, &f, "lostSamples", (int64_t)s->lost);
	swp__json_kv_i64(out, &f, "incompleteStacks", (int64_t)s->incomplete);
	swp__json_key(out, &f, "process");
	if (process)
		swp__process_json(process, out);
	else
		swp__buf_puts(out, "null");
	swp__buf_putc(out, '}');
}
