package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.swprof.it.BoosterUi.list;
import static org.swprof.it.BoosterUi.map;
import static org.swprof.it.BoosterUi.num;
import static org.swprof.it.BoosterUi.str;
import static org.swprof.it.BoosterUi.strings;

import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SkyWalking's UI against a running server, as docs/protocol.md §7 describes it: its documents and variables, in its
 * order, from start-up (menu, time, version, TTLs, traces-v2 support, dashboards) through a layer's root dashboard
 * (its service list) and a service dashboard's eBPF widget (tasks, "New Task", create, schedules, analysis) to a
 * flame-graph tree of a real busy process that a discovery rule found and the BPF profiler sampled. Every answer is
 * checked for what the UI reads (BoosterUi).
 *
 * <p>Needs root (or CAP_BPF + CAP_PERFMON) and a C compiler; skipped where the machine cannot, unless
 * SWPROF_REQUIRE_BPF=1.
 */
class UiFlowTest {
    /** The layer a second rule names. */
    static final String RULE_LAYER = "SWPROF_IT";
    static final String BUSY = "swprof-ui-busy";
    /** A process of RULE_LAYER: {@code sleep} with an argument no one else uses. */
    static final String IDLE_ARG = "6011";

    static BusyProgram program;
    static Process busy;
    static Process idle;
    static Server server;
    static BoosterUi ui;

    @BeforeAll
    static void start() throws Exception {
        program = BusyProgram.compile(BUSY);
        if (program == null) {
            ProfilingEndToEndTest.skip("no C compiler to build the busy workload");
        }
        busy = program.start("ui");
        idle = new ProcessBuilder("sleep", IDLE_ARG).start();
        // the first rule gives no labels (so the process gets its name as one) and no layer (OS_LINUX)
        String rules = "[{cmdRegex: '" + BUSY + " ui$', service: ui-busy},"
                + " {cmdRegex: '^sleep " + IDLE_ARG + "$', service: ui-idle, layer: " + RULE_LAYER + "}]";
        try {
            server = Server.start(Map.of("SWPROF_PROFILING", "true", "SWPROF_SCAN_INTERVAL", "1s",
                    "SWPROF_FREQUENCY", "99", "SWPROF_FLUSH_INTERVAL", "500ms", "SWPROF_DISCOVERY_RULES", rules));
        } catch (RuntimeException e) {
            ProfilingEndToEndTest.skip("the profiler cannot start here: " + e.getMessage());
        }
        Object err = server.stats().get("profilerError");
        if (err != null) {
            ProfilingEndToEndTest.skip("the profiler reports: " + err);
        }
        ui = new BoosterUi(server);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (server != null) {
            server.close();
        }
        if (idle != null) {
            idle.destroyForcibly();
            idle.waitFor(5, TimeUnit.SECONDS);
        }
        if (program != null) {
            program.close();
        }
    }



    static String serviceId(String name) {
        return Base64.getEncoder().encodeToString(name.getBytes(StandardCharsets.UTF_8)) + ".1";
    }

    static Map<String, Object> service(List<Map<String, Object>> services, String name) {
        return services.stream().filter(s -> name.equals(s.get("value"))).findFirst().orElse(null);
    }

