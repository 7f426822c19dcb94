package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The page at {@code GET /} over real HTTP: its files with their types and the headers that keep a browser safe with
 * them, nothing else of the jar or the disk, GET and HEAD only, the same Host and Origin rules as the API, and no
 * token needed for the files (a browser cannot send one to open a page) while the API still needs it. What the page
 * does in a browser is ui-check/viewer.mjs's.
 */
class PageTest {
    static Server server;

    @BeforeAll
    static void start() {
        server = Server.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<byte[]> request(Server s, String method, String path) {
        try {
            HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.main.port() + path))
                    .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody()).build();
            return s.http.send(r, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse("");
    }

    @Test
    void theIndexIsServedAtTheRootAndByName() {
        HttpResponse<byte[]> root = request(server, "GET", "/");
        assertEquals(200, root.statusCode());
        assertEquals("text/html; charset=utf-8", header(root, "Content-Type"));
        String html = new String(root.body(), StandardCharsets.UTF_8);
        assertTrue(html.contains("<script type=\"module\" src=\"app.js\">"), html);
        assertTrue(html.contains("Profile this"), html);
        // nothing from elsewhere: every src and href is the server's own
        assertFalse(html.matches("(?s).*(src|href)=\"(https?:)?//.*"), html);
        HttpResponse<byte[]> byName = request(server, "GET", "/index.html");
        assertEquals(200, byName.statusCode());
        assertArrayEquals(root.body(), byName.body());
    }

    @Test
    void eachFileHasItsType() {
        for (Map.Entry<String, String> e : Map.of("/app.js", "text/javascript; charset=utf-8",
                "/app.css", "text/css; charset=utf-8", "/favicon.svg", "image/svg+xml").entrySet()) {
            HttpResponse<byte[]> r = request(server, "GET", e.getKey());
            assertEquals(200, r.statusCode(), e.getKey());
            assertEquals(e.getValue(), header(r, "Content-Type"), e.getKey());
            assertTrue(r.body().length > 100, e.getKey() + ": " + r.body().length + " bytes");
        }
        String js = new String(request(server, "GET", "/app.js").body(), StandardCharsets.UTF_8);
        // the flame graph library is bundled in, and the page sends its documents to this server's /graphql
        assertTrue(js.contains("d3-flame-graph") && js.contains("analysisEBPFProfilingResult"), "app.js");
        assertFalse(js.contains("http://") && js.contains("cdn"), "app.js loads nothing from a CDN");
    }

    @Test
    void aBrowserIsToldToTrustTheTypesAndNeverFrameThePage() {
        HttpResponse<byte[]> r = request(server, "GET", "/");
        assertEquals("nosniff", header(r, "X-Content-Type-Options"));
        assertEquals("DENY", header(r, "X-Frame-Options"));
        String csp = header(r, "Content-Security-Policy");
        assertTrue(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), csp);
        assertEquals("no-cache", header(r, "Cache-Control"));
    }

    @Test
    void headAnswersWithoutABody() {
        HttpResponse<byte[]> get = request(server, "GET", "/app.js");
        HttpResponse<byte[]> head = request(server, "HEAD", "/app.js");
        assertEquals(200, head.statusCode());
        assertEquals(0, head.body().length);
        assertEquals(String.valueOf(get.body().length), header(head, "Content-Length"));
    }

    @Test
    void otherMethodsAre405() {
        for (String m : new String[] {"POST", "PUT", "DELETE"}) {
            HttpResponse<byte[]> r = request(server, m, "/");
            assertEquals(405, r.statusCode(), m);
            assertEquals("GET, HEAD", header(r, "Allow"), m);
            String body = new String(r.body(), StandardCharsets.UTF_8);
            assertTrue(body.contains("\"errors\"") && body.contains("use GET /"), body);
        }
        assertEquals(405, request(server, "POST", "/app.js").statusCode());
    }

    @Test
    void unknownFilesAre404AndTheMessageNamesThePage() {
        for (String path : new String[] {"/app2.js", "/index.htm", "/nope", "/page/index.html", "/static/app.js"}) {
            HttpResponse<byte[]> r = request(server, "GET", path);
            assertEquals(404, r.statusCode(), path);
            String body = new String(r.body(), StandardCharsets.UTF_8);
            assertTrue(body.contains("no such endpoint: " + path) && body.contains("the page at GET /")
                    && body.contains("POST /graphql"), body);
        }
    }

    /** The jar holds more than the page (the schema, the configuration, classes, the JNI library): none of it. */
    @Test
    void nothingButThePageCanBeNamed() throws IOException {
        String[] paths = {"/../pom.xml", "/%2e%2e/schema/common.graphqls", "/..%2fschema%2fcommon.graphqls",
            "/schema/common.graphqls", "/config/swprof.yml", "/org/swprof/shim/server/Page.class",
            "/page/../schema/common.graphqls", "/.%2e/.%2e/etc/passwd", "/%2fetc%2fpasswd", "//etc/passwd",
            "/app.js%00.html", "/app.js/", "/.app.js"};
        for (String p : paths) {
            String got = HardeningTest.raw(server.main.port(), ("GET " + p + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII), 10_000);
            String status = got.isEmpty() ? "" : got.substring(0, got.indexOf("\r\n"));
            assertTrue(status.matches("HTTP/1.1 (400|404) .*"), p + " -> " + status);
            assertFalse(got.contains("type Query") || got.contains("rest:") || got.contains("root:"), p + " -> " + got);
        }
    }

    @Test
    void theApisHostAndOriginRulesHoldForThePage() throws IOException {
        String rebound = HardeningTest.raw(server.main.port(), ("GET / HTTP/1.1\r\nHost: evil.example:80\r\n"
                + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII), 10_000);
        assertTrue(rebound.startsWith("HTTP/1.1 403"), rebound);
        String framed = HardeningTest.raw(server.main.port(), ("GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Origin: https://evil.example\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII),
                10_000);
        assertTrue(framed.startsWith("HTTP/1.1 403"), framed);
    }

    @Test
    void withATokenThePageOpensAndTheApiStillAsksForIt() {
        try (Server guarded = Server.start(Map.of("SWPROF_AUTH_REQUIRED", "true"))) {
            HttpResponse<byte[]> page = request(guarded, "GET", "/");
            assertEquals(200, page.statusCode());
            assertTrue(new String(page.body(), StandardCharsets.UTF_8).contains("token"), "the page asks for it");
            assertEquals(200, request(guarded, "GET", "/app.js").statusCode());
            assertEquals(401, guarded.post(HardeningTest.VERSION).status());
            assertEquals(401, request(guarded, "GET", "/app2.js").statusCode());
        }
    }
}
