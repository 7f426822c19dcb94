package org.swprof.shim.grpc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.swprof.shim.SwprofCore;

/**
 * The standalone server's gRPC port for agents (SkyWalking Rover, {@code swprof agent}): OAP's 11800, serving
 * {@link AgentServices}. Agents' processes join the core's registry, tasks for them go out as commands, and their
 * samples take the local profiler's path into the store.
 */
public final class AgentServer implements AutoCloseable {
    private final Server server;

    private AgentServer(Server server) {
        this.server = server;
    }

    /** Binds host:port (port 0 = any free port) and starts serving. */
    public static AgentServer start(String host, int port, int maxMessageBytes, SwprofCore core) {
        return start(host, port, maxMessageBytes, core, null);
    }

    /** The same; with a token, every call must carry it as the metadata {@code authentication} (as OAP's do). */
    public static AgentServer start(String host, int port, int maxMessageBytes, SwprofCore core, String token) {
        AgentServices services = new AgentServices(core);
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(host, port));
        if (token != null) {
            b.intercept(new TokenCheck(token));
        }
        Server s = b
                .maxInboundMessageSize(maxMessageBytes)
                .maxInboundMetadataSize(64 * 1024)
                .maxConcurrentCallsPerConnection(64)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .addService(services.processService())
                .addService(services.profilingService())
                .addService(services.continuousProfilingService())
                .build();
        try {
            s.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve gRPC on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        return new AgentServer(s);
    }

    public int port() {
        return server.getPort();
    }

    /** The metadata key OAP's agents send their token in ({@code core.default.authentication}). */
    public static final Metadata.Key<String> AUTHENTICATION = Metadata.Key.of("authentication",
            Metadata.ASCII_STRING_MARSHALLER);

    /** Calls without the token end UNAUTHENTICATED before any message is read. */
    static final class TokenCheck implements ServerInterceptor {
        private final byte[] token;

        TokenCheck(String token) {
            this.token = token.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                           ServerCallHandler<Q, A> next) {
            String presented = headers.get(AUTHENTICATION);
            if (presented == null || !MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8))) {
                call.close(Status.UNAUTHENTICATED.withDescription("this backend needs its token in the gRPC metadata "
                        + "'authentication' (swprof agent --token-file FILE; Rover: core.backend.authentication)"),
                        new Metadata());
                return new ServerCall.Listener<Q>() {
                };
            }
            return next.startCall(call, headers);
        }
    }

    /** Stops accepting; calls in flight get a few seconds to finish. */
    @Override
    public void close() {
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
