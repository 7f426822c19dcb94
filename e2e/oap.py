#!/usr/bin/env python3
"""A real SkyWalking OAP 10.1.0 with and without swprof's module, driven as its users drive it.

    e2e/oap.py [--keep] [-v]

As root (the module and the agent profile with eBPF). OAP is assembled from Maven Central (server-starter 10.1.0
and its dependencies, e2e/oap/pom.xml, into ~/.cache/swprof/oap-10.1.0/libs once) with the configuration of the
10.1.0 release (e2e/oap/skywalking-10.1.0-config.tar.gz: OAP does not publish its config/ to Maven Central), H2 in a
file, every port on loopback. Two OAP runs on one H2 database:

1. stock OAP (no module): `swprof agent` reports a busy program; the stock metadata queries list it; a task made
   with the UI's documents reaches the agent through OAP's own receiver, and the stock analysis draws the agent's
   samples as a tree with the hot function (swprof's agent speaks Rover's protocol to a plain OAP).
2. the same OAP with the module (java-shim/oap-module's jar in its libs, the yml section appended), started from
   another directory: the module logs through OAP's logging, its data directory is made under OAP's home; the
   task of run 1 is still listed and analysed by the stock service, and the agent's data for it still lands in
   OAP's storage; a busy program on this host found by the module's own rules is OAP metadata (listServices,
   listInstances, listProcesses, getProcess, estimateProcessScale); tasks made through OAP's /graphql with the UI's
   documents run on it (the module's profiler) and on the agent's program (the agent's commands now come from
   swprof), and both draw their trees from swprof's store; OAP's task texts; stock fields outside eBPF answer;
   it-tests' Rover-like client (RoverClientTest) passes against OAP's own ports.

Sample counts are compared with the programs' own CPU time. Prints one line per check and `N passed, M failed`;
exit status 0 only when nothing failed. OAP's logs are kept when something failed (or with --keep).
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

import checks
from checks import check, cpu_seconds, free_port, graphql, iid, pid_of, sid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWPROF = os.path.join(ROOT, "build", "swprof")
BUSY = os.path.join(ROOT, "build", "targets", "busy")
MODULE_JAR = os.path.join(ROOT, "java-shim", "oap-module", "target", "swprof-oap-module.jar")
OAP_DIR = os.path.join(ROOT, "e2e", "oap")
QUERIES = os.path.join(ROOT, "e2e", "cases", "queries")
VERSION = "10.1.0"
CACHE = os.path.join(os.environ.get("SWPROF_DEPS_CACHE", os.path.expanduser("~/.cache/swprof")), "oap-" + VERSION)
HZ = 99
AGENT_SVC, LOCAL_SVC = "oap-agent-svc", "oap-local-svc"
AGENT_ARGS, LOCAL_ARGS = "3611", "3612"  # busy spin SECONDS: what tells the two programs apart

def wait_for(what, seconds, probe, interval=1.0):
    """checks.wait_for, asking OAP once a second."""
    return checks.wait_for(what, seconds, probe, interval)


def query(name, sub="current"):
    with open(os.path.join(QUERIES, sub, name)) as f:
        return f.read()


def minute(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H%M")


def last_minutes(n=30):
    now = int(time.time() * 1000)
    return {"start": minute(now - n * 60000), "end": minute(now + 60000), "step": "MINUTE"}


# ---- OAP ------------------------------------------------------------------------------------------

def assemble():
    """OAP's jars from Maven Central into the cache, once (about 130 MB; later runs copy nothing)."""
    libs = os.path.join(CACHE, "libs")
    if os.path.exists(os.path.join(libs, "server-starter-%s.jar" % VERSION)):
        return libs
    os.makedirs(CACHE, exist_ok=True)
    shutil.copy(os.path.join(OAP_DIR, "pom.xml"), os.path.join(CACHE, "pom.xml"))
    print("oap: downloading OAP %s from Maven Central into %s (once)" % (VERSION, CACHE), flush=True)
    tmp = libs + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["mvn", "-B", "-q", "dependency:copy-dependencies", "-DoutputDirectory=" + tmp,
                    "-DincludeScope=runtime"], cwd=CACHE, check=True)
    os.rename(tmp, libs)
    return libs


