package org.swprof.shim;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongFunction;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.swprof.shim.Requests.Analyze;
import org.swprof.shim.Requests.ProcessSpec;
import org.swprof.shim.Requests.TaskCreate;
import org.swprof.shim.Requests.TaskQuery;
import org.swprof.shim.Requests.TimeRange;

/**
 * The one JNI handle of swprof: an open native core ({@code swp_core *}) with its store, process registry,
 * task scheduler and profiler.
 *
 * <p>Every query answers one JSON document, UTF-8 bytes shaped exactly as the GraphQL field of the same name
 * answers it (see {@code native/include/swprof/swprof.h}); one call crosses once. A failure of the core throws
 * {@link SwprofException} with the core's reason. Calls are safe from many threads at once.
 *
 * <p>{@link #close()} is idempotent: the first call marks the core closed (new calls fail with
 * {@link IllegalStateException}), waits for calls in flight, then closes the native core (which stops
 * profiling with a last flush and closes RocksDB). No finalizer: close it.
 */
public final class SwprofCore implements AutoCloseable {
    private static final Logger NATIVE_LOG = Logger.getLogger("swprof.core");

    /** {@code enum swp_log_level}. */
    public static final int LOG_DEBUG = 0;
    public static final int LOG_INFO = 1;
    public static final int LOG_WARN = 2;
    public static final int LOG_ERROR = 3;

    static {
        NativeLibrary.load();
        NativeLibrary.logLoaded();
        setLog0(LOG_INFO);
    }

    private final long handle;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Calls hold the read lock; close takes the write lock, so it waits for calls in flight. */
    private final ReentrantReadWriteLock inFlight = new ReentrantReadWriteLock();

    private SwprofCore(long handle) {
        this.handle = handle;
    }

    /** Opens (or creates) the store in {@code options.dataDir()}; with profiling the scheduler starts. */
    public static SwprofCore open(CoreOptions options) {
        Objects.requireNonNull(options, "options");
        List<DiscoveryRule> rules = options.rules();
        byte[][] fields = new byte[rules.size() * 5][];
        Object[] labels = new Object[rules.size()];
        for (int i = 0; i < rules.size(); i++) {
            DiscoveryRule r = rules.get(i);
            fields[i * 5] = utf8("cmdRegex", r.cmdRegex());
            fields[i * 5 + 1] = utf8("service", r.service());
            fields[i * 5 + 2] = utf8("instance", r.instance());
            fields[i * 5 + 3] = utf8("process", r.process());
            fields[i * 5 + 4] = utf8("layer", r.layer());
            labels[i] = r.labels() == null || r.labels().isEmpty() ? null : utf8s("labels", r.labels(), false);
        }
        long h = open0(utf8("dataDir", options.dataDir().toString()), options.frequency(), options.flushIntervalMs(),
                options.scanIntervalMs(), options.profiling().ordinal(), fields, labels,
                utf8("hostIp", options.hostIp()), utf8("hostName", options.hostName()), options.expireMs(),
                options.minAgeMs(), options.agentTimeoutMs(), options.minFreeBytes(), utf8("unwind", options.unwind()),
                options.unwindStackBytes());
        if (h == 0) {
            throw new SwprofException("swp_core_open returned no core", 5);
        }
        return new SwprofCore(h);
    }

    /**
     * Where native log lines go: {@code java.util.logging} logger "swprof.core". minLevel one of LOG_*, or -1 to
     * stop the callback.
     */
    public static void setNativeLogLevel(int minLevel) {
        if (minLevel < -1 || minLevel > LOG_ERROR) {
            throw new IllegalArgumentException("log level must be -1..3: " + minLevel);
        }
        setLog0(minLevel);
    }

    /** Where the core's log lines go instead of java.util.logging (the OAP module: OAP's own logging). */
    public interface LogSink {
        /** level: one of LOG_*; called from any thread; must not throw */
        void log(int level, String message);
    }

