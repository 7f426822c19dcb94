package org.swprof.shim.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * Who may talk to the server. A bearer token ({@code Authorization: Bearer <token>} over HTTP, the metadata
 * {@code authentication} over gRPC, as OAP's agents send it) is required whenever a port listens beyond loopback,
 * and on loopback too with {@code auth.required: true}. Without a configured token one is generated at the first
 * start into {@code <dataDir>/auth-token} (owner-only) and its path logged. Browsers are held to their origin: on a
 * loopback-bound server the Host must be a loopback name (DNS rebinding), and a request with an Origin must come from
 * the server itself, a loopback page, or one of {@code rest.allowedOrigins} (a page elsewhere cannot drive it).
 */
public final class Access {
    private static final Logger LOG = Logger.getLogger(Access.class.getName());
    /** where a generated token is kept, in the data directory */
    public static final String TOKEN_FILE = "auth-token";

    private final byte[] token; // null: none asked for
    private final boolean loopbackBound;
    private final List<String> allowedOrigins;

    Access(String token, boolean loopbackBound, List<String> allowedOrigins) {
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        this.loopbackBound = loopbackBound;
        this.allowedOrigins = allowedOrigins.stream().map(o -> o.toLowerCase(Locale.ROOT).replaceAll("/+$", ""))
                .toList();
    }

    /** For one listener: the token when this listener needs one (beyond loopback, or auth.required), else null. */
    static String tokenFor(ServerConfig cfg, String host, String token) {
        return cfg.authRequired || !isLoopback(host) ? token : null;
    }

    /**
     * The token: auth.token, else auth.tokenFile's content, else (only when a listener needs one) a new one in the
     * data directory, kept across restarts. Null when nothing needs a token.
     */
    static String resolveToken(ServerConfig cfg) {
        boolean needed = cfg.authRequired || !isLoopback(cfg.host) || cfg.grpcEnabled && !isLoopback(cfg.grpcHost);
        if (cfg.authToken != null) {
            return cfg.authToken;
        }
        if (cfg.authTokenFile != null) {
            try {
                String t = Files.readString(cfg.authTokenFile, StandardCharsets.UTF_8).trim();
                if (t.length() < 16) {
                    throw new IllegalArgumentException("auth.tokenFile " + cfg.authTokenFile + " holds less than 16 "
                            + "characters");
                }
                return t;
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read auth.tokenFile " + cfg.authTokenFile + ": " + e, e);
            }
        }
        if (!needed) {
            return null;
        }
        Path f = cfg.dataDir.resolve(TOKEN_FILE);
        try {
            if (Files.isRegularFile(f)) {
                String t = Files.readString(f, StandardCharsets.UTF_8).trim();
                if (t.length() >= 16) {
                    LOG.info("auth: the bearer token is in " + f.toAbsolutePath());
                    return t;
                }
            }
            Files.createDirectories(cfg.dataDir);
            byte[] raw = new byte[32];
            new SecureRandom().nextBytes(raw);
            String t = HexFormat.of().formatHex(raw);
            Path tmp = Files.createTempFile(cfg.dataDir, ".auth-token", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, t + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, f, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            LOG.info("auth: a bearer token was generated into " + f.toAbsolutePath() + " (owner-only); clients send "
                    + "'Authorization: Bearer <token>', agents the gRPC metadata 'authentication: <token>'");
            return t;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot keep a generated token in " + f + ": " + e, e);
        }
    }

    static boolean isLoopback(String host) {
        if (host == null) {
            return false;
        }
        String h = host.trim();
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Is this the token? (constant time) */
    boolean tokenMatches(String presented) {
        return token == null || presented != null
                && MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8));
    }

    boolean needsToken() {
        return token != null;
    }

    /** The token of an Authorization header value, or null. */
    static String bearer(String header) {
        if (header == null) {
            return null;
        }
        String h = header.trim();
        return h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).trim() : null;
    }

    /** Why a request with this Host and Origin is refused, or null. */
    String refusal(String hostHeader, String origin) {
        String host = hostOf(hostHeader);
        if (loopbackBound && host != null && !isLoopbackName(host)) {
            return "the Host " + hostHeader + " is not this server's (it listens on loopback only)";
        }
        if (origin == null || origin.isEmpty()) {
            return null;
        }
        String o = origin.toLowerCase(Locale.ROOT).replaceAll("/+$", "");
        if (allowedOrigins.contains(o)) {
            return null;
        }
        String originHost;
        try {
            originHost = URI.create(o).getHost();
        } catch (IllegalArgumentException e) {
            originHost = null;
        }
        if (originHost != null && (originHost.equals(host) || loopbackBound && isLoopbackName(originHost))) {
            return null;
        }
        return "a request from the page " + origin + " is refused: it is not this server's origin nor in "
                + "rest.allowedOrigins";
    }

    /** host of "host:port", "[v6]:port", "host" (lower case); null for no header */
    static String hostOf(String hostHeader) {
        if (hostHeader == null || hostHeader.isEmpty()) {
            return null;
        }
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int e = h.indexOf(']');
            return e > 0 ? h.substring(1, e) : h;
        }
        int c = h.lastIndexOf(':');
        return c > 0 && h.indexOf(':') == c ? h.substring(0, c) : h;
    }

    /** a loopback name as browsers write it: localhost, 127.x.x.x, ::1 (no DNS) */
    static boolean isLoopbackName(String host) {
        String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        return h.equals("localhost") || h.endsWith(".localhost") || h.matches("127(\\.\\d{1,3}){3}")
                || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1");
    }
}
