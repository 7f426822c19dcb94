/* swprof — the command line tool: record without a server, analyze collapsed stacks, and work
 * with a data directory (processes, tasks, schedules, analysis, import, run). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent/agent.h"
#include "swprof/swprof.h"

static const char *prog = "swprof";

static const char usage_main[] =
	"usage: swprof COMMAND [OPTIONS]\n"
	"\n"
	"Profiling without a server:\n"
	"  record --pid PID --duration SECONDS [--freq HZ] [--format folded|json|pprof|speedscope|svg|html]\n"
	"         [--target on-cpu|off-cpu [--aggregate count|duration]] [--unwind fp|dwarf|auto]\n"
	"                          profile a process with eBPF and print its stacks\n"
	"  tree [FILE]             read collapsed stacks (\"a;b;c_[k] COUNT\" lines) from FILE or\n"
	"                          stdin and print the analysis JSON the GraphQL API returns\n"
	"  diff A B [--data DIR] [--format folded|svg|html|json] [--aggregate count|duration]\n"
	"                          compare two profiles: each a collapsed-stacks FILE, or task:ID or\n"
	"                          schedule:ID[,ID...] of the data directory, optionally @FROM..TO (ms);\n"
	"                          difffolded lines (\"stack countA countB\") or a red/blue flame graph\n"
	"\n"
	"An agent for a backend (the swprof server or a SkyWalking OAP) on another host:\n"
	"  agent --backend HOST:PORT [--rule REGEX=SERVICE [--process NAME] [--label L]...]...\n"
	"        [--agent-id ID] [--freq HZ]\n"
	"        [--flush-ms MS] [--heartbeat-ms MS] [--poll-ms MS] [--buffer-mb N]\n"
	"                          report this host's processes, run the backend's tasks, send their\n"
	"                          stacks (SkyWalking's eBPF agent protocol over gRPC) until SIGTERM\n"
	"\n"
	"Working with a data directory (--data DIR, default $SWPROF_DATA_DIR or ./data):\n"
	"  run [--rule REGEX=SERVICE]... [--freq HZ] [--flush-ms MS] [--scan-ms MS] [--min-age-ms MS]\n"
	"                          discover processes and run due tasks until SIGINT/SIGTERM\n"
	"  processes [--service ID] [--instance ID] [--process ID] [--from MS --to MS]\n"
	"  services [--layer LAYER]\n"
	"  register --pid PID --service NAME [--process NAME] [--instance NAME] [--label L]...\n"
	"  create (--process ID | --service ID [--label L]...) --duration SECONDS [--start MS]\n"
	"         [--target on-cpu|off-cpu]\n"
	"  tasks [--service ID] [--instance ID] [--process ID]\n"
	"  schedules --task ID [--from MS --to MS]\n"
	"  analyze (--task ID | --schedule ID...) [--from MS] [--to MS] [--aggregate count|duration]\n"
	"          [--format json|folded|pprof|speedscope|svg|html]\n"
	"  import --task ID [--process ID] [--time MS] [FILE]\n"
	"  stats\n"
	"\n"
	"Every command takes --help. Query commands print JSON shaped as the GraphQL fields.\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

static int lib_fail(const char *what, int r)
{
	const char *why = swp_last_error();
	return fail("%s: %s", what, *why ? why : swp_strerror(r)), 1;
}

static void log_stderr(int level, const char *msg, void *ctx)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	fprintf(stderr, "swprof %s: %s\n", names[level & 3], msg);
}

static bool parse_i64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static int read_all(const char *path, struct swp_buf *b)
{
	FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "r") : stdin;
	if (!f)
		return fail("cannot open %s: %s", path, strerror(errno));
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (b->len + n + 1 > b->cap) {
			size_t cap = b->cap ? b->cap * 2 : sizeof(tmp) * 2;
			while (cap < b->len + n + 1)
				cap *= 2;
			char *d = realloc(b->data, cap);
			if (!d)
				return fail("out of memory");
			b->data = d;
			b->cap = cap;
		}
		memcpy(b->data + b->len, tmp, n);
		b->len += n;
		b->data[b->len] = 0;
	}
	int err = ferror(f);
	if (f != stdin)
		fclose(f);
	return err ? fail("cannot read %s", path ? path : "stdin") : 0;
}

/* Binary output (pprof) as it is; text gets its last newline. */
static bool binary_format(const char *format)
{
	return format && !strcmp(format, "pprof");
}

static int print_raw(struct swp_buf *b)
{
	fwrite(b->data, 1, b->len, stdout);
	swp_buf_free(b);
	return 0;
}

static int print_buf(struct swp_buf *b)
{
	if (b->len) {
		fwrite(b->data, 1, b->len, stdout);
		if (b->data[b->len - 1] != '\n')
			fputc('\n', stdout);
	}
	swp_buf_free(b);
	return 0;
}

/* ---- options shared by the data-directory commands ---- */

