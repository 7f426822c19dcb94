package org.swprof.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's dashboards come from data files: the built-in ones, or those of ui.templatesDir
 * (SWPROF_UI_TEMPLATES_DIR), read at start; a broken file stops the start with its name. No BPF needed.
 */
class UiTemplatesDirTest {
    @Test
    void builtInDashboardsForOsLinuxWithoutAnyProcess() {
        try (Server server = Server.start()) {
            BoosterUi ui = new BoosterUi(server);
            List<BoosterUi.Dashboard> all = ui.templates();
            assertEquals(2, all.size(), all::toString);
            BoosterUi.Dashboard root = BoosterUi.root(all, "OS_LINUX");
            assertEquals("All", root.entity());
            BoosterUi.Dashboard service = BoosterUi.serviceDashboardOf(all, root);
            assertEquals(List.of("Ebpf"), service.widgets().stream().map(w -> w.get("type")).toList());
            assertEquals(List.of("OS_LINUX"), ui.menuItems().stream().map(m -> m.get("layer")).toList());
            assertEquals(List.of(), ui.services("OS_LINUX"));
        }
    }

    @Test
    void dashboardsFromAConfiguredDirectory(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("mine.json"), "{\"id\": \"mine-${layer}\", \"configuration\": {\"layer\": "
                + "\"${layer}\", \"entity\": \"Service\", \"name\": \"Mine\", \"isRoot\": true, \"children\": "
                + "[{\"x\": 0, \"y\": 0, \"w\": 24, \"h\": 40, \"i\": \"0\", \"type\": \"Ebpf\"}]}}");
        try (Server server = Server.start(Map.of("SWPROF_UI_TEMPLATES_DIR", dir.toString()))) {
            server.register("sqrt", "sqrt", List.of("e2e"));
            BoosterUi ui = new BoosterUi(server);
            List<BoosterUi.Dashboard> all = ui.templates();
            assertEquals(1, all.size(), all::toString);
            assertEquals("mine-OS_LINUX", all.get(0).id());
            assertEquals("Mine", BoosterUi.root(all, "OS_LINUX").name());
            assertEquals("sqrt", ui.services("OS_LINUX").get(0).get("value"));
        }
    }

    @Test
    void aBrokenTemplateStopsTheStartWithItsName(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("broken.json"), "{\"id\": \"x\", \"configuration\": {\"layer\": \"L\"}}");
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> Server.start(Map.of("SWPROF_UI_TEMPLATES_DIR", dir.toString())).close());
        assertTrue(e.getMessage().contains("broken.json"), e.getMessage());
        e = assertThrows(RuntimeException.class,
                () -> Server.start(Map.of("SWPROF_UI_TEMPLATES_DIR", dir.resolve("none").toString())).close());
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }
}
