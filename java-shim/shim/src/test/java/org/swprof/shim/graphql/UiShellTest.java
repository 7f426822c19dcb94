package org.swprof.shim.graphql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.swprof.shim.graphql.Gql.list;
import static org.swprof.shim.graphql.Gql.map;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swprof.shim.DiscoveryRule;
import org.swprof.shim.Requests;
import org.swprof.shim.TestCore;
import org.swprof.shim.Version;

/**
 * The shell of SkyWalking's UI (docs/protocol.md §7) through GraphQL and a real core: the start-up calls as booster-ui
 * writes them, the menu and the dashboards per layer, and the templates as data files (built in, or from a
 * directory, with every kind of mistake refused with the file's name).
 */
class UiShellTest {
    // booster-ui's documents (src/graphql/fragments/app.ts, dashboard.ts), byte for byte in their shape
    static final String MENU = "query menuItems {\n    getMenuItems {\n        title\n        icon\n        layer\n"
            + "        activate\n        description\n        documentLink\n        i18nKey\n        subItems {\n"
            + "          title\n          icon\n          layer\n          activate\n          description\n"
            + "          documentLink\n          i18nKey\n        }\n      }\n    }";
    static final String TIME = "query queryOAPTimeInfo {\n    getTimeInfo {\n      timezone\n      currentTimestamp\n"
            + "    }\n  }";
    static final String VERSION = "query version { version }";
    static final String TEMPLATES = "query templates {\n    getAllTemplates {\n      id,\n      configuration,\n"
            + "    }\n  }";

    TestCore t;
    SwprofGraphQL gql;

    @BeforeEach
    void open() {
        t = TestCore.open();
        gql = new SwprofGraphQL(t.core, SwprofGraphQL.Limits.DEFAULT,
                new SwprofGraphQL.Ui(UiTemplates.builtIn(), List.of("RULE_LAYER")));
        t.register("sqrt", "sqrt", List.of("e2e"));
        Process p = t.spawn();
        t.core.registerProcess(new Requests.ProcessSpec((int) p.pid(), "mine", null, "mine", "MY_LAYER", null));
    }

    @AfterEach
    void close() {
        t.close();
    }

