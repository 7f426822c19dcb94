package org.swprof.shim.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.swprof.shim.CoreOptions;
import org.swprof.shim.NativeLibrary;
import org.swprof.shim.SwprofCore;
import org.swprof.shim.Version;
import org.swprof.shim.graphql.SwprofGraphQL;
import org.swprof.shim.grpc.AgentServer;
import org.swprof.shim.graphql.UiTemplates;

/**
 * {@code java -jar swprof-server.jar [--config swprof.yml]}: opens the native core (store, process discovery,
 * profiler) and serves SkyWalking's eBPF profiling GraphQL API on {@code POST /graphql}.
 * SIGTERM or SIGINT stops serving, stops profiling with a last flush, closes the store and exits 0.
 */
public final class Main {
    private static final Logger LOG = Logger.getLogger(Main.class.getName());

    private final SwprofCore core;
    private final HttpServer http;
    private final AgentServer grpc; // null when grpc.enabled is false
    private final UnixSocketFront unix; // null without rest.unixSocket
    private final CountDownLatch stopped = new CountDownLatch(1);
    private boolean down;

    private Main(SwprofCore core, HttpServer http, AgentServer grpc, UnixSocketFront unix) {
        this.core = core;
        this.http = http;
        this.grpc = grpc;
        this.unix = unix;
    }

