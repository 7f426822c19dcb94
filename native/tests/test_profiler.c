/*
 * The BPF profiler against real processes (targets/busy): sample counts against the CPU time
 * the target really used, pid separation, user frames inside hot_loop, kernel frames in
 * syscall mode, lost accounting, removal, a target exiting mid-run, the non-batch drain.
 * Needs root: exits 77 (skipped) where BPF is unavailable, unless SWPROF_REQUIRE_BPF=1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "profiler/profiler.h"

#define BUSY SWPROF_TARGETS_DIR "/busy"
#define HZ 99
#define MAXK 8

/* one busy process and what the profiler said about it */
struct kid {
	pid_t pid;
	uint64_t hot, outer, sysloop; /* run-time addresses printed by busy */
	uint64_t n, nk, nu, in_hot, in_outer, in_sysloop, lost;
	uint64_t bad_ip; /* samples with a zero ip, a user-half kernel ip or a kernel-half user ip */
};
static struct kid kids[MAXK];
static int nkids;
static uint64_t stray, stray_lost; /* samples/lost of pids that are no child of ours */
static uint64_t hot_sz, outer_sz, sysloop_sz;

static struct kid *kid_of(int pid)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i].pid == pid)
			return &kids[i];
	return NULL;
}

static void reset_tally(void)
{
	for (int i = 0; i < nkids; i++)
		kids[i].n = kids[i].nk = kids[i].nu = kids[i].in_hot = kids[i].in_outer = kids[i].in_sysloop =
			kids[i].lost = kids[i].bad_ip = 0;
	stray = stray_lost = 0;
}

static bool within(uint64_t ip, uint64_t lo, uint64_t sz)
{
	return ip >= lo && ip < lo + sz;
}

static void on_sample(void *ctx, int pid, const uint64_t *kips, uint32_t nk, const uint64_t *uips, uint32_t nu,
		      uint64_t count)
{
	struct kid *k = kid_of(pid);
	if (!k) {
		stray += count;
		return;
	}
	k->n += count;
	k->nk += nk ? count : 0;
	k->nu += nu ? count : 0;
	if (nu && within(uips[0], k->hot, hot_sz))
		k->in_hot += count;
	bool o = false, s = false, bad = false;
	for (uint32_t i = 0; i < nk; i++)
		bad |= kips[i] < 0xffff800000000000ull;
	for (uint32_t i = 0; i < nu; i++) {
		bad |= !uips[i] || uips[i] >= 0x800000000000ull;
		o |= within(uips[i], k->outer, outer_sz);
		s |= within(uips[i], k->sysloop, sysloop_sz);
	}
	k->in_outer += o ? count : 0;
	k->in_sysloop += s ? count : 0;
	k->bad_ip += bad ? count : 0;
}

static void on_lost(void *ctx, int pid, uint64_t n)
{
	struct kid *k = kid_of(pid);
	if (k)
		k->lost += n;
	else
		stray_lost += n;
}

/* the last notice of a target that left on its own */
static int gone_pid, gone_why;
static void on_gone(void *ctx, int pid, int why)
{
	gone_pid = pid;
	gone_why = why;
}

static const struct swp_sample_sink sink = { .sample = on_sample, .lost = on_lost, .gone = on_gone };

