"""What e2e/hosts.py and e2e/oap.py share: the check line and its counts, SkyWalking's ids, waiting on a probe,
a program's CPU time, free ports, a GraphQL call."""
import base64
import hashlib
import json
import os
import socket
import time
import urllib.request

passed = failed = 0
verbose = False


def check(what, ok, detail=""):
    """One line per check: `ok` or `FAIL`, what, the detail; counted."""
    global passed, failed
    print("%s %s%s" % ("ok  " if ok else "FAIL", what, " (%s)" % detail if detail else ""), flush=True)
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


def summary():
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sid(name):
    """A service id: base64 of the name, then `.1` (a normal service)."""
    return base64.b64encode(name.encode()).decode() + ".1"


def iid(service, instance):
    return sid(service) + "_" + base64.b64encode(instance.encode()).decode()


def pid_of(process, service, instance):
    """A process id: SHA-256 of `<process>_<instance id>`, as OAP and swprof make it."""
    return hashlib.sha256(("%s_%s" % (process, iid(service, instance))).encode()).hexdigest()


def cpu_seconds(pid):
    """A program's own CPU time (user + system), what sample counts are compared with."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(what, seconds, probe, interval=0.3):
    """Calls probe until it answers something true (errors count as not yet); None after `seconds`."""
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        try:
            last = probe()
        except (RuntimeError, OSError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    if verbose:
        print("  (waited %ss for %s; last: %s)" % (seconds, what, last), flush=True)
    return None


def graphql(url, query, variables=None, timeout=60):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        reply = json.loads(r.read())
    if reply.get("errors"):
        raise RuntimeError("GraphQL errors: %s" % reply["errors"])
    return reply["data"]
