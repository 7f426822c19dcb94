package org.swprof.shim;

/** The version of swprof, as the GraphQL field {@code version} answers it. */
public final class Version {
    public static final String NUMBER = "0.1.0";
    public static final String TEXT = "swprof " + NUMBER;

    private Version() {
    }
}