enum {
	O_HELP = 'h',
	O_DATA = 1000, O_PID, O_DURATION, O_FREQ, O_FORMAT, O_SERVICE, O_INSTANCE, O_PROCESS, O_LABEL, O_START,
	O_TASK, O_SCHEDULE, O_FROM, O_TO, O_TIME, O_RULE, O_FLUSH, O_SCAN, O_LAYER, O_MIN_AGE,
	O_BACKEND, O_AGENT_ID, O_HEARTBEAT, O_POLL, O_BUFFER, O_HOST_NAME, O_HOST_IP, O_MIN_FREE, O_TOKEN_FILE,
	O_TARGET, O_AGGREGATE, O_UNWIND, O_USTACK,
};

static const struct option long_opts[] = {
	{"help", no_argument, 0, O_HELP},         {"data", required_argument, 0, O_DATA},
	{"pid", required_argument, 0, O_PID},     {"duration", required_argument, 0, O_DURATION},
	{"freq", required_argument, 0, O_FREQ},   {"format", required_argument, 0, O_FORMAT},
	{"service", required_argument, 0, O_SERVICE}, {"instance", required_argument, 0, O_INSTANCE},
	{"process", required_argument, 0, O_PROCESS}, {"label", required_argument, 0, O_LABEL},
	{"start", required_argument, 0, O_START}, {"task", required_argument, 0, O_TASK},
	{"schedule", required_argument, 0, O_SCHEDULE}, {"from", required_argument, 0, O_FROM},
	{"to", required_argument, 0, O_TO},       {"time", required_argument, 0, O_TIME},
	{"rule", required_argument, 0, O_RULE},   {"flush-ms", required_argument, 0, O_FLUSH},
	{"scan-ms", required_argument, 0, O_SCAN}, {"layer", required_argument, 0, O_LAYER},
	{"min-age-ms", required_argument, 0, O_MIN_AGE},
	{"backend", required_argument, 0, O_BACKEND}, {"agent-id", required_argument, 0, O_AGENT_ID},
	{"heartbeat-ms", required_argument, 0, O_HEARTBEAT}, {"poll-ms", required_argument, 0, O_POLL},
	{"buffer-mb", required_argument, 0, O_BUFFER}, {"host-name", required_argument, 0, O_HOST_NAME},
	{"host-ip", required_argument, 0, O_HOST_IP},
	{"min-free-bytes", required_argument, 0, O_MIN_FREE}, {"token-file", required_argument, 0, O_TOKEN_FILE},
	{"target", required_argument, 0, O_TARGET}, {"aggregate", required_argument, 0, O_AGGREGATE},
	{"unwind", required_argument, 0, O_UNWIND}, {"ustack-bytes", required_argument, 0, O_USTACK},
	{0, 0, 0, 0},
};

#define MAX_MULTI 64
#define MAX_RULE_LABELS 16