    private static volatile LogSink logSink;

    /** null: back to java.util.logging's "swprof.core". The level filter stays {@link #setNativeLogLevel}'s. */
    public static void setLogSink(LogSink sink) {
        logSink = sink;
    }

    public boolean isClosed() {
        return closed.get();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Lock w = inFlight.writeLock();
        w.lock();
        try {
            close0(handle);
        } finally {
            w.unlock();
        }
    }

    private <T> T call(LongFunction<T> f) {
        Lock r = inFlight.readLock();
        r.lock();
        try {
            if (closed.get()) {
                throw new IllegalStateException("swprof core is closed");
            }
            return f.apply(handle);
        } finally {
            r.unlock();
        }
    }

    // ---- processes ----------------------------------------------------------------------------------

    /** Rescans /proc with the configured rules now. */
    public void rescan() {
        call(h -> {
            rescan0(h);
            return null;
        });
    }

    /** Registers (or refreshes) one local process by pid; answers the process object. */
    public byte[] registerProcess(ProcessSpec spec) {
        Objects.requireNonNull(spec, "spec");
        byte[] service = utf8("service", spec.service());
        byte[] instance = utf8("instance", spec.instance());
        byte[] process = utf8("process", spec.process());
        byte[] layer = utf8("layer", spec.layer());
        byte[][] labels = utf8s("labels", spec.labels(), false);
        return call(h -> registerProcess0(h, spec.pid(), service, instance, process, layer, labels));
    }

    /** {@code [service]}, all of them or those of {@code layer} (null = all). */
    public byte[] services(String layer) {
        byte[] l = utf8("layer", emptyToNull(layer));
        return call(h -> services0(h, l));
    }

    /**
     * {@code [instance]} of a service: those with a process running or gone less than the expiry ago, or with
     * startMs..endMs (ms; both 0 = none) those with a process that ran at some time in it.
     */
    public byte[] instances(String serviceId, long startMs, long endMs) {
        byte[] s = utf8("serviceId", required("serviceId", serviceId));
        return call(h -> instances0(h, s, startMs, endMs));
    }

    /**
     * {@code [process]} filtered by every non-null, non-empty argument; running or gone less than the expiry ago,
     * or with startMs..endMs (ms; both 0 = none) those that ran at some time in it.
     */
    public byte[] processes(String serviceId, String instanceId, String processId, long startMs, long endMs) {
        byte[] s = utf8("serviceId", emptyToNull(serviceId));
        byte[] i = utf8("instanceId", emptyToNull(instanceId));
        byte[] p = utf8("processId", emptyToNull(processId));
        return call(h -> processes0(h, s, i, p, startMs, endMs));
    }

    /** One process object, or the JSON {@code null} when unknown. */
    public byte[] process(String processId) {
        byte[] p = utf8("processId", required("processId", processId));
        return call(h -> process0(h, p));
    }

    // ---- tasks and schedules ---------------------------------------------------------------------------

    /** {@code {"status","errorReason","id"}}; a rejected request is an answer, not an exception. */
    public byte[] createTask(TaskCreate req) {
        Objects.requireNonNull(req, "req");
        byte[] finder = utf8("finderType", req.finderType());
        byte[] process = utf8("processId", req.processId());
        byte[] service = utf8("serviceId", req.serviceId());
        byte[][] labels = utf8s("processLabels", req.labels(), false);
        byte[] target = utf8("targetType", req.targetType());
        return call(h -> taskCreate0(h, req.hasFinder(), finder, process, service, labels, req.startTimeMs(),
                req.durationS(), target, req.nowMs()));
    }

