package org.swprof.shim.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The ui.templatesDir key: where the UI's dashboard templates come from. */
class UiConfigTest {
    @Test
    void builtInByDefault() {
        assertNull(ServerConfig.parse("", "test", Map.of()).templatesDir);
        // the packed swprof.yml documents the key and leaves it empty
        assertNull(ServerConfig.load(null, Map.of()).templatesDir);
    }

    @Test
    void fromYamlOrEnvironment() {
        assertEquals(Path.of("/etc/swprof/templates"),
                ServerConfig.parse("ui: {templatesDir: /etc/swprof/templates}", "test", Map.of()).templatesDir);
        assertEquals(Path.of("/other"), ServerConfig.parse("ui: {templatesDir: /etc/swprof/templates}", "test",
                Map.of("SWPROF_UI_TEMPLATES_DIR", "/other")).templatesDir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.parse("ui: {templateDir: /x}", "test", Map.of()));
        assertTrue(e.getMessage().contains("unknown key ui.templateDir"), e.getMessage());
    }
}
