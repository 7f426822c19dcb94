package org.swprof.shim.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.swprof.shim.DiscoveryRule;

class ServerConfigTest {
    @Test
    void defaultsWithoutAnyYaml() {
        ServerConfig c = ServerConfig.parse("", "test", Map.of());
        assertEquals("127.0.0.1", c.host);
        assertEquals(12800, c.port);
        assertEquals(Path.of("./data"), c.dataDir);
        assertEquals(99, c.frequency);
        assertEquals(1000, c.flushIntervalMs);
        assertTrue(c.profiling);
        assertEquals(List.of(), c.rules);
    }

    @Test
    void unwindingModeReachesTheCoreOptionsAndBadOnesAreRefused() {
        ServerConfig d = ServerConfig.parse("", "test", Map.of());
        assertEquals("auto", d.coreOptions().unwind());
        ServerConfig c = ServerConfig.parse("profiling: {unwind: FP, unwindStackBytes: 32768}", "test", Map.of());
        assertEquals("fp", c.coreOptions().unwind());
        assertEquals(32768, c.coreOptions().unwindStackBytes());
        // kept through the options' other copies
        assertEquals("fp", c.coreOptions().withIntervals(500, 500).unwind());
        assertEquals("dwarf", ServerConfig.parse("", "test", Map.of("SWPROF_UNWIND", "dwarf")).unwind);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.parse("profiling: {unwind: lbr}", "test", Map.of()));
        assertTrue(e.getMessage().contains("fp, dwarf or auto"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.parse("profiling: {unwindStackBytes: 4096}", "test", Map.of()));
        assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.parse("profiling: {unwindStackBytes: 10001}", "test", Map.of()));
    }

    @Test
    void theIssuesExampleParses() {
        String yaml = """
                rest: { host: 127.0.0.1, port: 12800 }
                storage: { dataDir: ./data }
                profiling: { frequency: 99, flushInterval: 1s }
                discovery:
                  rules:
                    - cmdRegex: "sqrt"          # matched against the full command line
                      service: sqrt
                      instance: test-instance   # default: the host name
                      process: "{exe}"          # {exe} = executable base name, {pid}
                      labels: [e2e]
                """;
        ServerConfig c = ServerConfig.parse(yaml, "test", Map.of());
        assertEquals(List.of(new DiscoveryRule("sqrt", "sqrt", "test-instance", "{exe}", null, List.of("e2e"))),
                c.rules);
    }

    @Test
    void environmentOverridesEveryKey() {
        ServerConfig c = ServerConfig.parse("rest: {port: 1}\nprofiling: {flushInterval: 2s}", "test", Map.of(
                "SWPROF_REST_HOST", "0.0.0.0",
                "SWPROF_REST_PORT", "12801",
                "SWPROF_DATA_DIR", "/var/lib/swprof",
                "SWPROF_FREQUENCY", "49",
                "SWPROF_FLUSH_INTERVAL", "500ms",
                "SWPROF_PROFILING", "false",
                "SWPROF_SCAN_INTERVAL", "never",
                "SWPROF_HOST_NAME", "h",
                "SWPROF_LOG_LEVEL", "debug",
                "SWPROF_DISCOVERY_RULES", "[{cmdRegex: sqrt, service: sqrt, labels: [e2e]}]"));
        assertEquals("0.0.0.0", c.host);
        assertEquals(12801, c.port);
        assertEquals(Path.of("/var/lib/swprof"), c.dataDir);
        assertEquals(49, c.frequency);
        assertEquals(500, c.flushIntervalMs);
        assertFalse(c.profiling);
        assertEquals(-1, c.scanIntervalMs);
        assertEquals("h", c.hostName);
        assertNull(c.hostIp);
        assertEquals("DEBUG", c.logLevel);
        assertEquals(1, c.rules.size());
        assertEquals(List.of("e2e"), c.rules.get(0).labels());
        assertEquals(c.dataDir, c.coreOptions().dataDir());
    }

    @Test
    void durations() {
        assertEquals(1000, ServerConfig.millis(Map.of("k", "1s"), "k", 0));
        assertEquals(500, ServerConfig.millis(Map.of("k", "500ms"), "k", 0));
        assertEquals(120_000, ServerConfig.millis(Map.of("k", "2m"), "k", 0));
        assertEquals(250, ServerConfig.millis(Map.of("k", 250), "k", 0));
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.millis(Map.of("k", "1 fortnight"), "k", 0));
    }

    @Test
    void mistakesAreClear() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.parse("rest: {prot: 1}", "f.yml", Map.of()));
        assertTrue(e.getMessage().contains("unknown key rest.prot"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.parse("rest: {port: 99999}", "f.yml", Map.of()));
        assertTrue(e.getMessage().contains("rest.port"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.parse("discovery: {rules: [{service: x}]}", "f.yml", Map.of()));
        assertTrue(e.getMessage().contains("cmdRegex"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.parse("[1, 2]", "f.yml", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.parse("a: [", "f.yml", Map.of()));
    }

    @Test
    void theShippedDefaultConfigLoads() {
        ServerConfig c = ServerConfig.load(null, Map.of());
        assertEquals(12800, c.port);
        assertEquals("127.0.0.1", c.host);
        assertTrue(c.rules.size() >= 1);
        assertTrue(c.source.contains("built-in"));
    }
}
