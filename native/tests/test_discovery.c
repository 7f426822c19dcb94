/* discovery: templates, rule order, defaults, bad rules, and scans of real child processes
 * (sleep started under a distinctive argv[0]) that start, become zombies and go away. */
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tasks/discovery.h"

static int children[8];
static int n_children;

/* Runs exe with argv {argv0, arg} and waits until the exec has happened. */
static int spawn(const char *exe, const char *argv0, const char *arg)
{
	int pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(exe, argv0, arg, (char *)NULL);
		_exit(127);
	}
	children[n_children++] = pid;
	for (int i = 0; i < 500; i++) {
		struct swp_discovered p;
		int ok = swp__proc_read(pid, &p) == 0 && strncmp(p.cmdline, argv0, strlen(argv0)) == 0;
		swp__discovered_clear(&p);
		if (ok)
			return pid;
		usleep(10000);
	}
	fprintf(stderr, "child %d never ran %s\n", pid, exe);
	exit(2);
}

static void reap(int pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < n_children; i++)
		if (children[i] == pid)
			children[i] = children[--n_children];
}

static char state_of(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

/* start time as the shell reads it (the child's comm has no spaces) */
static long long external_start_ticks(int pid)
{
	char cmd[128], line[64] = "";
	snprintf(cmd, sizeof(cmd), "cut -d' ' -f22 /proc/%d/stat", pid);
	FILE *f = popen(cmd, "r");
	if (!f || !fgets(line, sizeof(line), f))
		line[0] = 0;
	if (f)
		pclose(f);
	return atoll(line);
}

static const struct swp_discovered *find(const struct swp_discovered *v, size_t n, int pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid)
			return &v[i];
	return NULL;
}

static void test_templates(void)
{
	struct swp_discovered p = {.pid = 42, .exe_name = "java", .rule = -1};
	const char *cmd = "java -jar app.jar";
	regmatch_t m[10];
	for (int i = 0; i < 10; i++)
		m[i].rm_so = m[i].rm_eo = -1;
	m[0].rm_so = 0, m[0].rm_eo = 17;
	m[1].rm_so = 5, m[1].rm_eo = 9;
	struct swp_buf b = {0};
	CHECK_EQ_INT(swp__expand_template("{exe}:{pid}:{1}:{2}:{0}:{x}:{:{{exe}}:{1", &p, m, cmd, &b), 0);
	CHECK_EQ_STR(b.data, "java:42:-jar::{0}:{x}:{:{java}:{1");
	swp__buf_reset(&b);
	CHECK_EQ_INT(swp__expand_template("g={1}", &p, NULL, cmd, &b), 0);
	CHECK_EQ_STR(b.data, "g=");
	CHECK_EQ_INT(swp__expand_template(NULL, &p, m, cmd, &b), -EINVAL);
	swp_buf_free(&b);
}

static void test_bad_rules(void)
{
	struct swp_discovery *d = NULL;
	struct swp_rule bad[] = {
		{.sz = sizeof(struct swp_rule), .cmd_regex = "ok", .service = "a"},
		{.sz = sizeof(struct swp_rule), .cmd_regex = "sleep (", .service = "b"},
	};
	CHECK_EQ_INT(swp__discovery_new(bad, 2, "h", &d), -EINVAL);
	CHECK_CONTAINS(swp_last_error(), "rules[1]");
	CHECK_CONTAINS(swp_last_error(), "sleep (");
	CHECK(d == NULL);

	struct swp_rule no_service = {.sz = sizeof(struct swp_rule), .cmd_regex = "x"};
	CHECK_EQ_INT(swp__discovery_new(&no_service, 1, "h", &d), -EINVAL);
	CHECK_CONTAINS(swp_last_error(), "rules[0]: service is required");
	CHECK_EQ_INT(swp__discovery_new(NULL, 0, NULL, &d), 0); /* no rules: nothing matches */
	CHECK(d && *swp__discovery_host_name(d));
	swp__discovery_free(d);
}

