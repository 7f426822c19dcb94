/*
 * The real thing end to end: the core's scheduler profiles busy programs found by discovery
 * rules with the eBPF profiler, and the analysis of its store shows their hot functions under
 * the right parents with plausible counts. Also: two tasks on two processes at once, a target
 * that exits in the middle, a restarted target (its schedule goes on), `swprof run` killed with
 * SIGKILL then reopened (acknowledged data kept; the open task resumes in the same schedule),
 * and the rule that a process is registered only once it has run for a while.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "swprof/swprof.h"
#include "test_json.h"

#define BUSY SWPROF_TARGETS_DIR "/busy"
#define MAX_ELEMS 4096

static char dir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		/* never outlive the test, never hold ctest's output pipe */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid, int sig)
{
	if (pid > 0) {
		kill(pid, sig);
		waitpid(pid, NULL, 0);
	}
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static char *analyze_task(swp_core *c, const char *task)
{
	struct swp_time_range all = {0, INT64_MAX / 2};
	struct swp_analyze_req q = {.sz = sizeof(q), .task_id = task, .ranges = &all, .n_ranges = 1};
	struct swp_buf out = {0};
	CHECK_EQ_INT(swp_analyze(c, &q, &out), 0);
	return out.data;
}

/* hot_loop under outer under main, with a count near the expected samples */
static void check_spin_tree(const char *json, double expected, double low)
{
	static struct elem v[MAX_ELEMS];
	int n = parse_elements(json, v, MAX_ELEMS);
	const struct elem *hot = find_elem(v, n, "hot_loop");
	CHECK(hot != NULL);
	if (!hot) {
		fprintf(stderr, "tree: %.2000s\n", json);
		return;
	}
	const struct elem *outer = parent_of(v, n, hot);
	CHECK(outer && strcmp(outer->symbol, "outer") == 0);
	const struct elem *m = outer ? parent_of(v, n, outer) : NULL;
	CHECK(m && strcmp(m->symbol, "main") == 0);
	printf("hot_loop %lld samples, expected about %.0f\n", hot->count, expected);
	CHECK(hot->count >= (long long)(expected * low));
	CHECK(hot->count <= (long long)(expected * 1.3) + 10);
}

/* The task has one schedule, and its tree is the spin program's with about `expected` samples. */
static void check_one_spin_schedule(swp_core *c, const char *task, double expected, double low)
{
	struct swp_buf s = {0};
	CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &s), 0);
	CHECK_EQ_INT(count_of(s.data, "\"scheduleId\""), 1);
	swp_buf_free(&s);
	char *tree = analyze_task(c, task);
	check_spin_tree(tree, expected, low);
	free(tree);
}

static swp_core *open_profiling(const struct swp_rule *rules, size_t n)
{
	/* processes are registered at once (the test's programs start right before), not after 3 s */
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = dir, .profiling = SWP_PROFILING_ON, .frequency = 99,
				 .flush_interval_ms = 500, .scan_interval_ms = 300, .rules = rules, .n_rules = n,
				 .process_min_age_ms = -1};
	swp_core *c = NULL;
	if (swp_core_open(&cfg, &c))
		fprintf(stderr, "open: %s\n", swp_last_error());
	return c;
}

/* A shell command's stdout in out; returns its wait status. */
static int run_shell(const char *cmd, char *out, size_t n)
{
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	size_t k = fread(out, 1, n - 1, f);
	out[k] = 0;
	return pclose(f);
}

static int run_cli(const char *const argv[], char *out, size_t n)
{
	char cmd[2048] = "";
	for (int i = 0; argv[i]; i++) {
		strcat(cmd, "'");
		strcat(cmd, argv[i]);
		strcat(cmd, "' ");
	}
	return run_shell(cmd, out, n);
}

/* For the CLI cases: a busy spin program of its own (secs makes its command line unique), a
 * `swprof run` command line that finds it as service svc (svc_id its id), run once to register it,
 * and a task on it made with `swprof create`. min_free: --min-free-bytes for both, or NULL. */
struct cli_case {
	char secs[16], rule[96], task[32];
	const char *run_argv[20];
	pid_t busy;
};

static void cli_case(struct cli_case *k, const char *data, int secs, const char *svc, const char *svc_id,
		     const char *min_free)
{
	snprintf(k->secs, sizeof(k->secs), "%d", secs);
	char *busy_argv[] = {BUSY, "spin", k->secs, NULL};
	k->busy = spawn(busy_argv);
	snprintf(k->rule, sizeof(k->rule), "busy spin %s$=%s", k->secs, svc);
	const char *run[] = {SWPROF_CLI, "run", "--data", data, "--rule", k->rule, "--scan-ms", "200", "--flush-ms", "300",
			     "--min-age-ms", "0", min_free ? "--min-free-bytes" : NULL, min_free, NULL};
	memcpy(k->run_argv, run, sizeof(run));
	/* discover the process, then stop */
	pid_t r = spawn((char *const *)k->run_argv);
	msleep(1200);
	stop(r, SIGTERM);
	char out[65536];
	const char *create_argv[] = {SWPROF_CLI, "create", "--data", data, "--service", svc_id, "--duration", "600",
				     min_free ? "--min-free-bytes" : NULL, min_free, NULL};
	CHECK_EQ_INT(run_cli(create_argv, out, sizeof(out)), 0);
	CHECK_CONTAINS(out, "\"status\":true");
	json_get(out, "id", k->task, sizeof(k->task));
}

static void test_kill9(void)
{
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/cli", dir);
	struct cli_case k;
	cli_case(&k, sub, 3000 + (int)(getpid() % 500), "k9svc", "azlzdmM=.1", NULL);
	pid_t b = k.busy, r;
	const char *task = k.task;
	const char *const *run_argv = k.run_argv;

	/* run the task, then SIGKILL in the middle */
	r = spawn((char *const *)run_argv);
	double cpu0 = cpu_seconds(b);
	msleep(3000);
	stop(r, SIGKILL);
	double cpu = cpu_seconds(b) - cpu0;

	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = sub};
	swp_core *c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (!c) {
		stop(b, SIGKILL);
		return;
	}
	/* the samples of the CPU time it used, but for the last flush interval (300 ms) lost with SIGKILL */
	check_one_spin_schedule(c, task, 99.0 * cpu, 0.6);
	swp_core_close(c);

	/* restarted on the same data directory: the open task resumes in the same schedule */
	r = spawn((char *const *)run_argv);
	cpu0 = cpu_seconds(b);
	msleep(2000);
	stop(r, SIGTERM);
	cpu += cpu_seconds(b) - cpu0;
	c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (c) {
		struct swp_buf s = {0};
		CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &s), 0);
		CHECK_EQ_INT(count_of(s.data, "\"scheduleId\""), 1);
		char *tree = analyze_task(c, task);
		check_spin_tree(tree, 99.0 * cpu, 0.6);
		/* the schedule's count is its stored samples, the last flush's (at SIGTERM) too */
		static struct elem v[MAX_ELEMS];
		int n = parse_elements(tree, v, MAX_ELEMS);
		long long roots = 0;
		for (int i = 0; i < n; i++)
			roots += v[i].parent == 0 ? v[i].count : 0;
		const char *sm = strstr(s.data, "\"samples\":");
		CHECK(sm != NULL);
		CHECK_EQ_INT(sm ? atoll(sm + 10) : -1, roots);
		swp_buf_free(&s);
		free(tree);
		swp_core_close(c);
	}
	stop(b, SIGKILL);
}

