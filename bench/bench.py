#!/usr/bin/env python3
"""The driver of bench/run.sh: runs every measurement and prints ONE JSON document on stdout.

Sections (each one can be chosen with --only NAME[,NAME]):
  analyzer      one analysis of a whole window: natively, over GraphQL/HTTP (the real server jar), and a
                straightforward JVM implementation (the baseline); the trees must be identical
  overhead      a CPU-bound workload's wall time unprofiled / swprof / perf record -g, alternating rounds
  completeness  samples recorded vs expected at 999 Hz on two busy threads, lost samples
  ingestion     sample records per second through the flush path into RocksDB, store bytes
  symbolization cold start on a process with many shared libraries, cached lookups per second
  agent         the swprof agent on a host: its CPU, memory and bytes sent per sample, samples stored against
                the targets' CPU time; perf record on the same processes beside it
  backend       the server's gRPC side under many agents (simulated): a sweep of processes until it saturates
  unwind        --unwind fp / dwarf / auto against perf record --call-graph dwarf at the same frequency, on the
                workload built with and without frame pointers: slowdown, samples recorded vs expected, the
                profiler's CPU per 1000 samples; then unwinding alone (cold and cached) and its caches' memory

Timings are measured side by side in alternating rounds; every figure carries its unit, and repeated ones their
median, min, max and spread ((max - min) / median). Nothing here passes or fails: goals are reported as they
stand. A section that cannot run on this machine (no root or BPF, no perf) says so and is skipped; a section that
breaks makes the exit status 1, so CI notices a bench that rots.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

QUICK = {
    "analyzer": {"records": 200000, "seconds": 120, "stacks": 5000, "funcs": 2000, "rounds": 5},
    "overhead": {"work_s": 0.5, "rounds": 5, "threads": 2},
    "completeness": {"work_s": 3.0, "rounds": 1, "threads": 2, "freq": 999},
    "ingestion": {"seconds": 10, "rounds": 5, "per_sec": 1500, "stacks": 5000, "funcs": 2000},
    "symbolization": {"libs": 40, "lookups": 200000, "rounds": 5},
    "agent": {"targets": [1], "seconds": 3, "freq": 99},
    "offcpu": {"rounds": 60000, "runs": 1},
    "unwind": {"work_s": 1.0, "rounds": 1, "threads": 2, "freq": 99, "capture_s": 2, "replays": 2},
    "backend": {"agents": 4, "processes": [5], "seconds": 4, "warmup_s": 2, "hz": 99, "stacks": 300,
                "flush_ms": 1000, "record_s": 2},
}
FULL = {
    "analyzer": {"records": 1000000, "seconds": 600, "stacks": 20000, "funcs": 6000, "rounds": 9},
    "overhead": {"work_s": 3.0, "rounds": 16, "threads": 2},
    "completeness": {"work_s": 10.0, "rounds": 5, "threads": 2, "freq": 999},
    "ingestion": {"seconds": 60, "rounds": 5, "per_sec": 1500, "stacks": 20000, "funcs": 6000},
    "symbolization": {"libs": 200, "lookups": 1000000, "rounds": 5},
    "agent": {"targets": [1, 20], "seconds": 20, "freq": 99},
    "offcpu": {"rounds": 300000, "runs": 5},
    "unwind": {"work_s": 4.0, "rounds": 5, "threads": 2, "freq": 999, "capture_s": 10, "replays": 5},
    "backend": {"agents": 20, "processes": [5, 10, 15, 20, 30, 40, 60], "seconds": 15, "warmup_s": 10, "hz": 99,
                "stacks": 300, "flush_ms": 1000, "record_s": 5},
}

ANALYSIS_QUERY = """query analysisEBPFResult($scheduleIdList: [ID!]!, $timeRanges: [EBPFProfilingAnalyzeTimeRange!]!,
  $aggregateType: EBPFProfilingAnalyzeAggregateType) {
  analysisEBPFResult: analysisEBPFProfilingResult(scheduleIdList: $scheduleIdList, timeRanges: $timeRanges,
      aggregateType: $aggregateType) {
    tip
    trees {
      elements {
        id
        parentId
        symbol
        stackType
        dumpCount
      }
    }
  }
}"""


class Skip(Exception):
    """The section cannot run here (not a failure of the bench)."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---- figures -------------------------------------------------------------------------------------

def figure(values, unit, scale=1.0, digits=3):
    """A repeated measurement: median, min, max, spread and every value, in `unit`. The spread is (max - min) /
    median in %, or for a figure that is itself a difference (can be 0 or negative) max - min in its unit."""
    v = [x * scale for x in values]
    if not v:
        return {"unit": unit, "rounds": 0}
    med = statistics.median(v)
    f = {
        "median": round(med, digits),
        "min": round(min(v), digits),
        "max": round(max(v), digits),
        "rounds": len(v),
        "values": [round(x, digits) for x in v],
        "unit": unit,
    }
    if min(v) > 0:
        f["spread_pct"] = round(100.0 * (max(v) - min(v)) / med, 1)
    else:
        f["spread"] = round(max(v) - min(v), digits)
    return f


def value(x, unit, digits=3):
    return {"value": round(x, digits) if isinstance(x, float) else x, "unit": unit}


def goal(what, target, measured, met, why=None):
    g = {"goal": what, "target": target, "measured": measured, "status": "met" if met else "missed"}
    if why:
        g["note"] = why
    return g


# ---- processes -----------------------------------------------------------------------------------

class Proc:
    """A child speaking JSON lines: one "run" line in, one JSON line out."""

    def __init__(self, argv, env=None, cwd=None, name=None):
        self.name = name or os.path.basename(argv[0])
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr,
                                  text=True, env=env, cwd=cwd, bufsize=1)

    def line(self, timeout=600):
        # the children flush after every line; a dead child gives "" here
        out = self.p.stdout.readline()
        if not out:
            rc = self.p.wait(timeout=timeout)
            raise RuntimeError("%s exited (%s) without answering" % (self.name, rc))
        return json.loads(out)

    def ask(self, cmd="run"):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self.line()

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def run_json(argv, **kw):
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for l in f:
                if l.startswith(field + ":"):
                    return int(l.split()[1])
    except OSError:
        pass
    return None


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def quiesce(pids, timeout=5.0):
    """Waits until the processes (and their threads: a JVM's collector, RocksDB's compactions) stop using the CPU,
    so that one measurement's leftovers do not run into the next one."""
    deadline = time.time() + timeout
    last = cpu_ticks(pids)
    while time.time() < deadline:
        time.sleep(0.1)
        now = cpu_ticks(pids)
        if now == last:
            return
        last = now


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """The real server jar on a loopback port, serving a copy of a store (profiling off)."""

    def __init__(self, jar, lib, data, pass_through=True, grpc=False):
        self.port = free_port()
        self.grpc = free_port() if grpc else None
        env = dict(os.environ, SWPROF_DATA_DIR=data, SWPROF_PROFILING="false", SWPROF_REST_HOST="127.0.0.1",
                   SWPROF_REST_PORT=str(self.port), SWPROF_LOG_LEVEL="WARN", SWPROF_DISCOVERY_RULES="[]",
                   SWPROF_GRPC_ENABLED="true" if grpc else "false", SWPROF_GRPC_HOST="127.0.0.1",
                   SWPROF_GRPC_PORT=str(self.grpc or 0))
        argv = ["java", "-Dswprof.library.path=" + lib,
                "-Dswprof.graphql.passThrough=" + ("true" if pass_through else "false"), "-jar", jar]
        self.p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr, stderr=sys.stderr)
        self.url = "http://127.0.0.1:%d/graphql" % self.port
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.port, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.p.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("the server did not start (exit %s)" % self.p.poll())
            time.sleep(0.2)

    def gql(self, query, variables=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            reply = json.loads(r.read())
        if reply.get("errors"):
            raise RuntimeError("GraphQL errors: %s" % reply["errors"])
        return reply["data"]

    def core_stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.port, timeout=10) as r:
            return json.loads(r.read())["core"]

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


# ---- machine -------------------------------------------------------------------------------------

def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    cpu = l.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        pass

    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return None

    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "memory_mib": mem,
        "os": read("/etc/debian_version") and "Debian " + read("/etc/debian_version"),
        "perf_event_max_sample_rate": read("/proc/sys/kernel/perf_event_max_sample_rate"),
        "transparent_hugepage": read("/sys/kernel/mm/transparent_hugepage/enabled"),
        "java": subprocess.run(["java", "-version"], stderr=subprocess.PIPE, text=True).stderr.splitlines()[0]
        if shutil.which("java") else None,
    }


