package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** docs/protocol.md §1 over real HTTP: what every client relies on, and the protections. */
class HttpTransportTest {
    static Server server;

    @BeforeAll
    static void start() {
        server = Server.start();
        server.register("sqrt", "sqrt", List.of("e2e"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void jsonWithAndWithoutCharset() {
        for (String ct : new String[] {"application/json", "application/json; charset=utf-8",
            "application/json;charset=UTF-8", "Application/JSON"}) {
            Server.Reply r = server.post("{\"query\":\"query { version }\"}", ct);
            assertEquals(200, r.status(), ct);
            assertTrue(r.contentType().startsWith("application/json"), r.contentType());
            assertEquals("{\"data\":{\"version\":\"" + org.swprof.shim.Version.TEXT + "\"}}", r.body());
        }
        // no Content-Type at all: what a form sends cross-site without a preflight, refused
        Server.Reply none = server.post("{\"query\":\"{ version }\"}", null);
        assertEquals(415, none.status());
        assertTrue(none.error().contains("application/json"), none.error());
    }

    @Test
    void longIsAJsonNumberAndIdsAreStrings() {
        String body = server.post("{\"query\":\"{ getTimeInfo { currentTimestamp } listServices { id } }\"}").body();
        assertTrue(body.matches(".*\"currentTimestamp\":\\d+.*"), body);
        assertTrue(body.contains("\"id\":\"c3FydA==.1\""), body);
    }

    @Test
    void variablesMayComeAsAStringOrBeNull() {
        Server.Reply r = server.post("{\"query\":\"query ($l: String) { listServices(layer: $l) { name } }\","
                + "\"variables\":\"{\\\"l\\\":\\\"OS_LINUX\\\"}\"}");
        assertEquals(List.of(Map.of("name", "sqrt")), r.data().get("listServices"));
        r = server.post("{\"query\":\"{ listServices { name } }\",\"variables\":null,\"operationName\":null}");
        assertEquals(List.of(Map.of("name", "sqrt")), r.data().get("listServices"));
    }

    @Test
    void operationNameSelectsAnOperation() {
        Server.Reply r = server.post("{\"query\":\"query a { version } query b { listLayers }\","
                + "\"operationName\":\"b\"}");
        assertEquals(Map.of("listLayers", List.of("OS_LINUX")), r.data());
    }

    @Test
    void malformedJsonIsAJsonError() {
        Server.Reply r = server.post("{\"query\": ");
        assertEquals(400, r.status());
        assertTrue(r.error().startsWith("malformed JSON request body"), r.error());
        assertTrue(r.json().containsKey("data"));
        assertNull(r.json().get("data"));
        r = server.post("[1,2]");
        assertEquals(400, r.status());
        assertTrue(r.error().contains("JSON object"), r.error());
        r = server.post("{\"variables\":{}}");
        assertEquals(400, r.status());
        assertTrue(r.error().contains("no \"query\""), r.error());
        r = server.post("{\"query\":\"{ version }\",\"variables\":[1]}");
        assertEquals(400, r.status());
        assertTrue(r.error().contains("variables"), r.error());
    }

    @Test
    void malformedGraphQLIsAGraphQLError() {
        Server.Reply r = server.post("{\"query\":\"{ version \"}");
        assertEquals(200, r.status());
        assertTrue(r.error().toLowerCase().contains("invalid syntax"), r.error());
        r = server.post("{\"query\":\"{ noSuchField }\"}");
        assertTrue(r.error().contains("noSuchField"), r.error());
        // a missing required variable
        r = server.post("{\"query\":\"query ($taskId: ID!) { queryEBPFProfilingSchedules(taskId: $taskId) "
                + "{ scheduleId } }\"}");
        assertTrue(r.error().contains("taskId"), r.error());
    }

    @Test
    void otherContentTypesMethodsAndPathsAreRefusedInJson() {
        Server.Reply r = server.post("query { version }", "application/graphql");
        assertEquals(415, r.status());
        assertTrue(r.error().contains("application/json"), r.error());
        r = server.get("/graphql");
        assertEquals(405, r.status());
        assertTrue(r.error().contains("POST"), r.error());
        r = server.get("/nope");
        assertEquals(404, r.status());
        assertTrue(r.error().contains("/nope"), r.error());
    }

    @Test
    void health() {
        Server.Reply r = server.get("/healthz");
        assertEquals(200, r.status());
        assertEquals("UP", r.json().get("status"));
        Object core = r.json().get("core");
        assertTrue(core instanceof java.util.Map<?, ?> m && m.get("samples") instanceof Number
                && m.get("writeErrors") instanceof Number, String.valueOf(core));
    }

    @Test
    void bodySizeIsLimited() {
        String big = "{\"query\":\"{ version }\",\"variables\":{\"pad\":\"" + "x".repeat(70_000) + "\"}}";
        Server.Reply r = server.post(big);
        assertEquals(413, r.status());
        assertTrue(r.error().contains("limit"), r.error());
        // chunked, without a Content-Length
        HttpRequest chunked = HttpRequest.newBuilder(server.graphql).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofInputStream(
                        () -> new java.io.ByteArrayInputStream(big.getBytes(java.nio.charset.StandardCharsets.UTF_8))))
                .build();
        r = server.send(chunked);
        assertEquals(413, r.status());
        // the server still answers
        assertEquals(200, server.post("{\"query\":\"{ version }\"}").status());
    }

    @Test
    void queryDepthAndComplexityAreLimited() {
        StringBuilder deep = new StringBuilder("{ getMenuItems { ");
        for (int i = 0; i < 25; i++) {
            deep.append("subItems { ");
        }
        deep.append("name");
        deep.append(" }".repeat(26)).append(" }");
        Server.Reply r = server.query(deep.toString(), null);
        assertTrue(r.error().toLowerCase().contains("depth"), r.error());
        StringBuilder wide = new StringBuilder("{ ");
        for (int i = 0; i < 6000; i++) {
            wide.append("version ");
        }
        wide.append("}");
        r = server.query(wide.toString(), null);
        assertTrue(r.error().toLowerCase().contains("complexity"), r.error());
    }

    @Test
    void concurrentRequestsAreSafe() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> fs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int n = i;
                fs.add(pool.submit(() -> n % 2 == 0
                        ? server.post("{\"query\":\"{ listServices { id name } listProcesses { id labels } }\"}").body()
                        : server.post("{\"query\":\"{ queryEBPFProfilingTasks(serviceId: \\\"c3FydA==.1\\\") "
                                + "{ taskId } }\"}").body()));
            }
            for (int i = 0; i < fs.size(); i++) {
                String body = fs.get(i).get();
                assertTrue(!body.contains("\"errors\""), body);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
