package org.swprof.shim.graphql;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.swprof.shim.DiscoveryRule;

/**
 * The dashboards swprof gives SkyWalking's UI through {@code getAllTemplates}: data files read once at start,
 * from {@code templates/*.json} packed in the jar or from a configured directory (see
 * {@code src/main/resources/templates/README.md} for the format).
 *
 * <p>A template mentioning {@value #LAYER} in any string is instantiated once per layer; one without it is served
 * as written, and replaces the instance of a per-layer template with the same (layer, entity, name). Immutable and
 * thread-safe.
 */
public final class UiTemplates {
    /** The placeholder a per-layer template uses for its layer. */
    public static final String LAYER = "${layer}";
    /** The layer of host processes, always served (docs/protocol.md §5). */
    public static final String DEFAULT_LAYER = "OS_LINUX";
    /** Where the built-in templates are, in the jar (or target/classes). */
    static final String RESOURCE_DIR = "templates";
    /** Dashboard entities booster-ui knows. */
    static final Set<String> ENTITIES = Set.of("All", "Service", "ServiceInstance", "Endpoint", "Process",
            "ServiceRelation", "ServiceInstanceRelation", "EndpointRelation", "ProcessRelation");

    /** One template as read: its id and configuration (JSON objects as Map/List). */
    private record Template(String source, String id, Map<String, Object> configuration, boolean perLayer) {
        /** (layer, entity, name): what must be unique; booster-ui keys its dashboards so. */
        String key() {
            return keyOf(configuration);
        }
    }

    private static String keyOf(Map<?, ?> conf) {
        return conf.get("layer") + "\u0000" + conf.get("entity") + "\u0000" + conf.get("name");
    }

    private final String origin;
    private final List<Template> perLayer;
    private final List<Map<String, Object>> fixedAnswers;
    /** (layer, entity, name) and ids of the fixed templates. */
    private final Set<String> fixedKeys = new HashSet<>();
    private final Set<String> fixedIds = new HashSet<>();

    private UiTemplates(String origin, List<Template> templates) {
        this.origin = origin;
        List<Template> per = new ArrayList<>();
        List<Map<String, Object>> fixed = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        Set<String> perKeys = new HashSet<>();
        for (Template t : templates) {
            if (!ids.add(t.id)) {
                throw new IllegalArgumentException(t.source + ": template id \"" + t.id + "\" is used twice");
            }
            boolean unique = t.perLayer ? perKeys.add(t.key()) : fixedKeys.add(t.key());
            if (!unique) {
                throw new IllegalArgumentException(t.source + ": a second " + t.configuration.get("entity")
                        + " dashboard named \"" + t.configuration.get("name") + "\" for layer " + layerOf(t));
            }
            if (t.perLayer) {
                per.add(t);
            } else {
                fixedIds.add(t.id);
                fixed.add(answer(t.id, t.configuration));
            }
        }
        this.perLayer = List.copyOf(per);
        this.fixedAnswers = List.copyOf(fixed);
    }

    /** The templates packed with the server. */
    public static UiTemplates builtIn() {
        try {
            Path classes = Path.of(UiTemplates.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isDirectory(classes)) {
                return load(classes.resolve(RESOURCE_DIR), "built-in " + RESOURCE_DIR + "/");
            }
            try (FileSystem jar = FileSystems.newFileSystem(classes)) {
                return load(jar.getPath("/" + RESOURCE_DIR), "built-in " + RESOURCE_DIR + "/");
            }
        } catch (IOException | URISyntaxException | RuntimeException e) {
            throw new IllegalStateException("cannot read the built-in dashboard templates: " + e.getMessage(), e);
        }
    }