    @Test
    void fromStartUpToTheFlameGraphOfABusyProcessAsTheUiAsks() throws Exception {
        // ---- start-up: App.vue / the app store ----
        List<Map<String, Object>> menu = ui.menuItems();
        Map<String, Object> linux = menu.stream().filter(m -> "OS_LINUX".equals(m.get("layer"))).findFirst()
                .orElseThrow(() -> new AssertionError("no menu entry for OS_LINUX: " + menu));
        assertEquals(Boolean.TRUE, linux.get("activate")); // the side bar shows activated entries only

        Map<String, Object> time = ui.timeInfo();
        int offsetSeconds = ZoneId.systemDefault().getRules().getOffset(java.time.Instant.now()).getTotalSeconds();
        int tz = Integer.parseInt(str(time, "timezone").replace("+", ""));
        assertEquals(offsetSeconds, (tz / 100) * 3600 + (tz % 100) * 60, time::toString);
        assertTrue(Math.abs(num(time, "currentTimestamp") - System.currentTimeMillis()) < 60_000, time::toString);

        // the OAP API generation first (clients parse the major before the first '.'), swprof's version in it
        assertTrue(ui.version().matches("\\d+\\.\\d+\\.\\d+-swprof \\(swprof \\S+\\)"), ui.version());
        // days; -1: kept until deleted, which the UI's time pickers read as "no limit"
        ui.metricsTTL().values().forEach(v -> assertEquals(-1L, ((Number) v).longValue()));
        ui.recordsTTL().values().forEach(v -> assertEquals(-1L, ((Number) v).longValue()));
        assertFalse(ui.tracesV2());

        // ---- the Linux menu entry: Layer.vue finds the layer's root dashboard ----
        List<BoosterUi.Dashboard> dashboards = ui.templates();
        BoosterUi.Dashboard root = BoosterUi.root(dashboards, "OS_LINUX");
        BoosterUi.Dashboard serviceDashboard = BoosterUi.serviceDashboardOf(dashboards, root);
        assertTrue(serviceDashboard.widgets().stream().anyMatch(w -> "Ebpf".equals(w.get("type"))),
                () -> "no top-level Ebpf widget: " + serviceDashboard);

        // its ServiceList lists the layer's services; the busy process's service appears once discovered
        Map<String, Object> svc = server.waitFor("service ui-busy in OS_LINUX", 15_000,
                () -> service(ui.services("OS_LINUX"), "ui-busy"));
        String serviceId = str(svc, "id");
        assertEquals(serviceId("ui-busy"), serviceId);
        assertEquals("ui-busy", svc.get("shortName"));
        assertNull(service(ui.services("OS_LINUX"), "ui-idle"), "ui-idle is of layer " + RULE_LAYER);

        // ---- click: /dashboard/OS_LINUX/Service/<id>/<name>; Tool.vue needs the route's service in the list ----
        assertTrue(ui.services(serviceDashboard.layer()).stream().anyMatch(s -> serviceId.equals(s.get("id"))));

        // ---- the eBPF widget: no task yet ----
        assertEquals(List.of(), ui.tasks(serviceId));

        // "New Task": the labels to choose from; the rule gave none, so the process has its name as one
        Map<String, Object> prep = ui.createTaskData(serviceId);
        assertEquals(Boolean.TRUE, prep.get("couldProfiling"));
        assertEquals(List.of(BUSY), strings(prep, "processLabels"));

        // create as the UI does: every process of the service, now, 600 s, ON_CPU
        long now = System.currentTimeMillis();
        Map<String, Object> created = ui.createTask(serviceId, now);
        assertEquals(Boolean.TRUE, created.get("status"), created::toString);
        assertNull(created.get("errorReason"));
        String taskId = str(created, "id");
        // an opaque hex id, as OAP's, that no reader takes for a number (tree element ids stay numeric)
        assertTrue(taskId.matches("[a-f][0-9a-f]{15}"), taskId);

        // the task is listed, newest first, as created
        List<Map<String, Object>> tasks = ui.tasks(serviceId);
        Map<String, Object> task = tasks.get(0);
        assertEquals(taskId, task.get("taskId"));
        assertEquals(serviceId, task.get("serviceId"));
        assertEquals("ui-busy", task.get("serviceName"));
        assertEquals(List.of(), task.get("processLabels"));
        assertEquals(600L, num(task, "fixedTriggerDuration"));
        assertEquals("ON_CPU", task.get("targetType"));
        assertEquals("FIXED_TIME", task.get("triggerType"));
        assertTrue(Math.abs(num(task, "taskStartTime") - now) < 1000, task::toString);

        // the widget selects the first task and at once asks for its schedules and analyzes them; so soon after
        // the creation there may be no run yet, or one not flushed yet (startTime == endTime): the UI then sends no
        // or an empty time range and gets a tip (as from an OAP without data), until the task is selected again
        List<Map<String, Object>> first = ui.schedules(taskId);
        BoosterUi.AnalysisRequest firstRequest = BoosterUi.analysisRequest(first);
        Map<String, Object> firstAnalysis = ui.analyzeUnchecked(firstRequest);
        if (BoosterUi.coversTime(firstRequest)) {
            BoosterUi.checkAnalysis(firstAnalysis);
        } else {
            System.out.println("UiFlowTest: right after the creation the UI's analysis of " + first.size()
                    + " schedule(s) " + firstRequest + " answered tip " + firstAnalysis.get("tip"));
        }

        // it runs: a schedule on the busy process
        List<Map<String, Object>> schedules = server.waitFor("a schedule of the UI's task", 20_000, () -> {
            List<Map<String, Object>> s = ui.schedules(taskId);
            return s.isEmpty() ? null : s;
        });
        Map<String, Object> process = map(schedules.get(0).get("process"));
        assertEquals(BUSY, process.get("name"));
        assertEquals(List.of(BUSY), strings(process, "labels"));
        assertEquals(serviceId, process.get("serviceId"));
        assertEquals("VM", process.get("detectType"));
        Map<String, String> attributes = new HashMap<>();
        for (Object a : list(process.get("attributes"))) {
            attributes.put(str(map(a), "name"), str(map(a), "value"));
        }
        assertEquals(String.valueOf(busy.pid()), attributes.get("pid"), attributes::toString);

        // the widget analyzes at once what the schedules cover (and again on "Analyze"): the hot function appears
        String hot = ProfilingEndToEndTest.HOT;
        Map<String, Object> analysis = server.waitFor("the hot function in the UI's tree", 30_000, () -> {
            BoosterUi.AnalysisRequest req = BoosterUi.analysisRequest(ui.schedules(taskId));
            if (!BoosterUi.coversTime(req)) {
                return null; // the run is not flushed yet (see above)
            }
            Map<String, Object> a = ui.analyze(req);
            return BoosterUi.symbols(a).contains(hot) ? a : null;
        });
        assertFalse(list(analysis.get("trees")).isEmpty());

        // the schedule keeps running: its end (the last flush) moves on
        long end = num(ui.schedules(taskId).get(0), "endTime");
        server.waitFor("the schedule's end to move on", 10_000,
                () -> num(ui.schedules(taskId).get(0), "endTime") > end ? Boolean.TRUE : null);

        // with a schedule of an unlabelled process in the list the UI sends a null entry: skipped, same tree
        BoosterUi.AnalysisRequest req = BoosterUi.analysisRequest(ui.schedules(taskId));
        List<String> withNull = new ArrayList<>(req.scheduleIdList());
        withNull.add(null);
        Map<String, Object> again = ui.analyze(new BoosterUi.AnalysisRequest(withNull, req.timeRanges()));
        assertTrue(BoosterUi.symbols(again).contains(hot), again::toString);
    }

