package org.swprof.shim.graphql;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * JSON of the native core -> the objects graphql-java's default data fetchers read: Map (JSON objects, field
 * names = GraphQL field names), List, String, Number, Boolean, null.
 *
 * <p>Analysis results can be large (100k+ stack elements), so they are parsed by {@link #parseAnalysis} straight
 * into compact records instead of one map per element.
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_LONG_FOR_INTS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private Json() {
    }

    /** Any JSON document of the core. */
    public static Object parse(byte[] json) {
        try {
            return MAPPER.readValue(json, Object.class);
        } catch (IOException e) {
            throw new IllegalStateException("the native core answered malformed JSON: " + e.getMessage(), e);
        }
    }

    /** A JSON array of the core (null -> empty list). */
    @SuppressWarnings("unchecked")
    public static List<Object> parseList(byte[] json) {
        Object o = parse(json);
        if (o == null) {
            return List.of();
        }
        if (!(o instanceof List)) {
            throw new IllegalStateException("the native core answered " + o.getClass().getSimpleName()
                    + " where a JSON array was expected");
        }
        return (List<Object>) o;
    }

    // ---- analysis ----------------------------------------------------------------------------------

    /** {@code {"tip": .., "trees": [..]}} */
    public static final class Analysis {
        private final String tip;
        private final List<Tree> trees;

        public Analysis(String tip, List<Tree> trees) {
            this.tip = tip;
            this.trees = trees;
        }

        public String tip() {
            return tip;
        }

        public List<Tree> trees() {
            return trees;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Analysis)) {
                return false;
            }
            Analysis x = (Analysis) o;
            return java.util.Objects.equals(tip, x.tip)
                    && java.util.Objects.equals(trees, x.trees);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(tip, trees);
        }

        @Override
        public String toString() {
            return "Analysis[tip=" + tip + ", trees=" + trees + "]";
        }
    }

    /** {@code {"elements": [..]}} */
    public static final class Tree {
        private final List<Element> elements;

        public Tree(List<Element> elements) {
            this.elements = elements;
        }

        public List<Element> elements() {
            return elements;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Tree)) {
                return false;
            }
            Tree x = (Tree) o;
            return java.util.Objects.equals(elements, x.elements);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(elements);
        }

        @Override
        public String toString() {
            return "Tree[elements=" + elements + "]";
        }
    }

    /** One stack element. */
    public static final class Element {
        private final String id;
        private final String parentId;
        private final String symbol;
        private final String stackType;
        private final long dumpCount;

        public Element(String id, String parentId, String symbol, String stackType, long dumpCount) {
            this.id = id;
            this.parentId = parentId;
            this.symbol = symbol;
            this.stackType = stackType;
            this.dumpCount = dumpCount;
        }

        public String id() {
            return id;
        }

        public String parentId() {
            return parentId;
        }

        public String symbol() {
            return symbol;
        }

        public String stackType() {
            return stackType;
        }

        public long dumpCount() {
            return dumpCount;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Element)) {
                return false;
            }
            Element x = (Element) o;
            return java.util.Objects.equals(id, x.id)
                    && java.util.Objects.equals(parentId, x.parentId)
                    && java.util.Objects.equals(symbol, x.symbol)
                    && java.util.Objects.equals(stackType, x.stackType)
                    && dumpCount == x.dumpCount;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(id, parentId, symbol, stackType, dumpCount);
        }

        @Override
        public String toString() {
            return "Element[id=" + id + ", parentId=" + parentId + ", symbol=" + symbol
                    + ", stackType=" + stackType + ", dumpCount=" + dumpCount + "]";
        }
    }

    /** Streams {@code {"tip","trees":[{"elements":[{id,parentId,symbol,stackType,dumpCount}]}]}} into records. */
    public static Analysis parseAnalysis(byte[] json) {
        try (JsonParser p = MAPPER.getFactory().createParser(json)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, "analysis");
            String tip = null;
            List<Tree> trees = new ArrayList<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                JsonToken t = p.nextToken();
                if ("tip".equals(f)) {
                    tip = t == JsonToken.VALUE_NULL ? null : p.getValueAsString();
                } else if ("trees".equals(f) && t == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        trees.add(parseTree(p));
                    }
                } else {
                    p.skipChildren();
                }
            }
            return new Analysis(tip, trees);
        } catch (IOException e) {
            throw new UncheckedIOException("the native core answered a malformed analysis: " + e.getMessage(), e);
        }
    }

    private static Tree parseTree(JsonParser p) throws IOException {
        List<Element> elements = new ArrayList<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken t = p.nextToken();
            if ("elements".equals(f) && t == JsonToken.START_ARRAY) {
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    elements.add(parseElement(p));
                }
            } else {
                p.skipChildren();
            }
        }
        return new Tree(elements);
    }

    private static Element parseElement(JsonParser p) throws IOException {
        String id = null;
        String parentId = null;
        String symbol = null;
        String stackType = null;
        long dumpCount = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken t = p.nextToken();
            switch (f) {
                case "id":
                    id = p.getValueAsString();
                    break;
                case "parentId":
                    parentId = p.getValueAsString();
                    break;
                case "symbol":
                    symbol = p.getValueAsString();
                    break;
                case "stackType":
                    stackType = p.getValueAsString();
                    break;
                case "dumpCount":
                    dumpCount = t.isNumeric() ? p.getLongValue() : p.getValueAsLong();
                    break;
                default:
                    p.skipChildren();
            }
        }
        return new Element(id, parentId, symbol, stackType, dumpCount);
    }

    private static void expect(JsonToken got, JsonToken want, String what) throws IOException {
        if (got != want) {
            throw new IOException(what + ": expected " + want + ", got " + got);
        }
    }
}