/* With the default rules a short command must never become a service: a process is registered
 * once it has run for process_min_age_ms (3 s by default). */
static void test_min_age(void)
{
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/age", dir);
	char *argv[] = {BUSY, "syscall", "3603", NULL};
	pid_t p = spawn(argv);
	struct swp_rule rules[] = {{.sz = sizeof(struct swp_rule), .cmd_regex = "busy syscall 3603$", .service = "agesvc"}};
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = sub, .profiling = SWP_PROFILING_ELSEWHERE,
				 .scan_interval_ms = -1, .rules = rules, .n_rules = 1};
	swp_core *c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (!c) {
		stop(p, SIGKILL);
		return;
	}
	struct swp_buf j = {0};
	CHECK_EQ_INT(swp_processes_rescan(c), 0);
	CHECK_EQ_INT(swp_services_json(c, NULL, &j), 0);
	CHECK_EQ_STR(j.data, "[]");
	swp_buf_free(&j);
	msleep(3100);
	CHECK_EQ_INT(swp_processes_rescan(c), 0);
	CHECK_EQ_INT(swp_services_json(c, NULL, &j), 0);
	CHECK_CONTAINS(j.data, "\"name\":\"agesvc\"");
	swp_buf_free(&j);
	swp_core_close(c);
	stop(p, SIGKILL);
}

/* A profiling core without the capabilities: the task is refused at once, saying why and what is
 * needed (not accepted and then never run). In a child that drops every capability. */
static void test_no_capabilities(void)
{
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/nocaps", dir);
	fflush(stdout); /* not printed twice */
	pid_t child = fork();
	if (child == 0) {
		struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct none[2] = {{0}};
		if (syscall(SYS_capset, &h, none))
			_exit(3);
		struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = sub, .profiling = SWP_PROFILING_ON,
					 .scan_interval_ms = -1};
		swp_core *c = NULL;
		if (swp_core_open(&cfg, &c))
			_exit(4);
		struct swp_task_create t = {.sz = sizeof(t), .service_id = "Y2Fwc3Zj.1", .target_type = "ON_CPU",
					    .duration_s = 60};
		struct swp_buf r = {0};
		int rc = swp_task_create(c, &t, &r);
		printf("without capabilities: %s\n", r.data ? r.data : swp_last_error());
		fflush(stdout);
		int ok = rc == 0 && r.data && strstr(r.data, "\"status\":false") &&
			 strstr(r.data, "cannot run the eBPF profiler") && strstr(r.data, "CAP_BPF and CAP_PERFMON");
		swp_buf_free(&r);
		swp_core_close(c);
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	CHECK(child > 0 && waitpid(child, &st, 0) == child);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A write outage (the data volume below the free-space reserve) with a kill -9 in the middle of it:
 * what was stored before is all there, and the samples the outage held in memory are counted lost
 * in the schedule at the restart (the note written into the reserve), not lost without a word. */
static void test_outage_kill9(void)
{
	char mnt[96], data[128], filler[128];
	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	mkdir(mnt, 0755);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64m") != 0) {
		CHECK(!"cannot mount a 64 MiB tmpfs");
		return;
	}
	snprintf(data, sizeof(data), "%s/data", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	struct cli_case k;
	cli_case(&k, data, 3500 + (int)(getpid() % 400), "outsvc", "b3V0c3Zj.1", "41943040");
	pid_t b = k.busy, r;
	const char *task = k.task;
	const char *const *run_argv = k.run_argv;

	r = spawn((char *const *)run_argv);
	double cpu0 = cpu_seconds(b);
	msleep(1500);
	/* 34 of the 64 MiB left: below the 40 MiB kept free */
	int fd = open(filler, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && posix_fallocate(fd, 0, 30 << 20) == 0);
	close(fd);
	double before = cpu_seconds(b) - cpu0;
	msleep(2500);
	stop(r, SIGKILL);
	double cpu = cpu_seconds(b) - cpu0;
	unlink(filler);

	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = data, .min_free_bytes = 40ULL << 20};
	swp_core *c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (c) {
		struct swp_buf sj = {0};
		CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &sj), 0);
		const char *sp = strstr(sj.data, "\"samples\":"), *lp = strstr(sj.data, "\"lostSamples\":");
		long long stored = sp ? atoll(sp + 10) : -1, lost = lp ? atoll(lp + 14) : -1;
		printf("outage: %lld stored, %lld counted lost; CPU %.2f s before the outage, %.2f s in it\n", stored,
		       lost, before, cpu - before);
		/* the outage's samples are the lost ones (but for its last flush interval), the rest stored */
		CHECK(lost >= (long long)(99.0 * (cpu - before) * 0.7) - 40);
		CHECK(stored >= (long long)(99.0 * before * 0.7) - 40);
		CHECK(stored + lost >= (long long)(99.0 * cpu * 0.8) - 40);
		CHECK(stored + lost <= (long long)(99.0 * cpu * 1.2) + 40);
		swp_buf_free(&sj);
		swp_core_close(c);
	}
	stop(b, SIGKILL);
	umount2(mnt, MNT_DETACH);
}

/* Least privilege: `swprof record` as uid nobody with CAP_BPF and CAP_PERFMON only profiles (its
 * own user's program, symbolized); another user's program is sampled but its files stay closed
 * without CAP_SYS_PTRACE (its symbols then come as module+offset) and open with it; with no
 * capability the refusal says what is needed. Run through util-linux's setpriv, as an admin would. */
