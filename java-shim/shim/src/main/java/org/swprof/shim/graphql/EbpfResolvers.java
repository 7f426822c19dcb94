package org.swprof.shim.graphql;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import graphql.schema.DataFetchingEnvironment;
import org.swprof.shim.Requests.Aggregate;
import org.swprof.shim.Requests.Analyze;
import org.swprof.shim.Requests.TaskCreate;
import org.swprof.shim.Requests.TaskQuery;
import org.swprof.shim.Requests.TimeRange;
import org.swprof.shim.SwprofCore;

/**
 * The eBPF profiling fields, both protocol generations. Each resolver maps its arguments onto one request of
 * the native core and returns the core's JSON as Map/List; validation and its texts are the core's.
 */
final class EbpfResolvers {
    private final SwprofCore core;
    private final long maxAnswerBytes;

    EbpfResolvers(SwprofCore core, long maxAnswerBytes) {
        this.core = core;
        this.maxAnswerBytes = maxAnswerBytes;
    }

    /** An analysis answer, refused when it is larger than the limit (one answer must not fill the heap). */
    private SwprofCore.AnalysisResult bounded(SwprofCore.AnalysisResult r) {
        if (r.json().length > maxAnswerBytes) {
            throw new IllegalArgumentException("the analysis answer would be " + (r.json().length >> 20) + " MiB ("
                    + r.elements() + " elements), more than rest.maxAnswerBytes (" + (maxAnswerBytes >> 20) + " MiB):"
                    + " analyse fewer schedules or a shorter time range");
        }
        return r;
    }

    /**
     * createEBPFProfilingFixedTimeTask(request): seed {processFinder, startTime, duration, targetType} or current
     * {serviceId, processLabels, startTime, duration, targetType}.
     */
    Object createTask(DataFetchingEnvironment env) {
        Map<String, Object> req = Args.map(env.getArgument("request"));
        Map<String, Object> finder = Args.map(req.get("processFinder"));
        Object finderType = finder == null ? null : finder.get("finderType");
        Object processId = finder == null ? null : finder.get("processId");
        TaskCreate tc = new TaskCreate(
                finder != null,
                finderType == null ? null : finderType.toString(),
                processId == null ? null : processId.toString(),
                // "" stays "": a current-shaped request with an empty service ("service could not be empty")
                req.get("serviceId") == null ? null : req.get("serviceId").toString(),
                Args.strings(req.get("processLabels"), false),
                Args.num(req.get("startTime"), 0),
                Args.num(req.get("duration"), 0),
                req.get("targetType") == null ? null : req.get("targetType").toString(),
                0);
        return Json.parse(core.createTask(tc));
    }

    /**
     * queryEBPFProfilingTasks: seed {@code query: {finderType, serviceId, instanceId, processId}} (with "" for
     * absent ids) and/or current {@code serviceId, serviceInstanceId, targets, triggerType, duration}.
     */
    Object tasks(DataFetchingEnvironment env) {
        Map<String, Object> cond = Args.map(env.getArgument("query"));
        String serviceId = firstNonEmpty(Args.str(cond, "serviceId"), Args.str(env.getArgument("serviceId")));
        String instanceId = firstNonEmpty(Args.str(cond, "instanceId"),
                Args.str(env.getArgument("serviceInstanceId")));
        String processId = Args.str(cond, "processId");
        String finderType = Args.str(cond, "finderType");
        List<String> targets = Args.strings(env.getArgument("targets"), false);
        String triggerType = Args.str(env.getArgument("triggerType"));
        long[] bounds = durationBounds(env);
        if (bounds == null) {
            return List.of();
        }
        TaskQuery q = new TaskQuery(serviceId, instanceId, processId, finderType, targets, triggerType, bounds[0],
                bounds[1]);
        return Json.parseList(core.tasks(q));
    }

    /** The ms bounds of the optional `duration` argument: {0, 0} (no filter) when absent, null when it is empty. */
    private static long[] durationBounds(DataFetchingEnvironment env) {
        Map<String, Object> duration = Args.map(env.getArgument("duration"));
        if (duration == null) {
            return new long[] {0, 0};
        }
        Durations.Range r = Durations.toRange(duration);
        return r.isEmpty() ? null : new long[] {r.startMs(), r.endMs()};
    }

    /** queryEBPFProfilingSchedules(taskId, duration?): with a duration only those that started in it. */
    Object schedules(DataFetchingEnvironment env) {
        String taskId = env.getArgument("taskId");
        long[] bounds = durationBounds(env);
        if (bounds == null) {
            return List.of();
        }
        return Json.parseList(core.schedules(taskId, bounds[0], bounds[1]));
    }

    /**
     * getEBPFProfilingAnalyzation(taskId, timeRanges): seed, every schedule of the task. The answer goes
     * through {@link AnalysisPassThrough} (written to the response as the core wrote it, when it can be).
     */
    Object analyzeTask(DataFetchingEnvironment env) {
        String taskId = env.getArgument("taskId");
        return AnalysisPassThrough.resolve(env,
                bounded(core.analyzeWithInfo(Analyze.ofTask(taskId, ranges(env.getArgument("timeRanges"))))));
    }

    /** analysisEBPFProfilingResult(scheduleIdList, timeRanges, aggregateType): null ids are skipped. */
    Object analyzeSchedules(DataFetchingEnvironment env) {
        List<String> ids = Args.strings(env.getArgument("scheduleIdList"), false);
        Object agg = env.getArgument("aggregateType");
        Aggregate aggregate = agg == null ? Aggregate.COUNT : Aggregate.valueOf(agg.toString());
        return AnalysisPassThrough.resolve(env, bounded(core.analyzeWithInfo(Analyze.ofSchedules(
                ids == null ? List.of() : ids, ranges(env.getArgument("timeRanges")), aggregate))));
    }

    /**
     * diffEBPFProfilingAnalyzation(before, after, aggregateType): each side {scheduleIdList, timeRanges}; one crossing,
     * the merge and its tips are the core's.
     */
    Object diff(DataFetchingEnvironment env) {
        Object agg = env.getArgument("aggregateType");
        Aggregate aggregate = agg == null ? Aggregate.COUNT : Aggregate.valueOf(agg.toString());
        return AnalysisPassThrough.resolveDiff(env, bounded(core.diffWithInfo(side(env.getArgument("before")),
                side(env.getArgument("after")), aggregate)));
    }

    private static Analyze side(Object o) {
        Map<String, Object> m = Args.map(o);
        List<String> ids = m == null ? null : Args.strings(m.get("scheduleIdList"), false);
        return Analyze.ofSchedules(ids == null ? List.of() : ids, ranges(m == null ? null : m.get("timeRanges")),
                Aggregate.COUNT);
    }

    /** queryPrepareCreateEBPFProfilingTaskData(serviceId). */
    Object prepare(DataFetchingEnvironment env) {
        return Json.parse(core.prepareTask(env.getArgument("serviceId")));
    }

    private static List<TimeRange> ranges(Object o) {
        if (o == null) {
            return List.of();
        }
        List<?> in = (List<?>) o;
        List<TimeRange> out = new ArrayList<>(in.size());
        for (Object e : in) {
            if (e == null) {
                continue;
            }
            Map<String, Object> m = Args.map(e);
            out.add(new TimeRange(Args.num(m.get("start"), 0), Args.num(m.get("end"), 0)));
        }
        return out;
    }

    private static String firstNonEmpty(String a, String b) {
        return a != null ? a : b;
    }
}
