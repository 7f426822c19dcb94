#!/usr/bin/env python3
"""swprof end-to-end runner: drives the cases of e2e/cases/ against a real server over HTTP.

    e2e/run.py                        local (CI): build what is missing, start a server on a free
                                      loopback port with a temporary data dir, start the workloads,
                                      run every case, stop everything it started
    e2e/run.py --server URL --no-start
                                      remote (docker-compose): the server and the long-running
                                      workloads are already up; the runner starts only the
                                      workloads a case must control (kill, mount namespace)
    e2e/run.py --serve-workloads      start the long-running workloads and wait (the compose
                                      workload container)
    e2e/run.py --list                 print the cases and their steps

The cases are data (JSON, see e2e/README.md for the format): this file only knows how to send a
request, how to compare a reply with an expectation, and how to start and stop processes.
Python 3 standard library only. Profiling needs root and BPF; the runner always requires them.
The last line printed is `N passed, M failed`; the exit status is 0 only when M is 0.
"""

import argparse
import ast
import ctypes
import datetime
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

E2E = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(E2E)
CASES = os.path.join(E2E, "cases")
QUERIES = os.path.join(CASES, "queries")
CONFIG = os.path.join(E2E, "swprof-e2e.yml")
JAR = os.path.join(REPO, "java-shim", "shim", "target", "swprof-server.jar")
JNI_LIB = os.path.join(REPO, "build", "libswprof_jni.so")
CLI = os.path.join(REPO, "build", "swprof")

BPF_FAILURE = "the eBPF profiler cannot start"


# --------------------------------------------------------------------------------------------
# Output


def say(msg=""):
    print(msg, flush=True)


def indent(text, prefix="      "):
    return "\n".join(prefix + line for line in text.splitlines())


def short(value, limit=300):
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def pretty(value, max_lines=80):
    lines = json.dumps(value, indent=2, ensure_ascii=False).splitlines()
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["... (%d more lines)" % (len(lines) - max_lines)]
    return "\n".join(lines)


def render_trees(trees, max_lines=60):
    """An analysis's trees as an indented text flame tree: `symbol [K] count`."""
    out = []
    for t, tree in enumerate(trees if isinstance(trees, list) else []):
        els = (tree or {}).get("elements") or []
        children, by_id = {}, {}
        for e in els:
            by_id[e.get("id")] = e
            children.setdefault(e.get("parentId"), []).append(e)
        out.append("tree %d (%d elements):" % (t + 1, len(els)))

        def walk(node, depth):
            kind = " [k]" if node.get("stackType") == "KERNEL_SPACE" else ""
            out.append("  " * (depth + 1) + "%s%s %s" % (node.get("symbol"), kind, node.get("dumpCount")))
            for c in children.get(node.get("id"), []):
                walk(c, depth + 1)

        for root in children.get("0", []):
            walk(root, 0)
    if len(out) > max_lines:
        out = out[:max_lines] + ["... (%d more lines)" % (len(out) - max_lines)]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Templates: "${expr}" in requests and expectations. A string that is exactly one "${expr}" takes
# the expression's value and type; otherwise each "${expr}" is replaced by its text.


class CaseError(Exception):
    """A step failed: lines that explain why."""

    def __init__(self, lines):
        super().__init__("\n".join(lines))
        self.lines = lines


def _local(ms, fmt):
    return datetime.datetime.fromtimestamp(ms / 1000.0).strftime(fmt)


FUNCTIONS = {
    # Duration strings in the server's (= the runner's) local time zone, by step (docs/protocol.md §1)
    "second": lambda ms: _local(ms, "%Y-%m-%d %H%M%S"),
    "minute": lambda ms: _local(ms, "%Y-%m-%d %H%M"),
    "hour": lambda ms: _local(ms, "%Y-%m-%d %H"),
    "day": lambda ms: _local(ms, "%Y-%m-%d"),
    "str": str,
    "int": int,
    "max": max,
    "min": min,
}

TEMPLATE = re.compile(r"\$\{([^}]*)\}")


def now_ms():
    return int(time.time() * 1000)


