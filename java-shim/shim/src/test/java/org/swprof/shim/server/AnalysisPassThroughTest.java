package org.swprof.shim.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.swprof.shim.Requests.TaskCreate;
import org.swprof.shim.TestCore;
import org.swprof.shim.graphql.AnalysisPassThrough;
import org.swprof.shim.graphql.Json;
import org.swprof.shim.graphql.SwprofGraphQL;

/**
 * Analysis answers passed through from the core ({@link AnalysisPassThrough}) are the bytes graphql-java writes:
 * every request is sent to two servers over the same core, one passing analyses through and one not, and the
 * replies must be identical — for the standard selection (where the pass-through happens), for every other
 * selection, for tips, errors and variables, and for symbols that need escaping.
 */
class AnalysisPassThroughTest {
    static TestCore t;
    static HttpServer with;
    static HttpServer without;
    static final HttpClient CLIENT = HttpClient.newHttpClient();
    static String task;
    static String plainSchedule;
    static String oddSchedule;
    static String controlSchedule;
    static String astralSchedule;

    static final String UI_ANALYSIS = """
            query analysisEBPFResult($scheduleIdList: [ID!]!, $timeRanges: [EBPFProfilingAnalyzeTimeRange!]!, $aggregateType: EBPFProfilingAnalyzeAggregateType) {
              analysisEBPFResult: analysisEBPFProfilingResult(scheduleIdList: $scheduleIdList, timeRanges: $timeRanges, aggregateType: $aggregateType) {
                tip
                trees {
                  elements {
                    id
                    parentId
                    symbol
                    stackType
                    dumpCount
                  }
                }
              }
            }""";

    @BeforeAll
    static void start() {
        t = TestCore.open();
        Map<String, Object> p = t.register("sqrt", "sqrt", List.of("a"));
        String processId = (String) p.get("id");
        Map<?, ?> created = (Map<?, ?>) Json.parse(t.core.createTask(new TaskCreate(true, "PROCESS_ID", processId, null,
                null, 1_000_000L, 3600, "ON_CPU", 1_000_000L)));
        task = created.get("id").toString();
        // one process per schedule: the imports of one process go on in its schedule
        plainSchedule = importAt(processId, 1_001_000L, """
                main;work;spin 7
                main;work 3
                main;io;read;do_syscall_64_[k];ksys_read_[k] 2
                thread_start;loop;poll 5
                """);
        // quotes, backslashes, a tab, '/', DEL and UTF-8 of 2 and 3 bytes: canonical, passed through
        oddSchedule = importAt(other("odd"), 1_002_000L,
                "main;q\"uote;back\\slash;t\tab;a/b;del\u007f;caf\u00e9;\u4e2d\u6587;\ufffd 4\n"
                        + "main;std::vector<int>::at(unsigned long) 2\n");
        // control characters: the core writes them as backslash-u00XX escapes, Jackson as \b or with upper-case
        // hex digits; a character above U+FFFF: Jackson writes a pair of escaped surrogates. Not canonical:
        // built by graphql-java
        controlSchedule = importAt(other("control"), 1_003_000L, "main;bell\u0007;esc\u001b;bs\b 3\nmain 1\n");
        astralSchedule = importAt(other("astral"), 1_004_000L, "main;smile\ud83d\ude00 2\n");
        SwprofGraphQL gql = new SwprofGraphQL(t.core);
        with = HttpServer.start("127.0.0.1", 0, 2, 1 << 20, gql, t.core, HttpServer.Status.self("127.0.0.1", 0), true);
        without = HttpServer.start("127.0.0.1", 0, 2, 1 << 20, gql, t.core, HttpServer.Status.self("127.0.0.1", 0),
                false);
    }

    static String other(String name) {
        return (String) t.register("sqrt", name, List.of("a")).get("id");
    }

    static String importAt(String processId, long timeMs, String folded) {
        Map<?, ?> r = (Map<?, ?>) Json.parse(t.core.importFolded(task, processId, timeMs, folded));
        return r.get("scheduleId").toString();
    }

