/*
 * The JVM half of bench/run.sh, run as a single-file program (java Bench.java MODE ...). It reads "run" lines
 * on stdin and answers one JSON line per run, so the driver can interleave it with the native measurements.
 *
 *   baseline EXPORT NATIVE_JSON FROM_SEC TO_SEC
 *       The analysis as a straightforward JVM backend writes it: every (stack, count) record of the window is
 *       decoded into a list of symbol strings and merged into a tree of nodes whose children are searched
 *       linearly; the tree is then written as the core writes it. The first run checks that the JSON is the
 *       core's, byte for byte. EXPORT is what `swpbench gen --export` wrote (the store's stacks and blocks).
 *   graphql URL REQUEST_JSON EXPECTED_BODY
 *       POSTs the request and reads the whole reply; the first run checks the reply against EXPECTED_BODY.
 */
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

public final class Bench {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "baseline" -> baseline(args);
            case "graphql" -> graphql(args);
            default -> throw new IllegalArgumentException("mode baseline|graphql");
        }
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static long statusKb(String field) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith(field + ":")) {
                    return Long.parseLong(l.substring(field.length() + 1).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException e) {
            // reported as -1
        }
        return -1;
    }

    // ---- baseline ------------------------------------------------------------------------------

    /** One frame as a typical backend keeps it. */
    record Frame(String symbol, boolean kernel) {
    }

    static final class Node {
        final String symbol;
        final boolean kernel;
        long count;
        final List<Node> children = new ArrayList<>();

        Node(String symbol, boolean kernel) {
            this.symbol = symbol;
            this.kernel = kernel;
        }
    }

    static final class Data {
        final Map<Long, byte[]> stacks = new HashMap<>();
        final List<byte[]> blocks = new ArrayList<>();
        final List<Long> secs = new ArrayList<>();
    }

    static Data load(Path export) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(export)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[10];
        b.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("SWPBENCH1\n")) {
            throw new IOException(export + " is not a swpbench export");
        }
        Data d = new Data();
        for (int section = 0; section < 2; section++) {
            int n = b.getInt();
            for (int i = 0; i < n; i++) {
                long key = b.getLong();
                byte[] v = new byte[b.getInt()];
                b.get(v);
                if (section == 0) {
                    d.stacks.put(key, v);
                } else {
                    d.secs.add(key);
                    d.blocks.add(v);
                }
            }
        }
        return d;
    }

    /** uvar, as the core writes it. */
    private static long uvar(ByteBuffer b) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int c = b.get() & 0xff;
            v |= (long) (c & 0x7f) << shift;
            if ((c & 0x80) == 0) {
                return v;
            }
        }
        throw new IllegalStateException("bad varint");
    }

    /** An encoded stack (uvar n, n x (u8 type, uvar len, bytes)) -> its frames, root first. */
    static List<Frame> decode(byte[] enc) {
        ByteBuffer b = ByteBuffer.wrap(enc);
        int n = (int) uvar(b);
        List<Frame> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            boolean kernel = b.get() == 1;
            int len = (int) uvar(b);
            out.add(new Frame(new String(enc, b.position(), len, StandardCharsets.UTF_8), kernel));
            b.position(b.position() + len);
        }
        return out;
    }

    static String analyze(Data d, long fromSec, long toSec) {
        Node root = new Node("", false);
        for (int bi = 0; bi < d.blocks.size(); bi++) {
            long sec = d.secs.get(bi);
            if (sec < fromSec || sec > toSec) {
                continue;
            }
            ByteBuffer b = ByteBuffer.wrap(d.blocks.get(bi)).order(ByteOrder.LITTLE_ENDIAN);
            long n = uvar(b);
            for (long i = 0; i < n; i++) {
                long hash = b.getLong();
                long count = uvar(b);
                byte[] enc = d.stacks.get(hash);
                if (enc == null) {
                    continue;
                }
                Node cur = root;
                for (Frame f : decode(enc)) {
                    Node next = null;
                    for (Node c : cur.children) {
                        if (c.kernel == f.kernel() && c.symbol.equals(f.symbol())) {
                            next = c;
                            break;
                        }
                    }
                    if (next == null) {
                        next = new Node(f.symbol(), f.kernel());
                        cur.children.add(next);
                    }
                    next.count += count;
                    cur = next;
                }
            }
        }
        return toJson(root);
    }

    /** count desc, then symbol, then user before kernel: the core's order. */
    private static void sortChildren(Node n) {
        n.children.sort((a, b) -> a.count != b.count ? Long.compare(b.count, a.count)
                : a.symbol.equals(b.symbol) ? Boolean.compare(a.kernel, b.kernel) : a.symbol.compareTo(b.symbol));
    }

    static String toJson(Node root) {
        StringBuilder sb = new StringBuilder(1 << 20);
        sb.append("{\"tip\":null,\"trees\":[");
        sortChildren(root);
        boolean firstTree = true;
        for (Node r : root.children) {
            sb.append(firstTree ? "{\"elements\":[" : ",{\"elements\":[");
            firstTree = false;
            ArrayDeque<Node> q = new ArrayDeque<>();
            ArrayDeque<Long> parents = new ArrayDeque<>();
            q.add(r);
            parents.add(0L);
            long id = 0;
            while (!q.isEmpty()) {
                Node n = q.poll();
                long parent = parents.poll();
                id++;
                if (id > 1) {
                    sb.append(',');
                }
                sb.append("{\"id\":\"").append(id).append("\",\"parentId\":\"").append(parent).append("\",\"symbol\":");
                quote(sb, n.symbol);
                sb.append(",\"stackType\":\"").append(n.kernel ? "KERNEL_SPACE" : "USER_SPACE").append("\",\"dumpCount\":")
                        .append(n.count).append('}');
                sortChildren(n);
                for (Node c : n.children) {
                    q.add(c);
                    parents.add(id);
                }
            }
            sb.append("]}");
        }
        return sb.append("]}").toString();
    }

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    static void baseline(String[] args) throws Exception {
        Data d = load(Path.of(args[1]));
        byte[] expected = Files.readAllBytes(Path.of(args[2]));
        long from = Long.parseLong(args[3]);
        long to = Long.parseLong(args[4]);
        System.out.println("{\"ready\":true,\"stacks\":" + d.stacks.size() + ",\"blocks\":" + d.blocks.size()
                + ",\"rss_kb\":" + statusKb("VmRSS") + "}");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        boolean first = true;
        for (String line; (line = in.readLine()) != null && line.startsWith("run"); ) {
            long a0 = allocated();
            long t0 = System.nanoTime();
            String json = analyze(d, from, to);
            byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
            long t = System.nanoTime() - t0;
            long alloc = allocated() - a0;
            String eq = "";
            if (first) {
                eq = ",\"identical\":" + Arrays.equals(bytes, expected);
                first = false;
            }
            int len = bytes.length;
            long hwm = statusKb("VmHWM");
            System.out.println("{\"s\":" + t / 1e9 + ",\"bytes\":" + len + ",\"alloc_bytes\":" + alloc
                    + ",\"hwm_kb\":" + hwm + eq + "}");
        }
    }

    // ---- graphql -------------------------------------------------------------------------------

    static void graphql(String[] args) throws Exception {
        URI uri = URI.create(args[1]);
        byte[] request = Files.readAllBytes(Path.of(args[2]));
        byte[] expected = Files.readAllBytes(Path.of(args[3]));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        HttpRequest req = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofByteArray(request)).build();
        System.out.println("{\"ready\":true}");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null && line.startsWith("run"); ) {
            long t0 = System.nanoTime();
            HttpResponse<byte[]> r = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
            long t = System.nanoTime() - t0;
            byte[] body = r.body();
            System.out.println("{\"s\":" + t / 1e9 + ",\"status\":" + r.statusCode() + ",\"bytes\":" + body.length
                    + ",\"identical\":" + Arrays.equals(body, expected) + "}");
        }
    }
}