def evaluate(expr, variables):
    """A small, safe expression: names, numbers, strings, + - * //, and FUNCTIONS."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as e:
        raise CaseError(["bad expression ${%s}: %s" % (expr, e)])

    def ev(n):
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float, str)):
            return n.value
        if isinstance(n, ast.Name):
            if n.id == "now":
                return now_ms()
            if n.id not in variables:
                raise CaseError(["${%s}: no variable %r (known: %s)" % (expr, n.id, ", ".join(sorted(variables)))])
            return variables[n.id]
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return -ev(n.operand)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
            a, b = ev(n.left), ev(n.right)
            if isinstance(n.op, ast.Add):
                return a + b
            if isinstance(n.op, ast.Sub):
                return a - b
            if isinstance(n.op, ast.Mult):
                return a * b
            return a // b
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in FUNCTIONS and not n.keywords:
            return FUNCTIONS[n.func.id](*[ev(a) for a in n.args])
        raise CaseError(["${%s}: unsupported expression (%s)" % (expr, type(n).__name__)])

    return ev(tree)


def render(value, variables):
    if isinstance(value, str):
        m = TEMPLATE.fullmatch(value)
        if m:
            return evaluate(m.group(1), variables)
        if "${" in value:
            return TEMPLATE.sub(lambda m: str(evaluate(m.group(1), variables)), value)
        return value
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------------------------
# Matching a reply against a pattern (the format is described in e2e/README.md).


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def same(a, b):
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def is_operator(p):
    return isinstance(p, dict) and p and all(k.startswith("$") for k in p)


def number(v, what, variables):
    v = render(v, variables)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CaseError(["%s: %r is not a number" % (what, v)])
    return v


class Matcher:
    def __init__(self, variables):
        self.vars = variables
        self.errors = []
        self.saves = {}

    def fail(self, path, msg):
        self.errors.append("%s: %s" % (path or "(reply)", msg))

    def sub(self, pattern, actual, path):
        """Matches in a scratch matcher: (ok, matcher)."""
        m = Matcher(self.scope())
        m.match(pattern, actual, path)
        return not m.errors, m

    def scope(self):
        """The variables, with what this match saved so far (a later key may use an earlier $save)."""
        return dict(self.vars, **self.saves) if self.saves else self.vars

    def match(self, pattern, actual, path=""):
        if is_operator(pattern):
            for op, arg in pattern.items():
                self.operator(op, arg, actual, path)
            return
        if isinstance(pattern, dict):
            if not isinstance(actual, dict):
                self.fail(path, "expected an object, got %s" % short(actual))
                return
            for k in pattern:
                if k not in actual:
                    self.fail(path, "missing key %r (got keys %s)" % (k, sorted(actual)))
            for k in actual:
                if k not in pattern:
                    self.fail(path, "unexpected key %r = %s" % (k, short(actual[k])))
            for k, p in pattern.items():
                if k in actual:
                    self.match(p, actual[k], "%s.%s" % (path, k) if path else k)
            return
        if isinstance(pattern, list):
            if not isinstance(actual, list):
                self.fail(path, "expected an array of %d, got %s" % (len(pattern), short(actual)))
                return
            if len(actual) != len(pattern):
                self.fail(path, "expected %d elements, got %d: %s" % (len(pattern), len(actual), short(actual)))
            for i, (p, a) in enumerate(zip(pattern, actual)):
                self.match(p, a, "%s[%d]" % (path, i))
            return
        want = render(pattern, self.scope())
        if not same(want, actual):
            shown = "" if want == pattern else " (%s)" % pattern
            self.fail(path, "expected %s%s, got %s" % (short(want), shown, short(actual)))

    def operator(self, op, arg, actual, path):
        v = self.scope()
        if op == "$any":
            return
        if op == "$save":
            self.saves[arg] = actual
        elif op == "$type":
            names = arg if isinstance(arg, list) else [arg]
            t = type_name(actual)
            if t not in names and not (t == "integer" and "number" in names):
                self.fail(path, "expected type %s, got %s %s" % ("|".join(names), t, short(actual)))
        elif op in ("$eq", "$ne"):
            want = render(arg, v)
            if same(want, actual) != (op == "$eq"):
                self.fail(path, "expected %s%s, got %s" % ("" if op == "$eq" else "not ", short(want), short(actual)))
        elif op == "$not":
            ok, _ = self.sub(arg, actual, path)
            if ok:
                self.fail(path, "expected not to match %s, got %s" % (short(arg), short(actual)))
        elif op == "$oneOf":
            if not any(self.sub(p, actual, path)[0] for p in arg):
                self.fail(path, "expected one of %s, got %s" % (short(arg), short(actual)))
        elif op in ("$contains", "$startsWith", "$regex"):
            want = render(arg, v)
            if not isinstance(actual, str):
                self.fail(path, "expected a string (%s %s), got %s" % (op, short(want), short(actual)))
            elif op == "$contains" and want not in actual:
                self.fail(path, "expected to contain %s, got %s" % (short(want), short(actual)))
            elif op == "$startsWith" and not actual.startswith(want):
                self.fail(path, "expected to start with %s, got %s" % (short(want), short(actual)))
            elif op == "$regex" and not re.search(want, actual):
                self.fail(path, "expected to match /%s/, got %s" % (want, short(actual)))
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            want = number(arg, "%s %s" % (path, op), v)
            if isinstance(actual, bool) or not isinstance(actual, (int, float)):
                self.fail(path, "expected a number %s %s, got %s" % (op, want, short(actual)))
                return
            ok = {"$gt": actual > want, "$gte": actual >= want, "$lt": actual < want, "$lte": actual <= want}[op]
            if not ok:
                sym = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
                shown = "" if arg == want else " (%s)" % arg
                self.fail(path, "expected %s %s%s, got %s" % (sym, want, shown, actual))
        elif op == "$len":
            if not isinstance(actual, (list, str, dict)):
                self.fail(path, "expected something with a length, got %s" % short(actual))
            else:
                ok, m = self.sub(arg if isinstance(arg, dict) else {"$eq": arg}, len(actual), path + ".length")
                if not ok:
                    self.fail(path, "length: %s; value %s" % ("; ".join(m.errors), short(actual)))
        elif op == "$has":
            if not isinstance(actual, dict):
                self.fail(path, "expected an object, got %s" % short(actual))
                return
            for k, p in arg.items():
                if k not in actual:
                    self.fail(path, "missing key %r (got keys %s)" % (k, sorted(actual)))
                else:
                    self.match(p, actual[k], "%s.%s" % (path, k) if path else k)
        elif op in ("$some", "$every", "$none"):
            if not isinstance(actual, list):
                self.fail(path, "expected an array, got %s" % short(actual))
                return
            results = [self.sub(arg, a, "%s[%d]" % (path, i)) for i, a in enumerate(actual)]
            if op == "$some":
                hit = next((m for ok, m in results if ok), None)
                if hit is None:
                    why = ""
                    if len(results) == 1:
                        why = " (%s)" % "; ".join(results[0][1].errors)
                    self.fail(path, "no element matches %s%s; got %s" % (short(arg), why, short(actual, 600)))
                else:
                    self.saves.update(hit.saves)
            elif op == "$every":
                for ok, m in results:
                    self.errors.extend(m.errors)
                    self.saves.update(m.saves)
            else:
                for i, (ok, _) in enumerate(results):
                    if ok:
                        self.fail("%s[%d]" % (path, i), "expected no element to match %s, got %s"
                                  % (short(arg), short(actual[i])))
        elif op == "$first":
            if not isinstance(actual, list) or not actual:
                self.fail(path, "expected a non-empty array, got %s" % short(actual))
            else:
                self.match(arg, actual[0], path + "[0]")
        elif op == "$unordered":
            if not isinstance(actual, list) or len(actual) != len(arg):
                self.fail(path, "expected %d elements in any order, got %s" % (len(arg), short(actual)))
                return
            left = list(range(len(actual)))
            for p in arg:
                hit = next((i for i in left if self.sub(p, actual[i], path)[0]), None)
                if hit is None:
                    self.fail(path, "no element matches %s (in any order); got %s" % (short(p), short(actual)))
                    return
                left.remove(hit)
        elif op == "$trees":
            self.trees(arg, actual, path)
        else:
            raise CaseError(["unknown matcher %s at %s" % (op, path)])

    # ---- analysis trees

    def trees(self, spec, trees, path):
        if not isinstance(trees, list):
            self.fail(path, "expected the trees array, got %s" % short(trees))
            return
        if spec.get("wellFormed", True):
            self.well_formed(trees, path)
        nodes = []  # (tree index, element, parent element or None)
        by_tree = []  # per tree: id -> element
        for t, tree in enumerate(trees):
            els = (tree or {}).get("elements") or []
            by_tree.append({e.get("id"): e for e in els})
            for e in els:
                nodes.append((t, e, by_tree[t].get(e.get("parentId"))))
        total = sum(e.get("dumpCount", 0) for _, e, parent in nodes if parent is None)
        if "minTotal" in spec:
            want = number(spec["minTotal"], path + " minTotal", self.scope())
            if total < want:
                self.fail(path, "expected at least %s samples in all, got %d" % (want, total))
        if "total" in spec:
            ok, m = self.sub(spec["total"], total, path + " total")
            if not ok:
                self.fail(path, "samples in all: " + "; ".join(m.errors))
        if "save" in spec:
            self.saves[spec["save"]] = total
        for c in spec.get("contains", []):
            chain = c["path"]
            counts = []
            for t, e, parent in nodes:
                if e.get("symbol") != chain[-1] or ("stackType" in c and e.get("stackType") != c["stackType"]):
                    continue
                node, ok = parent, True
                for sym in reversed(chain[:-1]):
                    if node is None or node.get("symbol") != sym:
                        ok = False
                        break
                    node = by_tree[t].get(node.get("parentId"))
                if ok and c.get("fromRoot") and node is not None:
                    ok = False
                if ok:
                    counts.append(e.get("dumpCount", 0))
            desc = " -> ".join(chain)
            if not counts:
                self.fail(path, "no path %s%s in the trees" % (desc, " from a root" if c.get("fromRoot") else ""))
                continue
            got = sum(counts)
            if "minCount" in c:
                want = number(c["minCount"], path + " minCount", self.scope())
                if got < want:
                    self.fail(path, "path %s: expected a count >= %s%s, got %d"
                              % (desc, want, "" if c["minCount"] == want else " (%s)" % c["minCount"], got))
            if "save" in c:
                self.saves[c["save"]] = got
        for sym in spec.get("absent", []):
            hits = [e for _, e, _ in nodes if e.get("symbol") == sym]
            if hits:
                self.fail(path, "expected no %r in the trees, found it %d time(s) (count %d)"
                          % (sym, len(hits), sum(e.get("dumpCount", 0) for e in hits)))
        for rx in spec.get("absentMatching", []):
            hits = sorted({e.get("symbol") for _, e, _ in nodes if re.search(rx, str(e.get("symbol")))})
            if hits:
                self.fail(path, "expected no symbol matching /%s/ in the trees, found %s" % (rx, short(hits)))

    def well_formed(self, trees, path):
        """The shape SkyWalking's UI relies on (docs/protocol.md §2, §7) and the tree semantics of §3."""
        roots = set()
        for t, tree in enumerate(trees):
            p = "%s[%d].elements" % (path, t)
            els = (tree or {}).get("elements")
            if not isinstance(els, list) or not els:
                self.fail(p, "a tree without elements")
                continue
            count = {}
            kids = {}
            for i, e in enumerate(els):
                want_id = str(i + 1)
                if e.get("id") != want_id:
                    self.fail("%s[%d].id" % (p, i), "ids must be \"1\"..\"n\" in order (breadth first), got %s"
                              % short(e.get("id")))
                    return
                parent = e.get("parentId")
                if i == 0:
                    if parent != "0":
                        self.fail("%s[0].parentId" % p, "the root's parentId must be \"0\", got %s" % short(parent))
                        return
                elif parent not in count:
                    self.fail("%s[%d].parentId" % (p, i), "parent %s is not an earlier element" % short(parent))
                    return
                elif int(parent) < int(els[i - 1].get("parentId")):
                    self.fail("%s[%d].parentId" % (p, i), "not breadth first: parent %s after parent %s"
                              % (parent, els[i - 1].get("parentId")))
                    return
                n = e.get("dumpCount")
                if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
                    self.fail("%s[%d].dumpCount" % (p, i), "expected a positive integer, got %s" % short(n))
                    return
                if e.get("stackType") not in ("USER_SPACE", "KERNEL_SPACE"):
                    self.fail("%s[%d].stackType" % (p, i), "unknown stack type %s" % short(e.get("stackType")))
                    return
                count[want_id] = e
                if i > 0:
                    kids.setdefault(parent, []).append(e)
            roots.add((els[0].get("symbol"), els[0].get("stackType")))
            for pid, children in kids.items():
                parent = count[pid]
                s = sum(c["dumpCount"] for c in children)
                if s > parent["dumpCount"]:
                    self.fail(p, "node %s (%s) counts %d but its children %d: counts must be inclusive"
                              % (pid, parent.get("symbol"), parent["dumpCount"], s))
                if parent["stackType"] == "KERNEL_SPACE" and any(c["stackType"] == "USER_SPACE" for c in children):
                    self.fail(p, "node %s (%s): a user frame under a kernel frame" % (pid, parent.get("symbol")))
                keys = [(-c["dumpCount"], c.get("symbol"), c.get("stackType")) for c in children]
                if keys != sorted(keys):
                    self.fail(p, "children of node %s (%s) are not ordered by count, then symbol: %s"
                              % (pid, parent.get("symbol"), [(c.get("symbol"), c["dumpCount"]) for c in children]))
        if len(roots) != len(trees):
            self.fail(path, "two trees share a root (one tree per distinct root frame)")


