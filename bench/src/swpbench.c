/*
 * swpbench — the native half of bench/run.sh. Each subcommand prints JSON lines on stdout; the
 * long-running ones (analyze, profile) read commands from stdin so the driver can interleave
 * them with other measurements round by round.
 *
 *   gen       synthetic profile -> a real store, through the scheduler's flush path
 *             (collector counts -> one block per second per schedule -> one batch commit)
 *   analyze   one analysis of the whole window per "run" line (swp_analyze, the public API)
 *   ingest    sample records through the whole flush path: collector (symbolization of real
 *             addresses, stack table) -> blocks -> RocksDB
 *   profile   the core with the eBPF profiler on one pid, until "stop"; its own CPU and memory
 *   symbolize cold start and cached lookups against a process with many shared libraries
 *   unwind    DWARF/AUTO samples of a pid captured for --seconds, then unwound again and again: a
 *             new symbolizer each round (cold: unwind tables read, libunwind's cache empty), then the
 *             same samples once more (cached)
 *   probe     exits 0 when the eBPF profiler can run here, 77 (and why) when not
 *
 * Internal headers are used on purpose: the bench drives the same functions the scheduler does.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyze/stacks.h"
#include "core/collector.h"
#include "core/core.h"
#include "ids/ids.h"
#include "store/layout.h"
#include "store/store.h"
#include "common/u64map.h"
#include "profiler/profiler.h"
#include "swprof/swprof.h"
#include "symbols/symbols.h"
#include "symbols/unwind.h"

#include "synth.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* VmRSS / VmHWM of this process in kB */
static long proc_status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "swpbench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void log_stderr(int level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level >= SWP_LOG_WARN)
		fprintf(stderr, "swprof: %s\n", msg);
}

/* ---- options ---- */

struct opts {
	const char *dir, *data, *export_path, *out, *libs;
	uint64_t records, seed;
	uint32_t seconds, stacks, funcs, rounds, freq, per_sec, lookups;
	int pid;
	int64_t from, to;
	const char *schedule;
	const char *mode;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"dir", 1, 0, 'd'},     {"records", 1, 0, 'r'}, {"seconds", 1, 0, 's'}, {"stacks", 1, 0, 'k'},
	    {"seed", 1, 0, 'S'},    {"export", 1, 0, 'e'},  {"out", 1, 0, 'o'},     {"schedule", 1, 0, 'c'},
	    {"from", 1, 0, 'f'},    {"to", 1, 0, 't'},      {"rounds", 1, 0, 'R'},  {"pid", 1, 0, 'p'},
	    {"freq", 1, 0, 'F'},    {"data", 1, 0, 'D'},    {"per-sec", 1, 0, 'P'}, {"libs", 1, 0, 'L'},
	    {"lookups", 1, 0, 'l'}, {"funcs", 1, 0, 'u'},   {"mode", 1, 0, 'm'},    {0, 0, 0, 0},
	};
	memset(o, 0, sizeof(*o));
	o->records = 1000000;
	o->seconds = 600;
	o->stacks = 20000;
	o->funcs = 6000;
	o->seed = 42;
	o->rounds = 5;
	o->freq = 99;
	o->per_sec = 1500;
	o->lookups = 1000000;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->mode = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'r':
			o->records = strtoull(optarg, NULL, 10);
			break;
		case 's':
			o->seconds = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			o->stacks = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 10);
			break;
		case 'e':
			o->export_path = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'c':
			o->schedule = optarg;
			break;
		case 'f':
			o->from = strtoll(optarg, NULL, 10);
			break;
		case 't':
			o->to = strtoll(optarg, NULL, 10);
			break;
		case 'R':
			o->rounds = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			o->pid = atoi(optarg);
			break;
		case 'F':
			o->freq = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'D':
			o->data = optarg;
			break;
		case 'P':
			o->per_sec = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'L':
			o->libs = optarg;
			break;
		case 'l':
			o->lookups = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'u':
			o->funcs = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			die("bad option");
		}
	}
}

static swp_core *open_core(const char *dir, bool profiling, int freq)
{
	struct swp_config cfg = {.sz = sizeof(cfg),
	                         .data_dir = dir,
	                         .profiling = profiling ? SWP_PROFILING_ON : SWP_PROFILING_ELSEWHERE,
	                         .frequency = freq,
	                         .scan_interval_ms = -1,
	                         .host_ip = "127.0.0.1",
	                         .host_name = "bench-host"};
	swp_core *c;
	int r = swp_core_open(&cfg, &c);
	if (r)
		die("open %s: %s", dir, swp_last_error());
	return c;
}

/* Registers pid and creates a seed task on it covering [start_ms, start_ms + duration_s). Returns
 * the task id (static storage). */
