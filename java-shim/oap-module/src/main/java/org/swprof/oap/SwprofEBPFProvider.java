package org.swprof.oap;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.apache.skywalking.oap.server.core.CoreModule;
import org.apache.skywalking.oap.server.core.profiling.ebpf.EBPFProfilingMutationService;
import org.apache.skywalking.oap.server.core.profiling.ebpf.EBPFProfilingQueryService;
import org.apache.skywalking.oap.server.core.server.GRPCHandlerRegister;
import org.apache.skywalking.oap.server.library.module.ModuleDefine;
import org.apache.skywalking.oap.server.library.module.ModuleProvider;
import org.apache.skywalking.oap.server.library.module.ModuleServiceHolder;
import org.apache.skywalking.oap.server.library.module.ModuleStartException;
import org.apache.skywalking.oap.server.library.module.ServiceNotProvidedException;
import org.apache.skywalking.oap.server.receiver.ebpf.module.EBPFReceiverModule;
import org.apache.skywalking.oap.server.receiver.ebpf.provider.handler.EBPFProcessServiceHandler;
import org.apache.skywalking.oap.server.receiver.ebpf.provider.handler.EBPFProfilingServiceHandler;
import org.apache.skywalking.oap.server.receiver.sharing.server.SharingServerModule;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.swprof.shim.CoreOptions;
import org.swprof.shim.SwprofCore;
import org.swprof.shim.grpc.AgentServices;
import org.swprof.shim.server.ServerConfig;

/**
 * Opens the swprof core in {@code start()} and puts it where OAP's eBPF profiling lives:
 * <ul>
 * <li>the query plugin's two core services (tasks, schedules, analyses, task creation) are replaced by subclasses
 * that answer from swprof and from the stock services for what is in OAP's storage (the stock query plugin looks
 * them up lazily, on its first request);</li>
 * <li>the agents' gRPC services (EBPFProcessService, EBPFProfilingService) on the receivers' shared server are
 * replaced by swprof's ({@link AgentServices}), with OAP's own handlers beside them ({@link OapPeer}): Rover and
 * {@code swprof agent} get their tasks, their samples land in swprof's store, their processes stay OAP
 * metadata;</li>
 * <li>the processes swprof finds on this host are reported into OAP's metadata ({@link MetadataReporter}).</li>
 * </ul>
 * It starts after core, receiver-sharing-server and receiver-ebpf (whose handlers it replaces: a second service of
 * the same name on a grpc-java server replaces the first).
 */
public class SwprofEBPFProvider extends ModuleProvider {
    private static final Logger LOG = LoggerFactory.getLogger(SwprofEBPFProvider.class);

    private SwprofEBPFConfig config;
    private SwprofCore core;
    private MetadataReporter reporter;

    @Override
    public String name() {
        return "default";
    }

    @Override
    public Class<? extends ModuleDefine> module() {
        return SwprofEBPFModule.class;
    }

    @Override
    public ConfigCreator<SwprofEBPFConfig> newConfigCreator() {
        return new ConfigCreator<SwprofEBPFConfig>() {
            @Override
            public Class<SwprofEBPFConfig> type() {
                return SwprofEBPFConfig.class;
            }

            @Override
            public void onInitialized(SwprofEBPFConfig initialized) {
                config = initialized;
            }
        };
    }

    @Override
    public void prepare() {
        // cross-module lookups are not allowed here; everything happens in start()
    }

    @Override
    public void start() throws ServiceNotProvidedException, ModuleStartException {
        SwprofEBPFConfig c = config == null ? new SwprofEBPFConfig() : config;
        SwprofCore.setLogSink(SwprofEBPFProvider::log);
        SwprofCore.setNativeLogLevel(CORE_LOG.isDebugEnabled() ? SwprofCore.LOG_DEBUG : SwprofCore.LOG_INFO);
        Path home = oapHome();
        Path dataDir = home.resolve(c.dataDir == null || c.dataDir.trim().isEmpty() ? "data/swprof" : c.dataDir)
                .toAbsolutePath().normalize();
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new ModuleStartException("swprof: cannot create the data directory " + dataDir + ": " + e, e);
        }
        ServerConfig file;
        try {
            file = ServerConfig.load(c.configFile == null || c.configFile.trim().isEmpty() ? null
                    : home.resolve(c.configFile), System.getenv());
        } catch (RuntimeException e) {
            throw new ModuleStartException("swprof: bad configuration " + c.configFile + ": " + e.getMessage(), e);
        }
        CoreOptions options = new CoreOptions(dataDir, file.frequency, file.flushIntervalMs, file.scanIntervalMs,
                c.profiling ? CoreOptions.Profiling.ON : CoreOptions.Profiling.OFF, file.rules, file.hostIp,
                file.hostName, file.expireMs, file.minAgeMs, file.agentTimeoutMs)
                .withUnwind(file.unwind, file.unwindStackBytes);
        try {
            core = SwprofCore.open(options);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            throw new ModuleStartException("swprof: cannot open the core in " + dataDir + ": " + e.getMessage(), e);
        }