static void test_proc_read_self(const char *argv0)
{
	struct swp_discovered p;
	const char *slash = strrchr(argv0, '/');
	CHECK_EQ_INT(swp__proc_read(getpid(), &p), 0);
	CHECK_EQ_STR(p.exe_name, slash ? slash + 1 : argv0);
	CHECK_CONTAINS(p.cmdline, argv0);
	CHECK(p.start_ticks > 0);
	CHECK(p.service == NULL && p.rule == -1);
	swp__discovered_clear(&p);
	CHECK_EQ_INT(swp__proc_read(INT_MAX, &p), -ENOENT);
	CHECK_EQ_INT(swp__proc_read(-1, &p), -ENOENT);
}

static void test_scan(const char *sleep_path, const char *sleep_name)
{
	char tag[32], rx[160], args_a[64], args_b[64];
	snprintf(tag, sizeof(tag), "swpdisc-%d", (int)getpid());
	snprintf(rx, sizeof(rx), "^%s-(a|b) ([0-9]+)$", tag);
	snprintf(args_a, sizeof(args_a), "%s-a", tag);
	snprintf(args_b, sizeof(args_b), "%s-b", tag);
	const char *labels[] = {"L-{1}", "{exe}", "{9}", NULL};
	struct swp_rule rules[] = {
		{.sz = sizeof(struct swp_rule), .cmd_regex = "^no such command line$", .service = "never"},
		{.sz = sizeof(struct swp_rule), .cmd_regex = rx, .service = "svc-{1}", .instance = "inst-{pid}",
		 .process = "{exe}-{2}", .labels = labels},
		{.sz = sizeof(struct swp_rule), .cmd_regex = tag, .service = "second"},
		{.sz = sizeof(struct swp_rule), .cmd_regex = ".", .service = "{exe}"},
	};
	struct swp_discovery *d;
	CHECK_EQ_INT(swp__discovery_new(rules, SWP_ARRAY_SIZE(rules), "testhost", &d), 0);

	int a = spawn(sleep_path, args_a, "1000");
	int b = spawn(sleep_path, args_b, "1001");
	struct swp_discovered *v;
	size_t n;
	CHECK_EQ_INT(swp__discovery_scan(d, &v, &n), 0);
	const struct swp_discovered *pa = find(v, n, a), *pb = find(v, n, b);
	CHECK(pa && pb);
	if (pa && pb) {
		char want[128];
		CHECK_EQ_INT(pa->rule, 1);
		CHECK_EQ_STR(pa->service, "svc-a");
		snprintf(want, sizeof(want), "inst-%d", a);
		CHECK_EQ_STR(pa->instance, want);
		snprintf(want, sizeof(want), "%s-1000", sleep_name);
		CHECK_EQ_STR(pa->process, want);
		CHECK_EQ_STR(pa->layer, "OS_LINUX");
		CHECK_EQ_INT(pa->n_labels, 2);
		CHECK_EQ_STR(pa->labels[0], "L-a");
		CHECK_EQ_STR(pa->labels[1], sleep_name);
		snprintf(want, sizeof(want), "%s 1000", args_a);
		CHECK_EQ_STR(pa->cmdline, want);
		CHECK_EQ_STR(pa->exe_path, sleep_path);
		CHECK_EQ_STR(pa->exe_name, sleep_name);
		CHECK_EQ_INT(pa->start_ticks, external_start_ticks(a));
		CHECK_EQ_STR(pb->service, "svc-b");
		snprintf(want, sizeof(want), "%s-1001", sleep_name);
		CHECK_EQ_STR(pb->process, want);
	}
	/* the catch-all rule saw everything else, but not us and not kernel threads */
	CHECK(find(v, n, getpid()) == NULL);
	for (size_t i = 0; i < n; i++) {
		CHECK(v[i].cmdline[0] != 0);
		CHECK(v[i].n_labels >= 1 && v[i].labels[0][0] != 0);
	}
	swp__discovered_free(v, n);

	/* a killed, not yet reaped child is a zombie: no command line, not listed */
	kill(a, SIGKILL);
	for (int i = 0; i < 500 && state_of(a) != 'Z'; i++)
		usleep(10000);
	CHECK_EQ_INT(state_of(a), 'Z');
	CHECK_EQ_INT(swp__discovery_scan(d, &v, &n), 0);
	CHECK(find(v, n, a) == NULL);
	CHECK(find(v, n, b) != NULL);
	swp__discovered_free(v, n);

	/* reaped: gone from the scan and from match_pid */
	reap(a);
	CHECK_EQ_INT(swp__discovery_scan(d, &v, &n), 0);
	CHECK(find(v, n, a) == NULL);
	swp__discovered_free(v, n);
	struct swp_discovered one;
	CHECK_EQ_INT(swp__discovery_match_pid(d, a, &one), -ENOENT);
	CHECK_EQ_INT(swp__discovery_match_pid(d, b, &one), 0);
	CHECK_EQ_STR(one.service, "svc-b");
	swp__discovered_clear(&one);
	reap(b);
	swp__discovery_free(d);
}

