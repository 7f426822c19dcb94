#!/usr/bin/env python3
"""Many hosts on one machine: `swprof agent`s in their own network, PID, mount and UTS namespaces report
to one swprof server over SkyWalking's eBPF agent protocol (gRPC), each profiling its own busy program.

    e2e/hosts.py [--keep] [-v]

As root. The test makes its own network: a bridge swpt-br0 (10.77.0.1/24) and, per host, a network
namespace swpt-hN with a veth at 10.77.0.1N; the server listens for agents on 10.77.0.1 only (REST on
loopback). Each host runs `unshare --pid --fork --mount-proc --uts`: its own host name (host-N), its own
/proc, a busy program and `swprof agent --backend 10.77.0.1:PORT`.

The server's gRPC port listens beyond loopback, so it asks for a token (generated into its data directory);
the agents have it (--token-file). It checks, in order: every agent's process listed with its own host's
attributes (and the labels its rule's options give); one task on the service
both hosts run, giving one schedule per host whose trees are each host's own program; the backend killed
with kill -9 and restarted mid-task (the agents keep their samples and deliver them: the samples match the
programs' CPU time); a host's link cut and restored (the same); an agent claiming another agent's process
(refused), and one without the token (refused); an agent killed (its schedule stops, its process ages out). Sample counts are compared with the
programs' own CPU time (/proc/PID/stat), never with wall time. Prints one line per check and
`N passed, M failed`; exit status 0 only when nothing failed. Everything it made is removed at the end.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import checks
from checks import check, cpu_seconds, free_port, graphql, pid_of, sid, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWPROF = os.path.join(ROOT, "build", "swprof")
JAR = os.path.join(ROOT, "java-shim", "shim", "target", "swprof-server.jar")
JNI = os.path.join(ROOT, "build", "libswprof_jni.so")
BRIDGE, NET = "swpt-br0", "10.77.0"
HZ = 99
HOSTS = {1: "spin", 2: "syscall"}  # host -> the busy program's mode
SERVICE = "multi"
# host 2's rule is shaped by the options after it: its process is named by a template, its labels given
RULE_OPTIONS = {2: "--process '{exe}' --label cpu --label '{exe}' "}
LABELS = {1: ["busy"], 2: ["cpu", "busy"]}

def sh(*args, check_rc=True):
    r = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check_rc and r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


class World:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}  # name -> Popen
        self.rest = free_port()
        self.grpc = free_port()
        self.server = None

    # ---- network ----
    def net_up(self):
        self.net_down()
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", NET + ".1/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        for n in HOSTS:
            ns, veth = "swpt-h%d" % n, "swpt-v%d" % n
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "master", BRIDGE)
            sh("ip", "link", "set", veth, "up")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", "%s.1%d/24" % (NET, n), "dev", "eth0")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def net_down(self):
        for n in HOSTS:
            sh("ip", "netns", "del", "swpt-h%d" % n, check_rc=False)
            sh("ip", "link", "del", "swpt-v%d" % n, check_rc=False)
        sh("ip", "link", "del", BRIDGE, check_rc=False)

    # ---- processes ----
    def start(self, name, args, env=None):
        log = open(os.path.join(self.tmp, name + ".log"), "ab")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.procs[name] = p
        return p

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)

    def start_server(self):
        env = dict(os.environ, SWPROF_REST_HOST="127.0.0.1", SWPROF_REST_PORT=str(self.rest),
                   SWPROF_GRPC_HOST=NET + ".1", SWPROF_GRPC_PORT=str(self.grpc),
                   SWPROF_DATA_DIR=os.path.join(self.tmp, "data"), SWPROF_PROFILING="false",
                   SWPROF_DISCOVERY_RULES="[]", SWPROF_FLUSH_INTERVAL="500ms",
                   SWPROF_AGENTS_KEEP_ALIVE_TIMEOUT="3s", SWPROF_DISCOVERY_EXPIRE_AFTER="4s")
        self.start("server", ["java", "-Dswprof.library.path=" + JNI, "-jar", JAR], env)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.rest, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the server did not start; see %s/server.log" % self.tmp)

    def start_host(self, n):
        """Host n: its namespaces, its busy program, its agent (the agent's log: hostN.log)."""
        busy = os.path.join(self.tmp, "busy")
        # the rule's regex must not match the agent's own command line (which holds the rule)
        script = ("hostname host-%d; %s %s 600 >/dev/null & exec %s agent --backend %s.1:%d --rule '%s=%s' %s"
                  "--heartbeat-ms 1000 --poll-ms 500 --flush-ms 500 --min-age-ms 0 --buffer-mb 8 --token-file %s"
                  % (n, busy, HOSTS[n], SWPROF, NET, self.grpc, rule(n), SERVICE, RULE_OPTIONS.get(n, ""),
                     self.token_file()))
        self.start("host%d" % n, ["ip", "netns", "exec", "swpt-h%d" % n, "unshare", "--pid", "--fork", "--mount-proc",
                                  "--uts", "sh", "-c", script])

    def token_file(self):
        """The token the server generated (its gRPC port listens beyond loopback, so agents need it)."""
        return os.path.join(self.tmp, "data", "auth-token")

    def busy_pid(self, n):
        """The host pid of host n's busy program (from the root namespace's /proc)."""
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/cmdline" % d, "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if cmd.startswith(os.path.join(self.tmp, "busy") + " %s 600" % HOSTS[n]):
                    return int(d)
        return None

    def agent_pid(self, n):
        """The host pid of host n's agent."""
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/cmdline" % d, "rb") as f:
                        cmd = f.read().split(b"\0")
                except OSError:
                    continue
                if len(cmd) > 2 and cmd[0].endswith(b"/swprof") and cmd[1] == b"agent" and \
                        (b"%s 600" % HOSTS[n].encode()) in b" ".join(cmd):
                    return int(d)
        return None

    # ---- the backend's API ----
    def gql(self, query, variables=None):
        return graphql("http://127.0.0.1:%d/graphql" % self.rest, query, variables, timeout=30)


def rule(n):
    return "(^|/)busy %s 600$" % HOSTS[n]


def processes(w):
    return w.gql("query ($s: ID) { listProcesses(serviceId: $s) { id name instanceName agentId labels "
                 "attributes { name value } } }", {"s": sid(SERVICE)})["listProcesses"]


def schedules(w, task):
    return w.gql("query ($t: ID!) { queryEBPFProfilingSchedules(taskId: $t) { scheduleId startTime endTime "
                 "process { id instanceName } } }", {"t": task})["queryEBPFProfilingSchedules"]


def tree_of(w, sched, start, end):
    a = w.gql("query ($s: [ID!]!, $r: [EBPFProfilingAnalyzeTimeRange!]!) { analysisEBPFProfilingResult("
              "scheduleIdList: $s, timeRanges: $r, aggregateType: COUNT) { tip trees { elements { id parentId "
              "symbol stackType dumpCount } } } }", {"s": [sched], "r": [{"start": start, "end": end}]})
    return a["analysisEBPFProfilingResult"]


def total(tree):
    return sum(int(e["dumpCount"]) for t in tree["trees"] for e in t["elements"] if e["parentId"] == "0")


def symbols(tree):
    return {(e["symbol"], e["stackType"]) for t in tree["trees"] for e in t["elements"]}


def run(w):
    # ---- every host's process, with its host's attributes ----
    def both_listed():
        ps = processes(w)
        return ps if len(ps) == len(HOSTS) else None
    ps = wait_for("both processes", 30, both_listed) or []
    check("each host's process is listed", len(ps) == len(HOSTS), "%d of %d" % (len(ps), len(HOSTS)))
    for n in HOSTS:
        p = next((x for x in ps if x["instanceName"] == "host-%d" % n), None)
        if not check("host-%d's process: its ids, its agent" % n, p is not None and
                     p["id"] == pid_of("busy", SERVICE, "host-%d" % n) and p["agentId"] == "swprof-agent@host-%d" % n,
                     json.dumps(p)):
            continue
        check("host-%d's process: the labels its rule gives" % n, p["labels"] == LABELS[n], json.dumps(p["labels"]))
        attrs = {a["name"]: a["value"] for a in p["attributes"]}
        check("host-%d's process: its host's ip, its pid in its own namespace, its command line" % n,
              attrs.get("host_ip") == "%s.1%d" % (NET, n) and attrs.get("pid", "").isdigit() and
              int(attrs["pid"]) < 100 and attrs.get("command_line", "").endswith("busy %s 600" % HOSTS[n]) and
              attrs.get("support_ebpf_profiling") == "true", json.dumps(attrs))

    # ---- one task on the service both hosts run: one schedule per host, each its own program ----
    t0 = int(time.time() * 1000)
    r = w.gql("mutation ($r: EBPFProfilingTaskFixedTimeCreationRequest!) { createEBPFProfilingFixedTimeTask("
              "request: $r) { status errorReason id } }", {"r": {"serviceId": sid(SERVICE), "processLabels": [],
              "startTime": t0, "duration": 600, "targetType": "ON_CPU"}})["createEBPFProfilingFixedTimeTask"]
    if not check("a task on the service is accepted (its processes' agents will run it)", r["status"], json.dumps(r)):
        return
    task = r["id"]
    cpu0 = {n: cpu_seconds(w.busy_pid(n)) for n in HOSTS}

    def two_schedules():
        s = schedules(w, task)
        return s if len(s) == len(HOSTS) and all(x["endTime"] > x["startTime"] + 2000 for x in s) else None
    ss = wait_for("two schedules", 30, two_schedules) or []
    check("one schedule per host", len(ss) == len(HOSTS), json.dumps(ss))
    by_host = {int(s["process"]["instanceName"].split("-")[1]): s for s in ss}
    for n, mode in HOSTS.items():
        s = by_host.get(n)
        if not s:
            continue
        tree = tree_of(w, s["scheduleId"], s["startTime"], s["endTime"])
        syms = symbols(tree)
        if mode == "spin":
            ok = ("hot_loop", "USER_SPACE") in syms and ("outer", "USER_SPACE") in syms
        else:
            ok = ("syscall_loop", "USER_SPACE") in syms and any(t == "KERNEL_SPACE" for _, t in syms) and \
                 ("hot_loop", "USER_SPACE") not in syms
        check("host-%d's tree is its own program (%s)" % (n, mode), ok, "%d samples" % total(tree))

    def samples_match(label, since_cpu, since_ms, tolerance=0.15, lag_s=1.5):
        """Each host's samples since since_ms against its program's CPU time since then: within tolerance, give or
        take lag_s of samples (samples are kept per second, flushed every 0.5 s, sent after their flush)."""
        for n in HOSTS:
            seen = {}

            def enough():
                cpu_a = cpu_seconds(w.busy_pid(n)) - since_cpu[n]
                s = next((x for x in schedules(w, task) if x["process"]["instanceName"] == "host-%d" % n), None)
                got = total(tree_of(w, s["scheduleId"], since_ms, int(time.time() * 1000) + 1000)) if s else 0
                cpu_b = cpu_seconds(w.busy_pid(n)) - since_cpu[n]
                seen.update(got=got, low=HZ * cpu_a * (1 - tolerance) - HZ * lag_s,
                            high=HZ * cpu_b * (1 + tolerance) + HZ * lag_s)
                return got if got >= seen["low"] else None
            got = wait_for("samples of host-%d" % n, 30, enough)
            check("%s: host-%d's samples match its program's CPU time" % (label, n), got is not None and
                  got <= seen["high"], "%s samples, %.0f..%.0f expected" % (seen.get("got"), seen.get("low", 0),
                                                                          seen.get("high", 0)))

    def mark():
        """A whole second (samples are kept per second), and the programs' CPU time then."""
        time.sleep(1 - time.time() % 1)
        return int(time.time()) * 1000, {n: cpu_seconds(w.busy_pid(n)) for n in HOSTS}

    # ---- the backend killed (kill -9) and restarted mid-task: the agents keep their samples ----
    time.sleep(2)
    mark_ms, mark_cpu = mark()
    w.kill("server")
    time.sleep(4)
    w.start_server()
    samples_match("backend restarted", mark_cpu, mark_ms)

    # ---- host 1's link cut for 5 s, then restored ----
    mark_ms, mark_cpu = mark()
    sh("ip", "netns", "exec", "swpt-h1", "ip", "link", "set", "eth0", "down")
    time.sleep(5)
    sh("ip", "netns", "exec", "swpt-h1", "ip", "link", "set", "eth0", "up")
    samples_match("link cut and restored", mark_cpu, mark_ms)

    # ---- an agent without the token: refused (the backend listens beyond loopback) ----
    a1 = w.agent_pid(1)
    agent = ["nsenter", "-t", str(a1), "-p", "-m", "-n", "-u", SWPROF, "agent", "--backend", "%s.1:%d" % (NET, w.grpc),
             "--rule", "%s=%s" % (rule(1), SERVICE), "--agent-id", "intruder", "--heartbeat-ms", "1000", "--poll-ms",
             "500", "--min-age-ms", "0"]
    w.start("tokenless", agent)
    time.sleep(3)
    log = open(os.path.join(w.tmp, "tokenless.log"), errors="replace").read()
    check("an agent without the token is refused (UNAUTHENTICATED), its process not taken",
          "UNAUTHENTICATED" in log and all(p["agentId"] != "intruder" for p in processes(w)), log[-300:])
    w.kill("tokenless")

    # ---- an agent on another host (host 2's namespaces) naming itself host-1 claims host-1's process: refused ----
    a2 = w.agent_pid(2)
    intruder = ["nsenter", "-t", str(a2), "-p", "-m", "-n", "-u", SWPROF, "agent", "--backend", "%s.1:%d" % (NET, w.grpc),
                "--rule", "%s=%s" % (rule(2), SERVICE), "--host-name", "host-1", "--agent-id", "intruder",
                "--heartbeat-ms", "1000", "--poll-ms", "500", "--min-age-ms", "0", "--token-file", w.token_file()]
    w.start("intruder", intruder)
    time.sleep(4)
    p1 = next((x for x in processes(w) if x["instanceName"] == "host-1"), {})
    log = open(os.path.join(w.tmp, "intruder.log"), errors="replace").read()
    said = "agent intruder reports process busy (%s) that agent swprof-agent@host-1 runs: left out" % SERVICE
    check("an agent on another host claiming a process of host-1 is refused",
          p1.get("agentId") == "swprof-agent@host-1" and "took" not in log and "from the backend" not in log and
          said in open(os.path.join(w.tmp, "server.log"), errors="replace").read(),
          "agentId %s; its log: %s" % (p1.get("agentId"), log[-300:]))
    w.kill("intruder")

    # ---- host 1's agent restarted under a new id (as Rover does): the same host and pid, it takes its process ----
    restarted = "swprof-agent@host-1-restarted"
    w.start("restarted", agent + ["--token-file", w.token_file(), "--agent-id", restarted])

    def owner(want):
        return lambda: want if next((x for x in processes(w) if x["instanceName"] == "host-1"), {}).get(
            "agentId") == want else None
    check("a restarted agent (a new id, the same host and pid) takes its process at once",
          wait_for("the restarted agent", 10, owner(restarted)) is not None)
    w.kill("restarted")
    check("and the agent still running it takes it back once the other's keep-alives stop",
          wait_for("the first agent", 20, owner("swprof-agent@host-1")) is not None)

    # ---- host 2's agent killed: its schedule stops, its process ages out ----
    os.kill(w.agent_pid(2), signal.SIGKILL)
    time.sleep(1.5)
    s2 = next((x for x in schedules(w, task) if x["process"]["instanceName"] == "host-2"), {})
    time.sleep(2)
    s2b = next((x for x in schedules(w, task) if x["process"]["instanceName"] == "host-2"), {})
    check("a killed agent's schedule stops", s2.get("endTime") == s2b.get("endTime"), "%s -> %s" % (
        s2.get("endTime"), s2b.get("endTime")))

    def gone():
        return all(p["instanceName"] != "host-2" for p in processes(w)) or None
    check("a killed agent's process leaves the listings (keep-alive timeout 3 s + expiry 4 s)",
          wait_for("host-2 gone", 20, gone) is not None)
    s1 = next((x for x in schedules(w, task) if x["process"]["instanceName"] == "host-1"), {})
    time.sleep(1.5)
    s1b = next((x for x in schedules(w, task) if x["process"]["instanceName"] == "host-1"), {})
    check("the other host goes on", s1b.get("endTime", 0) > s1.get("endTime", 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("-v", action="store_true", help="say what waits waited for")
    a = ap.parse_args()
    checks.verbose = a.v
    if os.geteuid() != 0:
        print("e2e/hosts.py needs root (namespaces, BPF)", file=sys.stderr)
        return 2
    for f in (SWPROF, JAR, JNI):
        if not os.path.exists(f):
            print("missing %s: scripts/setup.sh and the server jar first" % f, file=sys.stderr)
            return 2
    tmp = tempfile.mkdtemp(prefix="swprof-hosts-")
    subprocess.run(["cc", "-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline-functions", "-o",
                    os.path.join(tmp, "busy"), os.path.join(ROOT, "native", "tests", "targets", "busy.c")], check=True)
    w = World(tmp)
    t = time.time()
    try:
        w.net_up()
        w.start_server()
        for n in HOSTS:
            w.start_host(n)
        run(w)
    except Exception as e:  # a broken setup is a failure, with its reason
        check("the hosts ran", False, "%s: %s" % (type(e).__name__, e))
    finally:
        for name in list(w.procs):
            w.kill(name, signal.SIGTERM if name == "server" else signal.SIGKILL)
        w.net_down()
    print("hosts: %.1f s" % (time.time() - t))
    if checks.failed or a.keep:
        print("hosts: logs kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
