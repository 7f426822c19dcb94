package org.swprof.shim.server;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
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
 * {@code /status/config/ttl} and {@code /debugging/config/dump} (the effective configuration); and swprof's own page
 * at {@code GET /} ({@link Page}).
 *
 * <p>Every reply is JSON; a failed request answers {@code {"data": null, "errors": [{"message": ..}]}} (clients
 * read {@code errors[0].message} whatever the status). Bodies are read on the I/O threads without blocking (a
 * client that stops sending holds no worker, and its request ends after {@code rest.readTimeout}); a whole request
 * runs on a worker. {@code /healthz} is answered on the I/O thread, whatever the workers do. {@link Access} decides
 * who may ask (bearer token, Host, Origin); the body is limited in size (a larger one is read to its end and
 * answered 413), the query in depth, complexity and analyses, the answer of an analysis in size, and the requests
 * analysing at once in number (others wait their turn, then get 503).
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

    /**
     * How the server serves: where, how many workers, and its bounds. relaySecret: what requests relayed by the Unix
     * socket ({@link UnixSocketFront}) carry, null without one.
     */
    public record Options(String host, int port, int workerThreads, int maxBodyBytes, int readTimeoutMs,
                          int maxConcurrentAnalyses, Access access, String relaySecret) {
        /** Loopback-style defaults for tests: no token, 30 s read timeout, 4 analyses at once. */
        public static Options of(String host, int port, int workerThreads, int maxBodyBytes) {
            return new Options(host, port, workerThreads, maxBodyBytes, 30_000, 4,
                    new Access(null, Access.isLoopback(host), List.of()), null);
        }
    }

    /** Binds host:port (port 0 = any free port) and starts serving. */
    public static HttpServer start(String host, int port, int workerThreads, int maxBodyBytes, SwprofGraphQL graphQL,
                                   SwprofCore core, Status status) {
        return start(Options.of(host, port, workerThreads, maxBodyBytes), graphQL, core, status,
                !"false".equalsIgnoreCase(System.getProperty(PASS_THROUGH_PROPERTY)));
    }

    /** The same, choosing whether analysis answers pass through ({@link AnalysisPassThrough}). */
    public static HttpServer start(String host, int port, int workerThreads, int maxBodyBytes, SwprofGraphQL graphQL,
                                   SwprofCore core, Status status, boolean passThrough) {
        return start(Options.of(host, port, workerThreads, maxBodyBytes), graphQL, core, status, passThrough);
    }

    public static HttpServer start(Options o, SwprofGraphQL graphQL, SwprofCore core, Status status) {
        return start(o, graphQL, core, status, !"false".equalsIgnoreCase(System.getProperty(PASS_THROUGH_PROPERTY)));
    }

    public static HttpServer start(Options o, SwprofGraphQL graphQL, SwprofCore core, Status status,
                                   boolean passThrough) {
        Handler h = new Handler(graphQL, core, status, o, passThrough);
        Undertow u = Undertow.builder()
                .addHttpListener(o.port(), o.host())
                .setIoThreads(Math.max(2, Runtime.getRuntime().availableProcessors()))
                .setWorkerThreads(o.workerThreads())
                // bodies are read on the I/O threads, never on a worker: a body over the limit is read to its end
                // (up to DISCARD_BYTES) so that the client gets its JSON 413 rather than a reset connection
                .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, DISCARD_BYTES)
                .setServerOption(UndertowOptions.ALWAYS_SET_DATE, true)
                // slow clients: headers within the read timeout, a connection idle this long between requests is
                // closed, a body that stops coming ends its request
                .setServerOption(UndertowOptions.REQUEST_PARSE_TIMEOUT, o.readTimeoutMs())
                .setServerOption(UndertowOptions.NO_REQUEST_TIMEOUT, o.readTimeoutMs())
                .setServerOption(UndertowOptions.IDLE_TIMEOUT, Math.max(o.readTimeoutMs(), 60_000))
                .setSocketOption(org.xnio.Options.READ_TIMEOUT, o.readTimeoutMs())
                .setHandler(h)
                .build();
        u.start();
        return new HttpServer(u);
    }

    /** How much of a too-large body is read (and dropped) to answer its 413; past it the connection is closed. */
    static final long DISCARD_BYTES = 64L << 20;
    /** How long a request that analyses waits for its turn before it is answered 503. */
    static final int ADMISSION_WAIT_S = 30;

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
        private final Access access;
        private final byte[] relaySecret;
        /** requests analysing at once: each holds a whole tree (native and JSON) in memory */
        private final Semaphore analyses;

        Handler(SwprofGraphQL graphQL, SwprofCore core, Status status, Options o, boolean passThrough) {
            this.graphQL = graphQL;
            this.core = core;
            this.status = status;
            this.maxBodyBytes = o.maxBodyBytes();
            this.passThrough = passThrough;
            this.access = o.access();
            this.relaySecret = o.relaySecret() == null ? null : o.relaySecret().getBytes(StandardCharsets.US_ASCII);
            this.analyses = new Semaphore(o.maxConcurrentAnalyses(), true);
        }

        /**
         * On an I/O thread: health at once (whatever the workers do), then who is asking, then the body read without
         * blocking; only a whole request goes to a worker.
         */
        @Override
        public void handleRequest(HttpServerExchange ex) throws Exception {
            String path = ex.getRequestPath();
            if (path.equals("/healthz") || path.equals("/health")) {
                health(ex);
                return;
            }
            int caller = caller(ex);
            if (caller == BAD_CALLER) {
                send(ex, 403, errorBody(UnixSocketFront.CALLER + " is set by swprof's Unix socket only"));
                return;
            }
            // a request relayed from the Unix socket: its peer's credentials decided who it is
            String refused = caller >= 0 ? null : access.refusal(ex.getRequestHeaders().getFirst(Headers.HOST),
                    ex.getRequestHeaders().getFirst(Headers.ORIGIN));
            if (refused != null) {
                send(ex, 403, errorBody(refused));
                return;
            }
            // the page's files need no token: they hold no data, and a browser cannot send one to open a page (the
            // page asks for it and sends it with its requests to /graphql, which needs it like every other caller)
            Page.File file = PAGE.file(path);
            if (file != null) {
                pageFile(ex, file);
                return;
            }
            if (caller < 0 && access.needsToken() && !access.tokenMatches(Access.bearer(
                    ex.getRequestHeaders().getFirst(Headers.AUTHORIZATION)))) {
                ex.getResponseHeaders().put(Headers.WWW_AUTHENTICATE, "Bearer realm=\"swprof\"");
                send(ex, 401, errorBody("this server needs a bearer token: send 'Authorization: Bearer <token>' "
                        + "(auth.token, auth.tokenFile, or the file named in the server's log)"));
                return;
            }
            switch (path) {
                case "/graphql", "/graphql/" -> graphqlRequest(ex, caller);
                case "/status/cluster/nodes" -> statusGet(ex, Map.of("nodes", status.nodes()));
                case "/status/config/ttl" -> statusGet(ex, SwprofGraphQL.ttlDefinition());
                case "/debugging/config/dump" -> statusGet(ex, status.config());
                case "/" -> send(ex, 404, errorBody("this server was built without its page (ui/build.sh makes it "
                        + "when the jar is built); the API is at POST /graphql"));
                default -> send(ex, 404, errorBody("no such endpoint: " + path + " (POST /graphql, GET /healthz, "
                        + "GET /status/cluster/nodes, /status/config/ttl, /debugging/config/dump"
                        + (PAGE.exists() ? ", and the page at GET /)" : ")")));
            }
        }

        static final int BAD_CALLER = -2;

        /** the page at /, as packed in this jar */
        private static final Page PAGE = Page.load();

        /**
         * On the I/O thread: a file of the page, from memory. GET and HEAD only; a browser is told to check it again
         * before using a copy (the jar may change under the same name), to trust its type, and not to frame it.
         */
        private static void pageFile(HttpServerExchange ex, Page.File file) {
            if (!Methods.GET.equals(ex.getRequestMethod()) && !Methods.HEAD.equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().put(Headers.ALLOW, "GET, HEAD");
                send(ex, 405, errorBody("use GET " + ex.getRequestPath() + " (a file of the page)"));
                return;
            }
            HeaderMap h = ex.getResponseHeaders();
            h.put(Headers.CONTENT_TYPE, file.contentType());
            h.put(Headers.CACHE_CONTROL, "no-cache");
            h.put(Headers.CONTENT_SECURITY_POLICY, Page.CONTENT_SECURITY_POLICY);
            h.put(Headers.X_FRAME_OPTIONS, "DENY");
            h.put(Headers.X_CONTENT_TYPE_OPTIONS, "nosniff");
            h.put(Headers.REFERRER_POLICY, "no-referrer");
            ex.setStatusCode(200);
            ex.getResponseSender().send(ByteBuffer.wrap(file.bytes()));
        }

        /**
         * The uid of a request relayed by the Unix socket (it carries this server's relay secret), -1 for any other
         * request, BAD_CALLER for one that claims a uid without the secret.
         */
        private int caller(HttpServerExchange ex) {
            String uid = ex.getRequestHeaders().getFirst(UnixSocketFront.CALLER);
            String relay = ex.getRequestHeaders().getFirst(UnixSocketFront.RELAY);
            if (uid == null && relay == null) {
                return -1;
            }
            if (relaySecret == null || relay == null || uid == null
                    || !java.security.MessageDigest.isEqual(relaySecret, relay.getBytes(StandardCharsets.US_ASCII))) {
                return BAD_CALLER;
            }
            try {
                int u = Integer.parseInt(uid);
                return u >= 0 ? u : BAD_CALLER;
            } catch (NumberFormatException e) {
                return BAD_CALLER;
            }
        }

        /** Checks the request line and headers, then reads the body on this I/O thread, then runs it on a worker. */
        private void graphqlRequest(HttpServerExchange ex, int caller) {
            if (!Methods.POST.equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().put(Headers.ALLOW, "POST");
                send(ex, 405, errorBody("use POST /graphql with a JSON body {\"query\": ..., \"variables\": {...}}"));
                return;
            }
            // a form a browser may send cross-site without asking first has no JSON type: none is taken
            String ct = ex.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
            if (ct == null || !ct.toLowerCase(Locale.ROOT).trim().startsWith("application/json")) {
                send(ex, 415, errorBody("Content-Type must be application/json, not " + (ct == null ? "absent" : ct)));
                return;
            }
            long declared = ex.getRequestContentLength();
            if (declared > DISCARD_BYTES) {
                ex.setPersistent(false);
                send(ex, 413, errorBody("request body of " + declared + " bytes exceeds the limit of " + maxBodyBytes));
                return;
            }
            Body body = new Body(maxBodyBytes);
            ex.getRequestReceiver().receivePartialBytes((e, chunk, last) -> {
                body.add(chunk);
                if (!last) {
                    return;
                }
                if (body.tooBig) {
                    send(e, 413, errorBody("request body of " + body.seen + " bytes exceeds the limit of "
                            + maxBodyBytes));
                    return;
                }
                e.dispatch(() -> run(e, body.bytes(), caller));
            }, (e, error) -> {
                // the client stopped sending (read timeout) or went away: end the exchange, nothing to answer
                LOG.fine(() -> "a request body could not be read: " + error);
                e.setPersistent(false);
                if (error instanceof io.undertow.server.RequestTooBigException) {
                    send(e, 413, errorBody("request body exceeds the limit of " + maxBodyBytes + " bytes"));
                } else {
                    e.endExchange();
                }
            });
        }

        /** A body as it comes, kept up to the limit, then only counted. */
        static final class Body {
            private final int max;
            private java.io.ByteArrayOutputStream kept = new java.io.ByteArrayOutputStream();
            long seen;
            boolean tooBig;

            Body(int max) {
                this.max = max;
            }

            void add(byte[] chunk) {
                seen += chunk.length;
                if (!tooBig && seen > max) {
                    tooBig = true;
                    kept = null;
                }
                if (!tooBig) {
                    kept.write(chunk, 0, chunk.length);
                }
            }

            byte[] bytes() {
                return kept.toByteArray();
            }
        }

        /** On a worker: the whole request, as its caller (-1: anyone) when the Unix socket relayed it. */
        private void run(HttpServerExchange ex, byte[] body, int caller) {
            ex.startBlocking();
            if (caller >= 0) {
                SwprofCore.setCaller(caller);
            }
            try {
                graphql(ex, body);
            } catch (Exception e) {
                LOG.log(Level.SEVERE, "request " + ex.getRequestPath() + " failed", e);
                if (!ex.isResponseStarted()) {
                    try {
                        error(ex, 500, "internal error: " + e);
                    } catch (IOException ignored) {
                        // the client is gone
                    }
                }
            } finally {
                if (caller >= 0) {
                    SwprofCore.setCaller(-1);
                }
                ex.endExchange();
            }
        }

        /** On the I/O thread: a small answer, whatever the workers are doing. */
        private void health(HttpServerExchange ex) {
            Map<String, Object> m = new LinkedHashMap<>();
            boolean up = !core.isClosed();
            m.put("status", up ? "UP" : "DOWN");
            m.put("version", Version.NUMBER);
            if (up) { // the core's counters: samples stored (local and the agents'), flushes, write errors, ...
                try {
                    m.put("core", Json.MAPPER.readValue(core.stats(), Object.class));
                } catch (IOException | RuntimeException e) {
                    m.put("core", null);
                }
            }
            send(ex, up ? 200 : 503, json(m));
        }

        /**
         * A status endpoint: GET only; JSON (what the UI asks for, {@code accept: application/json}), or OAP's
         * {@code key=value} lines for a client that asks for text/plain.
         */
        private static void statusGet(HttpServerExchange ex, Map<String, ?> body) {
            if (!Methods.GET.equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().put(Headers.ALLOW, "GET");
                send(ex, 405, errorBody("use GET " + ex.getRequestPath()));
                return;
            }
            String accept = String.valueOf(ex.getRequestHeaders().getFirst(Headers.ACCEPT)).toLowerCase(Locale.ROOT);
            if (!accept.contains("text/plain") || accept.contains("json")) {
                send(ex, 200, json(body));
                return;
            }
            StringBuilder text = new StringBuilder();
            flatten("", body, text);
            ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
            ex.setStatusCode(200);
            ex.getResponseSender().send(ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8)));
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

        /** On a worker, the body read: parse, admit (analyses are bounded in number), execute, answer. */
        private void graphql(HttpServerExchange ex, byte[] body) throws IOException {
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
            boolean heavy = SwprofGraphQL.mayAnalyse(q);
            try {
                if (heavy && !analyses.tryAcquire(ADMISSION_WAIT_S, TimeUnit.SECONDS)) {
                    error(ex, 503, "busy: other requests are analysing (rest.maxConcurrentAnalyses); try again");
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                error(ex, 503, "the server is stopping");
                return;
            }
            Map<String, Object> result;
            try {
                if (passThrough) {
                    try (AnalysisPassThrough.Scope scope = AnalysisPassThrough.open()) {
                        result = scope.splice(graphQL.execute(q, operation, variables));
                    }
                } else {
                    result = graphQL.execute(q, operation, variables);
                }
                reply(ex, 200, result);
            } finally {
                if (heavy) {
                    analyses.release();
                }
            }
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

        private static void error(HttpServerExchange ex, int status, String message) throws IOException {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("data", null);
            m.put("errors", List.of(Map.of("message", message)));
            reply(ex, status, m);
        }

        /** On a worker in blocking mode: the answer written as it is made. */
        private static void reply(HttpServerExchange ex, int status, Object body) throws IOException {
            ex.setStatusCode(status);
            ex.getResponseHeaders().put(Headers.CONTENT_TYPE, JSON);
            OutputStream out = ex.getOutputStream();
            Json.MAPPER.writeValue(out, body);
        }

        /** From any thread, without blocking: a small JSON answer, then the exchange ends. */
        static void send(HttpServerExchange ex, int status, byte[] json) {
            ex.setStatusCode(status);
            ex.getResponseHeaders().put(Headers.CONTENT_TYPE, JSON);
            ex.getResponseSender().send(ByteBuffer.wrap(json));
        }

        static byte[] json(Object body) {
            try {
                return Json.MAPPER.writeValueAsBytes(body);
            } catch (JsonProcessingException e) {
                return ("{\"data\":null,\"errors\":[{\"message\":\"internal error\"}]}").getBytes(StandardCharsets.UTF_8);
            }
        }

        static byte[] errorBody(String message) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("data", null);
            m.put("errors", List.of(Map.of("message", message)));
            return json(m);
        }
    }
}
