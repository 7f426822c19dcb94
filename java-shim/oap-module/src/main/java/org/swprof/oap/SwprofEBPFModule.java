package org.swprof.oap;

import org.apache.skywalking.oap.server.library.module.ModuleDefine;

/**
 * The {@code swprof-ebpf} OAP module: it provides no service of its own; its provider replaces the core's two
 * eBPF profiling services with ones backed by the swprof native core.
 */
public class SwprofEBPFModule extends ModuleDefine {
    public static final String NAME = "swprof-ebpf";

    public SwprofEBPFModule() {
        super(NAME);
    }

    @Override
    public Class<?>[] services() {
        return new Class<?>[0];
    }
}
