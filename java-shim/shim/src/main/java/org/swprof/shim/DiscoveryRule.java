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
public record DiscoveryRule(String cmdRegex, String service, String instance, String process, String layer,
                            List<String> labels) {
    public DiscoveryRule {
        Objects.requireNonNull(cmdRegex, "cmdRegex");
        Objects.requireNonNull(service, "service");
        labels = Requests.copy("labels", labels);
    }
}