        // the query plugin's services
        ModuleServiceHolder coreProvider = getManager().find(CoreModule.NAME).provider();
        EBPFProfilingQueryService stockQuery = coreProvider.getService(EBPFProfilingQueryService.class);
        EBPFProfilingMutationService stockMutation = coreProvider.getService(EBPFProfilingMutationService.class);
        coreProvider.registerServiceImplementation(EBPFProfilingQueryService.class,
                new SwprofEBPFQueryService(getManager(), stockQuery, core));
        coreProvider.registerServiceImplementation(EBPFProfilingMutationService.class,
                new SwprofEBPFMutationService(getManager(), stockMutation, core));

        // the agents' services, with OAP's own receiver beside them
        OapPeer oap = new OapPeer(new EBPFProcessServiceHandler(getManager()),
                new EBPFProfilingServiceHandler(getManager()));
        AgentServices agents = new AgentServices(core, oap);
        GRPCHandlerRegister grpc = getManager().find(SharingServerModule.NAME).provider()
                .getService(GRPCHandlerRegister.class);
        grpc.addHandler(agents.processService());
        grpc.addHandler(agents.profilingService());
        if (System.getenv("SW_EBPF_GRPC_PORT") != null && !"0".equals(System.getenv("SW_EBPF_GRPC_PORT").trim())) {
            LOG.warn("swprof: SW_EBPF_GRPC_PORT is set: receiver-ebpf serves agents on a port of its own, where swprof "
                    + "cannot take them; agents must use the shared gRPC port (core's 11800) for their tasks to reach "
                    + "swprof");
        }

        reporter = new MetadataReporter(core, oap, "swprof-oap@" + hostName(file.hostName));
        reporter.start();
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "swprof-close"));
        LOG.info("swprof: eBPF profiling served by swprof: store {}, profiling {} ({} discovery rule(s)); agents on the"
                        + " receivers' shared gRPC server; OAP's own eBPF tasks and data stay reachable", dataDir,
                c.profiling ? "on (this host's processes; OAP needs root or CAP_BPF+CAP_PERFMON)"
                        : "off (agents' processes only)", options.rules().size());
    }

    private void stop() {
        if (reporter != null) {
            reporter.close();
        }
        if (core != null) {
            core.close();
        }
    }

    @Override
    public void notifyAfterCompleted() {
    }

    @Override
    public String[] requiredModules() {
        return new String[] {CoreModule.NAME, SharingServerModule.NAME, EBPFReceiverModule.NAME};
    }

    /**
     * The OAP's home: the parent of the directory application.yml is read from (config/, first on OAP's class path),
     * else the parent of the directory this jar is in (oap-libs/), else the working directory.
     */
    static Path oapHome() {
        URL yml = SwprofEBPFProvider.class.getClassLoader().getResource("application.yml");
        try {
            if (yml != null && "file".equals(yml.getProtocol())) {
                Path p = Paths.get(yml.toURI()).getParent();
                if (p != null && p.getParent() != null) {
                    return p.getParent();
                }
            }
            URL jar = SwprofEBPFProvider.class.getProtectionDomain().getCodeSource().getLocation();
            if (jar != null && "file".equals(jar.getProtocol())) {
                Path p = Paths.get(jar.toURI()).getParent();
                if (p != null && p.getParent() != null) {
                    return p.getParent();
                }
            }
        } catch (URISyntaxException | RuntimeException e) {
            LOG.debug("swprof: the OAP home is not where application.yml is: {}", e.toString());
        }
        return Paths.get("").toAbsolutePath();
    }

    private static String hostName(String configured) {
        if (configured != null && !configured.trim().isEmpty()) {
            return configured;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    /** The core's log lines into OAP's logging (log4j2 through slf4j), with OAP's levels. */
    private static final Logger CORE_LOG = LoggerFactory.getLogger("org.swprof.core");

    static void log(int level, String message) {
        switch (level) {
            case SwprofCore.LOG_DEBUG:
                CORE_LOG.debug(message);
                break;
            case SwprofCore.LOG_INFO:
                CORE_LOG.info(message);
                break;
            case SwprofCore.LOG_WARN:
                CORE_LOG.warn(message);
                break;
            default:
                CORE_LOG.error(message);
        }
    }
}