    public static void main(String[] args) {
        Path config = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config", "-c" -> {
                    if (i + 1 >= args.length) {
                        die(2, "--config needs a file");
                    }
                    config = Path.of(args[++i]);
                }
                case "--version" -> {
                    System.out.println(Version.TEXT);
                    return;
                }
                case "--help", "-h" -> {
                    System.out.println(usage());
                    return;
                }
                default -> die(2, "unknown argument " + args[i] + "\n" + usage());
            }
        }
        ServerConfig cfg;
        try {
            cfg = ServerConfig.load(config, System.getenv());
        } catch (IllegalArgumentException e) {
            die(2, "swprof: bad configuration: " + e.getMessage());
            return;
        }
        Logging.configure(cfg.logLevel);
        Main m;
        try {
            m = start(cfg);
        } catch (Throwable e) {
            String why = String.valueOf(e.getMessage());
            boolean perm = why.contains("BPF") || why.contains("ermission") || why.contains("EPERM");
            LOG.log(Level.SEVERE, "swprof could not start: " + why
                    + (cfg.profiling && perm ? " (profiling needs root or CAP_BPF+CAP_PERFMON; "
                    + "SWPROF_PROFILING=false serves stored data only)" : ""), e);
            System.exit(1);
            return;
        }
        m.installSignals();
        m.await();
    }

    /** Opens the core and starts serving; what main does, without signals (tests use it too). */
    public static Main start(ServerConfig cfg) {
        return start(cfg, cfg.coreOptions());
    }

    /**
     * The same with the core's options given (tests: a server whose tasks are filled by imports, which a
     * configuration does not offer).
     */
    public static Main start(ServerConfig cfg, CoreOptions options) {
        SwprofCore.setNativeLogLevel(switch (cfg.logLevel) {
            case "DEBUG" -> SwprofCore.LOG_DEBUG;
            case "WARN" -> SwprofCore.LOG_WARN;
            case "ERROR" -> SwprofCore.LOG_ERROR;
            default -> SwprofCore.LOG_INFO;
        });
        LOG.info(() -> Version.TEXT + " starting: " + cfg + "; native library from " + NativeLibrary.loadedFrom());
        SwprofCore core = SwprofCore.open(options);
        try {
            UiTemplates templates = UiTemplates.load(cfg.templatesDir);
            LOG.info(() -> "UI dashboards: " + templates);
            SwprofGraphQL gql = new SwprofGraphQL(core,
                    new SwprofGraphQL.Limits(cfg.maxQueryDepth, cfg.maxQueryComplexity, cfg.maxAnalysesPerRequest,
                            cfg.maxAnswerBytes),
                    new SwprofGraphQL.Ui(templates, UiTemplates.ruleLayers(cfg.rules)));
            String token = Access.resolveToken(cfg);
            AgentServer grpc = cfg.grpcEnabled ? AgentServer.start(cfg.grpcHost, cfg.grpcPort,
                    cfg.grpcMaxMessageBytes, core, Access.tokenFor(cfg, cfg.grpcHost, token)) : null;
            HttpServer http;
            UnixSocketFront unix = null;
            String relaySecret = cfg.unixSocket == null ? null : UnixSocketFront.newSecret();
            try {
                // OAP lists its cluster's nodes by their gRPC address
                HttpServer.Status status = new HttpServer.Status(List.of(HttpServer.Status.node(
                        grpc != null ? cfg.grpcHost : cfg.host, grpc != null ? grpc.port() : cfg.port)), cfg.dump());
                http = HttpServer.start(new HttpServer.Options(cfg.host, cfg.port, cfg.workerThreads,
                        cfg.maxBodyBytes, cfg.readTimeoutMs, cfg.maxConcurrentAnalyses,
                        new Access(Access.tokenFor(cfg, cfg.host, token), Access.isLoopback(cfg.host),
                                cfg.allowedOrigins), relaySecret), gql, core, status);
                if (cfg.unixSocket != null) {
                    InetSocketAddress a = http.address();
                    InetSocketAddress to = a.getAddress().isAnyLocalAddress()
                            ? new InetSocketAddress(InetAddress.getLoopbackAddress(), a.getPort()) : a;
                    try {
                        unix = UnixSocketFront.start(cfg.unixSocket, to, cfg.readTimeoutMs, relaySecret);
                    } catch (IOException e) {
                        http.close();
                        throw new IllegalStateException("rest.unixSocket " + cfg.unixSocket + ": " + e.getMessage(),
                                e);
                    }
                    LOG.info("serving the same API on the Unix socket " + cfg.unixSocket + " (mode 0666): each peer "
                            + "sees and profiles the processes its uid could ptrace, and its own tasks");
                }
            } catch (RuntimeException e) {
                if (grpc != null) {
                    grpc.close();
                }
                throw e;
            }
            LOG.info(() -> "serving GraphQL on http://" + http.address().getHostString() + ":" + http.port()
                    + "/graphql (health: /healthz)" + (grpc == null ? "" : "; agents (SkyWalking's eBPF agent "
                    + "protocol) on gRPC " + cfg.grpcHost + ":" + grpc.port()));
            return new Main(core, http, grpc, unix);
        } catch (RuntimeException e) {
            core.close();
            throw e;
        }
    }

    public int port() {
        return http.port();
    }

    /** The agents' gRPC port, -1 when grpc.enabled is false. */
    public int grpcPort() {
        return grpc == null ? -1 : grpc.port();
    }

    public SwprofCore core() {
        return core;
    }

    /** Stops serving, then closes the core (last flush, store closed). Idempotent. */
    public synchronized void shutdown() {
        if (down) {
            return;
        }
        down = true;
        if (unix != null) {
            unix.close();
        }
        LOG.info("stopping: HTTP server");
        try {
            http.close();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "stopping the HTTP server", e);
        }
        if (grpc != null) {
            LOG.info("stopping: the agents' gRPC server");
            grpc.close();
        }
        LOG.info("stopping: profiling, last flush, store");
        core.close();
        LOG.info("stopped");
        stopped.countDown();
    }

    private void await() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void installSignals() {
        // SIGTERM/SIGINT: an orderly stop and exit status 0 (the JVM's default for SIGTERM is 143)
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                    Thread t = new Thread(() -> {
                        LOG.info("SIG" + name + " received");
                        shutdown();
                        System.exit(0);
                    }, "swprof-shutdown");
                    t.start();
                });
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                LOG.warning("cannot handle SIG" + name + ": " + e.getMessage());
            }
        }
        // any other way out (System.exit elsewhere, SIGHUP): still flush and close the store
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdown, "swprof-shutdown-hook"));
    }

    private static String usage() {
        return "usage: java -jar swprof-server.jar [--config FILE]\n"
                + "  serves SkyWalking's eBPF profiling GraphQL API (POST /graphql, GET /healthz).\n"
                + "  Without --config the built-in config/swprof.yml is used. Environment variables override keys:\n"
                + "  " + String.join(", ", ServerConfig.ENV.values());
    }

    private static void die(int status, String message) {
        System.err.println(message);
        System.exit(status);
    }
}
