package org.swprof.oap;

import org.apache.skywalking.oap.server.library.module.ModuleConfig;

/**
 * The {@code default} section of {@code swprof-ebpf} in the OAP's application.yml. OAP sets these fields by name.
 */
public class SwprofEBPFConfig extends ModuleConfig {
    /** The swprof store (RocksDB), relative to the OAP's working directory. */
    String dataDir = "data/swprof";
    /** Optional swprof.yml: its profiling and discovery sections (rules!) are used; "" = the built-in one. */
    String configFile = "";
    /** Run the profiler on this host (needs root or CAP_BPF + CAP_PERFMON). */
    boolean profiling = true;

    public String getDataDir() {
        return dataDir;
    }

    public String getConfigFile() {
        return configFile;
    }

    public boolean isProfiling() {
        return profiling;
    }
}
