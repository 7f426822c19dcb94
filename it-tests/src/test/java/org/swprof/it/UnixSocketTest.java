package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.swprof.shim.Requests;

/**
 * rest.unixSocket: the API on a Unix socket whose peers see and profile what their uid could ptrace. A caller as
 * uid nobody (a real client process run through setpriv) sees its own process and not root's, cannot make a task
 * on root's, makes one on its own, and sees only its tasks; root on the same socket sees everything; a TCP client
 * cannot claim a uid.
 */
class UnixSocketTest {
    static final String PROCESSES = "{\"query\": \"{ listProcesses(serviceId: \\\"c2hhcmVk.1\\\") { id name } }\"}";

    @Test
    void peersSeeAndProfileWhatTheirUidCouldPtrace() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (processes of two users)");
        Path dir = Files.createTempDirectory("swprof-it-unix-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path sock = dir.resolve("api.sock");
        Process nobodys = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep",
                "600").start();
        try (Server server = Server.start(Map.of("SWPROF_REST_UNIX_SOCKET", sock.toString()))) {
            String roots = server.register("shared", "roots", List.of("l"));
            String mine = (String) Server.JSON.readValue(server.main.core().registerProcess(new Requests.ProcessSpec(
                    (int) nobodys.pid(), "shared", null, "nobodys", null, List.of("l"))), Map.class).get("id");
            assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));

            // root on the socket: everything, as on the port
            String asRoot = ask(sock, PROCESSES);
            assertTrue(asRoot.contains(roots) && asRoot.contains(mine), asRoot);

            // nobody: its own process only
            String asNobody = askAsNobody(sock, PROCESSES);
            assertTrue(asNobody.contains(mine), asNobody);
            assertFalse(asNobody.contains(roots), asNobody);
            // root's process is unknown to it; its own can be profiled
            String task = "{\"query\": \"mutation ($r: EBPFProfilingTaskFixedTimeCreationRequest!) "
                    + "{ createEBPFProfilingFixedTimeTask(request: $r) { status errorReason id } }\", \"variables\": "
                    + "{\"r\": {\"processFinder\": {\"finderType\": \"PROCESS_ID\", \"processId\": \"%s\"}, "
                    + "\"startTime\": %d, \"duration\": 60, \"targetType\": \"ON_CPU\"}}}";
            long at = System.currentTimeMillis() + 3_600_000;
            String refused = askAsNobody(sock, String.format(task, roots, at));
            assertTrue(refused.contains("could not found process"), refused);
            String made = askAsNobody(sock, String.format(task, mine, at));
            assertTrue(made.contains("\"status\":true"), made);
            String rootsTask = server.query("mutation ($r: EBPFProfilingTaskFixedTimeCreationRequest!) "
                    + "{ createEBPFProfilingFixedTimeTask(request: $r) { status id } }", Map.of("r", Map.of(
                    "processFinder", Map.of("finderType", "PROCESS_ID", "processId", roots), "startTime", at,
                    "duration", 60, "targetType", "ON_CPU"))).data().toString();
            assertTrue(rootsTask.contains("status=true"), rootsTask);
            String tasks = "{\"query\": \"{ queryEBPFProfilingTasks(serviceId: \\\"c2hhcmVk.1\\\") { taskId "
                    + "processId } }\"}";
            String nobodysTasks = askAsNobody(sock, tasks);
            assertTrue(nobodysTasks.contains(mine) && !nobodysTasks.contains(roots), nobodysTasks);
            String allTasks = ask(sock, tasks);
            assertTrue(allTasks.contains(mine) && allTasks.contains(roots), allTasks);

            // on the TCP port nobody can claim a uid
            Server.Reply claim = server.send(HttpRequest.newBuilder(server.graphql).timeout(Duration.ofSeconds(10))
                    .header("Content-Type", "application/json").header("X-Swprof-Caller-Uid", "0")
                    .header("X-Swprof-Relay", "guess").POST(HttpRequest.BodyPublishers.ofString(PROCESSES)).build());
            assertEquals(403, claim.status(), claim.body());
        } finally {
            nobodys.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        assertFalse(Files.exists(sock), "the socket is removed at shutdown");
        Files.deleteIfExists(dir);
    }

    /** One request on the socket from this (root) process: the answer's body. */
    static String ask(Path sock, String json) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(sock));
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            String head = "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n";
            c.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
            c.write(ByteBuffer.wrap(body));
            ByteBuffer in = ByteBuffer.allocate(1 << 20);
            while (c.read(in) >= 0 && in.hasRemaining()) {
                // to the end: the front closes after one answer
            }
            String all = new String(in.array(), 0, in.position(), StandardCharsets.UTF_8);
            assertTrue(all.startsWith("HTTP/1.1 200"), all);
            return all.substring(all.indexOf("\r\n\r\n") + 4);
        }
    }

    /** The same request from a client process running as uid nobody. */
    static String askAsNobody(Path sock, String json) throws Exception {
        String client = "import socket,sys\n"
                + "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); b=sys.argv[2].encode()\n"
                + "s.sendall(b'POST /graphql HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Type: application/json\\r\\n"
                + "Content-Length: %d\\r\\n\\r\\n' % len(b) + b)\n"
                + "out=b''\n"
                + "while True:\n"
                + "    d=s.recv(65536)\n"
                + "    if not d: break\n"
                + "    out+=d\n"
                + "sys.stdout.write(out.decode())\n";
        Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                client, sock.toString(), json).redirectErrorStream(true).start();
        String all = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the client finished");
        assertTrue(all.startsWith("HTTP/1.1 200"), all);
        return all.substring(all.indexOf("\r\n\r\n") + 4);
    }
}
