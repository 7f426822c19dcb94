package org.swprof.shim.graphql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.swprof.shim.graphql.Gql.list;
import static org.swprof.shim.graphql.Gql.map;

import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.swprof.shim.TestCore;

/**
 * The eBPF profiling resolvers through GraphQL, a real core and a real RocksDB: both protocol generations,
 * every seed validation text, unknown ids and bad time ranges. Samples come from imported collapsed stacks
 * (no BPF needed).
 */
class EbpfResolversTest {
    // ---- the requests as the seed-era CLI (swctl 0.10) sends them ----
    static final String SEED_CREATE = """
            mutation ($request: EBPFProfilingTaskFixedTimeCreationRequest!) {
                result: createEBPFProfilingFixedTimeTask(request: $request) { status errorReason id }
            }""";
    static final String SEED_TASKS = """
            query ($query: EBPFProfilingTaskCondition) {
                result: queryEBPFProfilingTasks(query: $query) {
                    taskId processFinderType serviceId serviceName instanceId instanceName processId processName
                    taskStartTime triggerType fixedTriggerDuration targetType createTime
                }
            }""";
    static final String SEED_SCHEDULES = """
            query ($taskId: ID!, $duration: Duration!) {
                result: queryEBPFProfilingSchedules(taskId: $taskId, duration: $duration) {
                    scheduleId taskId processId startTime endTime
                }
            }""";
    static final String SEED_ANALYSIS = """
            query ($taskId: ID!, $timeRanges: [EBPFProfilingAnalyzeTimeRange!]!) {
                result: getEBPFProfilingAnalyzation(taskId: $taskId, timeRanges: $timeRanges) {
                    tip trees { elements { id parentId symbol stackType dumpCount } }
                }
            }""";

    // ---- the requests as today's UI (booster-ui) sends them: aliases, trailing commas, optional args ----
    static final String UI_PREPARE = """
            query queryData($serviceId: ID!) {
              createTaskData: queryPrepareCreateEBPFProfilingTaskData(serviceId: $serviceId) {
                couldProfiling
                processLabels
              }}""";
    static final String UI_CREATE = """
            mutation queryData($request: EBPFProfilingTaskFixedTimeCreationRequest!) {
              createTaskData: createEBPFProfilingFixedTimeTask(request: $request) {
                status
                errorReason
                id
              }}""";
    static final String UI_TASKS = """
            query queryData($serviceId: ID, $serviceInstanceId: ID, $targets: [EBPFProfilingTargetType!], $triggerType: EBPFProfilingTriggerType,) {
              queryEBPFTasks: queryEBPFProfilingTasks(serviceId: $serviceId, serviceInstanceId: $serviceInstanceId, targets: $targets, triggerType: $triggerType,) {
                taskId
                serviceName
                serviceId
                serviceInstanceId
                serviceInstanceName
                processLabels
                processName
                processId
                taskStartTime
                triggerType
                fixedTriggerDuration
                targetType
                createTime
                continuousProfilingCauses {
                  type
                  singleValue { threshold current }
                  uri { uriRegex uriPath threshold current }
                  message
                }
              }}""";
    static final String UI_SCHEDULES = """
            query queryData($taskId: ID!) {
              eBPFSchedules: queryEBPFProfilingSchedules(taskId: $taskId) {
                scheduleId
                taskId
                process {
                  id
                  name
                  serviceId
                  serviceName
                  instanceId
                  instanceName
                  agentId
                  detectType
                  attributes {
                    name
                    value
                  }
                  labels
                }
                startTime
                endTime
              }}""";
    static final String UI_ANALYSIS = """
            query queryData($scheduleIdList: [ID!]!, $timeRanges: [EBPFProfilingAnalyzeTimeRange!]!, $aggregateType: EBPFProfilingAnalyzeAggregateType) {
              analysisEBPFResult: analysisEBPFProfilingResult(scheduleIdList: $scheduleIdList, timeRanges: $timeRanges, aggregateType: $aggregateType) {
                tip
                trees {
                  elements {
                    id
                    parentId
                    symbol
                    stackType
                    dumpCount
                  }
                }
              }}""";

