package org.swprof.shim.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import org.swprof.shim.SwprofCore;
import org.swprof.shim.Version;
import org.swprof.shim.graphql.AnalysisPassThrough;
import org.swprof.shim.graphql.Json;
import org.swprof.shim.graphql.SwprofGraphQL;

/**
 * The HTTP face of swprof, as a SkyWalking OAP's: {@code POST /graphql} with a JSON body
 * {@code {"query", "variables", "operationName"}}, {@code GET /healthz}, and the status endpoints OAP serves on the
 * same port, which the SkyWalking UI's Settings page reads: {@code GET /status/cluster/nodes} (this one node),
 * {@code /status/config/ttl} and {@code /debugging/config/dump} (the effective configuration).
 *
 * <p>Every reply is JSON; a failed request answers {@code {"data": null, "errors": [{"message": ..}]}} (clients
 * read {@code errors[0].message} whatever the status). Requests run on Undertow's worker threads, each
 * synchronously; the body is limited in size and the query in depth and complexity.
 */
public final class HttpServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(HttpServer.class.getName());
    private static final String JSON = "application/json; charset=utf-8";

    private final Undertow undertow;
    private final InetSocketAddress address;

    private HttpServer(Undertow undertow) {
        this.undertow = undertow;
        Object a = undertow.getListenerInfo().get(0).getAddress();
        this.address = (InetSocketAddress) a;
    }

    /**
     * System property: "false" turns off {@link AnalysisPassThrough} (every answer is built by graphql-java). The
     * replies are the same bytes either way; benchmarks and tests compare the two.
     */
    public static final String PASS_THROUGH_PROPERTY = "swprof.graphql.passThrough";

    /**
     * What the status endpoints answer besides the TTLs: the cluster's nodes ({@code {host, port, self}}, OAP lists
     * its gRPC address) and the effective configuration, flat {@code key -> value}.
     */
    public record Status(List<Map<String, Object>> nodes, Map<String, String> config) {
        public Status {
            nodes = List.copyOf(nodes);
            config = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(config));
        }

        /** This server alone, with no configuration to show (tests). */
        public static Status self(String host, int port) {
            return new Status(List.of(node(host, port)), Map.of());
        }

        public static Map<String, Object> node(String host, int port) {
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("host", host);
            n.put("port", port);
            n.put("self", true);
            return n;
        }
    }

    /** Binds host:port (port 0 = any free port) and starts serving. */
    public static HttpServer start(String host, int port, int workerThreads, int maxBodyBytes, SwprofGraphQL graphQL,
                                   SwprofCore core, Status status) {
        return start(host, port, workerThreads, maxBodyBytes, graphQL, core, status,
                !"false".equalsIgnoreCase(System.getProperty(PASS_THROUGH_PROPERTY)));
    }

    /** The same, choosing whether analysis answers pass through ({@link AnalysisPassThrough}). */
    public static HttpServer start(String host, int port, int workerThreads, int maxBodyBytes, SwprofGraphQL graphQL,
                                   SwprofCore core, Status status, boolean passThrough) {
        Handler h = new Handler(graphQL, core, status, maxBodyBytes, passThrough);
        Undertow u = Undertow.builder()
                .addHttpListener(port, host)
                .setIoThreads(Math.max(2, Runtime.getRuntime().availableProcessors()))
                .setWorkerThreads(workerThreads)
                // a hard cap for Undertow itself (it drops the connection past it); the 413 reply comes from the
                // handler's own, lower limit, so that the client gets a JSON answer
                .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, 2L * maxBodyBytes + 65536)
                .setServerOption(UndertowOptions.ALWAYS_SET_DATE, true)
                .setHandler(h)
                .build();
        u.start();
        return new HttpServer(u);
    }

    public InetSocketAddress address() {
        return address;
    }

    public int port() {
        return address.getPort();
    }

    /** Stops accepting, lets requests in flight finish, stops the worker threads. */
    @Override
    public void close() {
        undertow.stop();
    }

    static final class Handler implements HttpHandler {
        private final SwprofGraphQL graphQL;
        private final SwprofCore core;
        private final Status status;
        private final int maxBodyBytes;
        private final boolean passThrough;

        Handler(SwprofGraphQL graphQL, SwprofCore core, Status status, int maxBodyBytes, boolean passThrough) {
            this.graphQL = graphQL;
            this.core = core;
            this.status = status;
            this.maxBodyBytes = maxBodyBytes;
            this.passThrough = passThrough;
        }

        @Override
        public void handleRequest(HttpServerExchange ex) throws Exception {
            if (ex.isInIoThread()) {
                ex.dispatch(this);
                return;
            }
            ex.startBlocking();
            try {
                String path = ex.getRequestPath();
                switch (path) {
                    case "/graphql", "/graphql/" -> graphql(ex);
                    case "/healthz", "/health" -> health(ex);
                    case "/status/cluster/nodes" -> statusGet(ex, Map.of("nodes", status.nodes()));
                    case "/status/config/ttl" -> statusGet(ex, SwprofGraphQL.ttlDefinition());
                    case "/debugging/config/dump" -> statusGet(ex, status.config());
                    default -> error(ex, 404, "no such endpoint: " + path + " (POST /graphql, GET /healthz, "
                            + "GET /status/cluster/nodes, /status/config/ttl, /debugging/config/dump)");
                }
            } catch (Exception e) {
                LOG.log(Level.SEVERE, "request " + ex.getRequestPath() + " failed", e);
                if (!ex.isResponseStarted()) {
                    error(ex, 500, "internal error: " + e);
                }
            } finally {
                ex.endExchange();
            }
        }

        private void health(HttpServerExchange ex) throws IOException {
            Map<String, Object> m = new LinkedHashMap<>();
            boolean up = !core.isClosed();
            m.put("status", up ? "UP" : "DOWN");
            m.put("version", Version.NUMBER);
            if (up) { // the core's counters: samples stored (local and the agents'), flushes, write errors, ...
                m.put("core", Json.MAPPER.readValue(core.stats(), Object.class));
            }
            reply(ex, up ? 200 : 503, m);
        }

        /**
         * A status endpoint: GET only; JSON (what the UI asks for, {@code accept: application/json}), or OAP's
         * {@code key=value} lines for a client that asks for text/plain.
         */
        private static void statusGet(HttpServerExchange ex, Map<String, ?> body) throws IOException {
            if (!Methods.GET.equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().put(Headers.ALLOW, "GET");
                error(ex, 405, "use GET " + ex.getRequestPath());
                return;
            }
            String accept = String.valueOf(ex.getRequestHeaders().getFirst(Headers.ACCEPT)).toLowerCase(Locale.ROOT);
            if (!accept.contains("text/plain") || accept.contains("json")) {
                reply(ex, 200, body);
                return;
            }
            StringBuilder text = new StringBuilder();
            flatten("", body, text);
            ex.setStatusCode(200);
            ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
            ex.getOutputStream().write(text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        private static void flatten(String prefix, Object v, StringBuilder out) {
            if (v instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    flatten(prefix.isEmpty() ? String.valueOf(e.getKey()) : prefix + "." + e.getKey(), e.getValue(),
                            out);
                }
            } else if (v instanceof List<?> l) {
                for (int i = 0; i < l.size(); i++) {
                    flatten(prefix + "." + i, l.get(i), out);
                }
            } else {
                out.append(prefix).append('=').append(v).append('\n');
            }
        }

        private void graphql(HttpServerExchange ex) throws IOException {
            HttpString method = ex.getRequestMethod();
            if (!Methods.POST.equals(method)) {
                ex.getResponseHeaders().put(Headers.ALLOW, "POST");
                error(ex, 405, "use POST /graphql with a JSON body {\"query\": ..., \"variables\": {...}}");
                return;
            }
            String ct = ex.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
            if (ct != null && !ct.toLowerCase(Locale.ROOT).trim().startsWith("application/json")) {
                error(ex, 415, "Content-Type must be application/json, not " + ct);
                return;
            }
            long declared = ex.getRequestContentLength();
            if (declared > maxBodyBytes) {
                ex.setPersistent(false);
                error(ex, 413, "request body of " + declared + " bytes exceeds the limit of " + maxBodyBytes);
                return;
            }
            byte[] body = readLimited(ex.getInputStream(), maxBodyBytes);
            if (body == null) {
                ex.setPersistent(false);
                error(ex, 413, "request body exceeds the limit of " + maxBodyBytes + " bytes");
                return;
            }
            Object parsed;
            try {
                parsed = Json.MAPPER.readValue(body, Object.class);
            } catch (JsonProcessingException e) {
                error(ex, 400, "malformed JSON request body: " + e.getOriginalMessage());
                return;
            }
            if (!(parsed instanceof Map<?, ?> req)) {
                error(ex, 400, "the request body must be a JSON object {\"query\": ..., \"variables\": {...}}");
                return;
            }
            Object query = req.get("query");
            if (!(query instanceof String q) || q.isBlank()) {
                error(ex, 400, "the request has no \"query\" string");
                return;
            }
            Object op = req.get("operationName");
            Map<String, Object> variables;
            try {
                variables = variables(req.get("variables"));
            } catch (IllegalArgumentException e) {
                error(ex, 400, e.getMessage());
                return;
            }
            String operation = op instanceof String s ? s : null;
            Map<String, Object> result;
            if (passThrough) {
                try (AnalysisPassThrough.Scope scope = AnalysisPassThrough.open()) {
                    result = scope.splice(graphQL.execute(q, operation, variables));
                }
            } else {
                result = graphQL.execute(q, operation, variables);
            }
            reply(ex, 200, result);
        }

        /** "variables" may be an object, null, or (some clients) a JSON string holding the object. */
        @SuppressWarnings("unchecked")
        private static Map<String, Object> variables(Object v) throws IOException {
            if (v == null) {
                return null;
            }
            if (v instanceof String s) {
                if (s.isBlank()) {
                    return null;
                }
                try {
                    v = Json.MAPPER.readValue(s, Object.class);
                } catch (JsonProcessingException e) {
                    throw new IllegalArgumentException("malformed JSON in \"variables\": " + e.getOriginalMessage());
                }
                if (v == null) {
                    return null;
                }
            }
            if (!(v instanceof Map)) {
                throw new IllegalArgumentException("\"variables\" must be a JSON object");
            }
            return (Map<String, Object>) v;
        }

        /** The body, or null when it is longer than max. */
        private static byte[] readLimited(InputStream in, int max) throws IOException {
            try {
                byte[] all = in.readNBytes(max);
                if (all.length == max && in.read() != -1) {
                    return null;
                }
                return all;
            } catch (IOException e) {
                // Undertow's own MAX_ENTITY_SIZE check throws while reading
                if (String.valueOf(e.getMessage()).contains("UT000020")) {
                    return null;
                }
                throw e;
            }
        }

        private static void error(HttpServerExchange ex, int status, String message) throws IOException {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("data", null);
            m.put("errors", List.of(Map.of("message", message)));
            reply(ex, status, m);
        }

        private static void reply(HttpServerExchange ex, int status, Object body) throws IOException {
            ex.setStatusCode(status);
            ex.getResponseHeaders().put(Headers.CONTENT_TYPE, JSON);
            OutputStream out = ex.getOutputStream();
            Json.MAPPER.writeValue(out, body);
        }
    }
}