static int record_as_nobody(const char *caps, pid_t pid, double seconds, char *out, size_t n)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=65534 --regid=65534 --clear-groups%s%s%s%s %s record --pid %d --duration %.0f 2>&1",
		 *caps ? " --inh-caps=" : "", caps, *caps ? " --ambient-caps=" : "", caps, SWPROF_CLI, (int)pid, seconds);
	return run_shell(cmd, out, n);
}

static long long folded_total(const char *folded)
{
	long long n = 0;
	for (const char *l = folded; l && *l;) {
		const char *e = strchr(l, '\n');
		const char *sp = NULL;
		for (const char *p = l; p < (e ? e : l + strlen(l)); p++)
			if (*p == ' ')
				sp = p;
		if (sp && strncmp(l, "swprof", 6) != 0)
			n += atoll(sp + 1);
		l = e ? e + 1 : NULL;
	}
	return n;
}

static void test_least_privilege(void)
{
	static char out[1 << 16];
	char *own_argv[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BUSY, "spin", "30", NULL};
	char *root_argv[] = {BUSY, "spin", "30", NULL};
	pid_t own = spawn(own_argv), root = spawn(root_argv);
	msleep(300);
	struct {
		const char *caps;
		pid_t target;
		bool symbols;
	} cases[] = {
		{"+bpf,+perfmon", own, true},
		{"+bpf,+perfmon", root, false},
		{"+bpf,+perfmon,+sys_ptrace,+dac_read_search", root, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double cpu0 = cpu_seconds(cases[i].target);
		int rc = record_as_nobody(cases[i].caps, cases[i].target, 2, out, sizeof(out));
		double cpu = cpu_seconds(cases[i].target) - cpu0;
		long long n = folded_total(out);
		printf("as nobody with %s, %s's program: %lld samples for %.2f CPU s, %s\n", cases[i].caps,
		       cases[i].target == own ? "its own user" : "root", n, cpu,
		       strstr(out, "hot_loop") ? "symbolized" : "not symbolized");
		CHECK_EQ_INT(rc, 0);
		CHECK(n >= (long long)(99.0 * cpu * 0.7) - 10);
		CHECK(n <= (long long)(99.0 * cpu * 1.3) + 10);
		CHECK((strstr(out, "hot_loop") != NULL) == cases[i].symbols);
		if (!cases[i].symbols)
			CHECK_CONTAINS(out, "busy+0x");
	}
	CHECK(record_as_nobody("", own, 1, out, sizeof(out)) != 0);
	CHECK_CONTAINS(out, "needs root or CAP_BPF+CAP_PERFMON");
	stop(own, SIGKILL);
	stop(root, SIGKILL);
}

/* A caller known by its uid (the Unix socket's peer): it sees and profiles the processes it could
 * ptrace, and its own tasks; the same core unrestricted for everyone else. */
static void test_caller(void)
{
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/caller", dir);
	char *mine_argv[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BUSY, "spin", "3605", NULL};
	char *root_argv[] = {BUSY, "spin", "3605", NULL};
	pid_t mine = spawn(mine_argv), root = spawn(root_argv);
	/* one service, one process entity per pid */
	struct swp_rule rules[] = {{.sz = sizeof(struct swp_rule), .cmd_regex = "busy spin 3605$", .service = "callersvc",
				    .process = "{exe}-{pid}"}};
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = sub, .profiling = SWP_PROFILING_ON, .frequency = 99,
				 .flush_interval_ms = 300, .scan_interval_ms = 300, .rules = rules, .n_rules = 1,
				 .process_min_age_ms = -1};
	swp_core *c = NULL;
	msleep(200);
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (!c)
		goto out;
	CHECK_EQ_INT(swp_processes_rescan(c), 0);
	char mine_name[64], root_name[64];
	snprintf(mine_name, sizeof(mine_name), "\"name\":\"busy-%d\"", mine);
	snprintf(root_name, sizeof(root_name), "\"name\":\"busy-%d\"", root);
	struct swp_buf j = {0};
	CHECK_EQ_INT(swp_processes_json(c, "Y2FsbGVyc3Zj.1", NULL, NULL, 0, 0, &j), 0);
	CHECK_CONTAINS(j.data, mine_name);
	CHECK_CONTAINS(j.data, root_name);
	char root_proc[80];
	const char *at = strstr(j.data, root_name); /* its object starts {"id":"..." right before */
	while (at && at > j.data && strncmp(at, "{\"id\":", 6) != 0)
		at--;
	json_get(at ? at : j.data, "id", root_proc, sizeof(root_proc));
	CHECK_EQ_INT(strlen(root_proc), 64);
	swp_buf_free(&j);

	swp_caller_set(65534);
	CHECK_EQ_INT(swp_processes_json(c, "Y2FsbGVyc3Zj.1", NULL, NULL, 0, 0, &j), 0);
	CHECK_CONTAINS(j.data, mine_name);
	CHECK(!strstr(j.data, root_name));
	swp_buf_free(&j);
	/* root's process, by its id: unknown to this caller */
	struct swp_task_create seed = {.sz = sizeof(seed), .has_finder = 1, .finder_type = "PROCESS_ID",
				       .process_id = root_proc, .target_type = "ON_CPU", .duration_s = 60};
	CHECK_EQ_INT(swp_task_create(c, &seed, &j), 0);
	CHECK_CONTAINS(j.data, "could not found process");
	swp_buf_free(&j);
	/* the service: its task profiles the caller's process only */
	struct swp_task_create t = {.sz = sizeof(t), .service_id = "Y2FsbGVyc3Zj.1", .target_type = "ON_CPU",
				    .duration_s = 60};
	CHECK_EQ_INT(swp_task_create(c, &t, &j), 0);
	CHECK_CONTAINS(j.data, "\"status\":true");
	char task[32];
	json_get(j.data, "id", task, sizeof(task));
	swp_buf_free(&j);
	swp_caller_set(-1);
	msleep(1500);
	CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &j), 0);
	printf("caller's task: %s\n", j.data);
	CHECK_EQ_INT(count_of(j.data, "\"scheduleId\""), 1);
	CHECK_CONTAINS(j.data, mine_name);
	swp_buf_free(&j);
	/* another caller sees neither the task nor its schedules; root sees it */
	swp_caller_set(1000);
	struct swp_task_query q = {.sz = sizeof(q), .service_id = "Y2FsbGVyc3Zj.1"};
	CHECK_EQ_INT(swp_tasks_json(c, &q, &j), 0);
	CHECK_EQ_STR(j.data, "[]");
	swp_buf_free(&j);
	CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &j), 0);
	CHECK_EQ_STR(j.data, "[]");
	swp_buf_free(&j);
	char *tree = analyze_task(c, task);
	CHECK_CONTAINS(tree, "could not found task");
	free(tree);
	swp_caller_set(0);
	CHECK_EQ_INT(swp_tasks_json(c, &q, &j), 0);
	CHECK_CONTAINS(j.data, task);
	swp_buf_free(&j);
	swp_caller_set(-1);
	swp_core_close(c);
