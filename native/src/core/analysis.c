/* Analysis over the store, import of collapsed stacks, and persistence of the stack table. */
#include <endian.h>
#include <inttypes.h>
#include <stdlib.h>

#include "analyze/analyze.h"
#include "core/core.h"
#include "ids/ids.h"
#include "store/layout.h"

#define MAX_RANGES 10000

struct load_ctx {
	swp_core *c;
	uint32_t *ids;
	uint32_t cap;
	int err;
};

static int load_stack(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct load_ctx *l = ctx;
	if (kl != 9)
		return 0;
	int d = swp__stack_decode(&l->c->stacks.in, v, vl, &l->ids, &l->cap);
	if (d < 0) {
		swp_warn("skipping an unreadable stack record");
		return 0;
	}
	swp__stacks_add(&l->c->stacks, swp__get_be64(k + 1), l->ids, (uint32_t)d, NULL);
	return 0;
}

int swp__stacks_load(swp_core *c)
{
	struct load_ctx l = {.c = c};
	uint8_t from = SWP_TAG_STACK, to = SWP_TAG_STACK + 1;
	int r = swp__store_scan(c->store, &from, 1, &to, 1, load_stack, &l);
	free(l.ids);
	c->stacks_persisted = c->stacks.n;
	return r;
}

void swp__stacks_persist(swp_core *c, struct swp_batch *b, uint32_t *upto)
{
	struct swp_stacks *t = &c->stacks;
	struct swp_buf v = {0};
	swp__stacks_rdlock(t);
	swp__interner_rdlock(&t->in);
	uint32_t n = t->n;
	for (uint32_t i = c->stacks_persisted; i < n; i++) {
		uint8_t k[9];
		swp__buf_reset(&v);
		swp__stack_encode(&t->in, t->frames + t->off[i], t->depth[i], &v);
		swp__batch_put(b, k, swp__key_u64(k, SWP_TAG_STACK, t->hash[i]), v.data, v.len);
	}
	swp__interner_unlock(&t->in);
	swp__stacks_unlock(t);
	swp_buf_free(&v);
	*upto = n;
}

/* ---- analysis ---- */

struct scan_ctx {
	struct swp_stacks *t;
	uint64_t *counts;
	uint32_t n;
	const struct swp_time_range *ranges;
	size_t n_ranges;
	uint64_t records; /* entries read */
	uint64_t unknown; /* samples whose stack is missing from the table */
	bool duration;    /* the schedule's blocked-time blocks (OFF_CPU, DURATION), not its counts */
};

/* A block recorded in second `sec` stands for [sec*1000, sec*1000+999]: it is selected when that
 * second overlaps a range (ranges are in ms, end inclusive). */
static bool in_ranges(const struct scan_ctx *s, int64_t sec)
{
	int64_t from = sec * 1000, to = from + 999;
	for (size_t i = 0; i < s->n_ranges; i++)
		if (from <= s->ranges[i].end_ms && to >= s->ranges[i].start_ms)
			return true;
	return false;
}