static const char *task_on(swp_core *c, int pid, const char *service, int64_t start_ms, int64_t duration_s,
                           int64_t now_ms)
{
	struct swp_process_spec ps = {.sz = sizeof(ps), .pid = pid, .service = service};
	struct swp_buf pj = {0};
	if (swp_process_register(c, &ps, &pj))
		die("register pid %d: %s", pid, swp_last_error());
	char *idp = strstr(pj.data, "\"id\":\"");
	if (!idp)
		die("no process id in %s", pj.data);
	static char pid_str[128], task[32];
	idp += 6;
	size_t n = (size_t)(strchr(idp, '"') - idp);
	memcpy(pid_str, idp, n);
	pid_str[n] = 0;
	swp_buf_free(&pj);
	struct swp_task_create q = {.sz = sizeof(q),
	                            .has_finder = 1,
	                            .finder_type = "PROCESS_ID",
	                            .process_id = pid_str,
	                            .start_time_ms = start_ms,
	                            .duration_s = duration_s,
	                            .target_type = "ON_CPU",
	                            .now_ms = now_ms};
	struct swp_buf tj = {0};
	if (swp_task_create(c, &q, &tj) || !strstr(tj.data, "\"status\":true"))
		die("create task: %s %s", swp_last_error(), tj.data ? tj.data : "");
	char *ti = strstr(tj.data, "\"id\":\"");
	ti += 6;
	n = (size_t)(strchr(ti, '"') - ti);
	memcpy(task, ti, n);
	task[n] = 0;
	swp_buf_free(&tj);
	return task;
}

/* Starts a run (schedule) of the core's only task on pid, as start_runs does; its schedule is
 * put into b, which the first flush commits. */
static struct swp_run *start_run(swp_core *c, int pid, int64_t now_ms, struct swp_batch *b)
{
	pthread_mutex_lock(&c->mu);
	struct swp_task *t = c->tasks.v[c->tasks.n - 1];
	struct swp_process *p = swp__registry_find(c, t->process_id);
	struct swp_run run = {.task = t, .proc = p, .pid = pid, .start_ticks = p->start_ticks};
	run.sched = swp__schedule_for(c, t, p, pid, now_ms, b);
	SWP_VEC_PUSH(c->runs, run);
	struct swp_run *r = &c->runs.v[c->runs.n - 1];
	pthread_mutex_unlock(&c->mu);
	return r;
}

static int64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int64_t total = 0;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d))) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (strstr(e->d_name, ".sst") || strstr(e->d_name, ".log")) && !strstr(e->d_name, "LOG"))
			total += st.st_size;
	}
	closedir(d);
	return total;
}

/* ---- gen ---------------------------------------------------------------------------------- */

struct export_ctx {
	FILE *f;
	uint32_t n;
};

static int export_entry(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct export_ctx *x = ctx;
	if (k[0] == SWP_TAG_STACK && kl == 9) {
		uint64_t h = swp__get_be64(k + 1);
		fwrite(&h, 8, 1, x->f);
	} else if (k[0] == SWP_TAG_RECORD && kl == SWP_RECORD_KEY_LEN) {
		uint64_t sec = swp__get_be64(k + 9);
		fwrite(&sec, 8, 1, x->f);
	} else {
		return 0;
	}
	uint32_t l = (uint32_t)vl;
	fwrite(&l, 4, 1, x->f);
	fwrite(v, 1, vl, x->f);
	x->n++;
	return 0;
}

/* The stored stacks and blocks, as the store holds them, for the JVM baseline:
 *   "SWPBENCH1\n" u32 n { u64 hash, u32 len, encoded stack } u32 n { u64 sec, u32 len, block }
 * (little endian; the counts are written after their sections, at the offsets reserved). */
static void export_store(swp_core *c, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	fwrite("SWPBENCH1\n", 1, 10, f);
	for (int tag = 0; tag < 2; tag++) {
		long at = ftell(f);
		uint32_t zero = 0;
		fwrite(&zero, 4, 1, f);
		struct export_ctx x = {f, 0};
		uint8_t from = tag ? SWP_TAG_RECORD : SWP_TAG_STACK, to = (uint8_t)(from + 1);
		if (swp__store_scan(c->store, &from, 1, &to, 1, export_entry, &x))
			die("export scan: %s", swp_last_error());
		long end = ftell(f);
		fseek(f, at, SEEK_SET);
		fwrite(&x.n, 4, 1, f);
		fseek(f, end, SEEK_SET);
	}
	fclose(f);
}