out:
	stop(mine, SIGKILL);
	stop(root, SIGKILL);
}

/* Sums the counts of the folded lines that hold `needle` (and `also`, when given). */
static long long folded_sum(const char *folded, const char *needle, const char *also)
{
	long long n = 0;
	for (const char *l = folded; l && *l;) {
		const char *e = strchr(l, '\n');
		const char *end = e ? e : l + strlen(l), *sp = end;
		while (sp > l && sp[-1] != ' ')
			sp--;
		bool hit = sp > l && memmem(l, (size_t)(sp - l), needle, strlen(needle)) &&
			   (!also || memmem(l, (size_t)(sp - l), also, strlen(also)));
		if (hit)
			n += atoll(sp);
		l = e ? e + 1 : NULL;
	}
	return n;
}

/* OFF_CPU: `swprof record --target off-cpu` on a program that naps a known number of times for a
 * known time (it measures them itself) and has a thread blocked in a pipe read: switches count the
 * naps, blocked time sums their time, the reader's stack has the kernel's pipe read; a program
 * that never blocks adds nothing. */
static void test_off_cpu(void)
{
	static char out[1 << 17];
	char sout[128], cmd[1024];
	snprintf(sout, sizeof(sout), "%s/sleeper.out", dir);
	const char *aggregates[] = {"count", "duration"};
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "%s/sleeper 20 50 > %s & P=$!; %s record --pid $P --duration 20 --target off-cpu "
			 "--aggregate %s; wait $P", SWPROF_TARGETS_DIR, sout, SWPROF_CLI, aggregates[i]);
		CHECK_EQ_INT(run_shell(cmd, out, sizeof(out)), 0);
		char said[256] = "";
		FILE *f = fopen(sout, "r");
		if (f) {
			if (!fgets(said, sizeof(said), f))
				said[0] = 0;
			fclose(f);
		}
		const char *sl = strstr(said, "slept_ns=");
		long long slept = sl ? atoll(sl + 9) : -1;
		/* frame pointers: nap (under nap_loop) and pipe_reader call libc wrappers that set up no frame,
		 * so the stack goes nap_loop -> clock_nanosleep and start_thread -> read (DWARF is issue 12's) */
		long long naps = folded_sum(out, ";nap_loop;", NULL), reader = folded_sum(out, ";read;", "pipe_read_[k]");
		printf("off-cpu (%s): naps %lld, pipe reader %lld; the program says %s", aggregates[i], naps, reader, said);
		if (i == 0) {
			CHECK(naps >= 19 && naps <= 21); /* 20 naps, give or take one at the edges */
		} else {
			CHECK(slept > 0);
			CHECK(naps >= (long long)(slept * 0.9) && naps <= (long long)(slept * 1.1));
		}
		CHECK(reader > 0); /* blocked in read(), the kernel's pipe_read under it */
	}
	/* the server's way: ON_CPU and OFF_CPU tasks on the same process at once, independent; the
	 * OFF_CPU schedule analysed by switches and by blocked time */
	char sub[96], sleeper[128];
	snprintf(sub, sizeof(sub), "%s/offcpu", dir);
	snprintf(sleeper, sizeof(sleeper), "%s/sleeper", SWPROF_TARGETS_DIR);
	char *sl_argv[] = {sleeper, "30", "40", "1500", NULL};
	pid_t sp = spawn(sl_argv);
	struct swp_rule rules[] = {{.sz = sizeof(struct swp_rule), .cmd_regex = "sleeper 30 40 1500$", .service = "napsvc"}};
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = sub, .profiling = SWP_PROFILING_ON, .frequency = 99,
				 .flush_interval_ms = 300, .scan_interval_ms = 300, .rules = rules, .n_rules = 1,
				 .process_min_age_ms = -1};
	swp_core *c = NULL;
	msleep(100);
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (c) {
		CHECK_EQ_INT(swp_processes_rescan(c), 0);
		char ids[2][32];
		const char *targets[] = {"OFF_CPU", "ON_CPU"};
		for (int i = 0; i < 2; i++) {
			struct swp_task_create t = {.sz = sizeof(t), .service_id = "bmFwc3Zj.1", .target_type = targets[i],
						    .duration_s = 60};
			struct swp_buf r = {0};
			CHECK_EQ_INT(swp_task_create(c, &t, &r), 0);
			CHECK_CONTAINS(r.data, "\"status\":true");
			json_get(r.data, "id", ids[i], sizeof(ids[i]));
			swp_buf_free(&r);
		}
		int st = 0;
		CHECK_EQ_INT(waitpid(sp, &st, 0), sp); /* 1.5 s pause, 30 naps of 40 ms, 30 spins of 40 ms */
		sp = -1;
		msleep(1000);
		struct swp_time_range all = {0, INT64_MAX / 2};
		struct swp_buf a = {0};
		for (int agg = 0; agg < 2; agg++) {
			struct swp_analyze_req q = {.sz = sizeof(q), .task_id = ids[0], .ranges = &all, .n_ranges = 1,
						    .aggregate = agg ? SWP_AGG_DURATION : SWP_AGG_COUNT};
			CHECK_EQ_INT(swp_analyze(c, &q, &a), 0);
			static struct elem v[MAX_ELEMS];
			int n = parse_elements(a.data, v, MAX_ELEMS);
			const struct elem *nap = find_elem(v, n, "nap_loop");
			printf("OFF_CPU task, %s: nap_loop %lld\n", agg ? "DURATION" : "COUNT", nap ? nap->count : -1);
			CHECK(nap != NULL);
			if (nap && !agg)
				CHECK(nap->count >= 29 && nap->count <= 31);
			if (nap && agg) /* 30 x 40 ms, and the wake-ups' latency */
				CHECK(nap->count >= 30LL * 40000000 * 9 / 10 && nap->count <= 30LL * 40000000 * 13 / 10);
			CHECK(!find_elem(v, n, "spin")); /* spinning is not waiting */
			swp_buf_free(&a);
		}
		char *tree = analyze_task(c, ids[1]);
		CHECK_CONTAINS(tree, "\"symbol\":\"spin\"");
		free(tree);
		swp_core_close(c);
	}
	if (sp > 0)
		stop(sp, SIGKILL);

	/* a program that never blocks: nothing */
	char *spin_argv[] = {BUSY, "spin", "4", NULL};
	pid_t b = spawn(spin_argv);
	msleep(300);
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 2 --target off-cpu", SWPROF_CLI, (int)b);
	CHECK_EQ_INT(run_shell(cmd, out, sizeof(out)), 0);
	printf("off-cpu of a spinning program: \"%.200s\"\n", out);
	CHECK_EQ_INT(folded_sum(out, "", NULL), 0);
	stop(b, SIGKILL);
}