/* Starts busy with args; waits for its banner line. */
static struct kid *spawn_argv(char *const argv[])
{
	int fds[2];
	if (nkids == MAXK || pipe(fds))
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(BUSY, argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return NULL;
	}
	struct kid *k = &kids[nkids++];
	memset(k, 0, sizeof(*k));
	k->pid = pid;
	FILE *f = fdopen(fds[0], "r");
	char line[256] = "";
	int bpid = 0;
	void *hot = NULL, *sys = NULL, *outer = NULL;
	if (!f || !fgets(line, sizeof(line), f) ||
	    sscanf(line, "busy pid=%d mode=%*s hot_loop=%p syscall_loop=%p outer=%p", &bpid, &hot, &sys, &outer) != 4 ||
	    bpid != pid) {
		fprintf(stderr, "busy did not start: '%s'\n", line);
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	k->hot = (uintptr_t)hot;
	k->sysloop = (uintptr_t)sys;
	k->outer = (uintptr_t)outer;
	return k;
}

static struct kid *spawn(const char *mode, const char *seconds)
{
	char *argv[] = {"busy", (char *)mode, (char *)seconds, NULL};
	return spawn_argv(argv);
}

static void kill_all(void)
{
	for (int i = 0; i < nkids; i++) {
		if (kids[i].pid > 0) {
			kill(kids[i].pid, SIGKILL);
			waitpid(kids[i].pid, NULL, 0);
			kids[i].pid = -kids[i].pid; /* keep it out of kid_of() */
		}
	}
}

/* Sizes of the three functions from the binary's symbol table. */
static int read_sizes(void)
{
	FILE *f = popen("nm -S " BUSY, "r");
	char line[512], name[256];
	unsigned long long addr, size;
	char type;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %llx %c %255s", &addr, &size, &type, name) != 4)
			continue;
		if (!strcmp(name, "hot_loop"))
			hot_sz = size;
		else if (!strcmp(name, "outer"))
			outer_sz = size;
		else if (!strcmp(name, "syscall_loop"))
			sysloop_sz = size;
	}
	pclose(f);
	return hot_sz && outer_sz && sysloop_sz ? 0 : -1;
}

/* The CPU time a process's threads have had, in seconds, from the scheduler's own count
 * (/proc/PID/task/TID/schedstat, nanoseconds): utime + stime are sampled at the tick, which is
 * off by several ticks on a loaded machine, too coarse for a rate check over a second or two. */
static double cpu_seconds(pid_t pid)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	unsigned long long total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char f[320];
		snprintf(f, sizeof(f), "/proc/%d/task/%s/schedstat", pid, e->d_name);
		FILE *fp = fopen(f, "r");
		unsigned long long ns;
		if (fp && fscanf(fp, "%llu", &ns) == 1)
			total += ns;
		if (fp)
			fclose(fp);
	}
	closedir(d);
	return (double)total / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts))
		;
}

static int64_t drain(struct swp_profiler *p)
{
	int64_t n = swp__profiler_drain(p, &sink);
	if (n < 0)
		fprintf(stderr, "drain: %s\n", swp_last_error());
	CHECK(n >= 0);
	return n;
}

/* Profiles for `secs` seconds with a drain each second, and on until `k` has used at least
 * MIN_CPU seconds of CPU (a loaded machine gives it less), at most 30 s; returns the CPU seconds
 * it used, which the rates are checked against. */
#define MIN_CPU 0.5
static double profile(struct swp_profiler *p, struct kid *k, int secs)
{
	drain(p);
	reset_tally();
	double c0 = cpu_seconds(k->pid);
	for (int i = 0; i < 30 && (i < secs || cpu_seconds(k->pid) - c0 < MIN_CPU); i++) {
		sleep_ms(1000);
		drain(p);
	}
	return cpu_seconds(k->pid) - c0;
}

static void check_rate(const char *what, uint64_t n, double cpu)
{
	double expected = HZ * cpu;
	printf("%s: %" PRIu64 " samples, expected %.0f (%.2f CPU s at %d Hz)\n", what, n, expected, cpu, HZ);
	CHECK(n >= 0.7 * expected);
	CHECK(n <= 1.3 * expected + 5);
}

static void log_stderr(int level, const char *msg, void *ctx)
{
	fprintf(stderr, "[%d] %s\n", level, msg);
}