    /** {@code [task]}, newest first. No condition at all fails with "please provide the task condition". */
    public byte[] tasks(TaskQuery q) {
        Objects.requireNonNull(q, "query");
        byte[] service = utf8("serviceId", emptyToNull(q.serviceId()));
        byte[] instance = utf8("instanceId", emptyToNull(q.instanceId()));
        byte[] process = utf8("processId", emptyToNull(q.processId()));
        byte[] finder = utf8("finderType", emptyToNull(q.finderType()));
        byte[][] targets = utf8s("targets", q.targets(), false);
        byte[] trigger = utf8("triggerType", emptyToNull(q.triggerType()));
        return call(h -> tasks0(h, service, instance, process, finder, targets, trigger, q.startMs(), q.endMs()));
    }

    /** {@code {"couldProfiling","processLabels"}} of a service. */
    public byte[] prepareTask(String serviceId) {
        byte[] s = utf8("serviceId", required("serviceId", serviceId));
        return call(h -> taskPrepare0(h, s));
    }

    /** {@code [schedule]} of a task starting in [startMs, endMs] (both 0 = all), newest first. */
    public byte[] schedules(String taskId, long startMs, long endMs) {
        byte[] t = utf8("taskId", required("taskId", taskId));
        return call(h -> schedules0(h, t, startMs, endMs));
    }

    // ---- analysis -----------------------------------------------------------------------------------------

    /** {@code {"tip","trees":[{"elements":[...]}]}}. */
    public byte[] analyze(Analyze req) {
        return analyze(req, null);
    }

    /**
     * The analysis with what it read and wrote ({@code struct swp_analysis_info}).
     *
     * @param json          the same bytes {@link #analyze(Analyze)} answers
     * @param records       (stack, count) entries read from the store
     * @param samples       samples in the trees
     * @param stacks        distinct stacks merged
     * @param frames        frames of those stacks
     * @param elements      stack elements in the JSON
     * @param canonicalJson no backslash-u escape, strings in well-formed UTF-8 without characters above U+FFFF:
     *                      parsing the JSON and writing it back
     *                      compactly (Jackson's defaults) gives the same bytes
     */
    public static final class AnalysisResult {
        private final byte[] json;
        private final long records;
        private final long samples;
        private final long stacks;
        private final long frames;
        private final long elements;
        private final boolean canonicalJson;

        public AnalysisResult(byte[] json, long records, long samples, long stacks, long frames, long elements,
                boolean canonicalJson) {
            this.json = json;
            this.records = records;
            this.samples = samples;
            this.stacks = stacks;
            this.frames = frames;
            this.elements = elements;
            this.canonicalJson = canonicalJson;
        }

        public byte[] json() {
            return json;
        }

        public long records() {
            return records;
        }

        public long samples() {
            return samples;
        }

        public long stacks() {
            return stacks;
        }

        public long frames() {
            return frames;
        }

        public long elements() {
            return elements;
        }

