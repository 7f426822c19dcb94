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
import com.google.protobuf.InvalidProtocolBufferException;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.ContinuousProfilingServiceGrpc;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingData;
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
 *
 * <p>Inside OAP the agents have a second listener, a {@link Peer}: OAP's own receiver, which keeps their processes as
 * OAP metadata and owns the tasks in OAP's storage. It hears every report and keep-alive the core took, adds its
 * commands to the core's, and takes the blocks of its own tasks out of the data streams.
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

    /** The other listener of the agents (OAP's receiver, in the module); its messages are protobuf bytes too. */
    public interface Peer {
        /**
         * Hears a report or keep-alive (call: SwprofCore.AGENT_*) after the core took it; returns its own answer,
         * which the agent gets instead of the core's (the same ids), or null.
         */
        byte[] processes(int call, byte[] request) throws Exception;

        /** Its commands (Commands bytes) for a task query, sent with the core's; null = none. */
        byte[] commands(byte[] query) throws Exception;

        /** Is this task the peer's (in its storage) rather than the core's? */
        boolean ownsTask(String taskId);

        /** A data stream into the peer for the blocks of its tasks (EBPFProfilingData bytes); its answer is not used. */
        StreamObserver<byte[]> openStream();
    }

    private final SwprofCore core;
    private final Peer peer;

    public AgentServices(SwprofCore core) {
        this(core, null);
    }

    public AgentServices(SwprofCore core, Peer peer) {
        this.core = core;
        this.peer = peer;
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

    /**
     * ContinuousProfilingService: swprof has no continuous-profiling policies, so queryPolicies answers no commands
     * (and reportProfilingTask, which only a policy triggers, too). Rover asks every 10 s and warns on each refusal
     * otherwise. For the standalone server; OAP serves its own.
     */
    public ServerServiceDefinition continuousProfilingService() {
        byte[] none = new byte[0]; // an empty Commands message
        return ServerServiceDefinition.builder(ContinuousProfilingServiceGrpc.SERVICE_NAME)
                .addMethod(bytes(ContinuousProfilingServiceGrpc.getQueryPoliciesMethod()),
                        ServerCalls.asyncUnaryCall((req, out) -> reply(none, out)))
                .addMethod(bytes(ContinuousProfilingServiceGrpc.getReportProfilingTaskMethod()),
                        ServerCalls.asyncUnaryCall((req, out) -> reply(none, out)))
                .build();
    }

    private static void reply(byte[] answer, StreamObserver<byte[]> out) {
        out.onNext(answer);
        out.onCompleted();
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
        if (peer != null) {
            try {
                if (call == SwprofCore.AGENT_QUERY_TASKS) {
                    reply = merge(reply, peer.commands(request));
                } else {
                    byte[] theirs = peer.processes(call, request);
                    reply = theirs != null ? theirs : reply;
                }
            } catch (Exception e) {
                // the core has it: the agent is served; the peer's trouble is the peer's log line
                LOG.log(Level.WARNING, "the agents' other listener failed on a call (the core took it): " + e, e);
            }
        }
        reply(reply, out);
    }

    /** Two Commands messages as one (repeated fields concatenate when their encodings do). */
    static byte[] merge(byte[] a, byte[] b) {
        if (b == null || b.length == 0) {
            return a;
        }
        byte[] m = new byte[a.length + b.length];
        System.arraycopy(a, 0, m, 0, a.length);
        System.arraycopy(b, 0, m, a.length, b.length);
        return m;
    }

    /** The task id of a data message that carries the task's metadata, or null. */
    static String taskOf(byte[] message) {
        try {
            EBPFProfilingData d = EBPFProfilingData.parseFrom(message);
            return d.hasTask() ? d.getTask().getTaskId() : null;
        } catch (InvalidProtocolBufferException e) {
            return null; // the core says what is wrong with it
        }
    }

    static Status status(RuntimeException e) {
        if (e instanceof SwprofException) {
            SwprofException s = (SwprofException) e;
            int errno = s.errno();
            Status st = errno == 22 ? Status.INVALID_ARGUMENT // EINVAL
                    : errno == 7 ? Status.RESOURCE_EXHAUSTED // E2BIG
                    : errno == 2 ? Status.NOT_FOUND // ENOENT
                    : errno == 28 ? Status.UNAVAILABLE // ENOSPC: the backend cannot write now
                    : Status.INTERNAL;
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
        /** with a peer: the block being read belongs to it, and its stream */
        private boolean toPeer;
        private StreamObserver<byte[]> peerStream;

        DataStreamObserver(StreamObserver<byte[]> out) {
            this.out = out;
        }

        @Override
        public void onNext(byte[] message) {
            if (failed) {
                return;
            }
            if (peer != null) {
                String task = taskOf(message);
                if (task != null) {
                    toPeer = peer.ownsTask(task);
                }
                if (toPeer) {
                    if (peerStream == null) {
                        peerStream = peer.openStream();
                    }
                    peerStream.onNext(message);
                    return;
                }
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
                if (peerStream != null) {
                    peerStream.onError(e);
                    peerStream = null;
                }
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
            if (peerStream != null) {
                peerStream.onError(t);
            }
        }

        @Override
        public void onCompleted() {
            if (peerStream != null) {
                peerStream.onCompleted();
            }
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
