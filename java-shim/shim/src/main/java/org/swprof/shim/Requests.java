package org.swprof.shim;

import java.util.List;

/** The request structs of swprof.h, as Java records. Null strings and lists are "absent". */
public final class Requests {
    private Requests() {
    }

    /** An immutable copy; a null entry is an IllegalArgumentException (List.copyOf would throw NPE). */
    static List<String> copy(String what, List<String> list) {
        if (list == null) {
            return null;
        }
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == null) {
                throw new IllegalArgumentException(what + "[" + i + "] is null");
            }
        }
        return List.copyOf(list);
    }

    /**
     * {@code struct swp_process_spec}: register one local process by pid with explicit names.
     *
     * @param labels null = one label, the process name
     */
    public record ProcessSpec(int pid, String service, String instance, String process, String layer,
                              List<String> labels) {
        public ProcessSpec {
            if (pid <= 0) {
                throw new IllegalArgumentException("pid must be positive: " + pid);
            }
            if (service == null || service.isEmpty()) {
                throw new IllegalArgumentException("service is required");
            }
            labels = copy("labels", labels);
        }
    }

    /**
     * {@code struct swp_task_create}, both generations of createEBPFProfilingFixedTimeTask. Validation (and its
     * texts) is the core's: anything may be absent here.
     *
     * @param hasFinder  the seed request carried a processFinder
     * @param labels     current: every process of the service carrying all of them; null or empty = every process
     * @param nowMs      0 = the clock (tests pin it)
     */
    public record TaskCreate(boolean hasFinder, String finderType, String processId, String serviceId,
                             List<String> labels, long startTimeMs, long durationS, String targetType, long nowMs) {
        public TaskCreate {
            labels = copy("labels", labels);
        }

        /** A seed request: {processFinder: {finderType: PROCESS_ID, processId}, startTime, duration, targetType}. */
        public static TaskCreate seed(String processId, long startTimeMs, long durationS, String targetType) {
            return new TaskCreate(true, "PROCESS_ID", processId, null, null, startTimeMs, durationS, targetType, 0);
        }

        /** A current request: {serviceId, processLabels, startTime, duration, targetType}. */
        public static TaskCreate current(String serviceId, List<String> labels, long startTimeMs, long durationS,
                                         String targetType) {
            return new TaskCreate(false, null, null, serviceId, labels == null ? List.of() : labels, startTimeMs,
                    durationS, targetType, 0);
        }

        public TaskCreate withNow(long now) {
            return new TaskCreate(hasFinder, finderType, processId, serviceId, labels, startTimeMs, durationS,
                    targetType, now);
        }
    }

    /**
     * {@code struct swp_task_query}: null or "" fields are absent; no field at all fails with
     * "please provide the task condition".
     *
     * @param startMs tasks created in [startMs, endMs]; both 0 = any
     */
    public record TaskQuery(String serviceId, String instanceId, String processId, String finderType,
                            List<String> targets, String triggerType, long startMs, long endMs) {
        public TaskQuery {
            targets = copy("targets", targets);
        }

        public static TaskQuery ofService(String serviceId) {
            return new TaskQuery(serviceId, null, null, null, null, null, 0, 0);
        }

        public static TaskQuery ofProcess(String processId) {
            return new TaskQuery(null, null, processId, null, null, null, 0, 0);
        }
    }

    /** An inclusive time range in ms. */
    public record TimeRange(long startMs, long endMs) {
    }

    /** {@code enum swp_aggregate}. */
    public enum Aggregate {
        COUNT, DURATION
    }

    /**
     * {@code struct swp_analyze_req}: either taskId (seed: every schedule of the task) or scheduleIds (current;
     * null entries are skipped by the core).
     */
    public record Analyze(String taskId, List<String> scheduleIds, List<TimeRange> ranges, Aggregate aggregate) {
        public Analyze {
            // null entries are allowed in scheduleIds, so no List.copyOf
            scheduleIds = scheduleIds == null ? null : java.util.Collections.unmodifiableList(
                    new java.util.ArrayList<>(scheduleIds));
            ranges = ranges == null ? List.of() : List.copyOf(ranges);
            aggregate = aggregate == null ? Aggregate.COUNT : aggregate;
        }

        public static Analyze ofTask(String taskId, List<TimeRange> ranges) {
            return new Analyze(taskId, null, ranges, Aggregate.COUNT);
        }

        public static Analyze ofSchedules(List<String> scheduleIds, List<TimeRange> ranges, Aggregate aggregate) {
            return new Analyze(null, scheduleIds == null ? List.of() : scheduleIds, ranges, aggregate);
        }
    }
}
