/*
 * The analysis fast paths keep the answers: swp_analyze_ex's figures and its canonical-JSON flag,
 * the merge order kept across analyses (stacks added between two analyses give the same JSON as a
 * store opened afresh), and the collector's cache of symbolized stacks (a repeated stack counts as
 * the first one did; a forgotten pid is symbolized again).
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/collector.h"
#include "swprof/swprof.h"

int main(void);

static char dir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static swp_core *open_core(void)
{
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = dir, .host_ip = "10.0.0.1", .host_name = "h",
				 .profiling = SWP_PROFILING_ELSEWHERE};
	swp_core *c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	return c;
}

/* A task on this process; its id in task (static). */
static const char *make_task(swp_core *c)
{
	static char task[32];
	struct swp_process_spec ps = {.sz = sizeof(ps), .pid = getpid(), .service = "fast"};
	struct swp_buf pj = {0};
	CHECK_EQ_INT(swp_process_register(c, &ps, &pj), 0);
	char pid[80] = {0};
	const char *p = strstr(pj.data, "\"id\":\"");
	if (p)
		memcpy(pid, p + 6, 64);
	swp_buf_free(&pj);
	struct swp_task_create q = {.sz = sizeof(q),
	                            .has_finder = 1,
	                            .finder_type = "PROCESS_ID",
	                            .process_id = pid,
	                            .start_time_ms = 1000000,
	                            .duration_s = 3600,
	                            .target_type = "ON_CPU",
	                            .now_ms = 1000000};
	struct swp_buf tj = {0};
	CHECK_EQ_INT(swp_task_create(c, &q, &tj), 0);
	p = strstr(tj.data, "\"id\":\"");
	snprintf(task, sizeof(task), "%s", p ? p + 6 : "");
	char *e = strchr(task, '"');
	if (e)
		*e = 0;
	swp_buf_free(&tj);
	return task;
}

static void import(swp_core *c, const char *task, int64_t ms, const char *text)
{
	struct swp_import_req im = {
	    .sz = sizeof(im), .task_id = task, .time_ms = ms, .text = text, .len = strlen(text)};
	struct swp_buf out = {0};
	CHECK_EQ_INT(swp_import_folded(c, &im, &out), 0);
	swp_buf_free(&out);
}

static char *analyze(swp_core *c, const char *task, int64_t from, int64_t to, struct swp_analysis_info *info)
{
	struct swp_time_range r = {from, to};
	struct swp_analyze_req q = {.sz = sizeof(q), .task_id = task, .ranges = &r, .n_ranges = 1};
	struct swp_buf out = {0};
	CHECK_EQ_INT(info ? swp_analyze_ex(c, &q, &out, info) : swp_analyze(c, &q, &out), 0);
	return out.data;
}