/* A profiling core in dir/sub whose one rule names service (the only service: id "<base64>.1")
 * the processes matching regex, with a 60 s ON_CPU task on it (its id in task); NULL on failure. */
static swp_core *core_with_task(const char *sub, const char *regex, const char *service, const char *unwind,
				uint32_t ustack, char *task, size_t n)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	struct swp_rule rules[] = {{.sz = sizeof(struct swp_rule), .cmd_regex = regex, .service = service}};
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = path, .profiling = SWP_PROFILING_ON, .frequency = 99,
				 .flush_interval_ms = 500, .scan_interval_ms = 300, .rules = rules, .n_rules = 1,
				 .process_min_age_ms = -1, .unwind = unwind, .ustack_bytes = ustack};
	swp_core *c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (!c)
		return NULL;
	CHECK_EQ_INT(swp_processes_rescan(c), 0);
	struct swp_buf sj = {0};
	CHECK_EQ_INT(swp_services_json(c, NULL, &sj), 0);
	char sid[64] = "";
	json_get(sj.data, "id", sid, sizeof(sid));
	swp_buf_free(&sj);
	struct swp_task_create t = {.sz = sizeof(t), .service_id = sid, .target_type = "ON_CPU", .duration_s = 60};
	struct swp_buf r = {0};
	CHECK_EQ_INT(swp_task_create(c, &t, &r), 0);
	json_get(r.data, "id", task, n);
	swp_buf_free(&r);
	return c;
}

/* Java frames by name: a JVM started with -XX:+PreserveFramePointer (the README's advice) is asked
 * for its perf map (jcmd Compiler.perfmap through the attach mechanism) when its run starts, so
 * its compiled code shows as package.Class::method: `swprof record`, and a task of the core. */
