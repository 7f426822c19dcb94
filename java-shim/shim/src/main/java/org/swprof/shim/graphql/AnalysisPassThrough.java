package org.swprof.shim.graphql;

import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import graphql.execution.MergedField;
import graphql.execution.ResultPath;
import graphql.language.Field;
import graphql.language.Selection;
import graphql.language.SelectionSet;
import graphql.schema.DataFetchingEnvironment;
import org.swprof.shim.SwprofCore.AnalysisResult;

/**
 * The analysis fields' JSON, passed from the core to the HTTP response as it is.
 *
 * <p>An analysis answer has 100k+ stack elements, and graphql-java spends microseconds on each (a 100k-element
 * tree took about half a second). Yet for the selection every client sends,
 * <pre>{@code
 *   tip trees { elements { id parentId symbol stackType dumpCount } }
 * }</pre>
 * graphql-java would write exactly the bytes the core has already written, provided they are canonical JSON (see
 * {@link AnalysisResult#canonicalJson()}). So while the HTTP server executes a request inside a {@link Scope},
 * the analysis resolvers hand such an answer to the scope and give graphql-java an empty tree in its place;
 * parsing, validation, variables, aliases, limits, errors and every other field stay graphql-java's. After
 * execution {@link Scope#splice} puts the core's bytes where the empty trees are, and they are written out
 * unchanged.
 *
 * <p>Anything else takes the normal path: another selection (other fields, another order, aliases or directives
 * inside it, fragments, {@code __typename}), an answer that is not canonical, a fetcher running outside the
 * request's thread, or a request executed without a scope (in-process callers, the OAP module).
 */
public final class AnalysisPassThrough {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();
    private static final AtomicLong PASSED = new AtomicLong();
    private static final List<String> ELEMENT_FIELDS = List.of("id", "parentId", "symbol", "stackType",
            "dumpCount");
    /** The elements of diffEBPFProfilingAnalyzation, passed through the same way. */
    private static final List<String> DIFF_ELEMENT_FIELDS = List.of("id", "parentId", "symbol", "stackType",
            "beforeCount", "afterCount");

    private AnalysisPassThrough() {
    }

    /** Analyses passed through since the start (for tests and statistics). */
    public static long passedThrough() {
        return PASSED.get();
    }

    /** Starts passing analyses through on this thread until the scope is closed. */
    public static Scope open() {
        Scope s = new Scope();
        CURRENT.set(s);
        return s;
    }

    /**
     * What an analysis resolver returns: an empty placeholder when the answer is passed through, else the answer
     * parsed for graphql-java.
     */
    static Object resolve(DataFetchingEnvironment env, AnalysisResult result) {
        return passed(env, result, ELEMENT_FIELDS) ? new Json.Analysis(null, List.of())
                : Json.parseAnalysis(result.json());
    }

    /**
     * The same for diffEBPFProfilingAnalyzation, whose standard selection is
     * {@code tip trees { elements { id parentId symbol stackType beforeCount afterCount } }}; any other is
     * answered from the parsed JSON (maps, read by graphql-java's default fetchers).
     */
    static Object resolveDiff(DataFetchingEnvironment env, AnalysisResult result) {
        if (passed(env, result, DIFF_ELEMENT_FIELDS)) {
            Map<String, Object> empty = new LinkedHashMap<>();
            empty.put("tip", null);
            empty.put("trees", List.of());
            return empty;
        }
        return Json.parse(result.json());
    }

    /** Hands the answer to the request's scope when it can go through as it is. */
    private static boolean passed(DataFetchingEnvironment env, AnalysisResult result, List<String> elementFields) {
        Scope scope = CURRENT.get();
        if (scope != null && result.canonicalJson() && isStandard(env.getMergedField(), elementFields)) {
            ResultPath path = env.getExecutionStepInfo().getPath();
            if (path.getLevel() == 1 && !scope.raw.containsKey(path.getSegmentName())) {
                scope.raw.put(path.getSegmentName(), result.json());
                PASSED.incrementAndGet();
                return true;
            }
        }
        return false;
    }

    /** {@code tip trees { elements { id parentId symbol stackType dumpCount } }}, nothing else, in this order. */
    static boolean isStandard(MergedField mf) {
        return isStandard(mf, ELEMENT_FIELDS);
    }