# --------------------------------------------------------------------------------------------
# Processes: everything the runner starts is recorded by pid and stopped by pid.


def _die_with_parent():
    """In the child before exec: SIGKILL it if the runner dies (even by SIGKILL)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Children:
    def __init__(self):
        self.procs = {}  # pid -> (name, Popen)

    def spawn(self, name, argv, log_path, env=None, cwd=None):
        log = open(log_path, "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                 cwd=cwd, start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            log.close()
        self.procs[p.pid] = (name, p)
        return p

    def alive(self, pid):
        entry = self.procs.get(pid)
        return entry is not None and entry[1].poll() is None

    def kill(self, pid, sig=signal.SIGKILL, timeout=10.0):
        """Signals one child and reaps it; answers its exit status (None if it did not exit)."""
        entry = self.procs.get(pid)
        if entry is None:
            return None
        p = entry[1]
        if p.poll() is None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                if sig != signal.SIGKILL:
                    os.kill(pid, signal.SIGKILL)
                    p.wait(10)
        if p.poll() is not None:
            del self.procs[pid]
        return p.returncode

    def stop_all(self, graceful=()):
        """SIGTERM (then SIGKILL) for the pids in graceful, SIGKILL for the others; then reap all."""
        left = []
        for pid in list(self.procs):
            name, _ = self.procs[pid]
            self.kill(pid, signal.SIGTERM if pid in graceful else signal.SIGKILL, timeout=20)
            if pid in self.procs:
                left.append("%s (pid %d)" % (name, pid))
        return left


# --------------------------------------------------------------------------------------------
# HTTP


class Reply:
    def __init__(self, status, content_type, body, seconds):
        self.status = status
        self.content_type = content_type
        self.raw = body
        self.seconds = seconds
        try:
            self.json = json.loads(body.decode("utf-8"))
            self.is_json = True
        except ValueError:
            self.json = None
            self.is_json = False

    def describe(self):
        head = "HTTP %d (%s) in %d ms" % (self.status, self.content_type or "no content type", self.seconds * 1000)
        if not self.is_json:
            return head + ", not JSON:\n" + indent(short(self.raw.decode("utf-8", "replace"), 2000))
        found = []

        def strip_trees(v):  # analysis trees are shown as flame trees, not as element lists
            if isinstance(v, dict):
                out = {}
                for k, x in v.items():
                    if k == "trees" and isinstance(x, list) and all(isinstance(t, dict) for t in x):
                        found.append(x)
                        out[k] = "<%d tree(s), below>" % len(x)
                    else:
                        out[k] = strip_trees(x)
                return out
            if isinstance(v, list):
                return [strip_trees(x) for x in v]
            return v

        text = head + ":\n" + indent(pretty(strip_trees(self.json)))
        for trees in found:
            text += "\n      trees as a flame tree (symbol [k] inclusive count):\n" + indent(render_trees(trees), "        ")
        return text


class Http:
    def __init__(self, base_url):
        u = urllib.parse.urlsplit(base_url)
        if u.scheme != "http" or not u.hostname:
            raise SystemExit("--server must be an http:// URL, got %r" % base_url)
        self.base = base_url.rstrip("/")
        self.host = u.hostname
        self.port = u.port or 80
        self.prefix = u.path.rstrip("/")

    def request(self, method, path, body=None, content_type=None, timeout=60.0, accept=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        headers = {}
        # a server listening beyond loopback asks for its token (the compose file gives both the same one)
        if os.environ.get("SWPROF_E2E_TOKEN"):
            headers["Authorization"] = "Bearer " + os.environ["SWPROF_E2E_TOKEN"]
        if content_type is not None:
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        t0 = time.monotonic()
        try:
            conn.request(method, self.prefix + path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            return Reply(r.status, r.getheader("Content-Type"), data, time.monotonic() - t0)
        finally:
            conn.close()

    def healthy(self):
        try:
            r = self.request("GET", "/healthz", timeout=3)
            return r.status == 200 and r.is_json and r.json.get("status") == "UP"
        except (OSError, http.client.HTTPException):
            return False


# --------------------------------------------------------------------------------------------
# The server: started here (local) or somebody else's (remote).


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(http_, timeout, proc=None, log_path=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_.healthy():
            return
        if proc is not None and proc.poll() is not None:
            raise CaseError(["the server exited with status %s while starting" % proc.returncode]
                            + log_tail(log_path))
        time.sleep(0.25)
    raise CaseError(["the server at %s was not healthy within %d s" % (http_.base, timeout)] + log_tail(log_path))


def log_tail(path, n=40):
    if not path or not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    return ["last lines of %s:" % path] + ["    " + line for line in lines[-n:]]


class LocalServer:
    def __init__(self, children, work):
        self.children = children
        self.work = work
        self.port = free_port()
        self.grpc_port = free_port()  # not 11800: another server on this machine may hold it
        self.data_dir = os.path.join(work, "data")
        self.log_path = os.path.join(work, "server.log")
        self.http = Http("http://127.0.0.1:%d" % self.port)
        self.proc = None
        self.expected_exit = False

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWPROF_")}
        env.update(SWPROF_REST_HOST="127.0.0.1", SWPROF_REST_PORT=str(self.port), SWPROF_DATA_DIR=self.data_dir,
                   SWPROF_GRPC_PORT=str(self.grpc_port))
        tmp = os.path.join(self.work, "tmp")
        os.makedirs(tmp, exist_ok=True)
        java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
        argv = [java, "-Djava.io.tmpdir=" + tmp, "-jar", JAR, "--config", CONFIG]
        with open(self.log_path, "ab") as f:
            f.write(("\n==== %s: %s\n" % (datetime.datetime.now().isoformat(), " ".join(argv))).encode())
        self.proc = self.children.spawn("swprof server", argv, self.log_path, env=env)
        self.expected_exit = False
        wait_healthy(self.http, 120, self.proc, self.log_path)

    def kill9(self):
        self.expected_exit = True
        self.children.kill(self.proc.pid, signal.SIGKILL)

    def restart(self, timeout):
        self.start()

    def pids(self):
        return [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []

    def check_alive(self):
        """Lines explaining an unexpected exit (and the server is restarted), or []."""
        if self.proc is None or self.proc.poll() is None or self.expected_exit:
            return []
        lines = ["the server exited unexpectedly with status %s" % self.proc.returncode] + log_tail(self.log_path)
        self.children.procs.pop(self.proc.pid, None)
        try:
            self.start()
            lines.append("(started again for the next cases)")
        except CaseError as e:
            lines += ["and it could not be started again:"] + e.lines
        return lines

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class RemoteServer:
    def __init__(self, url, process_regex):
        self.http = Http(url)
        self.regex = re.compile(process_regex)
        self.log_path = None

    def start(self):
        wait_healthy(self.http, 180)

    def find_pid(self):
        me = os.getpid()
        hits = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == me:
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                continue
            if cmd and self.regex.search(cmd):
                hits.append((int(d), cmd))
        if len(hits) != 1:
            raise CaseError(["cannot kill the server: %d processes match /%s/ in this pid namespace%s"
                             % (len(hits), self.regex.pattern, "".join("\n    %d %s" % h for h in hits)),
                             "the runner needs to see the server's process (docker-compose: pid: host) "
                             "and an orchestrator that restarts it (restart: on-failure)"])
        return hits[0][0]

    def kill9(self):
        pid = self.find_pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, timeout):
        wait_healthy(self.http, timeout)  # the orchestrator restarts it

    def pids(self):
        return []

    def check_alive(self):
        return []

    def log_text(self):
        return ""


# --------------------------------------------------------------------------------------------
# Workloads (e2e/cases/workloads.json)


class Workloads:
    def __init__(self, children, work, bin_dir, spec):
        self.children = children
        self.work = work
        self.bin_dir = bin_dir
        self.spec = spec
        self.running = {}  # name -> Popen

    def argv(self, name):
        w = self.spec[name]
        program = os.path.join(self.bin_dir, w["program"])
        if not os.access(program, os.X_OK):
            raise CaseError(["workload %s: no program %s" % (name, program)])
        if not w.get("mountNamespace"):
            return [program] + w.get("args", []), None
        # its own mount namespace: a private tmpfs, invisible from here, holds a copy of the binary
        mnt = os.path.join(self.work, "mntns-" + name)
        os.makedirs(mnt, exist_ok=True)
        script = ('set -e; d=$1; src=$2; exe=$3; shift 3; mount -t tmpfs -o size=32m swprof-e2e "$d"; '
                  'cp "$src" "$d/$exe"; exec "$d/$exe" "$@"')
        return (["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", mnt, program,
                 w.get("exe", w["program"])] + w.get("args", []), os.path.join(mnt, w.get("exe", w["program"])))

    def start(self, name):
        if name not in self.spec:
            raise CaseError(["no workload %r in workloads.json" % name])
        if name in self.running and self.running[name].poll() is None:
            return self.running[name].pid
        argv, _ = self.argv(name)
        log_path = os.path.join(self.work, "workload-%s.log" % name)
        open(log_path, "wb").close()
        p = self.children.spawn("workload " + name, argv, log_path)
        self.running[name] = p
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # it prints "<program> pid=..." once it runs
            with open(log_path, "rb") as f:
                out = f.read().decode("utf-8", "replace")
            if "pid=%d " % p.pid in out:
                return p.pid
            if p.poll() is not None:
                break
            time.sleep(0.05)
        raise CaseError(["workload %s (%s) did not start (status %s)" % (name, " ".join(argv), p.poll())]
                        + log_tail(log_path))

    def pid(self, name):
        p = self.running.get(name)
        if p is None:
            raise CaseError(["workload %s was not started by this runner" % name])
        return p.pid

    def kill(self, name, sig):
        pid = self.pid(name)
        status = self.children.kill(pid, sig)
        del self.running[name]
        return status

    def stop(self, name):
        p = self.running.pop(name, None)
        if p is not None:
            self.children.kill(p.pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------
# Building (local mode only)


def newer_than(target, paths):
    if not os.path.exists(target):
        return "missing"
    t = os.path.getmtime(target)
    for top in paths:
        if os.path.isfile(top):
            if os.path.getmtime(top) > t:
                return os.path.relpath(top, REPO)
            continue
        for d, _, files in os.walk(top):
            for f in files:
                p = os.path.join(d, f)
                if os.path.getmtime(p) > t:
                    return os.path.relpath(p, REPO)
    return None


def run_build(argv, what, quiet=False):
    if not quiet:
        say("build: %s: %s" % (what, " ".join(argv)))
    t0 = time.monotonic()
    r = subprocess.run(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        out = r.stdout.decode("utf-8", "replace").splitlines()
        raise CaseError(["%s failed (status %d): %s" % (what, r.returncode, " ".join(argv))]
                        + ["    " + x for x in out[-60:]])
    if not quiet:
        say("build: %s done in %.1f s" % (what, time.monotonic() - t0))
    return r.stdout


def build(jobs):
    build_dir = os.path.join(REPO, "build")
    if not all(os.path.exists(p) for p in (os.path.join(build_dir, "build.ninja"), JNI_LIB, CLI)):
        run_build([os.path.join(REPO, "scripts", "setup.sh")], "scripts/setup.sh (packages, native build)")
    else:
        # ninja is the staleness check (a dry run is not: CONFIGURE_DEPENDS globs always "re-run" CMake)
        out = run_build(["ninja", "-C", build_dir, "-j", str(jobs), "swprof_jni", "swprof"], "native build", quiet=True)
        if b"no work to do" not in out:
            say("build: the native build was stale and has been rebuilt")
    jar_inputs = [os.path.join(REPO, p) for p in ("java-shim/pom.xml", "java-shim/shim/pom.xml",
                                                  "java-shim/shim/src/main", "java-shim/config", "schema",
                                                  "ui/src", "ui/package-lock.json")] + [JNI_LIB]
    why = newer_than(JAR, jar_inputs)
    if why:
        run_build(["mvn", "-B", "-q", "-f", "java-shim/pom.xml", "-T1", "-pl", "shim", "-am", "package",
                   "-DskipTests"], "server jar (%s)" % ("missing" if why == "missing" else "older than " + why))


def build_workloads(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    run_build(["make", "-s", "-C", os.path.join(E2E, "workloads"), "OUT=" + out_dir], "workloads", quiet=True)


def bpf_preflight(children, work, workloads):
    """The runner always requires BPF (as SWPROF_REQUIRE_BPF=1 does for the tests): profile a
    workload for a second with the CLI, which loads the same BPF program as the server."""
    if os.geteuid() != 0:
        raise CaseError(["the e2e cases profile real processes: run as root (CAP_BPF + CAP_PERFMON)"])
    name = next(n for n, w in workloads.spec.items() if w["program"] == "e2e-cpu" and not w.get("mountNamespace"))
    pid = workloads.start(name)
    try:
        r = subprocess.run([CLI, "record", "--pid", str(pid), "--duration", "1"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
    finally:
        workloads.stop(name)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0 or "e2e_cpu_hot_spin" not in out:
        raise CaseError(["BPF profiling is not available here, and the e2e cases require it:",
                         "    %s record --pid %d --duration 1 -> status %d" % (CLI, pid, r.returncode)]
                        + ["    " + x for x in (r.stderr.decode("utf-8", "replace") + out).splitlines()[-20:]])


# --------------------------------------------------------------------------------------------
# Cases


def load_cases(only):
    cases = []
    for path in sorted(glob.glob(os.path.join(CASES, "*.json"))):
        if os.path.basename(path) == "workloads.json":
            continue
        name = os.path.splitext(os.path.basename(path))[0]
        if only and not any(o in name for o in only):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                case = json.load(f)
            if not isinstance(case.get("steps"), list) or not case["steps"]:
                raise ValueError("no steps")
        except ValueError as e:
            case = {"invalid": "%s: %s" % (os.path.relpath(path, REPO), e)}
        case["id"] = name
        cases.append(case)
    return cases


def query_text(spec):
    """The query as the client sends it: inline text, or a file's text without its last newline."""
    if "query" in spec:
        return spec["query"]
    path = os.path.join(QUERIES, spec["queryFile"])
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text[:-1] if text.endswith("\n") else text