struct args {
	const char *data, *format, *service, *instance, *process, *task, *layer;
	const char *backend, *agent_id, *host_name, *host_ip;
	int64_t pid, duration, freq, start, from, to, time, flush, scan, min_age, heartbeat, poll, buffer_mb, min_free;
	bool has_pid, has_duration, has_from, has_to, has_min_age, has_min_free;
	const char *token_file;
	const char *target;  /* ON_CPU (default) or OFF_CPU */
	int aggregate;       /* SWP_AGG_* */
	const char *unwind;  /* fp, dwarf, auto */
	int64_t ustack;
	const char *labels[MAX_MULTI + 1];
	int n_labels;
	const char *schedules[MAX_MULTI + 1];
	int n_schedules;
	const char *rules[MAX_MULTI + 1];
	int n_rules;
	/* --process, --instance, --layer and --label after a --rule shape that rule (run, agent) */
	struct rule_opts {
		const char *process, *instance, *layer;
		const char *labels[MAX_RULE_LABELS + 1];
		int n_labels;
	} rule_opts[MAX_MULTI];
	const char *file;
	const char *file2; /* diff's second argument */
	bool help;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->data = getenv("SWPROF_DATA_DIR");
	if (!a->data || !*a->data)
		a->data = "./data";
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		int64_t *num = NULL;
		switch (c) {
		case O_HELP: a->help = true; break;
		case O_DATA: a->data = optarg; break;
		case O_FORMAT: a->format = optarg; break;
		case O_SERVICE: a->service = optarg; break;
		case O_INSTANCE: *(a->n_rules ? &a->rule_opts[a->n_rules - 1].instance : &a->instance) = optarg; break;
		case O_PROCESS: *(a->n_rules ? &a->rule_opts[a->n_rules - 1].process : &a->process) = optarg; break;
		case O_TASK: a->task = optarg; break;
		case O_LAYER: *(a->n_rules ? &a->rule_opts[a->n_rules - 1].layer : &a->layer) = optarg; break;
		case O_PID: num = &a->pid; a->has_pid = true; break;
		case O_DURATION: num = &a->duration; a->has_duration = true; break;
		case O_FREQ: num = &a->freq; break;
		case O_START: num = &a->start; break;
		case O_FROM: num = &a->from; a->has_from = true; break;
		case O_TO: num = &a->to; a->has_to = true; break;
		case O_TIME: num = &a->time; break;
		case O_FLUSH: num = &a->flush; break;
		case O_SCAN: num = &a->scan; break;
		case O_MIN_AGE: num = &a->min_age; a->has_min_age = true; break;
		case O_BACKEND: a->backend = optarg; break;
		case O_AGENT_ID: a->agent_id = optarg; break;
		case O_HOST_NAME: a->host_name = optarg; break;
		case O_HOST_IP: a->host_ip = optarg; break;
		case O_HEARTBEAT: num = &a->heartbeat; break;
		case O_POLL: num = &a->poll; break;
		case O_BUFFER: num = &a->buffer_mb; break;
		case O_MIN_FREE: num = &a->min_free; a->has_min_free = true; break;
		case O_TOKEN_FILE: a->token_file = optarg; break;
		case O_UNWIND: a->unwind = optarg; break;
		case O_USTACK: num = &a->ustack; break;
		case O_TARGET:
			if (!strcasecmp(optarg, "on-cpu") || !strcasecmp(optarg, "on_cpu"))
				a->target = "ON_CPU";
			else if (!strcasecmp(optarg, "off-cpu") || !strcasecmp(optarg, "off_cpu"))
				a->target = "OFF_CPU";
			else
				return fail("--target is on-cpu or off-cpu, not \"%s\"", optarg);
			break;
		case O_AGGREGATE:
			if (!strcasecmp(optarg, "count"))
				a->aggregate = SWP_AGG_COUNT;
			else if (!strcasecmp(optarg, "duration"))
				a->aggregate = SWP_AGG_DURATION;
			else
				return fail("--aggregate is count or duration, not \"%s\"", optarg);
			break;
		case O_LABEL:
			if (a->n_rules) {
				struct rule_opts *o = &a->rule_opts[a->n_rules - 1];
				if (o->n_labels == MAX_RULE_LABELS)
					return fail("too many --label options for one rule (at most %d)", MAX_RULE_LABELS);
				o->labels[o->n_labels++] = optarg;
				break;
			}
			/* fall through */
		case O_SCHEDULE:
		case O_RULE: {
			const char **v = c == O_LABEL ? a->labels : c == O_SCHEDULE ? a->schedules : a->rules;
			int *n = c == O_LABEL ? &a->n_labels : c == O_SCHEDULE ? &a->n_schedules : &a->n_rules;
			if (*n == MAX_MULTI)
				return fail("too many %s options (at most %d)", argv[optind - 1], MAX_MULTI);
			v[(*n)++] = optarg;
			break;
		}
		case ':':
			return fail("option %s needs a value", argv[optind - 1]);
		default:
			return fail("unknown option %s (see --help)", argv[optind - 1]);
		}
		if (num && !parse_i64(optarg, num))
			return fail("%s expects an integer, got \"%s\"", argv[optind - 2 >= 0 ? optind - 2 : 0], optarg);
	}
	if (optind < argc)
		a->file = argv[optind++];
	if (optind < argc)
		a->file2 = argv[optind++];
	if (optind < argc)
		return fail("unexpected argument \"%s\"", argv[optind]);
	return 0;
}

static int open_core(const struct args *a, int profiling, const struct swp_rule *rules, size_t n_rules, swp_core **c)
{
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = a->data, .profiling = profiling,
				 .frequency = (int)a->freq, .flush_interval_ms = (int)a->flush,
				 .scan_interval_ms = (int)a->scan, .rules = rules, .n_rules = n_rules,
				 /* --min-age-ms 0: at once */
				 .process_min_age_ms = a->has_min_age ? (a->min_age > 0 ? a->min_age : -1) : 0,
				 /* --min-free-bytes 0: nothing kept free (0 is the library's default, 256 MiB) */
				 .min_free_bytes = a->has_min_free ? (a->min_free > 0 ? (uint64_t)a->min_free : 1) : 0,
				 .unwind = a->unwind, .ustack_bytes = (uint32_t)a->ustack};
	int r = swp_core_open(&cfg, c);
	return r ? lib_fail(a->data, r) : 0;
}

/* ---- commands ---- */

/* On a terminal, one line on stderr rewritten as the recording goes; nothing otherwise. */
static void record_progress(void *ctx, int64_t left_ms, uint64_t samples, uint64_t lost)
{
	const char *what = ctx;
	fprintf(stderr, "\rrecording: %3lld s left, %llu %s, %llu lost ", (long long)((left_ms + 999) / 1000),
		(unsigned long long)samples, what, (unsigned long long)lost);
	fflush(stderr);
}

