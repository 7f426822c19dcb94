/* Tasks, schedules and the process registry through the public API, on a real store:
 * the protocol's validation texts and order, queries, both task shapes, persistence. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <unistd.h>

#include "check.h"
#include "swprof/swprof.h"
#include "test_json.h"

static char dir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static swp_core *open_core(void)
{
	struct swp_config cfg = {.sz = sizeof(cfg), .data_dir = dir};
	swp_core *c = NULL;
	int r = swp_core_open(&cfg, &c);
	if (r)
		fprintf(stderr, "open: %s\n", swp_last_error());
	return c;
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
	check_reason(c, cur, "already have profiling task at this time");
	struct swp_task_create bad = cur;
	bad.service_id = "bm9wZQ==.1";
	check_reason(c, bad, "could not found service");
	bad = cur;
	bad.target_type = "OFF_CPU";
	bad.start_time_ms = 9000000;
	check_reason(c, bad, "only the ON_CPU profiling target is supported by swprof");

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
	swp_buf_free(&tj);
	const char *off_only[] = {"OFF_CPU", NULL};
	by_service.targets = off_only;
	CHECK_EQ_INT(swp_tasks_json(c, &by_service, &tj), 0);
	CHECK_EQ_STR(tj.data, "[]");
	swp_buf_free(&tj);

	/* prepare: labels of the service's processes */
	CHECK_EQ_INT(swp_task_prepare_json(c, "c3FydA==.1", &tj), 0);
	CHECK_EQ_STR(tj.data, "{\"couldProfiling\":true,\"processLabels\":[\"blue\",\"green\"]}");
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
	CHECK_EQ_INT(swp_instances_json(c, "c3FydA==.1", &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"instanceUUID\""), 1);
	swp_buf_free(&tj);
	CHECK_EQ_INT(swp_processes_json(c, "c3FydA==.1", "", NULL, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"detectType\""), 2);
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

	CHECK_EQ_INT(swp_schedules_json(c, task1, 0, 0, &tj), 0);
	CHECK_EQ_INT(count_of(tj.data, "\"scheduleId\""), 1);
	CHECK_CONTAINS(tj.data, "\"startTime\":1005000");
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
			      "{\"id\":\"1\",\"parentId\":\"0\",\"symbol\":\"main\",\"stackType\":\"USER_SPACE\",\"dumpCount\":10},"
			      "{\"id\":\"2\",\"parentId\":\"1\",\"symbol\":\"work\",\"stackType\":\"USER_SPACE\",\"dumpCount\":10},"
			      "{\"id\":\"3\",\"parentId\":\"2\",\"symbol\":\"spin\",\"stackType\":\"USER_SPACE\",\"dumpCount\":7}]}]}");
	swp_buf_free(&tj);
	aq.ranges = &edge;
	CHECK_EQ_INT(swp_analyze(c, &aq, &tj), 0);
	CHECK_CONTAINS(tj.data, "\"dumpCount\":10");
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
	CHECK_CONTAINS(tj.data, "\"symbol\":\"spin\",\"stackType\":\"USER_SPACE\",\"dumpCount\":7");
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
	CHECK_CONTAINS(tj.data, "\"symbol\":\"spin\",\"stackType\":\"USER_SPACE\",\"dumpCount\":7");
	swp_buf_free(&tj);
	struct swp_task_create later = ok;
	later.start_time_ms = 5000000;
	const char *r4 = create(c, later);
	char task4[32];
	json_get(r4, "id", task4, sizeof(task4));
	CHECK(strcmp(task4, task1) && strcmp(task4, task2) && strcmp(task4, task3));
	swp_core_close(c);

	swp_buf_free(&pj);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_DONE();
}