    /** The templates of a directory: every {@code *.json} file in it, in name order. */
    public static UiTemplates fromDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("ui.templatesDir " + dir + " is not a directory");
        }
        return load(dir, dir.toString());
    }

    /** {@code dir} null: the built-in templates. */
    public static UiTemplates load(Path dir) {
        return dir == null ? builtIn() : fromDirectory(dir);
    }

    private static UiTemplates load(Path dir, String origin) {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
            ds.forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException("dashboard templates " + dir + ": " + e.getMessage(), e);
        }
        files.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
        List<Template> all = new ArrayList<>();
        for (Path f : files) {
            String name = f.getFileName().toString();
            Object json;
            try {
                json = Json.MAPPER.readValue(Files.readAllBytes(f), Object.class);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(origin + "/" + name + ": not valid JSON: " + e.getOriginalMessage(),
                        e);
            } catch (IOException e) {
                throw new UncheckedIOException(origin + "/" + name + ": " + e.getMessage(), e);
            }
            List<?> items = json instanceof List<?> l ? l : List.of(json == null ? "null" : json);
            for (int i = 0; i < items.size(); i++) {
                String source = origin + "/" + name + (json instanceof List ? "[" + i + "]" : "");
                all.add(parse(source, items.get(i)));
            }
        }
        return new UiTemplates(origin, all);
    }

    @SuppressWarnings("unchecked")
    private static Template parse(String source, Object o) {
        if (!(o instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(source
                    + ": a template must be a JSON object {\"id\", \"configuration\"}");
        }
        Object id = m.get("id");
        if (!(id instanceof String sid) || sid.isBlank()) {
            throw new IllegalArgumentException(source + ": the template needs a string \"id\"");
        }
        Object c = m.get("configuration");
        if (c instanceof String text) { // as SkyWalking stores it: the configuration as JSON text
            try {
                c = Json.MAPPER.readValue(text, Object.class);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(source + ": \"configuration\" is not valid JSON: "
                        + e.getOriginalMessage(), e);
            }
        }
        if (!(c instanceof Map)) {
            throw new IllegalArgumentException(source + ": \"configuration\" must be a JSON object");
        }
        Map<String, Object> conf = (Map<String, Object>) c;
        for (String key : List.of("layer", "entity", "name")) {
            if (!(conf.get(key) instanceof String s) || s.isBlank()) {
                throw new IllegalArgumentException(source + ": the configuration needs a string \"" + key + "\"");
            }
        }
        if (!ENTITIES.contains(conf.get("entity"))) {
            throw new IllegalArgumentException(source + ": unknown entity \"" + conf.get("entity") + "\" (known: "
                    + new java.util.TreeSet<>(ENTITIES) + ")");
        }
        if (!(conf.get("children") instanceof List)) {
            throw new IllegalArgumentException(source + ": the configuration needs a \"children\" array of widgets");
        }
        if (conf.get("isRoot") != null && !(conf.get("isRoot") instanceof Boolean)) {
            throw new IllegalArgumentException(source + ": \"isRoot\" must be true or false");
        }
        boolean perLayer = mentionsLayer(conf);
        if (perLayer && !sid.contains(LAYER)) {
            throw new IllegalArgumentException(source + ": the template is per layer (it mentions " + LAYER
                    + "), so its id must mention " + LAYER + " too, not \"" + sid + "\"");
        }
        return new Template(source, sid, conf, perLayer);
    }

    private static boolean mentionsLayer(Object o) {
        if (o instanceof String s) {
            return s.contains(LAYER);
        }
        if (o instanceof Map<?, ?> m) {
            for (Object v : m.values()) {
                if (mentionsLayer(v)) {
                    return true;
                }
            }
        } else if (o instanceof List<?> l) {
            for (Object v : l) {
                if (mentionsLayer(v)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** o with LAYER replaced by layer in every string value (keys stay as they are). */
    private static Object substitute(Object o, String layer) {
        if (o instanceof String s) {
            return s.replace(LAYER, layer);
        }
        if (o instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(e.getKey(), substitute(e.getValue(), layer));
            }
            return out;
        }
        if (o instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object v : l) {
                out.add(substitute(v, layer));
            }
            return out;
        }
        return o;
    }

    private static String layerOf(Template t) {
        return (String) t.configuration.get("layer");
    }

    /** A DashboardConfiguration: the configuration travels as JSON text. */
    private static Map<String, Object> answer(String id, Object configuration) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("id", id);
        a.put("name", ((Map<?, ?>) configuration).get("name"));
        a.put("type", "DASHBOARD");
        try {
            a.put("configuration", Json.MAPPER.writeValueAsString(configuration));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        a.put("activated", Boolean.TRUE);
        a.put("disabled", Boolean.FALSE);
        return a;
    }

    /** Every template for these layers: the per-layer ones once per layer, then the fixed ones. */
    public List<Map<String, Object>> forLayers(Collection<String> layers) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String layer : layers) {
            for (Template t : perLayer) {
                String id = t.id.replace(LAYER, layer);
                Map<?, ?> conf = (Map<?, ?>) substitute(t.configuration, layer);
                if (fixedKeys.contains(keyOf(conf)) || fixedIds.contains(id)) {
                    continue; // a template of its own for this layer replaces the generic one
                }
                out.add(answer(id, conf));
            }
        }
        out.addAll(fixedAnswers);
        return out;
    }

    /** How many templates were read. */
    public int size() {
        return perLayer.size() + fixedAnswers.size();
    }

    /** The fixed layers of these rules (a rule whose layer is a template such as {1} is known only per process). */
    public static List<String> ruleLayers(List<DiscoveryRule> rules) {
        List<String> out = new ArrayList<>();
        for (DiscoveryRule r : rules == null ? List.<DiscoveryRule>of() : rules) {
            String l = r.layer();
            if (l != null && !l.isBlank() && !l.contains("{") && !out.contains(l)) {
                out.add(l);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return size() + " dashboard template(s) from " + origin;
    }
}
