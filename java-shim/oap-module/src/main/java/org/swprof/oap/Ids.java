package org.swprof.oap;

/**
 * Whose is an id: swprof's task and schedule ids are 16 lowercase hex digits, the first a letter (native/src/ids:
 * swp__ext_id); OAP's are 64 hex digits (SHA-256). The module routes by it: a query, an analysis or an agent's data
 * goes to swprof's core or to OAP's stock service.
 */
final class Ids {
    private Ids() {
    }

    static boolean isSwprof(String id) {
        if (id == null || id.length() != 16 || id.charAt(0) < 'a' || id.charAt(0) > 'f') {
            return false;
        }
        for (int i = 1; i < 16; i++) {
            char c = id.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }
}
