package org.swprof.shim.graphql;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import graphql.schema.DataFetchingEnvironment;
import org.swprof.shim.SwprofCore;

/**
 * Metadata (PROTOCOL.md §5) from the core's process registry, and the start-up calls of the SkyWalking UI
 * (§7) answered null-safe.
 */
final class MetadataResolvers {
    private final SwprofCore core;

    MetadataResolvers(SwprofCore core) {
        this.core = core;
    }

    Object listServices(DataFetchingEnvironment env) {
        return Json.parseList(core.services(Args.str(env.getArgument("layer"))));
    }

    Object listLayers(DataFetchingEnvironment env) {
        TreeSet<String> layers = new TreeSet<>();
        for (Object s : Json.parseList(core.services(null))) {
            Object l = Args.map(s).get("layers");
            if (l instanceof List<?> list) {
                for (Object x : list) {
                    if (x != null) {
                        layers.add(x.toString());
                    }
                }
            }
        }
        return new ArrayList<>(layers);
    }

    Object getService(DataFetchingEnvironment env) {
        return first(Json.parseList(core.services(null)), "id", env.getArgument("serviceId"));
    }

    Object findService(DataFetchingEnvironment env) {
        return first(Json.parseList(core.services(null)), "name", env.getArgument("serviceName"));
    }

    /** listInstances / getServiceInstances(duration, serviceId): the duration is ignored. */
    Object listInstances(DataFetchingEnvironment env) {
        return Json.parseList(core.instances(env.getArgument("serviceId")));
    }

    /** getInstance(instanceId): instance id = service id + "_" + base64(name); base64 has no "_". */
    Object getInstance(DataFetchingEnvironment env) {
        String instanceId = env.getArgument("instanceId");
        int cut = instanceId == null ? -1 : instanceId.indexOf('_');
        if (cut <= 0) {
            return null;
        }
        return first(Json.parseList(core.instances(instanceId.substring(0, cut))), "id", instanceId);
    }

    Object listProcesses(DataFetchingEnvironment env) {
        return Json.parseList(core.processes(Args.str(env.getArgument("serviceId")),
                Args.str(env.getArgument("instanceId")), null));
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
        for (Object p : Json.parseList(core.processes(env.getArgument("serviceId"), null, null))) {
            Object labels = Args.map(p).get("labels");
            if (labels instanceof List<?> have && (want == null || have.containsAll(want))) {
                n++;
            }
        }
        return n;
    }

    Object timeInfo(DataFetchingEnvironment env) {
        Instant now = Instant.now();
        ZoneOffset off = ZoneId.systemDefault().getRules().getOffset(now);
        int secs = off.getTotalSeconds();
        String tz = String.format("%s%02d%02d", secs < 0 ? "-" : "+", Math.abs(secs) / 3600,
                (Math.abs(secs) % 3600) / 60);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timezone", tz);
        m.put("currentTimestamp", now.toEpochMilli());
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
