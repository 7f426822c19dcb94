package org.swprof.oap;

import java.nio.file.Path;
import java.util.logging.Logger;

import org.apache.skywalking.oap.server.core.CoreModule;
import org.apache.skywalking.oap.server.core.profiling.ebpf.EBPFProfilingMutationService;
import org.apache.skywalking.oap.server.core.profiling.ebpf.EBPFProfilingQueryService;
import org.apache.skywalking.oap.server.library.module.ModuleDefine;
import org.apache.skywalking.oap.server.library.module.ModuleProvider;
import org.apache.skywalking.oap.server.library.module.ModuleServiceHolder;
import org.apache.skywalking.oap.server.library.module.ModuleStartException;
import org.apache.skywalking.oap.server.library.module.ServiceNotProvidedException;
import org.swprof.shim.CoreOptions;
import org.swprof.shim.SwprofCore;
import org.swprof.shim.server.ServerConfig;

/**
 * Opens the swprof core in {@code start()} (after the core module's start) and puts two subclasses of the core's
 * eBPF services in place of the stock ones; the stock query plugin looks them up lazily, on its first request,
 * and so calls swprof. The stock instances stay as delegates for what swprof does not do (network profiling).
 */
public class SwprofEBPFProvider extends ModuleProvider {
    private static final Logger LOG = Logger.getLogger(SwprofEBPFProvider.class.getName());

    private SwprofEBPFConfig config;
    private SwprofCore core;

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
        return new ConfigCreator<>() {
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
        ServerConfig file = ServerConfig.load(c.configFile == null || c.configFile.isBlank() ? null
                : Path.of(c.configFile), System.getenv());
        CoreOptions options = new CoreOptions(Path.of(c.dataDir), file.frequency, file.flushIntervalMs,
                file.scanIntervalMs, c.profiling ? CoreOptions.Profiling.ON : CoreOptions.Profiling.OFF, file.rules,
                file.hostIp, file.hostName, file.expireMs, file.minAgeMs, file.agentTimeoutMs);
        try {
            core = SwprofCore.open(options);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            throw new ModuleStartException("swprof: cannot open the core in " + c.dataDir + ": " + e.getMessage(), e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(core::close, "swprof-close"));

        ModuleServiceHolder coreProvider = getManager().find(CoreModule.NAME).provider();
        EBPFProfilingQueryService stockQuery = coreProvider.getService(EBPFProfilingQueryService.class);
        EBPFProfilingMutationService stockMutation = coreProvider.getService(EBPFProfilingMutationService.class);
        coreProvider.registerServiceImplementation(EBPFProfilingQueryService.class,
                new SwprofEBPFQueryService(getManager(), stockQuery, core));
        coreProvider.registerServiceImplementation(EBPFProfilingMutationService.class,
                new SwprofEBPFMutationService(getManager(), stockMutation, core));
        LOG.info("swprof: eBPF profiling queries now served by swprof (store " + c.dataDir + ", profiling "
                + (c.profiling ? "on" : "off") + ", " + options.rules().size() + " discovery rule(s))");
    }

    @Override
    public void notifyAfterCompleted() {
    }

    @Override
    public String[] requiredModules() {
        return new String[] {CoreModule.NAME};
    }
}
