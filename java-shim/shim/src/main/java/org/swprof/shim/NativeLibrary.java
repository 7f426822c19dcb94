package org.swprof.shim;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Loads {@code libswprof_jni.so} once per class loader, in this order:
 * <ol>
 *   <li>the file named by the system property {@value #PROPERTY};</li>
 *   <li>{@code System.loadLibrary("swprof_jni")} ({@code java.library.path});</li>
 *   <li>the copy packed in the jar at {@value #RESOURCE}, extracted to a temporary file that is unlinked as soon as
 *   it is loaded.</li>
 * </ol>
 */
public final class NativeLibrary {
    public static final String PROPERTY = "swprof.library.path";
    static final String NAME = "swprof_jni";
    static final String RESOURCE = "/native/linux-x86_64/libswprof_jni.so";

    private static final Logger LOG = Logger.getLogger(NativeLibrary.class.getName());
    private static volatile String loadedFrom;

    private NativeLibrary() {
    }

    /** Where the library was loaded from, or null before {@link #load()}. */
    public static String loadedFrom() {
        return loadedFrom;
    }

    public static synchronized void load() {
        if (loadedFrom != null) {
            return;
        }
        List<String> tried = new ArrayList<>();
        String prop = System.getProperty(PROPERTY);
        if (prop != null && !prop.isBlank()) {
            Path p = Path.of(prop).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                // an explicit path that does not exist is a configuration error, not something to fall back from
                throw new UnsatisfiedLinkError("-D" + PROPERTY + "=" + prop + ": no such file");
            }
            System.load(p.toString());
            loadedFrom = p.toString();
            return;
        }
        try {
            System.loadLibrary(NAME);
            loadedFrom = "java.library.path";
            return;
        } catch (UnsatisfiedLinkError e) {
            tried.add("System.loadLibrary(\"" + NAME + "\"): " + e.getMessage());
        }
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                tried.add("jar resource " + RESOURCE + ": absent");
            } else {
                Path tmp = Files.createTempFile("libswprof_jni-", ".so");
                try {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    System.load(tmp.toString());
                } finally {
                    // mapped once loaded: unlinked at once, so no copy is left behind, not even by a kill -9
                    Files.deleteIfExists(tmp);
                }
                loadedFrom = "jar (extracted to " + tmp + ", then unlinked)";
                return;
            }
        } catch (IOException e) {
            tried.add("jar resource " + RESOURCE + ": " + e);
        }
        throw new UnsatisfiedLinkError("cannot load lib" + NAME + ".so; set -D" + PROPERTY
                + "=/path/to/libswprof_jni.so (build it with: ninja -C build swprof_jni). Tried: " + tried);
    }

    static void logLoaded() {
        LOG.fine(() -> "libswprof_jni loaded from " + loadedFrom);
    }
}
