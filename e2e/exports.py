#!/usr/bin/env python3
"""e2e/exports.py — each export format of `swprof record` and `swprof analyze`, read back by its own real tool.

  pprof       `go tool pprof -top` (the Go toolchain; Debian's golang-go when none is installed) reads the profile:
              the recorded busy program's hot function and its share, the samples against its CPU time; an analysis
              of imported stacks, count for count; an OFF_CPU recording in nanoseconds.
  speedscope  validated against the file-format schema speedscope publishes (its npm package), with ajv; the
              frames and weights say what the stacks said.
  svg, html   a flame graph: the SVG parsed as XML (every frame a rect with its name, count and share in its title;
              hot_loop over outer over main, kernel frames coloured apart); the HTML page holds the same SVG and its
              search script.

Needs root (BPF) and the swprof build (scripts/setup.sh).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import check, cpu_seconds  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWPROF = os.path.join(ROOT, "build/swprof")
TARGETS = os.path.join(ROOT, "build/targets")
CACHE = os.path.expanduser("~/.cache/swprof/exports")
SPEEDSCOPE = "1.22.2"
AJV = "8.17.1"


def go():
    """The go command: on PATH, Go's own install, or Debian's."""
    for g in (shutil.which("go"), "/usr/local/go/bin/go", "/usr/lib/go/bin/go"):
        if g and os.path.exists(g):
            return g
    subprocess.run(["apt-get", "install", "-y", "-qq", "golang-go"], check=True, capture_output=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return shutil.which("go") or "/usr/lib/go/bin/go"


def pprof_top(path):
    out = subprocess.run([go(), "tool", "pprof", "-top", path], capture_output=True, text=True, timeout=300)
    return out.stdout + out.stderr


def flat_of(top, name):
    """The flat value of a function in `pprof -top` output (a number, or a time in s/ms)."""
    for line in top.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[-1] == name:
            return cols[0]
    return None


def validator():
    """node + ajv + speedscope's published schema, installed once into ~/.cache/swprof/exports."""
    schema = os.path.join(CACHE, "node_modules/speedscope/dist/release/file-format-schema.json")
    if not os.path.exists(schema) or not os.path.isdir(os.path.join(CACHE, "node_modules/ajv")):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", CACHE, "--no-audit", "--no-fund", "--ignore-scripts",
                        "speedscope@" + SPEEDSCOPE, "ajv@" + AJV], check=True, capture_output=True, timeout=600)
    return schema


VALIDATE = """
const Ajv = require(process.argv[1] + '/node_modules/ajv');
const schema = require(process.argv[2]);
const data = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
const ajv = new Ajv({strict: false, allErrors: true});
const ok = ajv.validate(schema, data);
console.log(ok ? 'valid' : JSON.stringify(ajv.errors).slice(0, 500));
process.exit(ok ? 0 : 1);
"""