static int cmd_record(const struct args *a)
{
	if (a->help)
		return printf("usage: swprof record --pid PID --duration SECONDS [--freq HZ] [--format FORMAT]\n"
			      "                     [--target on-cpu|off-cpu [--aggregate count|duration]]\n"
			      "                     [--unwind fp|dwarf|auto [--ustack-bytes N]]\n"
			      "Profiles every thread of PID on every CPU (needs root) and prints collapsed stacks\n"
			      "(--format folded, the default), the analysis JSON (json), a gzipped pprof profile (pprof:\n"
			      "`go tool pprof` reads it), speedscope's format (speedscope), or a flame graph: a\n"
			      "self-contained SVG (svg) or an HTML page with a search box (html). --target off-cpu: where its threads\n"
			      "block, counted per switch (--aggregate count, the default) or in blocked nanoseconds\n"
			      "(--aggregate duration).\n"
			      "--unwind: how user stacks are walked (on-CPU): fp, by frame pointers in the kernel; dwarf, each\n"
			      "sample's stack copied (--ustack-bytes, default 16384, 8192 to 65536) and unwound with its\n"
			      "binaries' unwind tables (code built without frame pointers: most distribution libraries);\n"
			      "auto (the default), DWARF only below the first frame in code built without frame pointers.\n"),
		       0;
	if (!a->has_pid || a->pid <= 0)
		return fail("record needs --pid PID");
	if (!a->has_duration || a->duration < 1 || a->duration > 86400)
		return fail("record needs --duration SECONDS (1 to 86400)");
	static volatile int stop;
	struct swp_record_req q = {.sz = sizeof(q), .pid = (int)a->pid, .duration_s = (int)a->duration,
				   .frequency = (int)a->freq, .format = a->format ? a->format : "folded",
				   .stop = &stop, .target = a->target, .aggregate = a->aggregate,
				   .unwind = a->unwind, .ustack_bytes = (uint32_t)a->ustack};
	if (a->ustack < 0 || a->ustack > 65536)
		return fail("--ustack-bytes is 8192 to 65536, not %lld", (long long)a->ustack);
	bool tty = isatty(STDERR_FILENO);
	if (tty) {
		q.progress = record_progress;
		q.progress_ctx = a->target && !strcmp(a->target, "OFF_CPU") ? "switches" : "samples";
	}
	struct swp_buf out = {0};
	int r = swp_record(&q, &out);
	if (tty)
		fputs("\n", stderr);
	if (r) {
		swp_buf_free(&out);
		return lib_fail("record", r);
	}
	return binary_format(a->format) ? print_raw(&out) : print_buf(&out);
}

static int cmd_tree(const struct args *a)
{
	if (a->help)
		return printf("usage: swprof tree [FILE]\nReads collapsed stacks (\"root;...;leaf COUNT\" per line, a frame ending\n"
			      "in _[k] is a kernel frame) and prints {\"tip\":...,\"trees\":[...]}.\n"),
		       0;
	struct swp_buf in = {0}, out = {0};
	int r = read_all(a->file, &in);
	if (r)
		return r;
	r = swp_analyze_folded(in.data ? in.data : "", in.len, &out);
	swp_buf_free(&in);
	if (r) {
		swp_buf_free(&out);
		return lib_fail("tree", r);
	}
	return print_buf(&out);
}

/* One side of `swprof diff`: a collapsed-stacks file, or task:ID / schedule:ID[,ID...] with an optional
 * @FROM..TO. The strings point into `copy`. */
struct diff_arg {
	struct swp_diff_side side;
	char *copy;
	const char *ids[MAX_MULTI + 1];
	struct swp_time_range range;
	struct swp_buf text;
};

static int parse_diff_arg(const char *arg, const char *name, struct diff_arg *d)
{
	memset(d, 0, sizeof(*d));
	d->side.sz = sizeof(d->side);
	bool task = !strncmp(arg, "task:", 5), sched = !strncmp(arg, "schedule:", 9);
	if (!task && !sched) {
		int r = read_all(arg, &d->text);
		if (r)
			return r;
		d->side.folded = d->text.data ? d->text.data : "";
		d->side.folded_len = d->text.len;
		return 0;
	}
	d->copy = strdup(arg + (task ? 5 : 9));
	char *at = strchr(d->copy, '@');
	d->range = (struct swp_time_range){0, INT64_MAX / 2};
	if (at) {
		*at++ = 0;
		char *dots = strstr(at, "..");
		if (!dots)
			return fail("%s \"%s\": a range is @FROM..TO (ms since the epoch)", name, arg);
		*dots = 0;
		int64_t v;
		if (*at && !parse_i64(at, &v))
			return fail("%s \"%s\": FROM is not a number of ms", name, arg);
		if (*at)
			d->range.start_ms = v;
		if (dots[2] && !parse_i64(dots + 2, &v))
			return fail("%s \"%s\": TO is not a number of ms", name, arg);
		if (dots[2])
			d->range.end_ms = v;
		if (d->range.end_ms <= d->range.start_ms)
			return fail("%s \"%s\": the range ends before it starts (or is empty)", name, arg);
	}
	if (!*d->copy)
		return fail("%s \"%s\": no %s id", name, arg, task ? "task" : "schedule");
	if (task) {
		d->side.task_id = d->copy;
	} else {
		size_t n = 0;
		for (char *p = d->copy, *e; p; p = e) {
			e = strchr(p, ',');
			if (e)
				*e++ = 0;
			if (!*p)
				return fail("%s \"%s\": an empty schedule id", name, arg);
			if (n == MAX_MULTI)
				return fail("%s \"%s\": more than %d schedules", name, arg, MAX_MULTI);
			d->ids[n++] = p;
		}
		d->side.schedule_ids = d->ids;
		d->side.n_schedule_ids = n;
	}
	d->side.ranges = &d->range;
	d->side.n_ranges = 1;
	return 0;
}