    static final String FOLDED = "A;B;C 3\nA;B 5\nA;B 3\n";
    // the differential view's request as the viewer page sends it
    static final String DIFF = """
            query ($before: EBPFProfilingAnalyzeSide!, $after: EBPFProfilingAnalyzeSide!, $aggregateType: EBPFProfilingAnalyzeAggregateType) {
              diff: diffEBPFProfilingAnalyzation(before: $before, after: $after, aggregateType: $aggregateType) {
                tip trees { elements { id parentId symbol stackType beforeCount afterCount } }
              }
            }""";
    static final ZoneId ZONE = ZoneId.systemDefault();
    /** 2022-03-30 10:10:30 local: samples are recorded at this instant. */
    static final long T0 = LocalDateTime.of(2022, 3, 30, 10, 10, 30).atZone(ZONE).toInstant().toEpochMilli();
    static final long FUTURE = System.currentTimeMillis() + 86_400_000L;

    TestCore t;
    Gql gql;
    String serviceId;
    String instanceId;
    String processId;

    @BeforeEach
    void open() {
        t = TestCore.open();
        gql = new Gql(t.core);
        Map<String, Object> p = t.register("sqrt", "sqrt", List.of("e2e"));
        serviceId = TestCore.serviceId("sqrt");
        instanceId = TestCore.instanceId(serviceId, TestCore.HOST);
        processId = TestCore.processId("sqrt", instanceId);
        assertEquals(processId, p.get("id"));
    }

    @AfterEach
    void close() {
        t.close();
    }

    static Map<String, Object> seedRequest(Map<String, Object> finder, Object start, Object duration, Object target) {
        Map<String, Object> r = new LinkedHashMap<>();
        if (finder != null) {
            r.put("processFinder", finder);
        }
        r.put("startTime", start);
        r.put("duration", duration);
        if (target != null) {
            r.put("targetType", target);
        }
        return r;
    }

    static Map<String, Object> finder(String type, String processId) {
        Map<String, Object> f = new LinkedHashMap<>();
        if (type != null) {
            f.put("finderType", type);
        }
        if (processId != null) {
            f.put("processId", processId);
        }
        return f;
    }

    Map<String, Object> seedCreate(Map<String, Object> request) {
        return map(gql.field(SEED_CREATE, "request", request));
    }

    String createSeedTask(long start) {
        Map<String, Object> r = seedCreate(seedRequest(finder("PROCESS_ID", processId), start, 60, "ON_CPU"));
        assertEquals(Boolean.TRUE, r.get("status"), () -> "create failed: " + r);
        assertNull(r.get("errorReason"));
        assertNotNull(r.get("id"));
        return (String) r.get("id");
    }

