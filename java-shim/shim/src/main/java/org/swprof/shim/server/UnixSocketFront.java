package org.swprof.shim.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.swprof.shim.SwprofCore;

/**
 * {@code rest.unixSocket}: the same HTTP API on a Unix socket, for hosts shared by several users. Anyone may
 * connect (the socket is mode 0666); the peer's credentials (SO_PEERCRED) decide what it may see and profile: the
 * processes its uid could ptrace, and the tasks it created (root: everything). No token is needed there.
 *
 * <p>Each connection carries one request. Its head is read (within {@code rest.readTimeout}, at most
 * {@link #MAX_HEAD} bytes), the headers this front sets are dropped from it, and the request goes to the HTTP
 * server's own listener with the caller's uid and this process's relay secret ({@link #CALLER}, {@link #RELAY}),
 * then exactly its Content-Length of body; the answer comes back as it is written. Only a request that came
 * through here carries the secret, so no TCP client can claim a uid.
 */
public final class UnixSocketFront implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(UnixSocketFront.class.getName());
    /** The caller's uid, as this front sets it. */
    public static final String CALLER = "X-Swprof-Caller-Uid";
    /** This process's relay secret: proves that the request came through the Unix socket. */
    public static final String RELAY = "X-Swprof-Relay";
    static final int MAX_HEAD = 64 << 10;
    static final int MAX_CONNECTIONS = 256;

    private final Path path;
    private final ServerSocketChannel server;
    private final InetSocketAddress backend;
    private final int readTimeoutMs;
    private final String secret;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> daemon(r, "swprof-unix-socket"));
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            r -> daemon(r, "swprof-unix-socket-timer"));
    private final Semaphore connections = new Semaphore(MAX_CONNECTIONS);
    private final Thread acceptor;
    private volatile boolean closed;

    /** A relay secret for the HTTP server to expect: 32 random bytes, hex. */
    public static String newSecret() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private UnixSocketFront(Path path, ServerSocketChannel server, InetSocketAddress backend, int readTimeoutMs,
                            String secret) {
        this.path = path;
        this.server = server;
        this.backend = backend;
        this.readTimeoutMs = readTimeoutMs;
        this.secret = secret;
        this.acceptor = daemon(this::accept, "swprof-unix-socket-accept");
        acceptor.start();
    }

    /**
     * Binds path (a stale socket left by a killed server is replaced; any other file there is an error) and relays
     * to the HTTP server at backend, which must expect secret.
     */
    public static UnixSocketFront start(Path path, InetSocketAddress backend, int readTimeoutMs, String secret)
            throws IOException {
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            if (!"socket".equals(fileType(path))) {
                throw new IOException(path + " exists and is not a socket: rest.unixSocket names the socket to make");
            }
            Files.delete(path); // a socket a killed server left
        }
        if (path.getParent() != null) {
            Files.createDirectories(path.getParent());
        }
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw-rw-"));
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return new UnixSocketFront(path, s, backend, readTimeoutMs, secret);
    }

    private static String fileType(Path p) throws IOException {
        Object mode = Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        return (((Integer) mode) & 0170000) == 0140000 ? "socket" : "other";
    }

    public Path path() {
        return path;
    }

    private void accept() {
        while (!closed) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "the Unix socket stopped accepting: " + e, e);
                }
                return;
            }
            if (!connections.tryAcquire()) {
                answer(c, 503, "too many connections on the Unix socket (" + MAX_CONNECTIONS + ")");
                close(c);
                continue;
            }
            pool.execute(() -> {
                try {
                    serve(c);
                } finally {
                    close(c);
                    connections.release();
                }
            });
        }
    }

    /** One connection: who, its request's head, then the relay. */
    private void serve(SocketChannel c) {
        int uid;
        try {
            UnixDomainPrincipal p = c.getOption(ExtendedSocketOptions.SO_PEERCRED);
            uid = uidOf(p.user().getName());
        } catch (IOException | UnsupportedOperationException e) {
            answer(c, 500, "cannot read the peer's credentials: " + e.getMessage());
            return;
        }
        if (uid < 0) {
            answer(c, 403, "the peer's user is not known to this system");
            return;
        }
        // a client that stops sending is cut off: the channel closed under its blocked read
        ScheduledFuture<?> cut = timer.schedule(() -> close(c), readTimeoutMs, TimeUnit.MILLISECONDS);
        try {
            ByteBuffer head = ByteBuffer.allocate(MAX_HEAD);
            int end;
            while ((end = headEnd(head)) < 0) {
                if (!head.hasRemaining()) {
                    answer(c, 431, "request head larger than " + MAX_HEAD + " bytes");
                    return;
                }
                if (c.read(head) < 0) {
                    return;
                }
            }
            Request r = Request.parse(new String(head.array(), 0, end, StandardCharsets.ISO_8859_1));
            if (r.refusal != null) {
                answer(c, r.status, r.refusal);
                return;
            }
            try (SocketChannel b = SocketChannel.open(backend)) {
                String out = r.line + "\r\n" + r.headers + CALLER + ": " + uid + "\r\n" + RELAY + ": " + secret
                        + "\r\nConnection: close\r\n\r\n";
                writeAll(b, ByteBuffer.wrap(out.getBytes(StandardCharsets.ISO_8859_1)));
                // the body: what came with the head, then the rest of its Content-Length, no more
                long left = r.contentLength;
                ByteBuffer rest = ByteBuffer.wrap(head.array(), end, Math.min(head.position() - end, (int) Math.min(
                        left, Integer.MAX_VALUE)));
                left -= rest.remaining();
                writeAll(b, rest);
                ByteBuffer buf = ByteBuffer.allocate(64 << 10);
                while (left > 0) {
                    buf.clear().limit((int) Math.min(buf.capacity(), left));
                    int n = c.read(buf);
                    if (n < 0) {
                        return;
                    }
                    cut.cancel(false);
                    cut = timer.schedule(() -> close(c), readTimeoutMs, TimeUnit.MILLISECONDS);
                    left -= n;
                    writeAll(b, buf.flip());
                }
                cut.cancel(false);
                // the answer, as the server writes it
                for (;;) {
                    buf.clear();
                    if (b.read(buf) < 0) {
                        return;
                    }
                    writeAll(c, buf.flip());
                }
            }
        } catch (IOException e) {
            LOG.fine(() -> "a Unix socket request ended early: " + e);
        } finally {
            cut.cancel(false);
        }
    }

    /** A user name from SO_PEERCRED to its uid (a name the JDK could not resolve is the uid itself). */
    static int uidOf(String name) {
        if (name.chars().allMatch(Character::isDigit) && !name.isEmpty() && name.length() < 10) {
            return Integer.parseInt(name);
        }
        return SwprofCore.uidOf(name);
    }

    private static int headEnd(ByteBuffer b) {
        byte[] a = b.array();
        for (int i = 3; i < b.position(); i++) {
            if (a[i] == '\n' && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    /** A request head as the front relays it: its line, its headers but ours, its body's length. */
    static final class Request {
        String line;
        String headers = "";
        long contentLength;
        int status;
        String refusal;

        static Request parse(String head) {
            Request r = new Request();
            String[] lines = head.split("\r\n");
            r.line = lines[0];
            if (!r.line.matches("[A-Z]+ /\\S* HTTP/1\\.[01]")) {
                return r.refuse(400, "not an HTTP/1.x request line: " + r.line);
            }
            StringBuilder kept = new StringBuilder();
            for (int i = 1; i < lines.length; i++) {
                String h = lines[i];
                int colon = h.indexOf(':');
                if (colon <= 0) {
                    continue;
                }
                String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = h.substring(colon + 1).trim();
                switch (name) {
                    case "x-swprof-caller-uid", "x-swprof-relay", "connection", "keep-alive" -> {
                        continue; // set here, or not relayed
                    }
                    case "transfer-encoding" -> {
                        return r.refuse(411, "send the body with a Content-Length on the Unix socket");
                    }
                    case "content-length" -> {
                        try {
                            r.contentLength = Long.parseLong(value);
                        } catch (NumberFormatException e) {
                            return r.refuse(400, "Content-Length is not a number: " + value);
                        }
                        if (r.contentLength < 0) {
                            return r.refuse(400, "a negative Content-Length");
                        }
                    }
                    default -> {
                    }
                }
                kept.append(h).append("\r\n");
            }
            r.headers = kept.toString();
            return r;
        }

        private Request refuse(int status, String why) {
            this.status = status;
            this.refusal = why;
            return this;
        }
    }

    private static void writeAll(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static void answer(SocketChannel c, int status, String message) {
        byte[] body = HttpServer.Handler.errorBody(message);
        String head = "HTTP/1.1 " + status + " " + (status < 500 ? "Refused" : "Error")
                + "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n";
        try {
            writeAll(c, ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
            writeAll(c, ByteBuffer.wrap(body));
        } catch (IOException e) {
            // the client is gone
        }
    }

    private static void close(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // closed already
        }
    }

    /** Stops accepting; requests in flight end with their connections. The socket file is removed. */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closed already
        }
        pool.shutdownNow();
        timer.shutdownNow();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warning("cannot remove the Unix socket " + path + ": " + e);
        }
    }
}
