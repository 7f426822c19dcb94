package org.swprof.shim;

import java.nio.charset.StandardCharsets;

/**
 * A call into the native core failed. The message is the core's one-line reason ({@code swp_last_error()}),
 * the errno the positive value of its negative return code.
 */
public class SwprofException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public SwprofException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** Called from JNI: the reason crosses as UTF-8 bytes. */
    SwprofException(byte[] utf8Message, int errno) {
        this(new String(utf8Message, StandardCharsets.UTF_8), errno);
    }

    /** The errno of the failure (e.g. 22 for EINVAL), 0 when unknown. */
    public int errno() {
        return errno;
    }
}
