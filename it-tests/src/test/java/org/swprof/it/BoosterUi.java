package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SkyWalking's UI (booster-ui) as a client of swprof: its GraphQL documents as it writes them (an operation named
 * after the call, the fragment text of {@code src/graphql/fragments/*.ts}), its variables, and the little logic it
 * runs on the answers (which schedules it analyzes, over which time ranges, how it turns elements into a tree).
 * Every answer is checked for what the UI reads, with the types it needs: the UI has no tolerance for a null where it
 * calls {@code .replace}, {@code .includes} or {@code .find}, or for a non-numeric element id.
 */
final class BoosterUi {
    // ---- documents: src/graphql/query/*.ts = `query <name>(<variables>) {<fragment>}` ----

    static final String MENU_ITEMS = "query menuItems {\n    getMenuItems {\n        title\n        icon\n"
            + "        layer\n        activate\n        description\n        documentLink\n        i18nKey\n"
            + "        subItems {\n          title\n          icon\n          layer\n          activate\n"
            + "          description\n          documentLink\n          i18nKey\n        }\n      }\n    }";
    static final String TIME_INFO = "query queryOAPTimeInfo {\n    getTimeInfo {\n      timezone\n"
            + "      currentTimestamp\n    }\n  }";
    static final String VERSION = "query version { version }";
    static final String METRICS_TTL = "query queryMetricsTTL {\n    getMetricsTTL {\n      minute\n      hour\n"
            + "      day\n      coldMinute\n      coldHour\n      coldDay\n    }\n  }";
    static final String RECORDS_TTL = "query queryRecordsTTL {\n    getRecordsTTL {\n      normal\n      trace\n"
            + "      zipkinTrace\n      log\n      browserErrorLog\n      coldNormal\n      coldTrace\n"
            + "      coldZipkinTrace\n      coldLog\n      coldBrowserErrorLog\n    }\n  }";
    static final String TRACES_V2 = "query queryHasQueryTracesV2Support {\n    hasQueryTracesV2Support\n  }";
    static final String TEMPLATES = "query templates {\n    getAllTemplates {\n      id,\n      configuration,\n"
            + "    }\n  }";
    static final String SERVICES = "query queryServices($layer: String!) {\n  services: listServices(layer: $layer) {\n"
            + "    id\n    value: name\n    label: name\n    group\n    layers\n    normal\n    shortName\n  }\n  }";
    static final String TASKS = "query queryEBPFTasks($serviceId: ID, $serviceInstanceId: ID, $targets: "
            + "[EBPFProfilingTargetType!], $triggerType: EBPFProfilingTriggerType) {\n  queryEBPFTasks: "
            + "queryEBPFProfilingTasks(serviceId: $serviceId, serviceInstanceId: $serviceInstanceId, "
            + "targets: $targets, triggerType: $triggerType) {\n    taskId\n    serviceName\n    serviceId\n"
            + "    serviceInstanceId\n    serviceInstanceName\n    processLabels\n    processName\n    processId\n"
            + "    taskStartTime\n    triggerType\n    fixedTriggerDuration\n    targetType\n    createTime\n"
            + "    continuousProfilingCauses {\n      type\n      singleValue {\n        threshold\n        current\n"
            + "      }\n      uri {\n        uriRegex\n        uriPath\n        threshold\n        current\n      }\n"
            + "      message\n    }\n  }}";
    static final String CREATE_TASK_DATA = "query queryCreateTaskData($serviceId: ID!) {\n  createTaskData: "
            + "queryPrepareCreateEBPFProfilingTaskData(serviceId: $serviceId) {\n    couldProfiling\n"
            + "    processLabels\n    }}";
    static final String CREATE_TASK = "mutation createEBPFTask($request: EBPFProfilingTaskFixedTimeCreationRequest!) "
            + "{\n  createTaskData: createEBPFProfilingFixedTimeTask(request: $request) {\n    status\n"
            + "    errorReason\n    id\n  }}";
    static final String SCHEDULES = "query queryEBPFSchedules($taskId: ID!) {\n  eBPFSchedules: "
            + "queryEBPFProfilingSchedules(taskId: $taskId) {\n    scheduleId\n    taskId\n    process {\n      id\n"
            + "      name\n      serviceId\n      serviceName\n      instanceId\n      instanceName\n      agentId\n"
            + "      detectType\n      attributes {\n        name\n        value\n      }\n      labels\n    }\n"
            + "    startTime\n    endTime\n  }}";
    static final String ANALYSIS = "query analysisEBPFResult($scheduleIdList: [ID!]!, $timeRanges: "
            + "[EBPFProfilingAnalyzeTimeRange!]!, $aggregateType: EBPFProfilingAnalyzeAggregateType) {\n"
            + "  analysisEBPFResult: analysisEBPFProfilingResult(scheduleIdList: $scheduleIdList, timeRanges: "
            + "$timeRanges, aggregateType: $aggregateType) {\n    tip\n    trees {\n      elements {\n        id\n"
            + "        parentId\n        symbol\n        stackType\n        dumpCount\n      }\n    }\n  }}";

    final Server server;

    BoosterUi(Server server) {
        this.server = server;
    }

    // ---- typed reading ----

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        assertTrue(o instanceof Map, () -> "expected an object, got " + o);
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        assertTrue(o instanceof List, () -> "expected an array, got " + o);
        return (List<Object>) o;
    }

    static String str(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertTrue(v instanceof String, () -> key + " must be a string in " + m);
        return (String) v;
    }

    static long num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertTrue(v instanceof Number, () -> key + " must be a number in " + m);
        return ((Number) v).longValue();
    }

    static List<String> strings(Map<String, Object> m, String key) {
        List<String> out = new ArrayList<>();
        for (Object o : list(m.get(key))) {
            assertTrue(o instanceof String, () -> key + " must be an array of strings in " + m);
            out.add((String) o);
        }
        return out;
    }

    static boolean numericId(String s) {
        return s.matches("[0-9]+");
    }

    Map<String, Object> data(String query, Map<String, Object> variables) {
        return server.query(query, variables).data();
    }

    // ---- start-up (src/store/modules/app.ts) ----

    /** getMenuItems: the UI calls title.replace(..) on every item and sub-item; it shows only activated ones. */
    List<Map<String, Object>> menuItems() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : list(data(MENU_ITEMS, Map.of()).get("getMenuItems"))) {
            Map<String, Object> m = map(o);
            str(m, "title");
            for (Object sub : m.get("subItems") == null ? List.of() : list(m.get("subItems"))) {
                str(map(sub), "title");
            }
            out.add(m);
        }
        return out;
    }

    /** getTimeInfo: the UI computes {@code timezone / 100} as its hour offset. */
    Map<String, Object> timeInfo() {
        Map<String, Object> t = map(data(TIME_INFO, Map.of()).get("getTimeInfo"));
        assertTrue(str(t, "timezone").matches("[+-][0-9]{4}"), t::toString);
        num(t, "currentTimestamp");
        return t;
    }

    String version() {
        return str(data(VERSION, Map.of()), "version");
    }

    Map<String, Object> metricsTTL() {
        Map<String, Object> m = map(data(METRICS_TTL, Map.of()).get("getMetricsTTL"));
        m.keySet().forEach(k -> num(m, k));
        return m;
    }

    Map<String, Object> recordsTTL() {
        Map<String, Object> m = map(data(RECORDS_TTL, Map.of()).get("getRecordsTTL"));
        m.keySet().forEach(k -> num(m, k));
        return m;
    }

    boolean tracesV2() {
        Object v = data(TRACES_V2, Map.of()).get("hasQueryTracesV2Support");
        assertTrue(v instanceof Boolean, () -> "hasQueryTracesV2Support: " + v);
        return (Boolean) v;
    }

    // ---- dashboards (src/store/modules/dashboard.ts fetchTemplates, src/views/Layer.vue) ----

    /** A dashboard as the UI keeps it: the parsed configuration plus the template's id. */
    record Dashboard(String id, Map<String, Object> conf) {
        String layer() {
            return (String) conf.get("layer");
        }

        String entity() {
            return (String) conf.get("entity");
        }

        String name() {
            return (String) conf.get("name");
        }

        boolean isRoot() {
            return Boolean.TRUE.equals(conf.get("isRoot"));
        }

        List<Map<String, Object>> widgets() {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Object w : list(conf.get("children"))) {
                out.add(map(w));
            }
            return out;
        }
    }

    /** getAllTemplates: never null; JSON.parse(configuration) and name.toUpperCase() for each. */
    List<Dashboard> templates() {
        List<Dashboard> out = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        for (Object o : list(data(TEMPLATES, Map.of()).get("getAllTemplates"))) {
            Map<String, Object> t = map(o);
            Map<String, Object> conf;
            try {
                conf = map(Server.JSON.readValue(str(t, "configuration"), Object.class));
            } catch (java.io.IOException e) {
                throw new AssertionError("configuration is not JSON: " + t, e);
            }
            Dashboard d = new Dashboard(str(t, "id"), conf);
            str(conf, "layer");
            str(conf, "entity");
            str(conf, "name");
            list(conf.get("children"));
            assertTrue(keys.add(d.layer() + "_" + d.entity() + "_" + d.name()), () -> "twice: " + d);
            out.add(d);
        }
        return out;
    }

    /** Layer.vue: the dashboard a layer's menu entry shows. */
    static Dashboard root(List<Dashboard> all, String layer) {
        return all.stream().filter(d -> d.layer().equals(layer) && d.isRoot()
                && List.of("Service", "All").contains(d.entity())).findFirst()
                .orElseThrow(() -> new AssertionError("no root dashboard for " + layer + " in " + all));
    }

    /** ServiceList.clickService: the dashboard named by the list widget, same layer, entity Service. */
    static Dashboard serviceDashboardOf(List<Dashboard> all, Dashboard root) {
        Map<String, Object> widget = root.widgets().stream()
                .filter(w -> w.get("graph") instanceof Map && "ServiceList".equals(map(w.get("graph")).get("type")))
                .findFirst().orElseThrow(() -> new AssertionError("no ServiceList widget in " + root));
        String name = str(map(widget.get("graph")), "dashboardName");
        return all.stream().filter(d -> d.layer().equals(root.layer()) && d.entity().equals("Service")
                && d.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no Service dashboard " + name + " for " + root.layer()));
    }

    /** listServices(layer): ServiceList sorts by group.toUpperCase(), shows shortName, searches label. */
    List<Map<String, Object>> services(String layer) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : list(data(SERVICES, Map.of("layer", layer)).get("services"))) {
            Map<String, Object> s = map(o);
            for (String k : List.of("id", "value", "label", "group", "shortName")) {
                str(s, k);
            }
            assertTrue(strings(s, "layers").contains(layer), s::toString);
            out.add(s);
        }
        return out;
    }

    // ---- the eBPF widget (src/store/modules/ebpf.ts, src/views/dashboard/related/ebpf/) ----

    List<Map<String, Object>> tasks(String serviceId) {
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("serviceId", serviceId); // serviceInstanceId undefined: JSON leaves it out
        vars.put("targets", List.of("ON_CPU", "OFF_CPU"));
        vars.put("triggerType", "FIXED_TIME");
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : list(data(TASKS, vars).get("queryEBPFTasks"))) {
            Map<String, Object> t = map(o);
            str(t, "taskId");
            str(t, "serviceId");
            str(t, "serviceName");
            strings(t, "processLabels");
            num(t, "taskStartTime");
            num(t, "fixedTriggerDuration");
            num(t, "createTime");
            str(t, "triggerType");
            str(t, "targetType");
            Object causes = t.get("continuousProfilingCauses");
            assertTrue(causes == null || causes instanceof List, t::toString);
            out.add(t);
        }
        return out;
    }

    Map<String, Object> createTaskData(String serviceId) {
        Map<String, Object> d = map(data(CREATE_TASK_DATA, Map.of("serviceId", serviceId)).get("createTaskData"));
        assertTrue(d.get("couldProfiling") instanceof Boolean, d::toString);
        strings(d, "processLabels");
        return d;
    }

    /** NewTask.vue with its defaults: every process of the service (no labels), now, 10 minutes, ON_CPU. */
    Map<String, Object> createTask(String serviceId, long nowMs) {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("serviceId", serviceId);
        request.put("processLabels", List.of());
        request.put("startTime", nowMs);
        request.put("duration", 600);
        request.put("targetType", "ON_CPU");
        return map(data(CREATE_TASK, Map.of("request", request)).get("createTaskData"));
    }

    /** queryEBPFProfilingSchedules: never null; process.labels.find(..), name/instanceName.includes(..). */
    List<Map<String, Object>> schedules(String taskId) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : list(data(SCHEDULES, Map.of("taskId", taskId)).get("eBPFSchedules"))) {
            Map<String, Object> s = map(o);
            str(s, "scheduleId");
            assertEquals(taskId, str(s, "taskId"));
            num(s, "startTime");
            num(s, "endTime");
            Map<String, Object> p = map(s.get("process"));
            for (String k : List.of("id", "name", "serviceId", "serviceName", "instanceId", "instanceName", "agentId",
                    "detectType")) {
                str(p, k);
            }
            for (Object a : list(p.get("attributes"))) {
                str(map(a), "name");
                str(map(a), "value");
            }
            assertFalse(strings(p, "labels").isEmpty(), () -> "a process without labels is never analyzed: " + p);
            out.add(s);
        }
        return out;
    }

    /** What EBPFSchedules.analyzeEBPF sends: label "All" selected, no process picked by hand. */
    record AnalysisRequest(List<String> scheduleIdList, List<Map<String, Long>> timeRanges) {
    }

    static AnalysisRequest analysisRequest(List<Map<String, Object>> schedules) {
        Set<String> labels = new LinkedHashSet<>();
        labels.add("0"); // the "All" option
        for (Map<String, Object> s : schedules) {
            labels.addAll(strings(map(s.get("process")), "labels"));
        }
        List<String> ids = new ArrayList<>();
        List<Map<String, Long>> ranges = new ArrayList<>();
        for (Map<String, Object> s : schedules) {
            boolean labelled = strings(map(s.get("process")), "labels").stream().anyMatch(labels::contains);
            if (labelled) {
                ranges.add(new HashMap<>(Map.of("start", num(s, "startTime"), "end", num(s, "endTime"))));
                ids.add(str(s, "scheduleId"));
            } else {
                ids.add(null); // flatMap over an undefined: JSON null
            }
        }
        List<Map<String, Long>> timeRanges = new ArrayList<>();
        for (Map<String, Long> r : ranges) {
            if (timeRanges.isEmpty()) {
                timeRanges.add(r);
                continue;
            }
            for (Map<String, Long> t : timeRanges) {
                if (r.get("start") > t.get("start") && r.get("start") < t.get("end") && r.get("end") > t.get("end")) {
                    t.put("end", r.get("end"));
                }
            }
        }
        return new AnalysisRequest(ids, timeRanges);
    }

    /** analysisEBPFProfilingResult as the widget sends it, the answer checked by {@link #checkAnalysis}. */
    Map<String, Object> analyze(AnalysisRequest req) {
        Map<String, Object> a = analyzeUnchecked(req);
        checkAnalysis(a);
        return a;
    }

    Map<String, Object> analyzeUnchecked(AnalysisRequest req) {
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("scheduleIdList", req.scheduleIdList());
        vars.put("timeRanges", req.timeRanges());
        vars.put("aggregateType", "COUNT");
        return map(data(ANALYSIS, vars).get("analysisEBPFResult"));
    }

    /** Whether the request covers some time: no range, or one whose end is not after its start, gets a tip. */
    static boolean coversTime(AnalysisRequest req) {
        return !req.timeRanges().isEmpty()
                && req.timeRanges().stream().allMatch(r -> r.get("end") > r.get("start"));
    }

    /**
     * The analysis as EBPFStack.vue draws it: {@code tip} absent or "" (any other text replaces the graph); every
     * tree's elements with numeric string ids ({@code Number(id) + 1}), unique, never "0", exactly one root (the
     * element whose parentId is "0"; with two, all but the last are lost), every other parent present, a symbol,
     * a stack type and a count.
     */
    static void checkAnalysis(Map<String, Object> a) {
        Object tip = a.get("tip");
        assertTrue(tip == null || "".equals(tip), () -> "tip: " + tip);
        for (Object t : list(a.get("trees"))) {
            List<Object> elements = list(map(t).get("elements"));
            assertFalse(elements.isEmpty(), "an empty tree");
            Map<String, Map<String, Object>> byId = new HashMap<>();
            int roots = 0;
            for (Object o : elements) {
                Map<String, Object> e = map(o);
                String id = str(e, "id");
                String parent = str(e, "parentId");
                assertTrue(numericId(id) && numericId(parent), e::toString);
                assertNotEquals("0", id);
                assertTrue(byId.putIfAbsent(id, e) == null, () -> "duplicate id " + id);
                roots += parent.equals("0") ? 1 : 0;
                str(e, "symbol");
                assertTrue(List.of("USER_SPACE", "KERNEL_SPACE").contains(str(e, "stackType")), e::toString);
                assertTrue(num(e, "dumpCount") > 0, e::toString);
            }
            assertEquals(1, roots, "roots of one tree");
            Map<String, Long> childSums = new HashMap<>();
            for (Map<String, Object> e : byId.values()) {
                String parent = (String) e.get("parentId");
                if (!parent.equals("0")) {
                    assertTrue(byId.containsKey(parent), () -> "parent missing: " + e);
                    childSums.merge(parent, num(e, "dumpCount"), Long::sum);
                }
            }
            // counts are inclusive: a node holds at least what its children hold
            childSums.forEach((id, sum) -> assertTrue(num(byId.get(id), "dumpCount") >= sum, byId.get(id)::toString));
        }
    }

    /** The symbols of every tree. */
    static Set<String> symbols(Map<String, Object> analysis) {
        Set<String> out = new HashSet<>();
        for (Object t : list(analysis.get("trees"))) {
            for (Object e : list(map(t).get("elements"))) {
                out.add((String) map(e).get("symbol"));
            }
        }
        return out;
    }
}
