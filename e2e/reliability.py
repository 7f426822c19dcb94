#!/usr/bin/env python3
"""e2e/reliability.py — the server under kills, fuzzing, slow clients, amplification and a full disk.

Everything runs against the real server jar (real BPF, real RocksDB, real HTTP) on loopback:

  kills     a profiled busy program and its task; the server killed with SIGKILL at random moments and
            restarted, a task created (and acknowledged) before each kill. After every restart: every
            acknowledged task is there and no acknowledged sample is gone (the stored count never goes down);
            at the end the samples stored against the program's CPU time while the server ran: the loss per kill.
  fuzz      mutated GraphQL requests (from e2e/cases/queries and hand-made bodies): never a 5xx, always JSON,
            and the server answers as before afterwards.
  slow      clients that trickle a body or send nothing, more than the server has workers, while a normal
            client queries: its answers stay fast, /healthz too, and the silent ones are cut off.
  amplify   the largest request a client may send against a large tree (analysis repeated through aliases,
            concurrent analyses of the whole tree): clear errors or answers, never a 5xx, bounded memory.
  disk      the data directory on a 64 MiB volume filled below the free-space reserve: clear refusals, reads
            keep working, writes come back with the room, and nothing acknowledged is lost across a kill.

The short form (the default) is what CI runs; --long is the documented long form (README, "Reliability").
Prints a line per check, then what was tried and lost as JSON (--json FILE writes it there too).
"""
import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import check, cpu_seconds, free_port, sid, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAR = os.path.join(ROOT, "java-shim/shim/target/swprof-server.jar")
SWPROF = os.path.join(ROOT, "build/swprof")
BUSY = os.path.join(ROOT, "build/targets/busy")
QUERIES = os.path.join(ROOT, "e2e/cases/queries")
HZ = 99
FLUSH_MS = 500

FORMS = {
    "short": dict(kills=4, fuzz=1500, slow_clients=40, slow_seconds=8, amplify_clients=8, disk_rounds=1),
    "long": dict(kills=40, fuzz=20000, slow_clients=200, slow_seconds=60, amplify_clients=64, disk_rounds=5),
}


class Server:
    """The server jar on loopback with its own ports and data directory; its log in TMP/NAME.log."""

    def __init__(self, tmp, name, data, env=None):
        self.tmp, self.name, self.data = tmp, name, data
        self.rest, self.grpc = free_port(), free_port()
        self.env = dict(env or {})
        self.proc = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWPROF_")}
        env.update(SWPROF_REST_HOST="127.0.0.1", SWPROF_REST_PORT=str(self.rest), SWPROF_GRPC_PORT=str(self.grpc),
                   SWPROF_DATA_DIR=self.data, SWPROF_FLUSH_INTERVAL="%dms" % FLUSH_MS, SWPROF_DISCOVERY_RULES="[]")
        env.update(self.env)
        log = open(os.path.join(self.tmp, self.name + ".log"), "ab")
        self.proc = subprocess.Popen(["java", "-Xmx512m", "-Djava.io.tmpdir=" + self.tmp, "-jar", JAR],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        if not wait_for("%s healthy" % self.name, 90, self.healthy, 0.2):
            raise RuntimeError("%s did not start; see %s/%s.log" % (self.name, self.tmp, self.name))

    def healthy(self):
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited (%s)" % (self.name, self.proc.returncode))
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.rest, timeout=3) as r:
            return r.status == 200

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(60)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def gql(self, query, variables=None, timeout=60):
        return checks.graphql("http://127.0.0.1:%d/graphql" % self.rest, query, variables, timeout)

    def post(self, body, timeout=60, content_type="application/json"):
        """A raw POST /graphql: (status, parsed JSON or None, seconds)."""
        req = urllib.request.Request("http://127.0.0.1:%d/graphql" % self.rest, body,
                                     {"Content-Type": content_type} if content_type else {})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        return status, doc, time.monotonic() - t0

    def rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0


