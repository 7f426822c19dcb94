package org.swprof.shim.server;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/** java.util.logging to stdout, one line per record; the native core logs through it too ("swprof.core"). */
public final class Logging {
    /** Strong references: java.util.logging keeps loggers weakly, and a collected logger forgets its level. */
    private static final java.util.List<Logger> CONFIGURED = new java.util.ArrayList<>();

    private Logging() {
    }

    public static void configure(String level) {
        // Undertow/XNIO log through jboss-logging: make it use java.util.logging whatever else is on the classpath
        System.setProperty("org.jboss.logging.provider", "jdk");
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        Level l = switch (level) {
            case "DEBUG" -> Level.FINE;
            case "WARN" -> Level.WARNING;
            case "ERROR" -> Level.SEVERE;
            default -> Level.INFO;
        };
        root.setLevel(l);
        Handler h = new StreamHandler(System.out, new OneLine()) {
            @Override
            public synchronized void publish(LogRecord r) {
                super.publish(r);
                flush();
            }
        };
        h.setLevel(Level.ALL);
        root.addHandler(h);
        for (String quiet : new String[] {"io.undertow", "org.xnio", "org.jboss", "graphql", "notprivacysafe"}) {
            Logger q = Logger.getLogger(quiet);
            q.setLevel(l.intValue() > Level.WARNING.intValue() ? l : Level.WARNING);
            CONFIGURED.add(q);
        }
    }

    static final class OneLine extends Formatter {
        @Override
        public String format(LogRecord r) {
            StringBuilder b = new StringBuilder(160);
            b.append(Instant.ofEpochMilli(r.getMillis())).append(' ')
                    .append(name(r.getLevel())).append(' ')
                    .append(shortName(r.getLoggerName())).append(" - ")
                    .append(formatMessage(r)).append('\n');
            if (r.getThrown() != null) {
                StringWriter sw = new StringWriter();
                r.getThrown().printStackTrace(new PrintWriter(sw));
                b.append(sw);
            }
            return b.toString();
        }

        private static String name(Level l) {
            if (l.intValue() >= Level.SEVERE.intValue()) {
                return "ERROR";
            }
            if (l.intValue() >= Level.WARNING.intValue()) {
                return "WARN ";
            }
            if (l.intValue() >= Level.INFO.intValue()) {
                return "INFO ";
            }
            return "DEBUG";
        }

        private static String shortName(String n) {
            if (n == null) {
                return "-";
            }
            int dot = n.lastIndexOf('.');
            return n.startsWith("swprof.") || dot < 0 ? n : n.substring(dot + 1);
        }
    }

}