static void diff_arg_free(struct diff_arg *d)
{
	free(d->copy);
	swp_buf_free(&d->text);
}

static int cmd_diff(const struct args *a)
{
	if (a->help)
		return printf("usage: swprof diff A B [--data DIR] [--aggregate count|duration] [--format folded|svg|html|json]\n"
			      "Compares two profiles, A (before) and B (after). Each is a file of collapsed stacks (what\n"
			      "`swprof record` and `swprof analyze --format folded` print; - for stdin), or, from the data\n"
			      "directory, task:ID (every schedule of a task) or schedule:ID[,ID...], each optionally with\n"
			      "@FROM..TO (ms since the epoch, either end may be left out): two time ranges of one schedule,\n"
			      "two schedules or two tasks.\n"
			      "--format folded (the default): Brendan Gregg's difffolded, one \"stack countA countB\" line per\n"
			      "stack (flamegraph.pl draws it). svg: a self-contained differential flame graph, frames as\n"
			      "wide as B's counts, red where a frame's share of its side's total grew and blue where it\n"
			      "shrank (the deeper, the larger the change; each side is normalised to its total, so two\n"
			      "profiles of different lengths compare), frames new in B outlined, frames gone from B drawn\n"
			      "dashed with their share of A. html: that SVG in a page with a search box. json: one tree\n"
			      "whose elements carry beforeCount and afterCount\n"
			      "(the GraphQL field diffEBPFProfilingAnalyzation). --aggregate as analyze's.\n"),
		       0;
	if (!a->file || !a->file2)
		return fail("diff needs two profiles, A and B (see swprof diff --help)");
	if (a->format && strcmp(a->format, "folded") && strcmp(a->format, "svg") && strcmp(a->format, "html") &&
	    strcmp(a->format, "json"))
		return fail("diff: --format is folded, svg, html or json, not \"%s\"", a->format);
	if (!strcmp(a->file, "-") && !strcmp(a->file2, "-"))
		return fail("diff: only one of A and B can be stdin");
	struct diff_arg side[2];
	int r = parse_diff_arg(a->file, "A", &side[0]);
	if (!r)
		r = parse_diff_arg(a->file2, "B", &side[1]);
	else
		memset(&side[1], 0, sizeof(side[1]));
	swp_core *c = NULL;
	if (!r && (!side[0].side.folded || !side[1].side.folded))
		r = open_core(a, SWP_PROFILING_ELSEWHERE, NULL, 0, &c);
	struct swp_buf out = {0};
	if (!r) {
		size_t tl = strlen(a->file) + strlen(a->file2) + 8;
		char *title = malloc(tl);
		snprintf(title, tl, "%s -> %s", a->file, a->file2);
		struct swp_diff_req q = {.sz = sizeof(q), .before = &side[0].side, .after = &side[1].side,
					 .aggregate = a->aggregate, .format = a->format ? a->format : "folded",
					 .title = title};
		r = swp_analyze_diff(c, &q, &out, NULL);
		free(title);
		r = r ? lib_fail("diff", r) : print_buf(&out);
	}
	swp_buf_free(&out);
	swp_core_close(c);
	diff_arg_free(&side[0]);
	diff_arg_free(&side[1]);
	return r;
}

/* --rule REGEX=SERVICE (the last '=' splits) and the options after it into rules; copies hold
 * the strings */
static int parse_rules(const struct args *a, struct swp_rule *rules, char **copies)
{
	for (int i = 0; i < a->n_rules; i++) {
		copies[i] = strdup(a->rules[i]);
		char *eq = strrchr(copies[i], '=');
		if (!eq || eq == copies[i] || !eq[1])
			return fail("--rule expects REGEX=SERVICE, got \"%s\"", a->rules[i]);
		*eq = 0;
		const struct rule_opts *o = &a->rule_opts[i];
		rules[i] = (struct swp_rule){.sz = sizeof(struct swp_rule), .cmd_regex = copies[i], .service = eq + 1,
					     .instance = o->instance, .process = o->process, .layer = o->layer,
					     .labels = o->n_labels ? o->labels : NULL};
	}
	return 0;
}

