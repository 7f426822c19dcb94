package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/**
 * End to end through GraphQL on real busy processes found by a discovery rule and sampled by the BPF profiler:
 * service name -> process id -> task -> schedules -> a tree containing the hot function; once with seed
 * requests and once with current ones.
 *
 * <p>Needs root (or CAP_BPF + CAP_PERFMON) and a C compiler. Where the machine cannot do it the test is skipped,
 * unless SWPROF_REQUIRE_BPF=1, which turns the skip into a failure (so a green CI means the profiler ran).
 */
class ProfilingEndToEndTest {
    static final String HOT = "swprof_e2e_hot_loop";
    static final String PROGRAM = """
            #include <math.h>
            #include <stdio.h>
            volatile double sink;
            __attribute__((noinline)) double swprof_e2e_hot_loop(double x) {
                double s = 0;
                for (int i = 0; i < 2000000; i++) s += sqrt(x + i);
                return s;
            }
            int main(int argc, char **argv) {
                (void)argc; (void)argv;
                for (;;) sink = swprof_e2e_hot_loop(sink);
            }
            """;

    static Server server;
    static BusyProgram busy;

    static void skip(String why) {
        if ("1".equals(System.getenv("SWPROF_REQUIRE_BPF"))) {
            fail("SWPROF_REQUIRE_BPF=1 but: " + why);
        }
        throw new TestAbortedException(why);
    }