static void info_and_canonical(void)
{
	swp_core *c = open_core();
	const char *task = make_task(c);
	import(c, task, 1001000, "main;work;spin 7\nmain;work 3\nmain;io;read;do_syscall_64_[k] 2\n");
	import(c, task, 1002000, "main;work;spin 1\n");
	struct swp_analysis_info info = {.sz = sizeof(info)};
	char *a = analyze(c, task, 1000000, 1010000, &info);
	CHECK_EQ_INT(info.records, 4);
	CHECK_EQ_INT(info.samples, 13);
	CHECK_EQ_INT(info.stacks, 3);
	CHECK_EQ_INT(info.frames, 3 + 2 + 4);
	CHECK_EQ_INT(info.elements, 6);
	CHECK_EQ_INT(info.canonical_json, 1);
	char *b = analyze(c, task, 1000000, 1010000, NULL);
	CHECK_EQ_STR(a, b); /* the figures do not change the answer */
	free(a);
	free(b);

	/* a tip only */
	struct swp_analyze_req q = {.sz = sizeof(q), .task_id = task};
	struct swp_buf out = {0};
	info.elements = 99;
	CHECK_EQ_INT(swp_analyze_ex(c, &q, &out, &info), 0);
	CHECK_EQ_STR(out.data, "{\"tip\":\"please provide time ranges\",\"trees\":[]}");
	CHECK_EQ_INT(info.elements, 0);
	CHECK_EQ_INT(info.canonical_json, 1);
	swp_buf_free(&out);

	/* quotes, backslashes, tabs and well-formed UTF-8 up to U+FFFF are canonical; a control
	 * character (written as \u0001), a character above U+FFFF (Jackson escapes it) or malformed
	 * UTF-8 is not */
	import(c, task, 1003000, "q\"uo\\te;t\tab;caf\xc3\xa9;\xe4\xb8\xad;\xef\xbf\xbd 4\n");
	a = analyze(c, task, 1003000, 1003999, &info);
	CHECK_EQ_INT(info.canonical_json, 1);
	CHECK_CONTAINS(a, "\"symbol\":\"q\\\"uo\\\\te\"");
	free(a);
	import(c, task, 1004000, "ctl\x01;x 1\n");
	a = analyze(c, task, 1004000, 1004999, &info);
	CHECK_EQ_INT(info.canonical_json, 0);
	CHECK_CONTAINS(a, "ctl\\u0001");
	free(a);
	const char *bad[] = {
	    "\xc3;x 1\n", "\xc0\x80;x 1\n", "\xed\xa0\x80;x 1\n", "\xf4\x90\x80\x80;x 1\n", "\xf0\x9f\x98\x80;x 1\n",
	    "\xff;x 1\n", "\xe4\xb8;x 1\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t at = 1005000 + (int64_t)i * 1000;
		import(c, task, at, bad[i]);
		a = analyze(c, task, at, at + 999, &info);
		CHECK_EQ_INT(info.canonical_json, 0);
		free(a);
	}
	swp_core_close(c);
}

/* Stacks added after an analysis are merged into the kept order: the answers equal those of a
 * core that sorts everything at once. */
static void order_across_analyses(void)
{
	swp_core *c = open_core();
	const char *task = make_task(c);
	char text[1 << 16];
	unsigned seed = 7;
	char *answers[6];
	for (int round = 0; round < 6; round++) {
		size_t n = 0;
		for (int line = 0; line < 60; line++) {
			int depth = 1 + (int)(rand_r(&seed) % 8);
			for (int d = 0; d < depth; d++)
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%sf%u%s", d ? ";" : "",
				                      rand_r(&seed) % 5, rand_r(&seed) % 7 ? "" : "_[k]");
			n += (size_t)snprintf(text + n, sizeof(text) - n, " %u\n", 1 + rand_r(&seed) % 9);
		}
		import(c, task, 1100000 + round * 1000, text);
		answers[round] = analyze(c, task, 1000000, 1100000 + round * 1000 + 999, NULL);
	}
	swp_core_close(c);
	c = open_core();
	for (int round = 0; round < 6; round++) {
		/* reopened: the first analysis sorts every stack; the others find them sorted */
		char *fresh = analyze(c, task, 1000000, 1100000 + round * 1000 + 999, NULL);
		CHECK_EQ_STR(fresh, answers[round]);
		free(fresh);
		free(answers[round]);
	}
	swp_core_close(c);
}

__attribute__((noinline)) static int leaf_fn(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) static int mid_fn(int x)
{
	return leaf_fn(x) + 2;
}