    private static boolean isStandard(MergedField mf, List<String> elementFields) {
        if (mf == null || mf.getFields().size() != 1) {
            return false;
        }
        List<Selection> top = selections(mf.getSingleField());
        if (top == null || top.size() != 2 || leaf(top.get(0), "tip") == null) {
            return false;
        }
        Field trees = plain(top.get(1), "trees");
        List<Selection> t = trees == null ? null : selections(trees);
        if (t == null || t.size() != 1) {
            return false;
        }
        Field elements = plain(t.get(0), "elements");
        List<Selection> e = elements == null ? null : selections(elements);
        if (e == null || e.size() != elementFields.size()) {
            return false;
        }
        for (int i = 0; i < e.size(); i++) {
            if (leaf(e.get(i), elementFields.get(i)) == null) {
                return false;
            }
        }
        return true;
    }

    /** A field of that name without alias, arguments or directives. */
    private static Field plain(Selection<?> s, String name) {
        if (s instanceof Field f && f.getName().equals(name) && f.getAlias() == null && f.getArguments().isEmpty()
                && f.getDirectives().isEmpty()) {
            return f;
        }
        return null;
    }

    private static Field leaf(Selection<?> s, String name) {
        Field f = plain(s, name);
        return f != null && selections(f) == null ? f : null;
    }

    /** The field's selections, or null when it has none. */
    private static List<Selection> selections(Field f) {
        SelectionSet ss = f.getSelectionSet();
        return ss == null || ss.getSelections().isEmpty() ? null : ss.getSelections();
    }

    /** The analyses passed through while it is open (response key of a top-level field -> the core's JSON). */
    public static final class Scope implements AutoCloseable {
        private final Map<String, byte[]> raw = new LinkedHashMap<>();

        private Scope() {
        }

        /** True when some analysis was passed through: {@link #splice} has work to do. */
        public boolean isEmpty() {
            return raw.isEmpty();
        }

        /**
         * The reply with the core's JSON in place of each placeholder. A field that graphql-java did not complete
         * (data null after an error) keeps what execution gave.
         */
        @SuppressWarnings("unchecked")
        public Map<String, Object> splice(Map<String, Object> reply) {
            if (raw.isEmpty() || !(reply.get("data") instanceof Map<?, ?> data)) {
                return reply;
            }
            Map<String, Object> d = new LinkedHashMap<>((Map<String, Object>) data);
            boolean changed = false;
            for (Map.Entry<String, byte[]> e : raw.entrySet()) {
                if (d.get(e.getKey()) instanceof Map) {
                    d.put(e.getKey(), new RawJson(e.getValue()));
                    changed = true;
                }
            }
            if (!changed) {
                return reply;
            }
            Map<String, Object> out = new LinkedHashMap<>(reply);
            out.put("data", d);
            return out;
        }

        @Override
        public void close() {
            if (CURRENT.get() == this) {
                CURRENT.remove();
            }
        }
    }

    /** A JSON value written as it is (UTF-8 bytes), by Jackson's generator without copying to a String. */
    static final class RawJson implements JsonSerializable {
        private final byte[] json;

        RawJson(byte[] json) {
            this.json = json;
        }

        @Override
        public void serialize(JsonGenerator gen, SerializerProvider serializers) throws IOException {
            gen.writeRawValue(new Utf8(json));
        }

        @Override
        public void serializeWithType(JsonGenerator gen, SerializerProvider serializers, TypeSerializer typeSer)
                throws IOException {
            serialize(gen, serializers);
        }
    }

    /** The few SerializableString methods a raw write uses, over UTF-8 bytes. */
    private record Utf8(byte[] bytes) implements SerializableString {
        @Override
        public String getValue() {
            return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public int charLength() {
            return getValue().length();
        }

        @Override
        public char[] asQuotedChars() {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public byte[] asUnquotedUTF8() {
            return bytes;
        }

        @Override
        public byte[] asQuotedUTF8() {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int appendQuotedUTF8(byte[] buffer, int offset) {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int appendQuoted(char[] buffer, int offset) {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int appendUnquotedUTF8(byte[] buffer, int offset) {
            if (bytes.length > buffer.length - offset) {
                return -1;
            }
            System.arraycopy(bytes, 0, buffer, offset, bytes.length);
            return bytes.length;
        }

        @Override
        public int appendUnquoted(char[] buffer, int offset) {
            char[] c = getValue().toCharArray();
            if (c.length > buffer.length - offset) {
                return -1;
            }
            System.arraycopy(c, 0, buffer, offset, c.length);
            return c.length;
        }

        @Override
        public int writeQuotedUTF8(OutputStream out) {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int writeUnquotedUTF8(OutputStream out) throws IOException {
            out.write(bytes);
            return bytes.length;
        }

        @Override
        public int putQuotedUTF8(java.nio.ByteBuffer buffer) {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int putUnquotedUTF8(java.nio.ByteBuffer buffer) {
            if (bytes.length > buffer.remaining()) {
                return -1;
            }
            buffer.put(bytes);
            return bytes.length;
        }
    }
}