    @AfterAll
    static void stop() {
        if (with != null) {
            with.close();
        }
        if (without != null) {
            without.close();
        }
        t.close();
    }

    static byte[] post(HttpServer s, String query, Map<String, Object> variables) throws IOException,
            InterruptedException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("query", query);
        if (variables != null) {
            body.put("variables", variables);
        }
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/graphql"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.MAPPER.writeValueAsBytes(body))).build();
        HttpResponse<byte[]> r = CLIENT.send(req, HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    /** The reply of both servers (identical), and how many answers the first one passed through for it. */
    static long same(String query, Map<String, Object> variables) throws Exception {
        long before = AnalysisPassThrough.passedThrough();
        byte[] a = post(with, query, variables);
        long passed = AnalysisPassThrough.passedThrough() - before;
        byte[] b = post(without, query, variables);
        assertEquals(AnalysisPassThrough.passedThrough() - before, passed, "the server without it passed through");
        assertArrayEquals(b, a, () -> "with pass-through:\n" + new String(a, StandardCharsets.UTF_8)
                + "\nwithout:\n" + new String(b, StandardCharsets.UTF_8));
        return passed;
    }

    static Map<String, Object> vars(List<Object> ids, long start, long end) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("scheduleIdList", ids);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("start", start);
        r.put("end", end);
        v.put("timeRanges", List.of(r));
        v.put("aggregateType", "COUNT");
        return v;
    }

    @Test
    void theUiQueryIsPassedThroughAndIdentical() throws Exception {
        assertEquals(1, same(UI_ANALYSIS, vars(List.of(plainSchedule), 1_000_000L, 1_010_000L)));
        assertEquals(1, same(UI_ANALYSIS, vars(List.of(oddSchedule), 1_000_000L, 1_010_000L)));
        assertEquals(1, same(UI_ANALYSIS, vars(List.of(plainSchedule, oddSchedule), 1_000_000L, 1_010_000L)));
        // null entries are skipped (the UI sends them), then the tree is passed through
        List<Object> withNull = new ArrayList<>();
        withNull.add(null);
        withNull.add(plainSchedule);
        assertEquals(1, same(UI_ANALYSIS, vars(withNull, 1_000_000L, 1_010_000L)));
        // an empty window and an unknown schedule: trees [] and a tip
        assertEquals(1, same(UI_ANALYSIS, vars(List.of(plainSchedule), 2_000_000L, 2_010_000L)));
        assertEquals(1, same(UI_ANALYSIS, vars(List.of("999"), 1_000_000L, 1_010_000L)));
        assertEquals(1, same(UI_ANALYSIS, vars(List.of(plainSchedule), 1_010_000L, 1_000_000L)));
    }

    @Test
    void theSeedQueryWithLiteralArgumentsIsPassedThrough() throws Exception {
        // the task's plain and odd schedules only (the others are not canonical)
        String q = "{ getEBPFProfilingAnalyzation(taskId: \"" + task + "\", timeRanges: [{start: 1000000, end: 1002999}])"
                + " { tip trees { elements { id parentId symbol stackType dumpCount } } } }";
        assertEquals(1, same(q, null));
        // two analyses and another field in one request; @include on the field itself is graphql-java's business
        String two = "query { version a: getEBPFProfilingAnalyzation(taskId: \"" + task
                + "\", timeRanges: [{start: 1000000, end: 1001999}]) { tip trees { elements { id parentId symbol "
                + "stackType dumpCount } } } b: analysisEBPFProfilingResult(scheduleIdList: [\"" + oddSchedule
                + "\"], timeRanges: [{start: 1000000, end: 1010000}]) @include(if: true) { tip trees { elements { id "
                + "parentId symbol stackType dumpCount } } } }";
        assertEquals(2, same(two, null));
        String skipped = "query { version a: getEBPFProfilingAnalyzation(taskId: \"" + task
                + "\", timeRanges: [{start: 1000000, end: 1002999}]) @skip(if: true) { tip trees { elements { id "
                + "parentId symbol stackType dumpCount } } } }";
        assertEquals(0, same(skipped, null));
    }