class Runner:
    def __init__(self, server, workloads, args):
        self.server = server
        self.workloads = workloads
        self.args = args
        self.bpf_broken = None

    def run_case(self, case):
        variables = {"caseStart": now_ms()}
        owned = []
        try:
            for name in case.get("workloads", []):
                if self.args.no_start and self.workloads.spec[name].get("external"):
                    continue  # the deployment runs it
                variables[name + "Pid"] = self.workloads.start(name)
                owned.append(name)
            steps = case["steps"]
            for i, step in enumerate(steps):
                label = "step %d/%d %r" % (i + 1, len(steps), step.get("name", "?"))
                if self.args.verbose:
                    say("    %s" % label)
                try:
                    self.run_step(step, variables)
                except CaseError as e:
                    raise CaseError([label + ":"] + ["  " + x for x in e.lines])
        finally:
            for name in owned:
                self.workloads.stop(name)

    def run_step(self, step, variables):
        if "action" in step:
            return self.action(step, variables)
        retry = float(step.get("retrySeconds", 0))
        deadline = time.monotonic() + retry
        tries = 0
        while True:
            tries += 1
            method, path, body, ctype, shown = self.build_request(step, variables)
            try:
                reply = self.server.http.request(method, path, body, ctype, accept=step.get("http", {}).get("accept"))
            except (OSError, http.client.HTTPException) as e:
                reply, errors = None, ["no reply: %s: %s" % (type(e).__name__, e)]
            else:
                m = Matcher(variables)
                self.check(step.get("expect", {}), reply, m, default_status=200 if "graphql" in step else None)
                errors = m.errors
                if not errors:
                    variables.update(m.saves)
                    return
            if time.monotonic() >= deadline:
                lines = ["%s%s" % (shown, "" if tries == 1 else "  (tried %d times in %.1f s)" % (tries, retry))]
                lines.append("reply: " + (reply.describe() if reply else "none"))
                lines.append("mismatches:")
                lines += ["  - " + x.replace("\n", "\n    ") for x in errors]
                hint = self.hint(reply)
                if hint:
                    lines.append(hint)
                raise CaseError(lines)
            time.sleep(float(step.get("retryInterval", 0.5)))

    def build_request(self, step, variables):
        if "graphql" in step:
            g = step["graphql"]
            doc = {"query": query_text(g)}
            if "variables" in g:
                doc["variables"] = render(g["variables"], variables)
            body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            ctype = g.get("contentType", "application/json")
            shown = "request: POST /graphql (%s)\n      query: %s\n      variables: %s" % (
                ctype, g.get("queryFile") or short(g.get("query")), short(doc.get("variables"), 600))
            return "POST", "/graphql", body, ctype, shown
        h = step["http"]
        body = h.get("body")
        if isinstance(body, str):
            body = str(render(body, variables))  # a raw body: sent as written, ${...} filled in
        elif body is not None:
            body = json.dumps(render(body, variables), ensure_ascii=False, separators=(",", ":"))
        raw = body.encode("utf-8") if body is not None else None
        ctype = h.get("contentType")
        shown = "request: %s %s (%s) body %s" % (h.get("method", "POST"), h["path"], ctype, short(body))
        return h.get("method", "POST"), h["path"], raw, ctype, shown

    def check(self, expect, reply, m, default_status):
        status = expect.get("status", default_status)
        if status is not None and reply.status != status:
            m.fail("HTTP status", "expected %d, got %d" % (status, reply.status))
        if "contentType" in expect and not (reply.content_type or "").startswith(expect["contentType"]):
            m.fail("Content-Type", "expected %s, got %s" % (expect["contentType"], reply.content_type))
        if "maxSeconds" in expect and reply.seconds > expect["maxSeconds"]:
            m.fail("time", "expected a reply within %s s, took %.2f s" % (expect["maxSeconds"], reply.seconds))
        if "body" in expect:
            if not reply.is_json:
                m.fail("body", "expected JSON, got %s" % short(reply.raw.decode("utf-8", "replace")))
            else:
                m.match(expect["body"], reply.json)

    def hint(self, reply):
        text = self.server.log_text()
        if BPF_FAILURE in text:
            line = next(x for x in text.splitlines() if BPF_FAILURE in x)
            self.bpf_broken = line
            return "hint: the server's profiler is not running: " + line
        if reply is not None and reply.is_json and re.search(r'"(trees|result|eBPFSchedules)": \[\]',
                                                             json.dumps(reply.json, indent=1)):
            return ("hint: no schedule or no samples: is the server profiling? (without BPF its log says '%s')"
                    % BPF_FAILURE)
        return None

    def action(self, step, variables):
        a = step["action"]
        if a == "sleep":
            time.sleep(float(render(step["seconds"], variables)))
        elif a == "set":
            for k, v in step["vars"].items():
                variables[k] = render(v, variables)
        elif a == "startWorkload":
            if "save" in step:
                variables[step["save"]] = now_ms()
            variables[step["workload"] + "Pid"] = self.workloads.start(step["workload"])
        elif a == "killWorkload":
            sig = getattr(signal, "SIG" + step.get("signal", "KILL"))
            if "save" in step:
                variables[step["save"]] = now_ms()
            status = self.workloads.kill(step["workload"], sig)
            if status is None:
                raise CaseError(["workload %s did not exit on SIG%s" % (step["workload"], step.get("signal", "KILL"))])
        elif a == "killServer":
            if "save" in step:
                variables[step["save"]] = now_ms()
            self.server.kill9()
        elif a == "restartServer":
            self.server.restart(float(step.get("timeoutSeconds", 120)))
        elif a == "checkMountNamespace":
            self.check_mount_namespace(step["workload"])
        else:
            raise CaseError(["unknown action %r" % a])

    def check_mount_namespace(self, name):
        """The workload runs in another mount namespace, and its binary exists only there."""
        pid = self.workloads.pid(name)
        _, inside = self.workloads.argv(name)
        errors = []
        if os.readlink("/proc/%d/ns/mnt" % pid) == os.readlink("/proc/self/ns/mnt"):
            errors.append("pid %d shares the runner's mount namespace" % pid)
        exe = os.readlink("/proc/%d/exe" % pid)
        if exe != inside:
            errors.append("pid %d runs %s, not %s" % (pid, exe, inside))
        if os.path.exists(inside):
            errors.append("%s is visible outside the workload's namespace: the case would prove nothing" % inside)
        if not os.path.exists("/proc/%d/root%s" % (pid, inside)):
            errors.append("/proc/%d/root%s does not exist" % (pid, inside))
        if errors:
            raise CaseError(errors)


