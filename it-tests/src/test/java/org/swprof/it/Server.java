package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.swprof.shim.CoreOptions;
import org.swprof.shim.Requests;
import org.swprof.shim.server.Main;
import org.swprof.shim.server.ServerConfig;

/**
 * A real swprof server on a free loopback port: JNI library, RocksDB in a temporary directory, Undertow.
 * Profiling is off unless asked for; processes are real children ({@code sleep}) registered by name.
 */
final class Server implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    final Path dataDir;
    final Main main;
    final URI graphql;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Process> children = new ArrayList<>();

    /** an OAP (or server) running elsewhere: its /graphql and its agents' gRPC port */
    private final int externalGrpcPort;

    private Server(Path dataDir, Main main) {
        this.dataDir = dataDir;
        this.main = main;
        this.graphql = URI.create("http://127.0.0.1:" + main.port() + "/graphql");
        this.externalGrpcPort = 0;
    }

    private Server(URI graphql, int grpcPort) {
        this.dataDir = null;
        this.main = null;
        this.graphql = graphql;
        this.externalGrpcPort = grpcPort;
    }

    /**
     * The backend system property swprof.it.backend names ("GRAPHQL_URL,GRPC_PORT": e2e/oap.py passes a real OAP with
     * the module), or null: the tests that take it run against that backend instead of a server of their own.
     */
    static Server external() {
        String b = System.getProperty("swprof.it.backend", "");
        if (b.isEmpty()) {
            return null;
        }
        String[] p = b.split(",");
        return new Server(URI.create(p[0]), Integer.parseInt(p[1]));
    }

    boolean isExternal() {
        return main == null;
    }

    static Server start() {
        return start(Map.of());
    }

    /**
     * Base configuration: loopback, a free port, a temp data dir, profiling off, no rules, no rescans; env
     * overrides it as the environment would (SWPROF_PROFILING, SWPROF_DISCOVERY_RULES, ...).
     */
    static Server start(Map<String, String> env) {
        return start(env, true);
    }

    /**
     * A server as configured, profiling off: tasks are runnable only on agents' processes (the agents' gRPC port
     * serves them), and the scheduler thread flushes what agents send.
     */
    static Server forAgents(Map<String, String> env) {
        return start(env, false);
    }

    private static Server start(Map<String, String> env, boolean imports) {
        try {
            Path dir = Files.createTempDirectory("swprof-it-");
            String yaml = "rest: {host: 127.0.0.1, port: 0, maxBodyBytes: 65536}\n"
                    + "grpc: {host: 127.0.0.1, port: 0, maxMessageBytes: 1048576}\n"
                    + "storage: {dataDir: '" + dir + "'}\n"
                    + "profiling: {enabled: false, flushInterval: 500ms}\n"
                    + "discovery: {hostName: it-host, hostIp: 10.1.2.3, scanInterval: never}\n";
            try {
                ServerConfig cfg = ServerConfig.parse(yaml, "it", env);
                // without profiling, the tests fill tasks by imports (which a configuration does not offer)
                return new Server(dir, Main.start(cfg, cfg.profiling || !imports ? cfg.coreOptions()
                        : cfg.coreOptions().withProfiling(CoreOptions.Profiling.ELSEWHERE)));
            } catch (RuntimeException e) {
                deleteTree(dir);
                throw e;
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Starts {@code sleep 600} and registers it as a process of service; answers the process id. */
    String register(String service, String process, List<String> labels) {
        try {
            Process p = new ProcessBuilder("sleep", "600").start();
            children.add(p);
            byte[] json = main.core().registerProcess(new Requests.ProcessSpec((int) p.pid(), service, null, process,
                    null, labels));
            return (String) JSON.readValue(json, Map.class).get("id");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The core's statistics (samples, lost, profiler error, ...). */
    @SuppressWarnings("unchecked")
    Map<String, Object> stats() {
        if (main == null) {
            return Map.of();
        }
        try {
            return JSON.readValue(main.core().stats(), Map.class);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Polls probe every 250 ms until it answers non-null; fails after timeoutMs with the core's stats. */
    <T> T waitFor(String what, long timeoutMs, java.util.function.Supplier<T> probe) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline) {
            T v = probe.get();
            if (v != null) {
                return v;
            }
            Thread.sleep(250);
        }
        fail("timed out waiting for " + what + "; stats " + stats());
        return null;
    }

    record Reply(int status, String contentType, String body) {
        @SuppressWarnings("unchecked")
        Map<String, Object> json() {
            try {
                return JSON.readValue(body, Map.class);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> data() {
            Map<String, Object> m = json();
            if (m.get("errors") != null) {
                fail("errors: " + m.get("errors"));
            }
            assertEquals(200, status, body);
            return (Map<String, Object>) m.get("data");
        }

        @SuppressWarnings("unchecked")
        String error() {
            Map<String, Object> m = json();
            List<Map<String, Object>> errors = (List<Map<String, Object>>) m.get("errors");
            if (errors == null || errors.isEmpty()) {
                fail("expected errors in " + body);
            }
            return (String) errors.get(0).get("message");
        }
    }

    /** The agents' gRPC port. */
    int grpcPort() {
        return main == null ? externalGrpcPort : main.grpcPort();
    }

    /** POST /graphql with a raw JSON body. */
    Reply post(String body) {
        return post(body, "application/json");
    }

    Reply post(String body, String contentType) {
        HttpRequest.Builder b = HttpRequest.newBuilder(graphql).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return send(b.build());
    }

    /** POST {"query": q, "variables": vars} built by Jackson. */
    Reply query(String query, Map<String, Object> variables) {
        try {
            Map<String, Object> body = new java.util.LinkedHashMap<>();
            body.put("query", query);
            if (variables != null) {
                body.put("variables", variables);
            }
            return post(JSON.writeValueAsString(body));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(graphql.resolve(path)).timeout(Duration.ofSeconds(10)).GET().build());
    }

    Reply send(HttpRequest r) {
        try {
            HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Reply(resp.statusCode(), resp.headers().firstValue("Content-Type").orElse(null), resp.body());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        if (main == null) {
            return;
        }
        main.shutdown();
        for (Process p : children) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        deleteTree(dataDir);
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
