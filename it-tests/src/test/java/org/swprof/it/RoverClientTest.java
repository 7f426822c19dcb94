package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import org.apache.skywalking.apm.network.common.v3.Command;
import org.apache.skywalking.apm.network.common.v3.Commands;
import org.apache.skywalking.apm.network.common.v3.KeyStringValuePair;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFHostProcessMetadata;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessEntityMetadata;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessPingPkg;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessPingPkgList;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessProperties;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessReportList;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessServiceGrpc;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFReportProcessDownstream;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.ContinuousProfilingPolicyQuery;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.ContinuousProfilingServiceGrpc;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.ContinuousProfilingServicePolicyQuery;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFOnCPUProfiling;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingData;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingServiceGrpc;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingStackMetadata;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingStackType;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingTaskMetadata;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingTaskQuery;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A client written from SkyWalking's eBPF agent protocol that behaves as SkyWalking Rover 0.5 does, with
 * apm-network's generated messages and grpc-java, against the standalone server's gRPC port: it reports a host
 * process with Rover's properties under a random agent id, keeps it alive, polls its tasks with the latest update
 * time it saw, and streams its samples as Rover does (the task's metadata on the first item only, kernel stack then
 * user stack, symbols innermost first). Its process is listed, a task created through GraphQL reaches it, and its
 * data shows as the tree. Malformed and oversized messages answer a gRPC status and change nothing.
 *
 * <p>e2e/oap.py runs it again against a real OAP 10.1 with swprof's module ({@code -Dswprof.it.backend=GRAPHQL_URL,
 * GRPC_PORT}): the same client, OAP's gRPC port and OAP's own /graphql.
 */
class RoverClientTest {
    static Server server;
    static ManagedChannel channel;
    static boolean external;
    static final String AGENT = UUID.randomUUID().toString(); // Rover's instance id: a new UUID per start
    static final String SERVICE = "rover-svc";
    static final String INSTANCE = "rover-host";
    static final String PROCESS = "rover-proc";

    @BeforeAll
    static void start() {
        // e2e/oap.py runs this class against a real OAP with swprof's module (-Dswprof.it.backend=...)
        Server outside = Server.external();
        external = outside != null;
        server = external ? outside : Server.forAgents(Map.of());
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
    }

    static EBPFProcessEntityMetadata entity() {
        return EBPFProcessEntityMetadata.newBuilder().setLayer("OS_LINUX").setServiceName(SERVICE)
                .setInstanceName(INSTANCE).setProcessName(PROCESS).addLabels("rover").build();
    }

    static String serviceId() {
        return Base64.getEncoder().encodeToString(SERVICE.getBytes(StandardCharsets.UTF_8)) + ".1";
    }

    static String processId() throws Exception {
        String instanceId = serviceId() + "_" + Base64.getEncoder().encodeToString(
                INSTANCE.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(
                (PROCESS + "_" + instanceId).getBytes(StandardCharsets.UTF_8)));
    }

    static EBPFProfilingStackMetadata stack(EBPFProfilingStackType type, int id, String... innermostFirst) {
        return EBPFProfilingStackMetadata.newBuilder().setStackType(type).setStackId(id)
                .addAllStackSymbols(List.of(innermostFirst)).build();
    }

    static Map<String, String> args(Command c) {
        Map<String, String> m = new LinkedHashMap<>();
        for (KeyStringValuePair kv : c.getArgsList()) {
            m.put(kv.getKey(), kv.getValue());
        }
        return m;
    }