def main():
    if os.geteuid() != 0:
        print("e2e/exports.py needs root (BPF)", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="swprof-exports-")
    # until killed at the end: the recordings take what time the machine gives them
    busy = subprocess.Popen([os.path.join(TARGETS, "busy"), "spin", "0"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        # ---- pprof of a recording ----
        pb = os.path.join(tmp, "busy.pb.gz")
        cpu0 = cpu_seconds(busy.pid)
        with open(pb, "wb") as f:
            subprocess.run([SWPROF, "record", "--pid", str(busy.pid), "--duration", "3", "--format", "pprof"],
                           stdout=f, check=True)
        cpu = cpu_seconds(busy.pid) - cpu0
        top = pprof_top(pb)
        m = re.search(r"accounting for (\d+), [\d.]+% of (\d+) total", top)
        total = int(m.group(2)) if m else 0
        hot = flat_of(top, "hot_loop")
        check("pprof: go tool pprof reads a recording; hot_loop has the samples", m is not None and hot is not None
              and int(hot) >= 0.9 * total, "hot_loop %s of %d" % (hot, total) if m else top[-300:])
        check("pprof: its samples are the program's CPU time at 99 Hz", 0.7 * 99 * cpu - 10 <= total <= 1.3 * 99 * cpu
              + 10, "%d samples for %.2f CPU s" % (total, cpu))
        check("pprof: the sample type says what is counted", "Type: samples" in top)

        # ---- pprof of an analysis: imported stacks, count for count ----
        data = os.path.join(tmp, "data")
        subprocess.run([SWPROF, "register", "--data", data, "--pid", str(busy.pid), "--service", "exports"],
                       check=True, capture_output=True)
        task = json.loads(subprocess.run([SWPROF, "create", "--data", data, "--service", "ZXhwb3J0cw==.1",
                                          "--duration", "60"], check=True, capture_output=True,
                                         text=True).stdout)["id"]
        folded = os.path.join(tmp, "in.folded")
        with open(folded, "w") as f:
            f.write("main;work;spin 7\nmain;work 3\nmain;work;write;do_syscall_64_[k] 2\n")
        subprocess.run([SWPROF, "import", "--data", data, "--task", task, folded], check=True, capture_output=True)
        apb = os.path.join(tmp, "analysis.pb.gz")
        with open(apb, "wb") as f:
            subprocess.run([SWPROF, "analyze", "--data", data, "--task", task, "--format", "pprof"], stdout=f,
                           check=True)
        top = pprof_top(apb)
        got = {n: flat_of(top, n) for n in ("spin", "work", "do_syscall_64_[k]", "main")}
        check("pprof: an analysis, count for count (spin 7, work 3, do_syscall_64 2, main 0)",
              got == {"spin": "7", "work": "3", "do_syscall_64_[k]": "2", "main": "0"}, json.dumps(got))

        # ---- pprof of an OFF_CPU recording: nanoseconds ----
        sl = subprocess.Popen([os.path.join(TARGETS, "sleeper"), "10", "50"], stdout=subprocess.DEVNULL)
        opb = os.path.join(tmp, "off.pb.gz")
        with open(opb, "wb") as f:
            subprocess.run([SWPROF, "record", "--pid", str(sl.pid), "--duration", "10", "--target", "off-cpu",
                            "--aggregate", "duration", "--format", "pprof"], stdout=f, check=True)
        sl.wait(timeout=30)
        top = pprof_top(opb)
        m = re.search(r"accounting for ([\d.]+)(m?s),", top)
        secs = float(m.group(1)) / (1000 if m and m.group(2) == "ms" else 1) if m else 0
        check("pprof: an OFF_CPU recording by blocked time (type off_cpu, in nanoseconds)",
              "Type: off_cpu" in top and secs > 0.5, "%s; %.2f s in all" % (
                  next((x for x in top.splitlines() if x.startswith("Type")), "?"), secs))

        # ---- speedscope, against its published schema ----
        ss = os.path.join(tmp, "busy.speedscope.json")
        with open(ss, "w") as f:
            subprocess.run([SWPROF, "record", "--pid", str(busy.pid), "--duration", "2", "--format", "speedscope"],
                           stdout=f, check=True)
        schema = validator()
        v = subprocess.run(["node", "-e", VALIDATE, CACHE, schema, ss], capture_output=True, text=True, timeout=60)
        check("speedscope: valid against speedscope %s's file-format schema (ajv %s)" % (SPEEDSCOPE, AJV),
              v.returncode == 0, (v.stdout + v.stderr).strip()[:300])
        doc = json.load(open(ss))
        frames = [x["name"] for x in doc["shared"]["frames"]]
        p = doc["profiles"][0]
        hot_w = sum(w for s, w in zip(p["samples"], p["weights"]) if frames[s[-1]] == "hot_loop")
        check("speedscope: hot_loop is the leaf of the samples, under outer under main",
              hot_w > 0 and hot_w >= 0.9 * sum(p["weights"]) and all(frames[s[-2]] == "outer" for s in p["samples"]
                                                      if frames[s[-1]] == "hot_loop"),
              "%d of %d" % (hot_w, sum(p["weights"])))
        # ---- svg and html flame graphs ----
        sv = os.path.join(tmp, "busy.svg")
        with open(sv, "w") as f:
            subprocess.run([SWPROF, "record", "--pid", str(busy.pid), "--duration", "2", "--format", "svg"], stdout=f,
                           check=True)
        try:
            root = ET.parse(sv).getroot()
        except ET.ParseError as e:
            root = None
            check("svg: well-formed XML", False, str(e))
        if root is not None:
            ns = {"s": "http://www.w3.org/2000/svg"}
            frames = []
            for g in root.iter("{http://www.w3.org/2000/svg}g"):
                title, rect = g.find("s:title", ns), g.find("s:rect", ns)
                if title is not None and rect is not None:
                    frames.append((title.text, float(rect.get("x")), float(rect.get("y")), float(rect.get("width"))))
            by = {t.split(" (")[0]: (x, y, w, t) for t, x, y, w in frames}
            hot, outer, mn = by.get("hot_loop"), by.get("outer"), by.get("main")
            share = float(re.search(r"([\d.]+)%\)$", hot[3]).group(1)) if hot else 0
            check("svg: a flame graph whose hot_loop sits on outer on main, with most of the samples",
                  hot and outer and mn and hot[1] < outer[1] < mn[1] and share >= 90 and hot[2] >= 0.9 * mn[2],
                  hot[3] if hot else "frames: %s" % sorted(by)[:8])
        ht = os.path.join(tmp, "busy.html")
        with open(ht, "w") as f:
            subprocess.run([SWPROF, "record", "--pid", str(busy.pid), "--duration", "1", "--format", "html"], stdout=f,
                           check=True)
        page = open(ht).read()
        svg = page[page.find("<svg"):page.find("</svg>") + 6]
        try:
            ok = ET.fromstring(svg) is not None and "hot_loop" in svg
        except ET.ParseError:
            ok = False
        check("html: a page holding the flame graph and its search box",
              page.startswith("<!DOCTYPE html>") and ok and 'id="q"' in page and "new RegExp" in page)
    finally:
        busy.kill()
        busy.wait()
        if checks.failed:
            print("exports: files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
