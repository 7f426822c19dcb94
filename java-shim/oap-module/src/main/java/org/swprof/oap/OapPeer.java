package org.swprof.oap;

import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.grpc.stub.StreamObserver;
import org.apache.skywalking.apm.network.common.v3.Commands;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessPingPkgList;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFProcessReportList;
import org.apache.skywalking.apm.network.ebpf.profiling.process.v3.EBPFReportProcessDownstream;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingData;
import org.apache.skywalking.apm.network.ebpf.profiling.v3.EBPFProfilingTaskQuery;
import org.apache.skywalking.oap.server.receiver.ebpf.provider.handler.EBPFProcessServiceHandler;
import org.apache.skywalking.oap.server.receiver.ebpf.provider.handler.EBPFProfilingServiceHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.swprof.shim.SwprofCore;
import org.swprof.shim.grpc.AgentServices;

/**
 * OAP's own eBPF receiver as the agents' second listener ({@link AgentServices.Peer}): the processes agents report
 * stay OAP metadata (its handler writes them, as it does without the module), the tasks in OAP's storage (made before
 * the module, or by continuous profiling) still reach their agents and their data still goes to OAP's storage. The
 * handlers are OAP's classes, called in process with the messages the agents sent.
 */
final class OapPeer implements AgentServices.Peer {
    private static final Logger LOG = LoggerFactory.getLogger(OapPeer.class);

    private final EBPFProcessServiceHandler processes;
    private final EBPFProfilingServiceHandler profiling;

    OapPeer(EBPFProcessServiceHandler processes, EBPFProfilingServiceHandler profiling) {
        this.processes = processes;
        this.profiling = profiling;
    }

    /** Collects the one answer of a unary call made in process. */
    private static final class Answer<T extends MessageLite> implements StreamObserver<T> {
        private final List<T> values = new ArrayList<>();
        private Throwable error;

        @Override
        public void onNext(T value) {
            values.add(value);
        }

        @Override
        public void onError(Throwable t) {
            error = t;
        }

        @Override
        public void onCompleted() {
        }

        byte[] bytes() throws Exception {
            if (error != null) {
                throw new IllegalStateException("OAP's receiver answered an error: " + error, error);
            }
            return values.isEmpty() ? null : values.get(0).toByteArray();
        }
    }

    @Override
    public byte[] processes(int call, byte[] request) throws Exception {
        if (call == SwprofCore.AGENT_REPORT_PROCESSES) {
            Answer<EBPFReportProcessDownstream> a = new Answer<>();
            processes.reportProcesses(EBPFProcessReportList.parseFrom(request), a);
            return a.bytes();
        }
        Answer<Commands> a = new Answer<>();
        processes.keepAlive(EBPFProcessPingPkgList.parseFrom(request), a);
        return a.bytes();
    }

    @Override
    public byte[] commands(byte[] query) throws Exception {
        Answer<Commands> a = new Answer<>();
        profiling.queryTasks(EBPFProfilingTaskQuery.parseFrom(query), a);
        return a.bytes();
    }

    @Override
    public boolean ownsTask(String taskId) {
        return !Ids.isSwprof(taskId);
    }

    @Override
    public StreamObserver<byte[]> openStream() {
        StreamObserver<EBPFProfilingData> in = profiling.collectProfilingData(new StreamObserver<Commands>() {
            @Override
            public void onNext(Commands value) {
            }

            @Override
            public void onError(Throwable t) {
                LOG.warn("OAP's receiver refused the data of one of its tasks: {}", t.toString());
            }

            @Override
            public void onCompleted() {
            }
        });
        return new StreamObserver<byte[]>() {
            private boolean broken;

            @Override
            public void onNext(byte[] message) {
                if (broken) {
                    return;
                }
                try {
                    in.onNext(EBPFProfilingData.parseFrom(message));
                } catch (InvalidProtocolBufferException | RuntimeException e) {
                    broken = true;
                    in.onError(e);
                }
            }

            @Override
            public void onError(Throwable t) {
                if (!broken) {
                    in.onError(t);
                }
            }

            @Override
            public void onCompleted() {
                if (!broken) {
                    in.onCompleted();
                }
            }
        };
    }

    /** The stock reply to a report, for the module's own processes (the heartbeat): EBPFReportProcessDownstream. */
    byte[] report(byte[] request) throws Exception {
        return processes(SwprofCore.AGENT_REPORT_PROCESSES, request);
    }

    byte[] keepAlive(byte[] request) throws Exception {
        return processes(SwprofCore.AGENT_KEEP_ALIVE, request);
    }
}
