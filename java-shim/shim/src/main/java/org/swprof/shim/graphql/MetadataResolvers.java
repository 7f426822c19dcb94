package org.swprof.shim.graphql;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import graphql.schema.DataFetchingEnvironment;
import org.swprof.shim.SwprofCore;

/**
 * Metadata (docs/protocol.md §5) from the core's process registry, and the shell of SkyWalking's UI (§7): its start-up
 * calls (menu, time info, TTLs, traces-v2 support) and its dashboards, one set per layer of the registry.
 */
final class MetadataResolvers {
    /**
     * TTLs in days, as SkyWalking's GraphQL reports them. swprof deletes nothing by age (profiling data stays until
     * its data directory is removed): -1, which booster-ui reads as "no limit" for its time pickers, and which
     * SkyWalking uses for "no cold stage".
     */
    static final int KEPT_UNTIL_DELETED = -1;

    private final SwprofCore core;
    private final UiTemplates templates;
    /** Layers always served: OS_LINUX, then the fixed layers of the discovery rules. */
    private final List<String> fixedLayers;

    MetadataResolvers(SwprofCore core, UiTemplates templates, List<String> ruleLayers) {
        this.core = core;
        this.templates = templates;
        Set<String> l = new LinkedHashSet<>();
        l.add(UiTemplates.DEFAULT_LAYER);
        l.addAll(ruleLayers == null ? List.of() : ruleLayers);
        this.fixedLayers = List.copyOf(l);
    }

    Object listServices(DataFetchingEnvironment env) {
        return Json.parseList(core.services(Args.str(env.getArgument("layer"))));
    }

    /** getAllServices(duration, group): every service; swprof's services are all in group "". */
    Object allServices(DataFetchingEnvironment env) {
        String group = Args.str(env.getArgument("group"));
        return group == null ? Json.parseList(core.services(null)) : List.of();
    }

    /** searchServices(duration, keyword): the services whose name contains the keyword. */
    Object searchServices(DataFetchingEnvironment env) {
        String keyword = env.getArgument("keyword");
        List<Object> out = new ArrayList<>();
        for (Object s : Json.parseList(core.services(null))) {
            Object name = Args.map(s).get("name");
            if (keyword == null || (name != null && name.toString().contains(keyword))) {
                out.add(s);
            }
        }
        return out;
    }

    /** searchService(serviceCode): one service by name. */
    Object searchService(DataFetchingEnvironment env) {
        return first(Json.parseList(core.services(null)), "name", env.getArgument("serviceCode"));
    }

    /** Browser services, endpoints and databases: swprof has none. */
    Object none(DataFetchingEnvironment env) {
        return List.of();
    }

    Object nothing(DataFetchingEnvironment env) {
        return null;
    }

    /** listLayers: every layer that has a service (not the empty ones the UI is given a menu entry for). */
    Object listLayers(DataFetchingEnvironment env) {
        return new ArrayList<>(registryLayers());
    }

    Object getService(DataFetchingEnvironment env) {
        return first(Json.parseList(core.services(null)), "id", env.getArgument("serviceId"));
    }

    Object findService(DataFetchingEnvironment env) {
        return first(Json.parseList(core.services(null)), "name", env.getArgument("serviceName"));
    }

    /** listInstances / getServiceInstances(duration, serviceId): with a process that ran in the duration. */
    Object listInstances(DataFetchingEnvironment env) {
        Durations.Range r = range(env);
        return r == null ? List.of() : Json.parseList(core.instances(env.getArgument("serviceId"), r.startMs(),
                r.endMs()));
    }

    /** The optional duration argument as ms: {0, 0} (listed now) when absent, null when it is empty. */
    private static Durations.Range range(DataFetchingEnvironment env) {
        Map<String, Object> duration = Args.map(env.getArgument("duration"));
        if (duration == null) {
            return new Durations.Range(0, 0);
        }
        Durations.Range r = Durations.toRange(duration);
        return r.isEmpty() ? null : r;
    }

    /** getInstance(instanceId): instance id = service id + "_" + base64(name); base64 has no "_". */
    Object getInstance(DataFetchingEnvironment env) {
        String instanceId = env.getArgument("instanceId");
        int cut = instanceId == null ? -1 : instanceId.indexOf('_');
        if (cut <= 0) {
            return null;
        }
        return first(Json.parseList(core.instances(instanceId.substring(0, cut), 0, 0)), "id", instanceId);
    }

    /**
     * listProcesses(duration, serviceId, instanceId): with a duration, the processes that ran in it. Neither id
     * given: none, as OAP answers.
     */
    Object listProcesses(DataFetchingEnvironment env) {
        Durations.Range r = range(env);
        String service = Args.str(env.getArgument("serviceId"));
        String instance = Args.str(env.getArgument("instanceId"));
        if (r == null || (service == null && instance == null)) {
            return List.of();
        }
        return Json.parseList(core.processes(service, instance, null, r.startMs(), r.endMs()));
    }

