package org.swprof.shim.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The page the server serves at {@code /}: the files ui/build.sh bundles into ui/dist, packed in the jar under
 * {@code page/}, read once when the server starts (about 100 KB) and answered from memory. A request names a file by
 * one path segment ({@code /app.js}; {@code /} is {@code index.html}); nothing else of the jar or the disk can be
 * named, and only the file types below are served.
 */
final class Page {
    /** where the page's files are in the jar */
    static final String RESOURCE_DIR = "page";

    /** what a browser may load and from where: this server only, never framed (a framed "Profile this" could be clicked
     *  for a person by another site) */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            + "form-action 'none'";

    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml",
            "png", "image/png",
            "ico", "image/x-icon",
            "json", "application/json; charset=utf-8",
            "txt", "text/plain; charset=utf-8");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");

    /** One file of the page: its Content-Type and bytes. */
    record File(String contentType, byte[] bytes) {
    }

    private final Map<String, File> files;

    private Page(Map<String, File> files) {
        this.files = Map.copyOf(files);
    }

    /** The page in this class's jar (or classes directory); empty when the jar was built without it. */
    static Page load() {
        URL index = Page.class.getClassLoader().getResource(RESOURCE_DIR + "/index.html");
        if (index == null) {
            return new Page(Map.of());
        }
        try {
            URI uri = index.toURI();
            if ("jar".equals(uri.getScheme())) {
                FileSystem fs;
                try {
                    fs = FileSystems.newFileSystem(uri, Map.of());
                } catch (FileSystemAlreadyExistsException e) {
                    fs = FileSystems.getFileSystem(uri);
                }
                return read(fs.getPath("/" + RESOURCE_DIR));
            }
            return read(Path.of(uri).getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the page's files next to " + index, e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("the page's files are at " + index + ", which is no URI", e);
        }
    }

    private static Page read(Path dir) throws IOException {
        Map<String, File> files = new HashMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                String name = p.getFileName().toString();
                String type = typeOf(name);
                if (type != null && Files.isRegularFile(p)) {
                    files.put(name, new File(type, Files.readAllBytes(p)));
                }
            }
        }
        return new Page(files);
    }

    /** The Content-Type of a servable file name, null for any other name. */
    static String typeOf(String name) {
        if (!NAME.matcher(name).matches()) {
            return null;
        }
        int dot = name.lastIndexOf('.');
        return dot < 0 ? null : TYPES.get(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** Is there a page at all (the jar was built with it)? */
    boolean exists() {
        return files.containsKey("index.html");
    }

    /** The file a request path names, or null. */
    File file(String path) {
        if (path.equals("/")) {
            return files.get("index.html");
        }
        return path.length() > 1 && path.charAt(0) == '/' ? files.get(path.substring(1)) : null;
    }
}