static void collector_cache(void)
{
	struct swp_stacks t;
	swp__stacks_init(&t);
	struct swp_collector co;
	swp__collector_init(&co, &t);
	int pid = getpid();
	/* innermost first; the outer frames are return addresses (looked up at ip - 1) */
	uint64_t uips[] = {(uint64_t)(uintptr_t)leaf_fn, (uint64_t)(uintptr_t)mid_fn + 1,
	                   (uint64_t)(uintptr_t)main + 1};
	uint64_t other[] = {(uint64_t)(uintptr_t)mid_fn, (uint64_t)(uintptr_t)main + 1};
	swp__collector_add(&co, pid, NULL, 0, uips, 3, 5);
	CHECK_EQ_INT(co.seen_misses, 1);
	CHECK_EQ_INT(t.n, 1);
	swp__collector_add(&co, pid, NULL, 0, uips, 3, 2);
	swp__collector_add(&co, pid, NULL, 0, other, 2, 1);
	CHECK_EQ_INT(co.seen_hits, 1);
	CHECK_EQ_INT(co.seen_misses, 2);
	CHECK_EQ_INT(t.n, 2);
	CHECK_EQ_INT(co.samples, 8);
	uint64_t *n0 = swp__u64map_get(&co.counts, swp__pid_stack_key(pid, 0));
	uint64_t *n1 = swp__u64map_get(&co.counts, swp__pid_stack_key(pid, 1));
	CHECK(n0 && *n0 == 7);
	CHECK(n1 && *n1 == 1);
	/* the same addresses in another process are another stack identity */
	swp__collector_add(&co, pid + 1000000, NULL, 0, uips, 3, 1);
	CHECK_EQ_INT(co.seen_misses, 3);
	/* a forgotten pid is symbolized again, into the same stack */
	swp__collector_forget_pid(&co, pid);
	swp__collector_add(&co, pid, NULL, 0, uips, 3, 1);
	CHECK_EQ_INT(co.seen_misses, 4);
	CHECK_EQ_INT(t.n, 3); /* pid + 1000000 does not exist: its frames are [unknown] */
	n0 = swp__u64map_get(&co.counts, swp__pid_stack_key(pid, 0));
	CHECK(n0 && *n0 == 8);
	/* a stack with an [unknown] user frame is not kept (it may resolve later) */
	uint64_t misses = co.seen_misses;
	swp__collector_add(&co, pid + 1000000, NULL, 0, uips, 3, 1);
	CHECK_EQ_INT(co.seen_misses, misses + 1);
	swp__collector_free(&co);
	swp__stacks_free(&t);
}

/* The name of the innermost frame of stack idx of t. */
static const char *frame_name(struct swp_stacks *t, uint32_t idx)
{
	return swp__interned_sym(&t->in, t->frames[t->off[idx] + t->depth[idx] - 1]);
}

/* JIT code (anonymous executable memory named by /tmp/perf-<pid>.map): when the runtime rewrites
 * its map, an address may hold another method now; the cached stack of that address is not
 * reused, and the new name is read within a second. */
static void collector_jit(void)
{
	void *code = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED);
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "%lx 100 Old::method\n", (unsigned long)(uintptr_t)code);
	fclose(f);
	struct swp_stacks t;
	swp__stacks_init(&t);
	struct swp_collector co;
	swp__collector_init(&co, &t);
	uint64_t uips[] = {(uint64_t)(uintptr_t)code + 16};
	swp__collector_add(&co, getpid(), NULL, 0, uips, 1, 1);
	swp__collector_add(&co, getpid(), NULL, 0, uips, 1, 1);
	CHECK_EQ_INT(t.n, 1);
	CHECK_EQ_INT(co.seen_hits, 1);
	CHECK_CONTAINS(frame_name(&t, 0), "Old::method");
	f = fopen(path, "w"); /* recompiled: the same address, another method, a map of another size */
	CHECK(f != NULL);
	fprintf(f, "%lx 80 New::otherMethod\n", (unsigned long)(uintptr_t)code);
	fclose(f);
	struct timespec ts = {1, 100 * 1000000L};
	nanosleep(&ts, NULL);
	swp__collector_add(&co, getpid(), NULL, 0, uips, 1, 1);
	CHECK_EQ_INT(t.n, 2);
	CHECK_CONTAINS(frame_name(&t, 1), "New::otherMethod");
	swp__collector_free(&co);
	swp__stacks_free(&t);
	unlink(path);
	munmap(code, 4096);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/swprof-fast-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	info_and_canonical();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	order_across_analyses();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	collector_cache();
	collector_jit();
	rmdir(dir);
	CHECK_DONE();
}