    Object getProcess(DataFetchingEnvironment env) {
        String id = env.getArgument("processId");
        if (id == null || id.isEmpty()) {
            return null;
        }
        return Json.parse(core.process(id));
    }

    /** How many processes of the service carry every label. */
    Object estimateProcessScale(DataFetchingEnvironment env) {
        List<String> want = Args.strings(env.getArgument("labels"), false);
        long n = 0;
        for (Object p : Json.parseList(core.processes(env.getArgument("serviceId"), null, null, 0, 0))) {
            Object labels = Args.map(p).get("labels");
            if (labels instanceof List<?> have && (want == null || have.containsAll(want))) {
                n++;
            }
        }
        return n;
    }

    /**
     * getTimeInfo: the server's zone offset now, "+0800" as SkyWalking writes it (SimpleDateFormat "Z"), the zone
     * in which Duration strings are read (Durations). booster-ui computes {@code timezone / 100} as its hour offset.
     */
    Object timeInfo(DataFetchingEnvironment env) {
        return timeInfo(ZoneId.systemDefault(), Instant.now());
    }

    static Map<String, Object> timeInfo(ZoneId zone, Instant now) {
        ZoneOffset off = zone.getRules().getOffset(now);
        int secs = off.getTotalSeconds();
        String tz = String.format("%s%02d%02d", secs < 0 ? "-" : "+", Math.abs(secs) / 3600,
                (Math.abs(secs) % 3600) / 60);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timezone", tz);
        m.put("currentTimestamp", now.toEpochMilli());
        return m;
    }

    /**
     * The layers the UI is given a menu entry and dashboards for: OS_LINUX, the fixed layers of the discovery rules,
     * then every other layer a registered service has, in name order.
     */
    List<String> uiLayers() {
        Set<String> out = new LinkedHashSet<>(fixedLayers);
        out.addAll(registryLayers());
        return new ArrayList<>(out);
    }

    private TreeSet<String> registryLayers() {
        TreeSet<String> layers = new TreeSet<>();
        for (Object s : Json.parseList(core.services(null))) {
            Object l = Args.map(s).get("layers");
            if (l instanceof List<?> list) {
                for (Object x : list) {
                    if (x != null && !x.toString().isEmpty()) {
                        layers.add(x.toString());
                    }
                }
            }
        }
        return layers;
    }

    /**
     * getMenuItems: one entry per layer, without sub-items, which booster-ui turns into the route
     * {@code /<title>} showing that layer's root dashboard. booster-ui only shows activated entries.
     */
    Object menuItems(DataFetchingEnvironment env) {
        List<Object> items = new ArrayList<>();
        for (String layer : uiLayers()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", layer);
            m.put("title", UiTemplates.DEFAULT_LAYER.equals(layer) ? "Linux" : layer);
            m.put("icon", null); // the UI's default icon
            m.put("path", null); // the UI derives it from the title
            m.put("layer", layer);
            m.put("activate", Boolean.TRUE);
            m.put("description", "Processes of layer " + layer + " found by swprof's discovery rules: "
                    + "their services and eBPF CPU profiling");
            m.put("documentLink", null);
            m.put("i18nKey", null);
            m.put("subItems", List.of());
            items.add(m);
        }
        return items;
    }

    /** getAllTemplates(includingDisabled): the dashboards for every UI layer (none is ever disabled). */
    Object allTemplates(DataFetchingEnvironment env) {
        return templates.forLayers(uiLayers());
    }

    Object metricsTTL(DataFetchingEnvironment env) {
        return metricsTtl();
    }

    Object recordsTTL(DataFetchingEnvironment env) {
        return recordsTtl();
    }

    static Map<String, Object> metricsTtl() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String k : List.of("metadata", "minute", "hour", "day", "coldMinute", "coldHour", "coldDay")) {
            m.put(k, KEPT_UNTIL_DELETED);
        }
        return m;
    }

    static Map<String, Object> recordsTtl() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String k : List.of("normal", "trace", "zipkinTrace", "log", "browserErrorLog", "coldNormal",
                "coldTrace", "coldZipkinTrace", "coldLog", "coldBrowserErrorLog")) {
            m.put(k, KEPT_UNTIL_DELETED);
        }
        return m;
    }

    private static Object first(List<Object> list, String key, Object value) {
        if (value == null) {
            return null;
        }
        for (Object o : list) {
            if (value.equals(Args.map(o).get(key))) {
                return o;
            }
        }
        return null;
    }
}
