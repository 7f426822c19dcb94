package org.swprof.shim;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * How to open a core ({@code struct swp_config}).
 *
 * @param dataDir         the store (RocksDB) directory, created if missing
 * @param frequency       sampling frequency in Hz, 1..1000; 0 = the core's default (99)
 * @param flushIntervalMs 0 = the core's default (1000)
 * @param scanIntervalMs  process rescan period; 0 = default (5000), negative = only on request
 * @param profiling       run the task scheduler and the BPF profiler (needs root / CAP_BPF)
 * @param rules           discovery rules, first match wins
 * @param hostIp          the host_ip attribute of processes; null = detected
 * @param hostName        the default instance name; null = the host name
 */
public record CoreOptions(Path dataDir, int frequency, int flushIntervalMs, int scanIntervalMs, boolean profiling,
                          List<DiscoveryRule> rules, String hostIp, String hostName) {
    public CoreOptions {
        Objects.requireNonNull(dataDir, "dataDir");
        if (frequency < 0 || frequency > 1000) {
            throw new IllegalArgumentException("frequency must be 1..1000 Hz (0 = default), not " + frequency);
        }
        if (flushIntervalMs < 0) {
            throw new IllegalArgumentException("flush interval must not be negative: " + flushIntervalMs);
        }
        rules = rules == null ? List.of() : List.copyOf(rules);
    }

    /** A core without profiling and without rules: a store with a process registry (tests, tools). */
    public static CoreOptions storeOnly(Path dataDir) {
        return new CoreOptions(dataDir, 0, 0, -1, false, List.of(), null, null);
    }

    public CoreOptions withRules(List<DiscoveryRule> r) {
        return new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, r, hostIp, hostName);
    }

    public CoreOptions withProfiling(boolean p) {
        return new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, p, rules, hostIp, hostName);
    }

    public CoreOptions withHost(String ip, String name) {
        return new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, rules, ip, name);
    }

    public CoreOptions withIntervals(int flushMs, int scanMs) {
        return new CoreOptions(dataDir, frequency, flushMs, scanMs, profiling, rules, hostIp, hostName);
    }
}