    @Test
    void aLayerARuleNamesGetsAMenuEntryDashboardsAndItsServices() throws Exception {
        List<Map<String, Object>> menu = ui.menuItems();
        Map<String, Object> entry = menu.stream().filter(m -> RULE_LAYER.equals(m.get("layer"))).findFirst()
                .orElseThrow(() -> new AssertionError("no menu entry for " + RULE_LAYER + ": " + menu));
        assertEquals(Boolean.TRUE, entry.get("activate"));
        assertEquals(RULE_LAYER, entry.get("title"));

        List<BoosterUi.Dashboard> dashboards = ui.templates();
        BoosterUi.Dashboard root = BoosterUi.root(dashboards, RULE_LAYER);
        BoosterUi.Dashboard serviceDashboard = BoosterUi.serviceDashboardOf(dashboards, root);
        assertTrue(serviceDashboard.widgets().stream().anyMatch(w -> "Ebpf".equals(w.get("type"))));

        Map<String, Object> svc = server.waitFor("service ui-idle in " + RULE_LAYER, 15_000,
                () -> service(ui.services(RULE_LAYER), "ui-idle"));
        assertEquals(List.of(RULE_LAYER), svc.get("layers"));
        // a process found by a rule without labels carries its name as one
        List<Object> processes = list(server.query("query ($s: ID) { listProcesses(serviceId: $s) { name labels "
                + "attributes { name value } } }", Map.of("s", str(svc, "id"))).data().get("listProcesses"));
        assertEquals(1, processes.size(), processes::toString);
        assertEquals("sleep", map(processes.get(0)).get("name"));
        assertEquals(List.of("sleep"), map(processes.get(0)).get("labels"));
    }
}
