package org.swprof.shim;

import java.util.List;
import java.util.Objects;

/**
 * A discovery rule ({@code struct swp_rule}): a process whose full command line matches {@code cmdRegex}
 * (POSIX extended) is registered as a process of {@code service}. Templates may use {@code {exe}} (executable
 * base name), {@code {pid}} and {@code {1}}..{@code {9}} (regex groups). The first matching rule wins.
 *
 * @param cmdRegex POSIX extended regular expression, matched against argv joined by spaces; required
 * @param service  service name template; required
 * @param instance instance name template; null = the host name
 * @param process  process name template; null = {@code {exe}}
 * @param layer    null = {@code OS_LINUX}
 * @param labels   label templates; null or empty = one label, the process name
 */
public final class DiscoveryRule {
    private final String cmdRegex;
    private final String service;
    private final String instance;
    private final String process;
    private final String layer;
    private final List<String> labels;

    public DiscoveryRule(String cmdRegex, String service, String instance, String process, String layer,
            List<String> labels) {
        Objects.requireNonNull(cmdRegex, "cmdRegex");
        Objects.requireNonNull(service, "service");
        labels = Requests.copy("labels", labels);

        this.cmdRegex = cmdRegex;
        this.service = service;
        this.instance = instance;
        this.process = process;
        this.layer = layer;
        this.labels = labels;
    }

    public String cmdRegex() {
        return cmdRegex;
    }

    public String service() {
        return service;
    }

    public String instance() {
        return instance;
    }

    public String process() {
        return process;
    }

    public String layer() {
        return layer;
    }

    public List<String> labels() {
        return labels;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof DiscoveryRule)) {
            return false;
        }
        DiscoveryRule x = (DiscoveryRule) o;
        return java.util.Objects.equals(cmdRegex, x.cmdRegex)
                && java.util.Objects.equals(service, x.service)
                && java.util.Objects.equals(instance, x.instance)
                && java.util.Objects.equals(process, x.process)
                && java.util.Objects.equals(layer, x.layer)
                && java.util.Objects.equals(labels, x.labels);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(cmdRegex, service, instance, process, layer, labels);
    }

    @Override
    public String toString() {
        return "DiscoveryRule[cmdRegex=" + cmdRegex + ", service=" + service + ", instance=" + instance
                + ", process=" + process + ", layer=" + layer + ", labels=" + labels + "]";
    }
}