    @Test
    void otherSelectionsAreBuiltByGraphqlJavaAndIdentical() throws Exception {
        String head = "query($ids: [ID!]!) { r: analysisEBPFProfilingResult(scheduleIdList: $ids, "
                + "timeRanges: [{start: 1000000, end: 1010000}]) ";
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("ids", List.of(plainSchedule, oddSchedule));
        for (String sel : List.of(
                "{ trees { elements { id parentId symbol stackType dumpCount } } tip }",
                "{ tip trees { elements { parentId id symbol stackType dumpCount } } }",
                "{ tip trees { elements { id parentId symbol stackType } } }",
                "{ tip trees { elements { id parentId symbol stackType count: dumpCount } } }",
                "{ tip trees { elements { id parentId symbol stackType dumpCount __typename } } }",
                "{ __typename tip trees { elements { id parentId symbol stackType dumpCount } } }",
                "{ tip trees { elements { ...E } } } } fragment E on EBPFProfilingStackElement { id parentId symbol "
                        + "stackType dumpCount",
                "{ tip trees { elements { id parentId symbol @include(if: true) stackType dumpCount } } }",
                "{ tip trees { elements { id parentId symbol stackType dumpCount } elements2: elements { id } } }",
                "{ tip }")) {
            assertEquals(0, same(head + sel + " }", v), sel);
        }
    }

    static Map<String, Object> side(String schedule, long start, long end) {
        Map<String, Object> v = vars(List.of(schedule), start, end);
        v.remove("aggregateType");
        return v;
    }

    @Test
    void theDiffIsPassedThroughAndIdentical() throws Exception {
        String q = """
                query ($before: EBPFProfilingAnalyzeSide!, $after: EBPFProfilingAnalyzeSide!) {
                  diff: diffEBPFProfilingAnalyzation(before: $before, after: $after, aggregateType: COUNT) {
                    tip trees { elements { id parentId symbol stackType beforeCount afterCount } }
                  }
                }""";
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("before", side(plainSchedule, 1_000_000L, 1_010_000L));
        v.put("after", side(oddSchedule, 1_000_000L, 1_010_000L));
        assertEquals(1, same(q, v));
        // a tip (unknown schedule), an empty side
        v.put("after", side("999", 1_000_000L, 1_010_000L));
        assertEquals(1, same(q, v));
        v.put("after", side(plainSchedule, 2_000_000L, 2_010_000L));
        assertEquals(1, same(q, v));
        // not canonical, or another selection: graphql-java builds it, the same bytes
        v.put("after", side(controlSchedule, 1_000_000L, 1_010_000L));
        assertEquals(0, same(q, v));
        v.put("after", side(oddSchedule, 1_000_000L, 1_010_000L));
        assertEquals(0, same(q.replace("beforeCount afterCount", "afterCount beforeCount"), v));
        assertEquals(0, same(q.replace("stackType beforeCount", "stackType __typename beforeCount"), v));
    }

    @Test
    void answersThatAreNotCanonicalAreBuiltByGraphqlJava() throws Exception {
        assertEquals(0, same(UI_ANALYSIS, vars(List.of(controlSchedule), 1_000_000L, 1_010_000L)));
        assertEquals(0, same(UI_ANALYSIS, vars(List.of(controlSchedule, plainSchedule), 1_000_000L, 1_010_000L)));
        assertEquals(0, same(UI_ANALYSIS, vars(List.of(astralSchedule), 1_000_000L, 1_010_000L)));
    }