static int cmd_gen(struct opts *o)
{
	if (!o->dir)
		die("gen needs --dir");
	double t0 = now_s();
	struct synth s;
	synth_build(&s, o->stacks, o->funcs, o->seed);
	double t_synth = now_s() - t0;

	swp_core *c = open_core(o->dir, false, 99);
	int64_t base = ((int64_t)time(NULL) - o->seconds - 120) * 1000;
	const char *task = task_on(c, getpid(), "bench-gen", base, o->seconds + 60, base);
	/* the stack table holds interned frames; intern the vocabulary once */
	uint32_t *fid = malloc(s.n_sym * sizeof(uint32_t));
	for (uint32_t i = 0; i < s.n_sym; i++)
		fid[i] = swp__intern(&c->stacks.in, s.kernel[i] ? SWP_FRAME_KERNEL : SWP_FRAME_USER, s.sym[i],
		                     strlen(s.sym[i]));
	uint32_t *idx_of = malloc(s.n_stacks * sizeof(uint32_t));
	memset(idx_of, 0xff, s.n_stacks * sizeof(uint32_t));
	uint32_t *mark = calloc(s.n_stacks, sizeof(uint32_t)), *slot = calloc(s.n_stacks, sizeof(uint32_t));
	uint32_t *sel = malloc(s.n_stacks * sizeof(uint32_t));
	uint64_t *cnt = malloc(s.n_stacks * sizeof(uint64_t));
	uint32_t frames[128];
	struct swp_buf scratch = {0};
	struct rng r = {o->seed * 7919 + 1};
	swp__collector_init(&c->coll, &c->stacks);
	int pid = getpid();
	struct swp_batch *b = swp__batch_new();
	struct swp_run *run = start_run(c, pid, base, b);
	uint64_t sched_id = run->sched->id;
	uint64_t records = 0, samples = 0, record_frames = 0;
	double t_flush = 0;
	double t1 = now_s();
	for (uint32_t sec = 0; sec < o->seconds; sec++) {
		uint64_t want = (o->records * (sec + 1)) / o->seconds - (o->records * sec) / o->seconds;
		uint32_t n = synth_second(&s, &r, (uint32_t)want, mark, sec + 1, slot, sel, cnt);
		if (!b)
			b = swp__batch_new();
		for (uint32_t i = 0; i < n; i++) {
			uint32_t k = sel[i];
			if (idx_of[k] == UINT32_MAX) {
				uint32_t d = s.depth[k];
				for (uint32_t j = 0; j < d; j++)
					frames[j] = fid[s.frames[s.off[k] + j]];
				uint64_t h = swp__stack_hash(&c->stacks.in, frames, d, &scratch);
				idx_of[k] = swp__stacks_add(&c->stacks, h, frames, d, NULL);
			}
			*swp__u64map_slot(&c->coll.counts, swp__pid_stack_key(pid, idx_of[k])) += cnt[i];
			c->coll.samples += cnt[i];
			samples += cnt[i];
			record_frames += s.depth[k];
		}
		records += n;
		double tf = now_s();
		pthread_mutex_lock(&c->mu);
		swp__scheduler_take_samples(c, base + (int64_t)sec * 1000);
		int rc = swp__scheduler_flush(c, b, false);
		pthread_mutex_unlock(&c->mu);
		t_flush += now_s() - tf;
		if (rc)
			die("flush: %s", swp_last_error());
		swp__batch_free(b);
		b = NULL;
	}
	double t_write = now_s() - t1;
	uint64_t distinct_frames = 0, used = 0;
	for (uint32_t k = 0; k < s.n_stacks; k++)
		if (idx_of[k] != UINT32_MAX) {
			used++;
			distinct_frames += s.depth[k];
		}
	if (o->export_path)
		export_store(c, o->export_path);
	pthread_mutex_lock(&c->mu);
	c->runs.n = 0;
	pthread_mutex_unlock(&c->mu);
	swp__collector_free(&c->coll);
	swp_core_close(c);
	char sched_ext[SWP_EXT_ID_SIZE];
	printf("{\"task\":\"%s\",\"schedule\":\"%s\",\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64
	       ",\"records\":%" PRIu64 ",\"samples\":%" PRIu64 ",\"stacks\":%" PRIu64 ",\"stack_frames\":%" PRIu64
	       ",\"record_frames\":%" PRIu64 ",\"symbols\":%u,\"seconds\":%u,\"blocks\":%u,\"synth_s\":%.3f"
	       ",\"write_s\":%.3f,\"flush_s\":%.3f,\"store_bytes\":%" PRId64 "}\n",
	       task, swp__ext_id(sched_id, sched_ext), base, base + (int64_t)o->seconds * 1000 - 1, records, samples, used, distinct_frames,
	       record_frames, s.n_sym, o->seconds, o->seconds, t_synth, t_write, t_flush, dir_bytes(o->dir));
	swp_buf_free(&scratch);
	free(fid);
	free(idx_of);
	free(mark);
	free(slot);
	free(sel);
	free(cnt);
	synth_free(&s);
	return 0;
}

/* ---- analyze ------------------------------------------------------------------------------ */

