package org.swprof.shim.graphql;

import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.ResolverStyle;
import java.time.temporal.ChronoField;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Map;

/**
 * SkyWalking's {@code Duration {start, end, step}} -> a closed range of epoch milliseconds, in the server's
 * local time zone. Formats by step: SECOND {@code yyyy-MM-dd HHmmss}, MINUTE {@code yyyy-MM-dd HHmm},
 * HOUR {@code yyyy-MM-dd HH}, DAY {@code yyyy-MM-dd}. The end bound covers its whole unit: MINUTE end
 * {@code 2022-03-30 1010} ends at 10:10:59.999.
 */
public final class Durations {
    private Durations() {
    }

    /** An inclusive range of epoch milliseconds; empty when start > end. */
    public static final class Range {
        private final long startMs;
        private final long endMs;

        public Range(long startMs, long endMs) {
            this.startMs = startMs;
            this.endMs = endMs;
        }

        public long startMs() {
            return startMs;
        }

        public long endMs() {
            return endMs;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Range)) {
                return false;
            }
            Range x = (Range) o;
            return startMs == x.startMs
                    && endMs == x.endMs;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(startMs, endMs);
        }

        @Override
        public String toString() {
            return "Range[startMs=" + startMs + ", endMs=" + endMs + "]";
        }

        public boolean isEmpty() {
            return startMs > endMs;
        }
    }

    public enum Step {
        SECOND("uuuu-MM-dd HHmmss", ChronoUnit.SECONDS),
        MINUTE("uuuu-MM-dd HHmm", ChronoUnit.MINUTES),
        HOUR("uuuu-MM-dd HH", ChronoUnit.HOURS),
        DAY("uuuu-MM-dd", ChronoUnit.DAYS);

        final String pattern;
        final ChronoUnit unit;
        final DateTimeFormatter formatter;

        Step(String pattern, ChronoUnit unit) {
            this.pattern = pattern;
            this.unit = unit;
            DateTimeFormatterBuilder b = new DateTimeFormatterBuilder().appendPattern(pattern);
            if (unit.compareTo(ChronoUnit.HOURS) >= 0) {
                b.parseDefaulting(ChronoField.MINUTE_OF_HOUR, 0);
            }
            if (unit.compareTo(ChronoUnit.DAYS) >= 0) {
                b.parseDefaulting(ChronoField.HOUR_OF_DAY, 0);
            }
            if (unit.compareTo(ChronoUnit.MINUTES) >= 0) {
                b.parseDefaulting(ChronoField.SECOND_OF_MINUTE, 0);
            }
            this.formatter = b.toFormatter(Locale.ROOT).withResolverStyle(ResolverStyle.STRICT);
        }

        /** The pattern as SkyWalking documents it (yyyy, not uuuu). */
        public String documented() {
            return pattern.replace("uuuu", "yyyy");
        }
    }

    /** The GraphQL input object (a Map with start, end, step) -> range, in the server's zone. */
    public static Range toRange(Map<String, Object> duration) {
        return toRange(duration, ZoneId.systemDefault());
    }

    public static Range toRange(Map<String, Object> duration, ZoneId zone) {
        Object start = duration.get("start");
        Object end = duration.get("end");
        Object step = duration.get("step");
        if (!(start instanceof String) || !(end instanceof String) || step == null) {
            throw new IllegalArgumentException("duration needs start, end and step");
        }
        return toRange((String) start, (String) end, Step.valueOf(step.toString()), zone);
    }

    public static Range toRange(String start, String end, Step step, ZoneId zone) {
        long s = parse("start", start, step).atZone(zone).toInstant().toEpochMilli();
        LocalDateTime endUnit = parse("end", end, step);
        // the end covers its whole unit: up to the first millisecond of the next unit, exclusive
        long e = endUnit.plus(1, step.unit).atZone(zone).toInstant().toEpochMilli() - 1;
        return new Range(s, e);
    }

    private static LocalDateTime parse(String what, String text, Step step) {
        try {
            return LocalDateTime.parse(text.trim(), step.formatter);
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("duration " + what + " \"" + text + "\" does not match \""
                    + step.documented() + "\" (step " + step + ")");
        }
    }
}
