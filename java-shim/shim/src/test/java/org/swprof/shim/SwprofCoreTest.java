package org.swprof.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.swprof.shim.graphql.Json;

/** The JNI handle class against the real library and a real RocksDB. */
class SwprofCoreTest {

    @Test
    void loadsFromTheConfiguredPath() {
        SwprofCore.setNativeLogLevel(SwprofCore.LOG_INFO); // forces class init
        assertNotNull(NativeLibrary.loadedFrom());
    }

    @Test
    void closeIsIdempotentAndAClosedCoreRefusesCalls() {
        TestCore t = TestCore.open();
        t.core.close();
        t.core.close();
        assertTrue(t.core.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.core.services(null));
        assertEquals("swprof core is closed", e.getMessage());
        t.close(); // closes again, removes the directory
    }

    @Test
    void closeWaitsForCallsInFlightAndLaterCallsFailCleanly() throws Exception {
        TestCore t = TestCore.open();
        t.register("busy", null, null);
        int threads = 4;
        CountDownLatch started = new CountDownLatch(threads);
        AtomicInteger ok = new AtomicInteger();
        ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread th = new Thread(() -> {
                started.countDown();
                while (true) {
                    try {
                        byte[] b = t.core.processes(null, null, null, 0, 0);
                        assertTrue(b.length > 2);
                        ok.incrementAndGet();
                    } catch (IllegalStateException closed) {
                        return;
                    } catch (Throwable x) {
                        unexpected.add(x);
                        return;
                    }
                }
            });
            th.start();
            ts.add(th);
        }
        started.await();
        Thread.sleep(200);
        t.core.close();
        for (Thread th : ts) {
            th.join(10_000);
            assertFalse(th.isAlive());
        }
        assertTrue(unexpected.isEmpty(), () -> "unexpected: " + unexpected);
        assertTrue(ok.get() > 0);
        t.close();
    }

    @Test
    void argumentsAreCheckedBeforeCrossing() {
        try (TestCore t = TestCore.open()) {
            assertThrows(IllegalArgumentException.class, () -> t.core.process("a\0b"));
            assertThrows(IllegalArgumentException.class, () -> t.core.process(null));
            assertThrows(IllegalArgumentException.class, () -> t.core.schedules(null, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> t.core.instances(null, 0, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> new Requests.ProcessSpec(0, "svc", null, null, null, null));
            assertThrows(IllegalArgumentException.class, () -> t.core.createTask(
                    Requests.TaskCreate.current("s", java.util.Arrays.asList("a", null), 0, 60, "ON_CPU")));
        }
    }

    @Test
    void aDiffCrossesOnceWithBothSidesAndItsFigures() {
        try (TestCore t = TestCore.open()) {
            Map<String, Object> p = t.register("busy", null, null);
            Map<?, ?> task = (Map<?, ?>) Json.parse(t.core.createTask(new Requests.TaskCreate(true, "PROCESS_ID",
                    (String) p.get("id"), null, null, 1_000_000L, 3600, "ON_CPU", 1_000_000L)));
            Map<?, ?> imp = (Map<?, ?>) Json.parse(t.core.importFolded(task.get("id").toString(), null, 1_001_000L,
                    "m;a 3\nm;b 1\n"));
            String s = imp.get("scheduleId").toString();
            t.core.importFolded(task.get("id").toString(), null, 1_005_000L, "m;a 1\nm;c 5\n");
            Requests.Analyze before = Requests.Analyze.ofSchedules(List.of(s),
                    List.of(new Requests.TimeRange(1_001_000L, 1_001_999L)), null);
            Requests.Analyze after = Requests.Analyze.ofTask(task.get("id").toString(),
                    List.of(new Requests.TimeRange(1_005_000L, 1_005_999L)));
            SwprofCore.AnalysisResult r = t.core.diffWithInfo(before, after, Requests.Aggregate.COUNT);
            assertEquals("{\"tip\":null,\"trees\":[{\"elements\":["
                    + "{\"id\":\"1\",\"parentId\":\"0\",\"symbol\":\"m\",\"stackType\":\"USER_SPACE\",\"beforeCount\":4,\"afterCount\":6},"
                    + "{\"id\":\"2\",\"parentId\":\"1\",\"symbol\":\"c\",\"stackType\":\"USER_SPACE\",\"beforeCount\":0,\"afterCount\":5},"
                    + "{\"id\":\"3\",\"parentId\":\"1\",\"symbol\":\"a\",\"stackType\":\"USER_SPACE\",\"beforeCount\":3,\"afterCount\":1},"
                    + "{\"id\":\"4\",\"parentId\":\"1\",\"symbol\":\"b\",\"stackType\":\"USER_SPACE\",\"beforeCount\":1,\"afterCount\":0}"
                    + "]}]}", new String(r.json(), StandardCharsets.UTF_8));
            assertEquals(6, r.samples());
            assertEquals(4, r.elements());
            assertEquals(4, r.records());
            assertTrue(r.canonicalJson());
            // null schedule ids are skipped, as the analysis skips them; a NUL is refused before crossing
            Requests.Analyze withNull = Requests.Analyze.ofSchedules(java.util.Arrays.asList(null, s),
                    before.ranges(), null);
            String same = new String(t.core.diffWithInfo(before, withNull, null).json(), StandardCharsets.UTF_8);
            assertTrue(same.contains("\"symbol\":\"a\",\"stackType\":\"USER_SPACE\",\"beforeCount\":3,\"afterCount\":3}"),
                    same);
            assertFalse(same.contains("\"symbol\":\"c\""), same);
            assertThrows(IllegalArgumentException.class, () -> t.core.diffWithInfo(before,
                    Requests.Analyze.ofSchedules(List.of("a\0b"), before.ranges(), null), null));
            assertThrows(NullPointerException.class, () -> t.core.diffWithInfo(null, after, null));
            t.core.close();
            assertThrows(IllegalStateException.class, () -> t.core.diffWithInfo(before, after, null));
        }
    }

    @Test
    void aFailureOfTheCoreIsAnExceptionWithItsReason() {
        try (TestCore t = TestCore.open()) {
            SwprofException e = assertThrows(SwprofException.class,
                    () -> t.core.tasks(new Requests.TaskQuery(null, "", null, null, null, null, 0, 0)));
            assertEquals("please provide the task condition", e.getMessage());
            assertEquals(22, e.errno()); // EINVAL
        }
    }

    @Test
    void aBadRuleFailsTheOpenWithTheCoresReason(@org.junit.jupiter.api.io.TempDir Path dir) {
        CoreOptions o = CoreOptions.storeOnly(dir).withRules(
                List.of(new DiscoveryRule("(unclosed", "svc", null, null, null, null)));
        SwprofException e = assertThrows(SwprofException.class, () -> SwprofCore.open(o));
        assertTrue(e.getMessage().contains("rules[0]"), e.getMessage());
    }

    @Test
    void aStoreCanBeReopened(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Process p = new ProcessBuilder("sleep", "600").start();
        try {
            try (SwprofCore c = SwprofCore.open(CoreOptions.storeOnly(dir))) {
                c.registerProcess(new Requests.ProcessSpec((int) p.pid(), "reopen", null, null, null, null));
            }
            assertTrue(Files.list(dir).findAny().isPresent());
            try (SwprofCore c = SwprofCore.open(CoreOptions.storeOnly(dir))) {
                List<Object> services = Json.parseList(c.services(null));
                assertEquals(1, services.size());
                assertEquals(TestCore.serviceId("reopen"), ((Map<?, ?>) services.get(0)).get("id"));
            }
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void namesOutsideTheBmpKeepTheirUtf8Ids() {
        try (TestCore t = TestCore.open()) {
            String name = "svc-\uD83D\uDE00-\u00FC"; // an emoji (4 UTF-8 bytes) and a Latin-1 letter
            Map<String, Object> p = t.register(name, "proc-\u00E9", List.of("l\u00E4bel"));
            String sid = TestCore.serviceId(name);
            assertEquals(sid, p.get("serviceId"));
            assertEquals(name, p.get("serviceName"));
            assertEquals("proc-\u00E9", p.get("name"));
            String iid = TestCore.instanceId(sid, TestCore.HOST);
            assertEquals(iid, p.get("instanceId"));
            assertEquals(TestCore.processId("proc-\u00E9", iid), p.get("id"));
            assertEquals(List.of("l\u00E4bel"), p.get("labels"));
            String raw = new String(t.core.services(null), StandardCharsets.UTF_8);
            assertTrue(raw.contains(name), raw);
        }
    }

    @Test
    void unknownProcessIsJsonNull() {
        try (TestCore t = TestCore.open()) {
            assertEquals("null", new String(t.core.process("no-such-process"), StandardCharsets.UTF_8));
        }
    }

    @Test
    void foldedStacksAnalyzeWithoutAStore() {
        Json.Analysis a = Json.parseAnalysis(SwprofCore.analyzeFolded("A;B;C 3\nA;B 5\nA;B 3\n"));
        assertEquals(1, a.trees().size());
        List<Json.Element> e = a.trees().get(0).elements();
        assertEquals(List.of("A", "B", "C"), e.stream().map(Json.Element::symbol).toList());
        assertEquals(List.of(11L, 11L, 3L), e.stream().map(Json.Element::dumpCount).toList());
    }
}