def print_case_list(cases, spec):
    for c in cases:
        if "invalid" in c:
            say("%s: INVALID %s" % (c["id"], c["invalid"]))
            continue
        say("%s: %s" % (c["id"], c.get("description", "")))
        if c.get("workloads"):
            say("    workloads: " + ", ".join("%s (%s %s)" % (n, spec[n]["program"], " ".join(spec[n].get("args", [])))
                                             for n in c["workloads"]))
        for i, s in enumerate(c["steps"]):
            kind = (s.get("graphql", {}).get("queryFile") or ("http " + s["http"]["path"] if "http" in s else None)
                    or ("graphql" if "graphql" in s else "action " + s.get("action", "?")))
            say("    %2d. %s  [%s]" % (i + 1, s.get("name", "?"), kind))


# --------------------------------------------------------------------------------------------
# main


class Interrupted(BaseException):
    """SIGINT/SIGTERM/SIGHUP: not an Exception, so that no handler of a case swallows it."""


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--server", metavar="URL", help="use this running server (no build, no server start)")
    ap.add_argument("--no-start", action="store_true",
                    help="do not start the long-running (external) workloads: the deployment runs them")
    ap.add_argument("--server-process", default=r"swprof-server\.jar", metavar="REGEX",
                    help="remote mode: the command line of the server process, for the kill -9 case")
    ap.add_argument("--bin-dir", help="prebuilt workloads (default: build them with make into the temp dir)")
    ap.add_argument("--no-build", action="store_true", help="local mode: do not check or rebuild swprof")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("SWPROF_E2E_JOBS", "1")),
                    help="parallel jobs for a stale native rebuild (default 1, or $SWPROF_E2E_JOBS)")
    ap.add_argument("--only", action="append", metavar="TEXT", help="run the cases whose file name contains TEXT")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (data, logs) even when all pass")
    ap.add_argument("--list", action="store_true", help="print the cases and their steps, run nothing")
    ap.add_argument("--serve-workloads", action="store_true",
                    help="start the external workloads and wait until SIGTERM (the compose workload container)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step")
    args = ap.parse_args()

    with open(os.path.join(CASES, "workloads.json"), encoding="utf-8") as f:
        spec = json.load(f)["workloads"]
    cases = load_cases(args.only)
    if args.list:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `run.py --list | head`
        print_case_list(cases, spec)
        return 0

    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)
    t_start = time.monotonic()
    work = tempfile.mkdtemp(prefix="swprof-e2e-run-")
    children = Children()
    passed, failed, ok_all = 0, 0, False
    server = None
    try:
        try:
            bin_dir = args.bin_dir or os.path.join(work, "bin")
            if not args.server and not args.no_build and not args.serve_workloads:
                build(args.jobs)
            if not args.bin_dir:
                build_workloads(bin_dir)
            workloads = Workloads(children, work, bin_dir, spec)
            if args.serve_workloads:
                for name, w in spec.items():
                    if w.get("external"):
                        say("workload %s: pid %d" % (name, workloads.start(name)))
                say("serving workloads until SIGTERM")
                while True:
                    time.sleep(3600)
            if args.server:
                server = RemoteServer(args.server, args.server_process)
                say("e2e: remote server %s" % args.server)
            else:
                bpf_preflight(children, work, workloads)
                server = LocalServer(children, work)
                say("e2e: local server http://127.0.0.1:%d (work dir %s)" % (server.port, work))
            server.start()
        except Exception as e:
            say("e2e: cannot run the cases:")
            say(indent("\n".join(e.lines if isinstance(e, CaseError) else ["%s: %s" % (type(e).__name__, e)]), "  "))
            failed = len(cases)
            return 1

        runner = Runner(server, workloads, args)
        for n, case in enumerate(cases):
            t0 = time.monotonic()
            tag = "[%2d/%d] %s" % (n + 1, len(cases), case["id"])
            if "invalid" in case:
                say("%s ... FAIL (invalid case file)\n  %s" % (tag, case["invalid"]))
                failed += 1
                continue
            if runner.bpf_broken:
                say("%s ... FAIL (not run: BPF is unavailable to the server)" % tag)
                failed += 1
                continue
            if args.verbose:
                say("%s: %s" % (tag, case.get("description", "")))
            try:
                runner.run_case(case)
                problems = server.check_alive()
                if problems:
                    raise CaseError(problems)
            except Exception as e:  # a CaseError, or a case file the runner cannot follow
                failed += 1
                say("%s ... FAIL (%.1f s)" % (tag, time.monotonic() - t0))
                lines = e.lines if isinstance(e, CaseError) else [
                    "the runner could not follow the case: %s: %s" % (type(e).__name__, e)]
                say(indent("\n".join(lines), "  "))
                problems = server.check_alive()
                if problems:
                    say(indent("\n".join(problems), "  "))
            else:
                passed += 1
                say("%s ... ok (%.1f s)" % (tag, time.monotonic() - t0))
        # the server loads its JNI library from its jar (extracted, then unlinked): after its kill -9 and restarts,
        # nothing of it may be left in its java.io.tmpdir
        tmp = os.path.join(getattr(server, "work", ""), "tmp")
        if os.path.isdir(tmp):
            left = [f for f in os.listdir(tmp) if f.startswith("libswprof_jni")]
            if left:
                failed += 1
                say("[--] the server's temporary files ... FAIL\n  extracted libraries left in %s: %s" % (tmp, left))
            else:
                passed += 1
                say("[--] the server's temporary files ... ok (no extracted library left after its kill -9 and "
                    "restarts)")
        ok_all = failed == 0
        return 0 if ok_all else 1
    except Interrupted as e:
        say("\ne2e: interrupted (%s): stopping everything this runner started" % e)
        failed = len(cases) - passed
        return 130
    finally:
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)  # finish the cleanup whatever arrives now
        graceful = server.pids() if server is not None else []
        left = children.stop_all(graceful)
        if left:
            say("e2e: could not stop: " + ", ".join(left))
        if not args.list and not args.serve_workloads:
            if ok_all and not args.keep:
                shutil.rmtree(work, ignore_errors=True)
            else:
                say("e2e: logs and data kept in %s" % work)
            say("e2e: %.1f s" % (time.monotonic() - t_start))
            say("%d passed, %d failed" % (passed, failed))
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