static void test_jvm(void)
{
	static char out[1 << 17];
	char jdir[96], cmd[1024];
	snprintf(jdir, sizeof(jdir), "%s/jvm", dir);
	mkdir(jdir, 0755);
	snprintf(cmd, sizeof(cmd), "%s/Spin.java", jdir);
	FILE *f = fopen(cmd, "w");
	if (!f)
		return;
	fputs("public class Spin {\n"
	      "    static volatile long sink;\n"
	      "    static long hot(long x) { long s = 0; for (int i = 0; i < 200000; i++) s += (x ^ i) * 31 + (s >>> 7); return s; }\n"
	      "    static long middle(long x) { long s = 0; for (int k = 0; k < 8; k++) s += hot(x + k); return s; }\n"
	      "    public static void main(String[] a) {\n"
	      "        long end = System.nanoTime() + Long.parseLong(a[0]) * 1000000000L;\n"
	      "        while (System.nanoTime() < end) sink += middle(sink);\n"
	      "    }\n"
	      "}\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "javac -d %s %s/Spin.java 2>&1", jdir, jdir);
	CHECK_EQ_INT(run_shell(cmd, out, sizeof(out)), 0);
	char cp[128];
	snprintf(cp, sizeof(cp), "%s", jdir);
	char *java_argv[] = {"/usr/bin/env", "java", "-XX:+PreserveFramePointer", "-cp", cp, "Spin", "3606", NULL};
	pid_t j = spawn(java_argv);
	msleep(2000); /* started, and Spin's methods compiled */

	/* swprof record */
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 3", SWPROF_CLI, (int)j);
	CHECK_EQ_INT(run_shell(cmd, out, sizeof(out)), 0);
	/* middle, and hot under it until C2 inlines it there */
	long long hot = folded_sum(out, ";Spin::middle", NULL), all = folded_sum(out, "", NULL);
	printf("jvm, swprof record: Spin::middle %lld of %lld samples\n", hot, all);
	CHECK(hot >= all / 2);
	CHECK_CONTAINS(out, ";Interpreter;Spin::middle"); /* main runs in the interpreter */

	/* a task on it */
	char task[32];
	swp_core *c = core_with_task("jvmcore", "Spin 3606$", "jvmsvc", NULL, 0, task, sizeof(task));
	if (c) {
		msleep(4000);
		char *tree = analyze_task(c, task);
		static struct elem v[MAX_ELEMS];
		int n = parse_elements(tree, v, MAX_ELEMS);
		const struct elem *h = find_elem(v, n, "Spin::middle");
		printf("jvm, a task: Spin::middle %lld\n", h ? h->count : -1);
		CHECK(h != NULL && h->count > 150); /* 4 s at 99 Hz, but for the first flush before the map came */
		/* and its callers named: the interpreted main above it, not [unknown] (a JIT frame has no
		 * tables: it is walked by its frame pointers, not libunwind's guess) */
		long long lost_caller = 0, hot_all = 0;
		for (int i = 0; i < n; i++)
			for (int k = 0; k < n && !strcmp(v[i].symbol, "Spin::middle"); k++)
				if (v[k].tree == v[i].tree && v[k].id == v[i].parent) {
					hot_all += v[i].count;
					lost_caller += !strcmp(v[k].symbol, "[unknown]") ? v[i].count : 0;
				}
		printf("jvm, a task: Spin::middle under [unknown] %lld of %lld\n", lost_caller, hot_all);
		CHECK(hot_all > 0 && lost_caller * 10 < hot_all);
		free(tree);
		swp_core_close(c);
	}
	stop(j, SIGKILL);

	/* Node.js with --perf-basic-prof: JS functions by name */
	snprintf(cmd, sizeof(cmd), "%s/fib.js", jdir);
	f = fopen(cmd, "w");
	if (!f)
		return;
	fputs("function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n"
	      "const end = Date.now() + 8000; let s = 0;\n"
	      "while (Date.now() < end) s += fib(25);\n", f);
	fclose(f);
	char js[128];
	snprintf(js, sizeof(js), "%s/fib.js", jdir);
	char *node_argv[] = {"/usr/bin/env", "node", "--perf-basic-prof", "--interpreted-frames-native-stack", js, NULL};
	pid_t nd = spawn(node_argv);
	msleep(1500);
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 2", SWPROF_CLI, (int)nd);
	CHECK_EQ_INT(run_shell(cmd, out, sizeof(out)), 0);
	long long fib = folded_sum(out, ";JS:*fib ", NULL) + folded_sum(out, ";JS:~fib ", NULL);
	all = folded_sum(out, "", NULL);
	printf("node: JS fib in %lld of %lld samples\n", fib, all);
	CHECK(fib >= all / 2);
	stop(nd, SIGKILL);
}

/* `swprof record --pid <it> ARGS` of a program started for it (and killed after): its stdout in out. */
static void record_of(char *argv[], const char *args, char *out, size_t n)
{
	pid_t p = spawn(argv);
	msleep(200);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s record --pid %d %s", SWPROF_CLI, (int)p, args);
	CHECK_EQ_INT(run_shell(cmd, out, n), 0);
	stop(p, SIGKILL);
}

/* The share of nofp's samples (of a program running as argv) with the whole chain under mode. */
static void debug_frame_chain(char *argv[], const char *mode, const char *what)
{
	static char out[1 << 18];
	char args[64];
	snprintf(args, sizeof(args), "--duration 2 --unwind %s", mode);
	record_of(argv, args, out, sizeof(out));
	long long all = folded_sum(out, "", NULL), chain = folded_sum(out, ";main;chain_a;chain_b;chain_c", NULL),
		  cb = folded_sum(out, ";qsort_r;", ";cmp_keys");
	printf("unwind %s, %s: whole chain in %lld of %lld samples; qsort -> cmp_keys %lld\n", mode, what, chain, all, cb);
	CHECK(all > 20 && chain * 100 >= all * 99);
	CHECK(cb * 50 > all);
}

/* nofp's code with its unwind tables in .debug_frame (nofp_df: -fno-asynchronous-unwind-tables),
 * in the file itself, then only in its debug file found by build id (the file stripped of it). */
static void test_unwind_debug_frame(void)
{
	char *argv[] = {SWPROF_TARGETS_DIR "/nofp_df", "2.5", NULL};
	debug_frame_chain(argv, "dwarf", ".debug_frame");
	debug_frame_chain(argv, "auto", ".debug_frame");

	char dir[] = "/tmp/swprof-dbgframe-XXXXXX", cmd[1024], id[130] = "", dbg[300] = "", bin[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(bin, sizeof(bin), "%s/nofp_df", dir);
	snprintf(cmd, sizeof(cmd), "cp %s/nofp_df %s && objcopy --only-keep-debug %s %s.debug && strip -g %s && "
		 "readelf -n %s | sed -n 's/.*Build ID: *//p'", SWPROF_TARGETS_DIR, bin, bin, bin, bin, bin);
	CHECK_EQ_INT(run_shell(cmd, id, sizeof(id)), 0);
	id[strcspn(id, "\n")] = 0;
	CHECK(strlen(id) > 2);
	snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
	snprintf(cmd, sizeof(cmd), "readelf -S %s | grep -c debug_frame; mkdir -p $(dirname %s) && cp %s.debug %s",
		 bin, dbg, bin, dbg);
	char got[64];
	run_shell(cmd, got, sizeof(got));
	CHECK_EQ_STR(got, "0\n"); /* the file has none left */
	char *stripped[] = {bin, "2.5", NULL};
	debug_frame_chain(stripped, "dwarf", "the debug file's .debug_frame");
	unlink(dbg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run_shell(cmd, got, sizeof(got));
}

/* Stacks through code without frame pointers: nofp (built -O2 -fomit-frame-pointer, on Debian's libc,
 * which has none either) spends its time in main -> chain_a -> chain_b -> chain_c: in its own leaf,
 * in libc's qsort calling back cmp_keys, in libc's memcpy. The kernel's frame-pointer walk loses
 * the callers (why the modes exist); dwarf and auto recover the whole chain in at least 99% of the
 * samples, through libc both ways. auto on busy (frame pointers) walks them and DWARF only below
 * main. A task of the core set to dwarf. A copy too
 * short for the stack (deep: 40 KiB of locals above the chain, 8 KiB copied) keeps the frames it
 * has under [incomplete] and is counted in the schedule. */
static void test_unwind(void)
{
	static char out[1 << 18];
	char cmd[512];
	char *argv[] = {SWPROF_TARGETS_DIR "/nofp", "3605", NULL};
	pid_t p = spawn(argv);
	msleep(300);
	const char *modes[] = {"fp", "dwarf", "auto"};
	for (int i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 3 --unwind %s", SWPROF_CLI, (int)p, modes[i]);
		double cpu0 = cpu_seconds(p);
		CHECK_EQ_INT(run_shell(cmd, out, sizeof(out)), 0);
		double cpu = cpu_seconds(p) - cpu0; /* its CPU time while recorded, about */
		long long all = folded_sum(out, "", NULL), chain = folded_sum(out, ";main;chain_a;chain_b;chain_c", NULL);
		long long cb = folded_sum(out, ";qsort_r;", ";cmp_keys"), cpy = folded_sum(out, ";chain_c;__mem", NULL);
		printf("unwind %s: whole chain in %lld of %lld samples (%.2f CPU s); qsort -> cmp_keys %lld, memcpy %lld\n",
		       modes[i], chain, all, cpu, cb, cpy);
		CHECK(all >= cpu * 99 * 0.6); /* none dropped on the way (its CPU time includes record's start) */
		if (i == 0) {
			CHECK(chain * 10 < all); /* frame pointers lose the callers */
		} else {
			CHECK(chain * 100 >= all * 99);
			CHECK(cb * 50 > all); /* libc between two frames of ours */
			CHECK(cpy * 50 > all); /* a libc leaf */
		}
	}
	stop(p, SIGKILL);
	test_unwind_debug_frame();

	/* auto, record's default, on code built with frame pointers: their walk, DWARF only below main (libc) */
	char *busy_argv[] = {BUSY, "spin", "3607", NULL};
	record_of(busy_argv, "--duration 2 2>&1", out, sizeof(out));
	long long all = folded_sum(out, "", NULL),
		  whole = folded_sum(out, "_start;__libc_start_main;__libc_start_call_main;main;outer;hot_loop", NULL);
	printf("unwind auto, frame pointers: whole in %lld of %lld samples\n", whole, all);
	CHECK(all > 0 && whole * 100 >= all * 99);
	CHECK_CONTAINS(out, " by frame pointers then DWARF, 0 by DWARF, 0 incomplete");

	/* auto past the end of the copy: deepfp (frame pointers) with 40 KiB of locals under the chain and 8 KiB
	 * copied: where the sampled code has frame pointers, the kernel's walk goes on to main (and stops in
	 * libc: counted incomplete); where it has none (memcpy), DWARF stops at the copy's end */
	char *deepfp_argv[] = {SWPROF_TARGETS_DIR "/deepfp", "3608", "deep", NULL};
	record_of(deepfp_argv, "--duration 2 --unwind auto --ustack-bytes 8192", out, sizeof(out));
	long long spins = folded_sum(out, ";spin", NULL),
		  kept = folded_sum(out, "[incomplete];__libc_start_call_main;main;deep_frame;chain_a;chain_b;chain_c;spin", NULL);
	printf("unwind auto, 8 KiB of a 40 KiB stack: main kept in %lld of %lld samples in spin\n", kept, spins);
	CHECK(spins > 0 && kept * 100 >= spins * 99);

	/* the core, configured for dwarf, with a copy too short for the deep stack */
	char *deep_argv[] = {SWPROF_TARGETS_DIR "/nofp", "3606", "deep", NULL};
	pid_t d = spawn(deep_argv);
	msleep(300); /* exec'd: the rule sees its command line */
	char task[32];
	swp_core *c = core_with_task("unwind", "nofp 3606 deep$", "nofpsvc", "dwarf", 8192, task, sizeof(task));
	if (c) {
		msleep(3000);
		char *tree = analyze_task(c, task);
		static struct elem v[MAX_ELEMS];
		int n = parse_elements(tree, v, MAX_ELEMS);
		const struct elem *inc = find_elem(v, n, "[incomplete]"), *cc = find_elem(v, n, "chain_c");
		printf("unwind, a dwarf task with 8 KiB copies of a 40 KiB stack: [incomplete] %lld, chain_c %lld\n",
		       inc ? inc->count : -1, cc ? cc->count : -1);
		CHECK(inc != NULL && cc != NULL && inc->count * 10 >= cc->count * 9); /* the frames kept, under it */
		struct swp_buf sj = {0};
		CHECK_EQ_INT(swp_schedules_json(c, task, 0, 0, &sj), 0);
		long long incomplete = sj.data && strstr(sj.data, "\"incompleteStacks\":")
					       ? atoll(strstr(sj.data, "\"incompleteStacks\":") + 19) : -1,
			  samples = sj.data && strstr(sj.data, "\"samples\":") ? atoll(strstr(sj.data, "\"samples\":") + 10) : -1;
		printf("unwind: schedule incompleteStacks %lld of %lld samples\n", incomplete, samples);
		CHECK(samples > 0 && incomplete * 10 >= samples * 9);
		swp_buf_free(&sj);
		free(tree);
		swp_core_close(c);
	}
	stop(d, SIGKILL);
}

/* `swprof record` shows its progress on a terminal (a pty here, from util-linux's script) and
 * stays quiet when stderr is not one. */
static void test_record_progress(void)
{
	static char out[1 << 16];
	char *argv[] = {BUSY, "spin", "6", NULL};
	pid_t b = spawn(argv);
	msleep(200);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "script -qec '%s record --pid %d --duration 2 >/dev/null' /dev/null", SWPROF_CLI, (int)b);
	CHECK_EQ_INT(run_shell(cmd, out, sizeof(out)), 0);
	printf("record on a terminal: %.160s\n", out);
	CHECK_CONTAINS(out, " s left, ");
	CHECK_CONTAINS(out, " samples, 0 lost");
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 1 2>&1 >/dev/null", SWPROF_CLI, (int)b);
	CHECK_EQ_INT(run_shell(cmd, out, sizeof(out)), 0);
	CHECK(!strstr(out, "recording:"));
	stop(b, SIGKILL);
}

/* The pids whose parent is pid (a pre-fork pool's workers). */
static int children_of(pid_t pid, pid_t *out, int max)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d)) && n < max) {
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		FILE *f = de->d_name[0] >= '1' && de->d_name[0] <= '9' ? fopen(path, "r") : NULL;
		if (!f)
			continue;
		size_t k = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[k] = 0;
		char *p = strrchr(buf, ')');
		int ppid = 0;
		if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == pid)
			out[n++] = atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

