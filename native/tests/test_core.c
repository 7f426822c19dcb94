/* Tasks, schedules and the process registry through the public API, on a real store:
 * the protocol's validation texts and order, queries, both task shapes, persistence. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "swprof/swprof.h"
#include "test_json.h"

static char dir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

/* a core managing tasks that `swprof run` on the same directory would run, as the CLI's */
static swp_core *open_core_as(int profiling, int64_t expire_ms)
{
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = dir, .profiling = profiling,
				 .process_expire_ms = expire_ms};
	swp_core *c = NULL;
	int r = swp_core_open(&cfg, &c);
	if (r)
		fprintf(stderr, "open: %s\n", swp_last_error());
	return c;
}

static swp_core *open_core(void)
{
	return open_core_as(SWP_PROFILING_ELSEWHERE, 0);
}

/* Creates a task and returns the JSON answer (static buffer). */
static const char *create(swp_core *c, struct swp_task_create q)
{
	static struct swp_buf out;
	swp_buf_free(&out);
	q.sz = sizeof(q);
	int r = swp_task_create(c, &q, &out);
	CHECK_EQ_INT(r, 0);
	return out.data ? out.data : "";
}

static void check_reason(swp_core *c, struct swp_task_create q, const char *reason)
{
	char expect[256];
	snprintf(expect, sizeof(expect), "{\"status\":false,\"errorReason\":\"%s\",\"id\":null}", reason);
	CHECK_EQ_STR(create(c, q), expect);
}