/* One entry (u64 stack hash little endian, uvar count) at *p; false when it does not fit. */
static inline bool read_entry(const uint8_t **p, const uint8_t *end, uint64_t *h, uint64_t *cnt)
{
	const uint8_t *q = *p;
	if (end - q < 9)
		return false; /* 8 bytes of hash and at least one of count */
	uint64_t v;
	memcpy(&v, q, 8);
	*h = le64toh(v);
	q += 8;
	uint64_t c = 0;
	for (int shift = 0;; shift += 7) {
		if (q == end || shift >= 64)
			return false;
		uint8_t b = *q++;
		c |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	*cnt = c;
	*p = q;
	return true;
}

#define SCAN_BATCH 64

/* Adds the entries of one block to the counts. The stack table lookups are random accesses into
 * a table larger than the L2 cache: entries are decoded a batch at a time and each lookup's slot,
 * then its hash and count, are prefetched a step before they are read. Complete entries are
 * counted up to the first one that does not fit (a damaged block). */
static int scan_block(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct scan_ctx *s = ctx;
	if (kl != SWP_RECORD_KEY_LEN || ((k[17] & SWP_RECORD_DURATION) != 0) != s->duration)
		return 0;
	int64_t sec = (int64_t)swp__get_be64(k + 9);
	if (!in_ranges(s, sec))
		return 0;
	struct swp_reader r = {v, v + vl, false};
	uint64_t n = swp__rd_uvar(&r);
	const uint8_t *p = r.p, *end = v + vl;
	const struct swp_stacks *t = s->t;
	const uint32_t *slots = t->slots;
	const uint32_t mask = t->mask;
	uint64_t hs[SCAN_BATCH], cs[SCAN_BATCH];
	uint32_t at[SCAN_BATCH];
	bool bad = r.bad;
	for (uint64_t i = 0; i < n && !bad;) {
		uint32_t m = 0;
		for (; m < SCAN_BATCH && i < n; m++, i++) {
			if (!read_entry(&p, end, &hs[m], &cs[m])) {
				bad = true;
				break;
			}
			at[m] = (uint32_t)hs[m] & mask;
			__builtin_prefetch(&slots[at[m]]);
		}
		for (uint32_t j = 0; j < m; j++) {
			uint32_t sv = slots[at[j]];
			if (sv) {
				__builtin_prefetch(&t->hash[sv - 1]);
				__builtin_prefetch(&s->counts[sv - 1], 1);
			}
		}
		s->records += m;
		for (uint32_t j = 0; j < m; j++) {
			uint32_t a = at[j], idx = UINT32_MAX;
			for (uint32_t sv; (sv = slots[a]); a = (a + 1) & mask)
				if (t->hash[sv - 1] == hs[j]) {
					idx = sv - 1;
					break;
				}
			if (idx < s->n)
				s->counts[idx] += cs[j];
			else
				s->unknown += cs[j];
		}
	}
	return 0;
}

/* Sums the samples of schedule sid recorded in the ranges into s->counts. One range scan per
 * (schedule, range), over the seconds the range touches; the ranges are merged first, so no
 * block is counted twice. */
static int scan_schedule(swp_core *c, uint64_t sid, struct scan_ctx *s)
{
	for (size_t i = 0; i < s->n_ranges; i++) {
		int64_t a = s->ranges[i].start_ms, b = s->ranges[i].end_ms;
		uint64_t from_sec = a <= 0 ? 0 : (uint64_t)(a / 1000);
		uint64_t to_sec = b < 0 ? 0 : (uint64_t)(b / 1000) + 1;
		if (b < 0 || from_sec >= to_sec)
			continue;
		uint8_t from[SWP_RECORD_KEY_LEN], to[SWP_RECORD_KEY_LEN];
		swp__key_record(from, sid, from_sec, 0);
		swp__key_record(to, sid, to_sec, 0);
		int r = swp__store_scan(c->store, from, sizeof(from), to, sizeof(to), scan_block, s);
		if (r)
			return r;
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct swp_time_range *x = a, *y = b;
	return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static int64_t second_of(int64_t ms)
{
	return ms < 0 ? -1 - (-1 - ms) / 1000 : ms / 1000;
}

/* Sorts and merges ranges that touch a common second, so every block is read at most once. */
static size_t merge_ranges(struct swp_time_range *r, size_t n)
{
	if (!n)
		return 0;
	qsort(r, n, sizeof(*r), cmp_range);
	size_t m = 0;
	for (size_t i = 1; i < n; i++) {
		if (second_of(r[i].start_ms) <= second_of(r[m].end_ms)) {
			if (r[i].end_ms > r[m].end_ms)
				r[m].end_ms = r[i].end_ms;
		} else {
			r[++m] = r[i];
		}
	}
	return m + 1;
}

static void tip_only(struct swp_buf *out, const char *tip)
{
	swp__buf_puts(out, "{\"tip\":");
	swp__json_str(out, tip);
	swp__buf_puts(out, ",\"trees\":[]}");
}

SWP_API int swp_analyze(swp_core *c, const struct swp_analyze_req *q, struct swp_buf *out)
{
	return swp_analyze_ex(c, q, out, NULL);
}

/* The tip answering ranges the analysis cannot take, or NULL. */
static const char *check_ranges(const struct swp_time_range *r, size_t n)
{
	if (!n || !r)
		return "please provide time ranges";
	if (n > MAX_RANGES)
		return "too many time ranges";
	for (size_t i = 0; i < n; i++)
		if (r[i].end_ms - r[i].start_ms <= 0)
			return "please validate the time duration data";
	return NULL;
}

/* What one analysis reads: the schedules (copied under the lock), whether each is OFF_CPU's, and
 * the ranges, merged. */
struct selection {
	uint64_t *sids;
	bool *durations;
	size_t ns;
	struct swp_time_range *ranges;
	size_t n_ranges;
};

static void selection_free(struct selection *sel)
{
	free(sel->sids);
	free(sel->durations);
	free(sel->ranges);
	*sel = (struct selection){0};
}

/* Selects the schedules of task_id (every one) or of schedule_ids, and the ranges. Returns the tip
 * that answers the analysis instead (bad ranges, an unknown task, only unknown schedules), or NULL. */
static const char *select_schedules(swp_core *c, const char *task_id, const char *const *schedule_ids,
				    size_t n_schedule_ids, const struct swp_time_range *ranges, size_t n_ranges,
				    struct selection *sel)
{
	*sel = (struct selection){0};
	const char *tip = check_ranges(ranges, n_ranges);
	if (tip)
		return tip;
	size_t ns = 0, unknown = 0;
	pthread_mutex_lock(&c->mu);
	if (task_id) {
		const struct swp_task *t = swp__task_find(c, task_id);
		if (!t) {
			pthread_mutex_unlock(&c->mu);
			return "could not found task";
		}
		sel->sids = swp__xmalloc((c->scheds.n + 1) * sizeof(uint64_t));
		for (size_t i = 0; i < c->scheds.n; i++)
			if (c->scheds.v[i]->task_id == t->id)
				sel->sids[ns++] = c->scheds.v[i]->id;
	} else {
		sel->sids = swp__xmalloc((n_schedule_ids + 1) * sizeof(uint64_t));
		for (size_t i = 0; i < n_schedule_ids; i++) {
			if (!schedule_ids || !schedule_ids[i])
				continue;
			const struct swp_schedule *s = swp__schedule_find(c, schedule_ids[i]);
			bool dup = false;
			for (size_t k = 0; s && k < ns; k++)
				dup |= sel->sids[k] == s->id;
			if (s && !dup)
				sel->sids[ns++] = s->id;
			else if (!s)
				unknown++;
		}
	}
	sel->durations = swp__xcalloc(ns + 1, sizeof(bool));
	for (size_t i = 0; i < ns; i++) {
		const struct swp_schedule *sc = swp__schedule_by_id(c, sel->sids[i]);
		for (size_t k = 0; sc && k < c->tasks.n; k++)
			if (c->tasks.v[k]->id == sc->task_id)
				sel->durations[i] = strcmp(c->tasks.v[k]->target, "OFF_CPU") == 0;
	}
	pthread_mutex_unlock(&c->mu);
	sel->ns = ns;
	if (!ns && unknown) {
		selection_free(sel);
		return "could not found schedules";
	}
	sel->ranges = swp__xmalloc(n_ranges * sizeof(*sel->ranges));
	memcpy(sel->ranges, ranges, n_ranges * sizeof(*sel->ranges));
	sel->n_ranges = merge_ranges(sel->ranges, n_ranges);
	return NULL;
}

/* Whether the analysis counts blocked time (DURATION over an OFF_CPU schedule). */
static bool selection_duration(const struct selection *sel, int aggregate)
{
	bool dur = false;
	for (size_t i = 0; i < sel->ns; i++)
		dur |= aggregate == SWP_AGG_DURATION && sel->durations[i];
	return dur;
}

/* Sums the selected schedules' samples into s->counts (the stacks' read lock held). */
static int scan_selection(swp_core *c, const struct selection *sel, int aggregate, struct scan_ctx *s)
{
	s->ranges = sel->ranges;
	s->n_ranges = sel->n_ranges;
	int r = 0;
	for (size_t i = 0; i < sel->ns && !r; i++) {
		s->duration = aggregate == SWP_AGG_DURATION && sel->durations[i];
		r = scan_schedule(c, sel->sids[i], s);
	}
	return r;
}

/* Said once the stacks' lock is released (the host's log callback runs outside the core's locks). */
static void warn_unknown(uint64_t unknown)
{
	if (unknown)
		swp_warn("analysis: %" PRIu64 " samples reference stacks missing from the store", unknown);
}

static void info_reset(struct swp_analysis_info *info)
{
	if (info && info->sz >= sizeof(*info)) {
		size_t sz = info->sz;
		memset(info, 0, sizeof(*info));
		info->sz = sz;
		info->canonical_json = 1;
	}
}

SWP_API int swp_analyze_ex(swp_core *c, const struct swp_analyze_req *q, struct swp_buf *out,
			   struct swp_analysis_info *info)
{
	swp__clear_error();
	info_reset(info);
	if (!c || !q || !out || q->sz < sizeof(*q))
		return swp__fail(EINVAL, "core, request and out are required");
	const char *tip = check_ranges(q->ranges, q->n_ranges);
	if (tip) {
		tip_only(out, tip);
		return 0;
	}
	if (q->aggregate != SWP_AGG_COUNT && q->aggregate != SWP_AGG_DURATION)
		return swp__fail(EINVAL, "unknown aggregate type %d", q->aggregate);
	struct selection sel;
	tip = select_schedules(c, q->task_id, q->schedule_ids, q->n_schedule_ids, q->ranges, q->n_ranges, &sel);
	if (tip) {
		tip_only(out, tip);
		return 0;
	}
	struct scan_ctx s = {.t = &c->stacks};
	swp__stacks_rdlock(&c->stacks);
	s.n = c->stacks.n;
	s.counts = swp__xcalloc(s.n + 1, sizeof(uint64_t));
	int r = scan_selection(c, &sel, q->aggregate, &s);
	swp__stacks_unlock(&c->stacks);
	warn_unknown(s.unknown);
	if (!r) {
		if (q->format && strcmp(q->format, "json") != 0)
			r = swp__export(&c->stacks, s.counts, s.n, q->format, selection_duration(&sel, q->aggregate),
					q->task_id ? q->task_id : "schedules", out);
		else
			swp__analyze_tree_ex(&c->stacks, s.counts, s.n, NULL, out, info);
		if (info && info->sz >= sizeof(*info))
			info->records = s.records;
	}
	free(s.counts);
	selection_free(&sel);
	return r;
}

/* ---- differential analysis ---- */

/* Adds the counted stacks of table `from` (its read locks taken here) to table `to`. */
static void copy_counted(struct swp_stacks *from, const uint64_t *counts, uint32_t n, struct swp_stacks *to,
			 struct swp_dense_counts *d)
{
	struct swp_buf scratch = {0};
	uint32_t *frames = swp__xmalloc((SWP_MAX_STACK_DEPTH + 1) * sizeof(uint32_t));
	swp__stacks_rdlock(from);
	swp__interner_rdlock(&from->in);
	for (uint32_t i = 0; i < n && i < from->n; i++) {
		if (!counts[i])
			continue;
		const uint32_t *f = from->frames + from->off[i];
		uint32_t depth = from->depth[i] < SWP_MAX_STACK_DEPTH ? from->depth[i] : SWP_MAX_STACK_DEPTH;
		for (uint32_t k = 0; k < depth; k++)
			frames[k] = swp__intern(&to->in, swp__interned_type(&from->in, f[k]),
						swp__interned_sym(&from->in, f[k]), swp__interned_len(&from->in, f[k]));
		uint64_t h = swp__stack_hash(&to->in, frames, depth, &scratch);
		swp__dense_add(d, swp__stacks_add(to, h, frames, depth, NULL), counts[i]);
	}
	swp__interner_unlock(&from->in);
	swp__stacks_unlock(from);
	free(frames);
	swp_buf_free(&scratch);
}

/* A diff answered by a tip: the JSON, or for the other formats a failure saying it. */
static int diff_tip(struct swp_buf *out, bool json, int err, const char *side, const char *tip)
{
	char text[160];
	if (side)
		snprintf(text, sizeof(text), "%s: %s", side, tip);
	else
		snprintf(text, sizeof(text), "%s", tip);
	if (!json)
		return swp__fail(err, "%s", text);
	tip_only(out, text);
	return 0;
}

SWP_API int swp_analyze_diff(swp_core *c, const struct swp_diff_req *q, struct swp_buf *out,
			     struct swp_analysis_info *info)
{
	static const char *const names[2] = {"before", "after"};
	swp__clear_error();
	info_reset(info);
	if (!q || !out || q->sz < sizeof(*q) || !q->before || !q->after || q->before->sz < sizeof(*q->before) ||
	    q->after->sz < sizeof(*q->after))
		return swp__fail(EINVAL, "request, both sides and out are required");
	if (q->aggregate != SWP_AGG_COUNT && q->aggregate != SWP_AGG_DURATION)
		return swp__fail(EINVAL, "unknown aggregate type %d", q->aggregate);
	bool json = !q->format || !strcmp(q->format, "json");
	if (!json && strcmp(q->format, "folded") && strcmp(q->format, "svg") && strcmp(q->format, "html"))
		return swp__fail(EINVAL, "unknown format \"%s\" for a diff (json, folded, svg or html)", q->format);
	const struct swp_diff_side *side[2] = {q->before, q->after};
	struct selection sel[2] = {{0}, {0}};
	bool stored = false, folded = false;
	for (int k = 0; k < 2; k++) {
		if (side[k]->folded) {
			folded = true;
			continue;
		}
		if (!c) {
			selection_free(&sel[0]);
			return swp__fail(EINVAL, "the %s side names schedules: it needs a data directory", names[k]);
		}
		stored = true;
		const char *tip = select_schedules(c, side[k]->task_id, side[k]->schedule_ids, side[k]->n_schedule_ids,
						   side[k]->ranges, side[k]->n_ranges, &sel[k]);
		if (tip) {
			selection_free(&sel[0]);
			return diff_tip(out, json, ENOENT, names[k], tip);
		}
	}

	uint64_t *counts[2] = {NULL, NULL};
	uint32_t n = 0;
	uint64_t records = 0, unknown = 0;
	int r = 0;
	struct swp_stacks *t = c ? &c->stacks : NULL;
	if (stored) {
		/* both sides over one table of one size: the stacks added meanwhile wait for the next one */
		swp__stacks_rdlock(&c->stacks);
		n = c->stacks.n;
		for (int k = 0; k < 2 && !r; k++) {
			if (side[k]->folded)
				continue;
			struct scan_ctx s = {.t = &c->stacks, .n = n, .counts = swp__xcalloc(n + 1, sizeof(uint64_t))};
			counts[k] = s.counts;
			r = scan_selection(c, &sel[k], q->aggregate, &s);
			records += s.records;
			unknown += s.unknown;
		}
		swp__stacks_unlock(&c->stacks);
		warn_unknown(unknown);
	}
	struct swp_stacks scratch;
	if (folded) {
		/* collapsed stacks stay out of the core's table (it is persisted): both sides go into a table
		 * of their own, the stored side's counted stacks copied */
		swp__stacks_init(&scratch);
		struct swp_dense_counts d[2] = {{0}, {0}};
		for (int k = 0; k < 2 && !r; k++) {
			if (side[k]->folded) {
				int64_t lines = swp__parse_folded(&scratch, side[k]->folded, side[k]->folded_len,
								  swp__dense_add, &d[k]);
				if (lines < 0) {
					char why[256];
					snprintf(why, sizeof(why), "%s", swp_last_error());
					r = swp__fail(EINVAL, "%s: %s", names[k], why);
				}
			} else {
				copy_counted(&c->stacks, counts[k], n, &scratch, &d[k]);
			}
		}
		for (int k = 0; k < 2; k++) {
			swp__dense_add(&d[k], scratch.n ? scratch.n - 1 : 0, 0); /* both as long as the table */
			free(counts[k]);
			counts[k] = d[k].counts;
		}
		n = scratch.n;
		t = &scratch;
	}
	if (!r) {
		bool any[2] = {false, false};
		for (int k = 0; k < 2; k++)
			for (uint32_t i = 0; i < n && !any[k]; i++)
				any[k] = counts[k][i] != 0;
		const char *tip = !any[0] && !any[1] ? "neither side has samples"
				  : !any[0]	     ? "the before side has no samples"
				  : !any[1]	     ? "the after side has no samples"
						     : NULL;
		bool dur = selection_duration(&sel[0], q->aggregate) || selection_duration(&sel[1], q->aggregate);
		if (tip && !json)
			r = diff_tip(out, false, ENODATA, NULL, tip);
		else if (json)
			swp__analyze_diff(t, counts[1], counts[0], n, tip, out, info);
		else
			r = swp__export_diff(t, counts[1], counts[0], n, q->format, dur,
					     q->title ? q->title : "before -> after", out, info);
		if (info && info->sz >= sizeof(*info))
			info->records = records;
	}
	if (folded)
		swp__stacks_free(&scratch);
	free(counts[0]);
	free(counts[1]);
	selection_free(&sel[0]);
	selection_free(&sel[1]);
	return r;
}

/* ---- collapsed stacks ---- */

SWP_API int swp_analyze_folded(const char *text, size_t len, struct swp_buf *out)
{
	swp__clear_error();
	if (!out || (!text && len))
		return swp__fail(EINVAL, "text and out are required");
	struct swp_stacks t;
	swp__stacks_init(&t);
	struct swp_dense_counts d = {0};
	int64_t n = swp__parse_folded(&t, text ? text : "", len, swp__dense_add, &d);
	if (n >= 0)
		swp__analyze_tree(&t, d.counts, d.cap, NULL, out);
	free(d.counts);
	swp__stacks_free(&t);
	return n < 0 ? (int)n : 0;
}

static void import_add(void *ctx, uint32_t idx, uint64_t count)
{
	struct swp_pending_block *blk = ctx;
	*swp__u64map_slot(&blk->counts, idx) += count;
	blk->samples += count;
}

SWP_API int swp_import_folded(swp_core *c, const struct swp_import_req *q, struct swp_buf *out)
{
	swp__clear_error();
	if (!c || !q || q->sz < sizeof(*q) || (!q->text && q->len))
		return swp__fail(EINVAL, "core and request are required");
	int64_t now = q->time_ms > 0 ? q->time_ms : swp__now_ms();
	/* one block, written at once (synced) by the function that writes every pending block */
	struct swp_pending_block blk = {.sec = (uint64_t)(now / 1000)};
	swp__u64map_init(&blk.counts, 1024);

	pthread_mutex_lock(&c->mu);
	struct swp_task *t = swp__task_find(c, q->task_id);
	if (!t) {
		pthread_mutex_unlock(&c->mu);
		swp__u64map_free(&blk.counts);
		return swp__fail(ENOENT, "could not found task %s", q->task_id ? q->task_id : "(null)");
	}
	const struct swp_process *p = swp__registry_find(c, q->process_id ? q->process_id : t->process_id);
	if (q->process_id && !p) {
		pthread_mutex_unlock(&c->mu);
		swp__u64map_free(&blk.counts);
		return swp__fail(ENOENT, "could not found process %s", q->process_id);
	}
	int64_t n = swp__parse_folded(&c->stacks, q->text ? q->text : "", q->len, import_add, &blk);
	if (n < 0) {
		pthread_mutex_unlock(&c->mu);
		swp__u64map_free(&blk.counts);
		return (int)n;
	}
	struct swp_batch *b = swp__batch_new();
	size_t n_scheds = c->scheds.n;
	uint64_t next = c->next_sched;
	uint32_t upto;
	swp__stacks_persist(c, b, &upto);
	struct swp_schedule *s = swp__schedule_for(c, t, p, p ? p->pid : 0, now, b);
	struct swp_schedule before = *s;
	blk.sched = s->id;
	/* the imported block stands for its whole second */
	if (now < s->start_ms)
		s->start_ms = now;
	if (now / 1000 * 1000 + 999 > s->end_ms)
		s->end_ms = now / 1000 * 1000 + 999;
	s->samples += blk.samples;
	struct swp_buf scratch = {0};
	if (blk.samples) {
		swp__stacks_rdlock(&c->stacks);
		swp__block_put(c, s, &blk, b, &scratch);
		swp__stacks_unlock(&c->stacks);
		swp__seq_put(b, "block", c->next_block);
	} else {
		swp__schedule_put(b, s);
	}
	int r = swp__batch_commit(c->store, b, true);
	if (r) {
		/* nothing was written: the schedule is as it was, or forgotten again when it is new */
		if (c->scheds.n > n_scheds) {
			swp__schedule_forget_last(c);
			c->next_sched = next;
		} else {
			*s = before;
		}
	} else {
		c->stacks_persisted = upto;
		char sid[SWP_EXT_ID_SIZE];
		if (out)
			swp__buf_printf(out, "{\"scheduleId\":\"%s\",\"samples\":%" PRIu64 ",\"stacks\":%u}",
					swp__ext_id(s->id, sid), blk.samples, blk.counts.n);
	}
	pthread_mutex_unlock(&c->mu);
	swp__batch_free(b);
	swp_buf_free(&scratch);
	swp__u64map_free(&blk.counts);
	return r;
}
