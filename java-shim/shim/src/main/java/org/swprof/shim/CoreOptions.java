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
 * @param profiling       who runs the tasks of local processes ({@code enum swp_profiling})
 * @param rules           discovery rules, first match wins
 * @param hostIp          the host_ip attribute of processes; null = detected
 * @param hostName        the default instance name; null = the host name
 * @param expireMs        an exited process leaves the listings this long after it was last seen; 0 = 10 minutes
 * @param minAgeMs        a process found by the rules is registered once it has run this long; 0 = 3 s, negative
 *                        = at once
 * @param agentTimeoutMs  an agent's process runs while its keep-alives come this often; 0 = 60 s
 */
public final class CoreOptions {
    private final Path dataDir;
    private final int frequency;
    private final int flushIntervalMs;
    private final int scanIntervalMs;
    private final Profiling profiling;
    private final List<DiscoveryRule> rules;
    private final String hostIp;
    private final String hostName;
    private final long expireMs;
    private final long minAgeMs;
    private final long agentTimeoutMs;
    private final long minFreeBytes;
    /* how user stacks of ON_CPU tasks are walked (swp_config.unwind): set by withUnwind only */
    private String unwind;
    private int unwindStackBytes;

    public CoreOptions(Path dataDir, int frequency, int flushIntervalMs, int scanIntervalMs, Profiling profiling,
            List<DiscoveryRule> rules, String hostIp, String hostName, long expireMs, long minAgeMs,
            long agentTimeoutMs) {
        this(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, rules, hostIp, hostName, expireMs,
                minAgeMs, agentTimeoutMs, 0);
    }

    /** @param minFreeBytes free space the store leaves on its disk (writes wait for room); 0 = 256 MiB */
    public CoreOptions(Path dataDir, int frequency, int flushIntervalMs, int scanIntervalMs, Profiling profiling,
            List<DiscoveryRule> rules, String hostIp, String hostName, long expireMs, long minAgeMs,
            long agentTimeoutMs, long minFreeBytes) {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(profiling, "profiling");
        if (frequency < 0 || frequency > 1000) {
            throw new IllegalArgumentException("frequency must be 1..1000 Hz (0 = default), not " + frequency);
        }
        if (flushIntervalMs < 0) {
            throw new IllegalArgumentException("flush interval must not be negative: " + flushIntervalMs);
        }
        if (expireMs < 0) {
            throw new IllegalArgumentException("the expiry of exited processes must not be negative: " + expireMs);
        }
        rules = rules == null ? List.of() : List.copyOf(rules);

        this.dataDir = dataDir;
        this.frequency = frequency;
        this.flushIntervalMs = flushIntervalMs;
        this.scanIntervalMs = scanIntervalMs;
        this.profiling = profiling;
        this.rules = rules;
        this.hostIp = hostIp;
        this.hostName = hostName;
        this.expireMs = expireMs;
        this.minAgeMs = minAgeMs;
        this.agentTimeoutMs = agentTimeoutMs;
        if (minFreeBytes < 0) {
            throw new IllegalArgumentException("the free space to leave must not be negative: " + minFreeBytes);
        }
        this.minFreeBytes = minFreeBytes;
    }

