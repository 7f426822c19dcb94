package org.swprof.shim.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.swprof.shim.CoreOptions;
import org.swprof.shim.DiscoveryRule;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The server's configuration: a YAML file (the one packed in the jar, {@code java-shim/config/swprof.yml}, when
 * none is given), then environment variables, which override any key:
 *
 * <pre>
 * key                         env                                default
 * rest.host                   SWPROF_REST_HOST                   127.0.0.1
 * rest.port                   SWPROF_REST_PORT                   12800
 * rest.maxBodyBytes           SWPROF_REST_MAX_BODY_BYTES         1048576
 * rest.workerThreads          SWPROF_REST_WORKER_THREADS         16
 * rest.maxQueryDepth          SWPROF_REST_MAX_QUERY_DEPTH        20
 * rest.maxQueryComplexity     SWPROF_REST_MAX_QUERY_COMPLEXITY   5000
 * rest.maxAnalysesPerRequest  SWPROF_REST_MAX_ANALYSES_PER_REQUEST 4   (analysis fields in one request, aliases too)
 * rest.maxConcurrentAnalyses  SWPROF_REST_MAX_CONCURRENT_ANALYSES  4   (requests analysing at once; others wait)
 * rest.maxAnswerBytes         SWPROF_REST_MAX_ANSWER_BYTES       67108864 (one analysis answer)
 * rest.readTimeout            SWPROF_REST_READ_TIMEOUT           30s  (a request that sends nothing this long ends)
 * rest.allowedOrigins         SWPROF_REST_ALLOWED_ORIGINS        []   (browser origins besides the server's own)
 * rest.unixSocket             SWPROF_REST_UNIX_SOCKET            (none: the API on a Unix socket too; its peers see
 *                                                                 and profile what their uid could ptrace)
 * auth.required               SWPROF_AUTH_REQUIRED               false (a bearer token on loopback too)
 * auth.token                  SWPROF_AUTH_TOKEN                  (none: generated when required)
 * auth.tokenFile              SWPROF_AUTH_TOKEN_FILE             (a file holding the token)
 * grpc.enabled                SWPROF_GRPC_ENABLED                true (the agents' port: SkyWalking Rover, swprof agent)
 * grpc.host                   SWPROF_GRPC_HOST                   127.0.0.1
 * grpc.port                   SWPROF_GRPC_PORT                   11800
 * grpc.maxMessageBytes        SWPROF_GRPC_MAX_MESSAGE_BYTES      16777216
 * agents.keepAliveTimeout     SWPROF_AGENTS_KEEP_ALIVE_TIMEOUT   60s (an agent's process runs while its keep-alives come)
 * storage.dataDir             SWPROF_DATA_DIR                    ./data
 * storage.minFreeBytes        SWPROF_STORAGE_MIN_FREE_BYTES      268435456 (free space the store leaves on its disk)
 * profiling.enabled           SWPROF_PROFILING                   true
 * profiling.frequency         SWPROF_FREQUENCY                   99   (Hz, 1..1000)
 * profiling.flushInterval     SWPROF_FLUSH_INTERVAL              1s   (ms, s, m; a bare number is ms)
 * profiling.unwind            SWPROF_UNWIND                      auto (fp, dwarf or auto: how user stacks are walked)
 * profiling.unwindStackBytes  SWPROF_UNWIND_STACK_BYTES          16384 (dwarf, auto: stack copied per sample)
 * discovery.scanInterval      SWPROF_SCAN_INTERVAL               5s   (0 = the core's default; "never")
 * discovery.hostIp            SWPROF_HOST_IP                     detected
 * discovery.hostName          SWPROF_HOST_NAME                   the host name
 * discovery.minAge            SWPROF_DISCOVERY_MIN_AGE           3s   (a process is registered once it is this old)
 * discovery.expireAfter       SWPROF_DISCOVERY_EXPIRE_AFTER      10m  (an exited process leaves the listings)
 * discovery.rules             SWPROF_DISCOVERY_RULES             (YAML/JSON list, e.g. [{cmdRegex: sqrt, service: sqrt}])
 * log.level                   SWPROF_LOG_LEVEL                   INFO (DEBUG, INFO, WARN, ERROR)
 * ui.templatesDir             SWPROF_UI_TEMPLATES_DIR            the dashboards packed in the jar
 * </pre>
 */
public final class ServerConfig {
    /** key -> environment variable. */
    static final Map<String, String> ENV = new LinkedHashMap<>();

    static {
        ENV.put("rest.host", "SWPROF_REST_HOST");
        ENV.put("rest.port", "SWPROF_REST_PORT");
        ENV.put("rest.maxBodyBytes", "SWPROF_REST_MAX_BODY_BYTES");
        ENV.put("rest.workerThreads", "SWPROF_REST_WORKER_THREADS");
        ENV.put("rest.maxQueryDepth", "SWPROF_REST_MAX_QUERY_DEPTH");
        ENV.put("rest.maxQueryComplexity", "SWPROF_REST_MAX_QUERY_COMPLEXITY");
        ENV.put("rest.maxAnalysesPerRequest", "SWPROF_REST_MAX_ANALYSES_PER_REQUEST");
        ENV.put("rest.maxConcurrentAnalyses", "SWPROF_REST_MAX_CONCURRENT_ANALYSES");
        ENV.put("rest.maxAnswerBytes", "SWPROF_REST_MAX_ANSWER_BYTES");
        ENV.put("rest.readTimeout", "SWPROF_REST_READ_TIMEOUT");
        ENV.put("rest.allowedOrigins", "SWPROF_REST_ALLOWED_ORIGINS");
        ENV.put("rest.unixSocket", "SWPROF_REST_UNIX_SOCKET");
        ENV.put("auth.required", "SWPROF_AUTH_REQUIRED");
        ENV.put("auth.token", "SWPROF_AUTH_TOKEN");
        ENV.put("auth.tokenFile", "SWPROF_AUTH_TOKEN_FILE");
        ENV.put("grpc.enabled", "SWPROF_GRPC_ENABLED");
        ENV.put("grpc.host", "SWPROF_GRPC_HOST");
        ENV.put("grpc.port", "SWPROF_GRPC_PORT");
        ENV.put("grpc.maxMessageBytes", "SWPROF_GRPC_MAX_MESSAGE_BYTES");
        ENV.put("agents.keepAliveTimeout", "SWPROF_AGENTS_KEEP_ALIVE_TIMEOUT");
        ENV.put("storage.dataDir", "SWPROF_DATA_DIR");
        ENV.put("storage.minFreeBytes", "SWPROF_STORAGE_MIN_FREE_BYTES");
        ENV.put("profiling.enabled", "SWPROF_PROFILING");
        ENV.put("profiling.frequency", "SWPROF_FREQUENCY");
        ENV.put("profiling.flushInterval", "SWPROF_FLUSH_INTERVAL");
        ENV.put("profiling.unwind", "SWPROF_UNWIND");
        ENV.put("profiling.unwindStackBytes", "SWPROF_UNWIND_STACK_BYTES");
        ENV.put("discovery.scanInterval", "SWPROF_SCAN_INTERVAL");
        ENV.put("discovery.hostIp", "SWPROF_HOST_IP");
        ENV.put("discovery.hostName", "SWPROF_HOST_NAME");
        ENV.put("discovery.minAge", "SWPROF_DISCOVERY_MIN_AGE");
        ENV.put("discovery.expireAfter", "SWPROF_DISCOVERY_EXPIRE_AFTER");
        ENV.put("discovery.rules", "SWPROF_DISCOVERY_RULES");
        ENV.put("log.level", "SWPROF_LOG_LEVEL");
        ENV.put("ui.templatesDir", "SWPROF_UI_TEMPLATES_DIR");
    }

    /** The configuration packed in the jar. */
    public static final String DEFAULT_RESOURCE = "/config/swprof.yml";

    public final String host;
    public final int port;
    public final int maxBodyBytes;
    public final int workerThreads;
    public final int maxQueryDepth;
    public final int maxQueryComplexity;
    public final int maxAnalysesPerRequest;
    public final int maxConcurrentAnalyses;
    public final long maxAnswerBytes;
    public final int readTimeoutMs;
    /** browser origins allowed besides the server's own (scheme://host[:port]) */
    public final List<String> allowedOrigins;
    /** The Unix socket serving the API as well (peers limited to what their uid could ptrace), or null. */
    public final Path unixSocket;
    /** a bearer token on every request, also on loopback (beyond loopback it always is) */
    public final boolean authRequired;
    public final String authToken;
    public final Path authTokenFile;
    public final long minFreeBytes;
    public final String unwind;
    public final int unwindStackBytes;
    /** The agents' gRPC port (OAP's 11800). */
    public final boolean grpcEnabled;
    public final String grpcHost;
    public final int grpcPort;
    public final int grpcMaxMessageBytes;
    public final long agentTimeoutMs;
    public final Path dataDir;
    public final boolean profiling;
    public final int frequency;
    public final int flushIntervalMs;
    public final int scanIntervalMs;
    public final String hostIp;
    public final String hostName;
    /** a process found by the rules is registered once it has run this long (0 ms: at once) */
    public final long minAgeMs;
    /** an exited process leaves the listings this long after it was last seen */
    public final long expireMs;
    public final List<DiscoveryRule> rules;
    public final String logLevel;
    /** The UI's dashboard templates ({@code *.json}); null = the ones packed in the jar. */
    public final Path templatesDir;
    /** Where the YAML came from, for the start-up log. */
    public final String source;

    private ServerConfig(Map<String, Object> m, String source) {
        this.source = source;
        host = str(m, "rest.host", "127.0.0.1");
        port = integer(m, "rest.port", 12800, 0, 65535);
        maxBodyBytes = integer(m, "rest.maxBodyBytes", 1 << 20, 1024, Integer.MAX_VALUE);
        workerThreads = integer(m, "rest.workerThreads", 16, 1, 1024);
        maxQueryDepth = integer(m, "rest.maxQueryDepth", 20, 2, 1000);
        maxQueryComplexity = integer(m, "rest.maxQueryComplexity", 5000, 10, Integer.MAX_VALUE);
        maxAnalysesPerRequest = integer(m, "rest.maxAnalysesPerRequest", 4, 1, 1000);
        maxConcurrentAnalyses = integer(m, "rest.maxConcurrentAnalyses", 4, 1, 1000);
        maxAnswerBytes = integer(m, "rest.maxAnswerBytes", 64 << 20, 1 << 20, Integer.MAX_VALUE);
        readTimeoutMs = millis(m, "rest.readTimeout", 30_000);
        if (readTimeoutMs < 100) {
            throw new IllegalArgumentException("rest.readTimeout must be at least 100ms, not " + readTimeoutMs + " ms");
        }
        allowedOrigins = strings(m.get("rest.allowedOrigins"));
        String unix = str(m, "rest.unixSocket", null);
        unixSocket = unix == null ? null : Path.of(unix);
        authRequired = bool(m, "auth.required", false);
        authToken = str(m, "auth.token", null);
        String tokenFile = str(m, "auth.tokenFile", null);
        authTokenFile = tokenFile == null ? null : Path.of(tokenFile);
        if (authToken != null && authToken.length() < 16) {
            throw new IllegalArgumentException("auth.token must be at least 16 characters");
        }
        grpcEnabled = bool(m, "grpc.enabled", true);
        grpcHost = str(m, "grpc.host", "127.0.0.1");
        grpcPort = integer(m, "grpc.port", 11800, 0, 65535);
        grpcMaxMessageBytes = integer(m, "grpc.maxMessageBytes", 16 << 20, 64 * 1024, Integer.MAX_VALUE);
        agentTimeoutMs = millis(m, "agents.keepAliveTimeout", 60_000);
        if (agentTimeoutMs < 1000) {
            throw new IllegalArgumentException("agents.keepAliveTimeout must be at least 1s, not " + agentTimeoutMs
                    + " ms");
        }
        dataDir = Path.of(str(m, "storage.dataDir", "./data"));
        minFreeBytes = longValue(m, "storage.minFreeBytes", 256L << 20, 0, Long.MAX_VALUE);
        profiling = bool(m, "profiling.enabled", true);
        frequency = integer(m, "profiling.frequency", 99, 1, 1000);
        unwind = str(m, "profiling.unwind", "auto").toLowerCase(java.util.Locale.ROOT);
        if (!java.util.Set.of("fp", "dwarf", "auto").contains(unwind)) {
            throw new IllegalArgumentException("profiling.unwind: fp, dwarf or auto, not \"" + unwind + "\"");
        }
        unwindStackBytes = integer(m, "profiling.unwindStackBytes", 16384, 8192, 65536);
        if (unwindStackBytes % 8 != 0) {
            throw new IllegalArgumentException("profiling.unwindStackBytes: a multiple of 8, not " + unwindStackBytes);
        }
        flushIntervalMs = millis(m, "profiling.flushInterval", 1000);
        Object scan = m.get("discovery.scanInterval");
        scanIntervalMs = scan != null && "never".equalsIgnoreCase(scan.toString().trim()) ? -1
                : millis(m, "discovery.scanInterval", 5000);
        hostIp = str(m, "discovery.hostIp", null);
        hostName = str(m, "discovery.hostName", null);
        minAgeMs = millis(m, "discovery.minAge", 3000);
        expireMs = millis(m, "discovery.expireAfter", 10 * 60 * 1000);
        if (expireMs < 1000) {
            throw new IllegalArgumentException("discovery.expireAfter must be at least 1s, not " + expireMs + " ms");
        }
        rules = rules(m.get("discovery.rules"));
        logLevel = str(m, "log.level", "INFO").toUpperCase(Locale.ROOT);
        String templates = str(m, "ui.templatesDir", null);
        templatesDir = templates == null ? null : Path.of(templates);
        if (!List.of("DEBUG", "INFO", "WARN", "ERROR").contains(logLevel)) {
            throw new IllegalArgumentException("log.level must be DEBUG, INFO, WARN or ERROR, not " + logLevel);
        }
    }

    /** Loads the file (null = the packed default), then applies the environment. */
    public static ServerConfig load(Path file, Map<String, String> env) {
        String text;
        String source;
        if (file != null) {
            try {
                text = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read config " + file + ": " + e.getMessage(), e);
            }
            source = file.toString();
        } else {
            try (InputStream in = ServerConfig.class.getResourceAsStream(DEFAULT_RESOURCE)) {
                text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            source = "built-in " + DEFAULT_RESOURCE.substring(1);
        }
        return parse(text, source, env);
    }

    /** YAML text + environment -> config. */
    public static ServerConfig parse(String yaml, String source, Map<String, String> env) {
        Map<String, Object> flat = new LinkedHashMap<>();
        Object root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        } catch (YAMLException e) {
            throw new IllegalArgumentException(source + ": not valid YAML: " + e.getMessage(), e);
        }
        if (root != null && !(root instanceof Map)) {
            throw new IllegalArgumentException(source + ": the top level must be a mapping");
        }
        if (root != null) {
            flatten("", (Map<?, ?>) root, flat);
        }
        for (String key : flat.keySet()) {
            if (!ENV.containsKey(key)) {
                throw new IllegalArgumentException(source + ": unknown key " + key + " (known: " + ENV.keySet() + ")");
            }
        }
        for (Map.Entry<String, String> e : ENV.entrySet()) {
            String v = env == null ? null : env.get(e.getValue());
            if (v != null && !v.isEmpty()) {
                if (e.getKey().equals("discovery.rules")) {
                    try {
                        flat.put(e.getKey(), new Yaml(new SafeConstructor(new LoaderOptions())).load(v));
                    } catch (YAMLException x) {
                        throw new IllegalArgumentException(e.getValue() + ": not valid YAML: " + x.getMessage(), x);
                    }
                } else {
                    flat.put(e.getKey(), v);
                }
            }
        }
        return new ServerConfig(flat, source);
    }

    /** {@code rest: {host: x}} -> {@code rest.host = x}; lists (the rules) stay values. */
    private static void flatten(String prefix, Map<?, ?> m, Map<String, Object> out) {
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String key = prefix + e.getKey();
            if (e.getValue() instanceof Map<?, ?> && !ENV.containsKey(key)) {
                flatten(key + ".", (Map<?, ?>) e.getValue(), out);
            } else {
                out.put(key, e.getValue());
            }
        }
    }

    public CoreOptions coreOptions() {
        return new CoreOptions(dataDir, frequency, flushIntervalMs, scanIntervalMs,
                profiling ? CoreOptions.Profiling.ON : CoreOptions.Profiling.OFF, rules, hostIp, hostName, expireMs,
                minAgeMs == 0 ? -1 : minAgeMs, agentTimeoutMs, Math.max(1, minFreeBytes)) // the core reads 0 as its default
                .withUnwind(unwind, unwindStackBytes);
    }

    // ---- typed values -------------------------------------------------------------------------------

    private static String str(Map<String, Object> m, String key, String dflt) {
        Object v = m.get(key);
        if (v == null) {
            return dflt;
        }
        String s = v.toString().trim();
        return s.isEmpty() ? dflt : s;
    }

    private static int integer(Map<String, Object> m, String key, int dflt, int min, int max) {
        return (int) longValue(m, key, dflt, min, max);
    }

    private static long longValue(Map<String, Object> m, String key, long dflt, long min, long max) {
        String s = str(m, key, null);
        if (s == null) {
            return dflt;
        }
        long v;
        try {
            v = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, not \"" + s + "\"");
        }
        if (v < min || v > max) {
            throw new IllegalArgumentException(key + " must be in " + min + ".." + max + ", not " + v);
        }
        return v;
    }

    /** A YAML list, or a comma-separated string (the environment's form). */
    private static List<String> strings(Object o) {
        List<String> out = new ArrayList<>();
        if (o instanceof List<?>) {
            for (Object x : (List<?>) o) {
                if (x != null && !x.toString().trim().isEmpty()) {
                    out.add(x.toString().trim());
                }
            }
        } else if (o != null) {
            String s = o.toString().trim();
            if (s.startsWith("[") && s.endsWith("]")) {
                s = s.substring(1, s.length() - 1);
            }
            for (String x : s.split(",")) {
                if (!x.trim().isEmpty()) {
                    out.add(x.trim());
                }
            }
        }
        return List.copyOf(out);
    }

    private static boolean bool(Map<String, Object> m, String key, boolean dflt) {
        String s = str(m, key, null);
        if (s == null) {
            return dflt;
        }
        switch (s.toLowerCase(Locale.ROOT)) {
            case "true":
            case "yes":
            case "on":
            case "1":
                return true;
            case "false":
            case "no":
            case "off":
            case "0":
                return false;
            default:
                throw new IllegalArgumentException(key + " must be true or false, not \"" + s + "\"");
        }
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");

    /** "1s", "500ms", "2m", "1h", or a bare number of milliseconds. */
    static int millis(Map<String, Object> m, String key, int dflt) {
        String s = str(m, key, null);
        if (s == null) {
            return dflt;
        }
        Matcher x = DURATION.matcher(s.toLowerCase(Locale.ROOT));
        if (!x.matches()) {
            throw new IllegalArgumentException(key + " must be a duration such as 1s or 500ms, not \"" + s + "\"");
        }
        long n = Long.parseLong(x.group(1));
        String unit = x.group(2) == null ? "ms" : x.group(2);
        long ms = unit.equals("ms") ? n : unit.equals("s") ? n * 1000 : unit.equals("m") ? n * 60_000
                : n * 3_600_000;
        if (ms > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + " is too long: " + s);
        }
        return (int) ms;
    }

    private static List<DiscoveryRule> rules(Object o) {
        if (o == null) {
            return List.of();
        }
        if (!(o instanceof List<?>)) {
            throw new IllegalArgumentException("discovery.rules must be a list of rules");
        }
        List<?> list = (List<?>) o;
        List<DiscoveryRule> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?>)) {
                throw new IllegalArgumentException("discovery.rules[" + i + "] must be a mapping");
            }
            Map<?, ?> r = (Map<?, ?>) list.get(i);
            for (Object k : r.keySet()) {
                if (!List.of("cmdRegex", "service", "instance", "process", "layer", "labels").contains(k.toString())) {
                    throw new IllegalArgumentException("discovery.rules[" + i + "]: unknown key " + k
                            + " (known: cmdRegex, service, instance, process, layer, labels)");
                }
            }
            String regex = ruleStr(r, "cmdRegex");
            String service = ruleStr(r, "service");
            if (regex == null || service == null) {
                throw new IllegalArgumentException("discovery.rules[" + i + "] needs cmdRegex and service");
            }
            List<String> labels = null;
            Object l = r.get("labels");
            if (l instanceof List<?>) {
                labels = new ArrayList<>();
                for (Object x : (List<?>) l) {
                    if (x != null) {
                        labels.add(x.toString());
                    }
                }
            } else if (l != null) {
                labels = List.of(l.toString());
            }
            out.add(new DiscoveryRule(regex, service, ruleStr(r, "instance"), ruleStr(r, "process"),
                    ruleStr(r, "layer"), labels));
        }
        return out;
    }

    private static String ruleStr(Map<?, ?> r, String key) {
        Object v = r.get(key);
        return v == null ? null : v.toString();
    }

    /**
     * The effective configuration, flat, as OAP's {@code /debugging/config/dump} answers it: every key, with its
     * value as the server uses it (defaults included; durations in ms; the rules as one YAML-ish line each).
     */
    public Map<String, String> dump() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("rest.host", host);
        m.put("rest.port", String.valueOf(port));
        m.put("rest.maxBodyBytes", String.valueOf(maxBodyBytes));
        m.put("rest.workerThreads", String.valueOf(workerThreads));
        m.put("rest.maxQueryDepth", String.valueOf(maxQueryDepth));
        m.put("rest.maxQueryComplexity", String.valueOf(maxQueryComplexity));
        m.put("rest.maxAnalysesPerRequest", String.valueOf(maxAnalysesPerRequest));
        m.put("rest.maxConcurrentAnalyses", String.valueOf(maxConcurrentAnalyses));
        m.put("rest.maxAnswerBytes", String.valueOf(maxAnswerBytes));
        m.put("rest.readTimeout", readTimeoutMs + "ms");
        m.put("rest.allowedOrigins", String.join(",", allowedOrigins));
        m.put("rest.unixSocket", unixSocket == null ? "(none)" : unixSocket.toString());
        m.put("auth.required", String.valueOf(authRequired));
        m.put("auth.token", authToken == null ? "(none)" : "(set)");
        m.put("auth.tokenFile", authTokenFile == null ? "(none)" : authTokenFile.toString());
        m.put("grpc.enabled", String.valueOf(grpcEnabled));
        m.put("grpc.host", grpcHost);
        m.put("grpc.port", String.valueOf(grpcPort));
        m.put("grpc.maxMessageBytes", String.valueOf(grpcMaxMessageBytes));
        m.put("agents.keepAliveTimeout", agentTimeoutMs + "ms");
        m.put("storage.dataDir", dataDir.toAbsolutePath().normalize().toString());
        m.put("storage.minFreeBytes", String.valueOf(minFreeBytes));
        m.put("profiling.enabled", String.valueOf(profiling));
        m.put("profiling.frequency", String.valueOf(frequency));
        m.put("profiling.unwind", unwind);
        m.put("profiling.unwindStackBytes", String.valueOf(unwindStackBytes));
        m.put("profiling.flushInterval", flushIntervalMs + "ms");
        m.put("discovery.scanInterval", scanIntervalMs < 0 ? "never" : scanIntervalMs + "ms");
        m.put("discovery.hostIp", hostIp == null ? "(detected)" : hostIp);
        m.put("discovery.hostName", hostName == null ? "(the host name)" : hostName);
        m.put("discovery.minAge", minAgeMs + "ms");
        m.put("discovery.expireAfter", expireMs + "ms");
        for (int i = 0; i < rules.size(); i++) {
            m.put("discovery.rules." + i, rules.get(i).toString());
        }
        m.put("log.level", logLevel);
        m.put("ui.templatesDir", templatesDir == null ? "(built in)" : templatesDir.toString());
        return m;
    }

    @Override
    public String toString() {
        return "rest " + host + ":" + port + (grpcEnabled ? ", grpc " + grpcHost + ":" + grpcPort : ", no grpc")
                + ", dataDir " + dataDir + ", profiling " + (profiling ? "on" : "off")
                + " at " + frequency + " Hz, flush every " + flushIntervalMs + " ms, " + rules.size()
                + " discovery rule(s) (" + source + ")";
    }
}
