package org.swprof.shim.graphql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.Map;

import org.junit.jupiter.api.Test;

class DurationsTest {
    static final ZoneId SHANGHAI = ZoneId.of("Asia/Shanghai");
    static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    static long ms(int y, int mo, int d, int h, int mi, int s, ZoneId z) {
        return LocalDateTime.of(y, mo, d, h, mi, s).atZone(z).toInstant().toEpochMilli();
    }

    @Test
    void eachStepCoversItsWholeEndUnit() {
        Durations.Range r = Durations.toRange("2022-03-30 101005", "2022-03-30 101010", Durations.Step.SECOND, SHANGHAI);
        assertEquals(ms(2022, 3, 30, 10, 10, 5, SHANGHAI), r.startMs());
        assertEquals(ms(2022, 3, 30, 10, 10, 10, SHANGHAI) + 999, r.endMs());
        r = Durations.toRange("2022-03-30 1000", "2022-03-30 1010", Durations.Step.MINUTE, SHANGHAI);
        assertEquals(ms(2022, 3, 30, 10, 0, 0, SHANGHAI), r.startMs());
        assertEquals(ms(2022, 3, 30, 10, 10, 59, SHANGHAI) + 999, r.endMs());
        r = Durations.toRange("2022-03-30 09", "2022-03-30 10", Durations.Step.HOUR, SHANGHAI);
        assertEquals(ms(2022, 3, 30, 9, 0, 0, SHANGHAI), r.startMs());
        assertEquals(ms(2022, 3, 30, 10, 59, 59, SHANGHAI) + 999, r.endMs());
        r = Durations.toRange("2022-03-29", "2022-03-30", Durations.Step.DAY, SHANGHAI);
        assertEquals(ms(2022, 3, 29, 0, 0, 0, SHANGHAI), r.startMs());
        assertEquals(ms(2022, 3, 30, 23, 59, 59, SHANGHAI) + 999, r.endMs());
    }

    @Test
    void theServerZoneIsUsedAcrossDaylightSaving() {
        // 2022-03-27 in Berlin has 23 hours
        Durations.Range r = Durations.toRange("2022-03-27", "2022-03-27", Durations.Step.DAY, BERLIN);
        assertEquals(23L * 3600 * 1000 - 1, r.endMs() - r.startMs());
    }

    @Test
    void badInputIsRefusedWithTheExpectedFormat() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Durations.toRange("2022-03-30 10:10", "2022-03-30 1010", Durations.Step.MINUTE, SHANGHAI));
        assertTrue(e.getMessage().contains("yyyy-MM-dd HHmm"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Durations.toRange("2022-02-30", "2022-03-01", Durations.Step.DAY, SHANGHAI));
        assertThrows(IllegalArgumentException.class, () -> Durations.toRange(Map.of("start", "2022-03-30")));
    }

    @Test
    void startAfterEndIsEmpty() {
        assertTrue(Durations.toRange("2022-03-31", "2022-03-30", Durations.Step.DAY, SHANGHAI).isEmpty());
    }
}