#define RULES_HELP \
	"A rule is --rule REGEX=SERVICE (a POSIX extended regex of the command line, argv joined by\n" \
	"spaces; the last '=' splits), optionally followed by options that shape it: --process NAME\n" \
	"(default {exe}), --instance NAME (default the host name), --label L (repeatable; default the\n" \
	"process name), --layer LAYER (default OS_LINUX). Names are templates: {exe} the executable's\n" \
	"base name, {pid}, {1}..{9} the regex's groups. The first matching rule wins. Processes with one\n" \
	"name on one instance are one process to the backend: name them apart ({exe}-{pid}) to profile\n" \
	"each of them.\n"

static volatile sig_atomic_t stop_run;
static void on_signal(int sig)
{
	stop_run = 1;
}

static int cmd_run(const struct args *a)
{
	if (a->help)
		return printf("usage: swprof run [--data DIR] [--rule REGEX=SERVICE [RULE OPTIONS]]... [--freq HZ]\n"
			      "                  [--flush-ms MS] [--scan-ms MS] [--min-age-ms MS] [--min-free-bytes N]\n"
			      "                  [--unwind fp|dwarf|auto [--ustack-bytes N]]\n"
			      "Discovers processes whose command line matches a rule, runs due tasks with the eBPF\n"
			      "profiler and writes their samples until SIGINT or SIGTERM. A process is registered once\n"
			      "it has run for --min-age-ms (default 3000; 0 = at once), so short commands never show.\n"
			      "Writes wait while the data directory's file system has less than --min-free-bytes free\n"
			      "(default 268435456; 0 = none kept).\n"
			      RULES_HELP),
		       0;
	struct swp_rule rules[MAX_MULTI];
	char *copies[MAX_MULTI] = {0};
	int r = parse_rules(a, rules, copies);
	if (r)
		return r;
	swp_core *c;
	r = open_core(a, SWP_PROFILING_ON, rules, (size_t)a->n_rules, &c);
	if (r)
		return r;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "swprof: running on %s; SIGINT or SIGTERM stops\n", a->data);
	while (!stop_run)
		pause();
	swp_core_close(c);
	for (int i = 0; i < a->n_rules; i++)
		free(copies[i]);
	return 0;
}

static volatile int stop_agent;
static void on_agent_signal(int sig)
{
	stop_agent = 1;
}