static int cmd_analyze(struct opts *o)
{
	if (!o->dir || !o->schedule)
		die("analyze needs --dir, --schedule, --from, --to");
	long rss0 = proc_status_kb("VmRSS");
	swp_core *c = open_core(o->dir, false, 99);
	long rss_open = proc_status_kb("VmRSS");
	const char *ids[] = {o->schedule};
	struct swp_time_range range = {o->from, o->to};
	struct swp_analyze_req q = {.sz = sizeof(q),
	                            .schedule_ids = ids,
	                            .n_schedule_ids = 1,
	                            .ranges = &range,
	                            .n_ranges = 1,
	                            .aggregate = SWP_AGG_COUNT};
	printf("{\"ready\":true,\"rss_before_open_kb\":%ld,\"rss_open_kb\":%ld}\n", rss0, rss_open);
	fflush(stdout);
	char line[64];
	bool first = true;
	struct swp_buf keep = {0};
	bool reuse = getenv("SWPBENCH_REUSE") != NULL;
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "run", 3) != 0)
			break;
		struct swp_buf out = {0};
		if (reuse) {
			out = keep;
			out.len = 0;
		}
		long hwm0 = proc_status_kb("VmHWM"), rss_b = proc_status_kb("VmRSS");
		double c0 = cpu_s(), t0 = now_s();
		int r = swp_analyze(c, &q, &out);
		double t = now_s() - t0, cpu = cpu_s() - c0;
		long hwm1 = proc_status_kb("VmHWM");
		if (r)
			die("analyze: %s", swp_last_error());
		if (first && o->out) {
			FILE *f = fopen(o->out, "wb");
			fwrite(out.data, 1, out.len, f);
			fclose(f);
		}
		uint64_t elements = 0;
		for (const char *p = out.data; (p = strstr(p, "{\"id\":\"")); p += 7)
			elements++;
		printf("{\"s\":%.6f,\"cpu_s\":%.6f,\"bytes\":%zu,\"elements\":%" PRIu64
		       ",\"rss_before_kb\":%ld,\"hwm_before_kb\":%ld,\"hwm_after_kb\":%ld,\"maxrss_kb\":%ld}\n",
		       t, cpu, out.len, elements, rss_b, hwm0, hwm1, maxrss_kb());
		fflush(stdout);
		if (reuse)
			keep = out;
		else
			swp_buf_free(&out);
		first = false;
	}
	swp_core_close(c);
	return 0;
}

/* ---- ingest ------------------------------------------------------------------------------- */

struct range {
	uint64_t start, end;
};

/* Executable mappings of this process that are files (the bench binary, librocksdb, libc, ...):
 * addresses in them resolve through the real symbolizer. */
static size_t self_text(struct range *out, size_t max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	size_t n = 0;
	char line[4096];
	while (f && n < max && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char perm[8];
		int off = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &a, &b, perm, &off) < 3 || perm[2] != 'x' || !off)
			continue;
		if (line[off] != '/')
			continue;
		out[n].start = a;
		out[n].end = b;
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* Text addresses of kernel functions (0 when kallsyms hides them). */
static size_t kernel_text(uint64_t *out, size_t max)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	size_t n = 0;
	char line[512];
	while (f && n < max && fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type;
		if (sscanf(line, "%llx %c", &a, &type) == 2 && (type == 't' || type == 'T') && a && !strchr(line, '['))
			out[n++] = a;
	}
	if (f)
		fclose(f);
	return n;
}

struct kv_sizes {
	uint64_t bytes, n;
};

static int add_size(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct kv_sizes *z = ctx;
	z->bytes += kl + vl;
	z->n++;
	return 0;
}

