/* The process registry: processes found by the discovery rules (or registered explicitly),
 * persisted, with ids and attributes as docs/protocol.md §2. */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>

#include "core/core.h"
#include "ids/ids.h"
#include "store/layout.h"

void swp__registry_put(struct swp_batch *b, struct swp_process *p)
{
	p->saved_seen_ms = p->seen_ms;
	struct swp_buf k = {0}, v = {0};
	swp__buf_put_u8(&k, SWP_TAG_PROCESS);
	swp__buf_puts(&k, p->id);
	swp__process_encode(p, &v);
	swp__batch_put(b, k.data, k.len, v.data, v.len);
	swp_buf_free(&k);
	swp_buf_free(&v);
}

static int load_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	swp_core *c = ctx;
	struct swp_process *p = swp__xcalloc(1, sizeof(*p));
	if (swp__process_decode(v, vl, p)) {
		free(p);
		swp_warn("skipping an unreadable process record (%.*s)", (int)(kl > 1 ? kl - 1 : 0), (const char *)k + 1);
		return 0;
	}
	/* a local process still running as it was: profiled at once, before any scan */
	if (!p->agent_id && p->pid && swp__process_alive(p->pid, p->start_ticks)) {
		swp__process_pid_seen(p, p->pid, p->start_ticks, swp__now_ms());
		p->pids[0].registered = true;
	}
	SWP_VEC_PUSH(c->procs, p);
	return 0;
}

int swp__registry_load(swp_core *c)
{
	uint8_t from = SWP_TAG_PROCESS, to = SWP_TAG_PROCESS + 1;
	return swp__store_scan(c->store, &from, 1, &to, 1, load_one, c);
}

struct swp_process *swp__registry_find(swp_core *c, const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < c->procs.n; i++)
		if (strcmp(c->procs.v[i]->id, id) == 0)
			return c->procs.v[i];
	return NULL;
}

bool swp__process_alive(int pid, int64_t start_ticks)
{
	if (pid <= 0)
		return false;
	struct swp_discovered d = {0};
	bool alive = swp__proc_read(pid, &d) == 0 && d.start_ticks == start_ticks && d.cmdline && *d.cmdline;
	swp__discovered_clear(&d);
	return alive;
}