    /**
     * @param mode       "fp" (frame pointers, walked by the kernel), "dwarf" or "auto" (null: the core's default,
     *                   auto; the core checks it)
     * @param stackBytes stack bytes copied per sample for dwarf and auto, 8192..65536; 0 = 16384
     */
    public CoreOptions withUnwind(String mode, int stackBytes) {
        CoreOptions n = new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, rules, hostIp,
                hostName, expireMs, minAgeMs, agentTimeoutMs, minFreeBytes);
        n.unwind = mode;
        n.unwindStackBytes = stackBytes;
        return n;
    }

    private CoreOptions keep(CoreOptions n) {
        n.unwind = unwind;
        n.unwindStackBytes = unwindStackBytes;
        return n;
    }

    public String unwind() {
        return unwind;
    }

    public int unwindStackBytes() {
        return unwindStackBytes;
    }

    public long minFreeBytes() {
        return minFreeBytes;
    }

    public Path dataDir() {
        return dataDir;
    }

    public int frequency() {
        return frequency;
    }

    public int flushIntervalMs() {
        return flushIntervalMs;
    }

    public int scanIntervalMs() {
        return scanIntervalMs;
    }

    public Profiling profiling() {
        return profiling;
    }

    public List<DiscoveryRule> rules() {
        return rules;
    }

    public String hostIp() {
        return hostIp;
    }

    public String hostName() {
        return hostName;
    }

    public long expireMs() {
        return expireMs;
    }

    public long minAgeMs() {
        return minAgeMs;
    }

    public long agentTimeoutMs() {
        return agentTimeoutMs;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof CoreOptions)) {
            return false;
        }
        CoreOptions x = (CoreOptions) o;
        return java.util.Objects.equals(dataDir, x.dataDir)
                && frequency == x.frequency
                && flushIntervalMs == x.flushIntervalMs
                && scanIntervalMs == x.scanIntervalMs
                && java.util.Objects.equals(profiling, x.profiling)
                && java.util.Objects.equals(rules, x.rules)
                && java.util.Objects.equals(hostIp, x.hostIp)
                && java.util.Objects.equals(hostName, x.hostName)
                && expireMs == x.expireMs
                && minAgeMs == x.minAgeMs
                && agentTimeoutMs == x.agentTimeoutMs
                && minFreeBytes == x.minFreeBytes
                && java.util.Objects.equals(unwind, x.unwind)
                && unwindStackBytes == x.unwindStackBytes;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, rules, hostIp,
                hostName, expireMs, minAgeMs, agentTimeoutMs, minFreeBytes, unwind, unwindStackBytes);
    }

    @Override
    public String toString() {
        return "CoreOptions[dataDir=" + dataDir + ", frequency=" + frequency
                + ", flushIntervalMs=" + flushIntervalMs + ", scanIntervalMs=" + scanIntervalMs
                + ", profiling=" + profiling + ", rules=" + rules + ", hostIp=" + hostIp
                + ", hostName=" + hostName + ", expireMs=" + expireMs + ", minAgeMs=" + minAgeMs
                + ", agentTimeoutMs=" + agentTimeoutMs + ", unwind=" + unwind + "]";
    }

    /** {@code enum swp_profiling}: who runs the tasks of this core's local processes. */
    public enum Profiling {
        /** nobody: the core serves stored data (a task nothing would run is refused) */
        OFF,
        /** this core: the scheduler thread and the eBPF profiler (needs root or CAP_BPF+CAP_PERFMON) */
        ON,
        /** another process profiling for the same data directory ({@code swprof run}), or imports: tools, tests */
        ELSEWHERE
    }


    /**
     * A core without profiling of its own and without rules: a store with a process registry whose tasks are run by
     * another process or filled by imports (tests, tools).
     */
    public static CoreOptions storeOnly(Path dataDir) {
        return new CoreOptions(dataDir, 0, 0, -1, Profiling.ELSEWHERE, List.of(), null, null, 0, 0, 0);
    }

    public CoreOptions withRules(List<DiscoveryRule> r) {
        return keep(new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, r, hostIp, hostName,
                expireMs, minAgeMs, agentTimeoutMs, minFreeBytes));
    }

    public CoreOptions withProfiling(Profiling p) {
        return keep(new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, p, rules, hostIp, hostName,
                expireMs, minAgeMs, agentTimeoutMs, minFreeBytes));
    }

    public CoreOptions withHost(String ip, String name) {
        return keep(new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, rules, ip, name,
                expireMs, minAgeMs, agentTimeoutMs, minFreeBytes));
    }

    public CoreOptions withIntervals(int flushMs, int scanMs) {
        return keep(new CoreOptions(dataDir, frequency, flushMs, scanMs, profiling, rules, hostIp, hostName, expireMs,
                minAgeMs, agentTimeoutMs, minFreeBytes));
    }

    public CoreOptions withAgentTimeout(long ms) {
        return keep(new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, rules, hostIp, hostName,
                expireMs, minAgeMs, ms, minFreeBytes));
    }

    public CoreOptions withMinFree(long bytes) {
        return keep(new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, rules, hostIp, hostName,
                expireMs, minAgeMs, agentTimeoutMs, bytes));
    }

    public CoreOptions withProcessAges(long expire, long minAge) {
        return keep(new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs, profiling, rules, hostIp, hostName,
                expire, minAge, agentTimeoutMs, minFreeBytes));
    }
}