        public boolean canonicalJson() {
            return canonicalJson;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof AnalysisResult)) {
                return false;
            }
            AnalysisResult x = (AnalysisResult) o;
            return java.util.Arrays.equals(json, x.json)
                    && records == x.records
                    && samples == x.samples
                    && stacks == x.stacks
                    && frames == x.frames
                    && elements == x.elements
                    && canonicalJson == x.canonicalJson;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(java.util.Arrays.hashCode(json), records, samples, stacks, frames, elements,
                    canonicalJson);
        }

        @Override
        public String toString() {
            return "AnalysisResult[json=" + json + ", records=" + records + ", samples=" + samples
                    + ", stacks=" + stacks + ", frames=" + frames + ", elements=" + elements
                    + ", canonicalJson=" + canonicalJson + "]";
        }
    }

    /** {@link #analyze(Analyze)} with its {@link AnalysisResult figures}; one crossing all the same. */
    public AnalysisResult analyzeWithInfo(Analyze req) {
        long[] info = new long[6];
        byte[] json = analyze(req, info);
        return new AnalysisResult(json, info[0], info[1], info[2], info[3], info[4], info[5] != 0);
    }

    private byte[] analyze(Analyze req, long[] info) {
        Objects.requireNonNull(req, "req");
        byte[] task = utf8("taskId", req.taskId());
        byte[][] schedules = utf8s("scheduleIdList", req.scheduleIds(), true);
        long[] ranges = ranges(req.ranges());
        int aggregate = req.aggregate().ordinal();
        return call(h -> analyze0(h, task, schedules, ranges, aggregate, info));
    }

    /**
     * diffEBPFProfilingAnalyzation: the analyses of two sides (each a task or schedule ids, and time ranges; their
     * aggregate types are not read) merged into one tree whose elements carry {@code beforeCount} and
     * {@code afterCount}, with what the analysis read and wrote (samples: the after side's). One crossing.
     */
    public AnalysisResult diffWithInfo(Analyze before, Analyze after, Requests.Aggregate aggregate) {
        Objects.requireNonNull(before, "before");
        Objects.requireNonNull(after, "after");
        byte[] bTask = utf8("taskId", before.taskId());
        byte[][] bIds = utf8s("scheduleIdList", before.scheduleIds(), true);
        long[] bRanges = ranges(before.ranges());
        byte[] aTask = utf8("taskId", after.taskId());
        byte[][] aIds = utf8s("scheduleIdList", after.scheduleIds(), true);
        long[] aRanges = ranges(after.ranges());
        int agg = (aggregate == null ? Requests.Aggregate.COUNT : aggregate).ordinal();
        long[] info = new long[6];
        byte[] json = call(h -> diff0(h, bTask, bIds, bRanges, aTask, aIds, aRanges, agg, info));
        return new AnalysisResult(json, info[0], info[1], info[2], info[3], info[4], info[5] != 0);
    }

    /** The analysis of collapsed stacks ({@code a;b;c_[k] COUNT} lines) without a store. */
    /**
     * The caller this thread serves (a Unix socket's peer uid), or -1 for none: while set, what the thread reads
     * and creates through the core is what that uid could ptrace, and its own tasks (root: everything). Per thread;
     * set it before a request and -1 after.
     */
    public static void setCaller(int uid) {
        setCaller0(uid);
    }

    /** The uid of a user name as the system resolves it (NSS), or -1. */
    public static int uidOf(String name) {
        return uidOf0(name.getBytes(StandardCharsets.UTF_8));
    }

    public static byte[] analyzeFolded(String text) {
        Objects.requireNonNull(text, "text");
        return analyzeFolded0(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Imports collapsed stacks as the samples of a new schedule of taskId on processId (null = the task's
     * process), recorded at timeMs (0 = now). Answers {@code {"scheduleId","samples"}}.
     */
    public byte[] importFolded(String taskId, String processId, long timeMs, String text) {
        byte[] t = utf8("taskId", required("taskId", taskId));
        byte[] p = utf8("processId", emptyToNull(processId));
        byte[] body = Objects.requireNonNull(text, "text").getBytes(StandardCharsets.UTF_8);
        return call(h -> importFolded0(h, t, p, timeMs, body));
    }

    /** Statistics of the running profiler. */
    public byte[] stats() {
        return call(SwprofCore::stats0);
    }

    // ---- SkyWalking's eBPF agent protocol, the backend's side (protobuf bytes in, out) -------------------

    /** {@code enum swp_agent_call}. */
    public static final int AGENT_REPORT_PROCESSES = 1;
    public static final int AGENT_KEEP_ALIVE = 2;
    public static final int AGENT_QUERY_TASKS = 3;

    /**
     * One unary call of an agent (EBPFProcessService.reportProcesses, keepAlive, EBPFProfilingService.queryTasks):
     * the request's protobuf bytes in, the reply's out. A request that does not decode or breaks a limit throws
     * {@link SwprofException} (errno EINVAL or E2BIG) with the reason.
     */
    public byte[] agentCall(int call, byte[] request) {
        Objects.requireNonNull(request, "request");
        return call(h -> agentCall0(h, call, request));
    }

    /** {@code enum swp_heartbeat_kind}. */
    public static final int HEARTBEAT_REPORT = 1;
    public static final int HEARTBEAT_KEEP_ALIVE = 2;

    /** A metadata message about this core's own processes, due now: {@link #kind} is HEARTBEAT_*. */
    public static final class Heartbeat {
        public final int kind;
        /** EBPFProcessReportList (a report) or EBPFProcessPingPkgList (a keep-alive), protobuf bytes */
        public final byte[] message;

        Heartbeat(int kind, byte[] message) {
            this.kind = kind;
            this.message = message;
        }
    }

    /**
     * The agent side's heartbeat for a host that reports this core's own processes to a backend in process (the
     * OAP module: into OAP's metadata through OAP's own receiver): the message due now, or null. Call it every
     * second or so from one thread; after handing the message over, call {@link #heartbeatAnswered}.
     */
    public Heartbeat heartbeat(String agentId, int beatMs) {
        byte[] id = utf8("agentId", required("agentId", agentId));
        byte[] b = call(h -> heartbeat0(h, id, beatMs));
        if (b == null || b.length == 0) {
            return null;
        }
        byte[] m = new byte[b.length - 1];
        System.arraycopy(b, 1, m, 0, m.length);
        return new Heartbeat(b[0], m);
    }

    /**
     * How a heartbeat went: ok = the backend took it; answer = its reply (EBPFReportProcessDownstream for a report).
     * Returns how many processes the backend newly took.
     */
    public int heartbeatAnswered(Heartbeat hb, boolean ok, byte[] answer) {
        Objects.requireNonNull(hb, "heartbeat");
        return call(h -> heartbeatAnswered0(h, hb.kind, ok, answer));
    }

    /**
     * EBPFProfilingService.collectProfilingData: one stream per call, fed batches of EBPFProfilingData messages as
     * they come. A batch that fails throws {@link SwprofException} (what earlier messages brought is kept); the
     * stream must be closed whatever happened.
     */
    public DataStream openDataStream() {
        return new DataStream(streamOpen0());
    }

    /**
     * A data stream of the agent protocol: {@link #end()} when the agent ended it well (the last block is taken in,
     * the reply answered), {@link #close()} in every case (frees it; a partial last block is dropped).
     */
    public final class DataStream implements AutoCloseable {
        private long stream;

        private DataStream(long stream) {
            this.stream = stream;
        }

        /** The messages, in order, in one crossing. */
        public synchronized void feed(List<byte[]> messages) {
            if (stream == 0) {
                throw new IllegalStateException("the data stream is closed");
            }
            byte[][] v = messages.toArray(new byte[0][]);
            long s = stream;
            call(h -> {
                streamFeed0(h, s, v);
                return null;
            });
        }

        /** The agent ended the stream: its last block is taken in; answers the reply (Commands bytes). */
        public synchronized byte[] end() {
            if (stream == 0) {
                throw new IllegalStateException("the data stream is closed");
            }
            long s = stream;
            return call(h -> streamEnd0(h, s));
        }

        /** Frees the stream, also after the core closed; idempotent. */
        @Override
        public synchronized void close() {
            if (stream != 0) {
                long s = stream;
                stream = 0;
                streamFree0(s);
            }
        }
    }

    // ---- argument checks, before crossing --------------------------------------------------------------

    private static String required(String what, String s) {
        if (s == null) {
            throw new IllegalArgumentException(what + " is required");
        }
        return s;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    static byte[] utf8(String what, String s) {
        if (s == null) {
            return null;
        }
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL character");
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[][] utf8s(String what, List<String> list, boolean allowNullEntries) {
        if (list == null) {
            return null;
        }
        byte[][] out = new byte[list.size()][];
        for (int i = 0; i < out.length; i++) {
            String s = list.get(i);
            if (s == null && !allowNullEntries) {
                throw new IllegalArgumentException(what + "[" + i + "] is null");
            }
            out[i] = utf8(what, s);
        }
        return out;
    }

    private static long[] ranges(List<TimeRange> ranges) {
        long[] out = new long[ranges.size() * 2];
        for (int i = 0; i < ranges.size(); i++) {
            TimeRange r = Objects.requireNonNull(ranges.get(i), "time range");
            out[2 * i] = r.startMs();
            out[2 * i + 1] = r.endMs();
        }
        return out;
    }

    /** Called by the native log callback, from any thread. Never throws. */
    static void nativeLog(int level, byte[] msg) {
        try {
            LogSink s = logSink;
            if (s != null) {
                s.log(level, new String(msg, StandardCharsets.UTF_8));
                return;
            }
            Level l = level == LOG_DEBUG ? Level.FINE : level == LOG_INFO ? Level.INFO
                    : level == LOG_WARN ? Level.WARNING : Level.SEVERE;
            if (NATIVE_LOG.isLoggable(l)) {
                NATIVE_LOG.log(l, new String(msg, StandardCharsets.UTF_8));
            }
        } catch (Throwable ignored) {
            // logging must never fail a native operation
        }
    }

    // ---- natives (native/src/jni/swprof_jni.c); strings cross as UTF-8 bytes --------------------------

    private static native void setLog0(int minLevel);

    private static native long open0(byte[] dataDir, int frequency, int flushMs, int scanMs, int profiling,
                                     byte[][] ruleFields, Object[] ruleLabels, byte[] hostIp, byte[] hostName,
                                     long expireMs, long minAgeMs, long agentTimeoutMs, long minFreeBytes,
                                     byte[] unwind, int unwindStackBytes);

    private static native void close0(long handle);

    private static native void rescan0(long handle);

    private static native byte[] registerProcess0(long handle, int pid, byte[] service, byte[] instance,
                                                  byte[] process, byte[] layer, byte[][] labels);

    private static native byte[] services0(long handle, byte[] layer);

    private static native byte[] instances0(long handle, byte[] serviceId, long startMs, long endMs);

    private static native byte[] processes0(long handle, byte[] serviceId, byte[] instanceId, byte[] processId,
                                            long startMs, long endMs);

    private static native byte[] process0(long handle, byte[] processId);

    private static native byte[] taskCreate0(long handle, boolean hasFinder, byte[] finderType, byte[] processId,
                                             byte[] serviceId, byte[][] labels, long startMs, long durationS,
                                             byte[] targetType, long nowMs);

    private static native byte[] tasks0(long handle, byte[] serviceId, byte[] instanceId, byte[] processId,
                                        byte[] finderType, byte[][] targets, byte[] triggerType, long startMs,
                                        long endMs);

    private static native byte[] taskPrepare0(long handle, byte[] serviceId);

    private static native byte[] schedules0(long handle, byte[] taskId, long startMs, long endMs);

    private static native byte[] analyze0(long handle, byte[] taskId, byte[][] scheduleIds, long[] ranges,
                                          int aggregate, long[] info);

    private static native byte[] diff0(long handle, byte[] beforeTask, byte[][] beforeIds, long[] beforeRanges,
                                       byte[] afterTask, byte[][] afterIds, long[] afterRanges, int aggregate,
                                       long[] info);

    private static native byte[] analyzeFolded0(byte[] text);

    private static native void setCaller0(int uid);

    private static native int uidOf0(byte[] name);

    private static native byte[] importFolded0(long handle, byte[] taskId, byte[] processId, long timeMs,
                                               byte[] text);

    private static native byte[] stats0(long handle);

    private static native byte[] agentCall0(long handle, int call, byte[] request);

    private static native byte[] heartbeat0(long handle, byte[] agentId, int beatMs);

    private static native int heartbeatAnswered0(long handle, int kind, boolean ok, byte[] answer);

    private static native long streamOpen0();

    private static native void streamFeed0(long handle, long stream, byte[][] messages);

    private static native byte[] streamEnd0(long handle, long stream);

    private static native void streamFree0(long stream);
}