    /** Random symbols over the whole Basic Multilingual Plane and beyond: identical, passed through or not. */
    @Test
    void randomSymbolsAreIdentical() throws Exception {
        java.util.Random rnd = new java.util.Random(5);
        String processId = null;
        for (Object o : (List<?>) Json.parse(t.core.processes(null, null, null, 0, 0))) {
            processId = (String) ((Map<?, ?>) o).get("id");
        }
        long passed = 0;
        for (int round = 0; round < 12; round++) {
            StringBuilder folded = new StringBuilder();
            for (int line = 0; line < 20; line++) {
                int depth = 1 + rnd.nextInt(5);
                for (int d = 0; d < depth; d++) {
                    folded.append(d == 0 ? "" : ";").append("f").append(rnd.nextInt(4));
                    for (int k = rnd.nextInt(6); k > 0; k--) {
                        folded.appendCodePoint(randomCodePoint(rnd, round));
                    }
                    if (rnd.nextInt(8) == 0) {
                        folded.append("_[k]");
                    }
                }
                folded.append(' ').append(1 + rnd.nextInt(9)).append('\n');
            }
            String schedule = importAt(processId, 1_100_000L + round * 1000L, folded.toString());
            passed += same(UI_ANALYSIS, vars(List.of(schedule), 1_100_000L + round * 1000L,
                    1_100_000L + round * 1000L + 999));
        }
        // rounds 0-7 are canonical (ASCII, then any character of the BMP but controls): passed through
        assertTrue(passed >= 8, "passed through: " + passed);
    }

    /** Rounds 0-3 printable ASCII; 4-7 also DEL, C1, Latin-1, U+2028, U+FEFF, U+FFFE and any other BMP character
     * but the controls; 8-11 also controls and characters above U+FFFF. */
    static int randomCodePoint(java.util.Random rnd, int round) {
        int kind = rnd.nextInt(round < 4 ? 2 : 12);
        if (round < 8 && (kind == 5 || kind == 11)) {
            kind = 8;
        }
        int cp = switch (kind) {
            case 0, 1, 2, 3, 4 -> 0x20 + rnd.nextInt(0x5f);
            case 5 -> rnd.nextInt(0x20);
            case 6 -> 0x7f + rnd.nextInt(0x81);
            case 7 -> new int[] {0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff, 0xfffd}[rnd.nextInt(6)];
            case 8, 9 -> 0x100 + rnd.nextInt(0xd800 - 0x100);
            case 10 -> 0xe000 + rnd.nextInt(0x2000);
            default -> 0x10000 + rnd.nextInt(0x100000);
        };
        return cp == ';' || cp == '\n' || cp == '\r' || cp == 0 ? 'x' : cp;
    }

    @Test
    void errorsAreIdentical() throws Exception {
        // a missing variable, a wrong type, an unknown field, a syntax error, a bad enum
        assertEquals(0, same(UI_ANALYSIS, null));
        Map<String, Object> bad = vars(List.of(plainSchedule), 1_000_000L, 1_010_000L);
        bad.put("timeRanges", "soon");
        assertEquals(0, same(UI_ANALYSIS, bad));
        assertEquals(0, same("{ analysisEBPFProfilingResult(scheduleIdList: [], timeRanges: []) { tip nope } }", null));
        assertEquals(0, same("{ analysisEBPFProfilingResult(", null));
        Map<String, Object> agg = vars(List.of(plainSchedule), 1_000_000L, 1_010_000L);
        agg.put("aggregateType", "SOMETIMES");
        assertEquals(0, same(UI_ANALYSIS, agg));
        // an error of the core (a time range the core refuses to read) is the same error
        String tooMany = "{ analysisEBPFProfilingResult(scheduleIdList: [\"" + plainSchedule + "\"], timeRanges: ["
                + "{start: 1000000, end: 1010000}], aggregateType: DURATION) { tip trees { elements { id parentId "
                + "symbol stackType dumpCount } } } }";
        same(tooMany, null);
    }

    @Test
    void theReplyIsTheCoresJson() throws Exception {
        byte[] reply = post(with, UI_ANALYSIS, vars(List.of(plainSchedule), 1_000_000L, 1_010_000L));
        String s = new String(reply, StandardCharsets.UTF_8);
        assertTrue(s.startsWith("{\"data\":{\"analysisEBPFResult\":{\"tip\":null,\"trees\":[{\"elements\":[{\"id\":\"1\","
                + "\"parentId\":\"0\",\"symbol\":\"main\",\"stackType\":\"USER_SPACE\",\"dumpCount\":12}"), s);
        assertTrue(s.endsWith("]}]}}}"), s);
    }
}
