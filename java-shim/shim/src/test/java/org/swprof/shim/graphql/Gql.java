package org.swprof.shim.graphql;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.swprof.shim.SwprofCore;

/** Runs GraphQL requests in-process against a real core and reads their answers. */
final class Gql {
    final SwprofGraphQL graphQL;

    Gql(SwprofCore core) {
        this.graphQL = new SwprofGraphQL(core);
    }

    /** The whole reply, through JSON and back, as a client sees it. */
    @SuppressWarnings("unchecked")
    Map<String, Object> reply(String query, Object... vars) {
        Map<String, Object> r = graphQL.execute(query, null, vars(vars));
        try {
            return (Map<String, Object>) Json.MAPPER.readValue(Json.MAPPER.writeValueAsBytes(r), Object.class);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    /** data, asserting there are no errors. */
    @SuppressWarnings("unchecked")
    Map<String, Object> data(String query, Object... vars) {
        Map<String, Object> r = reply(query, vars);
        if (r.get("errors") != null) {
            fail("errors: " + r.get("errors") + " for " + query);
        }
        assertNotNull(r.get("data"));
        return (Map<String, Object>) r.get("data");
    }

    /** The one field of the answer. */
    Object field(String query, Object... vars) {
        Map<String, Object> d = data(query, vars);
        return d.values().iterator().next();
    }

    /** errors[0].message, asserting there is one. */
    @SuppressWarnings("unchecked")
    String error(String query, Object... vars) {
        Map<String, Object> r = reply(query, vars);
        List<Map<String, Object>> errors = (List<Map<String, Object>>) r.get("errors");
        if (errors == null || errors.isEmpty()) {
            fail("expected an error, got " + r);
        }
        return (String) errors.get(0).get("message");
    }

    void noData(String query, Object... vars) {
        assertNull(reply(query, vars).get("data"));
    }

    static Map<String, Object> vars(Object... kv) {
        if (kv.length == 0) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }
}