static int cmd_agent(const struct args *a)
{
	if (a->help)
		return printf("usage: swprof agent --backend HOST:PORT [--rule REGEX=SERVICE [RULE OPTIONS]]...\n"
			      "       [--agent-id ID] [--freq HZ] [--flush-ms MS] [--scan-ms MS] [--min-age-ms MS]\n"
			      "       [--heartbeat-ms MS] [--poll-ms MS] [--buffer-mb N] [--host-name NAME] [--host-ip IP]\n"
			      "       [--token-file FILE] [--unwind fp|dwarf|auto [--ustack-bytes N]]\n"
			      "An eBPF agent of SkyWalking's protocol (gRPC, as SkyWalking Rover): discovers this host's\n"
			      "processes with the rules (below), reports them to the backend (the swprof server or a\n"
			      "SkyWalking OAP, port 11800) and keeps them alive (--heartbeat-ms, 20000), asks it for\n"
			      "tasks (--poll-ms, 10000), profiles them here and sends their stacks every --flush-ms\n"
			      "(1000). While the backend is away it keeps up to --buffer-mb (32) of stacks, then drops\n"
			      "the oldest, counted and reported. The agent id (--agent-id) defaults to\n"
			      "swprof-agent@<host name>; instance names default to the host name (--host-name).\n"
			      "A backend that asks for a token (the swprof server beyond loopback, an OAP with\n"
			      "core.default.authentication) gets the one in --token-file. Needs root or\n"
			      "CAP_BPF+CAP_PERFMON. Stops on SIGINT/SIGTERM.\n"
			      RULES_HELP),
		       0;
	if (!a->backend)
		return fail("agent needs --backend HOST:PORT (the backend's gRPC port, 11800 by default)");
	struct swp_rule rules[MAX_MULTI];
	char *copies[MAX_MULTI] = {0};
	int r = parse_rules(a, rules, copies);
	if (r)
		return r;
	char *token = NULL;
	if (a->token_file) {
		struct swp_buf t = {0};
		int rt = read_all(a->token_file, &t);
		if (rt)
			return rt;
		token = t.data ? t.data : strdup("");
		token[strcspn(token, "\r\n")] = 0;
		if (strlen(token) < 16) {
			free(token);
			return fail("--token-file %s: the token is shorter than 16 characters", a->token_file);
		}
	}
	struct swp_agent_config cfg = {.sz = sizeof(cfg), .backend = a->backend, .agent_id = a->agent_id, .token = token,
				       .rules = rules, .n_rules = (size_t)a->n_rules, .frequency = (int)a->freq,
				       .flush_ms = (int)a->flush, .scan_ms = (int)a->scan,
				       .min_age_ms = a->has_min_age ? (a->min_age > 0 ? a->min_age : -1) : 0,
				       .heartbeat_ms = (int)a->heartbeat, .poll_ms = (int)a->poll,
				       .buffer_bytes = (uint64_t)a->buffer_mb << 20, .host_name = a->host_name,
				       .host_ip = a->host_ip, .unwind = a->unwind, .ustack_bytes = (uint32_t)a->ustack};
	struct sigaction sa = {.sa_handler = on_agent_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a daemon that loads large tables once (the kernel's symbols, a binary's) and frees what built
	 * them: glibc's threshold for mapping a block on its own stays fixed, so those blocks go back to
	 * the system when freed instead of staying in a thread's arena */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	r = swp_agent_run(&cfg, &stop_agent, NULL);
	free(token);
	for (int i = 0; i < a->n_rules; i++)
		free(copies[i]);
	return r ? lib_fail("agent", r) : 0;
}

static int with_core(const struct args *a, int (*fn)(const struct args *, swp_core *))
{
	swp_core *c;
	/* the data directory's tasks are run by `swprof run` (or the server) on it */
	int r = open_core(a, SWP_PROFILING_ELSEWHERE, NULL, 0, &c);
	if (r)
		return r;
	r = fn(a, c);
	swp_core_close(c);
	return r;
}

static int finish(int r, const char *what, struct swp_buf *out)
{
	if (r) {
		swp_buf_free(out);
		return lib_fail(what, r);
	}
	return print_buf(out);
}

static int do_processes(const struct args *a, swp_core *c)
{
	struct swp_buf out = {0};
	return finish(swp_processes_json(c, a->service, a->instance, a->process, a->from, a->has_to ? a->to : 0, &out),
		      "processes", &out);
}

static int do_services(const struct args *a, swp_core *c)
{
	struct swp_buf out = {0};
	return finish(swp_services_json(c, a->layer, &out), "services", &out);
}

static int do_register(const struct args *a, swp_core *c)
{
	if (!a->has_pid || !a->service)
		return fail("register needs --pid PID and --service NAME");
	struct swp_process_spec s = {.sz = sizeof(s), .pid = (int)a->pid, .service = a->service,
				     .instance = a->instance, .process = a->process,
				     .labels = a->n_labels ? a->labels : NULL};
	struct swp_buf out = {0};
	return finish(swp_process_register(c, &s, &out), "register", &out);
}

static int do_create(const struct args *a, swp_core *c)
{
	if (!a->process == !a->service)
		return fail("create needs exactly one of --process ID or --service ID");
	if (!a->has_duration)
		return fail("create needs --duration SECONDS");
	struct swp_task_create q = {.sz = sizeof(q), .has_finder = a->process != NULL,
				    .finder_type = a->process ? "PROCESS_ID" : NULL, .process_id = a->process,
				    .service_id = a->service, .labels = a->labels, .start_time_ms = a->start,
				    .duration_s = a->duration, .target_type = a->target ? a->target : "ON_CPU"};
	struct swp_buf out = {0};
	int r = swp_task_create(c, &q, &out);
	if (r == 0 && strstr(out.data, "\"status\":false")) {
		print_buf(&out);
		return 1;
	}
	return finish(r, "create", &out);
}

static int do_tasks(const struct args *a, swp_core *c)
{
	static const char *const fixed[] = {"FIXED_TIME", NULL};
	struct swp_task_query q = {.sz = sizeof(q), .service_id = a->service, .instance_id = a->instance,
				   .process_id = a->process,
				   .trigger_type = (a->service || a->instance || a->process) ? NULL : fixed[0]};
	struct swp_buf out = {0};
	return finish(swp_tasks_json(c, &q, &out), "tasks", &out);
}

static int do_schedules(const struct args *a, swp_core *c)
{
	if (!a->task)
		return fail("schedules needs --task ID");
	struct swp_buf out = {0};
	return finish(swp_schedules_json(c, a->task, a->from, a->has_to ? a->to : (a->has_from ? INT64_MAX : 0), &out),
		      "schedules", &out);
}

static int do_analyze(const struct args *a, swp_core *c)
{
	if (!a->task == !a->n_schedules)
		return fail("analyze needs --task ID or at least one --schedule ID");
	struct swp_time_range range = {a->has_from ? a->from : 0, a->has_to ? a->to : INT64_MAX / 2};
	struct swp_analyze_req q = {.sz = sizeof(q), .task_id = a->task, .schedule_ids = a->schedules,
				    .n_schedule_ids = (size_t)a->n_schedules, .ranges = &range, .n_ranges = 1,
				    .aggregate = a->aggregate, .format = a->format};
	struct swp_buf out = {0};
	int r = swp_analyze(c, &q, &out);
	if (!r && binary_format(a->format) && out.len && out.data[0] == '{')
		r = -ENOENT; /* a tip (unknown task, no ranges) rather than a profile */
	if (!r && binary_format(a->format))
		return print_raw(&out);
	if (r == -ENOENT && out.data)
		return fail("analyze: %s", out.data);
	return finish(r, "analyze", &out);
}

static int do_import(const struct args *a, swp_core *c)
{
	if (!a->task)
		return fail("import needs --task ID");
	struct swp_buf in = {0}, out = {0};
	int r = read_all(a->file, &in);
	if (r)
		return r;
	struct swp_import_req q = {.sz = sizeof(q), .task_id = a->task, .process_id = a->process, .time_ms = a->time,
				   .text = in.data ? in.data : "", .len = in.len};
	r = swp_import_folded(c, &q, &out);
	swp_buf_free(&in);
	return finish(r, "import", &out);
}

static int do_stats(const struct args *a, swp_core *c)
{
	struct swp_buf out = {0};
	return finish(swp_core_stats_json(c, &out), "stats", &out);
}

struct command {
	const char *name;
	int (*fn)(const struct args *, swp_core *); /* with a core */
	int (*plain)(const struct args *);           /* without */
	const char *help;
};

static const struct command commands[] = {
	{"record", NULL, cmd_record, NULL},
	{"tree", NULL, cmd_tree, NULL},
	{"diff", NULL, cmd_diff, NULL},
	{"run", NULL, cmd_run, NULL},
	{"agent", NULL, cmd_agent, NULL},
	{"processes", do_processes, NULL, "usage: swprof processes [--data DIR] [--service ID] [--instance ID] [--process ID] [--from MS --to MS]\n"
	 "Lists the running processes and those that exited in the last 10 minutes; with --from/--to, those\n"
	 "that ran at some time between the two (ms since the epoch).\n"},
	{"services", do_services, NULL, "usage: swprof services [--data DIR] [--layer LAYER]\n"},
	{"register", do_register, NULL,
	 "usage: swprof register [--data DIR] --pid PID --service NAME [--process NAME] [--instance NAME] [--label L]...\n"},
	{"create", do_create, NULL,
	 "usage: swprof create [--data DIR] (--process ID | --service ID [--label L]...) --duration SECONDS [--start MS]\n"
	 "                     [--target on-cpu|off-cpu]\n"
	 "Creates a FIXED_TIME task (ON_CPU unless --target off-cpu); `swprof run` (or the server) on the same data\n"
	 "directory runs it.\n"},
	{"tasks", do_tasks, NULL, "usage: swprof tasks [--data DIR] [--service ID] [--instance ID] [--process ID]\n"},
	{"schedules", do_schedules, NULL, "usage: swprof schedules [--data DIR] --task ID [--from MS --to MS]\n"},
	{"analyze", do_analyze, NULL,
	 "usage: swprof analyze [--data DIR] (--task ID | --schedule ID...) [--from MS] [--to MS]\n"
	 "                      [--aggregate count|duration]\n"
	 "                      [--format json|folded|pprof|speedscope|svg|html]\n"
	 "OFF_CPU schedules: --aggregate count sums switches (the default), duration blocked nanoseconds.\n"
	 "--format: the tree as JSON (the default), collapsed stacks, a gzipped pprof profile, speedscope's format, or a\n"
	 "flame graph (an SVG, or an HTML page with a search box).\n"},
	{"import", do_import, NULL,
	 "usage: swprof import [--data DIR] --task ID [--process ID] [--time MS] [FILE]\n"
	 "Imports collapsed stacks as samples of the task's schedule on the process (made when new).\n"},
	{"stats", do_stats, NULL, "usage: swprof stats [--data DIR]\n"},
};

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage_main, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* progress for the long-running commands, warnings only for the queries */
	bool chatty = strcmp(argv[1], "run") == 0 || strcmp(argv[1], "record") == 0 || strcmp(argv[1], "agent") == 0;
	swp_set_log(log_stderr, NULL, getenv("SWPROF_DEBUG") ? SWP_LOG_DEBUG : chatty ? SWP_LOG_INFO : SWP_LOG_WARN);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *cmd = &commands[i];
		if (strcmp(argv[1], cmd->name) != 0)
			continue;
		struct args a;
		int r = parse_args(argc - 1, argv + 1, &a);
		if (r)
			return r;
		if (a.file2 && cmd->plain != cmd_diff)
			return fail("unexpected argument \"%s\"", a.file2);
		if (cmd->plain)
			return cmd->plain(&a);
		if (a.help)
			return fputs(cmd->help, stdout), 0;
		if (a.file && cmd->fn != do_import)
			return fail("unexpected argument \"%s\"", a.file);
		return with_core(&a, cmd->fn);
	}
	return fail("unknown command \"%s\" (see swprof --help)", argv[1]);
}