    @BeforeAll
    static void start() throws Exception {
        busy = BusyProgram.compile("swprof-e2e-busy");
        if (busy == null) {
            skip("no C compiler to build the busy workload");
        }
        busy.start("seed");
        busy.start("current");
        String rules = "[{cmdRegex: 'swprof-e2e-busy seed', service: e2e-seed, labels: [e2e]},"
                + " {cmdRegex: 'swprof-e2e-busy current', service: e2e-current, labels: [e2e]}]";
        try {
            server = Server.start(Map.of("SWPROF_PROFILING", "true", "SWPROF_SCAN_INTERVAL", "1s",
                    "SWPROF_FREQUENCY", "99", "SWPROF_FLUSH_INTERVAL", "500ms", "SWPROF_DISCOVERY_RULES", rules));
        } catch (RuntimeException e) {
            skip("the profiler cannot start here: " + e.getMessage());
        }
        Object err = server.stats().get("profilerError");
        if (err != null) {
            skip("the profiler reports: " + err);
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (busy != null) {
            busy.close();
        }
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

    static boolean hasHotFunction(Map<String, Object> analysis) {
        for (Object tree : list(analysis.get("trees"))) {
            for (Object e : list(map(tree).get("elements"))) {
                if (String.valueOf(map(e).get("symbol")).contains(HOT)) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void seedRequestsFromServiceNameToTheHotFunction() throws Exception {
        String serviceId = server.waitFor("service e2e-seed", 15_000, () -> {
            Object s = server.query("query ($n: String!) { result: findService(serviceName: $n) { id } }",
                    Map.of("n", "e2e-seed")).data().get("result");
            return s == null ? null : (String) map(s).get("id");
        });
        long now = System.currentTimeMillis();
        Map<String, Object> duration = Map.of("start", minute(now - 600_000), "end", minute(now + 600_000),
                "step", "MINUTE");
        String instanceId = (String) map(list(server.query("query ($s: ID!, $d: Duration!) { result: "
                + "listInstances(duration: $d, serviceId: $s) { id } }", Map.of("s", serviceId, "d", duration))
                .data().get("result")).get(0)).get("id");
        String processId = (String) map(list(server.query("query ($i: ID!, $d: Duration!) { result: "
                + "listProcesses(duration: $d, instanceId: $i) { id name } }", Map.of("i", instanceId, "d", duration))
                .data().get("result")).get(0)).get("id");
        Map<String, Object> created = map(server.query("mutation ($request: EBPFProfilingTaskFixedTimeCreationRequest!)"
                + " { result: createEBPFProfilingFixedTimeTask(request: $request) { status errorReason id } }",
                Map.of("request", Map.of("processFinder", Map.of("finderType", "PROCESS_ID", "processId", processId),
                        "startTime", -1, "duration", 60, "targetType", "ON_CPU"))).data().get("result"));
        assertEquals(Boolean.TRUE, created.get("status"), created::toString);
        String taskId = (String) created.get("id");

        Map<String, Object> schedule = server.waitFor("a schedule of the seed task", 20_000, () -> {
            List<Object> s = list(server.query("query ($t: ID!, $d: Duration!) { result: queryEBPFProfilingSchedules("
                    + "taskId: $t, duration: $d) { scheduleId processId startTime endTime } }",
                    Map.of("t", taskId, "d", duration)).data().get("result"));
            return s.isEmpty() ? null : map(s.get(0));
        });
        assertEquals(processId, schedule.get("processId"));
        Map<String, Object> tree = server.waitFor("the hot function in the seed tree", 30_000, () -> {
            Map<String, Object> a = map(server.query("query ($t: ID!, $r: [EBPFProfilingAnalyzeTimeRange!]!) { "
                    + "result: getEBPFProfilingAnalyzation(taskId: $t, timeRanges: $r) { tip trees { elements { id "
                    + "parentId symbol stackType dumpCount } } } }", Map.of("t", taskId, "r",
                    List.of(Map.of("start", now - 60_000, "end", System.currentTimeMillis() + 60_000))))
                    .data().get("result"));
            return hasHotFunction(a) ? a : null;
        });
        assertTrue(hasHotFunction(tree));
    }

    @Test
    void currentRequestsFromServiceNameToTheHotFunction() throws Exception {
        String serviceId = server.waitFor("service e2e-current", 15_000, () -> {
            for (Object s : list(server.query("query ($layer: String!) { services: listServices(layer: $layer) "
                    + "{ id value: name label: name group layers normal shortName } }", Map.of("layer", "OS_LINUX"))
                    .data().get("services"))) {
                if ("e2e-current".equals(map(s).get("value"))) {
                    return (String) map(s).get("id");
                }
            }
            return null;
        });
        Map<String, Object> prep = map(server.query("query ($serviceId: ID!) { createTaskData: "
                + "queryPrepareCreateEBPFProfilingTaskData(serviceId: $serviceId) { couldProfiling processLabels } }",
                Map.of("serviceId", serviceId)).data().get("createTaskData"));
        assertEquals(Boolean.TRUE, prep.get("couldProfiling"));
        long now = System.currentTimeMillis();
        Map<String, Object> created = map(server.query("mutation ($request: EBPFProfilingTaskFixedTimeCreationRequest!)"
                + " { createTaskData: createEBPFProfilingFixedTimeTask(request: $request) { status errorReason id } }",
                Map.of("request", Map.of("serviceId", serviceId, "processLabels", List.of(), "startTime", now,
                        "duration", 600, "targetType", "ON_CPU"))).data().get("createTaskData"));
        assertEquals(Boolean.TRUE, created.get("status"), created::toString);
        String taskId = (String) created.get("id");
        List<Object> tasks = list(server.query("query ($serviceId: ID, $targets: [EBPFProfilingTargetType!], "
                + "$triggerType: EBPFProfilingTriggerType) { queryEBPFTasks: queryEBPFProfilingTasks(serviceId: "
                + "$serviceId, targets: $targets, triggerType: $triggerType) { taskId } }", Map.of("serviceId",
                serviceId, "targets", List.of("ON_CPU", "OFF_CPU"), "triggerType", "FIXED_TIME"))
                .data().get("queryEBPFTasks"));
        assertEquals(taskId, map(tasks.get(0)).get("taskId"));

        Map<String, Object> schedule = server.waitFor("a schedule of the current task", 20_000, () -> {
            List<Object> s = list(server.query("query ($taskId: ID!) { eBPFSchedules: queryEBPFProfilingSchedules("
                    + "taskId: $taskId) { scheduleId process { id name labels } startTime endTime } }",
                    Map.of("taskId", taskId)).data().get("eBPFSchedules"));
            return s.isEmpty() ? null : map(s.get(0));
        });
        assertEquals(List.of("e2e"), map(schedule.get("process")).get("labels"));
        String scheduleId = (String) schedule.get("scheduleId");
        Map<String, Object> tree = server.waitFor("the hot function in the current tree", 30_000, () -> {
            Map<String, Object> a = map(server.query("query ($ids: [ID!]!, $r: [EBPFProfilingAnalyzeTimeRange!]!, "
                    + "$agg: EBPFProfilingAnalyzeAggregateType) { r: analysisEBPFProfilingResult(scheduleIdList: $ids, "
                    + "timeRanges: $r, aggregateType: $agg) { tip trees { elements { id parentId symbol stackType "
                    + "dumpCount } } } }", Map.of("ids", List.of(scheduleId), "agg", "COUNT", "r", List.of(Map.of(
                    "start", now - 60_000, "end", System.currentTimeMillis() + 60_000)))).data().get("r"));
            return hasHotFunction(a) ? a : null;
        });
        assertTrue(hasHotFunction(tree));
    }
}