static int run(void)
{
	struct swp_profiler *p = NULL;
	struct swp_profiler_opts o = { .sz = sizeof(o), .frequency = HZ };
	int err;

	swp_set_log(log_stderr, NULL, SWP_LOG_WARN);
	if (geteuid() != 0)
		return swp_test_skip("not root");
	err = swp__profiler_open(&o, &p);
	if (err == -EPERM || err == -EACCES || err == -ENOSYS || err == -EOPNOTSUPP)
		return swp_test_skip(swp_last_error());
	if (err) {
		fprintf(stderr, "open: %s\n", swp_last_error());
		CHECK_EQ_INT(err, 0);
		CHECK_DONE();
	}
	CHECK_EQ_INT(read_sizes(), 0);

	/* 1. one spinning target next to an unprofiled twin */
	struct kid *a = spawn("spin", "0"), *b = spawn("spin", "0");
	CHECK(a && b);
	if (!a || !b)
		goto out;
	CHECK_EQ_INT(swp__profiler_add_pid(p, a->pid), 0);
	double cpu = profile(p, a, 3);
	CHECK(cpu > 0.3); /* the machine may be busy: the rate check uses the CPU time measured */
	check_rate("spin target", a->n, cpu);
	printf("  user stacks %" PRIu64 ", leaf in hot_loop %" PRIu64 ", outer on stack %" PRIu64
	       ", kernel stacks %" PRIu64 ", lost %" PRIu64 "\n",
	       a->nu, a->in_hot, a->in_outer, a->nk, a->lost);
	CHECK_EQ_INT(b->n, 0);
	CHECK_EQ_INT(stray, 0);
	CHECK_EQ_INT(a->nu, a->n);
	CHECK(a->in_hot >= 0.9 * a->n);
	CHECK(a->in_outer >= 0.9 * a->n);
	CHECK_EQ_INT(a->lost + b->lost + stray_lost, 0);

	/* 2. a second target in syscall mode: separated by pid, with kernel stacks */
	struct kid *c = spawn("syscall", "0");
	CHECK(c != NULL);
	if (!c)
		goto out;
	CHECK_EQ_INT(swp__profiler_add_pid(p, c->pid), 0);
	cpu = profile(p, c, 2);
	check_rate("syscall target", c->n, cpu);
	printf("  kernel stacks %" PRIu64 ", user stacks %" PRIu64 ", outer on stack %" PRIu64
	       ", syscall_loop on stack %" PRIu64 "; spin target meanwhile %" PRIu64 " (kernel %" PRIu64 ")\n",
	       c->nk, c->nu, c->in_outer, c->in_sysloop, a->n, a->nk);
	CHECK(a->n > 0);
	CHECK_EQ_INT(b->n, 0);
	CHECK_EQ_INT(stray, 0);
	CHECK(c->nk >= 0.1 * c->n);
	CHECK_EQ_INT(a->bad_ip + c->bad_ip, 0);
	/* glibc's syscall() is frameless: FP unwinding skips syscall_loop, outer is next */
	CHECK(c->in_outer >= 0.9 * c->n);
	CHECK(a->in_hot >= 0.9 * a->n);
	CHECK_EQ_INT(c->in_hot, 0);
	CHECK_EQ_INT(a->lost + c->lost + stray_lost, 0);

	/* 3. removing a pid stops its samples (two drains flush what was counted before) */
	CHECK_EQ_INT(swp__profiler_remove_pid(p, a->pid), 0);
	CHECK_EQ_INT(swp__profiler_remove_pid(p, a->pid), -ENOENT);
	drain(p);
	drain(p);
	reset_tally();
	sleep_ms(1000);
	drain(p);
	printf("after removal: spin %" PRIu64 ", syscall %" PRIu64 "\n", a->n, c->n);
	CHECK_EQ_INT(a->n, 0);
	CHECK(c->n > 0);

	/* 4. a target that exits while profiled (its CPU time from wait4) */
	kill(a->pid, SIGKILL);
	waitpid(a->pid, NULL, 0);
	a->pid = -a->pid;
	struct kid *d = spawn("spin", "0.5");
	CHECK(d != NULL);
	if (!d)
		goto out;
	CHECK_EQ_INT(swp__profiler_add_pid(p, d->pid), 0);
	reset_tally();
	sleep_ms(1000);
	int st = -1;
	struct rusage ru;
	CHECK_EQ_INT(wait4(d->pid, &st, 0, &ru), d->pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int64_t n = drain(p);
	printf("exiting target: drain returned %" PRId64 "\n", n);
	check_rate("  exited target", d->n, ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
						   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	CHECK(d->n > 0);
	/* its last thread's exit took it out of the targets at once (its pid may be reused now) */
	CHECK_EQ_INT(gone_pid, d->pid);
	CHECK_EQ_INT(gone_why, SWP_GONE_EXIT);
	CHECK_EQ_INT(swp__profiler_remove_pid(p, d->pid), -ENOENT);
	d->pid = -d->pid;
	CHECK(drain(p) >= 0);

	/* 4b. a target that execs another program: taken out at the exec, nothing of the new program
	 * counted as it (busy spin for 1 s, then busy syscall under the same pid) */
	char *exec_argv[] = {"busy", "spin", "1", "exec", BUSY, "syscall", "3", NULL};
	struct kid *x = spawn_argv(exec_argv);
	CHECK(x != NULL);
	if (!x)
		goto out;
	CHECK_EQ_INT(swp__profiler_add_pid(p, x->pid), 0);
	reset_tally();
	gone_pid = gone_why = 0;
	sleep_ms(2500);
	drain(p);
	printf("exec'd target: %" PRIu64 " samples, in hot_loop %" PRIu64 ", kernel %" PRIu64 ", gone %d (%d)\n", x->n,
	       x->in_hot, x->nk, gone_pid, gone_why);
	CHECK_EQ_INT(gone_pid, x->pid);
	CHECK_EQ_INT(gone_why, SWP_GONE_EXEC);
	CHECK(x->in_hot > 0);      /* the spin before the exec */
	CHECK_EQ_INT(x->in_sysloop, 0); /* the syscall loop after it: not this process's */
	CHECK_EQ_INT(swp__profiler_remove_pid(p, x->pid), -ENOENT);
	swp__profiler_close(p);
	p = NULL;

	/* 5. tiny maps: collisions and a full count map are reported lost, never dropped */
	struct swp_profiler_opts tiny = { .sz = sizeof(tiny), .frequency = HZ, .max_stacks = 4, .max_counts = 2,
					  .no_batch = true };
	CHECK_EQ_INT(swp__profiler_open(&tiny, &p), 0);
	if (!p)
		goto out;
	CHECK_EQ_INT(swp__profiler_add_pid(p, c->pid), 0);
	cpu = profile(p, c, 2);
	uint64_t lost = c->lost;
	check_rate("tiny maps, samples + lost", c->n + lost, cpu);
	printf("  recorded %" PRIu64 ", lost %" PRIu64 "\n", c->n, lost);
	CHECK(lost > 0);
	CHECK(c->n > 0);
	CHECK_EQ_INT(stray + stray_lost, 0);
	swp__profiler_close(p);
	p = NULL;

	/* 6. full-size maps drained without batch ops */
	struct swp_profiler_opts iter = { .sz = sizeof(iter), .frequency = HZ, .no_batch = true };
	CHECK_EQ_INT(swp__profiler_open(&iter, &p), 0);
	if (!p)
		goto out;
	CHECK_EQ_INT(swp__profiler_add_pid(p, b->pid), 0);
	cpu = profile(p, b, 2);
	check_rate("get_next_key drain", b->n, cpu);
	CHECK(b->in_hot >= 0.9 * b->n);
	CHECK_EQ_INT(b->lost + stray + stray_lost, 0);
out:
	swp__profiler_close(p);
	kill_all();
	CHECK_DONE();
}

int main(void)
{
	return run();
}