    /** Stubs with a deadline from now, one per call: a deadline is absolute, and the waits between calls are long. */
    static EBPFProcessServiceGrpc.EBPFProcessServiceBlockingStub processes() {
        return EBPFProcessServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    static EBPFProfilingServiceGrpc.EBPFProfilingServiceBlockingStub tasks() {
        return EBPFProfilingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @Test
    void rolesAsRoverDoes() throws Exception {
        // ---- the report, 20 s after Rover starts: the process with Rover's four properties ----
        EBPFReportProcessDownstream down = processes().reportProcesses(EBPFProcessReportList.newBuilder()
                .setEbpfAgentID(AGENT)
                .addProcesses(EBPFProcessProperties.newBuilder().setHostProcess(EBPFHostProcessMetadata.newBuilder()
                        .setEntity(entity()).setPid(4242)
                        .addProperties(KeyStringValuePair.newBuilder().setKey("host_ip").setValue("10.20.30.40"))
                        .addProperties(KeyStringValuePair.newBuilder().setKey("pid").setValue("4242"))
                        .addProperties(KeyStringValuePair.newBuilder().setKey("command_line")
                                .setValue("/usr/bin/rover-proc --port 8080"))
                        .addProperties(KeyStringValuePair.newBuilder().setKey("support_ebpf_profiling")
                                .setValue("true"))))
                .build());
        assertEquals(1, down.getProcessesCount());
        assertEquals(processId(), down.getProcesses(0).getProcessId());
        // Rover matches the answer to its process by pid and the echoed entity
        assertEquals(4242, down.getProcesses(0).getHostProcess().getPid());
        assertEquals(entity(), down.getProcesses(0).getHostProcess().getEntityMetadata());

        // ---- the process is listed with its agent and its properties (as the UI lists an instance's processes;
        // an OAP shows it once its metadata is written: poll) ----
        String instanceId = serviceId() + "_" + Base64.getEncoder().encodeToString(
                INSTANCE.getBytes(StandardCharsets.UTF_8));
        java.time.format.DateTimeFormatter minute = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HHmm")
                .withZone(java.time.ZoneId.systemDefault());
        long now0 = System.currentTimeMillis();
        Map<String, Object> duration = Map.of("start", minute.format(java.time.Instant.ofEpochMilli(now0 - 900_000)),
                "end", minute.format(java.time.Instant.ofEpochMilli(now0 + 60_000)), "step", "MINUTE");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> ps = server.waitFor("the process listed", 60_000, () -> {
            List<Map<String, Object>> l = (List<Map<String, Object>>) server.query("query ($i: ID!, $d: Duration!) { "
                    + "listProcesses(instanceId: $i, duration: $d) { id name agentId detectType attributes { name "
                    + "value } labels } }", Map.of("i", instanceId, "d", duration)).data().get("listProcesses");
            return l.isEmpty() ? null : l;
        });
        assertEquals(1, ps.size());
        assertEquals(processId(), ps.get(0).get("id"));
        assertEquals(AGENT, ps.get(0).get("agentId"));
        assertEquals("VM", ps.get(0).get("detectType"));
        assertEquals(List.of("rover"), ps.get(0).get("labels"));
        assertEquals(List.of(Map.of("name", "host_ip", "value", "10.20.30.40"), Map.of("name", "pid", "value", "4242"),
                Map.of("name", "command_line", "value", "/usr/bin/rover-proc --port 8080"),
                Map.of("name", "support_ebpf_profiling", "value", "true")), ps.get(0).get("attributes"));

        // ---- the keep-alive, every 20 s: only support_ebpf_profiling as property ----
        Commands none = processes().keepAlive(EBPFProcessPingPkgList.newBuilder().setEbpfAgentID(AGENT)
                .addProcesses(EBPFProcessPingPkg.newBuilder().setEntityMetadata(entity())
                        .addProperties(KeyStringValuePair.newBuilder().setKey("support_ebpf_profiling")
                                .setValue("true")))
                .build());
        assertEquals(0, none.getCommandsCount());

        // ---- a task from the UI: every process of the service, now, 10 minutes ----
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("serviceId", serviceId());
        req.put("processLabels", List.of());
        req.put("startTime", System.currentTimeMillis());
        req.put("duration", 600);
        req.put("targetType", "ON_CPU");
        @SuppressWarnings("unchecked")
        Map<String, Object> created = (Map<String, Object>) server.query("mutation ($r: "
                + "EBPFProfilingTaskFixedTimeCreationRequest!) { createEBPFProfilingFixedTimeTask(request: $r) { status "
                + "errorReason id } }", Map.of("r", req)).data().get("createEBPFProfilingFixedTimeTask");
        assertEquals(Boolean.TRUE, created.get("status"), created::toString);
        String taskId = (String) created.get("id");

        // ---- the poll, every 10 s, with the latest update time seen (0 at start) ----
        Commands cmds = tasks().queryTasks(EBPFProfilingTaskQuery.newBuilder().setRoverInstanceId(AGENT)
                .setLatestUpdateTime(0).build());
        assertEquals(1, cmds.getCommandsCount());
        Command cmd = cmds.getCommands(0);
        assertEquals("EBPFProfilingTaskQuery", cmd.getCommand());
        Map<String, String> a = args(cmd);
        assertEquals(taskId, a.get("TaskId"));
        assertEquals(processId(), a.get("ProcessId"));
        assertEquals("FIXED_TIME", a.get("TriggerType"));
        assertEquals("ON_CPU", a.get("TargetType"));
        assertEquals("600", a.get("FixedTriggerDuration"));
        assertEquals("null", a.get("ExtensionConfigJSON")); // Rover parses it as JSON: null is valid
        long taskStart = Long.parseLong(a.get("TaskStartTime"));
        long updateTime = Long.parseLong(a.get("TaskUpdateTime"));
        assertNotNull(UUID.fromString(a.get("SerialNumber")));
        assertEquals(0, tasks().queryTasks(EBPFProfilingTaskQuery.newBuilder().setRoverInstanceId(AGENT)
                .setLatestUpdateTime(updateTime).build()).getCommandsCount());

        // ---- two flushes of data (Rover's come 5 s apart; 1.5 s here), each in one stream ----
        long profilingStart = Math.max(taskStart, System.currentTimeMillis());
        long t2 = 0;
        for (int flush = 0; flush < 2; flush++) {
            Thread.sleep(1500);
            long now = System.currentTimeMillis();
            t2 = now;
            Commands answer = stream(List.of(
                    EBPFProfilingData.newBuilder()
                            .setTask(EBPFProfilingTaskMetadata.newBuilder().setTaskId(taskId).setProcessId(processId())
                                    .setProfilingStartTime(profilingStart).setCurrentTime(now))
                            .setOnCPU(EBPFOnCPUProfiling.newBuilder().setDumpCount(30)
                                    .addStacks(stack(EBPFProfilingStackType.PROCESS_KERNEL_SPACE, 7, "ksys_read",
                                            "do_syscall_64"))
                                    .addStacks(stack(EBPFProfilingStackType.PROCESS_USER_SPACE, 9, "read", "serve",
                                            "main")))
                            .build(),
                    EBPFProfilingData.newBuilder()
                            .setOnCPU(EBPFOnCPUProfiling.newBuilder().setDumpCount(70)
                                    .addStacks(stack(EBPFProfilingStackType.PROCESS_USER_SPACE, 11, "hot", "serve",
                                            "main")))
                            .build()));
            assertEquals(0, answer.getCommandsCount());
        }

        // ---- its schedule, and the tree the UI draws ----
        long deadline = System.currentTimeMillis() + 10_000;
        Map<String, Object> tree = null;
        Object last = null;
        while (System.currentTimeMillis() < deadline) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> scheds = (List<Map<String, Object>>) server.query("query ($t: ID!) { "
                    + "queryEBPFProfilingSchedules(taskId: $t) { scheduleId startTime endTime process { id } } }",
                    Map.of("t", taskId)).data().get("queryEBPFProfilingSchedules");
            last = scheds;
            if (scheds.size() == 1) {
                assertEquals(profilingStart, ((Number) scheds.get(0).get("startTime")).longValue());
                assertEquals(t2, ((Number) scheds.get(0).get("endTime")).longValue());
                @SuppressWarnings("unchecked")
                Map<String, Object> t = (Map<String, Object>) server.query("query ($s: [ID!]!, $r: "
                        + "[EBPFProfilingAnalyzeTimeRange!]!) { analysisEBPFProfilingResult(scheduleIdList: $s, "
                        + "timeRanges: $r, aggregateType: COUNT) { tip trees { elements { id parentId symbol stackType "
                        + "dumpCount } } } }", Map.of("s", List.of(scheds.get(0).get("scheduleId")), "r",
                        List.of(Map.of("start", profilingStart, "end", t2)))).data()
                        .get("analysisEBPFProfilingResult");
                @SuppressWarnings("unchecked")
                List<Object> trees = (List<Object>) t.get("trees");
                last = t;
                if (!trees.isEmpty() && t.toString().contains("dumpCount=200")) {
                    tree = t;
                    break;
                }
            }
            Thread.sleep(200);
        }
        Object seen = last;
        assertNotNull(tree, () -> "no tree of both flushes: " + seen);
        assertEquals("{tip=null, trees=[{elements=["
                + "{id=1, parentId=0, symbol=main, stackType=USER_SPACE, dumpCount=200}, "
                + "{id=2, parentId=1, symbol=serve, stackType=USER_SPACE, dumpCount=200}, "
                + "{id=3, parentId=2, symbol=hot, stackType=USER_SPACE, dumpCount=140}, "
                + "{id=4, parentId=2, symbol=read, stackType=USER_SPACE, dumpCount=60}, "
                + "{id=5, parentId=4, symbol=do_syscall_64, stackType=KERNEL_SPACE, dumpCount=60}, "
                + "{id=6, parentId=5, symbol=ksys_read, stackType=KERNEL_SPACE, dumpCount=60}]}]}", tree.toString());
    }

    /** collectProfilingData: the items, then the answer. */
    static Commands stream(List<EBPFProfilingData> items) throws Exception {
        CompletableFuture<Commands> answer = new CompletableFuture<>();
        StreamObserver<EBPFProfilingData> out = EBPFProfilingServiceGrpc.newStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS).collectProfilingData(new StreamObserver<>() {
                    @Override
                    public void onNext(Commands v) {
                        answer.complete(v);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answer.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        answer.complete(Commands.getDefaultInstance());
                    }
                });
        items.forEach(out::onNext);
        out.onCompleted();
        try {
            return answer.get(15, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    static byte[] raw(MethodDescriptor<?, ?> method, byte[] body) {
        return ClientCalls.blockingUnaryCall(channel, method.toBuilder(BYTES, BYTES).build(),
                io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), body);
    }

    /**
     * Rover asks for continuous-profiling policies every 10 s: answered (OAP with its own policies; swprof's server,
     * which has none, with no commands).
     */
    @Test
    void continuousProfilingPoliciesAreAnswered() {
        Commands c = ContinuousProfilingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .queryPolicies(ContinuousProfilingPolicyQuery.newBuilder().addPolicies(
                        ContinuousProfilingServicePolicyQuery.newBuilder().setServiceName(SERVICE)).build());
        if (!external) {
            assertEquals(0, c.getCommandsCount(), c::toString);
        }
    }

    @Test
    void badMessagesAnswerAStatusAndChangeNothing() throws Exception {
        // not a protobuf message at all
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> raw(EBPFProcessServiceGrpc.getReportProcessesMethod(), new byte[] {(byte) 0xff, 1, 2, 3}));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("not an EBPFProcessReportList"), e::toString);
        // a process without a service
        e = assertThrows(StatusRuntimeException.class, () -> EBPFProcessServiceGrpc.newBlockingStub(channel)
                .reportProcesses(EBPFProcessReportList.newBuilder().setEbpfAgentID("x").addProcesses(
                        EBPFProcessProperties.newBuilder().setHostProcess(EBPFHostProcessMetadata.newBuilder()
                                .setEntity(EBPFProcessEntityMetadata.newBuilder().setInstanceName("i")
                                        .setProcessName("p")))).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("serviceName is empty"), e::toString);
        // no agent id
        e = assertThrows(StatusRuntimeException.class, () -> EBPFProfilingServiceGrpc.newBlockingStub(channel)
                .queryTasks(EBPFProfilingTaskQuery.newBuilder().build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        if (!server.isExternal()) {
            oversized();
        }
        // data for a task nobody created
        e = assertThrows(StatusRuntimeException.class, () -> stream(List.of(EBPFProfilingData.newBuilder()
                .setTask(EBPFProfilingTaskMetadata.newBuilder().setTaskId("a000000000000000").setProcessId(processId())
                        .setCurrentTime(System.currentTimeMillis()))
                .setOnCPU(EBPFOnCPUProfiling.newBuilder().setDumpCount(1).addStacks(
                        stack(EBPFProfilingStackType.PROCESS_USER_SPACE, 1, "x")))
                .build())));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        // a data stream whose first item carries no task
        e = assertThrows(StatusRuntimeException.class, () -> stream(List.of(EBPFProfilingData.newBuilder()
                .setOnCPU(EBPFOnCPUProfiling.newBuilder().setDumpCount(1)).build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        // nothing changed: no service came from them, and the server answers as before
        Map<String, Object> d = server.query("{ listServices { name } }", null).data();
        assertFalse(d.toString().contains("name=x"), d::toString);
        assertEquals(0, EBPFProfilingServiceGrpc.newBlockingStub(channel).queryTasks(EBPFProfilingTaskQuery
                .newBuilder().setRoverInstanceId("nobody").build()).getCommandsCount());
        List<String> names = new ArrayList<>();
        for (Object s : (List<?>) d.get("listServices")) {
            names.add(String.valueOf(((Map<?, ?>) s).get("name")));
        }
        assertFalse(names.contains(""), names::toString);
    }

    /** larger than grpc.maxMessageBytes (1 MiB here; an OAP has its own limit) */
    static void oversized() {
        byte[] big = EBPFProcessReportList.newBuilder().setEbpfAgentID("x".repeat(2 << 20)).build().toByteArray();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> raw(EBPFProcessServiceGrpc.getReportProcessesMethod(), big));
        // the server refuses it at its header (RESOURCE_EXHAUSTED); a client still sending by then sees its stream
        // reset (CANCELLED)
        assertTrue(e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED
                || e.getStatus().getCode() == Status.Code.CANCELLED, e::toString);
    }
}
