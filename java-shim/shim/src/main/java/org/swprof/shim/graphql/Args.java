package org.swprof.shim.graphql;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reading GraphQL argument values (String, Long, Integer, Map, List as graphql-java coerces them). */
final class Args {
    private Args() {
    }

    /** A string, "" and null meaning absent (clients send "" for ids they do not filter on). */
    static String str(Object o) {
        if (o == null) {
            return null;
        }
        String s = o.toString();
        return s.isEmpty() ? null : s;
    }

    static String str(Map<String, Object> m, String key) {
        return m == null ? null : str(m.get(key));
    }

    static long num(Object o, long dflt) {
        if (o == null) {
            return dflt;
        }
        if (o instanceof Number n) {
            return n.longValue();
        }
        throw new IllegalArgumentException("expected a number, got " + o);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    /** A list of strings; null entries kept when keepNulls, else dropped. null -> null. */
    static List<String> strings(Object o, boolean keepNulls) {
        if (o == null) {
            return null;
        }
        List<?> in = (List<?>) o;
        List<String> out = new ArrayList<>(in.size());
        for (Object e : in) {
            if (e != null) {
                out.add(e.toString());
            } else if (keepNulls) {
                out.add(null);
            }
        }
        return out;
    }
}
