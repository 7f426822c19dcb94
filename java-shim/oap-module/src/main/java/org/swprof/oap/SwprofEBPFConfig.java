package org.swprof.oap;

import org.apache.skywalking.oap.server.library.module.ModuleConfig;

/**
 * The {@code default} section of {@code swprof-ebpf} in the OAP's application.yml. OAP sets these fields by name.
 */
public class SwprofEBPFConfig extends ModuleConfig {
    /** The swprof store (RocksDB); a relative path is relative to the OAP's home (where config/ and oap-libs/ are). */
    String dataDir = "data/swprof";
    /** Optional swprof.yml (relative to the OAP's home): its profiling and discovery sections (the rules) are used;
     * "" = the built-in one. */
    String configFile = "";
    /** Profile this host's processes (OAP then needs root, or CAP_BPF + CAP_PERFMON); false: agents' only. */
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
