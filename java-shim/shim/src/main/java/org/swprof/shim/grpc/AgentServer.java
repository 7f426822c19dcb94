package org.swprof.shim.grpc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import io.grpc.Server;
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
        AgentServices services = new AgentServices(core);
        Server s = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                .maxInboundMessageSize(maxMessageBytes)
                .maxInboundMetadataSize(64 * 1024)
                .maxConcurrentCallsPerConnection(64)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .addService(services.processService())
                .addService(services.profilingService())
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
