package org.swprof.shim;

/**
 * The version of swprof, and the text the GraphQL field {@code version} answers.
 *
 * <p>SkyWalking's clients read the text before the first {@code .} as the OAP's major version: the seed-era CLI
 * parses it as an integer and needs 9 or more (OAP answers {@code 9.0.0-<commit> (<build time>)}). So the text
 * begins with the OAP API generation swprof serves, and names swprof's own version after it.
 */
public final class Version {
    public static final String NUMBER = "0.1.0";
    /** The OAP release whose GraphQL API (eBPF profiling, metadata) swprof answers like. */
    public static final String OAP_API = "10.1.0";
    public static final String TEXT = OAP_API + "-swprof (swprof " + NUMBER + ")";

    private Version() {
    }
}