int cmd_ingest(struct opts *o)
{
	if (!o->dir)
		die("ingest needs --dir");
	struct synth s;
	synth_build(&s, o->stacks, o->funcs, o->seed);
	struct rng r = {o->seed * 31 + 7};
	/* every synthetic function gets a real address: user ones in our own mappings, kernel ones
	 * at kernel functions */
	struct range text[64];
	size_t nt = self_text(text, 64);
	uint64_t text_total = 0;
	for (size_t i = 0; i < nt; i++)
		text_total += text[i].end - text[i].start;
	static uint64_t kaddr[200000];
	size_t nka = kernel_text(kaddr, 200000);
	uint64_t *ip = malloc(s.n_sym * sizeof(uint64_t));
	for (uint32_t i = 0; i < s.n_sym; i++) {
		if (s.kernel[i]) {
			ip[i] = nka ? kaddr[rng_below(&r, (uint32_t)nka)] + 1 : 0xffffffff81000000ULL + i * 64;
			continue;
		}
		uint64_t at = rng_next(&r) % text_total;
		size_t k = 0;
		while (at >= text[k].end - text[k].start) {
			at -= text[k].end - text[k].start;
			k++;
		}
		ip[i] = text[k].start + at;
	}
	/* per stack: user ips and kernel ips, innermost first, as the profiler hands them over */
	uint64_t *uips = malloc(s.n_frames * sizeof(uint64_t)), *kips = malloc(s.n_frames * sizeof(uint64_t));
	uint32_t *nu = calloc(s.n_stacks, sizeof(uint32_t)), *nk = calloc(s.n_stacks, sizeof(uint32_t));
	for (uint32_t k = 0; k < s.n_stacks; k++) {
		const uint32_t *f = s.frames + s.off[k];
		uint32_t d = s.depth[k];
		for (uint32_t j = d; j-- > 0;) {
			if (s.kernel[f[j]])
				kips[s.off[k] + nk[k]++] = ip[f[j]];
			else
				uips[s.off[k] + nu[k]++] = ip[f[j]];
		}
	}

	swp_core *c = open_core(o->dir, false, 99);
	int64_t base = ((int64_t)time(NULL) - (int64_t)o->seconds * (o->rounds + 1) - 120) * 1000;
	task_on(c, getpid(), "bench-ingest", base, (int64_t)o->seconds * (o->rounds + 1) + 60, base);
	swp__collector_init(&c->coll, &c->stacks);
	int pid = getpid();
	struct swp_batch *b = swp__batch_new();
	start_run(c, pid, base, b);
	uint32_t *mark = calloc(s.n_stacks, sizeof(uint32_t)), *slot = calloc(s.n_stacks, sizeof(uint32_t));
	uint32_t *sel = malloc(s.n_stacks * sizeof(uint32_t));
	uint64_t *cnt = malloc(s.n_stacks * sizeof(uint64_t));
	uint64_t total_records = 0, total_samples = 0;
	uint32_t sec = 0;
	for (uint32_t round = 0; round <= o->rounds; round++) {
		uint64_t records = 0, samples = 0, stacks0 = c->stacks.n;
		double t_coll = 0, t_flush = 0, c0 = cpu_s();
		for (uint32_t i = 0; i < o->seconds; i++, sec++) {
			uint32_t n = synth_second(&s, &r, o->per_sec, mark, sec + 1, slot, sel, cnt);
			double t0 = now_s();
			pthread_mutex_lock(&c->mu); /* the scheduler holds mu for its whole tick */
			for (uint32_t j = 0; j < n; j++) {
				uint32_t k = sel[j];
				swp__collector_add(&c->coll, pid, kips + s.off[k], nk[k], uips + s.off[k], nu[k],
				                   cnt[j]);
				samples += cnt[j];
			}
			double t1 = now_s();
			if (!b)
				b = swp__batch_new();
			swp__scheduler_take_samples(c, base + (int64_t)sec * 1000);
			int rc = swp__scheduler_flush(c, b, false);
			pthread_mutex_unlock(&c->mu);
			double t2 = now_s();
			if (rc)
				die("flush: %s", swp_last_error());
			swp__batch_free(b);
			b = NULL;
			t_coll += t1 - t0;
			t_flush += t2 - t1;
			records += n;
		}
		double cpu = cpu_s() - c0;
		total_records += records;
		total_samples += samples;
		printf("{\"round\":%u,\"cold\":%s,\"records\":%" PRIu64 ",\"samples\":%" PRIu64
		       ",\"new_stacks\":%" PRIu64
		       ",\"collector_s\":%.6f,\"flush_s\":%.6f,\"cpu_s\":%.6f,\"records_per_s\":%.0f}\n",
		       round, round ? "false" : "true", records, samples, (uint64_t)c->stacks.n - stacks0, t_coll,
		       t_flush, cpu, (double)records / (t_coll + t_flush));
		fflush(stdout);
	}
	struct swp_sym_stats st;
	swp__sym_stats(c->coll.sym, &st);
	long rss = proc_status_kb("VmRSS");
	pthread_mutex_lock(&c->mu);
	c->runs.n = 0;
	pthread_mutex_unlock(&c->mu);
	swp__collector_free(&c->coll);
	uint32_t nstacks = c->stacks.n;
	swp_core_close(c);
	int64_t wal_bytes = dir_bytes(o->dir);
	/* reopened, RocksDB flushes its log into (LZ4) tables: the footprint at rest */
	c = open_core(o->dir, false, 99);
	struct kv_sizes blocks = {0}, stacks = {0};
	uint8_t from = SWP_TAG_RECORD, to = SWP_TAG_RECORD + 1;
	swp__store_scan(c->store, &from, 1, &to, 1, add_size, &blocks);
	from = SWP_TAG_STACK, to = SWP_TAG_STACK + 1;
	swp__store_scan(c->store, &from, 1, &to, 1, add_size, &stacks);
	swp_core_close(c);
	int64_t sst_bytes = dir_bytes(o->dir);
	printf("{\"summary\":true,\"records\":%" PRIu64 ",\"samples\":%" PRIu64
	       ",\"stacks\":%u,\"symbol_lookups\":%" PRIu64 ",\"elf_parses\":%" PRIu64
	       ",\"store_bytes_closed\":%" PRId64 ",\"store_bytes_reopened\":%" PRId64 ",\"block_bytes\":%" PRIu64
	       ",\"stack_bytes\":%" PRIu64 ",\"rss_kb\":%ld,\"text_mappings\":%zu"
	       ",\"kernel_symbols\":%zu}\n",
	       total_records, total_samples, nstacks, st.lookups, st.elf_parses, wal_bytes, sst_bytes, blocks.bytes,
	       stacks.bytes, rss, nt, nka);
	free(ip);
	free(uips);
	free(kips);
	free(nu);
	free(nk);
	free(mark);
	free(slot);
	free(sel);
	free(cnt);
	synth_free(&s);
	return 0;
}

