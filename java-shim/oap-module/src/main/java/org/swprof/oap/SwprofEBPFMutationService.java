package org.swprof.oap;

import java.io.IOException;

import org.apache.skywalking.oap.server.core.profiling.ebpf.EBPFProfilingMutationService;
import org.apache.skywalking.oap.server.core.query.input.EBPFProfilingNetworkTaskRequest;
import org.apache.skywalking.oap.server.core.query.input.EBPFProfilingTaskFixedTimeCreationRequest;
import org.apache.skywalking.oap.server.core.query.type.EBPFNetworkKeepProfilingResult;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingTaskCreationResult;
import org.apache.skywalking.oap.server.core.storage.profiling.ebpf.IServiceLabelDAO;
import org.apache.skywalking.oap.server.library.module.ModuleManager;
import org.swprof.shim.Requests;
import org.swprof.shim.SwprofCore;

/**
 * OAP 9.5 - 10.x signatures of the core's eBPF mutation service: fixed time tasks go to swprof, network
 * profiling (which swprof does not do) to the stock service.
 */
public class SwprofEBPFMutationService extends EBPFProfilingMutationService {
    private final EBPFProfilingMutationService stock;
    private final SwprofCore core;

    public SwprofEBPFMutationService(ModuleManager manager, EBPFProfilingMutationService stock, SwprofCore core) {
        super(manager);
        this.stock = stock;
        this.core = core;
    }

    @Override
    public EBPFProfilingTaskCreationResult createTask(EBPFProfilingTaskFixedTimeCreationRequest request)
            throws IOException {
        Requests.TaskCreate tc = new Requests.TaskCreate(false, null, null, request.getServiceId(),
                request.getProcessLabels(), request.getStartTime(), request.getDuration(),
                request.getTargetType() == null ? null : request.getTargetType().name(), 0);
        return SwprofEBPFQueryService.call(() -> Dto.one(core.createTask(tc), EBPFProfilingTaskCreationResult.class));
    }

    @Override
    public IServiceLabelDAO getServiceLabelDAO() {
        return stock.getServiceLabelDAO();
    }

    @Override
    public EBPFProfilingTaskCreationResult createTask(EBPFProfilingNetworkTaskRequest request) throws IOException {
        return stock.createTask(request);
    }

    @Override
    public EBPFNetworkKeepProfilingResult keepEBPFNetworkProfiling(String taskId) throws IOException {
        return stock.keepEBPFNetworkProfiling(taskId);
    }
}