static bool strv_eq(char *const *a, uint32_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool str_eq(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Registers or refreshes the process described by d (names already set). Persists it in b when
 * anything changed. Returns the registry entry; with only_known, NULL for a process not registered
 * yet (and nothing is created). */
static struct swp_process *upsert(swp_core *c, const struct swp_discovered *d, int64_t now, bool only_known,
				  struct swp_batch *b)
{
	struct swp_buf sid = {0}, iid = {0};
	swp__service_id(d->service, &sid);
	swp__instance_id(sid.data, d->instance, &iid);
	char pid_hex[SWP_PROCESS_ID_SIZE];
	swp__process_id(d->process, iid.data, pid_hex);
	struct swp_process *p = swp__registry_find(c, pid_hex);
	bool changed = false;
	if (p && p->agent_id) {
		/* an agent reports a process of these names: it keeps it while its keep-alives come */
		if (swp__process_running(c, p, now)) {
			swp_buf_free(&sid);
			swp_buf_free(&iid);
			return p;
		}
		swp_info("process %s (%s): found here, no longer reported by agent %s", p->name, p->service, p->agent_id);
		free(p->agent_id);
		free(p->detect_type);
		swp__strv_free(p->prop_keys, p->n_props);
		swp__strv_free(p->prop_vals, p->n_props);
		p->agent_id = p->detect_type = NULL;
		p->prop_keys = p->prop_vals = NULL;
		p->n_props = 0;
		p->pid = 0;
		changed = true;
	}
	if (!p && only_known) {
		swp_buf_free(&sid);
		swp_buf_free(&iid);
		return NULL;
	}
	if (!p) {
		p = swp__xcalloc(1, sizeof(*p));
		p->id = swp__xstrdup(pid_hex);
		p->name = swp__xstrdup(d->process);
		p->service = swp__xstrdup(d->service);
		p->service_id = swp__xstrdup(sid.data);
		p->instance = swp__xstrdup(d->instance);
		p->instance_id = swp__xstrdup(iid.data);
		p->labels = swp__xcalloc(1, sizeof(char *));
		p->first_seen_ms = now;
		SWP_VEC_PUSH(c->procs, p);
		changed = true;
	}
	swp_buf_free(&sid);
	swp_buf_free(&iid);
	/* Processes of one name on one instance share an id (docs/protocol.md §2): one entity whose
	 * every pid is profiled; its record shows the oldest one, so it does not flap between them. */
	swp__process_pid_seen(p, d->pid, d->start_ticks, now);
	if (p->pid && p->pid != d->pid && p->start_ticks <= d->start_ticks &&
	    (p->seen_ms == now || swp__process_alive(p->pid, p->start_ticks))) {
		p->seen_ms = now;
		return p;
	}
	if (!str_eq(p->layer, d->layer)) {
		free(p->layer);
		p->layer = swp__xstrdup(d->layer);
		changed = true;
	}
	if (!str_eq(p->host_ip, c->host_ip)) {
		free(p->host_ip);
		p->host_ip = swp__xstrdup(c->host_ip);
		changed = true;
	}
	if (!str_eq(p->cmdline, d->cmdline)) {
		free(p->cmdline);
		p->cmdline = swp__xstrdup(d->cmdline);
		changed = true;
	}
	if (!strv_eq(p->labels, p->n_labels, d->labels, d->n_labels)) {
		swp__strv_free(p->labels, p->n_labels);
		p->labels = swp__strv_dupn((const char *const *)d->labels, d->n_labels, &p->n_labels);
		changed = true;
	}
	if (p->pid != d->pid || p->start_ticks != d->start_ticks) {
		if (p->pid && p->pid != d->pid)
			swp_debug("process %s (%s) is now pid %d (was %d)", p->name, p->service, d->pid, p->pid);
		p->pid = d->pid;
		p->start_ticks = d->start_ticks;
		changed = true;
	}
	if (!p->first_seen_ms) /* a record from before first_seen_ms was kept */
		p->first_seen_ms = now;
	p->seen_ms = now;
	/* the last time seen goes to the store now and then, so a restarted core ages out what exited
	 * while it was down from about the right time */
	if (changed || now - p->saved_seen_ms >= SWP_SEEN_SAVE_MS)
		swp__registry_put(b, p);
	return p;
}

/* Does a task or a schedule name p? Then it stays in the registry when it leaves the listings. */
static bool referenced(swp_core *c, const struct swp_process *p)
{
	for (size_t i = 0; i < c->tasks.n; i++)
		if (c->tasks.v[i]->process_id && strcmp(c->tasks.v[i]->process_id, p->id) == 0)
			return true;
	for (size_t i = 0; i < c->scheds.n; i++)
		if (strcmp(c->scheds.v[i]->process_id, p->id) == 0)
			return true;
	return false;
}

/* Forgets the processes that left the listings and that no task or schedule names. */
static void expire(swp_core *c, int64_t now, struct swp_batch *b)
{
	for (size_t i = 0; i < c->procs.n;) {
		struct swp_process *p = c->procs.v[i];
		if (swp__process_running(c, p, now) || now - p->seen_ms <= c->expire_ms || referenced(c, p)) {
			i++;
			continue;
		}
		swp_debug("process %s (%s) left the registry: gone since %" PRId64 " s", p->name, p->service,
			  (now - p->seen_ms) / 1000);
		struct swp_buf k = {0};
		swp__buf_put_u8(&k, SWP_TAG_PROCESS);
		swp__buf_puts(&k, p->id);
		swp__batch_delete(b, k.data, k.len);
		swp_buf_free(&k);
		swp__process_free(p);
		free(p);
		memmove(&c->procs.v[i], &c->procs.v[i + 1], (c->procs.n - i - 1) * sizeof(c->procs.v[0]));
		c->procs.n--;
	}
}

int swp__registry_rescan(swp_core *c)
{
	struct swp_discovered *found = NULL;
	size_t n = 0;
	int r = swp__discovery_scan(c->disc, &found, &n);
	if (r)
		return r;
	int64_t now = swp__now_ms();
	struct swp_batch *b = swp__batch_new();
	/* a process is registered once it has run for min_age (short commands never show); one already
	 * registered (a program restarting) is refreshed at once */
	for (size_t i = 0; i < n; i++)
		upsert(c, &found[i], now, swp__proc_age_ms(found[i].start_ticks) < c->min_age_ms, b);
	/* a process not seen by this scan keeps its record; its pid goes when it is gone. Pids this
	 * scan did not match leave the entity: they exited, or run another program now */
	for (size_t i = 0; i < c->procs.n; i++) {
		struct swp_process *p = c->procs.v[i];
		if (p->agent_id)
			continue;
		for (uint32_t k = 0; k < p->n_pids;) {
			const struct swp_pidref *r = &p->pids[k];
			if (r->registered ? !swp__process_alive(r->pid, r->start_ticks) : r->seen_ms != now)
				p->pids[k] = p->pids[--p->n_pids];
			else
				k++;
		}
		/* the record shows the oldest pid matched now; none: not running (as far as the rules see) */
		if (p->pid && !swp__process_has_pid(p, p->pid)) {
			const struct swp_pidref *oldest = NULL;
			for (uint32_t k = 0; k < p->n_pids; k++)
				if (!oldest || p->pids[k].start_ticks < oldest->start_ticks)
					oldest = &p->pids[k];
			p->pid = oldest ? oldest->pid : 0;
			p->start_ticks = oldest ? oldest->start_ticks : 0;
			swp__registry_put(b, p);
		}
	}
	expire(c, now, b);
	if (swp__batch_count(b))
		r = swp__batch_commit(c->store, b, false);
	swp__batch_free(b);
	swp__discovered_free(found, n);
	return r;
}
SWP_API int swp_processes_rescan(swp_core *c)
{
	if (!c)
		return swp__fail(EINVAL, "core is NULL");
	pthread_mutex_lock(&c->mu);
	int r = swp__registry_rescan(c);
	c->last_scan_ms = swp__mono_ms();
	pthread_mutex_unlock(&c->mu);
	return r;
}

SWP_API int swp_process_register(swp_core *c, const struct swp_process_spec *spec, struct swp_buf *out)
{
	if (!c || !spec || !spec->service || !*spec->service)
		return swp__fail(EINVAL, "a process needs a pid and a service name");
	struct swp_discovered d = {0};
	int r = swp__proc_read(spec->pid, &d);
	if (r) {
		swp__discovered_clear(&d);
		return swp__fail(ESRCH, "no process with pid %d", spec->pid);
	}
	d.service = swp__xstrdup(spec->service);
	d.instance = swp__xstrdup(spec->instance && *spec->instance ? spec->instance : swp__discovery_host_name(c->disc));
	d.process = swp__xstrdup(spec->process && *spec->process ? spec->process : d.exe_name);
	d.layer = swp__xstrdup(spec->layer && *spec->layer ? spec->layer : "OS_LINUX");
	size_t nl = 0;
	while (spec->labels && spec->labels[nl])
		nl++;
	d.labels = swp__xcalloc(nl + 2, sizeof(char *));
	for (size_t i = 0; i < nl; i++)
		d.labels[i] = swp__xstrdup(spec->labels[i]);
	if (!nl)
		d.labels[nl++] = swp__xstrdup(d.process);
	d.n_labels = nl;

	pthread_mutex_lock(&c->mu);
	struct swp_batch *b = swp__batch_new();
	struct swp_process *p = upsert(c, &d, swp__now_ms(), false, b);
	for (uint32_t k = 0; p && k < p->n_pids; k++)
		if (p->pids[k].pid == spec->pid)
			p->pids[k].registered = true;
	r = swp__batch_count(b) ? swp__batch_commit(c->store, b, true) : 0;
	if (!r && out)
		swp__process_json(p, out);
	pthread_mutex_unlock(&c->mu);
	swp__batch_free(b);
	swp__discovered_clear(&d);
	return r;
}

/* ---- metadata queries ---- */

/* Which registry entries a listing shows: every filter that is set must match; `distinct` keeps
 * only the first process of each service (DISTINCT_SERVICE) or instance (DISTINCT_INSTANCE). */
enum { DISTINCT_NONE, DISTINCT_SERVICE, DISTINCT_INSTANCE };
struct listing {
	const char *layer, *service_id, *instance_id, *process_id;
	int64_t from, to; /* a time range, or both 0: now */
	int distinct;
	void (*emit)(const struct swp_process *p, struct swp_buf *out);
};

static bool matches(const char *filter, const char *value)
{
	return swp__empty(filter) || strcmp(filter, value) == 0;
}

bool swp__process_running(const swp_core *c, const struct swp_process *p, int64_t now)
{
	return p->agent_id ? now - p->seen_ms <= c->agent_timeout_ms : p->pid != 0;
}

bool swp__registry_listed(const swp_core *c, const struct swp_process *p, int64_t now, int64_t from, int64_t to)
{
	bool running = swp__process_running(c, p, now);
	if (!from && !to)
		return running || now - p->seen_ms <= c->expire_ms;
	int64_t last = running ? now : p->seen_ms;
	return p->first_seen_ms <= to && last >= from;
}

static bool selected(swp_core *c, const struct listing *l, const struct swp_process *p, int64_t now)
{
	return matches(l->layer, p->layer) && matches(l->service_id, p->service_id) &&
	       matches(l->instance_id, p->instance_id) && matches(l->process_id, p->id) &&
	       swp__registry_listed(c, p, now, l->from, l->to) && swp__caller_may_see(p);
}

/* Is process i's service (or instance) listed already, by a selected process before it? */
static bool seen_before(swp_core *c, const struct listing *l, size_t i, int64_t now)
{
	for (size_t j = 0; j < i; j++) {
		const struct swp_process *a = c->procs.v[j], *b = c->procs.v[i];
		if (strcmp(a->service_id, b->service_id) == 0 &&
		    (l->distinct == DISTINCT_SERVICE || strcmp(a->instance_id, b->instance_id) == 0) &&
		    selected(c, l, a, now))
			return true;
	}
	return false;
}

/* Writes the JSON array of the registry entries l selects. */
static int list_json(swp_core *c, const struct listing *l, struct swp_buf *out)
{
	if (!c || !out)
		return swp__fail(EINVAL, "core and out are required");
	pthread_mutex_lock(&c->mu);
	swp__buf_putc(out, '[');
	bool first = true;
	int64_t now = swp__now_ms();
	for (size_t i = 0; i < c->procs.n; i++) {
		const struct swp_process *p = c->procs.v[i];
		if (!selected(c, l, p, now) || (l->distinct != DISTINCT_NONE && seen_before(c, l, i, now)))
			continue;
		if (!first)
			swp__buf_putc(out, ',');
		first = false;
		l->emit(p, out);
	}
	swp__buf_putc(out, ']');
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static void service_json(const struct swp_process *p, struct swp_buf *out)
{
	bool f = true;
	swp__buf_putc(out, '{');
	swp__json_kv_str(out, &f, "id", p->service_id);
	swp__json_kv_str(out, &f, "name", p->service);
	swp__json_kv_str(out, &f, "group", "");
	swp__json_kv_str(out, &f, "shortName", p->service);
	swp__json_key(out, &f, "layers");
	swp__buf_putc(out, '[');
	swp__json_str(out, p->layer);
	swp__buf_putc(out, ']');
	swp__json_kv_bool(out, &f, "normal", true);
	swp__buf_putc(out, '}');
}

static void instance_json(const struct swp_process *p, struct swp_buf *out)
{
	bool f = true;
	swp__buf_putc(out, '{');
	swp__json_kv_str(out, &f, "id", p->instance_id);
	swp__json_kv_str(out, &f, "name", p->instance);
	/* an instance's attributes are what a language agent reports of it; a host's processes have
	 * none (OAP lists []): host_ip is an attribute of each process */
	swp__json_key(out, &f, "attributes");
	swp__buf_puts(out, "[]");
	swp__json_kv_str(out, &f, "language", "UNKNOWN");
	swp__json_kv_str(out, &f, "instanceUUID", p->instance_id);
	swp__json_kv_str(out, &f, "layer", p->layer);
	swp__buf_putc(out, '}');
}

SWP_API int swp_services_json(swp_core *c, const char *layer, struct swp_buf *out)
{
	struct listing l = {.layer = layer, .distinct = DISTINCT_SERVICE, .emit = service_json};
	return list_json(c, &l, out);
}

SWP_API int swp_instances_json(swp_core *c, const char *service_id, int64_t start_ms, int64_t end_ms,
			       struct swp_buf *out)
{
	struct listing l = {.service_id = service_id, .from = start_ms, .to = end_ms, .distinct = DISTINCT_INSTANCE,
			    .emit = instance_json};
	return list_json(c, &l, out);
}

SWP_API int swp_processes_json(swp_core *c, const char *service_id, const char *instance_id, const char *process_id,
			       int64_t start_ms, int64_t end_ms, struct swp_buf *out)
{
	struct listing l = {.service_id = service_id, .instance_id = instance_id, .process_id = process_id,
			    .from = start_ms, .to = end_ms, .emit = swp__process_json};
	return list_json(c, &l, out);
}

SWP_API int swp_process_json(swp_core *c, const char *process_id, struct swp_buf *out)
{
	if (!c || !out)
		return swp__fail(EINVAL, "core and out are required");
	pthread_mutex_lock(&c->mu);
	const struct swp_process *p = swp__registry_find(c, process_id);
	if (p && swp__caller_may_see(p))
		swp__process_json(p, out);
	else
		swp__buf_puts(out, "null");
	pthread_mutex_unlock(&c->mu);
	return 0;
}