/* ---- profile ------------------------------------------------------------------------------ */

/* Memory the kernel holds for this process's BPF maps (memlock of every map fd). */
static long bpf_map_bytes(void)
{
	DIR *d = opendir("/proc/self/fdinfo");
	long total = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], line[256];
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		bool map = false;
		long memlock = 0;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "map_type:", 9))
				map = true;
			else if (!strncmp(line, "memlock:", 8))
				memlock = strtol(line + 8, NULL, 10);
		}
		fclose(f);
		if (map)
			total += memlock;
	}
	if (d)
		closedir(d);
	return total;
}

static long stat_field(const char *json, const char *key)
{
	const char *p = strstr(json, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

int cmd_profile(struct opts *o)
{
	if (!o->pid || !o->data)
		die("profile needs --pid and --data");
	struct swp_config cfg = {.sz = sizeof(cfg),
	                         .data_dir = o->data,
	                         .profiling = 1,
	                         .frequency = (int)o->freq,
	                         .scan_interval_ms = -1,
	                         .host_ip = "127.0.0.1",
	                         .host_name = "bench-host"};
	long rss0 = proc_status_kb("VmRSS");
	swp_core *c;
	if (swp_core_open(&cfg, &c))
		die("open %s: %s", o->data, swp_last_error());
	task_on(c, o->pid, "bench-spin", 0, 3600, 0);
	/* ready once the scheduler started the run (the profiler is attached to the pid) */
	double t0 = now_s();
	for (;;) {
		struct swp_buf st = {0};
		swp_core_stats_json(c, &st);
		long running = stat_field(st.data, "\"runningSchedules\":");
		bool failed = strstr(st.data, "\"profilerError\":null") == NULL;
		if (failed)
			die("profiler: %s", st.data);
		swp_buf_free(&st);
		if (running > 0)
			break;
		if (now_s() - t0 > 20)
			die("no schedule started on pid %d", o->pid);
		usleep(5000);
	}
	/* The first kernel frame reads /proc/kallsyms (tens of ms, some MiB), once per process: done
	 * here, so that the CPU figures are the steady state and the memory ones the worst case. */
	double attach = now_s() - t0, k0 = cpu_s();
	static uint64_t kaddr[4];
	struct swp_buf kname = {0};
	pthread_mutex_lock(&c->mu);
	swp__sym_kernel(c->coll.sym, kernel_text(kaddr, 4) ? kaddr[0] : 0, &kname);
	pthread_mutex_unlock(&c->mu);
	swp_buf_free(&kname);
	double kallsyms = cpu_s() - k0;
	double cpu0 = cpu_s();
	printf("{\"ready\":true,\"attach_s\":%.3f,\"kallsyms_cpu_s\":%.4f}\n", attach, kallsyms);
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	/* the workload has exited: closing drains what the kernel still holds, writes it and ends the run */
	struct swp_buf st = {0};
	swp_core_stats_json(c, &st);
	long rss = proc_status_kb("VmRSS"), hwm = proc_status_kb("VmHWM"), maps = bpf_map_bytes();
	long flushes = stat_field(st.data, "\"flushes\":");
	swp_core_close(c);
	double cpu = cpu_s() - cpu0;
	swp_buf_free(&st);
	/* what the store holds for the run */
	c = open_core(o->data, false, (int)o->freq);
	uint64_t samples = 0, lost = 0, scheds = 0;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->scheds.n; i++)
		if (c->scheds.v[i]->pid == o->pid) {
			samples += c->scheds.v[i]->samples;
			lost += c->scheds.v[i]->lost;
			scheds++;
		}
	pthread_mutex_unlock(&c->mu);
	swp_core_close(c);
	printf("{\"samples\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"schedules\":%" PRIu64 ",\"flushes\":%ld,\"cpu_s\":%.6f"
	       ",\"rss_kb\":%ld,\"hwm_kb\":%ld,\"rss_before_open_kb\":%ld,\"bpf_map_bytes\":%ld}\n",
	       samples, lost, scheds, flushes, cpu, rss, hwm, rss0, maps);
	return 0;
}

/* ---- symbolize ---------------------------------------------------------------------------- */

int cmd_symbolize(struct opts *o)
{
	if (!o->libs)
		die("symbolize needs --libs DIR");
	int pfd[2];
	if (pipe(pfd))
		die("pipe");
	pid_t child = fork();
	if (child == 0) {
		/* the target: a process with many shared libraries */
		close(pfd[0]);
		DIR *d = opendir(o->libs);
		struct dirent *e;
		int n = 0;
		while (d && (e = readdir(d))) {
			if (!strstr(e->d_name, ".so"))
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", o->libs, e->d_name);
			if (dlopen(path, RTLD_NOW | RTLD_LOCAL))
				n++;
		}
		if (write(pfd[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	int nlibs = 0;
	if (read(pfd[0], &nlibs, sizeof(nlibs)) != sizeof(nlibs))
		die("the target did not start");
	close(pfd[0]);
	/* its executable file mappings, and addresses in each */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", child);
	FILE *f = fopen(path, "r");
	struct range *maps = malloc(4096 * sizeof(*maps));
	size_t nm = 0;
	char line[4096];
	while (f && nm < 4096 && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char perm[8];
		int off = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &a, &b, perm, &off) >= 3 && perm[2] == 'x' && off &&
		    line[off] == '/') {
			maps[nm].start = a;
			maps[nm].end = b;
			nm++;
		}
	}
	if (f)
		fclose(f);
	struct rng r = {o->seed};
	uint32_t nips = o->lookups < 100000 ? o->lookups : 100000;
	uint64_t *ips = malloc(nips * sizeof(uint64_t));
	for (uint32_t i = 0; i < nips; i++) {
		const struct range *m = &maps[rng_below(&r, (uint32_t)nm)];
		ips[i] = m->start + rng_next(&r) % (m->end - m->start);
	}
	static uint64_t kaddr[200000];
	size_t nka = kernel_text(kaddr, 200000);
	struct swp_buf name = {0};
	printf("{\"libraries\":%d,\"text_mappings\":%zu}\n", nlibs, nm);
	for (uint32_t round = 0; round < o->rounds; round++) {
		struct swp_symbolizer *sym = swp__symbolizer_new();
		/* cold: the first address of every mapping (maps read, every ELF file parsed) */
		double t0 = now_s();
		for (size_t i = 0; i < nm; i++) {
			swp__buf_reset(&name);
			swp__sym_user(sym, child, maps[i].start + (maps[i].end - maps[i].start) / 2, &name);
		}
		double cold = now_s() - t0;
		struct swp_sym_stats st;
		swp__sym_stats(sym, &st);
		/* cached: random addresses in every library */
		t0 = now_s();
		for (uint32_t i = 0; i < o->lookups; i++) {
			swp__buf_reset(&name);
			swp__sym_user(sym, child, ips[i % nips], &name);
		}
		double warm = now_s() - t0;
		/* kernel: the first lookup reads kallsyms */
		swp__buf_reset(&name);
		t0 = now_s();
		swp__sym_kernel(sym, nka ? kaddr[0] : 0, &name);
		double kcold = now_s() - t0;
		uint32_t klook = nka ? o->lookups : 0;
		t0 = now_s();
		for (uint32_t i = 0; i < klook; i++) {
			swp__buf_reset(&name);
			swp__sym_kernel(sym, kaddr[rng_below(&r, (uint32_t)nka)] + 4, &name);
		}
		double kwarm = now_s() - t0;
		printf("{\"round\":%u,\"cold_s\":%.6f,\"elf_parses\":%" PRIu64 ",\"maps_reads\":%" PRIu64
		       ",\"cached_lookups\":%u,\"cached_s\":%.6f,\"kernel_cold_s\":%.6f,\"kernel_lookups\":%u,\"kernel_"
		       "s\":%.6f}\n",
		       round, cold, st.elf_parses, st.maps_reads, o->lookups, warm, kcold, klook, kwarm);
		fflush(stdout);
		swp__symbolizer_free(sym);
	}
	swp_buf_free(&name);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	free(maps);
	free(ips);
	return 0;
}

/* ---- unwind ------------------------------------------------------------------------------- */

struct captured {
	struct swp_ustack_sample *v;
	size_t n, cap;
};

static void capture(void *ctx, const struct swp_ustack_sample *x)
{
	struct captured *c = ctx;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
	}
	struct swp_ustack_sample *y = &c->v[c->n++];
	*y = *x;
	y->kips = NULL;
	y->nk = 0; /* the kernel's frames are not this bench's */
	uint64_t *fp = malloc((x->nfp + SWP_NREGS + 1) * sizeof(uint64_t));
	memcpy(fp, x->fp, x->nfp * sizeof(uint64_t));
	memcpy(fp + x->nfp, x->regs, SWP_NREGS * sizeof(uint64_t));
	y->fp = fp;
	y->regs = fp + x->nfp;
	uint8_t *st = malloc(x->len + 1);
	memcpy(st, x->stack, x->len);
	y->stack = st;
}

int cmd_unwind(struct opts *o)
{
	if (!o->pid)
		die("unwind needs --pid");
	unsigned bits;
	if (swp__unwind_mode(o->mode ? o->mode : "dwarf", &bits) || !bits)
		die("--mode dwarf or auto");
	struct swp_profiler_opts po = {.sz = sizeof(po), .frequency = (int)o->freq, .unwinding = true, .drain_ms = 200};
	struct swp_profiler *p;
	if (swp__profiler_open(&po, &p))
		die("profiler: %s", swp_last_error());
	if (swp__profiler_set_targets(p, o->pid, SWP_TARGET_ON_CPU | bits))
		die("target: %s", swp_last_error());
	struct captured cap = {0};
	struct swp_sample_sink sink = {.ustack = capture, .ctx = &cap};
	double end = now_s() + o->seconds;
	while (now_s() < end) {
		usleep(200000);
		swp__profiler_drain(p, &sink);
	}
	swp__profiler_drain(p, &sink);
	swp__profiler_close(p);
	uint64_t bytes = 0;
	for (size_t i = 0; i < cap.n; i++)
		bytes += cap.v[i].len;
	printf("{\"samples\":%zu,\"stack_bytes\":%" PRIu64 "}\n", cap.n, bytes);
	fflush(stdout);
	static uint64_t ips[SWP_STACK_DEPTH];
	for (uint32_t round = 0; round < o->rounds && cap.n; round++) {
		long rss0 = proc_status_kb("VmRSS");
		struct swp_symbolizer *sym = swp__symbolizer_new();
		uint64_t how[SWP_UNWOUND_N] = {0}, frames = 0;
		double t0 = now_s();
		for (size_t i = 0; i < cap.n; i++) {
			uint32_t n;
			how[swp__unwind(sym, &cap.v[i], ips, SWP_STACK_DEPTH, &n)]++;
			frames += n;
		}
		double cold = now_s() - t0;
		long rss1 = proc_status_kb("VmRSS");
		t0 = now_s();
		for (size_t i = 0; i < cap.n; i++) {
			uint32_t n;
			swp__unwind(sym, &cap.v[i], ips, SWP_STACK_DEPTH, &n);
		}
		double cached = now_s() - t0;
		struct swp_sym_stats st;
		swp__sym_stats(sym, &st);
		printf("{\"round\":%u,\"cold_s\":%.6f,\"cached_s\":%.6f,\"frames\":%" PRIu64 ",\"fp\":%" PRIu64
		       ",\"fp_dwarf\":%" PRIu64 ",\"dwarf\":%" PRIu64 ",\"cut\":%" PRIu64 ",\"failed\":%" PRIu64
		       ",\"eh_files\":%" PRIu64 ",\"eh_bytes\":%" PRIu64 ",\"rss_growth_kb\":%ld}\n",
		       round, cold, cached, frames, how[SWP_UNWOUND_FP], how[SWP_UNWOUND_FP_DWARF], how[SWP_UNWOUND_DWARF],
		       how[SWP_UNWOUND_CUT], how[SWP_UNWOUND_FAILED], st.eh_files, st.eh_bytes, rss1 - rss0);
		fflush(stdout);
		swp__symbolizer_free(sym);
	}
	for (size_t i = 0; i < cap.n; i++) {
		free((void *)cap.v[i].fp);
		free((void *)cap.v[i].stack);
	}
	free(cap.v);
	return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

int cmd_ingest(struct opts *o);
int cmd_profile(struct opts *o);
int cmd_symbolize(struct opts *o);
int cmd_unwind(struct opts *o);

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: swpbench gen|analyze|ingest|profile|symbolize [options]");
	swp_set_log(log_stderr, NULL, SWP_LOG_WARN);
	struct opts o;
	parse(argc, argv, &o);
	const char *cmd = argv[1];
	if (!strcmp(cmd, "gen"))
		return cmd_gen(&o);
	if (!strcmp(cmd, "analyze"))
		return cmd_analyze(&o);
	if (!strcmp(cmd, "ingest"))
		return cmd_ingest(&o);
	if (!strcmp(cmd, "profile"))
		return cmd_profile(&o);
	if (!strcmp(cmd, "symbolize"))
		return cmd_symbolize(&o);
	if (!strcmp(cmd, "unwind"))
		return cmd_unwind(&o);
	if (!strcmp(cmd, "probe")) {
		/* can this machine run the eBPF profiler? 0 yes, 77 no (the reason on stdout) */
		struct swp_profiler_opts po = {.sz = sizeof(po), .frequency = 99};
		struct swp_profiler *p;
		if (swp__profiler_open(&po, &p)) {
			printf("%s\n", swp_last_error());
			return 77;
		}
		swp__profiler_close(p);
		return 0;
	}
	die("unknown command %s", cmd);
}