    static Map<String, Object> range(long start, long end) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("start", start);
        m.put("end", end);
        return m;
    }

    static Map<String, Object> duration(String start, String end, String step) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("start", start);
        m.put("end", end);
        m.put("step", step);
        return m;
    }

    /** Checks the tree of FOLDED: A:11 { B:11 { C:3 } }, ids breadth-first from "1", root parent "0". */
    static void assertFoldedTree(Object analysis) {
        Map<String, Object> a = map(analysis);
        Object tip = a.get("tip");
        assertTrue(tip == null || "".equals(tip), () -> "tip: " + tip);
        List<Object> trees = list(a.get("trees"));
        assertEquals(1, trees.size(), () -> "trees: " + trees);
        List<Object> elements = list(map(trees.get(0)).get("elements"));
        assertEquals(3, elements.size(), () -> "elements: " + elements);
        assertElement(elements.get(0), "1", "0", "A", "USER_SPACE", 11);
        assertElement(elements.get(1), "2", "1", "B", "USER_SPACE", 11);
        assertElement(elements.get(2), "3", "2", "C", "USER_SPACE", 3);
    }

    static void assertElement(Object e, String id, String parent, String symbol, String type, long count) {
        Map<String, Object> m = map(e);
        assertEquals(id, m.get("id"), () -> "element " + m);
        assertEquals(parent, m.get("parentId"), () -> "element " + m);
        assertEquals(symbol, m.get("symbol"), () -> "element " + m);
        assertEquals(type, m.get("stackType"), () -> "element " + m);
        assertEquals(count, ((Number) m.get("dumpCount")).longValue(), () -> "element " + m);
    }

    String importSchedule(String taskId, long timeMs, String folded) {
        Map<String, Object> r = map(Json.parse(t.core.importFolded(taskId, processId, timeMs, folded)));
        return r.get("scheduleId").toString();
    }

    // ==== seed: createEBPFProfilingFixedTimeTask ===================================================

    @Test
    void seedCreateSucceedsAndTheTaskIsListed() {
        String id = createSeedTask(FUTURE);
        Map<String, Object> cond = new LinkedHashMap<>();
        cond.put("finderType", "PROCESS_ID");
        cond.put("serviceId", "");
        cond.put("instanceId", "");
        cond.put("processId", processId);
        List<Object> tasks = list(gql.field(SEED_TASKS, "query", cond));
        assertEquals(1, tasks.size());
        Map<String, Object> task = map(tasks.get(0));
        assertEquals(id, task.get("taskId"));
        assertEquals("PROCESS_ID", task.get("processFinderType"));
        assertEquals(serviceId, task.get("serviceId"));
        assertEquals("sqrt", task.get("serviceName"));
        assertEquals(instanceId, task.get("instanceId"));
        assertEquals(TestCore.HOST, task.get("instanceName"));
        assertEquals(processId, task.get("processId"));
        assertEquals("sqrt", task.get("processName"));
        assertEquals(FUTURE, ((Number) task.get("taskStartTime")).longValue());
        assertEquals("FIXED_TIME", task.get("triggerType"));
        assertEquals(60L, ((Number) task.get("fixedTriggerDuration")).longValue());
        assertEquals("ON_CPU", task.get("targetType"));
        assertTrue(((Number) task.get("createTime")).longValue() > 0);
    }

    @Test
    void seedStartTimeZeroMeansNow() {
        long before = System.currentTimeMillis();
        createSeedTask(0);
        Map<String, Object> task = map(list(gql.field(SEED_TASKS, "query", Map.of("processId", processId))).get(0));
        long start = ((Number) task.get("taskStartTime")).longValue();
        assertTrue(start >= before && start <= System.currentTimeMillis() + 1000, "start " + start);
    }

    @Test
    void seedValidationTextsInTheirOrder() {
        // each request also breaks every later rule, so the first broken rule is the one answered
        String[] expected = {
            "The process finder could not be null",
            "The process find type could not be null",
            "process id could not be empty",
            "process id could not be empty",
            "the profiling target could not be null",
            "the fixed time duration must be greater than or equals 60s",
        };
        List<Map<String, Object>> requests = new ArrayList<>();
        requests.add(seedRequest(null, FUTURE, 10, null));
        requests.add(seedRequest(finder(null, null), FUTURE, 10, null));
        requests.add(seedRequest(finder("PROCESS_ID", null), FUTURE, 10, null));
        requests.add(seedRequest(finder("PROCESS_ID", ""), FUTURE, 10, null));
        requests.add(seedRequest(finder("PROCESS_ID", "unknown"), FUTURE, 10, null));
        requests.add(seedRequest(finder("PROCESS_ID", "unknown"), FUTURE, 59, "ON_CPU"));
        for (int i = 0; i < expected.length; i++) {
            Map<String, Object> r = seedCreate(requests.get(i));
            assertEquals(Boolean.FALSE, r.get("status"), "request " + i + ": " + r);
            assertEquals(expected[i], r.get("errorReason"), "request " + i);
            assertNull(r.get("id"), "request " + i);
        }
    }

    @Test
    void seedOverlappingTaskIsRefusedAndUnknownProcessAfterValidation() {
        createSeedTask(FUTURE);
        // same process and target, overlapping window
        Map<String, Object> r = seedCreate(seedRequest(finder("PROCESS_ID", processId), FUTURE + 30_000, 60,
                "ON_CPU"));
        assertEquals(Boolean.FALSE, r.get("status"));
        assertEquals("already have profiling task at this time", r.get("errorReason"));
        // a window after the first one ends is fine
        Map<String, Object> later = seedCreate(seedRequest(finder("PROCESS_ID", processId), FUTURE + 61_000, 60,
                "ON_CPU"));
        assertEquals(Boolean.TRUE, later.get("status"), later::toString);
        // an unknown process passes validation and is then refused
        Map<String, Object> u = seedCreate(seedRequest(finder("PROCESS_ID", "0000"), FUTURE, 60, "ON_CPU"));
        assertEquals(Boolean.FALSE, u.get("status"));
        assertEquals("could not found process", u.get("errorReason"));
    }

    // ==== seed: queryEBPFProfilingTasks ============================================================

    @Test
    void seedTaskQueryEmptyStringsAreAbsentAndNewestComesFirst() throws Exception {
        String first = createSeedTask(FUTURE);
        Thread.sleep(5);
        String second = createSeedTask(FUTURE + 3_600_000L);
        for (Map<String, Object> cond : List.of(
                Map.<String, Object>of("serviceId", serviceId, "instanceId", "", "processId", ""),
                Map.<String, Object>of("serviceId", "", "instanceId", instanceId, "processId", ""),
                Map.<String, Object>of("serviceId", "", "instanceId", "", "processId", processId))) {
            List<Object> tasks = list(gql.field(SEED_TASKS, "query", cond));
            assertEquals(List.of(second, first), tasks.stream().map(x -> map(x).get("taskId")).toList(),
                    () -> "condition " + cond);
        }
        // a condition matching nothing
        assertEquals(List.of(), gql.field(SEED_TASKS, "query", Map.of("serviceId", TestCore.serviceId("other"))));
    }

    @Test
    void seedTaskQueryWithoutConditionIsAnError() {
        assertEquals("please provide the task condition", gql.error(SEED_TASKS, "query",
                Map.of("serviceId", "", "instanceId", "", "processId", "")));
        assertEquals("please provide the task condition", gql.error(SEED_TASKS));
        assertEquals("please provide the task condition",
                gql.error("{ queryEBPFProfilingTasks { taskId } }"));
    }

    // ==== seed: schedules and analysis =============================================================

    @Test
    void schedulesCountTheirSamplesLostAndIncompleteStacks() {
        String task = createSeedTask(FUTURE);
        importSchedule(task, T0, FOLDED);
        List<Object> s = list(gql.field("""
                query ($taskId: ID!, $duration: Duration!) {
                    result: queryEBPFProfilingSchedules(taskId: $taskId, duration: $duration) {
                        scheduleId samples lostSamples incompleteStacks
                    }
                }""", "taskId", task, "duration", duration("2022-03-30 1010", "2022-03-30 1010", "MINUTE")));
        Map<String, Object> m = map(s.get(0));
        long imported = FOLDED.lines().mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
        assertEquals(imported, ((Number) m.get("samples")).longValue(), m::toString);
        assertEquals(0L, ((Number) m.get("lostSamples")).longValue());
        assertEquals(0L, ((Number) m.get("incompleteStacks")).longValue());
    }

    @Test
    void seedSchedulesWithDurationAndTheirWholeEndUnit() {
        String task = createSeedTask(FUTURE);
        String schedule = importSchedule(task, T0, FOLDED);
        // MINUTE: the end "1010" covers 10:10:59.999, so a schedule starting at 10:10:30 is in
        List<Object> s = list(gql.field(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03-30 1010", "2022-03-30 1010", "MINUTE")));
        assertEquals(1, s.size(), s::toString);
        Map<String, Object> m = map(s.get(0));
        assertEquals(schedule, m.get("scheduleId"));
        assertEquals(task, m.get("taskId"));
        assertEquals(processId, m.get("processId"));
        assertEquals(T0, ((Number) m.get("startTime")).longValue());
        assertTrue(((Number) m.get("endTime")).longValue() >= T0);
        // other steps
        assertEquals(1, list(gql.field(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03-30 101030", "2022-03-30 101030", "SECOND"))).size());
        assertEquals(1, list(gql.field(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03-30 10", "2022-03-30 10", "HOUR"))).size());
        assertEquals(1, list(gql.field(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03-30", "2022-03-30", "DAY"))).size());
        // outside
        assertEquals(List.of(), gql.field(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03-30 1011", "2022-03-30 1020", "MINUTE")));
        assertEquals(List.of(), gql.field(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03-30 101031", "2022-03-30 101059", "SECOND")));
    }

    @Test
    void badDurationsAreErrorsOrEmpty() {
        String task = createSeedTask(FUTURE);
        importSchedule(task, T0, FOLDED);
        String msg = gql.error(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03-30 10:10", "2022-03-30 1010", "MINUTE"));
        assertTrue(msg.contains("does not match \"yyyy-MM-dd HHmm\""), msg);
        msg = gql.error(SEED_SCHEDULES, "taskId", task, "duration", duration("2022-13-30", "2022-13-31", "DAY"));
        assertTrue(msg.contains("does not match"), msg);
        // start after end: nothing can start in it
        assertEquals(List.of(), gql.field(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03-31 1010", "2022-03-30 1010", "MINUTE")));
        // an unknown step is a GraphQL validation error
        assertTrue(gql.error(SEED_SCHEDULES, "taskId", task, "duration",
                duration("2022-03", "2022-03", "MONTH")).contains("MONTH"));
    }

    @Test
    void seedAnalysisBuildsTheTreeOfTheProtocolExample() {
        String task = createSeedTask(FUTURE);
        importSchedule(task, T0, FOLDED);
        assertFoldedTree(gql.field(SEED_ANALYSIS, "taskId", task, "timeRanges", List.of(range(T0 - 1000, T0 + 1000))));
        // the end is inclusive
        assertFoldedTree(gql.field(SEED_ANALYSIS, "taskId", task, "timeRanges", List.of(range(T0 - 1000, T0))));
        // samples are recorded per second: a range inside the second of T0 selects them
        assertFoldedTree(gql.field(SEED_ANALYSIS, "taskId", task, "timeRanges", List.of(range(T0 + 1, T0 + 999))));
        // outside the ranges: no tree
        Map<String, Object> none = map(gql.field(SEED_ANALYSIS, "taskId", task, "timeRanges",
                List.of(range(T0 + 1000, T0 + 2000))));
        assertEquals(List.of(), none.get("trees"));
    }

    @Test
    void seedAnalysisTips() {
        String task = createSeedTask(FUTURE);
        importSchedule(task, T0, FOLDED);
        Map<String, Object> a = map(gql.field(SEED_ANALYSIS, "taskId", task, "timeRanges", List.of()));
        assertEquals("please provide time ranges", a.get("tip"));
        assertEquals(List.of(), a.get("trees"));
        a = map(gql.field(SEED_ANALYSIS, "taskId", task, "timeRanges",
                List.of(range(T0 - 1000, T0 + 1000), range(T0, T0))));
        assertEquals("please validate the time duration data", a.get("tip"));
        assertEquals(List.of(), a.get("trees"));
        a = map(gql.field(SEED_ANALYSIS, "taskId", task, "timeRanges", List.of(range(T0 + 1000, T0))));
        assertEquals("please validate the time duration data", a.get("tip"));
    }

    @Test
    void kernelFramesFollowUserFramesAndEachRootHasItsTree() {
        String task = createSeedTask(FUTURE);
        importSchedule(task, T0, "main;work;sys_read_[k];vfs_read_[k] 4\nmain;work 1\nother;x 2\n");
        Map<String, Object> a = map(gql.field(SEED_ANALYSIS, "taskId", task, "timeRanges",
                List.of(range(T0 - 1, T0 + 1))));
        List<Object> trees = list(a.get("trees"));
        assertEquals(2, trees.size(), trees::toString);
        Map<String, List<Object>> byRoot = new LinkedHashMap<>();
        for (Object tr : trees) {
            List<Object> els = list(map(tr).get("elements"));
            byRoot.put((String) map(els.get(0)).get("symbol"), els);
        }
        List<Object> main = byRoot.get("main");
        assertElement(main.get(0), "1", "0", "main", "USER_SPACE", 5);
        assertElement(main.get(1), "2", "1", "work", "USER_SPACE", 5);
        assertElement(main.get(2), "3", "2", "sys_read", "KERNEL_SPACE", 4);
        assertElement(main.get(3), "4", "3", "vfs_read", "KERNEL_SPACE", 4);
        List<Object> other = byRoot.get("other");
        assertElement(other.get(0), "1", "0", "other", "USER_SPACE", 2);
    }

    @Test
    void unknownTaskHasNoSchedulesAndNoTree() {
        assertEquals(List.of(), gql.field(UI_SCHEDULES, "taskId", "no-such-task"));
        assertEquals(List.of(), gql.field(SEED_SCHEDULES, "taskId", "no-such-task", "duration",
                duration("2022-03-30", "2022-03-30", "DAY")));
        Map<String, Object> a = map(gql.field(SEED_ANALYSIS, "taskId", "no-such-task", "timeRanges",
                List.of(range(T0 - 1, T0 + 1))));
        assertEquals(List.of(), a.get("trees"));
        a = map(gql.field(UI_ANALYSIS, "scheduleIdList", List.of("no-such-schedule"), "timeRanges",
                List.of(range(T0 - 1, T0 + 1)), "aggregateType", "COUNT"));
        assertEquals(List.of(), a.get("trees"));
    }

    // ==== current protocol =========================================================================

    @Test
    void currentPrepareCreateListScheduleAnalyze() {
        t.register("sqrt", "sqrt-worker", List.of("e2e", "worker"));
        Map<String, Object> prep = map(gql.field(UI_PREPARE, "serviceId", serviceId));
        assertEquals(Boolean.TRUE, prep.get("couldProfiling"));
        assertEquals(List.of("e2e", "worker"), list(prep.get("processLabels")).stream().sorted().toList());

        Map<String, Object> req = new LinkedHashMap<>();
        req.put("serviceId", serviceId);
        req.put("processLabels", List.of("e2e"));
        req.put("startTime", FUTURE);
        req.put("duration", 600);
        req.put("targetType", "ON_CPU");
        Map<String, Object> created = map(gql.field(UI_CREATE, "request", req));
        assertEquals(Boolean.TRUE, created.get("status"), created::toString);
        String task = (String) created.get("id");

        List<Object> tasks = list(gql.field(UI_TASKS, "serviceId", serviceId, "targets", List.of("ON_CPU", "OFF_CPU"),
                "triggerType", "FIXED_TIME"));
        assertEquals(1, tasks.size());
        Map<String, Object> tk = map(tasks.get(0));
        assertEquals(task, tk.get("taskId"));
        assertEquals("sqrt", tk.get("serviceName"));
        assertEquals(serviceId, tk.get("serviceId"));
        assertEquals(List.of("e2e"), tk.get("processLabels"));
        assertEquals(FUTURE, ((Number) tk.get("taskStartTime")).longValue());
        assertEquals(600L, ((Number) tk.get("fixedTriggerDuration")).longValue());
        assertEquals("ON_CPU", tk.get("targetType"));
        assertEquals("FIXED_TIME", tk.get("triggerType"));
        assertEquals(List.of(), tk.get("continuousProfilingCauses"));
        // other targets: none
        assertEquals(List.of(), gql.field(UI_TASKS, "serviceId", serviceId, "targets", List.of("OFF_CPU")));

        String schedule = importSchedule(task, T0, FOLDED);
        List<Object> schedules = list(gql.field(UI_SCHEDULES, "taskId", task));
        assertEquals(1, schedules.size());
        Map<String, Object> s = map(schedules.get(0));
        assertEquals(schedule, s.get("scheduleId"));
        Map<String, Object> p = map(s.get("process"));
        assertEquals(processId, p.get("id"));
        assertEquals("sqrt", p.get("name"));
        assertEquals(serviceId, p.get("serviceId"));
        assertEquals("sqrt", p.get("serviceName"));
        assertEquals(instanceId, p.get("instanceId"));
        assertEquals(TestCore.HOST, p.get("instanceName"));
        assertNotNull(p.get("agentId"));
        assertEquals("VM", p.get("detectType"));
        assertEquals(List.of("e2e"), p.get("labels"));
        List<String> attrs = list(p.get("attributes")).stream().map(a -> (String) map(a).get("name")).toList();
        assertTrue(attrs.containsAll(List.of("host_ip", "pid", "command_line")), attrs::toString);

        // the UI's request: the time range of the schedule, COUNT
        assertFoldedTree(gql.field(UI_ANALYSIS, "scheduleIdList", List.of(schedule), "timeRanges",
                List.of(range(T0 - 1000, T0 + 1000)), "aggregateType", "COUNT"));
        // aggregateType may be omitted
        assertFoldedTree(gql.field(UI_ANALYSIS, "scheduleIdList", List.of(schedule), "timeRanges",
                List.of(range(T0 - 1000, T0 + 1000))));
    }

    @Test
    void nullScheduleIdsAreSkippedInVariablesAndLiterals() {
        String task = createSeedTask(FUTURE);
        String schedule = importSchedule(task, T0, FOLDED);
        // the UI declares [ID!]! and still sends nulls for schedules of unlabelled processes
        assertFoldedTree(gql.field(UI_ANALYSIS, "scheduleIdList", Arrays.asList(null, schedule, null), "timeRanges",
                List.of(range(T0 - 1000, T0 + 1000)), "aggregateType", "COUNT"));
        assertFoldedTree(gql.field("{ a: analysisEBPFProfilingResult(scheduleIdList: [null, \"" + schedule
                + "\"], timeRanges: [{start: " + (T0 - 1000) + ", end: " + (T0 + 1000) + "}]) "
                + "{ tip trees { elements { id parentId symbol stackType dumpCount } } } }"));
        // only nulls: nothing to analyze, but no error
        Map<String, Object> a = map(gql.field(UI_ANALYSIS, "scheduleIdList", Arrays.asList((Object) null),
                "timeRanges", List.of(range(T0 - 1000, T0 + 1000))));
        assertEquals(List.of(), a.get("trees"));
    }

    static Map<String, Object> side(List<?> ids, long start, long end) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scheduleIdList", ids);
        m.put("timeRanges", List.of(range(start, end)));
        return m;
    }

    static void assertDiffElement(Object e, String id, String parent, String symbol, long before, long after) {
        Map<String, Object> m = map(e);
        assertEquals(List.of(id, parent, symbol, "USER_SPACE", before, after), List.of(m.get("id"), m.get("parentId"),
                m.get("symbol"), m.get("stackType"), ((Number) m.get("beforeCount")).longValue(),
                ((Number) m.get("afterCount")).longValue()), () -> "element " + m);
    }

    @Test
    void diffOfTwoTimeRangesOfOneScheduleHasBothCountsOnEveryElement() {
        String task = createSeedTask(FUTURE);
        String s = importSchedule(task, T0, "main;work;old 6\nmain;work 2\nmain;idle 1\n");
        assertEquals(s, importSchedule(task, T0 + 10_000, "main;work;new 9\nmain;work 3\n"));
        Map<String, Object> d = map(gql.field(DIFF, "before", side(List.of(s), T0 - 500, T0 + 500), "after",
                side(List.of(s), T0 + 9_500, T0 + 10_500), "aggregateType", "COUNT"));
        assertNull(d.get("tip"));
        List<Object> trees = list(d.get("trees"));
        assertEquals(1, trees.size(), trees::toString);
        List<Object> e = list(map(trees.get(0)).get("elements"));
        assertEquals(5, e.size(), e::toString);
        // breadth first, children by afterCount then beforeCount: a frame of one side only has 0 on the other
        assertDiffElement(e.get(0), "1", "0", "main", 9, 12);
        assertDiffElement(e.get(1), "2", "1", "work", 8, 12);
        assertDiffElement(e.get(2), "3", "1", "idle", 1, 0);
        assertDiffElement(e.get(3), "4", "2", "new", 0, 9);
        assertDiffElement(e.get(4), "5", "2", "old", 6, 0);
        // both ranges on one side, aggregateType absent: the same frames, both sides equal
        Map<String, Object> both = side(List.of(s), T0 - 500, T0 + 500);
        both.put("timeRanges", List.of(range(T0 - 500, T0 + 500), range(T0 + 9_500, T0 + 10_500)));
        Map<String, Object> same = map(gql.field(DIFF, "before", both, "after", both));
        for (Object x : list(map(list(same.get("trees")).get(0)).get("elements"))) {
            assertEquals(map(x).get("beforeCount"), map(x).get("afterCount"), x::toString);
        }
    }

    @Test
    void diffTipsSayWhichSideAndWhy() {
        String task = createSeedTask(FUTURE);
        String s = importSchedule(task, T0, FOLDED);
        Map<String, Object> ok = side(List.of(s), T0 - 500, T0 + 500);
        Map<String, Object> d = map(gql.field(DIFF, "before", side(List.of("999"), T0 - 500, T0 + 500), "after", ok));
        assertEquals("before: could not found schedules", d.get("tip"));
        assertEquals(List.of(), d.get("trees"));
        d = map(gql.field(DIFF, "before", ok, "after", side(List.of(s), T0 + 500, T0 - 500)));
        assertEquals("after: please validate the time duration data", d.get("tip"));
        assertEquals(List.of(), d.get("trees"));
        Map<String, Object> noRanges = side(List.of(s), 0, 1);
        noRanges.put("timeRanges", List.of());
        assertEquals("after: please provide time ranges",
                map(gql.field(DIFF, "before", ok, "after", noRanges)).get("tip"));
        // a side without samples: the tip says so, the trees hold the other side
        d = map(gql.field(DIFF, "before", side(List.of(s), T0 + 60_000, T0 + 61_000), "after", ok));
        assertEquals("the before side has no samples", d.get("tip"));
        List<Object> e = list(map(list(d.get("trees")).get(0)).get("elements"));
        assertDiffElement(e.get(0), "1", "0", "A", 0, 11);
        // a non-null list with a null entry is refused by the schema, as the contract says
        String err = gql.error(DIFF, "before", side(Arrays.asList((Object) null), T0, T0 + 1), "after", ok);
        assertTrue(err.contains("before"), err);
    }

    @Test
    void aDiffCountsAsTwoAnalyses() {
        String task = createSeedTask(FUTURE);
        String s = importSchedule(task, T0, FOLDED);
        String one = "diffEBPFProfilingAnalyzation(before: {scheduleIdList: [\"" + s + "\"], timeRanges: [{start: "
                + (T0 - 500) + ", end: " + (T0 + 500) + "}]}, after: {scheduleIdList: [\"" + s + "\"], timeRanges: "
                + "[{start: " + (T0 - 500) + ", end: " + (T0 + 500) + "}]}) { tip }";
        assertNull(map(gql.field("{ a: " + one + " b: " + one + " }")).get("tip"));
        assertTrue(gql.error("{ a: " + one + " b: " + one + " c: " + one + " }").contains("at most 4 analyses"));
    }

    @Test
    void currentCreateForEveryProcessOfTheServiceAndItsValidation() {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("serviceId", serviceId);
        req.put("processLabels", List.of());
        req.put("startTime", FUTURE);
        req.put("duration", 600);
        req.put("targetType", "ON_CPU");
        assertEquals(Boolean.TRUE, map(gql.field(UI_CREATE, "request", req)).get("status"));

        req.put("duration", 30);
        Map<String, Object> r = map(gql.field(UI_CREATE, "request", req));
        assertEquals(Boolean.FALSE, r.get("status"));
        assertEquals("the fixed time duration must be greater than or equals 60s", r.get("errorReason"));

        // OAP 10.1's texts, in its order
        req.put("duration", 600);
        req.put("serviceId", "");
        assertEquals("service could not be empty", map(gql.field(UI_CREATE, "request", req)).get("errorReason"));
        req.put("serviceId", serviceId);
        req.put("processLabels", List.of("nope", "none"));
        assertEquals("The service doesn't have processes with label(s) nope, none.",
                map(gql.field(UI_CREATE, "request", req)).get("errorReason"));
        req.put("processLabels", List.of());
        assertEquals("Task's time range overlaps with other tasks",
                map(gql.field(UI_CREATE, "request", req)).get("errorReason"));
        // the UI's "set start time" default, 30 minutes ago, for 10 minutes: over, so refused
        req.put("startTime", System.currentTimeMillis() - 30 * 60_000L);
        r = map(gql.field(UI_CREATE, "request", req));
        assertEquals(Boolean.FALSE, r.get("status"), r::toString);
        assertTrue(((String) r.get("errorReason")).startsWith("the task's time window is already over"), r::toString);
        // an unknown service is accepted, as OAP accepts it: its processes may be found later
        req.put("startTime", FUTURE);
        req.put("serviceId", TestCore.serviceId("no-such-service"));
        r = map(gql.field(UI_CREATE, "request", req));
        assertEquals(Boolean.TRUE, r.get("status"), r::toString);
        assertEquals("no-such-service", map(list(gql.field("query ($s: ID) { queryEBPFProfilingTasks(serviceId: $s) "
                + "{ serviceName } }", "s", TestCore.serviceId("no-such-service"))).get(0)).get("serviceName"));
    }

    @Test
    void prepareOfAnUnknownServiceCannotProfile() {
        Map<String, Object> prep = map(gql.field(UI_PREPARE, "serviceId", TestCore.serviceId("nothing")));
        assertEquals(Boolean.FALSE, prep.get("couldProfiling"));
        assertEquals(List.of(), prep.get("processLabels"));
    }

    @Test
    void currentTaskQueryByInstanceAndByCreationDuration() {
        String id = createSeedTask(FUTURE);
        assertEquals(1, list(gql.field(UI_TASKS, "serviceInstanceId", instanceId)).size());
        String today = java.time.LocalDate.now(ZONE).toString();
        String q = "query ($d: Duration) { queryEBPFProfilingTasks(serviceId: \"" + serviceId
                + "\", duration: $d) { taskId } }";
        assertEquals(List.of(Map.of("taskId", id)),
                gql.field(q, "d", Map.of("start", today, "end", today, "step", "DAY", "coldStage", false)));
        assertEquals(List.of(), gql.field(q, "d", Map.of("start", "2001-01-01", "end", "2001-01-02", "step", "DAY")));
    }
}
