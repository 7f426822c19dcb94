package org.swprof.shim.graphql;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import graphql.schema.DataFetchingEnvironment;

/**
 * What the SkyWalking UI's pages outside eBPF profiling ask ({@code schema/ui-pages.graphqls}): the hierarchy button,
 * the Alerting page, metric widgets and the dashboard editor. swprof keeps none of that data, so each field answers
 * OAP's type, empty, and says why where the UI shows a text. No native call: there is nothing to ask the core.
 */
final class UiPagesResolvers {
    /** The text a metric widget shows for any expression. */
    static final String NO_METRICS = "swprof keeps no metrics: it serves eBPF profiling (the service's eBPF tab)";
    /** Why dashboard changes are refused. */
    static final String TEMPLATES_FROM_FILES = "swprof's dashboards are read from template files at start "
            + "(ui.templatesDir): change those files instead";

    Object serviceHierarchy(DataFetchingEnvironment env) {
        return Map.of("relations", List.of());
    }

    Object instanceHierarchy(DataFetchingEnvironment env) {
        return Map.of("relations", List.of());
    }

    Object layerLevels(DataFetchingEnvironment env) {
        return List.of();
    }

    Object expression(DataFetchingEnvironment env) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "UNKNOWN");
        m.put("results", List.of());
        m.put("error", NO_METRICS);
        return m;
    }

    Object alarms(DataFetchingEnvironment env) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("msgs", List.of());
        m.put("total", 0);
        return m;
    }

    Object noTags(DataFetchingEnvironment env) {
        return List.of();
    }

    Object templateChange(DataFetchingEnvironment env) {
        Map<String, Object> setting = Args.map(env.getArgument("setting"));
        Object id = setting == null ? env.getArgument("id") : setting.get("id");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id == null ? "" : id.toString());
        m.put("status", false);
        m.put("message", TEMPLATES_FROM_FILES);
        return m;
    }
}