    /** data of a request, through JSON as a client sees it, asserting there are no errors. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> data(SwprofGraphQL g, String query, Map<String, Object> vars) {
        Map<String, Object> r = g.execute(query, null, vars);
        try {
            r = (Map<String, Object>) Json.MAPPER.readValue(Json.MAPPER.writeValueAsBytes(r), Object.class);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        if (r.get("errors") != null) {
            fail("errors: " + r.get("errors") + " for " + query);
        }
        return (Map<String, Object>) r.get("data");
    }

    Map<String, Object> data(String query) {
        return data(gql, query, null);
    }

    @Test
    void startUpAnswersAreWhatBoosterUiReads() {
        // menu: one activated entry per layer, titles the UI can put in a route
        List<Object> menu = list(data(MENU).get("getMenuItems"));
        List<String> layers = new ArrayList<>();
        for (Object o : menu) {
            Map<String, Object> m = map(o);
            assertInstanceOf(String.class, m.get("title"), m::toString);
            assertFalse(((String) m.get("title")).isBlank());
            assertEquals(Boolean.TRUE, m.get("activate"));
            assertEquals(List.of(), m.get("subItems"));
            layers.add((String) m.get("layer"));
        }
        assertEquals(List.of("OS_LINUX", "RULE_LAYER", "MY_LAYER"), layers);
        assertEquals("Linux", map(menu.get(0)).get("title"));

        Map<String, Object> time = map(data(TIME).get("getTimeInfo"));
        assertEquals(MetadataResolvers.timeInfo(ZoneId.systemDefault(), Instant.now()).get("timezone"),
                time.get("timezone"));
        assertInstanceOf(Long.class, time.get("currentTimestamp"));
        assertTrue(Math.abs((Long) time.get("currentTimestamp") - System.currentTimeMillis()) < 60_000);

        assertEquals(Version.TEXT, data(VERSION).get("version"));

        Map<String, Object> metrics = map(data("query queryMetricsTTL { getMetricsTTL { metadata minute hour day "
                + "coldMinute coldHour coldDay } }").get("getMetricsTTL"));
        Map<String, Object> records = map(data("query queryRecordsTTL { getRecordsTTL { normal trace zipkinTrace log "
                + "browserErrorLog coldNormal coldTrace coldZipkinTrace coldLog coldBrowserErrorLog } }")
                .get("getRecordsTTL"));
        assertEquals(7, metrics.size());
        assertEquals(10, records.size());
        for (Object v : metrics.values()) {
            assertEquals(-1L, v); // kept until deleted: booster-ui reads -1 as "no limit"
        }
        for (Object v : records.values()) {
            assertEquals(-1L, v);
        }
        assertEquals(Boolean.FALSE, data("query queryHasQueryTracesV2Support { hasQueryTracesV2Support }")
                .get("hasQueryTracesV2Support"));
    }

    @Test
    void timeZoneIsWrittenAsSkyWalkingWritesIt() {
        Instant winter = Instant.parse("2024-01-15T12:00:00Z");
        Instant summer = Instant.parse("2024-07-15T12:00:00Z");
        assertEquals("+0800", MetadataResolvers.timeInfo(ZoneId.of("Asia/Shanghai"), winter).get("timezone"));
        assertEquals("+0530", MetadataResolvers.timeInfo(ZoneId.of("Asia/Kolkata"), winter).get("timezone"));
        assertEquals("+0000", MetadataResolvers.timeInfo(ZoneId.of("UTC"), winter).get("timezone"));
        assertEquals("-0500", MetadataResolvers.timeInfo(ZoneId.of("America/New_York"), winter).get("timezone"));
        assertEquals("-0400", MetadataResolvers.timeInfo(ZoneId.of("America/New_York"), summer).get("timezone"));
        assertEquals("+0100", MetadataResolvers.timeInfo(ZoneId.of("Europe/Berlin"), winter).get("timezone"));
        assertEquals(winter.toEpochMilli(), MetadataResolvers.timeInfo(ZoneId.of("UTC"), winter)
                .get("currentTimestamp"));
    }

    /** The dashboards by (layer, entity, name), configuration parsed; asserts the answer is what booster-ui reads. */
    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> dashboards(List<Object> templates) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        Set<String> ids = new HashSet<>();
        for (Object o : templates) {
            Map<String, Object> t = map(o);
            assertInstanceOf(String.class, t.get("id"));
            assertTrue(ids.add((String) t.get("id")), "duplicate id " + t.get("id"));
            assertInstanceOf(String.class, t.get("configuration"), "configuration travels as JSON text");
            Map<String, Object> c;
            try {
                c = (Map<String, Object>) Json.MAPPER.readValue((String) t.get("configuration"), Map.class);
            } catch (IOException e) {
                throw new AssertionError("configuration is not JSON: " + t, e);
            }
            for (String k : List.of("layer", "entity", "name")) {
                assertInstanceOf(String.class, c.get(k), k + " in " + c);
            }
            assertInstanceOf(List.class, c.get("children"));
            assertFalse(String.valueOf(t.get("configuration")).contains(UiTemplates.LAYER), "unexpanded " + c);
            String key = c.get("layer") + "/" + c.get("entity") + "/" + c.get("name");
            assertNotNull(key);
            assertTrue(out.put(key, c) == null, "two dashboards " + key);
        }
        return out;
    }

    @Test
    void everyLayerGetsARootDashboardListingItsServicesAndAServiceDashboardWithTheEbpfWidget() {
        Map<String, Map<String, Object>> all = dashboards(list(data(TEMPLATES).get("getAllTemplates")));
        assertEquals(6, all.size(), all::toString);
        for (String layer : List.of("OS_LINUX", "RULE_LAYER", "MY_LAYER")) {
            Map<String, Object> root = all.get(layer + "/All/swprof-Root");
            assertNotNull(root, () -> layer + ": " + all.keySet());
            assertEquals(Boolean.TRUE, root.get("isRoot"));
            Map<String, Object> list = map(list(root.get("children")).get(0));
            assertEquals("Widget", list.get("type"));
            Map<String, Object> graph = map(list.get("graph"));
            assertEquals("ServiceList", graph.get("type"));
            // clicking a service opens the dashboard named here, of the same layer, entity Service
            Map<String, Object> service = all.get(layer + "/Service/" + graph.get("dashboardName"));
            assertNotNull(service, () -> graph + " in " + all.keySet());
            assertFalse(Boolean.TRUE.equals(service.get("isRoot")));
            // the eBPF widget at the top level, not inside a Tab
            assertTrue(list(service.get("children")).stream().anyMatch(w -> "Ebpf".equals(map(w).get("type"))),
                    service::toString);
        }
        // the same with the optional argument
        assertEquals(6, list(data("{ getAllTemplates(includingDisabled: true) { id name type configuration "
                + "activated disabled } }").get("getAllTemplates")).size());
    }

    @Test
    void templatesFromADirectoryAndALayerWithADashboardOfItsOwn(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("a-generic.json"), "{\"id\": \"g-${layer}\", \"configuration\": {\"layer\": "
                + "\"${layer}\", \"entity\": \"Service\", \"name\": \"Svc\", \"children\": [{\"type\": \"Ebpf\", "
                + "\"i\": \"0\", \"x\": 0, \"y\": 0, \"w\": 24, \"h\": 40}], \"title\": \"for ${layer}\"}}");
        // SkyWalking's own file shape: an array, the configuration as JSON text; replaces the generic one for OS_LINUX
        Files.writeString(dir.resolve("b-linux.json"), "[{\"id\": \"linux-svc\", \"configuration\": "
                + "\"{\\\"layer\\\": \\\"OS_LINUX\\\", \\\"entity\\\": \\\"Service\\\", \\\"name\\\": \\\"Svc\\\", "
                + "\\\"children\\\": []}\"}]");
        Files.writeString(dir.resolve("notes.txt"), "not a template");
        SwprofGraphQL g = new SwprofGraphQL(t.core, SwprofGraphQL.Limits.DEFAULT,
                new SwprofGraphQL.Ui(UiTemplates.fromDirectory(dir), List.of()));
        List<Object> templates = list(data(g, TEMPLATES, null).get("getAllTemplates"));
        Map<String, Map<String, Object>> all = dashboards(templates);
        assertEquals(Set.of("OS_LINUX/Service/Svc", "MY_LAYER/Service/Svc"), all.keySet());
        assertEquals(List.of(), all.get("OS_LINUX/Service/Svc").get("children"));
        assertEquals("for MY_LAYER", all.get("MY_LAYER/Service/Svc").get("title"));
        Set<Object> ids = new HashSet<>();
        templates.forEach(o -> ids.add(map(o).get("id")));
        assertEquals(Set.of("g-MY_LAYER", "linux-svc"), ids);
    }

    static String conf(String layer, String entity, String name) {
        return "{\"layer\": \"" + layer + "\", \"entity\": \"" + entity + "\", \"name\": \"" + name
                + "\", \"children\": []}";
    }

    void refused(Path dir, String expected, String... files) throws IOException {
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        for (int i = 0; i < files.length; i++) {
            Files.writeString(dir.resolve("t" + i + ".json"), files[i]);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UiTemplates.fromDirectory(dir));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }

    @Test
    void mistakesInTemplateFilesAreRefusedWithTheFileName(@TempDir Path dir) throws IOException {
        refused(dir, "t0.json: not valid JSON", "{\"id\": ");
        refused(dir, "t0.json: the template needs a string \"id\"",
                "{\"configuration\": " + conf("L", "All", "n") + "}");
        refused(dir, "t0.json[1]: \"configuration\" must be a JSON object",
                "[{\"id\": \"a\", \"configuration\": " + conf("L", "All", "n") + "}, {\"id\": \"b\"}]");
        refused(dir, "the configuration needs a string \"layer\"", "{\"id\": \"a\", \"configuration\": "
                + "{\"entity\": \"All\", \"name\": \"n\", \"children\": []}}");
        refused(dir, "unknown entity \"Servise\"", "{\"id\": \"a\", \"configuration\": " + conf("L", "Servise", "n")
                + "}");
        refused(dir, "needs a \"children\" array", "{\"id\": \"a\", \"configuration\": {\"layer\": \"L\", "
                + "\"entity\": \"All\", \"name\": \"n\"}}");
        refused(dir, "its id must mention ${layer}", "{\"id\": \"a\", \"configuration\": "
                + conf("${layer}", "All", "n") + "}");
        refused(dir, "template id \"a\" is used twice", "{\"id\": \"a\", \"configuration\": " + conf("L", "All", "n")
                + "}", "{\"id\": \"a\", \"configuration\": " + conf("L", "All", "m") + "}");
        refused(dir, "a second All dashboard named \"n\" for layer L", "{\"id\": \"a\", \"configuration\": "
                + conf("L", "All", "n") + "}", "{\"id\": \"b\", \"configuration\": " + conf("L", "All", "n") + "}");
        Path file = dir.resolve("t0.json");
        assertThrows(IllegalArgumentException.class, () -> UiTemplates.fromDirectory(file));
        assertThrows(IllegalArgumentException.class, () -> UiTemplates.fromDirectory(dir.resolve("missing")));
    }

    @Test
    void ruleLayersAreTheFixedOnes() {
        List<DiscoveryRule> rules = List.of(
                new DiscoveryRule("a", "a", null, null, null, null),
                new DiscoveryRule("b", "b", null, null, "MESH_DP", null),
                new DiscoveryRule("c", "c", null, null, "{1}", null), // known per process only
                new DiscoveryRule("d", "d", null, null, "MESH_DP", null),
                new DiscoveryRule("e", "e", null, null, "K8S", null));
        assertEquals(List.of("MESH_DP", "K8S"), UiTemplates.ruleLayers(rules));
        assertEquals(List.of(), UiTemplates.ruleLayers(null));
    }

    @Test
    void theBuiltInTemplatesAreTheDataFiles() {
        UiTemplates builtIn = UiTemplates.builtIn();
        assertEquals(2, builtIn.size());
        assertTrue(builtIn.toString().contains("built-in templates/"), builtIn::toString);
        Path repo = Path.of(System.getProperty("swprof.repo.dir", "../.."));
        Path sources = repo.resolve("java-shim/shim/src/main/resources/templates");
        if (Files.isDirectory(sources)) {
            assertEquals(builtIn.forLayers(List.of("OS_LINUX")),
                    UiTemplates.fromDirectory(sources).forLayers(List.of("OS_LINUX")));
        }
    }
}
