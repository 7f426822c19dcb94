package org.swprof.oap;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.swprof.shim.SwprofCore;

/**
 * The processes swprof finds on the OAP's own host, as OAP metadata: the core's heartbeat (what an agent reports and
 * keeps alive, and when) handed to OAP's own process receiver in process, so the stock metadata queries (listServices,
 * listInstances, listProcesses, getProcess, estimateProcessScale) and the UI list them with OAP's ids, layer, labels
 * and attributes, exactly as an agent's.
 */
final class MetadataReporter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetadataReporter.class);
    /** Rover's keep-alive period */
    static final int BEAT_MS = 20_000;

    private final SwprofCore core;
    private final OapPeer oap;
    private final String agentId;
    private final ScheduledExecutorService timer;

    MetadataReporter(SwprofCore core, OapPeer oap, String agentId) {
        this.core = core;
        this.oap = oap;
        this.agentId = agentId;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "swprof-metadata");
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        timer.scheduleWithFixedDelay(this::beat, 0, 1, TimeUnit.SECONDS);
    }

    /** One step: the message due now, if any, into OAP's receiver. */
    void beat() {
        try {
            SwprofCore.Heartbeat hb = core.heartbeat(agentId, BEAT_MS);
            if (hb == null) {
                return;
            }
            byte[] answer;
            try {
                answer = hb.kind == SwprofCore.HEARTBEAT_REPORT ? oap.report(hb.message) : oap.keepAlive(hb.message);
            } catch (Exception e) {
                LOG.warn("swprof: OAP's process receiver refused this host's processes: {}", e.toString());
                core.heartbeatAnswered(hb, false, null);
                return;
            }
            int taken = core.heartbeatAnswered(hb, true, answer);
            if (taken > 0) {
                LOG.debug("swprof: {} process(es) of this host are OAP metadata now", taken);
            }
        } catch (IllegalStateException closed) {
            // the core closed (OAP stops)
        } catch (RuntimeException e) {
            LOG.warn("swprof: reporting this host's processes failed: {}", e.toString());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