static void test_defaults_and_match_pid(const char *sleep_path, const char *sleep_name)
{
	char rx[64], argv0[32];
	snprintf(argv0, sizeof(argv0), "swpdef-%d", (int)getpid());
	snprintf(rx, sizeof(rx), "^%s ", argv0);
	/* sz covers cmd_regex and service only: the instance pointer beyond it must be ignored */
	struct swp_rule rule = {.sz = offsetof(struct swp_rule, instance), .cmd_regex = rx, .service = "only",
				.instance = "ignored"};
	struct swp_discovery *d;
	CHECK_EQ_INT(swp__discovery_new(&rule, 1, "testhost", &d), 0);
	int c = spawn(sleep_path, argv0, "1002");
	struct swp_discovered p;
	CHECK_EQ_INT(swp__discovery_match_pid(d, c, &p), 0);
	CHECK_EQ_INT(p.rule, 0);
	CHECK_EQ_STR(p.service, "only");
	CHECK_EQ_STR(p.instance, "testhost");
	CHECK_EQ_STR(p.process, sleep_name);
	CHECK_EQ_STR(p.layer, "OS_LINUX");
	CHECK_EQ_INT(p.n_labels, 1);
	CHECK_EQ_STR(p.labels[0], sleep_name);
	swp__discovered_clear(&p);
	CHECK_EQ_INT(swp__discovery_match_pid(d, getpid(), &p), -ENOENT);
	CHECK_CONTAINS(swp_last_error(), "no rule matches");
	CHECK_EQ_INT(swp__discovery_match_pid(d, INT_MAX, &p), -ENOENT);
	reap(c);
	swp__discovery_free(d);
}

/* An executable deleted while it runs: readlink says "... (deleted)", {exe} must not. */
static void test_deleted_exe(const char *sleep_path)
{
	char dir[] = "/tmp/swpdisc-XXXXXX", copy[64], cmd[4200], argv0[64];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		check_failures++;
		return;
	}
	snprintf(copy, sizeof(copy), "%s/mysleep", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", sleep_path, copy);
	CHECK_EQ_INT(system(cmd), 0);
	snprintf(argv0, sizeof(argv0), "swpdel-%d", (int)getpid());
	int c = spawn(copy, argv0, "1003");
	unlink(copy);
	rmdir(dir);
	struct swp_discovered p;
	CHECK_EQ_INT(swp__proc_read(c, &p), 0);
	CHECK_EQ_STR(p.exe_path, copy);
	CHECK_EQ_STR(p.exe_name, "mysleep");
	swp__discovered_clear(&p);
	reap(c);
}

int main(int argc, char **argv)
{
	char sleep_path[PATH_MAX];
	if (!realpath("/bin/sleep", sleep_path)) {
		perror("/bin/sleep");
		return 2;
	}
	(void)argc;
	const char *sleep_name = strrchr(sleep_path, '/') + 1;
	test_templates();
	test_bad_rules();
	test_proc_read_self(argv[0]);
	test_scan(sleep_path, sleep_name);
	test_defaults_and_match_pid(sleep_path, sleep_name);
	test_deleted_exe(sleep_path);
	while (n_children)
		reap(children[0]);
	CHECK_DONE();
}
