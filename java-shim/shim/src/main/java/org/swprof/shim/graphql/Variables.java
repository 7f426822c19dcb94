package org.swprof.shim.graphql;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import graphql.language.Definition;
import graphql.language.Document;
import graphql.language.ListType;
import graphql.language.NonNullType;
import graphql.language.OperationDefinition;
import graphql.language.Type;
import graphql.language.VariableDefinition;
import graphql.parser.InvalidSyntaxException;
import graphql.parser.Parser;

/**
 * A leniency SkyWalking's UI needs: it declares {@code $scheduleIdList: [ID!]!} and then, for schedules of
 * processes without labels, sends {@code null} entries in that list. By the GraphQL spec such a variable is
 * rejected; the UI expects the nulls to be skipped (docs/protocol.md §7). So before execution, null entries are
 * removed from the value of every variable declared as a list of non-null items.
 *
 * <p>The document is parsed here only when some variable value is a list holding a null.
 */
final class Variables {
    private Variables() {
    }

    static Map<String, Object> dropNullsInNonNullLists(String query, Map<String, Object> variables) {
        if (variables == null || variables.isEmpty() || query == null || !anyListWithNull(variables)) {
            return variables;
        }
        Document doc;
        try {
            doc = Parser.parse(query);
        } catch (InvalidSyntaxException e) {
            return variables; // execution reports the syntax error
        }
        Set<String> names = new HashSet<>();
        for (Definition<?> d : doc.getDefinitions()) {
            if (d instanceof OperationDefinition op) {
                for (VariableDefinition v : op.getVariableDefinitions()) {
                    if (isListOfNonNull(v.getType())) {
                        names.add(v.getName());
                    }
                }
            }
        }
        if (names.isEmpty()) {
            return variables;
        }
        Map<String, Object> out = new LinkedHashMap<>(variables);
        for (String n : names) {
            if (out.get(n) instanceof List<?> list && hasNull(list)) {
                List<Object> kept = new ArrayList<>(list);
                kept.removeIf(Objects::isNull);
                out.put(n, kept);
            }
        }
        return out;
    }

    private static boolean anyListWithNull(Map<String, Object> variables) {
        for (Object v : variables.values()) {
            if (v instanceof List<?> list && hasNull(list)) {
                return true;
            }
        }
        return false;
    }

    /** List.contains(null) throws on immutable lists. */
    private static boolean hasNull(List<?> list) {
        for (Object o : list) {
            if (o == null) {
                return true;
            }
        }
        return false;
    }

    private static boolean isListOfNonNull(Type<?> t) {
        if (t instanceof NonNullType nn) {
            t = nn.getType();
        }
        return t instanceof ListType lt && lt.getType() instanceof NonNullType;
    }
}
