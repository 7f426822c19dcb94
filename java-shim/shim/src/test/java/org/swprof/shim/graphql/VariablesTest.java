package org.swprof.shim.graphql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class VariablesTest {
    @Test
    void nullsAreDroppedOnlyFromListsOfNonNullItems() {
        String q = "query ($a: [ID!]!, $b: [ID], $c: [String!]) { version }";
        Map<String, Object> v = Map.of("a", Arrays.asList("x", null, "y"), "b", Arrays.asList("x", null),
                "c", Arrays.asList((Object) null));
        Map<String, Object> out = Variables.dropNullsInNonNullLists(q, v);
        assertEquals(List.of("x", "y"), out.get("a"));
        assertEquals(Arrays.asList("x", null), out.get("b"));
        assertEquals(List.of(), out.get("c"));
    }

    @Test
    void untouchedWithoutNullsOrWithBadSyntax() {
        Map<String, Object> v = Map.of("a", List.of("x"));
        assertSame(v, Variables.dropNullsInNonNullLists("query ($a: [ID!]!) { version }", v));
        Map<String, Object> w = Map.of("a", Arrays.asList("x", null));
        assertSame(w, Variables.dropNullsInNonNullLists("query ($a: [ID!]! { version", w));
        assertEquals(null, Variables.dropNullsInNonNullLists("{ version }", null));
    }
}
