package org.swprof.oap;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.apache.skywalking.oap.server.core.profiling.ebpf.EBPFProfilingQueryService;
import org.apache.skywalking.oap.server.core.profiling.ebpf.storage.EBPFProfilingTargetType;
import org.apache.skywalking.oap.server.core.profiling.ebpf.storage.EBPFProfilingTriggerType;
import org.apache.skywalking.oap.server.core.query.input.Duration;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingAnalyzation;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingAnalyzeAggregateType;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingAnalyzeTimeRange;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingSchedule;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingTask;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingTaskPrepare;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingTree;
import org.apache.skywalking.oap.server.core.storage.profiling.ebpf.IServiceLabelDAO;
import org.apache.skywalking.oap.server.core.storage.query.IMetadataQueryDAO;
import org.apache.skywalking.oap.server.library.module.ModuleManager;
import org.swprof.shim.Requests;
import org.swprof.shim.SwprofCore;
import org.swprof.shim.SwprofException;
import org.swprof.shim.graphql.Durations;

/**
 * OAP 9.5 - 10.x signatures of the core's eBPF query service. swprof's tasks and schedules are answered by swprof,
 * and what is in OAP's storage (tasks made before the module was installed, or by continuous profiling) by the stock
 * service: task lists hold both, a schedule or an analysis goes where its ids belong ({@link Ids}). The super
 * class's state (storage DAOs) is never touched: every public method is overridden. Core errors become IOExceptions,
 * which the query plugin reports as GraphQL errors with their message.
 */
public class SwprofEBPFQueryService extends EBPFProfilingQueryService {
    private final EBPFProfilingQueryService stock;
    private final SwprofCore core;

    public SwprofEBPFQueryService(ModuleManager manager, EBPFProfilingQueryService stock, SwprofCore core) {
        super(manager, null, null);
        this.stock = stock;
        this.core = core;
    }

    /** The stock service, for what swprof does not answer. */
    public EBPFProfilingQueryService stock() {
        return stock;
    }

    @Override
    public IMetadataQueryDAO getMetadataQueryDAO() {
        return stock.getMetadataQueryDAO();
    }

    @Override
    public IServiceLabelDAO getServiceLabelDAO() {
        return stock.getServiceLabelDAO();
    }

    @Override
    public EBPFProfilingTaskPrepare queryPrepareCreateEBPFProfilingTaskData(String serviceId) throws IOException {
        return call(() -> Dto.one(core.prepareTask(serviceId), EBPFProfilingTaskPrepare.class));
    }

    @Override
    public List<EBPFProfilingTask> queryEBPFProfilingTasks(String serviceId, String serviceInstanceId,
                                                           List<EBPFProfilingTargetType> targets,
                                                           EBPFProfilingTriggerType triggerType, Duration duration)
            throws IOException {
        long start = 0;
        long end = 0;
        boolean empty = false;
        if (duration != null && duration.getStart() != null && duration.getEnd() != null) {
            Durations.Range r = Durations.toRange(duration.getStart(), duration.getEnd(),
                    Durations.Step.valueOf(duration.getStep().name()), java.time.ZoneId.systemDefault());
            empty = r.isEmpty();
            start = r.startMs();
            end = r.endMs();
        }
        List<EBPFProfilingTask> all = new ArrayList<>();
        if (!empty) {
            List<String> t = null;
            if (targets != null) {
                t = new ArrayList<>();
                for (EBPFProfilingTargetType x : targets) {
                    t.add(x.name());
                }
            }
            Requests.TaskQuery q = new Requests.TaskQuery(serviceId, serviceInstanceId, null, null, t,
                    triggerType == null ? null : triggerType.name(), start, end);
            all.addAll(call(() -> Dto.list(core.tasks(q), EBPFProfilingTask.class)));
        }
        all.addAll(stock.queryEBPFProfilingTasks(serviceId, serviceInstanceId, targets, triggerType, duration));
        all.sort(Comparator.comparingLong(EBPFProfilingTask::getCreateTime).reversed());
        return all;
    }

    @Override
    public List<EBPFProfilingSchedule> queryEBPFProfilingSchedules(String taskId) throws Exception {
        if (!Ids.isSwprof(taskId)) {
            return stock.queryEBPFProfilingSchedules(taskId);
        }
        return call(() -> Dto.list(core.schedules(taskId, 0, 0), EBPFProfilingSchedule.class));
    }

    @Override
    public EBPFProfilingAnalyzation getEBPFProfilingAnalyzation(List<String> scheduleIdList,
                                                                List<EBPFProfilingAnalyzeTimeRange> timeRanges,
                                                                EBPFProfilingAnalyzeAggregateType aggregateType)
            throws IOException {
        List<String> ours = new ArrayList<>();
        List<String> theirs = new ArrayList<>();
        if (scheduleIdList != null) {
            for (String id : scheduleIdList) {
                if (id != null) {
                    (Ids.isSwprof(id) ? ours : theirs).add(id);
                }
            }
        }
        if (!theirs.isEmpty() && ours.isEmpty()) {
            return stock.getEBPFProfilingAnalyzation(theirs, timeRanges, aggregateType);
        }
        List<Requests.TimeRange> ranges = new ArrayList<>();
        if (timeRanges != null) {
            for (EBPFProfilingAnalyzeTimeRange r : timeRanges) {
                if (r != null) {
                    ranges.add(new Requests.TimeRange(r.getStart(), r.getEnd()));
                }
            }
        }
        Requests.Aggregate agg = aggregateType == EBPFProfilingAnalyzeAggregateType.DURATION
                ? Requests.Aggregate.DURATION : Requests.Aggregate.COUNT;
        EBPFProfilingAnalyzation a = call(() -> Dto.one(core.analyze(Requests.Analyze.ofSchedules(ours, ranges, agg)),
                EBPFProfilingAnalyzation.class));
        if (!theirs.isEmpty()) { // schedules of both: the trees of each, side by side
            EBPFProfilingAnalyzation b = stock.getEBPFProfilingAnalyzation(theirs, timeRanges, aggregateType);
            List<EBPFProfilingTree> trees = new ArrayList<>(a.getTrees() == null ? List.of() : a.getTrees());
            if (b.getTrees() != null) {
                trees.addAll(b.getTrees());
            }
            a.setTrees(trees);
            if (a.getTip() == null) {
                a.setTip(b.getTip());
            }
        }
        return a;
    }

    interface Call<T> {
        T run();
    }

    static <T> T call(Call<T> c) throws IOException {
        try {
            return c.run();
        } catch (SwprofException | IllegalArgumentException | IllegalStateException e) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
