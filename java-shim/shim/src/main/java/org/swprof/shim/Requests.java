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
    public static final class ProcessSpec {
        private final int pid;
        private final String service;
        private final String instance;
        private final String process;
        private final String layer;
        private final List<String> labels;

        public ProcessSpec(int pid, String service, String instance, String process, String layer,
                List<String> labels) {
            if (pid <= 0) {
                throw new IllegalArgumentException("pid must be positive: " + pid);
            }
            if (service == null || service.isEmpty()) {
                throw new IllegalArgumentException("service is required");
            }
            labels = copy("labels", labels);

            this.pid = pid;
            this.service = service;
            this.instance = instance;
            this.process = process;
            this.layer = layer;
            this.labels = labels;
        }

        public int pid() {
            return pid;
        }

        public String service() {
            return service;
        }

        public String instance() {
            return instance;
        }

        public String process() {
            return process;
        }

        public String layer() {
            return layer;
        }

        public List<String> labels() {
            return labels;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof ProcessSpec)) {
                return false;
            }
            ProcessSpec x = (ProcessSpec) o;
            return pid == x.pid
                    && java.util.Objects.equals(service, x.service)
                    && java.util.Objects.equals(instance, x.instance)
                    && java.util.Objects.equals(process, x.process)
                    && java.util.Objects.equals(layer, x.layer)
                    && java.util.Objects.equals(labels, x.labels);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(pid, service, instance, process, layer, labels);
        }

        @Override
        public String toString() {
            return "ProcessSpec[pid=" + pid + ", service=" + service + ", instance=" + instance
                    + ", process=" + process + ", layer=" + layer + ", labels=" + labels + "]";
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
    public static final class TaskCreate {
        private final boolean hasFinder;
        private final String finderType;
        private final String processId;
        private final String serviceId;
        private final List<String> labels;
        private final long startTimeMs;
        private final long durationS;
        private final String targetType;
        private final long nowMs;

        public TaskCreate(boolean hasFinder, String finderType, String processId, String serviceId,
                List<String> labels, long startTimeMs, long durationS, String targetType, long nowMs) {
            labels = copy("labels", labels);

            this.hasFinder = hasFinder;
            this.finderType = finderType;
            this.processId = processId;
            this.serviceId = serviceId;
            this.labels = labels;
            this.startTimeMs = startTimeMs;
            this.durationS = durationS;
            this.targetType = targetType;
            this.nowMs = nowMs;
        }

        public boolean hasFinder() {
            return hasFinder;
        }

        public String finderType() {
            return finderType;
        }

        public String processId() {
            return processId;
        }

        public String serviceId() {
            return serviceId;
        }

        public List<String> labels() {
            return labels;
        }

        public long startTimeMs() {
            return startTimeMs;
        }

        public long durationS() {
            return durationS;
        }

        public String targetType() {
            return targetType;
        }

        public long nowMs() {
            return nowMs;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof TaskCreate)) {
                return false;
            }
            TaskCreate x = (TaskCreate) o;
            return hasFinder == x.hasFinder
                    && java.util.Objects.equals(finderType, x.finderType)
                    && java.util.Objects.equals(processId, x.processId)
                    && java.util.Objects.equals(serviceId, x.serviceId)
                    && java.util.Objects.equals(labels, x.labels)
                    && startTimeMs == x.startTimeMs
                    && durationS == x.durationS
                    && java.util.Objects.equals(targetType, x.targetType)
                    && nowMs == x.nowMs;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(hasFinder, finderType, processId, serviceId, labels, startTimeMs, durationS,
                    targetType, nowMs);
        }

        @Override
        public String toString() {
            return "TaskCreate[hasFinder=" + hasFinder + ", finderType=" + finderType
                    + ", processId=" + processId + ", serviceId=" + serviceId + ", labels=" + labels
                    + ", startTimeMs=" + startTimeMs + ", durationS=" + durationS + ", targetType=" + targetType
                    + ", nowMs=" + nowMs + "]";
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
    public static final class TaskQuery {
        private final String serviceId;
        private final String instanceId;
        private final String processId;
        private final String finderType;
        private final List<String> targets;
        private final String triggerType;
        private final long startMs;
        private final long endMs;

        public TaskQuery(String serviceId, String instanceId, String processId, String finderType,
                List<String> targets, String triggerType, long startMs, long endMs) {
            targets = copy("targets", targets);

            this.serviceId = serviceId;
            this.instanceId = instanceId;
            this.processId = processId;
            this.finderType = finderType;
            this.targets = targets;
            this.triggerType = triggerType;
            this.startMs = startMs;
            this.endMs = endMs;
        }

        public String serviceId() {
            return serviceId;
        }

        public String instanceId() {
            return instanceId;
        }

        public String processId() {
            return processId;
        }

        public String finderType() {
            return finderType;
        }

        public List<String> targets() {
            return targets;
        }

        public String triggerType() {
            return triggerType;
        }

        public long startMs() {
            return startMs;
        }

        public long endMs() {
            return endMs;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof TaskQuery)) {
                return false;
            }
            TaskQuery x = (TaskQuery) o;
            return java.util.Objects.equals(serviceId, x.serviceId)
                    && java.util.Objects.equals(instanceId, x.instanceId)
                    && java.util.Objects.equals(processId, x.processId)
                    && java.util.Objects.equals(finderType, x.finderType)
                    && java.util.Objects.equals(targets, x.targets)
                    && java.util.Objects.equals(triggerType, x.triggerType)
                    && startMs == x.startMs
                    && endMs == x.endMs;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(serviceId, instanceId, processId, finderType, targets, triggerType, startMs,
                    endMs);
        }

        @Override
        public String toString() {
            return "TaskQuery[serviceId=" + serviceId + ", instanceId=" + instanceId
                    + ", processId=" + processId + ", finderType=" + finderType + ", targets=" + targets
                    + ", triggerType=" + triggerType + ", startMs=" + startMs + ", endMs=" + endMs + "]";
        }


        public static TaskQuery ofService(String serviceId) {
            return new TaskQuery(serviceId, null, null, null, null, null, 0, 0);
        }

        public static TaskQuery ofProcess(String processId) {
            return new TaskQuery(null, null, processId, null, null, null, 0, 0);
        }
    }

    /** An inclusive time range in ms. */
    public static final class TimeRange {
        private final long startMs;
        private final long endMs;

        public TimeRange(long startMs, long endMs) {
            this.startMs = startMs;
            this.endMs = endMs;
        }

        public long startMs() {
            return startMs;
        }

        public long endMs() {
            return endMs;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof TimeRange)) {
                return false;
            }
            TimeRange x = (TimeRange) o;
            return startMs == x.startMs
                    && endMs == x.endMs;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(startMs, endMs);
        }

        @Override
        public String toString() {
            return "TimeRange[startMs=" + startMs + ", endMs=" + endMs + "]";
        }
    }

    /** {@code enum swp_aggregate}. */
    public enum Aggregate {
        COUNT, DURATION
    }

    /**
     * {@code struct swp_analyze_req}: either taskId (seed: every schedule of the task) or scheduleIds (current;
     * null entries are skipped by the core).
     */
    public static final class Analyze {
        private final String taskId;
        private final List<String> scheduleIds;
        private final List<TimeRange> ranges;
        private final Aggregate aggregate;

        public Analyze(String taskId, List<String> scheduleIds, List<TimeRange> ranges, Aggregate aggregate) {
            // null entries are allowed in scheduleIds, so no List.copyOf
            scheduleIds = scheduleIds == null ? null : java.util.Collections.unmodifiableList(
                    new java.util.ArrayList<>(scheduleIds));
            ranges = ranges == null ? List.of() : List.copyOf(ranges);
            aggregate = aggregate == null ? Aggregate.COUNT : aggregate;

            this.taskId = taskId;
            this.scheduleIds = scheduleIds;
            this.ranges = ranges;
            this.aggregate = aggregate;
        }

        public String taskId() {
            return taskId;
        }

        public List<String> scheduleIds() {
            return scheduleIds;
        }

        public List<TimeRange> ranges() {
            return ranges;
        }

        public Aggregate aggregate() {
            return aggregate;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Analyze)) {
                return false;
            }
            Analyze x = (Analyze) o;
            return java.util.Objects.equals(taskId, x.taskId)
                    && java.util.Objects.equals(scheduleIds, x.scheduleIds)
                    && java.util.Objects.equals(ranges, x.ranges)
                    && java.util.Objects.equals(aggregate, x.aggregate);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(taskId, scheduleIds, ranges, aggregate);
        }

        @Override
        public String toString() {
            return "Analyze[taskId=" + taskId + ", scheduleIds=" + scheduleIds + ", ranges=" + ranges
                    + ", aggregate=" + aggregate + "]";
        }


        public static Analyze ofTask(String taskId, List<TimeRange> ranges) {
            return new Analyze(taskId, null, ranges, Aggregate.COUNT);
        }

        public static Analyze ofSchedules(List<String> scheduleIds, List<TimeRange> ranges, Aggregate aggregate) {
            return new Analyze(null, scheduleIds == null ? List.of() : scheduleIds, ranges, aggregate);
        }
    }
}
