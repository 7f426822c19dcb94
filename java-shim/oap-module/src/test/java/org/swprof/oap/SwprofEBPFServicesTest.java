package org.swprof.oap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;

import org.apache.skywalking.oap.server.core.profiling.ebpf.storage.EBPFProfilingStackType;
import org.apache.skywalking.oap.server.core.profiling.ebpf.storage.EBPFProfilingTargetType;
import org.apache.skywalking.oap.server.core.profiling.ebpf.storage.EBPFProfilingTriggerType;
import org.apache.skywalking.oap.server.core.query.enumeration.Step;
import org.apache.skywalking.oap.server.core.query.input.Duration;
import org.apache.skywalking.oap.server.core.query.input.EBPFProfilingTaskFixedTimeCreationRequest;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingAnalyzation;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingAnalyzeAggregateType;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingAnalyzeTimeRange;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingSchedule;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingStackElement;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingTask;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingTaskCreationResult;
import org.apache.skywalking.oap.server.core.query.type.EBPFProfilingTaskPrepare;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swprof.shim.CoreOptions;
import org.swprof.shim.Requests;
import org.swprof.shim.SwprofCore;

/**
 * The OAP service subclasses against a real core: the OAP's own DTOs come out filled (no OAP runtime needed:
 * the services never touch the module manager).
 */
class SwprofEBPFServicesTest {
    @TempDir
    Path dir;
    SwprofCore core;
    Process child;
    SwprofEBPFQueryService query;
    SwprofEBPFMutationService mutation;
    String serviceId;

    @BeforeEach
    void open() throws IOException {
        core = SwprofCore.open(CoreOptions.storeOnly(dir).withHost("10.0.0.1", "oap-host"));
        child = new ProcessBuilder("sleep", "600").start();
        core.registerProcess(new Requests.ProcessSpec((int) child.pid(), "sqrt", null, null, null, List.of("e2e")));
        serviceId = "c3FydA==.1";
        query = new SwprofEBPFQueryService(null, null, core);
        mutation = new SwprofEBPFMutationService(null, null, core);
    }

    @AfterEach
    void close() {
        core.close();
        child.destroyForcibly();
    }

    @Test
    void aWholeRoundInOapTypes() throws Exception {
        EBPFProfilingTaskPrepare prep = query.queryPrepareCreateEBPFProfilingTaskData(serviceId);
        assertTrue(prep.isCouldProfiling());
        assertEquals(List.of("e2e"), prep.getProcessLabels());

        EBPFProfilingTaskFixedTimeCreationRequest req = new EBPFProfilingTaskFixedTimeCreationRequest();
        req.setServiceId(serviceId);
        req.setProcessLabels(List.of());
        req.setStartTime(System.currentTimeMillis() + 86_400_000L);
        req.setDuration(600);
        req.setTargetType(EBPFProfilingTargetType.ON_CPU);
        EBPFProfilingTaskCreationResult created = mutation.createTask(req);
        assertTrue(created.isStatus(), created::toString);
        String taskId = created.getId();

        req.setDuration(10);
        EBPFProfilingTaskCreationResult bad = mutation.createTask(req);
        assertEquals("the fixed time duration must be greater than or equals 60s", bad.getErrorReason());

        Duration today = new Duration();
        String d = java.time.LocalDate.now().toString();
        today.setStart(d);
        today.setEnd(d);
        today.setStep(Step.DAY);
        List<EBPFProfilingTask> tasks = query.queryEBPFProfilingTasks(serviceId, null,
                List.of(EBPFProfilingTargetType.ON_CPU, EBPFProfilingTargetType.OFF_CPU),
                EBPFProfilingTriggerType.FIXED_TIME, today);
        assertEquals(1, tasks.size());
        EBPFProfilingTask task = tasks.get(0);
        assertEquals(taskId, task.getTaskId());
        assertEquals("sqrt", task.getServiceName());
        assertEquals(EBPFProfilingTargetType.ON_CPU, task.getTargetType());
        assertEquals(EBPFProfilingTriggerType.FIXED_TIME, task.getTriggerType());
        assertEquals(600, task.getFixedTriggerDuration());

        long t0 = LocalDateTime.of(2022, 3, 30, 10, 10, 30).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
        @SuppressWarnings("unchecked")
        Map<String, Object> imported = Dto.MAPPER.readValue(core.importFolded(taskId,
                ((String) Dto.MAPPER.readValue(core.processes(serviceId, null, null, 0, 0), List.class).stream()
                        .map(p -> ((Map<?, ?>) p).get("id")).findFirst().orElseThrow()),
                t0, "A;B;C 3\nA;B 5\nA;B 3\nA;k_[k] 1\n"), Map.class);
        assertNotNull(imported.get("scheduleId"));

        List<EBPFProfilingSchedule> schedules = query.queryEBPFProfilingSchedules(taskId);
        assertEquals(1, schedules.size());
        EBPFProfilingSchedule s = schedules.get(0);
        assertEquals(t0, s.getStartTime());
        assertEquals("sqrt", s.getProcess().getServiceName());
        assertEquals(List.of("e2e"), s.getProcess().getLabels());
        assertTrue(s.getProcess().getAttributes().stream().anyMatch(a -> a.getName().equals("pid")));

        EBPFProfilingAnalyzeTimeRange r = new EBPFProfilingAnalyzeTimeRange();
        r.setStart(t0 - 1000);
        r.setEnd(t0 + 1000);
        EBPFProfilingAnalyzation a = query.getEBPFProfilingAnalyzation(
                java.util.Arrays.asList(s.getScheduleId(), null), List.of(r), EBPFProfilingAnalyzeAggregateType.COUNT);
        List<EBPFProfilingStackElement> els = a.getTrees().get(0).getElements();
        assertEquals(1, els.get(0).getId());
        assertEquals(0, els.get(0).getParentId());
        assertEquals("A", els.get(0).getSymbol());
        assertEquals(12, els.get(0).getDumpCount());
        assertTrue(els.stream().anyMatch(e -> e.getStackType() == EBPFProfilingStackType.KERNEL_SPACE));
    }

    @Test
    void coreErrorsBecomeIOExceptionsWithTheReason() {
        IOException e = assertThrows(IOException.class,
                () -> query.queryEBPFProfilingTasks(null, null, null, null, null));
        assertEquals("please provide the task condition", e.getMessage());
    }
}
