package org.swprof.shim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.swprof.shim.graphql.Json;

/**
 * A real core (JNI library, RocksDB in a temporary directory) without profiling, plus real child processes
 * ({@code sleep}) registered under chosen names. Host name "test-host", host ip "10.0.0.1".
 */
public final class TestCore implements AutoCloseable {
    public static final String HOST = "test-host";
    public static final String HOST_IP = "10.0.0.1";

    public final Path dir;
    public final SwprofCore core;
    private final List<Process> children = new ArrayList<>();

    private TestCore(Path dir, SwprofCore core) {
        this.dir = dir;
        this.core = core;
    }

    public static TestCore open() {
        try {
            Path dir = Files.createTempDirectory("swprof-test-");
            return new TestCore(dir, SwprofCore.open(CoreOptions.storeOnly(dir).withHost(HOST_IP, HOST)));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Starts {@code sleep 600} and registers it; answers the process object. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> register(String service, String processName, List<String> labels) {
        Process p = spawn();
        byte[] json = core.registerProcess(new Requests.ProcessSpec((int) p.pid(), service, null, processName, null,
                labels));
        return (Map<String, Object>) Json.parse(json);
    }

    public Process spawn() {
        try {
            Process p = new ProcessBuilder("sleep", "600").start();
            children.add(p);
            return p;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        core.close();
        for (Process p : children) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        deleteTree(dir);
    }

    public static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }

    // ---- ids as docs/protocol.md §2 defines them, computed independently of the core ----

    public static String serviceId(String name) {
        return Base64.getEncoder().encodeToString(name.getBytes(StandardCharsets.UTF_8)) + ".1";
    }

    public static String instanceId(String serviceId, String instance) {
        return serviceId + "_" + Base64.getEncoder().encodeToString(instance.getBytes(StandardCharsets.UTF_8));
    }

    public static String processId(String processName, String instanceId) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(
                    md.digest((processName + "_" + instanceId).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
