package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingServiceGrpc;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingTaskQuery;
import org.junit.jupiter.api.Test;
import org.swprof.shim.server.Access;

/**
 * What an attacker or an unlucky client does to the HTTP and gRPC ports, against real servers on real sockets:
 * bodies far over the limit get their JSON 413; clients that send slowly or not at all hold no worker, /healthz
 * answers meanwhile and they are cut off after rest.readTimeout; pages of other origins and rebound host names are
 * refused; one request cannot repeat the analysis or draw a huge answer; a token, when asked for, is required on
 * every request but /healthz and on every agent call.
 */
class HardeningTest {
    static final String VERSION = "{\"query\":\"{ version }\"}";

    /** A raw HTTP/1.1 exchange: the request bytes, then everything the server answers until it closes or 10 s. */
    static String raw(int port, byte[] request, int readMs) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(readMs);
            OutputStream out = s.getOutputStream();
            try {
                out.write(request);
                out.flush();
            } catch (IOException e) {
                // the server may answer and close before the whole body is written: read what it said
            }
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] b = new byte[8192];
            try {
                for (int n; (n = in.read(b)) > 0; ) {
                    got.write(b, 0, n);
                    if (got.toString(StandardCharsets.UTF_8).contains("\r\n\r\n{") && got.toString(
                            StandardCharsets.UTF_8).trim().endsWith("}")) {
                        break;
                    }
                }
            } catch (SocketTimeoutException e) {
                // what came so far
            }
            return got.toString(StandardCharsets.UTF_8);
        }
    }

    static byte[] post(String host, String extraHeaders, byte[] body) {
        String head = "POST /graphql HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n"
                + extraHeaders + "Content-Length: " + body.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[h.length + body.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return all;
    }

    @Test
    void hugeBodiesGetTheirJson413() throws Exception {
        try (Server server = Server.start(Map.of())) {
            byte[] big = new byte[5 << 20];
            java.util.Arrays.fill(big, (byte) ' ');
            String answer = raw(server.main.port(), post("127.0.0.1", "", big), 20_000);
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer.length() > 300 ? answer.substring(0, 300) : answer);
            assertTrue(answer.contains("exceeds the limit"), answer);
            assertEquals(200, server.post(VERSION).status());
        }
    }

    @Test
    void slowClientsHoldNoWorkerAndAreCutOff() throws Exception {
        // two workers; 20 clients that send half a body and stop
        try (Server server = Server.start(Map.of("SWPROF_REST_WORKER_THREADS", "2", "SWPROF_REST_READ_TIMEOUT", "2s"))) {
            List<Socket> idle = new ArrayList<>();
            try {
                for (int i = 0; i < 20; i++) {
                    Socket s = new Socket("127.0.0.1", server.main.port());
                    s.getOutputStream().write(("POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            + "application/json\r\nContent-Length: 1000\r\n\r\n{\"query\"").getBytes(
                                    StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                    idle.add(s);
                }
                long t0 = System.nanoTime();
                assertEquals(200, server.get("/healthz").status());
                assertEquals(200, server.post(VERSION).status());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 1500, "answers took " + ms + " ms behind 20 stalled clients");
                // after the read timeout the stalled ones are closed by the server
                Socket s = idle.get(0);
                s.setSoTimeout(10_000);
                long c0 = System.nanoTime();
                boolean closed;
                try {
                    InputStream in = s.getInputStream();
                    while (in.read() != -1) {
                        // an answer before the close is fine
                    }
                    closed = true;
                } catch (SocketTimeoutException e) {
                    closed = false;
                } catch (IOException e) {
                    closed = true; // reset
                }
                long waited = (System.nanoTime() - c0) / 1_000_000;
                assertTrue(closed && waited < 9_000, "a stalled client was kept " + waited + " ms");
            } finally {
                for (Socket s : idle) {
                    s.close();
                }
            }
        }
    }

    @Test
    void otherOriginsAndReboundHostsAreRefused() throws Exception {
        try (Server server = Server.start(Map.of("SWPROF_REST_ALLOWED_ORIGINS", "https://ui.example:8443"))) {
            int port = server.main.port();
            byte[] body = VERSION.getBytes(StandardCharsets.UTF_8);
            // DNS rebinding: a name of the attacker's pointing at 127.0.0.1
            String a = raw(port, post("attacker.example:" + port, "", body), 10_000);
            assertTrue(a.startsWith("HTTP/1.1 403"), a);
            assertTrue(a.contains("is not this server's"), a);
            // a page elsewhere
            a = raw(port, post("127.0.0.1:" + port, "Origin: https://attacker.example\r\n", body), 10_000);
            assertTrue(a.startsWith("HTTP/1.1 403"), a);
            assertTrue(a.contains("rest.allowedOrigins"), a);
            // the server's own pages, a page on loopback (the UI on this host), an allowed origin
            for (String origin : new String[] {"http://127.0.0.1:" + port, "http://localhost:8080",
                "https://ui.example:8443"}) {
                a = raw(port, post("127.0.0.1:" + port, "Origin: " + origin + "\r\n", body), 10_000);
                assertTrue(a.startsWith("HTTP/1.1 200"), origin + ": " + a);
            }
            a = raw(port, post("localhost:" + port, "", body), 10_000);
            assertTrue(a.startsWith("HTTP/1.1 200"), a);
        }
    }

    @Test
    void oneRequestCannotRepeatTheAnalysisOrDrawAHugeAnswer() throws Exception {
        try (Server server = Server.start(Map.of("SWPROF_REST_MAX_ANSWER_BYTES", String.valueOf(1 << 20)))) {
            String process = server.register("sqrt", null, List.of("e2e"));
            long now = System.currentTimeMillis();
            String task = (String) ((Map<?, ?>) server.query("mutation { createEBPFProfilingFixedTimeTask(request: "
                    + "{processFinder: {finderType: PROCESS_ID, processId: \"" + process + "\"}, startTime: " + now
                    + ", duration: 60, targetType: ON_CPU}) { status id } }", null).data()
                    .get("createEBPFProfilingFixedTimeTask")).get("id");
            // 30,000 distinct stacks: an answer of several MiB
            StringBuilder folded = new StringBuilder();
            for (int i = 0; i < 30_000; i++) {
                folded.append("main;work_").append(i % 100).append(";leaf_function_with_a_long_name_").append(i)
                        .append(" 1\n");
            }
            server.main.core().importFolded(task, process, now + 1000, folded.toString());
            String one = "a0: getEBPFProfilingAnalyzation(taskId: \"" + task + "\", timeRanges: [{start: " + now
                    + ", end: " + (now + 60_000) + "}]) { tip trees { elements { id parentId symbol stackType "
                    + "dumpCount } } }";
            Server.Reply r = server.query("{ " + one + " }", null);
            assertTrue(r.error().contains("rest.maxAnswerBytes"), r.body().length() > 500
                    ? r.body().substring(0, 500) : r.body());
            StringBuilder five = new StringBuilder("{ ");
            for (int i = 0; i < 5; i++) {
                five.append(one.replace("a0:", "a" + i + ":")).append(' ');
            }
            r = server.query(five.append("}").toString(), null);
            assertTrue(r.error().contains("at most 4 analyses"), r.body());
            assertEquals(200, server.post(VERSION).status());
        }
    }

    @Test
    void whatATaskMayCarryIsBounded() {
        try (Server server = Server.start(Map.of())) {
            server.register("sqrt", null, List.of("e2e"));
            StringBuilder labels = new StringBuilder();
            for (int i = 0; i < 60; i++) { // 54 KB of labels, within the body limit of this server
                labels.append(i == 0 ? "" : ",").append("\"l").append(i).append("x".repeat(900)).append('"');
            }
            String create = "mutation { createEBPFProfilingFixedTimeTask(request: {serviceId: \"c3FydA==.1\", "
                    + "processLabels: [%s], startTime: %d, duration: %d, targetType: ON_CPU}) { status errorReason } }";
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) server.query(String.format(create, labels,
                    System.currentTimeMillis(), 60), null).data().get("createEBPFProfilingFixedTimeTask");
            assertEquals(false, r.get("status"));
            assertTrue(String.valueOf(r.get("errorReason")).contains("label"), r::toString);
            for (long[] w : new long[][] {{1, 60}, {1, 999_999_999}, {Long.MAX_VALUE / 2, 60}}) {
                @SuppressWarnings("unchecked")
                Map<String, Object> t = (Map<String, Object>) server.query(String.format(create, "\"e2e\"", w[0],
                        w[1]), null).data().get("createEBPFProfilingFixedTimeTask");
                assertEquals(false, t.get("status"), t::toString);
                assertFalse(String.valueOf(t.get("errorReason")).contains("internal"), t::toString);
            }
            for (String d : new String[] {"99999-01-01", "-5-01-01", "2026-13-01", "2026-02-30"}) {
                Server.Reply q = server.query("{ listInstances(serviceId: \"c3FydA==.1\", duration: {start: \"" + d
                        + "\", end: \"2026-01-02\", step: DAY}) { id } }", null);
                assertEquals(200, q.status());
                assertTrue(q.error().contains("duration start"), q.body());
                assertFalse(q.body().contains("internal") || q.body().contains("at org."), q.body());
            }
        }
    }

    @Test
    void aTokenIsRequiredWhenAskedFor() throws Exception {
        try (Server server = Server.start(Map.of("SWPROF_AUTH_REQUIRED", "true"))) {
            Path file = server.dataDir.resolve(Access.TOKEN_FILE);
            assertTrue(Files.isRegularFile(file), "a token was generated into " + file);
            assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                    Files.getPosixFilePermissions(file));
            String token = Files.readString(file).trim();
            Server.Reply r = server.post(VERSION);
            assertEquals(401, r.status());
            assertTrue(r.error().contains("bearer token"), r.error());
            HttpRequest wrong = HttpRequest.newBuilder(server.graphql).header("Content-Type", "application/json")
                    .header("Authorization", "Bearer " + "0".repeat(64)).timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString(VERSION)).build();
            assertEquals(401, server.send(wrong).status());
            HttpRequest right = HttpRequest.newBuilder(server.graphql).header("Content-Type", "application/json")
                    .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString(VERSION)).build();
            assertEquals(200, server.send(right).status());
            assertEquals(401, server.get("/status/cluster/nodes").status());
            assertEquals(200, server.get("/healthz").status());

            // the agents' port: the metadata "authentication", as OAP's agents send it
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
            try {
                StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                        () -> EBPFProfilingServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                                .queryTasks(EBPFProfilingTaskQuery.newBuilder().setRoverInstanceId("x").build()));
                assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
                Metadata md = new Metadata();
                md.put(Metadata.Key.of("authentication", Metadata.ASCII_STRING_MARSHALLER), token);
                assertNotNull(EBPFProfilingServiceGrpc.newBlockingStub(ch)
                        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .queryTasks(EBPFProfilingTaskQuery.newBuilder().setRoverInstanceId("x").build()));
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void withoutAuthRequiredLoopbackNeedsNoToken() {
        try (Server server = Server.start(Map.of())) {
            assertEquals(200, server.post(VERSION).status());
            assertFalse(Files.exists(server.dataDir.resolve(Access.TOKEN_FILE)));
        }
    }

}
