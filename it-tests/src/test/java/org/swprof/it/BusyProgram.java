package org.swprof.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * ProfilingEndToEndTest's busy C program ({@link ProfilingEndToEndTest#PROGRAM}, hot function
 * {@link ProfilingEndToEndTest#HOT}), compiled with frame pointers under a name of the caller's choosing, so that a
 * discovery rule can find exactly the processes started from it.
 */
final class BusyProgram implements AutoCloseable {
    final Path dir;
    final Path exe;
    private final List<Process> started = new ArrayList<>();

    private BusyProgram(Path dir, Path exe) {
        this.dir = dir;
        this.exe = exe;
    }

    /** Compiles the program as {@code <tmp>/<name>}; null (and nothing left behind) when there is no C compiler. */
    static BusyProgram compile(String name) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("swprof-it-busy-");
        Path src = dir.resolve("busy.c");
        Files.writeString(src, ProfilingEndToEndTest.PROGRAM);
        Path exe = dir.resolve(name);
        int rc;
        try {
            Process cc = new ProcessBuilder("cc", "-O1", "-g", "-fno-omit-frame-pointer", "-o", exe.toString(),
                    src.toString(), "-lm").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            rc = cc.waitFor(60, TimeUnit.SECONDS) ? cc.exitValue() : -1;
            if (rc == -1) {
                cc.destroyForcibly();
            }
        } catch (IOException e) {
            rc = -2;
        }
        BusyProgram b = new BusyProgram(dir, exe);
        if (rc != 0) {
            b.close();
            return null;
        }
        return b;
    }

    /** Starts {@code exe args...}; it spins until closed. */
    Process start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(exe.toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        started.add(p);
        return p;
    }

    @Override
    public void close() {
        for (Process p : started) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        dir.resolve("busy.c").toFile().delete();
        exe.toFile().delete();
        dir.toFile().delete();
    }
}
