package org.swprof.shim.graphql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.swprof.shim.graphql.Gql.list;
import static org.swprof.shim.graphql.Gql.map;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.swprof.shim.TestCore;
import org.swprof.shim.Version;

/** Metadata (docs/protocol.md §5) and the UI's start-up calls (§7) through GraphQL and a real core. */
class MetadataResolversTest {
    static final String PROCESS_FIELDS = "id name serviceId serviceName instanceId instanceName agentId detectType "
            + "attributes { name value } labels layer";

    TestCore t;
    Gql gql;
    String sqrt;
    String sqrtInstance;

    @BeforeEach
    void open() {
        t = TestCore.open();
        gql = new Gql(t.core);
        t.register("sqrt", "sqrt", List.of("e2e"));
        t.register("sqrt", "helper", null);
        t.register("other", "other", List.of("x"));
        sqrt = TestCore.serviceId("sqrt");
        sqrtInstance = TestCore.instanceId(sqrt, TestCore.HOST);
    }

    @AfterEach
    void close() {
        t.close();
    }

    @Test
    void version() {
        assertEquals(Version.TEXT, gql.field("{ version }"));
        assertEquals(Version.TEXT, gql.field("mutation { version }"));
    }

    @Test
    void services() {
        List<Object> all = list(gql.field("{ listServices { id name group shortName layers normal } }"));
        assertEquals(2, all.size());
        Map<String, Object> s = all.stream().map(Gql::map).filter(m -> m.get("name").equals("sqrt")).findFirst()
                .orElseThrow();
        assertEquals(sqrt, s.get("id"));
        assertEquals("c3FydA==.1", s.get("id"));
        assertEquals("", s.get("group"));
        assertEquals("sqrt", s.get("shortName"));
        assertEquals(List.of("OS_LINUX"), s.get("layers"));
        assertEquals(Boolean.TRUE, s.get("normal"));
        // the UI's dashboard request, aliases included
        List<Object> ui = list(gql.field("query queryServices($layer: String!) {\n"
                + "    services: listServices(layer: $layer) {\n      id\n      value: name\n      label: name\n"
                + "      group\n      layers\n      normal\n      shortName\n    }\n  }", "layer", "OS_LINUX"));
        assertEquals(2, ui.size());
        assertTrue(map(ui.get(0)).containsKey("value") && map(ui.get(0)).containsKey("label"));
        assertEquals(List.of(), gql.field("{ listServices(layer: \"MESH\") { id } }"));
        assertEquals(List.of("OS_LINUX"), gql.field("{ listLayers }"));
        assertEquals(sqrt, map(gql.field("{ findService(serviceName: \"sqrt\") { id } }")).get("id"));
        assertEquals("sqrt", map(gql.field("{ getService(serviceId: \"" + sqrt + "\") { name } }")).get("name"));
        assertNull(gql.field("{ findService(serviceName: \"nope\") { id } }"));
        assertNull(gql.field("{ getService(serviceId: \"bm9wZQ==.1\") { id } }"));
    }

    @Test
    void instances() {
        String q = "query ($duration: Duration!, $serviceId: ID!) { "
                + "instances: listInstances(duration: $duration, serviceId: $serviceId) "
                + "{ id name attributes { name value } language instanceUUID layer } }";
        // the last 30 minutes, as the UI and the CLI ask: the instance's processes run now
        java.time.format.DateTimeFormatter minute = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HHmm");
        java.time.LocalDateTime now = java.time.LocalDateTime.now();
        Map<String, Object> duration = Map.of("start", now.minusMinutes(30).format(minute), "end", now.format(minute),
                "step", "MINUTE");
        List<Object> inst = list(gql.field(q, "duration", duration, "serviceId", sqrt));
        assertEquals(1, inst.size());
        Map<String, Object> i = map(inst.get(0));
        assertEquals(sqrtInstance, i.get("id"));
        assertEquals(TestCore.HOST, i.get("name"));
        assertEquals("UNKNOWN", i.get("language"));
        assertEquals("OS_LINUX", i.get("layer"));
        assertTrue(i.get("instanceUUID") instanceof String);
        // the v1 name, as seed-era clients ask
        assertEquals(inst, gql.field("query ($duration: Duration!, $serviceId: ID!) { getServiceInstances("
                + "duration: $duration, serviceId: $serviceId) { id name attributes { name value } language "
                + "instanceUUID layer } }", "duration", duration, "serviceId", sqrt));
        assertEquals(List.of(), gql.field("{ listInstances(serviceId: \"bm9wZQ==.1\") { id } }"));
        // a duration long before the processes ran lists nothing
        assertEquals(List.of(), gql.field(q, "duration", Map.of("start", "2022-03-30 1010", "end", "2022-03-30 1025",
                "step", "MINUTE"), "serviceId", sqrt));
        // an instance of host processes has no attributes (host_ip is each process's)
        assertEquals(List.of(), i.get("attributes"));
        assertEquals(TestCore.HOST, map(gql.field("{ getInstance(instanceId: \"" + sqrtInstance + "\") { name } }"))
                .get("name"));
        assertNull(gql.field("{ getInstance(instanceId: \"garbage\") { name } }"));
    }