class Oap:
    """One OAP run: its home (config/, libs/ with the module when asked, logs/), on loopback ports."""

    def __init__(self, tmp, name, libs, h2, module):
        self.home = os.path.join(tmp, name)
        self.libs = libs
        self.module = module
        self.rest, self.grpc = free_port(), free_port()
        self.url = "http://127.0.0.1:%d/graphql" % self.rest
        self.log_path = os.path.join(self.home, "logs", "skywalking-oap-server.log")
        os.makedirs(os.path.join(self.home, "logs"))
        os.makedirs(os.path.join(self.home, "tmp"))
        cfg = os.path.join(self.home, "config")
        with tarfile.open(os.path.join(OAP_DIR, "skywalking-%s-config.tar.gz" % VERSION)) as t:
            t.extractall(cfg)
        with zipfile.ZipFile(os.path.join(libs, "server-starter-%s.jar" % VERSION)) as z:
            with open(os.path.join(cfg, "hierarchy-definition.yml"), "wb") as f:
                f.write(z.read("hierarchy-definition.yml"))
        with open(os.path.join(cfg, "log4j2.xml"), "w") as f:
            f.write(LOG4J2 % self.log_path)
        self.extra = os.path.join(self.home, "oap-libs")
        os.makedirs(self.extra)
        if module:
            shutil.copy(MODULE_JAR, self.extra)
            with open(os.path.join(cfg, "application.yml"), "a") as f:
                f.write(MODULE_YML)
            with open(os.path.join(self.home, "swprof.yml"), "w") as f:
                f.write(MODULE_RULES)
        self.env = dict(os.environ, SW_CLUSTER="standalone", SW_STORAGE="h2",
                        SW_STORAGE_H2_URL="jdbc:h2:file:%s;DB_CLOSE_DELAY=-1;DATABASE_TO_UPPER=FALSE" % h2,
                        SW_CORE_REST_HOST="127.0.0.1", SW_CORE_REST_PORT=str(self.rest),
                        SW_CORE_GRPC_HOST="127.0.0.1", SW_CORE_GRPC_PORT=str(self.grpc),
                        SW_RECEIVER_SHARING_REST_HOST="127.0.0.1", SW_RECEIVER_SHARING_REST_PORT="0",
                        SW_RECEIVER_GRPC_HOST="127.0.0.1", SW_RECEIVER_GRPC_PORT="0",
                        SW_ALS_GRPC_HOST="127.0.0.1", SW_ALS_GRPC_PORT="0",
                        SW_EBPF_GRPC_HOST="127.0.0.1", SW_EBPF_GRPC_PORT="0",
                        SW_PROMQL="-", SW_LOGQL="-", SW_RECEIVER_AWS_FIREHOSE="-", SW_RECEIVER_ZIPKIN="-",
                        SW_QUERY_ZIPKIN="-", SW_RECEIVER_ZABBIX="-", SW_KAFKA_FETCHER="-", SW_CILIUM_FETCHER="-",
                        SW_EXPORTER="-", SW_HEALTH_CHECKER="-", SW_TELEMETRY="none", SW_CONFIGURATION="none",
                        SW_SWPROF_CONFIG=os.path.join(self.home, "swprof.yml"))
        self.p = None

    def start(self, cwd):
        cp = ":".join([os.path.join(self.home, "config"), os.path.join(self.extra, "*"),
                       os.path.join(self.libs, "*")])
        console = open(os.path.join(self.home, "logs", "console.log"), "ab")
        self.p = subprocess.Popen(["java", "-Xms256M", "-Xmx1024M", "-Djava.io.tmpdir=" + os.path.join(self.home, "tmp"),
                                   "-classpath", cp, "org.apache.skywalking.oap.server.starter.OAPServerStartUp"],
                                  cwd=cwd, env=self.env, stdout=console, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        t0 = time.time()
        deadline = t0 + 400
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("OAP exited (%s) while starting; see %s" % (self.p.returncode, self.log_path))
            if "The key booting parameters of Apache SkyWalking OAP are listed" in self.read_log():
                try:
                    if "version" in (self.gql("{ version }") or {}):
                        return time.time() - t0
                except (RuntimeError, OSError):
                    pass
            time.sleep(1)
        raise RuntimeError("OAP did not start in 400 s; see %s" % self.log_path)

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.p and self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(10)

    def gql(self, doc, variables=None):
        return graphql(self.url, doc, variables)


LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <File name="File" fileName="%s" append="true">
      <PatternLayout pattern="%%d{ISO8601} %%-5p [%%t] %%c - %%m%%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="File"/></Root>
  </Loggers>
</Configuration>
"""

# the section java-shim/README.md tells users to add
MODULE_YML = """
swprof-ebpf:
  selector: ${SW_SWPROF_EBPF:default}
  default:
    dataDir: ${SW_SWPROF_DATA_DIR:data/swprof}
    configFile: ${SW_SWPROF_CONFIG:}
    profiling: ${SW_SWPROF_PROFILING:true}
"""

MODULE_RULES = """discovery:
  scanInterval: 1s
  minAge: 0s
  rules:
    - cmdRegex: '(^|/)busy spin %s$'
      service: %s
      labels: [busy, local]
profiling:
  flushInterval: 1s
""" % (LOCAL_ARGS, LOCAL_SVC)


# ---- the checks -----------------------------------------------------------------------------------

def services(oap):
    return oap.gql(query("list-services.graphql"), {"layer": "OS_LINUX"})["services"]


def instances(oap, service):
    return oap.gql("query ($s: ID!, $d: Duration!) { listInstances(serviceId: $s, duration: $d) { id name } }",
                   {"s": sid(service), "d": last_minutes()})["listInstances"]


def processes(oap, service, instance):
    return oap.gql(query("list-processes.graphql"), {"instanceId": iid(service, instance),
                                                      "duration": last_minutes()})["processes"]


def create_task(oap, service, labels=()):
    return oap.gql(query("create-task.graphql"), {"request": {
        "serviceId": sid(service), "processLabels": list(labels), "startTime": int(time.time() * 1000),
        "duration": 600, "targetType": "ON_CPU"}})["createTaskData"]


def tasks(oap, service):
    return oap.gql(query("list-tasks.graphql"), {"serviceId": sid(service), "targets": ["ON_CPU", "OFF_CPU"],
                                                 "triggerType": "FIXED_TIME"})["queryEBPFTasks"]


def schedules(oap, task):
    return oap.gql(query("list-schedules.graphql"), {"taskId": task})["eBPFSchedules"]


def analysis(oap, scheds, start, end):
    return oap.gql(query("analysis.graphql"), {"scheduleIdList": scheds, "timeRanges": [{"start": start, "end": end}],
                                               "aggregateType": "COUNT"})["analysisEBPFResult"]


def hot(tree):
    """The hot_loop element of a tree: its dumpCount, and whether outer and main are its callers."""
    best = None
    for t in tree.get("trees") or []:
        els = {e["id"]: e for e in t["elements"]}
        for e in t["elements"]:
            if e["symbol"] == "hot_loop":
                up = els.get(e["parentId"], {})
                top = els.get(up.get("parentId"), {})
                ok = up.get("symbol") == "outer" and top.get("symbol") == "main"
                if best is None or int(e["dumpCount"]) > best[0]:
                    best = (int(e["dumpCount"]), ok)
    return best or (0, False)


def tree_of_task(oap, task, want_samples=1, seconds=90):
    """Waits until the task's schedules give a tree whose hot_loop has want_samples; returns (samples, callers ok)."""
    def probe():
        ss = schedules(oap, task)
        if not ss:
            return None
        start = min(s["startTime"] for s in ss)
        end = max(s["endTime"] for s in ss) + 1000
        n, ok = hot(analysis(oap, [s["scheduleId"] for s in ss], start, end))
        return (n, ok) if n >= want_samples else None
    return wait_for("a tree of task %s" % task, seconds, probe, 2) or (0, False)


def stock_run(oap, agent_busy):
    """Run 1: a plain OAP and the swprof agent."""
    ss = wait_for("the agent's service in listServices", 120, lambda: [s for s in services(oap)
                                                                       if s["label"] == AGENT_SVC])
    check("stock OAP: listServices(OS_LINUX) lists the agent's service", bool(ss), json.dumps(ss))
    inst = wait_for("its instance", 60, lambda: instances(oap, AGENT_SVC))
    check("stock OAP: listInstances lists the agent's host", bool(inst) and inst[0]["name"] == socket.gethostname(),
          json.dumps(inst))
    ps = wait_for("its process", 60, lambda: processes(oap, AGENT_SVC, socket.gethostname()))
    p = (ps or [{}])[0]
    attrs = {a["name"]: a["value"] for a in p.get("attributes", [])}
    check("stock OAP: listProcesses: the agent's process with Rover's attributes and its agent id",
          p.get("id") == pid_of("busy", AGENT_SVC, socket.gethostname()) and p.get("agentId") == "oap-test-agent" and
          attrs.get("pid") == str(agent_busy.pid) and attrs.get("support_ebpf_profiling") == "true" and
          "host_ip" in attrs and p.get("detectType") == "VM", json.dumps(p))
    prep = oap.gql(query("prepare-task.graphql"), {"serviceId": sid(AGENT_SVC)})["createTaskData"]
    check("stock OAP: the agent's service can be profiled", prep["couldProfiling"] is True, json.dumps(prep))
    r = create_task(oap, AGENT_SVC)
    check("stock OAP: a task from the UI's document is accepted", r["status"] is True, json.dumps(r))
    task = r["id"]
    cpu0 = cpu_seconds(agent_busy.pid)
    n, ok = tree_of_task(oap, task, want_samples=200, seconds=120)
    cpu = cpu_seconds(agent_busy.pid) - cpu0
    check("stock OAP: its command reached the agent and the stock analysis draws main > outer > hot_loop",
          n > 0 and ok, "%d samples of hot_loop, the program used %.1f s of CPU since the task" % (n, cpu))
    return task


def module_run(oap, stock_task, agent_busy, local_busy, started_at):
    """Run 2: the same OAP (same H2 database) with the module."""
    text = oap.read_log()
    check("module: it logs through OAP's logging (log4j2's file)",
          "eBPF profiling served by swprof" in text and "org.swprof.core - store " in text,
          "; ".join(l[24:180] for l in text.splitlines() if "swprof" in l)[:600])
    data = os.path.join(oap.home, "data", "swprof")
    check("module: its data directory is made under OAP's home (OAP started elsewhere)",
          os.path.isdir(data) and os.listdir(data), data)

    # ---- what OAP had before: listed, analysed by the stock service, still fed by the agent ----
    ts = tasks(oap, AGENT_SVC)
    mine = [t for t in ts if t["taskId"] == stock_task]
    check("module: the stock task made before the module is still listed", len(mine) == 1,
          json.dumps([t["taskId"] for t in ts]))
    before = schedules(oap, stock_task)
    end0 = max([s["endTime"] for s in before] or [0])
    n, ok = hot(analysis(oap, [s["scheduleId"] for s in before], min([s["startTime"] for s in before] or [0]),
                         end0 + 1000)) if before else (0, False)
    check("module: the stock task's schedule is analysed by the stock service", n > 0 and ok, "%d samples" % n)
    grown = wait_for("the stock schedule to grow", 90, lambda: max(
        [s["endTime"] for s in schedules(oap, stock_task)] or [0]) > max(end0, started_at * 1000))
    check("module: the agent's data for the stock task still goes to OAP's storage", bool(grown))

    # ---- the module's own processes are OAP metadata ----
    ss = wait_for("the local service in listServices", 90, lambda: [s for s in services(oap)
                                                                    if s["label"] == LOCAL_SVC])
    check("module: listServices(OS_LINUX) lists the process the module found on this host", bool(ss), json.dumps(ss))
    host = socket.gethostname()
    ps = wait_for("its process", 60, lambda: processes(oap, LOCAL_SVC, host))
    p = (ps or [{}])[0]
    attrs = {a["name"]: a["value"] for a in p.get("attributes", [])}
    check("module: listProcesses: the local process with its labels and attributes",
          p.get("id") == pid_of("busy", LOCAL_SVC, host) and p.get("labels") == ["busy", "local"] and
          attrs.get("pid") == str(local_busy.pid) and attrs.get("support_ebpf_profiling") == "true",
          json.dumps(p))
    g = oap.gql("query ($p: ID!) { getProcess(processId: $p) { id name serviceName instanceName labels } }",
                {"p": pid_of("busy", LOCAL_SVC, host)})["getProcess"]
    check("module: getProcess", g and g["serviceName"] == LOCAL_SVC and g["instanceName"] == host, json.dumps(g))
    scale = oap.gql("query ($s: ID!, $l: [String!]!) { estimateProcessScale(serviceId: $s, labels: $l) }",
                    {"s": sid(LOCAL_SVC), "l": ["busy"]})["estimateProcessScale"]
    check("module: estimateProcessScale counts it", scale == 1, str(scale))

    # ---- OAP's texts ----
    bad = oap.gql(query("create-task.graphql"), {"request": {"serviceId": "", "processLabels": [],
                  "startTime": int(time.time() * 1000), "duration": 600, "targetType": "ON_CPU"}})["createTaskData"]
    check("module: OAP's text for an empty service", bad["errorReason"] == "service could not be empty",
          json.dumps(bad))
    bad = create_task(oap, LOCAL_SVC, labels=["nope"])
    check("module: a label no process has is refused with OAP's text",
          bad["status"] is False and "doesn't have processes with label(s)" in (bad["errorReason"] or ""),
          json.dumps(bad))

    # ---- tasks through OAP's /graphql: the local process (the module's profiler), the agent's (its commands) ----
    prep = oap.gql(query("prepare-task.graphql"), {"serviceId": sid(LOCAL_SVC)})["createTaskData"]
    check("module: the UI's task form gets the local service's labels", prep["couldProfiling"] is True and
          set(prep["processLabels"]) == {"busy", "local"}, json.dumps(prep))
    r = create_task(oap, LOCAL_SVC, labels=["busy"])
    check("module: a task on the local service is accepted", r["status"] is True, json.dumps(r))
    again = create_task(oap, LOCAL_SVC, labels=["busy"])
    check("module: an overlapping task is refused with OAP's text",
          again["errorReason"] == "Task's time range overlaps with other tasks", json.dumps(again))
    cpu0 = cpu_seconds(local_busy.pid)
    t0 = time.time()
    n, ok = tree_of_task(oap, r["id"], want_samples=300, seconds=90)
    cpu = cpu_seconds(local_busy.pid) - cpu0
    check("module: the local task's tree has main > outer > hot_loop, about the program's CPU time x 99 Hz",
          ok and 0.5 * cpu * HZ <= n <= 1.3 * (cpu + 2) * HZ,
          "%d samples of hot_loop, %.1f s of CPU in %.0f s" % (n, cpu, time.time() - t0))
    listed = [t for t in tasks(oap, LOCAL_SVC) if t["taskId"] == r["id"]]
    check("module: the task is listed with its labels", len(listed) == 1 and listed[0]["processLabels"] == ["busy"],
          json.dumps(listed))

    r = create_task(oap, AGENT_SVC)
    # the stock task of run 1 still covers the agent's service: swprof's tasks only overlap its own
    check("module: a task on the agent's service is accepted", r["status"] is True, json.dumps(r))
    n, ok = tree_of_task(oap, r["id"], want_samples=100, seconds=120)
    check("module: it reached the agent (swprof's commands beside OAP's) and its tree comes from swprof's store",
          n > 0 and ok, "%d samples of hot_loop" % n)

    # ---- the rest of OAP answers ----
    layers = oap.gql(query("list-layers.graphql", "booster-ui-10.4.0"))
    check("module: stock fields outside eBPF answer (listLayers)", "OS_LINUX" in json.dumps(layers), "")
    templates = oap.gql(query("templates.graphql", "booster-ui-10.4.0"))
    check("module: stock fields outside eBPF answer (getAllTemplates)", len(json.dumps(templates)) > 1000, "")
    t = oap.gql("{ getTimeInfo { timezone currentTimestamp } }")["getTimeInfo"]
    check("module: stock fields outside eBPF answer (getTimeInfo)", t["currentTimestamp"] > 0, json.dumps(t))

    # ---- a client written from the protocol, behaving as Rover does (it-tests' RoverClientTest), against OAP ----
    r = subprocess.run(["mvn", "-B", "-q", "-f", os.path.join(ROOT, "java-shim", "pom.xml"), "-T1", "-pl",
                        "shim,../it-tests", "test", "-Dtest=RoverClientTest", "-Dsurefire.failIfNoSpecifiedTests=false",
                        "-Dswprof.it.backend=%s,%d" % (oap.url, oap.grpc)], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    report = os.path.join(ROOT, "it-tests", "target", "surefire-reports", "org.swprof.it.RoverClientTest.txt")
    summary = ""
    if os.path.exists(report):
        with open(report) as f:
            summary = " ".join(l.strip() for l in f if "Tests run" in l)
    check("module: a Rover-like client (RoverClientTest: report, keep-alive, task poll, data stream, bad messages) "
          "against OAP's gRPC port and /graphql", r.returncode == 0 and "Failures: 0, Errors: 0" in summary,
          summary or r.stdout[-1500:])

    # ---- routine events stay out of OAP's INFO log ----
    lines = [l for l in oap.read_log().splitlines() if " INFO " in l and "org.swprof" in l]
    check("module: a few INFO lines of its own, no line per process", len(lines) < 30, "%d INFO lines" % len(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep OAP's homes and logs")
    ap.add_argument("-v", action="store_true", help="say what is waited for")
    args = ap.parse_args()
    checks.verbose = args.v
    if os.geteuid() != 0:
        print("oap: needs root (eBPF)", file=sys.stderr)
        return 2
    for f in (SWPROF, BUSY, MODULE_JAR):
        if not os.path.exists(f):
            print("oap: %s is missing (scripts/test.sh builds it)" % f, file=sys.stderr)
            return 2
    t_start = time.time()
    libs = assemble()
    tmp = tempfile.mkdtemp(prefix="swprof-oap-")
    h2 = os.path.join(tmp, "h2", "skywalking")
    children = []
    oap = None
    try:
        agent_busy = subprocess.Popen([BUSY, "spin", AGENT_ARGS], stdout=subprocess.DEVNULL)
        local_busy = subprocess.Popen([BUSY, "spin", LOCAL_ARGS], stdout=subprocess.DEVNULL)
        children += [agent_busy, local_busy]

        oap = Oap(tmp, "stock", libs, h2, module=False)
        secs = oap.start(cwd=tmp)
        print("oap: stock OAP %s ready in %.0f s" % (VERSION, secs), flush=True)
        agent_log = open(os.path.join(tmp, "agent.log"), "ab")
        # the rule must not match the agent's own command line, which holds it
        agent = subprocess.Popen([SWPROF, "agent", "--backend", "127.0.0.1:%d" % oap.grpc, "--rule",
                                  "^[^ ]*busy spin %s$=%s" % (AGENT_ARGS, AGENT_SVC), "--agent-id", "oap-test-agent",
                                  "--heartbeat-ms", "3000", "--poll-ms", "1000", "--min-age-ms", "0"],
                                 stdout=agent_log, stderr=subprocess.STDOUT)
        children.append(agent)
        stock_task = stock_run(oap, agent_busy)
        oap.stop()

        grpc = oap.grpc
        oap = Oap(tmp, "with-module", libs, h2, module=True)
        oap.grpc = grpc  # the agent's backend address stays; it reconnects when OAP is back
        oap.env["SW_CORE_GRPC_PORT"] = str(grpc)
        elsewhere = os.path.join(tmp, "elsewhere")
        os.makedirs(elsewhere)
        started_at = time.time()
        secs = oap.start(cwd=elsewhere)
        print("oap: OAP %s with swprof's module ready in %.0f s" % (VERSION, secs), flush=True)
        module_run(oap, stock_task, agent_busy, local_busy, started_at)
    except Exception as e:  # a broken run is a failure, with its reason
        check("the OAP run went through", False, "%s: %s" % (type(e).__name__, e))
    finally:
        for c in children:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)
                try:
                    c.wait(10)
                except subprocess.TimeoutExpired:
                    c.kill()
        if oap:
            oap.stop()
        if checks.failed or args.keep:
            print("oap: homes, logs and the agent's log kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("oap: %.0f s" % (time.time() - t_start))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