/* Every process a rule matches is profiled: a pre-fork pool (a parent and its forked workers, one
 * command line) and a second instance of the same program are one process entity of several pids,
 * one schedule, and its samples are the CPU time of them all. */
static void test_pool(void)
{
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/pool", dir);
	char *pool_argv[] = {BUSY, "spin", "3604", "forks", "2", NULL};
	char *again_argv[] = {BUSY, "spin", "3604", NULL};
	pid_t pool = spawn(pool_argv), again = spawn(again_argv);
	pid_t pids[8] = {pool, again};
	int n = 2;
	for (int i = 0; i < 50 && n < 3; i++) {
		msleep(20);
		n = 2 + children_of(pool, pids + 2, 6);
	}
	CHECK_EQ_INT(n, 3);
	struct swp_rule rules[] = {{.sz = sizeof(struct swp_rule), .cmd_regex = "busy spin 3604", .service = "poolsvc"}};
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = sub, .profiling = SWP_PROFILING_ON, .frequency = 99,
				 .flush_interval_ms = 500, .scan_interval_ms = 300, .rules = rules, .n_rules = 1,
				 .process_min_age_ms = -1};
	swp_core *c = NULL;
	CHECK_EQ_INT(swp_core_open(&cfg, &c), 0);
	if (!c)
		goto out;
	double cpu0[8], cpu = 0;
	for (int i = 0; i < n; i++)
		cpu0[i] = cpu_seconds(pids[i]); /* from before the task to after its last flush */
	CHECK_EQ_INT(swp_processes_rescan(c), 0);
	struct swp_buf pj = {0};
	CHECK_EQ_INT(swp_processes_json(c, "cG9vbHN2Yw==.1", NULL, NULL, 0, 0, &pj), 0);
	printf("pool: %s\n", pj.data);
	CHECK_EQ_INT(count_of(pj.data, "\"id\":\""), 1); /* one process entity */
	swp_buf_free(&pj);
	struct swp_task_create t = {.sz = sizeof(t), .service_id = "cG9vbHN2Yw==.1", .target_type = "ON_CPU",
				    .duration_s = 60};
	struct swp_buf r = {0};
	CHECK_EQ_INT(swp_task_create(c, &t, &r), 0);
	CHECK_CONTAINS(r.data, "\"status\":true");
	char task[32];
	json_get(r.data, "id", task, sizeof(task));
	swp_buf_free(&r);
	msleep(3000);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGSTOP); /* their CPU time stays what it is now; then the last flush */
	msleep(1200);
	double each[8];
	for (int i = 0; i < n; i++) {
		each[i] = cpu_seconds(pids[i]) - cpu0[i];
		cpu += each[i];
	}
	printf("pool: cpu of its %d pids %.2f + %.2f + %.2f s\n", n, each[0], each[1], each[2]);
	check_one_spin_schedule(c, task, 99.0 * cpu, 0.7);
	swp_core_close(c);
