package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The exact request bodies real clients send (docs/protocol.md §3–5 and §7), from a service name to a tree, once as
 * a seed-era CLI and once as today's UI. Samples are imported into the schedule (no BPF needed here; see
 * ProfilingEndToEndTest for the real profiler).
 */
class ClientShapesTest {
    static final String FOLDED = "_start;main;compute;sqrt_loop 30\n_start;main;compute 5\n"
            + "_start;main;compute;sqrt_loop;asm_exc_page_fault_[k];exc_page_fault_[k] 2\n";

    Server server;
    String processId;

    @BeforeEach
    void start() {
        server = Server.start();
        processId = server.register("sqrt", "sqrt", List.of("e2e"));
        server.register("sqrt", "unlabelled-helper", List.of("helper"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    static String minute(long ms) {
        return LocalDateTime.ofInstant(java.time.Instant.ofEpochMilli(ms), ZoneId.systemDefault())
                .format(DateTimeFormatter.ofPattern("yyyy-MM-dd HHmm"));
    }

    /**
     * The core keeps samples in one-second buckets (the time rounded down), so an import is made at a whole
     * second: samples recorded before the schedule's start would fall outside its time range.
     */
    String importSamples(String taskId, long atMs) {
        atMs -= atMs % 1000;
        Map<String, Object> r = map(parse(server.main.core().importFolded(taskId, processId, atMs, FOLDED)));
        return r.get("scheduleId").toString();
    }

    static Object parse(byte[] json) {
        try {
            return Server.JSON.readValue(json, Object.class);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    static void assertHotPathTree(Map<String, Object> analysis) {
        Object tip = analysis.get("tip");
        assertTrue(tip == null || "".equals(tip), "tip " + tip);
        List<Object> trees = list(analysis.get("trees"));
        assertEquals(1, trees.size(), trees::toString);
        List<Object> els = list(map(trees.get(0)).get("elements"));
        // _start:37 { main:37 { compute:37 { sqrt_loop:32 { asm_exc_page_fault:2 { exc_page_fault:2 } } } } }
        String[][] want = {
            {"1", "0", "_start", "USER_SPACE", "37"},
            {"2", "1", "main", "USER_SPACE", "37"},
            {"3", "2", "compute", "USER_SPACE", "37"},
            {"4", "3", "sqrt_loop", "USER_SPACE", "32"},
            {"5", "4", "asm_exc_page_fault", "KERNEL_SPACE", "2"},
            {"6", "5", "exc_page_fault", "KERNEL_SPACE", "2"},
        };
        assertEquals(want.length, els.size(), els::toString);
        for (int i = 0; i < want.length; i++) {
            Map<String, Object> e = map(els.get(i));
            assertEquals(want[i][0], e.get("id"));
            assertEquals(want[i][1], e.get("parentId"));
            assertEquals(want[i][2], e.get("symbol"));
            assertEquals(want[i][3], e.get("stackType"));
            assertEquals(Long.parseLong(want[i][4]), ((Number) e.get("dumpCount")).longValue());
        }
    }

    @Test
    void seedEraCli() {
        long now = System.currentTimeMillis();
        String duration = "{\"start\":\"" + minute(now - 900_000) + "\",\"end\":\"" + minute(now + 60_000)
                + "\",\"step\":\"MINUTE\"}";

        // service name -> service id
        Map<String, Object> d = server.post("{\"query\":\"query ($serviceName: String!) {\\n  result: "
                + "findService(serviceName: $serviceName) {\\n    id name\\n  }\\n}\","
                + "\"variables\":{\"serviceName\":\"sqrt\"}}").data();
        String serviceId = (String) map(d.get("result")).get("id");
        assertEquals("c3FydA==.1", serviceId);

        // service id -> instance id
        d = server.post("{\"query\":\"query ($serviceId: ID!, $duration: Duration!) {\\n  result: "
                + "listInstances(duration: $duration, serviceId: $serviceId) {\\n    id name language "
                + "instanceUUID attributes { name value }\\n  }\\n}\",\"variables\":{\"serviceId\":\"" + serviceId
                + "\",\"duration\":" + duration + "}}").data();
        String instanceId = (String) map(list(d.get("result")).get(0)).get("id");
        assertEquals("it-host", map(list(d.get("result")).get(0)).get("name"));

        // instance id -> process id
        d = server.post("{\"query\":\"query ($instanceId: ID!, $duration: Duration!) {\\n  result: "
                + "listProcesses(duration: $duration, instanceId: $instanceId) {\\n    id name serviceId "
                + "serviceName instanceId instanceName agentId detectType attributes { name value } labels\\n  }\\n}\","
                + "\"variables\":{\"instanceId\":\"" + instanceId + "\",\"duration\":" + duration + "}}").data();
        List<Object> processes = list(d.get("result"));
        String pid = processes.stream().map(ClientShapesTest::map).filter(p -> p.get("name").equals("sqrt"))
                .map(p -> (String) p.get("id")).findFirst().orElseThrow();
        assertEquals(processId, pid);
        d = server.post("{\"query\":\"query ($processId: ID!) { result: getProcess(processId: $processId) { id "
                + "name layer labels } }\",\"variables\":{\"processId\":\"" + pid + "\"}}").data();
        assertEquals("OS_LINUX", map(d.get("result")).get("layer"));

        // validation errors come back as status false
        Map<String, Object> bad = map(server.post("{\"query\":\"mutation ($request: "
                + "EBPFProfilingTaskFixedTimeCreationRequest!) {\\n  result: createEBPFProfilingFixedTimeTask("
                + "request: $request) {\\n    status errorReason id\\n  }\\n}\",\"variables\":{\"request\":{"
                + "\"processFinder\":{\"finderType\":\"PROCESS_ID\",\"processId\":\"" + pid + "\"},"
                + "\"startTime\":-1,\"duration\":10,\"targetType\":\"ON_CPU\"}}}").data().get("result"));
        assertEquals(Boolean.FALSE, bad.get("status"));
        assertEquals("the fixed time duration must be greater than or equals 60s", bad.get("errorReason"));

        // create (startTime -1: now)
        Map<String, Object> created = map(server.post("{\"query\":\"mutation ($request: "
                + "EBPFProfilingTaskFixedTimeCreationRequest!) {\\n  result: createEBPFProfilingFixedTimeTask("
                + "request: $request) {\\n    status errorReason id\\n  }\\n}\",\"variables\":{\"request\":{"
                + "\"processFinder\":{\"finderType\":\"PROCESS_ID\",\"processId\":\"" + pid + "\"},"
                + "\"startTime\":-1,\"duration\":60,\"targetType\":\"ON_CPU\"}}}").data().get("result"));
        assertEquals(Boolean.TRUE, created.get("status"), created::toString);
        String taskId = (String) created.get("id");

        // list with "" for what the CLI does not filter on
        d = server.post("{\"query\":\"query ($query: EBPFProfilingTaskCondition) {\\n  result: "
                + "queryEBPFProfilingTasks(query: $query) {\\n    taskId processFinderType serviceId serviceName "
                + "instanceId instanceName processId processName taskStartTime triggerType fixedTriggerDuration "
                + "targetType createTime\\n  }\\n}\",\"variables\":{\"query\":{\"finderType\":\"PROCESS_ID\","
                + "\"serviceId\":\"" + serviceId + "\",\"instanceId\":\"\",\"processId\":\"\"}}}").data();
        Map<String, Object> task = map(list(d.get("result")).get(0));
        assertEquals(taskId, task.get("taskId"));
        assertEquals(60, ((Number) task.get("fixedTriggerDuration")).intValue());
        assertEquals("PROCESS_ID", task.get("processFinderType"));
        // no condition: the error text
        assertEquals("please provide the task condition", server.post("{\"query\":\"query ($query: "
                + "EBPFProfilingTaskCondition) { result: queryEBPFProfilingTasks(query: $query) { taskId } }\","
                + "\"variables\":{\"query\":{\"serviceId\":\"\",\"instanceId\":\"\",\"processId\":\"\"}}}").error());

        // the profiler's part, simulated: samples recorded now into a schedule of the task
        long at = System.currentTimeMillis();
        String scheduleId = importSamples(taskId, at);

        d = server.post("{\"query\":\"query ($taskId: ID!, $duration: Duration!) {\\n  result: "
                + "queryEBPFProfilingSchedules(taskId: $taskId, duration: $duration) {\\n    scheduleId taskId "
                + "processId startTime endTime\\n  }\\n}\",\"variables\":{\"taskId\":\"" + taskId + "\",\"duration\":"
                + duration + "}}").data();
        Map<String, Object> schedule = map(list(d.get("result")).get(0));
        assertEquals(scheduleId, schedule.get("scheduleId"));
        assertEquals(pid, schedule.get("processId"));
        long start = ((Number) schedule.get("startTime")).longValue();
        long end = ((Number) schedule.get("endTime")).longValue();

        d = server.post("{\"query\":\"query ($taskId: ID!, $timeRanges: [EBPFProfilingAnalyzeTimeRange!]!) {\\n  "
                + "result: getEBPFProfilingAnalyzation(taskId: $taskId, timeRanges: $timeRanges) {\\n    tip\\n    "
                + "trees {\\n      elements {\\n        id parentId symbol stackType dumpCount\\n      }\\n    }\\n  }\\n}\","
                + "\"variables\":{\"taskId\":\"" + taskId + "\",\"timeRanges\":[{\"start\":" + start + ",\"end\":"
                + Math.max(end, start + 1) + "}]}}").data();
        assertHotPathTree(map(d.get("result")));
    }

    @Test
    void todaysUi() {
        // start-up calls, in one request as the UI may batch them, with its trailing commas
        Map<String, Object> d = server.post("{\"query\":\"query queryData {\\n  getMenuItems {\\n    title\\n    "
                + "icon\\n    layer\\n    activate\\n    description\\n    documentLink\\n    i18nKey\\n    "
                + "subItems {\\n      title\\n      layer\\n      icon\\n      activate\\n    }\\n  }\\n  "
                + "getTimeInfo {\\n    timezone\\n    currentTimestamp\\n  }\\n  version\\n  "
                + "getMetricsTTL { minute hour day coldMinute coldHour coldDay }\\n  "
                + "getRecordsTTL { normal trace zipkinTrace log browserErrorLog }\\n  hasQueryTracesV2Support\\n  "
                + "getAllTemplates {\\n    id\\n    configuration\\n  }\\n}\",\"variables\":{}}").data();
        assertEquals("OS_LINUX", map(list(d.get("getMenuItems")).get(0)).get("layer")); // details: UiFlowTest
        assertEquals(2, list(d.get("getAllTemplates")).size());
        assertEquals(Boolean.FALSE, d.get("hasQueryTracesV2Support"));
        assertNotNull(map(d.get("getTimeInfo")).get("timezone"));

        // the dashboard: the route's service must be in the list
        d = server.post("{\"query\":\"query queryServices($layer: String!) {\\n    services: listServices(layer: "
                + "$layer) {\\n      id\\n      value: name\\n      label: name\\n      group\\n      layers\\n      "
                + "normal\\n      shortName\\n    }\\n  }\",\"variables\":{\"layer\":\"OS_LINUX\"}}").data();
        Map<String, Object> service = map(list(d.get("services")).get(0));
        String serviceId = (String) service.get("id");
        assertEquals("sqrt", service.get("value"));
        assertEquals("sqrt", service.get("label"));

        String tasksQuery = "{\"query\":\"query queryData($serviceId: ID, $serviceInstanceId: ID, $targets: "
                + "[EBPFProfilingTargetType!], $triggerType: EBPFProfilingTriggerType,) {\\n  queryEBPFTasks: "
                + "queryEBPFProfilingTasks(serviceId: $serviceId, serviceInstanceId: $serviceInstanceId, targets: "
                + "$targets, triggerType: $triggerType,) {\\n    taskId\\n    serviceName\\n    serviceId\\n    "
                + "serviceInstanceId\\n    serviceInstanceName\\n    processLabels\\n    processName\\n    processId\\n"
                + "    taskStartTime\\n    triggerType\\n    fixedTriggerDuration\\n    targetType\\n    createTime\\n"
                + "    continuousProfilingCauses {\\n      type\\n      singleValue {\\n        threshold\\n        "
                + "current\\n      }\\n      uri {\\n        uriRegex\\n        uriPath\\n        threshold\\n        "
                + "current\\n      }\\n      message\\n    }\\n  }}\",\"variables\":{\"serviceId\":\"" + serviceId
                + "\",\"targets\":[\"ON_CPU\",\"OFF_CPU\"],\"triggerType\":\"FIXED_TIME\"}}";
        assertEquals(List.of(), server.post(tasksQuery).data().get("queryEBPFTasks"));

        // "New Task"
        d = server.post("{\"query\":\"query queryData($serviceId: ID!) {\\n  createTaskData: "
                + "queryPrepareCreateEBPFProfilingTaskData(serviceId: $serviceId) {\\n    couldProfiling\\n    "
                + "processLabels\\n  }}\",\"variables\":{\"serviceId\":\"" + serviceId + "\"}}").data();
        assertEquals(Boolean.TRUE, map(d.get("createTaskData")).get("couldProfiling"));
        assertTrue(list(map(d.get("createTaskData")).get("processLabels")).containsAll(List.of("e2e", "helper")));

        long now = System.currentTimeMillis();
        d = server.post("{\"query\":\"mutation queryData($request: EBPFProfilingTaskFixedTimeCreationRequest!) {\\n  "
                + "createTaskData: createEBPFProfilingFixedTimeTask(request: $request) {\\n    status\\n    "
                + "errorReason\\n    id\\n  }}\",\"variables\":{\"request\":{\"serviceId\":\"" + serviceId
                + "\",\"processLabels\":[],\"startTime\":" + now + ",\"duration\":600,\"targetType\":\"ON_CPU\"}}}")
                .data();
        Map<String, Object> created = map(d.get("createTaskData"));
        assertEquals(Boolean.TRUE, created.get("status"), created::toString);
        String taskId = (String) created.get("id");

        Map<String, Object> task = map(list(server.post(tasksQuery).data().get("queryEBPFTasks")).get(0));
        assertEquals(taskId, task.get("taskId"));
        assertEquals(List.of(), task.get("processLabels"));
        assertEquals(600, ((Number) task.get("fixedTriggerDuration")).intValue());

        String scheduleId = importSamples(taskId, System.currentTimeMillis());
        d = server.post("{\"query\":\"query queryData($taskId: ID!) {\\n  eBPFSchedules: queryEBPFProfilingSchedules("
                + "taskId: $taskId) {\\n    scheduleId\\n    taskId\\n    process {\\n      id\\n      name\\n      "
                + "serviceId\\n      serviceName\\n      instanceId\\n      instanceName\\n      agentId\\n      "
                + "detectType\\n      attributes {\\n        name\\n        value\\n      }\\n      labels\\n    }\\n"
                + "    startTime\\n    endTime\\n  }}\",\"variables\":{\"taskId\":\"" + taskId + "\"}}").data();
        Map<String, Object> schedule = map(list(d.get("eBPFSchedules")).get(0));
        assertEquals(scheduleId, schedule.get("scheduleId"));
        assertEquals(List.of("e2e"), map(schedule.get("process")).get("labels"));
        long start = ((Number) schedule.get("startTime")).longValue();
        long end = Math.max(((Number) schedule.get("endTime")).longValue(), start + 1);

        // the UI sends nulls inside [ID!]! for schedules of unlabelled processes
        d = server.post("{\"query\":\"query queryData($scheduleIdList: [ID!]!, $timeRanges: "
                + "[EBPFProfilingAnalyzeTimeRange!]!, $aggregateType: EBPFProfilingAnalyzeAggregateType) {\\n  "
                + "analysisEBPFResult: analysisEBPFProfilingResult(scheduleIdList: $scheduleIdList, timeRanges: "
                + "$timeRanges, aggregateType: $aggregateType) {\\n    tip\\n    trees {\\n      elements {\\n        "
                + "id\\n        parentId\\n        symbol\\n        stackType\\n        dumpCount\\n      }\\n    }\\n"
                + "  }}\",\"variables\":{\"scheduleIdList\":[\"" + scheduleId + "\",null],\"timeRanges\":[{\"start\":"
                + start + ",\"end\":" + end + "}],\"aggregateType\":\"COUNT\"}}").data();
        assertHotPathTree(map(d.get("analysisEBPFResult")));
    }

    @Test
    void durationMayCarryColdStage() {
        java.time.format.DateTimeFormatter minute = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HHmm");
        java.time.LocalDateTime now = java.time.LocalDateTime.now();
        Server.Reply r = server.post("{\"query\":\"query ($d: Duration!) { listInstances(duration: $d, serviceId: "
                + "\\\"c3FydA==.1\\\") { id } }\",\"variables\":{\"d\":{\"start\":\"" + now.minusMinutes(30).format(minute)
                + "\",\"end\":\"" + now.format(minute) + "\",\"step\":\"MINUTE\",\"coldStage\":false}}}");
        assertEquals(1, list(r.data().get("listInstances")).size());
    }
}