def spawn_busy(seconds):
    return subprocess.Popen([BUSY, "spin", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def create_task(srv, service, start_ms, duration_s=60):
    """The creation's answer; a refusal the server gives as a GraphQL error comes as status false with its text."""
    try:
        return _create_task(srv, service, start_ms, duration_s)
    except RuntimeError as e:
        return {"status": False, "errorReason": str(e), "id": None}


def _create_task(srv, service, start_ms, duration_s):
    return srv.gql("mutation ($r: EBPFProfilingTaskFixedTimeCreationRequest!) { createEBPFProfilingFixedTimeTask("
                   "request: $r) { status errorReason id } }", {"r": {
                       "serviceId": sid(service), "processLabels": [], "startTime": start_ms, "duration": duration_s,
                       "targetType": "ON_CPU"}})["createEBPFProfilingFixedTimeTask"]


def task_ids(srv, service):
    return {t["taskId"] for t in srv.gql("query ($s: ID) { queryEBPFProfilingTasks(serviceId: $s) { taskId } }",
                                         {"s": sid(service)})["queryEBPFProfilingTasks"]}


ANALYSIS = ("query ($t: ID!, $r: [EBPFProfilingAnalyzeTimeRange!]!) { r: getEBPFProfilingAnalyzation(taskId: $t, "
            "timeRanges: $r) { tip trees { elements { parentId dumpCount } } } }")


def stored(srv, task):
    """The task's samples as its analysis counts them (what the server answers is what it has)."""
    a = srv.gql(ANALYSIS, {"t": task, "r": [{"start": 0, "end": int(time.time() * 1000) + 60000}]})["r"]
    return sum(int(e["dumpCount"]) for t in a["trees"] for e in t["elements"] if e["parentId"] == "0")


# ---- kills ----------------------------------------------------------------------------------------

def kills(tmp, n, report):
    busy = spawn_busy(3600)
    srv = Server(tmp, "kills", os.path.join(tmp, "kills-data"), {
        "SWPROF_DISCOVERY_RULES": "[{cmdRegex: 'busy spin 3600$', service: reliability}]",
        "SWPROF_DISCOVERY_MIN_AGE": "0s", "SWPROF_SCAN_INTERVAL": "1s"})
    try:
        srv.start()
        wait_for("the busy program registered", 20,
                 lambda: "reliability" in str(srv.gql("{ listServices { name } }")))
        r = create_task(srv, "reliability", int(time.time() * 1000), 3600)
        if not check("kills: the profiling task is accepted", r["status"], json.dumps(r)):
            return
        task = r["id"]
        # the program's CPU time while a server ran (from each start to its kill): what the samples stand for
        acked, up_cpu, mark = {task}, 0.0, cpu_seconds(busy.pid)
        lost_tasks = went_down = worst = 0
        starts = []
        for i in range(n):
            time.sleep(random.uniform(1.0, 4.0))
            # a task acknowledged just before the kill (windows an hour ahead, none overlapping)
            t = create_task(srv, "reliability", int(time.time() * 1000) + 3600000 + i * 120000)
            if t["status"]:
                acked.add(t["id"])
            before = stored(srv, task)
            time.sleep(random.uniform(0, 0.5))
            srv.kill()
            up_cpu += cpu_seconds(busy.pid) - mark
            mark = cpu_seconds(busy.pid)
            t0 = time.monotonic()
            srv.start()
            starts.append(time.monotonic() - t0)
            after = stored(srv, task)
            missing = acked - task_ids(srv, "reliability")
            lost_tasks += len(missing)
            went_down += after < before
            worst = max(worst, before - after)
        time.sleep(2)
        busy.send_signal(signal.SIGSTOP)  # its CPU time stays; the last samples get flushed
        up_cpu += cpu_seconds(busy.pid) - mark
        time.sleep(2 * FLUSH_MS / 1000.0 + 0.5)
        total = stored(srv, task)
        expected = HZ * up_cpu
        per_kill = max(0.0, (expected - total) / n) if n else 0
        start_s = sum(starts) / len(starts) if starts else 0
        check("kills: every acknowledged task survives %d kill -9s" % n, lost_tasks == 0,
              "%d acknowledged, %d missing" % (len(acked), lost_tasks))
        check("kills: no acknowledged sample is lost (the stored count never went down)", went_down == 0,
              "went down %d times, by %d at most" % (went_down, worst))
        # lost at a kill: what was not flushed yet (one flush interval), and the restart (the JVM starting
        # before the profiler runs again)
        bound = HZ * (FLUSH_MS / 1000.0 + start_s) * 1.2 + 20
        check("kills: samples lost per kill within a flush interval and the restart", per_kill <= bound,
              "%d stored for %.1f CPU s while a server ran (%.0f expected): %.1f lost per kill; a restart takes "
              "%.1f s; %.0f allowed" % (total, up_cpu, expected, per_kill, start_s, bound))
        report["kills"] = {"kills": n, "acknowledged_tasks": len(acked), "tasks_lost": lost_tasks,
                           "acknowledged_samples_lost": worst, "samples_stored": total,
                           "samples_expected": round(expected), "samples_lost_per_kill": round(per_kill, 1),
                           "restart_s": round(start_s, 1), "flush_interval_ms": FLUSH_MS}
    finally:
        srv.kill()
        busy.kill()
        busy.wait()


# ---- fuzz -----------------------------------------------------------------------------------------

TOKENS = ["{", "}", "(", ")", "[", "]", '"', "\\", ":", "$x", "...", "@include(if: true)", "__typename",
          "999999999999999999999999", "-1", "1e308", "null", "\u0000", "\u00e9", "\ud7ff", "query", "mutation",
          "fragment f on Query { ...f }", "{" * 40, "a: " * 30, "getEBPFProfilingAnalyzation"]


def seeds():
    docs = []
    for d, _, files in os.walk(QUERIES):
        for f in sorted(files):
            if f.endswith(".graphql"):
                with open(os.path.join(d, f)) as fh:
                    docs.append(fh.read())
    return docs


def mutate(rng, doc):
    s = doc
    for _ in range(rng.randint(1, 4)):
        k = rng.randrange(6)
        i = rng.randrange(len(s) + 1)
        if k == 0 and s:
            s = s[:i] + chr(rng.randrange(32, 127)) + s[i + 1:]
        elif k == 1:
            s = s[:i] + rng.choice(TOKENS) + s[i:]
        elif k == 2:
            s = s[:i] + s[i:i + rng.randint(1, 40)] * rng.randint(2, 20) + s[i:]
        elif k == 3:
            s = s[:i] + s[i + rng.randint(1, 40):]
        elif k == 4:
            s = s[:i]
        else:
            s = s.replace("ID!", rng.choice(["Int!", "String", "ID", "[ID!]!"]), 1)
    return s


def bodies(rng, docs):
    """A request body: mostly a mutated document, sometimes a mutated JSON envelope."""
    doc = mutate(rng, rng.choice(docs))
    k = rng.randrange(10)
    if k < 6:
        return json.dumps({"query": doc, "variables": rng.choice([{}, None, {"x": 1}, {"taskId": "b" * 16}])}).encode()
    if k == 6:
        return json.dumps({"query": rng.choice([123, None, [], {"a": 1}, True]), "variables": doc}).encode()
    if k == 7:
        return json.dumps({"query": doc, "variables": "not an object", "operationName": rng.choice([1, "x", None])}
                          ).encode()
    if k == 8:
        return ("[" * rng.randint(1, 3000) + "]" * rng.randint(0, 3000)).encode()
    raw = json.dumps({"query": doc}).encode()
    return raw[:rng.randrange(len(raw) + 1)] + bytes(rng.randrange(256) for _ in range(rng.randint(0, 8)))


def fuzz(tmp, n, report):
    srv = Server(tmp, "fuzz", os.path.join(tmp, "fuzz-data"))
    try:
        srv.start()
        rng = random.Random(20261202)
        docs = seeds()
        statuses, not_json, fivexx = {}, 0, []
        t0 = time.monotonic()
        for i in range(n):
            body = bodies(rng, docs)
            try:
                status, doc, _ = srv.post(body, timeout=30)
            except (OSError, urllib.error.URLError) as e:
                status, doc = "error: %s" % e, None
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if doc is None:
                not_json += 1
            if not isinstance(status, int) or status >= 500:
                fivexx.append(body[:200])
            if not srv.alive():
                break
        seconds = time.monotonic() - t0
        check("fuzz: %d mutated requests, never a 5xx or a dropped connection" % n, not fivexx,
              "statuses %s; first: %r" % (statuses, fivexx[:1]))
        check("fuzz: every answer is JSON", not_json == 0, "%d were not" % not_json)
        ok = srv.alive() and srv.gql("{ version }").get("version")
        check("fuzz: the server answers as before afterwards", bool(ok), str(ok))
        report["fuzz"] = {"requests": n, "statuses": statuses, "fivexx": len(fivexx), "not_json": not_json,
                          "requests_per_s": round(n / seconds)}
    finally:
        srv.kill()


# ---- slow clients ---------------------------------------------------------------------------------

def slow(tmp, clients, seconds, report):
    read_timeout = 4
    srv = Server(tmp, "slow", os.path.join(tmp, "slow-data"), {"SWPROF_REST_READ_TIMEOUT": "%ds" % read_timeout})
    socks, stop = [], threading.Event()
    try:
        srv.start()
        head = ("POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                "Content-Length: 100000\r\n\r\n" % srv.rest).encode()
        for i in range(clients):
            s = socket.create_connection(("127.0.0.1", srv.rest))
            s.sendall(head if i % 2 == 0 else head[:20])  # half trickle a body, half stop in their headers
            socks.append(s)

        def trickle():
            while not stop.wait(1.0):
                for s in socks[0::2]:
                    try:
                        s.sendall(b" ")
                    except OSError:
                        pass
        threading.Thread(target=trickle, daemon=True).start()
        lat, errors, health = [], 0, 0
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            try:
                status, doc, took = srv.post(json.dumps({"query": "{ version }"}).encode(), timeout=10)
                lat.append(took)
                errors += status != 200
                health += srv.healthy() is True
            except OSError:
                errors += 1
            time.sleep(0.05)
        lat.sort()
        p99 = lat[int(len(lat) * 0.99) - 1] if lat else float("inf")
        check("slow: with %d slow clients a normal client is answered at once" % clients, errors == 0 and p99 < 1.0,
              "%d answers, %d errors, p50 %.0f ms, p99 %.0f ms" % (len(lat), errors, lat[len(lat) // 2] * 1000
                                                                   if lat else 0, p99 * 1000))
        check("slow: /healthz answered throughout", health == len(lat), "%d of %d" % (health, len(lat)))
        # the silent ones (stopped in their headers) are cut off after the read timeout
        cut = 0
        for s in socks[1::2]:
            s.settimeout(max(0.1, read_timeout + 3 - seconds))
            try:
                cut += s.recv(4096) is not None
            except socket.timeout:
                pass
            except OSError:
                cut += 1
        check("slow: clients that send nothing are cut off after rest.readTimeout (%d s)" % read_timeout,
              cut == len(socks[1::2]), "%d of %d" % (cut, len(socks[1::2])))
        report["slow"] = {"clients": clients, "seconds": seconds, "answers": len(lat), "errors": errors,
                          "p99_ms": round(p99 * 1000), "silent_cut_off": cut}
    finally:
        stop.set()
        for s in socks:
            s.close()
        srv.kill()


# ---- amplification --------------------------------------------------------------------------------

def folded_tree(path, stacks):
    """A large tree: `stacks` distinct stacks of 12 frames over a wide vocabulary."""
    rng = random.Random(7)
    with open(path, "w") as f:
        for i in range(stacks):
            frames = ["main"] + ["fn_%d_%d" % (d, rng.randrange(12 if d < 3 else 400)) for d in range(11)]
            f.write("%s %d\n" % (";".join(frames), rng.randint(1, 50)))


def amplify(tmp, clients, report):
    data = os.path.join(tmp, "amp-data")
    subprocess.run([SWPROF, "register", "--data", data, "--pid", str(os.getpid()), "--service", "amp"], check=True,
                   capture_output=True)
    out = subprocess.run([SWPROF, "create", "--data", data, "--service", sid("amp"), "--duration", "60"], check=True,
                         capture_output=True, text=True).stdout
    task = json.loads(out)["id"]
    folded = os.path.join(tmp, "big.folded")
    folded_tree(folded, 15000)
    now = int(time.time() * 1000)
    subprocess.run([SWPROF, "import", "--data", data, "--task", task, "--time", str(now), folded], check=True,
                   capture_output=True)
    srv = Server(tmp, "amplify", data)
    try:
        srv.start()
        r = {"start": now - 60000, "end": now + 120000}
        one = srv.gql(ANALYSIS, {"t": task, "r": [r]})["r"]
        elements = sum(len(t["elements"]) for t in one["trees"])
        # the analysis repeated through aliases: the whole document refused, clearly
        aliases = " ".join("a%d: getEBPFProfilingAnalyzation(taskId: $t, timeRanges: $r) { trees { elements { id "
                           "parentId symbol dumpCount } } }" % i for i in range(20))
        status, doc, took = srv.post(json.dumps({"query": "query ($t: ID!, $r: [EBPFProfilingAnalyzeTimeRange!]!) "
                                                 "{ %s }" % aliases, "variables": {"t": task, "r": [r]}}).encode())
        said = json.dumps(doc)[:300] if doc else None
        check("amplify: 20 aliased analyses of a %d-element tree are refused with a clear error" % elements,
              status < 500 and doc is not None and doc.get("errors") and "analys" in said, "HTTP %s: %s" % (
                  status, said))
        # many clients analysing the whole tree at once: each answered (or told to come back), never a 5xx
        results, rss = [], [srv.rss_mib()]

        def client():
            try:
                s, d, t = srv.post(json.dumps({"query": ANALYSIS, "variables": {"t": task, "r": [r]}}).encode(),
                                   timeout=120)
                results.append((s, d is not None and not d.get("errors"), t))
            except OSError as e:
                results.append(("error: %s" % e, False, 0))
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            rss.append(srv.rss_mib())
            time.sleep(0.2)
        answered = sum(1 for s, ok, _ in results if s == 200 and ok)
        bad = [s for s, _, _ in results if not isinstance(s, int) or s >= 500]
        times = sorted(t for _, _, t in results)
        check("amplify: %d clients analysing it at once: no 5xx, the server alive" % clients,
              not bad and srv.alive(), "%d answered whole, statuses of the others %s" % (
                  answered, [s for s, ok, _ in results if not ok][:5]))
        check("amplify: memory stays bounded (-Xmx512m)", max(rss) < 1024, "RSS peak %.0f MiB" % max(rss))
        report["amplify"] = {"tree_elements": elements, "aliased_status": status, "aliased_ms": round(took * 1000),
                             "clients": clients, "answered": answered, "fivexx": len(bad),
                             "p99_s": round(times[max(0, int(len(times) * 0.99) - 1)], 1) if times else None,
                             "rss_peak_mib": round(max(rss))}
    finally:
        srv.kill()


# ---- full disk ------------------------------------------------------------------------------------

def disk(tmp, rounds, report):
    mnt = os.path.join(tmp, "small")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt], check=True)
    busy = spawn_busy(3598)
    srv = Server(tmp, "disk", os.path.join(mnt, "data"), {
        "SWPROF_STORAGE_MIN_FREE_BYTES": str(40 << 20), "SWPROF_DISCOVERY_MIN_AGE": "0s",
        "SWPROF_DISCOVERY_RULES": "[{cmdRegex: 'busy spin 3598$', service: fulldisk}]"})
    filler = os.path.join(mnt, "filler")
    refused, acked, texts = 0, set(), []
    try:
        srv.start()
        reads = int(bool(wait_for("the busy program registered", 20,
                                  lambda: "fulldisk" in str(srv.gql("{ listServices { name } }")))))
        for i in range(rounds):
            with open(filler, "wb") as f:
                os.posix_fallocate(f.fileno(), 0, 30 << 20)  # 34 of 64 MiB left: below the 40 MiB kept free
            start = int(time.time() * 1000) + 3600000 + i * 240000
            r = create_task(srv, "fulldisk", start)
            texts.append(json.dumps(r))
            refused += not r["status"] and "free" in (r["errorReason"] or "")
            reads += "fulldisk" in str(srv.gql("{ listServices { name } }"))
            os.unlink(filler)
            r = create_task(srv, "fulldisk", start + 120000)  # room again: the same request goes through
            if r["status"]:
                acked.add(r["id"])
        check("disk: a task on a volume below its reserve is refused, saying why (%d rounds)" % rounds,
              refused == rounds, texts[0] if texts else "")
        check("disk: reads answered throughout", reads == rounds + 1, "%d of %d" % (reads, rounds + 1))
        check("disk: with room again the same request is accepted", len(acked) == rounds)
        srv.kill()
        srv.start()
        missing = acked - task_ids(srv, "fulldisk")
        check("disk: every acknowledged task is there after a kill -9", not missing, "%d missing" % len(missing))
        report["disk"] = {"rounds": rounds, "refused_clearly": refused, "reads_answered": reads,
                          "acknowledged_after": len(acked), "lost": len(missing)}
    finally:
        srv.kill()
        busy.kill()
        busy.wait()
        subprocess.run(["umount", "-l", mnt])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--long", action="store_true", help="the long form (README, Reliability)")
    ap.add_argument("--only", choices=["kills", "fuzz", "slow", "amplify", "disk"], action="append")
    ap.add_argument("--json", help="write the summary there too")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("e2e/reliability.py needs root (BPF, a tmpfs mount)", file=sys.stderr)
        return 2
    for f in (JAR, SWPROF, BUSY):
        if not os.path.exists(f):
            print("missing %s: scripts/setup.sh and the server jar first" % f, file=sys.stderr)
            return 2
    form = FORMS["long" if a.long else "short"]
    tmp = tempfile.mkdtemp(prefix="swprof-reliability-")
    report = {"form": "long" if a.long else "short", "date": time.strftime("%Y-%m-%d")}
    parts = a.only or ["kills", "fuzz", "slow", "amplify", "disk"]
    t0 = time.time()
    try:
        for part in parts:
            try:
                if part == "kills":
                    kills(tmp, form["kills"], report)
                elif part == "fuzz":
                    fuzz(tmp, form["fuzz"], report)
                elif part == "slow":
                    slow(tmp, form["slow_clients"], form["slow_seconds"], report)
                elif part == "amplify":
                    amplify(tmp, form["amplify_clients"], report)
                else:
                    disk(tmp, form["disk_rounds"], report)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                check("%s: ran to the end" % part, False, str(e))
    finally:
        report["seconds"] = round(time.time() - t0)
        text = json.dumps(report, indent=1)
        print(text)
        if a.json:
            with open(a.json, "w") as f:
                f.write(text + "\n")
        if a.keep or checks.failed:
            print("reliability: logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