out:
	for (int i = n; i-- > 0;)
		stop(pids[i], SIGKILL);
}

int main(void)
{
	if (geteuid() != 0)
		return swp_test_skip("needs root for BPF");
	snprintf(dir, sizeof(dir), "/tmp/swprof-e2e-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	/* SWPROF_E2E_ONLY=unwind|jvm|off_cpu|pool: that case alone, while working on it */
	const char *only = getenv("SWPROF_E2E_ONLY");
	if (only) {
		static const struct {
			const char *name;
			void (*fn)(void);
		} cases[] = {{"unwind", test_unwind}, {"jvm", test_jvm}, {"off_cpu", test_off_cpu}, {"pool", test_pool}};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (!strcmp(only, cases[i].name))
				cases[i].fn();
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		CHECK_DONE();
	}

	char *spin_argv[] = {BUSY, "spin", "3601", NULL};
	char *sys_argv[] = {BUSY, "syscall", "3602", NULL};
	pid_t spin = spawn(spin_argv), sys = spawn(sys_argv);
	const char *lab[] = {"e2e", NULL};
	struct swp_rule rules[] = {
		{.sz = sizeof(struct swp_rule), .cmd_regex = "busy spin 3601$", .service = "spinsvc", .labels = lab},
		{.sz = sizeof(struct swp_rule), .cmd_regex = "busy syscall 3602$", .service = "syssvc", .labels = lab},
	};
	swp_core *c = open_profiling(rules, 2);
	if (!c) {
		stop(spin, SIGKILL);
		stop(sys, SIGKILL);
		return swp_test_skip(swp_last_error());
	}
	msleep(300);
	CHECK_EQ_INT(swp_processes_rescan(c), 0);
	struct swp_buf pj = {0};
	CHECK_EQ_INT(swp_processes_json(c, "c3BpbnN2Yw==.1", NULL, NULL, 0, 0, &pj), 0);
	char spin_proc[80];
	json_get(pj.data, "id", spin_proc, sizeof(spin_proc));
	CHECK_EQ_INT(strlen(spin_proc), 64);
	swp_buf_free(&pj);

	/* a seed task on the spin process, a current one on the syscall service: at once */
	struct swp_task_create t1 = {.sz = sizeof(t1), .has_finder = 1, .finder_type = "PROCESS_ID",
				     .process_id = spin_proc, .target_type = "ON_CPU", .duration_s = 60};
	struct swp_task_create t2 = {.sz = sizeof(t2), .service_id = "c3lzc3Zj.1", .labels = lab, .target_type = "ON_CPU",
				     .duration_s = 60};
	struct swp_buf r1 = {0}, r2 = {0};
	CHECK_EQ_INT(swp_task_create(c, &t1, &r1), 0);
	CHECK_EQ_INT(swp_task_create(c, &t2, &r2), 0);
	CHECK_CONTAINS(r1.data, "\"status\":true");
	CHECK_CONTAINS(r2.data, "\"status\":true");
	char task1[32], task2[32];
	json_get(r1.data, "id", task1, sizeof(task1));
	json_get(r2.data, "id", task2, sizeof(task2));
	double cpu0 = cpu_seconds(spin); /* the runs start at the scheduler's next tick, right away */
	msleep(3600);
	double cpu_spin = cpu_seconds(spin) - cpu0;

	/* the spin target exits in the middle of its task */
	stop(spin, SIGKILL);
	int64_t killed_at = (int64_t)time(NULL) * 1000;
	msleep(1500);
	char *tree = analyze_task(c, task1);
	check_spin_tree(tree, 99.0 * cpu_spin, 0.7);
	free(tree);
	struct swp_buf s = {0};
	CHECK_EQ_INT(swp_schedules_json(c, task1, 0, 0, &s), 0);
	CHECK_EQ_INT(count_of(s.data, "\"scheduleId\""), 1);
	char end[32];
	const char *e = strstr(s.data, "\"endTime\":");
	snprintf(end, sizeof(end), "%s", e ? e + 10 : "0");
	CHECK(atoll(end) <= killed_at + 1500);
	swp_buf_free(&s);

	/* kernel frames of the syscall target, separately */
	tree = analyze_task(c, task2);
	CHECK_CONTAINS(tree, "KERNEL_SPACE");
	CHECK_CONTAINS(tree, "\"symbol\":\"outer\"");
	CHECK(!strstr(tree, "hot_loop"));
	free(tree);

	/* the program starts again inside the task window: its schedule goes on with the new pid, and
	 * the task's analysis (and the schedule's time range) covers both runs */
	spin = spawn(spin_argv);
	cpu0 = cpu_seconds(spin);
	msleep(2500);
	double cpu_again = cpu_seconds(spin) - cpu0;
	CHECK_EQ_INT(swp_schedules_json(c, task1, 0, 0, &s), 0);
	CHECK_EQ_INT(count_of(s.data, "\"scheduleId\""), 1);
	char newpid[32];
	snprintf(newpid, sizeof(newpid), "{\"name\":\"pid\",\"value\":\"%d\"}", spin);
	CHECK_CONTAINS(s.data, newpid);
	e = strstr(s.data, "\"endTime\":");
	CHECK(e && atoll(e + 10) > killed_at + 1500);
	swp_buf_free(&s);
	tree = analyze_task(c, task1);
	check_spin_tree(tree, 99.0 * (cpu_spin + cpu_again), 0.7);
	free(tree);

	struct swp_buf st = {0};
	CHECK_EQ_INT(swp_core_stats_json(c, &st), 0);
	printf("stats: %s\n", st.data);
	CHECK_CONTAINS(st.data, "\"profilerError\":null");
	swp_buf_free(&st);
	swp_core_close(c);
	stop(spin, SIGKILL);
	stop(sys, SIGKILL);
	swp_buf_free(&r1);
	swp_buf_free(&r2);

	test_kill9();
	test_outage_kill9();
	test_min_age();
	test_no_capabilities();
	test_least_privilege();
	test_pool();
	test_caller();
	test_off_cpu();
	test_jvm();
	test_unwind();
	test_record_progress();
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_DONE();
}
