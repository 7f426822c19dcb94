package org.swprof.shim.grpc;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessServiceGrpc;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingServiceGrpc;
import org.swprof.shim.SwprofCore;
import org.swprof.shim.SwprofException;

/**
 * SkyWalking's eBPF agent services ({@code EBPFProcessService}, {@code EBPFProfilingService}, package
 * {@code skywalking.v3}) for any grpc-java server: the standalone server's and OAP's. The service and method
 * descriptors are apm-network's generated stubs'; the messages stay bytes and cross to the native core, which
 * decodes and answers them ({@link SwprofCore#agentCall}, {@link SwprofCore#openDataStream}). A stream's messages
 * cross in batches, not one by one.
 *
 * <p>A failure of the core answers a gRPC status: a request that does not decode or breaks a limit
 * INVALID_ARGUMENT (RESOURCE_EXHAUSTED for too many processes at once), an unknown task or process NOT_FOUND, a
 * closed core UNAVAILABLE.
 */
public final class AgentServices {
    private static final Logger LOG = Logger.getLogger(AgentServices.class.getName());

    /** Messages of a data stream that cross to the core at once; fewer at the end of the stream. */
    static final int BATCH_MESSAGES = 512;
    /** ... or this many bytes of them. */
    static final int BATCH_BYTES = 1 << 20;

    /** byte[] as it came off the wire (the core decodes it); bounded by the server's maxInboundMessageSize. */
    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private final SwprofCore core;

    public AgentServices(SwprofCore core) {
        this.core = core;
    }

    /** EBPFProcessService: reportProcesses, keepAlive. */
    public ServerServiceDefinition processService() {
        return ServerServiceDefinition.builder(EBPFProcessServiceGrpc.SERVICE_NAME)
                .addMethod(bytes(EBPFProcessServiceGrpc.getReportProcessesMethod()),
                        ServerCalls.asyncUnaryCall((req, out) -> unary(SwprofCore.AGENT_REPORT_PROCESSES, req, out)))
                .addMethod(bytes(EBPFProcessServiceGrpc.getKeepAliveMethod()),
                        ServerCalls.asyncUnaryCall((req, out) -> unary(SwprofCore.AGENT_KEEP_ALIVE, req, out)))
                .build();
    }

    /** EBPFProfilingService: queryTasks, collectProfilingData. */
    public ServerServiceDefinition profilingService() {
        return ServerServiceDefinition.builder(EBPFProfilingServiceGrpc.SERVICE_NAME)
                .addMethod(bytes(EBPFProfilingServiceGrpc.getQueryTasksMethod()),
                        ServerCalls.asyncUnaryCall((req, out) -> unary(SwprofCore.AGENT_QUERY_TASKS, req, out)))
                .addMethod(bytes(EBPFProfilingServiceGrpc.getCollectProfilingDataMethod()),
                        ServerCalls.asyncClientStreamingCall(DataStreamObserver::new))
                .build();
    }

    /** The stub's method (its full name and type) with the messages as bytes. */
    static <Q, A> MethodDescriptor<byte[], byte[]> bytes(MethodDescriptor<Q, A> stub) {
        return stub.toBuilder(BYTES, BYTES).build();
    }

    private void unary(int call, byte[] request, StreamObserver<byte[]> out) {
        byte[] reply;
        try {
            reply = core.agentCall(call, request);
        } catch (RuntimeException e) {
            out.onError(status(e).asRuntimeException());
            return;
        }
        out.onNext(reply);
        out.onCompleted();
    }

    static Status status(RuntimeException e) {
        if (e instanceof SwprofException s) {
            Status st = switch (s.errno()) {
                case 22 -> Status.INVALID_ARGUMENT; // EINVAL
                case 7 -> Status.RESOURCE_EXHAUSTED; // E2BIG
                case 2 -> Status.NOT_FOUND; // ENOENT
                case 28 -> Status.UNAVAILABLE; // ENOSPC: the backend cannot write now
                default -> Status.INTERNAL;
            };
            return st.withDescription(s.getMessage());
        }
        if (e instanceof IllegalStateException) {
            return Status.UNAVAILABLE.withDescription(e.getMessage());
        }
        LOG.log(Level.SEVERE, "agent call failed", e);
        return Status.INTERNAL.withDescription("internal error: " + e);
    }

    /** One collectProfilingData call: its messages go to one native data stream, a batch at a time. */
    private final class DataStreamObserver implements StreamObserver<byte[]> {
        private final StreamObserver<byte[]> out;
        private final List<byte[]> batch = new ArrayList<>();
        private int batchBytes;
        private SwprofCore.DataStream stream;
        private boolean failed;

        DataStreamObserver(StreamObserver<byte[]> out) {
            this.out = out;
        }

        @Override
        public void onNext(byte[] message) {
            if (failed) {
                return;
            }
            batch.add(message);
            batchBytes += message.length;
            if (batch.size() >= BATCH_MESSAGES || batchBytes >= BATCH_BYTES) {
                feed();
            }
        }

        /** Returns false (after answering the error) when the core refused the batch. */
        private boolean feed() {
            if (batch.isEmpty()) {
                return true;
            }
            try {
                if (stream == null) {
                    stream = core.openDataStream();
                }
                stream.feed(batch);
                return true;
            } catch (RuntimeException e) {
                failed = true;
                close();
                out.onError(status(e).asRuntimeException());
                return false;
            } finally {
                batch.clear();
                batchBytes = 0;
            }
        }

        private void close() {
            if (stream != null) {
                stream.close();
                stream = null;
            }
        }

        @Override
        public void onError(Throwable t) {
            // the agent went away or cancelled: the whole blocks it sent are kept (fed as they came, the rest of the
            // batch now); a partial last block is not (swprof's agent sends it again, whole)
            LOG.fine(() -> "a data stream ended early: " + t);
            if (!failed && !batch.isEmpty()) {
                try {
                    if (stream == null) {
                        stream = core.openDataStream();
                    }
                    stream.feed(batch);
                } catch (RuntimeException e) {
                    LOG.fine(() -> "the rest of a broken data stream was refused: " + e.getMessage());
                }
            }
            failed = true;
            batch.clear();
            close();
        }

        @Override
        public void onCompleted() {
            if (failed || !feed()) {
                return;
            }
            byte[] reply;
            try {
                if (stream == null) {
                    stream = core.openDataStream(); // an empty stream: its answer is an empty Commands all the same
                }
                reply = stream.end();
            } catch (RuntimeException e) {
                out.onError(status(e).asRuntimeException());
                return;
            } finally {
                close();
            }
            out.onNext(reply);
            out.onCompleted();
        }
    }
}