/* Processes that exit leave the listings once expired; one a task names stays known. */
static void test_expiry(void)
{
	swp_core *c = open_core_as(SWP_PROFILING_ELSEWHERE, 300);
	CHECK(c != NULL);
	if (!c)
		return;
	pid_t kid[2];
	char id[2][80];
	for (int i = 0; i < 2; i++) {
		kid[i] = fork();
		if (kid[i] == 0) {
			pause();
			_exit(0);
		}
		char name[16];
		snprintf(name, sizeof(name), "short-%d", i);
		struct swp_process_spec ps = {.sz = sizeof(ps), .pid = kid[i], .service = "expiring", .process = name};
		struct swp_buf pj = {0};
		CHECK_EQ_INT(swp_process_register(c, &ps, &pj), 0);
		json_get(pj.data, "id", id[i], sizeof(id[i]));
		swp_buf_free(&pj);
	}
	/* a task names the first */
	struct swp_task_create q = {.sz = sizeof(q), .has_finder = 1, .finder_type = "PROCESS_ID", .process_id = id[0],
				    .target_type = "ON_CPU", .duration_s = 60};
	CHECK_CONTAINS(create(c, q), "\"status\":true");
	struct swp_buf tj = {0};
	for (int i = 0; i < 2; i++) {
		kill(kid[i], SIGKILL);
		waitpid(kid[i], NULL, 0);
	}
	CHECK_EQ_INT(swp_processes_rescan(c), 0);
	/* gone, but not for long: still listed */
	CHECK_EQ_INT(swp_processes_json(c, "ZXhwaXJpbmc=.1", NULL, NULL, 0, 0, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"detectType\""), 2);
	swp_buf_free(&tj);
	usleep(400 * 1000);
	CHECK_EQ_INT(swp_processes_rescan(c), 0);
	CHECK_EQ_INT(swp_processes_json(c, "ZXhwaXJpbmc=.1", NULL, NULL, 0, 0, &tj), 0);
	CHECK_EQ_STR(tj.data, "[]");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_services_json(c, NULL, &tj), 0);
	CHECK(!strstr(tj.data, "expiring"));
	swp_buf_free(&tj);
	/* a time range that covers when they ran still lists them... */
	int64_t now = (int64_t)time(NULL) * 1000;
	CHECK_EQ_INT(swp_processes_json(c, "ZXhwaXJpbmc=.1", NULL, NULL, now - 60000, now + 1000, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"detectType\""), 1); /* the one a task names is kept */
	swp_buf_free(&tj);
	/* ...the task's process is still known, the other one is forgotten */
	CHECK_EQ_INT(swp_process_json(c, id[0], &tj), 0);
	CHECK_CONTAINS(tj.data, "\"name\":\"short-0\"");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_process_json(c, id[1], &tj), 0);
	CHECK_EQ_STR(tj.data, "null");
	swp_buf_free(&tj);
	swp_core_close(c);
	/* and after a restart too */
	c = open_core_as(SWP_PROFILING_ELSEWHERE, 300);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ_INT(swp_process_json(c, id[1], &tj), 0);
	CHECK_EQ_STR(tj.data, "null");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_process_json(c, id[0], &tj), 0);
	CHECK_CONTAINS(tj.data, "\"name\":\"short-0\"");
	swp_buf_free(&tj);
	swp_core_close(c);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/swprof-core-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	swp_core *c = open_core();
	CHECK(c != NULL);
	if (!c)
		CHECK_DONE();

	/* a process of this test, labelled */
	const char *labels[] = {"blue", "green", NULL};
	struct swp_process_spec ps = {.sz = sizeof(ps), .pid = getpid(), .service = "sqrt", .instance = "inst-1",
				      .process = "proc-a", .labels = labels};
	struct swp_buf pj = {0};
	CHECK_EQ_INT(swp_process_register(c, &ps, &pj), 0);
	CHECK_CONTAINS(pj.data, "\"serviceId\":\"c3FydA==.1\"");
	CHECK_CONTAINS(pj.data, "\"instanceId\":\"c3FydA==.1_aW5zdC0x\"");
	CHECK_CONTAINS(pj.data, "\"detectType\":\"VM\"");
	CHECK_CONTAINS(pj.data, "\"labels\":[\"blue\",\"green\"]");
	char pid_attr[64];
	snprintf(pid_attr, sizeof(pid_attr), "{\"name\":\"pid\",\"value\":\"%d\"}", getpid());
	CHECK_CONTAINS(pj.data, pid_attr);
	char proc_id[80];
	json_get(pj.data, "id", proc_id, sizeof(proc_id));
	CHECK_EQ_INT(strlen(proc_id), 64);
	/* a second process of the service without the label "green" */
	const char *labels_b[] = {"blue", NULL};
	struct swp_process_spec ps2 = {.sz = sizeof(ps2), .pid = getppid(), .service = "sqrt", .instance = "inst-1",
				       .process = "proc-b", .labels = labels_b};
	CHECK_EQ_INT(swp_process_register(c, &ps2, NULL), 0);

	/* seed validation, in the protocol's order */
	struct swp_task_create ok = {.has_finder = 1, .finder_type = "PROCESS_ID", .process_id = proc_id,
				     .target_type = "ON_CPU", .duration_s = 60, .start_time_ms = 0, .now_ms = 1000000};
	struct swp_task_create q = ok;
	q.has_finder = 0;
	check_reason(c, q, "The process finder could not be null");
	q = ok;
	q.finder_type = NULL;
	q.process_id = NULL; /* the finder type is checked before the process id */
	check_reason(c, q, "The process find type could not be null");
	q = ok;
	q.process_id = "";
	q.target_type = NULL;
	check_reason(c, q, "process id could not be empty");
	q = ok;
	q.target_type = NULL;
	q.duration_s = 5;
	check_reason(c, q, "the profiling target could not be null");
	q = ok;
	q.duration_s = 59;
	q.process_id = "no-such-process";
	check_reason(c, q, "the fixed time duration must be greater than or equals 60s");
	q = ok;
	q.process_id = "no-such-process";
	check_reason(c, q, "could not found process");

	const char *r1 = create(c, ok);
	CHECK_CONTAINS(r1, "\"status\":true");
	CHECK_CONTAINS(r1, "\"errorReason\":null");
	char task1[32];
	json_get(r1, "id", task1, sizeof(task1));
	CHECK(task1[0] != 0);
	/* overlap: same process and target, window overlapping -> refused, even if the new one
	 * starts later inside the window; after the window it is fine */
	q = ok;
	q.start_time_ms = 1000000 + 30000;
	check_reason(c, q, "already have profiling task at this time");
	q = ok;
	q.start_time_ms = 1000000 + 61000;
	q.now_ms = 1000000 + 1000;
	const char *r2 = create(c, q);
	CHECK_CONTAINS(r2, "\"status\":true");
	char task2[32];
	json_get(r2, "id", task2, sizeof(task2));

	/* current shape: service + labels */
	struct swp_task_create cur = {.service_id = "c3FydA==.1", .labels = labels_b, .target_type = "ON_CPU",
				      .duration_s = 600, .now_ms = 2000000};
	const char *r3 = create(c, cur);
	CHECK_CONTAINS(r3, "\"status\":true");
	char task3[32];
	json_get(r3, "id", task3, sizeof(task3));
	/* OAP 10.1's texts for the current shape, in its order */
	check_reason(c, cur, "Task's time range overlaps with other tasks");
	struct swp_task_create bad = cur;
	bad.labels = NULL; /* an overlap on the service whatever the labels */
	check_reason(c, bad, "Task's time range overlaps with other tasks");
	bad = cur;
	bad.service_id = "";
	bad.duration_s = 5;
	check_reason(c, bad, "service could not be empty");
	const char *unknown_labels[] = {"blue", "red", "pink", NULL};
	bad = cur;
	bad.labels = unknown_labels;
	bad.target_type = NULL;
	check_reason(c, bad, "The service doesn't have processes with label(s) red, pink.");
	char long_label[600];
	memset(long_label, 'x', sizeof(long_label) - 1);
	long_label[sizeof(long_label) - 1] = 0;
	const char *too_long[] = {long_label, NULL};
	struct swp_process_spec ps3 = ps2;
	ps3.process = "proc-c";
	ps3.labels = too_long;
	CHECK_EQ_INT(swp_process_register(c, &ps3, NULL), 0);
	bad = cur;
	bad.labels = too_long;
	check_reason(c, bad, "The labels length is bigger than 500, please reduce the labels count");
	bad = cur;
	bad.target_type = NULL;
	check_reason(c, bad, "the profiling target could not be null");
	bad = cur;
	bad.duration_s = 59;
	check_reason(c, bad, "the fixed time duration must be greater than or equals 60s");
	bad = cur;
	bad.target_type = "NETWORK";
	bad.start_time_ms = 9000000;
	check_reason(c, bad, "only the ON_CPU and OFF_CPU profiling targets are supported by swprof");
	/* an unknown service is accepted, as OAP accepts it: its processes may come later */
	struct swp_task_create later_svc = cur;
	later_svc.service_id = "bm9wZQ==.1"; /* "nope" */
	later_svc.labels = NULL;
	const char *r5 = create(c, later_svc);
	CHECK_CONTAINS(r5, "\"status\":true");
	/* a window already over is refused; one that started in the past but is open is accepted */
	struct swp_task_create past = cur;
	past.service_id = "cGFzdA==.1";
	past.labels = NULL;
	past.now_ms = 50000000;
	past.start_time_ms = past.now_ms - 30 * 60 * 1000;
	check_reason(c, past, "the task's time window is already over (it would have ended 1200 s ago), so nothing "
			      "would run it: leave the start time out, or give one that is not that far in the past");
	past.start_time_ms = past.now_ms - 5 * 60 * 1000;
	const char *open_past = create(c, past);
	CHECK_CONTAINS(open_past, "\"status\":true,\"errorReason\":\"the task started 300 s ago: it runs for the 300 s "
				  "left of its 600 s\"");

	/* task queries */
	struct swp_buf tj = {0};
	struct swp_task_query none = {.sz = sizeof(none)};
	CHECK_EQ_INT(swp_tasks_json(c, &none, &tj), -EINVAL);
	CHECK_EQ_STR(swp_last_error(), "please provide the task condition");
	struct swp_task_query empty_strings = {.sz = sizeof(none), .service_id = "", .instance_id = "", .process_id = ""};
	CHECK_EQ_INT(swp_tasks_json(c, &empty_strings, &tj), -EINVAL);
	struct swp_task_query by_proc = {.sz = sizeof(by_proc), .process_id = proc_id, .service_id = ""};
	CHECK_EQ_INT(swp_tasks_json(c, &by_proc, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"taskId\""), 2);
	/* newest first: task2 was created after task1 */
	CHECK(strstr(tj.data, task2) && strstr(tj.data, task1) && strstr(tj.data, task2) < strstr(tj.data, task1));
	CHECK_CONTAINS(tj.data, "\"processFinderType\":\"PROCESS_ID\"");
	CHECK_CONTAINS(tj.data, "\"fixedTriggerDuration\":60");
	CHECK_CONTAINS(tj.data, "\"taskStartTime\":1000000");
	CHECK_CONTAINS(tj.data, "\"processName\":\"proc-a\"");
	swp_buf_free(&tj);
	const char *targets[] = {"ON_CPU", "OFF_CPU", NULL};
	struct swp_task_query by_service = {.sz = sizeof(by_service), .service_id = "c3FydA==.1", .targets = targets,
					    .trigger_type = "FIXED_TIME"};
	CHECK_EQ_INT(swp_tasks_json(c, &by_service, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"taskId\""), 3);
	CHECK_CONTAINS(tj.data, "\"processLabels\":[\"blue\"]");
	/* ids are opaque: 16 hex digits, a letter first, never a number */
	CHECK_EQ_INT(strlen(task1), 16);
	CHECK(task1[0] >= 'a' && task1[0] <= 'f');
	swp_buf_free(&tj);
	const char *off_only[] = {"OFF_CPU", NULL};
	by_service.targets = off_only;
	CHECK_EQ_INT(swp_tasks_json(c, &by_service, &tj), 0);
	CHECK_EQ_STR(tj.data, "[]");
	swp_buf_free(&tj);

	/* prepare: labels of the service's processes */
	CHECK_EQ_INT(swp_task_prepare_json(c, "c3FydA==.1", &tj), 0);
	CHECK_CONTAINS(tj.data, "{\"couldProfiling\":true,\"processLabels\":[\"blue\",\"green\",\"xxxxxxxx");
	CHECK_EQ_INT(count_of(tj.data, "\","), 2);
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_task_prepare_json(c, "bm9wZQ==.1", &tj), 0);
	CHECK_EQ_STR(tj.data, "{\"couldProfiling\":false,\"processLabels\":[]}");
	swp_buf_free(&tj);

	/* metadata */
	CHECK_EQ_INT(swp_services_json(c, NULL, &tj), 0);
	CHECK_EQ_STR(tj.data, "[{\"id\":\"c3FydA==.1\",\"name\":\"sqrt\",\"group\":\"\",\"shortName\":\"sqrt\","
			      "\"layers\":[\"OS_LINUX\"],\"normal\":true}]");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_services_json(c, "GENERAL", &tj), 0);
	CHECK_EQ_STR(tj.data, "[]");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_instances_json(c, "c3FydA==.1", 0, 0, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"instanceUUID\""), 1);
	/* an instance of host processes has no attributes; host_ip is the process's */
	CHECK_CONTAINS(tj.data, "\"attributes\":[]");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_processes_json(c, "c3FydA==.1", "", NULL, 0, 0, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"detectType\""), 3);
	CHECK_CONTAINS(tj.data, "{\"name\":\"host_ip\",\"value\":");
	swp_buf_free(&tj);
	/* with a time range: the processes that ran in it (these run now) */
	int64_t t_now = (int64_t)time(NULL) * 1000;
	CHECK_EQ_INT(swp_processes_json(c, "c3FydA==.1", NULL, NULL, t_now - 60000, t_now + 60000, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"detectType\""), 3);
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_processes_json(c, "c3FydA==.1", NULL, NULL, 1000, 2000, &tj), 0);
	CHECK_EQ_STR(tj.data, "[]");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_instances_json(c, "c3FydA==.1", 1000, 2000, &tj), 0);
	CHECK_EQ_STR(tj.data, "[]");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_process_json(c, "unknown", &tj), 0);
	CHECK_EQ_STR(tj.data, "null");
	swp_buf_free(&tj);

	/* import a schedule, then the schedule queries */
	const char *folded = "main;work;spin 7\nmain;work 3\n";
	struct swp_import_req im = {.sz = sizeof(im), .task_id = task1, .time_ms = 1005000, .text = folded,
				    .len = strlen(folded)};
	CHECK_EQ_INT(swp_import_folded(c, &im, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"samples\":10");
	char sched1[32];
	json_get(tj.data, "scheduleId", sched1, sizeof(sched1));
	swp_buf_free(&tj);
	im.task_id = "999";
	CHECK_EQ_INT(swp_import_folded(c, &im, &tj), -ENOENT);
	im.task_id = task1;
	im.text = "main;work x\n";
	im.len = strlen(im.text);
	CHECK_EQ_INT(swp_import_folded(c, &im, &tj), -EINVAL);
	CHECK_CONTAINS(swp_last_error(), "line 1");
	/* a second import on the same process goes on in the same schedule */
	im.text = folded;
	im.len = strlen(folded);
	im.time_ms = 1007000;
	CHECK_EQ_INT(swp_import_folded(c, &im, &tj), 0);
	char sched1b[32];
	json_get(tj.data, "scheduleId", sched1b, sizeof(sched1b));
	CHECK_EQ_STR(sched1b, sched1);
	swp_buf_free(&tj);

	CHECK_EQ_INT(swp_schedules_json(c, task1, 0, 0, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"scheduleId\""), 1);
	CHECK_CONTAINS(tj.data, "\"startTime\":1005000");
	CHECK_CONTAINS(tj.data, "\"endTime\":1007999");
	CHECK_CONTAINS(tj.data, "\"samples\":20");
	CHECK_CONTAINS(tj.data, "\"process\":{\"id\":");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_schedules_json(c, task1, 0, 1004999, &tj), 0);
	CHECK_EQ_STR(tj.data, "[]");
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_schedules_json(c, "no-such-task", 0, 0, &tj), 0);
	CHECK_EQ_STR(tj.data, "[]");
	swp_buf_free(&tj);

	/* analysis by task and by schedule; ranges are inclusive at the end */
	struct swp_time_range all = {1000000, 1010000}, edge = {1005000, 1005000 + 1}, before = {1000000, 1004999};
	struct swp_analyze_req aq = {.sz = sizeof(aq), .task_id = task1, .ranges = &all, .n_ranges = 1};
	CHECK_EQ_INT(swp_analyze(c, &aq, &tj), 0);
	CHECK_EQ_STR(tj.data, "{\"tip\":null,\"trees\":[{\"elements\":["
			      "{\"id\":\"1\",\"parentId\":\"0\",\"symbol\":\"main\",\"stackType\":\"USER_SPACE\",\"dumpCount\":20},"
			      "{\"id\":\"2\",\"parentId\":\"1\",\"symbol\":\"work\",\"stackType\":\"USER_SPACE\",\"dumpCount\":20},"
			      "{\"id\":\"3\",\"parentId\":\"2\",\"symbol\":\"spin\",\"stackType\":\"USER_SPACE\",\"dumpCount\":14}]}]}");
	swp_buf_free(&tj);
	aq.ranges = &edge;
	CHECK_EQ_INT(swp_analyze(c, &aq, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"dumpCount\":10");
	CHECK(!strstr(tj.data, "\"dumpCount\":20"));
	swp_buf_free(&tj);
	aq.ranges = &before;
	CHECK_EQ_INT(swp_analyze(c, &aq, &tj), 0);
	CHECK_EQ_STR(tj.data, "{\"tip\":null,\"trees\":[]}");
	swp_buf_free(&tj);
	/* a block stands for its whole second: a range starting inside it selects it, and two
	 * ranges touching the same second count it once */
	struct swp_time_range inside = {1005400, 1005600};
	aq.ranges = &inside;
	CHECK_EQ_INT(swp_analyze(c, &aq, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"symbol\":\"main\",\"stackType\":\"USER_SPACE\",\"dumpCount\":10}");
	swp_buf_free(&tj);
	struct swp_time_range twice[] = {{1005100, 1005200}, {1005700, 1005800}, {1005150, 1005160}};
	aq.ranges = twice;
	aq.n_ranges = 3;
	CHECK_EQ_INT(swp_analyze(c, &aq, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"symbol\":\"main\",\"stackType\":\"USER_SPACE\",\"dumpCount\":10}");
	swp_buf_free(&tj);
	aq.n_ranges = 1;
	const char *sids[] = {NULL, sched1, "12345"};
	struct swp_analyze_req bys = {.sz = sizeof(bys), .schedule_ids = sids, .n_schedule_ids = 3, .ranges = &all,
				      .n_ranges = 1};
	CHECK_EQ_INT(swp_analyze(c, &bys, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"symbol\":\"spin\",\"stackType\":\"USER_SPACE\",\"dumpCount\":14");
	swp_buf_free(&tj);

	/* reopen: everything acknowledged is still there, new ids do not collide */
	swp_core_close(c);
	c = open_core();
	CHECK(c != NULL);
	if (!c)
		CHECK_DONE();
	CHECK_EQ_INT(swp_tasks_json(c, &by_service, &tj), 0);
	swp_buf_free(&tj);
	by_service.targets = targets;
	CHECK_EQ_INT(swp_tasks_json(c, &by_service, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"taskId\""), 3);
	swp_buf_free(&tj);
	aq.ranges = &all;
	CHECK_EQ_INT(swp_analyze(c, &aq, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"symbol\":\"spin\",\"stackType\":\"USER_SPACE\",\"dumpCount\":14");
	swp_buf_free(&tj);
	/* the stored schedule counts every flush's samples, the last one's too */
	CHECK_EQ_INT(swp_schedules_json(c, task1, 0, 0, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"samples\":20");
	swp_buf_free(&tj);
	/* an import after the reopen goes on in the schedule, with a block key of its own in the same second */
	im.time_ms = 1007500;
	CHECK_EQ_INT(swp_import_folded(c, &im, &tj), 0);
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_analyze(c, &aq, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"symbol\":\"spin\",\"stackType\":\"USER_SPACE\",\"dumpCount\":21");
	swp_buf_free(&tj);
	struct swp_task_create later = ok;
	later.start_time_ms = 5000000;
	const char *r4 = create(c, later);
	char task4[32];
	json_get(r4, "id", task4, sizeof(task4));
	CHECK(strcmp(task4, task1) && strcmp(task4, task2) && strcmp(task4, task3));
	swp_core_close(c);

	/* a core that runs nothing refuses tasks */
	c = open_core_as(SWP_PROFILING_OFF, 0);
	CHECK(c != NULL);
	if (!c)
		CHECK_DONE();
	struct swp_task_create off = ok;
	off.start_time_ms = 9000000;
	check_reason(c, off, "nothing can run this task: profiling is off on this server (profiling.enabled: false) "
			     "and no agent reports this process");
	off = cur;
	off.start_time_ms = 9000000;
	check_reason(c, off, "nothing can run this task: profiling is off on this server (profiling.enabled: false) "
			     "and no agent reports processes of this service");
	swp_core_close(c);
	test_expiry();

	swp_buf_free(&pj);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_DONE();
}