def git_state():
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip() != ""
        return {"commit": commit or None, "uncommitted_changes": dirty}
    except OSError:
        return None


# ---- sections ------------------------------------------------------------------------------------

def analyzer(cfg, ctx):
    tmp = ctx["tmp"]
    store = os.path.join(tmp, "analyzer-store")
    export = os.path.join(tmp, "analyzer.export")
    native_json = os.path.join(tmp, "analyzer-native.json")
    log("analyzer: generating %d records over %d s, %d stacks" % (cfg["records"], cfg["seconds"], cfg["stacks"]))
    gen = run_json([ctx["swpbench"], "gen", "--dir", store, "--records", str(cfg["records"]), "--seconds",
                    str(cfg["seconds"]), "--stacks", str(cfg["stacks"]), "--funcs", str(cfg["funcs"]),
                    "--export", export])[0]
    # the server needs its own copies: one process opens a store at a time
    srv_store = os.path.join(tmp, "analyzer-store-server")
    slow_store = os.path.join(tmp, "analyzer-store-server-slow")
    shutil.copytree(store, srv_store)
    shutil.copytree(store, slow_store)
    sched, frm, to = gen["schedule"], gen["from_ms"], gen["to_ms"]

    procs, servers = [], []
    try:
        native = Proc([ctx["swpbench"], "analyze", "--dir", store, "--schedule", sched, "--from", str(frm), "--to",
                       str(to), "--out", native_json], name="swpbench analyze")
        procs.append(native)
        opened = native.line()
        first_native = native.ask()
        with open(native_json, "rb") as f:
            native_bytes = f.read()
        expected = os.path.join(tmp, "analyzer-expected-body.json")
        with open(expected, "wb") as f:
            f.write(b'{"data":{"analysisEBPFResult":' + native_bytes + b"}}")
        request = os.path.join(tmp, "analyzer-request.json")
        with open(request, "w") as f:
            json.dump({"query": ANALYSIS_QUERY, "variables": {
                "scheduleIdList": [sched], "timeRanges": [{"start": frm, "end": to}], "aggregateType": "COUNT"}}, f)

        log("analyzer: starting the JVM baseline and two servers (pass-through on and off)")
        bench_java = os.path.join(ROOT, "bench", "jvm", "Bench.java")
        baseline = Proc(["java", bench_java, "baseline", export, native_json, str(frm // 1000), str(to // 1000)],
                        name="baseline")
        procs.append(baseline)
        baseline_ready = baseline.line()
        fast = Server(ctx["jar"], ctx["jni"], srv_store, pass_through=True)
        servers.append(fast)
        slow = Server(ctx["jar"], ctx["jni"], slow_store, pass_through=False)
        servers.append(slow)
        client = Proc(["java", bench_java, "graphql", fast.url, request, expected], name="graphql client")
        procs.append(client)
        client.line()
        slow_client = Proc(["java", bench_java, "graphql", slow.url, request, expected], name="graphql client (slow)")
        procs.append(slow_client)
        slow_client.line()

        # first (cold) requests, then one warm-up each: the JIT compiles the hot paths of the JVM sides
        first = {"native": first_native, "baseline": baseline.ask(), "graphql": client.ask(),
                 "graphql_without_pass_through": slow_client.ask()}
        warm = [native.ask(), baseline.ask(), client.ask(), slow_client.ask()]
        identical = first["baseline"].get("identical") and all(
            r.get("identical") for r in (first["graphql"], first["graphql_without_pass_through"], warm[2], warm[3]))

        kinds = ["native", "baseline", "graphql", "graphql_without_pass_through"]
        who = {"native": native, "baseline": baseline, "graphql": client, "graphql_without_pass_through": slow_client}
        pids = [p.p.pid for p in procs] + [s.p.pid for s in servers]
        runs = {k: [] for k in kinds}
        for r in range(cfg["rounds"]):
            order = kinds[r % 4:] + kinds[:r % 4]
            for k in order:
                quiesce(pids)
                res = who[k].ask()
                if k.startswith("graphql") and not res.get("identical"):
                    identical = False
                runs[k].append(res)
            log("analyzer: round %d/%d native %.1f ms, graphql %.1f ms, baseline %.0f ms" % (
                r + 1, cfg["rounds"], 1000 * runs["native"][-1]["s"], 1000 * runs["graphql"][-1]["s"],
                1000 * runs["baseline"][-1]["s"]))
        fast_hwm = status_kb(fast.p.pid, "VmHWM")
        slow_hwm = status_kb(slow.p.pid, "VmHWM")
    finally:
        for p in procs:
            p.close()
        for s in servers:
            s.stop()

    t = {k: [x["s"] for x in runs[k]] for k in kinds}
    ratio = lambda a, b: [x / y for x, y in zip(t[a], t[b])]
    nat = runs["native"]
    elements = nat[0]["elements"]
    out = {
        "data": {
            "records": value(gen["records"], "(stack, count) entries"),
            "samples": value(gen["samples"], "samples"),
            "window": value(gen["seconds"], "s"),
            "blocks": value(gen["blocks"], "blocks (one per second)"),
            "distinct_stacks": value(gen["stacks"], "stacks"),
            "stack_depth": "10..60 frames, mean %.1f" % (gen["stack_frames"] / gen["stacks"]),
            "popularity": "Zipf s=1 over the stacks; each second draws until its block has records/seconds stacks",
            "symbols": value(gen["symbols"], "distinct frames"),
            "tree_elements": value(elements, "elements"),
            "json_bytes": value(nat[0]["bytes"], "bytes"),
            "store_bytes": value(gen["store_bytes"], "bytes"),
            "written_through": "the scheduler's flush path (swp__scheduler_flush): one block per second, one commit",
        },
        "identical_trees": bool(identical),
        "native": {
            "time": figure(t["native"], "ms", 1000, 2),
            "first_analysis": value(first["native"]["s"] * 1000, "ms", 2),
            "cpu_time": figure([x["cpu_s"] for x in nat], "ms", 1000, 2),
            "frames_merged_per_s": figure([gen["stack_frames"] / x for x in t["native"]], "frames/s (distinct stacks)",
                                          1, 0),
            "record_frames_per_s": figure([gen["record_frames"] / x for x in t["native"]],
                                          "frames/s (every record's frames, what a per-record merge walks)", 1, 0),
            "records_per_s": figure([gen["records"] / x for x in t["native"]], "records/s", 1, 0),
            "rss_after_open": value(opened["rss_open_kb"] / 1024, "MiB", 1),
            "peak_rss_during_analysis": value((first["native"]["hwm_after_kb"] - first["native"]["rss_before_kb"]) / 1024,
                                              "MiB above the RSS before it", 1),
        },
        "graphql_http": {
            "time": figure(t["graphql"], "ms", 1000, 2),
            "first_request": value(first["graphql"]["s"] * 1000, "ms", 2),
            "without_pass_through": figure(t["graphql_without_pass_through"], "ms", 1000, 1),
            "reply_bytes": value(runs["graphql"][0]["bytes"], "bytes"),
            "server_peak_rss": value((fast_hwm or 0) / 1024, "MiB", 1),
            "server_peak_rss_without_pass_through": value((slow_hwm or 0) / 1024, "MiB", 1),
            "client": "java.net.http.HttpClient, one connection, whole body read; the UI's query (aliased field)",
        },
        "jvm_baseline": {
            "time": figure(t["baseline"], "ms", 1000, 1),
            "first_analysis": value(first["baseline"]["s"] * 1000, "ms", 1),
            "allocated_per_analysis": figure([x["alloc_bytes"] for x in runs["baseline"]], "MiB", 1 / 2**20, 1),
            "peak_rss": value(max(x["hwm_kb"] for x in runs["baseline"]) / 1024, "MiB", 1),
            "what": "each record's stack decoded into a list of symbol strings and merged into a node tree whose "
                    "children are searched linearly, then written as JSON (bench/jvm/Bench.java)",
        },
        "ratios": {
            "baseline_over_native": figure(ratio("baseline", "native"), "x", 1, 1),
            "baseline_over_graphql": figure(ratio("baseline", "graphql"), "x", 1, 1),
            "graphql_over_native": figure(ratio("graphql", "native"), "x", 1, 2),
            "without_over_with_pass_through": figure(ratio("graphql_without_pass_through", "graphql"), "x", 1, 1),
        },
    }
    return out


def wait_perf_attached(perf, threads, timeout=10):
    """perf record -p opens one event per thread; then give it a moment to map its buffers."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            n = sum(1 for fd in os.listdir("/proc/%d/fd" % perf.pid)
                    if os.readlink("/proc/%d/fd/%s" % (perf.pid, fd)).endswith("[perf_event]"))
        except OSError:
            n = 0
        if n >= threads + 1:
            time.sleep(0.3)
            return True
        if perf.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def one_workload(ctx, cfg, iters, mode, freq):
    """One run of the workload under `mode` (none, swprof, perf). Returns the workload's and profiler's figures."""
    spin = subprocess.Popen([ctx["spin"], "--threads", str(cfg["threads"]), "--iters", str(iters)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    prof = None
    perf = None
    data = None
    res = {}
    try:
        pid = json.loads(spin.stdout.readline())["pid"]
        if mode == "swprof":
            data = tempfile.mkdtemp(prefix="swprof-bench-profile-", dir=ctx["tmp"])
            prof = Proc([ctx["swpbench"], "profile", "--pid", str(pid), "--freq", str(freq), "--data", data],
                        name="swpbench profile")
            ready = prof.line()
            res["attach_s"] = ready["attach_s"]
            res["kallsyms_cpu_s"] = ready["kallsyms_cpu_s"]
        elif mode == "perf":
            out = os.path.join(ctx["tmp"], "perf.data")
            perf = subprocess.Popen(["perf", "record", "-F", str(freq), "-g", "-p", str(pid), "-o", out, "-q", "-N",
                                     "-B"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            if not wait_perf_attached(perf, cfg["threads"]):
                raise RuntimeError("perf record did not attach: %s" % (perf.stderr.read() if perf.poll() else ""))
        spin.stdin.write("go\n")
        spin.stdin.flush()
        res.update(json.loads(spin.stdout.readline()))
        spin.wait(timeout=60)
        if prof:
            res["profiler"] = prof.ask("stop")
        if perf:
            perf.wait(timeout=120)
    finally:
        for p in (spin, perf):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        if prof:
            prof.close()
        if data:
            shutil.rmtree(data, ignore_errors=True)
        if perf:
            try:
                os.unlink(os.path.join(ctx["tmp"], "perf.data"))
            except OSError:
                pass
    return res


def need_bpf(ctx):
    if os.geteuid() != 0:
        raise Skip("needs root (BPF and perf events)")
    if "bpf" not in ctx:
        p = subprocess.run([ctx["swpbench"], "probe"], stdout=subprocess.PIPE, text=True)
        ctx["bpf"] = None if p.returncode == 0 else (p.stdout.strip() or "the eBPF profiler cannot start")
    if ctx["bpf"]:
        raise Skip(ctx["bpf"])


def overhead(cfg, ctx):
    need_bpf(ctx)
    iters = run_json([ctx["spin"], "--calibrate", str(cfg["work_s"])])[0]["iters"]
    modes = [("none", 0), ("swprof", 99), ("perf", 99), ("swprof", 999), ("perf", 999)]
    have_perf = shutil.which("perf") is not None
    if not have_perf:
        modes = [m for m in modes if m[0] != "perf"]
    runs = {m: [] for m in modes}
    for r in range(cfg["rounds"]):
        order = modes[r % len(modes):] + modes[:r % len(modes)]
        for m in order:
            runs[m].append(one_workload(ctx, cfg, iters, m[0], m[1]))
        log("overhead: round %d/%d: %s" % (r + 1, cfg["rounds"], ", ".join(
            "%s%s %.3f s" % (m[0], "@%d" % m[1] if m[1] else "", runs[m][-1]["wall_s"]) for m in modes)))
    base = [x["wall_s"] for x in runs[("none", 0)]]
    base_cpu = [x["cpu_s"] for x in runs[("none", 0)]]
    out = {
        "workload": "%d threads (cores: %d), each %d iterations of integer mixing in 3 call levels; wall time "
                    "from the start signal to the last thread's end, measured inside the workload; the configurations "
                    "take turns, starting one later each round" % (cfg["threads"], os.cpu_count(), iters),
        "unprofiled_wall": figure(base, "s", 1, 4),
        "how_to_read": "overhead = each round against that round's unprofiled run (median over rounds; other "
                       "tenants' bursts hit single runs); overhead_of_minimums compares the least disturbed runs; "
                       "cpu_overhead uses the workload's own CPU time, which waiting for a busy CPU does not inflate",
    }
    for m in modes[1:]:
        name = "%s_%dHz" % m
        walls = [x["wall_s"] for x in runs[m]]
        cpus = [x["cpu_s"] for x in runs[m]]
        over = [(w / b - 1) * 100 for w, b in zip(walls, base)]
        entry = {"wall": figure(walls, "s", 1, 4),
                 "overhead": figure(over, "% of the workload's time", 1, 2),
                 "overhead_of_minimums": value((min(walls) / min(base) - 1) * 100, "%", 2),
                 "cpu_overhead": figure([(c / b - 1) * 100 for c, b in zip(cpus, base_cpu)], "% of the workload's CPU "
                                                                                              "time", 1, 2)}
        if m[0] == "swprof":
            p = [x["profiler"] for x in runs[m]]
            entry["samples"] = figure([x["samples"] for x in p], "samples", 1, 0)
            entry["lost"] = figure([x["lost"] for x in p], "samples", 1, 0)
            entry["profiler_cpu_per_1000_samples"] = figure(
                [x["cpu_s"] / x["samples"] * 1000 for x in p if x["samples"]], "ms CPU", 1000, 3)
            entry["profiler_cpu"] = figure([x["cpu_s"] for x in p], "ms CPU (from attach to the last flush)", 1000, 1)
            entry["kernel_symbols_load"] = figure([x["kallsyms_cpu_s"] for x in runs[m]],
                                                  "ms CPU once per profiler process (read before timing starts)",
                                                  1000, 1)
            entry["profiler_rss"] = figure([x["rss_kb"] for x in p], "MiB (kernel symbols loaded)", 1 / 1024, 1)
            entry["profiler_peak_rss"] = figure([x["hwm_kb"] for x in p], "MiB", 1 / 1024, 1)
            entry["bpf_map_memory"] = value(p[0]["bpf_map_bytes"] / 2**20, "MiB (kernel memory, memlock)", 1)
        out[name] = entry
    if have_perf:
        for f in (99, 999):
            s = [x["wall_s"] for x in runs[("swprof", f)]]
            q = [x["wall_s"] for x in runs[("perf", f)]]
            out["swprof_minus_perf_%dHz" % f] = figure([(a - b) / c * 100 for a, b, c in zip(s, q, base)],
                                                       "percentage points of the workload's time", 1, 2)
    else:
        out["perf"] = "skipped: perf not installed (Debian: linux-perf)"
    return out


def completeness(cfg, ctx):
    need_bpf(ctx)
    iters = run_json([ctx["spin"], "--calibrate", str(cfg["work_s"])])[0]["iters"]
    rounds = []
    for r in range(cfg["rounds"]):
        res = one_workload(ctx, cfg, iters, "swprof", cfg["freq"])
        p = res["profiler"]
        expected = res["process_cpu_s"] * cfg["freq"]
        rounds.append({"recorded": p["samples"], "expected": round(expected), "lost": p["lost"],
                       "ratio_pct": round(100 * p["samples"] / expected, 3), "cpu_s": res["process_cpu_s"]})
        log("completeness: round %d/%d: %d of %.0f expected (%.3f%%), %d lost" % (
            r + 1, cfg["rounds"], p["samples"], expected, 100 * p["samples"] / expected, p["lost"]))
    return {
        "setup": "%d busy threads for %.0f s at %d Hz; expected = the workload's CPU time x frequency (in a VM the "
                 "sampling timer also runs through steal time that CPU time leaves out: above 100%% is possible)" % (
                     cfg["threads"], cfg["work_s"], cfg["freq"]),
        "recorded_over_expected": figure([x["ratio_pct"] for x in rounds], "%", 1, 3),
        "lost": figure([x["lost"] for x in rounds], "samples (reported by the kernel side)", 1, 0),
        "rounds": rounds,
    }


def ingestion(cfg, ctx):
    store = os.path.join(ctx["tmp"], "ingest-store")
    res = run_json([ctx["swpbench"], "ingest", "--dir", store, "--seconds", str(cfg["seconds"]), "--rounds",
                    str(cfg["rounds"]), "--per-sec", str(cfg["per_sec"]), "--stacks", str(cfg["stacks"]), "--funcs",
                    str(cfg["funcs"])])
    rounds = [x for x in res if "round" in x]
    summary = [x for x in res if x.get("summary")][0]
    steady = [x for x in rounds if not x["cold"]]
    per_m = 1e6 / summary["samples"]
    return {
        "setup": "%d flushes per round, each of %d (stack, count) records of one process drawn Zipf from %d stacks "
                 "whose frames are real addresses (this process's libraries, the kernel); collector (symbolize, "
                 "stack table) -> one block per flush -> one RocksDB batch, as the scheduler's tick does (no BPF)" % (
                     cfg["seconds"], cfg["per_sec"], cfg["stacks"]),
        "records_per_s": figure([x["records_per_s"] for x in steady], "records/s", 1, 0),
        "records_per_cpu_s": figure([x["records"] / x["cpu_s"] for x in steady],
                                    "records per CPU second (with RocksDB's background threads)", 1, 0),
        "first_round_records_per_s": value(rounds[0]["records_per_s"], "records/s (every stack new: symbolized)"),
        "new_stacks_per_round": [x["new_stacks"] for x in rounds],
        "flush_share": figure([x["flush_s"] / (x["flush_s"] + x["collector_s"]) * 100 for x in steady],
                              "% of the time in blocks + commit", 1, 1),
        "store_bytes_per_million_samples": value(summary["store_bytes_reopened"] * per_m / 2**20,
                                                 "MiB on disk (LZ4), stacks included", 2),
        "block_bytes_per_million_samples": value(summary["block_bytes"] * per_m / 2**20,
                                                 "MiB logical (keys + values of the sample blocks)", 2),
        "stack_bytes": value(summary["stack_bytes"] / 2**20, "MiB logical for %d stacks" % summary["stacks"], 2),
        "samples": value(summary["samples"], "samples"),
        "rounds": rounds,
    }


def build_libs(ctx, n):
    """n copies of one shared library with 2000 functions (distinct files: each is parsed)."""
    d = os.path.join(ctx["out"], "libs-%d" % n)
    if os.path.isdir(d) and len([f for f in os.listdir(d) if f.endswith(".so")]) == n:
        return d
    src = os.path.join(ctx["out"], "benchlib.c")
    so = os.path.join(ctx["out"], "libbench.so")
    if not os.path.exists(so):
        with open(src, "w") as f:
            f.write("int bench_sink;\n")
            for i in range(2000):
                f.write("__attribute__((noinline)) int bench_fn_%04d(int x) { bench_sink += x * %d; return "
                        "bench_sink ^ %d; }\n" % (i, i + 1, i))
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-g", "-o", so, src], check=True)
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        shutil.copyfile(so, os.path.join(d, "libbench%03d.so" % i))
    return d


def symbolization(cfg, ctx):
    libs = build_libs(ctx, cfg["libs"])
    res = run_json([ctx["swpbench"], "symbolize", "--libs", libs, "--rounds", str(cfg["rounds"]), "--lookups",
                    str(cfg["lookups"])])
    head, rounds = res[0], res[1:]
    return {
        "target": "a process with %d dlopen()ed libraries of 2000 functions each (%d executable file mappings "
                  "with libc and the loader)" % (head["libraries"], head["text_mappings"]),
        "cold_start": figure([x["cold_s"] for x in rounds], "ms (a new symbolizer: maps read, every ELF parsed, "
                                                              "one lookup per mapping)", 1000, 2),
        "cold_per_library": figure([x["cold_s"] / head["text_mappings"] for x in rounds], "ms", 1000, 4),
        "elf_parses": rounds[0]["elf_parses"],
        "cached_lookups_per_s": figure([x["cached_lookups"] / x["cached_s"] for x in rounds],
                                       "lookups/s (user, random addresses in every library)", 1, 0),
        "kernel_cold": figure([x["kernel_cold_s"] for x in rounds], "ms (read /proc/kallsyms)", 1000, 2),
        "kernel_lookups_per_s": figure([x["kernel_lookups"] / x["kernel_s"] for x in rounds if x["kernel_s"]],
                                       "lookups/s", 1, 0),
    }


# ---- many hosts: the agent on a host, the backend for many agents --------------------------------

TASK_MUTATION = ("mutation ($r: EBPFProfilingTaskFixedTimeCreationRequest!) { createEBPFProfilingFixedTimeTask("
                 "request: $r) { status errorReason id } }")


def service_id(name):
    import base64
    return base64.b64encode(name.encode()).decode() + ".1"


def wait_until(what, seconds, probe, interval=0.3):
    deadline = time.time() + seconds
    while True:
        v = probe()
        if v:
            return v
        if time.time() > deadline:
            raise RuntimeError("timed out after %ss waiting for %s" % (seconds, what))
        time.sleep(interval)


def profile_service(srv, service, n):
    """Waits for n processes of the service, creates a task on it (from now, 10 minutes), returns its id."""
    sid = service_id(service)
    wait_until("%d processes of %s" % (n, service), 60, lambda: len(srv.gql(
        "query ($s: ID) { listProcesses(serviceId: $s) { id } }", {"s": sid})["listProcesses"]) >= n)
    r = srv.gql(TASK_MUTATION, {"r": {"serviceId": sid, "processLabels": [], "startTime": int(time.time() * 1000),
                                      "duration": 600, "targetType": "ON_CPU"}})["createEBPFProfilingFixedTimeTask"]
    if not r["status"]:
        raise RuntimeError("the task was refused: %s" % r["errorReason"])
    return r["id"]


def smaps_kb(pid, fields):
    total = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for l in f:
                if l.split(":")[0] in fields:
                    total += int(l.split()[1])
    except OSError:
        pass
    return total


def tcp_sent_to(port):
    """Bytes the connections to a local port have sent (TCP payload acknowledged: ss's bytes_acked, less the SYN)."""
    out = subprocess.run(["ss", "-tinH", "state", "established", "( dport = :%d )" % port], stdout=subprocess.PIPE,
                         text=True).stdout
    return sum(int(m) - 1 for m in re.findall(r"bytes_acked:(\d+)", out))


def cpu_ns(pid):
    """The CPU time of a process's live threads in ns (/proc/PID/task/*/schedstat): finer than clock ticks."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        pass
    return total


def settle(probe, quiet_s=2.0, timeout=30.0):
    """Polls probe() until its value stays the same for quiet_s; returns it."""
    deadline = time.time() + timeout
    last, since = probe(), time.time()
    while time.time() < deadline:
        time.sleep(0.25)
        v = probe()
        if v != last:
            last, since = v, time.time()
        elif time.time() - since >= quiet_s:
            break
    return last


def agent_round(ctx, cfg, n):
    """swprof agent profiling n busy processes for the backend (the real server jar, profiling off), then perf
    record on the same processes for the same time. The targets are stopped (SIGSTOP) at both ends of the window and
    the deliveries drained, so the samples stored are compared with exactly the CPU time the targets had."""
    tmp = tempfile.mkdtemp(prefix="agent-%d-" % n, dir=ctx["tmp"])
    hz = cfg["freq"]
    srv = Server(ctx["jar"], ctx["jni"], os.path.join(tmp, "data"), grpc=True)
    targets, agent = [], None
    tick = os.sysconf("SC_CLK_TCK")
    try:
        for _ in range(n):
            targets.append(subprocess.Popen([ctx["busy"], "syscall", "3601"], stdout=subprocess.DEVNULL,
                                            stdin=subprocess.DEVNULL))
        pids = [t.pid for t in targets]
        alog = open(os.path.join(tmp, "agent.log"), "w")
        agent = subprocess.Popen([ctx["swprof"], "agent", "--backend", "127.0.0.1:%d" % srv.grpc, "--rule",
                                  "(^|/)busy syscall 3601$=bench-agent", "--process", "{exe}-{pid}", "--agent-id", "bench-agent", "--freq", str(hz),
                                  "--min-age-ms", "0", "--poll-ms", "1000"],
                                 stdin=subprocess.DEVNULL, stdout=alog, stderr=subprocess.STDOUT)
        task = profile_service(srv, "bench-agent", n)
        wait_until("%d schedules" % n, 60, lambda: len(srv.gql(
            "query ($t: ID!) { queryEBPFProfilingSchedules(taskId: $t) { scheduleId } }",
            {"t": task})["queryEBPFProfilingSchedules"]) >= n)
        time.sleep(2)  # past the first flush: every process symbolized once

        def samples():
            return srv.core_stats()["samples"]

        def freeze(sig):
            for pid in pids:
                os.kill(pid, sig)

        freeze(signal.SIGSTOP)
        s0 = settle(samples)
        cpu0 = sum(cpu_ns(p) for p in pids)
        a_cpu0, a_w0 = cpu_ns(agent.pid), tcp_sent_to(srv.grpc)
        t0 = time.time()
        freeze(signal.SIGCONT)
        time.sleep(cfg["seconds"])
        freeze(signal.SIGSTOP)
        ran = time.time() - t0
        cpu1 = sum(cpu_ns(p) for p in pids)
        s1 = settle(samples)
        t1 = time.time()
        a_cpu1, a_w1 = cpu_ns(agent.pid), tcp_sent_to(srv.grpc)
        rss, hwm = status_kb(agent.pid, "VmRSS"), status_kb(agent.pid, "VmHWM")
        private = smaps_kb(agent.pid, ("Private_Clean", "Private_Dirty"))
        stats = srv.core_stats()
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=30)
        agent = None
        res = {"targets": n, "window_s": ran, "drained_s": t1 - t0 - ran, "target_cpu_s": (cpu1 - cpu0) / 1e9, "samples": s1 - s0,
               "agent_cpu_s": (a_cpu1 - a_cpu0) / 1e9, "agent_written": a_w1 - a_w0, "agent_rss_kb": rss, "agent_private_kb": private,
               "agent_hwm_kb": hwm, "write_errors": stats["writeErrors"]}
        res["expected"] = res["target_cpu_s"] * hz

        # the anchor: perf record -g on the same processes for the same time
        if shutil.which("perf"):
            out = os.path.join(tmp, "perf.data")
            perf = subprocess.Popen(["perf", "record", "-F", str(hz), "-g", "-p", ",".join(map(str, pids)), "-o", out,
                                     "-q"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            wait_perf_attached(perf, n)
            p0 = cpu_ns(perf.pid)
            freeze(signal.SIGCONT)
            t = time.time()
            time.sleep(cfg["seconds"])
            freeze(signal.SIGSTOP)
            p1 = cpu_ns(perf.pid)
            res["perf"] = {"window_s": time.time() - t, "cpu_s": (p1 - p0) / 1e9,
                           "hwm_kb": status_kb(perf.pid, "VmHWM")}
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
            res["perf"]["file_bytes"] = os.path.getsize(out) if os.path.exists(out) else 0
        return res
    finally:
        for t in targets:
            t.kill()
            t.wait()
        if agent:
            agent.kill()
            agent.wait()
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def agent(cfg, ctx):
    need_bpf(ctx)
    out = {
        "setup": "the real swprof agent on this host (--freq %d, --poll-ms 1000, defaults otherwise: flush 1 s, heartbeat 20 s, scan 5 s) reporting to "
                 "the server jar over loopback gRPC; the targets are `busy syscall` processes (CPU-bound in and "
                 "out of the kernel: every stack has kernel and user frames, the agent's worst case for symbols; "
                 "%d cores); each window: the targets run %d s between two SIGSTOPs and the agent's deliveries are "
                 "drained, so samples are compared with the targets' own CPU time. The anchor is perf record -g on "
                 "the same processes for the same time (it writes raw samples; it neither symbolizes nor sends)" % (
                     cfg["freq"], os.cpu_count(), cfg["seconds"]),
    }
    for n in cfg["targets"]:
        r = agent_round(ctx, cfg, n)
        log("agent: %d targets: %d of %.0f expected samples, agent %.2f s CPU in %.1f s, %.0f KiB written" % (
            n, r["samples"], r["expected"], r["agent_cpu_s"], r["window_s"], r["agent_written"] / 1024))
        e = {
            "samples_stored_over_expected": value(100 * r["samples"] / r["expected"] if r["expected"] else 0,
                                                  "% (expected = the targets' CPU time x frequency)", 2),
            "samples": value(r["samples"], "samples"),
            "agent_cpu": value(100 * r["agent_cpu_s"] / r["window_s"], "% of one core (its CPU time until the window's "
                                                                             "samples were stored, over the window)", 3),
            "agent_cpu_per_1000_samples": value(1000 * r["agent_cpu_s"] / max(r["samples"], 1) * 1000, "ms CPU", 2),
            "agent_rss": value(r["agent_rss_kb"] / 1024, "MiB", 1),
            "agent_peak_rss": value(r["agent_hwm_kb"] / 1024, "MiB", 1),
            "agent_private": value(r["agent_private_kb"] / 1024, "MiB (its own pages; the rest of its RSS is "
                                                                 "shared libraries' pages)", 1),
            "agent_sent": value(r["agent_written"] / r["window_s"] / 1024, "KiB/s (TCP payload to the backend)", 2),
            "agent_sent_per_sample": value(r["agent_written"] / max(r["samples"], 1), "bytes", 1),
            "backend_write_errors": value(r["write_errors"], "errors"),
        }
        if "perf" in r:
            p = r["perf"]
            e["perf_record"] = {
                "cpu": value(100 * p["cpu_s"] / p["window_s"], "% of one core", 3),
                "peak_rss": value((p["hwm_kb"] or 0) / 1024, "MiB", 1),
                "written": value(p["file_bytes"] / p["window_s"] / 1024, "KiB/s (perf.data)", 2),
            }
        out["%d_targets" % n] = e
    return out


def backend_step(ctx, cfg, srv, service, agents, procs, seconds):
    """`agentload` against the server: agents x procs processes of one service streaming every flush."""
    load = Proc([ctx["agentload"], "--backend", "127.0.0.1:%d" % srv.grpc, "--agents", str(agents),
                 "--processes", str(procs), "--seconds", str(seconds), "--hz", str(cfg["hz"]),
                 "--stacks", str(cfg["stacks"]), "--flush-ms", str(cfg["flush_ms"]), "--service", service] +
                (["--folded", ctx["folded"]] if ctx.get("folded") else []), name="agentload")
    try:
        load.line()
        profile_service(srv, service, agents * procs)
        quiesce([srv.p.pid])
        c0, l0 = cpu_ticks([srv.p.pid]), cpu_ticks([load.p.pid])
        s0 = srv.core_stats()["samples"]
        t0 = time.time()
        res = load.ask("go")
        wall = time.time() - t0
        c1, l1 = cpu_ticks([srv.p.pid]), cpu_ticks([load.p.pid])
        stats = srv.core_stats()
        tick = os.sysconf("SC_CLK_TCK")
        res.update(server_cpu_s=(c1 - c0) / tick, load_cpu_s=(l1 - l0) / tick, server_wall_s=wall,
                   stored=stats["samples"] - s0, write_errors=stats["writeErrors"])
        return res
    finally:
        load.close()


def backend_figures(r):
    el = r["elapsed_s"]
    return {
        "processes": r["processes"],
        "samples_per_s": value(r["samples"] / el, "samples/s sent", 0),
        "stacks_per_s": value(r["stacks"] / el, "distinct stacks/s (one message each)", 0),
        "bytes_per_s": value(r["bytes"] / el / 2**20, "MiB/s (protobuf)", 2),
        "stored_over_sent": value(100 * r["stored"] / max(r["samples"], 1), "%", 3),
        "server_cpu": value(100 * r["server_cpu_s"] / r["server_wall_s"], "% of one core (all its threads)", 1),
        "server_cpu_per_million_samples": value(r["server_cpu_s"] / max(r["samples"], 1) * 1e6, "s CPU", 2),
        "load_generator_cpu": value(100 * r["load_cpu_s"] / r["server_wall_s"], "% of one core", 1),
        "stream_latency": {k: value(v, "ms", 1) for k, v in r["latency_ms"].items()},
        "late_flushes": value(r["late_flushes"], "flushes that started after their time"),
        "errors": value(r["errors"], "streams that failed"),
        "write_errors": value(r["write_errors"], "errors"),
    }


def record_profile(ctx, seconds):
    """Recorded stacks for the simulated agents to replay: swprof record (999 Hz) of three real programs at once,
    the bench's ingestion (RocksDB, symbolization), and tar | gzip over the system's libraries (kernel I/O paths).
    None without BPF (the simulated agents then draw synthetic stacks)."""
    try:
        need_bpf(ctx)
    except Skip:
        return None
    tmp = tempfile.mkdtemp(prefix="recorded-", dir=ctx["tmp"])
    ingest = subprocess.Popen([ctx["swpbench"], "ingest", "--dir", os.path.join(tmp, "store"), "--seconds", "60",
                               "--rounds", "1000", "--per-sec", "1500", "--stacks", "20000", "--funcs", "6000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pipe = subprocess.Popen(["sh", "-c", "exec tar -cf - /usr/lib /usr/share 2>/dev/null | gzip -1 >/dev/null"],
                            start_new_session=True)
    try:
        time.sleep(0.5)
        pids = [ingest.pid] + [int(x) for x in subprocess.run(["pgrep", "-s", str(pipe.pid)], stdout=subprocess.PIPE,
                                                               text=True).stdout.split() if int(x) != pipe.pid]
        recs = [subprocess.Popen([ctx["swprof"], "record", "--pid", str(pid), "--duration", str(seconds), "--freq",
                                  "999"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for pid in pids]
        lines = []
        for r in recs:
            lines += [l for l in r.communicate()[0].splitlines() if l.strip()]
    finally:
        ingest.kill()
        ingest.wait()
        try:
            os.killpg(pipe.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pipe.wait()
    path = os.path.join(ctx["tmp"], "recorded.folded")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return path if lines else None


def backend(cfg, ctx):
    steps = []
    saturated = None
    folded = record_profile(ctx, cfg["record_s"])
    profile = None
    if folded:
        with open(folded) as f:
            rows = [l.rsplit(" ", 1) for l in f if l.strip()]
        profile = {"distinct_stacks": len(rows), "samples": sum(int(c) for _, c in rows),
                   "mean_frames": round(sum(r[0].count(";") + 1 for r in rows) / len(rows), 1),
                   "with_kernel_frames": sum(1 for r in rows if "_[k]" in r[0])}
        ctx["folded"] = folded
    tmp = tempfile.mkdtemp(prefix="backend-", dir=ctx["tmp"])
    srv = Server(ctx["jar"], ctx["jni"], os.path.join(tmp, "data"), grpc=True)
    try:
        # a short warm-up with the smallest load first, not reported: the JIT compiles the gRPC path
        backend_step(ctx, cfg, srv, "warmup", cfg["agents"], cfg["processes"][0], cfg["warmup_s"])
        for procs in cfg["processes"]:
            r = backend_step(ctx, cfg, srv, "load%d" % procs, cfg["agents"], procs, cfg["seconds"])
            log("backend: %d processes: %d samples/s sent, %d stored of %d, server %.0f%% CPU, p99 %.0f ms, "
                "%d late, %d errors" % (r["processes"], r["samples"] / r["elapsed_s"], r["stored"], r["samples"],
                                        100 * r["server_cpu_s"] / r["server_wall_s"], r["latency_ms"]["p99"],
                                        r["late_flushes"], r["errors"]))
            steps.append(backend_figures(r))
            late = r["late_flushes"] / max(r["streams"] + r["errors"], 1)
            if r["errors"] or late > 0.05 or r["latency_ms"]["p99"] > cfg["flush_ms"] or r["stored"] < r["samples"]:
                saturated = r["processes"]
                break
        hwm = status_kb(srv.p.pid, "VmHWM")
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    stacks = ("replays a recorded profile (%d distinct stacks of real programs, recorded here by swprof record: "
              "the bench's ingestion, tar and gzip) by its counts" % profile["distinct_stacks"]) if profile else \
        "draws from its own %d synthetic stacks (Zipf; kernel and C++-like user frames; no BPF to record real " \
        "ones)" % cfg["stacks"]
    return {
        "setup": "%d simulated agents (bench/src/agentload.c: the agent's gRPC client) against one server jar on "
                 "loopback (after a %d s warm-up), each with its share of the processes; every process is fully "
                 "busy at %d Hz and %s; every agent streams each %d ms flush as the swprof agent does (one message "
                 "per distinct stack, its symbols as strings). The sweep grows the processes, a new service each "
                 "step, until flushes fall behind, streams fail, p99 latency exceeds the flush interval or samples "
                 "are lost. The load generator shares the %d cores with the server (its CPU is in each step)." % (
                     cfg["agents"], cfg["warmup_s"], cfg["hz"], stacks, cfg["flush_ms"], os.cpu_count()),
        "recorded_profile": profile,
        "steps": steps,
        "saturated_at": value(saturated, "processes") if saturated else
        "not within the sweep (up to %d processes)" % (cfg["agents"] * cfg["processes"][-1]),
        "server_peak_rss": value((hwm or 0) / 1024, "MiB (the whole sweep)", 1),
    }

# ---- OFF_CPU: a context-switch-heavy workload under swprof, libbpf-tools' offcputime and perf sched ---------

OFFCPUTIME = next((p for p in (shutil.which("offcputime"), "/usr/sbin/offcputime") if p and os.path.exists(p)), None)


def cleanup(procs, data):
    """Kills what still runs of procs, removes the data file."""
    for p in procs:
        if p and p.poll() is None:
            p.kill()
            p.wait()
    if os.path.exists(data):
        os.unlink(data)


def one_pingpong(ctx, rounds, mode):
    """The ping-pong workload once under mode (none, swprof, offcputime, perf_sched): its figures and the tool's."""
    pp = subprocess.Popen([ctx["pingpong"], str(rounds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                          bufsize=1)
    tool, res, data = None, {}, os.path.join(ctx["tmp"], "sched.data")
    try:
        pid = json.loads(pp.stdout.readline())["pid"]
        argv = {"swprof": [ctx["swprof"], "record", "--pid", str(pid), "--duration", "600", "--target", "off-cpu",
                           "--format", "json"],
                "offcputime": [OFFCPUTIME or "offcputime", "-p", str(pid)],
                "perf_sched": ["perf", "sched", "record", "-o", data, "-p", str(pid)]}.get(mode)
        if argv:
            tool = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            time.sleep(1.5)  # attached (each loads its programs or opens its events well within this)
            if tool.poll() is not None:
                raise RuntimeError("%s exited at once: %s" % (mode, tool.stderr.read()[-300:]))
            c0 = cpu_ticks([tool.pid])
        pp.stdin.write("go\n")
        pp.stdin.flush()
        res.update(json.loads(pp.stdout.readline()))
        pp.wait(timeout=120)
        if tool:
            res["tool_cpu_s"] = (cpu_ticks([tool.pid]) - c0) / os.sysconf("SC_CLK_TCK")
            if mode != "swprof":  # swprof record ends with its target
                tool.send_signal(signal.SIGINT)
            out, err = tool.communicate(timeout=120)
            if mode == "swprof":
                trees = json.loads(out)["trees"]
                res["events"] = sum(e["dumpCount"] for t in trees for e in t["elements"] if e["parentId"] == "0")
                m = re.search(r"(\d+) switches were lost", err)
                res["lost"] = int(m.group(1)) if m else 0
            elif mode == "perf_sched":
                m = re.search(r"\((\d+) samples\)", err)
                res["events"] = int(m.group(1)) if m else None
                m = re.search(r"lost (\d+)", err, re.I)
                res["lost"] = int(m.group(1)) if m else 0
    finally:
        cleanup((pp, tool), data)
    return res


def offcpu(cfg, ctx):
    need_bpf(ctx)
    modes = ["none", "swprof"] + (["offcputime"] if OFFCPUTIME else []) + (["perf_sched"] if shutil.which("perf")
                                                                          else [])
    runs = {m: [] for m in modes}
    for r in range(cfg["runs"]):
        for m in modes[r % len(modes):] + modes[:r % len(modes)]:
            runs[m].append(one_pingpong(ctx, cfg["rounds"], m))
        log("offcpu: run %d/%d: %s" % (r + 1, cfg["runs"], ", ".join("%s %.3f s" % (m, runs[m][-1]["wall_s"])
                                                                     for m in modes)))
    base = [x["wall_s"] for x in runs["none"]]
    switches = runs["none"][0]["switches"]
    out = {"workload": "two threads passing a byte through two pipes, %d round trips (%d voluntary switches, as "
                       "the kernel counts them), wall time measured inside the workload; the tools attach 1.5 s before "
                       "it starts, take turns" % (cfg["rounds"], switches),
           "unprofiled_wall": figure(base, "s", 1, 4),
           "switches_per_s_unprofiled": value(switches / statistics.median(base), "switches/s", 0)}
    for m in modes[1:]:
        walls = [x["wall_s"] for x in runs[m]]
        e = {"wall": figure(walls, "s", 1, 4),
             "slowdown": figure([(w / b - 1) * 100 for w, b in zip(walls, base)], "% of the workload's time", 1, 2),
             "tool_cpu": figure([x["tool_cpu_s"] for x in runs[m]], "s of CPU while the workload ran", 1, 3)}
        if m == "swprof":
            e["switches_counted"] = figure([x["events"] for x in runs[m]], "switches", 1, 0)
            e["counted_of_kernel"] = figure([x["events"] / x["switches"] * 100 for x in runs[m]],
                                            "% of the voluntary switches the kernel counted in the same run", 1, 2)
            e["switches_lost"] = figure([x["lost"] for x in runs[m]], "switches", 1, 0)
            e["events_per_s"] = figure([x["events"] / x["wall_s"] for x in runs[m]], "switches/s handled", 1, 0)
        if m == "perf_sched":
            e["events_written"] = figure([x["events"] or 0 for x in runs[m]], "events (all sched tracepoints)", 1, 0)
        out[m] = e
    if "offcputime" not in modes:
        out["offcputime"] = "skipped: libbpf-tools' offcputime not installed (Debian: libbpf-tools)"
    return out


# ---- unwinding modes: swprof record --unwind fp|dwarf|auto and perf record --call-graph dwarf -----------------

def tool_cpu(proc):
    """The CPU time of a child that has ended (its rusage, kept by Popen's wait on Linux)."""
    ru = getattr(proc, "rusage", None)
    if ru:
        return ru.ru_utime + ru.ru_stime
    return None


class RusagePopen(subprocess.Popen):
    """Popen that keeps the child's rusage when it is reaped."""
    def _try_wait(self, wait_flags):
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid:
            self.rusage = ru
        return pid, sts


def one_unwind(ctx, cfg, binary, iters, mode):
    """One run of spin (binary) under mode: none, fp, dwarf, auto (swprof record) or perf_dwarf, perf_fp."""
    spin = subprocess.Popen([binary, "--threads", str(cfg["threads"]), "--iters", str(iters)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    tool, res, data = None, {}, os.path.join(ctx["tmp"], "unwind-perf.data")
    try:
        pid = json.loads(spin.stdout.readline())["pid"]
        freq = str(cfg["freq"])
        if mode in ("fp", "dwarf", "auto"):
            argv = [ctx["swprof"], "record", "--pid", str(pid), "--duration", "600", "--freq", freq, "--unwind", mode,
                    "--format", "json"]
        elif mode.startswith("perf_"):
            argv = ["perf", "record", "-F", freq, "-p", str(pid), "-o", data, "-q"] + \
                (["--call-graph", "dwarf"] if mode == "perf_dwarf" else ["-g"])
        else:
            argv = None
        if argv:
            tool = RusagePopen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if mode.startswith("perf_"):
                if not wait_perf_attached(tool, cfg["threads"]):
                    raise RuntimeError("perf record did not attach: %s" % (tool.stderr.read() if tool.poll() else ""))
            else:
                time.sleep(1.0)  # loaded and attached well within this
                if tool.poll() is not None:
                    raise RuntimeError("swprof record exited at once: %s" % tool.stderr.read()[-300:])
            c0 = cpu_ticks([tool.pid]) / os.sysconf("SC_CLK_TCK")  # start-up (BPF load, kernel symbols) left out
        spin.stdin.write("go\n")
        spin.stdin.flush()
        res.update(json.loads(spin.stdout.readline()))
        spin.wait(timeout=120)
        if tool:
            if mode.startswith("perf_"):
                tool.send_signal(signal.SIGINT)
            out, err = tool.communicate(timeout=120)
            res["tool_cpu_s"] = tool_cpu(tool) - c0
            if mode.startswith("perf_"):
                # perf unwinds (and symbolizes) when the data is read: its report is part of the cost
                rp = RusagePopen(["perf", "report", "-i", data, "--stdio", "-q", "--sort", "pid", "-F", "sample"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                n = rp.communicate(timeout=300)[0].split()
                res["samples"] = sum(int(x) for x in n if x.isdigit())
                res["record_cpu_s"] = res["tool_cpu_s"]
                res["report_cpu_s"] = tool_cpu(rp)
                res["tool_cpu_s"] += res["report_cpu_s"]
                res["data_bytes"] = os.path.getsize(data) if os.path.exists(data) else 0
            else:
                trees = json.loads(out)["trees"]
                res["samples"] = sum(e["dumpCount"] for t in trees for e in t["elements"] if e["parentId"] == "0")
                m = re.search(r"(\d+) samples by frame pointers, (\d+) by frame pointers then DWARF, (\d+) by DWARF, "
                              r"(\d+) incomplete", err)
                if m:
                    res["by"] = {"fp": int(m.group(1)), "fp_then_dwarf": int(m.group(2)), "dwarf": int(m.group(3)),
                                 "incomplete": int(m.group(4))}
    finally:
        cleanup((spin, tool), data)
    return res


def unwind(cfg, ctx):
    need_bpf(ctx)
    have_perf = shutil.which("perf") is not None
    out = {"workload": "bench/out/spin (%d threads of integer mixing in 3 call levels) built with frame pointers, "
                       "and the same source built -fomit-frame-pointer (spin-nofp); %d Hz; slowdown against that "
                       "round's unprofiled run, measured inside the workload; expected samples = the workload's "
                       "CPU time x frequency" % (cfg["threads"], cfg["freq"])}
    modes = ["none", "fp", "dwarf", "auto"] + (["perf_dwarf", "perf_fp"] if have_perf else [])
    for label, binary in (("frame_pointers", ctx["spin"]), ("no_frame_pointers", ctx["spin_nofp"])):
        iters = run_json([binary, "--calibrate", str(cfg["work_s"])])[0]["iters"]
        runs = {m: [] for m in modes}
        for r in range(cfg["rounds"]):
            for m in modes[r % len(modes):] + modes[:r % len(modes)]:
                runs[m].append(one_unwind(ctx, cfg, binary, iters, m))
            log("unwind %s: round %d/%d: %s" % (label, r + 1, cfg["rounds"], ", ".join(
                "%s %.3f s" % (m, runs[m][-1]["wall_s"]) for m in modes)))
        base = [x["wall_s"] for x in runs["none"]]
        sec = {}
        for m in modes[1:]:
            rs = runs[m]
            e = {"slowdown": figure([(x["wall_s"] / b - 1) * 100 for x, b in zip(rs, base)],
                                    "% of the workload's time", 1, 2),
                 "samples_of_expected": figure([x["samples"] / (x["cpu_s"] * cfg["freq"]) * 100 for x in rs],
                                               "% (recorded / (workload CPU s x Hz))", 1, 1),
                 "tool_cpu_per_1000_samples": figure([x["tool_cpu_s"] / x["samples"] * 1000 for x in rs
                                                      if x["samples"] and x["tool_cpu_s"] is not None],
                                                     "ms CPU of the profiler while the workload ran and after "
                                                     "(its start-up left out; perf: record + report)", 1000, 2)}
            if "by" in rs[0]:
                e["unwound_by"] = rs[0]["by"]
            if "report_cpu_s" in rs[0]:
                e["perf_report_share"] = figure([x["report_cpu_s"] / x["tool_cpu_s"] * 100 for x in rs
                                                 if x["tool_cpu_s"]], "% of that CPU in perf report", 1, 0)
            if "data_bytes" in rs[0]:
                e["perf_data_bytes_per_sample"] = figure([x["data_bytes"] / x["samples"] for x in rs
                                                          if x["samples"]], "bytes", 1, 0)
            sec[m] = e
        if have_perf:
            for m in ("dwarf", "auto"):
                sec["%s_minus_perf_dwarf" % m] = figure(
                    [(a["wall_s"] - q["wall_s"]) / b * 100 for a, q, b in zip(runs[m], runs["perf_dwarf"], base)],
                    "percentage points of the workload's time", 1, 2)
            sec["auto_minus_fp"] = figure([(a["wall_s"] - q["wall_s"]) / b * 100
                                           for a, q, b in zip(runs["auto"], runs["fp"], base)],
                                          "percentage points of the workload's time", 1, 2)
        out[label] = sec
    # unwinding alone: captured samples replayed, a new symbolizer each round (cold), then again (cached)
    rep = {}
    for label, binary, mode in (("dwarf_no_frame_pointers", ctx["spin_nofp"], "dwarf"),
                                ("auto_frame_pointers", ctx["spin"], "auto")):
        iters = run_json([binary, "--calibrate", str(cfg["capture_s"] + 5)])[0]["iters"]
        spin = subprocess.Popen([binary, "--threads", "1", "--iters", str(iters)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)
        try:
            json.loads(spin.stdout.readline())
            spin.stdin.write("go\n")
            spin.stdin.flush()
            res = run_json([ctx["swpbench"], "unwind", "--pid", str(spin.pid), "--seconds", str(cfg["capture_s"]),
                            "--mode", mode, "--rounds", str(cfg["replays"]), "--freq", "999"])
        finally:
            spin.kill()
            spin.wait()
        head, rounds = res[0], res[1:]
        rep[label] = {
            "samples": head["samples"],
            "stack_bytes_per_sample": value(head["stack_bytes"] / max(1, head["samples"]), "bytes copied", 0),
            "cold_per_s": figure([head["samples"] / x["cold_s"] for x in rounds], "samples/s on one core (a new "
                                 "symbolizer: unwind tables read, libunwind's cache empty)", 1, 0),
            "cached_per_s": figure([head["samples"] / x["cached_s"] for x in rounds], "samples/s on one core", 1, 0),
            "frames_per_sample": value(rounds[0]["frames"] / max(1, head["samples"]), "frames", 1),
            "by": {k: rounds[0][k] for k in ("fp", "fp_dwarf", "dwarf", "cut", "failed")},
            "unwind_tables": value(rounds[0]["eh_bytes"] / 1024, "KiB kept (%d files)" % rounds[0]["eh_files"], 1),
            "rss_growth": figure([x["rss_growth_kb"] for x in rounds], "KiB (tables and libunwind's caches)", 1, 0),
        }
    out["unwinding_alone"] = rep
    return out


SECTIONS = [("analyzer", analyzer), ("overhead", overhead), ("completeness", completeness),
            ("ingestion", ingestion), ("symbolization", symbolization), ("agent", agent), ("offcpu", offcpu), ("unwind", unwind),
            ("backend", backend)]


def goals(doc):
    out = []
    s = doc["sections"]
    a = s.get("analyzer", {})
    if "native" in a:
        n, g, r = a["native"]["time"]["median"], a["graphql_http"]["time"]["median"], \
            a["ratios"]["baseline_over_native"]["median"]
        full = a["data"]["records"]["value"] >= 1000000
        cond = "" if full else " (quick size: the goal is for 1 M records)"
        out.append(goal("analysis of 1 M samples over 10 min, native", "< 50 ms", "%.1f ms%s" % (n, cond), n < 50))
        out.append(goal("the same through GraphQL over HTTP", "< 150 ms", "%.1f ms%s" % (g, cond), g < 150))
        out.append(goal("faster than the JVM baseline", ">= 20x", "%.0fx native, %.0fx GraphQL" % (
            r, a["ratios"]["baseline_over_graphql"]["median"]), r >= 20))
    o = s.get("overhead", {})
    if "swprof_99Hz" in o:
        ov = o["swprof_99Hz"]["overhead"]["median"]
        out.append(goal("overhead at 99 Hz", "< 0.5%", "%.2f%% (median of per-round ratios)" % ov, ov < 0.5))
        if "perf_99Hz" in o:
            pv = o["perf_99Hz"]["overhead"]["median"]
            noise = o["swprof_99Hz"]["overhead"]["max"] - o["swprof_99Hz"]["overhead"]["min"]
            out.append(goal("overhead at 99 Hz below perf's", "swprof < perf", "swprof %.2f%%, perf %.2f%%" % (ov, pv),
                            ov < pv, "the difference is within the rounds' spread (%.2f points)" % noise
                            if abs(ov - pv) < noise else None))
        rss = o["swprof_99Hz"]["profiler_peak_rss"]["max"]
        out.append(goal("profiler resident memory", "< 64 MiB", "%.1f MiB peak" % rss, rss < 64))
    c = s.get("completeness", {})
    if "recorded_over_expected" in c:
        v = c["recorded_over_expected"]["median"]
        out.append(goal("completeness at 999 Hz", ">= 99.9%", "%.3f%%, %d lost reported" % (
            v, c["lost"]["max"] or 0), v >= 99.9))
    ag = s.get("agent", {})
    if "1_targets" in ag:
        v, m = ag["1_targets"]["agent_cpu"]["value"], ag["1_targets"]["agent_peak_rss"]["value"]
        out.append(goal("swprof agent profiling one busy process at 99 Hz", "< 0.5% of a core, < 32 MiB RSS",
                        "%.2f%%, %.1f MiB peak" % (v, m), v < 0.5 and m < 32))
    for k in sorted(x for x in ag if x.endswith("_targets")):
        c = ag[k]["samples_stored_over_expected"]["value"]
        out.append(goal("samples an agent delivers, %s" % k.replace("_", " "), ">= 99% of CPU time x frequency",
                        "%.2f%%" % c, c >= 99))
    be = s.get("backend", {})
    if be.get("steps"):
        ok = [x for x in be["steps"] if x["late_flushes"]["value"] == 0 and x["errors"]["value"] == 0 and
              x["stored_over_sent"]["value"] >= 100 and x["stream_latency"]["p99"]["value"] <= 1000]
        most = max((x["processes"] for x in ok), default=0)
        sat = be["saturated_at"]
        out.append(goal("a backend on 2 cores keeps up with busy processes at 99 Hz", ">= 200 processes",
                        "%d processes kept up with%s" % (most, ", saturated at %d" % sat["value"]
                                                         if isinstance(sat, dict) else ""), most >= 200))
    i = s.get("ingestion", {})
    if "records_per_s" in i:
        v = i["records_per_s"]["median"]
        out.append(goal("ingestion", ">= 500,000 records/s", "%.0f records/s" % v, v >= 500000))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, about a minute and a half")
    ap.add_argument("--only", help="comma-separated sections: " + ",".join(n for n, _ in SECTIONS))
    ap.add_argument("--build", default="build", help="the CMake build directory (default build)")
    ap.add_argument("--command", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cfgs = QUICK if args.quick else FULL
    only = set(args.only.split(",")) if args.only else None
    out_dir = os.path.join(ROOT, "bench", "out")
    build = os.path.join(ROOT, args.build)
    ctx = {
        "out": out_dir,
        "swpbench": os.path.join(out_dir, "swpbench"),
        "spin": os.path.join(out_dir, "spin"),
        "spin_nofp": os.path.join(out_dir, "spin-nofp"),
        "pingpong": os.path.join(out_dir, "pingpong"),
        "jar": os.path.join(ROOT, "java-shim", "shim", "target", "swprof-server.jar"),
        "jni": os.path.join(build, "libswprof_jni.so"),
        "swprof": os.path.join(build, "swprof"),
        "busy": os.path.join(build, "targets", "busy"),
        "agentload": os.path.join(out_dir, "agentload"),
        "tmp": tempfile.mkdtemp(prefix="swprof-bench-"),
    }
    doc = {
        "benchmark": "swprof",
        "command": args.command or "bench/run.sh" + (" --quick" if args.quick else ""),
        "mode": "quick" if args.quick else "full",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "git": git_state(),
        "load_average": {"before": [round(x, 2) for x in os.getloadavg()]},
        "sizes": cfgs,
        "sections": {},
    }
    failed = False
    t0 = time.time()
    try:
        for name, fn in SECTIONS:
            if only and name not in only:
                continue
            log("== %s" % name)
            t = time.time()
            try:
                doc["sections"][name] = fn(cfgs[name], ctx)
                doc["sections"][name]["section_seconds"] = round(time.time() - t, 1)
            except Skip as e:
                doc["sections"][name] = {"skipped": str(e)}
            except Exception as e:  # a broken section: report it, keep going, exit 1
                failed = True
                doc["sections"][name] = {"error": "%s: %s" % (type(e).__name__, e),
                                         "traceback": traceback.format_exc().splitlines()[-6:]}
                log("%s failed: %s" % (name, e))
    finally:
        shutil.rmtree(ctx["tmp"], ignore_errors=True)
    doc["load_average"]["after"] = [round(x, 2) for x in os.getloadavg()]
    busy = max(doc["load_average"]["before"][0], doc["load_average"]["after"][0]) > 0.5 * (os.cpu_count() or 1)
    doc["load_average"]["note"] = ("the machine was busy with other work (1-minute load above half the cores): "
                                   "absolute timings are pessimistic, ratios within a round hold") if busy else \
        "the machine was quiet"
    doc["total_seconds"] = round(time.time() - t0, 1)
    doc["goals"] = goals(doc)
    if args.quick:
        for g in doc["goals"]:
            g["note"] = "quick sizes and half-second workloads: the goals are judged on a full run"
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