    @Test
    void processes() {
        List<Object> ps = list(gql.field("query ($serviceId: ID, $instanceId: ID) { listProcesses(serviceId: "
                + "$serviceId, instanceId: $instanceId) { " + PROCESS_FIELDS + " } }", "serviceId", sqrt));
        assertEquals(2, ps.size());
        Map<String, Object> helper = ps.stream().map(Gql::map).filter(m -> m.get("name").equals("helper"))
                .findFirst().orElseThrow();
        assertEquals(TestCore.processId("helper", sqrtInstance), helper.get("id"));
        assertEquals(List.of("helper"), helper.get("labels")); // no labels given: the process name
        assertEquals("VM", helper.get("detectType"));
        Map<String, String> attrs = new java.util.HashMap<>();
        for (Object a : list(helper.get("attributes"))) {
            attrs.put((String) map(a).get("name"), (String) map(a).get("value"));
        }
        assertEquals(TestCore.HOST_IP, attrs.get("host_ip"));
        assertTrue(attrs.get("pid").matches("\\d+"), attrs::toString);
        assertTrue(attrs.get("command_line").startsWith("sleep"), attrs::toString);
        // v2: by instance, with a duration: today's, and one long ago
        String today = java.time.LocalDate.now().toString();
        String byInstance = "query ($duration: Duration!, $instanceId: ID!) { listProcesses(duration: $duration, "
                + "instanceId: $instanceId) { id } }";
        assertEquals(2, list(gql.field(byInstance, "duration", Map.of("start", today, "end", today, "step", "DAY"),
                "instanceId", sqrtInstance)).size());
        assertEquals(0, list(gql.field(byInstance, "duration", Map.of("start", "2022-03-30", "end", "2022-03-30",
                "step", "DAY"), "instanceId", sqrtInstance)).size());
        // one process
        Map<String, Object> p = map(gql.field("{ getProcess(processId: \"" + helper.get("id") + "\") { "
                + PROCESS_FIELDS + " } }"));
        assertEquals(helper, p);
        assertNull(gql.field("{ getProcess(processId: \"unknown\") { id } }"));
        assertEquals(1L, ((Number) gql.field("{ estimateProcessScale(serviceId: \"" + sqrt
                + "\", labels: [\"e2e\"]) }")).longValue());
        assertEquals(2L, ((Number) gql.field("{ estimateProcessScale(serviceId: \"" + sqrt
                + "\", labels: []) }")).longValue());
    }

    @Test
    void whatTheUiAsksAtStartUpIsAnsweredInOneRequest() {
        // details in UiShellTest
        Map<String, Object> d = gql.data("query { getMenuItems { name title icon path layer activate subItems { name } } "
                + "getTimeInfo { timezone currentTimestamp } version "
                + "getMetricsTTL { minute hour day } getRecordsTTL { normal trace } hasQueryTracesV2Support "
                + "getAllTemplates { id configuration } }");
        assertEquals("OS_LINUX", map(list(d.get("getMenuItems")).get(0)).get("layer"));
        Map<String, Object> time = map(d.get("getTimeInfo"));
        assertTrue(((String) time.get("timezone")).matches("[+-]\\d{4}"), time::toString);
        assertTrue(Math.abs(((Number) time.get("currentTimestamp")).longValue() - System.currentTimeMillis()) < 60_000);
        assertEquals(Map.of("minute", -1L, "hour", -1L, "day", -1L), d.get("getMetricsTTL"));
        assertEquals(Map.of("normal", -1L, "trace", -1L), d.get("getRecordsTTL"));
        assertEquals(Boolean.FALSE, d.get("hasQueryTracesV2Support"));
        assertEquals(2, list(d.get("getAllTemplates")).size()); // OS_LINUX: root and service dashboards
    }

    @Test
    void longIsAJsonNumber() {
        Object ts = map(gql.field("{ getTimeInfo { currentTimestamp } }")).get("currentTimestamp");
        assertTrue(ts instanceof Long, () -> ts.getClass().toString());
    }
}
